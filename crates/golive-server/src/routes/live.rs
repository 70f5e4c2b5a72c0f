//! `GET /api/v1/live`: the WebSocket a display watches. The handler checks
//! the caller and the scope, then each socket sends the board its scope's
//! publication holds in the live hub (`crate::live`) whenever it changes,
//! the alerts its scope admits, and pings; it closes when the token that
//! opened it is revoked.

use crate::auth::{Caller, READERS};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::live;
use crate::offload;
use crate::routes::{off_runtime, replayed};
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use golive_core::board::Scope;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How long one send may take before the display is considered dead.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Pings keep NATs open and find dead peers.
const PING_EVERY: Duration = Duration::from_secs(20);

/// Unknown parameters are refused, as on `GET /api/v1/board`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveQuery {
    site: Option<String>,
    queue: Option<String>,
    #[allow(dead_code)]
    token: Option<String>,
}

/// `GET /api/v1/live`: upgrades to a WebSocket for an authorized display;
/// an unknown `site` or `queue` is 404 before the upgrade.
pub async fn live(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<LiveQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    caller.require(READERS)?;
    let scope =
        Scope::from_query(query.site.as_deref(), query.queue.as_deref()).map_err(ApiError::from)?;
    let views = replayed(&state)?;
    let checked = scope.clone();
    off_runtime(move || views.check_scope(&checked))
        .await?
        .map_err(ApiError::from)?;
    // Displays send nothing but pongs and closes: a small read buffer and
    // no write buffering (boards go out whole) keep thousands of sockets
    // cheap; the defaults (128 KiB each way) would dominate memory.
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| serve_socket(state, socket, scope, caller.token_hash)))
}

async fn serve_socket(
    state: Arc<AppState>,
    mut socket: WebSocket,
    scope: Scope,
    token_hash: Arc<str>,
) {
    // Unsubscribes (and counts the client out) when dropped, at the end.
    let mut subscription = state.hub.subscribe(scope.clone(), state.metrics.clone());
    let mut revocations = state.auth.revocations();
    let published = subscription
        .boards
        .borrow_and_update()
        .boards
        .get(&scope)
        .cloned();
    let first = match published {
        Some(board) => Some(board),
        None => {
            let built = state.clone();
            let scope = scope.clone();
            offload::blocking(move || live::build_now(&built.views, &built.hub, &scope))
                .await
                .ok()
                .flatten()
        }
    };
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut awaiting_pong = false;
    // Revoked between the upgrade request and now: never serve a board.
    let revoked_already = revocations.borrow_and_update().contains(&*token_hash);
    if revoked_already {
        close_revoked(&mut socket).await;
    } else if let Some(mut sent) = first
        && send(&mut socket, sent.snapshot.clone()).await
    {
        loop {
            tokio::select! {
                changed = revocations.changed() => {
                    if changed.is_err() { break; }
                    if revocations.borrow_and_update().contains(&*token_hash) {
                        close_revoked(&mut socket).await;
                        break;
                    }
                }
                changed = subscription.boards.changed() => {
                    if changed.is_err() { break; }
                    let latest = subscription.boards.borrow_and_update().boards.get(&scope).cloned();
                    let Some(latest) = latest else { continue };
                    // A board built for this socket alone has version 0:
                    // the publisher's first one for its scope may show
                    // the same figures.
                    if latest.version == sent.version || latest.fingerprint == sent.fingerprint {
                        continue;
                    }
                    if !send(&mut socket, latest.update.clone()).await { break; }
                    state.metrics.observe_push_delay(latest.published.elapsed());
                    sent = latest;
                }
                alert = subscription.alerts.recv() => match alert {
                    Ok(message) => {
                        if scope.admits(&message.scope) && !send(&mut socket, message.text).await {
                            break;
                        }
                    }
                    // Missed alerts are on the next board; stay subscribed.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                _ = ping.tick() => {
                    if awaiting_pong { break; }
                    awaiting_pong = true;
                    if !send_message(&mut socket, Message::Ping(Default::default())).await { break; }
                }
            }
        }
    }
}

/// Tells the display its token was revoked (close code 1008, policy
/// violation) before the socket is dropped.
async fn close_revoked(socket: &mut WebSocket) {
    let frame = CloseFrame {
        code: close_code::POLICY,
        reason: "token revoked".into(),
    };
    send_message(socket, Message::Close(Some(frame))).await;
}

async fn send(socket: &mut WebSocket, text: Utf8Bytes) -> bool {
    send_message(socket, Message::Text(text)).await
}

async fn send_message(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}
