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
