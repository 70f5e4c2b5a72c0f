//! The publisher: the background tasks that keep the live hub
//! (`crate::live`) current. Every push interval it publishes the boards
//! and alerts (on the blocking pool: building boards is CPU work that must
//! not stall requests and sockets), and, while this process leads the
//! replicas, writes the alerts raised and cleared to the log.

use crate::live;
use crate::offload;
use crate::state::AppState;
use golive_core::ledger::Command;
use std::sync::Arc;
use std::time::Duration;

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
        let leading = state.hub.is_leading();
        let pending = publish_apart(&state, leading).await;
        if !pending.is_empty()
            && let Some(writer) = state.writer()
        {
            match writer.submit(pending).await {
                // Applied before the answer: the book has them now.
                Ok(_) => {
                    publish_apart(&state, false).await;
                }
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
        state.hub.set_leading(held.is_some());
        tokio::time::sleep(LEAD_RETRY).await;
    }
}

/// Publishes now (see [`live::publish`]) on the blocking pool; returns the
/// alert changes to write when `leading`.
pub async fn publish_apart(state: &Arc<AppState>, leading: bool) -> Vec<Command> {
    let state = state.clone();
    offload::blocking_or_panic(move || {
        live::publish(&state.views, &state.hub, &state.metrics, leading)
    })
    .await
    .unwrap_or_default()
}
