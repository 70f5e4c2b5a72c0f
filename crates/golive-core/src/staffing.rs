//! Staffing recommendations assembled from the aggregator's figures: Erlang
//! C and Erlang A (with the patience measured from the queue's own calls)
//! per phone queue (over a report window or the recent interval), the
//! next hour's forecast per queue and per application, and the
//! at-the-elbow model per site. Pure: the caller passes the clock.
//!
//! Handle time: a queue's AHT is the one measured in the window. When no
//! answered call ended in the window the AHT of the last 24 hours is used,
//! and failing that `default_aht_seconds`, so that calls arriving on a new
//! queue still get a recommendation.

use crate::aggregate::{Aggregator, Arrivals, CallFigures, Report};
use crate::ate_model::{self, AteRecommendation, AteSettings};
use crate::erlang::{self, ErlangInput};
use crate::erlang_a_line::{self, ErlangALine};
use crate::forecast::forecast_next_hour;
use crate::model::{QueueSettings, TicketDimension};
use crate::patience::WaitingExposure;
use crate::plan::PlanSettings;
use crate::time::{Millis, format_rfc3339};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

const MINUTE_MS: Millis = 60_000;
const DAY_MS: Millis = 24 * 60 * MINUTE_MS;

/// How recommendations are made; part of the server's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaffingSettings {
    /// The live recommendation looks at this many recent seconds.
    pub recent_interval_seconds: u32,
    /// AHT assumed for a queue with no measured handle time yet.
    pub default_aht_seconds: f64,
    /// Minutes of per-minute history the forecast reads.
    pub forecast_history_minutes: u32,
    /// The at-the-elbow model's settings.
    pub ate: AteSettings,
    /// How the staffing plan for the next shifts is made.
    pub plan: PlanSettings,
}

impl Default for StaffingSettings {
    fn default() -> Self {
        StaffingSettings {
            recent_interval_seconds: 1800,
            default_aht_seconds: 300.0,
            forecast_history_minutes: 180,
            ate: AteSettings::default(),
            plan: PlanSettings::default(),
        }
    }
}

/// The recommendation for one phone queue over an interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueStaffing {
    pub queue: String,
    pub calls_offered: u64,
    pub interval_seconds: f64,
    /// Mean handle time used (see the module documentation).
    pub aht_seconds: f64,
    /// Where `aht_seconds` came from: `window`, `last_24h` or `default`.
    pub aht_source: &'static str,
    pub traffic_erlangs: f64,
    pub agents_staffed: u32,
    pub required_agents: u32,
    pub scheduled_agents: u32,
    /// `required_agents - agents_staffed`: positive means short.
    pub delta: i64,
    /// Service level the staffed agents are expected to give at this
    /// traffic (0 when they cannot keep up; null without traffic or staff).
    pub expected_service_level_now: Option<f64>,
    /// Erlang C figures for `required_agents`.
    pub service_level: Option<f64>,
    pub occupancy: Option<f64>,
    pub probability_of_waiting: Option<f64>,
    pub asa_seconds: Option<f64>,
    pub answer_target_seconds: f64,
    pub service_level_target: f64,
    /// Why no recommendation could be computed, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Erlang A with the patience measured over the same interval, and the
    /// advice which model to plan on.
    pub erlang_a: ErlangALine,
    /// Next hour, live recommendations only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast: Option<QueueForecast>,
}

/// The next 60 minutes of a queue and the agents they need.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueForecast {
    pub calls_next_60m: f64,
    pub traffic_erlangs: f64,
    pub required_agents: u32,
    pub scheduled_agents: u32,
    pub method: &'static str,
}

/// The next 60 minutes of tickets for one application.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApplicationForecast {
    pub application: String,
    pub tickets_last_60m: u64,
    pub tickets_next_60m: f64,
    pub method: &'static str,
}

/// `GET /api/v1/staffing`: everything a lead needs to move people now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LiveStaffing {
    pub as_of: String,
    pub interval_seconds: f64,
    pub queues: Vec<QueueStaffing>,
    pub sites: Vec<AteRecommendation>,
    pub applications: Vec<ApplicationForecast>,
}

/// Erlang C and Erlang A for one queue from its measured figures over an
/// interval (`exposure`: its abandons and waiting time there).
pub fn queue_staffing(
    queue: &str,
    figures: Option<&CallFigures>,
    interval_seconds: f64,
    settings: &QueueSettings,
    aht: (f64, &'static str),
    exposure: WaitingExposure,
) -> QueueStaffing {
    let calls_offered = figures.map_or(0, |f| f.offered);
    let (aht_seconds, aht_source) = aht;
    let question = ErlangInput::for_queue(
        calls_offered as f64,
        interval_seconds,
        aht_seconds,
        settings,
    );
    let erlang_c = erlang::solve(&question);
    let mut line = QueueStaffing {
        queue: queue.to_string(),
        calls_offered,
        interval_seconds,
        aht_seconds,
        aht_source,
        traffic_erlangs: 0.0,
        agents_staffed: settings.agents_staffed,
        required_agents: 0,
        scheduled_agents: 0,
        delta: -i64::from(settings.agents_staffed),
        expected_service_level_now: None,
        service_level: None,
        occupancy: None,
        probability_of_waiting: None,
        asa_seconds: None,
        answer_target_seconds: settings.answer_target_seconds,
        service_level_target: settings.service_level_target,
        error: None,
        erlang_a: erlang_a_line::line(&question, erlang_c.as_ref().ok(), exposure, settings),
        forecast: None,
    };
    match erlang_c {
        Ok(out) => {
            line.traffic_erlangs = out.traffic_erlangs;
            line.required_agents = out.required_agents;
            line.scheduled_agents = out.scheduled_agents;
            line.delta = i64::from(out.required_agents) - i64::from(settings.agents_staffed);
            line.service_level = Some(out.service_level);
            line.occupancy = Some(out.occupancy);
            line.probability_of_waiting = Some(out.probability_of_waiting);
            line.asa_seconds = Some(out.asa_seconds);
            line.expected_service_level_now =
                expected_now(out.traffic_erlangs, settings, aht_seconds);
        }
        Err(e) => line.error = Some(e.to_string()),
    }
    line
}

fn expected_now(traffic: f64, settings: &QueueSettings, aht_seconds: f64) -> Option<f64> {
    if settings.agents_staffed == 0 || traffic <= 0.0 {
        return None;
    }
    Some(
        erlang::queue_performance(
            traffic,
            settings.agents_staffed,
            aht_seconds,
            settings.answer_target_seconds,
        )
        .map_or(0.0, |p| p.service_level),
    )
}

/// The AHT to use for `queue`: measured in the window, else over the last
/// 24 hours before the window's end (`last_day`, computed at most once per
/// set of lines), else the default.
fn handle_time(
    figures: Option<&CallFigures>,
    last_day: &mut dyn FnMut() -> Option<f64>,
    settings: &StaffingSettings,
) -> (f64, &'static str) {
    if let Some(aht) = figures.and_then(|f| f.aht_seconds) {
        return (aht, "window");
    }
    match last_day() {
        Some(aht) => (aht, "last_24h"),
        None => (settings.default_aht_seconds, "default"),
    }
}

/// Staffing lines for every known queue over a report's window.
pub fn for_report(
    aggregator: &Aggregator,
    report: &Report,
    from: Millis,
    to: Millis,
    settings: &StaffingSettings,
) -> Vec<QueueStaffing> {
    let interval_seconds = (to - from) as f64 / 1000.0;
    // Only queues without a handle time in the window need the last day's,
    // and one report of that day serves all of them.
    let mut day: Option<Report> = None;
    let exposures: HashMap<String, WaitingExposure> =
        aggregator.waiting_exposure(from, to).into_iter().collect();
    aggregator
        .queues()
        .into_iter()
        .map(|(queue, queue_settings)| {
            let figures = report.calls_by_queue.get(&queue);
            let mut last_day = || {
                let day = day
                    .get_or_insert_with(|| aggregator.calls_report(to.saturating_sub(DAY_MS), to));
                day.calls_by_queue.get(&queue).and_then(|f| f.aht_seconds)
            };
            let aht = handle_time(figures, &mut last_day, settings);
            let exposure = exposures.get(&queue).copied().unwrap_or_default();
            queue_staffing(
                &queue,
                figures,
                interval_seconds,
                &queue_settings,
                aht,
                exposure,
            )
        })
        .collect()
}

fn recent_interval_ms(settings: &StaffingSettings) -> Millis {
    Millis::from(settings.recent_interval_seconds.max(60)) * 1000
}

/// Staffing lines for every known queue over the recent interval ending
/// `now` (the live recommendation without its forecast).
pub fn for_recent(
    aggregator: &Aggregator,
    now: Millis,
    settings: &StaffingSettings,
) -> Vec<QueueStaffing> {
    let from = now - recent_interval_ms(settings);
    let recent = aggregator.calls_report(from, now);
    for_report(aggregator, &recent, from, now, settings)
}

/// The live recommendation as of `now`.
pub fn live(aggregator: &Aggregator, now: Millis, settings: &StaffingSettings) -> LiveStaffing {
    let interval_ms = recent_interval_ms(settings);
    let from = now - interval_ms;
    let history_from = now - Millis::from(settings.forecast_history_minutes) * MINUTE_MS;
    let mut queues = for_recent(aggregator, now, settings);
    for line in &mut queues {
        let per_minute: Vec<f64> = aggregator
            .arrivals_per_bucket(
                Arrivals::Calls(Some(&line.queue)),
                history_from,
                now,
                MINUTE_MS,
            )
            .into_iter()
            .map(|count| count as f64)
            .collect();
        let forecast = forecast_next_hour(&per_minute);
        let queue_settings = aggregator.queue_settings(&line.queue);
        let next = erlang::solve(&ErlangInput::for_queue(
            forecast.next_60m,
            3600.0,
            line.aht_seconds,
            &queue_settings,
        ));
        line.forecast = next.ok().map(|out| QueueForecast {
            calls_next_60m: forecast.next_60m,
            traffic_erlangs: out.traffic_erlangs,
            required_agents: out.required_agents,
            scheduled_agents: out.scheduled_agents,
            method: forecast.method,
        });
    }
    let mut application_forecasts: Vec<ApplicationForecast> = aggregator
        .known_values(TicketDimension::Application)
        .into_iter()
        .map(|application| {
            let per_minute: Vec<f64> = aggregator
                .arrivals_per_bucket(
                    Arrivals::Tickets(Some((TicketDimension::Application, &application))),
                    history_from,
                    now,
                    MINUTE_MS,
                )
                .into_iter()
                .map(|count| count as f64)
                .collect();
            let last_hour: u64 = per_minute.iter().rev().take(60).map(|c| *c as u64).sum();
            let forecast = forecast_next_hour(&per_minute);
            ApplicationForecast {
                application,
                tickets_last_60m: last_hour,
                tickets_next_60m: forecast.next_60m,
                method: forecast.method,
            }
        })
        .collect();
    application_forecasts.sort_by(|a, b| {
        b.tickets_next_60m
            .total_cmp(&a.tickets_next_60m)
            .then_with(|| a.application.cmp(&b.application))
    });
    let interval_seconds = interval_ms as f64 / 1000.0;
    let sites = aggregator
        .ate_arrivals(from, now)
        .into_iter()
        .filter_map(|(site, departments)| {
            ate_model::recommend(&site, interval_seconds, &departments, &settings.ate).ok()
        })
        .collect();
    LiveStaffing {
        as_of: format_rfc3339(now),
        interval_seconds,
        queues,
        sites,
        applications: application_forecasts,
    }
}
