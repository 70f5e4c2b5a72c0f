//! Shift templates from the configuration and the smallest roster that
//! covers a requirement per 30-minute interval, solved as an integer
//! program.
//!
//! A template (`name`, local `start` such as `"07:00"`, length in `hours`,
//! unpaid-for-coverage `breaks`, each `after_minutes` into the shift for
//! `minutes`) repeats every day. Every start, length and break is a
//! multiple of 30 minutes, so a shift covers whole plan intervals: it
//! covers an interval when its agents are on duty and not on a break for
//! all of it. Breaks are taken together (the plan's simplification: a
//! break is an interval a shift does not cover).
//!
//! # The integer program
//!
//! With `x_s` agents on shift instance `s` (a template on a given day),
//! `h_s` its length in hours and `r_i` the agents needed in interval `i`:
//!
//! ```text
//! minimise   Σ_s h_s · x_s                       (paid agent-hours)
//! subject to Σ_{s covers i} x_s ≥ r_i            for every interval i
//!            x_s ∈ {0, 1, 2, …}
//! ```
//!
//! solved exactly by branch and bound over the simplex (`good_lp` with the
//! pure-Rust `microlp` solver). With templates of equal length this is the
//! smallest number of agents. An interval no shift covers cannot be met;
//! it is left out of the program and reported as uncovered.

use good_lp::{
    Expression, ProblemVariables, Solution, SolverModel, Variable, constraint, microlp, variable,
};
use serde::{Deserialize, Serialize};

use crate::profile::INTERVAL_MS;
use crate::time::Millis;

const MINUTE_MS: Millis = 60_000;
const DAY_MS: Millis = 24 * 60 * MINUTE_MS;
const STEP_MINUTES: u32 = 30;

/// A daily shift, as configured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftTemplate {
    pub name: String,
    /// Local start time, `HH:MM`, on a half hour.
    pub start: String,
    /// Length in hours, a multiple of 0.5 up to 24.
    pub hours: f64,
    /// Breaks, in minutes from the start of the shift.
    #[serde(default)]
    pub breaks: Vec<ShiftBreak>,
}

/// A break within a shift.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftBreak {
    pub after_minutes: u32,
    pub minutes: u32,
}

/// The templates used when none are configured: three overlapping
/// 8.5-hour shifts with a 30-minute break after four hours.
pub fn default_templates() -> Vec<ShiftTemplate> {
    [("Day", "07:00"), ("Evening", "15:00"), ("Night", "23:00")]
        .into_iter()
        .map(|(name, start)| ShiftTemplate {
            name: name.into(),
            start: start.into(),
            hours: 8.5,
            breaks: vec![ShiftBreak {
                after_minutes: 240,
                minutes: 30,
            }],
        })
        .collect()
}

impl ShiftTemplate {
    /// Minutes after local midnight the shift starts.
    fn start_minutes(&self) -> Result<u32, String> {
        let bad = || {
            format!(
                "shift {:?}: start {:?} must be HH:MM on a half hour",
                self.name, self.start
            )
        };
        let (hours, minutes) = self.start.split_once(':').ok_or_else(bad)?;
        let hours: u32 = hours.trim().parse().map_err(|_| bad())?;
        let minutes: u32 = minutes.trim().parse().map_err(|_| bad())?;
        if hours > 23 || minutes > 59 || minutes % STEP_MINUTES != 0 {
            return Err(bad());
        }
        Ok(hours * 60 + minutes)
    }

    /// Length in minutes.
    fn length_minutes(&self) -> Result<u32, String> {
        let minutes = self.hours * 60.0;
        let whole = minutes.round();
        if !(self.hours > 0.0 && self.hours <= 24.0)
            || (minutes - whole).abs() > 1e-9
            || whole as u32 % STEP_MINUTES != 0
        {
            return Err(format!(
                "shift {:?}: hours must be a multiple of 0.5 from 0.5 to 24",
                self.name
            ));
        }
        Ok(whole as u32)
    }

    fn check(&self) -> Result<(u32, u32), String> {
        if self.name.trim().is_empty() || self.name.chars().count() > 64 {
            return Err("a shift's name must be 1..64 characters".into());
        }
        let start = self.start_minutes()?;
        let length = self.length_minutes()?;
        for b in &self.breaks {
            if b.minutes == 0
                || b.minutes % STEP_MINUTES != 0
                || b.after_minutes % STEP_MINUTES != 0
                || b.after_minutes + b.minutes > length
            {
                return Err(format!(
                    "shift {:?}: breaks must be multiples of 30 minutes inside the shift",
                    self.name
                ));
            }
        }
        Ok((start, length))
    }
}

/// Checks every template and the UTC offset they are read in.
///
/// # Errors
///
/// A message naming the template and what is wrong with it.
pub fn validate(templates: &[ShiftTemplate], utc_offset_minutes: i32) -> Result<(), String> {
    if !(-14 * 60..=14 * 60).contains(&utc_offset_minutes) {
        return Err("utc_offset_minutes must be within ±840".into());
    }
    if templates.is_empty() {
        return Err("at least one shift template is needed".into());
    }
    for template in templates {
        template.check()?;
    }
    Ok(())
}

/// One template on one day.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShiftInstance {
    pub template: String,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub start: Millis,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub end: Millis,
    /// Paid hours (the whole length, breaks included).
    pub hours: f64,
    /// Indexes of the plan intervals it covers.
    #[serde(skip)]
    pub covers: Vec<usize>,
}

/// Every instance of `templates` that covers at least one of `intervals`
/// half hours from `first` (an interval boundary), by start time. Local
/// time is UTC plus `utc_offset_minutes`.
///
/// # Errors
///
/// As [`validate`].
pub fn instances(
    templates: &[ShiftTemplate],
    first: Millis,
    intervals: usize,
    utc_offset_minutes: i32,
) -> Result<Vec<ShiftInstance>, String> {
    validate(templates, utc_offset_minutes)?;
    let offset = Millis::from(utc_offset_minutes) * MINUTE_MS;
    let last = first + intervals as Millis * INTERVAL_MS;
    let first_day = (first + offset).div_euclid(DAY_MS) - 1;
    let last_day = (last + offset).div_euclid(DAY_MS);
    let mut out = Vec::new();
    for day in first_day..=last_day {
        for template in templates {
            let (start_minutes, length) = template.check()?;
            let start = day * DAY_MS + Millis::from(start_minutes) * MINUTE_MS - offset;
            let end = start + Millis::from(length) * MINUTE_MS;
            let on_break = |t: Millis| {
                template.breaks.iter().any(|b| {
                    let from = start + Millis::from(b.after_minutes) * MINUTE_MS;
                    t >= from && t < from + Millis::from(b.minutes) * MINUTE_MS
                })
            };
            let covers: Vec<usize> = (0..intervals)
                .filter(|&i| {
                    let t = first + i as Millis * INTERVAL_MS;
                    t >= start && t + INTERVAL_MS <= end && !on_break(t)
                })
                .collect();
            if !covers.is_empty() {
                out.push(ShiftInstance {
                    template: template.name.clone(),
                    start,
                    end,
                    hours: f64::from(length) / 60.0,
                    covers,
                });
            }
        }
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then(a.template.cmp(&b.template)));
    Ok(out)
}

/// The roster found for one requirement.
#[derive(Clone, Debug, PartialEq)]
pub struct Cover {
    /// Agents per instance, in the order of the instances.
    pub agents: Vec<u32>,
    /// Agents on duty per interval.
    pub on_duty: Vec<u32>,
    /// Intervals with a requirement no instance covers.
    pub uncovered: Vec<usize>,
    /// Paid agent-hours of the roster.
    pub agent_hours: f64,
}

/// Solves the integer program of the module documentation.
///
/// # Errors
///
/// The solver's message if it fails (it cannot be infeasible: every
/// constraint can be met by adding agents).
pub fn cover(instances: &[ShiftInstance], required: &[u32]) -> Result<Cover, String> {
    let mut covering: Vec<Vec<usize>> = vec![Vec::new(); required.len()];
    for (s, instance) in instances.iter().enumerate() {
        for &i in &instance.covers {
            if let Some(list) = covering.get_mut(i) {
                list.push(s);
            }
        }
    }
    let uncovered: Vec<usize> = (0..required.len())
        .filter(|&i| required[i] > 0 && covering[i].is_empty())
        .collect();
    let mut agents = vec![0u32; instances.len()];
    let binding: Vec<usize> = (0..required.len())
        .filter(|&i| required[i] > 0 && !covering[i].is_empty())
        .collect();
    if !binding.is_empty() {
        let mut variables = ProblemVariables::new();
        let x: Vec<Variable> = instances
            .iter()
            .map(|_| variables.add(variable().integer().min(0)))
            .collect();
        let objective: Expression = instances
            .iter()
            .zip(&x)
            .map(|(instance, &v)| instance.hours * v)
            .sum();
        let mut problem = variables.minimise(objective).using(microlp);
        for &i in &binding {
            let on_duty: Expression = covering[i].iter().map(|&s| x[s]).sum();
            problem.add_constraint(constraint!(on_duty >= f64::from(required[i])));
        }
        let solution = problem.solve().map_err(|e| e.to_string())?;
        for (count, &v) in agents.iter_mut().zip(&x) {
            // Integer variables come back within rounding noise of integers.
            *count = solution.value(v).round().max(0.0) as u32;
        }
    }
    let mut on_duty = vec![0u32; required.len()];
    for (instance, &count) in instances.iter().zip(&agents) {
        for &i in &instance.covers {
            if let Some(slot) = on_duty.get_mut(i) {
                *slot += count;
            }
        }
    }
    let agent_hours = instances
        .iter()
        .zip(&agents)
        .map(|(instance, &count)| instance.hours * f64::from(count))
        .sum();
    Ok(Cover {
        agents,
        on_duty,
        uncovered,
        agent_hours,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIDNIGHT: Millis = 1_772_409_600_000; // 2026-03-02T00:00:00Z

    fn template(name: &str, start: &str, hours: f64, breaks: &[(u32, u32)]) -> ShiftTemplate {
        ShiftTemplate {
            name: name.into(),
            start: start.into(),
            hours,
            breaks: breaks
                .iter()
                .map(|&(after_minutes, minutes)| ShiftBreak {
                    after_minutes,
                    minutes,
                })
                .collect(),
        }
    }

    #[test]
    fn instances_follow_local_time_and_breaks() {
        // Hospital at UTC−05:00; a 07:00 local shift starts at 12:00 UTC.
        let templates = [template("Day", "07:00", 4.0, &[(120, 30)])];
        let first = MIDNIGHT + 12 * 3_600_000;
        let found = instances(&templates, first, 10, -300).expect("valid");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].start, first);
        assert_eq!(found[0].end, first + 4 * 3_600_000);
        // Eight half hours, the fifth (after 120 minutes) on break.
        assert_eq!(found[0].covers, vec![0, 1, 2, 3, 5, 6, 7]);
    }

    #[test]
    fn a_night_shift_from_the_day_before_covers_the_first_intervals() {
        let templates = default_templates();
        let found = instances(&templates, MIDNIGHT + 2 * 3_600_000, 4, 0).expect("valid");
        assert_eq!(found[0].template, "Night");
        assert_eq!(found[0].start, MIDNIGHT - 3_600_000);
        // 02:00–04:00, less the break four hours after 23:00.
        assert_eq!(found[0].covers, vec![0, 1, 3]);
    }

    #[test]
    fn bad_templates_are_named() {
        for (bad, why) in [
            (template("X", "7:15", 8.0, &[]), "half hour"),
            (template("X", "25:00", 8.0, &[]), "half hour"),
            (template("X", "07:00", 8.25, &[]), "0.5"),
            (template("X", "07:00", 0.0, &[]), "0.5"),
            (template("X", "07:00", 8.0, &[(480, 30)]), "inside"),
            (template("X", "07:00", 8.0, &[(100, 30)]), "inside"),
        ] {
            let error = validate(&[bad], 0).expect_err(why);
            assert!(error.contains(why) && error.contains("\"X\""), "{error}");
        }
        assert!(validate(&default_templates(), 900).is_err());
        assert!(validate(&[], 0).is_err());
    }

    #[test]
    fn every_interval_is_covered_and_uncoverable_ones_reported() {
        let templates = [
            template("Early", "06:00", 4.0, &[]),
            template("Late", "08:00", 4.0, &[(60, 30)]),
        ];
        let found = instances(&templates, MIDNIGHT + 6 * 3_600_000, 14, 0).expect("valid");
        let required = [1, 2, 3, 3, 2, 2, 4, 1, 1, 1, 1, 1, 0, 2];
        let cover = cover(&found, &required).expect("solved");
        for (i, need) in required.iter().enumerate() {
            if cover.uncovered.contains(&i) {
                continue;
            }
            assert!(cover.on_duty[i] >= *need, "interval {i}: {cover:?}");
        }
        // 06:00 + 13 × 30 min = 12:30: no shift then.
        assert_eq!(cover.uncovered, vec![13]);
    }

    /// The cheapest roster by enumerating every vector of agent counts.
    fn brute_force(instances: &[ShiftInstance], required: &[u32], most: u32) -> f64 {
        let mut best = f64::INFINITY;
        let mut counts = vec![0u32; instances.len()];
        loop {
            let mut on_duty = vec![0u32; required.len()];
            for (instance, &count) in instances.iter().zip(&counts) {
                for &i in &instance.covers {
                    on_duty[i] += count;
                }
            }
            if required.iter().zip(&on_duty).all(|(r, d)| d >= r) {
                let cost: f64 = instances
                    .iter()
                    .zip(&counts)
                    .map(|(s, &c)| s.hours * f64::from(c))
                    .sum();
                best = best.min(cost);
            }
            // Next vector, like an odometer.
            let mut position = 0;
            loop {
                if position == counts.len() {
                    return best;
                }
                counts[position] += 1;
                if counts[position] <= most {
                    break;
                }
                counts[position] = 0;
                position += 1;
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn the_program_finds_the_cheapest_roster(
            required in proptest::collection::vec(0u32..=3, 12),
            starts in proptest::collection::vec(0u32..8, 4),
            lengths in proptest::collection::vec(2u32..=8, 4),
            with_break in proptest::collection::vec(any::<bool>(), 4),
        ) {
            // Four templates of 1–4 hours starting 00:00–03:30 over a
            // 6-hour horizon, some with a 30-minute break.
            let templates: Vec<ShiftTemplate> = (0..4)
                .map(|k| {
                    let minutes = starts[k] * 30;
                    let hours = f64::from(lengths[k]) / 2.0;
                    let breaks: &[(u32, u32)] =
                        if with_break[k] && lengths[k] >= 4 { &[(60, 30)] } else { &[] };
                    template(
                        &format!("T{k}"),
                        &format!("{:02}:{:02}", minutes / 60, minutes % 60),
                        hours,
                        breaks,
                    )
                })
                .collect();
            let found = instances(&templates, MIDNIGHT, 12, 0).expect("valid");
            let solved = cover(&found, &required).expect("solved");
            for (i, need) in required.iter().enumerate() {
                prop_assert!(solved.uncovered.contains(&i) || solved.on_duty[i] >= *need);
            }
            // Any coverable requirement needs at most 3 per instance.
            let coverable: Vec<u32> = required
                .iter()
                .enumerate()
                .map(|(i, r)| if solved.uncovered.contains(&i) { 0 } else { *r })
                .collect();
            prop_assume!(found.len() <= 6);
            let best = brute_force(&found, &coverable, 3);
            prop_assert!((solved.agent_hours - best).abs() < 1e-9,
                "program {} vs brute force {}", solved.agent_hours, best);
        }
    }
}
