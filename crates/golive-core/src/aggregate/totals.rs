//! All-time totals for Prometheus, computed when scraped from the same
//! records the reports use, so `/metrics` and `/api/v1/report` cannot
//! disagree and a restart (a replay) rebuilds the counters exactly.
//!
//! One pass over tickets, counted status changes and calls: a few
//! milliseconds for a go-live week, paid once per scrape.

use super::timeline::change;
use super::{Aggregator, call_flag};
use crate::model::{Category, TicketDimension};
use crate::time::Millis;
use std::collections::BTreeMap;

/// Label values of a ticket series: site, application, category, severity.
pub type TicketLabels = (String, String, &'static str, &'static str);

/// Histogram bucket counts (not cumulative) plus sum and count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramTotals {
    /// One count per upper bound, then one for `+Inf`.
    pub buckets: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl HistogramTotals {
    fn new(bounds: &[f64]) -> Self {
        HistogramTotals {
            buckets: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, bounds: &[f64], value: f64) {
        let slot = bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(bounds.len());
        if let Some(count) = self.buckets.get_mut(slot) {
            *count += 1;
        }
        self.sum += value;
        self.count += 1;
    }
}

/// Per-queue call totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueTotals {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub waiting: u64,
    pub wait_seconds: HistogramTotals,
    pub handle_seconds: HistogramTotals,
}

/// Everything `/metrics` reports about tickets and calls.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// (opened, resolved) per site, application, category, severity.
    pub tickets: BTreeMap<TicketLabels, (u64, u64)>,
    /// Active tickets now per site, application, severity.
    pub backlog: BTreeMap<(String, String, &'static str), u64>,
    /// Resolution durations (seconds) per application.
    pub resolution_seconds: BTreeMap<String, HistogramTotals>,
    pub queues: BTreeMap<String, QueueTotals>,
}

/// Upper bounds of the three histograms, in seconds.
pub struct HistogramBounds<'a> {
    pub resolution: &'a [f64],
    pub wait: &'a [f64],
    pub handle: &'a [f64],
}

impl Aggregator {
    /// All-time totals as of `now` (see the module documentation).
    pub fn totals(&self, now: Millis, bounds: &HistogramBounds<'_>) -> Totals {
        let name = |dimension, group: u32| self.group_name(dimension, group as usize);
        let mut per_ticket: BTreeMap<(u32, u32, u8, u8), (u64, u64)> = BTreeMap::new();
        let mut backlog: BTreeMap<(u32, u32, u8), u64> = BTreeMap::new();
        for ticket in &self.tickets {
            per_ticket
                .entry((
                    ticket.site,
                    ticket.application,
                    ticket.category,
                    ticket.severity,
                ))
                .or_default()
                .0 += 1;
            if ticket.status.is_active() && ticket.opened_at <= now {
                *backlog
                    .entry((ticket.site, ticket.application, ticket.severity))
                    .or_default() += 1;
            }
        }
        let mut resolution: BTreeMap<u32, HistogramTotals> = BTreeMap::new();
        for (start, bucket) in self.timeline.since(Millis::MIN) {
            for counted in &bucket.changes {
                if counted.kind & change::RESOLVED == 0 {
                    continue;
                }
                let Some(ticket) = self.tickets.get(counted.ticket as usize) else {
                    continue;
                };
                per_ticket
                    .entry((
                        ticket.site,
                        ticket.application,
                        ticket.category,
                        ticket.severity,
                    ))
                    .or_default()
                    .1 += 1;
                let at = counted.at(start);
                let seconds = (at - ticket.opened_at).max(0) as f64 / 1000.0;
                resolution
                    .entry(ticket.application)
                    .or_insert_with(|| HistogramTotals::new(bounds.resolution))
                    .observe(bounds.resolution, seconds);
            }
        }
        let mut queues: BTreeMap<u32, QueueTotals> = BTreeMap::new();
        for call in &self.calls {
            if !call.has(call_flag::OFFERED) {
                continue;
            }
            let totals = queues.entry(call.queue).or_insert_with(|| QueueTotals {
                wait_seconds: HistogramTotals::new(bounds.wait),
                handle_seconds: HistogramTotals::new(bounds.handle),
                ..QueueTotals::default()
            });
            totals.offered += 1;
            if call.has(call_flag::ANSWERED) {
                totals.answered += 1;
                let wait = (call.answered_at - call.offered_at).max(0) as f64 / 1000.0;
                totals.wait_seconds.observe(bounds.wait, wait);
                if call.has(call_flag::ENDED) {
                    let handle = (call.ended_at - call.answered_at).max(0) as f64 / 1000.0
                        + call.wrap_seconds;
                    totals.handle_seconds.observe(bounds.handle, handle);
                }
            } else if call.has(call_flag::ABANDONED) {
                totals.abandoned += 1;
            }
        }
        let mut out = Totals::default();
        for ((site, application, category, severity), counts) in per_ticket {
            let labels = (
                name(TicketDimension::Site, site),
                name(TicketDimension::Application, application),
                Category::ALL
                    .get(usize::from(category))
                    .map_or("other", |c| c.as_str()),
                severity_label(severity),
            );
            out.tickets.insert(labels, counts);
        }
        for ((site, application, severity), count) in backlog {
            out.backlog.insert(
                (
                    name(TicketDimension::Site, site),
                    name(TicketDimension::Application, application),
                    severity_label(severity),
                ),
                count,
            );
        }
        for (application, histogram) in resolution {
            out.resolution_seconds
                .insert(name(TicketDimension::Application, application), histogram);
        }
        for (queue, totals) in queues {
            out.queues
                .insert(self.queues.name(queue as usize).to_string(), totals);
        }
        for (queue, waiting) in self.calls_waiting(now) {
            out.queues
                .entry(queue)
                .or_insert_with(|| QueueTotals {
                    wait_seconds: HistogramTotals::new(bounds.wait),
                    handle_seconds: HistogramTotals::new(bounds.handle),
                    ..QueueTotals::default()
                })
                .waiting = waiting;
        }
        out
    }
}

fn severity_label(severity: u8) -> &'static str {
    ["1", "2", "3", "4"]
        .get(usize::from(severity))
        .copied()
        .unwrap_or("4")
}
