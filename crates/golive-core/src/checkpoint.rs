//! Checkpoints of the folds of the log: the ledger's and the aggregator's
//! memory as bytes, so that a restart reads them and replays only the
//! events after them instead of the whole log.
//!
//! The bytes are postcard (serde, compact, no field names) of the same
//! structures the folds keep, less what depends on the process (hash
//! keys, caches, the configured names), which is built again on restore.
//! They are readable only by a binary built from the same sources
//! ([`STATE_ID`]); the server checks that, and that the log still holds
//! the event a checkpoint was taken at, before it trusts one, and replays
//! the whole log otherwise.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What a checkpoint must have been written by to be read: the layout
/// of the checkpointed structures (the leading number, bumped by hand when
/// they change on purpose), the crate's version and a fingerprint of this
/// crate's sources (`build.rs`), which catches the changes nobody bumped
/// the number for.
pub const STATE_ID: &str = concat!(
    "1/",
    env!("CARGO_PKG_VERSION"),
    "/",
    env!("GOLIVE_CORE_SOURCES")
);

/// Why a checkpoint could not be written or read. Never carries the
/// state's contents.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot encode the checkpoint: {0}")]
    Encode(String),
    #[error("cannot decode the checkpoint: {0}")]
    Decode(String),
}

/// `value` as checkpoint bytes.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CheckpointError> {
    postcard::to_stdvec(value).map_err(|error| CheckpointError::Encode(error.to_string()))
}

/// Checkpoint bytes back into a `T`; bytes left over are an error (the
/// bytes were not written as a `T`).
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CheckpointError> {
    let (value, rest) = postcard::take_from_bytes(bytes)
        .map_err(|error| CheckpointError::Decode(error.to_string()))?;
    if !rest.is_empty() {
        return Err(CheckpointError::Decode(format!(
            "{} bytes left over",
            rest.len()
        )));
    }
    Ok(value)
}
