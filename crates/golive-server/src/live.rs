//! The live hub: pushes the board to command-center displays over
//! WebSocket (`GET /api/v1/live`).
//!
//! One publisher task recomputes the board every push interval, and
//! publishes it only when something changed (new events, or windows that
//! slid over old ones). The latest board sits in a `watch` channel holding
//! an `Arc` of the serialized message, so every socket shares one string
//! and a slow display simply skips to the newest board when it catches up.
//! Alerts go through a `broadcast` channel; a socket that lags behind it
//! skips the missed alerts (the board carries the active ones anyway) and
//! stays subscribed.

use crate::auth::{Caller, READERS};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::response::Response;
use golive_core::alerts::{AlertBook, AlertChanges};
use golive_core::time::now_millis;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// How long one send may take before the display is considered dead.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Pings keep NATs open and find dead peers.
const PING_EVERY: Duration = Duration::from_secs(20);

/// A published board and its serialized forms, per scope.
pub struct Published {
    /// The log position the board reflects.
    pub seq: u64,
    /// Publication counter (changes whenever the board does).
    pub version: u64,
    pub board: Value,
    /// When it was published, for the push delay histogram.
    pub published: Instant,
    scoped: Mutex<HashMap<Scope, Arc<Scoped>>>,
}

/// A board as one scope sees it, serialized once for all its sockets.
pub struct Scoped {
    pub snapshot: Utf8Bytes,
    pub update: Utf8Bytes,
}

impl Published {
    fn new(seq: u64, version: u64, board: Value) -> Self {
        Published {
            seq,
            version,
            board,
            published: Instant::now(),
            scoped: Mutex::new(HashMap::new()),
        }
    }

    /// The messages for `scope`, serialized on first use.
    pub fn for_scope(&self, scope: &Scope) -> Arc<Scoped> {
        if let Ok(cache) = self.scoped.lock()
            && let Some(found) = cache.get(scope)
        {
            return found.clone();
        }
        let board = scope.apply(&self.board);
        let body = serde_json::to_string(&board).unwrap_or_else(|_| "null".into());
        let scoped = Arc::new(Scoped {
            snapshot: format!(r#"{{"type":"snapshot","seq":{},"board":{body}}}"#, self.seq).into(),
            update: format!(r#"{{"type":"board","seq":{},"board":{body}}}"#, self.seq).into(),
        });
        if let Ok(mut cache) = self.scoped.lock() {
            cache.insert(scope.clone(), scoped.clone());
        }
        scoped
    }
}

/// What a display asked to see: everything, one site or one queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
pub struct Scope {
    pub site: Option<String>,
    pub queue: Option<String>,
}

impl Scope {
    /// The board cut down to this scope: a site's displays see that site's
    /// ticket figures as the headline and its ATE line; a queue's displays
    /// see that queue's calls and staffing.
    pub fn apply(&self, board: &Value) -> Value {
        if self.site.is_none() && self.queue.is_none() {
            return board.clone();
        }
        let mut out = board.clone();
        if let Some(windows) = out.get_mut("windows").and_then(Value::as_object_mut) {
            for window in windows.values_mut() {
                self.apply_to_report(window);
            }
        }
        if let Some(map) = out.as_object_mut() {
            if let Some(queue) = &self.queue {
                retain_list(map, "staffing", "queue", queue);
                if let Some(waiting) = map.get_mut("calls_waiting").and_then(Value::as_object_mut) {
                    waiting.retain(|name, _| name == queue);
                }
                map.insert("ate".into(), json!([]));
                map.insert("forecast".into(), json!([]));
            }
            if let Some(site) = &self.site {
                retain_list(map, "ate", "site", site);
                if let Some(surges) = map.get_mut("surges").and_then(Value::as_array_mut) {
                    surges.retain(|s| s["dimension"] != "site" || s["value"] == site.as_str());
                }
            }
            map.insert(
                "scope".into(),
                json!({ "site": self.site, "queue": self.queue }),
            );
        }
        out
    }

    fn apply_to_report(&self, report: &mut Value) {
        let Some(map) = report.as_object_mut() else {
            return;
        };
        if let Some(site) = &self.site {
            let figures = map
                .get("tickets_by")
                .and_then(|by| by.get("site"))
                .and_then(|s| s.get(site))
                .cloned();
            if let Some(sites) = map
                .get_mut("tickets_by")
                .and_then(|by| by.get_mut("site"))
                .and_then(Value::as_object_mut)
            {
                sites.retain(|name, _| name == site);
            }
            map.insert("tickets".into(), figures.unwrap_or(Value::Null));
        }
        if let Some(queue) = &self.queue {
            let figures = map
                .get("calls_by_queue")
                .and_then(|q| q.get(queue))
                .cloned();
            if let Some(queues) = map.get_mut("calls_by_queue").and_then(Value::as_object_mut) {
                queues.retain(|name, _| name == queue);
            }
            map.insert("calls".into(), figures.unwrap_or(Value::Null));
            map.remove("tickets_by");
            retain_list(map, "staffing", "queue", queue);
        }
    }
}

fn retain_list(map: &mut serde_json::Map<String, Value>, key: &str, field: &str, wanted: &str) {
    if let Some(list) = map.get_mut(key).and_then(Value::as_array_mut) {
        list.retain(|item| item[field] == wanted);
    }
}

/// The hub's shared state.
pub struct LiveHub {
    boards: watch::Sender<Arc<Published>>,
    alerts: broadcast::Sender<Utf8Bytes>,
    book: Mutex<AlertBook>,
    clients: AtomicU64,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveHub {
    pub fn new() -> Self {
        LiveHub {
            boards: watch::Sender::new(Arc::new(Published::new(0, 0, Value::Null))),
            alerts: broadcast::channel(256).0,
            book: Mutex::new(AlertBook::default()),
            clients: AtomicU64::new(0),
        }
    }

    /// Connected displays.
    pub fn clients(&self) -> u64 {
        self.clients.load(Ordering::Relaxed)
    }

    /// The latest published board.
    pub fn latest(&self) -> Arc<Published> {
        self.boards.borrow().clone()
    }

    /// Active alerts as JSON (for the board).
    pub fn active_alerts(&self) -> Value {
        self.book
            .lock()
            .map(|book| json!(book.active()))
            .unwrap_or_else(|_| json!([]))
    }
}

/// Recomputes alerts and the board every `interval`; publishes changes.
pub async fn publish_loop(state: Arc<AppState>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if !state.is_ready() {
            continue;
        }
        publish(&state);
        if state.hub.latest().seq > 0 {
            crate::fault::trip(crate::fault::Point::Publisher);
        }
    }
}

/// Recomputes alerts and the board now, and publishes the board if it
/// changed (anything but its `as_of`). Also called once before the server
/// reports ready, so the first snapshot a display gets is a full board.
pub fn publish(state: &AppState) {
    let started = Instant::now();
    let now = now_millis();
    let seq = state.views.last_seq();
    let Some(parts) = state.views.board_parts(now) else {
        return;
    };
    // Alerts first, so the board published below carries them.
    let holding = parts.conditions(state.views.alert_rules());
    if let Ok(changes) = state
        .hub
        .book
        .lock()
        .map(|mut book| book.update(now, holding))
    {
        send_alert_changes(&state.hub, changes);
    }
    let board = parts.to_json(state.hub.active_alerts());
    let latest = state.hub.latest();
    if same_but_as_of(&latest.board, &board) {
        return;
    }
    state
        .hub
        .boards
        .send_replace(Arc::new(Published::new(seq, latest.version + 1, board)));
    state.metrics.observe_publish(started.elapsed());
}

/// Whether two boards differ at most in their `as_of`.
fn same_but_as_of(a: &Value, b: &Value) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, value)| key == "as_of" || b.get(key) == Some(value))
        }
        _ => a == b,
    }
}

fn send_alert_changes(hub: &LiveHub, changes: AlertChanges) {
    for (kind, alerts) in [("raised", changes.raised), ("cleared", changes.cleared)] {
        for alert in alerts {
            tracing::info!(alert = %alert.condition.id, state = kind, "alert");
            let message = json!({ "type": "alert", "state": kind, "alert": alert }).to_string();
            // No receivers is fine: nobody is watching.
            let _ = hub.alerts.send(message.into());
        }
    }
}

#[derive(Deserialize)]
pub struct LiveQuery {
    site: Option<String>,
    queue: Option<String>,
    #[allow(dead_code)]
    token: Option<String>,
}

/// `GET /api/v1/live`: upgrades to a WebSocket for an authorized display.
pub async fn live(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(query): Query<LiveQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    caller.require(READERS)?;
    let scope = Scope {
        site: query.site.filter(|s| !s.trim().is_empty()),
        queue: query.queue.filter(|q| !q.trim().is_empty()),
    };
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
    state.metrics.set_live_clients(hub.clients());
    let mut boards = hub.boards.subscribe();
    let mut alerts = hub.alerts.subscribe();
    let mut revocations = state.auth.revocations();
    let first = boards.borrow_and_update().clone();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut awaiting_pong = false;
    // Revoked between the upgrade request and now: never serve a board.
    let revoked_already = revocations.borrow_and_update().contains(&*token_hash);
    if revoked_already {
        close_revoked(&mut socket).await;
    } else if send(&mut socket, first.for_scope(&scope).snapshot.clone()).await {
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
                    let latest = boards.borrow_and_update().clone();
                    if !send(&mut socket, latest.for_scope(&scope).update.clone()).await { break; }
                    state.metrics.observe_push_delay(latest.published.elapsed());
                }
                alert = alerts.recv() => match alert {
                    Ok(message) => if !send(&mut socket, message).await { break; },
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
