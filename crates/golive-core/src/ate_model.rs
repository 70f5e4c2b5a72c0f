//! At-the-elbow (ATE) staffing per site: how many floor support staff a site
//! needs, from its recent in-person ticket volume.
//!
//! # Model
//!
//! Counted are tickets whose channel is `ate` or `walk_in` (see
//! [`is_ate_channel`]) opened at the site during a recent interval of `T`
//! seconds, per department.
//!
//! ```text
//! λ         = tickets · 3600 / T                  tickets per hour
//! W         = λ · effort_minutes / 60             staff-hours of hands-on work per hour
//! staff     = max(min_per_site, ceil(W / utilisation))
//! dedicated = floor(W_d / utilisation)            per department d
//! ```
//!
//! * **Effort** (default 12 minutes) is the average hands-on time a floor
//!   person spends on one ATE or walk-in ticket.
//! * **Utilisation** (default 0.6) is the share of a floor person's hour that
//!   may go to hands-on work. The rest is the travel and coverage overhead:
//!   walking between units, rounding and staying visible so that clinicians
//!   ask rather than work around. At 0.6 every hour of hands-on work carries
//!   40 minutes of overhead. Phone-style queueing (Erlang C) does not apply:
//!   floor staff are not a pooled queue, and their response time is set by
//!   where they stand, not by how many tickets wait.
//! * **Minimum coverage** (default 1, raised per big site through
//!   configuration) keeps someone on the floor when nothing is reported,
//!   because a quiet site during a go-live is often a site nobody is helping.
//! * **Departments** get their own line when their own workload keeps at
//!   least one person busy (`dedicated >= 1`); those people are stationed
//!   there. The rest of the site's staff rove across the remaining
//!   departments (`roaming_staff`). Rounding departments down and the site up
//!   guarantees the dedicated people never outnumber the site's total.
//!   Tickets with no department (passed under the empty name) count towards
//!   the site but never get a line of their own: there is nowhere to station
//!   someone for them.
//!
//! Quotients within 1e-9 of an integer are taken as that integer, so exactly
//! 3 tickets an hour at 12 minutes and 0.6 utilisation is one person, not two
//! (or zero) because of floating-point noise.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::erlang::ceil_ignoring_noise;
use crate::model::Channel;

/// Default hands-on minutes per ATE or walk-in ticket.
pub const DEFAULT_EFFORT_MINUTES: f64 = 12.0;
/// Default share of floor time spent on hands-on work.
pub const DEFAULT_UTILISATION: f64 = 0.6;
/// Default minimum floor coverage per site.
pub const DEFAULT_MIN_PER_SITE: u32 = 1;
/// Largest accepted effort per ticket: a whole shift.
pub const MAX_EFFORT_MINUTES: f64 = 480.0;
/// Largest accepted minimum coverage per site.
pub const MAX_MIN_PER_SITE: u32 = 1_000;

const INTEGER_TOLERANCE: f64 = 1e-9;

/// Whether tickets of this channel are ATE workload.
pub fn is_ate_channel(channel: Channel) -> bool {
    matches!(channel, Channel::Ate | Channel::WalkIn)
}

/// The tunable parameters of the ATE model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AteSettings {
    /// Average hands-on minutes per ATE or walk-in ticket.
    pub effort_minutes: f64,
    /// Target share of floor time spent on hands-on work, in (0, 1].
    pub utilisation: f64,
    /// Floor staff a site keeps however quiet it is.
    pub min_per_site: u32,
}

impl Default for AteSettings {
    fn default() -> Self {
        AteSettings {
            effort_minutes: DEFAULT_EFFORT_MINUTES,
            utilisation: DEFAULT_UTILISATION,
            min_per_site: DEFAULT_MIN_PER_SITE,
        }
    }
}

impl AteSettings {
    /// Checks that every setting is usable.
    ///
    /// # Errors
    ///
    /// An [`AteError`] naming the first setting out of range.
    pub fn validate(&self) -> Result<(), AteError> {
        let effort = self.effort_minutes;
        if !(effort.is_finite() && effort > 0.0 && effort <= MAX_EFFORT_MINUTES) {
            return Err(AteError::new(
                "effort_minutes",
                format!("must be greater than 0 and at most {MAX_EFFORT_MINUTES} minutes"),
            ));
        }
        let utilisation = self.utilisation;
        if !(utilisation.is_finite() && utilisation > 0.0 && utilisation <= 1.0) {
            return Err(AteError::new(
                "utilisation",
                "must be greater than 0 and at most 1",
            ));
        }
        if self.min_per_site > MAX_MIN_PER_SITE {
            return Err(AteError::new(
                "min_per_site",
                format!("must be at most {MAX_MIN_PER_SITE}"),
            ));
        }
        Ok(())
    }
}

/// A setting or argument the model cannot work with.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct AteError {
    /// The setting or argument at fault.
    pub field: &'static str,
    /// Why it was rejected, in plain words.
    pub message: String,
}

impl AteError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        AteError {
            field,
            message: message.into(),
        }
    }
}

/// A department busy enough to have floor staff of its own.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DepartmentRecommendation {
    /// Department name as the tickets spell it.
    pub department: String,
    /// ATE and walk-in tickets in the interval.
    pub tickets: u64,
    /// Arrival rate λ in tickets per hour.
    pub tickets_per_hour: f64,
    /// Hands-on staff-hours per hour, `λ · effort / 60`.
    pub workload_hours_per_hour: f64,
    /// People to station in the department, `floor(workload / utilisation)`.
    pub dedicated_staff: u32,
}

/// The floor staffing recommendation for one site.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AteRecommendation {
    /// Site name.
    pub site: String,
    /// ATE and walk-in tickets in the interval.
    pub tickets: u64,
    /// Arrival rate λ in tickets per hour.
    pub tickets_per_hour: f64,
    /// Hands-on staff-hours per hour, `λ · effort / 60`.
    pub workload_hours_per_hour: f64,
    /// Floor staff the site needs in total.
    pub recommended_staff: u32,
    /// Of those, the staff not stationed in a department.
    pub roaming_staff: u32,
    /// Departments with dedicated staff, busiest first.
    pub departments: Vec<DepartmentRecommendation>,
}

/// Recommends floor staff for `site` from the ATE and walk-in tickets opened
/// per department over the last `interval_seconds`. Repeated department names
/// are added together. Absurd volumes saturate at `u32::MAX` staff.
///
/// # Errors
///
/// An [`AteError`] naming the setting out of range, or `interval_seconds`
/// when it is not a positive number.
pub fn recommend(
    site: &str,
    interval_seconds: f64,
    per_department_counts: &[(String, u64)],
    settings: &AteSettings,
) -> Result<AteRecommendation, AteError> {
    settings.validate()?;
    if !(interval_seconds.is_finite() && interval_seconds > 0.0) {
        return Err(AteError::new("interval_seconds", "must be greater than 0"));
    }
    let hours = interval_seconds / 3600.0;
    let workload_per_ticket = settings.effort_minutes / 60.0;

    let mut merged: Vec<(&str, u64)> = Vec::with_capacity(per_department_counts.len());
    for (department, count) in per_department_counts {
        match merged.iter_mut().find(|(name, _)| name == department) {
            Some((_, total)) => *total = total.saturating_add(*count),
            None => merged.push((department.as_str(), *count)),
        }
    }

    let tickets = merged
        .iter()
        .fold(0u64, |total, (_, count)| total.saturating_add(*count));
    let tickets_per_hour = tickets as f64 / hours;
    let workload = tickets_per_hour * workload_per_ticket;

    let mut departments: Vec<DepartmentRecommendation> = merged
        .iter()
        .filter(|(name, _)| !name.is_empty())
        .filter_map(|&(name, count)| {
            let rate = count as f64 / hours;
            let load = rate * workload_per_ticket;
            let dedicated = floor_ignoring_noise(load / settings.utilisation);
            (dedicated >= 1).then(|| DepartmentRecommendation {
                department: name.to_owned(),
                tickets: count,
                tickets_per_hour: rate,
                workload_hours_per_hour: load,
                dedicated_staff: dedicated,
            })
        })
        .collect();
    departments.sort_by(|a, b| {
        b.workload_hours_per_hour
            .total_cmp(&a.workload_hours_per_hour)
            .then_with(|| a.department.cmp(&b.department))
    });

    let dedicated = departments
        .iter()
        .fold(0u32, |total, d| total.saturating_add(d.dedicated_staff));
    let recommended = staff_for_workload(workload, settings)
        // The rounding rules already guarantee this; kept so that the lines
        // can never add up to more than the site.
        .max(dedicated);

    Ok(AteRecommendation {
        site: site.to_owned(),
        tickets,
        tickets_per_hour,
        workload_hours_per_hour: workload,
        recommended_staff: recommended,
        roaming_staff: recommended - dedicated,
        departments,
    })
}

/// Floor staff for `workload` staff-hours of hands-on work per hour:
/// `max(min_per_site, ceil(workload / utilisation))` (the site total of the
/// model). Also what the staffing plan uses per forecast interval.
pub fn staff_for_workload(workload: f64, settings: &AteSettings) -> u32 {
    ceil_ignoring_noise(workload.max(0.0) / settings.utilisation).max(settings.min_per_site)
}

/// Rounds `x >= 0` down, except that a value within 1e-9 (relative) below an
/// integer is taken as that integer. Saturates at `u32::MAX`.
fn floor_ignoring_noise(x: f64) -> u32 {
    let ceil = x.ceil();
    let rounded = if ceil - x <= INTEGER_TOLERANCE * x.max(1.0) {
        ceil
    } else {
        x.floor()
    };
    // Float-to-int `as` saturates, which is the behaviour wanted at the edges.
    rounded as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(items: &[(&str, u64)]) -> Vec<(String, u64)> {
        items
            .iter()
            .map(|(name, count)| ((*name).to_owned(), *count))
            .collect()
    }

    const HOUR: f64 = 3600.0;

    #[test]
    fn defaults_are_the_documented_ones() {
        let settings = AteSettings::default();
        assert_eq!(settings.effort_minutes, 12.0);
        assert_eq!(settings.utilisation, 0.6);
        assert_eq!(settings.min_per_site, 1);
        assert!(settings.validate().is_ok());
    }

    #[test]
    fn zero_arrivals_keep_minimum_coverage() {
        let mut settings = AteSettings::default();
        let quiet = recommend("North", HOUR, &[], &settings).expect("valid");
        assert_eq!(quiet.recommended_staff, 1);
        assert_eq!(quiet.roaming_staff, 1);
        assert_eq!(quiet.tickets_per_hour, 0.0);
        assert!(quiet.departments.is_empty());

        settings.min_per_site = 3;
        let big = recommend("Main", HOUR, &counts(&[("ED", 0)]), &settings).expect("valid");
        assert_eq!(big.recommended_staff, 3);

        settings.min_per_site = 0;
        let none = recommend("Clinic", HOUR, &[], &settings).expect("valid");
        assert_eq!(none.recommended_staff, 0);
    }

    #[test]
    fn busy_site_follows_the_formula() {
        // 40 tickets in 2 h: λ = 20/h, W = 20 · 12/60 = 4 staff-hours per
        // hour, 4 / 0.6 = 6.67 → 7 people.
        let site = recommend(
            "Main",
            2.0 * HOUR,
            &counts(&[("ED", 14), ("ICU", 10), ("4W", 9), ("", 7)]),
            &AteSettings::default(),
        )
        .expect("valid");
        assert_eq!(site.tickets, 40);
        assert!((site.tickets_per_hour - 20.0).abs() < 1e-12);
        assert!((site.workload_hours_per_hour - 4.0).abs() < 1e-12);
        assert_eq!(site.recommended_staff, 7);
        assert_eq!(site.site, "Main");
    }

    #[test]
    fn exact_integers_are_not_pushed_over_by_noise() {
        // 3 tickets an hour · 12 min = 0.6 staff-hours per hour = one person.
        let site =
            recommend("East", HOUR, &counts(&[("ED", 3)]), &AteSettings::default()).expect("valid");
        assert_eq!(site.recommended_staff, 1);
        assert_eq!(site.departments.len(), 1);
        assert_eq!(site.departments[0].dedicated_staff, 1);
        assert_eq!(site.roaming_staff, 0);
        // 30 tickets in 10 hours is the same rate.
        let slow = recommend(
            "East",
            10.0 * HOUR,
            &counts(&[("ED", 30)]),
            &AteSettings::default(),
        )
        .expect("valid");
        assert_eq!(slow.recommended_staff, 1);
        assert_eq!(slow.departments[0].dedicated_staff, 1);
    }

    #[test]
    fn departments_get_a_line_only_when_they_need_a_person() {
        // Per hour: ED 12 tickets (2.4 h of work → 4 dedicated), ICU 4 (0.8 →
        // 1 dedicated), 4W 2 (0.4 → 0.67 people, roams), unassigned 6 (no
        // line). Site: 24/h → 4.8 h → 8 people, 3 of them roaming.
        let site = recommend(
            "Main",
            HOUR,
            &counts(&[("4W", 2), ("ICU", 4), ("ED", 12), ("", 6)]),
            &AteSettings::default(),
        )
        .expect("valid");
        assert_eq!(site.recommended_staff, 8);
        let lines: Vec<(&str, u32)> = site
            .departments
            .iter()
            .map(|d| (d.department.as_str(), d.dedicated_staff))
            .collect();
        assert_eq!(lines, vec![("ED", 4), ("ICU", 1)]);
        assert_eq!(site.roaming_staff, 3);
        let ed = &site.departments[0];
        assert_eq!(ed.tickets, 12);
        assert!((ed.workload_hours_per_hour - 2.4).abs() < 1e-12);
    }

    #[test]
    fn unassigned_tickets_never_get_a_line() {
        let site =
            recommend("Main", HOUR, &counts(&[("", 50)]), &AteSettings::default()).expect("valid");
        assert!(site.departments.is_empty());
        assert_eq!(site.recommended_staff, 17);
        assert_eq!(site.roaming_staff, 17);
    }

    #[test]
    fn repeated_departments_are_merged() {
        let site = recommend(
            "Main",
            HOUR,
            &counts(&[("ED", 2), ("ED", 2)]),
            &AteSettings::default(),
        )
        .expect("valid");
        assert_eq!(site.departments.len(), 1);
        assert_eq!(site.departments[0].tickets, 4);
        assert_eq!(site.departments[0].dedicated_staff, 1);
    }

    #[test]
    fn dedicated_staff_never_exceed_the_site() {
        // Many departments each just over one person of load.
        let many: Vec<(String, u64)> = (0..20).map(|i| (format!("D{i}"), 4)).collect();
        let site = recommend("Main", HOUR, &many, &AteSettings::default()).expect("valid");
        let dedicated: u32 = site.departments.iter().map(|d| d.dedicated_staff).sum();
        assert_eq!(dedicated, 20);
        assert_eq!(site.recommended_staff, 27);
        assert_eq!(site.roaming_staff, 7);
    }

    #[test]
    fn invalid_settings_name_the_field() {
        let good = AteSettings::default();
        let cases: [(&str, AteSettings); 8] = [
            (
                "effort_minutes",
                AteSettings {
                    effort_minutes: 0.0,
                    ..good
                },
            ),
            (
                "effort_minutes",
                AteSettings {
                    effort_minutes: -5.0,
                    ..good
                },
            ),
            (
                "effort_minutes",
                AteSettings {
                    effort_minutes: f64::NAN,
                    ..good
                },
            ),
            (
                "effort_minutes",
                AteSettings {
                    effort_minutes: 600.0,
                    ..good
                },
            ),
            (
                "utilisation",
                AteSettings {
                    utilisation: 0.0,
                    ..good
                },
            ),
            (
                "utilisation",
                AteSettings {
                    utilisation: 1.5,
                    ..good
                },
            ),
            (
                "utilisation",
                AteSettings {
                    utilisation: f64::INFINITY,
                    ..good
                },
            ),
            (
                "min_per_site",
                AteSettings {
                    min_per_site: 5_000,
                    ..good
                },
            ),
        ];
        for (field, settings) in cases {
            let error = settings.validate().expect_err(field);
            assert_eq!(error.field, field, "{error}");
            let error = recommend("Main", HOUR, &[], &settings).expect_err(field);
            assert_eq!(error.field, field);
        }
        for interval in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let error = recommend("Main", interval, &[], &good).expect_err("interval");
            assert_eq!(error.field, "interval_seconds");
        }
    }

    #[test]
    fn settings_deserialize_with_defaults() {
        let settings: AteSettings =
            serde_json::from_str(r#"{"min_per_site": 4}"#).expect("valid json");
        assert_eq!(
            settings,
            AteSettings {
                min_per_site: 4,
                ..AteSettings::default()
            }
        );
    }

    #[test]
    fn only_ate_and_walk_in_count() {
        let counted: Vec<Channel> = Channel::ALL
            .into_iter()
            .filter(|c| is_ate_channel(*c))
            .collect();
        assert_eq!(counted, vec![Channel::Ate, Channel::WalkIn]);
    }
}
