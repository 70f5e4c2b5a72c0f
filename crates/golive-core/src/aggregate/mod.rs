//! The aggregator: folds the event log into the command center's figures.
//!
//! It is pure and free of I/O. The server feeds it every committed event in
//! sequence order ([`Aggregator::apply`]) and asks it for reports, the live
//! board, trends, arrival series for forecasting, surges and waiting calls.
//! A restart is a replay, so nothing here is persisted.
//!
//! # Metric semantics
//!
//! One definition is used everywhere (reports, board, trend, arrivals).
//! Every window is half-open, `[from, to)`: an event at exactly `from`
//! counts, one at exactly `to` does not.
//!
//! Tickets:
//! - `open`, `in_progress`, `pending` and `escalated` are active; `resolved`
//!   and `closed` are done.
//! - A ticket created active is active from `opened_at`; created
//!   `escalated`, that is also one escalation at `opened_at`. A ticket created
//!   done is active during `[opened_at, resolved_at)` and has one resolution
//!   at `resolved_at`, a *first-contact* resolution. A missing `resolved_at`
//!   is taken as `opened_at`.
//! - A status change `previous → new` at `at`: active → done is a resolution
//!   (MTTR sample `at - opened_at`, not first contact); done → active is a
//!   reopen; into `escalated` from any other status is an escalation (so
//!   done → escalated is both a reopen and an escalation). resolved ↔ closed,
//!   same status, and changes without a status (assignee or tier only) count
//!   for nothing. Changes to unknown tickets and second creations of a known
//!   id are ignored.
//! - A change stamped before the ticket's opening or its previous status
//!   change (the creation resolution included) is taken as happening at that
//!   moment, so a ticket's own timeline never runs backwards. The ledger
//!   already guarantees this; the clamp only keeps bad input consistent.
//! - `opened` counts tickets with `opened_at` in the window; `resolved`,
//!   `reopened`, `escalated` count the transitions above whose time is in the
//!   window. `backlog` is the number of tickets with `opened_at < to` whose
//!   status after every change with time `< to` is active: a ticket opened at
//!   `t0` and created resolved at `t1` is in the backlog for `to` in
//!   `(t0, t1]`.
//! - `resolution_rate` = resolved / opened; `first_contact_resolution_rate`
//!   = first-contact resolutions / resolutions (both in the window).
//!   `mttr_seconds` is taken over the window's resolutions: arithmetic mean,
//!   and exact nearest-rank p50 and p90 (the ⌈p·n⌉-th smallest sample).
//!   One exception, allowed by the contract ("quantiles may be approximate
//!   within 1 %"): the board's since-go-live window, kept as events are
//!   applied, reports p50 and p90 within 1 % of the exact value (relative)
//!   from logarithmic buckets (`sketch`); its mean and counts are exact.
//!   Durations are seconds as `f64` (milliseconds / 1000). Every rate and
//!   mean is `null` when its denominator is zero.
//!
//! Reclassification (event-time attribution): a `TicketChanged` carrying
//! classification fields (site, department, application, category,
//! severity) gives the ticket a new classification from its `at` on. Every
//! counted fact belongs to the classification the ticket had when it
//! happened: `opened` to the one at creation, a resolution, reopen or
//! escalation (and its MTTR sample) to the one at that moment, `backlog`
//! as of `to` to the one as of `to`. Facts of one instant follow the order
//! they were recorded in, and a change's classification applies before its
//! own status. Past windows therefore never change when a ticket is
//! re-routed, and the all-time totals behind `/metrics` only grow. Kept
//! as: the current classification on the ticket, earlier versions in
//! `history` (only for reclassified tickets), each dated fact filed with
//! the version it belongs to, and the reclassification of an active ticket
//! filed as a fact that moves its backlog between groups.
//!
//! Calls:
//! - The unit is the call **leg**, (`call_id`, `queue`): a call offered to
//!   a second queue (a transfer) is a second leg with its own events,
//!   counted in its own queue, and every total counts legs.
//! - A leg counts in a window iff it has an `offered` event with `at` in
//!   the window. Events of a leg may arrive in any order: a leg whose
//!   `offered` has not arrived yet is kept and counted once it does.
//! - Per leg, the first event of each kind wins and a later duplicate is
//!   ignored entirely; `answered` and `abandoned` exclude each other (the
//!   first one wins; the ledger never commits both). The leg's wrap time is
//!   the `wrap_seconds` of its `ended` event, else 0 (on other events it is
//!   ignored, so that no arrival order can change it).
//! - A phone system's record of a whole leg (`CallLegReplaced`, from an
//!   Amazon Connect contact trace record) replaces everything the leg had:
//!   its offer, outcome, end and wrap are the record's (a disconnect without
//!   an agent is an `ended` without `answered`), and single call events for
//!   the leg are ignored from then on. The ledger commits a record only when
//!   it is newer than the leg's last one.
//! - The events a leg has decide its outcome, not the order they arrived
//!   in: it is **answered** iff it has an `answered` event (at that time),
//!   and **abandoned** iff it has an `abandoned` event (at that time) or an
//!   `ended` event and no `answered` (at the `ended` time). So an `answered`
//!   arriving after its `ended` turns an abandon into an answer.
//! - `answered` / `abandoned`: legs with that outcome. `abandonment_rate` =
//!   abandoned / offered. `service_level` = answered legs with
//!   `answered_at - offered_at <= answer_target_seconds * 1000` ms, over
//!   offered, using the queue's *current* settings (latest
//!   `QueueConfigured`, else [`QueueSettings::default`]). `asa_seconds` =
//!   mean wait of answered legs; `aht_seconds` = mean of
//!   `(ended_at - answered_at) / 1000 + wrap` over answered legs that ended.
//!   A wait (`answered_at - offered_at`) and a talk time are never negative
//!   (`Call::wait_ms`, `Call::handle_seconds`: the one definition reports,
//!   `/metrics` histograms and the board share); the ledger refuses such a
//!   sequence, so only a raw stream can hold one.
//!
//! Groupings: `tickets_by` holds, per dimension, the groups with any
//! non-zero count (opened, resolved, reopened, escalated, backlog), keyed by
//! the dimension's value (wire name for category and channel, "1".."4" for
//! severity). `calls_by_queue` holds the queues with legs offered in the
//! window.
//!
//! Surges ([`Aggregator::surges`]): an application or site surges when the
//! tickets opened in `[now - 15 min, now)` number at least 6 and at least
//! 3 × its baseline, the mean tickets opened per 15 minutes over the two
//! hours before that, `[now - 2 h 15 min, now - 15 min)`. The baseline is
//! floored at 1 in the comparison so a quiet application needs real volume
//! to flag. `ratio` = last_15m / max(baseline_15m, 1).
//!
//! Waiting exposure ([`Aggregator::waiting_exposure`], for measured
//! patience): per queue, the abandons with their time in `[from, to)` and
//! the seconds callers spent waiting inside `[from, to)`. A call waits from
//! its `offered` until its `answered`, its `abandoned`, or — with neither —
//! its `ended` (a call that ended unanswered hung up then, and counts as an
//! abandon at that time); a call with none of these is still waiting, up to
//! `to`. Calls offered up to an hour before `from` count for the part of
//! their wait inside the window.
//!
//! Waiting calls ([`Aggregator::calls_waiting`]): legs offered in
//! `(now - 4 h, now]` that the feed has not reported answered, abandoned or
//! ended by `now`, per queue (a transferred caller waits in the queue of the new
//! leg). The cutoff drops legs whose end the ACD never sent.
//!
//! # Layout
//!
//! Strings (site, department, application, queue) are interned to `u32`
//! ids; tickets (32 bytes) and call legs (40 bytes: offered, answered or
//! abandoned, ended, wrap, queue, flags) are fixed-size records in two
//! vectors; call ids live back to back in one string, once per leg. With
//! the indexes that is about 86 bytes per ticket and 86 per leg (with
//! 11-character call ids), so a go-live week of 200 000 tickets and
//! 500 000 legs holds about 60 MB; a transfer costs one more leg.
//! Every fact that has a time (a ticket's opening, a counted status change,
//! a leg's offer) is also filed in a per-minute bucket of a sparse,
//! time-ordered index, whatever order it arrives in, so a window costs time
//! proportional to what happened in it. The backlog as of `to` is either
//! summed from the start or taken from running totals minus whatever lies
//! at or after `to`, whichever side is shorter, so the live board (where
//! `to` is now) never scans history. The tickets open now are also filed
//! by opening time in sets by site, tier, status and severity-1 place
//! (`open`), so the board's aging, escalation and severity-1 figures cost
//! the same however many tickets are open, and a site's backlog comes from
//! the running (site, application, severity) cells.
//!
//! Figures that cover the whole history are kept as events are applied
//! rather than recomputed: the board's since-go-live window (`since`,
//! once [`Aggregator::keep_since`] is called), the all-time totals
//! behind `/metrics` (`totals`) and every counted fact by the hour
//! (`rollup`), from which a long report adds up its whole hours. Every
//! change of a call leg goes through one pair: the leg's contribution is
//! taken out, the leg changes, its new contribution is added
//! (`Aggregator::change_leg`), so no running figure assumes a leg only
//! moves forward.

mod board;
mod checkpoint;
mod figures;
mod intern;
mod known_issues;
mod open;
#[cfg(test)]
mod proptests;
mod rollup;
mod series;
mod since;
mod sites;
mod sketch;
mod staffed;
#[cfg(test)]
mod tests;
mod timeline;
mod totals;
mod waiting;

pub use board::{
    Arrivals, Board, BoardWindows, LONG_WINDOW_MS, MAX_BUCKETS, SHORT_WINDOW_MS, Surge, Trend,
    TrendPoint,
};
pub use figures::{CallFigures, Mttr, Report, TicketFigures};
pub use known_issues::{KNOWN_ISSUE_TREND_BUCKETS, KnownIssue, KnownIssueTop, Resolution};
pub use open::{Aging, Escalations, OpenSummary, Sev1Group};
pub use totals::{
    HistogramBounds, HistogramTotals, OTHER, QueueTotals, SeriesLimits, TicketLabels, Totals,
};

use crate::event::{
    CallLegReplaced, CallRecorded, Event, QueueConfigured, RecordedEvent, TicketChanged,
    TicketCreated, TicketId,
};
use crate::model::{
    CallEventKind, Category, Channel, QueueSettings, TicketDimension, TicketStatus,
};
use crate::time::Millis;
use intern::{CallIds, FastState, Interner, table_bytes};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use timeline::{Timeline, change};

/// Where a ticket belongs: its classification, as interned ids and enum
/// indices. 15 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Class {
    site: u32,
    department: u32,
    application: u32,
    /// Index into `Category::ALL`.
    category: u8,
    /// Severity level minus one.
    severity: u8,
    /// Index into `Channel::ALL`.
    channel: u8,
}

impl Class {
    /// Dense group index of this classification in `dimension`.
    fn group(&self, dimension: TicketDimension) -> usize {
        match dimension {
            TicketDimension::Site => self.site as usize,
            TicketDimension::Department => self.department as usize,
            TicketDimension::Application => self.application as usize,
            TicketDimension::Category => usize::from(self.category),
            TicketDimension::Severity => usize::from(self.severity),
            TicketDimension::Channel => usize::from(self.channel),
        }
    }
}

/// One ticket as the aggregator needs it: when it opened, where it belongs
/// now (its current [`Class`], version [`Aggregator::version_of`], kept
/// flat so the record stays 32 bytes) and where it stands.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Ticket {
    opened_at: Millis,
    /// Time of the latest change (status or classification, or of the
    /// creation resolution): an earlier-stamped change is moved up to it.
    last_at: Millis,
    site: u32,
    department: u32,
    application: u32,
    category: u8,
    severity: u8,
    channel: u8,
    status: TicketStatus,
}

impl Ticket {
    fn class(&self) -> Class {
        Class {
            site: self.site,
            department: self.department,
            application: self.application,
            category: self.category,
            severity: self.severity,
            channel: self.channel,
        }
    }

    fn set_class(&mut self, class: Class) {
        self.site = class.site;
        self.department = class.department;
        self.application = class.application;
        self.category = class.category;
        self.severity = class.severity;
        self.channel = class.channel;
    }
}

/// Flags of a [`Call`]: which events were accepted.
mod call_flag {
    pub const OFFERED: u8 = 1;
    pub const ANSWERED: u8 = 2;
    pub const ABANDONED: u8 = 4;
    pub const ENDED: u8 = 8;
    /// A phone system's record of the whole leg gave it
    /// (`CallLegReplaced`); single call events change it no more.
    pub const REPLACED: u8 = 16;
}

/// One call leg (`call_id`, `queue`), assembled from its events in
/// whatever order they came. A time is meaningful only when its flag is
/// set. 40 bytes.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Call {
    offered_at: Millis,
    /// The time of the leg's `answered` or `abandoned` event, whichever it
    /// has: they exclude each other, so one field holds either.
    outcome_at: Millis,
    ended_at: Millis,
    /// The `ended` event's `wrap_seconds`, 0 without one.
    wrap_seconds: f64,
    queue: u32,
    flags: u8,
}

impl Call {
    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// When the leg was answered, if it was.
    fn answered_at(&self) -> Option<Millis> {
        self.has(call_flag::ANSWERED).then_some(self.outcome_at)
    }

    /// When the leg was abandoned, if it was: its `abandoned` event, else
    /// its `ended` when it has no `answered`.
    fn abandoned_at(&self) -> Option<Millis> {
        if self.has(call_flag::ABANDONED) {
            Some(self.outcome_at)
        } else if self.has(call_flag::ENDED) && !self.has(call_flag::ANSWERED) {
            Some(self.ended_at)
        } else {
            None
        }
    }

    /// The leg's wait in ms, if it was answered: `answered_at - offered_at`,
    /// never negative (the one definition behind ASA, service level and
    /// the wait histogram).
    fn wait_ms(&self) -> Option<Millis> {
        self.answered_at()
            .map(|answered| (answered - self.offered_at).max(0))
    }

    /// The leg's handle time in integer nanoseconds, if it was answered
    /// and ended: talk `ended_at - answered_at` (never negative) plus its
    /// wrap (the one definition behind AHT and the handle-time histogram).
    /// Integer, so sums kept as legs change add and take out exactly.
    fn handle_nanos(&self) -> Option<i128> {
        let answered = self.answered_at()?;
        let wrap = (self.wrap_seconds * 1e9).round();
        // A wrap is seconds from the ACD: far inside i64 nanoseconds.
        let wrap = if wrap.is_finite() { wrap as i64 } else { 0 };
        self.has(call_flag::ENDED)
            .then(|| i128::from((self.ended_at - answered).max(0)) * 1_000_000 + i128::from(wrap))
    }

    /// [`Call::handle_nanos`] in seconds.
    #[cfg(test)]
    fn handle_seconds(&self) -> Option<f64> {
        self.handle_nanos().map(|nanos| nanos as f64 / 1e9)
    }

    /// Whether the feed reported the leg answered, abandoned or ended at
    /// or before `now`.
    fn is_settled_at(&self, now: Millis) -> bool {
        (self.has(call_flag::ANSWERED | call_flag::ABANDONED) && self.outcome_at <= now)
            || (self.has(call_flag::ENDED) && self.ended_at <= now)
    }
}

/// Current backlog per group of every dimension, including facts dated in
/// the future, so a backlog as of a recent `to` only has to subtract the
/// few facts at or after `to`.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct BacklogTotals {
    overall: i64,
    /// Indexed by [`dimension_index`], then by group.
    by_dimension: [Vec<i64>; 6],
    /// By (site, application, severity): the cells of `/metrics`' backlog.
    cells: HashMap<(u32, u32, u8), i64, FastState>,
}

impl BacklogTotals {
    fn adjust(&mut self, class: &Class, delta: i64) {
        self.overall += delta;
        self.adjust_groups(class, delta);
    }

    /// Moves `delta` in every dimension's group of `class`, not overall.
    fn adjust_groups(&mut self, class: &Class, delta: i64) {
        *self
            .cells
            .entry((class.site, class.application, class.severity))
            .or_default() += delta;
        for (dimension, counts) in TicketDimension::ALL.iter().zip(&mut self.by_dimension) {
            let group = class.group(*dimension);
            if counts.len() <= group {
                counts.resize(group + 1, 0);
            }
            counts[group] += delta;
        }
    }

    fn get(&self, dimension: TicketDimension, group: usize) -> i64 {
        self.by_dimension[dimension_index(dimension)]
            .get(group)
            .copied()
            .unwrap_or(0)
    }
}

/// Position of `dimension` in `TicketDimension::ALL`.
fn dimension_index(dimension: TicketDimension) -> usize {
    match dimension {
        TicketDimension::Site => 0,
        TicketDimension::Department => 1,
        TicketDimension::Application => 2,
        TicketDimension::Category => 3,
        TicketDimension::Severity => 4,
        TicketDimension::Channel => 5,
    }
}

/// The in-memory fold of the event log that every figure is computed from.
///
/// It goes into checkpoints whole (`Aggregator::checkpoint`): a field
/// added here must be serializable too, or marked `#[serde(skip)]` and
/// rebuilt in `restore`.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Aggregator {
    last_seq: u64,
    tickets: Vec<Ticket>,
    ticket_index: HashMap<TicketId, u32, FastState>,
    calls: Vec<Call>,
    call_ids: CallIds,
    sites: Interner,
    departments: Interner,
    applications: Interner,
    queues: Interner,
    /// Indexed by queue id; `None` until the queue is configured.
    queue_settings: Vec<Option<QueueSettings>>,
    timeline: Timeline,
    backlog: BacklogTotals,
    /// Earlier classifications of reclassified tickets, by ticket index:
    /// entry `v` is version `v`; the current one (version `len`) is on the
    /// ticket. Tickets never reclassified have no entry.
    history: HashMap<u32, Vec<Class>, FastState>,
    open: open::OpenTickets,
    /// Agents staffed per queue over time, for the huddle report.
    staffed: staffed::StaffedHistory,
    known: known_issues::KnownIssues,
    /// The since-go-live figures, once [`Aggregator::keep_since`] is called.
    since: Option<since::SinceStart>,
    /// The all-time totals behind `/metrics`.
    totals: totals::RunningTotals,
    /// Every counted fact by the hour, for long reports.
    rollup: rollup::Rollup,
}

impl Aggregator {
    /// An empty aggregator, as before the first event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one committed event. The caller passes every event exactly
    /// once, in sequence order.
    pub fn apply(&mut self, event: &RecordedEvent) {
        self.last_seq = self.last_seq.max(event.seq);
        match &event.event {
            Event::TicketCreated(created) => self.ticket_created(created),
            Event::TicketChanged(changed) => self.ticket_changed(changed),
            Event::CallRecorded(call) => self.call_recorded(call),
            Event::CallLegReplaced(leg) => self.call_leg_replaced(leg),
            Event::QueueConfigured(configured) => {
                self.queue_configured(configured, event.recorded_at)
            }
            // Alerts and their acknowledgements live in the alert book,
            // beside the figures.
            Event::AlertAcknowledged(_) | Event::AlertRaised(_) | Event::AlertCleared(_) => {}
            Event::KnownIssueCreated(created) => self.known.created(created),
            Event::KnownIssueChanged(changed) => self.known.changed(changed),
        }
    }

    /// Sequence number of the latest applied event (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Number of tickets and of call legs (including legs whose `offered`
    /// event has not arrived yet).
    pub fn counts(&self) -> (usize, usize) {
        (self.tickets.len(), self.calls.len())
    }

    /// A queue's current settings, the defaults when never configured.
    pub fn queue_settings(&self, queue: &str) -> QueueSettings {
        self.queues
            .get(queue)
            .map(|id| self.settings_of(id))
            .unwrap_or_default()
    }

    /// Every queue seen in a call event or configured, with its current
    /// settings, sorted by name.
    pub fn queues(&self) -> Vec<(String, QueueSettings)> {
        let mut queues: Vec<(String, QueueSettings)> = (0..self.queues.len())
            .map(|id| (self.queues.name(id).to_owned(), self.settings_of(id)))
            .collect();
        queues.sort_by(|a, b| a.0.cmp(&b.0));
        queues
    }

    /// Whether any ticket ever named this site.
    pub fn knows_site(&self, site: &str) -> bool {
        self.sites.get(site).is_some()
    }

    /// Whether a call or a configuration ever named this queue.
    pub fn knows_queue(&self, queue: &str) -> bool {
        self.queues.get(queue).is_some()
    }

    /// Approximate heap bytes held, from the capacities of its containers.
    pub fn heap_bytes(&self) -> usize {
        self.tickets.capacity() * size_of::<Ticket>()
            + table_bytes(self.ticket_index.capacity(), size_of::<(TicketId, u32)>())
            + self.calls.capacity() * size_of::<Call>()
            + self.call_ids.heap_bytes()
            + self.sites.heap_bytes()
            + self.departments.heap_bytes()
            + self.applications.heap_bytes()
            + self.queues.heap_bytes()
            + self.queue_settings.capacity() * size_of::<Option<QueueSettings>>()
            + self.timeline.heap_bytes()
            + table_bytes(self.history.capacity(), size_of::<(u32, Vec<Class>)>())
            + self
                .history
                .values()
                .map(|past| past.capacity() * size_of::<Class>())
                .sum::<usize>()
            + self.open.heap_bytes()
            + self.staffed.heap_bytes()
            + self.known.heap_bytes()
            + self.since.as_ref().map_or(0, since::SinceStart::heap_bytes)
            + self.rollup.heap_bytes()
            + self.totals.heap_bytes()
            + table_bytes(
                self.backlog.cells.capacity(),
                size_of::<((u32, u32, u8), i64)>(),
            )
            + self
                .backlog
                .by_dimension
                .iter()
                .map(|counts| counts.capacity() * size_of::<i64>())
                .sum::<usize>()
    }

    fn settings_of(&self, queue: usize) -> QueueSettings {
        self.queue_settings
            .get(queue)
            .copied()
            .flatten()
            .unwrap_or_default()
    }

    /// The classification version ticket `index` has now: how many times
    /// it was reclassified.
    fn version_of(&self, index: u32) -> u8 {
        self.history
            .get(&index)
            .map_or(0, |past| u8::try_from(past.len()).unwrap_or(u8::MAX))
    }

    /// Ticket `index`'s classification at `version`.
    fn class_of(&self, index: u32, version: u8) -> Class {
        let current = self.tickets[index as usize].class();
        match self.history.get(&index) {
            Some(past) => past.get(usize::from(version)).copied().unwrap_or(current),
            None => current,
        }
    }

    fn ticket_created(&mut self, created: &TicketCreated) {
        let Ok(index) = u32::try_from(self.tickets.len()) else {
            return;
        };
        match self.ticket_index.entry(created.id) {
            Entry::Occupied(_) => return,
            Entry::Vacant(slot) => {
                slot.insert(index);
            }
        }
        let opened_at = created.opened_at;
        let mut ticket = Ticket {
            opened_at,
            last_at: opened_at,
            site: self.sites.intern(&created.site),
            department: self.departments.intern(&created.department),
            application: self.applications.intern(&created.application),
            category: category_index(created.category),
            severity: created.severity.level().saturating_sub(1),
            channel: channel_index(created.channel),
            status: created.status,
        };
        self.timeline.bucket_mut(opened_at).opened.push(index);
        if let Some(since) = &mut self.since {
            since.opened(&ticket.class(), opened_at);
        }
        self.rollup.opened(&ticket.class(), opened_at);
        self.totals.opened(index, &ticket.class());
        self.backlog.adjust(&ticket.class(), 1);
        self.open.set_tier(index, created.tier.unwrap_or(0));
        if created.status.is_done() {
            let resolved_at = created.resolved_at.unwrap_or(opened_at).max(opened_at);
            ticket.last_at = resolved_at;
            let kind = change::RESOLVED | change::FIRST_CONTACT | change::BECAME_DONE;
            self.file_change(resolved_at, index, kind, 0, &ticket);
            self.backlog.adjust(&ticket.class(), -1);
        } else if created.status == TicketStatus::Escalated {
            self.file_change(opened_at, index, change::ESCALATED, 0, &ticket);
        }
        self.tickets.push(ticket);
        self.refile_open(index);
        if let Some(issue) = &created.known_issue {
            self.known.link(index, issue);
        }
    }

    fn ticket_changed(&mut self, changed: &TicketChanged) {
        let Some(&index) = self.ticket_index.get(&changed.id) else {
            return;
        };
        self.change_ticket(index, changed);
        // Whatever changed (status, tier, classification), the open sets
        // file the ticket as it stands now.
        self.refile_open(index);
    }

    fn change_ticket(&mut self, index: u32, changed: &TicketChanged) {
        if let Some(tier) = changed.tier {
            self.open.set_tier(index, tier);
        }
        if let Some(issue) = &changed.known_issue {
            self.known.link(index, issue);
        }
        if changed.reclassifies() {
            self.reclassify(index, changed);
        }
        let Some(status) = changed.status else {
            return;
        };
        let version = self.version_of(index);
        let ticket = &mut self.tickets[index as usize];
        let previous = ticket.status;
        if previous == status {
            return;
        }
        let at = changed.at.max(ticket.last_at);
        ticket.last_at = at;
        ticket.status = status;
        let ticket = *ticket;
        let class = ticket.class();
        let kind = transition(previous, status);
        if kind != 0 {
            self.file_change(at, index, kind, version, &ticket);
            let delta = change::backlog_delta(kind);
            if delta != 0 {
                self.backlog.adjust(&class, delta);
            }
        }
    }

    /// A new classification for ticket `index` from `changed.at` on. The
    /// old one is kept as the previous version; an active ticket moves its
    /// backlog from the old groups to the new ones at that moment.
    fn reclassify(&mut self, index: u32, changed: &TicketChanged) {
        let old = self.tickets[index as usize].class();
        let mut new = old;
        if let Some(site) = &changed.site {
            new.site = self.sites.intern(site);
        }
        if let Some(department) = &changed.department {
            new.department = self.departments.intern(department);
        }
        if let Some(application) = &changed.application {
            new.application = self.applications.intern(application);
        }
        if let Some(category) = changed.category {
            new.category = category_index(category);
        }
        if let Some(severity) = changed.severity {
            new.severity = severity.level().saturating_sub(1);
        }
        // The version is one byte (the ledger allows far fewer changes).
        if new == old || self.version_of(index) == u8::MAX {
            return;
        }
        let past = self.history.entry(index).or_default();
        past.push(old);
        let version = u8::try_from(past.len()).unwrap_or(u8::MAX);
        let ticket = &mut self.tickets[index as usize];
        let at = changed.at.max(ticket.last_at);
        ticket.last_at = at;
        ticket.set_class(new);
        self.totals.version(index, &new);
        if ticket.status.is_active() {
            self.timeline
                .push_change(at, index, change::RECLASSIFIED, version);
            self.backlog.adjust_groups(&old, -1);
            self.backlog.adjust_groups(&new, 1);
        }
    }

    /// Files a counted fact of ticket `index` (as it stands after the
    /// fact) at `at` in the time index and the running tallies.
    fn file_change(&mut self, at: Millis, index: u32, kind: u8, version: u8, ticket: &Ticket) {
        self.timeline.push_change(at, index, kind, version);
        if let Some(since) = &mut self.since {
            since.changed(&ticket.class(), at, kind, at - ticket.opened_at);
        }
        self.rollup
            .changed(&ticket.class(), at, kind, at - ticket.opened_at);
        if kind & change::RESOLVED != 0 {
            self.totals
                .resolved(index, &ticket.class(), at - ticket.opened_at);
        }
    }

    /// Changes leg `index` by `mutate`: its contribution to the running
    /// tallies is taken out before and added back after, so a change of
    /// any kind (a late answer turning an abandon into an answer, a leg
    /// replaced wholesale) keeps them right. `mutate` returns whether it
    /// changed anything.
    fn change_leg(&mut self, index: u32, mutate: impl FnOnce(&mut Call) -> bool) -> bool {
        let Some(&before) = self.calls.get(index as usize) else {
            return false;
        };
        let mut after = before;
        if !mutate(&mut after) {
            return false;
        }
        self.count_leg(&before, -1);
        self.calls[index as usize] = after;
        self.count_leg(&after, 1);
        true
    }

    /// Adds (`sign` 1) or takes out (-1) a leg's contribution, as it
    /// stands, to every running tally.
    fn count_leg(&mut self, call: &Call, sign: i64) {
        let target = self.settings_of(call.queue as usize).answer_target_seconds * 1000.0;
        if let Some(since) = &mut self.since {
            since.count_leg(call, target, sign);
        }
        self.rollup.count_leg(call, target, sign);
        self.totals.count_leg(call, sign);
    }

    /// The answer target of `queue` changed: its legs are counted again
    /// under the new one in the running tallies that count answers within
    /// the target (the since-go-live window, the hourly roll-ups).
    fn retarget(&mut self, queue: usize, old_ms: f64, new_ms: f64) {
        for call in &self.calls {
            if call.queue as usize == queue {
                if let Some(since) = self.since.as_mut() {
                    since.count_leg(call, old_ms, -1);
                    since.count_leg(call, new_ms, 1);
                }
                self.rollup.count_leg(call, old_ms, -1);
                self.rollup.count_leg(call, new_ms, 1);
            }
        }
    }

    /// The index of leg (`call_id`, `queue`), made (with no events) on
    /// first sight; `None` past the leg table's capacity.
    fn leg_index(&mut self, call_id: &str, queue: &str) -> Option<u32> {
        let queue = self.queues.intern(queue);
        if self.queue_settings.len() < self.queues.len() {
            self.queue_settings.resize(self.queues.len(), None);
        }
        let calls = &self.calls;
        let index = self.call_ids.find_or_insert(call_id, queue, |leg| {
            calls.get(leg as usize).map(|call| call.queue)
        })?;
        if index as usize == self.calls.len() {
            self.calls.push(Call {
                offered_at: 0,
                outcome_at: 0,
                ended_at: 0,
                wrap_seconds: 0.0,
                queue,
                flags: 0,
            });
        }
        Some(index)
    }

    fn call_recorded(&mut self, recorded: &CallRecorded) {
        use call_flag::{ABANDONED, ANSWERED, ENDED, OFFERED, REPLACED};
        let Some(index) = self.leg_index(&recorded.call_id, &recorded.queue) else {
            return;
        };
        let changed = self.change_leg(index, |call| {
            if call.has(REPLACED) {
                return false;
            }
            match recorded.event {
                CallEventKind::Offered => {
                    if call.has(OFFERED) {
                        return false;
                    }
                    call.flags |= OFFERED;
                    call.offered_at = recorded.at;
                }
                CallEventKind::Answered | CallEventKind::Abandoned => {
                    if call.has(ANSWERED | ABANDONED) {
                        return false;
                    }
                    call.flags |= if recorded.event == CallEventKind::Answered {
                        ANSWERED
                    } else {
                        ABANDONED
                    };
                    call.outcome_at = recorded.at;
                }
                CallEventKind::Ended => {
                    if call.has(ENDED) {
                        return false;
                    }
                    call.flags |= ENDED;
                    call.ended_at = recorded.at;
                    call.wrap_seconds = recorded.wrap_seconds.unwrap_or(0.0);
                }
            }
            true
        });
        if changed && recorded.event == CallEventKind::Offered {
            self.timeline.bucket_mut(recorded.at).offered.push(index);
        }
    }

    fn call_leg_replaced(&mut self, leg: &CallLegReplaced) {
        use call_flag::{ANSWERED, ENDED, OFFERED, REPLACED};
        let Some(index) = self.leg_index(&leg.call_id, &leg.queue) else {
            return;
        };
        let Some(was_offered) = self
            .calls
            .get(index as usize)
            .map(|call| call.has(OFFERED).then_some(call.offered_at))
        else {
            return;
        };
        let mut flags = OFFERED | REPLACED;
        if leg.answered_at.is_some() {
            flags |= ANSWERED;
        }
        if leg.ended_at.is_some() {
            flags |= ENDED;
        }
        self.change_leg(index, |call| {
            *call = Call {
                offered_at: leg.offered_at,
                outcome_at: leg.answered_at.unwrap_or(0),
                ended_at: leg.ended_at.unwrap_or(0),
                wrap_seconds: leg.wrap_seconds.unwrap_or(0.0),
                queue: call.queue,
                flags,
            };
            true
        });
        if was_offered != Some(leg.offered_at) {
            if let Some(before) = was_offered {
                self.timeline
                    .bucket_mut(before)
                    .offered
                    .retain(|&other| other != index);
            }
            self.timeline.bucket_mut(leg.offered_at).offered.push(index);
        }
    }

    fn queue_configured(&mut self, configured: &QueueConfigured, recorded_at: Millis) {
        let queue = self.queues.intern(&configured.queue) as usize;
        if self.queue_settings.len() <= queue {
            self.queue_settings.resize(queue + 1, None);
        }
        let old_ms = self.settings_of(queue).answer_target_seconds * 1000.0;
        self.queue_settings[queue] = Some(configured.settings);
        let new_ms = configured.settings.answer_target_seconds * 1000.0;
        if old_ms != new_ms {
            self.retarget(queue, old_ms, new_ms);
        }
        self.staffed
            .record(queue, recorded_at, configured.settings.agents_staffed);
    }

    /// Number of dense groups `dimension` has right now.
    fn group_count(&self, dimension: TicketDimension) -> usize {
        match dimension {
            TicketDimension::Site => self.sites.len(),
            TicketDimension::Department => self.departments.len(),
            TicketDimension::Application => self.applications.len(),
            TicketDimension::Category => Category::ALL.len(),
            TicketDimension::Severity => 4,
            TicketDimension::Channel => Channel::ALL.len(),
        }
    }

    /// The wire value of a dense group.
    fn group_name(&self, dimension: TicketDimension, group: usize) -> String {
        let name = match dimension {
            TicketDimension::Site => self.sites.name(group),
            TicketDimension::Department => self.departments.name(group),
            TicketDimension::Application => self.applications.name(group),
            TicketDimension::Category => Category::ALL.get(group).map_or("", |c| c.as_str()),
            TicketDimension::Severity => ["1", "2", "3", "4"].get(group).copied().unwrap_or(""),
            TicketDimension::Channel => Channel::ALL.get(group).map_or("", |c| c.as_str()),
        };
        name.to_owned()
    }

    /// The dense group of a wire value, if any ticket could have it.
    fn group_of_value(&self, dimension: TicketDimension, value: &str) -> Option<usize> {
        match dimension {
            TicketDimension::Site => self.sites.get(value),
            TicketDimension::Department => self.departments.get(value),
            TicketDimension::Application => self.applications.get(value),
            TicketDimension::Category => Category::parse(value).map(|c| category_index(c).into()),
            TicketDimension::Severity => value
                .parse::<u8>()
                .ok()
                .and_then(crate::model::Severity::new)
                .map(|s| usize::from(s.level() - 1)),
            TicketDimension::Channel => Channel::parse(value).map(|c| channel_index(c).into()),
        }
    }
}

/// Which counted facts a status change `previous → new` is (see the
/// module documentation); 0 when it counts for nothing.
fn transition(previous: TicketStatus, new: TicketStatus) -> u8 {
    let mut kind = 0;
    if previous.is_active() && new.is_done() {
        kind |= change::RESOLVED | change::BECAME_DONE;
    }
    if previous.is_done() && new.is_active() {
        kind |= change::REOPENED | change::BECAME_ACTIVE;
    }
    if new == TicketStatus::Escalated && previous != TicketStatus::Escalated {
        kind |= change::ESCALATED;
    }
    kind
}

fn category_index(category: Category) -> u8 {
    // Declaration order is the order of `Category::ALL` (tested).
    category as u8
}

fn channel_index(channel: Channel) -> u8 {
    channel as u8
}
