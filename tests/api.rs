//! End-to-end API tests against the real binary, on SQLite and PostgreSQL:
//! tickets (create, idempotency, update, list with cursors), call events
//! out of order, queue settings and mixed bulk NDJSON.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Backend, Server, TestDb, count_rows, ticket};

async fn tickets_lifecycle(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let agent = server.token("agent").await;

    let body = ticket(
        json!({"external_id": "INC0012345", "opened_at": "2026-03-02T07:14:05+01:00",
        "summary": "patient J. Doe cannot get meds", "reporter_role": "nurse"}),
    );
    let (status, created) = server
        .call(Method::POST, "/api/v1/tickets", Some(&agent), Some(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("string id").to_string();
    assert_eq!(created["status"], "open");
    assert_eq!(created["opened_at"], "2026-03-02T06:14:05.000Z");
    assert_eq!(created["summary"], "patient J. Doe cannot get meds");

    // The same external_id again: 200 with the existing ticket, nothing new.
    let again = ticket(json!({"external_id": "INC0012345", "site": "North Hospital"}));
    let (status, existing) = server
        .call(Method::POST, "/api/v1/tickets", Some(&agent), Some(&again))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(existing["id"], id.as_str());
    assert_eq!(existing["site"], "Main Campus");

    let (status, changed) = server
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            Some(&agent),
            Some(&json!({"status": "escalated", "at": "2026-03-02T06:30:00Z", "tier": 2, "assignee": "desk-3"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["status"], "escalated");
    assert_eq!(changed["tier"], 2);
    assert_eq!(changed["assignee"], "desk-3");
    assert_eq!(
        changed["summary"], "patient J. Doe cannot get meds",
        "summary survives updates"
    );

    let (status, resolved) = server
        .patch(
            &format!("/api/v1/tickets/{id}"),
            &json!({"status": "resolved", "at": "2026-03-02T07:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resolved["resolved_at"], "2026-03-02T07:00:00.000Z");
    let (status, got) = server
        .call(
            Method::GET,
            &format!("/api/v1/tickets/{id}"),
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, resolved);

    // A first-contact fix logged already resolved.
    let fcr = ticket(
        json!({"status": "resolved", "opened_at": "2026-03-02T08:00:00Z",
        "resolved_at": "2026-03-02T08:03:00Z", "application": "MAR", "site": "North Hospital"}),
    );
    let (status, fcr) = server.post("/api/v1/tickets", &fcr).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(fcr["status"], "resolved");
    assert_eq!(fcr["resolved_at"], "2026-03-02T08:03:00.000Z");

    // 120 more tickets, then page through them with cursors.
    for n in 0..120 {
        let site = if n % 3 == 0 {
            "North Hospital"
        } else {
            "Main Campus"
        };
        let (status, _) = server
            .post("/api/v1/tickets", &ticket(json!({"site": site})))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let all = server.all_tickets().await;
    assert_eq!(all.len(), 122);
    let ids: Vec<u64> = all
        .iter()
        .map(|t| t["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    let (_, page) = server
        .get("/api/v1/tickets?site=North%20Hospital&limit=500")
        .await;
    assert_eq!(page["tickets"].as_array().unwrap().len(), 41);
    let (_, page) = server.get("/api/v1/tickets?status=resolved").await;
    assert_eq!(page["tickets"].as_array().unwrap().len(), 2);
    let (_, page) = server.get("/api/v1/tickets?application=MAR").await;
    assert_eq!(page["tickets"][0]["id"], fcr["id"]);
    let (_, page) = server.get("/api/v1/tickets?assignee=desk-3").await;
    assert_eq!(page["tickets"].as_array().unwrap().len(), 1);

    assert_eq!(
        count_rows(&db.url, "SELECT COUNT(*) FROM tickets").await,
        122
    );
    // 122 creations + 2 changes: the idempotent repeat added nothing.
    assert_eq!(count_rows(&db.url, support::REQUEST_EVENTS).await, 124);
}
both_backends!(tickets, tickets_lifecycle);

async fn calls_out_of_order(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let feed = server.token("integration").await;
    let post = |body: Value| {
        let server = &server;
        let feed = feed.clone();
        async move {
            server
                .call(
                    Method::POST,
                    "/api/v1/calls/events",
                    Some(&feed),
                    Some(&body),
                )
                .await
        }
    };
    // The ACD feed lags: answered and ended arrive before offered.
    let (status, body) =
        post(json!({"call_id": "c-1", "queue": "Physician Line", "event": "answered", "at": "2026-03-02T07:14:25Z", "agent": "a-17"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, _) =
        post(json!({"call_id": "c-1", "queue": "Physician Line", "event": "ended", "at": "2026-03-02T07:20:25Z", "wrap_seconds": 30})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Pending until offered arrives; an offered after the answer is impossible.
    let (status, body) =
        post(json!({"call_id": "c-1", "queue": "Physician Line", "event": "offered", "at": "2026-03-02T07:15:00Z"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "impossible_call_sequence");
    let (status, _) =
        post(json!({"call_id": "c-1", "queue": "Physician Line", "event": "offered", "at": "2026-03-02T07:14:05Z"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Idempotent per (call_id, queue, event).
    let (status, body) =
        post(json!({"call_id": "c-1", "queue": "Physician Line", "event": "offered", "at": "2026-03-02T07:14:05Z"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["status"], "duplicate");
    // Answered and abandoned on one call is impossible.
    let (status, _) =
        post(json!({"call_id": "c-1", "queue": "Physician Line", "event": "abandoned", "at": "2026-03-02T07:16:00Z"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) =
        post(json!({"call_id": "c-2", "queue": "Nursing Line", "event": "offered", "at": "2026-03-02T07:14:00Z"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) =
        post(json!({"call_id": "c-2", "queue": "Nursing Line", "event": "abandoned", "at": "2026-03-02T07:15:00Z"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    assert_eq!(count_rows(&db.url, "SELECT COUNT(*) FROM calls").await, 2);
    assert_eq!(
        count_rows(&db.url, "SELECT COUNT(*) FROM calls WHERE call_id = 'c-1' AND offered_at IS NOT NULL \
            AND answered_at IS NOT NULL AND ended_at IS NOT NULL AND abandoned_at IS NULL AND wrap_seconds = 30").await,
        1
    );
    assert_eq!(count_rows(&db.url, support::REQUEST_EVENTS).await, 5);

    // Queue settings: partial updates merge over the defaults.
    let lead = server.token("lead").await;
    let (status, q) = server
        .call(
            Method::PUT,
            "/api/v1/queues/Physician%20Line",
            Some(&lead),
            Some(&json!({"agents_staffed": 12, "shrinkage": 0.3})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(q["agents_staffed"], 12);
    assert_eq!(q["answer_target_seconds"], 20.0);
    let (status, q) = server
        .put(
            "/api/v1/queues/Physician%20Line",
            &json!({"answer_target_seconds": 30}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(q["agents_staffed"], 12);
    assert_eq!(q["shrinkage"], 0.3);
    let (_, list) = server.get("/api/v1/queues").await;
    let names: Vec<&str> = list["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["queue"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Nursing Line", "Physician Line"]);
    assert_eq!(list["queues"][0]["answer_target_seconds"], 20.0);
    assert_eq!(list["queues"][1]["answer_target_seconds"], 30.0);
}
both_backends!(calls, calls_out_of_order);

async fn bulk_ingest_mixed(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let feed = server.token("integration").await;
    let lines = [
        json!({"kind": "ticket", "external_id": "B-1", "site": "Main Campus", "department": "ICU", "application": "MAR",
               "category": "how_to", "severity": 3, "channel": "ate", "opened_at": "2026-03-02T07:00:00Z"}).to_string(),
        json!({"kind": "ticket", "external_id": "B-2", "site": "Main Campus", "department": "ICU", "application": "MAR",
               "category": "nonsense", "severity": 3, "channel": "ate"}).to_string(),
        String::new(),
        json!({"kind": "ticket_update", "external_id": "B-1", "status": "resolved", "at": "2026-03-02T07:30:00Z"}).to_string(),
        "{not json".to_string(),
        json!({"kind": "call", "call_id": "b-c1", "queue": "Access Line", "event": "offered", "at": "2026-03-02T07:01:00Z"}).to_string(),
        json!({"kind": "call", "call_id": "b-c1", "queue": "Access Line", "event": "answered", "at": "2026-03-02T07:00:00Z"}).to_string(),
        json!({"kind": "ticket_update", "external_id": "NOPE", "status": "resolved"}).to_string(),
        json!({"kind": "ticket", "external_id": "B-1", "site": "Main Campus", "department": "ICU", "application": "MAR",
               "category": "how_to", "severity": 3, "channel": "ate"}).to_string(),
        json!({"kind": "mystery"}).to_string(),
        json!({"kind": "ticket", "site": "North Hospital", "department": "Lab", "application": "Lab",
               "category": "access", "severity": 5, "channel": "phone"}).to_string(),
    ];
    let (status, result) = server.ingest(&feed, lines.join("\n")).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["accepted"], 4, "{result}");
    let rejected: Vec<(u64, &str)> = result["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["error"]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (2, "invalid_field"),
            (5, "malformed_json"),
            (7, "impossible_call_sequence"),
            (8, "not_found"),
            (10, "invalid_field"),
            (11, "invalid_field")
        ],
        "{result}"
    );
    let all = server.all_tickets().await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["external_id"], "B-1");
    assert_eq!(all[0]["status"], "resolved");
    assert_eq!(count_rows(&db.url, "SELECT COUNT(*) FROM calls").await, 1);
    assert_eq!(count_rows(&db.url, support::REQUEST_EVENTS).await, 3);

    // Ingest needs the NDJSON content type and the right role.
    let agent = server.token("agent").await;
    let (status, _) = server.ingest(&agent, lines[0].clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = server
        .client
        .post(server.url("/api/v1/ingest"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(lines[0].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
both_backends!(ingest, bulk_ingest_mixed);

async fn restart_replays(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut server = Server::start(&db).await;
    let (_, first) = server
        .post("/api/v1/tickets", &ticket(json!({"external_id": "R-1"})))
        .await;
    server.post("/api/v1/calls/events", &json!({"call_id": "r", "queue": "Q", "event": "answered", "at": "2026-03-02T07:00:10Z"})).await;
    assert_eq!(
        server.terminate().map(|s| s.success()),
        Some(true),
        "SIGTERM exits 0"
    );
    let server = Server::start(&db).await;
    // The ledger was rebuilt: idempotency and pending call state survive.
    let (status, again) = server
        .post("/api/v1/tickets", &ticket(json!({"external_id": "R-1"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    let (status, _) = server
        .post("/api/v1/calls/events", &json!({"call_id": "r", "queue": "Q", "event": "offered", "at": "2026-03-02T07:00:20Z"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, next) = server.post("/api/v1/tickets", &ticket(json!({}))).await;
    assert_eq!(next["id"], "3", "ids continue the sequence after a restart");
}
both_backends!(restart, restart_replays);

#[tokio::test]
async fn token_cli_creates_hashed_tokens_with_roles() {
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    let (ok, stdout, stderr) = support::run_cli(&[
        "token",
        "create",
        "--role",
        "display",
        "--name",
        "wall-1",
        "--database",
        &db.url,
    ]);
    assert!(ok, "{stderr}");
    let token = stdout.trim().to_string();
    assert!(token.starts_with("glv_"));
    assert_eq!(
        count_rows(
            &db.url,
            &format!("SELECT COUNT(*) FROM tokens WHERE token_hash = '{token}'")
        )
        .await,
        0,
        "stored hashed"
    );
    let (status, session) = server
        .call(Method::GET, "/api/v1/session", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session["role"], "display");
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/tickets",
            Some(&token),
            Some(&ticket(json!({}))),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (ok, _, _) = support::run_cli(&[
        "token",
        "create",
        "--role",
        "wizard",
        "--name",
        "x",
        "--database",
        &db.url,
    ]);
    assert!(!ok, "unknown role refused");
    let (ok, listing, _) = support::run_cli(&["token", "list", "--database", &db.url]);
    assert!(ok && listing.contains("wall-1") && !listing.contains(&token));
}
