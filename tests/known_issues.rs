//! Known issues through the real server, on SQLite and PostgreSQL:
//! - the lifecycle: a lead creates one, agents link tickets to it (on
//!   create, by PATCH and by ingest), the list, the board and `/metrics`
//!   count them, a lead resolves it with a workaround and the list shows
//!   the hour before and after; everything survives a restart (replay);
//!   bad input is 422, unknown ids 404, wrong roles 403;
//! - `group_by=known_issue` against a count made here from the lines that
//!   were sent (random tickets, links, relinks and status changes over
//!   five hours, random windows);
//! - the ServiceNow connector linking incidents by configuration
//!   (`problem_id`, else `parent_incident`, mapped to known issues), with
//!   a Table API fixture (tests/fixtures/servicenow).

mod support;

use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use support::{ADMIN_TOKEN, Backend, Server, TestDb, iso, ticket};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

fn now() -> i64 {
    Utc::now().timestamp_millis()
}

async fn send(
    server: &Server,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    server.call(method, path, Some(token), Some(&body)).await
}

async fn list(server: &Server) -> Vec<Value> {
    let (status, body) = server.get("/api/v1/known-issues").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["known_issues"].as_array().cloned().expect("list")
}

async fn known_issue_lifecycle(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut server = Server::start(&db).await;
    let lead = server.token("lead").await;
    let agent = server.token("agent").await;
    let display = server.token("display").await;
    let issues = "/api/v1/known-issues";
    let printer = json!({"title": "Label printer mapping on 4 West", "application": "Orders",
        "workaround": "Print wristbands from the unit clerk's station"});

    // Roles: only leads (and admins) create and change; displays read.
    for token in [&agent, &display] {
        let (status, body) = send(&server, Method::POST, issues, token, printer.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, _) = server.call(Method::GET, issues, Some(&display), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.call(Method::GET, issues, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Bad input: 422 naming the field; nothing recorded.
    for (body, field) in [
        (json!({}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": "x".repeat(201)}), "title"),
        (json!({"title": "bell\u{7}"}), "title"),
        (json!({"title": "ok", "application": ""}), "application"),
        (
            json!({"title": "ok", "workaround": "x".repeat(2001)}),
            "workaround",
        ),
        (json!({"title": "ok", "colour": "red"}), "colour"),
    ] {
        let (status, answer) = send(&server, Method::POST, issues, &lead, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "{body}: {answer}"
        );
    }
    assert!(list(&server).await.is_empty());

    let (status, created) = send(&server, Method::POST, issues, &lead, printer.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["status"], "open");
    assert_eq!(created["title"], printer["title"]);
    assert_eq!(created["application"], "Orders");
    assert_eq!(created["tickets_total"], 0);
    assert_eq!(created["resolution"], Value::Null);
    let (status, other) = send(
        &server,
        Method::POST,
        issues,
        &lead,
        json!({"title": "Sepsis order set missing in ED"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let other_id = other["id"].as_str().expect("id").to_string();

    // Agents link tickets: on create, by PATCH, by ingest; an unknown id
    // is 422 and creates nothing.
    let t0 = now() - 30 * MINUTE;
    let (status, body) = send(
        &server,
        Method::POST,
        "/api/v1/tickets",
        &agent,
        ticket(json!({"known_issue": "999999", "opened_at": iso(t0)})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["field"], "known_issue", "{body}");
    assert!(server.all_tickets().await.is_empty());
    let mut linked = Vec::new();
    for k in 0..3 {
        let (status, body) = send(
            &server,
            Method::POST,
            "/api/v1/tickets",
            &agent,
            ticket(json!({"known_issue": id, "opened_at": iso(t0 + k * MINUTE),
                "summary": "Patient in bed 12 cannot get a wristband"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["known_issue"], json!(id));
        linked.push(body["id"].as_str().expect("id").to_string());
    }
    let (status, loose) = send(
        &server,
        Method::POST,
        "/api/v1/tickets",
        &agent,
        ticket(json!({"opened_at": iso(t0 + 5 * MINUTE), "external_id": "INC7"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{loose}");
    assert_eq!(loose["known_issue"], Value::Null);
    // Linked by PATCH (first to the other issue, then moved).
    for target in [&other_id, &id] {
        let (status, body) = send(
            &server,
            Method::PATCH,
            "/api/v1/tickets/ext:INC7",
            &agent,
            json!({"known_issue": target}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["known_issue"], json!(target));
    }
    let (status, body) = send(
        &server,
        Method::PATCH,
        "/api/v1/tickets/ext:INC7",
        &agent,
        json!({"known_issue": "nope"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // By ingest: one line links, one names an unknown known issue.
    let lines = [
        json!({"kind": "ticket", "external_id": "INC8", "opened_at": iso(t0 + 6 * MINUTE),
            "site": "Main Campus", "department": "4 West", "application": "Orders",
            "category": "hardware", "severity": 3, "channel": "ate", "known_issue": id}),
        json!({"kind": "ticket", "external_id": "INC9", "opened_at": iso(t0),
            "site": "Main Campus", "department": "4 West", "application": "Orders",
            "category": "hardware", "severity": 3, "channel": "ate", "known_issue": "404"}),
    ];
    let body = lines
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let (status, answer) = server.ingest(ADMIN_TOKEN, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(answer["rejected"][0]["line"], 2, "{answer}");

    let (status, one) = server.get(&format!("/api/v1/tickets/{}", linked[0])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["known_issue"], json!(id));

    let find = |all: &[Value], wanted: &str| {
        all.iter()
            .find(|k| k["id"] == wanted)
            .cloned()
            .expect("listed")
    };
    let before = list(&server).await;
    let printer_now = find(&before, &id);
    assert_eq!(printer_now["tickets_total"], 5, "{printer_now}");
    assert_eq!(printer_now["tickets_60m"], 5, "{printer_now}");
    assert_eq!(find(&before, &other_id)["tickets_total"], 0);

    // The board lists it, with its tickets in the last 60 minutes.
    let (status, board) = server.get("/api/v1/board").await;
    assert_eq!(status, StatusCode::OK);
    let top = &board["known_issues"][0];
    assert_eq!(top["id"], json!(id), "{}", board["known_issues"]);
    assert_eq!(top["tickets"], 5);
    assert_eq!(top["title"], printer["title"]);
    assert_eq!(top["trend"].as_array().map(Vec::len), Some(6));
    assert_eq!(
        top["trend"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_u64).sum::<u64>()),
        Some(5)
    );
    // Ticket summaries never reach the board.
    assert!(!board.to_string().contains("wristband"));
    // /metrics counts links made (the moved ticket counts in both).
    let metrics = server.metrics().await;
    let counter = "golive_known_issue_tickets_total";
    assert_eq!(
        metrics.value(counter, &[("known_issue", id.as_str())]),
        Some(5.0)
    );
    assert_eq!(
        metrics.value(counter, &[("known_issue", other_id.as_str())]),
        Some(1.0)
    );

    // Changing: roles, bad input, unknown ids.
    let path = format!("{issues}/{id}");
    let resolve = json!({"status": "resolved", "workaround": "Printer remapped by desktop team"});
    let (status, _) = send(&server, Method::PATCH, &path, &agent, resolve.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in [
        json!({}),
        json!({"status": "fixed"}),
        json!({"title": ""}),
        json!({"title": 7}),
    ] {
        let (status, body) = send(&server, Method::PATCH, &path, &lead, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (status, body) = send(
        &server,
        Method::PATCH,
        &format!("{issues}/77777"),
        &lead,
        resolve.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    let (status, resolved) = send(&server, Method::PATCH, &path, &lead, resolve.clone()).await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["workaround"], resolve["workaround"]);
    let resolution = &resolved["resolution"];
    assert_eq!(resolution["tickets_60m_before"], 5, "{resolved}");
    assert_eq!(resolution["tickets_60m_after"], 0, "{resolved}");
    assert_eq!(resolution["hour_after_complete"], false);
    // The same change again records nothing and answers the same.
    let (status, again) = send(&server, Method::PATCH, &path, &lead, resolve.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["resolution"], resolved["resolution"]);
    // Resolved: off the board.
    let (_, board) = server.get("/api/v1/board").await;
    assert!(
        board["known_issues"]
            .as_array()
            .is_some_and(|l| l.iter().all(|k| k["id"] != json!(id))),
        "{}",
        board["known_issues"]
    );

    // A restart replays the log to the same list.
    let after = list(&server).await;
    assert!(server.terminate().is_some_and(|s| s.success()));
    let server = Server::start(&db).await;
    let replayed = list(&server).await;
    assert_eq!(replayed, after);
    let (_, one) = server.get(&format!("/api/v1/tickets/{}", linked[1])).await;
    assert_eq!(one["known_issue"], json!(id));
}

both_backends!(lifecycle, known_issue_lifecycle);

/// One ticket as the oracle sees it.
struct Sent {
    opened_at: i64,
    /// (at, status) in time order, the creation's first.
    statuses: Vec<(i64, &'static str)>,
    /// The known issue it is linked to at the end (links are retroactive).
    link: Option<usize>,
}

fn is_active(status: &str) -> bool {
    !matches!(status, "resolved" | "closed")
}

/// The report's five counts for one known issue, worked out from the
/// tickets sent: opened by `opened_at`; resolutions, reopens and
/// escalations from the status sequence; the backlog as of `to`.
fn oracle(tickets: &[Sent], issue: usize, from: i64, to: i64) -> [u64; 5] {
    let mut counts = [0u64; 5];
    let in_window = |at: i64| from <= at && at < to;
    for t in tickets.iter().filter(|t| t.link == Some(issue)) {
        counts[0] += u64::from(in_window(t.opened_at));
        let mut previous: Option<&str> = None;
        let mut active_at_to = false;
        for &(at, status) in &t.statuses {
            let escalates = status == "escalated" && previous != Some("escalated");
            let resolves = !is_active(status) && previous.is_none_or(is_active);
            let reopens = is_active(status) && previous.is_some_and(|p| !is_active(p));
            if in_window(at) {
                counts[1] += u64::from(resolves);
                counts[2] += u64::from(reopens);
                counts[3] += u64::from(escalates);
            }
            if at < to {
                active_at_to = is_active(status);
            }
            previous = Some(status);
        }
        // A ticket opened before `to` and active then; created resolved,
        // it was active from opening until its resolution.
        counts[4] += u64::from(t.opened_at < to && (active_at_to || t.statuses[0].0 >= to));
    }
    counts
}

async fn group_by_known_issue_counts(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let mut rng = StdRng::seed_from_u64(1414);
    let mut ids = Vec::new();
    for title in [
        "Label printer on 4 West",
        "Sepsis order set in ED",
        "MAR scanner",
    ] {
        let (status, body) = server
            .post("/api/v1/known-issues", &json!({"title": title}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["id"].as_str().expect("id").to_string());
    }
    let end = now() - MINUTE;
    let start = end - 5 * HOUR;
    let mut tickets = Vec::new();
    let mut creations = Vec::new();
    let mut updates: Vec<(i64, Value)> = Vec::new();
    for n in 0..400 {
        let opened_at = rng.random_range(start..end - HOUR);
        let external_id = format!("INC{n:05}");
        let mut link = rng.random_bool(0.6).then(|| rng.random_range(0..ids.len()));
        let mut line = ticket(json!({"kind": "ticket", "external_id": external_id,
            "opened_at": iso(opened_at)}));
        let first = match rng.random_range(0..10) {
            0 => "resolved",
            1 => "escalated",
            _ => "open",
        };
        let mut statuses = vec![(opened_at, first)];
        if first == "resolved" {
            let at = opened_at + rng.random_range(SECOND..5 * MINUTE);
            line["status"] = json!("resolved");
            line["resolved_at"] = json!(iso(at));
            statuses[0] = (at, "resolved");
        } else if first == "escalated" {
            line["status"] = json!("escalated");
        }
        if let Some(issue) = link {
            line["known_issue"] = json!(ids[issue]);
        }
        creations.push(line);
        // Later changes, in time order: statuses, and a link or relink.
        let mut at = statuses[0].0;
        for _ in 0..rng.random_range(0..4) {
            at += rng.random_range(MINUTE..40 * MINUTE);
            if at >= end {
                break;
            }
            let current = statuses.last().map_or("open", |s| s.1);
            let next = loop {
                let pick = ["in_progress", "escalated", "resolved", "open"][rng.random_range(0..4)];
                if pick != current {
                    break pick;
                }
            };
            statuses.push((at, next));
            updates.push((
                at,
                json!({"kind": "ticket_update", "external_id": external_id,
                "status": next, "at": iso(at)}),
            ));
        }
        if rng.random_bool(0.3) {
            at = (at + rng.random_range(SECOND..10 * MINUTE)).min(end);
            let issue = rng.random_range(0..ids.len());
            link = Some(issue);
            updates.push((
                at,
                json!({"kind": "ticket_update", "external_id": external_id,
                "known_issue": ids[issue], "at": iso(at)}),
            ));
        }
        tickets.push(Sent {
            opened_at,
            statuses,
            link,
        });
    }
    updates.sort_by_key(|(at, _)| *at);
    let body = creations
        .iter()
        .chain(updates.iter().map(|(_, line)| line))
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let (status, answer) = server.ingest(ADMIN_TOKEN, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["rejected"], json!([]), "{answer}");

    let mut windows = vec![(start - HOUR, now()), (start + HOUR, start + 2 * HOUR)];
    for _ in 0..12 {
        let from = rng.random_range(start - 30 * MINUTE..end);
        let to = rng.random_range(from + MINUTE..now());
        windows.push((from, to));
    }
    for (from, to) in windows {
        let (status, report) = server
            .get(&format!(
                "/api/v1/report?from={}&to={}&group_by=known_issue",
                iso(from),
                iso(to)
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let groups = report["tickets_by"]["known_issue"]
            .as_object()
            .cloned()
            .expect("tickets_by.known_issue");
        let mut expected = BTreeMap::new();
        for (issue, id) in ids.iter().enumerate() {
            let counts = oracle(&tickets, issue, from, to);
            if counts != [0; 5] {
                expected.insert(id.clone(), counts);
            }
        }
        let got: BTreeMap<String, [u64; 5]> = groups
            .iter()
            .map(|(id, figures)| {
                let counts = ["opened", "resolved", "reopened", "escalated", "backlog"]
                    .map(|name| figures[name].as_u64().unwrap_or(u64::MAX));
                (id.clone(), counts)
            })
            .collect();
        assert_eq!(got, expected, "[{}, {})", iso(from), iso(to));
    }
    // An unknown grouping is still 422, naming known_issue among the choices.
    let (status, body) = server
        .get(&format!(
            "/api/v1/report?from={}&to={}&group_by=problem",
            iso(start),
            iso(end)
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("known_issue"))
    );
}

both_backends!(group_by_known_issue, group_by_known_issue_counts);

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

async fn servicenow_links_by_configuration(backend: Backend) {
    let db = TestDb::new(backend).await;
    // Known issues first (their ids are the server's), then the connector
    // configured to link problem PRB0040012 and parent incident
    // INC0020090 to them, after a restart.
    let mut server = Server::start(&db).await;
    let mut ids = Vec::new();
    for title in [
        "Label printer mapping on 4 West",
        "Wristband printer queue stuck",
    ] {
        let (status, body) = server
            .post("/api/v1/known-issues", &json!({"title": title}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["id"].as_str().expect("id").to_string());
    }
    assert!(server.terminate().is_some_and(|s| s.success()));
    let config = format!(
        r#"
[connectors.servicenow.fields]
known_issue = ["problem_id", "parent_incident"]

[connectors.servicenow.values.known_issue]
"PRB0040012" = "{}"
"INC0020090" = "{}"
"#,
        ids[0], ids[1]
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("golive.toml");
    std::fs::write(&path, config).expect("config written");
    let path = path.display().to_string();
    let server = Server::start_with(&db, &["--config", &path], &[]).await;
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let (status, _, answer) = server
        .raw(
            Method::POST,
            "/api/v1/connectors/servicenow",
            Some(&auth),
            Some("application/json"),
            Some(fixture("servicenow/incidents_known_issues.json")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"accepted": 3, "rejected": []}));
    let link = |number: &str| {
        let server = &server;
        let number = number.to_string();
        async move {
            let (status, body) = server.get(&format!("/api/v1/tickets/ext:{number}")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["known_issue"].clone()
        }
    };
    assert_eq!(link("INC0020101").await, json!(ids[0]), "by problem_id");
    assert_eq!(
        link("INC0020102").await,
        json!(ids[1]),
        "by parent_incident"
    );
    assert_eq!(link("INC0020103").await, Value::Null, "an unmapped problem");
    let report = server
        .get(
            "/api/v1/report?from=2026-03-02T07:00:00Z&to=2026-03-02T08:00:00Z&group_by=known_issue",
        )
        .await
        .1;
    assert_eq!(report["tickets_by"]["known_issue"][&ids[0]]["opened"], 1);
    assert_eq!(report["tickets_by"]["known_issue"][&ids[1]]["opened"], 1);

    // A default for known_issue would link every record: refused at start.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[connectors.servicenow.defaults]\nknown_issue = \"1\"\n",
    )
    .expect("w");
    let (ok, _, stderr) = support::run_cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        &db.url,
        "--config",
        &bad.display().to_string(),
    ]);
    assert!(!ok, "a default known issue is refused");
    assert!(stderr.contains("known_issue"), "{stderr}");
}

both_backends!(servicenow_links, servicenow_links_by_configuration);
