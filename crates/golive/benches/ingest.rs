//! Ingest benchmark (issue #2): durable single-ticket POSTs with 64
//! concurrent connections and bulk NDJSON ingest, on SQLite and PostgreSQL,
//! each beside a floor measured in the same run: the same rows (events and
//! ticket projections) committed in one transaction as multi-row INSERTs
//! through the same driver, with no HTTP, parsing or validation.
//!
//! Run: `cargo bench -p golive --bench ingest` (set `GOLIVE_BENCH_SKIP_PG=1`
//! to skip PostgreSQL; `GOLIVE_BENCH_TICKETS` to change the bulk size).
//!
//! Last, on SQLite, the memory a hostile bulk request costs (issue #9): the
//! growth of a fresh server's peak RSS (VmHWM) for 350,000 lines of `{}`
//! (1 MB, which once took 6.3 GB) and for a body of rejected lines just
//! under the 32 MiB limit, against the size of the body itself.

mod support;

use support::BenchServer;
use support::{APPS, DEPTS, SITES};

use golive_core::event::{Event, RecordedEvent, TicketCreated};
use golive_core::model::{Category, Channel, Severity, TicketStatus};
use golive_core::record::TicketRecord;
use golive_store::CommitBatch;
use serde_json::json;
use sqlx::Connection;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ADMIN: &str = "bench-admin-token";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let bulk_tickets: usize = std::env::var("GOLIVE_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    println!(
        "machine: {} cores; bulk size {bulk_tickets} tickets; single POSTs: 64 connections",
        num_cpus()
    );
    let mut backends = vec!["sqlite"];
    if std::env::var("GOLIVE_BENCH_SKIP_PG").is_err() {
        backends.push("postgres");
    }
    for backend in backends {
        println!("\n== {backend} ==");
        let floor_db = Database::new(backend).await;
        let floor = floor_rate(&floor_db.url, bulk_tickets).await;
        println!(
            "floor: {bulk_tickets} tickets (events + projection rows) in one transaction: {floor:.0} events/s"
        );

        let db = Database::new(backend).await;
        let server = BenchServer::start(&db.url, ADMIN);
        let ticks = server.cpu_ticks();
        let bulk = bulk_rate(&server, bulk_tickets).await;
        // CPU time is less at the mercy of a shared machine than wall time.
        let cpu_us = (server.cpu_ticks() - ticks) as f64 * 1e4 / bulk_tickets as f64;
        println!(
            "bulk NDJSON ingest: {bulk:.0} events/s = {:.0} % of floor; server CPU {cpu_us:.1} us/event",
            100.0 * bulk / floor
        );

        let (rate, p50, p99, max) = single_posts(&server, 64, Duration::from_secs(10)).await;
        println!(
            "single POST /api/v1/tickets, 64 connections: {rate:.0} tickets/s; latency p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; {:.1} % of floor",
            100.0 * rate / floor
        );
        drop(server);
    }
    hostile_bulk_memory().await;
}

/// Peak RSS growth of a fresh server for bulk bodies of rejected lines.
async fn hostile_bulk_memory() {
    println!("\n== memory of hostile bulk requests (sqlite) ==");
    let client = reqwest::Client::new();
    let bodies = [
        ("350,000 lines of {}", "{}\n".repeat(350_000)),
        ("rejected lines up to the 32 MiB limit", {
            let mut body = String::with_capacity(32 << 20);
            while body.len() < (32 << 20) - 64 {
                body.push_str("{}\n{\"kind\":\"ticket\",\"site\":\"Main Campus\"}\n");
            }
            body
        }),
    ];
    for (what, body) in bodies {
        let db = Database::new("sqlite").await;
        let server = BenchServer::start(&db.url, ADMIN);
        let before = server.peak_rss_kib();
        let size = body.len();
        let lines = body.lines().count();
        let result = post_ndjson(&client, &server.url("/api/v1/ingest"), body).await;
        assert_eq!(result["rejected_total"].as_u64(), Some(lines as u64));
        let after = server.peak_rss_kib();
        println!(
            "{what}: {lines} lines, {:.1} MB body: peak RSS {:.1} MB -> {:.1} MB (+{:.1} MB = {:.2}x the body)",
            size as f64 / 1e6,
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            after.saturating_sub(before) as f64 / 1024.0,
            after.saturating_sub(before) as f64 * 1024.0 / size as f64,
        );
    }
}

/// Posts one bulk body; its answer.
async fn post_ndjson(client: &reqwest::Client, url: &str, body: String) -> serde_json::Value {
    let response = client
        .post(url)
        .bearer_auth(ADMIN)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .expect("ingest");
    response.json().await.expect("json")
}

fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn ticket_json(n: usize) -> serde_json::Value {
    json!({
        "external_id": format!("INC{n:09}"),
        "opened_at": "2026-03-02T07:14:05Z",
        "site": SITES[n % 3], "department": DEPTS[n % 6], "application": APPS[n % 8],
        "category": if n.is_multiple_of(2) { "how_to" } else { "access" },
        "severity": 1 + (n % 4), "channel": if n.is_multiple_of(3) { "ate" } else { "phone" },
        "summary": "Cannot find the sepsis order set in the ED order panel",
    })
}

/// The floor: the same rows committed through the store in one transaction.
async fn floor_rate(url: &str, tickets: usize) -> f64 {
    let store = golive_store::connect(url).await.expect("connect");
    let opened_at = 1_772_435_645_000;
    let mut batch = CommitBatch::default();
    for n in 0..tickets {
        let id = n as u64 + 1;
        let created = TicketCreated {
            id,
            external_id: Some(format!("INC{n:09}")),
            opened_at,
            site: SITES[n % 3].into(),
            department: DEPTS[n % 6].into(),
            application: APPS[n % 8].into(),
            category: if n % 2 == 0 {
                Category::HowTo
            } else {
                Category::Access
            },
            severity: Severity::new(1 + (n % 4) as u8).expect("severity"),
            channel: if n % 3 == 0 {
                Channel::Ate
            } else {
                Channel::Phone
            },
            summary: Some("Cannot find the sepsis order set in the ED order panel".into()),
            reporter_role: None,
            status: TicketStatus::Open,
            resolved_at: None,
            assignee: None,
            tier: None,
            source_key: None,
            source_updated_at: None,
            known_issue: None,
        };
        batch.tickets.push(TicketRecord {
            id,
            external_id: created.external_id.clone(),
            opened_at,
            site: created.site.clone(),
            department: created.department.clone(),
            application: created.application.clone(),
            category: created.category,
            severity: created.severity,
            channel: created.channel,
            summary: created.summary.clone(),
            reporter_role: None,
            status: TicketStatus::Open,
            resolved_at: None,
            assignee: None,
            tier: None,
            updated_at: opened_at,
        });
        batch.events.push(RecordedEvent {
            seq: id,
            recorded_at: opened_at,
            event: Event::TicketCreated(created),
        });
    }
    let started = Instant::now();
    let mut once = Some(batch);
    store
        .commit(0, &mut |_| once.take().unwrap_or_default())
        .await
        .expect("floor commit");
    tickets as f64 / started.elapsed().as_secs_f64()
}

async fn bulk_rate(server: &BenchServer, tickets: usize) -> f64 {
    const LINES_PER_REQUEST: usize = 20_000;
    let client = reqwest::Client::new();
    let bodies: Vec<String> = (0..tickets)
        .collect::<Vec<_>>()
        .chunks(LINES_PER_REQUEST)
        .map(|chunk| {
            chunk
                .iter()
                .map(|n| {
                    let mut line = ticket_json(*n);
                    line["kind"] = json!("ticket");
                    line.to_string()
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    let started = Instant::now();
    // Two requests in flight so parsing one overlaps committing the other.
    let bodies = Arc::new(std::sync::Mutex::new(bodies));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let client = client.clone();
        let bodies = bodies.clone();
        let url = server.url("/api/v1/ingest");
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0u64;
            loop {
                let next = bodies.lock().ok().and_then(|mut b| b.pop());
                let Some(body) = next else { return accepted };
                let result = post_ndjson(&client, &url, body).await;
                accepted += result["accepted"].as_u64().unwrap_or(0);
            }
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await.expect("task");
    }
    assert_eq!(accepted as usize, tickets, "every line accepted");
    tickets as f64 / started.elapsed().as_secs_f64()
}

async fn single_posts(
    server: &BenchServer,
    connections: usize,
    duration: Duration,
) -> (f64, f64, f64, f64) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let client = reqwest::Client::new();
        let url = server.url("/api/v1/tickets");
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 10_000_000 + worker;
            while started.elapsed() < duration {
                let begin = Instant::now();
                let response = client
                    .post(&url)
                    .bearer_auth(ADMIN)
                    .json(&ticket_json(n))
                    .send()
                    .await
                    .expect("post");
                assert_eq!(response.status(), reqwest::StatusCode::CREATED);
                latencies.push(begin.elapsed().as_secs_f64() * 1000.0);
                n += connections;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        all[((all.len() as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(all.len() - 1)]
    };
    (all.len() as f64 / elapsed, pick(0.5), pick(0.99), pick(1.0))
}

struct Database {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<String>,
}

impl Database {
    async fn new(backend: &str) -> Database {
        if backend == "sqlite" {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            return Database {
                url,
                _dir: Some(dir),
                pg: None,
            };
        }
        let admin = std::env::var("GOLIVE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("postgres reachable");
        let name = format!(
            "golive_bench_{}",
            std::process::id() as u64 * 1000 + rand::random::<u16>() as u64
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create db");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin.clone());
        Database {
            url: format!("{base}/{name}"),
            _dir: None,
            pg: Some(name),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(name) = self.pg.take() {
            let _ = Command::new("psql")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    "test",
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
