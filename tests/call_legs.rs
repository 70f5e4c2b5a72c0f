//! Call legs through the real server, on SQLite and PostgreSQL: transfers,
//! a leg that ends without an answer, an answer that arrives after its
//! end, repeats and an impossible event, posted one by one through
//! `POST /api/v1/calls/events` and as NDJSON through `POST /api/v1/ingest`.
//! The report (per queue and totals), its staffing lines, the live
//! staffing, the board's waiting calls, `/metrics` and the `calls`
//! projection are checked against figures worked out by hand below.
//!
//! Also: an `integration` token may set a queue's `agents_staffed` and
//! nothing else, and a lead's count and a feed's count replace each other,
//! the latest winning.

mod support;

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Server, TestDb, count_rows, encoded, iso};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const PHYSICIAN: &str = "Physician Line";
const PHARMACY: &str = "Pharmacy";
const NURSING: &str = "Nursing Line";

/// One call event, `seconds` after the scenario's start.
struct Leg<'a> {
    call_id: &'a str,
    queue: &'a str,
    event: &'a str,
    seconds: i64,
    wrap: Option<f64>,
}

fn leg<'a>(call_id: &'a str, queue: &'a str, event: &'a str, seconds: i64) -> Leg<'a> {
    Leg {
        call_id,
        queue,
        event,
        seconds,
        wrap: None,
    }
}

fn ended<'a>(call_id: &'a str, queue: &'a str, seconds: i64, wrap: f64) -> Leg<'a> {
    Leg {
        wrap: Some(wrap),
        ..leg(call_id, queue, "ended", seconds)
    }
}

impl Leg<'_> {
    fn body(&self, start: i64) -> Value {
        let mut body = json!({"call_id": self.call_id, "queue": self.queue,
            "event": self.event, "at": iso(start + self.seconds * SECOND)});
        if let Some(wrap) = self.wrap {
            body["wrap_seconds"] = json!(wrap);
        }
        body
    }
}

/// Expected call figures of one queue (or of all), worked out by hand.
struct Expected {
    offered: u64,
    answered: u64,
    abandoned: u64,
    within_target: u64,
    /// Sum of the answered legs' waits, seconds.
    wait_seconds: f64,
    /// Sum of (talk + wrap) over answered legs that ended, and their count.
    handle_seconds: f64,
    handled: u64,
}

impl Expected {
    fn check(&self, figures: &Value, what: &str) {
        assert_eq!(
            (
                &figures["offered"],
                &figures["answered"],
                &figures["abandoned"]
            ),
            (
                &json!(self.offered),
                &json!(self.answered),
                &json!(self.abandoned)
            ),
            "{what}: offered, answered, abandoned in {figures}"
        );
        let offered = self.offered as f64;
        assert_close!(figures["abandonment_rate"], self.abandoned as f64 / offered);
        assert_close!(
            figures["service_level"],
            self.within_target as f64 / offered
        );
        assert_close!(
            figures["asa_seconds"],
            self.wait_seconds / self.answered as f64
        );
        assert_close!(figures["aht_seconds"], self.aht());
    }

    fn aht(&self) -> f64 {
        self.handle_seconds / self.handled as f64
    }
}

async fn put_queue(server: &Server, token: &str, queue: &str, body: Value) -> (StatusCode, Value) {
    let path = format!("/api/v1/queues/{}", encoded(queue));
    server
        .call(Method::PUT, &path, Some(token), Some(&body))
        .await
}

async fn transfers_ends_and_late_answers(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let feed = server.token("integration").await;
    let lead = server.token("lead").await;
    let display = server.token("display").await;
    // Everything happens within the last 25 minutes, so the live staffing
    // (the last 30 minutes) sees the same legs as the report below.
    let now = Utc::now().timestamp_millis() / MINUTE * MINUTE;
    let start = now - 25 * MINUTE;

    // Queue settings: the lead sets Nursing's target to 45 s and staffs
    // it; the phone system's count then replaces the lead's.
    let (status, q) = put_queue(
        &server,
        &lead,
        NURSING,
        json!({"answer_target_seconds": 45, "agents_staffed": 2}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{q}");
    let (status, q) = put_queue(&server, &feed, NURSING, json!({"agents_staffed": 4})).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    assert_eq!(
        (
            q["agents_staffed"].as_u64(),
            q["answer_target_seconds"].as_f64()
        ),
        (Some(4), Some(45.0))
    );
    // Anything beyond agents_staffed is the lead's: 403 naming the fields,
    // and nothing changes.
    let (status, refused) = put_queue(
        &server,
        &feed,
        NURSING,
        json!({"agents_staffed": 9, "shrinkage": 0.1, "answer_target_seconds": 5}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["code"], "forbidden");
    let message = refused["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("agents_staffed")
            && message.contains("shrinkage")
            && message.contains("answer_target_seconds"),
        "{message}"
    );
    assert_eq!(
        refused["error"]["details"]["fields"],
        json!(["answer_target_seconds", "shrinkage"])
    );
    let agent = server.token("agent").await;
    let (status, _) = put_queue(&server, &agent, NURSING, json!({"agents_staffed": 1})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, q) = server
        .call(
            Method::GET,
            "/api/v1/queues/Nursing%20Line",
            Some(&display),
            None,
        )
        .await;
    assert_eq!(
        (q["agents_staffed"].as_u64(), q["shrinkage"].as_f64()),
        (Some(4), Some(0.0))
    );
    // Latest wins, whoever sends it: the lead, then the feed again.
    let (_, q) = put_queue(&server, &lead, NURSING, json!({"agents_staffed": 3})).await;
    assert_eq!(q["agents_staffed"], 3);
    let (_, q) = put_queue(&server, &feed, NURSING, json!({"agents_staffed": 4})).await;
    assert_eq!(q["agents_staffed"], 4);
    let (_, q) = put_queue(&server, &feed, PHARMACY, json!({"agents_staffed": 1})).await;
    assert_eq!(q["agents_staffed"], 1);
    let (_, q) = put_queue(&server, &lead, PHYSICIAN, json!({"agents_staffed": 2})).await;
    assert_eq!(q["agents_staffed"], 2);

    // Posted one by one, in this (arrival) order.
    let posted = [
        // t-1: answered on the Physician Line, transferred to Pharmacy.
        leg("t-1", PHYSICIAN, "offered", 0),
        leg("t-1", PHYSICIAN, "answered", 10),
        ended("t-1", PHYSICIAN, 130, 20.0),
        leg("t-1", PHARMACY, "offered", 130),
        leg("t-1", PHARMACY, "answered", 160),
        ended("t-1", PHARMACY, 460, 0.0),
        // e-1: ends without an answer: abandoned at 105.
        leg("e-1", PHYSICIAN, "offered", 60),
        leg("e-1", PHYSICIAN, "ended", 105),
        // l-1: its answer arrives after its end.
        leg("l-1", NURSING, "offered", 120),
        ended("l-1", NURSING, 400, 10.0),
        leg("l-1", NURSING, "answered", 135),
        // a-1: an explicit abandon.
        leg("a-1", NURSING, "offered", 200),
        leg("a-1", NURSING, "abandoned", 260),
        // w-1: still waiting.
        leg("w-1", PHYSICIAN, "offered", 300),
        // o-1: answered and ended before its offer arrives.
        leg("o-1", PHARMACY, "answered", 520),
        ended("o-1", PHARMACY, 620, 30.0),
        leg("o-1", PHARMACY, "offered", 500),
    ];
    for event in &posted {
        let body = event.body(start);
        let (status, answer) = server
            .call(
                Method::POST,
                "/api/v1/calls/events",
                Some(&feed),
                Some(&body),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}: {answer}");
        assert_eq!(
            (answer["queue"].as_str(), answer["status"].as_str()),
            (Some(event.queue), Some("recorded")),
            "{body}: {answer}"
        );
    }
    // A repeat of a leg's event is a duplicate; an abandon on the answered
    // Pharmacy leg of t-1 is impossible.
    let (status, answer) = server
        .post("/api/v1/calls/events", &posted[3].body(start))
        .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::ACCEPTED, Some("duplicate"))
    );
    let (status, answer) = server
        .post(
            "/api/v1/calls/events",
            &leg("t-1", PHARMACY, "abandoned", 200).body(start),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["code"], "impossible_call_sequence");

    // As NDJSON: t-2 answered on the Physician Line and transferred to
    // Pharmacy, where the caller hangs up unanswered (its end arrives
    // first); t-3 transferred to Nursing, with an impossible abandon
    // after its answer and a repeat.
    let lines = [
        ended("t-2", PHARMACY, 800, 15.0),
        leg("t-2", PHYSICIAN, "offered", 700),
        leg("t-2", PHYSICIAN, "answered", 705),
        ended("t-2", PHYSICIAN, 765, 0.0),
        leg("t-2", PHARMACY, "offered", 765),
        leg("t-3", PHYSICIAN, "offered", 880),
        leg("t-3", PHYSICIAN, "answered", 890),
        ended("t-3", PHYSICIAN, 900, 0.0),
        leg("t-3", NURSING, "offered", 900),
        leg("t-3", NURSING, "answered", 940),
        leg("t-3", NURSING, "abandoned", 950),
        ended("t-3", NURSING, 1000, 0.0),
        leg("t-3", NURSING, "offered", 900),
    ];
    let body: Vec<String> = lines
        .iter()
        .map(|event| {
            let mut line = event.body(start);
            line["kind"] = json!("call");
            line.to_string()
        })
        .collect();
    let (status, result) = server.ingest(&feed, body.join("\n")).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["accepted"], 12, "{result}");
    assert_eq!(result["rejected"][0]["line"], 11, "{result}");
    assert_eq!(
        result["rejected"][0]["error"]["code"],
        "impossible_call_sequence"
    );
    assert_eq!(result["rejected"].as_array().map(Vec::len), Some(1));

    // By hand (seconds; answer target 20 s, Nursing 45 s):
    // Physician Line: t-1 waits 10, handles 120 + 20; e-1 abandoned; w-1
    //   waiting; t-2 waits 5, handles 60; t-3 waits 10, handles 10.
    let physician = Expected {
        offered: 5,
        answered: 3,
        abandoned: 1,
        within_target: 3,
        wait_seconds: 25.0,
        handle_seconds: 140.0 + 60.0 + 10.0,
        handled: 3,
    };
    // Pharmacy: t-1 waits 30 (over 20), handles 300; o-1 waits 20 (at the
    //   target counts), handles 100 + 30; t-2 ended unanswered: abandoned.
    let pharmacy = Expected {
        offered: 3,
        answered: 2,
        abandoned: 1,
        within_target: 1,
        wait_seconds: 50.0,
        handle_seconds: 300.0 + 130.0,
        handled: 2,
    };
    // Nursing: l-1 waits 15, handles 265 + 10; a-1 abandoned; t-3 waits 40
    //   (within 45), handles 60.
    let nursing = Expected {
        offered: 3,
        answered: 2,
        abandoned: 1,
        within_target: 2,
        wait_seconds: 55.0,
        handle_seconds: 275.0 + 60.0,
        handled: 2,
    };
    // Totals count legs: 11 legs of 8 calls.
    let all = Expected {
        offered: 11,
        answered: 7,
        abandoned: 3,
        within_target: 6,
        wait_seconds: 130.0,
        handle_seconds: 210.0 + 430.0 + 335.0,
        handled: 7,
    };
    let expected = [
        (PHYSICIAN, &physician),
        (PHARMACY, &pharmacy),
        (NURSING, &nursing),
    ];

    let (from, to) = (start, start + 30 * MINUTE);
    let path = format!("/api/v1/report?from={}&to={}", iso(from), iso(to));
    let (status, report) = server.call(Method::GET, &path, Some(&display), None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    all.check(&report["calls"], "all queues");
    let by_queue = report["calls_by_queue"]
        .as_object()
        .expect("calls_by_queue");
    assert_eq!(by_queue.len(), 3, "{report}");
    for (queue, figures) in expected {
        figures.check(&report["calls_by_queue"][queue], queue);
    }
    // A window ending before the transfers' second legs keeps them out:
    // legs count by their own offered time.
    let early = format!(
        "/api/v1/report?from={}&to={}",
        iso(from),
        iso(start + 130 * SECOND)
    );
    let (_, early) = server.call(Method::GET, &early, Some(&display), None).await;
    assert_eq!(early["calls"]["offered"], 3, "t-1 and e-1, l-1: {early}");
    assert_eq!(early["calls_by_queue"].get(PHARMACY), None);

    // Staffing over the report window: calls offered are legs, AHT is the
    // window's, traffic = legs × AHT / 1800 s; the Erlang C answer for
    // those inputs, and the staffed count the feed set last.
    let staffed = [(PHYSICIAN, 2), (PHARMACY, 1), (NURSING, 4)];
    let (_, live) = server
        .call(Method::GET, "/api/v1/staffing", Some(&display), None)
        .await;
    for ((queue, figures), (_, agents)) in expected.iter().zip(staffed) {
        let line = |lines: &Value| {
            lines
                .as_array()
                .and_then(|all| all.iter().find(|l| l["queue"] == *queue).cloned())
                .unwrap_or_else(|| panic!("no staffing line for {queue} in {lines}"))
        };
        let target = if *queue == NURSING { 45 } else { 20 };
        let traffic = figures.offered as f64 * figures.aht() / 1800.0;
        let erlang = format!(
            "/api/v1/staffing/erlang-c?calls={}&interval_seconds=1800&aht_seconds={}&answer_target_seconds={target}&service_level=0.8&max_occupancy=0.85&shrinkage=0",
            figures.offered,
            figures.aht()
        );
        let (status, erlang) = server
            .call(Method::GET, &erlang, Some(&display), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{erlang}");
        for (what, line) in [
            ("report", line(&report["staffing"])),
            ("live", line(&live["queues"])),
        ] {
            assert_eq!(
                line["calls_offered"], figures.offered,
                "{what} {queue}: {line}"
            );
            assert_close!(line["interval_seconds"], 1800.0);
            assert_close!(line["aht_seconds"], figures.aht());
            assert_eq!(line["aht_source"], "window", "{what} {queue}");
            assert_close!(line["traffic_erlangs"], traffic);
            assert_close!(erlang["traffic_erlangs"], traffic);
            assert_eq!(
                line["required_agents"], erlang["required_agents"],
                "{what} {queue}"
            );
            assert_eq!(line["agents_staffed"], agents, "{what} {queue}");
        }
    }

    // Waiting now: only w-1, in the Physician Line; the transfer's leg that
    // ended unanswered does not wait.
    let (_, board) = server
        .call(Method::GET, "/api/v1/board", Some(&display), None)
        .await;
    let mut waiting = serde_json::Map::new();
    for (queue, count) in [(PHARMACY, 0), (PHYSICIAN, 1), (NURSING, 0)] {
        waiting.insert(queue.to_string(), json!(count));
    }
    assert_eq!(board["calls_waiting"], Value::Object(waiting));

    // Prometheus counts legs the same way.
    let metrics = server.metrics().await;
    for (queue, figures) in expected {
        assert_eq!(
            metrics.value("golive_calls_offered_total", &[("queue", queue)]),
            Some(figures.offered as f64)
        );
        assert_eq!(
            metrics.value("golive_calls_answered_total", &[("queue", queue)]),
            Some(figures.answered as f64)
        );
        assert_eq!(
            metrics.value("golive_calls_abandoned_total", &[("queue", queue)]),
            Some(figures.abandoned as f64)
        );
    }
    assert_eq!(
        metrics.value("golive_calls_waiting", &[("queue", PHYSICIAN)]),
        Some(1.0)
    );
    assert_eq!(
        metrics.value("golive_queue_agents_staffed", &[("queue", NURSING)]),
        Some(4.0)
    );

    // One projection row per leg.
    assert_eq!(count_rows(&db.url, "SELECT COUNT(*) FROM calls").await, 11);
    assert_eq!(
        count_rows(
            &db.url,
            "SELECT COUNT(*) FROM calls WHERE call_id = 't-2' AND queue = 'Pharmacy' \
             AND answered_at IS NULL AND abandoned_at IS NULL AND ended_at IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count_rows(
            &db.url,
            "SELECT COUNT(*) FROM calls WHERE call_id = 'l-1' AND answered_at IS NOT NULL \
             AND ended_at IS NOT NULL AND wrap_seconds = 10"
        )
        .await,
        1
    );
}
both_backends!(legs, transfers_ends_and_late_answers);
