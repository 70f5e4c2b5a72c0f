//! The aggregator's time index: every dated fact filed in a per-minute
//! bucket, so a window only visits the minutes it covers however late or
//! out of order the facts arrived.

use crate::time::Millis;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Width of a bucket. A minute keeps the live windows' boundary buckets
/// small and matches the board's trend, and offsets inside a bucket fit a
/// `u16`.
pub(super) const BUCKET_MS: Millis = 60_000;

/// What a ticket status change counts as; bits of [`Change::kind`].
pub(super) mod change {
    pub const RESOLVED: u8 = 1;
    /// With `RESOLVED`: the creation resolution of a ticket created done.
    pub const FIRST_CONTACT: u8 = 2;
    pub const REOPENED: u8 = 4;
    pub const ESCALATED: u8 = 8;
    /// The ticket left the backlog.
    pub const BECAME_DONE: u8 = 16;
    /// The ticket came back into the backlog.
    pub const BECAME_ACTIVE: u8 = 32;
    /// An active ticket was reclassified: its backlog moves from the
    /// groups of the previous version to those of this one.
    pub const RECLASSIFIED: u8 = 64;
    /// The bits a report counts (everything but a reclassification).
    pub const COUNTED: u8 = RESOLVED | REOPENED | ESCALATED;

    /// The change's effect on the backlog.
    pub fn backlog_delta(kind: u8) -> i64 {
        i64::from(kind & BECAME_ACTIVE != 0) - i64::from(kind & BECAME_DONE != 0)
    }
}

/// A counted ticket status change (or the reclassification of an active
/// ticket): 8 bytes, the time being the bucket's start plus `offset_ms`.
/// `version` is the ticket's classification version the fact belongs to.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Change {
    pub ticket: u32,
    pub offset_ms: u16,
    pub kind: u8,
    pub version: u8,
}

/// The facts dated in one minute, in arrival order.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Bucket {
    /// Tickets opened in this minute (their `opened_at` is on the record).
    pub opened: Vec<u32>,
    pub changes: Vec<Change>,
    /// Calls offered in this minute (their `offered_at` is on the record).
    pub offered: Vec<u32>,
}

/// Sparse minute buckets keyed by `time.div_euclid(BUCKET_MS)`; sparse so
/// a stray timestamp years away costs one bucket, not years of them.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Timeline {
    buckets: BTreeMap<i64, Bucket>,
}

impl Timeline {
    pub(super) fn bucket_mut(&mut self, at: Millis) -> &mut Bucket {
        self.buckets.entry(at.div_euclid(BUCKET_MS)).or_default()
    }

    pub(super) fn push_change(&mut self, at: Millis, ticket: u32, kind: u8, version: u8) {
        // rem_euclid is in 0..BUCKET_MS, which fits a u16.
        let offset_ms = at.rem_euclid(BUCKET_MS) as u16;
        self.bucket_mut(at).changes.push(Change {
            ticket,
            offset_ms,
            kind,
            version,
        });
    }

    /// Buckets that may hold facts in `[from, to)`, with their start time.
    /// Facts in the first and last bucket still need a time check.
    pub(super) fn window(
        &self,
        from: Millis,
        to: Millis,
    ) -> impl Iterator<Item = (Millis, &Bucket)> {
        let keys =
            (from < to).then(|| (from.div_euclid(BUCKET_MS), (to - 1).div_euclid(BUCKET_MS)));
        keys.into_iter().flat_map(|(first, last)| {
            self.with_starts((Bound::Included(first), Bound::Included(last)))
        })
    }

    /// Buckets that may hold facts at or after `at`.
    pub(super) fn since(&self, at: Millis) -> impl Iterator<Item = (Millis, &Bucket)> {
        self.with_starts((Bound::Included(at.div_euclid(BUCKET_MS)), Bound::Unbounded))
    }

    /// Buckets that may hold facts before `at`.
    pub(super) fn before(&self, at: Millis) -> impl Iterator<Item = (Millis, &Bucket)> {
        self.with_starts((Bound::Unbounded, Bound::Included(at.div_euclid(BUCKET_MS))))
    }

    /// Whether facts before `at` span fewer minutes than facts at or after
    /// it: then summing from the start is the cheaper way to a backlog.
    pub(super) fn shorter_before(&self, at: Millis) -> bool {
        let (Some((&first, _)), Some((&last, _))) = (
            self.buckets.first_key_value(),
            self.buckets.last_key_value(),
        ) else {
            return true;
        };
        let key = at.div_euclid(BUCKET_MS);
        i128::from(key) - i128::from(first) < i128::from(last) - i128::from(key)
    }

    pub(super) fn heap_bytes(&self) -> usize {
        // A B-tree leaf holds up to 11 entries; count nodes as two-thirds full.
        let entry = size_of::<i64>() + size_of::<Bucket>();
        self.buckets.len() * entry * 3 / 2
            + self
                .buckets
                .values()
                .map(|b| {
                    b.opened.capacity() * size_of::<u32>()
                        + b.changes.capacity() * size_of::<Change>()
                        + b.offered.capacity() * size_of::<u32>()
                })
                .sum::<usize>()
    }

    fn with_starts(
        &self,
        range: (Bound<i64>, Bound<i64>),
    ) -> impl Iterator<Item = (Millis, &Bucket)> {
        self.buckets
            .range(range)
            .map(|(&key, bucket)| (key * BUCKET_MS, bucket))
    }
}

impl Change {
    /// When the change happened, given its bucket's start.
    pub(super) fn at(&self, bucket_start: Millis) -> Millis {
        bucket_start + Millis::from(self.offset_ms)
    }
}
