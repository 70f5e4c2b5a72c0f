//! The plan end to end on prepared histories: every interval covered,
//! figures equal to the calculators' for the forecast calls, the basis
//! chosen from the patience estimate, and the CSV.

use super::*;
use crate::patience::WaitingExposure;

const MIDNIGHT: Millis = 1_772_409_600_000; // 2026-03-02T00:00:00Z

/// Three days of a queue whose half hours carry `base + slot` calls,
/// decaying by 0.8 a day.
fn history(queue: &str, base: f64, exposure: WaitingExposure) -> QueueHistory {
    let counts = (0..3 * 48)
        .map(|i| (base + (i % 48) as f64) * 0.8_f64.powf(i as f64 / 48.0))
        .collect();
    QueueHistory {
        queue: queue.into(),
        settings: QueueSettings {
            shrinkage: 0.3,
            ..QueueSettings::default()
        },
        origin: MIDNIGHT,
        counts,
        aht_seconds: 240.0,
        exposure,
    }
}

fn input(hours: u32) -> PlanInput {
    PlanInput {
        now: MIDNIGHT + 3 * DAY_MS + 10 * 60_000,
        hours,
        queues: vec![
            history("Nurse, Line", 20.0, WaitingExposure::default()),
            history(
                "Physician Line",
                10.0,
                WaitingExposure {
                    abandons: 40,
                    waiting_seconds: 4_000.0,
                },
            ),
            history(
                "Access",
                5.0,
                WaitingExposure {
                    abandons: 3,
                    waiting_seconds: 600.0,
                },
            ),
        ],
        sites: vec![SiteHistory {
            site: "Main".into(),
            origin: MIDNIGHT,
            counts: vec![6.0; 3 * 48],
        }],
        ate: AteSettings::default(),
    }
}

#[test]
fn every_interval_is_covered_by_the_roster() {
    let plan = build(&input(72), &PlanSettings::default()).expect("plan");
    assert_eq!(plan.from, MIDNIGHT + 3 * DAY_MS + 30 * 60_000);
    assert_eq!(plan.to - plan.from, 72 * HOUR_MS);
    for queue in &plan.queues {
        assert_eq!(queue.intervals.len(), 144);
        assert!(queue.uncovered.is_empty());
        assert!(queue.error.is_none(), "{:?}", queue.error);
        for interval in &queue.intervals {
            assert!(interval.on_duty >= interval.required, "{interval:?}");
        }
        let hours: f64 = queue
            .shifts
            .iter()
            .map(|s| f64::from(s.agents) * (s.end - s.start) as f64 / HOUR_MS as f64)
            .sum();
        assert!((hours - queue.agent_hours).abs() < 1e-9);
    }
    for site in &plan.sites {
        assert!(site.intervals.iter().all(|i| i.on_duty >= i.required));
    }
    // Totals add the queues' and sites' shifts up.
    for (s, total) in plan.shifts.iter().enumerate() {
        let agents: u32 = plan.queues.iter().map(|q| q.shifts[s].agents).sum();
        assert_eq!(total.agents, agents);
        assert_eq!(total.ate_staff, plan.sites[0].shifts[s].agents);
    }
}

#[test]
fn interval_figures_are_the_calculators_for_the_forecast() {
    let plan = build(&input(24), &PlanSettings::default()).expect("plan");
    let queue = &plan.queues[1];
    assert_eq!(queue.queue, "Physician Line");
    assert_eq!(queue.basis, Basis::ErlangA);
    assert_eq!(queue.patience.patience_seconds, Some(100.0));
    assert_eq!(queue.forecast.method, "fitted");
    assert!((queue.forecast.daily_factor - 0.8).abs() < 1e-9);
    for interval in &queue.intervals {
        let slot = profile::slot_of(interval.start) as f64;
        let days = (interval.start - MIDNIGHT) as f64 / DAY_MS as f64;
        let calls = (10.0 + slot) * 0.8_f64.powf(days);
        assert!(
            (interval.calls - calls).abs() < 1e-6 * calls,
            "{interval:?}"
        );
        let question = ErlangInput::for_queue(
            interval.calls,
            1800.0,
            240.0,
            &QueueSettings {
                shrinkage: 0.3,
                ..QueueSettings::default()
            },
        );
        let c = erlang::solve(&question).expect("valid");
        let a = erlang_a::solve(&ErlangAInput {
            erlang: question,
            patience_seconds: 100.0,
        })
        .expect("valid");
        assert_eq!(
            interval.erlang_c.map(|x| x.required_agents),
            Some(c.required_agents)
        );
        assert_eq!(
            interval.erlang_a.map(|x| x.scheduled_agents),
            Some(a.scheduled_agents)
        );
        assert_eq!(interval.required, a.scheduled_agents);
    }
    // No abandons: Erlang C only. Few: the larger of the two.
    assert_eq!(plan.queues[0].basis, Basis::ErlangC);
    assert!(
        plan.queues[0]
            .intervals
            .iter()
            .all(|i| i.erlang_a.is_none())
    );
    let access = &plan.queues[2];
    assert_eq!(access.basis, Basis::Larger);
    for i in &access.intervals {
        let larger = i
            .erlang_a
            .map_or(0, |a| a.scheduled_agents)
            .max(i.erlang_c.map_or(0, |c| c.scheduled_agents));
        assert_eq!(i.required, larger);
    }
}

#[test]
fn site_staff_follow_the_ate_model() {
    let plan = build(&input(24), &PlanSettings::default()).expect("plan");
    let site = &plan.sites[0];
    // 6 tickets a half hour = 12 an hour: 12 · 12/60 = 2.4 staff-hours of
    // work an hour, / 0.6 = 4 people.
    for interval in &site.intervals {
        assert!((interval.tickets - 6.0).abs() < 1e-6);
        assert_eq!(interval.required, 4);
    }
}

#[test]
fn hours_outside_the_range_are_refused() {
    assert!(build(&input(23), &PlanSettings::default()).is_err());
    assert!(build(&input(73), &PlanSettings::default()).is_err());
}

#[test]
fn csv_has_a_row_per_interval_and_shift_with_quoting() {
    let plan = build(&input(24), &PlanSettings::default()).expect("plan");
    let csv = to_csv(&plan);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("row,kind,name,start,end,forecast"));
    let intervals = lines.iter().filter(|l| l.starts_with("interval,")).count();
    assert_eq!(intervals, 48 * (3 + 1));
    let shifts = lines.iter().filter(|l| l.starts_with("shift,")).count();
    assert_eq!(shifts, 4 * plan.shifts.len());
    assert!(csv.contains("interval,queue,\"Nurse, Line\","));
    for line in &lines[1..] {
        // 14 columns, the quoted name counting as one.
        let unquoted = line.replace("\"Nurse, Line\"", "N");
        assert_eq!(unquoted.split(',').count(), 14, "{line}");
    }
}
