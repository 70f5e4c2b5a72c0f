//! Replay benchmark (issue #3): how long the real `golive serve` takes to
//! become ready (`/readyz` 200) over a SQLite log of 1,000,000 realistic
//! events, and how much memory the replayed state holds.
//!
//! The log is a generated go-live week (tickets created, worked, resolved,
//! reopened and closed, late imports, six phone queues with ACD events out
//! of order), decided command by command by the same `Ledger` the writer
//! uses and committed through `Store::commit` in batches of 25,000 events
//! with their projection rows, as `golive-server`'s writer builds them.
//!
//! Floor, in the same run: reading the same 1,000,000 events back with
//! `Store::events_after` in pages of 10,000 (the server's replay page),
//! without folding them into anything. The ratio time-to-ready / floor is
//! what replay adds on top of reading the log.
//!
//! Memory: VmRSS of the server after replay, minus VmRSS of the same binary
//! ready on an empty database, per event, per ticket and per call.
//!
//! Then the same ticket events and the same call events each in a log of
//! their own, for memory per ticket and per call.
//!
//! Checkpoints (issue #16): the runs above replay the whole log
//! (checkpoints off). Then a server writes a checkpoint at a graceful stop
//! (its size, time and how long writes waited are printed) and three more
//! restarts read it and replay only what follows it (nothing, here): their
//! time to ready against the same floor and against the empty database's
//! time to ready, the floor of any restart.
//!
//! Run: `cargo bench -p golive --bench replay` (`GOLIVE_BENCH_EVENTS` to
//! change the number of events; `GOLIVE_BENCH_DAYS` for the days they are
//! spread over, 7 by default; `GOLIVE_BENCH_SPLIT=0` to skip the per-kind
//! logs; `GOLIVE_BENCH_KEEP=1` to keep the database and print its path).

mod support;

use golive_core::time::Millis;
use golive_store::Store;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command as Process, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::golive_log::{HOUR, Planned, commands, write_log};

/// 2026-03-02T00:00:00Z, the go-live.
const START: Millis = 1_772_409_600_000;
/// The span the generated traffic covers: `GOLIVE_BENCH_DAYS` days, a
/// week by default.
fn span() -> Millis {
    let days: Millis = std::env::var("GOLIVE_BENCH_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    days * 24 * HOUR
}
/// A span of commands (`span()`), comfortably more than `events`
/// accepted events (the writer stops at `events`): 10 % spare so that
/// truncating at `events` still ends inside the span.
fn week_commands(events: u64) -> Vec<Planned> {
    let tickets = (events as f64 * 0.17) as usize;
    let calls = (events as f64 * 0.24) as usize;
    commands(START, span(), tickets, calls)
}

/// Events per `events_after` page: the server's replay page.
const PAGE: u32 = 10_000;

fn main() {
    let events: u64 = std::env::var("GOLIVE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(events));
}

async fn run(events: u64) {
    println!(
        "machine: {} cores; load average before: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("replay.db");
    let url = format!("sqlite://{}", path.display());

    // --- Write the log. -----------------------------------------------------
    let started = Instant::now();
    let commands = week_commands(events);
    println!(
        "generated {} commands in {:.1} s",
        commands.len(),
        started.elapsed().as_secs_f64()
    );
    let store = golive_store::connect(&url).await.expect("connect");
    let started = Instant::now();
    let (tickets, calls, kinds) = write_log(store.as_ref(), commands, events).await;
    let written = store.last_seq().await.expect("last seq");
    assert_eq!(
        written, events,
        "the log holds exactly the events asked for"
    );
    let write_seconds = started.elapsed().as_secs_f64();
    println!(
        "wrote {written} events ({tickets} tickets, {calls} calls) through Store::commit in {write_seconds:.1} s ({:.0} events/s); database {:.0} MB",
        written as f64 / write_seconds,
        file_mb(&path)
    );

    // --- Floor: read the log back, no folding. -----------------------------
    let floor_before = {
        let first = read_floor(store.as_ref(), events).await;
        first.min(read_floor(store.as_ref(), events).await)
    };
    drop(store);

    // --- The real binary: empty database, then the 1M-event log. ------------
    let empty_dir = tempfile::tempdir().expect("temp dir");
    let empty_url = format!("sqlite://{}", empty_dir.path().join("empty.db").display());
    let empty = Server::start(&empty_url).await;
    let rss_empty = empty.rss_kb();
    let empty_ready = empty.ready_after.as_secs_f64();
    println!(
        "empty database: ready after {:.3} s, VmRSS {:.1} MB",
        empty.ready_after.as_secs_f64(),
        rss_empty as f64 / 1024.0
    );
    drop(empty);

    let mut readies = Vec::new();
    let mut rss = 0;
    let mut hwm = 0;
    for run in 1..=3 {
        let server = Server::start(&url).await;
        let ready = server.ready_after.as_secs_f64();
        let replay_log = server.replay_millis();
        rss = server.rss_kb();
        hwm = server.hwm_kb();
        println!(
            "run {run}: /readyz 200 after {ready:.2} s (server's own replay log: {}); VmRSS {:.0} MB, VmHWM {:.0} MB",
            replay_log.map_or("n/a".into(), |ms| format!("{:.2} s", ms as f64 / 1000.0)),
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
        readies.push(ready);
    }
    let store = golive_store::connect(&url).await.expect("connect");
    let floor_after = read_floor(store.as_ref(), events).await;
    drop(store);

    let ready = readies.iter().copied().fold(f64::INFINITY, f64::min);
    let floor = floor_before.min(floor_after);
    let grown = (rss.saturating_sub(rss_empty) * 1024) as f64;
    println!("\n== summary ({events} events, SQLite) ==");
    println!(
        "time to ready: best {ready:.2} s of {} runs {readies:.2?} (target < 10 s) = {:.0} events/s",
        readies.len(),
        events as f64 / ready
    );
    println!(
        "floor, events_after pages of {PAGE} without folding: best {floor:.2} s of 3 reads (best {floor_before:.2} s of 2 before the servers, {floor_after:.2} s after) = {:.0} events/s",
        events as f64 / floor
    );
    println!("ratio time-to-ready / floor: {:.2}x", ready / floor);
    println!(
        "memory after replay: VmRSS {:.0} MB ({:.0} MB over an empty server; peak VmHWM {:.0} MB) = {:.0} B/event; {} tickets + {} calls = {:.0} B per ticket-or-call",
        rss as f64 / 1024.0,
        grown / 1024.0 / 1024.0,
        hwm as f64 / 1024.0,
        grown / events as f64,
        tickets,
        calls,
        grown / (tickets + calls) as f64
    );

    // --- Restarts from a checkpoint. ----------------------------------------
    let mut writer = Server::start_with(&url, None).await;
    writer.stop();
    let written = writer
        .line("checkpoint written")
        .expect("a checkpoint written at the graceful stop");
    println!(
        "checkpoint at the graceful stop: {:.1} MB in {:.2} s, writes waited {} ms (ledger encoded, aggregator copied)",
        field(&written, "bytes=").unwrap_or(0) as f64 / 1e6,
        field(&written, "millis=").unwrap_or(0) as f64 / 1000.0,
        field(&written, "writes_waited_ms=").unwrap_or(0)
    );
    drop(writer);
    let mut restarts = Vec::new();
    for run in 1..=3 {
        let server = Server::start_with(&url, None).await;
        let restored = server
            .line("restored the checkpoint")
            .and_then(|line| field(&line, "millis="));
        let ready = server.ready_after.as_secs_f64();
        println!(
            "checkpoint run {run}: /readyz 200 after {ready:.2} s (server's own restore log: {}); VmRSS {:.0} MB",
            restored.map_or("n/a".into(), |ms| format!("{:.2} s", ms as f64 / 1000.0)),
            server.rss_kb() as f64 / 1024.0
        );
        assert!(restored.is_some(), "the checkpoint was restored");
        restarts.push(ready);
    }
    let restart = restarts.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "time to ready from the checkpoint: best {restart:.2} s of {} runs {restarts:.2?} (target < 2 s); {:.2}x the replay floor, {:.1}x the empty database's {:.2} s; {:.1}x faster than the whole replay",
        restarts.len(),
        restart / floor,
        restart / empty_ready,
        empty_ready,
        ready / restart
    );

    // Tickets and calls apart: the same events of each kind in a log of
    // their own, so each gets its own figure.
    if std::env::var("GOLIVE_BENCH_SPLIT").as_deref() != Ok("0") {
        let ticket_events = kinds[0] + kinds[1];
        for (name, limit, keep) in [
            ("tickets only", ticket_events, true),
            ("calls only", kinds[2], false),
        ] {
            let plan: Vec<Planned> = week_commands(events)
                .into_iter()
                .filter(|p| matches!(p, Planned::Call(..)) != keep)
                .collect();
            let split_dir = tempfile::tempdir().expect("temp dir");
            let split_url = format!("sqlite://{}", split_dir.path().join("split.db").display());
            let store = golive_store::connect(&split_url).await.expect("connect");
            let (t, c, _) = write_log(store.as_ref(), plan, limit).await;
            drop(store);
            let server = Server::start(&split_url).await;
            let grown = (server.rss_kb().saturating_sub(rss_empty) * 1024) as f64;
            let per = if keep { t } else { c };
            println!(
                "{name}: {limit} events ({t} tickets, {c} calls) ready after {:.2} s; {:.0} MB over an empty server = {:.0} B per {}, {:.0} B/event",
                server.ready_after.as_secs_f64(),
                grown / 1024.0 / 1024.0,
                grown / per as f64,
                if keep { "ticket" } else { "call" },
                grown / limit as f64
            );
        }
    }
    println!("load average after: {}", load_average());
    if std::env::var("GOLIVE_BENCH_KEEP").is_ok_and(|v| v == "1") {
        let kept = dir.keep();
        println!("kept {}", kept.display());
    }
}

/// Reads every event back in replay-sized pages; seconds taken.
async fn read_floor(store: &dyn Store, events: u64) -> f64 {
    let started = Instant::now();
    let mut last = 0;
    let mut count = 0u64;
    loop {
        let page = store.events_after(last, PAGE).await.expect("read page");
        let Some(tail) = page.last() else { break };
        last = tail.seq;
        count += page.len() as u64;
    }
    assert_eq!(count, events);
    started.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------------------
// The server process.
// ---------------------------------------------------------------------------

struct Server {
    child: Child,
    ready_after: Duration,
    /// The server's log lines, as they come.
    log: mpsc::Receiver<String>,
}

/// A configuration file turning checkpoints off (written once).
fn checkpoints_off() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("golive-bench-{}-off.toml", std::process::id()));
    std::fs::write(&path, "checkpoint_interval_seconds = 0\n").expect("config written");
    path
}

impl Server {
    /// Spawns `golive serve` and waits for `/readyz` 200, timing from spawn.
    async fn start(url: &str) -> Server {
        Self::start_with(url, Some(&checkpoints_off())).await
    }

    /// [`Server::start`] with a configuration file (`None`: defaults,
    /// checkpoints on).
    async fn start_with(url: &str, config: Option<&std::path::Path>) -> Server {
        let started = Instant::now();
        let mut child = Process::new(env!("CARGO_BIN_EXE_golive"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database", url])
            .args(
                config
                    .map(|path| ["--config".into(), path.display().to_string()])
                    .into_iter()
                    .flatten(),
            )
            .env("GOLIVE_ADMIN_TOKEN", "bench-admin-token")
            .env("RUST_LOG", "info,sqlx=warn,tower_http=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn golive");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (address_tx, address_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = address_tx.send(line);
            }
            for _ in lines {}
        });
        // The server logs its replay and its checkpoints with their timing.
        let (log_tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = log_tx.send(strip_ansi(&line));
            }
        });
        let line = address_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("golive printed its address");
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("address in the first line")
            .to_string();
        let client = reqwest::Client::new();
        let deadline = started + Duration::from_secs(600);
        loop {
            if let Ok(r) = client.get(format!("{base}/readyz")).send().await
                && r.status() == reqwest::StatusCode::OK
            {
                break;
            }
            assert!(Instant::now() < deadline, "server not ready after 600 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Server {
            child,
            ready_after: started.elapsed(),
            log,
        }
    }

    fn status_kb(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse().ok())
            .unwrap_or(0)
    }

    fn rss_kb(&self) -> u64 {
        self.status_kb("VmRSS:")
    }

    fn hwm_kb(&self) -> u64 {
        self.status_kb("VmHWM:")
    }

    fn replay_millis(&self) -> Option<u64> {
        field(&self.line("replay finished")?, "millis=")
    }

    /// The next log line containing `needle` (waiting up to 30 s for it).
    fn line(&self, needle: &str) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let line = self.log.recv_timeout(left).ok()?;
            if line.contains(needle) {
                return Some(line);
            }
        }
        None
    }

    /// SIGTERM (a graceful stop writes a checkpoint), then the exit.
    fn stop(&mut self) {
        let _ = Process::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number after `key` in a log line (tracing prints `key=value`).
fn field(line: &str, key: &str) -> Option<u64> {
    let line = strip_ansi(line);
    let rest = &line[line.find(key)? + key.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The line without ANSI colour sequences (`ESC [ … m`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn file_mb(path: &std::path::Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e6)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}
