//! Notices a log replaced under a running process (a restored backup, a
//! new database behind the same URL) so that the process replays it
//! instead of serving figures that mix two logs.
//!
//! Every [`CHECK_EVERY`], the applier's last applied event is looked up in
//! the log by its sequence number: if the log no longer reaches it, or the
//! event there is another one (another kind or commit time), the log is
//! not the one this process folded into memory. The check is one indexed
//! read; an error reading (the database down) proves nothing and is left
//! to the next check.

use crate::applier::{Applier, LogCheck};
use std::sync::Arc;
use std::time::Duration;

/// Time between two checks: a replaced log is noticed within it.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Returns, with the reason, once the log is found replaced.
pub async fn watch(applier: Arc<Applier>) -> String {
    let mut ticker = tokio::time::interval(CHECK_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match applier.check_log().await {
            Ok(LogCheck::Same) | Err(_) => {}
            Ok(LogCheck::Replaced(reason)) => return reason,
        }
    }
}
