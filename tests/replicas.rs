//! Replicas: three real `golive serve` processes on one PostgreSQL
//! database serve the same data. Writes spread over all three by
//! concurrent clients are in every replica's report (equal to a count made
//! here) and `/metrics`; a display socket on one replica sees a write made
//! on another within the contract's 2 seconds; a notification that never
//! arrives costs nothing (each event is applied exactly once, counted by
//! `golive_events_applied_total` against the log's length); a revoked token
//! is refused and its socket closed on every replica; a replica killed with
//! `kill -9` mid-load loses no acknowledged write while the others keep
//! serving, and catches up when started again; and a PostgreSQL restart
//! under load is survived by all three without help (on a private cluster,
//! never the shared server).

mod support;

use futures::StreamExt;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::metrics::{Metrics, Series};
use support::pg_cluster::{PgCluster, StopMode};
use support::socket::{Socket, next_text, open_socket};
use support::{ADMIN_TOKEN, Backend, Server, TestDb, count_rows, query_strings, ticket};
use tokio_tungstenite::tungstenite::Message;

/// The contract's bound for a write to reach every replica.
const WITHIN: Duration = Duration::from_secs(2);

/// Sites the writers spread tickets over.
const SITES: [&str; 3] = ["Main Campus", "North Hospital", "South Clinic"];

/// Three replicas on `db`, pushing boards every 200 ms (the contract's
/// bound leaves the default second for the push; the tests need less
/// slack on a busy machine).
async fn three(db: &TestDb, env: &[&[(&str, &str)]; 3]) -> (Vec<Server>, tempfile::TempDir) {
    three_configured(db, env, "").await
}

/// [`three`] with more settings in their config file.
async fn three_configured(
    db: &TestDb,
    env: &[&[(&str, &str)]; 3],
    settings: &str,
) -> (Vec<Server>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("golive.toml");
    std::fs::write(&config, format!("push_interval_ms = 200\n{settings}")).expect("config");
    let config = config.to_str().expect("utf-8 path").to_string();
    let mut servers = Vec::new();
    for env in env {
        servers.push(Server::start_with(db, &["--config", &config], env).await);
    }
    (servers, dir)
}

fn iso(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The report over the last two hours up to a fixed instant (so every
/// replica is asked for the same window).
fn report_path(to: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "/api/v1/report?from={}&to={}&group_by=site",
        iso(to - chrono::Duration::hours(2)),
        iso(to)
    )
}

/// Tickets opened per site, as a report gives them.
fn opened_by_site(report: &Value) -> BTreeMap<String, u64> {
    report["tickets_by"]["site"]
        .as_object()
        .map(|sites| {
            sites
                .iter()
                .map(|(site, figures)| (site.clone(), figures["opened"].as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// The domain series of a scrape (what every replica must show alike).
fn domain_series(metrics: &Metrics) -> BTreeMap<Series, f64> {
    metrics
        .by_series()
        .into_iter()
        .filter(|((name, _), _)| {
            name.starts_with("golive_tickets_") || name.starts_with("golive_calls_")
        })
        .collect()
}

/// The log's length, read from the database.
async fn log_length(db_url: &str) -> u64 {
    count_rows(db_url, "SELECT COUNT(*) FROM events").await as u64
}

/// Waits until every replica applied the whole log exactly once and their
/// reports and domain metrics are equal; returns the common report.
/// `expected` is the count of tickets per site made by the test.
async fn converged(
    servers: &[&Server],
    expected: &BTreeMap<String, u64>,
    within: Duration,
) -> Value {
    let to = chrono::Utc::now() + chrono::Duration::minutes(1);
    let deadline = Instant::now() + within;
    loop {
        // Read each time: the leader may add an alert event meanwhile.
        let log = log_length(&servers[0].db_url).await;
        let mut reports = Vec::new();
        let mut series = Vec::new();
        let mut applied = Vec::new();
        for server in servers {
            let (status, report) = server.get(&report_path(to)).await;
            assert_eq!(status, StatusCode::OK, "{report}");
            reports.push(report);
            let metrics = server.metrics().await;
            series.push(domain_series(&metrics));
            // Events applied since the replica started, over every kind.
            applied.push(metrics.sum("golive_events_applied_total") as u64);
        }
        let done = reports.iter().all(|r| &opened_by_site(r) == expected)
            && reports.windows(2).all(|w| w[0] == w[1])
            && series.windows(2).all(|w| w[0] == w[1])
            && applied.iter().all(|&a| a == log);
        if done {
            return reports.swap_remove(0);
        }
        if Instant::now() > deadline {
            let opened: Vec<_> = reports.iter().map(opened_by_site).collect();
            panic!(
                "replicas differ {within:?} after the last acknowledged write: \
                 opened {opened:?} (expected {expected:?}), events applied {applied:?} \
                 of {log}, metrics equal: {}",
                series.windows(2).all(|w| w[0] == w[1])
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One burst: `clients` concurrent clients, client `c` writing `per_client`
/// tickets to replica `c % 3` and resolving every third of its tickets on
/// the next replica. Returns the tickets made per site.
async fn burst(
    servers: &[&Server],
    clients: usize,
    per_client: usize,
    tag: &str,
) -> BTreeMap<String, u64> {
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let client = Client::new();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (bases, client, tag) = (bases.clone(), client.clone(), tag.to_string());
            tokio::spawn(async move {
                let mut made = BTreeMap::<String, u64>::new();
                for n in 0..per_client {
                    let site = SITES[(c + n) % SITES.len()];
                    let base = &bases[c % bases.len()];
                    let response = client
                        .post(format!("{base}/api/v1/tickets"))
                        .bearer_auth(ADMIN_TOKEN)
                        .json(&ticket(json!({
                            "site": site,
                            "external_id": format!("{tag}-{c}-{n}"),
                            "opened_at": iso(chrono::Utc::now() - chrono::Duration::minutes(10)),
                        })))
                        .send()
                        .await
                        .expect("request sent");
                    assert_eq!(response.status(), StatusCode::CREATED);
                    let body: Value = response.json().await.expect("JSON");
                    *made.entry(site.to_string()).or_default() += 1;
                    if n % 3 == 0 {
                        let id = body["id"].as_str().expect("id").to_string();
                        let other = &bases[(c + 1) % bases.len()];
                        let response = client
                            .patch(format!("{other}/api/v1/tickets/{id}"))
                            .bearer_auth(ADMIN_TOKEN)
                            .json(&json!({"status": "resolved"}))
                            .send()
                            .await
                            .expect("request sent");
                        assert_eq!(
                            response.status(),
                            StatusCode::OK,
                            "a ticket made on one replica is resolved on another"
                        );
                    }
                }
                made
            })
        })
        .collect();
    let mut total = BTreeMap::new();
    for task in tasks {
        for (site, n) in task.await.expect("client") {
            *total.entry(site).or_default() += n;
        }
    }
    total
}

fn add(total: &mut BTreeMap<String, u64>, more: BTreeMap<String, u64>) {
    for (site, n) in more {
        *total.entry(site).or_default() += n;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_spread_over_three_replicas_are_in_every_report() {
    let db = TestDb::new(Backend::Postgres).await;
    let (servers, _dir) = three(&db, &[&[], &[], &[]]).await;
    let all: Vec<&Server> = servers.iter().collect();
    let mut expected = BTreeMap::new();
    for round in 0..3 {
        add(
            &mut expected,
            burst(&all, 6, 12, &format!("r{round}")).await,
        );
        let report = converged(&all, &expected, WITHIN).await;
        let resolved = report["tickets"]["resolved"].as_u64().unwrap_or(0);
        assert_eq!(
            resolved,
            6 * 4 * (round + 1),
            "every third ticket resolved: {report}"
        );
    }
    // Label capping follows the log: the same series on every replica.
    assert!(
        domain_series(&all[0].metrics().await)
            .keys()
            .any(|(_, labels)| labels.values().any(|v| v == "Main Campus"))
    );
}

/// Label capping depends on the log's order alone: with two site values
/// kept, sites first written concurrently on different replicas are kept
/// or folded into `other` alike on every replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_capping_is_the_same_on_every_replica() {
    let db = TestDb::new(Backend::Postgres).await;
    let (servers, _dir) = three_configured(&db, &[&[], &[], &[]], "max_label_values = 2\n").await;
    let all: Vec<&Server> = servers.iter().collect();
    let expected = burst(&all, 6, 6, "cap").await;
    // The report names every site; /metrics keeps two and folds the third.
    converged(&all, &expected, WITHIN).await;
    let series = domain_series(&all[0].metrics().await);
    let sites: std::collections::BTreeSet<&str> = series
        .keys()
        .filter_map(|(_, labels)| labels.get("site").map(String::as_str))
        .collect();
    let named: std::collections::BTreeSet<&str> = SITES
        .iter()
        .copied()
        .filter(|site| sites.contains(site))
        .collect();
    assert_eq!(named.len(), 2, "two sites keep their names: {named:?}");
    assert!(sites.contains("other"));
    // The first two sites in the log are the ones kept.
    let first_sites = query_strings(
        &db.url,
        "SELECT site FROM tickets GROUP BY site ORDER BY MIN(id) LIMIT 2",
    )
    .await;
    let first: std::collections::BTreeSet<&str> = first_sites.iter().map(String::as_str).collect();
    assert_eq!(named, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_on_one_replica_sees_a_write_on_another_within_2_seconds() {
    let db = TestDb::new(Backend::Postgres).await;
    let (servers, _dir) = three(&db, &[&[], &[], &[]]).await;
    let (a, c) = (&servers[0], &servers[2]);
    let display = a.token("display").await;
    let mut socket = open_socket(c, &display).await;
    for n in 1..=3u64 {
        let (status, body) = a
            .post(
                "/api/v1/tickets",
                &ticket(
                    json!({"opened_at": iso(chrono::Utc::now() - chrono::Duration::minutes(1))}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let acknowledged = Instant::now();
        loop {
            let left = (acknowledged + WITHIN).saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "write {n} on A not on C's display within {WITHIN:?}"
            );
            let message = next_text(&mut socket, left).await.expect("socket open");
            if message["type"] == "board" && opened_15m(&message["board"]) == n {
                break;
            }
        }
    }
}

/// Notifications are hints: a replica that hears none of them (the fault
/// hook drops every one) or whose listener connection is cut (its backend
/// terminated, so notifications sent meanwhile are lost) still applies
/// every event once, by its periodic catch-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_notifications_lose_no_event_and_apply_none_twice() {
    let db = TestDb::new(Backend::Postgres).await;
    let deaf: &[(&str, &str)] = &[("GOLIVE_FAULT_INJECTION", "drop_notifications")];
    let (servers, _dir) = three(&db, &[&[], deaf, &[]]).await;
    let all: Vec<&Server> = servers.iter().collect();
    let mut expected = BTreeMap::new();
    for round in 0..4 {
        // Cut every listener connection while writes go on.
        let cutter = {
            let url = db.url.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(30 * (round + 1))).await;
                terminate_listeners(&url).await
            })
        };
        add(
            &mut expected,
            burst(&[all[0], all[2]], 4, 6, &format!("n{round}")).await,
        );
        let cut = cutter.await.expect("cutter");
        assert!(
            cut >= 2,
            "every replica's listener was found and cut ({cut})"
        );
        // A catch-up every 500 ms bounds what a lost notification costs.
        converged(&all, &expected, WITHIN).await;
    }
    // Each listener came back by itself.
    let deadline = Instant::now() + Duration::from_secs(10);
    while listeners(&db.url).await < 3 {
        assert!(Instant::now() < deadline, "the listeners reconnect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_on_one_replica_is_refused_on_all_within_2_seconds() {
    let db = TestDb::new(Backend::Postgres).await;
    let (servers, _dir) = three(&db, &[&[], &[], &[]]).await;
    let (a, b, c) = (&servers[0], &servers[1], &servers[2]);
    let (status, body) = a
        .post(
            "/api/v1/tokens",
            &json!({"role": "display", "name": "wall-7"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().expect("id");
    let token = body["token"].as_str().expect("token").to_string();
    for server in [b, c] {
        let (status, _) = server
            .call(Method::GET, "/api/v1/board", Some(&token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "the token works everywhere first");
    }
    let mut socket = open_socket(b, &token).await;
    let (status, body) = a
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let revoked = Instant::now();
    for server in [b, c] {
        loop {
            let (status, _) = server
                .call(Method::GET, "/api/v1/board", Some(&token), None)
                .await;
            if status == StatusCode::UNAUTHORIZED {
                break;
            }
            assert!(
                revoked.elapsed() < WITHIN,
                "the token still works {WITHIN:?} after revocation"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    loop {
        let left = (revoked + WITHIN).saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "B's socket still open {WITHIN:?} after revocation"
        );
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => panic!("B's socket still open {WITHIN:?} after revocation"),
            Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(Message::Close(frame)))) => {
                if let Some(frame) = frame {
                    assert_eq!(u16::from(frame.code), 1008, "policy-violation close");
                }
                break;
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// The active alerts of a replica's board: (id, raised_at).
async fn board_alerts(server: &Server) -> Vec<(String, String)> {
    let (status, board) = server.get("/api/v1/board").await;
    assert_eq!(status, StatusCode::OK, "{board}");
    board["alerts"]
        .as_array()
        .map(|alerts| {
            alerts
                .iter()
                .map(|a| {
                    let field = |k: &str| a[k].as_str().unwrap_or_default().to_string();
                    (field("id"), field("raised_at"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until every replica's board shows `expected` alerts.
async fn alerts_everywhere(servers: &[&Server], expected: usize) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut seen = Vec::new();
        for server in servers {
            seen.push(board_alerts(server).await);
        }
        if seen.iter().all(|s| s.len() == expected) && seen.windows(2).all(|w| w[0] == w[1]) {
            return seen.swap_remove(0);
        }
        assert!(
            Instant::now() < deadline,
            "replicas show different alerts: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The next alert message of `state` on `socket`.
async fn alert_message(socket: &mut Socket, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no alert {state}");
        let message = next_text(socket, left).await.expect("socket open");
        if message["type"] == "alert" && message["state"] == state {
            return message;
        }
    }
}

/// One leader writes alerts raised and cleared to the log and every
/// replica applies them: the same alert with the same raise time on every
/// board, raised once in the log; when the leader dies another replica
/// takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_raised_and_cleared_alike_on_every_replica() {
    let db = TestDb::new(Backend::Postgres).await;
    let (mut servers, _dir) = three(&db, &[&[], &[], &[]]).await;
    let display = servers[0].token("display").await;
    let mut socket = open_socket(&servers[2], &display).await;
    let one_minute_ago = || iso(chrono::Utc::now() - chrono::Duration::minutes(1));
    let (status, sev1) = servers[1]
        .post(
            "/api/v1/tickets",
            &ticket(json!({"severity": 1, "opened_at": one_minute_ago()})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sev1}");
    let raised = alert_message(&mut socket, "raised").await;
    assert_eq!(raised["alert"]["rule"], "sev1_open");
    let all: Vec<&Server> = servers.iter().collect();
    let alerts = alerts_everywhere(&all, 1).await;
    assert_eq!(alerts[0].0, "sev1_open:Main Campus:Orders");
    assert_eq!(
        raised["alert"]["raised_at"].as_str(),
        Some(alerts[0].1.as_str())
    );
    let raises = "SELECT COUNT(*) FROM events WHERE kind = 'alert_raised'";
    assert_eq!(
        count_rows(&db.url, raises).await,
        1,
        "raised once, by the leader"
    );

    let id = sev1["id"].as_str().expect("id");
    let (status, _) = servers[0]
        .patch(
            &format!("/api/v1/tickets/{id}"),
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let cleared = alert_message(&mut socket, "cleared").await;
    assert!(cleared["alert"]["cleared_at"].is_string());
    alerts_everywhere(&all, 0).await;
    let clears = "SELECT COUNT(*) FROM events WHERE kind = 'alert_cleared'";
    assert_eq!(count_rows(&db.url, clears).await, 1);

    // Whichever of A and B led, C leads once both are gone.
    servers[0].kill9();
    servers[1].kill9();
    let (status, _) = servers[2]
        .post(
            "/api/v1/tickets",
            &ticket(
                json!({"severity": 1, "site": "North Hospital", "opened_at": one_minute_ago()}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let raised = alert_message(&mut socket, "raised").await;
    assert_eq!(raised["alert"]["id"], "sev1_open:North Hospital:Orders");
}

/// Load that records every acknowledged ticket's external id.
struct Load {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<(usize, String)>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Two writers per replica, each posting tickets to its replica in a
    /// loop; a failed request is retried later under a new id (only
    /// acknowledged ones must survive).
    fn start(servers: &[&Server], tag: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let tasks = (0..servers.len() * 2)
            .map(|w| {
                let replica = w % servers.len();
                let url = format!("{}/api/v1/tickets", servers[replica].base);
                let (stop, acknowledged, client, tag) = (
                    stop.clone(),
                    acknowledged.clone(),
                    client.clone(),
                    tag.to_string(),
                );
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let external = format!("{tag}-{w}-{n}");
                        let sent = client
                            .post(&url)
                            .bearer_auth(ADMIN_TOKEN)
                            .json(&ticket(json!({"external_id": external})))
                            .send()
                            .await;
                        match sent {
                            Ok(r) if r.status() == StatusCode::CREATED => {
                                acknowledged.lock().expect("acks").push((replica, external));
                            }
                            _ => tokio::time::sleep(Duration::from_millis(50)).await,
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            acknowledged,
            tasks,
        }
    }

    /// Acknowledged writes so far, per replica.
    fn acked_by(&self, replica: usize) -> usize {
        self.acknowledged
            .lock()
            .expect("acks")
            .iter()
            .filter(|(r, _)| *r == replica)
            .count()
    }

    async fn wait_acks(&self, replica: usize, more_than: usize, within: Duration, what: &str) {
        let deadline = Instant::now() + within;
        while self.acked_by(replica) <= more_than {
            assert!(
                Instant::now() < deadline,
                "no acknowledged write on replica {replica} {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("writer");
        }
        let acks = self.acknowledged.lock().expect("acks");
        acks.iter().map(|(_, id)| id.clone()).collect()
    }
}

/// Every acknowledged external id is a ticket on `server`.
async fn has_all(server: &Server, acknowledged: &[String], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let known: std::collections::HashSet<String> = server
            .all_tickets()
            .await
            .iter()
            .filter_map(|t| t["external_id"].as_str().map(str::to_string))
            .collect();
        let missing = acknowledged
            .iter()
            .filter(|id| !known.contains(*id))
            .count();
        if missing == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} acknowledged writes missing on {}",
            acknowledged.len(),
            server.base
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_load_loses_nothing_and_catches_up_when_restarted() {
    let db = TestDb::new(Backend::Postgres).await;
    let (mut servers, dir) = three(&db, &[&[], &[], &[]]).await;
    let load = Load::start(&servers.iter().collect::<Vec<_>>(), "k");
    for replica in 0..3 {
        load.wait_acks(replica, 10, Duration::from_secs(30), "before the kill")
            .await;
    }
    servers[1].kill9();
    // The others keep serving.
    let (a_before, c_before) = (load.acked_by(0), load.acked_by(2));
    load.wait_acks(0, a_before + 10, Duration::from_secs(30), "after B died")
        .await;
    load.wait_acks(2, c_before + 10, Duration::from_secs(30), "after B died")
        .await;
    let acknowledged = load.stop().await;
    let log = log_length(&db.url).await;
    assert!(log as usize >= acknowledged.len());
    for server in [&servers[0], &servers[2]] {
        has_all(server, &acknowledged, WITHIN).await;
    }
    // B again, on the same database: it replays and follows.
    let config = dir.path().join("golive.toml");
    servers[1] = Server::start_with(&db, &["--config", config.to_str().expect("utf-8")], &[]).await;
    has_all(&servers[1], &acknowledged, WITHIN).await;
    let (status, body) = servers[1]
        .post(
            "/api/v1/tickets",
            &ticket(json!({"external_id": "after-restart"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut everything = acknowledged;
    everything.push("after-restart".into());
    for server in &servers {
        has_all(server, &everything, WITHIN).await;
    }
    let all: Vec<&Server> = servers.iter().collect();
    let expected = opened_by_site(
        &all[0]
            .get(&report_path(
                chrono::Utc::now() + chrono::Duration::minutes(1),
            ))
            .await
            .1,
    );
    converged(&all, &expected, WITHIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_recover_by_themselves_from_a_postgresql_restart_under_load() {
    if support::skip_postgres() {
        return;
    }
    let cluster = PgCluster::start().unwrap_or_else(|why| {
        panic!("cannot start a private PostgreSQL cluster: {why} (GOLIVE_SKIP_POSTGRES=1 skips)")
    });
    let url = cluster.create_database("golive").expect("create database");
    let db = TestDb::at_url(&url, Backend::Postgres);
    let (servers, _dir) = three(&db, &[&[], &[], &[]]).await;
    let all: Vec<&Server> = servers.iter().collect();
    let load = Load::start(&all, "pg");
    for replica in 0..3 {
        load.wait_acks(replica, 10, Duration::from_secs(30), "before the restart")
            .await;
    }
    for mode in [StopMode::Fast, StopMode::Immediate] {
        cluster.stop(mode).expect("stop PostgreSQL");
        tokio::time::sleep(Duration::from_secs(1)).await;
        cluster.start_again().expect("start PostgreSQL");
        // Every replica takes writes again, without a restart of its own.
        let after: Vec<usize> = (0..3).map(|r| load.acked_by(r)).collect();
        for (replica, before) in after.into_iter().enumerate() {
            load.wait_acks(
                replica,
                before + 5,
                Duration::from_secs(60),
                "after PostgreSQL restarted",
            )
            .await;
        }
    }
    let acknowledged = load.stop().await;
    // And follows the others again: a write on A reaches B and C.
    let (status, _) = all[0]
        .post(
            "/api/v1/tickets",
            &ticket(json!({"external_id": "after-pg-restart"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut everything = acknowledged;
    everything.push("after-pg-restart".into());
    for server in &all {
        has_all(server, &everything, Duration::from_secs(10)).await;
    }
    let expected = opened_by_site(
        &all[0]
            .get(&report_path(
                chrono::Utc::now() + chrono::Duration::minutes(1),
            ))
            .await
            .1,
    );
    converged(&all, &expected, Duration::from_secs(10)).await;
}

/// Terminates every log listener's backend on the database; how many.
async fn terminate_listeners(db_url: &str) -> usize {
    query_strings(
        db_url,
        "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity \
         WHERE application_name = 'golive-log-listener' AND datname = current_database()",
    )
    .await
    .len()
}

/// Log listeners connected to the database.
async fn listeners(db_url: &str) -> i64 {
    count_rows(
        db_url,
        "SELECT COUNT(*) FROM pg_stat_activity \
         WHERE application_name = 'golive-log-listener' AND datname = current_database()",
    )
    .await
}

fn opened_15m(board: &Value) -> u64 {
    board["windows"]["15m"]["tickets"]["opened"]
        .as_u64()
        .unwrap_or(0)
}

/// Whether `/readyz` answers 200 now.
async fn is_ready(server: &Server) -> bool {
    server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .is_ok_and(|response| response.status() == StatusCode::OK)
}

/// A log replaced under a running replica (a new database behind the same
/// URL, as a restored backup would be) is noticed, and the replica starts
/// again in the same process and replays it: its reports go from the old
/// log's figures to the new one's, never a mix of both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_replays_a_log_replaced_under_it() {
    let db = TestDb::new(Backend::Postgres).await;
    let replica = Server::start(&db).await;
    let to = chrono::Utc::now() + chrono::Duration::minutes(30);
    for n in 0..5 {
        let body = ticket(json!({"site": "Old Site", "external_id": format!("OLD-{n}")}));
        let (status, answer) = replica.post("/api/v1/tickets", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let old = BTreeMap::from([("Old Site".to_string(), 5)]);
    let (_, report) = replica.get(&report_path(to)).await;
    assert_eq!(opened_by_site(&report), old);

    // The database is dropped and made again; another process writes a
    // longer log into it, so the replica's last event (5) is there but is
    // another event.
    let (base, name) = db.url.rsplit_once('/').expect("database url");
    let admin = format!("{base}/test");
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("admin connection");
    for statement in [
        format!("DROP DATABASE {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::query(&statement)
            .execute(&mut conn)
            .await
            .expect("replace the database");
    }
    let mut other = Server::start(&TestDb::at_url(&db.url, Backend::Postgres)).await;
    for n in 0..7 {
        let body = ticket(json!({"site": "New Site", "external_id": format!("NEW-{n}")}));
        let (status, answer) = other.post("/api/v1/tickets", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    assert!(other.terminate().is_some_and(|s| s.success()));

    let new = BTreeMap::from([("New Site".to_string(), 7)]);
    // The replica may notice the replacement before the other process has
    // written all of its log, replay what is there and follow the rest: a
    // prefix of the new log (none of it, or some of its tickets) is a
    // right answer on the way, as long as it is the new log's alone.
    let new_so_far = |sites: &BTreeMap<String, u64>| {
        sites.keys().all(|site| site == "New Site") && sites.values().all(|n| *n <= 7)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // While it notices and starts again, a ready replica's answer is
        // the old log's figures, the new log's so far, a refusal or no
        // answer; never both logs at once. (Reads are refused while it
        // replays; a load balancer routes on `/readyz`.)
        let ready_before = is_ready(&replica).await;
        if let Ok(response) = replica
            .client
            .get(replica.url(&report_path(to)))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            && response.status() == StatusCode::OK
            && ready_before
            && is_ready(&replica).await
        {
            let report: Value = response.json().await.unwrap_or(Value::Null);
            let sites = opened_by_site(&report);
            if sites == new {
                break;
            }
            assert!(
                sites == old || new_so_far(&sites),
                "a report mixing two logs: {report}"
            );
        }
        assert!(Instant::now() < deadline, "the replaced log never replayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    replica.wait_ready().await;
}
