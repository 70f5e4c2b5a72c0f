//! Rollout waves through the real server on SQLite and PostgreSQL: a
//! phased go-live of three waves (one not yet live) with tickets at every
//! wave's sites and at a site in no wave, some moved between sites, sent
//! through bulk ingest. `GET /api/v1/waves` must list, per wave, every
//! hour begun since its own go-live (up to `hours`), each hour's opened,
//! resolved, opened per 100 users and backlog equal to a brute-force count
//! over the raw tickets.

mod rollout;
mod support;

use chrono::Utc;
use reqwest::{Method, StatusCode};
use rollout::{HOUR, MINUTE, Plan, go_live, iso, millis};
use support::{Backend, Server, TestDb};

struct WaveSpec {
    name: &'static str,
    start: i64,
    sites: &'static [&'static str],
    users: u32,
}

fn config(waves: &[WaveSpec]) -> String {
    waves
        .iter()
        .map(|w| {
            let sites: Vec<String> = w.sites.iter().map(|s| format!("{s:?}")).collect();
            format!(
                "[[waves]]\nname = {:?}\ngo_live_start = {:?}\nsites = [{}]\nusers = {}\n\n",
                w.name,
                iso(w.start),
                sites.join(", "),
                w.users
            )
        })
        .collect()
}

async fn waves_match_a_brute_force_count(backend: Backend) {
    let now = Utc::now().timestamp_millis();
    // Wave 1 went live 30 hours and a bit ago, wave 2 five and a half
    // hours ago (not on an hour boundary), wave 3 goes live tomorrow.
    let waves = [
        WaveSpec {
            name: "Wave 1",
            start: now - 30 * HOUR - 17 * MINUTE,
            sites: &["Main Campus", "North Hospital"],
            users: 4200,
        },
        WaveSpec {
            name: "Wave 2",
            start: now - 5 * HOUR - 31 * MINUTE,
            sites: &["South Clinic"],
            users: 900,
        },
        WaveSpec {
            name: "Wave 3",
            start: now + 24 * HOUR,
            sites: &["East Pavilion"],
            users: 1500,
        },
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("golive.toml");
    std::fs::write(&path, config(&waves)).expect("config");

    let db = TestDb::new(backend).await;
    let config_arg = path.display().to_string();
    let server = Server::start_with(&db, &["--config", &config_arg], &[]).await;
    let feed = server.token("integration").await;
    let display = server.token("display").await;

    let data = go_live(&Plan {
        seed: 14,
        from: waves[0].start - 2 * HOUR,
        to: now - MINUTE,
        now,
        sites: &[
            "Main Campus",
            "North Hospital",
            "South Clinic",
            "West Annex",
        ],
        tickets: 900,
        queues: &["Service Desk"],
        calls: 0,
    });
    let (status, body) = server.ingest(&feed, data.ndjson().join("\n")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["rejected"].as_array().is_some_and(Vec::is_empty),
        "{body}"
    );

    let (status, answer) = server
        .call(Method::GET, "/api/v1/waves?hours=72", Some(&display), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let listed = answer["waves"].as_array().expect("waves");
    assert_eq!(listed.len(), 3);
    let mut nonzero = 0;
    for (spec, wave) in waves.iter().zip(listed) {
        assert_eq!(wave["name"], spec.name);
        assert_eq!(
            millis(wave["go_live_start"].as_str().expect("start")),
            spec.start
        );
        assert_eq!(wave["users"], spec.users);
        assert_eq!(wave["sites"], serde_json::json!(spec.sites));
        let hours = wave["hours"].as_array().expect("hours");
        // Every hour begun, the current one included.
        let begun = if now < spec.start {
            0
        } else {
            ((now - spec.start) / HOUR + 1) as usize
        };
        assert!(
            hours.len() == begun || hours.len() == begun + 1,
            "{}: {} hours listed, {begun} begun",
            spec.name,
            hours.len()
        );
        for (h, point) in hours.iter().enumerate() {
            let from = spec.start + h as i64 * HOUR;
            let (opened, resolved, backlog) = data.tickets(from, from + HOUR, Some(spec.sites));
            let what = format!("{} hour {h}", spec.name);
            assert_eq!(point["hour"], h as u64, "{what}");
            assert_eq!(point["opened"], opened, "{what}: opened");
            assert_eq!(point["resolved"], resolved, "{what}: resolved");
            assert_eq!(point["backlog"], backlog, "{what}: backlog");
            assert_close!(
                point["opened_per_100_users"],
                opened as f64 * 100.0 / f64::from(spec.users)
            );
            assert_eq!(
                point.as_object().map(|o| o.len()),
                Some(5),
                "{what}: fields {point}"
            );
            nonzero += usize::from(opened > 0) + usize::from(resolved > 0);
        }
    }
    assert!(nonzero > 40, "the data exercises the counts ({nonzero})");

    // `hours` caps the list; bad values are refused.
    let (status, capped) = server
        .call(Method::GET, "/api/v1/waves?hours=5", Some(&display), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        capped["waves"][0]["hours"].as_array().map(Vec::len),
        Some(5)
    );
    let first_five = answer["waves"][0]["hours"].as_array().expect("hours")[..5].to_vec();
    assert_eq!(
        capped["waves"][0]["hours"],
        serde_json::Value::Array(first_five)
    );
    for bad in ["0", "2161", "many"] {
        let (status, error) = server
            .call(
                Method::GET,
                &format!("/api/v1/waves?hours={bad}"),
                Some(&display),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "hours={bad}");
        assert_eq!(error["error"]["details"]["field"], "hours");
    }
    let (status, _) = server.call(Method::GET, "/api/v1/waves", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

both_backends!(waves_oracle, waves_match_a_brute_force_count);

/// A bad `[[waves]]` entry stops the server before it binds, naming it.
#[test]
fn a_bad_wave_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (text, expected) in [
        (
            "[[waves]]\nname = \"W\"\ngo_live_start = \"2026-03-02T06:00:00\"\nsites = [\"A\"]\nusers = 10\n",
            "waves[0].go_live_start",
        ),
        (
            "[[waves]]\nname = \"W\"\ngo_live_start = \"2026-03-02T06:00:00Z\"\nsites = []\nusers = 10\n",
            "waves[0].sites",
        ),
        (
            "[[waves]]\nname = \"W\"\ngo_live_start = \"2026-03-02T06:00:00Z\"\nsites = [\"A\"]\nusers = 0\n",
            "waves[0].users",
        ),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).expect("config");
        let db = dir.path().join("bad.db");
        let output = std::process::Command::new(support::binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .arg("--database")
            .arg(format!("sqlite://{}", db.display()))
            .output()
            .expect("run golive");
        assert!(!output.status.success(), "{text}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{expected} not in {stderr}");
    }
}
