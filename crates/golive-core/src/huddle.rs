//! The daily huddle report: the figures a command center goes through at
//! its shift huddles, for one day or one shift, hour by hour. Every
//! number is a report figure (the same definitions as `GET
//! /api/v1/report`): each hour row is the report over that hour, the
//! totals and the top applications the report over the whole span, the
//! staffing lines the report's staffing lines over each hour.
//!
//! The span runs from the day's (or shift's) start to its end, or to the
//! end of the current hour while it is still going: hours that have not
//! begun are not listed, as for the rollout waves.

use crate::aggregate::{Aggregator, CallFigures, Report};
use crate::csv::push_row;
use crate::model::TicketDimension;
use crate::staffing::{self, StaffingSettings};
use crate::time::{Millis, format_rfc3339};
use serde::Serialize;

pub const HOUR_MS: Millis = 3_600_000;

/// What to report on.
#[derive(Clone, Debug)]
pub struct HuddleRequest {
    /// The local date, `YYYY-MM-DD`.
    pub date: String,
    /// The shift's name, or `None` for the whole day.
    pub shift: Option<String>,
    /// The IANA zone the date and shift boundaries are in.
    pub time_zone: String,
    /// The day's or shift's bounds.
    pub from: Millis,
    pub to: Millis,
    pub now: Millis,
    /// How many applications the top list holds.
    pub top_applications: usize,
}

/// The report: see the module documentation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Huddle {
    pub date: String,
    pub shift: Option<String>,
    pub time_zone: String,
    /// The day's or shift's bounds (RFC 3339).
    pub from: String,
    pub to: String,
    /// End of the span reported: `to`, or the end of the current hour.
    pub covered_to: String,
    pub generated_at: String,
    /// Tickets and calls over `[from, covered_to)`.
    pub totals: Totals,
    pub hours: Vec<HuddleHour>,
    /// Applications by tickets opened over the span, most first.
    pub top_applications: Vec<ApplicationRow>,
    /// The known issues with the most tickets over the span
    /// ([`known_issues_section`]).
    pub top_known_issues: Option<Vec<KnownIssueRow>>,
    /// Per phone queue, staffed against required, hour by hour.
    pub staffing: Vec<QueueHours>,
}

/// The report's ticket and call figures over the span.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Totals {
    pub tickets: crate::aggregate::TicketFigures,
    pub calls: CallFigures,
}

/// One hour of the span.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HuddleHour {
    pub from: String,
    pub to: String,
    pub opened: u64,
    pub resolved: u64,
    /// Active tickets as of the hour's end.
    pub backlog: u64,
    pub calls_offered: u64,
    pub calls_answered: u64,
    pub calls_abandoned: u64,
    pub service_level: Option<f64>,
    pub abandonment_rate: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApplicationRow {
    pub application: String,
    pub opened: u64,
    pub resolved: u64,
    /// Active tickets as of the span's end.
    pub backlog: u64,
}

/// A known issue in the huddle report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KnownIssueRow {
    pub id: String,
    pub title: String,
    /// Linked tickets opened over the span.
    pub tickets: u64,
}

/// One phone queue's hours.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueHours {
    pub queue: String,
    pub hours: Vec<QueueHour>,
}

/// A queue's staffing over one hour: the report's staffing line over the
/// hour (Erlang C), and the agents it actually had.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueHour {
    pub from: String,
    pub to: String,
    pub calls_offered: u64,
    pub aht_seconds: f64,
    pub required_agents: u32,
    pub scheduled_agents: u32,
    /// Time-weighted mean of the agents staffed over the hour (up to now
    /// for the current one).
    pub agents_staffed: f64,
}

/// The known-issues section of the report: the known issues with the most
/// linked tickets opened over `[from, to)`, most first, at most `limit`
/// (those with none in the span are left out). The same count as the
/// board's top known issues ([`Aggregator::known_issues_top`]).
pub fn known_issues_section(
    aggregator: &Aggregator,
    from: Millis,
    to: Millis,
    limit: usize,
) -> Option<Vec<KnownIssueRow>> {
    let rows = aggregator
        .known_issues_top(from, to, None, limit)
        .into_iter()
        .filter(|top| top.tickets > 0)
        .map(|top| KnownIssueRow {
            id: top.id,
            title: top.title,
            tickets: top.tickets,
        })
        .collect();
    Some(rows)
}

/// Where the reported span ends: `to`, or the end of the hour `now` is
/// in when that is earlier (never before `from`).
pub fn covered_to(from: Millis, to: Millis, now: Millis) -> Millis {
    if now < from {
        return from;
    }
    let begun = (now - from) / HOUR_MS + 1;
    to.min(from.saturating_add(begun.saturating_mul(HOUR_MS)))
}

/// Builds the report.
pub fn build(
    aggregator: &Aggregator,
    settings: &StaffingSettings,
    request: &HuddleRequest,
) -> Huddle {
    let from = request.from;
    let end = covered_to(from, request.to, request.now);
    let steps = aggregator.reports_by_step(from, end, HOUR_MS, None);
    let whole = aggregator.report(from, end, Some(TicketDimension::Application));

    let mut top_applications: Vec<ApplicationRow> = whole
        .tickets_by
        .as_ref()
        .and_then(|by| by.get(TicketDimension::Application.as_str()))
        .map(|groups| {
            groups
                .iter()
                .map(|(application, f)| ApplicationRow {
                    application: application.clone(),
                    opened: f.opened,
                    resolved: f.resolved,
                    backlog: f.backlog,
                })
                .collect()
        })
        .unwrap_or_default();
    top_applications.sort_by(|a, b| {
        (b.opened, b.resolved, b.backlog, &a.application).cmp(&(
            a.opened,
            a.resolved,
            a.backlog,
            &b.application,
        ))
    });
    top_applications.truncate(request.top_applications);

    Huddle {
        date: request.date.clone(),
        shift: request.shift.clone(),
        time_zone: request.time_zone.clone(),
        from: format_rfc3339(from),
        to: format_rfc3339(request.to),
        covered_to: format_rfc3339(end),
        generated_at: format_rfc3339(request.now),
        totals: Totals {
            tickets: whole.tickets.clone(),
            calls: whole.calls.clone(),
        },
        hours: steps.iter().map(hour_row).collect(),
        top_applications,
        top_known_issues: known_issues_section(aggregator, from, end, request.top_applications),
        staffing: staffing_hours(aggregator, settings, &steps, from, end, request.now),
    }
}

fn hour_row(step: &Report) -> HuddleHour {
    HuddleHour {
        from: step.from.clone(),
        to: step.to.clone(),
        opened: step.tickets.opened,
        resolved: step.tickets.resolved,
        backlog: step.tickets.backlog,
        calls_offered: step.calls.offered,
        calls_answered: step.calls.answered,
        calls_abandoned: step.calls.abandoned,
        service_level: step.calls.service_level,
        abandonment_rate: step.calls.abandonment_rate,
    }
}

/// Per known queue, each hour's staffing line from the report's own
/// staffing over that hour, with the agents the queue had then.
fn staffing_hours(
    aggregator: &Aggregator,
    settings: &StaffingSettings,
    steps: &[Report],
    from: Millis,
    end: Millis,
    now: Millis,
) -> Vec<QueueHours> {
    let mut queues: Vec<QueueHours> = aggregator
        .queues()
        .into_iter()
        .map(|(queue, _)| QueueHours {
            queue,
            hours: Vec::with_capacity(steps.len()),
        })
        .collect();
    for (k, step) in steps.iter().enumerate() {
        let step_from = from + k as i64 * HOUR_MS;
        let step_to = (step_from + HOUR_MS).min(end);
        let lines = staffing::for_report(aggregator, step, step_from, step_to, settings);
        for (queue, line) in queues.iter_mut().zip(lines) {
            queue.hours.push(QueueHour {
                from: step.from.clone(),
                to: step.to.clone(),
                calls_offered: line.calls_offered,
                aht_seconds: line.aht_seconds,
                required_agents: line.required_agents,
                scheduled_agents: line.scheduled_agents,
                agents_staffed: aggregator.agents_staffed_mean(
                    &line.queue,
                    step_from,
                    step_to.min(now).max(step_from + 1),
                ),
            });
        }
    }
    queues
}

/// The tables the report can be downloaded as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Hours,
    Applications,
    Staffing,
    KnownIssues,
}

impl Table {
    pub const ALL: [Table; 4] = [
        Table::Hours,
        Table::Applications,
        Table::Staffing,
        Table::KnownIssues,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Table::Hours => "hours",
            Table::Applications => "applications",
            Table::Staffing => "staffing",
            Table::KnownIssues => "known_issues",
        }
    }

    pub fn parse(text: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// One table of the report as CSV, a header row first. Numbers are
/// written as the JSON has them; a null is an empty field.
pub fn to_csv(huddle: &Huddle, table: Table) -> String {
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let mut out = String::new();
    let header = |out: &mut String, names: &[&str]| {
        push_row(
            out,
            &names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        );
    };
    match table {
        Table::Hours => {
            header(
                &mut out,
                &[
                    "from",
                    "to",
                    "opened",
                    "resolved",
                    "backlog",
                    "calls_offered",
                    "calls_answered",
                    "calls_abandoned",
                    "service_level",
                    "abandonment_rate",
                ],
            );
            for h in &huddle.hours {
                push_row(
                    &mut out,
                    &[
                        h.from.clone(),
                        h.to.clone(),
                        h.opened.to_string(),
                        h.resolved.to_string(),
                        h.backlog.to_string(),
                        h.calls_offered.to_string(),
                        h.calls_answered.to_string(),
                        h.calls_abandoned.to_string(),
                        opt(h.service_level),
                        opt(h.abandonment_rate),
                    ],
                );
            }
        }
        Table::Applications => {
            header(&mut out, &["application", "opened", "resolved", "backlog"]);
            for a in &huddle.top_applications {
                push_row(
                    &mut out,
                    &[
                        a.application.clone(),
                        a.opened.to_string(),
                        a.resolved.to_string(),
                        a.backlog.to_string(),
                    ],
                );
            }
        }
        Table::Staffing => {
            header(
                &mut out,
                &[
                    "queue",
                    "from",
                    "to",
                    "calls_offered",
                    "aht_seconds",
                    "required_agents",
                    "scheduled_agents",
                    "agents_staffed",
                ],
            );
            for q in &huddle.staffing {
                for h in &q.hours {
                    push_row(
                        &mut out,
                        &[
                            q.queue.clone(),
                            h.from.clone(),
                            h.to.clone(),
                            h.calls_offered.to_string(),
                            h.aht_seconds.to_string(),
                            h.required_agents.to_string(),
                            h.scheduled_agents.to_string(),
                            h.agents_staffed.to_string(),
                        ],
                    );
                }
            }
        }
        Table::KnownIssues => {
            header(&mut out, &["id", "title", "tickets"]);
            for k in huddle.top_known_issues.iter().flatten() {
                push_row(
                    &mut out,
                    &[k.id.clone(), k.title.clone(), k.tickets.to_string()],
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_span_stops_at_the_end_of_the_current_hour() {
        let from = 1_772_409_600_000;
        let to = from + 24 * HOUR_MS;
        assert_eq!(covered_to(from, to, from - 1), from);
        assert_eq!(covered_to(from, to, from), from + HOUR_MS);
        assert_eq!(covered_to(from, to, from + 90 * 60_000), from + 2 * HOUR_MS);
        assert_eq!(covered_to(from, to, to + 5), to);
    }

    #[test]
    fn csv_quotes_names_and_leaves_nulls_empty() {
        let huddle = Huddle {
            date: "2026-03-02".into(),
            shift: None,
            time_zone: "UTC".into(),
            from: "a".into(),
            to: "b".into(),
            covered_to: "b".into(),
            generated_at: "b".into(),
            totals: Totals {
                tickets: Aggregator::new().report(0, 1, None).tickets,
                calls: Aggregator::new().report(0, 1, None).calls,
            },
            hours: vec![HuddleHour {
                from: "f".into(),
                to: "t".into(),
                opened: 3,
                resolved: 1,
                backlog: 2,
                calls_offered: 0,
                calls_answered: 0,
                calls_abandoned: 0,
                service_level: None,
                abandonment_rate: None,
            }],
            top_applications: vec![ApplicationRow {
                application: "Orders, \"new\"".into(),
                opened: 3,
                resolved: 1,
                backlog: 2,
            }],
            top_known_issues: None,
            staffing: vec![],
        };
        assert_eq!(
            to_csv(&huddle, Table::Hours).lines().nth(1),
            Some("f,t,3,1,2,0,0,0,,")
        );
        assert_eq!(
            to_csv(&huddle, Table::Applications).lines().nth(1),
            Some("\"Orders, \"\"new\"\"\",3,1,2")
        );
        assert_eq!(to_csv(&huddle, Table::KnownIssues), "id,title,tickets\n");
    }
}
