//! All-time totals for Prometheus, kept as events are applied from the
//! same facts the reports count, so `/metrics` and `/api/v1/report` cannot
//! disagree and a restart (a replay) rebuilds the counters exactly.
//!
//! Kept on the interned ids, unbounded ([`RunningTotals`]): per ticket
//! label set the openings and resolutions, per application the resolution
//! histogram, per queue the call counters and histograms (a leg's
//! contribution taken out and added back at every change of the leg, see
//! `Aggregator::change_leg`). A scrape bounds and names them, which costs
//! time proportional to the label sets and queues, not to the history.
//! Histogram sums are kept in integer nanoseconds so a leg taken out
//! leaves no rounding behind. The backlog is the report's backlog as of
//! now (`opened_at < now`, the status and classification after every fact
//! dated before now): running counts per (site, application, severity)
//! less the facts at or after now, with the function the reports use.
//!
//! The series are bounded ([`SeriesLimits`]), by rules that depend only on
//! the log, so every replica and every restart (a replay of the same log)
//! keeps the same label values and folds the same ones into `other`:
//! - a `site`, `application` or `queue` keeps its name when it is among
//!   the first `label_values` of its kind to appear in the log (the
//!   interners number names in order of first appearance); later ones are
//!   `other`;
//! - of the label sets of a ticket metric (site, application, category,
//!   severity; the backlog has no category), the first `label_sets` to
//!   appear in the log (ordered by their first ticket) keep their site and
//!   application; later ones are counted under site and application
//!   `other`, keeping category and severity. So each ticket metric has at
//!   most `label_sets` + 32 series (+ 4 for the backlog), whatever the
//!   traffic.
//!
//! A kept value stays kept and a folded one stays folded as the log grows,
//! so a counter never moves from one series to another (which Prometheus
//! would read as a reset of one and a jump of the other).

use super::intern::FastState;
#[cfg(test)]
use super::timeline::change;
use super::{Aggregator, Call, Class, call_flag};
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

    /// Adds another histogram over the same bounds.
    fn add(&mut self, other: &HistogramTotals) {
        for (count, more) in self.buckets.iter_mut().zip(&other.buckets) {
            *count += more;
        }
        self.sum += other.sum;
        self.count += other.count;
    }

    #[cfg(test)]
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

/// Per-queue call totals, counted by call leg.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueTotals {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub waiting: u64,
    pub wait_seconds: HistogramTotals,
    pub handle_seconds: HistogramTotals,
}

impl QueueTotals {
    /// Adds another queue's totals (queues folded into one label).
    fn add(&mut self, other: &QueueTotals) {
        self.offered += other.offered;
        self.answered += other.answered;
        self.abandoned += other.abandoned;
        self.waiting += other.waiting;
        self.wait_seconds.add(&other.wait_seconds);
        self.handle_seconds.add(&other.handle_seconds);
    }
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

/// The label value that stands for every value past a bound.
pub const OTHER: &str = "other";

/// How many label values and label sets `/metrics` shows (see the module
/// documentation for which are kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesLimits {
    /// Distinct values of each of `site`, `application` and `queue`.
    pub label_values: usize,
    /// Label sets of each ticket metric before site and application fold
    /// into `other`.
    pub label_sets: usize,
}

impl SeriesLimits {
    /// No bound (tests and tools that want every series).
    pub const NONE: SeriesLimits = SeriesLimits {
        label_values: usize::MAX,
        label_sets: usize::MAX,
    };

    /// The label id of interned name `id`: itself when kept, else the id
    /// standing for `other` (one past the kept ones).
    fn bound(&self, id: u32, interned: usize) -> u32 {
        let kept = interned.min(self.label_values);
        if (id as usize) < kept {
            id
        } else {
            u32::try_from(kept).unwrap_or(u32::MAX)
        }
    }

    /// Label ids for `interned` names: the kept ones, plus `other` when
    /// some are folded.
    fn ids(&self, interned: usize) -> usize {
        if interned > self.label_values {
            self.label_values + 1
        } else {
            interned
        }
    }
}

/// Upper bounds of the three histograms, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistogramBounds<'a> {
    pub resolution: &'a [f64],
    pub wait: &'a [f64],
    pub handle: &'a [f64],
}

impl HistogramBounds<'static> {
    /// The bounds `/metrics` uses, which the running totals are kept on.
    pub const METRICS: HistogramBounds<'static> = HistogramBounds {
        // Ticket resolution: minutes to days.
        resolution: &[
            60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0,
            604800.0,
        ],
        // Call waits: seconds to minutes, with a bucket at each common
        // answer target (20 s default, 30 s, 60 s) so service level can
        // be read off.
        wait: &[
            5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
        ],
        // Call handle time (talk + wrap): one to sixty minutes.
        handle: &[
            60.0, 120.0, 180.0, 240.0, 300.0, 420.0, 600.0, 900.0, 1200.0, 1800.0, 3600.0,
        ],
    };
}

/// A histogram kept as values come and go: bucket counts (not
/// cumulative, one per bound then `+Inf`), count and an integer sum.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct RunningHistogram {
    buckets: Vec<u64>,
    sum_nanos: i128,
    count: u64,
}

impl RunningHistogram {
    /// Adds (`sign` 1) or takes out (-1) one value of `nanos` ns.
    fn record(&mut self, bounds: &[f64], nanos: i128, sign: i64) {
        let value = nanos as f64 / 1e9;
        let slot = bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(bounds.len());
        if self.buckets.len() <= bounds.len() {
            self.buckets.resize(bounds.len() + 1, 0);
        }
        self.buckets[slot] = self.buckets[slot].saturating_add_signed(sign);
        self.sum_nanos += i128::from(sign) * nanos;
        self.count = self.count.saturating_add_signed(sign);
    }

    fn totals(&self, bounds: &[f64]) -> HistogramTotals {
        let mut buckets = self.buckets.clone();
        buckets.resize(bounds.len() + 1, 0);
        HistogramTotals {
            buckets,
            sum: self.sum_nanos as f64 / 1e9,
            count: self.count,
        }
    }
}

/// Call totals of one queue, kept as legs change.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct RunningQueue {
    offered: u64,
    answered: u64,
    abandoned: u64,
    wait: RunningHistogram,
    handle: RunningHistogram,
}

/// The all-time totals on interned ids, unbounded, kept as events are
/// applied (see the module documentation).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct RunningTotals {
    /// (site, application, category, severity) → opened, resolved, the
    /// first ticket with the set.
    tickets: HashMap<(u32, u32, u8, u8), SetCounts, FastState>,
    /// (site, application, severity) → classification versions of
    /// tickets with the set (a series exists once one had it), the first
    /// ticket with it.
    backlog_sets: HashMap<(u32, u32, u8), SetCounts, FastState>,
    /// By application id.
    resolution: Vec<RunningHistogram>,
    /// By queue id.
    queues: Vec<RunningQueue>,
}

impl RunningTotals {
    /// Ticket `index` was created under `class`.
    pub(super) fn opened(&mut self, index: u32, class: &Class) {
        let key = (
            class.site,
            class.application,
            class.category,
            class.severity,
        );
        self.tickets
            .entry(key)
            .or_default()
            .first_seen(index as usize)
            .0 += 1;
        self.version(index, class);
    }

    /// Ticket `index` has a classification (version) `class`.
    pub(super) fn version(&mut self, index: u32, class: &Class) {
        let key = (class.site, class.application, class.severity);
        self.backlog_sets
            .entry(key)
            .or_default()
            .first_seen(index as usize)
            .0 += 1;
    }

    /// Ticket `index` was resolved under `class`, `resolve_ms` after it
    /// opened.
    pub(super) fn resolved(&mut self, index: u32, class: &Class, resolve_ms: i64) {
        let key = (
            class.site,
            class.application,
            class.category,
            class.severity,
        );
        self.tickets
            .entry(key)
            .or_default()
            .first_seen(index as usize)
            .1 += 1;
        let application = class.application as usize;
        if self.resolution.len() <= application {
            self.resolution
                .resize(application + 1, RunningHistogram::default());
        }
        let nanos = i128::from(resolve_ms.max(0)) * 1_000_000;
        self.resolution[application].record(HistogramBounds::METRICS.resolution, nanos, 1);
    }

    /// Adds (`sign` 1) or takes out (-1) a leg's contribution as it stands.
    pub(super) fn count_leg(&mut self, call: &Call, sign: i64) {
        if !call.has(call_flag::OFFERED) {
            return;
        }
        let queue = call.queue as usize;
        if self.queues.len() <= queue {
            self.queues.resize(queue + 1, RunningQueue::default());
        }
        let totals = &mut self.queues[queue];
        let bounds = HistogramBounds::METRICS;
        totals.offered = totals.offered.saturating_add_signed(sign);
        if let Some(wait_ms) = call.wait_ms() {
            totals.answered = totals.answered.saturating_add_signed(sign);
            let nanos = i128::from(wait_ms) * 1_000_000;
            totals.wait.record(bounds.wait, nanos, sign);
            if let Some(handle) = call.handle_nanos() {
                totals.handle.record(bounds.handle, handle, sign);
            }
        } else if call.abandoned_at().is_some() {
            totals.abandoned = totals.abandoned.saturating_add_signed(sign);
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        use super::intern::table_bytes;
        table_bytes(
            self.tickets.capacity(),
            size_of::<((u32, u32, u8, u8), SetCounts)>(),
        ) + table_bytes(
            self.backlog_sets.capacity(),
            size_of::<((u32, u32, u8), SetCounts)>(),
        ) + (self.resolution.capacity() + 2 * self.queues.capacity())
            * (size_of::<RunningHistogram>() + 13 * size_of::<u64>())
    }
}

#[cfg(test)]
impl Aggregator {
    /// [`Aggregator::totals`] recomputed from scratch by one pass over
    /// every record, the backlog by replaying each ticket's facts dated
    /// before `now`: the oracle the running totals are tested against.
    pub(super) fn totals_by_scan(
        &self,
        now: Millis,
        bounds: &HistogramBounds<'_>,
        limits: &SeriesLimits,
    ) -> Totals {
        let (sites, applications) = (self.sites.len(), self.applications.len());
        // Counted on bounded label ids in tables indexed by them (no hashing
        // per ticket or call); the named, ordered maps are built once per
        // label set at the end.
        let (site_ids, application_ids) = (limits.ids(sites), limits.ids(applications));
        let mut per_ticket: LabelTable<SetCounts> = LabelTable::new(site_ids, application_ids);
        // (tickets, active) per site, application, severity (category 0).
        let mut backlog: LabelTable<SetCounts> = LabelTable::new(site_ids, application_ids);
        for (index, ticket) in self.tickets.iter().enumerate() {
            // Opened under the classification at opening; the backlog now
            // under the current one (the module docs of `aggregate`).
            let opened = self.class_of(index as u32, 0);
            per_ticket
                .get_mut(
                    limits.bound(opened.site, sites),
                    limits.bound(opened.application, applications),
                    opened.category,
                    opened.severity,
                )
                .first_seen(index)
                .0 += 1;
            let now_class = ticket.class();
            backlog
                .get_mut(
                    limits.bound(now_class.site, sites),
                    limits.bound(now_class.application, applications),
                    0,
                    now_class.severity,
                )
                .first_seen(index)
                .0 += 1;
            if let Some(then) = self.active_class_by_scan(index as u32, now) {
                backlog
                    .get_mut(
                        limits.bound(then.site, sites),
                        limits.bound(then.application, applications),
                        0,
                        then.severity,
                    )
                    .1 += 1;
            }
        }
        // A label set a reclassified ticket left keeps its series (at 0 if
        // nothing else is there) rather than vanishing.
        for (&index, past) in &self.history {
            for class in past {
                backlog
                    .get_mut(
                        limits.bound(class.site, sites),
                        limits.bound(class.application, applications),
                        0,
                        class.severity,
                    )
                    .first_seen(index as usize)
                    .0 += 1;
            }
        }
        let mut resolution: Vec<Option<HistogramTotals>> = vec![None; application_ids];
        for (start, bucket) in self.timeline.since(Millis::MIN) {
            for counted in &bucket.changes {
                if counted.kind & change::RESOLVED == 0 {
                    continue;
                }
                let Some(ticket) = self.tickets.get(counted.ticket as usize) else {
                    continue;
                };
                let class = self.class_of(counted.ticket, counted.version);
                let application = limits.bound(class.application, applications);
                per_ticket
                    .get_mut(
                        limits.bound(class.site, sites),
                        application,
                        class.category,
                        class.severity,
                    )
                    .first_seen(counted.ticket as usize)
                    .1 += 1;
                let at = counted.at(start);
                let seconds = (at - ticket.opened_at).max(0) as f64 / 1000.0;
                if let Some(slot) = resolution.get_mut(application as usize) {
                    slot.get_or_insert_with(|| HistogramTotals::new(bounds.resolution))
                        .observe(bounds.resolution, seconds);
                }
            }
        }
        let queue_count = self.queues.len();
        let new_queue = || QueueTotals {
            wait_seconds: HistogramTotals::new(bounds.wait),
            handle_seconds: HistogramTotals::new(bounds.handle),
            ..QueueTotals::default()
        };
        let mut queues: Vec<Option<QueueTotals>> = vec![None; limits.ids(queue_count)];
        for call in &self.calls {
            if !call.has(call_flag::OFFERED) {
                continue;
            }
            let Some(slot) = queues.get_mut(limits.bound(call.queue, queue_count) as usize) else {
                continue;
            };
            let totals = slot.get_or_insert_with(new_queue);
            totals.offered += 1;
            if let Some(wait_ms) = call.wait_ms() {
                totals.answered += 1;
                totals
                    .wait_seconds
                    .observe(bounds.wait, wait_ms as f64 / 1000.0);
                if let Some(handle) = call.handle_seconds() {
                    totals.handle_seconds.observe(bounds.handle, handle);
                }
            } else if call.abandoned_at().is_some() {
                totals.abandoned += 1;
            }
        }
        self.named_totals(
            now,
            limits,
            per_ticket,
            backlog,
            resolution,
            queues
                .into_iter()
                .map(|q| q.unwrap_or_else(new_queue))
                .collect(),
        )
    }

    /// The classification ticket `index` is in the backlog under as of
    /// `to` (`None` when it is not), by replaying its facts dated before
    /// `to` in order.
    fn active_class_by_scan(&self, index: u32, to: Millis) -> Option<Class> {
        let ticket = self.tickets.get(index as usize)?;
        if ticket.opened_at >= to {
            return None;
        }
        let (mut active, mut version) = (true, 0);
        for (start, bucket) in self.timeline.before(to) {
            for fact in bucket.changes.iter().filter(|f| f.ticket == index) {
                if fact.at(start) < to {
                    version = fact.version;
                    match change::backlog_delta(fact.kind) {
                        1 => active = true,
                        -1 => active = false,
                        _ => {}
                    }
                }
            }
        }
        active.then(|| self.class_of(index, version))
    }
}

impl Aggregator {
    /// All-time totals as of `now` (see the module documentation), with
    /// labels bounded by `limits`, from the running totals.
    pub fn totals(&self, now: Millis, limits: &SeriesLimits) -> Totals {
        let running = &self.totals;
        let (sites, applications) = (self.sites.len(), self.applications.len());
        let (site_ids, application_ids) = (limits.ids(sites), limits.ids(applications));
        let site = |id: u32| limits.bound(id, sites);
        let application = |id: u32| limits.bound(id, applications);
        let mut per_ticket: LabelTable<SetCounts> = LabelTable::new(site_ids, application_ids);
        for (&(s, a, category, severity), counts) in &running.tickets {
            per_ticket
                .get_mut(site(s), application(a), category, severity)
                .merge(counts);
        }
        // Every label set that has had tickets gets a backlog series, 0
        // when none is active, so a cleared backlog reads 0 instead of
        // vanishing (a vanished gauge is "no data" on a dashboard); a set a
        // reclassified ticket left keeps its series.
        let mut backlog: LabelTable<SetCounts> = LabelTable::new(site_ids, application_ids);
        for (&(s, a, severity), counts) in &running.backlog_sets {
            backlog
                .get_mut(site(s), application(a), 0, severity)
                .merge(counts);
        }
        for ((s, a, severity), active) in self.backlog_cells_at(now) {
            backlog.get_mut(site(s), application(a), 0, severity).1 +=
                u64::try_from(active).unwrap_or(0);
        }
        let bounds = HistogramBounds::METRICS;
        let mut resolution: Vec<Option<HistogramTotals>> = vec![None; application_ids];
        for (id, histogram) in running.resolution.iter().enumerate() {
            if histogram.count == 0 {
                continue;
            }
            if let Some(slot) = resolution.get_mut(application(id as u32) as usize) {
                slot.get_or_insert_with(|| HistogramTotals::new(bounds.resolution))
                    .add(&histogram.totals(bounds.resolution));
            }
        }
        let queues: Vec<QueueTotals> = running
            .queues
            .iter()
            .map(|q| QueueTotals {
                offered: q.offered,
                answered: q.answered,
                abandoned: q.abandoned,
                waiting: 0,
                wait_seconds: q.wait.totals(bounds.wait),
                handle_seconds: q.handle.totals(bounds.handle),
            })
            .collect();
        self.named_totals(now, limits, per_ticket, backlog, resolution, queues)
    }

    /// The totals with their label values: sets past the bound folded
    /// (`kept_sets`), ids named, queues merged under their labels, and
    /// the calls waiting now.
    fn named_totals(
        &self,
        now: Millis,
        limits: &SeriesLimits,
        per_ticket: LabelTable<SetCounts>,
        backlog: LabelTable<SetCounts>,
        resolution: Vec<Option<HistogramTotals>>,
        queues: Vec<QueueTotals>,
    ) -> Totals {
        let bounds = HistogramBounds::METRICS;
        let (sites, applications) = (self.sites.len(), self.applications.len());
        let (site_ids, application_ids) = (limits.ids(sites), limits.ids(applications));
        let label = |dimension, interned: usize, id: u32| {
            if (id as usize) < interned.min(limits.label_values) {
                self.group_name(dimension, id as usize)
            } else {
                OTHER.to_string()
            }
        };
        let queue_count = self.queues.len();
        let new_queue = || QueueTotals {
            wait_seconds: HistogramTotals::new(bounds.wait),
            handle_seconds: HistogramTotals::new(bounds.handle),
            ..QueueTotals::default()
        };
        let other_site = u32::try_from(site_ids).unwrap_or(u32::MAX);
        let other_application = u32::try_from(application_ids).unwrap_or(u32::MAX);
        let site_name = |id: u32| {
            if id == other_site {
                OTHER.to_string()
            } else {
                label(TicketDimension::Site, sites, id)
            }
        };
        let application_name = |id: u32| {
            if id == other_application {
                OTHER.to_string()
            } else {
                label(TicketDimension::Application, applications, id)
            }
        };
        let mut out = Totals::default();
        for ((site, application, category, severity), counts) in
            kept_sets(per_ticket, limits.label_sets, other_site, other_application)
        {
            let labels = (
                site_name(site),
                application_name(application),
                Category::ALL
                    .get(usize::from(category))
                    .map_or(OTHER, |c| c.as_str()),
                severity_label(severity),
            );
            let total = out.tickets.entry(labels).or_default();
            total.0 += counts.0;
            total.1 += counts.1;
        }
        for ((site, application, _, severity), counts) in
            kept_sets(backlog, limits.label_sets, other_site, other_application)
        {
            let labels = (
                site_name(site),
                application_name(application),
                severity_label(severity),
            );
            *out.backlog.entry(labels).or_default() += counts.1;
        }
        for (application, histogram) in resolution.into_iter().enumerate() {
            if let Some(histogram) = histogram {
                out.resolution_seconds
                    .entry(label(
                        TicketDimension::Application,
                        applications,
                        application as u32,
                    ))
                    .or_insert_with(|| HistogramTotals::new(bounds.resolution))
                    .add(&histogram);
            }
        }
        let queue_name = |id: usize| {
            if id < queue_count.min(limits.label_values) {
                self.queues.name(id).to_string()
            } else {
                OTHER.to_string()
            }
        };
        for (queue, totals) in queues.iter().enumerate() {
            if totals.offered > 0 {
                out.queues
                    .entry(queue_name(limits.bound(queue as u32, queue_count) as usize))
                    .or_insert_with(new_queue)
                    .add(totals);
            }
        }
        for (queue, waiting) in self.calls_waiting(now) {
            let label = match self.queues.get(&queue) {
                Some(id) => queue_name(limits.bound(id as u32, queue_count) as usize),
                None => queue,
            };
            out.queues.entry(label).or_insert_with(new_queue).waiting += waiting;
        }
        out
    }

    /// The `queue` label `/metrics` gives queue `name` under `limits`: the
    /// name itself, or `other` past the bound (see the module docs).
    pub fn queue_label<'a>(&self, name: &'a str, limits: &SeriesLimits) -> &'a str {
        match self.queues.get(name) {
            Some(id) if id >= limits.label_values => OTHER,
            _ => name,
        }
    }
}

/// Per label set: (count, second count), and the index of the first ticket
/// with that set (the order of first appearance in the log).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct SetCounts(u64, u64, u32);

impl Default for SetCounts {
    fn default() -> Self {
        SetCounts(0, 0, u32::MAX)
    }
}

impl SetCounts {
    /// Adds another set's counts (sets folded into one label set).
    fn merge(&mut self, other: &SetCounts) {
        self.0 += other.0;
        self.1 += other.1;
        self.2 = self.2.min(other.2);
    }

    /// Notes that ticket `index` has this label set; the set is ordered by
    /// the first (lowest-indexed) ticket that has it. A set a reclassified
    /// ticket moved into is ordered by that ticket.
    fn first_seen(&mut self, index: usize) -> &mut Self {
        self.2 = self.2.min(u32::try_from(index).unwrap_or(u32::MAX - 1));
        self
    }
}

/// The label sets with tickets, the first `keep` of them (by first ticket)
/// as they are and the rest with site and application `other`, merged.
fn kept_sets(
    table: LabelTable<SetCounts>,
    keep: usize,
    other_site: u32,
    other_application: u32,
) -> Vec<((u32, u32, u8, u8), SetCounts)> {
    let mut sets: Vec<((u32, u32, u8, u8), SetCounts)> = table
        .into_entries()
        .into_iter()
        // A reclassified ticket can resolve under labels nothing was
        // opened under: such a set has resolutions only.
        .filter(|(_, counts)| counts.0 > 0 || counts.1 > 0)
        .collect();
    if sets.len() <= keep {
        return sets;
    }
    sets.sort_unstable_by_key(|(_, counts)| counts.2);
    let folded = sets.split_off(keep);
    let mut merged: HashMap<(u32, u32, u8, u8), SetCounts, FastState> = HashMap::default();
    for ((_, _, category, severity), counts) in folded {
        let slot = merged
            .entry((other_site, other_application, category, severity))
            .or_default();
        slot.0 += counts.0;
        slot.1 += counts.1;
        slot.2 = slot.2.min(counts.2);
    }
    sets.extend(merged);
    sets
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
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// 2026-03-02T08:00:00Z.
    const T: Millis = 1_772_438_400_000;

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
            known_issue: None,
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
        let totals = aggregator.totals(now, &SeriesLimits::NONE);
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
        // Bounds 5, 10, 15, 20 s…: a wait of 10 s.
        assert_eq!(queue.wait_seconds.buckets[..3], [0, 1, 0]);
        let resolution = &totals.resolution_seconds["Orders"];
        // Bounds 60, 300, 900 s…: 30 s and 120 s.
        assert_eq!(resolution.buckets[..3], [1, 1, 0], "30 s and 120 s");
        assert_eq!(resolution.count, 2);
    }

    /// The backlog gauge is the report's backlog as of now: a resolution
    /// dated after now does not take a ticket out yet, an opening dated
    /// after now does not put one in.
    #[test]
    fn backlog_gauge_is_the_reports_backlog_with_future_facts() {
        let mut aggregator = Aggregator::new();
        apply(&mut aggregator, 1, created(1, 2, TicketStatus::Open));
        let Event::TicketCreated(mut later) = created(2, 2, TicketStatus::Open) else {
            unreachable!("created makes a creation")
        };
        later.opened_at = T + 2 * 3_600_000;
        apply(&mut aggregator, 2, Event::TicketCreated(later));
        apply(
            &mut aggregator,
            3,
            Event::TicketChanged(TicketChanged {
                id: 1,
                at: T + 90 * 60_000,
                status: Some(TicketStatus::Resolved),
                ..TicketChanged::default()
            }),
        );
        let labels = ("Main".to_string(), "Orders".to_string(), "2");
        for (now, active) in [
            (T + 3_600_000, 1),
            (T + 100 * 60_000, 0),
            (T + 3 * 3_600_000, 1),
        ] {
            let totals = aggregator.totals(now, &SeriesLimits::NONE);
            let report = aggregator.report(now, now, None);
            assert_eq!(totals.backlog.get(&labels), Some(&active), "as of {now}");
            assert_eq!(report.tickets.backlog, active, "as of {now}");
        }
    }

    /// Bounded totals against a brute-force reading of the rules: values
    /// and label sets kept in order of first appearance, the rest folded,
    /// nothing lost, and the series count within the bound.
    #[test]
    fn bounded_labels_follow_the_log_order() {
        let limits = SeriesLimits {
            label_values: 5,
            label_sets: 12,
        };
        let mut aggregator = Aggregator::new();
        // Seeded, so a failure repeats: many sites and applications.
        let mut rng = StdRng::seed_from_u64(0x2545_f491_4f6c_dd1d);
        let mut next = |n: u64| rng.random_range(0..n);
        let mut tickets = Vec::new();
        for seq in 1..=400u64 {
            let site = format!("S{}", next(9));
            let application = format!("A{}", next(8));
            let category = Category::ALL[next(8) as usize];
            let severity = 1 + next(4) as u8;
            let status = if next(3) == 0 {
                TicketStatus::Resolved
            } else {
                TicketStatus::Open
            };
            let Event::TicketCreated(mut event) = created(seq, severity, status) else {
                unreachable!("created makes a creation")
            };
            event.site = site.clone();
            event.application = application.clone();
            event.category = category;
            apply(&mut aggregator, seq, Event::TicketCreated(event));
            tickets.push((site, application, category.as_str(), severity, status));
        }
        let totals = aggregator.totals(T + 3_600_000, &limits);

        // The oracle: ranks by first appearance, then the folding rules.
        fn rank(order: &mut Vec<String>, value: &str) -> usize {
            match order.iter().position(|v| v == value) {
                Some(i) => i,
                None => {
                    order.push(value.to_string());
                    order.len() - 1
                }
            }
        }
        let (mut sites, mut applications) = (Vec::new(), Vec::new());
        let mut sets: Vec<String> = Vec::new();
        let mut backlog_sets: Vec<String> = Vec::new();
        let mut opened: BTreeMap<TicketLabels, u64> = BTreeMap::new();
        let mut backlog: BTreeMap<(String, String, &'static str), u64> = BTreeMap::new();
        for (site, application, category, severity, status) in &tickets {
            let site = if rank(&mut sites, site) < 5 {
                site.clone()
            } else {
                OTHER.into()
            };
            let application = if rank(&mut applications, application) < 5 {
                application.clone()
            } else {
                OTHER.into()
            };
            let severity = severity_label(severity - 1);
            let key = format!("{site}|{application}|{category}|{severity}");
            let labels = if rank(&mut sets, &key) < 12 {
                (site.clone(), application.clone(), *category, severity)
            } else {
                (OTHER.into(), OTHER.into(), *category, severity)
            };
            *opened.entry(labels).or_default() += 1;
            let key = format!("{site}|{application}|{severity}");
            let labels = if rank(&mut backlog_sets, &key) < 12 {
                (site, application, severity)
            } else {
                (OTHER.into(), OTHER.into(), severity)
            };
            *backlog.entry(labels).or_default() += u64::from(status.is_active());
        }
        let got: BTreeMap<TicketLabels, u64> = totals
            .tickets
            .iter()
            .map(|(k, (o, _))| (k.clone(), *o))
            .collect();
        assert_eq!(got, opened);
        assert_eq!(totals.backlog, backlog);
        assert!(totals.tickets.len() <= 12 + 32);
        assert!(totals.backlog.len() <= 12 + 4);
        let resolved: u64 = totals.tickets.values().map(|(_, r)| r).sum();
        let created_resolved = tickets.iter().filter(|t| !t.4.is_active()).count();
        assert_eq!(resolved, created_resolved as u64, "no resolution lost");
        // Sites past the fifth fold; the first five keep their names.
        let kept: std::collections::BTreeSet<&str> =
            totals.backlog.keys().map(|(s, _, _)| s.as_str()).collect();
        assert!(kept.len() <= 6, "{kept:?}");
        assert!(kept.contains(OTHER));
    }
}
