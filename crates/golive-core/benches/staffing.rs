//! Benchmark of the live staffing recommendation (issue #4):
//! `staffing::live` for 50 phone queues with a day of realistic traffic
//! (plus at-the-elbow tickets over a few sites and applications), against
//! a floor measured in the same run: the 50 bare `erlang::solve` calls the
//! recommendation must make anyway, on the same inputs.
//!
//! Target: all live recommendations in under 5 ms.
//!
//! Run: `cargo bench -p golive-core --bench staffing -- --warm-up-time 1 --measurement-time 3`

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use golive_core::aggregate::Aggregator;
use golive_core::erlang::{self, ErlangInput};
use golive_core::event::{CallRecorded, Event, QueueConfigured, RecordedEvent, TicketCreated};
use golive_core::model::{CallEventKind, Category, Channel, QueueSettings, Severity, TicketStatus};
use golive_core::staffing::{self, StaffingSettings};
use golive_core::time::Millis;
use std::hint::black_box;
use support::Rng;

/// 2026-03-02T00:00:00Z, the go-live.
const START: Millis = 1_772_409_600_000;
const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
/// The recommendation is asked for at 14:00, in the busy part of the day.
const NOW: Millis = START + 14 * HOUR;
const QUEUES: usize = 50;
const SITES: [&str; 4] = [
    "Main Campus",
    "North Hospital",
    "Children's Pavilion",
    "East Clinic",
];
const DEPARTMENTS: [&str; 8] = [
    "Emergency",
    "ICU",
    "Med-Surg",
    "Pharmacy",
    "Radiology",
    "Lab",
    "Oncology",
    "Registration",
];
const APPLICATIONS: [&str; 10] = [
    "Orders",
    "Clinical Documentation",
    "MAR",
    "Pharmacy",
    "Lab",
    "Radiology",
    "Scheduling",
    "Registration",
    "Billing",
    "Results Review",
];

/// Share of the peak rate at hour `h` of the day: night floor 15 %, ramp
/// 06:00–10:00, plateau to 14:00, tail to midnight.
fn shape(hour: f64) -> f64 {
    match hour {
        h if h < 6.0 => 0.15,
        h if h < 10.0 => 0.15 + 0.85 * (h - 6.0) / 4.0,
        h if h < 14.0 => 1.0,
        h => 1.0 - 0.85 * (h - 14.0) / 10.0,
    }
}

/// Arrival times over `[START, NOW)` for a peak of `per_hour`, thinned from
/// a Poisson process at the peak rate.
fn arrivals(rng: &mut Rng, per_hour: f64) -> Vec<Millis> {
    let mut out = Vec::new();
    let mut at = START as f64;
    let mean_gap = HOUR as f64 / per_hour;
    loop {
        at += -mean_gap * (1.0 - rng.unit()).ln();
        if at >= NOW as f64 {
            return out;
        }
        let hour = (at - START as f64) / HOUR as f64;
        if rng.unit() < shape(hour) {
            out.push(at as Millis);
        }
    }
}

/// A go-live day up to 14:00: 50 queues from 10 to 300 calls an hour at
/// peak (handle times 3–7 minutes, 80/20 or 90/30 targets, agents
/// staffed), and at-the-elbow and other tickets over four sites.
fn day() -> (Vec<RecordedEvent>, usize, usize) {
    let mut rng = Rng::seeded(7);
    let mut timed: Vec<(Millis, Event)> = Vec::new();
    let mut calls = 0;
    for q in 0..QUEUES {
        let queue = format!("Queue {q:02}");
        let spread = ((q * 37) % QUEUES) as f64 / (QUEUES - 1) as f64;
        let peak = 10.0 + 290.0 * spread * spread;
        let aht_ms = (180_000 + rng.below(240_000)) as Millis;
        let settings = QueueSettings {
            answer_target_seconds: if q % 3 == 0 { 30.0 } else { 20.0 },
            service_level_target: if q % 3 == 0 { 0.9 } else { 0.8 },
            max_occupancy: 0.85,
            shrinkage: 0.3,
            agents_staffed: (peak * aht_ms as f64 / HOUR as f64) as u32 + 2,
        };
        timed.push((
            START,
            Event::QueueConfigured(QueueConfigured {
                queue: queue.clone(),
                settings,
            }),
        ));
        for offered in arrivals(&mut rng, peak) {
            let call_id = format!("{q:02}-{calls:08}");
            calls += 1;
            let event = |kind, at, wrap| {
                Event::CallRecorded(CallRecorded {
                    call_id: call_id.clone(),
                    queue: queue.clone(),
                    event: kind,
                    at,
                    agent: None,
                    wrap_seconds: wrap,
                })
            };
            timed.push((offered, event(CallEventKind::Offered, offered, None)));
            let wait = rng.below(60_000) as Millis;
            if rng.below(100) < 7 {
                timed.push((
                    offered + wait,
                    event(CallEventKind::Abandoned, offered + wait, None),
                ));
                continue;
            }
            let answered = offered + wait;
            timed.push((answered, event(CallEventKind::Answered, answered, None)));
            let ended = answered + aht_ms / 2 + rng.below(aht_ms as u64) as Millis;
            if ended < NOW {
                timed.push((ended, event(CallEventKind::Ended, ended, Some(30.0))));
            }
        }
    }
    let mut tickets = 0;
    for opened in arrivals(&mut rng, 400.0) {
        tickets += 1;
        let first_contact = rng.below(100) < 25;
        let created = TicketCreated {
            id: 0,
            external_id: None,
            opened_at: opened,
            site: SITES[rng.below(4) as usize].into(),
            department: DEPARTMENTS[rng.below(8) as usize].into(),
            application: APPLICATIONS[rng.below(10) as usize].into(),
            category: Category::ALL[rng.below(8) as usize],
            severity: Severity::ALL[rng.below(4) as usize],
            channel: Channel::ALL[rng.below(6) as usize],
            summary: None,
            reporter_role: None,
            status: if first_contact {
                TicketStatus::Resolved
            } else {
                TicketStatus::Open
            },
            resolved_at: first_contact.then_some(opened + 5 * MINUTE),
            assignee: None,
            tier: None,
            source_key: None,
            source_updated_at: None,
            known_issue: None,
        };
        timed.push((opened, Event::TicketCreated(created)));
    }
    timed.sort_by_key(|(at, _)| *at);
    let events = timed
        .into_iter()
        .enumerate()
        .map(|(i, (at, mut event))| {
            let seq = i as u64 + 1;
            if let Event::TicketCreated(created) = &mut event {
                created.id = seq;
            }
            RecordedEvent {
                seq,
                recorded_at: at,
                event,
            }
        })
        .collect();
    (events, tickets, calls)
}

fn benches(c: &mut Criterion) {
    let (events, tickets, calls) = day();
    let mut aggregator = Aggregator::new();
    for event in &events {
        aggregator.apply(event);
    }
    let settings = StaffingSettings::default();
    let live = staffing::live(&aggregator, NOW, &settings);
    assert_eq!(live.queues.len(), QUEUES);
    assert!(live.queues.iter().all(|q| q.error.is_none()));
    // The floor: the same 50 Erlang C questions, asked bare.
    let questions: Vec<ErlangInput> = live
        .queues
        .iter()
        .map(|line| {
            ErlangInput::for_queue(
                line.calls_offered as f64,
                line.interval_seconds,
                line.aht_seconds,
                &aggregator.queue_settings(&line.queue),
            )
        })
        .collect();
    let offered: u64 = live.queues.iter().map(|q| q.calls_offered).sum();
    let required: u32 = live.queues.iter().map(|q| q.required_agents).sum();
    let traffic: f64 = live.queues.iter().map(|q| q.traffic_erlangs).sum();
    println!(
        "a go-live day to 14:00: {} events ({tickets} tickets, {calls} calls, {QUEUES} queues, {} sites); \
         last 30 min: {offered} calls offered, {traffic:.0} erlangs, {required} agents required",
        events.len(),
        live.sites.len()
    );

    let mut group = c.benchmark_group("staffing");
    group.bench_function("live_50_queues", |b| {
        b.iter(|| staffing::live(black_box(&aggregator), black_box(NOW), &settings))
    });
    group.bench_function("for_recent_50_queues_no_forecast", |b| {
        b.iter(|| staffing::for_recent(black_box(&aggregator), black_box(NOW), &settings))
    });
    group.bench_function("floor_50_erlang_solves", |b| {
        b.iter(|| {
            for question in &questions {
                let _ = black_box(erlang::solve(black_box(question)));
            }
        })
    });
    group.finish();
}

criterion_group!(staffing_benches, benches);
criterion_main!(staffing_benches);
