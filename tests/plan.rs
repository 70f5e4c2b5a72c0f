//! The staffing plan through the HTTP API: three days of calls posted
//! through bulk ingest (a known half-hourly shape losing a fifth a day),
//! then `GET /api/v1/staffing/plan` as JSON and as CSV, and the `/plan`
//! page. Checked here: the intervals and their grid, the forecast against
//! the generating curve, Erlang C per interval against a textbook Erlang C
//! written in this file, every interval covered by the roster, the shift
//! templates from the config, the CSV rows, and 422s.

mod support;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Server, TestDb, iso};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HALF_HOUR: i64 = 30 * MINUTE;
const DAY: i64 = 24 * 60 * MINUTE;

/// Calls per half hour `slot` (0–47, UTC) on day one: quiet nights, a
/// daytime plateau.
fn day_one(slot: i64) -> f64 {
    if (14..40).contains(&slot) { 8.0 } else { 2.0 }
}

/// Textbook Erlang C agents (sum formula, agents one by one) for `calls`
/// in 1800 s at `aht` s, 80 % in 20 s, occupancy at most 85 %.
fn erlang_c_agents(calls: f64, aht: f64) -> u64 {
    let a = calls * aht / 1800.0;
    if a == 0.0 {
        return 0;
    }
    let mut n = a.floor() as u64 + 1;
    loop {
        let (mut term, mut sum) = (1.0_f64, 0.0_f64);
        for k in 0..n {
            sum += term;
            term *= a / (k + 1) as f64;
        }
        let top = term * n as f64 / (n as f64 - a);
        let waiting = top / (sum + top);
        let sl = 1.0 - waiting * (-(n as f64 - a) * 20.0 / aht).exp();
        if sl >= 0.8 {
            break;
        }
        n += 1;
    }
    n.max((a / 0.85 - 1e-9).ceil() as u64)
}

async fn plan(backend: Backend) {
    let db = TestDb::new(backend).await;
    let now = Utc::now().timestamp_millis();
    let today = now.div_euclid(DAY) * DAY;
    let go_live = today - 3 * DAY;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("golive.toml");
    std::fs::write(
        &config,
        format!(
            "go_live_start = \"{}\"\n\n[staffing.plan]\nhorizon_hours = 48\n\n\
             [[staffing.plan.shifts]]\nname = \"Early\"\nstart = \"06:00\"\nhours = 12\n\
             breaks = [{{ after_minutes = 300, minutes = 30, window_minutes = 60 }}]\n\n\
             [[staffing.plan.shifts]]\nname = \"Late\"\nstart = \"18:00\"\nhours = 12\n",
            iso(go_live)
        ),
    )
    .expect("config written");
    let config = config.to_string_lossy().to_string();
    let server = Server::start_with(&db, &["--config", &config], &[]).await;
    let feed = server.token("integration").await;
    let display = server.token("display").await;

    // Three days (up to the current half hour) of answered calls, 10 s
    // wait, 200 s talk, 40 s wrap: AHT 240 s; the count decays by 0.8 a
    // day, rounded.
    let current = now.div_euclid(HALF_HOUR) * HALF_HOUR;
    let mut lines = Vec::new();
    let mut start = go_live;
    let mut id = 0;
    while start < current {
        let slot = (start - today).rem_euclid(DAY) / HALF_HOUR;
        let days = (start - go_live) as f64 / DAY as f64;
        let count = (day_one(slot) * 0.8_f64.powf(days)).round() as i64;
        for k in 0..count {
            id += 1;
            let offered = start + k * (HALF_HOUR / count.max(1)) / 2;
            let answered = offered + 10 * SECOND;
            for (event, at, wrap) in [
                ("offered", offered, None),
                ("answered", answered, None),
                ("ended", answered + 200 * SECOND, Some(40)),
            ] {
                let mut line = json!({"kind": "call", "call_id": format!("p-{id}"),
                    "queue": "Nurse Line", "event": event, "at": iso(at)});
                if let Some(wrap) = wrap {
                    line["wrap_seconds"] = json!(wrap);
                }
                lines.push(line.to_string());
            }
        }
        start += HALF_HOUR;
    }
    for chunk in lines.chunks(2000) {
        let (status, body) = server.ingest(&feed, chunk.join("\n")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["rejected"], json!([]), "{body}");
    }

    let get = |path: String, accept: &'static str| {
        let (server, display) = (&server, display.clone());
        async move {
            let response = server
                .client
                .get(server.url(&path))
                .bearer_auth(display)
                .header("accept", accept)
                .send()
                .await
                .expect("sent");
            let status = response.status();
            let kind = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            (status, kind, response.text().await.unwrap_or_default())
        }
    };

    // JSON, the configured horizon of 48 hours.
    let (status, kind, text) = get("/api/v1/staffing/plan".into(), "application/json").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(kind.starts_with("application/json"), "{kind}");
    let plan: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(plan["hours"], 48);
    let from = DateTime::parse_from_rfc3339(plan["from"].as_str().expect("from"))
        .expect("time")
        .timestamp_millis();
    assert_eq!(from % HALF_HOUR, 0);
    assert!(from >= now && from < now + HALF_HOUR, "{}", plan["from"]);
    let templates: Vec<&str> = plan["shift_templates"]
        .as_array()
        .expect("templates")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(templates, ["Early", "Late"]);

    let queue = plan["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["queue"] == "Nurse Line"))
        .expect("Nurse Line planned");
    assert_eq!(queue["basis"], "erlang_c");
    assert_eq!(queue["patience"]["confidence"], "none");
    assert_eq!(queue["forecast"]["method"], "fitted");
    let factor = queue["forecast"]["daily_factor"].as_f64().expect("factor");
    assert!((factor - 0.8).abs() < 0.05, "daily factor {factor}");
    assert!((queue["aht_seconds"].as_f64().expect("aht") - 240.0).abs() < 1e-9);
    let intervals = queue["intervals"].as_array().expect("intervals");
    assert_eq!(intervals.len(), 96);
    for (i, interval) in intervals.iter().enumerate() {
        let start = DateTime::parse_from_rfc3339(interval["start"].as_str().expect("start"))
            .expect("time")
            .timestamp_millis();
        assert_eq!(start, from + i as i64 * HALF_HOUR);
        // The forecast follows the generating curve (rounding aside).
        let slot = (start - today).rem_euclid(DAY) / HALF_HOUR;
        let curve = day_one(slot) * 0.8_f64.powf((start - go_live) as f64 / DAY as f64);
        let calls = interval["calls"].as_f64().expect("calls");
        assert!(
            (calls - curve).abs() <= 0.2 * curve + 0.3,
            "{interval} vs {curve}"
        );
        // Erlang C for those calls, as the textbook has it; the roster
        // covers its scheduled agents (shrinkage 0 here).
        let c = erlang_c_agents(calls, 240.0);
        assert_eq!(interval["erlang_c"]["required_agents"], c, "{interval}");
        assert_eq!(interval["required"], c);
        assert!(interval["erlang_a"].is_null());
        assert!(
            interval["on_duty"].as_u64() >= interval["required"].as_u64(),
            "{interval}"
        );
    }
    assert_eq!(queue["uncovered"], json!([]));
    let staffed: u64 = queue["shifts"]
        .as_array()
        .expect("shifts")
        .iter()
        .map(|s| s["agents"].as_u64().expect("agents"))
        .sum();
    assert!(staffed > 0);

    // CSV by Accept and by format=csv; format=json wins over Accept.
    for (path, accept) in [
        ("/api/v1/staffing/plan?hours=24", "text/csv"),
        (
            "/api/v1/staffing/plan?hours=24&format=csv",
            "application/json",
        ),
    ] {
        let (status, kind, csv) = get(path.into(), accept).await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.starts_with("text/csv"), "{kind}");
        let rows: Vec<&str> = csv.lines().collect();
        assert!(rows[0].starts_with("row,kind,name,start,end,forecast,erlang_c_required"));
        let nurse = rows
            .iter()
            .filter(|r| r.starts_with("interval,queue,Nurse Line,"))
            .count();
        assert_eq!(nurse, 48);
        assert!(
            rows.iter()
                .any(|r| r.starts_with("shift,queue,Nurse Line,"))
        );
    }
    let (_, kind, _) = get(
        "/api/v1/staffing/plan?hours=24&format=json".into(),
        "text/csv",
    )
    .await;
    assert!(kind.starts_with("application/json"), "{kind}");

    for (query, field) in [
        ("hours=12", "hours"),
        ("hours=100", "hours"),
        ("hours=soon", "hours"),
        ("format=xml", "format"),
        ("days=2", "days"),
    ] {
        let (status, body) = server
            .call(
                Method::GET,
                &format!("/api/v1/staffing/plan?{query}"),
                Some(&display),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["error"]["details"]["field"], field, "{query}: {body}");
    }
    let (status, _) = server
        .call(Method::GET, "/api/v1/staffing/plan", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The page.
    let (status, kind, html) = get("/plan".into(), "text/html").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"));
    assert!(html.contains("/assets/plan.js"));
    let (status, _, script) = get("/assets/plan.js".into(), "*/*").await;
    assert_eq!(status, StatusCode::OK);
    assert!(script.contains("/api/v1/staffing/plan"));
}

both_backends!(staffing_plan, plan);
