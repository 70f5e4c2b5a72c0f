//! The revocation watcher: notices every token revocation within
//! [`POLL`], whoever made it (this server, another replica on the same
//! database, or `golive token revoke` from the command line), so a revoked
//! token is refused and its live sockets are closed within the contract's
//! 2 seconds.
//!
//! Each poll is one count of revoked tokens (revocation is permanent and
//! tokens are never deleted, so the count only grows); only when it changed
//! are the revoked hashes read and handed to the authenticator.

use crate::state::AppState;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Time between two polls: half the contract's bound, leaving the other
/// half for the poll itself and for sockets to close on a busy machine.
pub const POLL: Duration = Duration::from_millis(500);

/// Polls the store for revocations until the server stops.
pub async fn watch(state: Arc<AppState>) {
    let mut ticker = tokio::time::interval(POLL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut known: Option<u64> = None;
    let mut failing = false;
    loop {
        ticker.tick().await;
        let result = match state.store.revoked_token_count().await {
            Ok(count) if Some(count) == known => Ok(()),
            Ok(count) => refresh(&state).await.map(|()| known = Some(count)),
            Err(error) => Err(error),
        };
        match result {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("revocation watcher reads the database again");
            }
            Ok(()) => {}
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "revocation watcher cannot read the database; retrying");
            }
            Err(_) => {}
        }
    }
}

/// Reads every revoked token's hash and hands them to the authenticator
/// (which drops cached answers and closes sockets when any is new).
pub async fn refresh(state: &AppState) -> Result<(), golive_store::StoreError> {
    let hashes: HashSet<String> = state
        .store
        .revoked_token_hashes()
        .await?
        .into_iter()
        .collect();
    state.auth.revoked(hashes);
    Ok(())
}
