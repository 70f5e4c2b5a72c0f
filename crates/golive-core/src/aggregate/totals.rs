//! All-time totals for Prometheus, computed when scraped from the same
//! records the reports use, so `/metrics` and `/api/v1/report` cannot
//! disagree and a restart (a replay) rebuilds the counters exactly.
//!
//! One pass over tickets, counted status changes and calls: a few
//! milliseconds for a go-live week, paid once per scrape.

use super::intern::FastState;
use super::timeline::change;
use super::{Aggregator, call_flag};
use crate::model::{Category, TicketDimension};
use crate::time::Millis;
use std::collections::{BTreeMap, HashMap};

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
    /// Active tickets now per site, application, severity: every label set
    /// with any ticket, 0 included.
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
        // Counted on interned ids in tables indexed by them (no hashing per
        // ticket or call); the named, ordered maps are built once per label
        // set at the end.
        let mut per_ticket: LabelTable<(u64, u64)> =
            LabelTable::new(self.sites.len(), self.applications.len());
        // (tickets, active) per site, application, severity (category 0).
        let mut backlog: LabelTable<(u64, u64)> =
            LabelTable::new(self.sites.len(), self.applications.len());
        for (index, ticket) in self.tickets.iter().enumerate() {
            // Opened under the classification at opening; the backlog now
            // under the current one (the module docs of `aggregate`).
            let opened = self.class_of(index as u32, 0);
            per_ticket
                .get_mut(
                    opened.site,
                    opened.application,
                    opened.category,
                    opened.severity,
                )
                .0 += 1;
            let now_class = ticket.class();
            // Every label set that has tickets gets a backlog series, 0 when
            // none is active, so a cleared backlog reads 0 instead of
            // vanishing (a vanished gauge is "no data" on a dashboard).
            let counts =
                backlog.get_mut(now_class.site, now_class.application, 0, now_class.severity);
            counts.0 += 1;
            if ticket.status.is_active() && ticket.opened_at <= now {
                counts.1 += 1;
            }
        }
        // A label set a reclassified ticket left keeps its series (at 0 if
        // nothing else is there) rather than vanishing.
        for past in self.history.values() {
            for class in past {
                backlog
                    .get_mut(class.site, class.application, 0, class.severity)
                    .0 += 1;
            }
        }
        let mut resolution: Vec<Option<HistogramTotals>> = vec![None; self.applications.len()];
        for (start, bucket) in self.timeline.since(Millis::MIN) {
            for counted in &bucket.changes {
                if counted.kind & change::RESOLVED == 0 {
                    continue;
                }
                let Some(ticket) = self.tickets.get(counted.ticket as usize) else {
                    continue;
                };
                let class = self.class_of(counted.ticket, counted.version);
                per_ticket
                    .get_mut(
                        class.site,
                        class.application,
                        class.category,
                        class.severity,
                    )
                    .1 += 1;
                let at = counted.at(start);
                let seconds = (at - ticket.opened_at).max(0) as f64 / 1000.0;
                if let Some(slot) = resolution.get_mut(class.application as usize) {
                    slot.get_or_insert_with(|| HistogramTotals::new(bounds.resolution))
                        .observe(bounds.resolution, seconds);
                }
            }
        }
        let mut queues: Vec<Option<QueueTotals>> = vec![None; self.queues.len()];
        for call in &self.calls {
            if !call.has(call_flag::OFFERED) {
                continue;
            }
            let Some(slot) = queues.get_mut(call.queue as usize) else {
                continue;
            };
            let totals = slot.get_or_insert_with(|| QueueTotals {
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
        for ((site, application, category, severity), counts) in per_ticket.into_entries() {
            // A reclassified ticket can resolve under labels nothing was
            // opened under.
            if counts == (0, 0) {
                continue;
            }
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
        for ((site, application, _, severity), (tickets, count)) in backlog.into_entries() {
            if tickets == 0 {
                continue;
            }
            out.backlog.insert(
                (
                    name(TicketDimension::Site, site),
                    name(TicketDimension::Application, application),
                    severity_label(severity),
                ),
                count,
            );
        }
        for (application, histogram) in resolution.into_iter().enumerate() {
            if let Some(histogram) = histogram {
                out.resolution_seconds.insert(
                    name(TicketDimension::Application, application as u32),
                    histogram,
                );
            }
        }
        for (queue, totals) in queues.into_iter().enumerate() {
            if let Some(totals) = totals {
                out.queues
                    .insert(self.queues.name(queue).to_string(), totals);
            }
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

/// Values per ticket label set (site, application, category, severity) on
/// interned ids: a flat table indexed by the ids when sites × applications
/// are few (a go-live has tens of each), a hash map past that.
enum LabelTable<V> {
    Dense { applications: usize, slots: Vec<V> },
    Sparse(HashMap<(u32, u32, u8, u8), V, FastState>),
}

/// Largest dense table, in slots (categories × severities = 32 per site
/// and application): 64 Ki slots, 1 MiB of `(u64, u64)`.
const DENSE_SLOTS: usize = 1 << 16;
const CATEGORIES: usize = 8;
const SEVERITIES: usize = 4;

impl<V: Clone + Default> LabelTable<V> {
    fn new(sites: usize, applications: usize) -> Self {
        match sites
            .checked_mul(applications)
            .and_then(|n| n.checked_mul(CATEGORIES * SEVERITIES))
        {
            Some(slots) if slots <= DENSE_SLOTS => LabelTable::Dense {
                applications,
                slots: vec![V::default(); slots],
            },
            _ => LabelTable::Sparse(HashMap::default()),
        }
    }

    fn get_mut(&mut self, site: u32, application: u32, category: u8, severity: u8) -> &mut V {
        let fits = match self {
            LabelTable::Dense {
                applications,
                slots,
            } => {
                usize::from(category) < CATEGORIES
                    && usize::from(severity) < SEVERITIES
                    && (application as usize) < *applications
                    && (site as usize) < slots.len() / (*applications * CATEGORIES * SEVERITIES)
            }
            LabelTable::Sparse(_) => true,
        };
        if !fits {
            // Not reachable with ids from the interners the table was sized
            // by and the model's categories and severities; switch to the
            // map rather than index out of range.
            let entries =
                std::mem::replace(self, LabelTable::Sparse(HashMap::default())).into_entries();
            if let LabelTable::Sparse(map) = self {
                map.extend(entries);
            }
        }
        match self {
            LabelTable::Dense {
                applications,
                slots,
            } => {
                let index = ((site as usize * *applications + application as usize) * CATEGORIES
                    + usize::from(category))
                    * SEVERITIES
                    + usize::from(severity);
                &mut slots[index]
            }
            LabelTable::Sparse(map) => map
                .entry((site, application, category, severity))
                .or_default(),
        }
    }

    /// Every slot with its label ids (dense tables include untouched ones).
    fn into_entries(self) -> Vec<((u32, u32, u8, u8), V)> {
        match self {
            LabelTable::Dense {
                applications,
                slots,
            } => {
                let per_site = applications * CATEGORIES * SEVERITIES;
                slots
                    .into_iter()
                    .enumerate()
                    .map(|(index, value)| {
                        let site = index / per_site;
                        let application = index % per_site / (CATEGORIES * SEVERITIES);
                        let category = index % (CATEGORIES * SEVERITIES) / SEVERITIES;
                        let severity = index % SEVERITIES;
                        (
                            (
                                site as u32,
                                application as u32,
                                category as u8,
                                severity as u8,
                            ),
                            value,
                        )
                    })
                    .collect()
            }
            LabelTable::Sparse(map) => map.into_iter().collect(),
        }
    }
}

fn severity_label(severity: u8) -> &'static str {
    ["1", "2", "3", "4"]
        .get(usize::from(severity))
        .copied()
        .unwrap_or("4")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CallRecorded, Event, RecordedEvent, TicketChanged, TicketCreated};
    use crate::model::{CallEventKind, Channel, Severity, TicketStatus};

    /// 2026-03-02T08:00:00Z.
    const T: Millis = 1_772_438_400_000;
    const BOUNDS: HistogramBounds<'static> = HistogramBounds {
        resolution: &[60.0, 3600.0],
        wait: &[20.0, 60.0],
        handle: &[300.0],
    };

    fn apply(aggregator: &mut Aggregator, seq: u64, event: Event) {
        aggregator.apply(&RecordedEvent {
            seq,
            recorded_at: T,
            event,
        });
    }

    fn created(id: u64, severity: u8, status: TicketStatus) -> Event {
        Event::TicketCreated(TicketCreated {
            id,
            external_id: None,
            opened_at: T,
            site: "Main".into(),
            department: "ED".into(),
            application: "Orders".into(),
            category: Category::Access,
            severity: Severity::new(severity).expect("severity"),
            channel: Channel::Phone,
            summary: None,
            reporter_role: None,
            resolved_at: (!status.is_active()).then_some(T + 30_000),
            status,
            assignee: None,
            tier: None,
            source_key: None,
            source_updated_at: None,
        })
    }

    fn call(id: &str, event: CallEventKind, at: Millis) -> Event {
        Event::CallRecorded(CallRecorded {
            call_id: id.into(),
            queue: "Physician Line".into(),
            event,
            at,
            agent: None,
            wrap_seconds: None,
        })
    }

    #[test]
    fn dense_and_sparse_label_tables_agree() {
        let touches = [
            (0, 0, 0, 0),
            (2, 1, 7, 3),
            (1, 2, 3, 1),
            (2, 1, 7, 3),
            (0, 2, 5, 2),
        ];
        let mut dense: LabelTable<u64> = LabelTable::new(3, 3);
        assert!(matches!(dense, LabelTable::Dense { .. }));
        let mut sparse: LabelTable<u64> = LabelTable::Sparse(HashMap::default());
        for (site, application, category, severity) in touches {
            *dense.get_mut(site, application, category, severity) += 1;
            *sparse.get_mut(site, application, category, severity) += 1;
        }
        let nonzero = |table: LabelTable<u64>| -> BTreeMap<(u32, u32, u8, u8), u64> {
            table
                .into_entries()
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        let from_dense = nonzero(dense);
        assert_eq!(from_dense, nonzero(sparse));
        assert_eq!(from_dense.get(&(2, 1, 7, 3)), Some(&2));
        assert_eq!(from_dense.len(), 4);
        // An id past the table's size moves it to the map, losing nothing.
        let mut grown: LabelTable<u64> = LabelTable::new(1, 1);
        *grown.get_mut(0, 0, 1, 1) += 1;
        *grown.get_mut(5, 9, 1, 1) += 1;
        assert!(matches!(grown, LabelTable::Sparse(_)));
        assert_eq!(nonzero(grown).len(), 2);
        // Huge id spaces never allocate a dense table.
        assert!(matches!(
            LabelTable::<u64>::new(100_000, 100_000),
            LabelTable::Sparse(_)
        ));
    }

    #[test]
    fn a_cleared_backlog_reads_zero_and_counts_match_the_report() {
        let mut aggregator = Aggregator::new();
        apply(&mut aggregator, 1, created(1, 1, TicketStatus::Open));
        apply(&mut aggregator, 2, created(2, 3, TicketStatus::Resolved));
        apply(&mut aggregator, 3, created(3, 3, TicketStatus::Open));
        apply(
            &mut aggregator,
            4,
            Event::TicketChanged(TicketChanged {
                id: 1,
                at: T + 120_000,
                status: Some(TicketStatus::Resolved),
                ..TicketChanged::default()
            }),
        );
        apply(&mut aggregator, 5, call("c1", CallEventKind::Offered, T));
        apply(
            &mut aggregator,
            6,
            call("c1", CallEventKind::Answered, T + 10_000),
        );
        apply(&mut aggregator, 7, call("c2", CallEventKind::Offered, T));
        apply(
            &mut aggregator,
            8,
            call("c2", CallEventKind::Abandoned, T + 90_000),
        );

        let now = T + 3_600_000;
        let totals = aggregator.totals(now, &BOUNDS);
        let sev1 = ("Main".to_string(), "Orders".to_string(), "1");
        assert_eq!(totals.backlog.get(&sev1), Some(&0), "sev-1 cleared: 0");
        let sev3 = ("Main".to_string(), "Orders".to_string(), "3");
        assert_eq!(totals.backlog.get(&sev3), Some(&1));

        let report = aggregator.report(T - 1, now, None);
        let opened: u64 = totals.tickets.values().map(|(o, _)| o).sum();
        let resolved: u64 = totals.tickets.values().map(|(_, r)| r).sum();
        assert_eq!(opened, report.tickets.opened);
        assert_eq!(resolved, report.tickets.resolved);
        let backlog: u64 = totals.backlog.values().sum();
        assert_eq!(backlog, report.tickets.backlog);
        let queue = &totals.queues["Physician Line"];
        assert_eq!(queue.offered, report.calls.offered);
        assert_eq!(queue.answered, report.calls.answered);
        assert_eq!(queue.abandoned, report.calls.abandoned);
        assert_eq!(queue.wait_seconds.buckets, [1, 0, 0]);
        let resolution = &totals.resolution_seconds["Orders"];
        assert_eq!(resolution.buckets, [1, 1, 0], "30 s and 120 s");
        assert_eq!(resolution.count, 2);
    }
}
