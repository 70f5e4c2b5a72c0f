//! Live hub benchmark (issue #5): 5,000 display sockets on one server while
//! tickets are ingested at 200 events/s; measures commit-to-board latency
//! at every socket (p50/p99/max), server memory per socket and server CPU.
//!
//! The latency of a write is from its acknowledgement (the 201, sent after
//! the commit) to the arrival at a socket of the first board whose `seq`
//! (the event log position it reflects) includes it; ticket ids are their
//! creation event's sequence number, so no board needs parsing beyond its
//! `seq`. Client and server share the machine's 2 cores: the client's cost
//! (5,000 sockets reading every board) is part of the figures.
//!
//! Run: `cargo bench -p golive --bench live_fanout` (`GOLIVE_BENCH_SOCKETS`,
//! `GOLIVE_BENCH_SECONDS` to change the load).

mod support;

use support::BenchServer;

use futures::StreamExt;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const ADMIN: &str = "bench-admin-token";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let sockets = support::setting::<u64>("GOLIVE_BENCH_SOCKETS", 5000) as usize;
    let seconds = support::setting::<u64>("GOLIVE_BENCH_SECONDS", 20);
    let rate = 200u64;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("live.db").display());
    let server = BenchServer::start(&url, ADMIN);
    let http = reqwest::Client::new();
    // Some history, so boards carry realistic tables (8 apps, 3 sites).
    seed(&http, &server.base).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let rss_before = server.rss_kib();
    let ws_url = format!(
        "{}/api/v1/live?token={ADMIN}",
        server.base.replacen("http://", "ws://", 1)
    );
    // seq → acknowledgement time (µs since start), filled by the poster.
    let started = Instant::now();
    let acks: Arc<Mutex<Vec<(u64, u64)>>> = Arc::new(Mutex::new(Vec::new()));
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
    let measuring = Arc::new(AtomicU64::new(0));
    let board_bytes = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for batch in 0..sockets.div_ceil(250) {
        let mut pending = Vec::new();
        for _ in 0..250.min(sockets - batch * 250) {
            pending.push(connect_async(ws_url.clone()));
        }
        for connection in futures::future::join_all(pending).await {
            let (mut socket, _) = connection.expect("websocket connect");
            let acks = acks.clone();
            let latencies = latencies.clone();
            let measuring = measuring.clone();
            let board_bytes = board_bytes.clone();
            readers.push(tokio::spawn(async move {
                let mut covered = 0u64;
                let mut local = Vec::new();
                while let Some(Ok(message)) = socket.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let arrived = started.elapsed().as_micros() as u64;
                    let Some(seq) = seq_of(&text) else { continue };
                    board_bytes.store(text.len() as u64, Ordering::Relaxed);
                    if measuring.load(Ordering::Relaxed) == 0 {
                        covered = covered.max(seq);
                        continue;
                    }
                    if seq > covered {
                        let acks = acks.lock().await;
                        for (ack_seq, ack_at) in acks.iter() {
                            if *ack_seq > covered && *ack_seq <= seq {
                                local.push(arrived.saturating_sub(*ack_at));
                            }
                        }
                        covered = seq;
                    }
                    if measuring.load(Ordering::Relaxed) == 2 {
                        break;
                    }
                }
                latencies.lock().await.extend(local);
            }));
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected = server.rss_kib();
    let cpu_before = server.cpu_ticks();
    measuring.store(1, Ordering::Relaxed);
    let wall = Instant::now();
    // 200 tickets a second, each acknowledged after its commit.
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut posted = 0u64;
    while wall.elapsed() < Duration::from_secs(seconds) {
        ticker.tick().await;
        let http = http.clone();
        let base = server.base.clone();
        let acks = acks.clone();
        posted += 1;
        tokio::spawn(async move {
            let body = json!({"site": "Main Campus", "department": "ICU", "application": "Orders",
                "category": "how_to", "severity": 3, "channel": "phone"});
            let Ok(response) = http
                .post(format!("{base}/api/v1/tickets"))
                .bearer_auth(ADMIN)
                .json(&body)
                .send()
                .await
            else {
                return;
            };
            let at = started.elapsed().as_micros() as u64;
            if let Ok(ticket) = response.json::<serde_json::Value>().await
                && let Some(seq) = ticket["id"].as_str().and_then(|id| id.parse::<u64>().ok())
            {
                acks.lock().await.push((seq, at));
            }
        });
    }
    // Let the last writes reach every socket.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu_after = server.cpu_ticks();
    let elapsed = wall.elapsed().as_secs_f64();
    measuring.store(2, Ordering::Relaxed);
    // One more write wakes every reader so it sees the stop flag.
    let _ = http
        .post(format!("{}/api/v1/tickets", server.base))
        .bearer_auth(ADMIN)
        .json(&json!({"site": "Main Campus", "department": "ICU", "application": "Orders", "category": "how_to", "severity": 3, "channel": "phone"}))
        .send()
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(10), futures::future::join_all(readers)).await;

    let mut all = latencies.lock().await.clone();
    all.sort_unstable();
    let acked = acks.lock().await.len();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let ticks_per_second = 100.0;
    let cpu = (cpu_after.saturating_sub(cpu_before)) as f64 / ticks_per_second / elapsed;
    println!(
        "sockets: {sockets}; ingest: {rate}/s for {seconds} s ({posted} posted, {acked} acknowledged); push interval 1 s"
    );
    println!(
        "board message size: {} bytes",
        board_bytes.load(Ordering::Relaxed)
    );
    println!(
        "commit-to-board latency over {} (write, socket) pairs: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        all.len(),
        pick(0.5),
        pick(0.99),
        pick(1.0)
    );
    println!(
        "server RSS: {} KiB before sockets, {} KiB with {sockets} sockets → {:.1} KiB per socket",
        rss_before,
        rss_connected,
        (rss_connected.saturating_sub(rss_before)) as f64 / sockets as f64
    );
    println!(
        "server CPU during the run: {:.0} % of one core",
        cpu * 100.0
    );
    println!("floor: the push interval itself bounds latency below by up to 1000 ms (mean 500 ms)");
}

/// The `seq` of a `{"type":"board","seq":N,…}` or snapshot message.
fn seq_of(text: &str) -> Option<u64> {
    let start = text.find("\"seq\":")? + 6;
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

async fn seed(http: &reqwest::Client, base: &str) {
    let apps = [
        "Orders",
        "Clinical Documentation",
        "MAR",
        "Pharmacy",
        "Lab",
        "Radiology",
        "Scheduling",
        "Registration",
    ];
    let sites = ["Main Campus", "North Hospital", "Children's Pavilion"];
    let now = chrono::Utc::now();
    let mut lines = Vec::new();
    for n in 0..2000 {
        let at = now - chrono::Duration::seconds(7200 - n * 3);
        lines.push(
            json!({"kind": "ticket", "site": sites[n as usize % 3], "department": "ICU", "application": apps[n as usize % 8],
                "category": "how_to", "severity": 2 + n % 3, "channel": "phone",
                "opened_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)})
            .to_string(),
        );
    }
    let response = http
        .post(format!("{base}/api/v1/ingest"))
        .bearer_auth(ADMIN)
        .header("content-type", "application/x-ndjson")
        .body(lines.join("\n"))
        .send()
        .await
        .expect("seed");
    assert!(response.status().is_success());
}
