//! The Asterisk connector's compiled configuration and its saved state:
//! one [`QueueLogFeed`] (queue members, waiting calls) and the followed
//! file's position, shared by the HTTP push (`super::asterisk`) and the
//! queue_log follower (`super::queue_log`). Held in the shared state, so
//! it knows nothing of it: it reads the store it is handed.

use crate::error::ApiError;
use golive_connect::QueueResolver;
use golive_connect::asterisk::{AsteriskConfig, QueueLogFeed};
use golive_store::Store;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// The connector's name in metrics and `connector_state`.
pub const NAME: &str = "asterisk";

/// Where the follower is in its file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePosition {
    pub dev: u64,
    pub ino: u64,
    /// Bytes read (always at a line's start).
    pub offset: u64,
    /// FNV-1a hash of the file's first `head_len` bytes: a file truncated
    /// and written again (copytruncate) has other first bytes.
    pub head: u64,
    pub head_len: u64,
}

/// What is saved: the feed and the file position.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Saved {
    pub feed: QueueLogFeed,
    pub file: Option<FilePosition>,
}

/// The connector's compiled configuration and its state.
pub struct Asterisk {
    pub config: AsteriskConfig,
    pub queues: QueueResolver,
    state: Mutex<Option<Saved>>,
}

impl Asterisk {
    pub fn new(config: AsteriskConfig, queues: QueueResolver) -> Result<Asterisk, String> {
        if config.poll_interval_ms == 0 || config.close_waiting_after_seconds == 0 {
            return Err(
                "connectors.asterisk: poll_interval_ms and close_waiting_after_seconds must be \
                 at least 1"
                    .into(),
            );
        }
        Ok(Asterisk {
            config,
            queues,
            state: Mutex::new(None),
        })
    }

    /// The saved state, loaded from the database on first use.
    pub async fn lock(
        &self,
        store: &dyn Store,
    ) -> Result<tokio::sync::MappedMutexGuard<'_, Saved>, ApiError> {
        let mut guard = self.state.lock().await;
        if guard.is_none() {
            let saved = match store.connector_cursor(NAME).await {
                Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_else(|error| {
                    tracing::error!(%error, "the saved Asterisk state is unreadable; starting afresh");
                    Saved::default()
                }),
                Ok(None) => Saved::default(),
                Err(error) => {
                    tracing::error!(%error, "could not read the saved Asterisk state");
                    return Err(ApiError::unavailable(
                        "the database is unavailable; try again shortly",
                    ));
                }
            };
            *guard = Some(saved);
        }
        Ok(tokio::sync::MutexGuard::map(guard, |saved| {
            saved.get_or_insert_with(Saved::default)
        }))
    }
}
