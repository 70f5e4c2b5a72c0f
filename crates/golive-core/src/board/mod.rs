//! The live board as one typed value, built in one place for any scope.
//!
//! Every tick the server computes the center-wide figures once ([`Parts`]:
//! the aggregator's board, the open tickets, the live staffing, the recent
//! interval's calls) and evaluates the alerts on them; then
//! [`LiveBoard::build`] cuts a board for each scope a display asked for.
//! A scope cuts every table, alert and staffing line on the server, so a
//! display never sees what is not its own.
//!
//! The unscoped board's windows are the report bodies of their windows
//! (`GET /api/v1/report` with its `staffing`). A site's board counts only
//! that site's tickets and carries no call figures (calls belong to
//! queues, not sites); a queue's board carries only that queue's calls and
//! staffing line and no ticket figures.
//!
//! Change detection ([`LiveBoard::fingerprint`]) compares the figures as a
//! display shows them ([`display`]), not the window bounds that move every
//! second, so an idle display is sent nothing.

pub mod display;
pub mod explain;
pub mod scope;
pub mod triage;

pub use scope::{Scope, ScopeError};

use crate::aggregate::{
    Aggregator, Aging, Board, CallFigures, Escalations, KnownIssueTop, LONG_WINDOW_MS, OpenSummary,
    Report, SHORT_WINDOW_MS, Sev1Group, Surge, TicketFigures, Trend,
};
use crate::alerts::{self, Alert, AlertRules, BACKLOG_STEP_MINUTES, Thresholds};
use crate::ate_model::AteRecommendation;
use crate::model::KnownIssueStatus;
use crate::staffing::{self, ApplicationForecast, LiveStaffing, QueueStaffing, StaffingSettings};
use crate::time::Millis;
use serde::Serialize;
use std::collections::BTreeMap;
use triage::AlertGroup;

const DAY_MS: Millis = 24 * 3_600_000;
/// Most known issues the board lists.
pub const BOARD_KNOWN_ISSUES: usize = 5;

/// What the board is built with, from the server's configuration.
#[derive(Clone, Copy, Debug)]
pub struct Settings<'a> {
    pub staffing: &'a StaffingSettings,
    pub rules: &'a AlertRules,
    pub go_live_start: Option<Millis>,
}

/// The center-wide figures of one moment, computed once per tick and
/// shared by every scope's board.
#[derive(Clone, Debug)]
pub struct Parts {
    pub now: Millis,
    pub board: Board,
    pub open: OpenSummary,
    pub live: LiveStaffing,
    /// Calls of the live staffing's recent interval, by queue (its ticket
    /// backlog is not computed).
    pub recent: Report,
}

impl Parts {
    /// The figures as of `now`.
    pub fn new(aggregator: &Aggregator, now: Millis, settings: &Settings<'_>) -> Parts {
        let recent_from =
            now - Millis::from(settings.staffing.recent_interval_seconds.max(60)) * 1000;
        Parts {
            now,
            board: aggregator.board(now, settings.go_live_start),
            open: aggregator.open_summary(now, None),
            live: staffing::live(aggregator, now, settings.staffing),
            recent: aggregator.calls_report(recent_from, now),
        }
    }
}

/// The open backlog every [`BACKLOG_STEP_MINUTES`] back over the
/// rising-backlog rule's span, oldest first, ending at the parts' moment:
/// what that alert rule reads.
pub fn backlog_samples(aggregator: &Aggregator, parts: &Parts, rules: &AlertRules) -> Vec<u64> {
    let steps = rules.backlog_rising_minutes / BACKLOG_STEP_MINUTES;
    let now_backlog = parts.board.windows.last_15m.tickets.backlog;
    let step = Millis::from(BACKLOG_STEP_MINUTES) * 60_000;
    aggregator.backlog_steps(parts.now, now_backlog, step, steps)
}

/// `GET /api/v1/board?as_of=T`: the board of `scope` (already checked) as
/// it stood at `at`, computed now from the log with the live board's own
/// definitions (its windows are the reports over the windows ending at
/// `at`). Its alerts are the conditions that held at `at`, as raised then
/// (alert histories and acknowledgements are not replayed onto it).
pub fn as_of(
    aggregator: &Aggregator,
    at: Millis,
    settings: &Settings<'_>,
    scope: &Scope,
) -> LiveBoard {
    let parts = Parts::new(aggregator, at, settings);
    let samples = backlog_samples(aggregator, &parts, settings.rules);
    let conditions = alerts::evaluate(
        settings.rules,
        &parts.board,
        &parts.open.sev1,
        &parts.live.queues,
        &samples,
    );
    let standing = alerts::standing_at(at, conditions);
    LiveBoard::build(aggregator, &parts, settings, scope, &standing)
}

/// `GET /api/v1/board` and the live socket's `board`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LiveBoard {
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub as_of: Millis,
    /// Present on a scoped board only.
    #[serde(skip_serializing_if = "Scope::is_all")]
    pub scope: Scope,
    /// The go-live start and which day of it this is; with `go_live_start`
    /// configured only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go_live: Option<GoLive>,
    pub windows: Windows,
    /// Per-minute counts of the last two hours (a site's: tickets only).
    pub trend: Trend,
    pub surges: Vec<Surge>,
    /// Queue → calls waiting now.
    pub calls_waiting: BTreeMap<String, u64>,
    /// Severity "1".."4" → active tickets now (not on a queue's board).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog_by_severity: Option<BTreeMap<String, u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_sev1: Option<u64>,
    /// Where the open severity-1 tickets are, and since when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sev1: Option<Vec<Sev1Group>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aging: Option<Aging>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalations: Option<Escalations>,
    /// The live staffing recommendation per queue, explained.
    pub staffing: Vec<StaffingLine>,
    /// At-the-elbow staff per site.
    pub ate: Vec<AteRecommendation>,
    /// Tickets expected per application in the next hour.
    pub forecast: Vec<ApplicationForecast>,
    /// The open known issues with the most tickets in the last 60
    /// minutes (of the site on a site's board; none on a queue's), with
    /// the hour before and a 10-minute trend.
    pub known_issues: Vec<KnownIssueTop>,
    /// Active alerts in triage order.
    pub alerts: Vec<Alert>,
    /// The alerts taken together where many are of one kind.
    pub alert_groups: Vec<AlertGroup>,
    /// Colour thresholds, from the same `[alerts]` as the alerts.
    pub thresholds: Thresholds,
}

/// Where the go-live stands.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GoLive {
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub start: Millis,
    /// Day 1 is the first 24 hours from the start; 0 before it.
    pub day: u32,
}

/// The board's windows, all ending at `as_of`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Windows {
    #[serde(rename = "15m")]
    pub last_15m: Window,
    #[serde(rename = "60m")]
    pub last_60m: Window,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_go_live: Option<Window>,
}

/// One window's figures for the board's scope (the report body on the
/// unscoped board).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Window {
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub from: Millis,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub to: Millis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tickets: Option<TicketFigures>,
    /// By application and by site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tickets_by: Option<BTreeMap<String, BTreeMap<String, TicketFigures>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<CallFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls_by_queue: Option<BTreeMap<String, CallFigures>>,
    /// Erlang C and A per queue over the window; not since the go-live
    /// start (a day-long average staffs nobody, and it would change with
    /// every second the window grows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staffing: Option<Vec<QueueStaffing>>,
}

/// A queue's live recommendation with what it rests on and why it may
/// differ from the service level measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StaffingLine {
    #[serde(flatten)]
    pub line: QueueStaffing,
    /// The recommendation's interval.
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub interval_from: Millis,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub interval_to: Millis,
    /// Service level measured over the same interval (null without calls).
    pub measured_service_level: Option<f64>,
    /// Why the figures are what they are, in a sentence or two.
    pub explanation: String,
}

impl LiveBoard {
    /// The board of `scope` (already checked) from the tick's `parts`,
    /// with the tick's active `alerts` (in triage order).
    pub fn build(
        aggregator: &Aggregator,
        parts: &Parts,
        settings: &Settings<'_>,
        scope: &Scope,
        alerts: &[Alert],
    ) -> LiveBoard {
        let now = parts.now;
        let site_board;
        let board = match scope.site() {
            Some(site) => {
                site_board = aggregator.board_where(now, settings.go_live_start, Some(site));
                &site_board
            }
            None => &parts.board,
        };
        let site_open;
        let open = match scope {
            Scope::Site(site) => {
                site_open = aggregator.open_summary(now, Some(site));
                Some(&site_open)
            }
            Scope::Queue(_) => None,
            Scope::All => Some(&parts.open),
        };
        let window = |report: &Report, from: Millis| {
            let mut window = window_for(report, from, now, scope);
            window.staffing = Some(match scope {
                Scope::Site(_) => Vec::new(),
                _ => {
                    let mut lines =
                        staffing::for_report(aggregator, report, from, now, settings.staffing);
                    lines.retain(|line| scope.queue().is_none_or(|q| q == line.queue));
                    lines
                }
            });
            window
        };
        let windows = Windows {
            last_15m: window(&board.windows.last_15m, now - SHORT_WINDOW_MS),
            last_60m: window(&board.windows.last_60m, now - LONG_WINDOW_MS),
            since_go_live: board
                .windows
                .since_go_live
                .as_ref()
                .zip(settings.go_live_start)
                .map(|(report, start)| window_for(report, start, now, scope)),
        };
        let in_queue_scope = |queue: &str| scope.queue().is_none_or(|q| q == queue);
        let interval_ms = (parts.live.interval_seconds * 1000.0) as Millis;
        let staffing = match scope {
            Scope::Site(_) => Vec::new(),
            _ => parts
                .live
                .queues
                .iter()
                .filter(|line| in_queue_scope(&line.queue))
                .map(|line| {
                    let measured = parts.recent.calls_by_queue.get(&line.queue);
                    StaffingLine {
                        line: line.clone(),
                        interval_from: now - interval_ms,
                        interval_to: now,
                        measured_service_level: measured.and_then(|m| m.service_level),
                        explanation: explain::explain(line, measured),
                    }
                })
                .collect(),
        };
        let mut calls_waiting = board.calls_waiting.clone();
        calls_waiting.retain(|queue, _| in_queue_scope(queue));
        let alerts: Vec<Alert> = alerts
            .iter()
            .filter(|alert| scope.admits(&alert.condition.scope))
            .cloned()
            .collect();
        let tickets_shown = scope.queue().is_none();
        LiveBoard {
            as_of: now,
            scope: scope.clone(),
            go_live: settings.go_live_start.map(|start| GoLive {
                start,
                day: if now < start {
                    0
                } else {
                    u32::try_from((now - start) / DAY_MS + 1).unwrap_or(u32::MAX)
                },
            }),
            windows,
            trend: match scope.queue() {
                None => board.trend.clone(),
                Some(queue) => aggregator.queue_trend(now, queue),
            },
            surges: if tickets_shown {
                board.surges.clone()
            } else {
                Vec::new()
            },
            calls_waiting,
            backlog_by_severity: tickets_shown.then(|| board.backlog_by_severity.clone()),
            open_sev1: tickets_shown.then_some(board.open_sev1),
            sev1: open.map(|o| o.sev1.clone()),
            aging: open.map(|o| o.aging.clone()),
            escalations: open.map(|o| o.escalations.clone()),
            staffing,
            ate: match scope {
                Scope::All => parts.live.sites.clone(),
                Scope::Site(site) => parts
                    .live
                    .sites
                    .iter()
                    .filter(|line| &line.site == site)
                    .cloned()
                    .collect(),
                Scope::Queue(_) => Vec::new(),
            },
            forecast: match scope {
                Scope::All => parts.live.applications.clone(),
                _ => Vec::new(),
            },
            known_issues: match scope {
                Scope::Queue(_) => Vec::new(),
                _ => top_known_issues(aggregator, now, scope.site()),
            },
            alert_groups: triage::groups(&alerts, settings.rules),
            alerts,
            thresholds: settings.rules.thresholds(),
        }
    }

    /// The board's figures as a display shows them, without the moments
    /// that move with the clock (`as_of`, window bounds, empty trend
    /// minutes): two boards with equal fingerprints look the same.
    pub fn fingerprint(&self) -> Vec<u8> {
        let mut still = self.clone();
        still.as_of = 0;
        for window in [
            Some(&mut still.windows.last_15m),
            Some(&mut still.windows.last_60m),
            still.windows.since_go_live.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            window.from = 0;
            window.to = 0;
        }
        for line in &mut still.staffing {
            line.interval_from = 0;
            line.interval_to = 0;
        }
        still
            .trend
            .points
            .retain(|p| p.opened + p.resolved + p.offered + p.abandoned > 0);
        display::encode(&still)
    }
}

/// The board's known issues: open at `now`, most tickets in the last 60
/// minutes first.
fn top_known_issues(
    aggregator: &Aggregator,
    now: Millis,
    site: Option<&str>,
) -> Vec<KnownIssueTop> {
    let mut lines = aggregator.known_issues_top(now - LONG_WINDOW_MS, now, site, usize::MAX);
    lines.retain(|line| line.status == KnownIssueStatus::Open);
    lines.truncate(BOARD_KNOWN_ISSUES);
    lines
}

/// A window of the board for `scope`, from the scope's report, without
/// staffing lines.
fn window_for(report: &Report, from: Millis, to: Millis, scope: &Scope) -> Window {
    let staffing = None;
    match scope {
        Scope::All => Window {
            from,
            to,
            tickets: Some(report.tickets.clone()),
            tickets_by: report.tickets_by.clone(),
            calls: Some(report.calls.clone()),
            calls_by_queue: Some(report.calls_by_queue.clone()),
            staffing,
        },
        Scope::Site(_) => Window {
            from,
            to,
            tickets: Some(report.tickets.clone()),
            tickets_by: report.tickets_by.clone(),
            calls: None,
            calls_by_queue: None,
            staffing,
        },
        Scope::Queue(queue) => {
            let calls = report.calls_by_queue.get(queue).cloned();
            Window {
                from,
                to,
                tickets: None,
                tickets_by: None,
                calls: Some(calls.clone().unwrap_or_else(no_calls)),
                calls_by_queue: Some(calls.map(|c| (queue.clone(), c)).into_iter().collect()),
                staffing,
            }
        }
    }
}

fn no_calls() -> CallFigures {
    CallFigures {
        offered: 0,
        answered: 0,
        abandoned: 0,
        abandonment_rate: None,
        service_level: None,
        asa_seconds: None,
        aht_seconds: None,
    }
}

#[cfg(test)]
mod tests;
