//! The staffing plan page (`/plan`) in headless Chromium: after a day and a
//! half of calls posted through the API, the page opened as a wall display
//! would (`/plan?token=…`) draws, for the queue, the required-vs-on-duty
//! chart and the shifts as bars with the plan's agent counts, and the shift
//! totals. Chromium renders the page and runs its script, then prints the
//! resulting DOM (`--dump-dom`), which is checked against the plan the API
//! gives.
//!
//! Needs `chromium` (Debian: `apt-get install chromium`; another path via
//! `GOLIVE_CHROMIUM`). Without it the test is skipped outside CI and fails
//! in CI; `GOLIVE_SKIP_BROWSER=1` skips it.

mod support;

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::browser::{chromium, headless};
use support::{Backend, Server, TestDb, iso};

const MINUTE: i64 = 60_000;
const HALF_HOUR: i64 = 30 * MINUTE;

/// The page's DOM once its script has run, from headless Chromium.
fn rendered(chromium: &Path, url: &str) -> String {
    let extra = [
        "--window-size=1600,1200",
        "--virtual-time-budget=15000",
        "--dump-dom",
    ];
    headless(
        chromium,
        url,
        &extra.map(String::from),
        Duration::from_secs(90),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_page_draws_the_plan() {
    let Some(chromium) = chromium() else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    let feed = server.token("integration").await;
    let display = server.token("display").await;

    // 36 hours of answered calls, 4 every half hour.
    let now = Utc::now().timestamp_millis();
    let current = now.div_euclid(HALF_HOUR) * HALF_HOUR;
    let mut lines = Vec::new();
    let mut start = current - 72 * HALF_HOUR;
    let mut id = 0;
    while start < current {
        for k in 0..4 {
            id += 1;
            let offered = start + k * 5 * MINUTE;
            for (event, at) in [
                ("offered", offered),
                ("answered", offered + 15_000),
                ("ended", offered + 255_000),
            ] {
                lines.push(
                    json!({"kind": "call", "call_id": format!("w-{id}"), "queue": "Nurse Line",
                        "event": event, "at": iso(at)})
                    .to_string(),
                );
            }
        }
        start += HALF_HOUR;
    }
    let (status, body) = server.ingest(&feed, lines.join("\n")).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, plan) = server
        .call(
            Method::GET,
            "/api/v1/staffing/plan?hours=72",
            Some(&display),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let staffed: Vec<&Value> = plan["queues"][0]["shifts"]
        .as_array()
        .expect("shifts")
        .iter()
        .filter(|s| s["agents"].as_u64().is_some_and(|a| a > 0))
        .collect();
    assert!(!staffed.is_empty());

    let dom = rendered(&chromium, &server.url(&format!("/plan?token={display}")));
    assert!(
        dom.contains(r#"data-testid="plan-queue""#) && dom.contains(r#"data-name="Nurse Line""#),
        "no queue section in the rendered page:\n{dom}"
    );
    assert!(dom.contains(r#"class="plan-required""#), "no required line");
    assert!(dom.contains(r#"class="plan-on-duty""#), "no on-duty line");
    // One bar per staffed shift, labelled with its template and agents.
    assert_eq!(
        dom.matches(r#"data-testid="plan-shift""#).count(),
        staffed.len(),
        "shift bars"
    );
    for shift in &staffed {
        let label = format!(
            "{} · {}",
            shift["template"].as_str().expect("name"),
            shift["agents"]
        );
        assert!(dom.contains(&label), "no bar labelled {label}");
    }
    assert!(dom.contains("72 hours from"), "status line");
    // The login form stays hidden: the token in the address worked.
    assert!(dom.contains(r#"<section class="login" id="login" hidden"#));
}
