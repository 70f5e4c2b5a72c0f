//! Erlang A and measured patience through the HTTP API, checked against a
//! computation in this file that shares nothing with golive's: the
//! M/M/N+M birth–death chain summed state by state, and each waiting
//! caller's chance of an answer within the target by uniformization of his
//! own absorbing Markov chain (the method pyworkforce uses), with agents
//! searched one by one.
//!
//! - `GET /api/v1/staffing`: calls posted for the last 30 minutes with
//!   known waits, answers and hang-ups (and one caller who started waiting
//!   before the interval) give the queue's measured patience — seconds of
//!   waiting inside the interval over abandons — and the Erlang A line for
//!   it, equal to the hand computation.
//! - `GET /api/v1/staffing/erlang-a`: pyworkforce's published example and
//!   422s naming the parameter.

mod support;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Backend, Server, TestDb};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;

// ---------------------------------------------------------------------------
// Erlang A, independent of golive.
// ---------------------------------------------------------------------------

struct Figures {
    service_level: f64,
    abandon: f64,
    waiting: f64,
    occupancy: f64,
}

/// M/M/n+M with `a` erlangs, handle time `h`, answer target `t` and mean
/// patience `p` (all seconds).
fn erlang_a(a: f64, n: u32, h: f64, t: f64, p: f64) -> Figures {
    let (lambda, mu, theta) = (a / h, 1.0 / h, 1.0 / p);
    let n_f = f64::from(n);
    // Stationary distribution by the birth–death balance, grown until the
    // tail is negligible.
    let mut pi = vec![1.0_f64];
    loop {
        let k = pi.len() as f64;
        let death = k.min(n_f) * mu + (k - n_f).max(0.0) * theta;
        let next = pi[pi.len() - 1] * lambda / death;
        pi.push(next);
        if k > n_f && lambda < death && next < 1e-18 * pi.iter().sum::<f64>() {
            break;
        }
    }
    let total: f64 = pi.iter().sum();
    let pi: Vec<f64> = pi.iter().map(|x| x / total).collect();
    let n = n as usize;
    let waiting: f64 = pi[n..].iter().sum();
    let queue: f64 = pi[n..].iter().enumerate().map(|(j, x)| j as f64 * x).sum();
    let abandon = theta * queue / lambda;
    // A caller with j ahead: uniformized chain on "j ahead", moving up at
    // nμ + iθ with i ahead, hanging up at θ; served from 0 ahead at nμ.
    let states = pi.len() - n;
    let rate = n_f * mu + states as f64 * theta + theta;
    let steps = (rate * t + 12.0 * (rate * t).sqrt() + 50.0) as usize;
    let mut answered_in_time = 0.0;
    for start in 0..states {
        let mut here = vec![0.0; states];
        here[start] = 1.0;
        let (mut served, mut result, mut poisson) = (0.0, 0.0, (-rate * t).exp());
        for step in 1..=steps {
            let mut next = vec![0.0; states];
            for (i, mass) in here.iter().enumerate() {
                let advance = n_f * mu + i as f64 * theta;
                let stay = rate - advance - theta;
                if i == 0 {
                    served += mass * advance / rate;
                } else {
                    next[i - 1] += mass * advance / rate;
                }
                next[i] += mass * stay / rate;
            }
            here = next;
            poisson *= rate * t / step as f64;
            result += poisson * served;
        }
        // P(served by t) = Σ_k Poisson(k; rate·t) · P(served within k steps).
        let tail: f64 = 1.0 - {
            let mut p = (-rate * t).exp();
            let mut sum = p;
            for k in 1..=steps {
                p *= rate * t / k as f64;
                sum += p;
            }
            sum
        };
        answered_in_time += pi[n + start] * (result + tail.max(0.0) * served);
    }
    Figures {
        service_level: pi[..n].iter().sum::<f64>() + answered_in_time,
        abandon,
        waiting,
        occupancy: a * (1.0 - abandon) / n_f,
    }
}

/// Smallest n ≥ 1 reaching the service level, raised until the occupancy
/// is within the cap.
fn required(a: f64, h: f64, t: f64, p: f64, target: f64, cap: f64) -> u32 {
    let mut n = 1;
    while erlang_a(a, n, h, t, p).service_level < target {
        n += 1;
    }
    while erlang_a(a, n, h, t, p).occupancy > cap {
        n += 1;
    }
    n
}

fn close(value: &Value, expected: f64, tolerance: f64) -> bool {
    value
        .as_f64()
        .is_some_and(|v| (v - expected).abs() <= tolerance * expected.abs().max(1.0))
}

macro_rules! assert_close {
    ($value:expr, $expected:expr, $tolerance:expr) => {
        assert!(
            close(&$value, $expected, $tolerance),
            "{} = {} but expected {}",
            stringify!($value),
            $value,
            $expected
        )
    };
}

// ---------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------

struct Feed<'a> {
    server: &'a Server,
    token: String,
}

impl Feed<'_> {
    async fn event(&self, call_id: &str, event: &str, at: i64, wrap: Option<f64>) {
        self.server
            .call_event(&self.token, (call_id, "Nurse Line", event), at, wrap)
            .await;
    }
}

async fn measured_patience(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let feed = Feed {
        server: &server,
        token: server.token("integration").await,
    };
    let display = server.token("display").await;
    let (status, _) = server
        .put(
            "/api/v1/queues/Nurse%20Line",
            &json!({"answer_target_seconds": 20, "service_level_target": 0.8,
                    "max_occupancy": 0.85, "shrinkage": 0.3, "agents_staffed": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let now = Utc::now().timestamp_millis() / SECOND * SECOND;

    // 40 answered after 0–40 s (800 s of waiting in all), talking 240 s
    // with 60 s wrap: AHT 300 s.
    for i in 0..40i64 {
        let id = format!("ans-{i}");
        let offered = now - 28 * MINUTE + i * 30 * SECOND;
        let answered = offered + (i % 5) * 10 * SECOND;
        feed.event(&id, "offered", offered, None).await;
        feed.event(&id, "answered", answered, None).await;
        feed.event(&id, "ended", answered + 240 * SECOND, Some(60.0))
            .await;
    }
    // 12 hung up after 15, 30, … 180 s (1,170 s).
    for i in 0..12i64 {
        let id = format!("gone-{i}");
        let offered = now - 25 * MINUTE + i * 90 * SECOND;
        feed.event(&id, "offered", offered, None).await;
        feed.event(&id, "abandoned", offered + (i + 1) * 15 * SECOND, None)
            .await;
    }
    // 2 ended without an answer after 50 s: abandons at their end (100 s).
    for i in 0..2i64 {
        let id = format!("dropped-{i}");
        let offered = now - 10 * MINUTE + i * MINUTE;
        feed.event(&id, "offered", offered, None).await;
        feed.event(&id, "ended", offered + 50 * SECOND, None).await;
    }
    // Offered 31 minutes ago, hung up 29 minutes ago: only the part of its
    // wait inside the interval counts, and its abandon does.
    feed.event("early", "offered", now - 31 * MINUTE, None)
        .await;
    feed.event("early", "abandoned", now - 29 * MINUTE, None)
        .await;

    let (status, live) = server
        .call(Method::GET, "/api/v1/staffing", Some(&display), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{live}");
    let as_of = DateTime::parse_from_rfc3339(live["as_of"].as_str().expect("as_of"))
        .expect("RFC 3339")
        .timestamp_millis();
    let from = as_of - 30 * MINUTE;
    let line = live["queues"]
        .as_array()
        .and_then(|lines| lines.iter().find(|l| l["queue"] == "Nurse Line"))
        .expect("a Nurse Line line");
    let erlang_a_line = &line["erlang_a"];

    let carried_in = (now - 29 * MINUTE - from) as f64 / 1000.0;
    let waiting = 800.0 + 1170.0 + 100.0 + carried_in;
    let abandons = 12 + 2 + 1;
    let patience = waiting / f64::from(abandons);
    assert_eq!(erlang_a_line["abandons"], abandons, "{erlang_a_line}");
    assert_close!(erlang_a_line["waiting_seconds"], waiting, 1e-9);
    assert_close!(erlang_a_line["patience_seconds"], patience, 1e-9);
    assert_eq!(erlang_a_line["patience_confidence"], "medium");
    assert_eq!(erlang_a_line["model"], "erlang_a");

    // 54 calls offered in the interval at 300 s: 9 erlangs.
    assert_eq!(line["calls_offered"], 54);
    assert_close!(line["aht_seconds"], 300.0, 1e-9);
    let a = 54.0 * 300.0 / 1800.0;
    let n = required(a, 300.0, 20.0, patience, 0.8, 0.85);
    assert_eq!(erlang_a_line["required_agents"], n, "{erlang_a_line}");
    // ⌈n / 0.7⌉ in integers.
    assert_eq!(
        erlang_a_line["scheduled_agents"],
        (u64::from(n) * 10).div_ceil(7)
    );
    assert_eq!(erlang_a_line["delta"], i64::from(n) - 5);
    let at_n = erlang_a(a, n, 300.0, 20.0, patience);
    assert_close!(erlang_a_line["service_level"], at_n.service_level, 1e-9);
    assert_close!(erlang_a_line["probability_of_abandon"], at_n.abandon, 1e-9);
    assert_close!(erlang_a_line["probability_of_waiting"], at_n.waiting, 1e-9);
    assert_close!(erlang_a_line["occupancy"], at_n.occupancy, 1e-9);
    let now_staffed = erlang_a(a, 5, 300.0, 20.0, patience);
    assert_close!(
        erlang_a_line["expected_service_level_now"],
        now_staffed.service_level,
        1e-9
    );
    assert_close!(
        erlang_a_line["expected_abandon_rate_now"],
        now_staffed.abandon,
        1e-9
    );
    // The advice names a model and that model's figure.
    let advice = &erlang_a_line["advice"];
    let planned = if advice["use_model"] == "erlang_a" {
        erlang_a_line["required_agents"].clone()
    } else {
        line["required_agents"].clone()
    };
    assert_eq!(advice["agents"], planned, "{advice}");
    assert!(advice["message"].as_str().is_some_and(|m| !m.is_empty()));

    // The board's live staffing carries the same line.
    let (status, board) = server
        .call(Method::GET, "/api/v1/board", Some(&display), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let on_board = board["staffing"]
        .as_array()
        .and_then(|lines| lines.iter().find(|l| l["queue"] == "Nurse Line"))
        .expect("board line");
    assert_eq!(on_board["erlang_a"]["abandons"], abandons);
    assert_eq!(on_board["erlang_a"]["required_agents"], n);
}

both_backends!(live, measured_patience);

async fn calculator(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db).await;
    let display = server.token("display").await;
    let get = |query: String| {
        let (server, display) = (&server, display.clone());
        async move {
            server
                .call(
                    Method::GET,
                    &format!("/api/v1/staffing/erlang-a?{query}"),
                    Some(&display),
                    None,
                )
                .await
        }
    };
    // pyworkforce's README example.
    let (status, out) = get("calls=100&interval_seconds=1800&aht_seconds=180&\
        answer_target_seconds=20&service_level=0.8&max_occupancy=0.85&shrinkage=0.3&\
        patience_seconds=300"
        .into())
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["required_agents"], 13);
    assert_eq!(out["scheduled_agents"], 19);
    assert_close!(out["traffic_erlangs"], 10.0, 1e-12);
    let at_13 = erlang_a(10.0, 13, 180.0, 20.0, 300.0);
    assert_close!(out["service_level"], at_13.service_level, 1e-9);
    assert_close!(out["probability_of_abandon"], at_13.abandon, 1e-9);
    assert_close!(out["probability_of_waiting"], at_13.waiting, 1e-9);
    assert_close!(out["occupancy"], at_13.occupancy, 1e-9);
    assert!(out["asa_seconds"].as_f64().is_some_and(|s| s > 0.0));
    assert_eq!(required(10.0, 180.0, 20.0, 300.0, 0.8, 0.85), 13);

    let base = "calls=100&interval_seconds=1800&aht_seconds=180";
    for (query, field) in [
        (base.to_string(), "patience_seconds"),
        (format!("{base}&patience_seconds=0"), "patience_seconds"),
        (format!("{base}&patience_seconds=-5"), "patience_seconds"),
        (format!("{base}&patience_seconds=soon"), "patience_seconds"),
        (format!("{base}&patience_seconds=inf"), "patience_seconds"),
        (
            format!("{base}&patience_seconds=60&patience=60"),
            "patience",
        ),
        (
            "interval_seconds=1800&aht_seconds=180&patience_seconds=60".into(),
            "calls",
        ),
        (
            format!("{base}&patience_seconds=60&service_level=2"),
            "service_level",
        ),
    ] {
        let (status, body) = get(query.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["error"]["details"]["field"], field, "{query}: {body}");
    }
    let (status, _) = server
        .call(
            Method::GET,
            "/api/v1/staffing/erlang-a?calls=1&interval_seconds=60&aht_seconds=60&patience_seconds=60",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

both_backends!(erlang_a_calculator, calculator);
