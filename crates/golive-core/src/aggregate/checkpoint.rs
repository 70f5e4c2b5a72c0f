//! The aggregator in and out of a checkpoint (`crate::checkpoint`).

use super::Aggregator;
use crate::checkpoint::{CheckpointError, decode, encode};

impl Aggregator {
    /// The aggregator as checkpoint bytes.
    pub fn checkpoint(&self) -> Result<Vec<u8>, CheckpointError> {
        encode(self)
    }

    /// The aggregator a checkpoint holds, as it was when written.
    pub fn from_checkpoint(bytes: &[u8]) -> Result<Aggregator, CheckpointError> {
        let mut aggregator: Aggregator = decode(bytes)?;
        // The call ids' tables are keyed by this process's secret keys.
        let calls = &aggregator.calls;
        aggregator
            .call_ids
            .rebuild(|leg| calls.get(leg as usize).map(|call| call.queue));
        Ok(aggregator)
    }
}
