//! Benchmarks of the aggregator on a generated go-live week (200 000
//! tickets, 500 000 calls): apply throughput against a floor measured in
//! the same run, a week report grouped by application, the live board, and
//! resident memory per ticket and per call.
//!
//! Run: `cargo bench --bench aggregate -- --warm-up-time 1 --measurement-time 3`

mod support;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use golive_core::aggregate::Aggregator;
use golive_core::event::{CallRecorded, Event, RecordedEvent, TicketChanged, TicketCreated};
use golive_core::model::{
    CallEventKind, Category, Channel, Severity, TicketDimension, TicketStatus,
};
use golive_core::time::Millis;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use support::Rng;

/// The system allocator, counting live heap bytes so memory per ticket and
/// per call is exact rather than read off a page-granular RSS.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; only a counter is
// added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// 2026-03-02T00:00:00Z, the go-live.
const START: Millis = 1_772_409_600_000;
const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
const WEEK: Millis = 7 * 24 * HOUR;
const TICKETS: usize = 200_000;
const CALLS: usize = 500_000;

impl Rng {
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A time in the week, busier in the day than at night.
    fn moment(&mut self) -> Millis {
        loop {
            let at = START + self.below(WEEK as u64) as Millis;
            let hour = (at - START) / HOUR % 24;
            let busy = if (7..19).contains(&hour) { 100 } else { 30 };
            if self.chance(busy) {
                return at;
            }
        }
    }

    fn pick<'a>(&mut self, names: &'a [String]) -> &'a str {
        &names[self.below(names.len() as u64) as usize]
    }
}

/// What gets recorded, before sequence numbers and ticket ids exist.
enum Item {
    Created(Box<TicketCreated>),
    /// Change of the ticket created by plan item `ticket`.
    Changed(usize, TicketChanged),
    Other(Event),
}

/// A go-live week as the ledger would commit it, in recorded-time order.
fn week(tickets: usize, calls: usize) -> Vec<RecordedEvent> {
    let mut rng = Rng::seeded(42);
    let names =
        |prefix: &str, n: usize| (0..n).map(|i| format!("{prefix} {i}")).collect::<Vec<_>>();
    let sites = names("Site", 12);
    let departments = names("Dept", 40);
    let applications = names("App", 25);
    let queues = names("Queue", 6);
    let mut items: Vec<(Millis, Item)> = Vec::with_capacity(tickets * 3 + calls * 3);

    for ticket in 0..tickets {
        let opened_at = rng.moment();
        let first_contact = rng.chance(25);
        let late_import = rng.chance(5);
        let recorded_at = if late_import {
            opened_at + 6 * HOUR + rng.below(24 * HOUR as u64) as Millis
        } else {
            opened_at + rng.below(5 * MINUTE as u64) as Millis
        };
        let status = if first_contact {
            TicketStatus::Resolved
        } else if rng.chance(5) {
            TicketStatus::Escalated
        } else {
            TicketStatus::Open
        };
        let resolved_at =
            first_contact.then(|| opened_at + 2 * MINUTE + rng.below(13 * MINUTE as u64) as Millis);
        items.push((
            recorded_at,
            Item::Created(Box::new(TicketCreated {
                id: 0,
                external_id: None,
                opened_at,
                site: rng.pick(&sites).into(),
                department: rng.pick(&departments).into(),
                application: rng.pick(&applications).into(),
                category: Category::ALL[rng.below(8) as usize],
                severity: Severity::ALL[rng.below(4) as usize],
                channel: Channel::ALL[rng.below(6) as usize],
                summary: None,
                reporter_role: None,
                status,
                resolved_at,
                assignee: None,
                tier: None,
                source_key: None,
                source_updated_at: None,
                known_issue: None,
            })),
        ));
        if late_import || first_contact {
            continue;
        }
        // A live ticket's life: worked, maybe reassigned, resolved (some
        // reopened and resolved again), closed a day later.
        let mut at = recorded_at;
        let change = |at: Millis, status: Option<TicketStatus>, items: &mut Vec<(Millis, Item)>| {
            let changed = TicketChanged {
                id: 0,
                at,
                status,
                assignee: status.is_none().then(|| "agent".into()),
                ..TicketChanged::default()
            };
            items.push((at, Item::Changed(ticket, changed)));
        };
        at += rng.below(30 * MINUTE as u64) as Millis;
        change(at, Some(TicketStatus::InProgress), &mut items);
        if rng.chance(30) {
            at += rng.below(10 * MINUTE as u64) as Millis;
            change(at, None, &mut items);
        }
        if rng.chance(85) {
            at += 10 * MINUTE + rng.below(8 * HOUR as u64) as Millis;
            change(at, Some(TicketStatus::Resolved), &mut items);
            if rng.chance(10) {
                at += rng.below(2 * HOUR as u64) as Millis;
                change(at, Some(TicketStatus::Open), &mut items);
                at += rng.below(2 * HOUR as u64) as Millis;
                change(at, Some(TicketStatus::Resolved), &mut items);
            }
            if rng.chance(50) {
                change(at + 24 * HOUR, Some(TicketStatus::Closed), &mut items);
            }
        }
    }

    for call in 0..calls {
        let call_id = format!("c-{call:09}");
        let queue = rng.pick(&queues).to_owned();
        let offered_at = rng.moment();
        let mut push = |kind: CallEventKind, at: Millis, wrap: Option<f64>, rng: &mut Rng| {
            // The ACD feed lags, a few events by minutes (out of order).
            let lag = if rng.chance(3) {
                rng.below(5 * MINUTE as u64)
            } else {
                rng.below(2_000)
            };
            let event = Event::CallRecorded(CallRecorded {
                call_id: call_id.clone(),
                queue: queue.clone(),
                event: kind,
                at,
                agent: None,
                wrap_seconds: wrap,
            });
            items.push((at + lag as Millis, Item::Other(event)));
        };
        push(CallEventKind::Offered, offered_at, None, &mut rng);
        let wait = rng.below(90_000) as Millis;
        match rng.below(100) {
            0..85 => {
                push(CallEventKind::Answered, offered_at + wait, None, &mut rng);
                let talk = 60_000 + rng.below(600_000) as Millis;
                push(
                    CallEventKind::Ended,
                    offered_at + wait + talk,
                    Some(30.0),
                    &mut rng,
                );
            }
            85..95 => push(CallEventKind::Abandoned, offered_at + wait, None, &mut rng),
            _ => {}
        }
    }

    // The log as of the end of the week: later changes are not recorded yet.
    items.retain(|(recorded_at, _)| *recorded_at < START + WEEK);
    items.sort_by_key(|(recorded_at, _)| *recorded_at);
    let mut ids = vec![0u64; tickets];
    let mut created = 0;
    items
        .into_iter()
        .enumerate()
        .map(|(position, (recorded_at, item))| {
            let seq = position as u64 + 1;
            let event = match item {
                Item::Created(mut ticket) => {
                    ids[created] = seq;
                    created += 1;
                    ticket.id = seq;
                    Event::TicketCreated(*ticket)
                }
                Item::Changed(ticket, mut changed) => {
                    changed.id = ids[ticket];
                    Event::TicketChanged(changed)
                }
                Item::Other(event) => event,
            };
            RecordedEvent {
                seq,
                recorded_at,
                event,
            }
        })
        .collect::<Vec<_>>()
        // Re-allocated in sequence order, as a replay deserializes them:
        // each event's strings near it in memory, not scattered by the sort.
        .to_vec()
}

/// Resident set size in bytes, from /proc/self/statm (0 where unavailable).
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn load(events: &[RecordedEvent]) -> Aggregator {
    let mut aggregator = Aggregator::new();
    for event in events {
        aggregator.apply(event);
    }
    aggregator
}

/// The floor: one pass over the same events touching the memory `apply`
/// reads (times, ids, the first byte of each string it interns or looks
/// up), without doing anything with it.
fn floor_sum(events: &[RecordedEvent]) -> i64 {
    let first = |text: &str| i64::from(text.as_bytes().first().copied().unwrap_or(0));
    let mut sum = 0i64;
    for recorded in events {
        sum = sum.wrapping_add(match &recorded.event {
            Event::TicketCreated(c) => {
                c.opened_at ^ first(&c.site) ^ first(&c.department) ^ first(&c.application)
            }
            Event::TicketChanged(c) => c.at ^ c.id as i64,
            Event::CallRecorded(c) => c.at ^ first(&c.call_id) ^ first(&c.queue),
            Event::CallLegReplaced(c) => c.offered_at ^ first(&c.call_id) ^ first(&c.queue),
            Event::QueueConfigured(c) => first(&c.queue),
            Event::AlertAcknowledged(a) => a.at ^ first(&a.alert_id),
            Event::KnownIssueCreated(k) => k.at ^ first(&k.id),
            Event::KnownIssueChanged(k) => k.at ^ first(&k.id),
            Event::AlertRaised(a) => a.at ^ first(&a.alert_id),
            Event::AlertCleared(a) => a.at ^ first(&a.alert_id),
        });
    }
    sum
}

fn seconds_of<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed().as_secs_f64())
}

/// One-shot measurements over the whole week, printed.
fn one_shot(events: &[RecordedEvent]) {
    let n = events.len() as f64;
    let best = |f: &dyn Fn() -> f64| (0..5).map(|_| f()).fold(f64::INFINITY, f64::min);
    let apply = best(&|| {
        let (aggregator, seconds) = seconds_of(|| load(events));
        drop(hint::black_box(aggregator));
        seconds
    });
    let sum = best(&|| seconds_of(|| hint::black_box(floor_sum(hint::black_box(events)))).1);
    let clone = best(&|| {
        let (copy, seconds) = seconds_of(|| events.to_vec());
        drop(hint::black_box(copy));
        seconds
    });
    println!("week stream: {} events", events.len());
    println!(
        "apply: {:.3} s = {:.2} M events/s ({:.0} ns/event)",
        apply,
        n / apply / 1e6,
        apply / n * 1e9
    );
    println!(
        "floor, read the same fields and string bytes: {:.4} s = {:.1} M events/s; apply / floor = {:.1}x",
        sum,
        n / sum / 1e6,
        apply / sum
    );
    println!(
        "floor, clone into a Vec: {:.3} s = {:.2} M events/s; apply / clone = {:.2}x",
        clone,
        n / clone / 1e6,
        apply / clone
    );

    // The input's memory layout weighs on apply as much as apply itself:
    // the same stream copied afresh, in order, as a replay deserializes it.
    let fresh = events.to_vec();
    let seconds = best(&|| {
        let (aggregator, seconds) = seconds_of(|| load(&fresh));
        drop(hint::black_box(aggregator));
        seconds
    });
    println!(
        "apply, fresh in-order copy of the stream: {:.2} M events/s ({:.0} ns/event)",
        n / seconds / 1e6,
        seconds / n * 1e9
    );
    drop(fresh);

    // Memory: tickets and calls loaded apart, so each gets its own figure.
    let ticket_events: Vec<RecordedEvent> = events
        .iter()
        .filter(|e| matches!(e.event, Event::TicketCreated(_) | Event::TicketChanged(_)))
        .cloned()
        .collect();
    let call_events: Vec<RecordedEvent> = events
        .iter()
        .filter(|e| matches!(e.event, Event::CallRecorded(_)))
        .cloned()
        .collect();
    for (name, part) in [
        ("ticket events", &ticket_events),
        ("call events", &call_events),
    ] {
        let seconds = best(&|| {
            let (aggregator, seconds) = seconds_of(|| load(part));
            drop(hint::black_box(aggregator));
            seconds
        });
        println!(
            "apply {name} only: {} events, {:.2} M events/s ({:.0} ns/event)",
            part.len(),
            part.len() as f64 / seconds / 1e6,
            seconds / part.len() as f64 * 1e9
        );
    }
    let (rss_0, heap_0) = (rss_bytes(), live_bytes());
    let tickets_only = load(&ticket_events);
    let (rss_1, heap_1) = (rss_bytes(), live_bytes());
    let calls_only = load(&call_events);
    let (rss_2, heap_2) = (rss_bytes(), live_bytes());
    let both = load(events);
    let (rss_3, heap_3) = (rss_bytes(), live_bytes());
    let (tickets, _) = tickets_only.counts();
    let (_, calls) = calls_only.counts();
    let mb = |bytes: usize| bytes as f64 / 1e6;
    println!(
        "memory, tickets only: heap {:.1} MB = {:.0} B/ticket; RSS growth {:.1} MB; heap_bytes() {:.0} B/ticket",
        mb(heap_1 - heap_0),
        (heap_1 - heap_0) as f64 / tickets as f64,
        mb(rss_1.saturating_sub(rss_0)),
        tickets_only.heap_bytes() as f64 / tickets as f64,
    );
    println!(
        "memory, calls only: heap {:.1} MB = {:.0} B/call; RSS growth {:.1} MB; heap_bytes() {:.0} B/call",
        mb(heap_2 - heap_1),
        (heap_2 - heap_1) as f64 / calls as f64,
        mb(rss_2.saturating_sub(rss_1)),
        calls_only.heap_bytes() as f64 / calls as f64,
    );
    println!(
        "memory, whole week ({tickets} tickets, {calls} calls): heap {:.1} MB; RSS growth {:.1} MB; heap_bytes() {:.1} MB",
        mb(heap_3 - heap_2),
        mb(rss_3.saturating_sub(rss_2)),
        mb(both.heap_bytes()),
    );
}

fn benches(c: &mut Criterion) {
    let events = week(TICKETS, CALLS);
    one_shot(&events);

    // Apply, on a day-sized slice of the stream so a sample stays short.
    let day = &events[..events.len() / 7];
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(day.len() as u64));
    group.sample_size(10);
    group.bench_function("apply_day", |b| {
        b.iter_with_large_drop(|| load(hint::black_box(day)))
    });
    group.bench_function("floor_sum_day", |b| {
        b.iter(|| floor_sum(hint::black_box(day)))
    });
    // The call events of that day alone: the leg lookup is most of it.
    let calls_day: Vec<RecordedEvent> = day
        .iter()
        .filter(|e| matches!(e.event, Event::CallRecorded(_)))
        .cloned()
        .collect();
    group.throughput(Throughput::Elements(calls_day.len() as u64));
    group.bench_function("apply_calls_day", |b| {
        b.iter_with_large_drop(|| load(hint::black_box(&calls_day)))
    });
    group.bench_function("floor_sum_calls_day", |b| {
        b.iter(|| floor_sum(hint::black_box(&calls_day)))
    });
    group.finish();

    let aggregator = load(&events);
    let end = START + WEEK;
    let mut group = c.benchmark_group("query");
    group.bench_function("report_week_by_application", |b| {
        b.iter(|| aggregator.report(START, end, Some(TicketDimension::Application)))
    });
    group.bench_function("report_week_flat", |b| {
        b.iter(|| aggregator.report(START, end, None))
    });
    group.bench_function("report_first_day_by_application", |b| {
        b.iter(|| aggregator.report(START, START + 24 * HOUR, Some(TicketDimension::Application)))
    });
    for minutes in [15, 60] {
        group.bench_with_input(
            BenchmarkId::new("report_live_by_application", minutes),
            &minutes,
            |b, &m| {
                b.iter(|| {
                    aggregator.report(end - m * MINUTE, end, Some(TicketDimension::Application))
                })
            },
        );
    }
    group.bench_function("board_live", |b| {
        b.iter(|| aggregator.board(hint::black_box(end), None))
    });
    group.bench_function("board_with_since_go_live", |b| {
        b.iter(|| aggregator.board(hint::black_box(end), Some(START)))
    });
    group.bench_function("surges", |b| {
        b.iter(|| aggregator.surges(hint::black_box(end)))
    });
    group.bench_function("trend_2h", |b| {
        b.iter(|| aggregator.trend(end - 2 * HOUR, end, MINUTE))
    });
    group.finish();
}

criterion_group!(aggregate, benches);
criterion_main!(aggregate);
