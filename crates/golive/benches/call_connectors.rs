//! Phone-system connector throughput (issue #11): the same calls (each
//! offered, answered, ended) through the Asterisk connector as queue_log
//! lines (three a call, 30,000 lines per request) and through the Amazon
//! Connect connector as EventBridge contact events (QUEUED,
//! CONNECTED_TO_AGENT, DISCONNECTED; 10,000 per request, as a forwarder
//! batches them) and as contact trace records (one a call, 10,000 per
//! request), beside the floor measured in the same run: golive's own bulk
//! NDJSON ingest of the same call events (`"kind": "call"`, 30,000 lines
//! per request). Two requests in flight, each path on a fresh SQLite
//! database through the real release binary. Rates are source records a
//! second (a queue_log line, a contact event and an NDJSON line each say
//! one thing about a call; a CTR says all three). Target: at least 50 % of
//! the NDJSON rate.
//!
//! Run: `cargo bench -p golive --bench call_connectors`
//! (`GOLIVE_BENCH_CALLS` changes the number of calls, default 30,000).

mod support;

use serde_json::{Value, json};

const ADMIN: &str = "bench-admin-token";
const QUEUES: [&str; 4] = ["physician", "nursing", "pharmacy", "lab"];
/// 2026-03-02T07:00:00Z.
const START: u64 = 1_772_434_800;
const INSTANCE: &str =
    "arn:aws:connect:us-east-1:111122223333:instance/5f3c1e7a-2b4d-4c6e-8f90-1a2b3c4d5e6f";

/// Call `n`: offered at START + n seconds (a call a second), answered 12 s
/// later, ended 180 s after that.
fn times(n: usize) -> (u64, u64, u64) {
    let offered = START + n as u64;
    (offered, offered + 12, offered + 192)
}

fn rfc3339(epoch: u64) -> String {
    let seconds = i64::try_from(epoch).unwrap_or(0);
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn ndjson_lines(n: usize) -> [String; 3] {
    let (offered, answered, ended) = times(n);
    let queue = QUEUES[n % 4];
    let id = format!("{offered}.{n}");
    [
        json!({"kind": "call", "call_id": id, "queue": queue, "event": "offered", "at": rfc3339(offered)}),
        json!({"kind": "call", "call_id": id, "queue": queue, "event": "answered", "at": rfc3339(answered), "agent": "PJSIP/201"}),
        json!({"kind": "call", "call_id": id, "queue": queue, "event": "ended", "at": rfc3339(ended)}),
    ]
    .map(|line| line.to_string())
}

fn queue_log_lines(n: usize) -> [String; 3] {
    let (offered, answered, ended) = times(n);
    let queue = QUEUES[n % 4];
    let id = format!("{offered}.{n}");
    [
        format!(
            "{offered}|{id}|{queue}|NONE|ENTERQUEUE||5550{:03}|1",
            n % 1000
        ),
        format!("{answered}|{id}|{queue}|PJSIP/201|CONNECT|12|{answered}.9|3"),
        format!("{ended}|{id}|{queue}|PJSIP/201|COMPLETECALLER|12|180|1"),
    ]
}

fn contact_id(n: usize) -> String {
    format!("7a1c9e0b-3d5f-4a2c-9b8e-{n:012}")
}

fn queue_arn(n: usize) -> String {
    format!("{INSTANCE}/queue/{}", QUEUES[n % 4])
}

fn contact_events(n: usize) -> [Value; 3] {
    let (offered, answered, ended) = times(n);
    let queue_info = json!({"queueArn": queue_arn(n), "queueType": "STANDARD", "enqueueTimestamp": rfc3339(offered)});
    let agent_info = json!({"agentArn": format!("{INSTANCE}/agent/8a2b4c6d"), "connectedToAgentTimestamp": rfc3339(answered)});
    let event = |kind: &str, at: u64, detail: Value| {
        let mut body = json!({
            "eventType": kind, "contactId": contact_id(n), "channel": "VOICE",
            "instanceArn": INSTANCE, "initiationMethod": "INBOUND",
            "initiationTimestamp": rfc3339(offered - 2), "queueInfo": queue_info,
        });
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), detail) {
            body.extend(extra);
        }
        json!({
            "version": "0", "id": format!("0d7a2f4e-{n:012}-{kind}"),
            "detail-type": "Amazon Connect Contact Event", "source": "aws.connect",
            "account": "111122223333", "time": rfc3339(at), "region": "us-east-1",
            "resources": [INSTANCE], "detail": body,
        })
    };
    [
        event("QUEUED", offered, json!({})),
        event(
            "CONNECTED_TO_AGENT",
            answered,
            json!({"agentInfo": agent_info}),
        ),
        event(
            "DISCONNECTED",
            ended,
            json!({"agentInfo": agent_info, "disconnectTimestamp": rfc3339(ended)}),
        ),
    ]
}

fn trace_record(n: usize) -> Value {
    let (offered, answered, ended) = times(n);
    json!({
        "AWSAccountId": "111122223333", "AWSContactTraceRecordFormatVersion": "2017-03-10",
        "Agent": {"ARN": format!("{INSTANCE}/agent/8a2b4c6d"), "AfterContactWorkDuration": 30,
                  "ConnectedToAgentTimestamp": rfc3339(answered), "Username": "jdoe"},
        "Channel": "VOICE", "ContactId": contact_id(n), "DisconnectTimestamp": rfc3339(ended),
        "InitiationMethod": "INBOUND", "InitiationTimestamp": rfc3339(offered - 2),
        "InstanceARN": INSTANCE, "LastUpdateTimestamp": rfc3339(ended + 31),
        "Queue": {"ARN": queue_arn(n), "EnqueueTimestamp": rfc3339(offered),
                  "DequeueTimestamp": rfc3339(answered), "Name": QUEUES[n % 4]},
    })
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

/// `items` grouped `per` to a body, each joined by `join`.
fn bodies<T>(items: Vec<T>, per: usize, join: impl Fn(&[T]) -> String) -> Vec<String> {
    items.chunks(per).map(join).collect()
}

async fn run() {
    let calls: usize = std::env::var("GOLIVE_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cores} cores; {calls} calls (3 events each) per path; SQLite");
    let events = calls * 3;

    // A call's lines stay in one body: queue_log lines of one call are
    // read in order, as Asterisk writes them.
    let ndjson = bodies(
        (0..calls).flat_map(ndjson_lines).collect(),
        30_000,
        |lines| lines.join("\n"),
    );
    let floor = through(&ndjson, "/api/v1/ingest", "application/x-ndjson", events).await;
    println!("floor: bulk NDJSON call events: {floor:.0} lines/s");

    let queue_log = bodies(
        (0..calls).flat_map(queue_log_lines).collect(),
        30_000,
        |lines| lines.join("\n") + "\n",
    );
    let asterisk = through(
        &queue_log,
        "/api/v1/connectors/asterisk",
        "text/plain",
        events,
    )
    .await;
    println!(
        "Asterisk queue_log: {asterisk:.0} lines/s = {:.0} % of NDJSON",
        100.0 * asterisk / floor
    );

    let connect = bodies(
        (0..calls).flat_map(contact_events).collect(),
        10_000,
        |records| Value::Array(records.to_vec()).to_string(),
    );
    let connect_rate = through(
        &connect,
        "/api/v1/connectors/amazon-connect",
        "application/json",
        events,
    )
    .await;
    println!(
        "Amazon Connect contact events: {connect_rate:.0} events/s = {:.0} % of NDJSON",
        100.0 * connect_rate / floor
    );

    let ctrs = bodies((0..calls).map(trace_record).collect(), 10_000, |records| {
        records.iter().map(Value::to_string).collect::<String>()
    });
    let ctr_rate = through(
        &ctrs,
        "/api/v1/connectors/amazon-connect",
        "application/json",
        calls,
    )
    .await;
    println!(
        "Amazon Connect CTRs (Firehose, back to back): {ctr_rate:.0} records/s = {:.0} call events/s = {:.0} % of NDJSON",
        ctr_rate * 3.0,
        100.0 * ctr_rate * 3.0 / floor
    );
}

/// Posts `bodies` (two requests in flight) to a fresh server; records
/// per second.
async fn through(
    bodies: &[String],
    path: &str,
    content_type: &'static str,
    expected: usize,
) -> f64 {
    support::post_all(bodies, path, content_type, ADMIN, expected).await
}
