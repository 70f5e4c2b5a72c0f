//! Keeps CPU-heavy work off the async workers.
//!
//! The async workers serve every request and every live socket; a task
//! that computes for milliseconds on one of them (applying a large commit,
//! building boards, a report over weeks, serializing it) stalls whatever
//! else is queued there, `/healthz` included. Such work runs on the
//! blocking pool instead ([`blocking`]), or, where it must stay inside a
//! synchronous callback that owns its state (the writer deciding a large
//! part against its ledger), hands the worker's other tasks to another
//! thread while it runs ([`in_place`]). Ordering is the caller's: each
//! awaits its work before going on, so the single writer and the applier
//! keep their order.

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::JoinError;

/// Events or commands from which work counts as heavy: below it, the
/// hand-off costs more than the work (a single POST's commit).
pub const HEAVY: usize = 256;

/// Runs `work` on the blocking pool and waits for it. A panic in `work`
/// comes back as the `JoinError`.
pub async fn blocking<T, F>(work: F) -> Result<T, JoinError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work).await
}

/// [`blocking`] for work that must not be lost: a panic in it is raised
/// again here, as if `work` had run in place.
pub async fn blocking_or_panic<T, F>(work: F) -> Option<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match blocking(work).await {
        Ok(value) => Some(value),
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // Cancelled: the runtime is shutting down.
        Err(_) => None,
    }
}

/// Runs `work` on this thread; when it is `heavy` and the runtime has
/// other workers, this worker's queued tasks move to another thread first
/// (`block_in_place`), so they do not wait for it.
pub fn in_place<T>(heavy: bool, work: impl FnOnce() -> T) -> T {
    let multi_thread = Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == RuntimeFlavor::MultiThread);
    if heavy && multi_thread {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}
