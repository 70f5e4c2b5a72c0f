//! Growth benchmark (issue #16): the same server at 1, 7 and 28 days of a
//! large go-live (7,000 tickets and 15,000 calls a day), to show what
//! grows with history and what does not.
//!
//! For each length, a generated go-live log ending now (`support::golive_log`:
//! tickets worked, resolved, reopened, closed, late imports, calls with ACD
//! events out of order) is written to a fresh SQLite file, and the real
//! `golive serve` is started on it with `go_live_start` at the log's start
//! (so the board has its since-go-live window). Measured on it:
//! - restart-to-ready: spawn to `/readyz` 200, of the first start (a
//!   replay of the whole log: no checkpoint yet) and of a second one after
//!   a graceful stop (SIGTERM), which wrote a checkpoint, so the second
//!   start restores it and replays nothing; the second is the one measured
//!   further;
//! - RSS after ready;
//! - `GET /api/v1/board` (the whole center), `GET /api/v1/board?site=`
//!   (one site's display) and `GET /metrics`: p50 of sequential requests;
//! - `GET /api/v1/report` over the last 7 days grouped by application: p50;
//! - idle CPU: the server's CPU time over `GOLIVE_BENCH_IDLE_SECONDS`
//!   (default 20) with one display socket connected and nothing written,
//!   as a share of one core — the board publisher's per-second cost;
//! - the floor, in the same run: `GET /healthz` p50 on the same server
//!   (an HTTP round trip with no work behind it).
//!
//! Then a table of every figure per length with the ratio of the longest
//! to the shortest.
//!
//! Run: `cargo bench -p golive --bench growth`. `GOLIVE_BENCH_DAYS`
//! (default `1,7,28`), `GOLIVE_BENCH_TICKETS_PER_DAY` (7000),
//! `GOLIVE_BENCH_CALLS_PER_DAY` (15000), `GOLIVE_BENCH_SAMPLES` (30
//! requests per figure; the report takes a third of them).
//! `GOLIVE_BENCH_KEEP=1` keeps each length's SQLite log (and its
//! configuration) and prints where, for profiling a server on it.

mod support;

use futures::StreamExt;
use golive_core::time::Millis;
use std::time::{Duration, Instant};
use support::BenchServer;
use support::golive_log::{DAY, SITES, commands, write_log};

const ADMIN: &str = "bench-admin-token";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

/// Everything measured at one length of history.
struct Row {
    days: usize,
    events: u64,
    /// Restart to ready after a graceful stop (from its checkpoint).
    ready_s: f64,
    /// First start: the whole log replayed.
    replay_s: f64,
    rss_mb: f64,
    board_ms: f64,
    site_board_ms: f64,
    metrics_ms: f64,
    report_ms: f64,
    idle_cpu_percent: f64,
    healthz_ms: f64,
}

async fn run() {
    let days: Vec<usize> = std::env::var("GOLIVE_BENCH_DAYS")
        .unwrap_or_else(|_| "1,7,28".into())
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    let tickets_per_day = env_usize("GOLIVE_BENCH_TICKETS_PER_DAY", 7_000);
    let calls_per_day = env_usize("GOLIVE_BENCH_CALLS_PER_DAY", 15_000);
    let samples = env_usize("GOLIVE_BENCH_SAMPLES", 30).max(3);
    let idle_seconds = env_usize("GOLIVE_BENCH_IDLE_SECONDS", 20).max(1);
    println!(
        "machine: {} cores; load average before: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );
    println!(
        "load: {tickets_per_day} tickets and {calls_per_day} calls a day; lengths {days:?} days; {samples} requests per figure; idle CPU over {idle_seconds} s"
    );
    let mut rows = Vec::new();
    for &length in &days {
        rows.push(
            measure(
                length,
                tickets_per_day,
                calls_per_day,
                samples,
                idle_seconds,
            )
            .await,
        );
    }
    print_table(&rows);
    println!("load average after: {}", load_average());
}

async fn measure(
    days: usize,
    tickets_per_day: usize,
    calls_per_day: usize,
    samples: usize,
    idle_seconds: usize,
) -> Row {
    let now: Millis = chrono::Utc::now().timestamp_millis();
    let start = now - days as Millis * DAY;
    let temp = tempfile::tempdir().expect("temp dir");
    // Deleted when `temp` drops, unless kept.
    let (dir, _temp) = if std::env::var_os("GOLIVE_BENCH_KEEP").is_some() {
        let kept = temp.keep();
        println!("keeping the log in {}", kept.display());
        (kept, None)
    } else {
        (temp.path().to_path_buf(), Some(temp))
    };
    let url = format!("sqlite://{}", dir.join("growth.db").display());
    let started = Instant::now();
    let plan = commands(
        start,
        now - start,
        tickets_per_day * days,
        calls_per_day * days,
    );
    let store = golive_store::connect(&url).await.expect("connect");
    write_log(store.as_ref(), plan, u64::MAX).await;
    let events = store.last_seq().await.expect("last seq");
    drop(store);
    println!(
        "\n== {days} day(s): {events} events written in {:.1} s ==",
        started.elapsed().as_secs_f64()
    );

    let config = dir.join("golive.toml");
    let go_live = chrono::DateTime::from_timestamp_millis(start)
        .expect("start")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    std::fs::write(&config, format!("go_live_start = \"{go_live}\"\n")).expect("config");
    let config = config.display().to_string();
    let env = [("GOLIVE_CONFIG", config.as_str())];
    let spawned = Instant::now();
    let first = BenchServer::start_with(&url, ADMIN, &env);
    let replay_s = spawned.elapsed().as_secs_f64();
    first.stop();
    let spawned = Instant::now();
    let server = BenchServer::start_with(&url, ADMIN, &env);
    let ready_s = spawned.elapsed().as_secs_f64();
    let rss_mb = server.rss_kib() as f64 / 1024.0;
    println!(
        "ready after a whole replay {replay_s:.2} s; restart from the checkpoint {ready_s:.2} s; VmRSS {rss_mb:.0} MB"
    );

    let client = reqwest::Client::new();
    let board_url = server.url("/api/v1/board");
    let board = p50(samples, || get(&client, &board_url)).await;
    let site_url = server.url(&format!(
        "/api/v1/board?site={}",
        percent_encoding::utf8_percent_encode(SITES[0], percent_encoding::NON_ALPHANUMERIC)
    ));
    let site_board = p50(samples, || get(&client, &site_url)).await;
    let metrics_url = server.url("/metrics");
    let metrics = p50(samples, || get(&client, &metrics_url)).await;
    let to = chrono::Utc::now();
    let from = to - chrono::Duration::days(7);
    let report_url = server.url(&format!(
        "/api/v1/report?from={}&to={}&group_by=application",
        from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    let report = p50((samples / 3).max(3), || get(&client, &report_url)).await;
    let healthz_url = server.url("/healthz");
    let healthz = p50(samples, || get(&client, &healthz_url)).await;
    println!(
        "p50: board {board:.2} ms, a site's board {site_board:.2} ms, /metrics {metrics:.2} ms, 7-day report by application {report:.1} ms, /healthz {healthz:.2} ms (floor)"
    );

    // Idle: one display connected, nothing written.
    let ws_url = format!(
        "{}/api/v1/live?token={ADMIN}",
        server.base.replacen("http://", "ws://", 1)
    );
    let (socket, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("live socket");
    let (_, mut incoming) = socket.split();
    let reader = tokio::spawn(async move { while incoming.next().await.is_some() {} });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (ticks_before, clock) = (server.cpu_ticks(), Instant::now());
    tokio::time::sleep(Duration::from_secs(idle_seconds as u64)).await;
    let ticks = server.cpu_ticks() - ticks_before;
    let idle_cpu_percent = ticks as f64 / clock.elapsed().as_secs_f64();
    reader.abort();
    println!("idle with one display: {idle_cpu_percent:.2} % of a core");

    Row {
        days,
        events,
        ready_s,
        replay_s,
        rss_mb,
        board_ms: board,
        site_board_ms: site_board,
        metrics_ms: metrics,
        report_ms: report,
        idle_cpu_percent,
        healthz_ms: healthz,
    }
}

fn print_table(rows: &[Row]) {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return;
    };
    println!("\n== growth ==");
    let mut header = "| figure |".to_string();
    let mut rule = "|---|".to_string();
    for row in rows {
        header += &format!(" {} d |", row.days);
        rule += "---|";
    }
    header += &format!(" {} d / {} d |", last.days, first.days);
    rule += "---|";
    println!("{header}\n{rule}");
    type Figure = (&'static str, fn(&Row) -> f64, usize);
    let figures: [Figure; 10] = [
        ("events in the log", |r| r.events as f64, 0),
        ("`GET /api/v1/board` p50, ms", |r| r.board_ms, 2),
        ("`GET /api/v1/board?site=` p50, ms", |r| r.site_board_ms, 2),
        ("`GET /metrics` p50, ms", |r| r.metrics_ms, 2),
        ("idle CPU, % of a core", |r| r.idle_cpu_percent, 2),
        ("7-day report by application p50, ms", |r| r.report_ms, 1),
        (
            "restart to ready (from the checkpoint), s",
            |r| r.ready_s,
            2,
        ),
        ("first start (whole replay), s", |r| r.replay_s, 2),
        ("RSS after ready, MB", |r| r.rss_mb, 0),
        ("floor: `GET /healthz` p50, ms", |r| r.healthz_ms, 2),
    ];
    for (name, value, decimals) in figures {
        let mut line = format!("| {name} |");
        for row in rows {
            line += &format!(" {:.*} |", decimals, value(row));
        }
        let (a, b) = (value(first), value(last));
        if a > 0.0 {
            line += &format!(" {:.2}x |", b / a);
        } else {
            line += " n/a |";
        }
        println!("{line}");
    }
}

/// Median latency of `n` sequential requests, in ms (after one warm-up).
async fn p50<F, Fut>(n: usize, mut request: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    request().await;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        std::hint::black_box(request().await);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times[(n - 1) / 2]
}

/// GET with the admin token; the body's length.
async fn get(client: &reqwest::Client, url: &str) -> usize {
    let response = client
        .get(url)
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("request");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.bytes().await.expect("body").len()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}
