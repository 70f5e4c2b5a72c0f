//! Fault injection for the fault suite (`tests/faults.rs`): makes a
//! background task fail for real, so the tests can check that a dead writer
//! or publisher ends the process instead of leaving it half alive.
//!
//! Honoured only in debug builds (the ones tests run) and only when
//! `GOLIVE_FAULT_INJECTION` names a point; release builds compile every
//! check to nothing. The tests start on an empty database, so each point
//! trips on the first write:
//! - `writer`: the writer task panics after committing it;
//! - `views`: folding its events into the read side panics while holding
//!   the aggregator's write lock (poisoning it; the writer dies with it);
//! - `publisher`: the live board publisher panics on the next board that
//!   reflects it;
//! - `drop_notifications`: the log tailer (`crate::tail`) ignores every
//!   notification it hears, as if each were lost, so a replica learns of
//!   other replicas' commits from its periodic catch-up alone.

/// A place a fault can be injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    Writer,
    Views,
    Publisher,
    Notifications,
}

impl Point {
    fn name(self) -> &'static str {
        match self {
            Point::Writer => "writer",
            Point::Views => "views",
            Point::Publisher => "publisher",
            Point::Notifications => "drop_notifications",
        }
    }
}

/// Whether the fault at `point` is armed for this process.
pub fn armed(point: Point) -> bool {
    static ARMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    cfg!(debug_assertions)
        && ARMED
            .get_or_init(|| std::env::var("GOLIVE_FAULT_INJECTION").ok())
            .as_deref()
            == Some(point.name())
}

/// Panics if the fault at `point` is armed.
pub fn trip(point: Point) {
    if armed(point) {
        panic!("fault injection: {} fails", point.name());
    }
}
