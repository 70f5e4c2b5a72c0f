//! The tailer: keeps a replica live with what the others commit on a
//! shared PostgreSQL.
//!
//! Every commit notifies (`pg_notify` inside its transaction, so only
//! committed batches are heard of, with the log's new last sequence
//! number); a listener task hears it and the tailer reads the log past
//! what it applied. Notifications are not a reliable feed: `PgListener`
//! drops those sent while it reconnects, and a burst arrives as many. So
//! a notification is only a hint to read the log now: the tailer also
//! reads it every [`CATCH_UP`] and after every reconnect, and the applier
//! (`crate::applier`) applies each event once, in order, whatever told it.
//!
//! SQLite has one process writing the log: no tailer runs.

use crate::applier::Applier;
use golive_store::{LogListener, LogNotice, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Time between two reads of the log that no notification asked for:
/// bounds how late a dropped notification makes an event (well inside the
/// contract's 2 seconds), for one cheap indexed query.
pub const CATCH_UP: Duration = Duration::from_millis(500);

/// Longest wait before the listener tries its connection again.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What the listener task tells the tailer.
#[derive(Debug)]
enum Hint {
    /// The log reached this sequence number.
    Committed(u64),
    /// Notifications may have been missed: read the log.
    Reconnected,
}

/// Follows the log until the server stops; returns at once where there is
/// nothing to follow (SQLite).
pub async fn run(store: Arc<dyn Store>, applier: Arc<Applier>) {
    if store.backend() != "postgres" {
        return;
    }
    let (hints, mut heard) = mpsc::channel(64);
    // In a task of its own: the listener's reads are not cancelled by the
    // catch-up timer (a half-read message would be lost).
    let listening = tokio::spawn(listen(store.clone(), hints));
    let mut ticker = tokio::time::interval(CATCH_UP);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        let wanted = tokio::select! {
            _ = ticker.tick() => None,
            hint = heard.recv() => match hint {
                Some(Hint::Committed(seq)) => Some(seq),
                Some(Hint::Reconnected) => None,
                None => break,
            },
        };
        if let Some(seq) = wanted
            && seq <= applier.applied().await
        {
            // This process's own commit, or one already read.
            continue;
        }
        match applier.catch_up().await {
            Ok(_) if failing => {
                failing = false;
                tracing::info!("the tailer reads the log again");
            }
            Ok(_) => {}
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "the tailer cannot read the log; retrying");
            }
            Err(_) => {}
        }
    }
    listening.abort();
}

/// Listens on the log's channel, passing on what it hears, and opens the
/// listener again (with backoff) whenever it fails.
async fn listen(store: Arc<dyn Store>, hints: mpsc::Sender<Hint>) {
    let mut backoff = Duration::from_millis(100);
    let mut listener: Option<LogListener> = None;
    loop {
        let current = match listener.as_mut() {
            Some(current) => current,
            None => match store.listen().await {
                Ok(Some(opened)) => {
                    backoff = Duration::from_millis(100);
                    // Whatever was committed before it listened.
                    if hints.send(Hint::Reconnected).await.is_err() {
                        return;
                    }
                    listener.insert(opened)
                }
                Ok(None) => return,
                Err(error) => {
                    tracing::debug!(%error, "cannot listen to the log yet; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };
        let hint = match current.next().await {
            Ok(LogNotice::Committed(seq)) => {
                // A burst of commits needs one read: pass on the newest.
                let mut newest = seq;
                while let Some(more) = current.next_buffered() {
                    newest = newest.max(more);
                }
                if crate::fault::armed(crate::fault::Point::Notifications) {
                    continue;
                }
                Hint::Committed(newest)
            }
            Ok(LogNotice::Lost) => {
                tracing::info!("the log listener's connection was lost; reconnected");
                Hint::Reconnected
            }
            Err(error) => {
                tracing::warn!(%error, "the log listener failed; listening again");
                listener = None;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                Hint::Reconnected
            }
        };
        if hints.send(hint).await.is_err() {
            return;
        }
    }
}
