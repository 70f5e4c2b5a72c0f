//! Checkpoints, through the real binary: a restart from a checkpoint (and
//! the log after it) answers exactly what the process before it answered
//! and what a whole replay answers (reports, the board as of a moment,
//! queues, known issues, the domain `/metrics` series and
//! `golive_events_applied_total`), on SQLite and PostgreSQL; and a
//! checkpoint that cannot be trusted is never used: damaged bytes, another
//! format, a log that is not the one it was taken of (a database replaced),
//! each falls back to a whole replay with the right figures and a log line
//! saying why. A process killed with SIGKILL while it writes a checkpoint
//! leaves a database that restarts to the same figures.

mod support;

use chrono::{DateTime, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::{ADMIN_TOKEN, Backend, Server, TestDb, count_rows};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

const SITES: [&str; 3] = ["Main Campus", "North Hospital", "West Clinic"];
const APPLICATIONS: [&str; 4] = ["Orders", "MAR", "Pharmacy", "Lab"];
const QUEUES: [&str; 2] = ["Physician Line", "Nursing Line"];

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .expect("valid time")
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Where the traffic lies: hours before now, so that the live windows
/// (and the alerts on them) see none of it and every figure compared
/// stays put while the test runs.
fn span() -> (i64, i64) {
    static END: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let end = *END.get_or_init(|| Utc::now().timestamp_millis() - 5 * HOUR);
    (end - 6 * HOUR, end)
}

/// A bulk body of `tickets` tickets (some resolved, escalated or
/// reclassified later) and `calls` calls, numbered from `first`.
fn traffic(rng: &mut StdRng, first: usize, tickets: usize, calls: usize) -> String {
    let (start, end) = span();
    let mut lines = Vec::new();
    for n in first..first + tickets {
        let opened_at = rng.random_range(start..end);
        lines.push(json!({
            "kind": "ticket", "external_id": format!("INC{n:06}"),
            "opened_at": iso(opened_at),
            "site": SITES[rng.random_range(0..SITES.len())],
            "department": "Emergency",
            "application": APPLICATIONS[rng.random_range(0..APPLICATIONS.len())],
            "category": "how_to", "severity": rng.random_range(2..=4), "channel": "phone",
        }));
        if rng.random_bool(0.6) {
            let at = (opened_at + rng.random_range(MINUTE..3 * HOUR)).min(end);
            let status = if rng.random_bool(0.2) {
                "escalated"
            } else {
                "resolved"
            };
            lines.push(
                json!({"kind": "ticket_update", "external_id": format!("INC{n:06}"),
                "status": status, "at": iso(at)}),
            );
        }
        if rng.random_bool(0.1) {
            lines.push(
                json!({"kind": "ticket_update", "external_id": format!("INC{n:06}"),
                "application": "Lab", "at": iso(end)}),
            );
        }
    }
    for n in first..first + calls {
        let offered_at = rng.random_range(start..end);
        let queue = QUEUES[rng.random_range(0..QUEUES.len())];
        let call_id = format!("c-{n}");
        let wait = rng.random_range(0..90 * SECOND);
        lines.push(json!({"kind": "call", "call_id": call_id, "queue": queue,
            "event": "offered", "at": iso(offered_at)}));
        if rng.random_bool(0.85) {
            lines.push(json!({"kind": "call", "call_id": call_id, "queue": queue,
                "event": "answered", "at": iso(offered_at + wait)}));
            lines.push(json!({"kind": "call", "call_id": call_id, "queue": queue,
                "event": "ended", "at": iso(offered_at + wait + 4 * MINUTE), "wrap_seconds": 30}));
        } else {
            lines.push(json!({"kind": "call", "call_id": call_id, "queue": queue,
                "event": "abandoned", "at": iso(offered_at + wait)}));
        }
    }
    lines
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes `tickets` tickets and `calls` calls, a queue's settings and a
/// known issue, all acknowledged.
async fn feed(server: &Server, rng: &mut StdRng, first: usize, tickets: usize, calls: usize) {
    let (status, answer) = server
        .ingest(ADMIN_TOKEN, traffic(rng, first, tickets, calls))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["rejected_total"], 0, "{answer}");
    let agents = 5 + first % 7;
    let (status, answer) = server
        .put(
            "/api/v1/queues/Nursing%20Line",
            &json!({"agents_staffed": agents, "answer_target_seconds": 30}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = server
        .post(
            "/api/v1/known-issues",
            &json!({"title": format!("Issue {first}"), "application": "Orders"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

async fn get_ok(server: &Server, path: &str) -> Value {
    let (status, body) = server.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// Everything compared across restarts.
#[derive(Debug, PartialEq, serde::Serialize)]
struct Answers {
    reports: Vec<Value>,
    board: Value,
    queues: Value,
    known_issues: Value,
    /// The domain series of `/metrics` and `golive_events_applied_total`.
    metrics: Vec<String>,
}

async fn answers(server: &Server) -> Answers {
    let (start, end) = span();
    let mut reports = Vec::new();
    for group_by in ["site", "application", "severity", "known_issue"] {
        let path = format!(
            "/api/v1/report?from={}&to={}&group_by={group_by}",
            iso(start - HOUR),
            iso(end + HOUR)
        );
        reports.push(get_ok(server, &path).await);
    }
    let board = get_ok(server, &format!("/api/v1/board?as_of={}", iso(end))).await;
    let queues = get_ok(server, "/api/v1/queues").await;
    let known_issues = get_ok(server, "/api/v1/known-issues").await;
    let mut metrics: Vec<String> = server
        .metrics_text()
        .await
        .lines()
        .filter(|line| {
            [
                "golive_tickets_",
                "golive_ticket_",
                "golive_calls_",
                "golive_call_",
            ]
            .iter()
            .any(|prefix| line.starts_with(prefix))
                || line.starts_with("golive_known_issue_tickets_total")
                || line.starts_with("golive_events_applied_total")
        })
        .map(str::to_string)
        .collect();
    metrics.sort();
    Answers {
        reports,
        board,
        queues,
        known_issues,
        metrics,
    }
}

/// The first place two answers differ, if they do.
fn difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).find_map(|key| {
            let (l, r) = (
                x.get(key).unwrap_or(&Value::Null),
                y.get(key).unwrap_or(&Value::Null),
            );
            difference(l, r, &format!("{path}.{key}"))
        }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (l, r))| difference(l, r, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// Asserts equal answers, naming the first difference.
fn assert_same(actual: &Answers, expected: &Answers, what: &str) {
    let actual = serde_json::to_value(actual).expect("json");
    let expected = serde_json::to_value(expected).expect("json");
    if let Some(first) = difference(&actual, &expected, "") {
        panic!("{what}: {first}");
    }
}

/// A configuration file in `dir` with `lines`, as `--config` arguments.
fn config(dir: &tempfile::TempDir, name: &str, lines: &str) -> Vec<String> {
    let path = dir.path().join(name);
    std::fs::write(&path, lines).expect("config written");
    vec!["--config".into(), path.display().to_string()]
}

/// A server whose logs (info) go to `log`, ready.
async fn start_logged(db: &TestDb, args: &[String], log: &std::path::Path) -> Server {
    let file = std::fs::File::create(log).expect("log file");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::launch(
        &db.url,
        &args,
        &[
            ("RUST_LOG", "info,sqlx=warn,tower_http=warn"),
            ("NO_COLOR", "1"),
        ],
        Stdio::from(file),
    );
    server.wait_ready().await;
    server
}

fn read_log(log: &std::path::Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// SIGTERM, which writes a checkpoint before the process exits.
fn stop(server: &mut Server) {
    let status = server.terminate().expect("exited");
    assert!(status.success(), "graceful exit: {status:?}");
}

/// What a whole replay of `db`'s log answers (checkpoints off).
async fn replayed(db: &TestDb, dir: &tempfile::TempDir) -> Answers {
    let off = config(dir, "off.toml", "checkpoint_interval_seconds = 0\n");
    let log = dir.path().join("replayed.log");
    let server = start_logged(db, &off, &log).await;
    let answers = answers(&server).await;
    assert!(
        !read_log(&log).contains("restored the checkpoint"),
        "checkpoints off: none read"
    );
    answers
}

async fn restart_from_a_checkpoint(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = StdRng::seed_from_u64(16);
    let mut first = Server::start(&db).await;
    feed(&first, &mut rng, 0, 400, 500).await;
    stop(&mut first);
    assert_eq!(
        count_rows(&db.url, "SELECT COUNT(*) FROM checkpoints").await,
        1
    );

    // From the checkpoint, then more: the log's tail past it.
    let log = dir.path().join("second.log");
    let mut second = start_logged(&db, &[], &log).await;
    assert!(
        read_log(&log).contains("restored the checkpoint"),
        "{}",
        read_log(&log)
    );
    feed(&second, &mut rng, 1000, 150, 200).await;
    let before = answers(&second).await;
    second.kill9();

    let log = dir.path().join("third.log");
    let third = start_logged(&db, &[], &log).await;
    let text = read_log(&log);
    assert!(text.contains("restored the checkpoint"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("replay finished") && !l.contains(" events=0")),
        "the tail after the checkpoint is replayed: {text}"
    );
    assert_same(
        &answers(&third).await,
        &before,
        "restored vs before the restart",
    );
    drop(third);
    assert_same(
        &replayed(&db, &dir).await,
        &before,
        "a whole replay vs before",
    );
}

both_backends!(
    a_restart_from_a_checkpoint_answers_as_before_and_as_a_whole_replay,
    restart_from_a_checkpoint
);

/// A SQLite database with a checkpoint of its whole log; what the server
/// answered when it wrote it.
async fn checkpointed(dir: &tempfile::TempDir, seed: u64) -> (TestDb, Answers) {
    let db = TestDb::sqlite_at(&dir.path().join(format!("log-{seed}.db")));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut server = Server::start(&db).await;
    feed(&server, &mut rng, 0, 300, 300).await;
    let answered = answers(&server).await;
    stop(&mut server);
    assert_eq!(
        count_rows(&db.url, "SELECT COUNT(*) FROM checkpoints").await,
        1
    );
    (db, answered)
}

/// Runs `sql` (with `body` bound to `$1` if given) on a SQLite database.
async fn execute(db: &TestDb, sql: &str, body: Option<Vec<u8>>) {
    let mut conn = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("connect");
    let query = sqlx::query(sql);
    let query = match body {
        Some(body) => query.bind(body),
        None => query,
    };
    query.execute(&mut conn).await.expect("statement");
}

async fn checkpoint_body(db: &TestDb) -> Vec<u8> {
    let mut conn = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("connect");
    sqlx::query_scalar("SELECT body FROM checkpoints ORDER BY seq DESC LIMIT 1")
        .fetch_one(&mut conn)
        .await
        .expect("checkpoint body")
}

/// Starts on `db`, expecting the checkpoint refused for `reason` and the
/// whole log replayed to `expected`.
async fn falls_back(db: &TestDb, dir: &tempfile::TempDir, reason: &str, expected: &Answers) {
    let log = dir.path().join("fallback.log");
    let server = start_logged(db, &[], &log).await;
    let text = read_log(&log);
    assert!(
        text.contains("checkpoint not used") && text.contains(reason),
        "expected a fallback because {reason:?}: {text}"
    );
    assert!(!text.contains("restored the checkpoint"), "{text}");
    assert_same(&answers(&server).await, expected, "after the fallback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_checkpoint_is_not_used() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, expected) = checkpointed(&dir, 1).await;
    let mut body = checkpoint_body(&db).await;
    // One bit in the aggregator's part: still decodable, wrong figures.
    let at = body.len() - 1000;
    body[at] ^= 0x04;
    execute(&db, "UPDATE checkpoints SET body = $1", Some(body)).await;
    falls_back(&db, &dir, "damaged", &expected).await;
    // Cut short.
    let body = checkpoint_body(&db).await;
    execute(
        &db,
        "UPDATE checkpoints SET body = $1",
        Some(body[..body.len() / 2].to_vec()),
    )
    .await;
    falls_back(&db, &dir, "damaged", &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_of_another_format_is_not_used() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, expected) = checkpointed(&dir, 2).await;
    execute(
        &db,
        "UPDATE checkpoints SET format = replace(format, 'golive-server/1/', 'golive-server/0/')",
        None,
    )
    .await;
    falls_back(&db, &dir, "written by another version", &expected).await;
}

/// A database replaced by another with a log as long (a backup of another
/// go-live, a restore gone wrong) that still holds the first one's
/// checkpoint row: the log at its position is not the one it was taken of.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_of_another_log_is_not_used() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (old, _) = checkpointed(&dir, 3).await;
    let (replacement, expected) = checkpointed(&dir, 4).await;
    let old_body = checkpoint_body(&old).await;
    let mut conn = sqlx::SqliteConnection::connect(&old.url)
        .await
        .expect("connect");
    let (seq, format): (i64, String) =
        sqlx::query_as("SELECT seq, format FROM checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_one(&mut conn)
            .await
            .expect("checkpoint row");
    let length = count_rows(&replacement.url, "SELECT COUNT(*) FROM events").await;
    assert!(
        length >= seq,
        "the replacement's log reaches the old position"
    );
    execute(&replacement, "DELETE FROM checkpoints", None).await;
    let mut conn = sqlx::SqliteConnection::connect(&replacement.url)
        .await
        .expect("connect");
    sqlx::query("INSERT INTO checkpoints (seq, format, created_at, body) VALUES ($1, $2, 0, $3)")
        .bind(seq)
        .bind(format)
        .bind(old_body)
        .execute(&mut conn)
        .await
        .expect("insert");
    falls_back(&replacement, &dir, "of another log", &expected).await;
}

/// How many lines of `log` contain `needle`.
fn occurrences(log: &std::path::Path, needle: &str) -> usize {
    read_log(log).lines().filter(|l| l.contains(needle)).count()
}

/// Waits until `log` holds `count` lines containing `needle`.
async fn wait_for(log: &std::path::Path, needle: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while occurrences(log, needle) < count {
        assert!(Instant::now() < deadline, "no {needle:?} in the log");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// SIGKILL while a checkpoint is being written (right after the server
/// says it starts one), several times under load: every restart is ready
/// and answers what a whole replay of the log answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_writing_a_checkpoint_leaves_a_working_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDb::sqlite_at(&dir.path().join("killed.db"));
    let often = config(
        &dir,
        "often.toml",
        "checkpoint_interval_seconds = 1\ncheckpoint_every_events = 1000\n",
    );
    let mut rng = StdRng::seed_from_u64(9);
    for round in 0..4 {
        let log = dir.path().join(format!("round-{round}.log"));
        let mut server = start_logged(&db, &often, &log).await;
        // One whole checkpoint, then more events and the next one, which
        // the kill interrupts.
        feed(&server, &mut rng, round * 1000, 300, 400).await;
        wait_for(&log, "checkpoint written", 1).await;
        feed(&server, &mut rng, round * 1000 + 500, 300, 400).await;
        let started = occurrences(&log, "writing a checkpoint");
        wait_for(&log, "writing a checkpoint", started + 1).await;
        server.kill9();
    }
    let log = dir.path().join("after.log");
    let server = start_logged(&db, &[], &log).await;
    let after = answers(&server).await;
    drop(server);
    let text = read_log(&log);
    assert!(text.contains("restored the checkpoint"), "{text}");
    assert_same(
        &after,
        &replayed(&db, &dir).await,
        "restarted vs a whole replay",
    );
}
