//! A scripted go-live morning (2026-03-02, 06:00–09:00) posted through the
//! HTTP API on SQLite and PostgreSQL, then every figure of the report
//! checked against values worked out by hand (literals, with their
//! derivation in comments) and against a small independent model of the
//! contract's §6 definitions that runs over the script's own lists. No
//! golive code computes an expected value here.
//!
//! The script has 40 tickets across three sites, four applications and
//! every channel kind that matters (first-contact fixes, resolutions,
//! reopens, escalations, closes, a reopen straight into escalated, a
//! creation already escalated, a late import of yesterday's ticket posted
//! last), two phone queues (one with a 30 s answer target set through
//! `PUT /api/v1/queues`) with out-of-order ACD events, abandons and wrap
//! time, and events placed exactly on window boundaries.
//!
//! The live board is checked with a second, small batch dated relative to
//! now: its 15- and 60-minute windows must equal `GET /api/v1/report` for
//! `[as_of − 15 m, as_of)` and `[as_of − 60 m, as_of)` and the hand counts,
//! the trend must have 120 one-minute points that add up, and a severity-1
//! ticket must raise a `sev1_open` alert on the board within seconds.

mod support;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use support::{Backend, Server, TestDb, encoded, iso};

/// The go-live day.
const DAY: &str = "2026-03-02";
const MC: &str = "Main Campus";
const NH: &str = "North Hospital";
const CP: &str = "Children's Pavilion";
const PHYSICIAN: &str = "Physician Line";
const NURSING: &str = "Nursing Line";
const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;

// ---------------------------------------------------------------------------
// The script, as plain data.
// ---------------------------------------------------------------------------

/// How a ticket is created.
#[derive(Clone, Copy, Debug)]
enum Created {
    Open,
    Escalated,
    /// Already resolved, at this time (a first-contact fix).
    Resolved(i64),
    /// Already closed, at this time (also a first-contact fix).
    Closed(i64),
}

#[derive(Clone, Debug)]
struct Ticket {
    key: String,
    opened: i64,
    site: &'static str,
    department: &'static str,
    application: &'static str,
    category: &'static str,
    severity: u8,
    channel: &'static str,
    created: Created,
}

/// A status change sent with `PATCH`, with an explicit `at`.
#[derive(Clone, Debug)]
struct Change {
    key: String,
    at: i64,
    status: &'static str,
}

/// One ACD event, in the order it is posted.
#[derive(Clone, Debug)]
struct CallEvent {
    call_id: String,
    queue: &'static str,
    event: &'static str,
    at: i64,
    wrap: Option<f64>,
}

/// Everything posted so far; the model reads only this.
#[derive(Default)]
struct Script {
    tickets: Vec<Ticket>,
    changes: Vec<Change>,
    calls: Vec<CallEvent>,
    /// Each queue's current answer target in seconds (default 20).
    targets: HashMap<&'static str, f64>,
}

/// `HH:MM` or `HH:MM:SS` on the go-live day, or a full RFC 3339 time, as
/// epoch milliseconds.
fn at(text: &str) -> i64 {
    let full = match text.len() {
        5 => format!("{DAY}T{text}:00Z"),
        8 => format!("{DAY}T{text}Z"),
        _ => text.to_string(),
    };
    DateTime::parse_from_rfc3339(&full)
        .unwrap_or_else(|e| panic!("bad time {text:?}: {e}"))
        .timestamp_millis()
}

#[allow(clippy::too_many_arguments)]
fn ticket(
    key: &str,
    opened: &str,
    site: &'static str,
    department: &'static str,
    application: &'static str,
    category: &'static str,
    severity: u8,
    channel: &'static str,
    created: Created,
) -> Ticket {
    Ticket {
        key: key.to_string(),
        opened: at(opened),
        site,
        department,
        application,
        category,
        severity,
        channel,
        created,
    }
}

fn resolved(time: &str) -> Created {
    Created::Resolved(at(time))
}

fn change(key: &str, time: &str, status: &'static str) -> Change {
    Change {
        key: key.to_string(),
        at: at(time),
        status,
    }
}

fn call(call_id: &str, queue: &'static str, event: &'static str, time: &str) -> CallEvent {
    CallEvent {
        call_id: call_id.to_string(),
        queue,
        event,
        at: at(time),
        wrap: None,
    }
}

fn ended(call_id: &str, queue: &'static str, time: &str, wrap: Option<f64>) -> CallEvent {
    CallEvent {
        wrap,
        ..call(call_id, queue, "ended", time)
    }
}

/// The morning's tickets, in posting order (the late import T38 is posted
/// separately, last). Times are on 2026-03-02 UTC.
fn morning_tickets() -> Vec<Ticket> {
    use Created::{Escalated, Open};
    let t = ticket;
    vec![
        t(
            "T01",
            "06:02",
            MC,
            "Emergency",
            "Orders",
            "how_to",
            3,
            "phone",
            resolved("06:06"),
        ),
        t(
            "T02",
            "06:05",
            MC,
            "ICU",
            "MAR",
            "break_fix",
            2,
            "ate",
            Open,
        ),
        t(
            "T03",
            "06:10",
            NH,
            "Emergency",
            "Orders",
            "access",
            3,
            "phone",
            Open,
        ),
        t(
            "T04",
            "06:15",
            CP,
            "Clinic",
            "Scheduling",
            "how_to",
            4,
            "walk_in",
            resolved("06:25"),
        ),
        t(
            "T05", "06:20", MC, "Pharmacy", "MAR", "data", 2, "chat", Open,
        ),
        t(
            "T06",
            "06:30",
            NH,
            "ICU",
            "Lab",
            "interface",
            1,
            "phone",
            Escalated,
        ),
        t(
            "T07",
            "06:45",
            MC,
            "Emergency",
            "Orders",
            "how_to",
            3,
            "ate",
            Open,
        ),
        t(
            "T08", "07:00:00", CP, "Clinic", "Orders", "access", 3, "portal", Open,
        ),
        t(
            "T09",
            "07:05",
            MC,
            "ICU",
            "MAR",
            "workflow",
            2,
            "phone",
            resolved("07:12"),
        ),
        t(
            "T10", "07:10", NH, "Pharmacy", "Lab", "data", 3, "email", Open,
        ),
        t(
            "T11",
            "07:15",
            MC,
            "Emergency",
            "Orders",
            "break_fix",
            2,
            "phone",
            Open,
        ),
        t(
            "T12",
            "07:20",
            CP,
            "Clinic",
            "Scheduling",
            "how_to",
            4,
            "walk_in",
            resolved("07:28"),
        ),
        t(
            "T13", "07:25", MC, "ICU", "Orders", "hardware", 3, "ate", Open,
        ),
        t(
            "T14",
            "07:30:00",
            NH,
            "Emergency",
            "MAR",
            "how_to",
            3,
            "phone",
            resolved("07:34"),
        ),
        t(
            "T15", "07:35", MC, "Pharmacy", "MAR", "access", 3, "chat", Open,
        ),
        t(
            "T16", "07:40", NH, "ICU", "Lab", "how_to", 4, "portal", Open,
        ),
        t(
            "T17",
            "07:45",
            CP,
            "Clinic",
            "Orders",
            "workflow",
            3,
            "ate",
            resolved("07:50"),
        ),
        t(
            "T18",
            "07:50",
            MC,
            "Emergency",
            "Orders",
            "how_to",
            3,
            "phone",
            Open,
        ),
        t(
            "T19",
            "07:55",
            MC,
            "ICU",
            "MAR",
            "break_fix",
            1,
            "ate",
            Open,
        ),
        t(
            "T20",
            "08:00:00",
            NH,
            "Emergency",
            "Orders",
            "how_to",
            3,
            "phone",
            resolved("08:00:00"),
        ),
        t(
            "T21",
            "08:02",
            MC,
            "Emergency",
            "Lab",
            "data",
            3,
            "email",
            Open,
        ),
        t(
            "T22",
            "08:05",
            CP,
            "Clinic",
            "Scheduling",
            "how_to",
            4,
            "walk_in",
            resolved("08:09"),
        ),
        t(
            "T23",
            "08:10",
            MC,
            "Pharmacy",
            "MAR",
            "interface",
            2,
            "phone",
            Open,
        ),
        t(
            "T24", "08:15", NH, "ICU", "Orders", "access", 3, "portal", Open,
        ),
        t(
            "T25",
            "08:20",
            MC,
            "Emergency",
            "Orders",
            "how_to",
            3,
            "ate",
            Open,
        ),
        t(
            "T26",
            "08:25",
            NH,
            "Pharmacy",
            "MAR",
            "how_to",
            4,
            "chat",
            resolved("08:28"),
        ),
        t(
            "T27", "08:30", CP, "Clinic", "Lab", "other", 3, "phone", Open,
        ),
        t(
            "T28",
            "08:35",
            MC,
            "ICU",
            "Orders",
            "break_fix",
            2,
            "ate",
            Open,
        ),
        t(
            "T29",
            "08:40",
            MC,
            "Emergency",
            "Scheduling",
            "how_to",
            4,
            "walk_in",
            resolved("08:46"),
        ),
        t(
            "T30",
            "08:45",
            NH,
            "Emergency",
            "Orders",
            "workflow",
            3,
            "phone",
            Open,
        ),
        t(
            "T31",
            "08:50",
            MC,
            "ICU",
            "MAR",
            "how_to",
            3,
            "phone",
            Created::Closed(at("08:52")),
        ),
        t(
            "T32", "08:55", CP, "Clinic", "Orders", "access", 2, "ate", Open,
        ),
        t(
            "T33",
            "08:59:59",
            MC,
            "Emergency",
            "Orders",
            "how_to",
            3,
            "phone",
            Open,
        ),
        t(
            "T34", "09:00:00", NH, "ICU", "Lab", "data", 3, "phone", Open,
        ),
        t(
            "T35",
            "06:00:00",
            MC,
            "Emergency",
            "Orders",
            "how_to",
            3,
            "phone",
            resolved("06:03"),
        ),
        t(
            "T36", "06:50", NH, "Pharmacy", "MAR", "how_to", 3, "phone", Open,
        ),
        t(
            "T37",
            "07:00:30",
            MC,
            "Clinic",
            "Scheduling",
            "how_to",
            4,
            "email",
            Open,
        ),
        t(
            "T39", "06:40", CP, "Clinic", "Orders", "how_to", 3, "ate", Open,
        ),
        t(
            "T40",
            "08:48",
            MC,
            "Emergency",
            "Orders",
            "how_to",
            2,
            "phone",
            Open,
        ),
    ]
}

/// Status changes of the morning, posted in this order (each ticket's own
/// changes in time order, as the API requires).
fn morning_changes() -> Vec<Change> {
    let c = change;
    vec![
        c("T02", "06:50", "resolved"),
        c("T03", "06:20", "in_progress"),
        c("T03", "07:10", "resolved"),
        c("T05", "06:40", "escalated"),
        c("T05", "08:20", "resolved"),
        c("T06", "07:30:00", "resolved"),
        c("T07", "07:00:00", "resolved"),
        c("T10", "07:40", "resolved"),
        c("T10", "08:05", "open"),
        c("T10", "08:45", "resolved"),
        c("T11", "07:30:00", "escalated"),
        c("T13", "07:35", "in_progress"),
        c("T15", "08:00:00", "resolved"),
        c("T15", "08:30", "closed"),
        c("T16", "07:50", "pending"),
        c("T16", "08:10", "resolved"),
        c("T17", "08:15", "in_progress"),
        c("T17", "08:25", "escalated"),
        c("T17", "08:55", "resolved"),
        c("T19", "08:40", "resolved"),
        c("T23", "08:20", "escalated"),
        c("T23", "08:50", "closed"),
        c("T24", "08:35", "resolved"),
        c("T27", "08:40", "in_progress"),
        c("T28", "09:00:00", "resolved"),
        c("T36", "07:15", "escalated"),
        c("T36", "07:45", "resolved"),
        c("T36", "08:00", "closed"),
        c("T36", "08:30", "escalated"),
        c("T36", "08:58", "resolved"),
        c("T37", "07:20", "resolved"),
        c("T39", "06:55", "resolved"),
    ]
}

/// The ACD feed of the morning, in posting order (out of order where the
/// real feed lags).
fn morning_calls() -> Vec<CallEvent> {
    let (p, n) = (PHYSICIAN, NURSING);
    vec![
        call("P1", p, "offered", "06:10:00"),
        call("P1", p, "answered", "06:10:25"),
        ended("P1", p, "06:16:25", Some(30.0)),
        call("P2", p, "offered", "06:30:00"),
        call("P2", p, "answered", "06:30:40"),
        ended("P2", p, "06:34:40", Some(20.0)),
        call("P3", p, "offered", "07:00:00"),
        call("P3", p, "abandoned", "07:01:10"),
        // Answered arrives before offered; ended carries no wrap time.
        call("P4", p, "answered", "07:20:10"),
        call("P4", p, "offered", "07:20:00"),
        ended("P4", p, "07:25:10", None),
        call("P5", p, "offered", "07:45:00"),
        call("P5", p, "answered", "07:45:30"),
        ended("P5", p, "07:55:30", Some(60.0)),
        call("P6", p, "offered", "08:15:00"),
        call("P6", p, "abandoned", "08:15:45"),
        call("P7", p, "offered", "08:40:00"),
        call("P7", p, "answered", "08:40:05"),
        call("P8", p, "offered", "08:59:00"),
        call("P8", p, "answered", "09:00:30"),
        ended("P8", p, "09:03:30", Some(30.0)),
        call("P9", p, "offered", "09:00:00"),
        call("P9", p, "answered", "09:00:10"),
        call("P10", p, "offered", "05:59:59"),
        call("P10", p, "answered", "06:00:05"),
        call("N1", n, "offered", "06:05:00"),
        call("N1", n, "answered", "06:05:15"),
        ended("N1", n, "06:08:15", Some(45.0)),
        call("N2", n, "offered", "06:20:00"),
        call("N2", n, "abandoned", "06:20:50"),
        // Ended first, then answered, then offered.
        ended("N3", n, "06:50:20", Some(15.0)),
        call("N3", n, "answered", "06:45:20"),
        call("N3", n, "offered", "06:45:00"),
        call("N4", n, "offered", "07:10:00"),
        call("N4", n, "answered", "07:10:21"),
        ended("N4", n, "07:14:21", None),
        call("N5", n, "offered", "07:30:00"),
        call("N5", n, "abandoned", "07:30:05"),
        call("N6", n, "offered", "08:00:00"),
        call("N6", n, "answered", "08:00:10"),
        ended("N6", n, "08:02:10", Some(20.0)),
        // Offered and never settled: still counted as offered.
        call("N7", n, "offered", "08:30:00"),
        // Abandoned arrives before offered.
        call("N8", n, "abandoned", "08:45:40"),
        call("N8", n, "offered", "08:45:00"),
    ]
}

// ---------------------------------------------------------------------------
// The independent model: §6 of the contract over the script's lists.
// ---------------------------------------------------------------------------

fn is_active(status: &str) -> bool {
    matches!(status, "open" | "in_progress" | "pending" | "escalated")
}

/// A counted fact of one ticket.
#[derive(Clone, Copy, Debug, Default)]
struct Fact {
    at: i64,
    resolved: bool,
    first_contact: bool,
    reopened: bool,
    escalated: bool,
    resolve_ms: i64,
}

/// A ticket's counted facts and its active/done timeline (time, active
/// from then on), both in time order.
fn history(ticket: &Ticket, changes: &[Change]) -> (Vec<Fact>, Vec<(i64, bool)>) {
    let mut facts = Vec::new();
    let mut states = vec![(ticket.opened, true)];
    let mut status = match ticket.created {
        Created::Open => "open",
        Created::Escalated => {
            facts.push(Fact {
                at: ticket.opened,
                escalated: true,
                ..Fact::default()
            });
            "escalated"
        }
        Created::Resolved(when) | Created::Closed(when) => {
            facts.push(Fact {
                at: when,
                resolved: true,
                first_contact: true,
                resolve_ms: when - ticket.opened,
                ..Fact::default()
            });
            states.push((when, false));
            if matches!(ticket.created, Created::Closed(_)) {
                "closed"
            } else {
                "resolved"
            }
        }
    };
    for c in changes.iter().filter(|c| c.key == ticket.key) {
        let (before, after) = (status, c.status);
        if before == after {
            continue;
        }
        let fact = Fact {
            at: c.at,
            resolved: is_active(before) && !is_active(after),
            first_contact: false,
            reopened: !is_active(before) && is_active(after),
            escalated: after == "escalated",
            resolve_ms: c.at - ticket.opened,
        };
        if fact.resolved || fact.reopened || fact.escalated {
            facts.push(fact);
        }
        if is_active(before) != is_active(after) {
            states.push((c.at, is_active(after)));
        }
        status = after;
    }
    (facts, states)
}

/// Opened before `to` and active after everything that happened before `to`.
fn in_backlog(ticket: &Ticket, states: &[(i64, bool)], to: i64) -> bool {
    ticket.opened < to
        && states
            .iter()
            .rfind(|(time, _)| *time < to)
            .is_some_and(|(_, active)| *active)
}

#[derive(Default)]
struct Tally {
    opened: u64,
    resolved: u64,
    reopened: u64,
    escalated: u64,
    first_contact: u64,
    backlog: u64,
    resolve_ms: Vec<i64>,
}

impl Tally {
    fn is_empty(&self) -> bool {
        self.opened + self.resolved + self.reopened + self.escalated + self.backlog == 0
    }

    fn to_json(&self) -> Value {
        let rate = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
        let mut sorted = self.resolve_ms.clone();
        sorted.sort_unstable();
        let n = sorted.len();
        // Nearest rank: the ⌈p·n⌉-th smallest.
        let rank = |percent: usize| (percent * n).div_ceil(100);
        let seconds = |ms: i64| ms as f64 / 1000.0;
        let (mean, p50, p90) = if n == 0 {
            (None, None, None)
        } else {
            (
                Some(sorted.iter().map(|&ms| seconds(ms)).sum::<f64>() / n as f64),
                Some(seconds(sorted[rank(50) - 1])),
                Some(seconds(sorted[rank(90) - 1])),
            )
        };
        json!({
            "opened": self.opened, "resolved": self.resolved,
            "reopened": self.reopened, "escalated": self.escalated,
            "backlog": self.backlog,
            "resolution_rate": rate(self.resolved, self.opened),
            "first_contact_resolution_rate": rate(self.first_contact, self.resolved),
            "mttr_seconds": {"mean": mean, "p50": p50, "p90": p90},
        })
    }
}

/// The value of `dimension` a ticket is grouped under.
fn group_of(ticket: &Ticket, dimension: &str) -> String {
    match dimension {
        "site" => ticket.site.to_string(),
        "department" => ticket.department.to_string(),
        "application" => ticket.application.to_string(),
        "category" => ticket.category.to_string(),
        "severity" => ticket.severity.to_string(),
        "channel" => ticket.channel.to_string(),
        other => panic!("no dimension {other}"),
    }
}

/// One call assembled from its events: the first event of each kind wins.
#[derive(Default)]
struct Call {
    queue: &'static str,
    offered: Option<i64>,
    answered: Option<i64>,
    abandoned: bool,
    ended: Option<i64>,
    wrap: Option<f64>,
}

#[derive(Default)]
struct CallTally {
    offered: u64,
    answered: u64,
    abandoned: u64,
    within_target: u64,
    wait_ms: Vec<i64>,
    handle_s: Vec<f64>,
}

impl CallTally {
    fn to_json(&self) -> Value {
        let rate = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
        let mean = |values: &[f64]| {
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        let waits: Vec<f64> = self.wait_ms.iter().map(|&ms| ms as f64 / 1000.0).collect();
        json!({
            "offered": self.offered, "answered": self.answered, "abandoned": self.abandoned,
            "abandonment_rate": rate(self.abandoned, self.offered),
            "service_level": rate(self.within_target, self.offered),
            "asa_seconds": mean(&waits),
            "aht_seconds": mean(&self.handle_s),
        })
    }
}

impl Script {
    fn calls(&self) -> BTreeMap<String, Call> {
        let mut calls: BTreeMap<String, Call> = BTreeMap::new();
        for e in &self.calls {
            let call = calls.entry(e.call_id.clone()).or_default();
            if call.queue.is_empty() || e.event == "offered" {
                call.queue = e.queue;
            }
            match e.event {
                "offered" => call.offered = call.offered.or(Some(e.at)),
                "answered" if !call.abandoned => call.answered = call.answered.or(Some(e.at)),
                "abandoned" if call.answered.is_none() => call.abandoned = true,
                "ended" => call.ended = call.ended.or(Some(e.at)),
                _ => {}
            }
            call.wrap = call.wrap.or(e.wrap);
        }
        calls
    }

    fn target_ms(&self, queue: &str) -> i64 {
        let seconds = self.targets.get(queue).copied().unwrap_or(20.0);
        (seconds * 1000.0) as i64
    }

    /// The report body the contract defines for `[from, to)`, without
    /// `staffing`.
    fn report(&self, from: i64, to: i64, group_by: &[&str]) -> Value {
        let inside = |time: i64| from <= time && time < to;
        let mut overall = Tally::default();
        let mut groups: Vec<BTreeMap<String, Tally>> =
            group_by.iter().map(|_| BTreeMap::new()).collect();
        for ticket in &self.tickets {
            let (facts, states) = history(ticket, &self.changes);
            let mut tallies: Vec<&mut Tally> = vec![&mut overall];
            for (dimension, map) in group_by.iter().zip(groups.iter_mut()) {
                tallies.push(map.entry(group_of(ticket, dimension)).or_default());
            }
            for tally in tallies {
                tally.opened += u64::from(inside(ticket.opened));
                tally.backlog += u64::from(in_backlog(ticket, &states, to));
                for fact in facts.iter().filter(|f| inside(f.at)) {
                    if fact.resolved {
                        tally.resolved += 1;
                        tally.first_contact += u64::from(fact.first_contact);
                        tally.resolve_ms.push(fact.resolve_ms);
                    }
                    tally.reopened += u64::from(fact.reopened);
                    tally.escalated += u64::from(fact.escalated);
                }
            }
        }
        let mut calls = CallTally::default();
        let mut by_queue: BTreeMap<&str, CallTally> = BTreeMap::new();
        for call in self.calls().values() {
            let Some(offered) = call.offered.filter(|&t| inside(t)) else {
                continue;
            };
            for tally in [&mut calls, by_queue.entry(call.queue).or_default()] {
                tally.offered += 1;
                tally.abandoned += u64::from(call.abandoned);
                if let Some(answered) = call.answered {
                    tally.answered += 1;
                    let wait = answered - offered;
                    tally.wait_ms.push(wait);
                    tally.within_target += u64::from(wait <= self.target_ms(call.queue));
                    if let Some(ended) = call.ended {
                        let talk = (ended - answered) as f64 / 1000.0;
                        tally.handle_s.push(talk + call.wrap.unwrap_or(0.0));
                    }
                }
            }
        }
        let mut body = json!({
            "from": iso(from), "to": iso(to),
            "tickets": overall.to_json(),
            "calls": calls.to_json(),
            "calls_by_queue": by_queue.iter().map(|(q, t)| (q.to_string(), t.to_json())).collect::<Map<_, _>>(),
        });
        if !group_by.is_empty() {
            let by: Map<String, Value> = group_by
                .iter()
                .zip(&groups)
                .map(|(dimension, map)| {
                    let values: Map<String, Value> = map
                        .iter()
                        .filter(|(_, tally)| !tally.is_empty())
                        .map(|(value, tally)| (value.clone(), tally.to_json()))
                        .collect();
                    (dimension.to_string(), Value::Object(values))
                })
                .collect();
            body["tickets_by"] = Value::Object(by);
        }
        body
    }
}

// ---------------------------------------------------------------------------
// Comparison helpers.
// ---------------------------------------------------------------------------

/// Equal JSON, except that floats may differ by 1e-9 (relative).
fn assert_json_close(actual: &Value, expected: &Value, path: &str) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            let mut a_keys: Vec<&String> = a.keys().collect();
            let mut e_keys: Vec<&String> = e.keys().collect();
            a_keys.sort();
            e_keys.sort();
            assert_eq!(
                a_keys, e_keys,
                "{path}: keys differ\nactual: {actual}\nexpected: {expected}"
            );
            for (key, value) in e {
                assert_json_close(&a[key], value, &format!("{path}.{key}"));
            }
        }
        (Value::Number(a), Value::Number(e)) if e.is_f64() || a.is_f64() => {
            let (a, e) = (
                a.as_f64().unwrap_or(f64::NAN),
                e.as_f64().unwrap_or(f64::NAN),
            );
            assert!(
                (a - e).abs() <= 1e-9 * e.abs().max(1.0),
                "{path}: {a} != expected {e}"
            );
        }
        _ => assert_eq!(actual, expected, "{path}"),
    }
}

/// The report without its `staffing` section.
fn figures(report: &Value) -> Value {
    let mut body = report.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("staffing");
    }
    body
}

// ---------------------------------------------------------------------------
// Talking to the server.
// ---------------------------------------------------------------------------

struct Client<'a> {
    server: &'a Server,
    agent: String,
    feed: String,
    lead: String,
    display: String,
    /// Script key → server ticket id.
    ids: HashMap<String, String>,
}

impl Client<'_> {
    async fn create(&mut self, ticket: &Ticket) {
        let mut body = json!({
            "external_id": format!("GL-{}", ticket.key),
            "opened_at": iso(ticket.opened),
            "site": ticket.site, "department": ticket.department,
            "application": ticket.application, "category": ticket.category,
            "severity": ticket.severity, "channel": ticket.channel,
            "summary": "scripted go-live ticket",
        });
        match ticket.created {
            Created::Open => {}
            Created::Escalated => body["status"] = json!("escalated"),
            Created::Resolved(when) => {
                body["status"] = json!("resolved");
                body["resolved_at"] = json!(iso(when));
            }
            Created::Closed(when) => {
                body["status"] = json!("closed");
                body["resolved_at"] = json!(iso(when));
            }
        }
        let (status, created) = self
            .server
            .call(
                Method::POST,
                "/api/v1/tickets",
                Some(&self.agent),
                Some(&body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{}: {created}", ticket.key);
        let id = created["id"].as_str().expect("id").to_string();
        self.ids.insert(ticket.key.clone(), id);
    }

    async fn patch(&self, key: &str, body: &Value) -> (StatusCode, Value) {
        let id = &self.ids[key];
        self.server
            .call(
                Method::PATCH,
                &format!("/api/v1/tickets/{id}"),
                Some(&self.agent),
                Some(body),
            )
            .await
    }

    async fn change(&self, change: &Change) {
        let (status, body) = self
            .patch(
                &change.key,
                &json!({"status": change.status, "at": iso(change.at)}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{change:?}: {body}");
        assert_eq!(body["status"], change.status);
    }

    async fn call_event(&self, event: &CallEvent) -> (StatusCode, Value) {
        let mut body = json!({
            "call_id": event.call_id, "queue": event.queue,
            "event": event.event, "at": iso(event.at),
        });
        if let Some(wrap) = event.wrap {
            body["wrap_seconds"] = json!(wrap);
        }
        if event.event == "answered" {
            body["agent"] = json!("a-17");
        }
        self.server
            .call(
                Method::POST,
                "/api/v1/calls/events",
                Some(&self.feed),
                Some(&body),
            )
            .await
    }

    async fn record(&self, event: &CallEvent) {
        let (status, body) = self.call_event(event).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{event:?}: {body}");
        assert_eq!(body["status"], "recorded", "{event:?}");
    }

    async fn configure(&self, queue: &str, body: Value) -> Value {
        let path = format!("/api/v1/queues/{}", encoded(queue));
        let (status, settings) = self
            .server
            .call(Method::PUT, &path, Some(&self.lead), Some(&body))
            .await;
        assert_eq!(status, StatusCode::OK, "{settings}");
        settings
    }

    async fn report(&self, from: i64, to: i64, group_by: Option<&str>) -> Value {
        let mut path = format!("/api/v1/report?from={}&to={}", iso(from), iso(to));
        if let Some(dimension) = group_by {
            path.push_str(&format!("&group_by={dimension}"));
        }
        let (status, body) = self
            .server
            .call(Method::GET, &path, Some(&self.display), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    async fn board(&self) -> Value {
        let (status, body) = self
            .server
            .call(Method::GET, "/api/v1/board", Some(&self.display), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Checks the report for `[from, to)` against the model, flat and with
    /// every grouping; returns the flat report.
    async fn check_window(&self, script: &Script, from: i64, to: i64) -> Value {
        let flat = self.report(from, to, None).await;
        assert!(
            flat.get("tickets_by").is_none(),
            "tickets_by only with group_by"
        );
        assert_json_close(
            &figures(&flat),
            &script.report(from, to, &[]),
            &format!("[{}, {})", iso(from), iso(to)),
        );
        for dimension in [
            "site",
            "department",
            "application",
            "category",
            "severity",
            "channel",
        ] {
            let grouped = self.report(from, to, Some(dimension)).await;
            assert_json_close(
                &figures(&grouped),
                &script.report(from, to, &[dimension]),
                &format!("[{}, {}) by {dimension}", iso(from), iso(to)),
            );
        }
        flat
    }
}

/// Polls the board until `done` holds for it, or fails after `limit`.
async fn board_until(
    client: &Client<'_>,
    limit: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let board = client.board().await;
        if done(&board) {
            return board;
        }
        assert!(
            Instant::now() < deadline,
            "board: {what} did not happen within {limit:?}; alerts: {}",
            board["alerts"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn has_sev1_alert(board: &Value) -> bool {
    board["alerts"]
        .as_array()
        .is_some_and(|alerts| alerts.iter().any(|a| a["rule"] == "sev1_open"))
}

// ---------------------------------------------------------------------------
// The test.
// ---------------------------------------------------------------------------

async fn golive_morning(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let mut client = Client {
        server: &server,
        agent: server.token("agent").await,
        feed: server.token("integration").await,
        lead: server.token("lead").await,
        display: server.token("display").await,
        ids: HashMap::new(),
    };
    let mut script = Script::default();

    // The physician line answers within 30 s; the nursing line keeps the
    // default 20 s.
    let settings = client
        .configure(PHYSICIAN, json!({"answer_target_seconds": 30}))
        .await;
    assert_eq!(settings["answer_target_seconds"], 30.0);
    script.targets.insert(PHYSICIAN, 30.0);

    // --- Post the morning. ---------------------------------------------------
    for ticket in morning_tickets() {
        client.create(&ticket).await;
        script.tickets.push(ticket);
    }
    for change in morning_changes() {
        client.change(&change).await;
        script.changes.push(change);
    }
    for event in morning_calls() {
        client.record(&event).await;
        script.calls.push(event);
    }

    // Writes that must count for nothing: the same external id again, an
    // assignee-only change, a status set to what it already is, a change
    // stamped before the ticket's last one, a repeated call event and an
    // impossible one.
    let again = json!({"external_id": "GL-T01", "opened_at": iso(at("06:02")), "site": MC,
        "department": "Emergency", "application": "Orders", "category": "how_to",
        "severity": 3, "channel": "phone", "status": "resolved", "resolved_at": iso(at("06:06"))});
    let (status, existing) = server
        .call(
            Method::POST,
            "/api/v1/tickets",
            Some(&client.agent),
            Some(&again),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{existing}");
    assert_eq!(existing["id"].as_str(), Some(client.ids["T01"].as_str()));
    let (status, body) = client
        .patch(
            "T18",
            &json!({"assignee": "desk-3", "tier": 2, "at": iso(at("08:00"))}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = client
        .patch("T18", &json!({"status": "open", "at": iso(at("08:01"))}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = client
        .patch("T03", &json!({"status": "open", "at": iso(at("07:00"))}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "stale_change");
    let (status, body) = client
        .call_event(&call("N1", NURSING, "offered", "06:05:00"))
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::ACCEPTED, Some("duplicate"))
    );
    let (status, body) = client
        .call_event(&call("P1", PHYSICIAN, "abandoned", "06:11:00"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "impossible_call_sequence");

    let (from, to) = (at("06:00:00"), at("09:00:00"));

    // Before the late import: nothing in the backlog at 05:30, 29
    // resolutions in the morning.
    let early = client.report(at("05:00"), at("05:30"), None).await;
    assert_eq!(early["tickets"]["backlog"], 0);
    let before_import = client.report(from, to, None).await;
    assert_eq!(before_import["tickets"]["resolved"], 29);
    assert_json_close(
        &figures(&before_import),
        &script.report(from, to, &[]),
        "before import",
    );

    // The late import: yesterday evening's ticket, entered after the fact,
    // resolved during the morning.
    let late = ticket(
        "T38",
        "2026-03-01T22:30:00Z",
        MC,
        "Emergency",
        "Orders",
        "how_to",
        3,
        "phone",
        Created::Open,
    );
    client.create(&late).await;
    script.tickets.push(late);
    let fixed = change("T38", "08:30", "resolved");
    client.change(&fixed).await;
    script.changes.push(fixed);

    // --- The whole morning, [06:00, 09:00), worked out by hand. ---------------
    let morning = client.check_window(&script, from, to).await;
    assert_eq!(morning["from"], "2026-03-02T06:00:00.000Z");
    assert_eq!(morning["to"], "2026-03-02T09:00:00.000Z");
    let tickets = &morning["tickets"];
    // Opened: all 40 but T34 (exactly 09:00, excluded) and T38 (yesterday);
    // T35 at exactly 06:00 counts.
    assert_eq!(tickets["opened"], 38);
    // Resolutions in the window (seconds from opening):
    //   first contact: T01 240, T04 600, T09 420, T12 480, T14 240,
    //     T17 300, T20 0, T22 240, T26 180, T29 360, T31 120 (closed), T35 180
    //   by change: T02 2700, T03 3600, T05 7200, T06 3600, T07 900,
    //     T10 1800 and 5700 (resolved, reopened, resolved), T15 1500,
    //     T16 1800, T17 4200 (after its reopen), T19 2700,
    //     T23 2400 (escalated → closed), T24 1200, T36 3300 and 7680,
    //     T37 1170, T38 36000 (late import), T39 900.
    //   T28's resolution at exactly 09:00 is outside; closes after a
    //   resolution (T15, T36) are not resolutions.
    assert_eq!(tickets["resolved"], 30);
    // Reopens: T10 08:05, T17 08:15, T36 08:30 (closed → escalated).
    assert_eq!(tickets["reopened"], 3);
    // Escalations: T05, T06 (created escalated), T11, T17, T23, T36 twice.
    assert_eq!(tickets["escalated"], 7);
    // Active at 09:00: T08 T11 T13 T18 T21 T25 T27 T28 (resolved only at
    // 09:00) T30 T32 T33 T40.
    assert_eq!(tickets["backlog"], 12);
    assert_close!(tickets["resolution_rate"], 30.0 / 38.0);
    assert_close!(tickets["first_contact_resolution_rate"], 12.0 / 30.0);
    // Sorted: 0 120 180 180 240 240 240 300 360 420 480 600 900 900 1170
    // 1200 1500 1800 1800 2400 2700 2700 3300 3600 3600 4200 5700 7200 7680
    // 36000; sum 91710; p50 is the 15th, p90 the 27th.
    assert_close!(tickets["mttr_seconds"]["mean"], 91710.0 / 30.0);
    assert_close!(tickets["mttr_seconds"]["p50"], 1170.0);
    assert_close!(tickets["mttr_seconds"]["p90"], 5700.0);

    // Calls by offered time; P9 (09:00) and P10 (05:59:59) are outside.
    // Physician (30 s target): P1 25 s, P2 40 s, P3 abandoned, P4 10 s,
    // P5 30 s, P6 abandoned, P7 5 s (never ended), P8 90 s (answered after
    // 09:00). Handle: P1 360+30, P2 240+20, P4 300, P5 600+60, P8 180+30.
    let physician = &morning["calls_by_queue"][PHYSICIAN];
    assert_eq!(
        (
            &physician["offered"],
            &physician["answered"],
            &physician["abandoned"]
        ),
        (&json!(8), &json!(6), &json!(2))
    );
    assert_close!(physician["abandonment_rate"], 2.0 / 8.0);
    assert_close!(physician["service_level"], 4.0 / 8.0);
    assert_close!(physician["asa_seconds"], 200.0 / 6.0);
    assert_close!(physician["aht_seconds"], 1820.0 / 5.0);
    // Nursing (20 s): N1 15 s, N2 abandoned, N3 20 s, N4 21 s, N5
    // abandoned, N6 10 s, N7 waiting, N8 abandoned. Handle: N1 180+45,
    // N3 300+15, N4 240, N6 120+20.
    let nursing = &morning["calls_by_queue"][NURSING];
    assert_eq!(
        (
            &nursing["offered"],
            &nursing["answered"],
            &nursing["abandoned"]
        ),
        (&json!(8), &json!(4), &json!(3))
    );
    assert_close!(nursing["abandonment_rate"], 3.0 / 8.0);
    assert_close!(nursing["service_level"], 3.0 / 8.0);
    assert_close!(nursing["asa_seconds"], 66.0 / 4.0);
    assert_close!(nursing["aht_seconds"], 920.0 / 4.0);
    let calls = &morning["calls"];
    assert_eq!(
        (&calls["offered"], &calls["answered"], &calls["abandoned"]),
        (&json!(16), &json!(10), &json!(5))
    );
    assert_close!(calls["abandonment_rate"], 5.0 / 16.0);
    assert_close!(calls["service_level"], 7.0 / 16.0);
    assert_close!(calls["asa_seconds"], 266.0 / 10.0);
    assert_close!(calls["aht_seconds"], 2740.0 / 9.0);
    // The report's staffing lines cover both queues over this window.
    let lines = morning["staffing"].as_array().expect("staffing");
    let line = |queue: &str| {
        lines
            .iter()
            .find(|l| l["queue"] == queue)
            .unwrap_or_else(|| panic!("no staffing line for {queue}"))
            .clone()
    };
    assert_eq!(line(PHYSICIAN)["calls_offered"], 8);
    assert_close!(line(PHYSICIAN)["aht_seconds"], 364.0);
    assert_close!(line(PHYSICIAN)["interval_seconds"], 3.0 * 3600.0);
    // A = C·H/T = 8 · 364 / 10800.
    assert_close!(line(PHYSICIAN)["traffic_erlangs"], 8.0 * 364.0 / 10800.0);
    assert_eq!(line(NURSING)["calls_offered"], 8);
    assert_close!(line(NURSING)["aht_seconds"], 230.0);

    // One site by hand: Children's Pavilion opened T04 T08 T12 T17 T22 T27
    // T32 T39; resolutions T04 600 (fc), T12 480 (fc), T17 300 (fc) and
    // 4200, T22 240 (fc), T39 900; T17 reopened and escalated; T08 T27 T32
    // active at 09:00.
    let by_site = client.report(from, to, Some("site")).await;
    let pavilion = &by_site["tickets_by"]["site"][CP];
    assert_eq!(
        [
            &pavilion["opened"],
            &pavilion["resolved"],
            &pavilion["reopened"],
            &pavilion["escalated"],
            &pavilion["backlog"]
        ],
        [&json!(8), &json!(6), &json!(1), &json!(1), &json!(3)]
    );
    assert_close!(pavilion["first_contact_resolution_rate"], 4.0 / 6.0);
    assert_close!(pavilion["mttr_seconds"]["mean"], 6720.0 / 6.0);
    assert_close!(pavilion["mttr_seconds"]["p50"], 480.0);
    assert_close!(pavilion["mttr_seconds"]["p90"], 4200.0);
    let sites: Vec<&String> = by_site["tickets_by"]["site"]
        .as_object()
        .expect("sites")
        .keys()
        .collect();
    assert_eq!(sites, [CP, MC, NH]);

    // --- Boundaries: [07:00, 07:30). ---------------------------------------
    let half = client.check_window(&script, at("07:00"), at("07:30")).await;
    let tickets = &half["tickets"];
    // Opened: T08 (exactly 07:00) T37 T09 T10 T11 T12 T13; not T14 (07:30).
    assert_eq!(tickets["opened"], 7);
    // Resolved: T07 (exactly 07:00) 900, T03 3600, T09 420 (fc), T37 1170,
    // T12 480 (fc); not T06 (07:30).
    assert_eq!(tickets["resolved"], 5);
    assert_eq!(tickets["reopened"], 0);
    // Escalated: T36 at 07:15; not T11 (07:30).
    assert_eq!(tickets["escalated"], 1);
    // Active at 07:30: T05 T06 (its resolution is at 07:30) T08 T10 T11 T13
    // T36 and the late import T38.
    assert_eq!(tickets["backlog"], 8);
    assert_close!(tickets["first_contact_resolution_rate"], 2.0 / 5.0);
    assert_close!(tickets["mttr_seconds"]["mean"], 6570.0 / 5.0);
    assert_close!(tickets["mttr_seconds"]["p50"], 900.0);
    assert_close!(tickets["mttr_seconds"]["p90"], 3600.0);
    // Calls: P3 (exactly 07:00, abandoned), N4 (21 s > 20 s), P4 (10 s);
    // not N5 (07:30).
    let calls = &half["calls"];
    assert_eq!(
        (&calls["offered"], &calls["answered"], &calls["abandoned"]),
        (&json!(3), &json!(2), &json!(1))
    );
    assert_close!(calls["service_level"], 1.0 / 3.0);
    assert_close!(calls["asa_seconds"], 31.0 / 2.0);
    assert_close!(calls["aht_seconds"], 540.0 / 2.0);

    // Before the morning: nothing happened, so every rate is null; the
    // late import is in the backlog.
    let early = client.check_window(&script, at("05:00"), at("05:30")).await;
    assert_eq!(early["tickets"]["backlog"], 1);
    assert_eq!(early["tickets"]["opened"], 0);
    assert_eq!(early["tickets"]["resolution_rate"], Value::Null);
    assert_eq!(
        early["tickets"]["first_contact_resolution_rate"],
        Value::Null
    );
    assert_eq!(
        early["tickets"]["mttr_seconds"],
        json!({"mean": null, "p50": null, "p90": null})
    );
    assert_eq!(early["calls"]["offered"], 0);
    for rate in [
        "abandonment_rate",
        "service_level",
        "asa_seconds",
        "aht_seconds",
    ] {
        assert_eq!(early["calls"][rate], Value::Null, "{rate}");
    }
    assert_eq!(early["calls_by_queue"], json!({}));

    // The last second of the morning: T33 opened at 08:59:59.
    let last = client
        .check_window(&script, at("08:59:59"), at("09:00:00"))
        .await;
    assert_eq!(last["tickets"]["opened"], 1);
    assert_eq!(last["tickets"]["backlog"], 12);

    // Every other window, against the model.
    for (a, b) in [
        ("06:00", "07:00"),
        ("07:00", "08:00"),
        ("08:00", "09:00"),
        ("07:30", "08:00"),
        ("08:00:00", "08:00:01"),
        ("2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z"),
    ] {
        client.check_window(&script, at(a), at(b)).await;
    }

    // Service level follows the queue's *current* answer target: at 40 s,
    // P2 (40 s) is within it too.
    client
        .configure(PHYSICIAN, json!({"answer_target_seconds": 40}))
        .await;
    script.targets.insert(PHYSICIAN, 40.0);
    let retargeted = client.check_window(&script, from, to).await;
    assert_close!(
        retargeted["calls_by_queue"][PHYSICIAN]["service_level"],
        5.0 / 8.0
    );
    assert_close!(retargeted["calls"]["service_level"], 8.0 / 16.0);

    // --- The live board. -----------------------------------------------------
    // Its windows end now, so a second batch is dated relative to now.
    let now = Utc::now().timestamp_millis() / SECOND * SECOND;
    let ago = |minutes: i64, seconds: i64| iso(now - minutes * MINUTE + seconds * SECOND);
    let recent = [
        ticket(
            "B1",
            &ago(10, 0),
            MC,
            "Emergency",
            "Orders",
            "how_to",
            3,
            "ate",
            Created::Open,
        ),
        ticket(
            "B2",
            &ago(10, 30),
            NH,
            "ICU",
            "MAR",
            "access",
            2,
            "walk_in",
            Created::Resolved(now - 8 * MINUTE),
        ),
        ticket(
            "B3",
            &ago(40, 0),
            MC,
            "ICU",
            "Orders",
            "break_fix",
            3,
            "phone",
            Created::Open,
        ),
        ticket(
            "B4",
            &ago(70, 0),
            CP,
            "Clinic",
            "Lab",
            "data",
            3,
            "phone",
            Created::Open,
        ),
    ];
    for t in recent {
        client.create(&t).await;
        script.tickets.push(t);
    }
    for c in [
        change("B3", &ago(5, 0), "resolved"),
        change("B4", &ago(12, 0), "escalated"),
    ] {
        client.change(&c).await;
        script.changes.push(c);
    }
    let recent_calls = [
        call("C1", PHYSICIAN, "offered", &ago(9, 0)),
        call("C1", PHYSICIAN, "answered", &ago(9, 15)),
        ended("C1", PHYSICIAN, &ago(5, 0), Some(30.0)),
        call("C2", PHYSICIAN, "offered", &ago(40, 0)),
        call("C2", PHYSICIAN, "abandoned", &ago(40, 50)),
        call("C3", PHYSICIAN, "offered", &ago(5, 0)),
        call("C4", NURSING, "offered", &ago(20, 0)),
        call("C4", NURSING, "answered", &ago(20, 25)),
        ended("C4", NURSING, &ago(17, 0), Some(10.0)),
    ];
    for e in recent_calls {
        client.record(&e).await;
        script.calls.push(e);
    }

    // Until now no severity-1 ticket is open (T06 and T19 were resolved):
    // the alert raised while they were open has been cleared.
    let board = board_until(&client, Duration::from_secs(15), "sev1_open cleared", |b| {
        !has_sev1_alert(b)
    })
    .await;
    assert_eq!(board["open_sev1"], 0);

    let as_of = at(board["as_of"].as_str().expect("as_of"));
    let windows = [("15m", 15 * MINUTE), ("60m", 60 * MINUTE)];
    for (name, length) in windows {
        let window = &board["windows"][name];
        let (from, to) = (as_of - length, as_of);
        let by_application = client.report(from, to, Some("application")).await;
        let by_site = client.report(from, to, Some("site")).await;
        // The same numbers the report gives for that window: everything but
        // the groupings (the board has two, a report one), then each
        // grouping.
        let strip = |body: &Value| {
            let mut body = body.clone();
            body.as_object_mut().map(|m| m.remove("tickets_by"));
            body
        };
        assert_eq!(
            strip(window),
            strip(&by_application),
            "board {name} vs report"
        );
        assert_eq!(
            window["tickets_by"]["application"], by_application["tickets_by"]["application"],
            "board {name} by application"
        );
        assert_eq!(
            window["tickets_by"]["site"], by_site["tickets_by"]["site"],
            "board {name} by site"
        );
        assert_json_close(
            &figures(window),
            &script.report(from, to, &["application", "site"]),
            &format!("board {name}"),
        );
    }
    // By hand. 15 m: opened B1 B2; resolved B2 (first contact) and B3;
    // escalated B4; calls C1 (answered) and C3 (waiting).
    let w15 = &board["windows"]["15m"];
    assert_eq!(
        [
            &w15["tickets"]["opened"],
            &w15["tickets"]["resolved"],
            &w15["tickets"]["escalated"]
        ],
        [&json!(2), &json!(2), &json!(1)]
    );
    assert_close!(w15["tickets"]["first_contact_resolution_rate"], 0.5);
    assert_eq!(
        [
            &w15["calls"]["offered"],
            &w15["calls"]["answered"],
            &w15["calls"]["abandoned"]
        ],
        [&json!(2), &json!(1), &json!(0)]
    );
    // 60 m: opened B1 B2 B3 (B4 is 70 minutes old); calls C1 C2 C3 C4.
    let w60 = &board["windows"]["60m"];
    assert_eq!(
        [
            &w60["tickets"]["opened"],
            &w60["tickets"]["resolved"],
            &w60["tickets"]["escalated"]
        ],
        [&json!(3), &json!(2), &json!(1)]
    );
    assert_eq!(
        [
            &w60["calls"]["offered"],
            &w60["calls"]["answered"],
            &w60["calls"]["abandoned"]
        ],
        [&json!(4), &json!(2), &json!(1)]
    );
    // Backlog now: the 12 active at 09:00, less T28 (resolved at 09:00),
    // plus T34 (opened at 09:00), plus B1 and B4.
    assert_eq!(w15["tickets"]["backlog"], 14);
    assert_eq!(w60["tickets"]["backlog"], 14);
    // Waiting now: C3 only (N7 is older than the 4-hour cutoff).
    assert_eq!(board["calls_waiting"], json!({NURSING: 0, PHYSICIAN: 1}));

    // Trend: 120 one-minute points ending at as_of, adding up to the model.
    let trend = &board["trend"];
    assert_eq!(trend["bucket_seconds"], 60);
    let points = trend["points"].as_array().expect("points");
    assert_eq!(points.len(), 120);
    for (i, point) in points.iter().enumerate() {
        let start = at(point["at"].as_str().expect("at"));
        let end = (start + MINUTE).min(as_of);
        if i + 1 < points.len() {
            assert_eq!(
                at(points[i + 1]["at"].as_str().expect("at")),
                start + MINUTE
            );
        } else {
            assert!(
                start < as_of && as_of <= start + MINUTE,
                "last point holds as_of"
            );
        }
        let expected = script.report(start, end, &[]);
        let resolved = expected["tickets"]["resolved"].clone();
        assert_eq!(point["opened"], expected["tickets"]["opened"], "trend {i}");
        assert_eq!(point["resolved"], resolved, "trend {i}");
        assert_eq!(point["offered"], expected["calls"]["offered"], "trend {i}");
        assert_eq!(
            point["abandoned"], expected["calls"]["abandoned"],
            "trend {i}"
        );
    }
    let total = |field: &str| {
        points
            .iter()
            .map(|p| p[field].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    // B1 B2 B3 B4 opened; B2 B3 resolved; C1–C4 offered, C2 abandoned.
    assert_eq!(
        [
            total("opened"),
            total("resolved"),
            total("offered"),
            total("abandoned")
        ],
        [4, 2, 4, 1]
    );

    // Live staffing over the last 30 minutes: C1 and C3 on the physician
    // line (C2 is 40 minutes old), C4 on the nursing line.
    let staffing = board["staffing"].as_array().expect("staffing");
    let offered = |queue: &str| {
        staffing
            .iter()
            .find(|l| l["queue"] == queue)
            .map(|l| l["calls_offered"].clone())
    };
    assert_eq!(offered(PHYSICIAN), Some(json!(2)));
    assert_eq!(offered(NURSING), Some(json!(1)));
    // At-the-elbow: one line per known site; B1 (ate) and B2 (walk_in) are
    // the only at-the-elbow tickets of the last 30 minutes.
    let ate = board["ate"].as_array().expect("ate");
    let ate_tickets: BTreeMap<&str, u64> = ate
        .iter()
        .map(|s| {
            (
                s["site"].as_str().unwrap_or(""),
                s["tickets"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(ate_tickets, BTreeMap::from([(CP, 0), (MC, 1), (NH, 1)]));

    // A severity-1 ticket raises `sev1_open` on the board within seconds.
    let sev1 = ticket(
        "B5",
        &ago(1, 0),
        NH,
        "ICU",
        "Lab",
        "interface",
        1,
        "phone",
        Created::Open,
    );
    client.create(&sev1).await;
    script.tickets.push(sev1);
    let board = board_until(
        &client,
        Duration::from_secs(10),
        "sev1_open raised",
        has_sev1_alert,
    )
    .await;
    let alert = board["alerts"]
        .as_array()
        .and_then(|alerts| alerts.iter().find(|a| a["rule"] == "sev1_open"))
        .expect("sev1 alert");
    assert_eq!(alert["severity"], "critical");
    assert!(
        alert["raised_at"].is_string() && alert.get("cleared_at").is_none(),
        "{alert}"
    );
    assert_eq!(board["open_sev1"], 1);
    assert_eq!(board["backlog_by_severity"]["1"], 1);
    assert_eq!(board["windows"]["15m"]["tickets"]["backlog"], 15);
}
both_backends!(golive_morning, golive_morning);
