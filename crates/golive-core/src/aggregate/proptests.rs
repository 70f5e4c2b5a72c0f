//! Property tests: on random event streams, every figure the aggregator
//! gives equals a brute-force oracle that recomputes the metric definitions
//! straight from the raw event list. Calls come as legs (transfers to other
//! queues), with ends without answers, late answers, repeats and any
//! arrival order; the call streams are also decided through the ledger,
//! which must accept a sane feed in any order with order-independent
//! figures and never commit a leg that could not have happened.

use super::*;
use crate::event::{CallLegReplaced, CallRecorded, QueueConfigured, TicketChanged, TicketCreated};
use crate::ledger::{Command, Ledger, Outcome};
use crate::model::{Severity, TicketDimension};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap as StdHashMap};

mod restart;
mod steps;

/// 2026-03-02T00:00:00Z.
const T0: Millis = 1_772_409_600_000;
const MINUTE: Millis = 60_000;
/// Event times are multiples of these, so window edges often hit them.
const STEP: Millis = 20_000;
const CALL_STEP: Millis = 5_000;

const SITES: [&str; 3] = ["Main Campus", "North Clinic", "Children's"];
const DEPARTMENTS: [&str; 4] = ["ED", "ICU", "Pharmacy", "Radiology"];
const APPLICATIONS: [&str; 5] = ["Orders", "MAR", "Scheduling", "Billing", "Notes"];
const QUEUES: [&str; 4] = ["Physician Line", "Nursing", "Pharmacy", "Rev Cycle"];
const TARGETS: [f64; 4] = [10.0, 20.0, 30.0, 15.5];

// ---------------------------------------------------------------- plans

#[derive(Clone, Debug)]
struct TicketPlan {
    arrival: u32,
    opened_at: Millis,
    site: usize,
    department: usize,
    application: usize,
    category: usize,
    severity: u8,
    channel: usize,
    status: usize,
    resolve_after: Millis,
    changes: Vec<ChangePlan>,
}

#[derive(Clone, Debug)]
struct ChangePlan {
    arrival_gap: u32,
    after: Millis,
    status: Option<usize>,
    /// New site, department, application, category, severity (each maybe).
    reclass: Option<ReclassPlan>,
}

type ReclassPlan = (
    Option<usize>,
    Option<usize>,
    Option<usize>,
    Option<usize>,
    Option<u8>,
);

fn reclass_plan() -> impl Strategy<Value = ReclassPlan> {
    (
        prop::option::of(0usize..3),
        prop::option::of(0usize..4),
        prop::option::of(0usize..5),
        prop::option::of(0usize..8),
        prop::option::of(1u8..=4),
    )
}

/// One call: one leg, or several when it is transferred.
#[derive(Clone, Debug)]
struct CallPlan {
    start: Millis,
    legs: Vec<LegPlan>,
}

/// One leg of a call. Legs of a call may share a queue, which merges their
/// events into one leg (with conflicting duplicates): a stream the ledger
/// would not commit, that the aggregator must still fold sensibly.
#[derive(Clone, Debug)]
struct LegPlan {
    queue: usize,
    offered: bool,
    /// After the previous leg's transfer (its answer or abandon plus
    /// talk); after the call's start for the first leg.
    offered_after: Millis,
    /// 0 neither, 1 answered, 2 abandoned, 3 answered and a conflicting
    /// abandoned, 4 abandoned and a conflicting answered.
    outcome: u8,
    wait: Millis,
    talk: Millis,
    /// With outcome 0 this is an abandon at the `ended` time.
    ended: bool,
    /// Wrap seconds carried by offered, answered/abandoned, ended (only the
    /// `ended` one counts).
    wraps: [Option<f64>; 3],
    /// Repeats with other times: a second `offered`, `answered` and `ended`.
    duplicates: bool,
    arrivals: Vec<u32>,
}

#[derive(Clone, Debug)]
struct QueuePlan {
    arrival: u32,
    queue: usize,
    target: usize,
}

/// A phone system's record of a whole leg (a contact trace record),
/// replacing whatever the leg had: of a planned call's leg or a new one.
#[derive(Clone, Debug)]
struct RecordPlan {
    arrival: u32,
    call: usize,
    queue: usize,
    offered: Millis,
    answered_after: Option<Millis>,
    ended_after: Option<Millis>,
    wrap: Option<f64>,
}

#[derive(Clone, Debug)]
struct Plan {
    tickets: Vec<TicketPlan>,
    calls: Vec<CallPlan>,
    queues: Vec<QueuePlan>,
    ghosts: Vec<u32>,
    records: Vec<RecordPlan>,
}

fn record_plan() -> impl Strategy<Value = RecordPlan> {
    (
        0u32..1_000_000,
        0usize..1_000,
        0usize..4,
        0i64..17_280,
        prop::option::of(0i64..60),
        prop::option::of(0i64..120),
        prop::option::of(0.0f64..90.0),
    )
        .prop_map(
            |(arrival, call, queue, offered, answered, ended, wrap)| RecordPlan {
                arrival,
                call,
                queue,
                offered: T0 + offered * CALL_STEP,
                answered_after: answered.map(|s| s * CALL_STEP),
                ended_after: ended.map(|s| s * CALL_STEP),
                wrap,
            },
        )
}

fn change_plan() -> impl Strategy<Value = ChangePlan> {
    (
        1u32..5_000,
        prop_oneof![1 => Just(0i64), 3 => 0i64..1_080],
        prop_oneof![3 => (0usize..6).prop_map(Some), 1 => Just(None)],
        prop_oneof![3 => Just(None), 1 => reclass_plan().prop_map(Some)],
    )
        .prop_map(|(arrival_gap, after, status, reclass)| ChangePlan {
            arrival_gap,
            after: after * STEP,
            status,
            reclass,
        })
}

fn ticket_plan() -> impl Strategy<Value = TicketPlan> {
    (
        0u32..1_000_000,
        // Mostly spread over a day, some crowded into 15 minutes (surges).
        prop_oneof![4 => 0i64..4_320, 1 => 1_800i64..1_845],
        (0usize..3, 0usize..4, 0usize..5),
        (0usize..8, 1u8..=4, 0usize..6),
        0usize..6,
        prop_oneof![1 => Just(0i64), 3 => 0i64..720],
        prop::collection::vec(change_plan(), 0..5),
    )
        .prop_map(
            |(
                arrival,
                opened,
                (site, department, application),
                (category, severity, channel),
                status,
                resolve_after,
                changes,
            )| {
                TicketPlan {
                    arrival,
                    opened_at: T0 + opened * STEP,
                    site,
                    department,
                    application,
                    category,
                    severity,
                    channel,
                    status,
                    resolve_after: resolve_after * STEP,
                    changes,
                }
            },
        )
}

fn wrap() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![1 => Just(None), 1 => (0u8..24).prop_map(|w| Some(f64::from(w) * 2.5))]
}

fn leg_plan() -> impl Strategy<Value = LegPlan> {
    (
        0usize..4,
        prop_oneof![9 => Just(true), 1 => Just(false)],
        0i64..240,
        prop_oneof![2 => Just(1u8), 1 => Just(2u8), 1 => Just(0u8), 1 => 3u8..5],
        (0i64..13, 0i64..120),
        prop_oneof![4 => Just(true), 1 => Just(false)],
        (wrap(), wrap(), wrap()),
        prop_oneof![6 => Just(false), 1 => Just(true)],
        prop::collection::vec(0u32..1_000_000, 9),
    )
        .prop_map(
            |(
                queue,
                offered,
                offered_after,
                outcome,
                (wait, talk),
                ended,
                wraps,
                duplicates,
                arrivals,
            )| {
                LegPlan {
                    queue,
                    offered,
                    offered_after: offered_after * CALL_STEP,
                    outcome,
                    wait: wait * CALL_STEP,
                    talk: talk * CALL_STEP,
                    ended,
                    wraps: [wraps.0, wraps.1, wraps.2],
                    duplicates,
                    arrivals,
                }
            },
        )
}

fn call_plan() -> impl Strategy<Value = CallPlan> {
    (
        0i64..17_280,
        prop_oneof![
            6 => prop::collection::vec(leg_plan(), 1),
            2 => prop::collection::vec(leg_plan(), 2),
            1 => prop::collection::vec(leg_plan(), 3),
        ],
    )
        .prop_map(|(start, legs)| CallPlan {
            start: T0 + start * CALL_STEP,
            legs,
        })
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        prop::collection::vec(ticket_plan(), 100..700),
        prop::collection::vec(call_plan(), 100..800),
        prop::collection::vec(
            (0u32..1_000_000, 0usize..4, 0usize..4).prop_map(|(arrival, queue, target)| {
                QueuePlan {
                    arrival,
                    queue,
                    target,
                }
            }),
            0..6,
        ),
        prop::collection::vec(0u32..1_000_000, 0..3),
        prop::collection::vec(record_plan(), 0..40),
    )
        .prop_map(|(tickets, calls, queues, ghosts, records)| Plan {
            tickets,
            calls,
            queues,
            ghosts,
            records,
        })
}

/// Turns a plan into the event stream a ledger would commit: ticket
/// changes after their ticket's creation and in time order, everything
/// else in any order, ticket ids = seq of the creating event.
fn events_of(plan: &Plan) -> Vec<RecordedEvent> {
    enum Item<'a> {
        Created(usize),
        Changed(usize, Millis, &'a ChangePlan),
        Call(Box<Event>),
        Ghost(u32),
    }
    let mut items: Vec<(u64, Item)> = Vec::new();
    for (index, ticket) in plan.tickets.iter().enumerate() {
        let mut arrival = u64::from(ticket.arrival);
        items.push((arrival, Item::Created(index)));
        let mut at = ticket.opened_at;
        if TicketStatus::ALL[ticket.status].is_done() {
            at += ticket.resolve_after;
        }
        for change in &ticket.changes {
            arrival += u64::from(change.arrival_gap);
            at += change.after;
            items.push((arrival, Item::Changed(index, at, change)));
        }
    }
    for call in plan.calls.iter().enumerate() {
        for (arrival, event) in call_events(call.0, call.1, Feed::Raw) {
            items.push((arrival, Item::Call(Box::new(Event::CallRecorded(event)))));
        }
    }
    for queue in &plan.queues {
        let event = Event::QueueConfigured(QueueConfigured {
            queue: QUEUES[queue.queue].into(),
            settings: QueueSettings {
                answer_target_seconds: TARGETS[queue.target],
                ..QueueSettings::default()
            },
        });
        items.push((u64::from(queue.arrival), Item::Call(Box::new(event))));
    }
    for &ghost in &plan.ghosts {
        items.push((u64::from(ghost), Item::Ghost(ghost)));
    }
    for record in &plan.records {
        let answered_at = record.answered_after.map(|after| record.offered + after);
        let event = Event::CallLegReplaced(CallLegReplaced {
            call_id: format!("call-{}", record.call % plan.calls.len().max(1)),
            queue: QUEUES[record.queue].into(),
            offered_at: record.offered,
            answered_at,
            ended_at: record
                .ended_after
                .map(|after| answered_at.unwrap_or(record.offered) + after),
            agent: None,
            wrap_seconds: record.wrap,
            source_updated_at: None,
        });
        items.push((u64::from(record.arrival), Item::Call(Box::new(event))));
    }
    items.sort_by_key(|(arrival, _)| *arrival);

    let mut ids: StdHashMap<usize, u64> = StdHashMap::new();
    let mut events = Vec::with_capacity(items.len());
    for (position, (_, item)) in items.into_iter().enumerate() {
        let seq = position as u64 + 1;
        let event = match item {
            Item::Created(index) => {
                let plan = &plan.tickets[index];
                ids.insert(index, seq);
                let status = TicketStatus::ALL[plan.status];
                Event::TicketCreated(TicketCreated {
                    id: seq,
                    external_id: None,
                    opened_at: plan.opened_at,
                    site: SITES[plan.site].into(),
                    department: DEPARTMENTS[plan.department].into(),
                    application: APPLICATIONS[plan.application].into(),
                    category: Category::ALL[plan.category],
                    severity: Severity::ALL[usize::from(plan.severity - 1)],
                    channel: Channel::ALL[plan.channel],
                    summary: Some("patient name here".into()),
                    reporter_role: None,
                    status,
                    resolved_at: status
                        .is_done()
                        .then_some(plan.opened_at + plan.resolve_after),
                    assignee: None,
                    // Tiers 1 to 3 and none, from the plan's channel.
                    tier: Some((plan.channel % 4) as u8).filter(|&tier| tier > 0),
                    source_key: None,
                    source_updated_at: None,
                    known_issue: None,
                })
            }
            Item::Changed(index, at, change) => {
                let (site, department, application, category, severity) =
                    change.reclass.unwrap_or_default();
                Event::TicketChanged(TicketChanged {
                    id: ids.get(&index).copied().unwrap_or(u64::MAX),
                    at,
                    status: change.status.map(|s| TicketStatus::ALL[s]),
                    assignee: change.status.is_none().then(|| "agent 7".into()),
                    // A change of assignee moves the ticket to a tier.
                    tier: change
                        .status
                        .is_none()
                        .then_some((change.arrival_gap % 4) as u8),
                    site: site.map(|i| SITES[i].into()),
                    department: department.map(|i| DEPARTMENTS[i].into()),
                    application: application.map(|i| APPLICATIONS[i].into()),
                    category: category.map(|i| Category::ALL[i]),
                    severity: severity.map(|l| Severity::ALL[usize::from(l - 1)]),
                    source_key: None,
                    source_updated_at: None,
                    known_issue: None,
                })
            }
            Item::Call(event) => *event,
            Item::Ghost(ghost) => Event::TicketChanged(TicketChanged {
                id: 1 << 40 | u64::from(ghost),
                at: T0,
                status: Some(TicketStatus::Resolved),
                ..TicketChanged::default()
            }),
        };
        events.push(RecordedEvent {
            seq,
            recorded_at: T0,
            event,
        });
    }
    events
}

/// How [`call_events`] renders a plan.
#[derive(Clone, Copy, PartialEq)]
enum Feed {
    /// As planned: legs may share a queue, conflicting outcomes, repeats
    /// with other times. Not all of it would pass the ledger.
    Raw,
    /// What a sane ACD sends, which the ledger accepts in any order: each
    /// leg in its own queue, one outcome, repeats identical to the original.
    Sane,
}

/// The events of a call, each with its arrival key: leg after leg, each
/// offered when the previous one was transferred (after its answer or
/// abandon and its talk).
fn call_events(index: usize, plan: &CallPlan, feed: Feed) -> Vec<(u64, CallRecorded)> {
    use CallEventKind::{Abandoned, Answered, Ended, Offered};
    let id = format!("call-{index}");
    let mut out: Vec<(u64, CallRecorded)> = Vec::new();
    let mut start = plan.start;
    for (number, leg) in plan.legs.iter().enumerate() {
        let offered_at = start + leg.offered_after;
        let outcome_at = offered_at + leg.wait;
        let ended_at = outcome_at + leg.talk;
        let (queue, outcome) = match feed {
            Feed::Raw => (leg.queue, leg.outcome),
            Feed::Sane => (
                (plan.legs[0].queue + number) % QUEUES.len(),
                leg.outcome % 3,
            ),
        };
        let mut arrivals = leg.arrivals.iter().map(|&a| u64::from(a));
        let mut push = |kind: CallEventKind, at: Millis, wrap: Option<f64>| {
            let event = CallRecorded {
                call_id: id.clone(),
                queue: QUEUES[queue].into(),
                event: kind,
                at,
                agent: None,
                wrap_seconds: wrap,
            };
            out.push((arrivals.next().unwrap_or(0), event));
        };
        let mut sent: Vec<(CallEventKind, Millis, Option<f64>)> = Vec::new();
        if leg.offered {
            sent.push((Offered, offered_at, leg.wraps[0]));
        }
        match outcome {
            1 => sent.push((Answered, outcome_at, leg.wraps[1])),
            2 => sent.push((Abandoned, outcome_at, leg.wraps[1])),
            3 => {
                sent.push((Answered, outcome_at, leg.wraps[1]));
                sent.push((Abandoned, outcome_at + CALL_STEP, None));
            }
            4 => {
                sent.push((Abandoned, outcome_at, leg.wraps[1]));
                sent.push((Answered, outcome_at + CALL_STEP, Some(99.0)));
            }
            _ => {}
        }
        if leg.ended {
            sent.push((Ended, ended_at, leg.wraps[2]));
        }
        for &(kind, at, wrap) in &sent {
            push(kind, at, wrap);
        }
        if leg.duplicates {
            match feed {
                Feed::Raw => {
                    push(Offered, offered_at - CALL_STEP, Some(1.0));
                    push(Answered, outcome_at + 3 * CALL_STEP, None);
                    push(Ended, ended_at + CALL_STEP, Some(7.5));
                }
                Feed::Sane => {
                    for &(kind, at, wrap) in &sent {
                        push(kind, at, wrap);
                    }
                }
            }
        }
        start = ended_at;
    }
    out
}

// ---------------------------------------------------------------- oracle

/// A ticket's classification as the oracle keeps it: the wire value of
/// every dimension, in `TicketDimension::ALL` order.
type OracleClass = [String; 6];

/// One ticket's life, recomputed from the raw events.
struct OracleTicket {
    created: TicketCreated,
    /// Its changes that carry a status or a classification, in seq order.
    changes: Vec<TicketChanged>,
}

/// A counted ticket transition.
struct Transition {
    at: Millis,
    resolution: bool,
    first_contact: bool,
    reopen: bool,
    escalation: bool,
    resolve_ms: Millis,
    /// The classification the ticket had when it happened.
    class: OracleClass,
}

fn dimension_position(dimension: TicketDimension) -> usize {
    TicketDimension::ALL
        .iter()
        .position(|d| *d == dimension)
        .unwrap_or(0)
}

impl OracleTicket {
    /// The classification at creation.
    fn created_class(&self) -> OracleClass {
        let c = &self.created;
        [
            c.site.clone(),
            c.department.clone(),
            c.application.clone(),
            c.category.as_str().into(),
            c.severity.as_str().into(),
            c.channel.as_str().into(),
        ]
    }

    /// `class` with the classification fields `change` carries.
    fn reclassified(mut class: OracleClass, change: &TicketChanged) -> OracleClass {
        if let Some(site) = &change.site {
            class[0] = site.clone();
        }
        if let Some(department) = &change.department {
            class[1] = department.clone();
        }
        if let Some(application) = &change.application {
            class[2] = application.clone();
        }
        if let Some(category) = change.category {
            class[3] = category.as_str().into();
        }
        if let Some(severity) = change.severity {
            class[4] = severity.as_str().into();
        }
        class
    }

    /// The value of `dimension` at opening.
    fn key(&self, dimension: TicketDimension) -> String {
        self.created_class()[dimension_position(dimension)].clone()
    }

    /// Every classification the ticket ever had.
    fn classes(&self) -> Vec<OracleClass> {
        let mut class = self.created_class();
        let mut out = vec![class.clone()];
        for change in &self.changes {
            class = Self::reclassified(class, change);
            out.push(class.clone());
        }
        out
    }

    fn transitions(&self) -> Vec<Transition> {
        let c = &self.created;
        let mut out = Vec::new();
        let mut status = c.status;
        let mut class = self.created_class();
        if c.status.is_done() {
            let at = c.resolved_at.unwrap_or(c.opened_at);
            out.push(Transition {
                at,
                resolution: true,
                first_contact: true,
                reopen: false,
                escalation: false,
                resolve_ms: at - c.opened_at,
                class: class.clone(),
            });
        }
        if c.status == TicketStatus::Escalated {
            out.push(Transition {
                at: c.opened_at,
                resolution: false,
                first_contact: false,
                reopen: false,
                escalation: true,
                resolve_ms: 0,
                class: class.clone(),
            });
        }
        for change in &self.changes {
            // A change's classification applies before its status.
            class = Self::reclassified(class, change);
            let Some(new) = change.status else { continue };
            let at = change.at;
            out.push(Transition {
                at,
                resolution: status.is_active() && new.is_done(),
                first_contact: false,
                reopen: status.is_done() && new.is_active(),
                escalation: new == TicketStatus::Escalated && status != TicketStatus::Escalated,
                resolve_ms: at - c.opened_at,
                class: class.clone(),
            });
            status = new;
        }
        out
    }

    /// Whether the ticket is in the backlog as of `to`, and its
    /// classification as of `to`.
    fn backlog_as_of(&self, to: Millis) -> (bool, OracleClass) {
        let c = &self.created;
        let mut class = self.created_class();
        if c.opened_at >= to {
            return (false, class);
        }
        let mut active = true;
        if c.status.is_done() && c.resolved_at.unwrap_or(c.opened_at) < to {
            active = false;
        }
        for change in &self.changes {
            if change.at < to {
                class = Self::reclassified(class, change);
                if let Some(new) = change.status {
                    active = new.is_active();
                }
            }
        }
        (active, class)
    }
}

/// One call leg, recomputed from the raw events: the first event of each
/// kind wins, `answered` and `abandoned` exclude each other.
#[derive(Default)]
struct OracleLeg {
    offered: Option<Millis>,
    answered: Option<Millis>,
    abandoned: Option<Millis>,
    ended: Option<Millis>,
    /// The first `ended` event's.
    wrap: Option<f64>,
    /// A record replaced the leg: single events no longer count.
    replaced: bool,
}

impl OracleLeg {
    /// When the leg was abandoned, straight from the definition: its
    /// `abandoned` event, else its `ended` when it was never answered.
    fn abandoned_at(&self) -> Option<Millis> {
        self.abandoned
            .or_else(|| self.ended.filter(|_| self.answered.is_none()))
    }
}

/// A leg's key: (call id, queue).
type LegKey = (String, String);

struct Oracle {
    tickets: Vec<OracleTicket>,
    calls: BTreeMap<LegKey, OracleLeg>,
    settings: BTreeMap<String, QueueSettings>,
    queues_seen: BTreeSet<String>,
}

impl Oracle {
    fn new(events: &[RecordedEvent]) -> Oracle {
        let mut tickets: Vec<OracleTicket> = Vec::new();
        let mut calls: BTreeMap<LegKey, OracleLeg> = BTreeMap::new();
        let mut settings = BTreeMap::new();
        let mut queues_seen = BTreeSet::new();
        for recorded in events {
            match &recorded.event {
                Event::TicketCreated(created) => {
                    if !tickets.iter().any(|t| t.created.id == created.id) {
                        tickets.push(OracleTicket {
                            created: created.clone(),
                            changes: Vec::new(),
                        });
                    }
                }
                Event::TicketChanged(changed) => {
                    if (changed.status.is_some() || changed.reclassifies())
                        && let Some(ticket) =
                            tickets.iter_mut().find(|t| t.created.id == changed.id)
                    {
                        ticket.changes.push(changed.clone());
                    }
                }
                Event::CallLegReplaced(record) => {
                    queues_seen.insert(record.queue.clone());
                    calls.insert(
                        (record.call_id.clone(), record.queue.clone()),
                        OracleLeg {
                            offered: Some(record.offered_at),
                            answered: record.answered_at,
                            abandoned: None,
                            ended: record.ended_at,
                            wrap: record.wrap_seconds,
                            replaced: true,
                        },
                    );
                }
                Event::CallRecorded(event) => {
                    queues_seen.insert(event.queue.clone());
                    let leg = calls
                        .entry((event.call_id.clone(), event.queue.clone()))
                        .or_default();
                    if leg.replaced {
                        continue;
                    }
                    let settled = leg.answered.is_some() || leg.abandoned.is_some();
                    match event.event {
                        CallEventKind::Offered if leg.offered.is_none() => {
                            leg.offered = Some(event.at);
                        }
                        CallEventKind::Answered if !settled => leg.answered = Some(event.at),
                        CallEventKind::Abandoned if !settled => leg.abandoned = Some(event.at),
                        CallEventKind::Ended if leg.ended.is_none() => {
                            leg.ended = Some(event.at);
                            leg.wrap = event.wrap_seconds;
                        }
                        _ => {}
                    }
                }
                Event::QueueConfigured(configured) => {
                    queues_seen.insert(configured.queue.clone());
                    settings.insert(configured.queue.clone(), configured.settings);
                }
                Event::AlertAcknowledged(_)
                | Event::AlertRaised(_)
                | Event::AlertCleared(_)
                | Event::KnownIssueCreated(_)
                | Event::KnownIssueChanged(_) => {}
            }
        }
        Oracle {
            tickets,
            calls,
            settings,
            queues_seen,
        }
    }

    /// Figures of `[from, to)` over the facts whose ticket had, when each
    /// fact happened, every `(dimension, key)` of `filters` (all facts when
    /// there are none).
    fn ticket_figures(
        &self,
        from: Millis,
        to: Millis,
        filters: &[(TicketDimension, &str)],
    ) -> TicketFigures {
        let in_window = |at: Millis| from <= at && at < to;
        let in_group = |class: &OracleClass| {
            filters
                .iter()
                .all(|(dimension, key)| class[dimension_position(*dimension)] == *key)
        };
        let tickets = &self.tickets;
        let opened = tickets
            .iter()
            .filter(|t| in_window(t.created.opened_at) && in_group(&t.created_class()))
            .count() as u64;
        let transitions: Vec<Transition> = tickets
            .iter()
            .flat_map(|t| t.transitions())
            .filter(|tr| in_window(tr.at) && in_group(&tr.class))
            .collect();
        let resolutions: Vec<&Transition> = transitions.iter().filter(|tr| tr.resolution).collect();
        let resolved = resolutions.len() as u64;
        let first_contact = resolutions.iter().filter(|tr| tr.first_contact).count() as u64;
        let mut seconds: Vec<f64> = resolutions
            .iter()
            .map(|tr| tr.resolve_ms as f64 / 1000.0)
            .collect();
        seconds.sort_by(f64::total_cmp);
        let n = seconds.len();
        let nearest_rank = |p_tenths: usize| seconds[(p_tenths * n).div_ceil(10) - 1];
        TicketFigures {
            opened,
            resolved,
            reopened: transitions.iter().filter(|tr| tr.reopen).count() as u64,
            escalated: transitions.iter().filter(|tr| tr.escalation).count() as u64,
            backlog: tickets
                .iter()
                .filter(|t| {
                    let (active, class) = t.backlog_as_of(to);
                    active && in_group(&class)
                })
                .count() as u64,
            resolution_rate: (opened > 0).then(|| resolved as f64 / opened as f64),
            first_contact_resolution_rate: (resolved > 0)
                .then(|| first_contact as f64 / resolved as f64),
            mttr_seconds: Mttr {
                mean: (n > 0).then(|| seconds.iter().sum::<f64>() / n as f64),
                p50: (n > 0).then(|| nearest_rank(5)),
                p90: (n > 0).then(|| nearest_rank(9)),
            },
        }
    }

    fn call_figures(&self, legs: &[(&OracleLeg, Millis, &str)]) -> CallFigures {
        let offered = legs.len() as u64;
        let answered: Vec<(&OracleLeg, Millis, Millis, &str)> = legs
            .iter()
            .filter_map(|&(leg, offered_at, queue)| {
                leg.answered.map(|a| (leg, offered_at, a, queue))
            })
            .collect();
        let abandoned = legs
            .iter()
            .filter(|(leg, _, _)| leg.abandoned_at().is_some())
            .count() as u64;
        let within = answered
            .iter()
            .filter(|(_, offered_at, answered_at, queue)| {
                let target = self.settings.get(*queue).copied().unwrap_or_default();
                (answered_at - offered_at).max(0) as f64 <= target.answer_target_seconds * 1000.0
            })
            .count() as u64;
        let waits: Vec<f64> = answered
            .iter()
            .map(|(_, o, a, _)| (a - o).max(0) as f64 / 1000.0)
            .collect();
        let handles: Vec<f64> = answered
            .iter()
            .filter_map(|(leg, _, a, _)| {
                leg.ended
                    .map(|e| (e - a).max(0) as f64 / 1000.0 + leg.wrap.unwrap_or(0.0))
            })
            .collect();
        let ratio = |part: u64| (offered > 0).then(|| part as f64 / offered as f64);
        CallFigures {
            offered,
            answered: answered.len() as u64,
            abandoned,
            abandonment_rate: ratio(abandoned),
            service_level: ratio(within),
            asa_seconds: (!waits.is_empty())
                .then(|| waits.iter().sum::<f64>() / waits.len() as f64),
            aht_seconds: (!handles.is_empty())
                .then(|| handles.iter().sum::<f64>() / handles.len() as f64),
        }
    }

    fn report(&self, from: Millis, to: Millis, dimensions: &[TicketDimension]) -> Report {
        self.report_where(from, to, dimensions, None)
    }

    /// The report over the facts of tickets whose `dimension` was `value`
    /// when each fact happened (calls are not filtered), when `only` is
    /// given.
    fn report_where(
        &self,
        from: Millis,
        to: Millis,
        dimensions: &[TicketDimension],
        only: Option<(TicketDimension, &str)>,
    ) -> Report {
        let scope = only.as_slice();
        let tickets_by = (!dimensions.is_empty()).then(|| {
            dimensions
                .iter()
                .map(|&dimension| {
                    let keys: BTreeSet<String> = self
                        .tickets
                        .iter()
                        .flat_map(|t| t.classes())
                        .map(|class| class[dimension_position(dimension)].clone())
                        .collect();
                    let groups = keys
                        .into_iter()
                        .filter_map(|key| {
                            let figures = self.ticket_figures(
                                from,
                                to,
                                &[scope, &[(dimension, key.as_str())]].concat(),
                            );
                            let any = figures.opened
                                + figures.resolved
                                + figures.reopened
                                + figures.escalated
                                + figures.backlog;
                            (any > 0).then_some((key, figures))
                        })
                        .collect();
                    (dimension.as_str().to_owned(), groups)
                })
                .collect()
        });
        let counted: Vec<(&OracleLeg, Millis, &str)> = self
            .calls
            .iter()
            .filter_map(|((_, queue), leg)| {
                let at = leg.offered?;
                (from <= at && at < to).then_some((leg, at, queue.as_str()))
            })
            .collect();
        let queues: BTreeSet<&str> = counted.iter().map(|(_, _, q)| *q).collect();
        Report {
            from: crate::time::format_rfc3339(from),
            to: crate::time::format_rfc3339(to),
            tickets: self.ticket_figures(from, to, scope),
            tickets_by,
            calls: self.call_figures(&counted),
            calls_by_queue: queues
                .into_iter()
                .map(|queue| {
                    let mine: Vec<_> = counted
                        .iter()
                        .copied()
                        .filter(|(_, _, q)| *q == queue)
                        .collect();
                    (queue.to_owned(), self.call_figures(&mine))
                })
                .collect(),
        }
    }

    fn trend(&self, from: Millis, to: Millis, bucket_ms: i64) -> Vec<(Millis, u64, u64, u64, u64)> {
        let mut points = Vec::new();
        let mut start = from;
        while start < to {
            let end = (start + bucket_ms).min(to);
            let inside = |at: Millis| start <= at && at < end;
            let opened = self
                .tickets
                .iter()
                .filter(|t| inside(t.created.opened_at))
                .count() as u64;
            let resolved = self
                .tickets
                .iter()
                .flat_map(|t| t.transitions())
                .filter(|tr| tr.resolution && inside(tr.at))
                .count() as u64;
            let offered: Vec<&OracleLeg> = self
                .calls
                .values()
                .filter(|leg| leg.offered.is_some_and(inside))
                .collect();
            let abandoned = offered
                .iter()
                .filter(|leg| leg.abandoned_at().is_some())
                .count() as u64;
            points.push((start, opened, resolved, offered.len() as u64, abandoned));
            start = end;
        }
        points
    }

    fn surges(&self, now: Millis) -> Vec<(String, String, u64, f64)> {
        let mut out = Vec::new();
        for dimension in [TicketDimension::Application, TicketDimension::Site] {
            let keys: BTreeSet<String> = self.tickets.iter().map(|t| t.key(dimension)).collect();
            for key in keys {
                let opened_in = |from: Millis, to: Millis| {
                    self.tickets
                        .iter()
                        .filter(|t| {
                            t.key(dimension) == key
                                && from <= t.created.opened_at
                                && t.created.opened_at < to
                        })
                        .count() as u64
                };
                let recent = opened_in(now - 15 * MINUTE, now);
                let baseline = opened_in(now - 135 * MINUTE, now - 15 * MINUTE) as f64 / 8.0;
                let ratio = recent as f64 / baseline.max(1.0);
                if recent >= 6 && ratio >= 3.0 {
                    out.push((dimension.as_str().to_owned(), key, recent, ratio));
                }
            }
        }
        out.sort_by(|a, b| {
            b.3.total_cmp(&a.3)
                .then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1)))
        });
        out
    }

    fn calls_waiting(&self, now: Millis) -> Vec<(String, u64)> {
        self.queues_seen
            .iter()
            .map(|queue| {
                let waiting = self
                    .calls
                    .iter()
                    .filter(|((_, q), leg)| {
                        q == queue
                            && leg
                                .offered
                                .is_some_and(|at| at > now - 4 * 60 * MINUTE && at <= now)
                            // Not yet answered, abandoned or ended by `now`.
                            && leg.answered.is_none_or(|at| at > now)
                            && leg.abandoned.is_none_or(|at| at > now)
                            && leg.ended.is_none_or(|at| at > now)
                    })
                    .count() as u64;
                (queue.clone(), waiting)
            })
            .collect()
    }
}

// ---------------------------------------------------------------- comparison

fn close(actual: Option<f64>, expected: Option<f64>, what: &str) {
    match (actual, expected) {
        (None, None) => {}
        (Some(a), Some(e)) => {
            let tolerance = 1e-9 * e.abs().max(1.0);
            assert!((a - e).abs() <= tolerance, "{what}: {a} != {e}");
        }
        _ => panic!("{what}: {actual:?} != {expected:?}"),
    }
}

fn assert_tickets(actual: &TicketFigures, expected: &TicketFigures, what: &str) {
    assert_eq!(
        (
            actual.opened,
            actual.resolved,
            actual.reopened,
            actual.escalated,
            actual.backlog
        ),
        (
            expected.opened,
            expected.resolved,
            expected.reopened,
            expected.escalated,
            expected.backlog
        ),
        "{what}: counts (opened, resolved, reopened, escalated, backlog)"
    );
    assert_eq!(
        actual.resolution_rate, expected.resolution_rate,
        "{what}: resolution_rate"
    );
    assert_eq!(
        actual.first_contact_resolution_rate, expected.first_contact_resolution_rate,
        "{what}: fcr"
    );
    close(
        actual.mttr_seconds.mean,
        expected.mttr_seconds.mean,
        &format!("{what}: mttr mean"),
    );
    assert_eq!(
        actual.mttr_seconds.p50, expected.mttr_seconds.p50,
        "{what}: p50"
    );
    assert_eq!(
        actual.mttr_seconds.p90, expected.mttr_seconds.p90,
        "{what}: p90"
    );
}

fn assert_calls(actual: &CallFigures, expected: &CallFigures, what: &str) {
    assert_eq!(
        (actual.offered, actual.answered, actual.abandoned),
        (expected.offered, expected.answered, expected.abandoned),
        "{what}: call counts"
    );
    assert_eq!(
        actual.abandonment_rate, expected.abandonment_rate,
        "{what}: abandonment"
    );
    assert_eq!(
        actual.service_level, expected.service_level,
        "{what}: service level"
    );
    close(
        actual.asa_seconds,
        expected.asa_seconds,
        &format!("{what}: asa"),
    );
    close(
        actual.aht_seconds,
        expected.aht_seconds,
        &format!("{what}: aht"),
    );
}

fn assert_report(actual: &Report, expected: &Report) {
    let what = format!("[{}, {})", expected.from, expected.to);
    assert_eq!((&actual.from, &actual.to), (&expected.from, &expected.to));
    assert_tickets(&actual.tickets, &expected.tickets, &what);
    match (&actual.tickets_by, &expected.tickets_by) {
        (None, None) => {}
        (Some(actual), Some(expected)) => {
            assert_eq!(
                actual.keys().collect::<Vec<_>>(),
                expected.keys().collect::<Vec<_>>(),
                "{what}: dimensions"
            );
            for (dimension, groups) in expected {
                let mine = &actual[dimension];
                assert_eq!(
                    mine.keys().collect::<Vec<_>>(),
                    groups.keys().collect::<Vec<_>>(),
                    "{what}: groups of {dimension}"
                );
                for (key, figures) in groups {
                    assert_tickets(&mine[key], figures, &format!("{what} {dimension}={key}"));
                }
            }
        }
        _ => panic!("{what}: tickets_by presence differs"),
    }
    assert_calls(&actual.calls, &expected.calls, &what);
    assert_eq!(
        actual.calls_by_queue.keys().collect::<Vec<_>>(),
        expected.calls_by_queue.keys().collect::<Vec<_>>(),
        "{what}: queues"
    );
    for (queue, figures) in &expected.calls_by_queue {
        assert_calls(
            &actual.calls_by_queue[queue],
            figures,
            &format!("{what} queue {queue}"),
        );
    }
}

/// A report kept as events apply against the same report walked from the
/// time index: equal, but for MTTR quantiles, which are within 1 %.
fn assert_sketched_report(actual: &Report, expected: &Report) {
    fn quantiles(figures: &mut TicketFigures) -> [Option<f64>; 2] {
        let mttr = &mut figures.mttr_seconds;
        [mttr.p50.take(), mttr.p90.take()]
    }
    fn near(actual: [Option<f64>; 2], expected: [Option<f64>; 2], what: &str) {
        for (a, e) in actual.into_iter().zip(expected) {
            match (a, e) {
                (Some(a), Some(e)) => assert!((a - e).abs() <= 0.01 * e, "{what}: {a} vs {e}"),
                (a, e) => assert_eq!(a, e, "{what}"),
            }
        }
    }
    let (mut actual, mut expected) = (actual.clone(), expected.clone());
    near(
        quantiles(&mut actual.tickets),
        quantiles(&mut expected.tickets),
        "overall",
    );
    if let (Some(mine), Some(theirs)) = (&mut actual.tickets_by, &mut expected.tickets_by) {
        for (dimension, groups) in theirs.iter_mut() {
            for (key, figures) in groups.iter_mut() {
                if let Some(own) = mine.get_mut(dimension).and_then(|g| g.get_mut(key)) {
                    near(
                        quantiles(own),
                        quantiles(figures),
                        &format!("{dimension}={key}"),
                    );
                }
            }
        }
    }
    assert_report(&actual, &expected);
}

/// Totals kept as events apply against totals recomputed from scratch:
/// equal, histogram sums to rounding (the running ones are integers).
fn assert_totals(kept: &Totals, scanned: &Totals) {
    assert_eq!(kept.tickets, scanned.tickets, "ticket counters");
    assert_eq!(kept.backlog, scanned.backlog, "backlog gauges");
    let histograms = |a: &HistogramTotals, b: &HistogramTotals, what: &str| {
        assert_eq!((&a.buckets, a.count), (&b.buckets, b.count), "{what}");
        close(Some(a.sum), Some(b.sum), what);
    };
    assert_eq!(
        kept.resolution_seconds.keys().collect::<Vec<_>>(),
        scanned.resolution_seconds.keys().collect::<Vec<_>>()
    );
    for (application, histogram) in &scanned.resolution_seconds {
        histograms(
            &kept.resolution_seconds[application],
            histogram,
            application,
        );
    }
    assert_eq!(
        kept.queues.keys().collect::<Vec<_>>(),
        scanned.queues.keys().collect::<Vec<_>>()
    );
    for (queue, theirs) in &scanned.queues {
        let mine = &kept.queues[queue];
        assert_eq!(
            (mine.offered, mine.answered, mine.abandoned, mine.waiting),
            (
                theirs.offered,
                theirs.answered,
                theirs.abandoned,
                theirs.waiting
            ),
            "{queue}"
        );
        histograms(&mine.wait_seconds, &theirs.wait_seconds, queue);
        histograms(&mine.handle_seconds, &theirs.handle_seconds, queue);
    }
}

/// A leg's times: offered, answered, abandoned (by the definition).
type LegTimes = (Option<Millis>, Option<Millis>, Option<Millis>);

/// Every leg the aggregator holds, by (call id, queue).
fn aggregator_legs(aggregator: &Aggregator) -> BTreeMap<LegKey, LegTimes> {
    aggregator
        .calls
        .iter()
        .enumerate()
        .map(|(index, leg)| {
            let key = (
                aggregator.call_ids.id(index as u32).to_owned(),
                aggregator.queues.name(leg.queue as usize).to_owned(),
            );
            let offered = leg.has(call_flag::OFFERED).then_some(leg.offered_at);
            (key, (offered, leg.answered_at(), leg.abandoned_at()))
        })
        .collect()
}

/// Every leg the oracle knows, by (call id, queue).
fn oracle_legs(oracle: &Oracle) -> BTreeMap<LegKey, LegTimes> {
    oracle
        .calls
        .iter()
        .map(|(key, leg)| (key.clone(), (leg.offered, leg.answered, leg.abandoned_at())))
        .collect()
}

/// The call events of `calls` as `feed` sends them, in one of three
/// arrival orders: as planned (0), the reverse of that (1), or by event
/// time.
fn arriving(calls: &[CallPlan], feed: Feed, order: usize) -> Vec<CallRecorded> {
    let mut items: Vec<(u64, CallRecorded)> = calls
        .iter()
        .enumerate()
        .flat_map(|(index, call)| call_events(index, call, feed))
        .collect();
    items.sort_by_key(|(arrival, _)| *arrival);
    match order {
        0 => {}
        1 => items.reverse(),
        _ => items.sort_by_key(|(_, call)| call.at),
    }
    items.into_iter().map(|(_, call)| call).collect()
}

/// Decides every call event through a ledger, as the writer does: the
/// events it commits, and per refused event its code.
fn through_ledger(calls: Vec<CallRecorded>) -> (Vec<RecordedEvent>, usize, Vec<&'static str>) {
    let mut ledger = Ledger::new();
    let mut log = Vec::new();
    let mut duplicates = 0;
    let mut refused = Vec::new();
    for call in calls {
        match ledger.decide(Command::RecordCall(call)) {
            Ok((_, events)) if !events.is_empty() => {
                for event in events {
                    log.push(RecordedEvent {
                        seq: ledger.last_seq(),
                        recorded_at: T0,
                        event,
                    });
                }
            }
            Ok((outcome, _)) => {
                assert_eq!(outcome, Outcome::CallRecorded { duplicate: true });
                duplicates += 1;
            }
            Err(rejection) => refused.push(rejection.code),
        }
    }
    (log, duplicates, refused)
}

fn aggregate(events: &[RecordedEvent]) -> Aggregator {
    let mut aggregator = Aggregator::new();
    for event in events {
        aggregator.apply(event);
    }
    aggregator
}

/// A window on the 20-second grid events are on, possibly empty, possibly
/// covering everything.
fn window() -> impl Strategy<Value = (Millis, Millis)> {
    (
        0i64..(26 * 180),
        prop_oneof![1 => Just(0i64), 2 => 0i64..180, 2 => 0i64..(30 * 180)],
    )
        .prop_map(|(start, length)| {
            let from = T0 - 60 * MINUTE + start * STEP;
            (from, from + length * STEP)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn reports_match_the_oracle(
        plan in plan(),
        windows in prop::collection::vec(window(), 3),
        dimension in prop::sample::select(TicketDimension::ALL.to_vec()),
    ) {
        let events = events_of(&plan);
        let aggregator = aggregate(&events);
        let oracle = Oracle::new(&events);
        prop_assert_eq!(aggregator.counts().0, plan.tickets.len());
        prop_assert_eq!(aggregator.last_seq(), events.len() as u64);
        for (from, to) in windows {
            assert_report(&aggregator.report(from, to, None), &oracle.report(from, to, &[]));
            assert_report(
                &aggregator.report(from, to, Some(dimension)),
                &oracle.report(from, to, &[dimension]),
            );
            assert_report(
                &aggregator.report_grouped(from, to, &TicketDimension::ALL),
                &oracle.report(from, to, &TicketDimension::ALL),
            );
            // One site's figures, as a site's board shows them (and a site
            // nobody named: nothing).
            let grouped = [TicketDimension::Application, TicketDimension::Site];
            let sites: BTreeSet<String> = oracle
                .tickets
                .iter()
                .map(|t| t.key(TicketDimension::Site))
                .chain(["Nowhere".to_string()])
                .collect();
            for site in &sites {
                let only = Some((TicketDimension::Site, site.as_str()));
                assert_report(
                    &aggregator.report_where(from, to, &grouped, only),
                    &oracle.report_where(from, to, &grouped, only),
                );
            }
        }
        // /metrics counters: opened under the classification at opening,
        // resolutions under the one at resolution.
        let totals = aggregator.totals(
            T0 + 100 * 24 * 60 * MINUTE,
            &crate::aggregate::SeriesLimits::NONE,
        );
        let mut expected_totals: BTreeMap<(String, String, String, String), (u64, u64)> =
            BTreeMap::new();
        let labels = |c: &OracleClass| (c[0].clone(), c[2].clone(), c[3].clone(), c[4].clone());
        for ticket in &oracle.tickets {
            expected_totals.entry(labels(&ticket.created_class())).or_default().0 += 1;
            for transition in ticket.transitions().iter().filter(|t| t.resolution) {
                expected_totals.entry(labels(&transition.class)).or_default().1 += 1;
            }
        }
        let actual_totals: BTreeMap<(String, String, String, String), (u64, u64)> = totals
            .tickets
            .iter()
            .map(|((site, app, category, severity), counts)| {
                ((site.clone(), app.clone(), (*category).to_string(), (*severity).to_string()), *counts)
            })
            .collect();
        prop_assert_eq!(actual_totals, expected_totals);
        // After every fact: the open tickets' aging and severity-1 places.
        let last = oracle
            .tickets
            .iter()
            .flat_map(|t| {
                let c = &t.created;
                [c.opened_at, c.resolved_at.unwrap_or(c.opened_at)]
                    .into_iter()
                    .chain(t.changes.iter().map(|change| change.at))
            })
            .max()
            .unwrap_or(0);
        let now = last + 1;
        let open: Vec<(&OracleTicket, OracleClass)> = oracle
            .tickets
            .iter()
            .filter_map(|t| {
                let (active, class) = t.backlog_as_of(now);
                active.then_some((t, class))
            })
            .collect();
        let older = |hours: i64| {
            open.iter()
                .filter(|(t, _)| now - t.created.opened_at > hours * 3_600_000)
                .count() as u64
        };
        let summary = aggregator.open_summary(now, None);
        prop_assert_eq!(
            (summary.aging.over_1h, summary.aging.over_4h, summary.aging.over_24h),
            (older(1), older(4), older(24))
        );
        prop_assert_eq!(
            summary.aging.oldest_opened_at,
            open.iter().map(|(t, _)| t.created.opened_at).min()
        );
        let sev1: u64 = summary.sev1.iter().map(|g| g.open).sum();
        let severity = dimension_position(TicketDimension::Severity);
        let expected = open.iter().filter(|(_, class)| class[severity] == "1").count() as u64;
        prop_assert_eq!(sev1, expected);
        let queues: Vec<(String, f64)> = aggregator
            .queues()
            .into_iter()
            .map(|(name, settings)| (name, settings.answer_target_seconds))
            .collect();
        let expected: Vec<(String, f64)> = oracle
            .queues_seen
            .iter()
            .map(|q| (q.clone(), oracle.settings.get(q).copied().unwrap_or_default().answer_target_seconds))
            .collect();
        prop_assert_eq!(queues, expected);
        // Leg by leg, including when each was abandoned (its `abandoned`
        // event, or its `ended` without an answer).
        prop_assert_eq!(aggregator_legs(&aggregator), oracle_legs(&oracle));
        prop_assert_eq!(aggregator.counts().1, oracle.calls.len());
    }

    #[test]
    fn series_match_the_oracle(
        plan in plan(),
        (from, to) in window(),
        bucket_ms in prop::sample::select(vec![7_000i64, MINUTE, 5 * MINUTE, 60 * MINUTE]),
        now_step in 0i64..(26 * 180),
        source in 0usize..6,
    ) {
        let events = events_of(&plan);
        let aggregator = aggregate(&events);
        let oracle = Oracle::new(&events);
        // Keep the oracle's bucket-by-bucket rescans affordable.
        let to = to.min(from + 400 * bucket_ms);

        let trend: Vec<(Millis, u64, u64, u64, u64)> = aggregator
            .trend(from, to, bucket_ms)
            .into_iter()
            .map(|p| (p.at, p.opened, p.resolved, p.offered, p.abandoned))
            .collect();
        let expected = oracle.trend(from, to, bucket_ms);
        prop_assert_eq!(&trend, &expected);

        let arrivals = match source {
            0 => aggregator.arrivals_per_bucket(Arrivals::Tickets(None), from, to, bucket_ms),
            1 => aggregator.arrivals_per_bucket(
                Arrivals::Tickets(Some((TicketDimension::Application, "Orders"))), from, to, bucket_ms),
            2 => aggregator.arrivals_per_bucket(
                Arrivals::Tickets(Some((TicketDimension::Severity, "2"))), from, to, bucket_ms),
            3 => aggregator.arrivals_per_bucket(Arrivals::Calls(None), from, to, bucket_ms),
            4 => aggregator.arrivals_per_bucket(Arrivals::Calls(Some("Nursing")), from, to, bucket_ms),
            _ => aggregator.arrivals_per_bucket(Arrivals::Calls(Some("nobody")), from, to, bucket_ms),
        };
        let expected_arrivals: Vec<u64> = match source {
            0..=2 => {
                let wanted = |t: &OracleTicket| match source {
                    1 => t.created.application == "Orders",
                    2 => t.created.severity.level() == 2,
                    _ => true,
                };
                expected
                    .iter()
                    .map(|&(start, ..)| {
                        let end = (start + bucket_ms).min(to);
                        oracle.tickets.iter()
                            .filter(|t| wanted(t) && start <= t.created.opened_at && t.created.opened_at < end)
                            .count() as u64
                    })
                    .collect()
            }
            _ => expected
                .iter()
                .map(|&(start, ..)| {
                    let end = (start + bucket_ms).min(to);
                    oracle.calls.iter()
                        .filter(|((_, q), leg)| leg.offered.is_some_and(|at| {
                            start <= at && at < end && match source {
                                4 => q == "Nursing",
                                5 => false,
                                _ => true,
                            }
                        }))
                        .count() as u64
                })
                .collect(),
        };
        prop_assert_eq!(arrivals, expected_arrivals);

        // Surges and waiting calls, at a moment near the crowded quarter hour
        // half of the time.
        let now = if now_step % 2 == 0 { T0 + 1_845 * STEP + (now_step % 40) * STEP } else { T0 + now_step * STEP };
        let surges: Vec<(String, String, u64, f64)> = aggregator
            .surges(now)
            .into_iter()
            .map(|s| (s.dimension.as_str().to_owned(), s.value, s.last_15m, s.ratio))
            .collect();
        prop_assert_eq!(surges, oracle.surges(now));
        prop_assert_eq!(aggregator.calls_waiting(now), oracle.calls_waiting(now));

        let board = aggregator.board(now, Some(T0));
        prop_assert_eq!(board.trend.points.len(), 120);
        let since = board.windows.since_go_live.as_ref().map(|r| r.tickets.opened);
        prop_assert_eq!(since, Some(oracle.report(T0, now, &[]).tickets.opened));
        let sev: u64 = board.backlog_by_severity.values().sum();
        prop_assert_eq!(sev, oracle.report(now, now, &[]).tickets.backlog);
    }

    /// The board's since-go-live window, kept as events apply (from the
    /// first event, or from a point in the middle of the stream, with
    /// reclassifications, reopenings, late and out-of-order call events
    /// and queue reconfigurations), equals the same window walked from
    /// the time index, for the whole center and each site, at moments
    /// before and after the last facts.
    #[test]
    fn since_go_live_is_kept_as_events_apply(
        plan in plan(),
        windows in prop::collection::vec(window(), 3),
        split in 0.0f64..1.0,
    ) {
        let events = events_of(&plan);
        let walked = aggregate(&events);
        let start = windows[0].0;
        let split = ((events.len() as f64) * split) as usize;
        let mut kept = Aggregator::new();
        for event in &events[..split] {
            kept.apply(event);
        }
        kept.keep_since(start);
        for event in &events[split..] {
            kept.apply(event);
        }
        let grouped = [TicketDimension::Application, TicketDimension::Site];
        let mut sites: Vec<Option<&str>> = SITES.iter().map(|s| Some(*s)).collect();
        sites.extend([None, Some("Nowhere")]);
        for &(_, now) in &windows {
            for &site in &sites {
                let board = kept.board_where(now, Some(start), site);
                let only = site.map(|name| (TicketDimension::Site, name));
                let expected = walked.report_where(start, now, &grouped, only);
                match &board.windows.since_go_live {
                    Some(actual) => assert_sketched_report(actual, &expected),
                    None => prop_assert!(false, "no since_go_live window"),
                }
            }
        }
    }

    /// A report adds the whole hours of its window from the hourly
    /// roll-ups: the same report, every dimension grouped, as a walk of
    /// every fact in the window (exact MTTR quantiles included), for
    /// windows of any length and alignment, before, among and after the
    /// facts (late and out-of-order events, replaced legs, reclassified
    /// tickets and queues retargeted).
    #[test]
    fn hourly_rollups_add_up_to_the_walk(
        plan in plan(),
        windows in prop::collection::vec(window(), 4),
    ) {
        let events = events_of(&plan);
        let aggregator = aggregate(&events);
        let mut windows = windows;
        // A day and more, on whole hours and off them.
        windows.push((T0 - 60 * MINUTE, T0 + 30 * 60 * MINUTE));
        windows.push((T0 + 7 * MINUTE + 3, T0 + 26 * 60 * MINUTE + 11));
        for (from, to) in windows {
            let added = aggregator.report_grouped(from, to, &TicketDimension::ALL);
            let walked = aggregator.report_walked(from, to, &TicketDimension::ALL);
            prop_assert_eq!(added, walked, "[{}, {})", from, to);
        }
    }

    /// The open-ticket figures kept in the open sets (aging, escalations,
    /// severity-1 places) equal a walk of every ticket open at the moment,
    /// for the whole center, each site and an unknown one, at moments
    /// before, among and long after the facts (statuses, tiers and
    /// reclassifications in any order). A site's backlog counted from the
    /// running (site, application, severity) cells equals the one counted
    /// ticket by ticket (a grouping by department takes that path).
    #[test]
    fn open_figures_equal_a_walk_of_the_open_tickets(
        plan in plan(),
        steps in prop::collection::vec(0i64..(30 * 180), 3),
    ) {
        let events = events_of(&plan);
        let aggregator = aggregate(&events);
        let mut sites: Vec<Option<&str>> = SITES.iter().map(|s| Some(*s)).collect();
        sites.extend([None, Some("Nowhere")]);
        let mut moments: Vec<Millis> = steps.iter().map(|step| T0 - 60 * MINUTE + step * STEP).collect();
        moments.push(T0 + 40 * 24 * 60 * MINUTE);
        for &now in &moments {
            for &site in &sites {
                prop_assert_eq!(
                    aggregator.open_summary(now, site),
                    aggregator.open_summary_by_walk(now, site),
                    "at {} for {:?}", now, site
                );
                let only = site.map(|name| (TicketDimension::Site, name));
                let cells = [TicketDimension::Application, TicketDimension::Severity];
                let walked = [TicketDimension::Application, TicketDimension::Severity, TicketDimension::Department];
                let by_cell = aggregator.report_where(now - 60 * MINUTE, now, &cells, only);
                let by_ticket = aggregator.report_where(now - 60 * MINUTE, now, &walked, only);
                prop_assert_eq!(by_cell.tickets.backlog, by_ticket.tickets.backlog);
                let backlogs = |report: &Report, dimension: &str| -> BTreeMap<String, u64> {
                    report.tickets_by.as_ref().and_then(|by| by.get(dimension)).map(|groups| {
                        groups.iter().map(|(name, figures)| (name.clone(), figures.backlog)).collect()
                    }).unwrap_or_default()
                };
                for dimension in ["application", "severity"] {
                    prop_assert_eq!(backlogs(&by_cell, dimension), backlogs(&by_ticket, dimension));
                }
            }
        }
    }

    /// The totals behind `/metrics`, kept as events apply, equal the same
    /// totals recomputed from scratch by one pass over every record, on
    /// a prefix of the stream and on all of it (reclassifications,
    /// reopenings, late and out-of-order call events), at a moment before
    /// or after the last facts, unbounded and with tight label bounds.
    /// The backlog gauge is the report's backlog as of the same moment.
    #[test]
    fn metrics_totals_are_kept_as_events_apply(
        plan in plan(),
        now_step in 0i64..(30 * 180),
        label_values in 1usize..5,
        label_sets in 1usize..30,
        split in 0.0f64..1.0,
    ) {
        let events = events_of(&plan);
        let now = T0 - 60 * MINUTE + now_step * STEP;
        let cut = ((events.len() as f64) * split) as usize;
        for prefix in [&events[..cut], &events[..]] {
            let aggregator = aggregate(prefix);
            let bounded = SeriesLimits { label_values, label_sets };
            for limits in [SeriesLimits::NONE, bounded] {
                assert_totals(
                    &aggregator.totals(now, &limits),
                    &aggregator.totals_by_scan(now, &HistogramBounds::METRICS, &limits),
                );
            }
            let totals = aggregator.totals(now, &SeriesLimits::NONE);
            let report = aggregator.report(now, now, Some(TicketDimension::Site));
            let mut by_site: BTreeMap<String, u64> = BTreeMap::new();
            for ((site, _, _), count) in &totals.backlog {
                *by_site.entry(site.clone()).or_default() += count;
            }
            by_site.retain(|_, count| *count > 0);
            let expected: BTreeMap<String, u64> = report
                .tickets_by
                .as_ref()
                .and_then(|by| by.get("site"))
                .map(|groups| groups.iter().map(|(k, f)| (k.clone(), f.backlog)).collect())
                .unwrap_or_default();
            prop_assert_eq!(by_site, expected);
            prop_assert_eq!(totals.backlog.values().sum::<u64>(), report.tickets.backlog);
        }
    }

    /// A sane feed (transfers, ends without answers, exact repeats) is
    /// accepted whatever order it arrives in, the repeats are reported as
    /// duplicates, and the figures do not depend on the order.
    #[test]
    fn the_ledger_takes_a_sane_feed_in_any_order(
        calls in prop::collection::vec(call_plan(), 50..250),
        windows in prop::collection::vec(window(), 3),
    ) {
        let events = arriving(&calls, Feed::Sane, 0);
        let distinct: BTreeSet<(&str, &str, CallEventKind)> = events
            .iter()
            .map(|e| (e.call_id.as_str(), e.queue.as_str(), e.event))
            .collect();
        let repeats = events.len() - distinct.len();
        let runs: Vec<Vec<RecordedEvent>> = (0..3)
            .map(|order| {
                let (log, duplicates, refused) =
                    through_ledger(arriving(&calls, Feed::Sane, order));
                assert_eq!(refused, Vec::<&str>::new(), "order {order}");
                assert_eq!((log.len(), duplicates), (distinct.len(), repeats), "order {order}");
                log
            })
            .collect();
        let oracle = Oracle::new(&runs[0]);
        for log in &runs {
            let aggregator = aggregate(log);
            for &(from, to) in &windows {
                assert_report(&aggregator.report(from, to, None), &oracle.report(from, to, &[]));
            }
            prop_assert_eq!(aggregator_legs(&aggregator), oracle_legs(&oracle));
        }
    }

    /// Whatever arrives, the ledger commits only legs that could have
    /// happened, refusing the rest as impossible sequences, and the
    /// aggregator's figures of what it committed match the oracle's.
    #[test]
    fn the_ledger_never_commits_an_impossible_leg(
        calls in prop::collection::vec(call_plan(), 50..250),
        (from, to) in window(),
    ) {
        let (log, _, refused) = through_ledger(arriving(&calls, Feed::Raw, 0));
        prop_assert!(refused.iter().all(|code| *code == "impossible_call_sequence"));
        let oracle = Oracle::new(&log);
        for ((call_id, queue), leg) in &oracle.calls {
            let what = format!("{call_id} in {queue}");
            prop_assert!(leg.answered.is_none() || leg.abandoned.is_none(), "{}", what);
            let offered = leg.offered.unwrap_or(Millis::MIN);
            for later in [leg.answered, leg.abandoned, leg.ended].into_iter().flatten() {
                prop_assert!(offered <= later, "{}: before its offer", what);
            }
            let ended = leg.ended.unwrap_or(Millis::MAX);
            for earlier in [leg.answered, leg.abandoned].into_iter().flatten() {
                prop_assert!(earlier <= ended, "{}: after its end", what);
            }
        }
        let aggregator = aggregate(&log);
        assert_report(&aggregator.report(from, to, None), &oracle.report(from, to, &[]));
        prop_assert_eq!(aggregator_legs(&aggregator), oracle_legs(&oracle));
    }
}
