//! Reports of consecutive steps (an hour each, for the rollout waves and
//! the huddle report) in one pass over the window, instead of one report
//! per step: the step windows' facts are scanned once and the backlog is
//! taken once, as of the window's start, then carried forward by the
//! backlog effect of each step's facts. Every step's figures equal
//! [`Aggregator::report_where`] over that step's window (a property test
//! checks it), so the definitions stay the report's.

use super::board::{bucket_count, bucket_index};
use super::figures::{CallTally, GroupTally, Report, TicketTally};
use super::timeline::change;
use super::{Aggregator, Class};
use crate::model::TicketDimension;
use crate::time::{Millis, format_rfc3339};
use std::collections::BTreeMap;

impl Aggregator {
    /// One report per step of `step_ms` from `from`, the last step cut at
    /// `to` (at most [`super::MAX_BUCKETS`]; none when `step_ms <= 0` or
    /// `from >= to`). Without groupings. With `sites`, the ticket figures
    /// count the tickets of those sites only, each fact under the site the
    /// ticket had then (as [`Aggregator::report_where`] does for one site);
    /// calls are never filtered (they belong to queues, not sites).
    pub fn reports_by_step(
        &self,
        from: Millis,
        to: Millis,
        step_ms: i64,
        sites: Option<&[String]>,
    ) -> Vec<Report> {
        let count = bucket_count(from, to, step_ms);
        if count == 0 {
            return Vec::new();
        }
        let wanted: Option<Vec<usize>> = sites.map(|names| {
            let mut groups: Vec<usize> = names
                .iter()
                .filter_map(|name| self.group_of_value(TicketDimension::Site, name))
                .collect();
            groups.sort_unstable();
            groups.dedup();
            groups
        });
        let keep = |class: &Class| {
            wanted
                .as_ref()
                .is_none_or(|groups| groups.contains(&class.group(TicketDimension::Site)))
        };
        let slot = |at: Millis| bucket_index(from, to, step_ms, at).filter(|&k| k < count);
        let targets_ms: Vec<f64> = (0..self.queues.len())
            .map(|queue| self.settings_of(queue).answer_target_seconds * 1000.0)
            .collect();
        let mut tickets = vec![TicketTally::default(); count];
        // The backlog effect of each step's facts.
        let mut deltas = vec![0i64; count];
        let mut calls = vec![CallTally::default(); count];
        let mut by_queue: Vec<BTreeMap<u32, CallTally>> = vec![BTreeMap::new(); count];

        for (start, bucket) in self.timeline.window(from, to) {
            for &index in &bucket.opened {
                let ticket = &self.tickets[index as usize];
                if let Some(k) = slot(ticket.opened_at)
                    && keep(&self.class_of(index, 0))
                {
                    tickets[k].opened += 1;
                    deltas[k] += 1;
                }
            }
            for change in &bucket.changes {
                let at = change.at(start);
                let Some(k) = slot(at) else { continue };
                if change.kind & change::RECLASSIFIED != 0 {
                    // An active ticket moved between sites: it leaves or
                    // joins a filtered backlog then.
                    if wanted.is_some() {
                        let before = self.class_of(change.ticket, change.version.saturating_sub(1));
                        let after = self.class_of(change.ticket, change.version);
                        deltas[k] += i64::from(keep(&after)) - i64::from(keep(&before));
                    }
                    continue;
                }
                if !keep(&self.class_of(change.ticket, change.version)) {
                    continue;
                }
                if change.kind & change::COUNTED != 0 {
                    let opened_at = self.tickets[change.ticket as usize].opened_at;
                    tickets[k].add_change(change.kind, at - opened_at);
                }
                deltas[k] += change::backlog_delta(change.kind);
            }
            for &index in &bucket.offered {
                let call = &self.calls[index as usize];
                let Some(k) = slot(call.offered_at) else {
                    continue;
                };
                let target_ms = targets_ms
                    .get(call.queue as usize)
                    .copied()
                    .unwrap_or_default();
                calls[k].add(call, target_ms);
                by_queue[k]
                    .entry(call.queue)
                    .or_default()
                    .add(call, target_ms);
            }
        }

        let mut backlog = self.backlog_of_sites(from, wanted.as_deref());
        (0..count)
            .map(|k| {
                let step_from = from + k as i64 * step_ms;
                let step_to = (step_from + step_ms).min(to);
                backlog += deltas[k];
                tickets[k].backlog = backlog;
                Report {
                    from: format_rfc3339(step_from),
                    to: format_rfc3339(step_to),
                    tickets: tickets[k].figures(),
                    tickets_by: None,
                    calls: calls[k].figures(),
                    calls_by_queue: by_queue[k]
                        .iter()
                        .map(|(&queue, tally)| {
                            (self.queues.name(queue as usize).to_owned(), tally.figures())
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// The backlog as of `at`, of the given site groups only when given:
    /// from the running per-site totals or a sum from the start, whichever
    /// walks less history (as the report's grouped backlog does), so a
    /// wave that went live weeks ago costs no more than a recent one.
    fn backlog_of_sites(&self, at: Millis, groups: Option<&[usize]>) -> i64 {
        let mut overall = TicketTally::default();
        let Some(groups) = groups else {
            self.fill_backlog(at, &mut overall, &mut []);
            return overall.backlog;
        };
        let dimension = TicketDimension::Site;
        let mut sites = [GroupTally::new(dimension, self.group_count(dimension))];
        self.fill_backlog(at, &mut overall, &mut sites);
        groups
            .iter()
            .filter_map(|&group| sites[0].groups.get(group))
            .map(|tally| tally.backlog)
            .sum()
    }
}
