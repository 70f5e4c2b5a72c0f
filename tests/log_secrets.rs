//! No secret reaches the logs at any level: the real binary runs at
//! `RUST_LOG=trace` while a display opens the board page and the live
//! socket with `?token=`, clients send bearer tokens (good, revoked and
//! wrong), an admin makes a token, and an agent files a ticket whose
//! summary stands for patient data. Then the captured stderr must hold
//! none of the tokens and not the summary.

mod support;

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;
use support::{ADMIN_TOKEN, Backend, Server, TestDb, ticket};
use tokio_tungstenite::connect_async;

const SUMMARY: &str = "Patient Zebediah Quackenbush MRN 99887766 cannot see orders";

async fn no_secret_in_trace_logs(backend: Backend) {
    let db = TestDb::new(backend).await;
    let logs = tempfile::NamedTempFile::new().expect("log file");
    let stderr = logs.reopen().expect("log file handle");
    let mut server = Server::launch(&db.url, &[], &[("RUST_LOG", "trace")], Stdio::from(stderr));
    server.wait_ready().await;

    let display = server.token("display").await;
    let agent = server.token("agent").await;
    let revoked = server.token("lead").await;
    let unknown = "glv_0000000000000000000000000000000000000000000000000000000000000000";

    // A wall display of a site the server knows (an unknown one is 404):
    // the page, then its socket, both with `?token=`.
    let (status, _) = server
        .post("/api/v1/tickets", &ticket(json!({"site": "Main Campus"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let page = server
        .client
        .get(server.url(&format!("/?token={display}")))
        .send()
        .await
        .expect("board page");
    assert_eq!(page.status(), StatusCode::OK);
    let url = format!(
        "{}/api/v1/live?site=Main%20Campus&token={display}",
        server.base.replacen("http://", "ws://", 1)
    );
    let (mut socket, _) = connect_async(url).await.expect("websocket handshake");
    let first = tokio::time::timeout(Duration::from_secs(30), socket.next()).await;
    assert!(matches!(first, Ok(Some(Ok(_)))), "snapshot received");
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/api/v1/board?token={display}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Bearer tokens: a write with the summary, reads, a refused token.
    let (status, created) = server
        .call(
            Method::POST,
            "/api/v1/tickets",
            Some(&agent),
            Some(&ticket(json!({"summary": SUMMARY}))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id");
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/api/v1/tickets/{id}"),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .call(Method::GET, "/api/v1/board", Some(unknown), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server
        .call(Method::GET, &format!("/?token={unknown}"), None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "the page itself needs no token");
    let (status, tokens) = server.get("/api/v1/tokens").await;
    assert_eq!(status, StatusCode::OK);
    let lead_id = tokens["tokens"]
        .as_array()
        .and_then(|list| list.iter().find(|t| t["role"] == "lead"))
        .and_then(|t| t["id"].as_i64())
        .expect("lead token listed");
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{lead_id}"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server
        .call(
            Method::GET,
            &format!("/api/v1/report?token={revoked}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    drop(socket);
    assert!(server.terminate().is_some_and(|s| s.success()));
    let text = std::fs::read_to_string(logs.path()).expect("read logs");
    for (what, secret) in [
        ("admin token", ADMIN_TOKEN),
        ("display token", display.as_str()),
        ("agent token", agent.as_str()),
        ("revoked token", revoked.as_str()),
        ("unknown token", unknown),
    ] {
        // Also the token's hex alone, in case something strips the prefix.
        let bare = secret.trim_start_matches("glv_");
        if let Some(at) = text.find(bare) {
            let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
            let end = text[at..].find('\n').map_or(text.len(), |n| at + n);
            panic!("the {what} is in the logs: {}", &text[start..end]);
        }
    }
    assert!(
        text.contains("/api/v1/live?site=Main%20Campus&token=REDACTED"),
        "trace logs record requests (redacted); got {} bytes",
        text.len()
    );
    for word in ["Zebediah", "Quackenbush", "99887766"] {
        assert!(
            !text.contains(word),
            "ticket summary text ({word}) is in the logs"
        );
    }
}
both_backends!(trace_logs, no_secret_in_trace_logs);
