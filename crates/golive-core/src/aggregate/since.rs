//! The board's since-go-live window kept as events are applied, so that
//! it costs the same on day 28 as on day 1.
//!
//! Every counted fact dated at or after the go-live start is added, as it
//! is applied, to running tallies: overall, per site, per application and
//! per (site, application), which are the board's groupings and what a
//! site's board cuts. Facts dated in the future are added too; the window
//! `[start, now)` is these tallies minus the few facts at or after `now`
//! (found in the time index), the way the backlog totals work. MTTR
//! durations are kept in a [`Sketch`](super::sketch): the mean is exact,
//! p50 and p90 within 1 %.
//!
//! Call legs change after they are offered (an `answered` after its
//! `ended` turns an abandon into an answer), so a leg's contribution is
//! taken out before each change and added back after it
//! ([`Aggregator::change_leg`]); nothing assumes legs only move forward.
//! The answer target behind the service level is the queue's current one:
//! when it changes, that queue's legs are counted again once.

use super::figures::{BacklogAt, CallTally, GroupTally, Report, TicketTally};
use super::timeline::change;
use super::{Aggregator, Call, Class, call_flag};
use crate::model::TicketDimension;
use crate::time::Millis;
use std::collections::HashMap;

/// Running since-start tallies (see the module documentation).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct SinceStart {
    start: Millis,
    overall: TicketTally,
    by_site: Vec<TicketTally>,
    by_application: Vec<TicketTally>,
    /// By (site, application).
    cells: HashMap<(u32, u32), TicketTally>,
    calls: CallTally,
    by_queue: Vec<CallTally>,
}

impl SinceStart {
    fn new(start: Millis) -> Self {
        SinceStart {
            start,
            overall: TicketTally::sketched(),
            by_site: Vec::new(),
            by_application: Vec::new(),
            cells: HashMap::new(),
            calls: CallTally::default(),
            by_queue: Vec::new(),
        }
    }

    /// The tallies one ticket fact of `class` goes into.
    fn tallies(&mut self, class: &Class) -> [&mut TicketTally; 4] {
        let grow = |tallies: &mut Vec<TicketTally>, at: u32| {
            if tallies.len() <= at as usize {
                tallies.resize(at as usize + 1, TicketTally::sketched());
            }
        };
        grow(&mut self.by_site, class.site);
        grow(&mut self.by_application, class.application);
        [
            &mut self.overall,
            &mut self.by_site[class.site as usize],
            &mut self.by_application[class.application as usize],
            self.cells
                .entry((class.site, class.application))
                .or_insert_with(TicketTally::sketched),
        ]
    }

    /// A ticket opened at `at` under `class`.
    pub(super) fn opened(&mut self, class: &Class, at: Millis) {
        if at >= self.start {
            for tally in self.tallies(class) {
                tally.count_opened(1);
            }
        }
    }

    /// A counted status change at `at` under `class`.
    pub(super) fn changed(&mut self, class: &Class, at: Millis, kind: u8, resolve_ms: i64) {
        if at >= self.start && kind & change::COUNTED != 0 {
            for tally in self.tallies(class) {
                tally.count_change(kind, resolve_ms, 1);
            }
        }
    }

    /// Adds (`sign` 1) or takes out (-1) a leg's contribution as it stands.
    pub(super) fn count_leg(&mut self, call: &Call, target_ms: f64, sign: i64) {
        if !call.has(call_flag::OFFERED) || call.offered_at < self.start {
            return;
        }
        self.calls.count(call, target_ms, sign);
        let queue = call.queue as usize;
        if self.by_queue.len() <= queue {
            self.by_queue.resize(queue + 1, CallTally::default());
        }
        self.by_queue[queue].count(call, target_ms, sign);
    }

    pub(super) fn heap_bytes(&self) -> usize {
        let tally = size_of::<TicketTally>();
        let all = [&self.overall]
            .into_iter()
            .chain(&self.by_site)
            .chain(&self.by_application)
            .chain(self.cells.values());
        all.map(|t| tally + t.heap_bytes()).sum::<usize>()
            + self.by_queue.capacity() * size_of::<CallTally>()
    }
}

impl Aggregator {
    /// Keeps the figures since `start` as events are applied (see the
    /// module documentation), counting what was applied so far once.
    /// The board's since-go-live window with this start then no longer
    /// walks the history.
    pub fn keep_since(&mut self, start: Millis) {
        let mut since = SinceStart::new(start);
        for (index, ticket) in self.tickets.iter().enumerate() {
            since.opened(&self.class_of(index as u32, 0), ticket.opened_at);
        }
        for (bucket_start, bucket) in self.timeline.since(start) {
            for fact in &bucket.changes {
                let ticket = &self.tickets[fact.ticket as usize];
                let at = fact.at(bucket_start);
                let class = self.class_of(fact.ticket, fact.version);
                since.changed(&class, at, fact.kind, at - ticket.opened_at);
            }
        }
        let targets = self.targets_ms();
        for call in &self.calls {
            let target = targets.get(call.queue as usize).copied().unwrap_or(0.0);
            since.count_leg(call, target, 1);
        }
        self.since = Some(since);
    }

    /// The start the since-go-live figures are kept from, if they are.
    pub fn kept_since(&self) -> Option<Millis> {
        self.since.as_ref().map(|since| since.start)
    }

    /// Keeps the since-go-live figures from `start`, or none: a restored
    /// checkpoint may have been taken under another `go_live_start`.
    pub fn keep_since_only(&mut self, start: Option<Millis>) {
        match start {
            Some(start) if self.kept_since() != Some(start) => self.keep_since(start),
            Some(_) => {}
            None => self.since = None,
        }
    }

    /// The board's since-go-live report, `[start, now)` grouped by
    /// application and site, from the running tallies, when they are kept
    /// for `start` and `now` is after it; its backlog from `backlog` (as of
    /// `now`). `only` may restrict the tickets to one site.
    pub(super) fn since_report(
        &self,
        start: Millis,
        now: Millis,
        only: Option<(TicketDimension, &str)>,
        backlog: &BacklogAt,
    ) -> Option<Report> {
        let since = self
            .since
            .as_ref()
            .filter(|s| s.start == start && start < now)?;
        let site = match only {
            None => None,
            Some((TicketDimension::Site, name)) => Some(
                self.group_of_value(TicketDimension::Site, name)
                    .unwrap_or(usize::MAX),
            ),
            Some(_) => return None,
        };
        let keep = |class: &Class| site.is_none_or(|s| class.site as usize == s);
        let kept = |tallies: &Vec<TicketTally>, group: usize| {
            tallies
                .get(group)
                .cloned()
                .unwrap_or_else(TicketTally::sketched)
        };
        let mut overall = match site {
            None => since.overall.clone(),
            Some(s) => kept(&since.by_site, s),
        };
        let by_application: Vec<TicketTally> = (0..self.applications.len())
            .map(|application| match site {
                None => kept(&since.by_application, application),
                Some(s) => since
                    .cells
                    .get(&(s as u32, application as u32))
                    .cloned()
                    .unwrap_or_else(TicketTally::sketched),
            })
            .collect();
        let by_site: Vec<TicketTally> = (0..self.sites.len())
            .map(|group| {
                if site.is_none_or(|s| s == group) {
                    kept(&since.by_site, group)
                } else {
                    TicketTally::sketched()
                }
            })
            .collect();
        let mut groupings = [
            GroupTally {
                dimension: TicketDimension::Application,
                groups: by_application,
            },
            GroupTally {
                dimension: TicketDimension::Site,
                groups: by_site,
            },
        ];
        let mut calls = since.calls;
        let mut by_queue = since.by_queue.clone();
        by_queue.resize(self.queues.len(), CallTally::default());

        // Take out what lies at or after `now`.
        let targets = self.targets_ms();
        let mut take_out = |class: &Class, fact: Option<(u8, i64)>| {
            if !keep(class) {
                return;
            }
            let [applications, sites] = &mut groupings;
            let tallies = [&mut overall]
                .into_iter()
                .chain(applications.groups.get_mut(class.application as usize))
                .chain(sites.groups.get_mut(class.site as usize));
            for tally in tallies {
                match fact {
                    None => tally.count_opened(-1),
                    Some((kind, resolve_ms)) => tally.count_change(kind, resolve_ms, -1),
                }
            }
        };
        for (bucket_start, bucket) in self.timeline.since(now) {
            for &index in &bucket.opened {
                let opened_at = self.tickets[index as usize].opened_at;
                if opened_at >= now && opened_at >= start {
                    take_out(&self.class_of(index, 0), None);
                }
            }
            for fact in &bucket.changes {
                let at = fact.at(bucket_start);
                if at >= now && at >= start && fact.kind & change::COUNTED != 0 {
                    let resolve_ms = at - self.tickets[fact.ticket as usize].opened_at;
                    take_out(
                        &self.class_of(fact.ticket, fact.version),
                        Some((fact.kind, resolve_ms)),
                    );
                }
            }
            for &index in &bucket.offered {
                let call = &self.calls[index as usize];
                if call.offered_at >= now && call.offered_at >= start {
                    let target = targets.get(call.queue as usize).copied().unwrap_or(0.0);
                    calls.count(call, target, -1);
                    if let Some(tally) = by_queue.get_mut(call.queue as usize) {
                        tally.count(call, target, -1);
                    }
                }
            }
        }
        backlog.fill(&mut overall, &mut groupings);
        Some(self.assemble_report(start, now, overall, groupings.into(), &calls, &by_queue))
    }
}
