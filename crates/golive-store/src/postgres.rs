//! The PostgreSQL backend (production). Several golive processes may share
//! one database: each commit locks the single `event_counter` row
//! (`SELECT … FOR UPDATE`), so sequence numbers are handed out gap-free and
//! transactions commit in sequence order; a writer that finds the counter
//! ahead of what it knows folds in the other writers' events first.
//!
//! Rows are written as `INSERT … SELECT * FROM UNNEST($1::bigint[], …)`:
//! one array parameter per column whatever the row count, so a bulk insert
//! is a handful of binds and every batch size shares one prepared statement
//! (a multi-row `VALUES` list is a new statement for each size, and costs a
//! parameter per value to bind and to plan). The inserts of one chunk
//! (events, new tickets, changed tickets, calls) are one statement of
//! data-modifying CTEs: one round trip, during which the next chunk is
//! prepared.

use crate::Leadership;
use crate::health::WriteHealth;
use crate::shared::{
    CALL_COLUMNS, CALL_UPSERT, Chunk, EVENT_COLUMNS, TICKET_COLUMNS, TICKET_UPSERT,
    backend_queries, encode_event, store_impl,
};
use sqlx::Connection;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

backend_queries!(sqlx::Postgres);

/// Rows of each kind in one statement: bounds the size of one message to
/// the server.
const CHUNK_ROWS: usize = 10_000;

/// `UNNEST($first::type[], …)` over consecutive parameters.
fn unnest(first: usize, types: &[&str]) -> String {
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", first + i))
        .collect();
    format!("UNNEST({})", arrays.join(", "))
}

const EVENT_TYPES: [&str; 4] = ["bigint", "bigint", "text", "text"];
const TICKET_TYPES: [&str; 16] = [
    "bigint", "text", "bigint", "text", "text", "text", "text", "bigint", "text", "text", "text",
    "text", "bigint", "text", "bigint", "bigint",
];
const CALL_TYPES: [&str; 8] = [
    "text", "text", "bigint", "bigint", "bigint", "bigint", "text", "float8",
];

/// A chunk's rows in one statement: the events, the tickets created in the
/// part (plain INSERT), the other tickets it changed (upsert) and calls,
/// as data-modifying CTEs (empty arrays insert nothing). One text for every
/// chunk, so it is prepared once per connection.
static WRITE_ROWS: LazyLock<String> = LazyLock::new(|| {
    let events = unnest(1, &EVENT_TYPES);
    let created = unnest(5, &TICKET_TYPES);
    let changed = unnest(21, &TICKET_TYPES);
    let calls = unnest(37, &CALL_TYPES);
    format!(
        "WITH new_events AS (INSERT INTO events ({EVENT_COLUMNS}) SELECT * FROM {events}), \
         created AS (INSERT INTO tickets ({TICKET_COLUMNS}) SELECT * FROM {created}), \
         changed AS (INSERT INTO tickets ({TICKET_COLUMNS}) SELECT * FROM {changed}{TICKET_UPSERT}) \
         INSERT INTO calls ({CALL_COLUMNS}) SELECT * FROM {calls}{CALL_UPSERT}"
    )
});

/// Longest a statement of the pool's connections may run
/// (`statement_timeout`): a stuck query ends in an error the writer and
/// the handlers report, instead of holding a request forever. Every
/// statement golive sends is far shorter (the largest writes 10,000 rows).
const STATEMENT_TIMEOUT: &str = "30s";
/// Longest a statement waits for a lock (`lock_timeout`), such as the log's
/// counter row another replica's writer holds.
const LOCK_TIMEOUT: &str = "10s";
/// Longest the migrations' own connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
    health: WriteHealth,
    /// Without the pool's timeouts: for the migrations.
    options: PgConnectOptions,
    migrated: AtomicBool,
}

impl PgStore {
    /// Connects and runs the migrations now (the CLI's commands).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let store = Self::open_lazy(url)?;
        store.prepare_backend().await?;
        Ok(store)
    }

    /// A store whose connections are opened on first use, so that a server
    /// can start (and answer its health probes) while PostgreSQL is down;
    /// `prepare` runs the migrations once it is reachable.
    pub fn open_lazy(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options.clone().options([
                ("statement_timeout", STATEMENT_TIMEOUT),
                ("lock_timeout", LOCK_TIMEOUT),
            ]));
        Ok(PgStore {
            pool,
            health: WriteHealth::default(),
            options,
            migrated: AtomicBool::new(false),
        })
    }

    async fn close_backend(&self) {
        self.pool.close().await;
    }

    /// Migrations (once, on a connection of their own without the pool's
    /// statement timeout: a migration of a large table may take longer
    /// than any request should), then a check that the server takes
    /// writes (a standby, or `default_transaction_read_only`, does not).
    async fn prepare_backend(&self) -> Result<(), StoreError> {
        if !self.migrated.load(Ordering::Acquire) {
            let mut conn =
                tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&self.options))
                    .await
                    .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))??;
            sqlx::migrate!("../../migrations/postgres")
                .run_direct(&mut conn)
                .await?;
            let _ = conn.close().await;
            self.migrated.store(true, Ordering::Release);
        }
        let read_only: String = sqlx::query_scalar("SHOW transaction_read_only")
            .fetch_one(&self.pool)
            .await?;
        if read_only == "on" {
            return Err(StoreError::ReadOnly(
                "the PostgreSQL server is read-only (a standby, or default_transaction_read_only)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// A pooled connection (the pool pings it first, so one left broken by
    /// a server restart is replaced rather than handed out).
    async fn acquire(&self) -> Result<PoolConnection<sqlx::Postgres>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// PostgreSQL checkpoints on its own: nothing to do around a commit.
    fn committed(&self) {}

    async fn before_commit(&self) {}

    /// A listener on the log's channel, on a connection of its own (named
    /// [`LISTENER_APPLICATION`] in `pg_stat_activity`) that it opens again
    /// by itself when lost.
    async fn listen_backend(&self) -> Result<Option<LogListener>, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(self.options.clone().application_name(LISTENER_APPLICATION));
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(LOG_CHANNEL).await?;
        Ok(Some(LogListener { listener }))
    }

    /// The leader's advisory lock, on a connection of its own: held for as
    /// long as that session lives, released by PostgreSQL when it ends
    /// (the process died, or its connection was cut).
    async fn lead_backend(&self) -> Result<Option<Leadership>, StoreError> {
        let mut conn =
            tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&self.options))
                .await
                .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))??;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut conn)
            .await?;
        if got {
            Ok(Some(Leadership::session(conn)))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }
}

/// The channel every commit notifies, with the log's new last sequence
/// number as payload.
pub const LOG_CHANNEL: &str = "golive_log";

/// `application_name` of the listener's connection (what an operator, or
/// a test, finds it by in `pg_stat_activity`).
pub const LISTENER_APPLICATION: &str = "golive-log-listener";

/// The advisory lock key of the leader (`golive` in ASCII): one holder
/// per database.
const LEADER_LOCK: i64 = 0x676f_6c69_7665;

/// Follows the commits of every process on the database: a `LISTEN` on
/// [`LOG_CHANNEL`] through sqlx's `PgListener`.
pub struct LogListener {
    listener: PgListener,
}

/// What the listener heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogNotice {
    /// A commit made the log's last sequence number this.
    Committed(u64),
    /// The connection was lost (and opened again, if it could be):
    /// notifications sent meanwhile are gone, so the caller must read the
    /// log to catch up.
    Lost,
}

impl LogListener {
    /// Waits for the next notice. An error means the connection could not
    /// be used or opened again; calling again retries.
    pub async fn next(&mut self) -> Result<LogNotice, StoreError> {
        match self.listener.try_recv().await? {
            Some(notification) => Ok(LogNotice::Committed(parse_seq(notification.payload()))),
            None => Ok(LogNotice::Lost),
        }
    }

    /// A notification already received, without waiting (to take a burst
    /// of them at once).
    pub fn next_buffered(&mut self) -> Option<u64> {
        self.listener
            .next_buffered()
            .map(|notification| parse_seq(notification.payload()))
    }
}

/// A payload's sequence number; one that does not parse (never sent by
/// golive) reads as "far ahead", so it causes a catch-up rather than being
/// ignored.
fn parse_seq(payload: &str) -> u64 {
    payload.parse().unwrap_or(u64::MAX)
}

store_impl!(
    PgStore,
    "postgres",
    begin = "BEGIN",
    lock = " FOR UPDATE",
    notify = Some("SELECT pg_notify('golive_log', $1)")
);

/// One array per column of a chunk's events.
#[derive(Default)]
struct EventColumns {
    seq: Vec<i64>,
    recorded_at: Vec<i64>,
    kind: Vec<&'static str>,
    payload: Vec<String>,
}

/// One array per column of a chunk of ticket rows.
#[derive(Default)]
struct TicketColumns {
    id: Vec<i64>,
    external_id: Vec<Option<String>>,
    opened_at: Vec<i64>,
    site: Vec<String>,
    department: Vec<String>,
    application: Vec<String>,
    category: Vec<&'static str>,
    severity: Vec<i64>,
    channel: Vec<&'static str>,
    summary: Vec<Option<String>>,
    reporter_role: Vec<Option<String>>,
    status: Vec<&'static str>,
    resolved_at: Vec<Option<i64>>,
    assignee: Vec<Option<String>>,
    tier: Vec<Option<i64>>,
    updated_at: Vec<i64>,
}

impl TicketColumns {
    fn from_rows(rows: Vec<TicketRecord>) -> Self {
        let mut c = TicketColumns::default();
        for t in rows {
            c.id.push(to_i64(t.id));
            c.external_id.push(t.external_id);
            c.opened_at.push(t.opened_at);
            c.site.push(t.site);
            c.department.push(t.department);
            c.application.push(t.application);
            c.category.push(t.category.as_str());
            c.severity.push(i64::from(t.severity.level()));
            c.channel.push(t.channel.as_str());
            c.summary.push(t.summary);
            c.reporter_role.push(t.reporter_role);
            c.status.push(t.status.as_str());
            c.resolved_at.push(t.resolved_at);
            c.assignee.push(t.assignee);
            c.tier.push(t.tier.map(i64::from));
            c.updated_at.push(t.updated_at);
        }
        c
    }

    fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(self.id)
            .bind(self.external_id)
            .bind(self.opened_at)
            .bind(self.site)
            .bind(self.department)
            .bind(self.application)
            .bind(self.category)
            .bind(self.severity)
            .bind(self.channel)
            .bind(self.summary)
            .bind(self.reporter_role)
            .bind(self.status)
            .bind(self.resolved_at)
            .bind(self.assignee)
            .bind(self.tier)
            .bind(self.updated_at)
    }
}

/// One array per column of a chunk of call rows.
#[derive(Default)]
struct CallColumns {
    call_id: Vec<String>,
    queue: Vec<String>,
    offered_at: Vec<Option<i64>>,
    answered_at: Vec<Option<i64>>,
    abandoned_at: Vec<Option<i64>>,
    ended_at: Vec<Option<i64>>,
    agent: Vec<Option<String>>,
    wrap_seconds: Vec<Option<f64>>,
}

/// One chunk's rows as column arrays, ready to bind.
struct Rows {
    events: EventColumns,
    created: TicketColumns,
    changed: TicketColumns,
    calls: CallColumns,
}

fn prepare_rows(chunk: Chunk<'_>) -> Result<Rows, StoreError> {
    let mut events = EventColumns::default();
    for e in chunk.events {
        events.seq.push(to_i64(e.seq));
        events.recorded_at.push(e.recorded_at);
        events.kind.push(e.event.kind());
        events.payload.push(encode_event(&e.event));
    }
    let mut calls = CallColumns::default();
    for c in chunk.calls {
        calls.call_id.push(c.call_id);
        calls.queue.push(c.queue);
        calls.offered_at.push(c.offered_at);
        calls.answered_at.push(c.answered_at);
        calls.abandoned_at.push(c.abandoned_at);
        calls.ended_at.push(c.ended_at);
        calls.agent.push(c.agent);
        calls.wrap_seconds.push(c.wrap_seconds);
    }
    Ok(Rows {
        events,
        created: TicketColumns::from_rows(chunk.created),
        changed: TicketColumns::from_rows(chunk.changed),
        calls,
    })
}

async fn execute_rows(conn: &mut DbConnection, rows: Rows) -> Result<(), StoreError> {
    let query = sqlx::query(&WRITE_ROWS)
        .bind(rows.events.seq)
        .bind(rows.events.recorded_at)
        .bind(rows.events.kind)
        .bind(rows.events.payload);
    let query = rows.changed.bind(rows.created.bind(query));
    let calls = rows.calls;
    query
        .bind(calls.call_id)
        .bind(calls.queue)
        .bind(calls.offered_at)
        .bind(calls.answered_at)
        .bind(calls.abandoned_at)
        .bind(calls.ended_at)
        .bind(calls.agent)
        .bind(calls.wrap_seconds)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
