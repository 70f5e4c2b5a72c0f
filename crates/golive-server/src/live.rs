//! The live hub: the boards and alerts pushed to command-center displays
//! (`GET /api/v1/live`, served by `routes::live`).
//!
//! [`publish`] computes the center-wide figures, folds in the alert events
//! the log brought (raised, cleared, acknowledged: the alert book is a fold
//! of the log, the same on every replica; the leader among the replicas
//! writes the raises and clears) and builds one board per scope that a
//! display watches (the whole center, a site, a queue: cut on the server,
//! typed). It is synchronous CPU work: the publisher (`crate::publisher`)
//! runs it on the blocking pool. A scope's board is published only when
//! its figures changed as a display shows them (`LiveBoard::fingerprint`):
//! the moving window bounds alone never make a push. The latest boards sit
//! in a `watch` channel holding, per scope, an `Arc` of the serialized
//! messages, so every socket of a scope shares one string and a slow
//! display simply skips to the newest board when it catches up. Alerts go
//! through a `broadcast` channel with their scope; a socket sends only
//! those its scope admits, and one that lags behind skips the missed
//! alerts (the board carries the active ones anyway) and stays subscribed.

use crate::metrics::Metrics;
use crate::views::Views;
use axum::extract::ws::Utf8Bytes;
use golive_core::alerts::{Acknowledgement, Alert, AlertBook, AlertChanges, AlertScope};
use golive_core::board::{LiveBoard, Scope};
use golive_core::event::Event;
use golive_core::ledger::Command;
use golive_core::time::now_millis;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{broadcast, watch};

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
pub struct AlertMessage {
    pub scope: AlertScope,
    pub text: Utf8Bytes,
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

    /// Whether this process leads (see `crate::publisher::lead`).
    pub fn is_leading(&self) -> bool {
        self.leading.load(Ordering::Acquire)
    }

    pub fn set_leading(&self, leading: bool) {
        self.leading.store(leading, Ordering::Release);
    }

    /// A display's subscription to `scope`: counted as a client and its
    /// scope built by the publisher until it is dropped.
    pub fn subscribe(self: &Arc<Self>, scope: Scope, metrics: Arc<Metrics>) -> Subscription {
        self.clients.fetch_add(1, Ordering::Relaxed);
        self.watch(&scope);
        metrics.set_live_clients(self.clients());
        Subscription {
            boards: self.boards.subscribe(),
            alerts: self.alerts.subscribe(),
            hub: self.clone(),
            scope,
            metrics,
        }
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

/// What one display socket receives; unsubscribes when dropped.
pub struct Subscription {
    pub boards: watch::Receiver<Arc<Published>>,
    pub alerts: broadcast::Receiver<AlertMessage>,
    pub scope: Scope,
    hub: Arc<LiveHub>,
    metrics: Arc<Metrics>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unwatch(&self.scope);
        self.hub.clients.fetch_sub(1, Ordering::Relaxed);
        self.metrics.set_live_clients(self.hub.clients());
    }
}

/// Recomputes the alerts and the watched boards as of now, and publishes
/// the scopes whose figures changed. When `leading`, also returns the
/// alert changes to write to the log (the conditions holding now against
/// the alert book). CPU work: call it off the async workers.
pub fn publish(views: &Views, hub: &LiveHub, metrics: &Metrics, leading: bool) -> Vec<Command> {
    let started = Instant::now();
    let now = now_millis();
    let seq = views.last_seq();
    let Some(tick) = views.tick(now) else {
        return Vec::new();
    };
    // Alerts first, so the boards published below carry them.
    let holding = tick.conditions(views.alert_rules());
    let logged = views.take_alert_events();
    let Ok((changes, alerts, pending)) = hub.book.lock().map(|mut book| {
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
    send_alert_changes(hub, changes);
    let previous = hub.boards.borrow().clone();
    let mut version = previous
        .boards
        .values()
        .map(|board| board.version)
        .max()
        .unwrap_or(0);
    let mut next = Published::default();
    let mut changed = false;
    for scope in hub.scopes() {
        let Some(Ok(board)) = views.board(&tick, &scope, &alerts) else {
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
        hub.boards.send_replace(Arc::new(next));
    }
    if changed {
        metrics.observe_publish(started.elapsed());
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
/// has not built yet. CPU work: call it off the async workers.
pub fn build_now(views: &Views, hub: &LiveHub, scope: &Scope) -> Option<Arc<ScopedBoard>> {
    let tick = views.tick(now_millis())?;
    let board = views.board(&tick, scope, &hub.active_alerts())?.ok()?;
    let fingerprint = board.fingerprint();
    Some(Arc::new(ScopedBoard::new(
        views.last_seq(),
        0,
        &board,
        fingerprint,
    )))
}
