//! Heavy work against cheap requests (issue #16, point 3): how long
//! `GET /healthz` takes while the server parses, decides and applies a
//! 32 MiB NDJSON body and builds week-long reports, against the same
//! request on the same server at rest, measured in the same run.
//!
//! A fresh server on SQLite is loaded with a week of tickets
//! (`GOLIVE_BENCH_TICKETS`, default 100000, over 12 sites × 40
//! applications). Then `GOLIVE_BENCH_PROBES` (default 500) sequential
//! `/healthz` are timed at rest (the floor), and again, one every 5 ms,
//! while one client posts a body of just under 32 MiB (the default
//! `max_ingest_bytes`) and another requests the week's report grouped by
//! application over and over until the body is answered. Prints p50, p99
//! and max of both and the ratio of the p99s.
//!
//! Run: `cargo bench -p golive --bench heavy_work`; with
//! `GOLIVE_BENCH_BINARY=path/to/golive` it measures another build (an
//! older commit's) instead.

mod support;

use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::BenchServer;

const ADMIN: &str = "bench-admin-token";
const BODY_LIMIT: usize = 32 << 20;
const DAY_MS: i64 = 86_400_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// One ticket line; `n` spreads it over sites, applications and `span`.
fn line(n: usize, prefix: &str, now: i64, span: i64) -> String {
    let opened = now - span + (n as i64 * 7_919_000) % span;
    json!({
        "kind": "ticket",
        "external_id": format!("{prefix}-{n}"),
        "opened_at": rfc3339(opened),
        "site": format!("Site {}", n % 12),
        "department": "Emergency",
        "application": format!("App {}", n % 40),
        "category": "how_to",
        "severity": 1 + n % 4,
        "channel": "phone",
    })
    .to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

fn summary(name: &str, mut times: Vec<Duration>) -> f64 {
    times.sort();
    let p99 = percentile(&times, 0.99);
    println!(
        "{name}: {} requests, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        percentile(&times, 0.50),
        p99,
        times.last().map_or(0.0, |t| t.as_secs_f64() * 1000.0),
    );
    p99
}

async fn healthz(client: &reqwest::Client, url: &str) -> Duration {
    let started = Instant::now();
    let response = client.get(url).send().await.expect("healthz");
    assert!(response.status().is_success());
    let _ = response.bytes().await;
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let tickets = env_usize("GOLIVE_BENCH_TICKETS", 100_000);
    let probes = env_usize("GOLIVE_BENCH_PROBES", 500);
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let server = BenchServer::start(&url, ADMIN);
    let client = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp_millis();

    // A week of history, in 20,000-line requests.
    let lines: Vec<String> = (0..tickets)
        .map(|n| line(n, "week", now - DAY_MS / 24, 7 * DAY_MS))
        .collect();
    for chunk in lines.chunks(20_000) {
        let response = client
            .post(server.url("/api/v1/ingest"))
            .bearer_auth(ADMIN)
            .header("content-type", "application/x-ndjson")
            .body(chunk.join("\n"))
            .send()
            .await
            .expect("preload");
        assert!(response.status().is_success(), "preload accepted");
    }
    println!("loaded {tickets} tickets over 7 days");

    let health = server.url("/healthz");
    let mut rest = Vec::with_capacity(probes);
    for _ in 0..probes {
        rest.push(healthz(&client, &health).await);
    }

    // Just under the body limit, of tickets in the last hour.
    let mut body = String::with_capacity(BODY_LIMIT);
    let mut n = 0;
    loop {
        let next = line(n, "bulk", now, DAY_MS / 24);
        if body.len() + next.len() + 1 > BODY_LIMIT - 1024 {
            break;
        }
        body.push_str(&next);
        body.push('\n');
        n += 1;
    }
    println!(
        "heavy: a {:.1} MiB body of {n} lines",
        body.len() as f64 / (1 << 20) as f64
    );
    let done = Arc::new(AtomicBool::new(false));
    let ingest = {
        let (client, target, done) = (client.clone(), server.url("/api/v1/ingest"), done.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let response = client
                .post(target)
                .bearer_auth(ADMIN)
                .header("content-type", "application/x-ndjson")
                .body(body)
                .send()
                .await
                .expect("bulk body");
            let answer: serde_json::Value = response.json().await.expect("answer");
            done.store(true, Ordering::Release);
            (answer["accepted"].as_u64().unwrap_or(0), started.elapsed())
        })
    };
    let reports = {
        let report = server.url(&format!(
            "/api/v1/report?from={}&to={}&group_by=application",
            rfc3339(now - 7 * DAY_MS),
            rfc3339(now + DAY_MS / 24),
        ));
        let (client, done) = (client.clone(), done.clone());
        tokio::spawn(async move {
            let mut built = 0;
            while !done.load(Ordering::Acquire) {
                let response = client
                    .get(&report)
                    .bearer_auth(ADMIN)
                    .send()
                    .await
                    .expect("report");
                assert!(response.status().is_success());
                let _ = response.bytes().await;
                built += 1;
            }
            built
        })
    };
    let mut heavy = Vec::new();
    while !done.load(Ordering::Acquire) {
        heavy.push(healthz(&client, &health).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (accepted, took) = ingest.await.expect("ingest task");
    let built = reports.await.expect("report task");
    assert_eq!(accepted as usize, n, "every line accepted");
    println!(
        "heavy work: {n} lines ingested in {:.1} s, {built} week reports built meanwhile",
        took.as_secs_f64()
    );
    let floor = summary("healthz at rest (floor)", rest);
    let loaded = summary("healthz during heavy work", heavy);
    println!(
        "p99 during heavy work / p99 at rest: {:.1} ×",
        loaded / floor
    );
}
