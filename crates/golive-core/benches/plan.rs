//! Benchmark of the staffing plan: 72 hours for 20 queues (half of them
//! with measured patience, so Erlang A too) and 5 sites, from a week of
//! half-hourly history, with the default shift templates (staggered breaks:
//! an integer program per queue and site). Floor, measured in the same run:
//! the Erlang C solves for the same 20 × 144 intervals, the least any plan
//! showing Erlang C per interval must do.
//!
//! Run with `cargo bench -p golive-core --bench plan -- --warm-up-time 1 --measurement-time 5`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use golive_core::ate_model::AteSettings;
use golive_core::erlang::{self, ErlangInput};
use golive_core::model::QueueSettings;
use golive_core::patience::WaitingExposure;
use golive_core::plan::{self, PlanInput, PlanSettings, QueueHistory, SiteHistory};

const MIDNIGHT: i64 = 1_772_409_600_000; // 2026-03-02T00:00:00Z
const HALF_HOUR: i64 = 1_800_000;

/// A week of half-hourly counts: a day shape peaking at `peak`, 0.8 a day.
fn week(peak: f64) -> Vec<f64> {
    (0..7 * 48)
        .map(|i| {
            let hour = (i % 48) as f64 / 2.0;
            let shape = 0.15 + 0.85 * (-(hour - 11.0).powi(2) / 18.0).exp();
            (peak * shape * 0.8_f64.powf(i as f64 / 48.0)).round()
        })
        .collect()
}

fn input() -> PlanInput {
    let queues = (0..20)
        .map(|q| QueueHistory {
            queue: format!("Queue {q:02}"),
            settings: QueueSettings {
                shrinkage: 0.3,
                ..QueueSettings::default()
            },
            origin: MIDNIGHT,
            counts: week(20.0 + 10.0 * f64::from(q)),
            aht_seconds: 240.0 + 10.0 * f64::from(q),
            exposure: WaitingExposure {
                abandons: if q % 2 == 0 { 40 } else { 0 },
                waiting_seconds: 6_000.0,
            },
        })
        .collect();
    let sites = (0..5)
        .map(|s| SiteHistory {
            site: format!("Site {s}"),
            origin: MIDNIGHT,
            counts: week(4.0 + f64::from(s)),
        })
        .collect();
    PlanInput {
        now: MIDNIGHT + 7 * 86_400_000 + 600_000,
        hours: 72,
        queues,
        sites,
        ate: AteSettings::default(),
    }
}

fn plan_72_hours(c: &mut Criterion) {
    let input = input();
    let settings = PlanSettings::default();
    let built = match plan::build(&input, &settings) {
        Ok(plan) => plan,
        Err(error) => panic!("benchmark plan refused: {error}"),
    };
    // The floor's questions: each queue's forecast calls per interval.
    let questions: Vec<ErlangInput> = built
        .queues
        .iter()
        .zip(&input.queues)
        .flat_map(|(planned, history)| {
            planned.intervals.iter().map(move |i| {
                ErlangInput::for_queue(i.calls, 1800.0, history.aht_seconds, &history.settings)
            })
        })
        .collect();
    assert_eq!(questions.len(), 20 * 144);
    assert_eq!(built.from, MIDNIGHT + 7 * 86_400_000 + HALF_HOUR);

    let mut group = c.benchmark_group("plan_72h_20_queues");
    group.sample_size(10);
    group.bench_function("build", |b| {
        b.iter(|| plan::build(black_box(&input), black_box(&settings)))
    });
    group.bench_function("floor_erlang_c_per_interval", |b| {
        b.iter(|| {
            for question in &questions {
                let _ = black_box(erlang::solve(black_box(question)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, plan_72_hours);
criterion_main!(benches);
