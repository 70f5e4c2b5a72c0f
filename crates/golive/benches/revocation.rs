//! Revocation watcher benchmark (issue #9): what one poll of the watcher
//! costs the database, against the cheapest round trip measured in the
//! same run.
//!
//! The watcher runs `Store::revoked_token_count` every 500 ms in every
//! server process, and `Store::revoked_token_hashes` only when the count
//! changed. Both are timed on a store holding `GOLIVE_BENCH_TOKENS` tokens
//! (default 500, a fifth revoked), beside the floor `Store::ping`
//! (`SELECT 1` on a pooled connection). SQLite always; PostgreSQL too when
//! `GOLIVE_TEST_POSTGRES_URL` (default the local test server) answers,
//! unless `GOLIVE_BENCH_SKIP_PG=1`.
//!
//! Run: `cargo bench -p golive --bench revocation`.

mod support;

use golive_core::model::Role;
use golive_store::{Store, connect, token};
use sqlx::Connection;
use std::sync::Arc;
use std::time::Instant;

const POLLS_PER_SECOND: f64 = 2.0;

fn main() {
    support::block_on(run());
}

async fn run() {
    let tokens = support::setting::<usize>("GOLIVE_BENCH_TOKENS", 500);
    let rounds = support::setting::<usize>("GOLIVE_BENCH_ROUNDS", 5000);
    println!("{tokens} tokens ({} revoked), {rounds} rounds", tokens / 5);

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = connect(&url).await.expect("sqlite store");
    measure("sqlite", store, tokens, rounds).await;

    if std::env::var("GOLIVE_BENCH_SKIP_PG").is_ok_and(|v| v == "1") {
        return;
    }
    let admin = std::env::var("GOLIVE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        println!("postgres: not reachable at {admin}; skipped");
        return;
    };
    let name = format!("golive_bench_revocation_{}", std::process::id());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let store = connect(&format!("{base}/{name}"))
        .await
        .expect("postgres store");
    measure("postgres", store.clone(), tokens, rounds).await;
    drop(store);
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
}

async fn measure(backend: &str, store: Arc<dyn Store>, tokens: usize, rounds: usize) {
    for n in 0..tokens {
        let id = store
            .create_token(
                &format!("bench-{n}"),
                Role::Display,
                &token::hash(&token::generate()),
                0,
            )
            .await
            .expect("token");
        if n % 5 == 0 {
            store.revoke_token(id, 1).await.expect("revoke");
        }
    }
    for _ in 0..200 {
        store.ping().await.expect("ping");
        store.revoked_token_count().await.expect("count");
    }
    let mut ping = Vec::with_capacity(rounds);
    let mut count = Vec::with_capacity(rounds);
    let mut hashes = Vec::with_capacity(rounds / 10);
    for round in 0..rounds {
        let started = Instant::now();
        store.ping().await.expect("ping");
        ping.push(started.elapsed().as_secs_f64() * 1e6);
        let started = Instant::now();
        std::hint::black_box(store.revoked_token_count().await.expect("count"));
        count.push(started.elapsed().as_secs_f64() * 1e6);
        if round % 10 == 0 {
            let started = Instant::now();
            std::hint::black_box(store.revoked_token_hashes().await.expect("hashes"));
            hashes.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    let (ping, count, hashes) = (stats(ping), stats(count), stats(hashes));
    println!(
        "{backend}: ping (floor)            p50 {:.1} µs, p99 {:.1} µs",
        ping.0, ping.1
    );
    println!(
        "{backend}: revoked_token_count    p50 {:.1} µs, p99 {:.1} µs = {:.2} x floor",
        count.0,
        count.1,
        count.0 / ping.0
    );
    println!(
        "{backend}: revoked_token_hashes   p50 {:.1} µs, p99 {:.1} µs = {:.2} x floor (only after a revocation)",
        hashes.0,
        hashes.1,
        hashes.0 / ping.0
    );
    println!(
        "{backend}: watcher at {POLLS_PER_SECOND} polls/s: {:.4} % of one core-second per second (p50)",
        count.0 * POLLS_PER_SECOND / 1e6 * 100.0
    );
}

/// (p50, p99) of microsecond samples.
fn stats(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.5), at(0.99))
}
