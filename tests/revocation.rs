//! Token revocation reaches every door within 2 seconds, whoever revokes:
//! the admin API on this server, `golive token revoke` from the command
//! line (another process on the same database) or another server process
//! on the same database. A revoked token's open live sockets are closed
//! and the token is refused. Real binaries, both backends.

mod support;

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};
use support::socket::{Socket, next_text, open_socket};
use support::{Backend, Server, TestDb, run_cli};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

/// The contract's bound.
const WITHIN: Duration = Duration::from_secs(2);

/// A display token made through the admin API: (id, secret).
async fn display_token(server: &Server, name: &str) -> (i64, String) {
    let (status, body) = server
        .post("/api/v1/tokens", &json!({"role": "display", "name": name}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["id"].as_i64().expect("id"),
        body["token"].as_str().expect("token").to_string(),
    )
}

/// Waits until the server closes `socket` (boards before that are fine);
/// returns how long that took from `since`. Panics past `WITHIN`, with
/// some slack for a loaded machine reported separately.
async fn closed_within(socket: &mut Socket, since: Instant) -> Duration {
    loop {
        let left = (since + WITHIN).saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "socket still open {WITHIN:?} after revocation"
        );
        match tokio::time::timeout(left, socket.next()).await {
            Err(_) => panic!("socket still open {WITHIN:?} after revocation"),
            Ok(None) | Ok(Some(Err(_))) => return since.elapsed(),
            Ok(Some(Ok(Message::Close(frame)))) => {
                if let Some(frame) = frame {
                    assert_eq!(u16::from(frame.code), 1008, "policy-violation close");
                }
                return since.elapsed();
            }
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Polls a read with `token` until it is refused with 401; returns how
/// long that took from `since`. Panics past `WITHIN`.
async fn refused_within(server: &Server, token: &str, since: Instant) -> Duration {
    loop {
        let (status, body) = server
            .call(Method::GET, "/api/v1/board", Some(token), None)
            .await;
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(body["error"]["code"], "unauthorized", "{body}");
            return since.elapsed();
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            since.elapsed() < WITHIN,
            "revoked token still accepted {WITHIN:?} after revocation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn assert_works(server: &Server, token: &str) {
    let (status, body) = server
        .call(Method::GET, "/api/v1/board", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn api_revocation_closes_sockets(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let (id, token) = display_token(&server, "wall-1").await;
    let (_, other) = display_token(&server, "wall-2").await;
    assert_works(&server, &token).await;
    let mut socket = open_socket(&server, &token).await;
    let mut bystander = open_socket(&server, &other).await;

    let revoked_at = Instant::now();
    let (status, body) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(support::ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let took = closed_within(&mut socket, revoked_at).await;
    eprintln!("{backend:?}: socket closed {took:?} after DELETE");
    refused_within(&server, &token, revoked_at).await;

    // Another token's socket stays open and keeps getting boards.
    let (status, _) = server
        .post("/api/v1/tickets", &support::ticket(json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let next = next_text(&mut bystander, Duration::from_secs(10)).await;
    assert!(next.is_some(), "an unrevoked token's socket stays open");
    assert_works(&server, &other).await;
    // A revoked token cannot open a new socket.
    let url = format!(
        "{}/api/v1/live?token={token}",
        server.base.replacen("http://", "ws://", 1)
    );
    assert!(connect_async(url).await.is_err(), "handshake refused");
}
both_backends!(api_revocation, api_revocation_closes_sockets);

async fn cli_revocation_reaches_the_server(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let (id, token) = display_token(&server, "wall-cli").await;
    // Cached as good by the server.
    assert_works(&server, &token).await;
    assert_works(&server, &token).await;
    let mut socket = open_socket(&server, &token).await;

    let id = id.to_string();
    let (ok, stdout, stderr) = run_cli(&["token", "revoke", &id, "--database", &db.url]);
    let revoked_at = Instant::now();
    assert!(ok, "golive token revoke: {stdout} {stderr}");
    let refused = refused_within(&server, &token, revoked_at).await;
    let closed = closed_within(&mut socket, revoked_at).await;
    eprintln!(
        "{backend:?}: CLI revocation refused after {refused:?}, socket closed after {closed:?}"
    );
}
both_backends!(cli_revocation, cli_revocation_reaches_the_server);

async fn revocation_on_one_server_reaches_another(backend: Backend) {
    let db = TestDb::new(backend).await;
    let first = Server::start(&db).await;
    let second = Server::start(&db).await;
    let (id, token) = display_token(&first, "wall-replica").await;
    assert_works(&second, &token).await;
    let mut socket = open_socket(&second, &token).await;

    let revoked_at = Instant::now();
    let (status, body) = first
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(support::ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let closed = closed_within(&mut socket, revoked_at).await;
    let refused = refused_within(&second, &token, revoked_at).await;
    eprintln!(
        "{backend:?}: revocation on another server: socket closed after {closed:?}, refused after {refused:?}"
    );
}
both_backends!(
    other_server_revocation,
    revocation_on_one_server_reaches_another
);
