//! Replicas benchmark (issue #12): how late another replica applies a
//! commit, and what following the log costs a replica, beside the single
//! process measured in the same run.
//!
//! Two real `golive serve` processes (the bench build) on one fresh
//! PostgreSQL database. A load of `GOLIVE_BENCH_RATE` single-ticket POSTs
//! per second (default 500, one event each) goes to replica A for
//! `GOLIVE_BENCH_SECONDS` (default 20):
//! 1. A alone (the single process): A's apply lag for its own commits
//!    (`golive_apply_lag_seconds{source="writer"}`: decision to applied,
//!    i.e. the commit plus applying) and A's CPU;
//! 2. then with replica B following the log: B's apply lag for A's commits
//!    (`source="log"`: A's decision to applied on B, i.e. A's commit, the
//!    notification, B's read of the log and applying), A's own lag again,
//!    and the CPU of both. B idle (no writes anywhere) is the floor of
//!    tailing: its catch-up read every 500 ms.
//!
//! Quantiles are read from the histograms' buckets (interpolated within a
//! bucket, as Prometheus' `histogram_quantile` does), over the load only.
//!
//! Run: `cargo bench -p golive --bench replicas`. Needs the PostgreSQL
//! server at `GOLIVE_TEST_POSTGRES_URL` (default the local test server).

mod support;

use sqlx::Connection;
use std::time::{Duration, Instant};
use support::BenchServer;

const TOKEN: &str = "bench-admin-token-replicas";
/// Clock ticks per second of `/proc/PID/stat` (USER_HZ).
const TICKS_PER_SECOND: f64 = 100.0;
/// Concurrent clients sharing the load.
const CLIENTS: u64 = 32;

fn main() {
    support::block_on(run());
}

async fn run() {
    let rate = support::setting::<u64>("GOLIVE_BENCH_RATE", 500);
    let seconds = support::setting::<u64>("GOLIVE_BENCH_SECONDS", 20);
    let admin = std::env::var("GOLIVE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL reachable");
    let name = format!("golive_bench_replicas_{}", std::process::id());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    println!("load: {rate} events/s to replica A for {seconds} s, {CLIENTS} clients");

    let client = reqwest::Client::new();
    let a = BenchServer::start(&url, TOKEN);
    // Warm-up: connections, prepared statements, allocator.
    load(&client, &a, rate, 2).await;

    // 1. The single process.
    let before = (lag(&client, &a, "writer").await, a.cpu_ticks());
    let sent = load(&client, &a, rate, seconds).await;
    let after = (lag(&client, &a, "writer").await, a.cpu_ticks());
    let single = Figures::between(&before.0, &after.0);
    let single_cpu = cores(before.1, after.1, seconds);
    println!(
        "single process: {:.0} events/s sent; A's own commits applied p50 {} p99 {} ({} batches); A's CPU {:.1} % of a core",
        sent as f64 / seconds as f64,
        ms(single.p50),
        ms(single.p99),
        single.count,
        single_cpu * 100.0
    );

    // 2. With a second replica following the log.
    let b = BenchServer::start(&url, TOKEN);
    let idle_seconds = 10;
    let idle_before = b.cpu_ticks();
    tokio::time::sleep(Duration::from_secs(idle_seconds)).await;
    let idle_cpu = cores(idle_before, b.cpu_ticks(), idle_seconds);
    let before_a = (lag(&client, &a, "writer").await, a.cpu_ticks());
    let before_b = (lag(&client, &b, "log").await, b.cpu_ticks());
    let sent = load(&client, &a, rate, seconds).await;
    // The last commits' notifications.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after_a = (lag(&client, &a, "writer").await, a.cpu_ticks());
    let after_b = (lag(&client, &b, "log").await, b.cpu_ticks());
    let own = Figures::between(&before_a.0, &after_a.0);
    let followed = Figures::between(&before_b.0, &after_b.0);
    let a_cpu = cores(before_a.1, after_a.1, seconds);
    let b_cpu = cores(before_b.1, after_b.1, seconds);
    println!(
        "two replicas: {:.0} events/s sent; A's own commits applied on A p50 {} p99 {} ({} batches); \
         on B p50 {} p99 {} ({} batches)",
        sent as f64 / seconds as f64,
        ms(own.p50),
        ms(own.p99),
        own.count,
        ms(followed.p50),
        ms(followed.p99),
        followed.count
    );
    println!(
        "CPU: A {:.1} % of a core (alone: {:.1} %), B following {:.1} % = {:.2} × A's; B idle {:.2} %",
        a_cpu * 100.0,
        single_cpu * 100.0,
        b_cpu * 100.0,
        b_cpu / a_cpu.max(f64::EPSILON),
        idle_cpu * 100.0
    );
    println!(
        "visibility on B vs the single process's own apply: p50 {:.1} ×, p99 {:.1} ×",
        followed.p50 / single.p50.max(f64::EPSILON),
        followed.p99 / single.p99.max(f64::EPSILON)
    );

    drop(a);
    drop(b);
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
}

/// CPU used between two readings of clock ticks, in cores.
fn cores(before: u64, after: u64, seconds: u64) -> f64 {
    after.saturating_sub(before) as f64 / TICKS_PER_SECOND / seconds as f64
}

fn ms(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1000.0)
}

/// Posts `rate` tickets a second to `server` for `seconds`, from
/// [`CLIENTS`] clients; returns how many were acknowledged.
async fn load(client: &reqwest::Client, server: &BenchServer, rate: u64, seconds: u64) -> u64 {
    let url = server.url("/api/v1/tickets");
    let period = Duration::from_secs_f64(CLIENTS as f64 / rate as f64);
    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                let mut acknowledged = 0u64;
                let mut n = 0u64;
                while Instant::now() < until {
                    ticker.tick().await;
                    n += 1;
                    let body = serde_json::json!({
                        "site": format!("Site {}", n % 7),
                        "department": "Emergency",
                        "application": format!("App {c}"),
                        "category": "how_to",
                        "severity": 3,
                        "channel": "phone",
                    });
                    let sent = client
                        .post(&url)
                        .bearer_auth(TOKEN)
                        .json(&body)
                        .send()
                        .await;
                    if sent.is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED) {
                        acknowledged += 1;
                    }
                }
                acknowledged
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap_or(0);
    }
    total
}

/// The cumulative buckets of `golive_apply_lag_seconds{source}`:
/// (upper bound, count), ending with +Inf.
async fn lag(client: &reqwest::Client, server: &BenchServer, source: &str) -> Vec<(f64, f64)> {
    let text = client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("metrics text");
    let prefix = format!("golive_apply_lag_seconds_bucket{{source=\"{source}\",le=\"");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, count.trim().parse().ok()?))
        })
        .collect()
}

/// Quantiles of the observations between two readings of a histogram.
struct Figures {
    p50: f64,
    p99: f64,
    count: u64,
}

impl Figures {
    fn between(before: &[(f64, f64)], after: &[(f64, f64)]) -> Figures {
        let buckets: Vec<(f64, f64)> = after
            .iter()
            .map(|&(le, n)| {
                let earlier = before
                    .iter()
                    .find(|(b, _)| *b == le)
                    .map_or(0.0, |(_, n)| *n);
                (le, n - earlier)
            })
            .collect();
        let count = buckets.last().map_or(0.0, |(_, n)| *n);
        Figures {
            p50: quantile(&buckets, 0.50),
            p99: quantile(&buckets, 0.99),
            count: count as u64,
        }
    }
}

/// `histogram_quantile`: the bucket holding the rank, interpolated
/// linearly within it.
fn quantile(buckets: &[(f64, f64)], q: f64) -> f64 {
    let Some(&(_, total)) = buckets.last() else {
        return f64::NAN;
    };
    if total == 0.0 {
        return f64::NAN;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(le, n) in buckets {
        if n >= rank {
            if le.is_infinite() {
                return lower.0;
            }
            let within = (rank - lower.1) / (n - lower.1).max(f64::EPSILON);
            return lower.0 + (le - lower.0) * within;
        }
        lower = (le, n);
    }
    lower.0
}
