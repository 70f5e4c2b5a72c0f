//! Reports: ticket and call figures for a window, overall and grouped,
//! computed from the aggregator's time index.

use super::sketch::Sketch;
use super::timeline::{Bucket, change};
use super::{Aggregator, Call, Class};
use crate::model::TicketDimension;
use crate::time::{Millis, format_rfc3339};
use serde::Serialize;
use std::collections::BTreeMap;

/// The figures of one window `[from, to)`, the body of `GET /api/v1/report`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Window start, RFC 3339.
    pub from: String,
    /// Window end (excluded), RFC 3339.
    pub to: String,
    /// All tickets.
    pub tickets: TicketFigures,
    /// Dimension name → dimension value → figures; only with a grouping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tickets_by: Option<BTreeMap<String, BTreeMap<String, TicketFigures>>>,
    /// All calls.
    pub calls: CallFigures,
    /// Queue name → figures, for queues with calls offered in the window.
    pub calls_by_queue: BTreeMap<String, CallFigures>,
}

/// Ticket figures of a window (see the module documentation for each).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TicketFigures {
    /// Tickets opened.
    pub opened: u64,
    /// Transitions from active to done (and creations already done).
    pub resolved: u64,
    /// Transitions from done back to active.
    pub reopened: u64,
    /// Transitions into escalated (and creations escalated).
    pub escalated: u64,
    /// Active tickets as of the window's end.
    pub backlog: u64,
    /// resolved / opened.
    pub resolution_rate: Option<f64>,
    /// Share of the resolutions that are creations already resolved.
    pub first_contact_resolution_rate: Option<f64>,
    /// Time to resolve of the window's resolutions.
    pub mttr_seconds: Mttr,
}

/// Time to resolve, in seconds, over the window's resolutions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mttr {
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Exact nearest-rank median.
    pub p50: Option<f64>,
    /// Exact nearest-rank 90th percentile.
    pub p90: Option<f64>,
}

/// Call figures of a window, counted by call leg (`call_id`, `queue`) at
/// the leg's `offered` time: a transferred call counts once per queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallFigures {
    /// Call legs offered in the window.
    pub offered: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, abandoned (an `abandoned` event, or `ended` without
    /// `answered`).
    pub abandoned: u64,
    /// abandoned / offered.
    pub abandonment_rate: Option<f64>,
    /// Answered within the queue's answer target, over offered.
    pub service_level: Option<f64>,
    /// Mean wait of the answered calls.
    pub asa_seconds: Option<f64>,
    /// Mean talk plus wrap time of the answered calls that ended.
    pub aht_seconds: Option<f64>,
}

/// Running ticket counts of one group while a window is scanned, or
/// kept as events are applied (then with a [`Sketch`] of the durations).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct TicketTally {
    pub(super) opened: u64,
    resolved: u64,
    reopened: u64,
    escalated: u64,
    first_contact: u64,
    pub(super) backlog: i64,
    durations: Durations,
}

/// The resolution durations of a tally: every sample (exact quantiles),
/// or a sketch (quantiles within 1 %, see `sketch`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum Durations {
    Samples(Vec<i64>),
    Sketched(Sketch),
}

impl Default for Durations {
    fn default() -> Self {
        Durations::Samples(Vec::new())
    }
}

impl TicketTally {
    /// An empty tally keeping its durations in a sketch.
    pub(super) fn sketched() -> Self {
        TicketTally {
            durations: Durations::Sketched(Sketch::default()),
            ..TicketTally::default()
        }
    }

    pub(super) fn add_change(&mut self, kind: u8, resolve_ms: i64) {
        self.count_change(kind, resolve_ms, 1);
    }

    /// Adds (`sign` 1) or takes out (`sign` -1) one counted fact.
    pub(super) fn count_change(&mut self, kind: u8, resolve_ms: i64, sign: i64) {
        if kind & change::RESOLVED != 0 {
            self.resolved = self.resolved.saturating_add_signed(sign);
            if kind & change::FIRST_CONTACT != 0 {
                self.first_contact = self.first_contact.saturating_add_signed(sign);
            }
            match &mut self.durations {
                Durations::Samples(samples) if sign > 0 => samples.push(resolve_ms),
                Durations::Samples(samples) => {
                    if let Some(at) = samples.iter().position(|&ms| ms == resolve_ms) {
                        samples.swap_remove(at);
                    }
                }
                Durations::Sketched(sketch) => sketch.record(resolve_ms, sign),
            }
        }
        if kind & change::REOPENED != 0 {
            self.reopened = self.reopened.saturating_add_signed(sign);
        }
        if kind & change::ESCALATED != 0 {
            self.escalated = self.escalated.saturating_add_signed(sign);
        }
    }

    /// Adds `other`'s counts and durations (not its backlog, which is as
    /// of a moment, not summed over time).
    pub(super) fn absorb(&mut self, other: &TicketTally) {
        self.opened += other.opened;
        self.resolved += other.resolved;
        self.reopened += other.reopened;
        self.escalated += other.escalated;
        self.first_contact += other.first_contact;
        match (&mut self.durations, &other.durations) {
            (Durations::Samples(mine), Durations::Samples(theirs)) => {
                mine.extend_from_slice(theirs)
            }
            (Durations::Sketched(mine), Durations::Samples(theirs)) => {
                for &ms in theirs {
                    mine.record(ms, 1);
                }
            }
            (Durations::Sketched(mine), Durations::Sketched(theirs)) => mine.absorb(theirs),
            (Durations::Samples(mine), Durations::Sketched(theirs)) => {
                // Exact samples and a sketch make a sketch.
                let mut sketch = theirs.clone();
                for &ms in mine.iter() {
                    sketch.record(ms, 1);
                }
                self.durations = Durations::Sketched(sketch);
            }
        }
    }

    /// Adds (`sign` 1) or takes out one opening.
    pub(super) fn count_opened(&mut self, sign: i64) {
        self.opened = self.opened.saturating_add_signed(sign);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.opened == 0
            && self.resolved == 0
            && self.reopened == 0
            && self.escalated == 0
            && self.backlog == 0
    }

    pub(super) fn figures(&mut self) -> TicketFigures {
        TicketFigures {
            opened: self.opened,
            resolved: self.resolved,
            reopened: self.reopened,
            escalated: self.escalated,
            backlog: u64::try_from(self.backlog).unwrap_or(0),
            resolution_rate: ratio(self.resolved, self.opened),
            first_contact_resolution_rate: ratio(self.first_contact, self.resolved),
            mttr_seconds: match &mut self.durations {
                Durations::Samples(samples) => mttr(samples),
                Durations::Sketched(sketch) => sketched_mttr(sketch),
            },
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        match &self.durations {
            Durations::Samples(samples) => samples.capacity() * size_of::<i64>(),
            Durations::Sketched(sketch) => sketch.heap_bytes(),
        }
    }
}

/// The backlog as of one moment, overall and per group of some
/// dimensions (see [`Aggregator::backlog_at`]).
#[derive(Clone, Debug)]
pub(super) struct BacklogAt {
    pub(super) overall: i64,
    pub(super) groups: Vec<GroupTally>,
}

impl BacklogAt {
    /// Sets the backlog of `overall` and of every group of `groupings`.
    pub(super) fn fill(&self, overall: &mut TicketTally, groupings: &mut [GroupTally]) {
        overall.backlog = self.overall;
        for grouping in groupings.iter_mut() {
            let known = self
                .groups
                .iter()
                .find(|g| g.dimension == grouping.dimension);
            for (group, tally) in grouping.groups.iter_mut().enumerate() {
                tally.backlog = known
                    .and_then(|k| k.groups.get(group))
                    .map_or(0, |t| t.backlog);
            }
        }
    }

    /// The backlog of group `group` of `dimension` (0 if not kept).
    pub(super) fn of(&self, dimension: TicketDimension, group: usize) -> i64 {
        self.groups
            .iter()
            .find(|g| g.dimension == dimension)
            .and_then(|g| g.groups.get(group))
            .map_or(0, |t| t.backlog)
    }
}

/// Ticket tallies of every group of one dimension.
#[derive(Clone, Debug)]
pub(super) struct GroupTally {
    pub(super) dimension: TicketDimension,
    pub(super) groups: Vec<TicketTally>,
}

impl GroupTally {
    pub(super) fn new(dimension: TicketDimension, count: usize) -> Self {
        GroupTally {
            dimension,
            groups: vec![TicketTally::default(); count],
        }
    }

    fn of(&mut self, class: &Class) -> &mut TicketTally {
        &mut self.groups[class.group(self.dimension)]
    }
}

/// What a report adds up over its window, before its backlog.
pub(super) struct Tallies {
    pub(super) overall: TicketTally,
    pub(super) groupings: Vec<GroupTally>,
    pub(super) calls: CallTally,
    pub(super) by_queue: Vec<CallTally>,
}

/// Running call counts of one queue (or of all) while a window is scanned,
/// or kept as legs change.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct CallTally {
    pub(super) offered: u64,
    answered: u64,
    abandoned: u64,
    pub(super) within_target: u64,
    wait_ms: i128,
    handled: u64,
    /// Integer nanoseconds, so that taking a leg out undoes adding it
    /// exactly, whatever the order.
    handle_nanos: i128,
}

impl CallTally {
    pub(super) fn add(&mut self, call: &Call, target_ms: f64) {
        self.count(call, target_ms, 1);
    }

    /// Adds (`sign` 1) or takes out (`sign` -1) an offered leg's
    /// contribution, as it stands.
    pub(super) fn count(&mut self, call: &Call, target_ms: f64, sign: i64) {
        self.offered = self.offered.saturating_add_signed(sign);
        if let Some(wait_ms) = call.wait_ms() {
            self.answered = self.answered.saturating_add_signed(sign);
            self.wait_ms += i128::from(sign) * i128::from(wait_ms);
            if wait_ms as f64 <= target_ms {
                self.within_target = self.within_target.saturating_add_signed(sign);
            }
            if let Some(handle) = call.handle_nanos() {
                self.handled = self.handled.saturating_add_signed(sign);
                self.handle_nanos += i128::from(sign) * handle;
            }
        }
        if call.abandoned_at().is_some() {
            self.abandoned = self.abandoned.saturating_add_signed(sign);
        }
    }

    /// Adds `other`'s counts.
    pub(super) fn absorb(&mut self, other: &CallTally) {
        self.offered += other.offered;
        self.answered += other.answered;
        self.abandoned += other.abandoned;
        self.within_target += other.within_target;
        self.wait_ms += other.wait_ms;
        self.handled += other.handled;
        self.handle_nanos += other.handle_nanos;
    }

    pub(super) fn figures(&self) -> CallFigures {
        CallFigures {
            offered: self.offered,
            answered: self.answered,
            abandoned: self.abandoned,
            abandonment_rate: ratio(self.abandoned, self.offered),
            service_level: ratio(self.within_target, self.offered),
            asa_seconds: (self.answered > 0)
                .then(|| self.wait_ms as f64 / self.answered as f64 / 1000.0),
            aht_seconds: (self.handled > 0)
                .then(|| self.handle_nanos as f64 / 1e9 / self.handled as f64),
        }
    }
}

impl Aggregator {
    /// Figures for `[from, to)`, with tickets grouped by `group_by` if given.
    pub fn report(&self, from: Millis, to: Millis, group_by: Option<TicketDimension>) -> Report {
        self.report_grouped(from, to, group_by.as_slice())
    }

    /// Figures for `[from, to)` with tickets grouped by each of
    /// `dimensions` (one entry each in `tickets_by`; none without any).
    pub fn report_grouped(
        &self,
        from: Millis,
        to: Millis,
        dimensions: &[TicketDimension],
    ) -> Report {
        self.report_where(from, to, dimensions, None)
    }

    /// [`Aggregator::report_grouped`] over the tickets whose `dimension`
    /// is `value` only (calls are not filtered), when `only` is given. A
    /// value no ticket has gives zero ticket figures.
    pub fn report_where(
        &self,
        from: Millis,
        to: Millis,
        dimensions: &[TicketDimension],
        only: Option<(TicketDimension, &str)>,
    ) -> Report {
        self.report_at(from, to, dimensions, only, None)
    }

    /// The report's call figures for `[from, to)` (and its counted ticket
    /// facts), without the ticket backlog, which is left at 0: for
    /// staffing, which reads calls only, so a moment in the past costs no
    /// walk through the history.
    pub fn calls_report(&self, from: Millis, to: Millis) -> Report {
        let no_backlog = BacklogAt {
            overall: 0,
            groups: Vec::new(),
        };
        self.report_at(from, to, &[], None, Some(&no_backlog))
    }

    /// The backlog as of `to`, overall and per group of `dimensions`, of
    /// the tickets whose `dimension` is `value` only when `only` is given:
    /// computed once for reports that all end at `to`.
    pub(super) fn backlog_at(
        &self,
        to: Millis,
        dimensions: &[TicketDimension],
        only: Option<(TicketDimension, &str)>,
    ) -> BacklogAt {
        let mut overall = TicketTally::default();
        let mut groups: Vec<GroupTally> = dimensions
            .iter()
            .map(|&dimension| GroupTally::new(dimension, self.group_count(dimension)))
            .collect();
        match only {
            None => self.fill_backlog(to, &mut overall, &mut groups),
            Some((dimension, value)) => {
                let group = self.group_of_value(dimension, value).unwrap_or(usize::MAX);
                self.fill_backlog_of(to, (dimension, group), &mut overall, &mut groups);
            }
        }
        BacklogAt {
            overall: overall.backlog,
            groups,
        }
    }

    /// [`Aggregator::report_where`], its backlog taken from `backlog` (as
    /// of `to`, for at least `dimensions`) when given.
    pub(super) fn report_at(
        &self,
        from: Millis,
        to: Millis,
        dimensions: &[TicketDimension],
        only: Option<(TicketDimension, &str)>,
        backlog: Option<&BacklogAt>,
    ) -> Report {
        let filter = only.map(|(dimension, value)| {
            (
                dimension,
                self.group_of_value(dimension, value).unwrap_or(usize::MAX),
            )
        });
        // Event-time attribution: a fact is in the scope when the ticket's
        // classification at that fact is.
        let keep = |class: &Class| filter.is_none_or(|(d, group)| class.group(d) == group);
        let mut tallies = self.empty_tallies(dimensions);
        let targets_ms = self.targets_ms();
        // The whole hours of an unfiltered window come from the hourly
        // roll-ups; only its partial hours are walked.
        let rolled_up = match filter {
            None => self.rollup.add_whole_hours(from, to, &mut tallies),
            Some(_) => None,
        };
        match rolled_up {
            Some((start, end)) => {
                self.walk_facts(from, start, &keep, &targets_ms, &mut tallies);
                self.walk_facts(end, to, &keep, &targets_ms, &mut tallies);
            }
            None => self.walk_facts(from, to, &keep, &targets_ms, &mut tallies),
        }
        let Tallies {
            mut overall,
            mut groupings,
            calls,
            by_queue,
        } = tallies;
        match (backlog, filter) {
            (Some(known), _) => known.fill(&mut overall, &mut groupings),
            (None, None) => self.fill_backlog(to, &mut overall, &mut groupings),
            (None, Some(only)) => self.fill_backlog_of(to, only, &mut overall, &mut groupings),
        }

        self.assemble_report(from, to, overall, groupings, &calls, &by_queue)
    }

    /// [`Aggregator::report_grouped`] by a walk of every fact in the
    /// window, none from the roll-ups: what the property tests compare
    /// the roll-ups with.
    #[cfg(test)]
    pub(super) fn report_walked(
        &self,
        from: Millis,
        to: Millis,
        dimensions: &[TicketDimension],
    ) -> Report {
        let mut tallies = self.empty_tallies(dimensions);
        self.walk_facts(from, to, &|_| true, &self.targets_ms(), &mut tallies);
        self.fill_backlog(to, &mut tallies.overall, &mut tallies.groupings);
        self.assemble_report(
            from,
            to,
            tallies.overall,
            tallies.groupings,
            &tallies.calls,
            &tallies.by_queue,
        )
    }

    /// Nothing counted yet, with a group for every value `dimensions`
    /// have and a tally for every queue.
    pub(super) fn empty_tallies(&self, dimensions: &[TicketDimension]) -> Tallies {
        Tallies {
            overall: TicketTally::default(),
            groupings: dimensions
                .iter()
                .map(|&dimension| GroupTally::new(dimension, self.group_count(dimension)))
                .collect(),
            calls: CallTally::default(),
            by_queue: vec![CallTally::default(); self.queues.len()],
        }
    }

    /// Adds the facts dated in `[from, to)` whose classification `keep`
    /// accepts to `tallies`, walking the time index.
    pub(super) fn walk_facts(
        &self,
        from: Millis,
        to: Millis,
        keep: &dyn Fn(&Class) -> bool,
        targets_ms: &[f64],
        tallies: &mut Tallies,
    ) {
        let in_window = |at: Millis| from <= at && at < to;
        let Tallies {
            overall,
            groupings,
            calls,
            by_queue,
        } = tallies;
        for (start, bucket) in self.timeline.window(from, to) {
            for &index in &bucket.opened {
                let ticket = &self.tickets[index as usize];
                let class = self.class_of(index, 0);
                if in_window(ticket.opened_at) && keep(&class) {
                    overall.opened += 1;
                    for grouping in groupings.iter_mut() {
                        grouping.of(&class).opened += 1;
                    }
                }
            }
            for change in &bucket.changes {
                let at = change.at(start);
                if in_window(at) && change.kind & change::COUNTED != 0 {
                    let ticket = &self.tickets[change.ticket as usize];
                    let class = self.class_of(change.ticket, change.version);
                    if !keep(&class) {
                        continue;
                    }
                    let resolve_ms = at - ticket.opened_at;
                    overall.add_change(change.kind, resolve_ms);
                    for grouping in groupings.iter_mut() {
                        grouping.of(&class).add_change(change.kind, resolve_ms);
                    }
                }
            }
            for &index in &bucket.offered {
                let call = &self.calls[index as usize];
                if in_window(call.offered_at) {
                    let queue = call.queue as usize;
                    let target_ms = targets_ms.get(queue).copied().unwrap_or(0.0);
                    calls.add(call, target_ms);
                    if let Some(tally) = by_queue.get_mut(queue) {
                        tally.add(call, target_ms);
                    }
                }
            }
        }
    }

    /// The answer target of every queue, in ms, by queue id.
    pub(super) fn targets_ms(&self) -> Vec<f64> {
        (0..self.queues.len())
            .map(|queue| self.settings_of(queue).answer_target_seconds * 1000.0)
            .collect()
    }

    /// A report from its tallies (backlog included): groups with nothing
    /// to show and queues with nothing offered are left out.
    pub(super) fn assemble_report(
        &self,
        from: Millis,
        to: Millis,
        mut overall: TicketTally,
        mut groupings: Vec<GroupTally>,
        calls: &CallTally,
        by_queue: &[CallTally],
    ) -> Report {
        let tickets_by = (!groupings.is_empty()).then(|| {
            groupings
                .iter_mut()
                .map(|grouping| {
                    let dimension = grouping.dimension;
                    let groups = grouping
                        .groups
                        .iter_mut()
                        .enumerate()
                        .filter(|(_, tally)| !tally.is_empty())
                        .map(|(group, tally)| (self.group_name(dimension, group), tally.figures()))
                        .collect();
                    (dimension.as_str().to_owned(), groups)
                })
                .collect()
        });
        Report {
            from: format_rfc3339(from),
            to: format_rfc3339(to),
            tickets: overall.figures(),
            tickets_by,
            calls: calls.figures(),
            calls_by_queue: by_queue
                .iter()
                .enumerate()
                .filter(|(_, tally)| tally.offered > 0)
                .map(|(queue, tally)| (self.queues.name(queue).to_owned(), tally.figures()))
                .collect(),
        }
    }

    /// Sets `backlog` as of `to` on `overall` and on every group, walking
    /// whichever side of `to` spans less time.
    pub(super) fn fill_backlog(
        &self,
        to: Millis,
        overall: &mut TicketTally,
        groupings: &mut [GroupTally],
    ) {
        if self.timeline.shorter_before(to) {
            clear_backlog(overall, groupings);
            let buckets = self.timeline.before(to);
            self.add_backlog_deltas(buckets, |at| at < to, 1, overall, groupings);
        } else {
            overall.backlog = self.backlog.overall;
            for grouping in groupings.iter_mut() {
                let dimension = grouping.dimension;
                for (group, tally) in grouping.groups.iter_mut().enumerate() {
                    tally.backlog = self.backlog.get(dimension, group);
                }
            }
            let buckets = self.timeline.since(to);
            self.add_backlog_deltas(buckets, |at| at >= to, -1, overall, groupings);
        }
    }

    /// `fill_backlog` of the tickets whose `dimension` is `group`
    /// (`only`): counted from the tickets open now under their current
    /// classification (every fact applied, as the running totals are),
    /// less the facts at or after `to` ([`Aggregator::backlog_after`]).
    /// When the scope and every grouping are by site, application or
    /// severity, the open tickets are counted from the running
    /// (site, application, severity) cells, so a site's board costs no
    /// walk of them.
    pub(super) fn fill_backlog_of(
        &self,
        to: Millis,
        (dimension, group): (TicketDimension, usize),
        overall: &mut TicketTally,
        groupings: &mut [GroupTally],
    ) {
        clear_backlog(overall, groupings);
        let in_cell = |dimension: TicketDimension| {
            matches!(
                dimension,
                TicketDimension::Site | TicketDimension::Application | TicketDimension::Severity
            )
        };
        let by_cell = in_cell(dimension) && groupings.iter().all(|g| in_cell(g.dimension));
        let mut adjust = |class: &Class, delta: i64| {
            if class.group(dimension) == group {
                overall.backlog += delta;
                for grouping in groupings.iter_mut() {
                    grouping.of(class).backlog += delta;
                }
            }
        };
        if by_cell {
            for (&(site, application, severity), &count) in &self.backlog.cells {
                // The other fields are never read: the scope and every
                // grouping are by a cell's own fields.
                let class = Class {
                    site,
                    application,
                    severity,
                    department: 0,
                    category: 0,
                    channel: 0,
                };
                adjust(&class, count);
            }
        } else {
            for index in self.open.indexes() {
                adjust(&self.tickets[index as usize].class(), 1);
            }
        }
        self.backlog_after(to, |class, delta| adjust(class, -delta));
    }

    /// The backlog as of `to` per (site, application, severity), the
    /// cells of `/metrics`' backlog gauge: the running counts (every fact
    /// applied) less the facts at or after `to`, as every report's backlog.
    pub(super) fn backlog_cells_at(&self, to: Millis) -> Vec<((u32, u32, u8), i64)> {
        let mut cells = self.backlog.cells.clone();
        self.backlog_after(to, |class, delta| {
            *cells
                .entry((class.site, class.application, class.severity))
                .or_default() -= delta;
        });
        cells.into_iter().collect()
    }

    /// Calls `effect(class, delta)` for every backlog effect of the facts
    /// dated at or after `to`, each under the classification it was filed
    /// with: what the running backlog counts hold beyond the backlog as of
    /// `to`. A reclassification at or after `to` moved the ticket from its
    /// previous classification to its new one then.
    pub(super) fn backlog_after(&self, to: Millis, mut effect: impl FnMut(&Class, i64)) {
        for (start, bucket) in self.timeline.since(to) {
            for &index in &bucket.opened {
                if self.tickets[index as usize].opened_at >= to {
                    effect(&self.class_of(index, 0), 1);
                }
            }
            for change in &bucket.changes {
                if change.at(start) < to {
                    continue;
                }
                if change.kind & change::RECLASSIFIED != 0 {
                    let before = self.class_of(change.ticket, change.version.saturating_sub(1));
                    effect(&self.class_of(change.ticket, change.version), 1);
                    effect(&before, -1);
                    continue;
                }
                let delta = change::backlog_delta(change.kind);
                if delta != 0 {
                    effect(&self.class_of(change.ticket, change.version), delta);
                }
            }
        }
    }

    /// Adds `sign` × the backlog effect of every fact kept by `keep`.
    fn add_backlog_deltas<'a>(
        &self,
        buckets: impl Iterator<Item = (Millis, &'a Bucket)>,
        keep: impl Fn(Millis) -> bool,
        sign: i64,
        overall: &mut TicketTally,
        groupings: &mut [GroupTally],
    ) {
        for (start, bucket) in buckets {
            for &index in &bucket.opened {
                let ticket = &self.tickets[index as usize];
                if keep(ticket.opened_at) {
                    overall.backlog += sign;
                    if !groupings.is_empty() {
                        let class = self.class_of(index, 0);
                        for grouping in groupings.iter_mut() {
                            grouping.of(&class).backlog += sign;
                        }
                    }
                }
            }
            for change in &bucket.changes {
                if change.kind & change::RECLASSIFIED != 0 {
                    if !groupings.is_empty() && keep(change.at(start)) {
                        let before = self.class_of(change.ticket, change.version.saturating_sub(1));
                        let after = self.class_of(change.ticket, change.version);
                        for grouping in groupings.iter_mut() {
                            grouping.of(&before).backlog -= sign;
                            grouping.of(&after).backlog += sign;
                        }
                    }
                    continue;
                }
                let delta = change::backlog_delta(change.kind);
                if delta != 0 && keep(change.at(start)) {
                    overall.backlog += sign * delta;
                    if !groupings.is_empty() {
                        let class = self.class_of(change.ticket, change.version);
                        for grouping in groupings.iter_mut() {
                            grouping.of(&class).backlog += sign * delta;
                        }
                    }
                }
            }
        }
    }
}

/// Zero backlog on `overall` and every group, before counting it.
fn clear_backlog(overall: &mut TicketTally, groupings: &mut [GroupTally]) {
    overall.backlog = 0;
    for grouping in groupings.iter_mut() {
        grouping
            .groups
            .iter_mut()
            .for_each(|tally| tally.backlog = 0);
    }
}

/// `part / whole`, `None` when `whole` is 0.
fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Mean (exact) and nearest-rank p50 / p90 within 1 % of a sketch of
/// durations in milliseconds, as seconds.
fn sketched_mttr(sketch: &Sketch) -> Mttr {
    let n = sketch.count();
    if n == 0 {
        return Mttr {
            mean: None,
            p50: None,
            p90: None,
        };
    }
    Mttr {
        mean: Some(sketch.sum_ms() as f64 / n as f64 / 1000.0),
        p50: sketch.rank_ms(n.div_ceil(2)).map(|ms| ms / 1000.0),
        p90: sketch.rank_ms((9 * n).div_ceil(10)).map(|ms| ms / 1000.0),
    }
}

/// Mean and exact nearest-rank p50 / p90 of durations in milliseconds,
/// as seconds. Reorders `samples`.
fn mttr(samples: &mut [i64]) -> Mttr {
    let n = samples.len();
    if n == 0 {
        return Mttr {
            mean: None,
            p50: None,
            p90: None,
        };
    }
    let sum: i128 = samples.iter().map(|&ms| i128::from(ms)).sum();
    Mttr {
        mean: Some(sum as f64 / n as f64 / 1000.0),
        // ⌈p·n⌉ in integer arithmetic, exact without arguing about rounding.
        p50: Some(nth_smallest(samples, n.div_ceil(2)) as f64 / 1000.0),
        p90: Some(nth_smallest(samples, (9 * n).div_ceil(10)) as f64 / 1000.0),
    }
}

/// The `rank`-th smallest (1-based, `1 <= rank <= len`) in linear time.
fn nth_smallest(samples: &mut [i64], rank: usize) -> i64 {
    let index = rank.clamp(1, samples.len()) - 1;
    *samples.select_nth_unstable(index).1
}
