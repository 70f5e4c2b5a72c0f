//! The live hub: pushes the board to command-center displays over
//! WebSocket (`GET /api/v1/live`).
//!
//! One publisher task computes the center-wide figures every push
//! interval, folds in the alert events the log brought (raised, cleared,
//! acknowledged: the alert book is a fold of the log, the same on every
//! replica; the leader among the replicas writes the raises and clears),
//! and builds one board per scope that a display watches (the whole
//! center, a site, a queue: cut on the server, typed). A scope's board is published only when its figures changed as
//! a display shows them (`LiveBoard::fingerprint`): the moving window
//! bounds alone never make a push. The latest boards sit in a `watch`
//! channel holding, per scope, an `Arc` of the serialized messages, so
//! every socket of a scope shares one string and a slow display simply
//! skips to the newest board when it catches up. Alerts go through a
//! `broadcast` channel with their scope; a socket sends only those its
//! scope admits, and one that lags behind skips the missed alerts (the
//! board carries the active ones anyway) and stays subscribed.

use crate::auth::{Caller, READERS};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use golive_core::alerts::{Acknowledgement, Alert, AlertBook, AlertChanges, AlertScope};
use golive_core::board::{LiveBoard, Scope};
use golive_core::event::Event;
use golive_core::ledger::Command;
use golive_core::time::{Millis, now_millis};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// How long one send may take before the display is considered dead.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Pings keep NATs open and find dead peers.
const PING_EVERY: Duration = Duration::from_secs(20);

/// The boards of one publication, per scope watched.
#[derive(Default)]
pub struct Published {
    pub boards: HashMap<Scope, Arc<ScopedBoard>>,
}

/// One scope's board, serialized once for all its sockets.
pub struct ScopedBoard {
    /// The log position the board reflects.
    pub seq: u64,
    /// Changes whenever this scope's figures do.
    pub version: u64,
    /// The figures as displays show them (see `LiveBoard::fingerprint`).
    pub fingerprint: Vec<u8>,
    pub snapshot: Utf8Bytes,
    pub update: Utf8Bytes,
    /// When it was published, for the push delay histogram.
    pub published: Instant,
}

impl ScopedBoard {
    fn new(seq: u64, version: u64, board: &LiveBoard, fingerprint: Vec<u8>) -> Self {
        let body = serde_json::to_string(board).unwrap_or_else(|_| "null".into());
        ScopedBoard {
            seq,
            version,
            fingerprint,
            snapshot: format!(r#"{{"type":"snapshot","seq":{seq},"board":{body}}}"#).into(),
            update: format!(r#"{{"type":"board","seq":{seq},"board":{body}}}"#).into(),
            published: Instant::now(),
        }
    }
}

/// An alert message and where its alert holds.
#[derive(Clone)]
struct AlertMessage {
    scope: AlertScope,
    text: Utf8Bytes,
}

/// The hub's shared state.
pub struct LiveHub {
    boards: watch::Sender<Arc<Published>>,
    alerts: broadcast::Sender<AlertMessage>,
    book: Mutex<AlertBook>,
    /// Sockets per scope, so the publisher builds only watched scopes.
    watched: Mutex<HashMap<Scope, usize>>,
    clients: AtomicU64,
    /// Whether this process leads (writes alerts raised and cleared).
    leading: AtomicBool,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveHub {
    pub fn new() -> Self {
        LiveHub {
            boards: watch::Sender::new(Arc::new(Published::default())),
            alerts: broadcast::channel(256).0,
            book: Mutex::new(AlertBook::default()),
            watched: Mutex::new(HashMap::new()),
            clients: AtomicU64::new(0),
            leading: AtomicBool::new(false),
        }
    }

    /// Connected displays.
    pub fn clients(&self) -> u64 {
        self.clients.load(Ordering::Relaxed)
    }

    /// Active alerts in triage order.
    pub fn active_alerts(&self) -> Vec<Alert> {
        self.book
            .lock()
            .map(|book| book.active())
            .unwrap_or_default()
    }

    /// The active alert with this id.
    pub fn alert(&self, id: &str) -> Option<Alert> {
        self.book.lock().ok().and_then(|book| book.get(id).cloned())
    }

    fn watch(&self, scope: &Scope) {
        if let Ok(mut watched) = self.watched.lock() {
            *watched.entry(scope.clone()).or_default() += 1;
        }
    }

    fn unwatch(&self, scope: &Scope) {
        if let Ok(mut watched) = self.watched.lock()
            && let Some(count) = watched.get_mut(scope)
        {
            *count -= 1;
            if *count == 0 {
                watched.remove(scope);
            }
        }
    }

    /// The whole center, and every scope a socket watches.
    fn scopes(&self) -> Vec<Scope> {
        let mut scopes = vec![Scope::All];
        if let Ok(watched) = self.watched.lock() {
            scopes.extend(watched.keys().filter(|s| !s.is_all()).cloned());
        }
        scopes
    }
}

/// Recomputes alerts and the watched boards every `interval`; publishes
/// the scopes whose figures changed. While this process leads (see
/// [`lead`]), it also writes the alerts raised and cleared to the log and
/// publishes again once they are applied.
pub async fn publish_loop(state: Arc<AppState>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if !state.is_ready() {
            continue;
        }
        let leading = state.hub.leading.load(Ordering::Acquire);
        let pending = publish_leading(&state, leading);
        if !pending.is_empty()
            && let Some(writer) = state.writer()
        {
            match writer.submit(pending).await {
                // Applied before the answer: the book has them now.
                Ok(_) => publish(&state),
                Err(error) => {
                    tracing::debug!(%error, "alert changes not written; the next tick retries")
                }
            }
        }
        if state.views.last_seq() > 0 {
            crate::fault::trip(crate::fault::Point::Publisher);
        }
    }
}

/// How often a process that does not lead tries to, and one that leads
/// checks it still does: bounds how long the alerts stand still after the
/// leader dies.
const LEAD_RETRY: Duration = Duration::from_secs(2);
/// Longest a check of the leader's session may take before it counts as
/// lost (a silent network must not keep a dead leader).
const LEAD_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Keeps `hub.leading` true while this process leads: the one that writes
/// alerts raised and cleared to the log (`Store::try_lead`), so that every
/// replica shows the same alerts with the same times instead of each
/// deciding on its own clock and figures. Any replica may lead; when the
/// leader dies, its database session ends, its lock with it, and another
/// takes over. A task of its own, so a database that hangs never holds up
/// the boards.
pub async fn lead(state: Arc<AppState>) {
    let mut held: Option<golive_store::Leadership> = None;
    loop {
        if let Some(leadership) = held.as_mut() {
            let alive = tokio::time::timeout(LEAD_CHECK_TIMEOUT, leadership.holds()).await;
            if !matches!(alive, Ok(true)) {
                tracing::warn!("lost the alert leadership (its database session ended)");
                held = None;
            }
        }
        if held.is_none() {
            match tokio::time::timeout(LEAD_RETRY * 5, state.store.try_lead()).await {
                Ok(Ok(Some(leadership))) => {
                    tracing::info!("this process leads: it writes alerts raised and cleared");
                    held = Some(leadership);
                }
                Ok(Ok(None)) => {}
                Ok(Err(error)) => tracing::debug!(%error, "cannot try to lead now"),
                Err(_) => tracing::debug!("trying to lead timed out"),
            }
        }
        state.hub.leading.store(held.is_some(), Ordering::Release);
        tokio::time::sleep(LEAD_RETRY).await;
    }
}

/// Recomputes the alerts and the watched boards now, and publishes the
/// scopes whose figures changed. Also called once before the server
/// reports ready, so the first snapshot a display gets is a full board.
pub fn publish(state: &AppState) {
    publish_leading(state, false);
}

/// [`publish`]; when `leading`, also returns the alert changes to write
/// to the log (the conditions holding now against the alert book).
fn publish_leading(state: &AppState, leading: bool) -> Vec<Command> {
    let started = Instant::now();
    let now = now_millis();
    let seq = state.views.last_seq();
    let Some(tick) = state.views.tick(now) else {
        return Vec::new();
    };
    // Alerts first, so the boards published below carry them.
    let holding = tick.conditions(state.views.alert_rules());
    let logged = state.views.take_alert_events();
    let Ok((changes, alerts, pending)) = state.hub.book.lock().map(|mut book| {
        let changes = fold_alert_events(&mut book, logged);
        book.refresh(&holding);
        let mut pending = Vec::new();
        if leading {
            let (raises, clears) = book.pending(now, &holding);
            pending.extend(raises.into_iter().map(Command::RaiseAlert));
            pending.extend(clears.into_iter().map(Command::ClearAlert));
        }
        (changes, book.active(), pending)
    }) else {
        return Vec::new();
    };
    send_alert_changes(&state.hub, changes);
    let previous = state.hub.boards.borrow().clone();
    let mut version = previous
        .boards
        .values()
        .map(|board| board.version)
        .max()
        .unwrap_or(0);
    let mut next = Published::default();
    let mut changed = false;
    for scope in state.hub.scopes() {
        let Some(Ok(board)) = state.views.board(&tick, &scope, &alerts) else {
            continue;
        };
        let fingerprint = board.fingerprint();
        let unchanged = previous
            .boards
            .get(&scope)
            .filter(|old| old.fingerprint == fingerprint);
        let published = match unchanged {
            Some(old) => old.clone(),
            None => {
                changed = true;
                version += 1;
                Arc::new(ScopedBoard::new(seq, version, &board, fingerprint))
            }
        };
        next.boards.insert(scope, published);
    }
    if changed || next.boards.len() != previous.boards.len() {
        state.hub.boards.send_replace(Arc::new(next));
    }
    if changed {
        state.metrics.observe_publish(started.elapsed());
    }
    pending
}

/// Folds alert events from the log into the book, in order.
fn fold_alert_events(book: &mut AlertBook, events: Vec<Event>) -> AlertChanges {
    let mut changes = AlertChanges::default();
    for event in events {
        match event {
            Event::AlertRaised(raised) => changes.raised.extend(book.raise(&raised)),
            Event::AlertCleared(cleared) => changes.cleared.extend(book.clear(&cleared)),
            Event::AlertAcknowledged(ack) => {
                let acknowledgement = Acknowledgement {
                    by: ack.by,
                    note: ack.note,
                    at: ack.at,
                    raised_at: ack.raised_at,
                };
                changes
                    .acknowledged
                    .extend(book.acknowledge(&ack.alert_id, acknowledgement));
            }
            _ => {}
        }
    }
    changes
}

fn send_alert_changes(hub: &LiveHub, changes: AlertChanges) {
    for (kind, alerts) in [
        ("raised", changes.raised),
        ("cleared", changes.cleared),
        ("acknowledged", changes.acknowledged),
    ] {
        for alert in alerts {
            tracing::info!(alert = %alert.condition.id, state = kind, "alert");
            let text = json!({ "type": "alert", "state": kind, "alert": alert }).to_string();
            // No receivers is fine: nobody is watching.
            let _ = hub.alerts.send(AlertMessage {
                scope: alert.condition.scope.clone(),
                text: text.into(),
            });
        }
    }
}

/// A board for `scope` built now, for a socket whose scope the publisher
/// has not built yet.
fn build_now(state: &AppState, scope: &Scope) -> Option<Arc<ScopedBoard>> {
    let now: Millis = now_millis();
    let tick = state.views.tick(now)?;
    let board = state
        .views
        .board(&tick, scope, &state.hub.active_alerts())?
        .ok()?;
    let fingerprint = board.fingerprint();
    Some(Arc::new(ScopedBoard::new(
        state.views.last_seq(),
        0,
        &board,
        fingerprint,
    )))
}

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
    state.views.check_scope(&scope).map_err(ApiError::from)?;
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
    let hub = &state.hub;
    hub.clients.fetch_add(1, Ordering::Relaxed);
    hub.watch(&scope);
    state.metrics.set_live_clients(hub.clients());
    let mut boards = hub.boards.subscribe();
    let mut alerts = hub.alerts.subscribe();
    let mut revocations = state.auth.revocations();
    let published = boards.borrow_and_update().boards.get(&scope).cloned();
    let first = published.or_else(|| build_now(&state, &scope));
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
                changed = boards.changed() => {
                    if changed.is_err() { break; }
                    let latest = boards.borrow_and_update().boards.get(&scope).cloned();
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
                alert = alerts.recv() => match alert {
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
    hub.unwatch(&scope);
    hub.clients.fetch_sub(1, Ordering::Relaxed);
    state.metrics.set_live_clients(hub.clients());
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
