//! Shared by the benchmarks that drive the real binary: start `golive
//! serve` on a free port, wait for `/readyz`, read the server process's
//! memory and CPU, and stop it; post a benchmark's bodies to one; write a
//! generated go-live log (`golive_log`). Also what several benchmarks set
//! up alike: their settings from the environment, a two-worker runtime,
//! the synthetic tickets' names.

#![allow(dead_code)]

pub mod golive_log;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Sites, applications and departments of the synthetic tickets.
pub const SITES: [&str; 3] = ["Main Campus", "North Hospital", "Children's Pavilion"];
pub const APPS: [&str; 8] = [
    "Orders",
    "Clinical Documentation",
    "MAR",
    "Pharmacy",
    "Lab",
    "Radiology",
    "Scheduling",
    "Registration",
];
pub const DEPTS: [&str; 6] = [
    "Emergency",
    "ICU",
    "Med-Surg",
    "Pharmacy",
    "Radiology",
    "Clinic",
];

/// A benchmark setting (`GOLIVE_BENCH_…`) from the environment, else
/// `default`.
pub fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs a benchmark's body on two runtime workers, the machine's cores.
pub fn block_on<F: std::future::Future>(body: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(body)
}

/// A running `golive serve` with `admin_token` as its admin token.
pub struct BenchServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl BenchServer {
    /// Starts the release binary on `database_url` and waits until ready.
    /// `GOLIVE_BENCH_BINARY` names another build of golive to measure
    /// instead (an older commit's, for a before/after figure).
    pub fn start(database_url: &str, admin_token: &str) -> BenchServer {
        Self::start_with(database_url, admin_token, &[])
    }

    /// [`BenchServer::start`] with more environment variables (e.g.
    /// `GOLIVE_CONFIG`).
    pub fn start_with(database_url: &str, admin_token: &str, env: &[(&str, &str)]) -> BenchServer {
        let binary = std::env::var("GOLIVE_BENCH_BINARY")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_golive").to_string());
        let mut child = Command::new(binary)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                database_url,
            ])
            .env("GOLIVE_ADMIN_TOKEN", admin_token)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn golive");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("golive printed its address");
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("address in the first line")
            .to_string();
        let server = BenchServer { child, base };
        server.wait_ready();
        server
    }

    /// Polls `GET /readyz` over a plain socket (no async runtime needed).
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let address = self.base.trim_start_matches("http://").to_string();
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
                let request =
                    format!("GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(request.as_bytes());
                let mut reply = String::new();
                let _ = stream.read_to_string(&mut reply);
                if reply.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "golive did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Resident memory of the server process, KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// Peak resident memory of the server process so far, KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// utime + stime of the server process, in clock ticks (1/100 s).
    pub fn cpu_ticks(&self) -> u64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after_name = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        field(11) + field(12)
    }
}

impl BenchServer {
    /// Stops the server as an orchestrator does (SIGTERM, then waits for
    /// it to exit): a graceful stop, which writes a checkpoint.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts `bodies` in order (two requests in flight) to a fresh server on a
/// fresh SQLite database, with `admin_token`; every record must be
/// accepted (`expected` in all). Records per second, from the first byte
/// sent to the last answer.
pub async fn post_all(
    bodies: &[String],
    path: &str,
    content_type: &'static str,
    admin_token: &'static str,
    expected: usize,
) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let server = BenchServer::start(&url, admin_token);
    let client = reqwest::Client::new();
    let mut queue = bodies.to_vec();
    queue.reverse();
    let queue = Arc::new(Mutex::new(queue));
    let target = server.url(path);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (client, queue, target) = (client.clone(), queue.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0u64;
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(body) = next else { return accepted };
                let response = client
                    .post(&target)
                    .bearer_auth(admin_token)
                    .header("content-type", content_type)
                    .body(body)
                    .send()
                    .await
                    .expect("posted");
                let answer: serde_json::Value = response.json().await.expect("json answer");
                accepted += answer["accepted"].as_u64().unwrap_or(0);
            }
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await.expect("task");
    }
    let rate = expected as f64 / started.elapsed().as_secs_f64();
    assert_eq!(
        accepted as usize, expected,
        "every record accepted on {path}"
    );
    drop(server);
    rate
}
