//! Benchmark of the rollout waves and the daily huddle report (issue
//! #14): what `GET /api/v1/waves` and `GET /api/v1/report/huddle` cost the
//! server on a large phased go-live, after its first day and after four
//! weeks of history.
//!
//! - `waves_72h` / `waves_all`: every wave's hours since its own go-live,
//!   72 at most and all of them (up to 672 for the first wave);
//! - `huddle_day`: the report for the last whole day: 24 hour rows, the
//!   totals, the top applications and, per queue and hour, the report's
//!   staffing line (Erlang C and A) with the agents staffed then;
//! - floors in the same run: the plain report over the same day
//!   (`floor_report_day`, tickets grouped by application) and the same
//!   report with its staffing lines, the body of `GET /api/v1/report`
//!   (`floor_report_staffing_day`); and for the waves, one site's report
//!   over the first wave's span (`floor_report_wave`).
//!
//! Run: `cargo bench -p golive-core --bench waves_huddle -- --warm-up-time 1 --measurement-time 3`

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use golive_core::aggregate::Aggregator;
use golive_core::event::{Event, QueueConfigured, RecordedEvent, TicketChanged, TicketCreated};
use golive_core::huddle::{self, HuddleRequest};
use golive_core::model::{
    Category, Channel, QueueSettings, Severity, TicketDimension, TicketStatus,
};
use golive_core::staffing::{self, StaffingSettings};
use golive_core::time::Millis;
use golive_core::waves::{self, Wave};
use std::hint::black_box;
use support::Rng;

/// 2026-03-30T00:00:00Z: midnight after the 28th day.
const NOW: Millis = 1_774_828_800_000;
const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;
const APPLICATIONS: usize = 30;
const QUEUES: usize = 10;

/// Four waves of four sites each, a week apart (only those begun within
/// `days` of history go live; the first at its start).
fn waves(start: Millis, days: i64) -> Vec<Wave> {
    (0..4)
        .filter(|k| k * 7 < days.max(1))
        .map(|k| Wave {
            name: format!("Wave {}", k + 1),
            go_live_start: start + k * 7 * DAY,
            sites: (0..4).map(|s| format!("Site {}", k * 4 + s)).collect(),
            users: 3000 + 500 * k as u32,
        })
        .collect()
}

/// `days` of a phased go-live ending at [`NOW`]: each live site opens a
/// ticket every 2 minutes by day and every 8 at night (16 sites live: a
/// ticket every 7.5 s by day), 85 % resolved within the hour, some
/// escalated; a call every 8 s over 10 queues (7 % abandoned), whose
/// staffing is set every 4 hours.
fn history(days: i64) -> (Vec<RecordedEvent>, Millis) {
    let now = NOW;
    let start = now - days * DAY;
    let live = waves(start, days);
    let mut rng = Rng::seeded(14);
    let mut timed: Vec<(Millis, Event)> = Vec::new();
    let mut at = start;
    while at < now {
        for q in 0..QUEUES {
            timed.push((
                at,
                Event::QueueConfigured(QueueConfigured {
                    queue: format!("Queue {q}"),
                    settings: QueueSettings {
                        agents_staffed: 4 + rng.below(6) as u32,
                        ..QueueSettings::default()
                    },
                }),
            ));
        }
        at += 4 * HOUR;
    }
    let daytime = |at: Millis| (8 * HOUR..20 * HOUR).contains(&at.rem_euclid(DAY));
    let mut n = 0u64;
    for wave in &live {
        for site in &wave.sites {
            let mut at = wave.go_live_start;
            while at < now {
                at +=
                    if daytime(at) { 2 * MINUTE } else { 8 * MINUTE } + rng.below(20_000) as Millis;
                n += 1;
                timed.push((
                    at,
                    Event::TicketCreated(TicketCreated {
                        id: 0,
                        external_id: Some(format!("T{n}")),
                        opened_at: at,
                        site: site.clone(),
                        department: "Emergency".into(),
                        application: format!("Application {}", rng.below(APPLICATIONS as u64)),
                        category: Category::ALL[rng.below(8) as usize],
                        severity: Severity::new(2 + rng.below(3) as u8).unwrap_or(Severity::ALL[3]),
                        channel: Channel::ALL[rng.below(6) as usize],
                        summary: None,
                        reporter_role: None,
                        status: TicketStatus::Open,
                        resolved_at: None,
                        assignee: None,
                        tier: None,
                        source_key: None,
                        source_updated_at: None,
                        known_issue: None,
                    }),
                ));
                let fate = rng.below(100);
                let later = at + (5 + rng.below(55) as Millis) * MINUTE;
                if fate < 92 && later < now {
                    let status = if fate < 85 {
                        TicketStatus::Resolved
                    } else {
                        TicketStatus::Escalated
                    };
                    timed.push((
                        later,
                        Event::TicketChanged(TicketChanged {
                            id: n,
                            at: later,
                            status: Some(status),
                            ..TicketChanged::default()
                        }),
                    ));
                }
            }
        }
    }
    support::calls(&mut rng, start, now, QUEUES, &mut timed);
    let events = support::sequenced(timed);
    (events, start)
}

fn bench_history(c: &mut Criterion, name: &str, days: i64) {
    let (events, start) = history(days);
    let now = NOW;
    let mut aggregator = Aggregator::new();
    for event in &events {
        aggregator.apply(event);
    }
    let live = waves(start, days);
    let settings = StaffingSettings::default();
    let day_from = now - DAY;
    let request = HuddleRequest {
        date: "2026-03-29".into(),
        shift: None,
        time_zone: "UTC".into(),
        from: day_from,
        to: now,
        now,
        top_applications: 10,
    };
    let report = huddle::build(&aggregator, &settings, &request);
    let curves = waves::curves(&aggregator, &live, now, 672);
    let (tickets, calls) = aggregator.counts();
    println!(
        "{name}: {} events ({tickets} tickets, {calls} calls), {} waves ({} hours in all), huddle {} hours × {} queues, {} bytes",
        events.len(),
        curves.len(),
        curves.iter().map(|w| w.hours.len()).sum::<usize>(),
        report.hours.len(),
        report.staffing.len(),
        serde_json::to_string(&report).map_or(0, |t| t.len()),
    );
    let first_site = [live[0].sites[0].clone()];

    let mut group = c.benchmark_group(format!("waves_huddle_{name}"));
    group.bench_function("floor_report_wave", |b| {
        b.iter(|| {
            aggregator.report_where(
                black_box(live[0].go_live_start),
                now,
                &[],
                Some((TicketDimension::Site, &first_site[0])),
            )
        })
    });
    group.bench_function("waves_72h", |b| {
        b.iter(|| waves::curves(&aggregator, &live, black_box(now), 72))
    });
    group.bench_function("waves_all", |b| {
        b.iter(|| waves::curves(&aggregator, &live, black_box(now), 672))
    });
    group.bench_function("floor_report_day", |b| {
        b.iter(|| aggregator.report(black_box(day_from), now, Some(TicketDimension::Application)))
    });
    group.bench_function("floor_report_staffing_day", |b| {
        b.iter(|| {
            let report = aggregator.report(black_box(day_from), now, None);
            staffing::for_report(&aggregator, &report, day_from, now, &settings)
        })
    });
    group.bench_function("huddle_day", |b| {
        b.iter(|| huddle::build(&aggregator, &settings, black_box(&request)))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_history(c, "1d", 1);
    bench_history(c, "28d", 28);
}

criterion_group!(waves_huddle, benches);
criterion_main!(waves_huddle);
