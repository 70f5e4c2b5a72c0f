//! The daily huddle report through the real server on SQLite and
//! PostgreSQL, in the command center's zone (America/Chicago, day shift
//! from 07:00, night shift from 19:00): a day and a half of tickets and
//! calls sent through bulk ingest; yesterday's report, whole day and night
//! shift, must give every hour's opened, resolved, backlog, calls offered,
//! answered, abandoned, service level and abandonment rate, the totals
//! and the top applications equal to a brute-force count over the raw
//! events, and per queue and hour the staffing line the report gives for
//! that hour. Each table as CSV (`format=csv` and `Accept: text/csv`)
//! parses and holds the JSON's numbers.

mod rollout;
mod support;

use chrono::{Days, TimeZone, Utc};
use chrono_tz_shim::chicago_midnight;
use reqwest::{Method, StatusCode};
use rollout::{HOUR, MINUTE, Plan, go_live, iso, millis, number};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Backend, Server, TestDb, encoded};

/// Chicago's midnights without a time zone crate in the tests: the zone
/// is UTC−6 in winter and UTC−5 in summer (second Sunday of March to the
/// first Sunday of November, at 02:00 local).
mod chrono_tz_shim {
    use chrono::{Datelike, NaiveDate, Weekday};

    fn nth_sunday(year: i32, month: u32, n: u32) -> NaiveDate {
        NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Sun, n as u8).expect("a Sunday")
    }

    /// Hours Chicago is behind UTC at local midnight of `date`.
    fn offset_hours(date: NaiveDate) -> i64 {
        let start = nth_sunday(date.year(), 3, 2);
        let end = nth_sunday(date.year(), 11, 1);
        if date > start && date <= end { 5 } else { 6 }
    }

    /// The instant of local midnight starting `date` in Chicago.
    pub fn chicago_midnight(date: NaiveDate) -> i64 {
        let utc = date.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        utc.timestamp_millis() + offset_hours(date) * 3_600_000
    }
}

const CONFIG: &str = r#"
[huddle]
time_zone = "America/Chicago"
shifts = [{ name = "Day", start = "07:00" }, { name = "Night", start = "19:00" }]
top_applications = 4
"#;

/// Answer target of each queue (set through the API before the calls).
fn target_ms(queue: &str) -> i64 {
    if queue == "Physician Line" {
        20_000
    } else {
        45_000
    }
}

fn hours_of(report: &Value) -> &Vec<Value> {
    report["hours"].as_array().expect("hours")
}

async fn get(server: &Server, token: &str, path: &str) -> Value {
    let (status, body) = server.call(Method::GET, path, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// Every hour, the totals and the top applications against the oracle.
fn check_against_oracle(report: &Value, data: &rollout::GoLive, from: i64, to: i64) {
    let hours = hours_of(report);
    assert_eq!(hours.len() as i64, (to - from) / HOUR, "one row per hour");
    for (k, hour) in hours.iter().enumerate() {
        let start = from + k as i64 * HOUR;
        let what = format!("hour {k} from {}", iso(start));
        assert_eq!(
            millis(hour["from"].as_str().expect("from")),
            start,
            "{what}"
        );
        assert_eq!(
            millis(hour["to"].as_str().expect("to")),
            start + HOUR,
            "{what}"
        );
        let (opened, resolved, backlog) = data.tickets(start, start + HOUR, None);
        assert_eq!(hour["opened"], opened, "{what}: opened");
        assert_eq!(hour["resolved"], resolved, "{what}: resolved");
        assert_eq!(hour["backlog"], backlog, "{what}: backlog");
        let (offered, answered, abandoned, within) = data.calls(start, start + HOUR, target_ms);
        assert_eq!(hour["calls_offered"], offered, "{what}: offered");
        assert_eq!(hour["calls_answered"], answered, "{what}: answered");
        assert_eq!(hour["calls_abandoned"], abandoned, "{what}: abandoned");
        if offered == 0 {
            assert!(hour["service_level"].is_null() && hour["abandonment_rate"].is_null());
        } else {
            assert_close!(hour["service_level"], within as f64 / offered as f64);
            assert_close!(hour["abandonment_rate"], abandoned as f64 / offered as f64);
        }
    }
    let (opened, resolved, backlog) = data.tickets(from, to, None);
    let totals = &report["totals"]["tickets"];
    assert_eq!(
        (&totals["opened"], &totals["resolved"], &totals["backlog"]),
        (&opened.into(), &resolved.into(), &backlog.into())
    );
    assert_eq!(
        report["totals"]["calls"]["offered"],
        data.calls(from, to, target_ms).0
    );

    // The top applications: by opened, then resolved, then backlog, then name.
    let mut expected: Vec<(String, (u64, u64, u64))> = rollout::APPLICATIONS
        .iter()
        .map(|a| (a.to_string(), data.application(a, from, to)))
        .filter(|(_, (o, r, b))| o + r + b > 0)
        .collect();
    expected.sort_by(|a, b| (b.1.0, b.1.1, b.1.2, &a.0).cmp(&(a.1.0, a.1.1, a.1.2, &b.0)));
    expected.truncate(4);
    let listed: Vec<(String, (u64, u64, u64))> = report["top_applications"]
        .as_array()
        .expect("applications")
        .iter()
        .map(|a| {
            let n = |f: &str| a[f].as_u64().expect("count");
            (
                a["application"].as_str().expect("name").to_string(),
                (n("opened"), n("resolved"), n("backlog")),
            )
        })
        .collect();
    assert_eq!(listed, expected);
}

/// A CSV table: its header and rows.
fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .expect("header row")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("a CSV row").iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// A CSV field equals a JSON value: same string, or the same number (an
/// empty field for null; `0` and `0.0` alike).
fn same(field: &str, value: &Value) -> bool {
    match value {
        Value::Null => field.is_empty(),
        Value::String(s) => field == s,
        // Read with the same JSON number parser as the body was, so that
        // the same digits give the same float.
        Value::Number(_) => {
            serde_json::from_str::<Value>(field)
                .ok()
                .as_ref()
                .and_then(number)
                == number(value)
        }
        _ => false,
    }
}

/// Every CSV table holds the JSON's rows, read through both ways of
/// asking for CSV.
async fn check_csv(server: &Server, token: &str, query: &str, report: &Value) {
    let tables: [(&str, Vec<Value>); 4] = [
        ("hours", hours_of(report).clone()),
        (
            "applications",
            report["top_applications"].as_array().expect("apps").clone(),
        ),
        (
            "staffing",
            report["staffing"]
                .as_array()
                .expect("staffing")
                .iter()
                .flat_map(|q| {
                    q["hours"].as_array().expect("hours").iter().map(|h| {
                        let mut row = h.clone();
                        row["queue"] = q["queue"].clone();
                        row
                    })
                })
                .collect(),
        ),
        (
            "known_issues",
            report["top_known_issues"]
                .as_array()
                .expect("known issues")
                .clone(),
        ),
    ];
    for (table, rows) in tables {
        let by_format = server
            .client
            .get(server.url(&format!(
                "/api/v1/report/huddle?{query}&format=csv&table={table}"
            )))
            .bearer_auth(token)
            .send()
            .await
            .expect("csv request");
        assert_eq!(by_format.status(), StatusCode::OK);
        assert!(
            by_format.headers()["content-type"]
                .to_str()
                .is_ok_and(|t| t.starts_with("text/csv")),
            "{table}: content type"
        );
        let text = by_format.text().await.expect("csv text");
        let by_accept = server
            .client
            .get(server.url(&format!("/api/v1/report/huddle?{query}&table={table}")))
            .bearer_auth(token)
            .header("accept", "text/csv")
            .send()
            .await
            .expect("csv request")
            .text()
            .await
            .expect("csv text");
        assert_eq!(text, by_accept, "{table}: format=csv and Accept agree");
        let (header, parsed) = parse_csv(&text);
        assert_eq!(
            parsed.len(),
            rows.len(),
            "{table}: one CSV row per JSON row"
        );
        for (row, json) in parsed.iter().zip(&rows) {
            assert_eq!(row.len(), header.len());
            for (name, field) in header.iter().zip(row) {
                assert!(
                    same(field, &json[name.as_str()]),
                    "{table}.{name}: CSV {field:?} vs JSON {}",
                    json[name.as_str()]
                );
            }
        }
    }
}

async fn huddle_matches_the_oracle(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("golive.toml");
    std::fs::write(&path, CONFIG).expect("config");
    let db = TestDb::new(backend).await;
    let config_arg = path.display().to_string();
    let server = Server::start_with(&db, &["--config", &config_arg], &[]).await;
    let feed = server.token("integration").await;
    let display = server.token("display").await;

    let now = Utc::now().timestamp_millis();
    // Yesterday in Chicago, found from today's date there (Chicago is 5
    // or 6 hours behind UTC: the date 5 hours ago is today or tomorrow).
    let chicago_now = Utc
        .timestamp_millis_opt(now - 5 * HOUR)
        .single()
        .expect("now")
        .date_naive();
    let today = if chicago_midnight(chicago_now) > now {
        chicago_now.checked_sub_days(Days::new(1)).expect("date")
    } else {
        chicago_now
    };
    let yesterday = today.checked_sub_days(Days::new(1)).expect("date");
    let day_from = chicago_midnight(yesterday);
    let day_to = chicago_midnight(today);
    assert!(day_to <= now && now - day_to < 25 * HOUR, "today found");

    for (queue, target) in [("Physician Line", 20), ("Nurse Line", 45)] {
        let (status, body) = server
            .put(
                &format!("/api/v1/queues/{}", encoded(queue)),
                &serde_json::json!({"answer_target_seconds": target}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let data = go_live(&Plan {
        seed: 7,
        from: day_from - 6 * HOUR,
        to: now - MINUTE,
        now,
        sites: &["Main Campus", "North Hospital"],
        tickets: 1500,
        queues: &["Physician Line", "Nurse Line"],
        calls: 1800,
    });
    let (status, body) = server.ingest(&feed, data.ndjson().join("\n")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["rejected"].as_array().is_some_and(Vec::is_empty),
        "{body}"
    );

    // The whole day.
    let date = yesterday.format("%Y-%m-%d").to_string();
    let report = get(
        &server,
        &display,
        &format!("/api/v1/report/huddle?date={date}"),
    )
    .await;
    assert_eq!(report["date"], date);
    assert_eq!(report["time_zone"], "America/Chicago");
    assert!(report["shift"].is_null());
    assert_eq!(millis(report["from"].as_str().expect("from")), day_from);
    assert_eq!(millis(report["covered_to"].as_str().expect("to")), day_to);
    check_against_oracle(&report, &data, day_from, day_to);

    // Per queue and hour: the report's own staffing line over that hour.
    let staffing = report["staffing"].as_array().expect("staffing");
    assert_eq!(staffing.len(), 2);
    for queue in staffing {
        let name = queue["queue"].as_str().expect("queue");
        let hours = queue["hours"].as_array().expect("hours");
        assert_eq!(hours.len(), hours_of(&report).len());
        for (k, hour) in hours.iter().enumerate().step_by(5) {
            let start = day_from + k as i64 * HOUR;
            assert_eq!(
                hour["calls_offered"],
                data.queue_offered(name, start, start + HOUR)
            );
            let plain = get(
                &server,
                &display,
                &format!(
                    "/api/v1/report?from={}&to={}",
                    iso(start),
                    iso(start + HOUR)
                ),
            )
            .await;
            let line = plain["staffing"]
                .as_array()
                .expect("lines")
                .iter()
                .find(|l| l["queue"] == name)
                .expect("the queue's line");
            for field in ["required_agents", "scheduled_agents", "aht_seconds"] {
                assert_eq!(hour[field], line[field], "{name} hour {k}: {field}");
            }
            // Nobody was staffed on the queue yesterday.
            assert_eq!(hour["agents_staffed"], 0.0);
        }
    }
    assert_eq!(report["top_known_issues"], json!([]), "no known issue yet");

    // Known issues: tickets linked by PATCH, counted by when they opened.
    let lead = server.token("lead").await;
    let agent = server.token("agent").await;
    let mut ids = Vec::new();
    for title in [
        "Label printer mapping on 4 West",
        "Sepsis order set missing in ED",
    ] {
        let (status, body) = server
            .call(
                Method::POST,
                "/api/v1/known-issues",
                Some(&lead),
                Some(&json!({"title": title})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["id"].as_str().expect("id").to_string());
    }
    let mut tickets = server.all_tickets().await;
    tickets.sort_by_key(|t| t["id"].as_str().map(str::to_string));
    let (inside, outside): (Vec<&Value>, Vec<&Value>) = tickets.iter().partition(|t| {
        let opened = millis(t["opened_at"].as_str().expect("opened_at"));
        day_from <= opened && opened < day_to
    });
    assert!(inside.len() >= 10 && !outside.is_empty());
    // Seven of the day's tickets on the first, three (and one from before
    // the day, which the day does not count) on the second.
    let links = inside[..7]
        .iter()
        .map(|t| (*t, &ids[0]))
        .chain(inside[7..10].iter().map(|t| (*t, &ids[1])))
        .chain(std::iter::once((outside[0], &ids[1])));
    for (ticket, issue) in links {
        let path = format!("/api/v1/tickets/{}", ticket["id"].as_str().expect("id"));
        let (status, body) = server
            .call(
                Method::PATCH,
                &path,
                Some(&agent),
                Some(&json!({"known_issue": issue})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let report = get(
        &server,
        &display,
        &format!("/api/v1/report/huddle?date={date}"),
    )
    .await;
    let known: Vec<(String, u64)> = report["top_known_issues"]
        .as_array()
        .expect("known issues")
        .iter()
        .map(|k| {
            (
                k["id"].as_str().expect("id").to_string(),
                k["tickets"].as_u64().expect("tickets"),
            )
        })
        .collect();
    assert_eq!(known, [(ids[0].clone(), 7), (ids[1].clone(), 3)]);
    check_csv(&server, &display, &format!("date={date}"), &report).await;

    // The night shift crosses midnight: 19:00 to 07:00 the next morning.
    let night = get(
        &server,
        &display,
        &format!("/api/v1/report/huddle?date={date}&shift=Night"),
    )
    .await;
    let night_from = day_from + 19 * HOUR;
    let night_to = day_to + 7 * HOUR;
    assert_eq!(night["shift"], "Night");
    assert_eq!(millis(night["from"].as_str().expect("from")), night_from);
    assert_eq!(millis(night["to"].as_str().expect("to")), night_to);
    let covered = millis(night["covered_to"].as_str().expect("covered"));
    check_against_oracle(&night, &data, night_from, covered);
    assert_eq!(night["shifts"][1]["name"], "Night");

    // Staffed over the current hour: the time-weighted mean since the
    // count was set, a moment ago.
    let before = Utc::now().timestamp_millis();
    let (status, _) = server
        .call(
            Method::PUT,
            "/api/v1/queues/Nurse%20Line",
            Some(ADMIN_TOKEN),
            Some(&serde_json::json!({"agents_staffed": 6})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let after = Utc::now().timestamp_millis();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let today_report = get(&server, &display, "/api/v1/report/huddle").await;
    let generated = millis(today_report["generated_at"].as_str().expect("generated"));
    let nurse = today_report["staffing"]
        .as_array()
        .expect("staffing")
        .iter()
        .find(|q| q["queue"] == "Nurse Line")
        .expect("nurse line");
    let current = nurse["hours"]
        .as_array()
        .and_then(|h| h.last())
        .expect("an hour");
    let hour_from = millis(current["from"].as_str().expect("from"));
    let mean = current["agents_staffed"].as_f64().expect("mean");
    let span = (generated - hour_from) as f64;
    let low = 6.0 * (generated - after).max(0) as f64 / span;
    let high = 6.0 * (generated - before.max(hour_from)) as f64 / span;
    assert!(
        low - 1e-9 <= mean && mean <= high + 1e-9,
        "mean {mean} not in [{low}, {high}]"
    );

    // Wrong input names the field.
    for (query, field) in [
        ("date=yesterday", "date"),
        ("shift=Swing", "shift"),
        ("format=xml", "format"),
        ("table=tickets&format=csv", "table"),
    ] {
        let (status, error) = server
            .call(
                Method::GET,
                &format!("/api/v1/report/huddle?{query}"),
                Some(&display),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(error["error"]["details"]["field"], field, "{query}");
    }
}

both_backends!(huddle_oracle, huddle_matches_the_oracle);
