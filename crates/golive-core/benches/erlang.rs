//! Benchmarks of the Erlang C solver against a floor measured in the same
//! run: the bare Erlang B recursion up to the same number of agents, which is
//! the least work any solver using the contract's recursion must do.
//!
//! Erlang A is measured beside Erlang C's solve for the same question in
//! the same run (the floor it is compared with), at three patiences.
//!
//! Run with `cargo bench --bench erlang -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use golive_core::erlang::{ErlangInput, erlang_b, solve};
use golive_core::erlang_a::{self, ErlangAInput};

/// An 80/20 question at 180 s handle time offering `traffic` erlangs.
fn question(traffic: f64) -> ErlangInput {
    ErlangInput {
        calls: traffic * 20.0,
        interval_seconds: 3600.0,
        aht_seconds: 180.0,
        answer_target_seconds: 20.0,
        service_level_target: 0.8,
        max_occupancy: 0.85,
        shrinkage: 0.3,
        asa_target_seconds: None,
    }
}

/// Fifty queues from 5 to 200 erlangs, spread unevenly like a real go-live.
fn fifty_queues() -> Vec<ErlangInput> {
    (0..50u32)
        .map(|i| question(5.0 + 195.0 * (f64::from(i * 37 % 50) / 49.0).powi(2)))
        .collect()
}

/// Agents each question needs, for the floor to recurse as far.
fn required(question: &ErlangInput) -> (f64, u32) {
    match solve(question) {
        Ok(out) => (out.traffic_erlangs, out.required_agents),
        Err(error) => panic!("benchmark question rejected: {error}"),
    }
}

fn single_solves(c: &mut Criterion) {
    let mut group = c.benchmark_group("solve");
    for traffic in [1.0, 100.0, 1_000.0, 5_000.0] {
        let input = question(traffic);
        let (a, n) = required(&input);
        group.bench_with_input(BenchmarkId::new("solve", traffic), &input, |b, input| {
            b.iter(|| solve(black_box(input)))
        });
        group.bench_with_input(
            BenchmarkId::new("floor_erlang_b", traffic),
            &(a, n),
            |b, &(a, n)| b.iter(|| erlang_b(black_box(a), black_box(n))),
        );
    }
    group.finish();
}

fn refresh_fifty_queues(c: &mut Criterion) {
    let queues = fifty_queues();
    let floors: Vec<(f64, u32)> = queues.iter().map(required).collect();
    let mut group = c.benchmark_group("refresh_50_queues");
    group.bench_function("solve", |b| {
        b.iter(|| {
            for input in &queues {
                let _ = black_box(solve(black_box(input)));
            }
        })
    });
    group.bench_function("floor_erlang_b", |b| {
        b.iter(|| {
            for &(a, n) in &floors {
                black_box(erlang_b(black_box(a), black_box(n)));
            }
        })
    });
    group.finish();
}

fn erlang_a_solves(c: &mut Criterion) {
    let mut group = c.benchmark_group("erlang_a");
    for traffic in [100.0, 1_000.0, 5_000.0] {
        let erlang = question(traffic);
        group.bench_with_input(
            BenchmarkId::new("floor_erlang_c_solve", traffic),
            &erlang,
            |b, input| b.iter(|| solve(black_box(input))),
        );
        for patience in [30.0, 180.0, 3_600.0] {
            let input = ErlangAInput {
                erlang,
                patience_seconds: patience,
            };
            if let Err(error) = erlang_a::solve(&input) {
                panic!("benchmark question rejected: {error}");
            }
            group.bench_with_input(
                BenchmarkId::new(format!("solve_patience_{patience}"), traffic),
                &input,
                |b, input| b.iter(|| erlang_a::solve(black_box(input))),
            );
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    single_solves,
    refresh_fifty_queues,
    erlang_a_solves
);
criterion_main!(benches);
