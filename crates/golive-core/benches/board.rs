//! Benchmark of the typed live board (issue #13): what one publish costs
//! the server, on a go-live's first day and on its first week of history.
//!
//! - `parts`: the center-wide figures of a tick (the aggregator's board,
//!   open tickets, live staffing with its forecasts, the recent interval);
//! - `build_all` / `build_site`: the typed board of the whole center and of
//!   one site from those parts;
//! - `serialize`: the board as the JSON text every socket of its scope
//!   shares;
//! - `fingerprint`: change detection, the board at display precision
//!   without its moving timestamps, compared with the last one;
//! - floors in the same run: the aggregator's own board (the windows,
//!   trend and surges any board needs) for the building, and the plain
//!   serialization for the fingerprint.
//!
//! Issue #14, `as_of_*` groups: the board as it stood at a past moment
//! (`GET /api/v1/board?as_of=T`: parts, backlog samples, alerts, build),
//! over a day and over four weeks of history with 20 known issues and a
//! fifth of the tickets linked to one; moments an hour ago and in the
//! middle of the history; the floor is the live board's tick and build in
//! the same run.
//!
//! Run: `cargo bench -p golive-core --bench board -- --warm-up-time 1 --measurement-time 3`
//! (issue #14's groups alone: add the filter `as_of` before the options).

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use golive_core::aggregate::Aggregator;
use golive_core::alerts::{AlertBook, AlertRules, evaluate};
use golive_core::board::{self, LiveBoard, Parts, Scope, Settings};
use golive_core::event::{
    Event, KnownIssueCreated, QueueConfigured, RecordedEvent, TicketChanged, TicketCreated,
};
use golive_core::model::{Category, Channel, QueueSettings, Severity, TicketStatus};
use golive_core::staffing::StaffingSettings;
use golive_core::time::Millis;
use std::hint::black_box;
use support::Rng;

/// 2026-03-09T10:00:00Z: a go-live's eighth morning, when every board
/// below is asked for.
const NOW: Millis = 1_773_050_400_000;
const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;
const SITES: usize = 12;
const APPLICATIONS: usize = 30;
const QUEUES: usize = 10;

/// `days` of go-live ending at [`NOW`] (10:00): a ticket every 10 s
/// by day and every 40 s by night over 12 sites and 30 applications (most
/// fixed within the hour, some escalated to tier 2 or 3, a few severity 1),
/// and a call every 8 s over 10 queues (7 % abandoned).
fn history(days: i64) -> (Vec<RecordedEvent>, Millis) {
    let now = NOW;
    let start = now - days * DAY;
    let mut rng = Rng::seeded(13);
    let mut timed: Vec<(Millis, Event)> = Vec::new();
    for q in 0..QUEUES {
        timed.push((
            start,
            Event::QueueConfigured(QueueConfigured {
                queue: format!("Queue {q}"),
                settings: QueueSettings {
                    agents_staffed: 6,
                    ..QueueSettings::default()
                },
            }),
        ));
    }
    let daytime = |at: Millis| (8 * HOUR..20 * HOUR).contains(&at.rem_euclid(DAY));
    let mut at = start;
    let mut n = 0u64;
    while at < now {
        at += if daytime(at) { 10_000 } else { 40_000 };
        n += 1;
        let severity = if rng.below(200) == 0 {
            1
        } else {
            2 + rng.below(3) as u8
        };
        let external_id = Some(format!("T{n}"));
        timed.push((
            at,
            Event::TicketCreated(TicketCreated {
                id: 0,
                external_id,
                opened_at: at,
                site: format!("Site {}", rng.below(SITES as u64)),
                department: "Emergency".into(),
                application: format!("Application {}", rng.below(APPLICATIONS as u64)),
                category: Category::ALL[rng.below(8) as usize],
                severity: Severity::new(severity).unwrap_or(Severity::ALL[3]),
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
        if fate < 85 && later < now {
            timed.push((
                later,
                Event::TicketChanged(TicketChanged {
                    id: n,
                    at: later,
                    status: Some(TicketStatus::Resolved),
                    ..TicketChanged::default()
                }),
            ));
        } else if fate < 92 && later < now {
            timed.push((
                later,
                Event::TicketChanged(TicketChanged {
                    id: n,
                    at: later,
                    status: Some(TicketStatus::Escalated),
                    tier: Some(2 + (fate % 2) as u8),
                    ..TicketChanged::default()
                }),
            ));
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
    let staffing = StaffingSettings::default();
    let rules = AlertRules::default();
    let settings = Settings {
        staffing: &staffing,
        rules: &rules,
        go_live_start: Some(start),
    };
    let parts = Parts::new(&aggregator, now, &settings);
    let mut book = AlertBook::default();
    book.update(
        now,
        evaluate(
            &rules,
            &parts.board,
            &parts.open.sev1,
            &parts.live.queues,
            &[],
        ),
    );
    let alerts = book.active();
    let board = LiveBoard::build(&aggregator, &parts, &settings, &Scope::All, &alerts);
    let text = serde_json::to_string(&board).unwrap_or_default();
    let previous = board.fingerprint();
    let (tickets, calls) = aggregator.counts();
    println!(
        "{name}: {} events ({tickets} tickets, {calls} calls), backlog {}, {} alerts, board {} bytes",
        events.len(),
        parts.board.windows.last_60m.tickets.backlog,
        alerts.len(),
        text.len()
    );
    let site = Scope::Site("Site 3".into());

    let mut group = c.benchmark_group(format!("board_{name}"));
    group.bench_function("floor_aggregator_board", |b| {
        b.iter(|| aggregator.board(black_box(now), Some(start)))
    });
    group.bench_function("parts", |b| {
        b.iter(|| Parts::new(&aggregator, black_box(now), &settings))
    });
    group.bench_function("build_all", |b| {
        b.iter(|| LiveBoard::build(&aggregator, &parts, &settings, &Scope::All, &alerts))
    });
    group.bench_function("build_site", |b| {
        b.iter(|| LiveBoard::build(&aggregator, &parts, &settings, &site, &alerts))
    });
    group.bench_function("floor_serialize", |b| {
        b.iter(|| serde_json::to_string(black_box(&board)))
    });
    group.bench_function("fingerprint_and_compare", |b| {
        b.iter(|| black_box(&board).fingerprint() == previous)
    });
    group.finish();
}

/// 20 known issues, and a fifth of the tickets linked to one of them
/// (events appended after the history, as leads and agents would add them).
fn link_known_issues(events: &mut Vec<RecordedEvent>, rng: &mut Rng) {
    let tickets: Vec<(u64, Millis)> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::TicketCreated(t) => Some((t.id, t.opened_at)),
            _ => None,
        })
        .collect();
    let mut seq = events.len() as u64;
    let mut push = |event: Event, events: &mut Vec<RecordedEvent>| {
        seq += 1;
        events.push(RecordedEvent {
            seq,
            recorded_at: NOW,
            event,
        });
    };
    for k in 0..20 {
        push(
            Event::KnownIssueCreated(KnownIssueCreated {
                id: format!("ki{k}"),
                title: format!("Known issue {k}"),
                application: Some(format!("App {k}")),
                workaround: None,
                at: NOW - 30 * DAY,
            }),
            events,
        );
    }
    for (id, opened_at) in tickets {
        if rng.below(5) == 0 {
            push(
                Event::TicketChanged(TicketChanged {
                    id,
                    at: opened_at,
                    known_issue: Some(format!("ki{}", rng.below(20))),
                    ..TicketChanged::default()
                }),
                events,
            );
        }
    }
}

fn bench_as_of(c: &mut Criterion, name: &str, days: i64) {
    let (mut events, start) = history(days);
    link_known_issues(&mut events, &mut Rng::seeded(14));
    let mut aggregator = Aggregator::new();
    for event in &events {
        aggregator.apply(event);
    }
    let staffing = StaffingSettings::default();
    let rules = AlertRules::default();
    let settings = Settings {
        staffing: &staffing,
        rules: &rules,
        go_live_start: Some(start),
    };
    let middle = NOW - days * DAY / 2;
    let (tickets, calls) = aggregator.counts();
    let past = board::as_of(&aggregator, middle, &settings, &Scope::All);
    println!(
        "as_of {name}: {} events ({tickets} tickets, {calls} calls); board at the middle: \
         {} opened in 60 min, {} known issues listed",
        events.len(),
        past.windows
            .last_60m
            .tickets
            .as_ref()
            .map_or(0, |t| t.opened),
        past.known_issues.len()
    );
    let site = Scope::Site("Site 3".into());
    let mut group = c.benchmark_group(format!("as_of_{name}"));
    group.bench_function("floor_live_tick_and_build", |b| {
        b.iter(|| {
            let parts = Parts::new(&aggregator, black_box(NOW), &settings);
            LiveBoard::build(&aggregator, &parts, &settings, &Scope::All, &[])
        })
    });
    group.bench_function("hour_ago", |b| {
        b.iter(|| board::as_of(&aggregator, black_box(NOW - HOUR), &settings, &Scope::All))
    });
    group.bench_function("middle", |b| {
        b.iter(|| board::as_of(&aggregator, black_box(middle), &settings, &Scope::All))
    });
    group.bench_function("middle_site", |b| {
        b.iter(|| board::as_of(&aggregator, black_box(middle), &settings, &site))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_history(c, "day", 1);
    bench_history(c, "week", 7);
}

fn as_of_benches(c: &mut Criterion) {
    bench_as_of(c, "1_day", 1);
    bench_as_of(c, "28_days", 28);
}

criterion_group!(board, benches);
criterion_group!(as_of, as_of_benches);
criterion_main!(board, as_of);
