//! Contact events and CTRs from the fixtures (AWS's documented formats).

use super::*;
use golive_core::names::NameRules;
use golive_core::time::parse_rfc3339;
use serde_json::{Value, json};

const EVENTS: &str = include_str!("../../../../tests/fixtures/amazon_connect/contact_events.json");
const CTRS: &str = include_str!("../../../../tests/fixtures/amazon_connect/ctr_firehose.json");
const PHYSICIAN_ARN: &str = "arn:aws:connect:us-east-1:111122223333:instance/5f3c1e7a-2b4d-4c6e-8f90-1a2b3c4d5e6f/queue/6c1f0e3a-91b2-4d0c-a7e5-3f2d1c0b9a81";
const CONTACT_1: &str = "7a1c9e0b-3d5f-4a2c-9b8e-000000000001";

fn mapper() -> ContactMapper {
    let config = QueueMapConfig {
        map: [(PHYSICIAN_ARN.to_string(), "Physician Line".to_string())].into(),
        ..QueueMapConfig::default()
    };
    ContactMapper::new(QueueResolver::new(&config, NameRules::default()).unwrap())
}

fn clock() -> Clock {
    Clock::new(parse_rfc3339("2026-03-04T00:00:00Z").unwrap(), 300_000)
}

/// A contact event's call events.
fn events(contact: Contact) -> Vec<CallRecorded> {
    match contact {
        Contact::Events(events) => events,
        other => panic!("not a contact event's: {other:?}"),
    }
}

/// Maps one JSON contact event (as a body of one record).
fn map_json(mapper: &ContactMapper, value: &Value) -> Result<Vec<CallRecorded>, RecordError> {
    let text = value.to_string();
    let records = parse_body(text.as_bytes()).unwrap();
    mapper.map(&records[0], clock()).map(events)
}

/// A fixture's records as JSON values (to pick one by its fields).
fn values(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .flat_map(|v| match v.unwrap() {
            Value::Array(items) => items,
            other => vec![other],
        })
        .collect()
}

fn kinds(events: &[CallRecorded]) -> Vec<(&str, &str, CallEventKind)> {
    events
        .iter()
        .map(|e| (e.call_id.as_str(), e.queue.as_str(), e.event))
        .collect()
}

#[test]
fn every_fixture_event_maps_or_is_ignored() {
    let records = parse_body(EVENTS.as_bytes()).unwrap();
    assert_eq!(records.len(), 22);
    let mapper = mapper();
    let mut all = Vec::new();
    for record in &records {
        all.extend(events(mapper.map(record, clock()).unwrap()));
    }
    assert!(all.iter().all(|e| e.call_id.starts_with("7a1c9e0b")));
    let values = values(EVENTS);
    // COMPLETED (after-contact work done) is not among the mapped types:
    // it changes nothing, although it carries the whole contact.
    let completed = values
        .iter()
        .find(|r| r["detail"]["eventType"] == "COMPLETED")
        .unwrap();
    assert_eq!(map_json(&mapper, completed).unwrap(), []);
    let disconnected = values
        .iter()
        .find(|r| {
            r["detail"]["eventType"] == "DISCONNECTED"
                && r["detail"]["contactId"] == CONTACT_1.replace("0001", "0003")
        })
        .unwrap();
    let events = map_json(&mapper, disconnected).unwrap();
    let nurse_arn = "0b7d9e2c-5a4f-4e13-b6c8-9d0e1f2a3b4c";
    assert_eq!(
        kinds(&events)
            .iter()
            .map(|(_, queue, kind)| (*queue, *kind))
            .collect::<Vec<_>>(),
        [
            (nurse_arn, CallEventKind::Offered),
            (nurse_arn, CallEventKind::Answered),
            (nurse_arn, CallEventKind::Ended),
        ],
        "capitalised QueueInfo / AgentInfo / DisconnectTimestamp read alike"
    );
    assert_eq!(
        events[1].agent.as_deref(),
        Some("3c5e7a9b-2d4f-4b6a-8c0e-1f3a5b7c9d0e")
    );
    // An unmapped ARN is named by its last segment.
    let nurse = values
        .iter()
        .find(|r| {
            r["detail"]["eventType"] == "QUEUED"
                && r["detail"]["contactId"]
                    .as_str()
                    .is_some_and(|c| c.ends_with('3'))
        })
        .unwrap();
    assert_eq!(
        map_json(&mapper, nurse).unwrap()[0].queue,
        "0b7d9e2c-5a4f-4e13-b6c8-9d0e1f2a3b4c"
    );
}

#[test]
fn a_disconnect_without_an_agent_is_an_abandon() {
    let values = values(EVENTS);
    let abandon = values
        .iter()
        .find(|r| {
            r["detail"]["eventType"] == "DISCONNECTED" && r["detail"].get("agentInfo").is_none()
        })
        .unwrap();
    let events = map_json(&mapper(), abandon).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].event, CallEventKind::Abandoned);
    assert_eq!(events[1].at, parse_rfc3339("2026-03-02T07:01:40Z").unwrap());
}

#[test]
fn trace_records_concatenated_as_firehose_writes_them() {
    let records = parse_body(CTRS.as_bytes()).unwrap();
    assert_eq!(records.len(), 10);
    let mapper = mapper();
    let results: Vec<_> = records.iter().map(|r| mapper.map(r, clock())).collect();
    let leg = |index: usize| match results[index].as_ref() {
        Ok(Contact::Record(leg)) => leg.clone(),
        other => panic!("record {index}: {other:?}"),
    };
    let time = |text: &str| parse_rfc3339(text);
    let first = leg(0);
    assert_eq!(
        (first.offered_at, first.answered_at, first.ended_at),
        (
            parse_rfc3339("2026-03-03T07:00:00Z").unwrap(),
            time("2026-03-03T07:00:10Z"),
            time("2026-03-03T07:05:10Z")
        )
    );
    // Written while after-contact work went on: no duration yet.
    assert_eq!(first.wrap_seconds, None);
    assert_eq!(first.agent.as_deref(), Some("jdoe"));
    assert_eq!(first.source_updated_at, time("2026-03-03T07:06:10Z"));
    // The same contact, updated later with its after-contact work.
    let updated = leg(5);
    assert_eq!(updated.call_id, first.call_id);
    assert_eq!(updated.source_updated_at, time("2026-03-03T07:30:00Z"));
    assert_eq!(updated.wrap_seconds, Some(60.0));
    // Disconnected without an agent: ended, not answered (an abandon).
    let abandon = leg(1);
    assert_eq!(
        (abandon.answered_at, abandon.ended_at, abandon.wrap_seconds),
        (None, time("2026-03-03T07:01:50Z"), None)
    );
    let no_queue = results[3].as_ref().unwrap_err();
    assert_eq!(
        (no_queue.code, no_queue.field.as_str()),
        ("missing_field", "Queue")
    );
    assert_eq!(leg(4).queue, "Pharmacy");
    let bad_time = results[6].as_ref().unwrap_err();
    assert_eq!(
        (bad_time.code, bad_time.field.as_str()),
        ("invalid_timestamp", "Queue.EnqueueTimestamp")
    );
    // Queue.Name null: the configured ARN map names it.
    assert_eq!(leg(7).queue, "Physician Line");
}

#[test]
fn bodies_single_array_and_ndjson() {
    let one = json!({"ContactId": "c1"}).to_string();
    assert_eq!(parse_body(one.as_bytes()).unwrap().len(), 1);
    let many = format!("[{one},{one}]\n{one}\n{one}");
    assert_eq!(parse_body(many.as_bytes()).unwrap().len(), 4);
    assert!(parse_body(b"{\"ContactId\": ").is_err());
}

#[test]
fn refusals_name_the_field() {
    let mapper = mapper();
    let event = |detail: Value| json!({"detail-type": CONTACT_EVENT, "source": "aws.connect", "detail": detail});
    let e = map_json(
        &mapper,
        &event(json!({"eventType": "QUEUED", "contactId": "c1"})),
    )
    .unwrap_err();
    assert_eq!(e.field, "detail.queueInfo.queueArn");
    let e = map_json(
        &mapper,
        &event(json!({"eventType": "CONNECTED_TO_AGENT", "contactId": "c1",
            "queueInfo": {"queueArn": PHYSICIAN_ARN, "enqueueTimestamp": "2026-03-02T07:00:10Z"},
            "agentInfo": {"connectedToAgentTimestamp": "2026-03-02T07:00:00Z"}})),
    )
    .unwrap_err();
    assert_eq!(
        (e.code, e.field.as_str()),
        (
            "impossible_call_sequence",
            "detail.agentInfo.connectedToAgentTimestamp"
        )
    );
    let e = map_json(
        &mapper,
        &event(json!({"eventType": "QUEUED", "contactId": "c1",
            "queueInfo": {"queueArn": PHYSICIAN_ARN, "enqueueTimestamp": "2026-03-05T07:00:10Z"}})),
    )
    .unwrap_err();
    assert_eq!(e.code, "future_timestamp");
    let e = map_json(
        &mapper,
        &json!({"detail-type": "EC2 Instance State-change Notification", "detail": {}}),
    )
    .unwrap_err();
    assert_eq!(e.field, "detail-type");
    assert!(map_json(&mapper, &json!([[1]])).is_err());
    assert_eq!(
        map_json(
            &mapper,
            &event(json!({"eventType": "INITIATED", "contactId": "c1"}))
        )
        .unwrap(),
        []
    );
}

#[test]
fn unknown_queues_refused_by_policy() {
    let config = QueueMapConfig {
        unknown: crate::queues::UnknownQueues::Refuse,
        ..QueueMapConfig::default()
    };
    let mapper = ContactMapper::new(QueueResolver::new(&config, NameRules::default()).unwrap());
    let records = parse_body(CTRS.as_bytes()).unwrap();
    let e = mapper.map(&records[7], clock()).unwrap_err();
    assert_eq!((e.code, e.field.as_str()), ("unknown_queue", "Queue.ARN"));
}

#[test]
fn repeats_within_a_request_are_left_out() {
    let records = parse_body(EVENTS.as_bytes()).unwrap();
    let mapper = mapper();
    let mut repeats = Repeats::default();
    let mut kept = Vec::new();
    for record in &records {
        for event in events(mapper.map(record, clock()).unwrap()) {
            if !repeats.is_repeat(&event) {
                kept.push((event.call_id, event.queue, event.event));
            }
        }
    }
    // Five legs: each offered once; four answered; one abandoned; three
    // ended (contact 5 never disconnected).
    let count = |kind| kept.iter().filter(|(_, _, k)| *k == kind).count();
    assert_eq!(
        [
            count(CallEventKind::Offered),
            count(CallEventKind::Answered),
            count(CallEventKind::Abandoned),
            count(CallEventKind::Ended)
        ],
        [5, 4, 1, 3]
    );
}
