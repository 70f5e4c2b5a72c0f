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

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{Backend, Server, TestDb};

const MINUTE: i64 = 60_000;
const HALF_HOUR: i64 = 30 * MINUTE;

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .expect("valid time")
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn chromium() -> Option<PathBuf> {
    if std::env::var("GOLIVE_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("GOLIVE_SKIP_BROWSER=1: skipping the browser test");
        return None;
    }
    let candidates = std::env::var_os("GOLIVE_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from));
    let found = candidates.into_iter().find(|p| p.exists());
    if found.is_none() {
        // CI installs it (.ci/run), so there a missing browser is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium not found: apt-get install chromium, or set GOLIVE_CHROMIUM"
        );
        eprintln!("chromium not found: skipping (CI is not set)");
    }
    found
}

/// The page's DOM once its script has run, from headless Chromium.
fn rendered(chromium: &PathBuf, url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--window-size=1600,1200",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().expect("chromium status").is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish rendering {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().expect("chromium output");
    String::from_utf8_lossy(&output.stdout).into_owned()
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
