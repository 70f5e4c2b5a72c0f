//! Crash safety, on SQLite and PostgreSQL: 16 concurrent clients write
//! tickets (unique `external_id`s), status changes and call events; the
//! server is killed with SIGKILL while requests are in flight and restarted
//! on the same database. Every acknowledged write must be there exactly
//! once, unacknowledged in-flight writes at most once, the event log must be
//! gap-free and consistent with the projections, and idempotent re-posts of
//! acknowledged tickets must return the same ids.

mod support;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{Backend, Server, TestDb, count_rows, query_strings, ticket};

const WRITERS: usize = 16;
/// Upper bound of loop iterations per writer, whatever the timing.
const MAX_ROUNDS: usize = 5_000;
/// Load runs at least this long before the kill...
const MIN_LOAD: Duration = Duration::from_millis(1_500);
/// ...and until this many writes were acknowledged, but never longer than
const MIN_ACKED: usize = 100;
/// this.
const MAX_LOAD: Duration = Duration::from_secs(20);

/// What one writer saw.
#[derive(Default)]
struct Log {
    /// Tickets answered 201: (external_id, id).
    tickets: Vec<(String, String)>,
    /// Tickets moved to in_progress with a 200.
    changed: Vec<String>,
    /// Call ids whose `offered` event was answered 202.
    calls: Vec<String>,
    /// Requests that got no answer: they may or may not have landed.
    unacked_tickets: Vec<String>,
    unacked_changes: usize,
    unacked_calls: Vec<String>,
    /// Answers that should never happen (non-2xx while the server was up).
    unexpected: Vec<String>,
}

enum Sent {
    Answer(StatusCode, Value),
    NoAnswer,
}

async fn send(
    client: &Client,
    url: String,
    method: reqwest::Method,
    token: &str,
    body: Value,
) -> Sent {
    match client
        .request(method, url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
    {
        Ok(response) => {
            let status = response.status();
            match response.json::<Value>().await {
                Ok(value) => Sent::Answer(status, value),
                // The status line arrived but the body did not: the server
                // died while answering. Count it as no answer.
                Err(_) => Sent::NoAnswer,
            }
        }
        Err(_) => Sent::NoAnswer,
    }
}

async fn writer(
    writer_id: usize,
    client: Client,
    base: String,
    token: String,
    acked: Arc<AtomicUsize>,
) -> Log {
    let mut log = Log::default();
    let started = Instant::now();
    for round in 0..MAX_ROUNDS {
        if started.elapsed() > MAX_LOAD + Duration::from_secs(10) {
            log.unexpected
                .push(format!("writer {writer_id} still running after the kill"));
            break;
        }
        let external_id = format!("CRASH-{writer_id}-{round}");
        let body = ticket(json!({"external_id": external_id, "summary": "crash test",
            "site": format!("Site {}", writer_id % 4)}));
        let id = match send(
            &client,
            format!("{base}/api/v1/tickets"),
            reqwest::Method::POST,
            &token,
            body,
        )
        .await
        {
            Sent::Answer(StatusCode::CREATED, created) => {
                let id = created["id"].as_str().unwrap_or_default().to_string();
                log.tickets.push((external_id, id.clone()));
                acked.fetch_add(1, Ordering::Relaxed);
                id
            }
            Sent::Answer(status, body) => {
                log.unexpected
                    .push(format!("ticket {external_id}: {status} {body}"));
                break;
            }
            Sent::NoAnswer => {
                log.unacked_tickets.push(external_id);
                break;
            }
        };
        if round % 3 == 0 {
            match send(
                &client,
                format!("{base}/api/v1/tickets/{id}"),
                reqwest::Method::PATCH,
                &token,
                json!({"status": "in_progress", "assignee": format!("desk-{writer_id}")}),
            )
            .await
            {
                Sent::Answer(StatusCode::OK, changed) if changed["status"] == "in_progress" => {
                    log.changed.push(id);
                    acked.fetch_add(1, Ordering::Relaxed);
                }
                Sent::Answer(status, body) => {
                    log.unexpected
                        .push(format!("change of {id}: {status} {body}"));
                    break;
                }
                Sent::NoAnswer => {
                    log.unacked_changes += 1;
                    break;
                }
            }
        }
        if round % 2 == 0 {
            let call_id = format!("crash-call-{writer_id}-{round}");
            let body = json!({"call_id": call_id, "queue": format!("Line {}", writer_id % 3),
                "event": "offered", "at": "2026-03-02T07:14:05Z"});
            match send(
                &client,
                format!("{base}/api/v1/calls/events"),
                reqwest::Method::POST,
                &token,
                body,
            )
            .await
            {
                Sent::Answer(StatusCode::ACCEPTED, answer) if answer["status"] == "recorded" => {
                    log.calls.push(call_id);
                    acked.fetch_add(1, Ordering::Relaxed);
                }
                Sent::Answer(status, body) => {
                    log.unexpected
                        .push(format!("call {call_id}: {status} {body}"));
                    break;
                }
                Sent::NoAnswer => {
                    log.unacked_calls.push(call_id);
                    break;
                }
            }
        }
    }
    log
}

async fn crash(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut server = Server::start(&db).await;
    let token = server.token("integration").await;
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let acked = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|n| {
            tokio::spawn(writer(
                n,
                client.clone(),
                server.base.clone(),
                token.clone(),
                acked.clone(),
            ))
        })
        .collect();

    // Let the load run, then kill -9 with requests in flight.
    let started = Instant::now();
    while started.elapsed() < MIN_LOAD
        || (acked.load(Ordering::Relaxed) < MIN_ACKED && started.elapsed() < MAX_LOAD)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill9();
    let mut logs = Vec::new();
    for task in tasks {
        logs.push(task.await.expect("writer task"));
    }

    let unexpected: Vec<&String> = logs.iter().flat_map(|l| &l.unexpected).collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    let acked_tickets: Vec<&(String, String)> = logs.iter().flat_map(|l| &l.tickets).collect();
    let acked_changes: Vec<&String> = logs.iter().flat_map(|l| &l.changed).collect();
    let acked_calls: Vec<&String> = logs.iter().flat_map(|l| &l.calls).collect();
    let unacked_tickets: HashSet<&String> = logs.iter().flat_map(|l| &l.unacked_tickets).collect();
    let unacked_calls: HashSet<&String> = logs.iter().flat_map(|l| &l.unacked_calls).collect();
    let unacked_changes: usize = logs.iter().map(|l| l.unacked_changes).sum();
    let acked_events = acked_tickets.len() + acked_changes.len() + acked_calls.len();
    let unacked = unacked_tickets.len() + unacked_calls.len() + unacked_changes;
    assert!(
        acked_events >= MIN_ACKED.min(20),
        "too little load before the kill: {acked_events} acknowledged writes"
    );
    assert!(
        unacked <= WRITERS,
        "every writer stops at its first unanswered request"
    );
    eprintln!(
        "{backend:?}: {acked_events} writes acknowledged before the kill, {unacked} unanswered"
    );

    let server = Server::start(&db).await;

    // The log: gap-free from 1, counter agrees, every acknowledged event is
    // there and at most the unanswered ones on top.
    // (One snapshot: the restarted server may commit an alert meanwhile.)
    let log = support::log_shape(&db.url).await;
    assert_eq!(log.min_seq, 1, "the log starts at 1: {log:?}");
    assert!(log.is_whole(), "gap-free, the counter at its end: {log:?}");
    let requested = count_rows(&db.url, support::REQUEST_EVENTS).await;
    let events = usize::try_from(requested).expect("count");
    assert!(
        events >= acked_events && events <= acked_events + unacked,
        "{events} events; {acked_events} acknowledged, {unacked} unanswered"
    );

    // Tickets: every acknowledged one with its id, none twice, nothing that
    // was never sent.
    let tickets = server.all_tickets().await;
    let mut by_external: HashMap<String, String> = HashMap::new();
    let mut ids = HashSet::new();
    for t in &tickets {
        let external = t["external_id"].as_str().expect("external id").to_string();
        let id = t["id"].as_str().expect("id").to_string();
        assert!(ids.insert(id.clone()), "ticket id {id} listed twice");
        assert!(
            by_external.insert(external.clone(), id).is_none(),
            "external_id {external} stored twice"
        );
    }
    for (external, id) in &acked_tickets {
        assert_eq!(
            by_external.get(external),
            Some(id),
            "acknowledged ticket {external} lost or renumbered"
        );
    }
    let acked_externals: HashSet<&String> = acked_tickets.iter().map(|(e, _)| e).collect();
    for external in by_external.keys() {
        assert!(
            acked_externals.contains(external) || unacked_tickets.contains(external),
            "ticket {external} was never sent"
        );
    }
    assert!(tickets.len() <= acked_tickets.len() + unacked_tickets.len());
    let status_of: HashMap<&str, &str> = tickets
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap_or(""),
                t["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for id in &acked_changes {
        assert_eq!(
            status_of.get(id.as_str()),
            Some(&"in_progress"),
            "change of {id} lost"
        );
    }
    // Projections agree with the log: one row per creation event, keyed by
    // its sequence number.
    assert_eq!(
        count_rows(
            &db.url,
            "SELECT COUNT(*) FROM events WHERE kind = 'ticket_created'"
        )
        .await,
        tickets.len() as i64
    );
    assert_eq!(
        count_rows(
            &db.url,
            "SELECT COUNT(*) FROM tickets t JOIN events e ON e.seq = t.id AND e.kind = 'ticket_created'"
        )
        .await,
        tickets.len() as i64
    );
    assert_eq!(
        count_rows(
            &db.url,
            "SELECT COUNT(*) FROM events WHERE kind = 'ticket_changed'"
        )
        .await,
        count_rows(
            &db.url,
            "SELECT COUNT(*) FROM tickets WHERE status = 'in_progress'"
        )
        .await
    );

    // Calls: every acknowledged one, nothing never sent.
    let stored_calls: HashSet<String> = query_strings(
        &db.url,
        "SELECT call_id FROM calls WHERE offered_at IS NOT NULL",
    )
    .await
    .into_iter()
    .collect();
    for call_id in &acked_calls {
        assert!(
            stored_calls.contains(*call_id),
            "acknowledged call {call_id} lost"
        );
    }
    for call_id in &stored_calls {
        assert!(
            acked_calls.contains(&call_id) || unacked_calls.contains(call_id),
            "call {call_id} was never sent"
        );
    }
    assert_eq!(
        count_rows(
            &db.url,
            "SELECT COUNT(*) FROM events WHERE kind = 'call_recorded'"
        )
        .await,
        stored_calls.len() as i64
    );

    // Idempotent re-posts after the crash: same ids, nothing new.
    let step = (acked_tickets.len() / 5).max(1);
    for (external, id) in acked_tickets.iter().step_by(step).take(6) {
        let (status, again) = server
            .post("/api/v1/tickets", &ticket(json!({"external_id": external})))
            .await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(&again["id"], id.as_str());
    }
    // A write that got no answer can be retried safely: it lands once.
    for external in &unacked_tickets {
        let (status, again) = server
            .post("/api/v1/tickets", &ticket(json!({"external_id": external})))
            .await;
        match by_external.get(*external) {
            Some(id) => {
                assert_eq!(status, StatusCode::OK, "{again}");
                assert_eq!(&again["id"], id.as_str());
            }
            None => assert_eq!(status, StatusCode::CREATED, "{again}"),
        }
    }
    let landed = unacked_tickets
        .iter()
        .filter(|e| by_external.contains_key(e.as_str()))
        .count();
    assert_eq!(
        count_rows(&db.url, support::REQUEST_EVENTS).await as usize,
        events + unacked_tickets.len() - landed,
        "retried writes landed exactly once"
    );
    let (status, next) = server.post("/api/v1/tickets", &ticket(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let last = count_rows(&db.url, support::LAST_REQUEST_SEQ).await;
    assert_eq!(next["id"], last.to_string(), "ids continue the log");
}
both_backends!(kill9, crash);
