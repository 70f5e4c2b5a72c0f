//! The staffing plan: per phone queue and per 30-minute interval for the
//! next 24–72 hours, the forecast calls (the go-live profile of
//! `profile.rs`), the agents Erlang C and Erlang A require, and the
//! smallest roster of the configured shift templates covering them
//! (`shifts.rs`); per site, the same for at-the-elbow staff from the ATE
//! model; per shift, the totals.
//!
//! # Inputs
//!
//! * History: whole 30-minute intervals (on local half hours) from the
//!   go-live start — or, without one, each queue's or site's first arrival —
//!   but at most `history_days` back, up to the interval containing now.
//! * Per queue: the AHT and the patience measured over the last 24 hours
//!   (AHT falling back to `default_aht_seconds`), and its current settings
//!   (targets, occupancy cap, shrinkage).
//! * Per site: ATE and walk-in tickets; staff per interval is the ATE
//!   model's site total for the forecast rate.
//!
//! # What the roster covers
//!
//! Scheduled agents (after shrinkage) of the model the live advice would
//! choose with the same patience estimate: Erlang C when nobody hung up in
//! the last 24 hours, the larger of the two with 1–9 abandons, Erlang A
//! with 10 or more (`basis`).

use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregator, Arrivals};
use crate::ate_model::{self, AteSettings};
use crate::csv::push_row;
use crate::erlang::{self, ErlangInput};
use crate::erlang_a::{self, ErlangAInput, MAX_PATIENCE_SECONDS};
use crate::model::QueueSettings;
use crate::patience::{self, Confidence, PatienceEstimate, WaitingExposure};
use crate::profile::{self, INTERVAL_MS, Profile};
use crate::shifts::{self, Cover, ShiftInstance, ShiftTemplate};
use crate::time::{Millis, format_rfc3339};

const MINUTE_MS: Millis = 60_000;
const HOUR_MS: Millis = 60 * MINUTE_MS;
const DAY_MS: Millis = 24 * HOUR_MS;
/// Shortest and longest plan.
pub const MIN_HOURS: u32 = 24;
pub const MAX_HOURS: u32 = 72;

/// How plans are made; `[staffing.plan]` in the configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanSettings {
    /// Hours planned when the request does not say (24–72).
    pub horizon_hours: u32,
    /// Days of history the profile may learn from.
    pub history_days: u32,
    /// The hospital's offset from UTC: shift start times are local.
    pub utc_offset_minutes: i32,
    /// Day-over-day factor assumed until 36 hours have been observed.
    pub default_daily_decay: f64,
    /// Daily shift templates.
    pub shifts: Vec<ShiftTemplate>,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            horizon_hours: MAX_HOURS,
            history_days: 14,
            utc_offset_minutes: 0,
            default_daily_decay: 0.8,
            shifts: shifts::default_templates(),
        }
    }
}

impl PlanSettings {
    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// A message naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        if !(MIN_HOURS..=MAX_HOURS).contains(&self.horizon_hours) {
            return Err(format!(
                "horizon_hours must be from {MIN_HOURS} to {MAX_HOURS}"
            ));
        }
        if !(1..=366).contains(&self.history_days) {
            return Err("history_days must be from 1 to 366".into());
        }
        let decay = self.default_daily_decay;
        if !(decay.is_finite() && (0.2..=1.5).contains(&decay)) {
            return Err("default_daily_decay must be from 0.2 to 1.5".into());
        }
        shifts::validate(&self.shifts, self.utc_offset_minutes)
    }
}

/// Which requirement a roster covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    ErlangA,
    ErlangC,
    /// The larger of the two, while patience is uncertain.
    Larger,
}

/// Agents one model asks for in one interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Agents {
    pub required_agents: u32,
    pub scheduled_agents: u32,
}

/// One interval of a queue's plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueInterval {
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub start: Millis,
    /// Forecast calls offered.
    pub calls: f64,
    pub erlang_c: Option<Agents>,
    /// Null when no caller hung up in the last 24 hours.
    pub erlang_a: Option<Agents>,
    /// Scheduled agents the roster must cover (see `basis`).
    pub required: u32,
    /// Agents the roster puts on duty.
    pub on_duty: u32,
}

/// Agents on one shift instance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShiftLine {
    pub template: String,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub start: Millis,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub end: Millis,
    pub agents: u32,
    /// When its agents take their breaks (staggered by the solver).
    pub breaks: Vec<BreakLine>,
}

/// Agents of a shift taking a break at one time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakLine {
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub start: Millis,
    pub agents: u32,
}

/// The forecast method and what it learned.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForecastSummary {
    /// `fitted`, `default_decay` or `no_history` (see `profile.rs`).
    pub method: &'static str,
    /// Day-over-day factor.
    pub daily_factor: f64,
    pub days_observed: f64,
    /// Arrivals in the history.
    pub arrivals: f64,
}

impl From<&Profile> for ForecastSummary {
    fn from(profile: &Profile) -> Self {
        ForecastSummary {
            method: profile.method,
            daily_factor: profile.daily_factor,
            days_observed: profile.days_observed,
            arrivals: profile.arrivals,
        }
    }
}

/// One phone queue's plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueuePlan {
    pub queue: String,
    pub aht_seconds: f64,
    /// Patience measured over the last 24 hours.
    pub patience: PatienceEstimate,
    pub basis: Basis,
    pub forecast: ForecastSummary,
    pub intervals: Vec<QueueInterval>,
    /// Every shift instance with its agents (0 included).
    pub shifts: Vec<ShiftLine>,
    /// Interval starts with a requirement no shift covers.
    #[serde(serialize_with = "serialize_times")]
    pub uncovered: Vec<Millis>,
    pub agent_hours: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One interval of a site's at-the-elbow plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SiteInterval {
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub start: Millis,
    /// Forecast ATE and walk-in tickets.
    pub tickets: f64,
    /// Floor staff the ATE model asks for.
    pub required: u32,
    pub on_duty: u32,
}

/// One site's at-the-elbow plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SitePlan {
    pub site: String,
    pub forecast: ForecastSummary,
    pub intervals: Vec<SiteInterval>,
    pub shifts: Vec<ShiftLine>,
    #[serde(serialize_with = "serialize_times")]
    pub uncovered: Vec<Millis>,
    pub staff_hours: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everyone on one shift instance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShiftTotal {
    pub template: String,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub start: Millis,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub end: Millis,
    /// Phone agents over all queues.
    pub agents: u32,
    /// At-the-elbow staff over all sites.
    pub ate_staff: u32,
}

/// `GET /api/v1/staffing/plan`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub generated_at: String,
    /// First planned interval's start.
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub from: Millis,
    /// End of the last planned interval.
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub to: Millis,
    pub interval_minutes: u32,
    pub hours: u32,
    pub utc_offset_minutes: i32,
    pub shift_templates: Vec<ShiftTemplate>,
    pub queues: Vec<QueuePlan>,
    pub sites: Vec<SitePlan>,
    pub shifts: Vec<ShiftTotal>,
}

fn serialize_times<S: serde::Serializer>(times: &[Millis], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(times.iter().map(|t| format_rfc3339(*t)))
}

/// A queue's history and figures, as the plan needs them.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueHistory {
    pub queue: String,
    pub settings: QueueSettings,
    /// Calls offered per whole interval from `origin`.
    pub origin: Millis,
    pub counts: Vec<f64>,
    pub aht_seconds: f64,
    /// Abandons and waiting over the last 24 hours.
    pub exposure: WaitingExposure,
}

/// A site's ATE and walk-in tickets per whole interval from `origin`.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteHistory {
    pub site: String,
    pub origin: Millis,
    pub counts: Vec<f64>,
}

/// Everything a plan is computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanInput {
    pub now: Millis,
    pub hours: u32,
    pub queues: Vec<QueueHistory>,
    pub sites: Vec<SiteHistory>,
    pub ate: AteSettings,
}

/// The start of the plan interval containing `t` (intervals fall on local
/// half hours).
pub fn interval_floor(t: Millis, utc_offset_minutes: i32) -> Millis {
    let offset = Millis::from(utc_offset_minutes) * MINUTE_MS;
    (t + offset).div_euclid(INTERVAL_MS) * INTERVAL_MS - offset
}

/// Builds the plan from prepared histories.
///
/// # Errors
///
/// A message when the settings or the requested hours are unusable.
pub fn build(input: &PlanInput, settings: &PlanSettings) -> Result<Plan, String> {
    settings.validate()?;
    if !(MIN_HOURS..=MAX_HOURS).contains(&input.hours) {
        return Err(format!("hours must be from {MIN_HOURS} to {MAX_HOURS}"));
    }
    let offset = settings.utc_offset_minutes;
    let current = interval_floor(input.now, offset);
    let from = if current == input.now {
        current
    } else {
        current + INTERVAL_MS
    };
    let intervals = input.hours as usize * 2;
    let starts: Vec<Millis> = (0..intervals)
        .map(|i| from + i as Millis * INTERVAL_MS)
        .collect();
    let instances = shifts::instances(&settings.shifts, from, intervals, offset)?;

    let queues: Vec<QueuePlan> = input
        .queues
        .iter()
        .map(|history| queue_plan(history, &starts, &instances, settings))
        .collect();
    let sites: Vec<SitePlan> = input
        .sites
        .iter()
        .map(|history| site_plan(history, &starts, &instances, &input.ate, settings))
        .collect();

    let shifts = instances
        .iter()
        .enumerate()
        .map(|(s, instance)| ShiftTotal {
            template: instance.template.clone(),
            start: instance.start,
            end: instance.end,
            agents: queues.iter().map(|q| agents_on(&q.shifts, s)).sum(),
            ate_staff: sites.iter().map(|site| agents_on(&site.shifts, s)).sum(),
        })
        .collect();
    Ok(Plan {
        generated_at: format_rfc3339(input.now),
        from,
        to: from + intervals as Millis * INTERVAL_MS,
        interval_minutes: (INTERVAL_MS / MINUTE_MS) as u32,
        hours: input.hours,
        utc_offset_minutes: offset,
        shift_templates: settings.shifts.clone(),
        queues,
        sites,
        shifts,
    })
}

fn agents_on(lines: &[ShiftLine], instance: usize) -> u32 {
    lines.get(instance).map_or(0, |line| line.agents)
}

fn shift_lines(instances: &[ShiftInstance], cover: &Cover) -> Vec<ShiftLine> {
    instances
        .iter()
        .enumerate()
        .map(|(s, instance)| {
            let breaks = instance
                .breaks
                .iter()
                .enumerate()
                .flat_map(|(k, options)| {
                    options
                        .iter()
                        .enumerate()
                        .filter_map(move |(b, (start, _))| {
                            let agents = cover.breaks.get(s)?.get(k)?.get(b).copied()?;
                            (agents > 0).then_some(BreakLine {
                                start: *start,
                                agents,
                            })
                        })
                })
                .collect();
            ShiftLine {
                template: instance.template.clone(),
                start: instance.start,
                end: instance.end,
                agents: cover.agents.get(s).copied().unwrap_or(0),
                breaks,
            }
        })
        .collect()
}

fn queue_plan(
    history: &QueueHistory,
    starts: &[Millis],
    instances: &[ShiftInstance],
    settings: &PlanSettings,
) -> QueuePlan {
    let profile = profile::fit(
        &history.counts,
        history.origin,
        settings.default_daily_decay,
    );
    let estimate = patience::estimate(history.exposure);
    let basis = match (estimate.patience_seconds, estimate.confidence) {
        (None, _) => Basis::ErlangC,
        (Some(_), Confidence::Low) => Basis::Larger,
        (Some(_), _) => Basis::ErlangA,
    };
    let mut errors: Vec<String> = Vec::new();
    let mut intervals: Vec<QueueInterval> = starts
        .iter()
        .map(|&start| {
            let calls = profile.expected(start);
            let question = ErlangInput::for_queue(
                calls,
                (INTERVAL_MS / 1000) as f64,
                history.aht_seconds,
                &history.settings,
            );
            let c = match erlang::solve(&question) {
                Ok(out) => Some(Agents {
                    required_agents: out.required_agents,
                    scheduled_agents: out.scheduled_agents,
                }),
                Err(e) => {
                    errors.push(e.to_string());
                    None
                }
            };
            let a = estimate.patience_seconds.and_then(|p| {
                let solved = erlang_a::solve(&ErlangAInput {
                    erlang: question,
                    patience_seconds: p.min(MAX_PATIENCE_SECONDS),
                });
                match solved {
                    Ok(out) => Some(Agents {
                        required_agents: out.required_agents,
                        scheduled_agents: out.scheduled_agents,
                    }),
                    Err(e) => {
                        errors.push(e.to_string());
                        None
                    }
                }
            });
            let scheduled = |agents: Option<Agents>| agents.map_or(0, |a| a.scheduled_agents);
            let required = match basis {
                Basis::ErlangC => scheduled(c),
                Basis::ErlangA => a.map_or(scheduled(c), |a| a.scheduled_agents),
                Basis::Larger => scheduled(a).max(scheduled(c)),
            };
            QueueInterval {
                start,
                calls,
                erlang_c: c,
                erlang_a: a,
                required,
                on_duty: 0,
            }
        })
        .collect();
    let required: Vec<u32> = intervals.iter().map(|i| i.required).collect();
    let roster = roster(instances, starts, &required);
    for (interval, on_duty) in intervals.iter_mut().zip(&roster.on_duty) {
        interval.on_duty = *on_duty;
    }
    QueuePlan {
        queue: history.queue.clone(),
        aht_seconds: history.aht_seconds,
        patience: estimate,
        basis,
        forecast: ForecastSummary::from(&profile),
        intervals,
        shifts: roster.shifts,
        uncovered: roster.uncovered,
        agent_hours: roster.hours,
        error: roster.error.or(errors.into_iter().next()),
    }
}

/// A requirement's roster as the plan shows it.
struct Roster {
    on_duty: Vec<u32>,
    shifts: Vec<ShiftLine>,
    uncovered: Vec<Millis>,
    hours: f64,
    error: Option<String>,
}

fn roster(instances: &[ShiftInstance], starts: &[Millis], required: &[u32]) -> Roster {
    match shifts::cover(instances, required) {
        Ok(cover) => Roster {
            shifts: shift_lines(instances, &cover),
            uncovered: cover.uncovered.iter().map(|&i| starts[i]).collect(),
            hours: cover.agent_hours,
            on_duty: cover.on_duty,
            error: None,
        },
        Err(e) => Roster {
            on_duty: vec![0; required.len()],
            shifts: Vec::new(),
            uncovered: Vec::new(),
            hours: 0.0,
            error: Some(format!("no roster: {e}")),
        },
    }
}

fn site_plan(
    history: &SiteHistory,
    starts: &[Millis],
    instances: &[ShiftInstance],
    ate: &AteSettings,
    settings: &PlanSettings,
) -> SitePlan {
    let profile = profile::fit(
        &history.counts,
        history.origin,
        settings.default_daily_decay,
    );
    let per_hour = (HOUR_MS / INTERVAL_MS) as f64;
    let mut intervals: Vec<SiteInterval> = starts
        .iter()
        .map(|&start| {
            let tickets = profile.expected(start);
            let workload = tickets * per_hour * ate.effort_minutes / 60.0;
            SiteInterval {
                start,
                tickets,
                required: ate_model::staff_for_workload(workload, ate),
                on_duty: 0,
            }
        })
        .collect();
    let required: Vec<u32> = intervals.iter().map(|i| i.required).collect();
    let roster = roster(instances, starts, &required);
    for (interval, on_duty) in intervals.iter_mut().zip(&roster.on_duty) {
        interval.on_duty = *on_duty;
    }
    SitePlan {
        site: history.site.clone(),
        forecast: ForecastSummary::from(&profile),
        intervals,
        shifts: roster.shifts,
        uncovered: roster.uncovered,
        staff_hours: roster.hours,
        error: roster.error,
    }
}

/// Reads from the aggregator everything a plan for the `hours` after `now`
/// is computed from; [`build`] then needs no aggregator, so a caller can
/// release its lock before the integer programs run. The at-the-elbow
/// model and the AHT of a queue with no measured handle time come from the
/// staffing settings that hold `settings`.
pub fn input_from(
    aggregator: &Aggregator,
    now: Millis,
    go_live_start: Option<Millis>,
    hours: u32,
    settings: &PlanSettings,
    ate: AteSettings,
    default_aht_seconds: f64,
) -> PlanInput {
    let offset = settings.utc_offset_minutes;
    let current = interval_floor(now, offset);
    let earliest = current - Millis::from(settings.history_days) * DAY_MS;
    let origin = go_live_start
        .map_or(earliest, |start| interval_floor(start, offset))
        .max(earliest)
        .min(current);
    // Without a go-live start each series starts at its first arrival.
    let trim = |counts: Vec<u64>| -> (Millis, Vec<f64>) {
        let skip = if go_live_start.is_some() {
            0
        } else {
            counts.iter().position(|c| *c > 0).unwrap_or(counts.len())
        };
        (
            origin + skip as Millis * INTERVAL_MS,
            counts[skip..].iter().map(|c| *c as f64).collect(),
        )
    };
    let day_ago = now - DAY_MS;
    let last_day = aggregator.report(day_ago, now, None);
    let exposures: std::collections::HashMap<String, WaitingExposure> = aggregator
        .waiting_exposure(day_ago, now)
        .into_iter()
        .collect();
    let queues = aggregator
        .queues()
        .into_iter()
        .map(|(queue, queue_settings)| {
            let counts = aggregator.arrivals_per_bucket(
                Arrivals::Calls(Some(&queue)),
                origin,
                current,
                INTERVAL_MS,
            );
            let (queue_origin, counts) = trim(counts);
            let aht_seconds = last_day
                .calls_by_queue
                .get(&queue)
                .and_then(|f| f.aht_seconds)
                .unwrap_or(default_aht_seconds);
            QueueHistory {
                exposure: exposures.get(&queue).copied().unwrap_or_default(),
                queue,
                settings: queue_settings,
                origin: queue_origin,
                counts,
                aht_seconds,
            }
        })
        .collect();
    // ATE tickets per site and interval, one window per interval.
    let intervals = ((current - origin) / INTERVAL_MS).max(0) as usize;
    let mut per_site: std::collections::BTreeMap<String, Vec<u64>> =
        std::collections::BTreeMap::new();
    for i in 0..intervals {
        let start = origin + i as Millis * INTERVAL_MS;
        for (site, departments) in aggregator.ate_arrivals(start, start + INTERVAL_MS) {
            let count: u64 = departments.iter().map(|(_, c)| c).sum();
            per_site.entry(site).or_insert_with(|| vec![0; intervals])[i] = count;
        }
    }
    let sites = per_site
        .into_iter()
        .map(|(site, counts)| {
            let (site_origin, counts) = trim(counts);
            SiteHistory {
                site,
                origin: site_origin,
                counts,
            }
        })
        .collect();
    PlanInput {
        now,
        hours,
        queues,
        sites,
        ate,
    }
}

/// The plan as CSV: one row per interval of each queue and site, then one
/// row per shift instance of each (fields quoted as RFC 4180 says).
pub fn to_csv(plan: &Plan) -> String {
    let mut out = String::from(
        "row,kind,name,start,end,forecast,erlang_c_required,erlang_c_scheduled,\
         erlang_a_required,erlang_a_scheduled,required,on_duty,shift,agents\n",
    );
    let interval_end = |start: Millis| format_rfc3339(start + INTERVAL_MS);
    let opt = |v: Option<u32>| v.map_or(String::new(), |v| v.to_string());
    for queue in &plan.queues {
        for i in &queue.intervals {
            let fields = [
                "interval".to_string(),
                "queue".into(),
                queue.queue.clone(),
                format_rfc3339(i.start),
                interval_end(i.start),
                format!("{:.3}", i.calls),
                opt(i.erlang_c.map(|a| a.required_agents)),
                opt(i.erlang_c.map(|a| a.scheduled_agents)),
                opt(i.erlang_a.map(|a| a.required_agents)),
                opt(i.erlang_a.map(|a| a.scheduled_agents)),
                i.required.to_string(),
                i.on_duty.to_string(),
                String::new(),
                String::new(),
            ];
            push_row(&mut out, &fields);
        }
    }
    for site in &plan.sites {
        for i in &site.intervals {
            let fields = [
                "interval".to_string(),
                "site".into(),
                site.site.clone(),
                format_rfc3339(i.start),
                interval_end(i.start),
                format!("{:.3}", i.tickets),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                i.required.to_string(),
                i.on_duty.to_string(),
                String::new(),
                String::new(),
            ];
            push_row(&mut out, &fields);
        }
    }
    let shift_rows = plan
        .queues
        .iter()
        .map(|q| ("queue", &q.queue, &q.shifts))
        .chain(plan.sites.iter().map(|s| ("site", &s.site, &s.shifts)));
    for (kind, name, lines) in shift_rows {
        for line in lines {
            let mut fields: Vec<String> = vec![
                "shift".into(),
                kind.into(),
                name.clone(),
                format_rfc3339(line.start),
                format_rfc3339(line.end),
            ];
            fields.extend(std::iter::repeat_n(String::new(), 7));
            fields.push(line.template.clone());
            fields.push(line.agents.to_string());
            push_row(&mut out, &fields);
        }
    }
    out
}

#[cfg(test)]
mod tests;
