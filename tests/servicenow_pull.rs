//! The ServiceNow pull against a stand-in of the Table API.
//!
//! ServiceNow cannot run here, so this test serves its documented wire
//! format from a local HTTP server written below: `GET
//! /api/now/table/incident` with `sysparm_query=sys_updated_on>=…^
//! ORDERBYsys_updated_on`, `sysparm_limit`, `sysparm_offset`, records as
//! `sysparm_display_value=all` gives them in `{"result": […]}`, a `Link`
//! header to the next page, basic auth, and now and then a 429 (with
//! `Retry-After`) or a 500. golive is killed (`kill -9`) in the middle of
//! a poll while the instance keeps changing; after the restart every
//! incident is in golive exactly once, in its latest state.

mod support;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::metrics::Metrics;
use support::{Backend, Server, TestDb};

const PASSWORD: &str = "pa55-w0rd";
/// `Basic base64("golive.integration:pa55-w0rd")`.
const EXPECTED_AUTH: &str = "Basic Z29saXZlLmludGVncmF0aW9uOnBhNTUtdzByZA==";
const PAGE: usize = 50;

#[derive(Clone)]
struct Incident {
    number: u32,
    state: &'static str,
    /// Seconds after 2026-03-02 00:00:00 UTC.
    opened: u32,
    updated: u32,
    resolved: Option<u32>,
}

fn time(seconds: u32) -> String {
    format!(
        "2026-03-02 {:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn parse_time(text: &str) -> Option<u32> {
    let clock = text.trim().strip_prefix("2026-03-02 ")?;
    let mut parts = clock.split(':').map(|p| p.parse::<u32>().ok());
    Some(parts.next()?? * 3600 + parts.next()?? * 60 + parts.next()??)
}

impl Incident {
    fn sys_id(&self) -> String {
        format!("{:032x}", 0xfeed_0000_u64 + u64::from(self.number))
    }

    /// As `sysparm_display_value=all` shows it (display times in
    /// US/Central, six hours behind: golive must read `value`).
    fn json(&self) -> Value {
        let pair =
            |value: String, display: String| json!({"value": value, "display_value": display});
        let same = |text: String| pair(text.clone(), text);
        let shifted = |seconds: u32| time(seconds.saturating_sub(6 * 3600));
        let (state_label, priority) = match self.state {
            "6" => ("Resolved", "3"),
            _ => ("In Progress", "3"),
        };
        json!({
            "sys_id": same(self.sys_id()),
            "number": same(format!("INC{:07}", self.number)),
            "state": pair(self.state.into(), state_label.into()),
            "priority": pair(priority.into(), "3 - Moderate".into()),
            "contact_type": pair("phone".into(), "Phone".into()),
            "category": pair("inquiry".into(), "Inquiry / Help".into()),
            "location": pair("25ab9c4d0a0a0bb300f7dabdc0ca7c1c".into(), "Main Campus".into()),
            "cmdb_ci": pair("b0c25d1bc0a800090168be1bfcdcd759".into(), ["Epic Orders", "Epic MAR"][(self.number % 2) as usize].into()),
            "u_department": same("Emergency".into()),
            "opened_at": pair(time(self.opened), shifted(self.opened)),
            "resolved_at": match self.resolved {
                Some(at) => pair(time(at), shifted(at)),
                None => same(String::new()),
            },
            "sys_updated_on": pair(time(self.updated), shifted(self.updated)),
        })
    }
}

#[derive(Default)]
struct Instance {
    incidents: Vec<Incident>,
    requests: usize,
    pages_served: usize,
    failures: HashMap<u16, usize>,
    /// The `sys_updated_on>=` bound of every query, in order.
    froms: Vec<u32>,
    unauthorized: usize,
}

type Shared = Arc<Mutex<Instance>>;

async fn table(
    State(instance): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut instance = instance.lock().expect("lock");
    instance.requests += 1;
    let n = instance.requests;
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(EXPECTED_AUTH) {
        instance.unauthorized += 1;
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": "User Not Authenticated"}})),
        )
            .into_response();
    }
    // Now and then the instance is busy or broken.
    if n % 7 == 3 {
        *instance.failures.entry(429).or_default() += 1;
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": {"message": "Rate limit exceeded"}})),
        )
            .into_response();
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("0"));
        return response;
    }
    if n % 11 == 5 {
        *instance.failures.entry(500).or_default() += 1;
        return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
    }
    let query = params.get("sysparm_query").cloned().unwrap_or_default();
    let from = query
        .split('^')
        .find_map(|clause| clause.strip_prefix("sys_updated_on>="))
        .and_then(parse_time)
        .unwrap_or(0);
    assert!(query.ends_with("^ORDERBYsys_updated_on"), "{query}");
    assert_eq!(
        params.get("sysparm_display_value").map(String::as_str),
        Some("all")
    );
    instance.froms.push(from);
    let limit: usize = params
        .get("sysparm_limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let offset: usize = params
        .get("sysparm_offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut matching: Vec<&Incident> = instance
        .incidents
        .iter()
        .filter(|i| i.updated >= from)
        .collect();
    matching.sort_by_key(|i| (i.updated, i.sys_id()));
    let total = matching.len();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|i| i.json())
        .collect();
    instance.pages_served += 1;
    let mut response = Json(json!({ "result": page })).into_response();
    let link = |offset: usize, rel: &str| {
        format!(
            "<http://instance/api/now/table/incident?sysparm_query={}&sysparm_limit={limit}&sysparm_offset={offset}>;rel=\"{rel}\"",
            query.replace(' ', "+")
        )
    };
    let mut links = vec![link(0, "first")];
    if offset + limit < total {
        links.push(link(offset + limit, "next"));
    }
    if let Ok(value) = HeaderValue::from_str(&links.join(",")) {
        response.headers_mut().insert("link", value);
    }
    response
        .headers_mut()
        .insert("x-total-count", HeaderValue::from(total));
    response
}

async fn start_instance(incidents: Vec<Incident>) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Instance {
        incidents,
        ..Instance::default()
    }));
    let app = axum::Router::new()
        .route("/api/now/table/incident", axum::routing::get(table))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}"), shared)
}

async fn wait_for(what: &str, deadline: Duration, mut check: impl AsyncFnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !check().await {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn report(server: &Server) -> Value {
    let (status, body) = server
        .get(
            "/api/v1/report?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z&group_by=application",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn pull_resumes_after_a_crash(backend: Backend) {
    // 1,000 incidents opened 10 s apart from 01:00, each last updated a
    // minute after opening, in progress.
    let incidents: Vec<Incident> = (0..1000u32)
        .map(|i| Incident {
            number: 20_000 + i,
            state: "2",
            opened: 3600 + i * 10,
            updated: 3660 + i * 10,
            resolved: None,
        })
        .collect();
    let (url, instance) = start_instance(incidents).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("golive.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[connectors.servicenow.pull]
instance_url = "{url}"
auth = {{ kind = "basic", username = "golive.integration", password_env = "GOLIVE_TEST_SN_PASSWORD" }}
page_size = {PAGE}
interval_seconds = 1
overlap_seconds = 60
start = "2026-03-02 00:00:00"
"#
        ),
    )
    .expect("config");
    let config = config.display().to_string();
    let env = [("GOLIVE_TEST_SN_PASSWORD", PASSWORD)];
    let db = TestDb::new(backend).await;
    let mut server = Server::start_with(&db, &["--config", &config], &env).await;

    // Mid-poll: after six pages, kill golive without warning.
    wait_for("six pages", Duration::from_secs(60), async || {
        instance.lock().expect("lock").pages_served >= 6
    })
    .await;
    server.kill9();
    let served_before = instance.lock().expect("lock").froms.len();
    // Meanwhile the instance changes: 100 incidents resolved later in the
    // morning (so they move to the end of the order), 50 new ones.
    {
        let mut instance = instance.lock().expect("lock");
        for incident in instance.incidents.iter_mut().filter(|i| i.number % 10 == 0) {
            let at = 36_000 + (incident.number % 1000) * 2;
            incident.state = "6";
            incident.resolved = Some(at);
            incident.updated = at;
        }
        for i in 0..50u32 {
            instance.incidents.push(Incident {
                number: 30_000 + i,
                state: "2",
                opened: 40_000 + i,
                updated: 40_100 + i,
                resolved: None,
            });
        }
    }

    let server = Server::start_with(&db, &["--config", &config], &env).await;
    wait_for(
        "every incident in its latest state",
        Duration::from_secs(90),
        async || {
            let figures = report(&server).await;
            figures["tickets"]["opened"] == 1050 && figures["tickets"]["resolved"] == 100
        },
    )
    .await;

    // Exactly once: 1,050 tickets, one per incident number.
    let tickets = server.all_tickets().await;
    assert_eq!(tickets.len(), 1050);
    let mut numbers: Vec<&str> = tickets
        .iter()
        .filter_map(|t| t["external_id"].as_str())
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 1050);
    // By hand: 1,050 opened (525 + 25 under each application: odd numbers
    // are Epic MAR), 100 resolved (even numbers, all Epic Orders), backlog
    // 950; resolutions 10:00:20–10:33:00.
    let figures = report(&server).await;
    let by_app = &figures["tickets_by"]["application"];
    assert_eq!(
        (
            &by_app["Epic Orders"]["opened"],
            &by_app["Epic Orders"]["resolved"]
        ),
        (&json!(525), &json!(100))
    );
    assert_eq!(
        (
            &by_app["Epic MAR"]["opened"],
            &by_app["Epic MAR"]["resolved"]
        ),
        (&json!(525), &json!(0))
    );
    assert_eq!(figures["tickets"]["backlog"], 950);
    let (status, one) = server.get("/api/v1/tickets/ext:INC0020010").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&one["status"], &one["resolved_at"]),
        (&json!("resolved"), &json!("2026-03-02T10:00:20.000Z"))
    );
    assert_eq!(
        one["opened_at"], "2026-03-02T01:01:40.000Z",
        "value, not the display time"
    );

    // The restart resumed from the saved cursor, not from the start.
    {
        let instance = instance.lock().expect("lock");
        let resumed = instance.froms[served_before];
        assert!(
            resumed > 3600,
            "the first query after the restart started at {}",
            time(resumed)
        );
        assert!(
            instance.failures.get(&429).copied().unwrap_or(0) > 0,
            "no 429 was served"
        );
        assert!(
            instance.failures.get(&500).copied().unwrap_or(0) > 0,
            "no 500 was served"
        );
        assert_eq!(instance.unauthorized, 0);
    }

    // Health: /readyz details and Prometheus.
    let (status, ready) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let health = &ready["connectors"]["servicenow_pull"];
    assert!(health["last_success"].is_string(), "{ready}");
    assert_eq!(health["cursor"], "2026-03-02T11:09:09.000Z", "{ready}");
    assert!(
        health["lag_seconds"].as_f64().is_some_and(|lag| lag > 0.0),
        "{ready}"
    );
    let text = server.metrics_text().await;
    let metrics = Metrics::parse(&text);
    let pull = ("connector", "servicenow_pull");
    for (name, labels) in [
        (
            "golive_connector_last_success_timestamp_seconds",
            &[pull][..],
        ),
        ("golive_connector_lag_seconds", &[pull]),
        (
            "golive_connector_records_total",
            &[pull, ("outcome", "accepted")],
        ),
        ("golive_connector_errors_total", &[pull]),
    ] {
        assert!(
            metrics.value(name, labels).is_some(),
            "{name} {labels:?} missing from /metrics"
        );
    }
    assert!(!text.contains(PASSWORD) && !ready.to_string().contains(PASSWORD));
}

both_backends!(pull_resumes_after_a_crash_, pull_resumes_after_a_crash);
