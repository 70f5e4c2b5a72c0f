//! The board at any past moment (`GET /api/v1/board?as_of=T`) through the
//! real server: for 20 random moments T over six hours of tickets and
//! calls, the board's 15- and 60-minute windows equal the report over
//! `[T − 15 m, T)` and `[T − 60 m, T)` (the report is the board's
//! definition), and their opened / offered counts equal a count made here
//! from the lines that were sent. Scopes combine with `as_of`: a site's
//! board equals the report's figures of that site, a queue's board the
//! report's figures of that queue. A bad or future T is 422 with the
//! error shape; an unknown site is 404.

mod support;

use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Backend, Server, TestDb, encoded, iso};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

const SITES: [&str; 3] = ["Main Campus", "North Hospital", "West Clinic"];
const APPLICATIONS: [&str; 4] = ["Orders", "MAR", "Pharmacy", "Lab"];
const QUEUES: [&str; 2] = ["Physician Line", "Nursing Line"];

/// What the test sent, to count from independently.
struct Sent {
    /// (opened_at, site)
    tickets: Vec<(i64, &'static str)>,
    /// (opened_at, when it was resolved if it was, severity)
    lives: Vec<(i64, Option<i64>, i64)>,
    /// (offered_at, queue)
    calls: Vec<(i64, &'static str)>,
}

/// Six hours of traffic ending `end`, as NDJSON ingest lines.
fn traffic(rng: &mut StdRng, start: i64, end: i64) -> (String, Sent) {
    let mut lines = Vec::new();
    let mut sent = Sent {
        tickets: Vec::new(),
        lives: Vec::new(),
        calls: Vec::new(),
    };
    for n in 0..900 {
        let opened_at = rng.random_range(start..end);
        let site = SITES[rng.random_range(0..SITES.len())];
        let application = APPLICATIONS[rng.random_range(0..APPLICATIONS.len())];
        let severity = rng.random_range(1..=4);
        let mut line = json!({
            "kind": "ticket", "external_id": format!("INC{n:06}"),
            "opened_at": iso(opened_at), "site": site, "department": "Emergency",
            "application": application, "category": "how_to",
            "severity": severity, "channel": "phone",
        });
        let mut resolved = None;
        if rng.random_bool(0.2) {
            let at = opened_at + rng.random_range(0..10 * MINUTE);
            line["status"] = json!("resolved");
            line["resolved_at"] = json!(iso(at));
            resolved = Some(at);
        }
        lines.push(line);
        sent.tickets.push((opened_at, site));
        // Most tickets move on: worked, escalated or resolved later.
        if line_is_open(&lines[lines.len() - 1]) && rng.random_bool(0.7) {
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
            if status == "resolved" {
                resolved = Some(at);
            }
        }
        sent.lives.push((opened_at, resolved, severity));
    }
    for n in 0..1200 {
        let offered_at = rng.random_range(start..end);
        let queue = QUEUES[rng.random_range(0..QUEUES.len())];
        let call_id = format!("c-{n}");
        lines.push(json!({"kind": "call", "call_id": call_id, "queue": queue,
            "event": "offered", "at": iso(offered_at)}));
        let wait = rng.random_range(0..90 * SECOND);
        if rng.random_bool(0.85) {
            lines.push(json!({"kind": "call", "call_id": call_id, "queue": queue,
                "event": "answered", "at": iso(offered_at + wait)}));
            lines.push(json!({"kind": "call", "call_id": call_id, "queue": queue,
                "event": "ended", "at": iso(offered_at + wait + rng.random_range(MINUTE..8 * MINUTE)),
                "wrap_seconds": 30}));
        } else {
            lines.push(json!({"kind": "call", "call_id": call_id, "queue": queue,
                "event": "abandoned", "at": iso(offered_at + wait)}));
        }
        sent.calls.push((offered_at, queue));
    }
    let body = lines
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    (body, sent)
}

fn line_is_open(line: &Value) -> bool {
    line["status"].is_null()
}

async fn get_ok(server: &Server, path: &str) -> Value {
    let (status, body) = server.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn report(server: &Server, from: i64, to: i64, group_by: &str) -> Value {
    get_ok(
        server,
        &format!(
            "/api/v1/report?from={}&to={}&group_by={group_by}",
            iso(from),
            iso(to)
        ),
    )
    .await
}

/// A report's ticket figures of one group (zeros when the group has none).
fn group_figures(report: &Value, dimension: &str, name: &str) -> Value {
    report["tickets_by"][dimension]
        .get(name)
        .cloned()
        .unwrap_or_else(|| {
            json!({"opened": 0, "resolved": 0, "reopened": 0, "escalated": 0, "backlog": 0,
            "resolution_rate": null, "first_contact_resolution_rate": null,
            "mttr_seconds": {"mean": null, "p50": null, "p90": null}})
        })
}

async fn as_of_boards_equal_the_reports(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let mut rng = StdRng::seed_from_u64(14);
    let now = Utc::now().timestamp_millis();
    let end = now - 10 * MINUTE;
    let start = end - 6 * HOUR;
    let (body, sent) = traffic(&mut rng, start, end);
    let (status, answer) = server.ingest(ADMIN_TOKEN, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["rejected"], json!([]), "{answer}");

    for _ in 0..20 {
        let t = rng.random_range(start + HOUR..end + 5 * MINUTE);
        let board = get_ok(&server, &format!("/api/v1/board?as_of={}", iso(t))).await;
        assert_eq!(board["as_of"], iso(t), "the board is as of T");
        // The open tickets as they were at T (not as they are now):
        // opened by T and not resolved before T.
        let open_at_t = |min_age: i64, severity: Option<i64>| {
            sent.lives
                .iter()
                .filter(|(opened, resolved, sev)| {
                    *opened <= t
                        && resolved.is_none_or(|r| r >= t)
                        && t - opened > min_age
                        && severity.is_none_or(|s| s == *sev)
                })
                .count()
        };
        assert_eq!(
            board["aging"]["over_1h"],
            json!(open_at_t(HOUR, None)),
            "at {t}"
        );
        assert_eq!(
            board["aging"]["over_4h"],
            json!(open_at_t(4 * HOUR, None)),
            "at {t}"
        );
        let sev1_places: u64 = board["sev1"]
            .as_array()
            .map(|l| l.iter().filter_map(|g| g["open"].as_u64()).sum())
            .unwrap_or(0);
        assert_eq!(sev1_places, open_at_t(-1, Some(1)) as u64, "at {t}");
        assert_eq!(board["open_sev1"], json!(sev1_places), "at {t}");
        for (key, length) in [("15m", 15 * MINUTE), ("60m", HOUR)] {
            let window = &board["windows"][key];
            let from = t - length;
            assert_eq!(window["from"], iso(from));
            assert_eq!(window["to"], iso(t));
            let by_application = report(&server, from, t, "application").await;
            let by_site = report(&server, from, t, "site").await;
            for field in ["tickets", "calls", "calls_by_queue", "staffing"] {
                assert_eq!(window[field], by_application[field], "{key} {field} at {t}");
            }
            assert_eq!(
                window["tickets_by"]["application"],
                by_application["tickets_by"]["application"]
            );
            assert_eq!(window["tickets_by"]["site"], by_site["tickets_by"]["site"]);

            // Independently: what was sent with its time in the window.
            let in_window = |at: i64| from <= at && at < t;
            let opened = sent.tickets.iter().filter(|(at, _)| in_window(*at)).count();
            let offered = sent.calls.iter().filter(|(at, _)| in_window(*at)).count();
            assert_eq!(window["tickets"]["opened"], json!(opened), "{key} at {t}");
            assert_eq!(window["calls"]["offered"], json!(offered), "{key} at {t}");

            // Scopes combine with as_of.
            let site = SITES[rng.random_range(0..SITES.len())];
            let scoped = get_ok(
                &server,
                &format!("/api/v1/board?as_of={}&site={}", iso(t), encoded(site)),
            )
            .await;
            assert_eq!(scoped["scope"]["site"], site);
            let figures = group_figures(&by_site, "site", site);
            assert_eq!(scoped["windows"][key]["tickets"], figures, "{site} {key}");
            let site_opened = sent
                .tickets
                .iter()
                .filter(|(at, s)| in_window(*at) && *s == site)
                .count();
            assert_eq!(figures["opened"], json!(site_opened));
            assert!(scoped["windows"][key].get("calls").is_none());

            let queue = QUEUES[rng.random_range(0..QUEUES.len())];
            let scoped = get_ok(
                &server,
                &format!("/api/v1/board?queue={}&as_of={}", encoded(queue), iso(t)),
            )
            .await;
            let queue_offered = sent
                .calls
                .iter()
                .filter(|(at, q)| in_window(*at) && *q == queue)
                .count();
            assert_eq!(
                scoped["windows"][key]["calls"]["offered"],
                json!(queue_offered)
            );
            if let Some(figures) = by_application["calls_by_queue"].get(queue) {
                assert_eq!(&scoped["windows"][key]["calls"], figures, "{queue} {key}");
            }
        }
    }

    // The live board and an as_of board a moment ago agree on the windows
    // that do not move (nothing happened since `end`).
    let live = get_ok(&server, "/api/v1/board").await;
    assert!(live["as_of"].as_str() > Some(iso(end).as_str()));

    // Bad input: the error shape, and nothing about other fields.
    for bad in ["yesterday", "2026-13-40T00:00:00Z", "2026-03-02T07:00:00"] {
        let (status, body) = server.get(&format!("/api/v1/board?as_of={bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_field", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("as_of")),
            "{body}"
        );
    }
    let future = iso(Utc::now().timestamp_millis() + HOUR);
    let (status, body) = server.get(&format!("/api/v1/board?as_of={future}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("future"))
    );
    let (status, body) = server
        .get(&format!("/api/v1/board?as_of={}&site=Nowhere", iso(end)))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // A mistyped scope is refused, never the whole center unscoped.
    let (status, body) = server.get("/api/v1/board?sites=Main%20Campus").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("sites")),
        "{body}"
    );
    // A display token may look back too; no token may not.
    let display = server.token("display").await;
    let path = format!("/api/v1/board?as_of={}", iso(end));
    let (status, _) = server
        .call(reqwest::Method::GET, &path, Some(&display), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.call(reqwest::Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

both_backends!(as_of_boards, as_of_boards_equal_the_reports);
