//! Reclassification and lookup by external id through the real server:
//! `PATCH /api/v1/tickets/ext:{external_id}` and ingest `ticket_update`
//! lines that move a ticket to another application and severity, and how
//! that shows in past windows, the backlog and `/metrics` (event-time
//! attribution, docs/metrics.md), checked against figures worked out by
//! hand below. Also: case and whitespace never split a site or an
//! application.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Backend, Server, TestDb, ticket};

/// Minutes after 2026-03-02T08:00:00Z, as RFC 3339.
fn at(minute: u32) -> String {
    format!("2026-03-02T{:02}:{:02}:00Z", 8 + minute / 60, minute % 60)
}

async fn report(server: &Server, from: u32, to: u32, group_by: &str) -> Value {
    let (status, body) = server
        .get(&format!(
            "/api/v1/report?from={}&to={}&group_by={group_by}",
            at(from),
            at(to)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn reclassified_tickets_keep_their_past(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;

    // Two tickets opened under Orders, the second spelled differently.
    let (status, a) = server
        .post(
            "/api/v1/tickets",
            &ticket(json!({"external_id": "INC0010001", "opened_at": at(0)})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let (status, b) = server
        .post(
            "/api/v1/tickets",
            &ticket(json!({"external_id": "INC0010002", "opened_at": at(5),
                "application": "  orders ", "site": "MAIN  campus"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    assert_eq!(b["application"], "Orders", "folded to the first spelling");
    assert_eq!(b["site"], "Main Campus");

    // A is re-routed to Pharmacy at severity 2 by external id (URL-encoded
    // colon), B to Pharmacy by an ingest line, then both are resolved.
    let (status, patched) = server
        .patch(
            "/api/v1/tickets/ext%3AINC0010001",
            &json!({"application": "Pharmacy", "severity": 2, "at": at(20)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (
            &patched["application"],
            &patched["severity"],
            &patched["id"]
        ),
        (&json!("Pharmacy"), &json!(2), &a["id"])
    );
    let (status, answer) = server
        .ingest(
            ADMIN_TOKEN,
            format!(
                "{}\n{}\n",
                json!({"kind": "ticket_update", "external_id": "INC0010002",
                    "application": "PHARMACY", "at": at(25)}),
                json!({"kind": "ticket_update", "external_id": "INC0010002",
                    "status": "resolved", "at": at(30)}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["accepted"], 2, "{answer}");
    let (status, _) = server
        .patch(
            "/api/v1/tickets/ext:INC0010001",
            &json!({"status": "resolved", "at": at(40)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Lookup by external id, and errors naming what is wrong.
    let (status, got) = server.get("/api/v1/tickets/ext:INC0010002").await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(
        (&got["id"], &got["application"], &got["status"]),
        (&b["id"], &json!("Pharmacy"), &json!("resolved"))
    );
    let (status, missing) = server.get("/api/v1/tickets/ext:INC404").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    let (status, stale) = server
        .patch(
            "/api/v1/tickets/ext:INC0010001",
            &json!({"application": "Orders", "at": at(10)}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    let (status, bad) = server
        .patch("/api/v1/tickets/ext:INC0010001", &json!({"severity": 7}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");

    // By hand. 08:00–08:15: both opened under Orders, both in its backlog.
    let early = report(&server, 0, 15, "application").await;
    let orders = &early["tickets_by"]["application"]["Orders"];
    assert_eq!(
        (&orders["opened"], &orders["backlog"]),
        (&json!(2), &json!(2))
    );
    assert!(early["tickets_by"]["application"].get("Pharmacy").is_none());

    // 08:00–08:30: the openings stay Orders'; as of 08:30 both are
    // Pharmacy's backlog (B resolved exactly at 08:30 still counts).
    let half = report(&server, 0, 30, "application").await;
    let orders = &half["tickets_by"]["application"]["Orders"];
    let pharmacy = &half["tickets_by"]["application"]["Pharmacy"];
    assert_eq!(
        (&orders["opened"], &orders["backlog"]),
        (&json!(2), &json!(0))
    );
    assert_eq!(
        (&pharmacy["opened"], &pharmacy["backlog"]),
        (&json!(0), &json!(2))
    );

    // 08:15–09:00: both resolutions are Pharmacy's (B after 25 min, A
    // after 40), Orders had nothing happen.
    let late = report(&server, 15, 60, "application").await;
    let pharmacy = &late["tickets_by"]["application"]["Pharmacy"];
    assert_eq!(pharmacy["resolved"], 2);
    assert_eq!(pharmacy["mttr_seconds"]["mean"], 1950.0);
    assert!(late["tickets_by"]["application"].get("Orders").is_none());

    // Severity: both opened at 3; A resolved at 2, B at 3.
    let by_severity = report(&server, 0, 60, "severity").await;
    let groups = &by_severity["tickets_by"]["severity"];
    assert_eq!(
        (&groups["3"]["opened"], &groups["3"]["resolved"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(
        (&groups["2"]["opened"], &groups["2"]["resolved"]),
        (&json!(0), &json!(1))
    );

    // One site, however it was spelled.
    let by_site = report(&server, 0, 60, "site").await;
    let sites: Vec<&String> = by_site["tickets_by"]["site"]
        .as_object()
        .expect("sites")
        .keys()
        .collect();
    assert_eq!(sites, ["Main Campus"]);

    // /metrics: counters where the facts happened; none went down.
    let metrics = server.metrics().await;
    let ticket = |name: &str, application: &str, severity: &str| {
        metrics.value(
            name,
            &[
                ("application", application),
                ("category", "how_to"),
                ("severity", severity),
                ("site", "Main Campus"),
            ],
        )
    };
    assert_eq!(
        ticket("golive_tickets_opened_total", "Orders", "3"),
        Some(2.0)
    );
    assert_eq!(
        ticket("golive_tickets_resolved_total", "Pharmacy", "2"),
        Some(1.0)
    );
    assert_eq!(
        ticket("golive_tickets_resolved_total", "Pharmacy", "3"),
        Some(1.0)
    );
    assert_eq!(
        metrics.value(
            "golive_tickets_backlog",
            &[
                ("application", "Orders"),
                ("severity", "3"),
                ("site", "Main Campus")
            ]
        ),
        Some(0.0),
        "the label set a ticket left reads 0"
    );

    // The same after a restart: the figures are a replay of the log.
    drop(server);
    let server = Server::start(&db).await;
    assert_eq!(report(&server, 0, 30, "application").await, half);
}

both_backends!(
    reclassified_tickets_keep_their_past_,
    reclassified_tickets_keep_their_past
);
