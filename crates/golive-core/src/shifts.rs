//! Shift templates from the configuration and the smallest roster that
//! covers a requirement per 30-minute interval, solved as an integer
//! program.
//!
//! A template (`name`, local `start` such as `"07:00"`, length in `hours`,
//! and `breaks`) repeats every day. A break lasts `minutes` and starts
//! `after_minutes` into the shift, or — with `window_minutes` — at any half
//! hour up to that much later, so that breaks can be staggered. Every
//! start, length and break is a multiple of 30 minutes, so a shift covers
//! whole plan intervals.
//!
//! # The integer program
//!
//! With `x_s` agents on shift instance `s` (a template on a given day),
//! `h_s` its length in hours, `y_{s,k,b}` of them taking their break `k` at
//! option `b`, and `r_i` the agents needed in interval `i`:
//!
//! ```text
//! minimise   Σ_s h_s · x_s                                      (paid agent-hours)
//! subject to Σ_b y_{s,k,b} = x_s                                for every break k of s
//!            Σ_{s on duty in i} x_s − Σ_{(s,k,b) on break in i} y_{s,k,b} ≥ r_i
//!            x_s, y_{s,k,b} ∈ {0, 1, 2, …}
//! ```
//!
//! (the "implicit break" formulation of shift scheduling). The solution
//! also says how many agents of each shift take each break when.
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
    /// Earliest start, in minutes from the start of the shift.
    pub after_minutes: u32,
    pub minutes: u32,
    /// How much later than `after_minutes` the break may start (0: fixed).
    #[serde(default)]
    pub window_minutes: u32,
}

/// The templates used when none are configured: three overlapping
/// 8.5-hour shifts with a 30-minute break starting 3.5 to 4.5 hours in.
pub fn default_templates() -> Vec<ShiftTemplate> {
    [("Day", "07:00"), ("Evening", "15:00"), ("Night", "23:00")]
        .into_iter()
        .map(|(name, start)| ShiftTemplate {
            name: name.into(),
            start: start.into(),
            hours: 8.5,
            breaks: vec![ShiftBreak {
                after_minutes: 210,
                minutes: 30,
                window_minutes: 60,
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
        if hours > 23 || minutes > 59 || !minutes.is_multiple_of(STEP_MINUTES) {
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
            || !(whole as u32).is_multiple_of(STEP_MINUTES)
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
                || !b.minutes.is_multiple_of(STEP_MINUTES)
                || !b.after_minutes.is_multiple_of(STEP_MINUTES)
                || !b.window_minutes.is_multiple_of(STEP_MINUTES)
                || b.after_minutes + b.window_minutes + b.minutes > length
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
    /// Indexes of the plan intervals it is on duty in, breaks aside.
    #[serde(skip)]
    pub on_duty: Vec<usize>,
    /// Per break: its options, each a start time and the plan intervals
    /// an agent taking the break then is away in.
    #[serde(skip)]
    pub breaks: Vec<Vec<(Millis, Vec<usize>)>>,
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
            let within = |from: Millis, to: Millis| -> Vec<usize> {
                (0..intervals)
                    .filter(|&i| {
                        let t = first + i as Millis * INTERVAL_MS;
                        t >= from && t + INTERVAL_MS <= to
                    })
                    .collect()
            };
            let on_duty = within(start, end);
            if on_duty.is_empty() {
                continue;
            }
            let breaks = template
                .breaks
                .iter()
                .map(|b| {
                    (0..=b.window_minutes / STEP_MINUTES)
                        .map(|option| {
                            let from = start
                                + Millis::from(b.after_minutes + option * STEP_MINUTES) * MINUTE_MS;
                            (
                                from,
                                within(from, from + Millis::from(b.minutes) * MINUTE_MS),
                            )
                        })
                        .collect()
                })
                .collect();
            out.push(ShiftInstance {
                template: template.name.clone(),
                start,
                end,
                hours: f64::from(length) / 60.0,
                on_duty,
                breaks,
            });
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
    /// Per instance, per break, per option: agents taking it then.
    pub breaks: Vec<Vec<Vec<u32>>>,
    /// Agents on duty (not on a break) per interval.
    pub on_duty: Vec<u32>,
    /// Intervals with a requirement no instance can staff (none is on duty
    /// then, or only on a break it cannot move).
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
    let mut on_duty_in: Vec<Vec<usize>> = vec![Vec::new(); required.len()];
    for (s, instance) in instances.iter().enumerate() {
        for &i in &instance.on_duty {
            if let Some(list) = on_duty_in.get_mut(i) {
                list.push(s);
            }
        }
    }
    // An instance can staff interval i only if no break of it is bound to
    // fall there whichever option is taken.
    let can_staff = |s: usize, i: usize| {
        instances[s]
            .breaks
            .iter()
            .all(|options| options.iter().any(|(_, away)| !away.contains(&i)))
    };
    let coverable: Vec<bool> = (0..required.len())
        .map(|i| on_duty_in[i].iter().any(|&s| can_staff(s, i)))
        .collect();
    let uncovered: Vec<usize> = (0..required.len())
        .filter(|&i| required[i] > 0 && !coverable[i])
        .collect();
    let mut agents = vec![0u32; instances.len()];
    let mut breaks: Vec<Vec<Vec<u32>>> = instances
        .iter()
        .map(|s| {
            s.breaks
                .iter()
                .map(|options| vec![0; options.len()])
                .collect()
        })
        .collect();
    let binding: Vec<usize> = (0..required.len())
        .filter(|&i| required[i] > 0 && coverable[i])
        .collect();
    if !binding.is_empty() {
        let mut variables = ProblemVariables::new();
        let x: Vec<Variable> = instances
            .iter()
            .map(|_| variables.add(variable().integer().min(0)))
            .collect();
        // y[s][k][b]
        let y: Vec<Vec<Vec<Variable>>> = instances
            .iter()
            .map(|s| {
                s.breaks
                    .iter()
                    .map(|options| {
                        options
                            .iter()
                            .map(|_| variables.add(variable().integer().min(0)))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let objective: Expression = instances
            .iter()
            .zip(&x)
            .map(|(instance, &v)| instance.hours * v)
            .sum();
        let mut problem = variables.minimise(objective).using(microlp);
        let mut away: Vec<Vec<Variable>> = vec![Vec::new(); required.len()];
        for (s, instance) in instances.iter().enumerate() {
            for (k, options) in instance.breaks.iter().enumerate() {
                let taken: Expression = y[s][k].iter().copied().sum();
                problem.add_constraint(constraint!(taken == x[s]));
                for (b, (_, intervals)) in options.iter().enumerate() {
                    for &i in intervals {
                        if let Some(list) = away.get_mut(i) {
                            list.push(y[s][k][b]);
                        }
                    }
                }
            }
        }
        for &i in &binding {
            let present: Expression = on_duty_in[i].iter().map(|&s| x[s]).sum();
            let absent: Expression = away[i].iter().copied().sum();
            problem.add_constraint(constraint!(present - absent >= f64::from(required[i])));
        }
        let solution = problem.solve().map_err(|e| e.to_string())?;
        // Integer variables come back within rounding noise of integers.
        let count = |v: Variable| solution.value(v).round().max(0.0) as u32;
        for (s, &v) in x.iter().enumerate() {
            agents[s] = count(v);
            for (k, options) in y[s].iter().enumerate() {
                for (b, &v) in options.iter().enumerate() {
                    breaks[s][k][b] = count(v);
                }
            }
        }
    }
    let mut on_duty = vec![0i64; required.len()];
    for (s, instance) in instances.iter().enumerate() {
        for &i in &instance.on_duty {
            on_duty[i] += i64::from(agents[s]);
        }
        for (k, options) in instance.breaks.iter().enumerate() {
            for (b, (_, intervals)) in options.iter().enumerate() {
                for &i in intervals {
                    on_duty[i] -= i64::from(breaks[s][k][b]);
                }
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
        breaks,
        on_duty: on_duty
            .into_iter()
            .map(|n| u32::try_from(n).unwrap_or(0))
            .collect(),
        uncovered,
        agent_hours,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIDNIGHT: Millis = 1_772_409_600_000; // 2026-03-02T00:00:00Z
    const HOUR: Millis = 3_600_000;

    fn template(name: &str, start: &str, hours: f64, breaks: &[(u32, u32, u32)]) -> ShiftTemplate {
        ShiftTemplate {
            name: name.into(),
            start: start.into(),
            hours,
            breaks: breaks
                .iter()
                .map(|&(after_minutes, minutes, window_minutes)| ShiftBreak {
                    after_minutes,
                    minutes,
                    window_minutes,
                })
                .collect(),
        }
    }

    #[test]
    fn instances_follow_local_time_and_breaks() {
        // Hospital at UTC−05:00; a 07:00 local shift starts at 12:00 UTC.
        let templates = [template("Day", "07:00", 4.0, &[(120, 30, 30)])];
        let first = MIDNIGHT + 12 * HOUR;
        let found = instances(&templates, first, 10, -300).expect("valid");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].start, first);
        assert_eq!(found[0].end, first + 4 * HOUR);
        assert_eq!(found[0].on_duty, (0..8).collect::<Vec<_>>());
        // The break may start 2 h or 2.5 h in.
        assert_eq!(
            found[0].breaks,
            vec![vec![
                (first + 2 * HOUR, vec![4]),
                (first + 5 * HOUR / 2, vec![5])
            ]]
        );
    }

    #[test]
    fn a_night_shift_from_the_day_before_covers_the_first_intervals() {
        let templates = default_templates();
        let found = instances(&templates, MIDNIGHT + 2 * HOUR, 4, 0).expect("valid");
        assert_eq!(found[0].template, "Night");
        assert_eq!(found[0].start, MIDNIGHT - HOUR);
        assert_eq!(found[0].on_duty, vec![0, 1, 2, 3]);
        // Break options at 02:30, 03:00 and 03:30.
        let away: Vec<Vec<usize>> = found[0].breaks[0].iter().map(|(_, i)| i.clone()).collect();
        assert_eq!(away, vec![vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn bad_templates_are_named() {
        for (bad, why) in [
            (template("X", "7:15", 8.0, &[]), "half hour"),
            (template("X", "25:00", 8.0, &[]), "half hour"),
            (template("X", "07:00", 8.25, &[]), "0.5"),
            (template("X", "07:00", 0.0, &[]), "0.5"),
            (template("X", "07:00", 8.0, &[(480, 30, 0)]), "inside"),
            (template("X", "07:00", 8.0, &[(100, 30, 0)]), "inside"),
            (template("X", "07:00", 8.0, &[(420, 30, 60)]), "inside"),
        ] {
            let error = validate(&[bad], 0).expect_err(why);
            assert!(error.contains(why) && error.contains("\"X\""), "{error}");
        }
        assert!(validate(&default_templates(), 900).is_err());
        assert!(validate(&[], 0).is_err());
    }

    #[test]
    fn staggered_breaks_keep_every_interval_covered() {
        // Default templates over a day needing 5 agents throughout: one
        // shift's breaks are staggered so nobody's gap shows.
        let found = instances(&default_templates(), MIDNIGHT, 48, 0).expect("valid");
        let required = vec![5u32; 48];
        let cover = cover(&found, &required).expect("solved");
        assert!(cover.uncovered.is_empty());
        for (i, on_duty) in cover.on_duty.iter().enumerate() {
            assert!(*on_duty >= 5, "interval {i}: {cover:?}");
        }
        for (s, instance) in found.iter().enumerate() {
            for options in &cover.breaks[s] {
                assert_eq!(options.iter().sum::<u32>(), cover.agents[s], "{instance:?}");
            }
        }
    }

    #[test]
    fn uncoverable_intervals_are_reported() {
        let templates = [
            template("Early", "06:00", 4.0, &[]),
            template("Late", "08:00", 4.0, &[(60, 30, 0)]),
        ];
        let found = instances(&templates, MIDNIGHT + 6 * HOUR, 14, 0).expect("valid");
        let required = [1, 2, 3, 3, 2, 2, 4, 1, 1, 1, 1, 1, 0, 2];
        let cover = cover(&found, &required).expect("solved");
        // 06:00 + 13 × 30 min = 12:30: no shift then.
        assert_eq!(cover.uncovered, vec![13]);
        for (i, need) in required.iter().enumerate().take(13) {
            assert!(cover.on_duty[i] >= *need, "interval {i}: {cover:?}");
        }
    }

    /// What one instance can contribute: for each agent count up to
    /// `most` and each way of spreading them over its break options, the
    /// agents on duty per interval and the paid hours.
    fn patterns(instance: &ShiftInstance, intervals: usize, most: u32) -> Vec<(Vec<u32>, f64)> {
        let mut out = Vec::new();
        for count in 0..=most {
            // Spreads of `count` over each break's options, combined.
            let mut spreads: Vec<Vec<i64>> = vec![vec![0; intervals]];
            for options in &instance.breaks {
                let mut next = Vec::new();
                for base in &spreads {
                    for split in splits(count, options.len()) {
                        let mut away = base.clone();
                        for (b, taken) in split.iter().enumerate() {
                            for &i in &options[b].1 {
                                away[i] += i64::from(*taken);
                            }
                        }
                        next.push(away);
                    }
                }
                spreads = next;
            }
            for away in spreads {
                let mut duty = vec![0i64; intervals];
                for &i in &instance.on_duty {
                    duty[i] += i64::from(count);
                }
                let duty = duty
                    .iter()
                    .zip(&away)
                    .map(|(d, a)| (d - a).max(0) as u32)
                    .collect();
                out.push((duty, instance.hours * f64::from(count)));
            }
        }
        out
    }

    /// Every way to put `count` agents into `parts` ordered groups.
    fn splits(count: u32, parts: usize) -> Vec<Vec<u32>> {
        if parts <= 1 {
            return vec![vec![count]];
        }
        (0..=count)
            .flat_map(|first| {
                splits(count - first, parts - 1)
                    .into_iter()
                    .map(move |mut rest| {
                        rest.insert(0, first);
                        rest
                    })
            })
            .collect()
    }

    /// The cheapest roster, by enumerating every combination of patterns.
    fn brute_force(instances: &[ShiftInstance], required: &[u32], most: u32) -> f64 {
        let all: Vec<Vec<(Vec<u32>, f64)>> = instances
            .iter()
            .map(|s| patterns(s, required.len(), most))
            .collect();
        let mut best = f64::INFINITY;
        let mut choice = vec![0usize; all.len()];
        loop {
            let mut duty = vec![0u32; required.len()];
            let mut cost = 0.0;
            for (s, &c) in choice.iter().enumerate() {
                let (pattern, hours) = &all[s][c];
                for (d, p) in duty.iter_mut().zip(pattern) {
                    *d += p;
                }
                cost += hours;
            }
            if cost < best && required.iter().zip(&duty).all(|(r, d)| d >= r) {
                best = cost;
            }
            // Next combination, like an odometer.
            let mut position = 0;
            loop {
                if position == choice.len() {
                    return best;
                }
                choice[position] += 1;
                if choice[position] < all[position].len() {
                    break;
                }
                choice[position] = 0;
                position += 1;
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        #[test]
        fn the_program_finds_the_cheapest_roster(
            required in proptest::collection::vec(0u32..=3, 12),
            starts in proptest::collection::vec(0u32..8, 3),
            lengths in proptest::collection::vec(2u32..=8, 3),
            breaks in proptest::collection::vec(0u32..3, 3),
        ) {
            // Three templates of 1–4 hours starting 00:00–03:30 over a
            // 6-hour horizon: no break, a fixed one, or one in a window.
            let templates: Vec<ShiftTemplate> = (0..3)
                .map(|k| {
                    let minutes = starts[k] * 30;
                    let hours = f64::from(lengths[k]) / 2.0;
                    let breaks: &[(u32, u32, u32)] = match (breaks[k], lengths[k]) {
                        (1, 4..) => &[(60, 30, 0)],
                        (2, 5..) => &[(60, 30, 30)],
                        _ => &[],
                    };
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
            let coverable: Vec<u32> = required
                .iter()
                .enumerate()
                .map(|(i, r)| if solved.uncovered.contains(&i) { 0 } else { *r })
                .collect();
            let best = brute_force(&found, &coverable, 6);
            prop_assert!((solved.agent_hours - best).abs() < 1e-9,
                "program {} vs brute force {}", solved.agent_hours, best);
        }
    }
}
