//! The live hub over real WebSockets (tokio-tungstenite as the client):
//! snapshot on connect, boards pushed after a write to every socket,
//! scoped subscriptions, alerts, a display that never reads not holding
//! the others back, and authentication.

mod support;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Backend, Server, TestDb, ticket};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server whose publisher ticks every 200 ms, to keep the tests short.
async fn fast_server(db: &TestDb) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("golive.toml");
    std::fs::write(&config, "push_interval_ms = 200\n").expect("config");
    let server =
        Server::start_with(db, &["--config", config.to_str().expect("utf-8 path")], &[]).await;
    (server, dir)
}

fn ws_url(server: &Server, query: &str) -> String {
    format!(
        "{}/api/v1/live?{query}",
        server.base.replacen("http://", "ws://", 1)
    )
}

async fn connect(server: &Server, query: &str) -> Socket {
    let (socket, _) = connect_async(ws_url(server, query))
        .await
        .expect("websocket handshake");
    socket
}

/// The next JSON text message, skipping pings; panics after `within`.
async fn next_json(socket: &mut Socket, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, socket.next())
            .await
            .expect("a message before the deadline")
            .expect("socket open")
            .expect("valid frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("JSON message");
        }
    }
}

/// Reads boards until `predicate` holds for one; returns it.
async fn board_where(
    socket: &mut Socket,
    within: Duration,
    predicate: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no matching board within {within:?}");
        let message = next_json(socket, left).await;
        if message["type"] == "board" && predicate(&message["board"]) {
            return message;
        }
    }
}

fn opened_60m(board: &Value) -> u64 {
    board["windows"]["60m"]["tickets"]["opened"]
        .as_u64()
        .unwrap_or(0)
}

fn minutes_ago(minutes: i64) -> String {
    let at = chrono::Utc::now() - chrono::Duration::minutes(minutes);
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn snapshot_then_updates(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (server, _dir) = fast_server(&db).await;
    let display = server.token("display").await;
    server
        .post(
            "/api/v1/tickets",
            &ticket(json!({"opened_at": minutes_ago(5)})),
        )
        .await;

    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut socket = connect(&server, &format!("token={display}")).await;
        // The snapshot is the latest published board, at most one push
        // interval old: the write above shows in it or in the next board.
        let board = board_or_snapshot(&mut socket, |b| opened_60m(b) == 1).await;
        assert_eq!(board["windows"]["15m"]["tickets"]["opened"], 1);
        sockets.push(socket);
    }

    let (status, _) = server
        .post(
            "/api/v1/tickets",
            &ticket(json!({"opened_at": minutes_ago(1), "site": "North Hospital"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for socket in &mut sockets {
        let update = board_where(socket, Duration::from_secs(5), |b| opened_60m(b) == 2).await;
        assert!(update["seq"].as_u64().unwrap_or(0) >= 2, "{update}");
        let text = update.to_string();
        assert!(!text.contains("summary"), "no ticket text on the board");
    }

    // The REST board and the pushed one agree.
    let (status, rest) = server.get("/api/v1/board").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(opened_60m(&rest), 2);
}
both_backends!(snapshot_and_push, snapshot_then_updates);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_subscriptions_see_only_their_scope() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (server, _dir) = fast_server(&db).await;
    let display = server.token("display").await;
    for (site, n) in [("Main Campus", 3), ("North Hospital", 2)] {
        for _ in 0..n {
            server
                .post(
                    "/api/v1/tickets",
                    &ticket(json!({"site": site, "opened_at": minutes_ago(3)})),
                )
                .await;
        }
    }
    let feed = server.token("integration").await;
    for (call, queue) in [
        ("s1", "Physician Line"),
        ("s2", "Nursing Line"),
        ("s3", "Nursing Line"),
    ] {
        let body =
            json!({"call_id": call, "queue": queue, "event": "offered", "at": minutes_ago(2)});
        server
            .call(
                reqwest::Method::POST,
                "/api/v1/calls/events",
                Some(&feed),
                Some(&body),
            )
            .await;
    }
    let mut north = connect(&server, &format!("token={display}&site=North%20Hospital")).await;
    let board = board_or_snapshot(&mut north, |b| opened_60m(b) == 2).await;
    let window = &board["windows"]["60m"];
    let sites: Vec<&String> = window["tickets_by"]["site"]
        .as_object()
        .expect("sites")
        .keys()
        .collect();
    assert_eq!(sites, ["North Hospital"]);
    assert_eq!(board["scope"]["site"], "North Hospital");

    let mut nursing = connect(&server, &format!("token={display}&queue=Nursing%20Line")).await;
    let board = board_or_snapshot(&mut nursing, |b| {
        b["windows"]["60m"]["calls"]["offered"] == 2
    })
    .await;
    let queues: Vec<&String> = board["windows"]["60m"]["calls_by_queue"]
        .as_object()
        .expect("queues")
        .keys()
        .collect();
    assert_eq!(queues, ["Nursing Line"]);
    assert!(
        board["staffing"]
            .as_array()
            .expect("staffing")
            .iter()
            .all(|line| line["queue"] == "Nursing Line")
    );
}

/// The snapshot if it already satisfies `predicate`, else the next board
/// that does.
async fn board_or_snapshot(socket: &mut Socket, predicate: impl Fn(&Value) -> bool) -> Value {
    let first = next_json(socket, Duration::from_secs(10)).await;
    assert_eq!(first["type"], "snapshot");
    if predicate(&first["board"]) {
        return first["board"].clone();
    }
    board_where(socket, Duration::from_secs(5), predicate).await["board"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_raised_and_cleared() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (server, _dir) = fast_server(&db).await;
    let display = server.token("display").await;
    let mut socket = connect(&server, &format!("token={display}")).await;
    next_json(&mut socket, Duration::from_secs(10)).await;
    let (_, sev1) = server
        .post(
            "/api/v1/tickets",
            &ticket(json!({"severity": 1, "opened_at": minutes_ago(1)})),
        )
        .await;
    let raised = wait_alert(&mut socket, "raised").await;
    assert_eq!(raised["alert"]["rule"], "sev1_open");
    assert_eq!(raised["alert"]["severity"], "critical");
    assert!(raised["alert"]["raised_at"].is_string());
    let id = sev1["id"].as_str().expect("id");
    server
        .patch(
            &format!("/api/v1/tickets/{id}"),
            &json!({"status": "resolved"}),
        )
        .await;
    let cleared = wait_alert(&mut socket, "cleared").await;
    assert_eq!(cleared["alert"]["rule"], "sev1_open");
    assert!(cleared["alert"]["cleared_at"].is_string());
}

async fn wait_alert(socket: &mut Socket, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no alert {state}");
        let message = next_json(socket, left).await;
        if message["type"] == "alert" && message["state"] == state {
            return message;
        }
    }
}

/// A display that stopped reading must not delay the others: with one
/// stuck socket holding a full send buffer, the others still get each new
/// board within the push interval plus a margin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_display_does_not_hold_back_the_others() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (server, _dir) = fast_server(&db).await;
    let display = server.token("display").await;
    // Boards big enough to fill socket buffers quickly: many applications.
    let mut lines = Vec::new();
    for n in 0..400 {
        let mut line = ticket(
            json!({"application": format!("App {n:03}"), "site": format!("Site {:02}", n % 40),
            "opened_at": minutes_ago(30)}),
        );
        line["kind"] = json!("ticket");
        lines.push(line.to_string());
    }
    let feed = server.token("integration").await;
    let (status, _) = server.ingest(&feed, lines.join("\n")).await;
    assert_eq!(status, StatusCode::OK);

    let stuck = connect(&server, &format!("token={display}")).await; // never read
    let mut healthy = connect(&server, &format!("token={display}")).await;
    next_json(&mut healthy, Duration::from_secs(10)).await;

    let mut worst = Duration::ZERO;
    for round in 1..=12u64 {
        let posted = Instant::now();
        server
            .post(
                "/api/v1/tickets",
                &ticket(json!({"opened_at": minutes_ago(1), "application": "Orders"})),
            )
            .await;
        board_where(&mut healthy, Duration::from_secs(5), |b| {
            b["windows"]["60m"]["tickets_by"]["application"]["Orders"]["opened"].as_u64()
                == Some(round)
        })
        .await;
        worst = worst.max(posted.elapsed());
    }
    eprintln!("worst commit-to-board latency with a stuck peer: {worst:?}");
    assert!(
        worst < Duration::from_secs(2),
        "a stuck display delayed the others: {worst:?}"
    );
    drop(stuck);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_need_a_reader_token() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    let refused = connect_async(ws_url(&server, "")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let refused = connect_async(ws_url(&server, "token=wrong")).await;
    assert!(
        matches!(refused, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 401)
    );
    // A bearer header works as well as ?token=.
    let display = server.token("display").await;
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws_url(
            &server, "",
        ))
        .expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {display}").parse().expect("header"),
    );
    let (mut socket, _) = connect_async(request)
        .await
        .expect("bearer header accepted");
    let first = next_json(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(first["type"], "snapshot");
    socket.close(None).await.ok();
    let _ = socket.send(Message::Close(None)).await;
}

/// Reads text messages until `until`; returns them (pings are not
/// messages a display acts on, and are skipped).
async fn texts_until(socket: &mut Socket, until: Instant) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => return out,
            Ok(Some(Ok(Message::Text(text)))) => {
                out.push(serde_json::from_str(&text).expect("JSON message"))
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("socket ended: {other:?}"),
        }
    }
}

/// Nothing changes for 30 s: no display is sent anything (the window
/// bounds move every second, the figures do not). Then one ticket reaches
/// every display of the whole center and of its site within the push
/// interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_board_sends_nothing_and_a_change_reaches_every_display() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await; // push interval: the default 1 s
    let push_interval = Duration::from_secs(1);
    let display = server.token("display").await;
    let feed = server.token("integration").await;
    for (minutes, site) in [
        (1, "Main Campus"),
        (2, "North Hospital"),
        (3, "Main Campus"),
    ] {
        let (status, _) = server
            .post(
                "/api/v1/tickets",
                &ticket(json!({"opened_at": minutes_ago(minutes), "site": site})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    for (event, minutes) in [("offered", 3), ("answered", 2), ("ended", 1)] {
        let body = json!({"call_id": "i1", "queue": "Nursing Line", "event": event, "at": minutes_ago(minutes)});
        let (status, body) = server
            .call(
                reqwest::Method::POST,
                "/api/v1/calls/events",
                Some(&feed),
                Some(&body),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let mut sockets = Vec::new();
    for query in ["", "", "", "&site=Main%20Campus"] {
        let mut socket = connect(&server, &format!("token={display}{query}")).await;
        board_or_snapshot(&mut socket, |b| opened_60m(b) >= 2).await;
        sockets.push(socket);
    }
    // Let a board built for a socket alone meet the publisher's first one.
    tokio::time::sleep(2 * push_interval).await;
    for socket in &mut sockets {
        texts_until(socket, Instant::now() + Duration::from_millis(10)).await;
    }
    let quiet_until = Instant::now() + Duration::from_secs(30);
    for (n, socket) in sockets.iter_mut().enumerate() {
        let sent = texts_until(socket, quiet_until).await;
        assert!(
            sent.is_empty(),
            "display {n} was sent {} messages while idle: {sent:?}",
            sent.len()
        );
    }

    let posted = Instant::now();
    let (status, _) = server
        .post(
            "/api/v1/tickets",
            &ticket(json!({"opened_at": minutes_ago(0), "site": "Main Campus"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let committed = posted.elapsed();
    for (n, socket) in sockets.iter_mut().enumerate() {
        let expected = if n == 3 { 3 } else { 4 };
        board_where(socket, Duration::from_secs(5), |b| {
            opened_60m(b) == expected
        })
        .await;
        let took = posted.elapsed();
        eprintln!(
            "display {n}: the change arrived {took:?} after the write ({committed:?} to commit)"
        );
        assert!(
            took <= committed + push_interval + Duration::from_millis(500),
            "display {n}: {took:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_scopes_are_404_before_the_upgrade() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    let display = server.token("display").await;
    server
        .post(
            "/api/v1/tickets",
            &ticket(json!({"site": "North Hospital"})),
        )
        .await;
    for query in ["site=Nowhere", "queue=Nobody%20Line"] {
        let (status, body) = server
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/board?{query}"),
                Some(&display),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"]["code"], "unknown_scope");
        match connect_async(ws_url(&server, &format!("token={display}&{query}"))).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 404)
            }
            other => panic!("expected 404 before the upgrade, got {other:?}"),
        }
    }
    let board = |query: &'static str| {
        let (server, display) = (&server, display.clone());
        async move {
            server
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/board?{query}"),
                    Some(&display),
                    None,
                )
                .await
        }
    };
    let (status, _) = board("site=North%20Hospital&queue=X").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, board) = board("site=North%20Hospital").await;
    assert_eq!(status, StatusCode::OK, "{board}");
    assert_eq!(board["scope"]["site"], "North Hospital");
}

/// An acknowledgement is an event: every display sees it with who made it
/// (the token's name, never the token) and the note, and it survives a
/// restart, which replays the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_reach_every_display_and_survive_a_restart() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (mut server, dir) = fast_server(&db).await;
    let display = server.token("display").await;
    let lead = server.token("lead").await;
    let agent = server.token("agent").await;
    server
        .post(
            "/api/v1/tickets",
            &ticket(json!({"severity": 1, "site": "Main Campus", "application": "MAR", "opened_at": minutes_ago(4)})),
        )
        .await;
    let id = "sev1_open:Main Campus:MAR";
    let path = "/api/v1/alerts/sev1_open%3AMain%20Campus%3AMAR/ack";
    let mut socket = connect(&server, &format!("token={display}")).await;
    board_or_snapshot(&mut socket, |b| b["alerts"][0]["id"] == id).await;

    let ack = |token: &str, body: Value, path: &str| {
        let (server, token, path) = (&server, token.to_string(), path.to_string());
        async move {
            server
                .call(reqwest::Method::POST, &path, Some(&token), Some(&body))
                .await
        }
    };
    let (status, _) = ack(&display, json!({"note": "x"}), path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ack(&agent, json!({"note": "x"}), path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = ack(&lead, json!({"note": "n".repeat(501)}), path).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = ack(&lead, json!({}), "/api/v1/alerts/asa_high%3ANowhere/ack").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = ack(&lead, json!({"note": "Pharmacy is on it"}), path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["by"], "test-lead");

    let acknowledged = |b: &Value| b["alerts"][0]["acknowledged"]["by"] == "test-lead";
    let board = board_where(&mut socket, Duration::from_secs(5), acknowledged).await;
    let alert = &board["board"]["alerts"][0];
    assert_eq!(alert["acknowledged"]["note"], "Pharmacy is on it");
    assert!(alert["acknowledged"]["at"].is_string());
    assert!(!board.to_string().contains(&lead), "never the token itself");
    let stored = support::query_strings(
        &db.url,
        "SELECT payload FROM events WHERE kind = 'alert_acknowledged'",
    )
    .await;
    assert_eq!(stored.len(), 1, "one event in the log");

    // Restart: the log is replayed and the alert, still holding, keeps its
    // acknowledgement and the time it was raised.
    let raised_at = alert["raised_at"].clone();
    drop(socket);
    server.terminate();
    let config = dir.path().join("golive.toml");
    let server = Server::start_with(
        &db,
        &["--config", config.to_str().expect("utf-8 path")],
        &[],
    )
    .await;
    let mut socket = connect(&server, &format!("token={display}")).await;
    let board = board_or_snapshot(&mut socket, acknowledged).await;
    assert_eq!(board["alerts"][0]["raised_at"], raised_at);
    assert_eq!(
        board["alerts"][0]["acknowledged"]["note"],
        "Pharmacy is on it"
    );
}

/// Heavy work does not stall the async workers: with one async worker
/// (`TOKIO_WORKER_THREADS=1`, so any CPU work on it would hold up
/// everything else), while a large NDJSON body is parsed, decided and
/// applied and reports over its whole history are built and serialized,
/// `/healthz` still answers and a new live socket still gets its snapshot,
/// each well within a second (a generous bound, not a timing: the figure
/// is in docs/performance.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_work_leaves_requests_and_sockets_answering() {
    const LINES: usize = 60_000;
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("golive.toml");
    std::fs::write(&config, "push_interval_ms = 200\n").expect("config");
    let server = Server::start_with(
        &db,
        &["--config", config.to_str().expect("utf-8 path")],
        &[("TOKIO_WORKER_THREADS", "1")],
    )
    .await;
    let feeder = server.token("integration").await;
    let display = server.token("display").await;
    let opened = minutes_ago(30);
    let mut body = String::new();
    for n in 0..LINES {
        let mut line = ticket(json!({
            "kind": "ticket",
            "opened_at": opened,
            "application": format!("App {}", n % 40),
            "site": format!("Site {}", n % 12),
        }));
        line["external_id"] = json!(format!("bulk-{n}"));
        body.push_str(&line.to_string());
        body.push('\n');
    }

    let done = std::sync::atomic::AtomicBool::new(false);
    let heavy = async {
        let ingest = server.ingest(&feeder, body);
        let reports = async {
            let window = format!(
                "/api/v1/report?from={}&to={}&group_by=application",
                minutes_ago(24 * 60),
                minutes_ago(-5),
            );
            for _ in 0..5 {
                let (status, answer) = server.get(&window).await;
                assert_eq!(status, StatusCode::OK, "{answer}");
            }
        };
        let ((status, answer), ()) = tokio::join!(ingest, reports);
        done.store(true, std::sync::atomic::Ordering::Release);
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["accepted"], LINES, "{answer}");
    };
    // Probes as long as the heavy work runs.
    let probe = async {
        let (mut slowest_health, mut slowest_snapshot) = (Duration::ZERO, Duration::ZERO);
        let mut probes = 0;
        while !done.load(std::sync::atomic::Ordering::Acquire) {
            let started = Instant::now();
            let (status, _) = server.get("/healthz").await;
            assert_eq!(status, StatusCode::OK);
            slowest_health = slowest_health.max(started.elapsed());
            let started = Instant::now();
            let mut socket = connect(&server, &format!("token={display}")).await;
            let first = next_json(&mut socket, Duration::from_secs(10)).await;
            assert_eq!(first["type"], "snapshot");
            slowest_snapshot = slowest_snapshot.max(started.elapsed());
            socket.close(None).await.ok();
            probes += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (slowest_health, slowest_snapshot, probes)
    };
    let ((), (slowest_health, slowest_snapshot, probes)) = tokio::join!(heavy, probe);
    assert!(probes >= 3, "the heavy work was over before it was probed");
    assert!(
        slowest_health < Duration::from_secs(1),
        "/healthz took {slowest_health:?} during heavy work"
    );
    assert!(
        slowest_snapshot < Duration::from_secs(1),
        "a live socket's snapshot took {slowest_snapshot:?} during heavy work"
    );
}
