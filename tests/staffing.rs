//! Staffing through the HTTP API on SQLite and PostgreSQL, checked against
//! an independent, textbook Erlang C written in this file (the sum formula
//! in `f64`, agents searched one by one) and exact integer arithmetic for
//! shrinkage, the occupancy cap and the at-the-elbow model. No golive code
//! computes an expected value here.
//!
//! - `GET /api/v1/staffing`: calls posted for the last 30 minutes with
//!   known waits, talk and wrap give the queue's calls offered, AHT,
//!   traffic, required and scheduled agents (shrinkage set through
//!   `PUT /api/v1/queues`), delta against the agents staffed and the
//!   expected service level now; the AHT falls back to the last 24 hours
//!   and then to the default; the report over the same 30 minutes gives
//!   the same line.
//! - `GET /api/v1/staffing/erlang-c`: the textbook case, 21 agents at 0.3
//!   shrinkage scheduling 30, the occupancy cap, zero calls, and 422s
//!   naming the parameter.
//! - The at-the-elbow recommendation per site from posted `ate` and
//!   `walk_in` tickets equals the documented model.

mod support;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Server, TestDb, encoded, iso};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;

// ---------------------------------------------------------------------------
// Textbook Erlang C, independent of golive.
// ---------------------------------------------------------------------------

/// Probability that a call waits, for traffic `a` erlangs and `n > a`
/// agents: (Aⁿ/n! · n/(n−A)) / (Σ_{k<n} Aᵏ/k! + Aⁿ/n! · n/(n−A)).
/// Terms Aᵏ/k! are built by multiplying, fine for the small n used here.
fn erlang_c(a: f64, n: u32) -> f64 {
    let mut term = 1.0; // A⁰/0!
    let mut sum = 0.0;
    for k in 0..n {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(n) / (f64::from(n) - a);
    top / (sum + top)
}

/// Service level at answer target `t` seconds with handle time `h`.
fn service_level(a: f64, n: u32, h: f64, t: f64) -> f64 {
    1.0 - erlang_c(a, n) * (-(f64::from(n) - a) * t / h).exp()
}

/// Smallest n > a meeting the service level target (no occupancy cap).
fn agents_for(a: f64, h: f64, t: f64, target: f64) -> u32 {
    let mut n = a.floor() as u32 + 1;
    while service_level(a, n, h, t) < target {
        n += 1;
    }
    n
}

/// ⌈x / y⌉ for positive integers.
fn ceil_div(x: u64, y: u64) -> u64 {
    x.div_ceil(y)
}

// ---------------------------------------------------------------------------
// The test.
// ---------------------------------------------------------------------------

struct Api<'a> {
    server: &'a Server,
    feed: String,
    lead: String,
    agent: String,
    display: String,
}

impl Api<'_> {
    async fn event(&self, call_id: &str, queue: &str, event: &str, at: i64, wrap: Option<f64>) {
        self.server
            .call_event(&self.feed, (call_id, queue, event), at, wrap)
            .await;
    }

    async fn configure(&self, queue: &str, body: Value) {
        let path = format!("/api/v1/queues/{}", encoded(queue));
        let (status, answer) = self
            .server
            .call(Method::PUT, &path, Some(&self.lead), Some(&body))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    async fn ticket(&self, site: &str, department: &str, channel: &str, opened_at: i64) {
        let body = json!({"site": site, "department": department, "application": "Orders",
            "category": "how_to", "severity": 3, "channel": channel, "opened_at": iso(opened_at)});
        let (status, answer) = self
            .server
            .call(
                Method::POST,
                "/api/v1/tickets",
                Some(&self.agent),
                Some(&body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.server
            .call(Method::GET, path, Some(&self.display), None)
            .await
    }
}

fn line<'a>(lines: &'a Value, key: &str, name: &str) -> &'a Value {
    lines
        .as_array()
        .and_then(|all| all.iter().find(|l| l[key] == name))
        .unwrap_or_else(|| panic!("no line with {key} = {name} in {lines}"))
}

async fn live_staffing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let api = Api {
        server: &server,
        feed: server.token("integration").await,
        lead: server.token("lead").await,
        agent: server.token("agent").await,
        display: server.token("display").await,
    };
    let now = Utc::now().timestamp_millis() / SECOND * SECOND;

    // Access Line: 30 calls offered over the last 29 minutes, all answered
    // after 0, 10, 20 or 30 s, talking 200 s (even) or 300 s (odd) with
    // 50 s wrap: AHT = (250 + 350) / 2 = 300 s.
    api.configure(
        "Access Line",
        json!({"shrinkage": 0.3, "agents_staffed": 6}),
    )
    .await;
    for i in 0..30i64 {
        let id = format!("acc-{i}");
        let offered = now - 29 * MINUTE + i * 40 * SECOND;
        let answered = offered + (i % 4) * 10 * SECOND;
        let talk = if i % 2 == 0 { 200 } else { 300 } * SECOND;
        // Out of order for a third of them: the answer arrives first.
        if i % 3 == 0 {
            api.event(&id, "Access Line", "answered", answered, None)
                .await;
            api.event(&id, "Access Line", "offered", offered, None)
                .await;
        } else {
            api.event(&id, "Access Line", "offered", offered, None)
                .await;
            api.event(&id, "Access Line", "answered", answered, None)
                .await;
        }
        api.event(&id, "Access Line", "ended", answered + talk, Some(50.0))
            .await;
    }
    // Lab Line: two calls three hours ago handled in 120 + 30 and 220 + 30
    // seconds, and four recent calls answered but not ended: no AHT in the
    // window, so the last 24 hours' (150 + 250) / 2 = 200 s is used.
    for (i, talk) in [(0i64, 120i64), (1, 220)] {
        let id = format!("lab-old-{i}");
        let offered = now - 3 * 60 * MINUTE + i * MINUTE;
        api.event(&id, "Lab Line", "offered", offered, None).await;
        api.event(&id, "Lab Line", "answered", offered + 10 * SECOND, None)
            .await;
        api.event(
            &id,
            "Lab Line",
            "ended",
            offered + (10 + talk) * SECOND,
            Some(30.0),
        )
        .await;
    }
    for i in 0..4i64 {
        let id = format!("lab-{i}");
        let offered = now - 20 * MINUTE + i * MINUTE;
        api.event(&id, "Lab Line", "offered", offered, None).await;
        api.event(&id, "Lab Line", "answered", offered + 5 * SECOND, None)
            .await;
    }
    // Pharmacy Line: two recent calls, one abandoned and one waiting, no
    // handle time anywhere: the default AHT of 300 s.
    api.event("ph-1", "Pharmacy Line", "offered", now - 10 * MINUTE, None)
        .await;
    api.event("ph-1", "Pharmacy Line", "abandoned", now - 9 * MINUTE, None)
        .await;
    api.event("ph-2", "Pharmacy Line", "offered", now - 2 * MINUTE, None)
        .await;
    // Radiology Line: configured, never called.
    api.configure("Radiology Line", json!({"agents_staffed": 2}))
        .await;

    // At-the-elbow: North Hospital has 8 `ate` tickets in Emergency, 3
    // `walk_in` in ICU and 1 `ate` in Lab in the last 30 minutes; a phone
    // ticket and a 40-minute-old `ate` ticket do not count. Main Campus has
    // only a phone ticket.
    for i in 0..8 {
        api.ticket(
            "North Hospital",
            "Emergency",
            "ate",
            now - (25 - i) * MINUTE,
        )
        .await;
    }
    for i in 0..3 {
        api.ticket("North Hospital", "ICU", "walk_in", now - (20 - i) * MINUTE)
            .await;
    }
    api.ticket("North Hospital", "Lab", "ate", now - 5 * MINUTE)
        .await;
    api.ticket("North Hospital", "Emergency", "phone", now - 5 * MINUTE)
        .await;
    api.ticket("North Hospital", "Emergency", "ate", now - 40 * MINUTE)
        .await;
    api.ticket("Main Campus", "Emergency", "phone", now - 5 * MINUTE)
        .await;

    let (status, live) = api.get("/api/v1/staffing").await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_close!(live["interval_seconds"], 1800.0);
    let queues = &live["queues"];

    // Access Line by hand: A = 30 · 300 / 1800 = 5 erlangs.
    let access = line(queues, "queue", "Access Line");
    let a = 30.0 * 300.0 / 1800.0;
    let required = agents_for(a, 300.0, 20.0, 0.8);
    // Occupancy 5 / n stays under the default 0.85 cap for any n > 5.88.
    assert!(a / f64::from(required) <= 0.85);
    assert_eq!(required, 8, "80/20 at 5 erlangs and 300 s");
    assert_eq!(access["calls_offered"], 30);
    assert_close!(access["interval_seconds"], 1800.0);
    assert_close!(access["aht_seconds"], 300.0);
    assert_eq!(access["aht_source"], "window");
    assert_close!(access["traffic_erlangs"], a);
    assert_eq!(access["agents_staffed"], 6);
    assert_eq!(access["required_agents"], required);
    // ⌈8 / (1 − 0.3)⌉ = ⌈80 / 7⌉ = 12.
    assert_eq!(
        access["scheduled_agents"],
        ceil_div(u64::from(required) * 10, 7)
    );
    assert_eq!(access["scheduled_agents"], 12);
    assert_eq!(access["delta"], i64::from(required) - 6);
    assert_close!(
        access["service_level"],
        service_level(a, required, 300.0, 20.0)
    );
    assert_close!(access["probability_of_waiting"], erlang_c(a, required));
    assert_close!(access["occupancy"], a / f64::from(required));
    assert_close!(
        access["asa_seconds"],
        erlang_c(a, required) * 300.0 / (f64::from(required) - a)
    );
    // The six staffed agents give this service level now.
    assert_close!(
        access["expected_service_level_now"],
        service_level(a, 6, 300.0, 20.0)
    );

    // Lab Line: 4 calls, AHT from the last 24 hours.
    let lab = line(queues, "queue", "Lab Line");
    let a = 4.0 * 200.0 / 1800.0;
    assert_eq!(lab["calls_offered"], 4);
    assert_close!(lab["aht_seconds"], 200.0);
    assert_eq!(lab["aht_source"], "last_24h");
    assert_close!(lab["traffic_erlangs"], a);
    let required = agents_for(a, 200.0, 20.0, 0.8);
    assert_eq!(lab["required_agents"], required);
    assert_eq!(lab["scheduled_agents"], required);
    assert_eq!(lab["delta"], required);
    assert_eq!(
        lab["expected_service_level_now"],
        Value::Null,
        "no agents staffed"
    );

    // Pharmacy Line: 2 calls at the default 300 s.
    let pharmacy = line(queues, "queue", "Pharmacy Line");
    let a = 2.0 * 300.0 / 1800.0;
    assert_eq!(pharmacy["calls_offered"], 2);
    assert_close!(pharmacy["aht_seconds"], 300.0);
    assert_eq!(pharmacy["aht_source"], "default");
    assert_close!(pharmacy["traffic_erlangs"], a);
    assert_eq!(pharmacy["required_agents"], agents_for(a, 300.0, 20.0, 0.8));

    // Radiology Line: no traffic, nobody required, two agents to spare.
    let radiology = line(queues, "queue", "Radiology Line");
    assert_eq!(radiology["calls_offered"], 0);
    assert_eq!(radiology["traffic_erlangs"], 0.0);
    assert_eq!(radiology["required_agents"], 0);
    assert_eq!(radiology["scheduled_agents"], 0);
    assert_eq!(radiology["delta"], -2);

    // The report over the same 30 minutes gives the same line.
    let as_of = DateTime::parse_from_rfc3339(live["as_of"].as_str().expect("as_of"))
        .expect("rfc 3339")
        .timestamp_millis();
    let (status, report) = api
        .get(&format!(
            "/api/v1/report?from={}&to={}",
            iso(as_of - 30 * MINUTE),
            iso(as_of)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let mut from_live = access.clone();
    from_live.as_object_mut().map(|m| m.remove("forecast"));
    assert_eq!(
        line(&report["staffing"], "queue", "Access Line"),
        &from_live
    );

    // At-the-elbow by hand: n tickets in T = 1800 s at 12 minutes each and
    // 0.6 utilisation need n · (3600 / T) · (12 / 60) / 0.6 = 2n/3 people:
    // site 12 tickets → 8; Emergency 8 → ⌊16/3⌋ = 5 stationed; ICU 3 → 2;
    // Lab 1 → ⌊2/3⌋ = 0, so it roams. 8 − 5 − 2 = 1 roams.
    let people = |n: u64| (n * 3600 * 12 * 10, 1800 * 60 * 6);
    let sites = &live["sites"];
    let north = line(sites, "site", "North Hospital");
    assert_eq!(north["tickets"], 12);
    assert_close!(north["tickets_per_hour"], 24.0);
    assert_close!(north["workload_hours_per_hour"], 4.8);
    let (num, den) = people(12);
    assert_eq!(north["recommended_staff"], ceil_div(num, den));
    assert_eq!(north["recommended_staff"], 8);
    let stationed: Vec<(String, u64)> = north["departments"]
        .as_array()
        .expect("departments")
        .iter()
        .map(|d| {
            (
                d["department"].as_str().unwrap_or("").to_string(),
                d["dedicated_staff"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let floor = |n: u64| {
        let (num, den) = people(n);
        num / den
    };
    assert_eq!(
        stationed,
        [
            ("Emergency".to_string(), floor(8)),
            ("ICU".to_string(), floor(3))
        ]
    );
    assert_eq!(
        stationed,
        [("Emergency".to_string(), 5), ("ICU".to_string(), 2)]
    );
    assert_eq!(north["roaming_staff"], 1);
    let emergency = &north["departments"][0];
    assert_eq!(emergency["tickets"], 8);
    assert_close!(emergency["tickets_per_hour"], 16.0);
    assert_close!(emergency["workload_hours_per_hour"], 3.2);
    // Main Campus: no at-the-elbow tickets, the minimum coverage of one.
    let main = line(sites, "site", "Main Campus");
    assert_eq!(main["tickets"], 0);
    assert_eq!(main["recommended_staff"], 1);
    assert_eq!(main["roaming_staff"], 1);
}
both_backends!(live, live_staffing);

async fn erlang_c_calculator(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let display = server.token("display").await;
    let ask = |query: &str| {
        let server = &server;
        let display = display.clone();
        let path = format!("/api/v1/staffing/erlang-c?{query}");
        async move { server.call(Method::GET, &path, Some(&display), None).await }
    };

    // The textbook case: 100 calls in 30 minutes at 180 s is 10 erlangs;
    // 13 agents give 79.6 % in 20 s, 14 give 88.8 %.
    let (status, out) = ask(
        "calls=100&interval_seconds=1800&aht_seconds=180&answer_target_seconds=20&service_level=0.8",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_close!(out["traffic_erlangs"], 10.0);
    assert_eq!(agents_for(10.0, 180.0, 20.0, 0.8), 14);
    assert!(service_level(10.0, 13, 180.0, 20.0) < 0.8);
    assert_eq!(out["required_agents"], 14);
    assert_eq!(out["scheduled_agents"], 14);
    assert_close!(out["service_level"], service_level(10.0, 14, 180.0, 20.0));
    assert_close!(out["probability_of_waiting"], erlang_c(10.0, 14));
    assert_close!(out["occupancy"], 10.0 / 14.0);
    assert_close!(out["asa_seconds"], erlang_c(10.0, 14) * 180.0 / 4.0);
    assert!((out["service_level"].as_f64().unwrap_or(0.0) - 0.8884).abs() < 1e-4);

    // 340 calls an hour at 180 s: A = 17, 21 agents; at 0.3 shrinkage
    // ⌈21 / 0.7⌉ = ⌈210 / 7⌉ = 30 exactly (21 / 0.7 is 30.000000000000004
    // in floating point).
    assert_eq!(agents_for(17.0, 180.0, 20.0, 0.8), 21);
    let shrinkage: f64 = "0.3".parse().expect("number");
    assert!(21.0 / (1.0 - shrinkage) > 30.0, "the float trap is real");
    let (status, out) = ask(
        "calls=340&interval_seconds=3600&aht_seconds=180&answer_target_seconds=20&service_level=0.8&max_occupancy=0.85&shrinkage=0.3",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_close!(out["traffic_erlangs"], 17.0);
    assert_eq!(out["required_agents"], 21);
    assert_eq!(out["scheduled_agents"], ceil_div(21 * 10, 7));
    assert_eq!(out["scheduled_agents"], 30);

    // Occupancy cap: 168 calls an hour at 180 s is A = 8.4; a lax 5 %
    // service level needs only 9 agents (93 % busy); a 70 % cap needs
    // ⌈8.4 / 0.7⌉ = ⌈(168 · 180 · 10) / (3600 · 7)⌉ = 12.
    assert_eq!(agents_for(8.4, 180.0, 20.0, 0.05), 9);
    let capped = ceil_div(168 * 180 * 10, 3600 * 7);
    assert_eq!(capped, 12);
    let (status, out) =
        ask("calls=168&interval_seconds=3600&aht_seconds=180&service_level=0.05&max_occupancy=0.7")
            .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["required_agents"], capped);
    assert_close!(out["occupancy"], 8.4 / 12.0);
    assert_close!(out["probability_of_waiting"], erlang_c(8.4, 12));
    let (status, out) =
        ask("calls=168&interval_seconds=3600&aht_seconds=180&service_level=0.05&max_occupancy=1")
            .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["required_agents"], 9);

    // No calls: nobody needed.
    let (status, out) = ask("calls=0&interval_seconds=1800&aht_seconds=180").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["required_agents"], 0);
    assert_eq!(out["scheduled_agents"], 0);

    // Bad or impossible parameters: 422 naming the parameter.
    let good = "interval_seconds=1800&aht_seconds=180";
    for (query, field) in [
        (format!("calls=-1&{good}"), "calls"),
        (format!("calls=NaN&{good}"), "calls"),
        (format!("calls=ten&{good}"), "calls"),
        (good.to_string(), "calls"),
        (
            format!("calls=100&{good}&service_level=1.5"),
            "service_level",
        ),
        (format!("calls=100&{good}&service_level=0"), "service_level"),
        (format!("calls=100&{good}&shrinkage=1"), "shrinkage"),
        (format!("calls=100&{good}&shrinkage=-0.1"), "shrinkage"),
        (format!("calls=100&{good}&max_occupancy=0"), "max_occupancy"),
        (
            format!("calls=100&{good}&answer_target_seconds=-5"),
            "answer_target_seconds",
        ),
        (
            format!("calls=100&{good}&asa_target_seconds=-5"),
            "asa_target_seconds",
        ),
        (
            "calls=100&interval_seconds=0&aht_seconds=180".to_string(),
            "interval_seconds",
        ),
        (
            "calls=100&interval_seconds=1800&aht_seconds=inf".to_string(),
            "aht_seconds",
        ),
        ("calls=100&interval_seconds=1800".to_string(), "aht_seconds"),
        (format!("calls=100&{good}&agents=3"), "agents"),
    ] {
        let (status, body) = ask(&query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["error"]["details"]["field"], field, "{query}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "{query}: {body}"
        );
    }
    // Readers only.
    let (status, _) = server
        .call(
            Method::GET,
            "/api/v1/staffing/erlang-c?calls=1&interval_seconds=1&aht_seconds=1",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
both_backends!(erlang_c, erlang_c_calculator);
