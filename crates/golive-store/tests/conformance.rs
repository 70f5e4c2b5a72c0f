//! The store conformance suite: every test runs against SQLite (a fresh
//! temp file) and PostgreSQL (a fresh database) through the [`Store`]
//! trait only, so both backends are held to one behaviour: commits and
//! reading the log back, projection upserts, refusal of batches that would
//! leave a gap, tokens, ticket listing, checkpoints, and several writers
//! (each with its own ledger) sharing one database.
//!
//! PostgreSQL: `GOLIVE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) names a server where the
//! tests may create databases; `GOLIVE_SKIP_POSTGRES=1` skips them.

use golive_core::event::{Event, RecordedEvent, TicketId};
use golive_core::input::{
    CallBody, Clock, QueueBody, Rejection, TicketBody, TicketPatchBody, TicketRef,
};
use golive_core::ledger::{Command, Ledger, Outcome};
use golive_core::model::{Role, TicketStatus};
use golive_core::record::{CallRecord, TicketRecord};
use golive_core::time::Millis;
use golive_store::{
    CHECKPOINTS_KEPT, CommitBatch, Store, StoreError, StoredCheckpoint, TicketFilter, connect,
};
use serde_json::{Value, json};
use sqlx::Connection;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// 2026-03-02T07:14:05Z.
const T0: Millis = 1_772_435_645_000;
/// Lets the fixtures' times (within a day of T0) pass validation.
const CLOCK: Clock = Clock {
    now: T0,
    max_ahead: 86_400_000,
};
const MINUTE: Millis = 60_000;

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed test body once per backend.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if super::skip_postgres() {
                        eprintln!("GOLIVE_SKIP_POSTGRES=1: skipping");
                        return;
                    }
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

conformance!(
    connector_cursors,
    checkpoints,
    commits_read_back_in_order,
    projections_upsert,
    gaps_are_refused_and_leave_nothing,
    writers_get_the_events_they_missed,
    tokens,
    ticket_listing,
    two_writers_share_one_log,
);

fn skip_postgres() -> bool {
    std::env::var("GOLIVE_SKIP_POSTGRES").is_ok_and(|v| v == "1")
}

fn postgres_admin_url() -> String {
    std::env::var("GOLIVE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh, empty database, removed when dropped.
struct TestDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("store.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                use std::sync::atomic::{AtomicU64, Ordering};
                static COUNTER: AtomicU64 = AtomicU64::new(0);
                let admin = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL is not reachable at {admin}: {e}; start it or set GOLIVE_SKIP_POSTGRES=1")
                    });
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let name = format!(
                    "golive_store_t_{}_{nanos}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .unwrap_or(admin.clone());
                TestDb {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    async fn store(&self) -> Arc<dyn Store> {
        connect(&self.url).await.expect("connect")
    }

    /// A `SELECT COUNT(*)` straight from the database, outside the store.
    async fn count(&self, sql: &str) -> i64 {
        if self.pg_name.is_some() {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .expect("connect");
            sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect("count")
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url)
                .await
                .expect("connect");
            sqlx::query_scalar(sql)
                .fetch_one(&mut conn)
                .await
                .expect("count")
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin = postgres_admin_url();
        // Drop runs outside async context: use a small runtime of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

// --- commands -------------------------------------------------------------

fn merged(mut base: Value, overrides: Value) -> Value {
    if let (Some(b), Some(o)) = (base.as_object_mut(), overrides.as_object()) {
        for (k, v) in o {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

fn create(overrides: Value) -> Command {
    let body = merged(
        json!({"site": "Main Campus", "department": "Emergency", "application": "Orders",
            "category": "how_to", "severity": 3, "channel": "phone",
            "opened_at": "2026-03-02T07:14:05Z"}),
        overrides,
    );
    let body: TicketBody = serde_json::from_value(body).expect("ticket body");
    Command::CreateTicket(body.validate(CLOCK).expect("valid ticket"))
}

fn update(target: TicketRef, body: Value) -> Command {
    let body: TicketPatchBody = serde_json::from_value(body).expect("patch body");
    Command::UpdateTicket(target, body.validate(CLOCK).expect("valid patch"))
}

fn call(call_id: &str, event: &str, at: &str, extra: Value) -> Command {
    let body = merged(
        json!({"call_id": call_id, "queue": "Physician Line", "event": event, "at": at}),
        extra,
    );
    let body: CallBody = serde_json::from_value(body).expect("call body");
    Command::RecordCall(body.validate(CLOCK).expect("valid call"))
}

fn staff(queue: &str, agents: u32) -> Command {
    Command::ConfigureQueue {
        queue: queue.into(),
        body: QueueBody {
            agents_staffed: Some(agents),
            ..Default::default()
        },
    }
}

// --- a writer, as golive-server's writer.rs drives the store ----------------

/// A store plus the ledger deciding what goes into it.
struct Writer {
    store: Arc<dyn Store>,
    ledger: Ledger,
    /// Every event this writer committed.
    committed: Vec<RecordedEvent>,
    /// Commits that found events of other writers to fold in first.
    caught_up_in_commit: usize,
    recorded_at: Millis,
}

impl Writer {
    fn new(store: Arc<dyn Store>) -> Writer {
        Writer {
            store,
            ledger: Ledger::new(),
            committed: Vec::new(),
            caught_up_in_commit: 0,
            recorded_at: T0,
        }
    }

    /// Decides `commands` inside one commit, exactly like the server's
    /// writer: fold in the events other writers committed, then decide.
    async fn commit(
        &mut self,
        commands: Vec<Command>,
    ) -> Result<Vec<Result<Outcome, Rejection>>, StoreError> {
        let Writer {
            store,
            ledger,
            committed,
            caught_up_in_commit,
            recorded_at,
        } = self;
        *recorded_at += 1;
        let recorded_at = *recorded_at;
        let known_last = ledger.last_seq();
        let mut commands = Some(commands);
        let mut decided = Vec::new();
        let mut new_events: Vec<RecordedEvent> = Vec::new();
        let result = store
            .commit(known_last, &mut |missed: Vec<RecordedEvent>| {
                assert_eq!(
                    missed.first().map(|e| e.seq),
                    (!missed.is_empty()).then_some(known_last + 1),
                    "missed events start right after what the writer knew"
                );
                if !missed.is_empty() {
                    *caught_up_in_commit += 1;
                }
                for event in &missed {
                    ledger.apply(event);
                }
                ledger.begin_batch();
                decided.clear();
                new_events.clear();
                for command in commands.take().unwrap_or_default() {
                    decided.push(ledger.decide_into(command, recorded_at, &mut new_events));
                }
                CommitBatch::new(ledger.rows_of(&new_events), new_events.clone())
            })
            .await;
        match result {
            Ok(last) => {
                ledger.commit_batch();
                assert_eq!(last, ledger.last_seq(), "commit returns the log's last seq");
                committed.extend(new_events);
                Ok(decided)
            }
            Err(error) => {
                ledger.rollback_batch();
                Err(error)
            }
        }
    }

    /// Commits and expects every command to be accepted.
    async fn accept(&mut self, commands: Vec<Command>) -> Vec<Outcome> {
        self.commit(commands)
            .await
            .expect("commit")
            .into_iter()
            .map(|d| d.expect("accepted"))
            .collect()
    }

    /// Folds in whatever others committed since this writer's last commit.
    async fn catch_up(&mut self) {
        loop {
            let page = self
                .store
                .events_after(self.ledger.last_seq(), 1000)
                .await
                .expect("events");
            if page.is_empty() {
                return;
            }
            for event in &page {
                self.ledger.apply(event);
            }
        }
    }
}

async fn all_events(store: &dyn Store) -> Vec<RecordedEvent> {
    let mut out: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.seq);
        let page = store.events_after(after, 500).await.expect("events");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

fn created_id(outcome: &Outcome) -> TicketId {
    match outcome {
        Outcome::TicketCreated(id) => *id,
        other => panic!("expected a new ticket, got {other:?}"),
    }
}

/// A ticket row as the store has it, minus the free text the ledger does
/// not keep.
fn without_text(mut row: TicketRecord) -> TicketRecord {
    row.summary = None;
    row.reporter_role = None;
    row
}

// --- the suite ---------------------------------------------------------------

async fn commits_read_back_in_order(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    assert_eq!(store.last_seq().await.expect("last_seq"), 0);
    assert!(store.events_after(0, 10).await.expect("events").is_empty());
    store.ping().await.expect("ping");
    assert_eq!(
        store.backend(),
        match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );

    let mut w = Writer::new(store.clone());
    w.accept(vec![
        create(json!({"external_id": "A"})),
        call("c1", "offered", "2026-03-02T07:14:05Z", json!({})),
    ])
    .await;
    w.accept(vec![staff("Physician Line", 4)]).await;
    // A batch that decides nothing new writes nothing and keeps last_seq.
    let outcomes = w.accept(vec![create(json!({"external_id": "A"}))]).await;
    assert_eq!(outcomes, [Outcome::TicketExists(1)]);
    assert_eq!(store.last_seq().await.expect("last_seq"), 3);
    let mut many = Vec::new();
    for n in 0..20 {
        many.push(create(json!({"external_id": format!("M-{n}")})));
    }
    w.accept(many).await;
    assert_eq!(store.last_seq().await.expect("last_seq"), 23);

    let log = all_events(store.as_ref()).await;
    assert_eq!(log, w.committed, "the log is exactly what was committed");
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=23).collect::<Vec<u64>>());
    assert_eq!(log[0].recorded_at, T0 + 1);
    assert_eq!(log[3].recorded_at, T0 + 4);
    // Paging: limits are honoured and `after` is exclusive.
    let page = store.events_after(0, 2).await.expect("page");
    assert_eq!(page, log[..2]);
    let page = store.events_after(2, 2).await.expect("page");
    assert_eq!(page, log[2..4]);
    let page = store.events_after(20, 100).await.expect("page");
    assert_eq!(page, log[20..]);
    assert!(store.events_after(23, 100).await.expect("page").is_empty());
    assert!(
        store
            .events_after(1000, 100)
            .await
            .expect("page")
            .is_empty()
    );

    // A second connection (another process) sees the same log.
    let other = db.store().await;
    assert_eq!(all_events(other.as_ref()).await, log);
    assert_eq!(other.last_seq().await.expect("last_seq"), 23);
}

async fn projections_upsert(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut w = Writer::new(store.clone());
    let id = created_id(
        &w.accept(vec![create(
            json!({"external_id": "INC1", "summary": "patient J. Doe",
            "reporter_role": "nurse"}),
        )])
        .await[0],
    );
    let row = store.ticket(id).await.expect("ticket").expect("stored");
    assert_eq!(row.summary.as_deref(), Some("patient J. Doe"));
    assert_eq!(row.status, TicketStatus::Open);
    assert_eq!(row.external_id.as_deref(), Some("INC1"));
    let by_external = store
        .ticket_by_external_id("INC1")
        .await
        .expect("ticket")
        .expect("found by external id");
    assert_eq!(by_external.id, id);
    assert!(
        store
            .ticket_by_external_id("INC404")
            .await
            .expect("ticket")
            .is_none()
    );

    // Changed in a later batch (whose row has no text): text survives,
    // state follows.
    w.accept(vec![update(
        TicketRef::Id(id),
        json!({"status": "resolved", "at": "2026-03-02T07:30:00Z", "assignee": "desk-3", "tier": 2}),
    )])
    .await;
    let row = store.ticket(id).await.expect("ticket").expect("stored");
    assert_eq!(row.summary.as_deref(), Some("patient J. Doe"));
    assert_eq!(row.reporter_role.as_deref(), Some("nurse"));
    assert_eq!(row.status, TicketStatus::Resolved);
    assert_eq!(row.resolved_at, Some(T0 + 16 * MINUTE - 5_000));
    assert_eq!(row.assignee.as_deref(), Some("desk-3"));
    assert_eq!(row.tier, Some(2));
    assert_eq!(row.updated_at, T0 + 16 * MINUTE - 5_000);
    // Reopened: resolved_at goes back to NULL.
    w.accept(vec![update(
        TicketRef::External("INC1".into()),
        json!({"status": "open", "at": "2026-03-02T08:00:00Z"}),
    )])
    .await;
    let row = store.ticket(id).await.expect("ticket").expect("stored");
    assert_eq!(row.status, TicketStatus::Open);
    assert_eq!(row.resolved_at, None);
    assert_eq!(row.summary.as_deref(), Some("patient J. Doe"));
    assert_eq!(
        without_text(row),
        w.ledger.ticket_record(id).expect("ledger")
    );
    assert!(store.ticket(id + 100).await.expect("ticket").is_none());
    // Reclassified: the row follows, the text stays.
    w.accept(vec![update(
        TicketRef::External("INC1".into()),
        json!({"application": "Pharmacy", "site": "North Clinic", "department": "ICU",
            "category": "access", "severity": 1, "at": "2026-03-02T08:05:00Z"}),
    )])
    .await;
    let row = store.ticket(id).await.expect("ticket").expect("stored");
    assert_eq!(
        (
            row.site.as_str(),
            row.department.as_str(),
            row.application.as_str()
        ),
        ("North Clinic", "ICU", "Pharmacy")
    );
    assert_eq!(row.category, golive_core::model::Category::Access);
    assert_eq!(row.severity.level(), 1);
    assert_eq!(row.summary.as_deref(), Some("patient J. Doe"));
    assert_eq!(
        without_text(row),
        w.ledger.ticket_record(id).expect("ledger")
    );

    // A call whose events arrive in three batches, out of order.
    w.accept(vec![call(
        "c-1",
        "answered",
        "2026-03-02T07:14:25Z",
        json!({"agent": "a-17"}),
    )])
    .await;
    let row = store
        .call("c-1", "Physician Line")
        .await
        .expect("call")
        .expect("stored");
    assert_eq!((row.offered_at, row.answered_at), (None, Some(T0 + 20_000)));
    w.accept(vec![call(
        "c-1",
        "offered",
        "2026-03-02T07:14:05Z",
        json!({}),
    )])
    .await;
    w.accept(vec![call(
        "c-1",
        "ended",
        "2026-03-02T07:20:05Z",
        json!({"wrap_seconds": 30}),
    )])
    .await;
    let row = store
        .call("c-1", "Physician Line")
        .await
        .expect("call")
        .expect("stored");
    assert_eq!(
        row,
        CallRecord {
            call_id: "c-1".into(),
            queue: "Physician Line".into(),
            offered_at: Some(T0),
            answered_at: Some(T0 + 20_000),
            abandoned_at: None,
            ended_at: Some(T0 + 6 * MINUTE),
            agent: Some("a-17".into()),
            wrap_seconds: Some(30.0),
        }
    );
    assert!(
        store
            .call("c-2", "Physician Line")
            .await
            .expect("call")
            .is_none()
    );

    // Transferred: a second leg in another queue, its own row. Both legs'
    // rows in one batch (one statement), and the first leg's row is kept.
    w.accept(vec![
        call(
            "c-1",
            "offered",
            "2026-03-02T07:20:05Z",
            json!({"queue": "Pharmacy"}),
        ),
        call(
            "c-1",
            "ended",
            "2026-03-02T07:21:05Z",
            json!({"queue": "Pharmacy"}),
        ),
        call(
            "c-9",
            "offered",
            "2026-03-02T07:20:05Z",
            json!({"queue": "Pharmacy"}),
        ),
        call(
            "c-9",
            "offered",
            "2026-03-02T07:20:06Z",
            json!({"queue": "Nursing"}),
        ),
    ])
    .await;
    let second = store
        .call("c-1", "Pharmacy")
        .await
        .expect("call")
        .expect("stored");
    assert_eq!(
        (second.offered_at, second.answered_at, second.ended_at),
        (Some(T0 + 6 * MINUTE), None, Some(T0 + 7 * MINUTE)),
        "ended without an answer"
    );
    assert_eq!(
        second,
        w.ledger.call_record("c-1", "Pharmacy").expect("leg")
    );
    assert_eq!(
        store.call("c-1", "Physician Line").await.expect("call"),
        Some(row.clone())
    );
    for queue in ["Pharmacy", "Nursing"] {
        assert_eq!(
            store.call("c-9", queue).await.expect("call"),
            w.ledger.call_record("c-9", queue)
        );
    }

    // A row that carries only part of a call merges into what is stored:
    // a time once known is never lost.
    let next = store.last_seq().await.expect("last_seq") + 1;
    let partial = CallRecord {
        call_id: "c-1".into(),
        queue: "Physician Line".into(),
        offered_at: None,
        answered_at: None,
        abandoned_at: None,
        ended_at: Some(T0 + 6 * MINUTE),
        agent: None,
        wrap_seconds: None,
    };
    let event = RecordedEvent {
        seq: next,
        recorded_at: T0,
        event: Event::CallRecorded(golive_core::event::CallRecorded {
            call_id: "c-1".into(),
            queue: "Physician Line".into(),
            event: golive_core::model::CallEventKind::Ended,
            at: T0 + 6 * MINUTE,
            agent: None,
            wrap_seconds: None,
        }),
    };
    store
        .commit(next - 1, &mut |_| CommitBatch {
            events: vec![event.clone()],
            calls: vec![partial.clone()],
            ..Default::default()
        })
        .await
        .expect("commit");
    assert_eq!(
        store
            .call("c-1", "Physician Line")
            .await
            .expect("call")
            .expect("stored"),
        row,
        "the partial row merged"
    );
}

async fn gaps_are_refused_and_leave_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut w = Writer::new(store.clone());
    w.accept(vec![
        create(json!({"external_id": "A"})),
        create(json!({"external_id": "B"})),
    ])
    .await;
    let log = all_events(store.as_ref()).await;
    assert_eq!(log.len(), 2);

    // A batch of a new ticket numbered `first`, `first + step`, ...
    let batch = |first: u64, step: u64, n: u64| {
        let mut batch = CommitBatch::default();
        for k in 0..n {
            let seq = first + k * step;
            let mut event = log[0].clone();
            event.seq = seq;
            if let Event::TicketCreated(created) = &mut event.event {
                created.id = seq;
                created.external_id = Some(format!("GAP-{seq}"));
            }
            let mut row = w.ledger.ticket_record(1).expect("row");
            row.id = seq;
            row.external_id = Some(format!("GAP-{seq}"));
            batch.events.push(event);
            batch.tickets.push(row);
        }
        batch
    };
    for (first, step, n, expected, found) in [
        (4, 1, 1, 3, 4), // skips one
        (2, 1, 1, 3, 2), // repeats the last
        (1, 1, 3, 3, 1), // starts over
        (3, 2, 3, 4, 5), // starts right, then skips
        (3, 0, 2, 4, 3), // starts right, then repeats
    ] {
        let result = store
            .commit(2, &mut |missed| {
                assert!(missed.is_empty());
                batch(first, step, n)
            })
            .await;
        match result {
            Err(StoreError::SequenceGap {
                expected: e,
                found: f,
            }) => assert_eq!((e, f), (expected, found), "batch from {first} step {step}"),
            other => panic!("batch from {first} step {step}: expected SequenceGap, got {other:?}"),
        }
        assert_eq!(store.last_seq().await.expect("last_seq"), 2);
        assert_eq!(all_events(store.as_ref()).await, log, "nothing left behind");
        for seq in 3..=8 {
            assert!(store.ticket(seq).await.expect("ticket").is_none());
        }
        let listed = store
            .tickets(&TicketFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .expect("tickets");
        assert_eq!(listed.len(), 2, "no projection rows left behind");
    }

    // The writer's ledger can still commit right after the refusals.
    let outcomes = w.accept(vec![create(json!({"external_id": "C"}))]).await;
    assert_eq!(outcomes, [Outcome::TicketCreated(3)]);
    assert_eq!(store.last_seq().await.expect("last_seq"), 3);
}

async fn writers_get_the_events_they_missed(backend: Backend) {
    let db = TestDb::new(backend).await;
    let first = db.store().await;
    let second = db.store().await;
    let mut a = Writer::new(first);
    let mut b = Writer::new(second);
    a.accept(vec![
        create(json!({"external_id": "X"})),
        call("c", "offered", "2026-03-02T07:14:05Z", json!({})),
    ])
    .await;
    // `b` knows nothing; its commit hands it events 1..=2 first, so it
    // sees X as existing and decides the call sequence with a's offer.
    let decided = b
        .commit(vec![
            create(json!({"external_id": "X"})),
            call("c", "answered", "2026-03-02T07:14:00Z", json!({})),
            create(json!({"external_id": "Y"})),
        ])
        .await
        .expect("commit");
    assert_eq!(decided[0], Ok(Outcome::TicketExists(1)));
    assert_eq!(
        decided[1].as_ref().map_err(|r| r.code),
        Err("impossible_call_sequence")
    );
    assert_eq!(decided[2], Ok(Outcome::TicketCreated(3)));
    assert_eq!(b.ledger.last_seq(), 3);
    let log = all_events(a.store.as_ref()).await;
    assert_eq!(log.len(), 3);
    assert_eq!(log[2], b.committed[0]);
}

/// Checkpoints come back byte for byte (every byte value, several MB),
/// the one at the furthest log position first whatever order they were
/// saved in, and only the newest two are kept.
async fn checkpoints(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    assert_eq!(store.latest_checkpoint().await.expect("read"), None);
    let checkpoint = |seq: u64, len: usize| StoredCheckpoint {
        seq,
        format: format!("test/{seq}"),
        created_at: T0 + seq as Millis,
        body: (0..len).map(|i| (i * 7 + seq as usize) as u8).collect(),
    };
    let large = checkpoint(40, 5 << 20);
    store.save_checkpoint(&large).await.expect("saved");
    assert_eq!(
        store.latest_checkpoint().await.expect("read"),
        Some(large.clone())
    );
    // A replica behind the others saves an older position: not the latest.
    store
        .save_checkpoint(&checkpoint(10, 3))
        .await
        .expect("saved");
    assert_eq!(
        store
            .latest_checkpoint()
            .await
            .expect("read")
            .map(|c| c.seq),
        Some(40)
    );
    for seq in [50, 60, 70] {
        store
            .save_checkpoint(&checkpoint(seq, 0))
            .await
            .expect("saved");
    }
    let reopened = db.store().await;
    assert_eq!(
        reopened.latest_checkpoint().await.expect("read"),
        Some(checkpoint(70, 0))
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM checkpoints").await,
        CHECKPOINTS_KEPT
    );
}

async fn connector_cursors(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    assert_eq!(
        store.connector_cursor("servicenow").await.expect("read"),
        None
    );
    store
        .set_connector_cursor("servicenow", "{\"at\":1}", T0)
        .await
        .expect("saved");
    store
        .set_connector_cursor("other", "x", T0)
        .await
        .expect("saved");
    store
        .set_connector_cursor("servicenow", "{\"at\":2}", T0 + 1)
        .await
        .expect("replaced");
    assert_eq!(
        store
            .connector_cursor("servicenow")
            .await
            .expect("read")
            .as_deref(),
        Some("{\"at\":2}")
    );
    assert_eq!(
        store
            .connector_cursor("other")
            .await
            .expect("read")
            .as_deref(),
        Some("x")
    );
    // Another connection (a restart) reads what was saved.
    let reopened = db.store().await;
    assert_eq!(
        reopened
            .connector_cursor("servicenow")
            .await
            .expect("read")
            .as_deref(),
        Some("{\"at\":2}")
    );
}

async fn tokens(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    assert!(store.tokens().await.expect("tokens").is_empty());
    let desk = store
        .create_token("desk-3", Role::Agent, "hash-desk", T0)
        .await
        .expect("create");
    let wall = store
        .create_token("wall-1", Role::Display, "hash-wall", T0 + 1)
        .await
        .expect("create");
    assert_ne!(desk, wall);
    assert_eq!(
        store.token_role("hash-desk").await.expect("role"),
        Some(Role::Agent)
    );
    assert_eq!(
        store.token_role("hash-wall").await.expect("role"),
        Some(Role::Display)
    );
    assert_eq!(store.token_role("nope").await.expect("role"), None);
    assert_eq!(
        store
            .token_name("hash-wall")
            .await
            .expect("name")
            .as_deref(),
        Some("wall-1")
    );
    assert_eq!(store.token_name("nope").await.expect("name"), None);
    assert!(
        store
            .create_token("again", Role::Admin, "hash-desk", T0)
            .await
            .is_err(),
        "a hash is stored once"
    );

    let listed = store.tokens().await.expect("tokens");
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (
            listed[0].id,
            listed[0].name.as_str(),
            listed[0].role,
            listed[0].created_at,
            listed[0].revoked_at
        ),
        (desk, "desk-3", Role::Agent, T0, None)
    );
    assert_eq!(
        (listed[1].id, listed[1].name.as_str(), listed[1].role),
        (wall, "wall-1", Role::Display)
    );

    assert!(store.revoke_token(desk, T0 + 5).await.expect("revoke"));
    assert!(
        !store.revoke_token(desk, T0 + 6).await.expect("revoke"),
        "already revoked"
    );
    assert!(!store.revoke_token(wall + 100, T0).await.expect("revoke"));
    assert_eq!(store.token_role("hash-desk").await.expect("role"), None);
    assert_eq!(store.token_name("hash-desk").await.expect("name"), None);
    assert_eq!(
        store.token_role("hash-wall").await.expect("role"),
        Some(Role::Display)
    );
    let listed = store.tokens().await.expect("tokens");
    assert_eq!(listed[0].revoked_at, Some(T0 + 5));
    assert_eq!(listed[1].revoked_at, None);

    // What the revocation watcher polls: the count only grows, and the
    // hashes are exactly the revoked ones.
    assert_eq!(store.revoked_token_count().await.expect("count"), 1);
    assert_eq!(
        store.revoked_token_hashes().await.expect("hashes"),
        ["hash-desk"]
    );
    assert!(store.revoke_token(wall, T0 + 7).await.expect("revoke"));
    assert_eq!(store.revoked_token_count().await.expect("count"), 2);
    let mut hashes = store.revoked_token_hashes().await.expect("hashes");
    hashes.sort();
    assert_eq!(hashes, ["hash-desk", "hash-wall"]);
    // Token writes are not log commits: write health is untouched.
    assert_eq!(store.write_failure().await, None);
}

async fn ticket_listing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut w = Writer::new(store.clone());
    let sites = ["Main Campus", "North Hospital", "Clinic"];
    let apps = ["Orders", "MAR", "Lab"];
    let mut commands = Vec::new();
    for n in 0..30usize {
        commands.push(create(json!({"external_id": format!("L-{n}"),
            "site": sites[n % 3], "application": apps[n % 2]})));
    }
    w.accept(commands).await;
    let mut changes = Vec::new();
    for n in (0..30usize).step_by(4) {
        changes.push(update(
            TicketRef::External(format!("L-{n}")),
            json!({"status": "escalated", "at": "2026-03-02T08:00:00Z", "assignee": "desk-1"}),
        ));
    }
    w.accept(changes).await;
    let expected: Vec<TicketRecord> = (1..=30u64)
        .rev()
        .map(|id| w.ledger.ticket_record(id).expect("ledger row"))
        .collect();
    let list = |filter: TicketFilter| {
        let store = store.clone();
        async move {
            store
                .tickets(&filter)
                .await
                .expect("tickets")
                .into_iter()
                .map(without_text)
                .collect::<Vec<_>>()
        }
    };
    let matching = |keep: &dyn Fn(&TicketRecord) -> bool| {
        expected
            .iter()
            .filter(|t| keep(t))
            .cloned()
            .collect::<Vec<_>>()
    };

    let everything = list(TicketFilter {
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(everything, expected, "newest first, all fields");
    let north = list(TicketFilter {
        site: Some("North Hospital".into()),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(north, matching(&|t| t.site == "North Hospital"));
    assert_eq!(north.len(), 10);
    let escalated = list(TicketFilter {
        status: Some(TicketStatus::Escalated),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(
        escalated,
        matching(&|t| t.status == TicketStatus::Escalated)
    );
    assert_eq!(escalated.len(), 8);
    let combined = list(TicketFilter {
        status: Some(TicketStatus::Open),
        site: Some("Main Campus".into()),
        application: Some("MAR".into()),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(
        combined,
        matching(&|t| t.status == TicketStatus::Open
            && t.site == "Main Campus"
            && t.application == "MAR")
    );
    assert!(!combined.is_empty());
    let assigned = list(TicketFilter {
        assignee: Some("desk-1".into()),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert_eq!(assigned, escalated);
    let none = list(TicketFilter {
        site: Some("Nowhere".into()),
        limit: 100,
        ..Default::default()
    })
    .await;
    assert!(none.is_empty());

    // Paging with before_id: pages of 7 walk the whole list once.
    let mut paged = Vec::new();
    let mut before_id = None;
    for _ in 0..10 {
        let page = list(TicketFilter {
            before_id,
            limit: 7,
            ..Default::default()
        })
        .await;
        assert!(page.len() <= 7);
        let Some(last) = page.last() else { break };
        before_id = Some(last.id);
        paged.extend(page);
    }
    assert_eq!(paged, expected);
    // Paging combines with filters.
    let page = list(TicketFilter {
        site: Some("Clinic".into()),
        before_id: Some(15),
        limit: 3,
        ..Default::default()
    })
    .await;
    assert_eq!(
        page,
        matching(&|t| t.site == "Clinic" && t.id < 15)[..3].to_vec()
    );
}

/// Two stores on one database, each with its own ledger, committing
/// concurrently: the log stays gap-free, every committed event is in it
/// exactly once, shared idempotency keys create one ticket, and both
/// ledgers end equal to a replay of the log.
async fn two_writers_share_one_log(backend: Backend) {
    const ROUNDS: usize = 40;
    let db = TestDb::new(backend).await;
    // Both writers start each round together, so their commits contend.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let run = |name: &'static str, store: Arc<dyn Store>, barrier: Arc<tokio::sync::Barrier>| async move {
        let mut w = Writer::new(store);
        for round in 0..ROUNDS {
            barrier.wait().await;
            let minute = |m: usize| format!("2026-03-02T08:{:02}:{:02}Z", m % 60, round % 60);
            let mut commands = vec![
                create(json!({"external_id": format!("{name}-{round}"),
                    "summary": format!("{name} ticket {round}")})),
                // Both writers race to create the same ticket.
                create(json!({"external_id": format!("shared-{round}"), "site": name})),
                // And to record the same call's events.
                call(
                    &format!("call-{round}"),
                    if name == "a" { "offered" } else { "answered" },
                    &format!(
                        "2026-03-02T07:{:02}:{}0Z",
                        round % 60,
                        if name == "a" { 1 } else { 2 }
                    ),
                    json!({}),
                ),
            ];
            if round % 5 == 0 {
                commands.push(staff("Physician Line", u32::try_from(round).unwrap_or(0)));
            }
            if round > 0 {
                // Change a ticket the other writer may or may not have made
                // yet: accepted or not found, decided against the log.
                let other = if name == "a" { "b" } else { "a" };
                commands.push(update(
                    TicketRef::External(format!("{other}-{}", round - 1)),
                    json!({"status": "in_progress", "at": minute(round), "assignee": name}),
                ));
            }
            let decided = w.commit(commands).await.expect("commit");
            for d in decided {
                if let Err(rejection) = d {
                    assert!(
                        ["not_found", "impossible_call_sequence"].contains(&rejection.code),
                        "{name}: unexpected rejection {rejection:?}"
                    );
                }
            }
        }
        w
    };
    let a = tokio::spawn(run("a", db.store().await, barrier.clone()));
    let b = tokio::spawn(run("b", db.store().await, barrier));
    let mut a = a.await.expect("writer a");
    let mut b = b.await.expect("writer b");
    // In every round the second committer had to fold in the first's events.
    assert!(
        a.caught_up_in_commit + b.caught_up_in_commit >= ROUNDS,
        "writers did not interleave: {} + {}",
        a.caught_up_in_commit,
        b.caught_up_in_commit
    );

    let store = db.store().await;
    let log = all_events(store.as_ref()).await;
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=log.len() as u64).collect::<Vec<_>>(),
        "gap-free from 1"
    );
    assert_eq!(store.last_seq().await.expect("last_seq"), log.len() as u64);
    // Every committed event is in the log at its place, and nothing else is.
    let mut by_seq: BTreeMap<u64, &RecordedEvent> = BTreeMap::new();
    for event in a.committed.iter().chain(&b.committed) {
        assert!(
            by_seq.insert(event.seq, event).is_none(),
            "two writers committed seq {}",
            event.seq
        );
    }
    assert_eq!(by_seq.len(), log.len());
    for event in &log {
        assert_eq!(by_seq.get(&event.seq), Some(&event), "seq {}", event.seq);
    }
    // Shared idempotency keys: one ticket each.
    let mut created = HashSet::new();
    for event in &log {
        if let Event::TicketCreated(t) = &event.event {
            let key = t.external_id.clone().expect("external id");
            assert!(created.insert(key.clone()), "{key} created twice");
            assert_eq!(t.id, event.seq);
        }
    }
    assert_eq!(created.len(), 3 * ROUNDS);

    // Both ledgers, caught up, equal a replay of the log; so do the tables.
    a.catch_up().await;
    b.catch_up().await;
    let mut replay = Ledger::new();
    for event in &log {
        replay.apply(event);
    }
    for ledger in [&a.ledger, &b.ledger] {
        assert_eq!(ledger.last_seq(), replay.last_seq());
        assert_eq!(ledger.counts(), replay.counts());
        assert_eq!(
            ledger.queue_settings("Physician Line"),
            replay.queue_settings("Physician Line")
        );
    }
    for event in &log {
        if let Event::TicketCreated(t) = &event.event {
            let expected = replay.ticket_record(t.id);
            assert_eq!(a.ledger.ticket_record(t.id), expected);
            assert_eq!(b.ledger.ticket_record(t.id), expected);
            let stored = store.ticket(t.id).await.expect("ticket").expect("row");
            assert_eq!(stored.summary, t.summary, "summary kept");
            assert_eq!(Some(without_text(stored)), expected);
        }
    }
    for round in 0..ROUNDS {
        let call_id = format!("call-{round}");
        let expected = replay.call_record(&call_id, "Physician Line");
        assert!(expected.is_some());
        assert_eq!(a.ledger.call_record(&call_id, "Physician Line"), expected);
        assert_eq!(b.ledger.call_record(&call_id, "Physician Line"), expected);
        assert_eq!(
            store.call(&call_id, "Physician Line").await.expect("call"),
            expected
        );
    }
}
