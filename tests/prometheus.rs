//! golive's Prometheus surface against a real Prometheus (issue #6).
//!
//! `dashboards_and_rules_work_against_a_real_prometheus` starts the real
//! golive, feeds it traffic through the public API (tickets with updates and
//! resolutions, calls answered, abandoned, ended and still waiting, queue
//! settings, rejected requests, a live-board WebSocket), and a real
//! Prometheus (Debian's `prometheus` package) on a free 127.0.0.1 port that
//! scrapes golive every second with deploy/prometheus/prometheus.yml's job
//! settings and loads deploy/prometheus/rules.yml. Then:
//! - `promtool check metrics` on a scrape, `promtool check config` on the
//!   generated config, `promtool check rules` and `promtool test rules` on
//!   the rules;
//! - every metric and label set the contract (§9) names is in `/metrics`;
//!   ticket summaries are not; odd label values survive the round trip;
//! - every dashboard panel query and variable query, with its template
//!   variables filled in, and every rule expression is evaluated through
//!   `/api/v1/query`: it must parse and return series. Expressions that
//!   only return series while a condition holds (`x > 0.1`) are evaluated
//!   with their comparisons turned into `bool` comparisons; the one
//!   exception is listed in `EMPTY_WHEN_HEALTHY` with its reason;
//! - the alerts this traffic must raise are pending or firing, and no
//!   others;
//! - the counters agree with `/api/v1/report` over a window covering all
//!   the traffic, both as scraped by Prometheus and as served.
//!
//! Without Prometheus installed the test fails when `CI` is set and is
//! skipped otherwise; `GOLIVE_SKIP_PROMETHEUS=1` skips it. `GOLIVE_PROMETHEUS`
//! and `GOLIVE_PROMTOOL` name the binaries (default `/usr/bin/…`, then PATH).
//!
//! `totals_are_counted_once_across_replicas` scrapes one golive under two
//! instance labels (`127.0.0.1:PORT` and `localhost:PORT`): two targets
//! exporting the same totals, as every replica does (each applies the whole
//! log). Every overview and calls dashboard query and every rule over
//! golive's totals must give the same answer as over one target alone (the
//! expression with each golive_* selector pinned to one instance), while
//! a plain `sum` shows twice the total, so the setup would catch a query
//! that adds replicas up.
//!
//! `labels_past_the_limit_are_reported_as_other` needs no Prometheus: it
//! checks `max_label_values` through the real server.
//!
//! `the_metrics_reader_reads_what_golive_serves` checks the tests' own
//! `/metrics` reader (tests/support/metrics.rs) on the lines that trip
//! simpler parsers: a templated route, escapes, commas in label values.

mod support;

use chrono::{SecondsFormat, Utc};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::metrics::{Metrics, Sample};
use support::{ADMIN_TOKEN, Backend, Server, TestDb, encoded, eventually, ticket};

/// A site name that needs escaping in the exposition format.
const ODD_SITE: &str = "North \"B\" Wing \\ Annex";
/// Ticket summary text: must never reach /metrics.
const SECRET_SUMMARY: &str = "PHI-SECRET-7731 Jane Doe DOB 1970-01-01";

/// Rule expressions that rightly return nothing while golive is healthy,
/// and why. They are checked to parse and to return nothing.
const EMPTY_WHEN_HEALTHY: &[(&str, &str)] = &[(
    "GoliveTargetMissing",
    "absent(up{job=\"golive\"}) has a series only when no golive target exists",
)];

/// Alerts this test's traffic raises (pending: their `for` has not passed).
const EXPECTED_ALERTS: &[&str] = &[
    "GoliveSev1Open",
    "GoliveAbandonmentHigh",
    "GoliveASAHigh",
    "GoliveServiceLevelLow",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// ------------------------------------------------------------ binaries

fn find_binary(env: &str, name: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env)
        && !path.is_empty()
    {
        let path = PathBuf::from(path);
        return path.exists().then_some(path);
    }
    let default = Path::new("/usr/bin").join(name);
    if default.exists() {
        return Some(default);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.exists())
    })
}

/// Prometheus and promtool, or `None` when the test is to be skipped.
/// Missing binaries fail the test in CI.
fn binaries() -> Option<(PathBuf, PathBuf)> {
    if std::env::var("GOLIVE_SKIP_PROMETHEUS").is_ok_and(|v| v == "1") {
        eprintln!("GOLIVE_SKIP_PROMETHEUS=1: skipping the Prometheus test");
        return None;
    }
    match (
        find_binary("GOLIVE_PROMETHEUS", "prometheus"),
        find_binary("GOLIVE_PROMTOOL", "promtool"),
    ) {
        (Some(prometheus), Some(promtool)) => Some((prometheus, promtool)),
        _ => {
            let message = "prometheus/promtool not found: `apt-get install prometheus` \
                 (or set GOLIVE_PROMETHEUS and GOLIVE_PROMTOOL), or set \
                 GOLIVE_SKIP_PROMETHEUS=1 to skip";
            if std::env::var_os("CI").is_some() {
                panic!("{message}");
            }
            eprintln!("{message}: skipping (CI is not set)");
            None
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs promtool with `args`, feeding `stdin`; panics with its output on
/// failure.
fn promtool(promtool: &Path, args: &[&str], stdin: Option<&str>, dir: &Path) {
    let mut child = Command::new(promtool)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    if let Some(text) = stdin
        && let Some(mut pipe) = child.stdin.take()
    {
        pipe.write_all(text.as_bytes()).expect("write to promtool");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("promtool output");
    assert!(
        out.status.success(),
        "promtool {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------ Prometheus

struct Prometheus {
    child: Option<Child>,
    base: String,
    log: PathBuf,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus with `config` (YAML text with `PROMETHEUS_PORT` in
    /// place of its own port) and waits until it is ready.
    async fn start(binary: &Path, promtool_bin: &Path, config: &str) -> Prometheus {
        let mut last_log = String::new();
        for _attempt in 0..3 {
            let dir = tempfile::tempdir().expect("tempdir");
            let port = free_port();
            let config_path = dir.path().join("prometheus.yml");
            std::fs::write(
                &config_path,
                config.replace("PROMETHEUS_PORT", &port.to_string()),
            )
            .expect("write config");
            promtool(
                promtool_bin,
                &["check", "config", &config_path.display().to_string()],
                None,
                dir.path(),
            );
            let log = dir.path().join("prometheus.log");
            let log_file = std::fs::File::create(&log).expect("log file");
            let child = Command::new(binary)
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn")
                .stdout(log_file.try_clone().expect("log"))
                .stderr(log_file)
                .spawn()
                .expect("spawn prometheus");
            let mut prometheus = Prometheus {
                child: Some(child),
                base: format!("http://127.0.0.1:{port}"),
                log,
                client: reqwest::Client::new(),
                _dir: dir,
            };
            if prometheus.wait_ready().await {
                return prometheus;
            }
            last_log = prometheus.log_text();
            if !last_log.contains("address already in use") {
                break;
            }
        }
        panic!("prometheus did not start:\n{last_log}");
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// True once `/-/ready` answers 200; false if the process exits first.
    async fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false;
            }
            if let Ok(r) = self
                .client
                .get(format!("{}/-/ready", self.base))
                .send()
                .await
                && r.status() == StatusCode::OK
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "prometheus not ready within 60 s:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// An instant query: `Ok(result array)` or `Err(error text)`.
    async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        self.query_at(expr, None).await
    }

    /// An instant query at `time` (Unix seconds; now when `None`).
    async fn query_at(&self, expr: &str, time: Option<f64>) -> Result<Vec<Value>, String> {
        let mut params = vec![("query", expr.to_string())];
        if let Some(time) = time {
            params.push(("time", format!("{time:.3}")));
        }
        let response = self
            .client
            .get(format!("{}/api/v1/query", self.base))
            .query(&params)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if body["status"] != "success" {
            return Err(format!("{}: {}", body["errorType"], body["error"]));
        }
        match body["data"]["resultType"].as_str() {
            Some("scalar") | Some("string") => Ok(vec![body["data"]["result"].clone()]),
            _ => Ok(body["data"]["result"]
                .as_array()
                .cloned()
                .unwrap_or_default()),
        }
    }

    async fn get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("prometheus request")
            .json()
            .await
            .expect("prometheus json")
    }

    /// The single value of a query returning one series or a scalar.
    async fn value(&self, expr: &str) -> Option<f64> {
        let result = self.query(expr).await.ok()?;
        let sample = result.first()?;
        let value = if sample.is_array() {
            &sample[1]
        } else {
            &sample["value"][1]
        };
        value.as_str()?.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The test config: deploy/prometheus/prometheus.yml with 1 s intervals,
/// golive (the given targets, in place of the compose file's DNS
/// discovery) and Prometheus itself on this machine's ports, and the rules
/// file by absolute path.
fn prometheus_config(golive: &[&str]) -> String {
    let path = root().join("deploy/prometheus/prometheus.yml");
    let text = std::fs::read_to_string(&path).expect("deploy/prometheus/prometheus.yml");
    let mut config: serde_norway::Value = serde_norway::from_str(&text).expect("yaml");
    let golive_targets: Vec<String> = golive
        .iter()
        .map(|g| format!("'{}'", g.trim_start_matches("http://")))
        .collect();
    let global = config
        .get_mut("global")
        .and_then(|g| g.as_mapping_mut())
        .expect("global");
    for key in ["scrape_interval", "scrape_timeout", "evaluation_interval"] {
        global.insert(key.into(), "1s".into());
    }
    let rules = root().join("deploy/prometheus/rules.yml");
    config["rule_files"] = serde_norway::Value::Sequence(vec![rules.display().to_string().into()]);
    let jobs = config["scrape_configs"]
        .as_sequence_mut()
        .expect("scrape_configs");
    let mut names = BTreeSet::new();
    for job in jobs.iter_mut() {
        let name = job["job_name"].as_str().unwrap_or_default().to_string();
        let targets = match name.as_str() {
            "golive" => golive_targets.join(", "),
            "prometheus" => "'127.0.0.1:PROMETHEUS_PORT'".to_string(),
            other => panic!("unexpected scrape job {other} in deploy/prometheus/prometheus.yml"),
        };
        if let Some(job) = job.as_mapping_mut() {
            job.remove("dns_sd_configs");
        }
        job["static_configs"] =
            serde_norway::from_str(&format!("[{{targets: [{targets}]}}]")).expect("static_configs");
        names.insert(name);
    }
    assert!(names.contains("golive") && names.contains("prometheus"));
    serde_norway::to_string(&config).expect("yaml out")
}

// ------------------------------------------------------------ traffic

fn at(seconds_ago: i64) -> String {
    (Utc::now() - chrono::Duration::seconds(seconds_ago))
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn put_queue(server: &Server, queue: &str, settings: Value) {
    let (status, body) = server
        .put(&format!("/api/v1/queues/{}", encoded(queue)), &settings)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn call_event(server: &Server, body: &Value) {
    let (status, reply) = server.post("/api/v1/calls/events", body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body} -> {reply}");
}

/// One call: offered `start` seconds ago, then answered after `wait`
/// seconds and ended `talk` seconds later, abandoned after `wait`, or left
/// waiting.
enum Outcome {
    Answered { wait: i64, talk: i64 },
    Abandoned { wait: i64 },
    Waiting,
}

async fn call(server: &Server, id: &str, queue: &str, start: i64, outcome: Outcome) {
    call_event(
        server,
        &json!({"call_id": id, "queue": queue, "event": "offered", "at": at(start)}),
    )
    .await;
    match outcome {
        Outcome::Answered { wait, talk } => {
            call_event(
                server,
                &json!({"call_id": id, "queue": queue, "event": "answered",
                        "at": at(start - wait), "agent": "a-17"}),
            )
            .await;
            call_event(
                server,
                &json!({"call_id": id, "queue": queue, "event": "ended",
                        "at": at(start - wait - talk), "wrap_seconds": 30}),
            )
            .await;
        }
        Outcome::Abandoned { wait } => {
            call_event(
                server,
                &json!({"call_id": id, "queue": queue, "event": "abandoned", "at": at(start - wait)}),
            )
            .await;
        }
        Outcome::Waiting => {}
    }
}

/// Creates a ticket; returns its id.
async fn new_ticket(server: &Server, overrides: Value) -> String {
    let (status, body) = server.post("/api/v1/tickets", &ticket(overrides)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
}

async fn set_status(server: &Server, id: &str, status: &str, seconds_ago: i64) {
    let (code, body) = server
        .patch(
            &format!("/api/v1/tickets/{id}"),
            &json!({"status": status, "at": at(seconds_ago)}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
}

/// Traffic before Prometheus starts: every queue, site and application the
/// test uses already has series when the first scrape happens, so later
/// traffic shows up in rate() and increase().
async fn feed_before(server: &Server) {
    put_queue(
        server,
        "Physician Line",
        json!({"answer_target_seconds": 20, "agents_staffed": 6}),
    )
    .await;
    put_queue(
        server,
        "Nursing Line",
        json!({"answer_target_seconds": 30, "agents_staffed": 2, "shrinkage": 0.3}),
    )
    .await;
    put_queue(server, "Pharmacy", json!({"agents_staffed": 1})).await;

    let sites = ["Main Campus", ODD_SITE];
    let applications = ["Orders", "MAR", "Lab"];
    let categories = ["how_to", "access", "break_fix", "hardware"];
    let mut n = 0;
    for site in sites {
        for application in applications {
            for (k, category) in categories.iter().enumerate() {
                n += 1;
                let severity = 2 + (n % 3);
                let opened = 3000 - n * 20;
                let id = new_ticket(
                    server,
                    json!({"site": site, "application": application, "category": category,
                           "severity": severity, "opened_at": at(opened),
                           "summary": SECRET_SUMMARY, "external_id": format!("INC-A{n:04}")}),
                )
                .await;
                match k {
                    0 => set_status(server, &id, "resolved", opened - 600).await,
                    1 => set_status(server, &id, "in_progress", opened - 60).await,
                    2 => {
                        set_status(server, &id, "escalated", opened - 120).await;
                        set_status(server, &id, "resolved", opened - 4000.min(opened)).await;
                    }
                    _ => {}
                }
            }
        }
    }
    // Created already resolved (first contact), and a severity 1 resolved.
    new_ticket(
        server,
        json!({"application": "Lab", "status": "resolved", "opened_at": at(900),
               "resolved_at": at(800), "channel": "ate"}),
    )
    .await;
    let sev1 = new_ticket(
        server,
        json!({"application": "Orders", "severity": 1, "opened_at": at(1200)}),
    )
    .await;
    set_status(server, &sev1, "resolved", 300).await;

    for i in 0..6 {
        call(
            server,
            &format!("p-a{i}"),
            "Physician Line",
            1500 - i * 60,
            Outcome::Answered {
                wait: 5 + i,
                talk: 240,
            },
        )
        .await;
    }
    call(
        server,
        "p-a-ab",
        "Physician Line",
        1000,
        Outcome::Abandoned { wait: 40 },
    )
    .await;
    for i in 0..3 {
        call(
            server,
            &format!("n-a{i}"),
            "Nursing Line",
            1400 - i * 60,
            Outcome::Answered {
                wait: 25,
                talk: 300,
            },
        )
        .await;
    }
    call(
        server,
        "n-a-ab",
        "Nursing Line",
        1100,
        Outcome::Abandoned { wait: 70 },
    )
    .await;
    call(server, "ph-a0", "Pharmacy", 600, Outcome::Waiting).await;

    rejected_requests(server).await;
}

/// 4xx answers, so the error panels have series.
async fn rejected_requests(server: &Server) {
    let (status, _) = server
        .post("/api/v1/tickets", &ticket(json!({"severity": 9})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = server
        .call(reqwest::Method::GET, "/api/v1/report", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server.get("/no/such/path").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Traffic while Prometheus scrapes: a surge on the Nursing Line (long
/// waits, many abandons), new and resolved tickets, an open severity 1.
async fn feed_during(server: &Server) {
    for i in 0..6 {
        call(
            server,
            &format!("n-b{i}"),
            "Nursing Line",
            700 - i * 30,
            Outcome::Answered {
                wait: 90,
                talk: 420,
            },
        )
        .await;
    }
    for i in 0..4 {
        call(
            server,
            &format!("n-b-ab{i}"),
            "Nursing Line",
            500 - i * 20,
            Outcome::Abandoned { wait: 120 },
        )
        .await;
    }
    call(server, "n-b-wait", "Nursing Line", 200, Outcome::Waiting).await;
    for i in 0..5 {
        call(
            server,
            &format!("p-b{i}"),
            "Physician Line",
            400 - i * 30,
            Outcome::Answered { wait: 8, talk: 200 },
        )
        .await;
    }
    call(
        server,
        "ph-b0",
        "Pharmacy",
        300,
        Outcome::Answered {
            wait: 12,
            talk: 100,
        },
    )
    .await;

    for (i, application) in ["Orders", "MAR", "Lab", "Orders", "MAR"].iter().enumerate() {
        let id = new_ticket(
            server,
            json!({"application": application, "site": if i % 2 == 0 { "Main Campus" } else { ODD_SITE },
                   "category": "workflow", "severity": 3, "summary": SECRET_SUMMARY}),
        )
        .await;
        if i < 3 {
            set_status(server, &id, "resolved", 0).await;
        }
    }
    new_ticket(
        server,
        json!({"application": "MAR", "severity": 1, "category": "break_fix",
               "summary": "sev1: pump interface down"}),
    )
    .await;
    rejected_requests(server).await;
}

// ------------------------------------------------------------ /metrics text

async fn scrape(server: &Server) -> String {
    let response = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.expect("body")
}

/// The metric families and label names §9 of the contract binds.
fn check_contract_names(metrics: &Metrics) {
    let ticket = ["site", "application", "category", "severity"];
    let queue = ["queue"];
    let expected: &[(&str, &[&str])] = &[
        ("golive_tickets_opened_total", &ticket),
        ("golive_tickets_resolved_total", &ticket),
        (
            "golive_tickets_backlog",
            &["site", "application", "severity"],
        ),
        (
            "golive_ticket_resolution_duration_seconds_bucket",
            &["application", "le"],
        ),
        (
            "golive_ticket_resolution_duration_seconds_sum",
            &["application"],
        ),
        (
            "golive_ticket_resolution_duration_seconds_count",
            &["application"],
        ),
        ("golive_calls_offered_total", &queue),
        ("golive_calls_answered_total", &queue),
        ("golive_calls_abandoned_total", &queue),
        ("golive_calls_waiting", &queue),
        ("golive_call_wait_duration_seconds_bucket", &["queue", "le"]),
        ("golive_call_wait_duration_seconds_count", &queue),
        (
            "golive_call_handle_duration_seconds_bucket",
            &["queue", "le"],
        ),
        ("golive_call_handle_duration_seconds_count", &queue),
        ("golive_queue_agents_staffed", &queue),
        ("golive_queue_agents_required", &queue),
        ("golive_live_clients", &[]),
        ("golive_http_requests_total", &["route", "method", "status"]),
        (
            "golive_http_request_duration_seconds_bucket",
            &["route", "method", "status", "le"],
        ),
        ("golive_board_publish_duration_seconds_count", &[]),
        ("process_cpu_seconds_total", &[]),
        ("process_resident_memory_bytes", &[]),
    ];
    for (name, labels) in expected {
        let series: Vec<&Sample> = metrics.named(name).collect();
        assert!(!series.is_empty(), "/metrics has no {name}");
        let wanted: BTreeSet<&str> = labels.iter().copied().collect();
        for sample in series {
            let got: BTreeSet<&str> = sample.labels.keys().map(String::as_str).collect();
            assert_eq!(got, wanted, "labels of {name}");
        }
    }
    // Route templates, never raw paths with ids.
    for sample in metrics.named("golive_http_requests_total") {
        let route = &sample.labels["route"];
        assert!(
            route == "unmatched" || route.starts_with('/'),
            "route label {route}"
        );
        assert!(
            !route.chars().any(|c| c.is_ascii_digit()) || route.contains("v1"),
            "route label with an id: {route}"
        );
    }
}

// ------------------------------------------------------------ PromQL text

/// Fills in Grafana's template variables: built-ins with fixed intervals,
/// multi-value and "All" variables with their regex, the others with their
/// current value.
fn substitute(expr: &str, variables: &[(String, String)]) -> String {
    let mut all: Vec<(String, String)> = vec![
        ("__rate_interval".into(), "1m".into()),
        ("__interval".into(), "15s".into()),
        ("__range".into(), "1h".into()),
    ];
    all.extend(variables.iter().cloned());
    all.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    let mut out = expr.to_string();
    for (name, value) in &all {
        out = out
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("[[{name}]]"), value);
        let token = format!("${name}");
        let mut result = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find(&token) {
            let after = &rest[i + token.len()..];
            let boundary = !after
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            result.push_str(&rest[..i]);
            result.push_str(if boundary { value } else { &token });
            rest = after;
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// The dashboard's variables and the values used for them in the test.
fn variable_values(dashboard: &Value) -> Vec<(String, String)> {
    dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["type"] != "datasource")
        .map(|v| {
            let name = v["name"].as_str().unwrap_or_default().to_string();
            let value = if v["includeAll"] == true {
                v["allValue"].as_str().unwrap_or(".*").to_string()
            } else {
                let current = &v["current"]["value"];
                current
                    .as_str()
                    .or_else(|| current[0].as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            assert!(!value.is_empty(), "variable {name} has no value");
            (name, value)
        })
        .collect()
}

/// Turns every comparison against a number into a `bool` comparison, so
/// the expression returns its series whether or not the condition holds:
/// `x > 0.1 and y >= 5` becomes `x > bool 0.1 and y >= bool 5`. Label
/// matchers (inside quotes or braces) are left alone.
fn with_bool_comparisons(expr: &str) -> String {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::new();
    let (mut in_string, mut braces) = (false, 0usize);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(next) = chars.get(i + 1) {
                    out.push(*next);
                    i += 1;
                }
            } else if c == '"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => braces += 1,
            '}' => braces = braces.saturating_sub(1),
            _ => {}
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let op_len = if braces > 0 {
            0
        } else if ["==", "!=", ">=", "<="].contains(&two.as_str()) {
            2
        } else if c == '>' || c == '<' {
            1
        } else {
            0
        };
        if op_len == 0 {
            out.push(c);
            i += 1;
            continue;
        }
        let op: String = chars[i..i + op_len].iter().collect();
        let after: String = chars[i + op_len..].iter().collect();
        let trimmed = after.trim_start();
        let numeric = trimmed
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.');
        out.push_str(&op);
        if numeric && !trimmed.starts_with("bool") {
            out.push_str(" bool");
        }
        i += op_len;
    }
    out
}

/// Every panel query of a dashboard (rows' panels included): (what, expr).
fn panel_queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut panels: Vec<&Value> = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        panels.push(panel);
        panels.extend(panel["panels"].as_array().into_iter().flatten());
    }
    let mut queries = Vec::new();
    for panel in panels {
        for target in panel["targets"].as_array().into_iter().flatten() {
            queries.push((
                format!(
                    "panel {:?} {}",
                    panel["title"].as_str().unwrap_or("?"),
                    target["refId"]
                ),
                target["expr"].as_str().expect("expr").to_string(),
            ));
        }
    }
    queries
}

/// `expr` with every golive_* series selector pinned to one instance
/// (`golive_x{a="b"}` → `golive_x{instance="I", a="b"}`). Recorded series
/// (`queue:golive_…`) are left alone.
fn pinned_to_instance(expr: &str, instance: &str) -> String {
    let mut out = String::new();
    let mut rest = expr;
    while let Some(i) = rest.find("golive_") {
        let before = rest[..i].chars().next_back();
        let name_end = rest[i..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .map_or(rest.len(), |n| i + n);
        out.push_str(&rest[..name_end]);
        let is_selector = !before
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !rest[i..name_end].contains(':');
        rest = &rest[name_end..];
        if is_selector {
            if let Some(labels) = rest.strip_prefix('{') {
                out.push_str(&format!("{{instance=\"{instance}\", "));
                rest = labels;
            } else {
                out.push_str(&format!("{{instance=\"{instance}\"}}"));
            }
        }
    }
    out.push_str(rest);
    out
}

/// A query's result as (labels without `instance`, value) pairs.
fn by_labels(result: &[Value]) -> BTreeMap<String, f64> {
    result
        .iter()
        .map(|sample| {
            let mut labels = sample["metric"].as_object().cloned().unwrap_or_default();
            labels.remove("instance");
            let value = sample["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN);
            (Value::Object(labels).to_string(), value)
        })
        .collect()
}

/// Every rule of the rules file: (name, expr, is_alert).
fn rules() -> Vec<(String, String, bool)> {
    let text = std::fs::read_to_string(root().join("deploy/prometheus/rules.yml")).expect("rules");
    let doc: serde_norway::Value = serde_norway::from_str(&text).expect("rules yaml");
    let mut out = Vec::new();
    for group in doc["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let expr = rule["expr"].as_str().expect("expr").to_string();
            match (rule["alert"].as_str(), rule["record"].as_str()) {
                (Some(alert), _) => out.push((alert.to_string(), expr, true)),
                (None, Some(record)) => out.push((record.to_string(), expr, false)),
                _ => panic!("rule without alert or record: {rule:?}"),
            }
        }
    }
    out
}

// ------------------------------------------------------------ the tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_and_rules_work_against_a_real_prometheus() {
    let Some((prometheus_bin, promtool_bin)) = binaries() else {
        return;
    };
    let rules_dir = root().join("deploy/prometheus");
    promtool(
        &promtool_bin,
        &["check", "rules", "rules.yml"],
        None,
        &rules_dir,
    );
    promtool(
        &promtool_bin,
        &["test", "rules", "rules_test.yml"],
        None,
        &rules_dir,
    );

    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    feed_before(&server).await;

    // The served text: lint-clean, the contract's names, no summaries.
    let text = scrape(&server).await;
    promtool(
        &promtool_bin,
        &["check", "metrics"],
        Some(&text),
        &rules_dir,
    );
    assert!(
        !text.contains("PHI-SECRET"),
        "a ticket summary leaked into /metrics"
    );
    let metrics = Metrics::parse(&text);
    check_contract_names(&metrics);
    assert!(
        metrics
            .label_values("golive_tickets_opened_total", "site")
            .contains(ODD_SITE),
        "the escaped site label parses back to itself"
    );

    let config = prometheus_config(&[&server.base]);
    let prometheus = Prometheus::start(&prometheus_bin, &promtool_bin, &config).await;
    eventually("golive scraped", Duration::from_secs(60), || async {
        match prometheus.value("sum(golive_tickets_opened_total)").await {
            Some(v) if v > 0.0 => Ok(()),
            other => Err(format!(
                "sum(golive_tickets_opened_total) = {other:?}; up = {:?}\n{}",
                prometheus.value("up{job=\"golive\"}").await,
                prometheus.log_text()
            )),
        }
    })
    .await;
    // Two scrapes of the first state, so the changes below show in rates.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let ws_url = format!(
        "{}/api/v1/live?token={ADMIN_TOKEN}",
        server.base.replace("http://", "ws://")
    );
    let (mut live, _) = tokio_tungstenite::connect_async(ws_url.as_str())
        .await
        .expect("live socket");
    let first = tokio::time::timeout(Duration::from_secs(10), live.next())
        .await
        .expect("snapshot in time");
    assert!(first.is_some(), "live socket sent its snapshot");
    feed_during(&server).await;

    // Prometheus has caught up with everything golive serves.
    let served = Metrics::parse(&scrape(&server).await);
    let families = [
        "golive_tickets_opened_total",
        "golive_tickets_resolved_total",
        "golive_calls_offered_total",
        "golive_calls_answered_total",
        "golive_calls_abandoned_total",
    ];
    eventually("Prometheus caught up", Duration::from_secs(30), || async {
        for family in families {
            let want = served.sum(family);
            let got = prometheus.value(&format!("sum({family})")).await;
            if got != Some(want) {
                return Err(format!("{family}: Prometheus {got:?}, /metrics {want}"));
            }
        }
        match prometheus.value("max(golive_live_clients)").await {
            Some(v) if v >= 1.0 => Ok(()),
            other => Err(format!("golive_live_clients {other:?}")),
        }
    })
    .await;
    // A few more scrapes and rule evaluations past the last change.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The counters agree with the report over a window holding all traffic.
    let (status, report) = server
        .get(&format!(
            "/api/v1/report?from={}&to={}",
            encoded(&at(3 * 86_400)),
            encoded(&at(-86_400))
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let served = Metrics::parse(&scrape(&server).await);
    for (family, figure) in [
        ("golive_tickets_opened_total", &report["tickets"]["opened"]),
        (
            "golive_tickets_resolved_total",
            &report["tickets"]["resolved"],
        ),
        ("golive_tickets_backlog", &report["tickets"]["backlog"]),
        ("golive_calls_offered_total", &report["calls"]["offered"]),
        ("golive_calls_answered_total", &report["calls"]["answered"]),
        (
            "golive_calls_abandoned_total",
            &report["calls"]["abandoned"],
        ),
    ] {
        let figure = figure.as_f64().expect("report figure");
        assert!(figure > 0.0, "{family}: the traffic produced some");
        assert_eq!(served.sum(family), figure, "{family} in /metrics vs report");
        assert_eq!(
            prometheus.value(&format!("sum({family})")).await,
            Some(figure),
            "{family} in Prometheus vs report"
        );
    }
    for (queue, figures) in report["calls_by_queue"]
        .as_object()
        .expect("calls_by_queue")
    {
        let offered = prometheus
            .value(&format!(
                "sum(golive_calls_offered_total{{queue=\"{queue}\"}})"
            ))
            .await;
        assert_eq!(offered, figures["offered"].as_f64(), "{queue} offered");
    }
    // The escaped label value made it through Prometheus intact.
    let odd = prometheus
        .query("count by (site) (golive_tickets_opened_total)")
        .await
        .expect("query");
    assert!(
        odd.iter().any(|s| s["metric"]["site"] == ODD_SITE),
        "sites in Prometheus: {odd:?}"
    );

    // Every dashboard query and variable query parses and has data.
    let mut failures = Vec::new();
    let mut evaluated = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("dashboards"))
        .expect("dashboards")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "dashboards: {files:?}");
    for file in &files {
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("json");
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let variables = variable_values(&dashboard);
        let mut queries: Vec<(String, String)> = Vec::new();
        for variable in dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if variable["type"] != "query" {
                continue;
            }
            let query = variable["query"]["query"]
                .as_str()
                .or_else(|| variable["query"].as_str())
                .expect("variable query");
            let inner = query
                .strip_prefix("label_values(")
                .and_then(|q| q.strip_suffix(')'))
                .unwrap_or_else(|| panic!("{name}: unsupported variable query {query}"));
            let (selector, label) = inner
                .rsplit_once(',')
                .expect("label_values(selector, label)");
            queries.push((
                format!("variable {}", variable["name"]),
                format!("count by ({}) ({})", label.trim(), selector.trim()),
            ));
        }
        queries.extend(panel_queries(&dashboard));
        for (what, expr) in queries {
            let concrete = substitute(&expr, &variables);
            assert!(
                !concrete.contains('$'),
                "{name} {what}: unknown variable left in {concrete}"
            );
            evaluated += 1;
            match prometheus.query(&concrete).await {
                Err(error) => failures.push(format!("{name} {what}: {concrete}: {error}")),
                Ok(result) if !result.is_empty() => {}
                Ok(_) => {
                    let relaxed = with_bool_comparisons(&concrete);
                    match prometheus.query(&relaxed).await {
                        Ok(result) if relaxed != concrete && !result.is_empty() => {}
                        other => failures.push(format!(
                            "{name} {what}: no series: {concrete} (as {relaxed}: {other:?})"
                        )),
                    }
                }
            }
        }
    }

    // Every rule: loaded healthy, parses, returns series (alerts with their
    // comparisons as `bool`), recorded series exist.
    let loaded = prometheus.get("/api/v1/rules").await;
    let mut health = BTreeMap::new();
    for group in loaded["data"]["groups"].as_array().expect("rule groups") {
        for rule in group["rules"].as_array().expect("rules") {
            health.insert(
                rule["name"].as_str().unwrap_or_default().to_string(),
                (rule["health"].clone(), rule["lastError"].clone()),
            );
        }
    }
    let all_rules = rules();
    assert!(all_rules.len() >= 10, "rules: {}", all_rules.len());
    for (name, expr, is_alert) in &all_rules {
        evaluated += 1;
        match health.get(name) {
            Some((h, _)) if h == "ok" => {}
            other => failures.push(format!("rule {name}: not loaded healthy: {other:?}")),
        }
        let result = match prometheus.query(expr).await {
            Ok(result) => result,
            Err(error) => {
                failures.push(format!("rule {name}: {expr}: {error}"));
                continue;
            }
        };
        if let Some((_, reason)) = EMPTY_WHEN_HEALTHY.iter().find(|(n, _)| n == name) {
            if !result.is_empty() {
                failures.push(format!("rule {name} ({reason}) returned {result:?}"));
            }
            continue;
        }
        if !is_alert {
            if result.is_empty() {
                failures.push(format!("recording rule {name}: no series: {expr}"));
            }
            if prometheus
                .query(name)
                .await
                .map(|r| r.is_empty())
                .unwrap_or(true)
            {
                failures.push(format!("recording rule {name}: nothing recorded"));
            }
            continue;
        }
        if result.is_empty() {
            let relaxed = with_bool_comparisons(expr);
            match prometheus.query(&relaxed).await {
                Ok(r) if relaxed != *expr && !r.is_empty() => {}
                other => failures.push(format!(
                    "alert {name}: no series even as {relaxed}: {other:?}"
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {evaluated} expressions failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{evaluated} dashboard, variable and rule expressions evaluated");

    // The alerts this traffic raises are active, and no others.
    let active: BTreeSet<String> =
        eventually("the expected alerts", Duration::from_secs(20), || async {
            let alerts = prometheus.get("/api/v1/alerts").await;
            let active: BTreeSet<String> = alerts["data"]["alerts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["state"] == "pending" || a["state"] == "firing")
                .filter_map(|a| a["labels"]["alertname"].as_str().map(str::to_string))
                .collect();
            let missing: Vec<&&str> = EXPECTED_ALERTS
                .iter()
                .filter(|a| !active.contains(**a))
                .collect();
            if missing.is_empty() {
                Ok(active)
            } else {
                Err(format!("missing {missing:?}; active {active:?}"))
            }
        })
        .await;
    for unexpected in [
        "GoliveDown",
        "GoliveTargetMissing",
        "GoliveScrapeErrors",
        "GoliveHTTPErrors",
    ] {
        assert!(
            !active.contains(unexpected),
            "{unexpected} is active: {active:?}"
        );
    }
    drop(live);
}

/// Rules over per-process series (scrapes, HTTP answers): one series per
/// replica by design, so not compared with a single replica's.
const PER_REPLICA_RULES: &[&str] = &[
    "GoliveDown",
    "GoliveReplicaDown",
    "GoliveTargetMissing",
    "GoliveScrapeErrors",
    "GoliveScrapeSlow",
    "GoliveHTTPErrors",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_are_counted_once_across_replicas() {
    let Some((prometheus_bin, promtool_bin)) = binaries() else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    feed_before(&server).await;
    // Two targets, one process: the same totals under two instance labels,
    // exactly what replicas applying one log export.
    let port = server.base.rsplit(':').next().expect("port").to_string();
    let instances = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    let config = prometheus_config(&[instances[0].as_str(), instances[1].as_str()]);
    let prometheus = Prometheus::start(&prometheus_bin, &promtool_bin, &config).await;
    let served = Metrics::parse(&scrape(&server).await);
    let opened = served.sum("golive_tickets_opened_total");
    eventually("both targets scraped", Duration::from_secs(60), || async {
        match prometheus
            .value("count(sum by (instance) (golive_tickets_opened_total) > 0)")
            .await
        {
            Some(2.0) => Ok(()),
            other => Err(format!("{other:?}\n{}", prometheus.log_text())),
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    feed_during(&server).await;
    let served = Metrics::parse(&scrape(&server).await);
    let want = served.sum("golive_calls_offered_total");
    eventually(
        "both targets caught up",
        Duration::from_secs(30),
        || async {
            let got = prometheus
                .value("min(sum by (instance) (golive_calls_offered_total))")
                .await;
            if got == Some(want) {
                Ok(())
            } else {
                Err(format!("{got:?} of {want}"))
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();

    // The setup doubles whatever adds instances up.
    let naive = prometheus
        .query_at("sum(golive_tickets_opened_total)", Some(time))
        .await
        .expect("query");
    assert_eq!(
        by_labels(&naive).into_values().next(),
        Some(2.0 * served.sum("golive_tickets_opened_total")),
        "two targets exporting the same totals (before the traffic: {opened})"
    );

    let mut expressions: Vec<(String, String)> = Vec::new();
    for name in ["golive-overview.json", "golive-calls.json"] {
        let path = root().join("dashboards").join(name);
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let variables = variable_values(&dashboard);
        for (what, expr) in panel_queries(&dashboard) {
            // Comparisons as `bool`, so a panel such as "sev-1 open > 0"
            // is compared whether or not its condition holds.
            let expr = with_bool_comparisons(&substitute(&expr, &variables));
            expressions.push((format!("{name} {what}"), expr));
        }
    }
    for (name, expr, is_alert) in rules() {
        if PER_REPLICA_RULES.contains(&name.as_str()) {
            continue;
        }
        let expr = if is_alert {
            with_bool_comparisons(&expr)
        } else {
            expr
        };
        expressions.push((format!("rule {name}"), expr));
    }
    assert!(expressions.len() >= 40, "{} expressions", expressions.len());
    let mut failures = Vec::new();
    let mut compared = 0;
    for (what, expr) in &expressions {
        let both = prometheus.query_at(expr, Some(time)).await;
        let one = prometheus
            .query_at(&pinned_to_instance(expr, &instances[0]), Some(time))
            .await;
        let other = prometheus
            .query_at(&pinned_to_instance(expr, &instances[1]), Some(time))
            .await;
        let (both, one, other) = match (both, one, other) {
            (Ok(both), Ok(one), Ok(other)) => {
                (by_labels(&both), by_labels(&one), by_labels(&other))
            }
            results => {
                failures.push(format!("{what}: {results:?}"));
                continue;
            }
        };
        if both.is_empty() || both.keys().ne(one.keys()) {
            failures.push(format!("{what}: series {both:?} vs one replica {one:?}"));
            continue;
        }
        for (labels, value) in &both {
            let single = one[labels];
            compared += 1;
            // The two targets are scraped at different instants, so a
            // rate may differ between them (the more, the busier the
            // machine): the answer over both must lie between what each
            // replica alone gives. A double count is twice one of them.
            let second = other.get(labels).copied().unwrap_or(single);
            let (low, high) = (single.min(second), single.max(second));
            let slack = 0.05 * high.abs() + 1e-9;
            let close = (value.is_nan() && single.is_nan())
                || (*value >= low - slack && *value <= high + slack);
            if !close {
                failures.push(format!(
                    "{what} {labels}: {value} with two replicas, {single} and {second} with each alone\n  {expr}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} expressions count replicas more than once:\n{}",
        failures.len(),
        expressions.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} expressions, {compared} series: the same with two replicas as with one",
        expressions.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_past_the_limit_are_reported_as_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("golive.toml");
    std::fs::write(&config, "max_label_values = 2\n").expect("config");
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start_with(&db, &["--config", &config.display().to_string()], &[]).await;

    let sites = ["Alpha", "Bravo", "Charlie", "Delta"];
    for (i, site) in sites.iter().enumerate() {
        for _ in 0..=i {
            new_ticket(
                &server,
                json!({"site": site, "application": format!("App {i}")}),
            )
            .await;
        }
    }
    for (i, queue) in ["Q1", "Q2", "Q3"].iter().enumerate() {
        for k in 0..=i {
            call(
                &server,
                &format!("{queue}-{k}"),
                queue,
                600,
                Outcome::Abandoned { wait: 30 },
            )
            .await;
        }
    }
    let metrics = Metrics::parse(&scrape(&server).await);
    let values = |name: &str, label: &str| metrics.label_values(name, label);
    let sites_seen = values("golive_tickets_opened_total", "site");
    assert_eq!(sites_seen.len(), 3, "two sites and other: {sites_seen:?}");
    assert!(sites_seen.contains("other"));
    let applications = values("golive_tickets_backlog", "application");
    assert_eq!(applications.len(), 3, "{applications:?}");
    let queues = values("golive_calls_offered_total", "queue");
    assert_eq!(queues.len(), 3, "{queues:?}");
    assert!(queues.contains("other"));
    // Folding into `other` loses no counts.
    assert_eq!(metrics.sum("golive_tickets_opened_total"), 10.0);
    assert_eq!(metrics.sum("golive_calls_offered_total"), 6.0);
    assert_eq!(metrics.sum("golive_calls_abandoned_total"), 6.0);
    // Series stay unique after folding (`by_series` panics on a repeat).
    metrics.by_series();
    // The same admitted values on every scrape: series do not flap.
    let again = Metrics::parse(&scrape(&server).await);
    assert_eq!(
        again.label_values("golive_tickets_opened_total", "site"),
        sites_seen
    );
}

#[test]
fn the_metrics_reader_reads_what_golive_serves() {
    let text = "# HELP golive_http_requests_total HTTP requests.\n\
        # TYPE golive_http_requests_total counter\n\
        golive_http_requests_total{method=\"PATCH\",route=\"/api/v1/tickets/{id}\",status=\"200\"} 3\n\
        # HELP golive_tickets_opened_total Opened.\n\
        # TYPE golive_tickets_opened_total counter\n\
        golive_tickets_opened_total{site=\"North \\\"B\\\" Wing \\\\ Annex\",application=\"A, B=C\"} 2\n\
        # HELP h Latency.\n\
        # TYPE h histogram\n\
        h_bucket{queue=\"q\",le=\"0.5\"} 1\n\
        h_bucket{queue=\"q\",le=\"+Inf\"} 2\n\
        h_sum{queue=\"q\"} 3.5\n\
        h_count{queue=\"q\"} 2\n";
    let metrics = Metrics::parse(text);
    assert_eq!(metrics.samples.len(), 6);
    assert_eq!(
        metrics.value(
            "golive_http_requests_total",
            &[
                ("method", "PATCH"),
                ("route", "/api/v1/tickets/{id}"),
                ("status", "200")
            ]
        ),
        Some(3.0)
    );
    assert_eq!(
        metrics.label_values("golive_tickets_opened_total", "site"),
        BTreeSet::from(["North \"B\" Wing \\ Annex".to_string()])
    );
    assert_eq!(
        metrics.sum_where("golive_tickets_opened_total", "application", "A, B=C"),
        2.0
    );
    assert_eq!(
        metrics.value("h_bucket", &[("queue", "q"), ("le", "+Inf")]),
        Some(2.0)
    );
    assert_eq!(metrics.value("h_sum", &[("queue", "q")]), Some(3.5));
    assert_eq!(metrics.by_series().len(), 6);
}
