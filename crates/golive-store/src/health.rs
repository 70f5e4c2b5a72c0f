//! Whether writes can commit, as readiness reports it.
//!
//! A failed commit (disk full, database gone, a broken connection) marks
//! writes as failing; the next commit that succeeds clears the mark. So
//! that readiness recovers when the database does even if no client
//! writes in the meantime, a caller asking while writes fail runs a write
//! probe (an empty write transaction, see `Store::write_failure`) at most
//! once per [`PROBE_INTERVAL`].

use crate::StoreError;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Least time between two write probes while writes fail.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Longest a probe waits for a pooled connection.
pub(crate) const PROBE_WAIT: Duration = Duration::from_millis(500);

/// Why writes cannot commit now.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteFailure {
    /// The database's error for the last failed commit or probe (never
    /// ticket text: database errors name codes and statements, not values).
    pub reason: String,
    /// How long writes have been failing.
    pub for_seconds: f64,
}

/// The store's write health (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct WriteHealth {
    /// Fast path for the common case: set exactly while `state` is `Some`.
    failing: AtomicBool,
    state: Mutex<Option<Failing>>,
}

#[derive(Debug)]
struct Failing {
    reason: String,
    since: Instant,
    last_probe: Option<Instant>,
}

impl WriteHealth {
    /// A commit (or probe) succeeded: writes work.
    pub(crate) fn succeeded(&self) {
        if !self.failing.load(Ordering::Acquire) {
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            if state.take().is_some() {
                tracing::info!("database writes commit again");
            }
            self.failing.store(false, Ordering::Release);
        }
    }

    /// A commit (or probe) failed with `error`.
    pub(crate) fn failed(&self, error: &StoreError) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let reason = error.to_string();
        match state.as_mut() {
            Some(failing) => failing.reason = reason,
            None => {
                tracing::warn!(%reason, "database writes fail; readiness reports not ready until one commits");
                *state = Some(Failing {
                    reason,
                    since: Instant::now(),
                    last_probe: None,
                });
            }
        }
        self.failing.store(true, Ordering::Release);
    }

    /// The current failure, if any, and whether the caller should run a
    /// write probe now (then it is counted as started, so concurrent
    /// callers do not probe too).
    pub(crate) fn check(&self) -> Option<(WriteFailure, bool)> {
        if !self.failing.load(Ordering::Acquire) {
            return None;
        }
        let mut state = self.state.lock().ok()?;
        let failing = state.as_mut()?;
        let now = Instant::now();
        let probe = failing
            .last_probe
            .is_none_or(|at| now.duration_since(at) >= PROBE_INTERVAL);
        if probe {
            failing.last_probe = Some(now);
        }
        Some((failing.failure(now), probe))
    }

    /// The current failure, if any.
    pub(crate) fn current(&self) -> Option<WriteFailure> {
        if !self.failing.load(Ordering::Acquire) {
            return None;
        }
        let state = self.state.lock().ok()?;
        state.as_ref().map(|f| f.failure(Instant::now()))
    }
}

impl Failing {
    fn failure(&self, now: Instant) -> WriteFailure {
        WriteFailure {
            reason: self.reason.clone(),
            for_seconds: now.duration_since(self.since).as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_holds_until_a_success_and_probes_are_spaced() {
        let health = WriteHealth::default();
        assert!(health.check().is_none());
        health.failed(&StoreError::BadRow("disk is full".into()));
        let (failure, probe) = health.check().expect("failing");
        assert!(failure.reason.contains("disk is full"));
        assert!(probe, "the first check probes");
        let (_, probe) = health.check().expect("still failing");
        assert!(!probe, "a second check within the interval does not");
        assert!(health.current().is_some());
        health.succeeded();
        assert!(health.check().is_none());
        assert!(health.current().is_none());
    }
}
