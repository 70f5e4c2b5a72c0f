//! The report pages in headless Chromium: `/waves` and `/huddle`, opened
//! as a display would (`?token=…`), draw the API's numbers (checked in the
//! DOM: table cells and the values each chart line is drawn from), and the
//! huddle report prints to PDF (`chromium --headless --print-to-pdf`) on
//! A4 and on Letter with no chart cut across two pages: on every page
//! (read with `pdftotext`), each figure's caption, at its top, is on the
//! same page as its key, at its bottom.
//!
//! Needs `chromium`, `chromedriver` and `pdftotext`/`pdfinfo` (Debian:
//! `apt-get install chromium chromium-driver poppler-utils`). Without them
//! the test is skipped outside CI and fails in CI; `GOLIVE_SKIP_BROWSER=1`
//! skips it. `GOLIVE_SCREENSHOTS=1` writes docs/waves.png and
//! docs/huddle.png.

mod rollout;
mod support;

use chrono::Utc;
use reqwest::{Method, StatusCode};
use rollout::{HOUR, MINUTE, Plan, go_live, iso};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::browser::{self, Browser, WAIT, eventually, find_program, headless};
use support::{Backend, Server, TestDb};

async fn wait_ready(browser: &Browser) {
    eventually("the page to draw the API's answer", WAIT, || async {
        let ready = browser
            .js(
                "return document.documentElement.dataset.ready || null;",
                vec![],
            )
            .await;
        if ready == json!("true") {
            Ok(())
        } else {
            Err(format!("ready = {ready}"))
        }
    })
    .await;
}

/// The values a chart line was drawn from, by series name.
async fn series(browser: &Browser, figure: &str, name: &str) -> Value {
    let text = browser
        .js(
            "const g = [...document.querySelectorAll(arguments[0] + ' g[data-series]')].find((g) => g.dataset.series === arguments[1]); return g ? g.querySelector('path').dataset.values : null;",
            vec![json!(figure), json!(name)],
        )
        .await;
    serde_json::from_str(text.as_str().unwrap_or("null")).expect("data-values is JSON")
}

/// Whether a drawn series holds the API's values (JavaScript writes 1.0
/// as 1: compared as numbers; null for null).
fn same_values(drawn: &Value, expected: &[&Value]) -> bool {
    drawn.as_array().is_some_and(|drawn| {
        drawn.len() >= expected.len()
            && drawn
                .iter()
                .zip(expected)
                .all(|(d, e)| d.as_f64() == e.as_f64() && d.is_null() == e.is_null())
    })
}

/// `[data-*]` cells: (their data attributes, text), for a selector.
async fn cells(browser: &Browser, selector: &str) -> Vec<Value> {
    browser
        .js(
            "return [...document.querySelectorAll(arguments[0])].map((e) => ({...e.dataset, text: e.textContent.trim().replace(/[,\\u00a0\\u202f]/g, \"\")}));",
            vec![json!(selector)],
        )
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The huddle page printed by headless Chromium to `pdf`.
fn print_to_pdf(chromium: &Path, url: &str, pdf: &Path) {
    let extra = [
        "--no-pdf-header-footer".to_string(),
        "--virtual-time-budget=20000".to_string(),
        format!("--print-to-pdf={}", pdf.display()),
    ];
    headless(chromium, url, &extra, Duration::from_secs(120));
    assert!(pdf.exists(), "no PDF printed from {url}");
}

/// Pages and page size (points) of a PDF, from `pdfinfo`.
fn pdf_info(pdfinfo: &Path, pdf: &Path) -> (usize, f64, f64) {
    let output = Command::new(pdfinfo).arg(pdf).output().expect("pdfinfo");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .to_string()
    };
    let pages = field("Pages:").parse().expect("page count");
    let size = field("Page size:");
    let mut numbers = size
        .split_whitespace()
        .filter_map(|w| w.parse::<f64>().ok());
    let width = numbers.next().expect("width");
    let height = numbers.next().expect("height");
    (pages, width, height)
}

fn page_text(pdftotext: &Path, pdf: &Path, page: usize) -> String {
    let output = Command::new(pdftotext)
        .args(["-f", &page.to_string(), "-l", &page.to_string(), "-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const CONFIG: &str = r#"
[[waves]]
name = "Wave 1"
go_live_start = "START1"
sites = ["Main Campus", "North Hospital"]
users = 4200

[[waves]]
name = "Wave 2"
go_live_start = "START2"
sites = ["South Clinic"]
users = 900

[huddle]
time_zone = "UTC"
top_applications = 5
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_pages_draw_the_api_numbers_and_print() {
    let Some(browser) = browser::browser().await else {
        return;
    };
    let now = Utc::now().timestamp_millis();
    let start1 = now - 40 * HOUR - 20 * MINUTE;
    let start2 = now - 16 * HOUR - 5 * MINUTE;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("golive.toml");
    std::fs::write(
        &config,
        CONFIG
            .replace("START1", &iso(start1))
            .replace("START2", &iso(start2)),
    )
    .expect("config");
    let db = TestDb::new(Backend::Sqlite).await;
    let config_arg = config.display().to_string();
    let server = Server::start_with(&db, &["--config", &config_arg], &[]).await;
    let feed = server.token("integration").await;
    let display = server.token("display").await;
    let data = go_live(&Plan {
        seed: 21,
        from: start1 - HOUR,
        to: now - MINUTE,
        now,
        sites: &["Main Campus", "North Hospital", "South Clinic"],
        tickets: 1400,
        queues: &["Physician Line", "Nurse Line"],
        calls: 900,
    });
    let (status, body) = server.ingest(&feed, data.ndjson().join("\n")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = server
        .put("/api/v1/queues/Nurse%20Line", &json!({"agents_staffed": 4}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // ----------------------------------------------------------- waves
    let (status, waves) = server
        .call(Method::GET, "/api/v1/waves?hours=72", Some(&display), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{waves}");
    browser.set_viewport(1600, 1000).await;
    browser
        .goto(&server.url(&format!("/waves?token={display}")))
        .await;
    wait_ready(&browser).await;
    let shown = cells(&browser, "[data-testid=wave-cell]").await;
    let mut checked = 0;
    for wave in waves["waves"].as_array().expect("waves") {
        let name = wave["name"].as_str().expect("name");
        let hours = wave["hours"].as_array().expect("hours");
        for field in ["opened", "resolved", "backlog"] {
            for (h, point) in hours.iter().enumerate() {
                let cell = shown
                    .iter()
                    .find(|c| {
                        c["wave"] == name
                            && c["hour"].as_str() == Some(h.to_string().as_str())
                            && c["field"] == field
                    })
                    .unwrap_or_else(|| panic!("{name} h{h} {field} not on the page"));
                assert_eq!(
                    cell["text"],
                    point[field].to_string(),
                    "{name} h{h} {field}"
                );
                checked += 1;
            }
        }
        // The chart's lines are drawn from the API's values.
        let drawn = series(
            &browser,
            "[data-testid=waves-opened]",
            &format!("{name} opened"),
        )
        .await;
        let per_100: Vec<&Value> = hours.iter().map(|p| &p["opened_per_100_users"]).collect();
        assert!(
            same_values(&drawn, &per_100),
            "{name} per 100 users: {drawn} vs {per_100:?}"
        );
        let backlog = series(
            &browser,
            "[data-testid=waves-backlog]",
            &format!("{name} backlog"),
        )
        .await;
        let expected: Vec<&Value> = hours.iter().map(|p| &p["backlog"]).collect();
        assert!(same_values(&backlog, &expected), "{name} backlog line");
        // Hours the wave has not reached are gaps, not zeros.
        let drawn = drawn.as_array().expect("values");
        assert!(drawn[hours.len()..].iter().all(Value::is_null));
    }
    assert!(checked > 100, "{checked} cells checked");
    browser.assert_clean_console().await;
    if browser::screenshots_wanted() {
        browser.screenshot("waves.png").await;
    }

    // ----------------------------------------------------------- huddle
    let yesterday = iso(now - 24 * HOUR)[..10].to_string();
    let (status, report) = server
        .call(
            Method::GET,
            &format!("/api/v1/report/huddle?date={yesterday}"),
            Some(&display),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    browser
        .goto(&server.url(&format!("/huddle?date={yesterday}")))
        .await;
    wait_ready(&browser).await;
    let hours = report["hours"].as_array().expect("hours");
    assert_eq!(hours.len(), 24);
    let rows = cells(&browser, "[data-testid=hour-row] td").await;
    assert_eq!(rows.len(), 24 * 8);
    for (k, hour) in hours.iter().enumerate() {
        for (j, field) in [
            "opened",
            "resolved",
            "backlog",
            "calls_offered",
            "calls_answered",
            "calls_abandoned",
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(rows[k * 8 + j]["field"], *field);
            assert_eq!(
                rows[k * 8 + j]["text"],
                hour[*field].to_string(),
                "hour {k} {field}"
            );
        }
    }
    for (name, field) in [("opened", "opened"), ("resolved", "resolved")] {
        let drawn = series(&browser, "[data-testid=fig-flow]", name).await;
        let expected: Vec<&Value> = hours.iter().map(|h| &h[field]).collect();
        assert!(same_values(&drawn, &expected), "figure 1 {name}");
    }
    for (figure, name, field) in [
        ("fig-backlog", "backlog", "backlog"),
        ("fig-calls", "service level", "service_level"),
        ("fig-calls", "abandonment", "abandonment_rate"),
    ] {
        let drawn = series(&browser, &format!("[data-testid={figure}]"), name).await;
        let expected: Vec<&Value> = hours.iter().map(|h| &h[field]).collect();
        assert!(same_values(&drawn, &expected), "{figure} {name}: {drawn}");
    }
    let apps = cells(&browser, "[data-testid=app-row]").await;
    let listed: Vec<&Value> = report["top_applications"]
        .as_array()
        .expect("apps")
        .iter()
        .map(|a| &a["application"])
        .collect();
    assert_eq!(
        apps.iter().map(|a| &a["application"]).collect::<Vec<_>>(),
        listed
    );
    let staffing = report["staffing"].as_array().expect("staffing");
    assert_eq!(
        browser
            .js(
                "return document.querySelectorAll('[data-testid=fig-staffing]').length;",
                vec![]
            )
            .await,
        json!(staffing.len())
    );
    let nurse = staffing
        .iter()
        .position(|q| q["queue"] == "Nurse Line")
        .expect("nurse line");
    let required = browser
        .js(
            "const f = document.querySelectorAll('[data-testid=fig-staffing]')[arguments[0]]; return JSON.parse(f.querySelector('g[data-series=required] path').dataset.values);",
            vec![json!(nurse)],
        )
        .await;
    let expected: Vec<&Value> = staffing[nurse]["hours"]
        .as_array()
        .expect("hours")
        .iter()
        .map(|h| &h["required_agents"])
        .collect();
    assert!(same_values(&required, &expected), "required agents line");
    assert!(!browser.visible("[data-testid=huddle-known-issues]").await);
    assert_eq!(
        browser.text("[data-testid=total-opened]").await,
        Some(report["totals"]["tickets"]["opened"].to_string())
    );
    browser.assert_clean_console().await;
    if browser::screenshots_wanted() {
        browser.screenshot("huddle.png").await;
    }
    browser.close().await;

    // ----------------------------------------------------------- print
    let tools = (
        find_program(
            "GOLIVE_CHROMIUM",
            &["/usr/bin/chromium", "chromium", "chromium-browser"],
        ),
        find_program("GOLIVE_PDFTOTEXT", &["pdftotext"]),
        find_program("GOLIVE_PDFINFO", &["pdfinfo"]),
    );
    let (Some(chromium), Some(pdftotext), Some(pdfinfo)) = tools else {
        assert!(
            std::env::var_os("CI").is_none(),
            "pdftotext / pdfinfo not found: apt-get install poppler-utils"
        );
        eprintln!("pdftotext / pdfinfo not found: skipping the print check");
        return;
    };
    let figures = 4 + staffing.len();
    for (paper, width, height) in [("a4", 595.0, 842.0), ("letter", 612.0, 792.0)] {
        let pdf: PathBuf = dir.path().join(format!("huddle-{paper}.pdf"));
        print_to_pdf(
            &chromium,
            &server.url(&format!(
                "/huddle?token={display}&date={yesterday}&paper={paper}"
            )),
            &pdf,
        );
        let (pages, w, h) = pdf_info(&pdfinfo, &pdf);
        assert!(
            (w - width).abs() < 1.5 && (h - height).abs() < 1.5,
            "{paper}: page is {w}×{h} pt"
        );
        assert!((2..=8).contains(&pages), "{paper}: {pages} pages");
        let texts: Vec<String> = (1..=pages)
            .map(|p| page_text(&pdftotext, &pdf, p))
            .collect();
        assert!(
            texts[0].contains(&format!("Huddle report — {yesterday}")),
            "{paper}: title"
        );
        for n in 1..=figures {
            let caption = format!("Figure {n}.");
            let key = format!("Key to figure {n}:");
            let on = |needle: &str| -> Vec<usize> {
                texts
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.contains(needle))
                    .map(|(p, _)| p + 1)
                    .collect()
            };
            let (captions, keys) = (on(&caption), on(&key));
            assert_eq!(
                captions.len(),
                1,
                "{paper}: {caption} on pages {captions:?}"
            );
            assert_eq!(
                captions, keys,
                "{paper}: figure {n} is cut across pages {captions:?} / {keys:?}"
            );
        }
        // The controls are not printed.
        assert!(
            !texts.iter().any(|t| t.contains("Print / PDF")),
            "{paper}: controls printed"
        );
        if browser::screenshots_wanted() {
            let target = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../docs")
                .join(format!("huddle-{paper}.pdf"));
            std::fs::copy(&pdf, target).expect("copy the PDF to docs/");
        }
    }
}
