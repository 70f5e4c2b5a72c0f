//! Browser tests of issue #14 in headless Chromium (see tests/browser.rs
//! for what they need):
//! - the board's replay mode (`/?replay=DAY`): marked REPLAY; moving the
//!   time slider shows the numbers `GET /api/v1/board?as_of=T` gives for
//!   the moment the page names (tiles and the known-issue table), they
//!   change when the slider moves, and play at 600× moves on by itself;
//! - the agent console offers the open known issues of the application
//!   typed as one-key picks (Alt+Shift+1…9) and links the ticket logged;
//! - the lead's page creates a known issue from the keyboard and resolves
//!   it.
//!
//! `GOLIVE_SCREENSHOTS=1` also writes docs/replay.png.

mod support;

use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use fantoccini::key::Key;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::browser::{WAIT, browser, eventually, screenshots_wanted};
use support::{ADMIN_TOKEN, Backend, Server, TestDb, ticket};

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn create_known_issue(server: &Server, body: Value) -> String {
    let (status, created) = server.post("/api/v1/known-issues", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().expect("id").to_string()
}

/// Yesterday from 07:00 to 17:00 UTC: a ticket every few minutes (more in
/// the afternoon, so moments differ), a third of them about the known
/// issue, most resolved within the hour.
async fn seed_yesterday(server: &Server, day: DateTime<Utc>, known_issue: &str) {
    let mut lines = Vec::new();
    let mut minute = 7 * 60;
    let mut n = 0u32;
    while minute < 17 * 60 {
        let opened = day + ChronoDuration::minutes(minute);
        let application = ["Orders", "MAR", "Pharmacy"][n as usize % 3];
        let mut line = ticket(
            json!({"kind": "ticket", "external_id": format!("INC{n:05}"),
            "opened_at": iso(opened),
            "application": application}),
        );
        if n.is_multiple_of(3) {
            line["known_issue"] = json!(known_issue);
        }
        lines.push(line);
        if !n.is_multiple_of(4) {
            lines.push(
                json!({"kind": "ticket_update", "external_id": format!("INC{n:05}"),
                "status": "resolved", "at": iso(opened + ChronoDuration::minutes(25))}),
            );
        }
        minute += if minute < 12 * 60 { 6 } else { 2 };
        n += 1;
    }
    let body = lines
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let (status, answer) = server.ingest(ADMIN_TOKEN, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["rejected"], json!([]), "{answer}");
}

/// The page's moment, opened and backlog tiles and known-issue rows.
const REPLAY_SNAPSHOT: &str = r#"
const tile = (id) => document.querySelector(`[data-testid=tile-${id}-value]`)?.dataset.value ?? null;
return {
  at: document.querySelector('[data-testid=replay-time]').getAttribute('datetime'),
  as_of: document.body.dataset.asOf ?? null,
  opened: tile('opened'),
  backlog: tile('backlog'),
  resolved: tile('resolved'),
  known: [...document.querySelectorAll('[data-testid=known-table] tbody tr[data-id]')]
    .map(r => [r.dataset.id, r.querySelector('[data-testid=known-tickets]').textContent]),
};"#;

/// Waits until the page shows the board the API gives for the moment the
/// page names, and returns (moment, opened, backlog).
async fn page_matches_as_of(
    browser: &support::browser::Browser,
    server: &Server,
    token: &str,
) -> (String, String, String) {
    eventually("the replay to show the as_of board", WAIT, || async {
        let page = browser.js(REPLAY_SNAPSHOT, vec![]).await;
        let Some(at) = page["at"].as_str().filter(|a| !a.is_empty()) else {
            return Err("no moment yet".to_string());
        };
        let (status, board) = server
            .call(
                Method::GET,
                &format!("/api/v1/board?as_of={at}"),
                Some(token),
                None,
            )
            .await;
        if status != StatusCode::OK {
            return Err(format!("as_of {at}: {status} {board}"));
        }
        let t = &board["windows"]["60m"]["tickets"];
        let expected = json!({
            "at": at,
            "as_of": board["as_of"],
            "opened": t["opened"].to_string(),
            "backlog": t["backlog"].to_string(),
            "resolved": t["resolved"].to_string(),
            "known": board["known_issues"].as_array().map(|list| list.iter()
                .map(|k| json!([k["id"], k["tickets"].to_string()])).collect::<Vec<_>>()),
        });
        if page == expected {
            Ok((
                at.to_string(),
                expected["opened"].as_str().unwrap_or_default().to_string(),
                expected["backlog"].as_str().unwrap_or_default().to_string(),
            ))
        } else {
            Err(format!("page {page}, API {expected}"))
        }
    })
    .await
}

/// Sets the slider to `minutes` after midnight, as a drag would.
async fn slide_to(browser: &support::browser::Browser, minutes: u32) {
    browser
        .js(
            "const s = document.querySelector('[data-testid=replay-slider]'); s.value = String(arguments[0]); s.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!(minutes)],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_slider_moves_the_board() {
    let Some(browser) = browser().await else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    let display = server.token("display").await;
    let issue = create_known_issue(
        &server,
        json!({"title": "Label printer mapping on 4 West", "application": "Orders"}),
    )
    .await;
    let yesterday = (Utc::now() - ChronoDuration::days(1)).date_naive();
    let day = yesterday.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    seed_yesterday(&server, day, &issue).await;

    browser
        .goto(&server.url(&format!("/?token={display}&replay={yesterday}")))
        .await;
    browser.wait_visible("[data-testid=replay-bar]").await;
    assert_eq!(
        browser.text("[data-testid=replay-mark]").await.as_deref(),
        Some("REPLAY")
    );
    assert!(
        browser.visible("[data-testid=known-table]").await,
        "the known-issue table is on the board"
    );

    slide_to(&browser, 10 * 60).await;
    let (morning, opened_morning, _) = page_matches_as_of(&browser, &server, &display).await;
    slide_to(&browser, 15 * 60 + 30).await;
    let (afternoon, opened_afternoon, _) = page_matches_as_of(&browser, &server, &display).await;
    assert!(afternoon > morning, "{morning} then {afternoon}");
    assert_ne!(
        opened_morning, opened_afternoon,
        "the slider moved the numbers"
    );
    let known = browser.js(REPLAY_SNAPSHOT, vec![]).await["known"].clone();
    assert_eq!(known[0][0], json!(issue), "{known}");

    // Play at 600×: the moment moves on by itself (10 minutes a second).
    slide_to(&browser, 9 * 60).await;
    page_matches_as_of(&browser, &server, &display).await;
    browser
        .js(
            "const s = document.querySelector('[data-testid=replay-speed]'); s.value = '600'; s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await;
    browser.click("[data-testid=replay-play]").await;
    let start = DateTime::parse_from_rfc3339(
        &browser
            .attr("[data-testid=replay-time]", "datetime")
            .await
            .expect("moment"),
    )
    .expect("rfc3339");
    eventually("play to move the moment on", WAIT, || async {
        let now = browser
            .attr("[data-testid=replay-time]", "datetime")
            .await
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
        match now {
            Some(t) if t - start >= ChronoDuration::minutes(20) => Ok(()),
            other => Err(format!("at {other:?}")),
        }
    })
    .await;
    browser.click("[data-testid=replay-play]").await;
    assert_eq!(
        browser.text("[data-testid=replay-play]").await.as_deref(),
        Some("Play")
    );
    // Paused: the page settles on the API's board for its moment.
    page_matches_as_of(&browser, &server, &display).await;

    if screenshots_wanted() {
        browser.set_viewport(1920, 1080).await;
        slide_to(&browser, 14 * 60).await;
        page_matches_as_of(&browser, &server, &display).await;
        browser.screenshot("replay.png").await;
    }
    browser.assert_clean_console().await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_picks_a_known_issue_with_one_key() {
    let Some(browser) = browser().await else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    let agent = server.token("agent").await;
    let printer = create_known_issue(
        &server,
        json!({"title": "Label printer mapping on 4 West", "application": "Orders",
            "workaround": "Print from the unit clerk's station"}),
    )
    .await;
    let pharmacy = create_known_issue(
        &server,
        json!({"title": "Dispense queue slow", "application": "Pharmacy"}),
    )
    .await;

    browser
        .goto(&server.url(&format!("/console?token={agent}")))
        .await;
    browser.sign_in_console("Dana Agent").await;
    let tab = char::from(Key::Tab).to_string();
    browser
        .type_keys(&format!("Main Campus{tab}4 West{tab}Orders"))
        .await;
    browser.chord(Key::Alt, '1').await;
    // Only the Orders known issue is offered (with "None").
    eventually("the Orders known issue offered", WAIT, || async {
        let offered = browser
            .js(
                "return [...document.querySelectorAll('#known-choices input')].map(i => i.value);",
                vec![],
            )
            .await;
        if offered == json!(["", printer]) {
            Ok(())
        } else {
            Err(format!("offered {offered}"))
        }
    })
    .await;
    browser.chord_keys(&[Key::Alt, Key::Shift], '1').await;
    assert_eq!(
        browser
            .js(
                "return document.querySelector('#known-choices input:checked')?.value;",
                vec![]
            )
            .await,
        json!(printer)
    );
    assert_eq!(
        browser
            .text("[data-testid=known-workaround]")
            .await
            .as_deref(),
        Some("Workaround: Print from the unit clerk's station")
    );
    browser.type_keys(&char::from(Key::Enter).to_string()).await;
    let logged = eventually("the ticket logged", WAIT, || async {
        match browser.attr("[data-testid=form-status]", "data-id").await {
            Some(id) if !id.is_empty() => Ok(id),
            other => Err(format!("status {other:?}")),
        }
    })
    .await;
    let (status, body) = server.get(&format!("/api/v1/tickets/{logged}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["known_issue"], json!(printer), "{body}");
    assert_eq!(body["application"], "Orders");
    // The next call starts with no known issue picked.
    assert_eq!(
        browser
            .js(
                "return document.querySelector('#known-choices input:checked')?.value;",
                vec![]
            )
            .await,
        json!("")
    );
    let (_, list) = server.get("/api/v1/known-issues").await;
    let count = |id: &str| {
        list["known_issues"]
            .as_array()
            .and_then(|l| l.iter().find(|k| k["id"] == id))
            .map(|k| k["tickets_total"].clone())
    };
    assert_eq!(count(&printer), Some(json!(1)));
    assert_eq!(count(&pharmacy), Some(json!(0)));
    browser.assert_clean_console().await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lead_page_creates_and_resolves_a_known_issue() {
    let Some(browser) = browser().await else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start(&db).await;
    let lead = server.token("lead").await;
    browser
        .goto(&server.url(&format!("/lead?token={lead}")))
        .await;
    browser.wait_visible("[data-testid=known-form]").await;
    browser.click("[data-testid=known-title-input]").await;
    let tab = char::from(Key::Tab).to_string();
    browser
        .type_keys(&format!(
            "Sepsis order set missing in ED{tab}Orders{tab}Use the adult sepsis panel{}",
            char::from(Key::Enter)
        ))
        .await;
    let id = eventually("the known issue listed", WAIT, || async {
        match browser
            .attr("[data-testid=known-issues-table] tbody tr", "data-id")
            .await
        {
            Some(id) => Ok(id),
            None => Err("no row yet".to_string()),
        }
    })
    .await;
    let (_, list) = server.get("/api/v1/known-issues").await;
    let issue = &list["known_issues"][0];
    assert_eq!(issue["id"], json!(id));
    assert_eq!(issue["title"], "Sepsis order set missing in ED");
    assert_eq!(issue["application"], "Orders");
    assert_eq!(issue["workaround"], "Use the adult sepsis panel");
    browser.click("[data-testid=known-resolve]").await;
    eventually("the known issue resolved", WAIT, || async {
        let (_, list) = server.get("/api/v1/known-issues").await;
        let shown = browser
            .text("[data-testid=known-row-status]")
            .await
            .unwrap_or_default();
        if list["known_issues"][0]["status"] == "resolved" && shown.starts_with("resolved") {
            Ok(())
        } else {
            Err(format!(
                "API {}, page {shown:?}",
                list["known_issues"][0]["status"]
            ))
        }
    })
    .await;
    browser.assert_clean_console().await;
    browser.close().await;
}
