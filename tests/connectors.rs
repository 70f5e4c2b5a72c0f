//! ServiceNow and Jira Service Management through the real server, with
//! fixtures in those systems' own formats (tests/fixtures/servicenow: a
//! Table API response with raw values, one with `sysparm_display_value=all`,
//! an incident list export with labels, a Business Rule post;
//! tests/fixtures/jira: webhook bodies). The report figures are worked out
//! by hand below, including a reopen, a reclassification, out-of-order
//! and repeated records. Bad input: every record refused names its field
//! and value, the others are committed, memory stays bounded.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Server, TestDb, refusals};

const CONFIG: &str = r#"
[connectors.servicenow.values.site]
"25ab9c4d0a0a0bb300f7dabdc0ca7c1c" = "Main Campus"
"8226baa4ac1d55eb40eb653c02649519" = "North Clinic"

[connectors.servicenow.values.application]
"b0c25d1bc0a800090168be1bfcdcd759" = "Epic Orders"
"27d32778c0a8000b00db970eeaa60f16" = "Epic MAR"

[connectors.jira.fields]
site = "labels"
department = "customfield_10060"

[connectors.jira.values.site]
"site-north" = "North Clinic"
"#;

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

async fn start(db: &TestDb) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("golive.toml");
    std::fs::write(&config, CONFIG).expect("config written");
    let path = config.display().to_string();
    let server = Server::start_with(db, &["--config", &path], &[]).await;
    (server, dir)
}

async fn servicenow(server: &Server, content_type: &str, body: Vec<u8>) -> Value {
    let (status, answer) = server
        .post_bytes("/api/v1/connectors/servicenow", content_type, body)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

async fn report(server: &Server, from: &str, to: &str, group_by: Option<&str>) -> Value {
    let group = group_by
        .map(|g| format!("&group_by={g}"))
        .unwrap_or_default();
    let (status, body) = server
        .get(&format!("/api/v1/report?from={from}&to={to}{group}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn counts(figures: &Value) -> [u64; 5] {
    ["opened", "resolved", "reopened", "escalated", "backlog"]
        .map(|name| figures[name].as_u64().unwrap_or(u64::MAX))
}

async fn servicenow_records_in_every_shape(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (server, _dir) = start(&db).await;

    // 1. Table API, raw values: references resolved by the configured
    //    sys_id maps. INC…3 arrives already resolved.
    let answer = servicenow(
        &server,
        "application/json",
        fixture("servicenow/incidents_raw.json"),
    )
    .await;
    assert_eq!(answer, json!({"accepted": 3, "rejected": []}));
    // 2. display_value=all, later: INC…1 resolved at 08:00 and re-routed
    //    from Epic Orders to Epic MAR in the same record; INC…2 repeated
    //    unchanged; INC…3 an older state (07:30, in progress) arriving
    //    after its resolution (07:50): changes nothing.
    let answer = servicenow(
        &server,
        "application/json",
        fixture("servicenow/incidents_display_all.json"),
    )
    .await;
    assert_eq!(answer, json!({"accepted": 3, "rejected": []}));
    // 3. A list export with labels and no sys_id column: INC…1 reopened at
    //    09:00 (found by number), INC…4 new with a multi-line description,
    //    INC…2 closed with only closed_at (08:40).
    let answer = servicenow(
        &server,
        "text/csv",
        fixture("servicenow/incident_list_export.csv"),
    )
    .await;
    assert_eq!(answer, json!({"accepted": 3, "rejected": []}));
    // 4. A Business Rule's post for INC…4 (now with its sys_id): in
    //    progress, nothing counted.
    let answer = servicenow(
        &server,
        "application/json",
        fixture("servicenow/business_rule_post.json"),
    )
    .await;
    assert_eq!(answer, json!({"accepted": 1, "rejected": []}));

    // By hand, 07:00–10:00 (minutes from opening):
    //   INC1 opened 07:00 Orders sev 2; resolved 08:00 under MAR (60 min);
    //        reopened 09:00 under MAR; active as of 10:00 (MAR).
    //   INC2 opened 07:05 MAR sev 4 (priority 5); closed 08:40 (95 min).
    //   INC3 opened 07:20 Orders sev 1; resolved 07:50 (30 min), not a
    //        first-contact resolution (ServiceNow does not say so).
    //   INC4 opened 08:30 Orders sev 3; active as of 10:00.
    let all = report(
        &server,
        "2026-03-02T07:00:00Z",
        "2026-03-02T10:00:00Z",
        Some("application"),
    )
    .await;
    let tickets = &all["tickets"];
    assert_eq!(counts(tickets), [4, 3, 1, 0, 2], "{tickets}");
    assert_eq!(tickets["first_contact_resolution_rate"], 0.0);
    assert_eq!(
        tickets["mttr_seconds"],
        json!({"mean": 3700.0, "p50": 3600.0, "p90": 5700.0})
    );
    let by_app = &all["tickets_by"]["application"];
    assert_eq!(counts(&by_app["Epic Orders"]), [3, 1, 0, 0, 1], "{by_app}");
    assert_eq!(counts(&by_app["Epic MAR"]), [1, 2, 1, 0, 1], "{by_app}");
    // Before the re-routing (07:00–07:30: INC1 and INC3 opened under
    // Orders, INC2 under MAR), INC1 was Orders' backlog.
    let early = report(
        &server,
        "2026-03-02T07:00:00Z",
        "2026-03-02T07:30:00Z",
        Some("application"),
    )
    .await;
    assert_eq!(
        counts(&early["tickets_by"]["application"]["Epic Orders"]),
        [2, 0, 0, 0, 2]
    );
    assert_eq!(
        counts(&early["tickets_by"]["application"]["Epic MAR"]),
        [1, 0, 0, 0, 1]
    );
    let by_severity = report(
        &server,
        "2026-03-02T07:00:00Z",
        "2026-03-02T10:00:00Z",
        Some("severity"),
    )
    .await;
    let sev = &by_severity["tickets_by"]["severity"];
    assert_eq!(
        ["1", "2", "3", "4"].map(|s| sev[s]["opened"].as_u64()),
        [Some(1), Some(1), Some(1), Some(1)]
    );
    let by_channel = report(
        &server,
        "2026-03-02T07:00:00Z",
        "2026-03-02T10:00:00Z",
        Some("channel"),
    )
    .await;
    let channels: Vec<&String> = by_channel["tickets_by"]["channel"]
        .as_object()
        .expect("channels")
        .keys()
        .collect();
    assert_eq!(channels, ["email", "phone", "portal", "walk_in"]);
    let by_department = report(
        &server,
        "2026-03-02T07:00:00Z",
        "2026-03-02T10:00:00Z",
        Some("department"),
    )
    .await;
    let departments: Vec<&String> = by_department["tickets_by"]["department"]
        .as_object()
        .expect("departments")
        .keys()
        .collect();
    assert_eq!(departments, ["Emergency", "ICU", "Pharmacy"]);

    // Lookup by external id.
    let (status, one) = server.get("/api/v1/tickets/ext:INC0010001").await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(
        (&one["application"], &one["status"], &one["site"]),
        (
            &json!("Epic MAR"),
            &json!("in_progress"),
            &json!("Main Campus")
        )
    );
    assert_eq!(
        one["summary"],
        Value::Null,
        "ServiceNow's description is not copied"
    );

    // Replaying everything changes nothing.
    for (content_type, path) in [
        ("application/json", "servicenow/incidents_raw.json"),
        ("application/json", "servicenow/incidents_display_all.json"),
        ("text/csv", "servicenow/incident_list_export.csv"),
        ("application/json", "servicenow/business_rule_post.json"),
    ] {
        servicenow(&server, content_type, fixture(path)).await;
    }
    let again = report(
        &server,
        "2026-03-02T07:00:00Z",
        "2026-03-02T10:00:00Z",
        Some("application"),
    )
    .await;
    assert_eq!(again, all);
    assert_eq!(server.all_tickets().await.len(), 4);

    // And a restart replays to the same figures.
    drop(server);
    let (server, _dir2) = start(&db).await;
    let replayed = report(
        &server,
        "2026-03-02T07:00:00Z",
        "2026-03-02T10:00:00Z",
        Some("application"),
    )
    .await;
    assert_eq!(replayed, all);
}

both_backends!(
    servicenow_records_in_every_shape_,
    servicenow_records_in_every_shape
);

async fn jira_webhooks(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (server, _dir) = start(&db).await;
    let jira = |path: &'static str| {
        let server = &server;
        async move {
            let (status, answer) = server
                .post_bytes("/api/v1/connectors/jira", "application/json", fixture(path))
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer
        }
    };
    assert_eq!(
        jira("jira/issue_created.json").await,
        json!({"accepted": 1, "rejected": []})
    );
    // A comment changes nothing and is no error.
    assert_eq!(
        jira("jira/comment_created.json").await,
        json!({"accepted": 0, "rejected": []})
    );
    // Resolved at 13:34:30+0530 (08:04:30Z), raised to Highest meanwhile.
    assert_eq!(
        jira("jira/issue_updated_resolved.json").await,
        json!({"accepted": 1, "rejected": []})
    );
    // The creation again, older than what golive holds: nothing changes.
    assert_eq!(
        jira("jira/issue_created.json").await,
        json!({"accepted": 1, "rejected": []})
    );

    // By hand: opened 12:40+0530 = 07:10Z at severity 2 (High), resolved
    // 08:04:30Z at severity 1 after 54.5 minutes.
    let by_severity = report(
        &server,
        "2026-03-02T07:00:00Z",
        "2026-03-02T09:00:00Z",
        Some("severity"),
    )
    .await;
    assert_eq!(counts(&by_severity["tickets"]), [1, 1, 0, 0, 0]);
    assert_eq!(by_severity["tickets"]["mttr_seconds"]["mean"], 3270.0);
    let sev = &by_severity["tickets_by"]["severity"];
    assert_eq!(counts(&sev["2"]), [1, 0, 0, 0, 0]);
    assert_eq!(counts(&sev["1"]), [0, 1, 0, 0, 0]);
    let (status, issue) = server.get("/api/v1/tickets/ext:GLH-17").await;
    assert_eq!(status, StatusCode::OK, "{issue}");
    assert_eq!(
        (
            &issue["site"],
            &issue["department"],
            &issue["application"],
            &issue["channel"],
            &issue["status"]
        ),
        (
            &json!("North Clinic"),
            &json!("Labor & Delivery"),
            &json!("Epic ADT"),
            &json!("portal"),
            &json!("resolved")
        )
    );
    assert_eq!(issue["opened_at"], "2026-03-02T07:10:00.000Z");
}

both_backends!(jira_webhooks_, jira_webhooks);

/// A valid raw incident with `overrides`.
fn incident(number: u32, overrides: Value) -> Value {
    let mut record = json!({
        "sys_id": format!("{number:032x}"), "number": format!("INC{number:07}"),
        "state": "1", "priority": "3", "contact_type": "phone", "category": "inquiry",
        "location": "Main Campus", "cmdb_ci": "Epic Orders", "u_department": "Emergency",
        "opened_at": "2026-03-02 07:00:00", "sys_updated_on": "2026-03-02 07:01:00"
    });
    if let (Some(r), Some(o)) = (record.as_object_mut(), overrides.as_object()) {
        for (k, v) in o {
            r.insert(k.clone(), v.clone());
        }
    }
    record
}

/// The server's resident memory, from its own /metrics.
async fn resident_bytes(server: &Server) -> f64 {
    server
        .metrics()
        .await
        .value("process_resident_memory_bytes", &[])
        .expect("process_resident_memory_bytes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_refused_one_by_one() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (server, _dir) = start(&db).await;
    let records = json!({"result": [
        incident(1, json!({})),
        incident(2, json!({"priority": "9"})),
        incident(3, json!({"location": {"value": "00000000000000000000000000000bad", "link": "https://x/api/now/table/cmn_location/00000000000000000000000000000bad"}})),
        incident(4, json!({"opened_at": "03/02/2026 7:00 AM"})),
        incident(5, json!({"u_department": "Emer\u{0}gency"})),
        incident(6, json!({"cmdb_ci": "X".repeat(200_000)})),
        incident(7, json!({"state": "", "location": ""})),
        incident(8, json!({"sys_updated_on": ""})),
        incident(9, json!({"opened_at": "2099-01-01 00:00:00"})),
        incident(10, json!({"contact_type": "carrier pigeon"})),
        "not a record",
        incident(12, json!({"resolved_at": "2026-03-02 06:00:00", "state": "6"}))
    ]});
    let answer = servicenow(
        &server,
        "application/json",
        serde_json::to_vec(&records).expect("json"),
    )
    .await;
    assert_eq!(answer["accepted"], 1, "{answer}");
    let refused = refusals(&answer);
    let expect = |k: u64, code: &str, field: &str| (k, code.to_string(), field.to_string());
    assert_eq!(
        refused,
        [
            expect(2, "unmapped_value", "priority"),
            expect(3, "broken_reference", "location"),
            expect(4, "invalid_timestamp", "opened_at"),
            expect(5, "invalid_field", "u_department"),
            expect(6, "invalid_field", "cmdb_ci"),
            expect(7, "missing_field", "state"),
            expect(8, "missing_field", "sys_updated_on"),
            expect(9, "future_timestamp", "opened_at"),
            expect(10, "unmapped_value", "contact_type"),
            expect(11, "malformed_record", ""),
            expect(12, "invalid_field", "resolved_at"),
        ],
        "{answer}"
    );
    // Messages name the value (short), never echo 200,000 characters.
    let text = answer.to_string();
    assert!(text.contains("\\\"9\\\""), "{text}");
    assert!(text.len() < 8_000, "answer of {} bytes", text.len());
    assert_eq!(server.all_tickets().await.len(), 1);

    // A CSV with a wrong header: 422, nothing read.
    let (status, body) = server
        .post_bytes(
            "/api/v1/connectors/servicenow",
            "text/csv",
            b"\"Number\",\"Updated\"\n\"INC1\",\"2026-03-02 07:00:00\"\n".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["field"], "header");
    // Not JSON, wrong media type, no token, wrong role.
    let (status, _) = server
        .post_bytes(
            "/api/v1/connectors/servicenow",
            "application/json",
            b"{\"result\": [".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = server
        .post_bytes("/api/v1/connectors/servicenow", "text/plain", b"x".to_vec())
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, _) = server
        .raw(
            Method::POST,
            "/api/v1/connectors/jira",
            None,
            Some("application/json"),
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let display = server.token("display").await;
    let (status, _, _) = server
        .raw(
            Method::POST,
            "/api/v1/connectors/servicenow",
            Some(&format!("Bearer {display}")),
            Some("application/json"),
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // 100,000 bad rows in one export: every one refused by row number,
    // 1,000 listed, all counted, nothing committed, memory bounded.
    let before = resident_bytes(&server).await;
    let mut csv = String::from(
        "\"number\",\"sys_updated_on\",\"state\",\"priority\",\"contact_type\",\"category\",\"location\",\"cmdb_ci\",\"u_department\",\"opened_at\"\n",
    );
    for n in 0..100_000u32 {
        csv.push_str(&format!(
            "\"INC9{n:06}\",\"2026-03-02 07:01:00\",\"New\",\"7 - Whenever\",\"Phone\",\"Inquiry / Help\",\"Main Campus\",\"Epic Orders\",\"Emergency\",\"2026-03-02 07:00:00\"\n"
        ));
    }
    let size = csv.len();
    let answer = servicenow(&server, "text/csv", csv.into_bytes()).await;
    assert_eq!(answer["accepted"], 0);
    assert_eq!(answer["rejected_total"], 100_000);
    let listed = answer["rejected"].as_array().expect("rejected");
    assert_eq!(listed.len(), 1000);
    assert_eq!(
        (&listed[0]["record"], &listed[999]["record"]),
        (&json!(1), &json!(1000))
    );
    assert_eq!(listed[0]["error"]["details"]["field"], "priority");
    let after = resident_bytes(&server).await;
    assert!(
        after - before < (size as f64) * 2.0,
        "resident memory grew by {} bytes for a {size}-byte export",
        after - before
    );
    assert_eq!(server.all_tickets().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_row_export_in_one_request() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (server, _dir) = start(&db).await;
    let mut csv = String::from(
        "\"number\",\"sys_updated_on\",\"state\",\"priority\",\"contact_type\",\"category\",\"location\",\"cmdb_ci\",\"caller_id.department\",\"opened_at\",\"resolved_at\"\n",
    );
    let rows = 100_000u32;
    for n in 0..rows {
        // Every tenth resolved 20 minutes after opening; openings spread
        // over 07:00–07:59:59.
        let second = n % 3600;
        let opened = format!("2026-03-02 07:{:02}:{:02}", second / 60, second % 60);
        let (state, resolved) = if n % 10 == 0 {
            (
                "Resolved",
                format!(
                    "2026-03-02 {:02}:{:02}:{:02}",
                    7 + (second / 60 + 20) / 60,
                    (second / 60 + 20) % 60,
                    second % 60
                ),
            )
        } else {
            ("In Progress", String::new())
        };
        csv.push_str(&format!(
            "\"INC8{n:06}\",\"2026-03-02 09:00:00\",\"{state}\",\"{}\",\"Phone\",\"Inquiry / Help\",\"Main Campus\",\"Epic Orders\",\"Emergency\",\"{opened}\",\"{resolved}\"\n",
            ["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"][(n % 4) as usize]
        ));
    }
    let answer = servicenow(&server, "text/csv", csv.into_bytes()).await;
    assert_eq!(answer, json!({"accepted": rows, "rejected": []}));
    let figures = report(
        &server,
        "2026-03-02T07:00:00Z",
        "2026-03-02T10:00:00Z",
        None,
    )
    .await;
    assert_eq!(counts(&figures["tickets"]), [100_000, 10_000, 0, 0, 90_000]);
    assert_eq!(figures["tickets"]["mttr_seconds"]["mean"], 1200.0);
}
