//! Test harness: starts the real `golive` binary on a free port against a
//! fresh SQLite file or a fresh PostgreSQL database, and talks to it over
//! HTTP like any client.
//!
//! PostgreSQL: `GOLIVE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) names a server where the
//! tests may create databases. If it cannot be reached the PostgreSQL
//! tests fail, unless `GOLIVE_SKIP_POSTGRES=1` says to skip them.

#![allow(dead_code)]

pub mod browser;
pub mod metrics;
pub mod pg_cluster;
pub mod socket;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The events requests wrote: the log less the alerts the leader raises
/// and clears on its own (docs/replicas.md), which a test's data may cause
/// at any publish tick.
pub const REQUEST_EVENTS: &str =
    "SELECT COUNT(*) FROM events WHERE kind NOT IN ('alert_raised', 'alert_cleared')";

/// The sequence number of the last event a request wrote (see
/// [`REQUEST_EVENTS`]).
pub const LAST_REQUEST_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM events \
     WHERE kind NOT IN ('alert_raised', 'alert_cleared')";

/// Which database a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend (as two separate tests).
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::support::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::support::skip_postgres() {
                    eprintln!("GOLIVE_SKIP_POSTGRES=1: skipping");
                    return;
                }
                super::$body($crate::support::Backend::Postgres).await;
            }
        }
    };
}

/// Where each refused record of a connector's answer is, its error code
/// and the field the error names.
pub fn refusals(answer: &Value) -> Vec<(u64, String, String)> {
    answer["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["record"].as_u64().unwrap_or(0),
                r["error"]["code"].as_str().unwrap_or("").to_string(),
                r["error"]["details"]["field"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

/// Milliseconds since the epoch as the API writes times: RFC 3339 with
/// milliseconds and `Z`.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .expect("time in range")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Polls `probe` until it returns Ok or `timeout` passes; then fails with
/// the last reason it gave.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(reason) => {
                assert!(
                    Instant::now() < deadline,
                    "timed out after {timeout:?} waiting for {what}: {reason}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a JSON number equals `expected` to within a relative 1e-9.
pub fn close(value: &Value, expected: f64) -> bool {
    value
        .as_f64()
        .is_some_and(|v| (v - expected).abs() <= 1e-9 * expected.abs().max(1.0))
}

/// Asserts that a JSON number is [`close`] to the expected figure.
#[macro_export]
macro_rules! assert_close {
    ($value:expr, $expected:expr) => {
        assert!(
            $crate::support::close(&$value, $expected),
            "{} = {} but expected {}",
            stringify!($value),
            $value,
            $expected
        )
    };
}

pub fn skip_postgres() -> bool {
    std::env::var("GOLIVE_SKIP_POSTGRES").is_ok_and(|v| v == "1")
}

fn postgres_admin_url() -> String {
    std::env::var("GOLIVE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh, empty database that is removed when dropped.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("golive.db").display());
                TestDb {
                    url,
                    backend,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is not reachable at {admin}: {e}. Start it or set GOLIVE_SKIP_POSTGRES=1")
                });
                let name = format!("golive_t_{}_{}", std::process::id(), rand_suffix());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .unwrap_or(admin.clone());
                TestDb {
                    url: format!("{base}/{name}"),
                    backend,
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl TestDb {
    /// A SQLite database at `path` (whose directory the caller owns).
    pub fn sqlite_at(path: &std::path::Path) -> TestDb {
        TestDb {
            url: format!("sqlite://{}", path.display()),
            backend: Backend::Sqlite,
            _dir: None,
            pg_name: None,
        }
    }

    /// A database named by `url` that the caller creates and removes.
    pub fn at_url(url: &str, backend: Backend) -> TestDb {
        TestDb {
            url: url.to_string(),
            backend,
            _dir: None,
            pg_name: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin = postgres_admin_url();
        // Drop runs outside async context: use a small runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos}_{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A running `golive serve` process.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub db_url: String,
    pub client: Client,
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_golive")
}

impl Server {
    /// Starts the binary on a free port and waits until `/readyz` is 200.
    pub async fn start(db: &TestDb) -> Server {
        Self::start_with(db, &[], &[]).await
    }

    pub async fn start_with(db: &TestDb, extra_args: &[&str], env: &[(&str, &str)]) -> Server {
        let server = Self::spawn(serve_command(&db.url, extra_args, env), &db.url);
        server.wait_ready().await;
        server
    }

    /// Starts the binary on a free port against `db_url` and returns once
    /// it prints its address, without waiting for readiness; its stderr
    /// (the logs) goes to `stderr`.
    pub fn launch(
        db_url: &str,
        extra_args: &[&str],
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Server {
        let mut command = serve_command(db_url, extra_args, env);
        command.stderr(stderr);
        Self::spawn(command, db_url)
    }

    /// Spawns `command` (a golive command whose first line on stdout names
    /// its address, with stdout piped) and returns once that line is out,
    /// without waiting for the server to be ready.
    pub fn spawn(mut command: Command, db_url: &str) -> Server {
        let mut child = command.spawn().expect("spawn golive");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the child never blocks on a full pipe.
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
        Server {
            child: Some(child),
            base,
            db_url: db_url.to_string(),
            client: Client::new(),
        }
    }

    /// The server's process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends a signal (`TERM`, `INT`, …) without waiting.
    pub fn signal(&self, name: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args([format!("-{name}"), pid.to_string()])
                .status();
        }
    }

    /// Waits up to `within` for the process to exit on its own; its exit
    /// status, or `None` if it is still running (it is left running).
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.client.get(self.url("/readyz")).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            assert!(Instant::now() < deadline, "server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request with an optional JSON body and bearer token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(ADMIN_TOKEN), None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(ADMIN_TOKEN), Some(body))
            .await
    }

    /// POSTs `body` as given, with `content_type`, as the admin (what a
    /// connector's source sends: NDJSON, CSV, queue_log text, …).
    pub async fn post_bytes(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let (status, _, answer) = self
            .raw(
                Method::POST,
                path,
                Some(&auth),
                Some(content_type),
                Some(body),
            )
            .await;
        (status, answer)
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(ADMIN_TOKEN), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(ADMIN_TOKEN), Some(body))
            .await
    }

    /// Sends a request exactly as given: an optional raw `Authorization`
    /// header value, an optional `Content-Type` and optional body bytes.
    /// Returns the status, the response's content type and the body (JSON
    /// when it parses, else a string).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Option<String>, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if let Some(value) = content_type {
            request = request.header("content-type", value);
        }
        if let Some(bytes) = body {
            request = request.body(bytes);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.text().await.unwrap_or_default();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, content_type, value)
    }

    /// The `/metrics` text (no token).
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("metrics text")
    }

    /// Posts one call event as `token` (`at` in milliseconds since the
    /// epoch, `wrap` its wrap-up seconds); panics unless it is accepted.
    pub async fn call_event(
        &self,
        token: &str,
        (call_id, queue, event): (&str, &str, &str),
        at: i64,
        wrap: Option<f64>,
    ) {
        let mut body =
            serde_json::json!({"call_id": call_id, "queue": queue, "event": event, "at": iso(at)});
        if let Some(wrap) = wrap {
            body["wrap_seconds"] = serde_json::json!(wrap);
        }
        let (status, answer) = self
            .call(
                Method::POST,
                "/api/v1/calls/events",
                Some(token),
                Some(&body),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}: {answer}");
    }

    /// Posts an NDJSON body to the bulk ingest endpoint.
    pub async fn ingest(&self, token: &str, body: String) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url("/api/v1/ingest"))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .expect("ingest sent");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a token with `role` through the admin API.
    pub async fn token(&self, role: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/tokens",
                &serde_json::json!({"role": role, "name": format!("test-{role}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("token").to_string()
    }

    /// Every ticket, following the cursor.
    pub async fn all_tickets(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/tickets?limit=500&cursor={c}"),
                None => "/api/v1/tickets?limit=500".to_string(),
            };
            let (status, body) = self.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            out.extend(body["tickets"].as_array().cloned().unwrap_or_default());
            match body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The `golive serve` command a test server runs: a free port on
/// 127.0.0.1, the admin token, warnings only, stdout piped.
pub fn serve_command(db_url: &str, extra_args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--database", db_url])
        .args(extra_args)
        .env("GOLIVE_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`, …).
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// Binds `$conn` to a new connection to the test database `$url`
/// (SQLite or PostgreSQL) and evaluates `$body` with it.
macro_rules! with_connection {
    ($url:expr, |$conn:ident| $body:expr) => {
        if $url.starts_with("sqlite:") {
            let mut $conn = sqlx::SqliteConnection::connect($url)
                .await
                .expect("sqlite connect");
            $body
        } else {
            let mut $conn = sqlx::PgConnection::connect($url).await.expect("pg connect");
            $body
        }
    };
}

/// Opens the test database directly (to check projections).
pub async fn count_rows(db_url: &str, sql: &str) -> i64 {
    with_connection!(db_url, |conn| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut conn)
        .await
        .expect("count"))
}

/// The event log as one snapshot sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogShape {
    pub events: i64,
    pub min_seq: i64,
    pub max_seq: i64,
    pub counter: i64,
}

impl LogShape {
    /// Gap-free from 1 (or empty) and the counter at its last event.
    pub fn is_whole(&self) -> bool {
        let gap_free = if self.events == 0 {
            self.max_seq == 0
        } else {
            self.min_seq == 1 && self.events == self.max_seq
        };
        gap_free && self.counter == self.max_seq
    }
}

/// Reads the log's length, ends and counter in a single statement, so
/// that a commit landing between two reads (such as an alert the running
/// server raises) cannot make them disagree.
pub async fn log_shape(db_url: &str) -> LogShape {
    const SQL: &str = "SELECT (SELECT COUNT(*) FROM events), \
         (SELECT COALESCE(MIN(seq), 0) FROM events), \
         (SELECT COALESCE(MAX(seq), 0) FROM events), \
         (SELECT last_seq FROM event_counter WHERE id = 1)";
    let (events, min_seq, max_seq, counter) = with_connection!(db_url, |conn| {
        sqlx::query_as::<_, (i64, i64, i64, i64)>(SQL)
            .fetch_one(&mut conn)
            .await
            .expect("log shape")
    });
    LogShape {
        events,
        min_seq,
        max_seq,
        counter,
    }
}

/// Runs a query whose first column is text (cast it in SQL) and returns
/// that column of every row, in the query's order.
pub async fn query_strings(db_url: &str, sql: &str) -> Vec<String> {
    with_connection!(db_url, |conn| sqlx::query_scalar::<_, String>(sql)
        .fetch_all(&mut conn)
        .await
        .expect("query"))
}

/// Runs a golive subcommand to completion and returns its stdout.
pub fn run_cli(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(binary())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run golive");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// A valid ticket body with `overrides` applied.
pub fn ticket(overrides: Value) -> Value {
    let mut base = serde_json::json!({
        "site": "Main Campus", "department": "Emergency", "application": "Orders",
        "category": "how_to", "severity": 3, "channel": "phone"
    });
    if let (Some(b), Some(o)) = (base.as_object_mut(), overrides.as_object()) {
        for (k, v) in o {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

/// `text` percent-encoded for a URL path segment or query value: every
/// byte but ASCII letters and digits escaped (`Nursing Line` →
/// `Nursing%20Line`, `+` → `%2B`).
pub fn encoded(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
