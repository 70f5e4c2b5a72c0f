//! Scrape benchmark (issue #6): the cost of `GET /metrics` on a realistic
//! go-live state of about 5,000 series, against floors measured in the same
//! run.
//!
//! The state goes in through the real server's bulk NDJSON ingest: tickets
//! over 5 sites × 10 applications × 8 categories × 4 severities (1,600 label
//! sets), about half resolved, and calls on 40 queues (answered and ended,
//! abandoned, still waiting), by default all within the last three hours so
//! staffing runs on measured handle times. Then N sequential scrapes are timed
//! (p50/p99/max), beside two floors:
//! - `GET /healthz` on the same server: the HTTP round trip alone;
//! - encoding as many plain counters (4 labels each) with the same
//!   `prometheus` text encoder, in process: what exposition alone costs.
//!
//! Run: `cargo bench -p golive --bench scrape`. Sizes: `GOLIVE_BENCH_TICKETS`
//! (default 16000), `GOLIVE_BENCH_CALLS` (default 20000),
//! `GOLIVE_BENCH_SCRAPES` (default 300), `GOLIVE_BENCH_SPAN_HOURS` (how far
//! back the traffic goes, default 3), `GOLIVE_BENCH_SITES` and
//! `GOLIVE_BENCH_APPS` (default 5 and 10; hundreds of each make more label
//! sets than `/metrics` shows, which measures the series bound's folding).
//! The budget is p99 < 20 ms.

mod support;

use support::BenchServer;

use prometheus::{Encoder, IntCounterVec, Opts, Registry, TextEncoder};
use serde_json::json;
use std::time::Instant;

const ADMIN: &str = "bench-admin-token";
const CATEGORIES: [&str; 8] = [
    "how_to",
    "break_fix",
    "access",
    "hardware",
    "workflow",
    "data",
    "interface",
    "other",
];
const QUEUES: usize = 40;
const BUDGET_MS: f64 = 20.0;

fn main() {
    support::block_on(run());
}

async fn run() {
    let tickets = support::setting::<usize>("GOLIVE_BENCH_TICKETS", 16_000);
    let calls = support::setting::<usize>("GOLIVE_BENCH_CALLS", 20_000);
    let scrapes = support::setting::<usize>("GOLIVE_BENCH_SCRAPES", 300);
    let span_seconds = support::setting::<usize>("GOLIVE_BENCH_SPAN_HOURS", 3) as f64 * 3600.0;
    let labels = Labels {
        sites: support::setting::<usize>("GOLIVE_BENCH_SITES", 5).max(1),
        apps: support::setting::<usize>("GOLIVE_BENCH_APPS", 10).max(1),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "machine: {cores} cores; state: {tickets} tickets over {} sites x {} applications, {calls} calls on {QUEUES} queues over {:.0} h; {scrapes} scrapes",
        labels.sites,
        labels.apps,
        span_seconds / 3600.0
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let server = BenchServer::start(&url, ADMIN);
    let client = reqwest::Client::new();

    let started = Instant::now();
    let events = load(&client, &server.base, &labels, tickets, calls, span_seconds).await;
    println!(
        "loaded {events} events through /api/v1/ingest in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let body = get(&client, &format!("{}/metrics", server.base)).await;
    let series = body
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    let domain = body
        .lines()
        .filter(|l| {
            !l.starts_with('#')
                && (l.starts_with("golive_tickets")
                    || l.starts_with("golive_ticket_")
                    || l.starts_with("golive_call")
                    || l.starts_with("golive_queue"))
        })
        .count();
    println!(
        "/metrics: {series} series ({domain} ticket/call/queue series), {} KiB",
        body.len() / 1024
    );

    let metrics_url = format!("{}/metrics", server.base);
    for _ in 0..20 {
        get(&client, &metrics_url).await;
    }
    let scrape = time_n(scrapes, || get(&client, &metrics_url)).await;
    let healthz_url = format!("{}/healthz", server.base);
    let healthz = time_n(scrapes, || get(&client, &healthz_url)).await;
    let encode = encode_floor(series, scrapes);

    println!("GET /metrics:  {}", scrape.line());
    println!("GET /healthz:  {}   (HTTP floor)", healthz.line());
    println!(
        "encode {series} plain counters: {}   (exposition floor, in process)",
        encode.line()
    );
    let floor = healthz.p50 + encode.p50;
    println!(
        "ratio: /metrics p50 = {:.1} x (healthz p50 + encode p50) = {:.1} x healthz p50",
        scrape.p50 / floor,
        scrape.p50 / healthz.p50
    );
    println!(
        "budget: p99 {:.2} ms {} {BUDGET_MS} ms -> {}",
        scrape.p99,
        if scrape.p99 < BUDGET_MS { "<" } else { ">=" },
        if scrape.p99 < BUDGET_MS {
            "PASS"
        } else {
            "OVER BUDGET"
        }
    );
}

/// Latency figures in milliseconds.
struct Figures {
    p50: f64,
    p99: f64,
    max: f64,
}

impl Figures {
    fn from(mut samples: Vec<f64>) -> Figures {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| {
            samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1]
        };
        Figures {
            p50: at(0.50),
            p99: at(0.99),
            max: samples[samples.len() - 1],
        }
    }

    fn line(&self) -> String {
        format!(
            "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            self.p50, self.p99, self.max
        )
    }
}

async fn time_n<F, Fut>(n: usize, mut request: F) -> Figures
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let body = request().await;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(body);
    }
    Figures::from(samples)
}

/// Encodes `series` plain counters with 4 labels, `n` times.
fn encode_floor(series: usize, n: usize) -> Figures {
    let registry = Registry::new();
    let counters = IntCounterVec::new(
        Opts::new("floor_counter_total", "Plain counters for the floor."),
        &["site", "application", "category", "severity"],
    )
    .expect("counter vec");
    registry
        .register(Box::new(counters.clone()))
        .expect("register");
    for i in 0..series {
        counters
            .with_label_values(&[
                &format!("Site {}", i % 7),
                &format!("Application {}", i % 31),
                CATEGORIES[i % 8],
                &format!("{}", i % 4 + 1),
            ])
            .inc_by(i as u64);
    }
    let encoder = TextEncoder::new();
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let mut buffer = Vec::new();
        encoder
            .encode(&registry.gather(), &mut buffer)
            .expect("encode");
        std::hint::black_box(&buffer);
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Figures::from(samples)
}

async fn get(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(url).send().await.expect("request");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.text().await.expect("body")
}

fn rfc3339(seconds_ago: f64) -> String {
    let at = chrono::Utc::now() - chrono::Duration::milliseconds((seconds_ago * 1000.0) as i64);
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// How many distinct sites and applications the tickets use.
struct Labels {
    sites: usize,
    apps: usize,
}

/// Loads the state through the public API; returns the events accepted.
async fn load(
    client: &reqwest::Client,
    base: &str,
    labels: &Labels,
    tickets: usize,
    calls: usize,
    span_seconds: f64,
) -> usize {
    for q in 0..QUEUES {
        let response = client
            .put(format!("{base}/api/v1/queues/Queue%20{q:02}"))
            .bearer_auth(ADMIN)
            .json(&json!({"answer_target_seconds": 20 + 10 * (q % 3),
                          "agents_staffed": 2 + q % 5}))
            .send()
            .await
            .expect("queue settings");
        assert!(response.status().is_success());
    }
    let mut lines = Vec::new();
    // Tickets: every label set at least once, spread over the span.
    let (sites, apps) = (labels.sites, labels.apps);
    let combos = sites * apps * CATEGORIES.len() * 4;
    for n in 0..tickets {
        let combo = n % combos;
        let site = combo % sites;
        let app = (combo / sites) % apps;
        let category = CATEGORIES[(combo / (sites * apps)) % 8];
        let severity = 1 + (combo / (sites * apps * 8)) % 4;
        let opened = span_seconds * (1.0 - n as f64 / tickets as f64) + 60.0;
        let mut ticket = json!({
            "kind": "ticket", "external_id": format!("INC{n:08}"), "opened_at": rfc3339(opened),
            "site": format!("Site {site}"), "department": "Emergency",
            "application": format!("Application {app}"), "category": category,
            "severity": severity, "channel": if n % 3 == 0 { "ate" } else { "phone" },
            "summary": "Cannot find the order set",
        });
        let update = |status: &str, at: f64| {
            json!({"kind": "ticket_update", "external_id": format!("INC{n:08}"),
                   "status": status, "at": rfc3339(at)})
        };
        let mut later = None;
        match n % 6 {
            // First-contact resolution.
            0 => {
                ticket["status"] = json!("resolved");
                ticket["resolved_at"] = json!(rfc3339(opened - 120.0));
            }
            // Resolved later, or being worked on.
            1 | 2 => later = Some(update("resolved", opened - 1800.0_f64.min(opened - 1.0))),
            3 => later = Some(update("in_progress", opened - 30.0)),
            _ => {}
        }
        lines.push(ticket);
        lines.extend(later);
    }
    // Calls: 80 % answered and ended, 15 % abandoned, 5 % still waiting.
    for n in 0..calls {
        let queue = format!("Queue {:02}", n % QUEUES);
        let offered = span_seconds * (1.0 - n as f64 / calls as f64) + 30.0;
        let id = format!("c{n:08}");
        lines.push(json!({"kind": "call", "call_id": id, "queue": queue, "event": "offered", "at": rfc3339(offered)}));
        match n % 20 {
            0 => {}
            1..=3 => lines.push(
                json!({"kind": "call", "call_id": id, "queue": queue, "event": "abandoned",
                                        "at": rfc3339(offered - 45.0_f64.min(offered - 1.0))}),
            ),
            k => {
                let wait = (k as f64 * 3.0).min(offered - 2.0);
                lines.push(
                    json!({"kind": "call", "call_id": id, "queue": queue, "event": "answered",
                                  "at": rfc3339(offered - wait), "agent": format!("a-{}", n % 50)}),
                );
                let talk = (120.0 + (n % 7) as f64 * 40.0).min(offered - wait - 1.0);
                lines.push(
                    json!({"kind": "call", "call_id": id, "queue": queue, "event": "ended",
                                  "at": rfc3339(offered - wait - talk), "wrap_seconds": 30}),
                );
            }
        }
    }
    let mut accepted = 0;
    for chunk in lines.chunks(20_000) {
        let body: String = chunk.iter().map(|l| format!("{l}\n")).collect();
        let response = client
            .post(format!("{base}/api/v1/ingest"))
            .bearer_auth(ADMIN)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .expect("ingest");
        assert!(response.status().is_success(), "{}", response.status());
        let reply: serde_json::Value = response.json().await.expect("ingest reply");
        let rejected = reply["rejected"].as_array().map_or(0, Vec::len);
        assert_eq!(rejected, 0, "rejected lines: {}", reply["rejected"]);
        accepted += reply["accepted"].as_u64().unwrap_or(0) as usize;
    }
    accepted
}
