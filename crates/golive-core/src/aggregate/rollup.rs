//! Hourly roll-ups of every counted fact, so that a report over a long
//! window adds up the hours it covers instead of walking their facts.
//!
//! Each fact is added, as it is applied, to the tallies of the hour it is
//! dated in: overall and per group of every dimension (under the
//! classification it was filed with, as a walk attributes it), and the
//! call legs per queue by their offer time. A report over `[from, to)`
//! walks the time index only for the partial hours at its two ends and
//! adds the whole hours in between from here. Resolution durations are
//! kept as samples, so MTTR quantiles stay exact.
//!
//! Call legs change after they are offered, so a leg's contribution is
//! taken out before each change and added back after it
//! ([`Aggregator::change_leg`]); when a queue's answer target changes, its
//! legs are counted again under the new one (the service level is always
//! against the current target, as a walk computes it).

use super::figures::{CallTally, Tallies, TicketTally};
use super::timeline::change;
use super::{Call, Class, call_flag, dimension_index};
use crate::model::TicketDimension;
use crate::time::Millis;
use std::collections::BTreeMap;

/// Width of a roll-up.
pub(super) const HOUR_MS: Millis = 3_600_000;

/// The tallies of one hour.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Hour {
    overall: TicketTally,
    /// By [`dimension_index`], then by group.
    groups: [Vec<TicketTally>; 6],
    calls: CallTally,
    by_queue: Vec<CallTally>,
}

impl Hour {
    /// The tallies one ticket fact of `class` goes into.
    fn tallies(&mut self, class: &Class) -> impl Iterator<Item = &mut TicketTally> {
        let Hour {
            overall, groups, ..
        } = self;
        let grouped =
            TicketDimension::ALL
                .iter()
                .zip(groups.iter_mut())
                .map(|(&dimension, tallies)| {
                    let group = class.group(dimension);
                    if tallies.len() <= group {
                        tallies.resize(group + 1, TicketTally::default());
                    }
                    &mut tallies[group]
                });
        std::iter::once(overall).chain(grouped)
    }
}

/// Sparse hourly tallies keyed by `time.div_euclid(HOUR_MS)`.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Rollup {
    hours: BTreeMap<i64, Hour>,
}

impl Rollup {
    fn hour(&mut self, at: Millis) -> &mut Hour {
        self.hours.entry(at.div_euclid(HOUR_MS)).or_default()
    }

    /// A ticket opened at `at` under `class`.
    pub(super) fn opened(&mut self, class: &Class, at: Millis) {
        for tally in self.hour(at).tallies(class) {
            tally.count_opened(1);
        }
    }

    /// A counted status change at `at` under `class`.
    pub(super) fn changed(&mut self, class: &Class, at: Millis, kind: u8, resolve_ms: i64) {
        if kind & change::COUNTED != 0 {
            for tally in self.hour(at).tallies(class) {
                tally.count_change(kind, resolve_ms, 1);
            }
        }
    }

    /// Adds (`sign` 1) or takes out (-1) a leg's contribution as it stands.
    pub(super) fn count_leg(&mut self, call: &Call, target_ms: f64, sign: i64) {
        if !call.has(call_flag::OFFERED) {
            return;
        }
        let hour = self.hour(call.offered_at);
        hour.calls.count(call, target_ms, sign);
        let queue = call.queue as usize;
        if hour.by_queue.len() <= queue {
            hour.by_queue.resize(queue + 1, CallTally::default());
        }
        hour.by_queue[queue].count(call, target_ms, sign);
    }

    /// Adds the whole hours inside `[from, to)` to a report's tallies, and
    /// gives the times they span (`None` when there is no whole hour): the
    /// caller walks the rest of the window.
    pub(super) fn add_whole_hours(
        &self,
        from: Millis,
        to: Millis,
        tallies: &mut Tallies,
    ) -> Option<(Millis, Millis)> {
        let (first, end) = whole_hours(from, to)?;
        for hour in self.hours.range(first..end).map(|(_, hour)| hour) {
            tallies.overall.absorb(&hour.overall);
            for grouping in &mut tallies.groupings {
                let theirs = &hour.groups[dimension_index(grouping.dimension)];
                for (mine, theirs) in grouping.groups.iter_mut().zip(theirs) {
                    mine.absorb(theirs);
                }
            }
            tallies.calls.absorb(&hour.calls);
            for (mine, theirs) in tallies.by_queue.iter_mut().zip(&hour.by_queue) {
                mine.absorb(theirs);
            }
        }
        Some((first * HOUR_MS, end * HOUR_MS))
    }

    pub(super) fn heap_bytes(&self) -> usize {
        let tally = size_of::<TicketTally>();
        self.hours
            .values()
            .map(|hour| {
                size_of::<Hour>()
                    + hour.overall.heap_bytes()
                    + hour
                        .groups
                        .iter()
                        .flatten()
                        .map(|t| tally + t.heap_bytes())
                        .sum::<usize>()
                    + hour.by_queue.capacity() * size_of::<CallTally>()
            })
            .sum()
    }
}

/// The whole hours inside `[from, to)` as keys `[first, end)`, if any.
fn whole_hours(from: Millis, to: Millis) -> Option<(i64, i64)> {
    let first = from.div_euclid(HOUR_MS) + i64::from(from.rem_euclid(HOUR_MS) != 0);
    let end = to.div_euclid(HOUR_MS);
    (first < end).then_some((first, end))
}
