//! Phone systems through the real server, with fixtures in their own
//! formats: Amazon Connect contact events as EventBridge delivers them
//! (every type of a contact's sequence, out of order and duplicated; keys
//! in both cases) and contact trace records as Kinesis Firehose writes
//! them (concatenated, with a transfer, an abandon, after-contact work, a
//! contact updated and an older copy replayed); Asterisk queue_log lines
//! (every event golive reads, members paused and unpaused) posted and
//! followed from a real file that grows, is rotated both ways and is read
//! across a `kill -9` and restarts. The report and staffing figures are
//! worked out by hand below. Bad input is refused line by line or record
//! by record, naming the field, and the rest is committed.
//!
//! Amazon Connect cannot run here: the fixtures follow AWS's documented
//! formats (contact events data model, contact record data model).

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{Backend, Server, TestDb, close, refusals};

const PHYSICIAN_ARN: &str = "arn:aws:connect:us-east-1:111122223333:instance/5f3c1e7a-2b4d-4c6e-8f90-1a2b3c4d5e6f/queue/6c1f0e3a-91b2-4d0c-a7e5-3f2d1c0b9a81";
const NURSE_ARN: &str = "arn:aws:connect:us-east-1:111122223333:instance/5f3c1e7a-2b4d-4c6e-8f90-1a2b3c4d5e6f/queue/0b7d9e2c-5a4f-4e13-b6c8-9d0e1f2a3b4c";
const PHARMACY_ARN: &str = "arn:aws:connect:us-east-1:111122223333:instance/5f3c1e7a-2b4d-4c6e-8f90-1a2b3c4d5e6f/queue/e2a4c6e8-0b1d-4f3a-8c5e-7a9b1d3f5e70";

fn config(extra: &str) -> String {
    format!(
        r#"
# Rejections listed in full per answer (bulk ingest and connectors alike).
max_rejections_listed = 3

[connectors.amazon_connect.queues.map]
"{PHYSICIAN_ARN}" = "Physician Line"
"{NURSE_ARN}" = "Nurse Line"
"{PHARMACY_ARN}" = "Pharmacy"

[connectors.asterisk]
close_waiting_after_seconds = 600
poll_interval_ms = 100
{extra}

[connectors.asterisk.queues]
unknown = "refuse"

[connectors.asterisk.queues.map]
physician = "Physician Line"
nursing = "Nurse Line"
"#
    )
}

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

async fn start(db: &TestDb, extra: &str) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_in(db, dir.path(), extra).await;
    (server, dir)
}

async fn start_in(db: &TestDb, dir: &Path, extra: &str) -> Server {
    let path = dir.join("golive.toml");
    std::fs::write(&path, config(extra)).expect("config written");
    let path = path.display().to_string();
    Server::start_with(db, &["--config", &path], &[]).await
}

async fn post(server: &Server, path: &str, content_type: &str, body: Vec<u8>) -> Value {
    let (status, answer) = server.post_bytes(path, content_type, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

async fn report(server: &Server, from: &str, to: &str) -> Value {
    let (status, body) = server
        .get(&format!("/api/v1/report?from={from}&to={to}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// offered, answered, abandoned.
fn counts(calls: &Value) -> [u64; 3] {
    ["offered", "answered", "abandoned"].map(|name| calls[name].as_u64().unwrap_or(u64::MAX))
}

fn assert_close(value: &Value, expected: f64, what: &str) {
    assert!(close(value, expected), "{what}: {value} != {expected}");
}

async fn contact_events(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (server, _dir) = start(&db, "").await;
    let events: Vec<Value> =
        serde_json::from_slice(&fixture("amazon_connect/contact_events.json")).expect("events");
    // An EventBridge API destination posts one event per request, in the
    // (shuffled, repeated) order of the fixture.
    for event in &events {
        let answer = post(
            &server,
            "/api/v1/connectors/amazon-connect",
            "application/json",
            event.to_string().into_bytes(),
        )
        .await;
        assert_eq!(answer, json!({"accepted": 1, "rejected": []}), "{event}");
    }
    // A forwarder replays the whole batch: nothing changes.
    let answer = post(
        &server,
        "/api/v1/connectors/amazon-connect",
        "application/json",
        fixture("amazon_connect/contact_events.json"),
    )
    .await;
    assert_eq!(answer["accepted"], 22);

    // By hand (2026-03-02, 07:00–08:00; answer target 20 s):
    //   1 Physician: queued 07:00:05, agent 07:00:17 (12 s), disconnected
    //     07:04:17 (240 s). Its COMPLETED event (delivered before the
    //     DISCONNECTED) carries 30 s of ACW, but COMPLETED is not a mapped
    //     event type: it changes nothing, so no wrap.
    //   2 Physician: queued 07:01:00, disconnected 07:01:40 with no agent:
    //     abandoned.
    //   3 Nurse Line: queued 07:02:00, agent 07:02:45 (45 s), transferred
    //     at 07:06:00 (195 s); its DISCONNECTED spells every key
    //     capitalised (QueueInfo, AgentInfo, DisconnectTimestamp).
    //   4 Pharmacy (the transfer, a new contact): queued 07:06:01, agent
    //     07:06:06 (5 s), disconnected 07:10:00 (234 s).
    //   5 Physician: QUEUED lost; CONNECTED_TO_AGENT says queued 07:03:00,
    //     agent 07:03:30 (30 s); never disconnected.
    // Offered 5, answered 4, abandoned 1; within 20 s: 1 and 4.
    // ASA (12+45+5+30)/4 = 23; AHT (240+195+234)/3 = 223.
    let body = report(&server, "2026-03-02T07:00:00Z", "2026-03-02T08:00:00Z").await;
    let calls = &body["calls"];
    assert_eq!(counts(calls), [5, 4, 1], "{calls}");
    assert_close(&calls["service_level"], 0.4, "service level");
    assert_close(&calls["abandonment_rate"], 0.2, "abandonment");
    assert_close(&calls["asa_seconds"], 23.0, "ASA");
    assert_close(&calls["aht_seconds"], 223.0, "AHT");
    let physician = &body["calls_by_queue"]["Physician Line"];
    assert_eq!(counts(physician), [3, 2, 1], "{physician}");
    assert_close(&physician["asa_seconds"], 21.0, "physician ASA");
    assert_eq!(counts(&body["calls_by_queue"]["Nurse Line"]), [1, 1, 0]);
    assert_eq!(counts(&body["calls_by_queue"]["Pharmacy"]), [1, 1, 0]);
}

both_backends!(contact_events_, contact_events);

async fn contact_trace_records(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (server, _dir) = start(&db, "").await;
    // Kinesis Firehose writes records back to back with no separator.
    let answer = post(
        &server,
        "/api/v1/connectors/amazon-connect",
        "application/json",
        fixture("amazon_connect/ctr_firehose.json"),
    )
    .await;
    assert_eq!(answer["accepted"], 8, "{answer}");
    assert_eq!(
        refusals(&answer),
        [
            (4, "missing_field".into(), "Queue".into()),
            (
                7,
                "invalid_timestamp".into(),
                "Queue.EnqueueTimestamp".into()
            ),
        ]
    );
    // Again, as NDJSON: the same contacts, nothing counted twice.
    let text = String::from_utf8(fixture("amazon_connect/ctr_firehose.json")).expect("utf-8");
    let records: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("records");
    let ndjson: String = records.iter().map(|r| format!("{r}\n")).collect();
    let again = post(
        &server,
        "/api/v1/connectors/amazon-connect",
        "application/x-ndjson",
        ndjson.into_bytes(),
    )
    .await;
    assert_eq!(again["accepted"], 8);

    // By hand (2026-03-03, 07:00–08:00):
    //   r1 Physician: enqueued 07:00:00, agent 07:00:10 (10 s),
    //      disconnected 07:05:10 (300 s). Its first CTR (07:06:10) has no
    //      ACW yet; the update at 07:30 has ACW 60 and replaces it; the
    //      older copy replayed after it changes nothing: 300 + 60.
    //   r2 Physician: enqueued 07:01:00, no agent: abandoned 07:01:50.
    //   r3 Nurse Line: agent after 25 s, transferred at 07:04:00 (95 s,
    //      ACW 0); r4 its transfer, Pharmacy: agent after 15 s, 240 s
    //      + ACW 20.
    //   r5 Physician by its ARN (Queue.Name null): agent after 5 s,
    //      180 s + ACW 10.
    // Offered 5, answered 4, abandoned 1; within 20 s: r1, r4, r5.
    // ASA (10+25+15+5)/4 = 13.75; AHT (360+95+260+190)/4 = 226.25.
    let body = report(&server, "2026-03-03T07:00:00Z", "2026-03-03T08:00:00Z").await;
    let calls = &body["calls"];
    assert_eq!(counts(calls), [5, 4, 1], "{calls}");
    assert_close(&calls["service_level"], 0.6, "service level");
    assert_close(&calls["asa_seconds"], 13.75, "ASA");
    assert_close(&calls["aht_seconds"], 226.25, "AHT");
    assert_eq!(counts(&body["calls_by_queue"]["Physician Line"]), [3, 2, 1]);
    assert_eq!(counts(&body["calls_by_queue"]["Pharmacy"]), [1, 1, 0]);

    // A contact's CTR with a later LastUpdateTimestamp replaces the
    // earlier one whatever it says (here: the first version has no agent,
    // an abandon; the update connects one), and an older one, arriving
    // last, changes nothing.
    let ctr = |updated: &str, agent: bool| {
        let mut record = json!({
            "AWSContactTraceRecordFormatVersion": "2017-03-10",
            "ContactId": "5e0c1d2b-late-4a2c-9b8e-000000000099",
            "Channel": "VOICE",
            "InitiationMethod": "INBOUND",
            "LastUpdateTimestamp": updated,
            "Queue": {"Name": "Physician Line", "EnqueueTimestamp": "2026-03-03T09:00:00Z"},
            "DisconnectTimestamp": "2026-03-03T09:04:00Z",
        });
        if agent {
            record["Agent"] = json!({
                "Username": "jdoe",
                "ConnectedToAgentTimestamp": "2026-03-03T09:00:30Z",
                "AfterContactWorkDuration": 20,
            });
        }
        record.to_string().into_bytes()
    };
    let hour = ("2026-03-03T09:00:00Z", "2026-03-03T10:00:00Z");
    let connect = "/api/v1/connectors/amazon-connect";
    for (updated, agent, expected) in [
        ("2026-03-03T09:05:00Z", false, [1, 0, 1]),
        ("2026-03-03T09:20:00Z", true, [1, 1, 0]),
        ("2026-03-03T09:10:00Z", false, [1, 1, 0]),
        ("2026-03-03T09:20:00Z", false, [1, 1, 0]),
    ] {
        let answer = post(&server, connect, "application/json", ctr(updated, agent)).await;
        assert_eq!(answer, json!({"accepted": 1, "rejected": []}), "{updated}");
        let body = report(&server, hour.0, hour.1).await;
        assert_eq!(
            counts(&body["calls"]),
            expected,
            "after the CTR of {updated}"
        );
    }
    let body = report(&server, hour.0, hour.1).await;
    assert_close(&body["calls"]["asa_seconds"], 30.0, "replaced ASA");
    assert_close(&body["calls"]["aht_seconds"], 230.0, "replaced AHT");
    // Contact events for a contact whose CTR came add nothing to it.
    let late_event = json!({"detail-type": "Amazon Connect Contact Event", "source": "aws.connect",
        "detail": {"eventType": "DISCONNECTED", "contactId": "5e0c1d2b-late-4a2c-9b8e-000000000099",
            "queueInfo": {"queueArn": "arn:aws:connect:us-east-1:111122223333:instance/x/queue/Physician Line",
                          "enqueueTimestamp": "2026-03-03T09:00:00Z"},
            "disconnectTimestamp": "2026-03-03T09:01:00Z"}});
    let answer = post(
        &server,
        connect,
        "application/json",
        late_event.to_string().into_bytes(),
    )
    .await;
    assert_eq!(answer, json!({"accepted": 1, "rejected": []}));
    let body = report(&server, hour.0, hour.1).await;
    assert_eq!(counts(&body["calls"]), [1, 1, 0]);

    // Malformed JSON is the whole request's error; a body of other things
    // is refused record by record.
    let (status, _) = server
        .post_bytes(
            "/api/v1/connectors/amazon-connect",
            "application/json",
            b"{\"ContactId\": ".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Records come as JSON (or NDJSON), queue_log lines as text: another
    // media type is 415, and nothing is read.
    for (path, content_type) in [
        ("/api/v1/connectors/amazon-connect", "text/plain"),
        (
            "/api/v1/connectors/asterisk",
            "application/x-www-form-urlencoded",
        ),
    ] {
        let (status, body) = server.post_bytes(path, content_type, b"[]".to_vec()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{path}: {body}");
    }
    let answer = post(
        &server,
        "/api/v1/connectors/amazon-connect",
        "application/json",
        json!([42, {"detail-type": "Amazon Connect Contact Event", "detail": {"eventType": "QUEUED", "contactId": "x"}}, {"Queue": {"Name": "Pharmacy"}}]).to_string().into_bytes(),
    )
    .await;
    assert_eq!(
        refusals(&answer),
        [
            (1, "malformed_record".into(), "".into()),
            (
                2,
                "missing_field".into(),
                "detail.queueInfo.queueArn".into()
            ),
            (3, "missing_field".into(), "ContactId".into()),
        ]
    );
    // Only integration tokens (and admin) feed calls.
    let display = server.token("display").await;
    let (status, _, _) = server
        .raw(
            Method::POST,
            "/api/v1/connectors/amazon-connect",
            Some(&format!("Bearer {display}")),
            Some("application/json"),
            Some(b"[]".to_vec()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

both_backends!(contact_trace_records_, contact_trace_records);

async fn staffed(server: &Server, queue: &str) -> Option<u64> {
    let (status, body) = server.get("/api/v1/queues").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let queues = body["queues"].as_array().cloned().unwrap_or_default();
    queues
        .iter()
        .find(|q| q["queue"] == queue)
        .and_then(|q| q["agents_staffed"].as_u64())
}

/// Polls `check` until it holds (golive's follower and timeout run in the
/// background), or fails after `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match check().await {
            Ok(()) => return,
            Err(last) if Instant::now() > deadline => panic!("{what}: {last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn queue_log_lines(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (server, _dir) = start(&db, "").await;
    let asterisk = "/api/v1/connectors/asterisk";
    let answer = post(
        &server,
        asterisk,
        "text/plain",
        fixture("asterisk/queue_log_part1"),
    )
    .await;
    assert_eq!(answer, json!({"accepted": 15, "rejected": []}));
    // The members carry over from one request to the next.
    assert_eq!(staffed(&server, "Physician Line").await, Some(2));
    assert_eq!(staffed(&server, "Nurse Line").await, Some(2));
    let answer = post(
        &server,
        asterisk,
        "text/plain",
        fixture("asterisk/queue_log_part2"),
    )
    .await;
    assert_eq!(answer, json!({"accepted": 22, "rejected": []}));

    // By hand (2026-03-04, 07:00–08:00; answer target 20 s):
    //   A physician: CONNECT after 8 s (one RINGNOANSWER first), 240 s.
    //   B physician: ABANDON after 45 s.     C physician: EXITWITHTIMEOUT.
    //   D nursing: CONNECT after 25 s, ATTENDEDTRANSFER at 95 s; its
    //     second leg, physician: CONNECT after 10 s, COMPLETEAGENT 240 s.
    //   E nursing: EXITEMPTY.   H nursing: EXITWITHKEY.
    //   F physician: CONNECT after 15 s, 180 s.
    //   G physician: ENTERQUEUE 07:08 and nothing more: closed 600 s
    //     later (close_waiting_after_seconds), an abandon.
    //   I physician: CONNECT after 30 s, then the older TRANSFER event,
    //     which golive ignores (not an exit it maps): answered, never
    //     ended, so not in AHT.
    // Legs offered 10 (physician 7, nursing 3), answered 5, abandoned 5;
    // within 20 s: A, D2, F. ASA (8+25+10+15+30)/5 = 17.6;
    // AHT (240+95+240+180)/4 = 188.75.
    let window = ("2026-03-04T07:00:00Z", "2026-03-04T08:00:00Z");
    eventually(
        Duration::from_secs(10),
        "G closed by the timeout",
        || async {
            let body = report(&server, window.0, window.1).await;
            match counts(&body["calls"]) {
                [10, 5, 5] => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    let body = report(&server, window.0, window.1).await;
    let calls = &body["calls"];
    assert_close(&calls["service_level"], 3.0 / 10.0, "service level");
    assert_close(&calls["asa_seconds"], 17.6, "ASA");
    assert_close(&calls["aht_seconds"], 188.75, "AHT");
    let physician = &body["calls_by_queue"]["Physician Line"];
    assert_eq!(counts(physician), [7, 4, 3], "{physician}");
    assert_close(
        &physician["service_level"],
        3.0 / 7.0,
        "physician service level",
    );
    assert_close(&physician["asa_seconds"], 15.75, "physician ASA");
    let nursing = &body["calls_by_queue"]["Nurse Line"];
    assert_eq!(counts(nursing), [3, 1, 2], "{nursing}");
    assert_close(&nursing["service_level"], 0.0, "nursing service level");

    // Staffed = members not paused: physician 201, 202 (203 paused for
    // lunch, unpaused 07:33; 201 paused 07:34) → 2; nursing 301, 302
    // (302 removed, 301 paused and unpaused everywhere) → 1. The report's
    // staffing lines carry the same.
    assert_eq!(staffed(&server, "Physician Line").await, Some(2));
    assert_eq!(staffed(&server, "Nurse Line").await, Some(1));
    let staffing = body["staffing"].as_array().expect("staffing");
    let line = staffing
        .iter()
        .find(|s| s["queue"] == "Physician Line")
        .expect("physician staffing");
    assert_eq!(line["agents_staffed"], 2);
    assert_eq!(line["calls_offered"], 7);
    assert_eq!(
        line["delta"].as_i64(),
        line["required_agents"].as_i64().map(|r| r - 2)
    );

    // Bad lines: each refused with its line number, the rest committed.
    // A custom event (CUSTOMSURVEY, "connect?") is ignored, not refused; a
    // CONNECT for a call whose ENTERQUEUE golive never saw is kept until
    // that entry arrives (as any early call event), and counts nowhere
    // until then.
    let answer = post(
        &server,
        asterisk,
        "text/plain",
        fixture("asterisk/queue_log_bad"),
    )
    .await;
    assert_eq!(answer["accepted"], 5, "{answer}");
    assert_eq!(
        refusals(&answer),
        [
            (1, "truncated_line".into(), "line".into()),
            (2, "invalid_timestamp".into(), "epoch".into()),
            (8, "unknown_queue".into(), "queue".into()),
        ]
    );
    let body = report(&server, window.0, window.1).await;
    assert_eq!(counts(&body["calls"]), [11, 5, 6]);
    // Past max_rejections_listed (3 here) refusals are only counted.
    let answer = post(
        &server,
        asterisk,
        "text/plain",
        b"1|a\n2|b\nx|1.1|physician|NONE|ENTERQUEUE\n3|c\n4|d\n".to_vec(),
    )
    .await;
    let lines: Vec<u64> = refusals(&answer).iter().map(|r| r.0).collect();
    assert_eq!(lines, [1, 2, 3], "{answer}");
    assert_eq!(answer["rejected_total"], 5, "{answer}");
    // Its entry comes (5 s of hold before the CONNECT): one more answered.
    let answer = post(
        &server,
        asterisk,
        "text/plain",
        b"1772610055|1772610060.92|physician|NONE|ENTERQUEUE||5550192|1\n".to_vec(),
    )
    .await;
    assert_eq!(answer, json!({"accepted": 1, "rejected": []}));
    let body = report(&server, window.0, window.1).await;
    assert_eq!(counts(&body["calls"]), [12, 6, 6]);
    // The same lines again change nothing.
    post(
        &server,
        asterisk,
        "text/plain",
        fixture("asterisk/queue_log_part2"),
    )
    .await;
    let body = report(&server, window.0, window.1).await;
    assert_eq!(counts(&body["calls"]), [12, 6, 6]);
}

both_backends!(queue_log_lines_, queue_log_lines);

/// Calls written by the "phone system" in the follower test: each one
/// ENTERQUEUE, then CONNECT and COMPLETECALLER (even numbers) or ABANDON.
fn calls(first: u64, count: u64, base: u64) -> String {
    let mut text = String::new();
    for n in first..first + count {
        let at = base + n * 10;
        let id = format!("{at}.{n}");
        text.push_str(&format!(
            "{at}|{id}|physician|NONE|ENTERQUEUE||555{n:04}|1\n"
        ));
        if n % 2 == 0 {
            text.push_str(&format!(
                "{}|{id}|physician|PJSIP/201|CONNECT|4|{at}.9|1\n",
                at + 4
            ));
            text.push_str(&format!(
                "{}|{id}|physician|PJSIP/201|COMPLETECALLER|4|60|1\n",
                at + 64
            ));
        } else {
            text.push_str(&format!("{}|{id}|physician|NONE|ABANDON|1|1|7\n", at + 7));
        }
    }
    text
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("queue_log opened");
    file.write_all(text.as_bytes()).expect("appended");
}

async fn expect_calls(server: &Server, base: u64, offered: u64, answered: u64) {
    let from = golive_time(base);
    let to = golive_time(base + 7200);
    eventually(Duration::from_secs(20), "follower caught up", || async {
        let body = report(server, &from, &to).await;
        let found = counts(&body["calls"]);
        if found == [offered, answered, offered - answered] {
            Ok(())
        } else {
            Err(format!(
                "{found:?}, expected {offered} offered, {answered} answered"
            ))
        }
    })
    .await;
}

fn golive_time(epoch: u64) -> String {
    let seconds = i64::try_from(epoch).unwrap_or(0);
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The follower on a real file while golive runs, is killed and restarts:
/// appended lines, a line written in two parts, a rotation by rename and
/// one by copytruncate (while golive is down), every call counted once.
async fn queue_log_follower(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("queue_log");
    let extra = format!("queue_log = \"{}\"", log.display());
    // An hour ago: recent, and no call waits anywhere near the timeout.
    let base = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0) - 3600;
    append(
        &log,
        &format!("{}|REALTIME|physician|PJSIP/201|ADDMEMBER|\n", base - 60),
    );
    append(&log, &calls(0, 10, base));
    let mut server = start_in(&db, dir.path(), &extra).await;
    expect_calls(&server, base, 10, 5).await;
    assert_eq!(staffed(&server, "Physician Line").await, Some(1));

    // Appended while golive runs, the last line in two writes.
    let more = calls(10, 6, base);
    let (head, tail) = more.split_at(more.len() - 9);
    append(&log, head);
    tokio::time::sleep(Duration::from_millis(300)).await;
    append(&log, tail);
    expect_calls(&server, base, 16, 8).await;

    // Rotation by rename: the last lines land in the old file just before
    // it is renamed, a new file takes the name.
    append(&log, &calls(16, 2, base));
    std::fs::rename(&log, dir.path().join("queue_log.1")).expect("rotated");
    append(&log, &calls(18, 4, base));
    expect_calls(&server, base, 22, 11).await;

    // kill -9, then lines and a copytruncate rotation while golive is down.
    server.kill9();
    append(&log, &calls(22, 3, base));
    std::fs::rename(
        dir.path().join("queue_log.1"),
        dir.path().join("queue_log.2"),
    )
    .expect("shifted");
    std::fs::copy(&log, dir.path().join("queue_log.1")).expect("copied");
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .expect("truncated");
    append(&log, &calls(25, 5, base));
    let mut server = start_in(&db, dir.path(), &extra).await;
    expect_calls(&server, base, 30, 15).await;

    // A clean restart and one more kill: nothing read twice.
    server.terminate();
    let mut server = start_in(&db, dir.path(), &extra).await;
    append(&log, &calls(30, 2, base));
    expect_calls(&server, base, 32, 16).await;
    server.kill9();
    let server = start_in(&db, dir.path(), &extra).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    expect_calls(&server, base, 32, 16).await;
    let body = report(&server, &golive_time(base), &golive_time(base + 7200)).await;
    // Every answered call waited 4 s and talked 60 s.
    assert_close(&body["calls"]["asa_seconds"], 4.0, "ASA");
    assert_close(&body["calls"]["aht_seconds"], 60.0, "AHT");
    let (status, ready) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let health = &ready["connectors"]["asterisk_queue_log"];
    assert!(health["last_success"].is_string(), "{ready}");
}

both_backends!(queue_log_follower_, queue_log_follower);
