//! The embedded SQLite backend (the default): one file, WAL journal,
//! `synchronous = FULL` so an acknowledged commit survives power loss, and
//! `BEGIN IMMEDIATE` so the writer takes the lock before it reads the
//! sequence counter (a deferred transaction could fail to upgrade).
//!
//! Rows are written as multi-row `INSERT … VALUES (?, …), …` statements
//! with anonymous placeholders and owned arguments: binding is most of the
//! cost of a bulk insert through sqlx, and `?` needs no name lookup while an
//! owned `String` moves into the arguments instead of being copied.
//!
//! The WAL is kept small by [`crate::wal`]: checkpoints on a background
//! task, and a ceiling a commit waits under.
//!
//! A full (or failing) disk is survivable: a commit that fails for the
//! disk's sake discards its connection (SQLite may have rolled the
//! transaction back already, which would leave sqlx's connection believing
//! it is still inside one), and a
//! database that cannot even be opened at start (no room for its `-shm`
//! file) is opened lazily: the store is returned not yet migrated, every
//! operation fails until the disk has room again, and the first one that
//! succeeds runs the migrations.

use crate::health::WriteHealth;
use crate::shared::{
    CALL_COLUMNS, CALL_UPSERT, Chunk, EVENT_COLUMNS, TICKET_COLUMNS, TICKET_UPSERT,
    backend_queries, encode_event, store_impl,
};
use crate::wal::{self, WalKeeper};
use sqlx::Arguments;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

backend_queries!(sqlx::Sqlite);

/// Page size of a new database file. Bulk inserts touch fewer pages (less
/// B-tree balancing, fewer WAL frame headers) than with 4 KiB pages; an
/// existing file keeps the size it was created with.
const PAGE_SIZE: u32 = 16_384;

/// A SQLite database file.
pub struct SqliteStore {
    pool: SqlitePool,
    /// Set once the migrations have run (see the module docs).
    migrated: tokio::sync::OnceCell<()>,
    health: WriteHealth,
    wal: Arc<WalKeeper>,
    checkpointer: tokio::task::JoinHandle<()>,
}

impl SqliteStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .page_size(PAGE_SIZE)
            // Checkpoints are `WalKeeper`'s (see `crate::wal`); SQLite's
            // own, in the committing connection, only backs it up.
            .pragma("wal_autocheckpoint", wal::BACKSTOP_FRAMES)
            .pragma("journal_size_limit", wal::KEPT_BYTES);
        let wal = Arc::new(WalKeeper::new(&options));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_lazy_with(options);
        let checkpointer = tokio::spawn({
            let (wal, pool) = (wal.clone(), pool.clone());
            async move { wal.run(pool).await }
        });
        let store = SqliteStore {
            pool,
            migrated: tokio::sync::OnceCell::new(),
            health: WriteHealth::default(),
            wal,
            checkpointer,
        };
        match store.migrate().await {
            // A database that opens but cannot take a write (a full disk
            // where SQLite's files already exist) is not ready: find out
            // now, not at the first client's write.
            Ok(()) => {
                if let Some(Err(error)) = store.probe_writes().await {
                    tracing::error!(%error, "the database cannot take writes; not ready until it can");
                    store.health.failed(&error);
                }
            }
            Err(error) if disk_trouble(&error) => {
                tracing::error!(
                    %error,
                    "the database cannot be opened (disk full or failing?); \
                     not ready until it can, retrying"
                );
                store.health.failed(&error);
            }
            Err(error) => return Err(error),
        }
        Ok(store)
    }

    /// Runs the migrations unless they have run.
    async fn migrate(&self) -> Result<(), StoreError> {
        self.migrated
            .get_or_try_init(|| async {
                sqlx::migrate!("../../migrations/sqlite")
                    .run(&self.pool)
                    .await
                    .map_err(StoreError::from)
            })
            .await
            .map(drop)
    }

    /// A connection to a migrated database.
    async fn acquire(&self) -> Result<PoolConnection<sqlx::Sqlite>, StoreError> {
        self.migrate().await?;
        Ok(self.pool.acquire().await?)
    }

    /// Stops the background checkpoints, then closes the pool.
    async fn close_backend(&self) {
        self.checkpointer.abort();
        self.wal.close().await;
        self.pool.close().await;
    }

    /// Wakes the checkpointer after a commit.
    fn committed(&self) {
        self.wal.committed();
    }

    /// Holds the WAL under its ceiling (see `crate::wal`).
    async fn before_commit(&self) {
        self.wal.hold_down().await;
    }

    /// Checks that a write can commit: a file opened read-only (its
    /// permissions, a read-only mount, `?mode=ro`) would otherwise serve
    /// reads while refusing every write. Takes the write lock and writes
    /// the counter row unchanged, then rolls back.
    async fn prepare_backend(&self) -> Result<(), StoreError> {
        self.migrate().await?;
        let probe = async {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query("UPDATE event_counter SET last_seq = last_seq WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            tx.rollback().await
        };
        match probe.await {
            Ok(()) => Ok(()),
            // SQLITE_READONLY and its extended codes.
            Err(sqlx::Error::Database(db))
                if db
                    .code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(|c| c & 0xff == 8) =>
            {
                Err(StoreError::ReadOnly(db.message().to_string()))
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.checkpointer.abort();
    }
}

impl SqliteStore {
    /// A SQLite file has one process writing it: nothing to follow.
    async fn listen_backend(&self) -> Result<Option<crate::LogListener>, StoreError> {
        Ok(None)
    }

    /// The only process is the leader.
    async fn lead_backend(&self) -> Result<Option<crate::Leadership>, StoreError> {
        Ok(Some(crate::Leadership::sole()))
    }
}

store_impl!(
    SqliteStore,
    "sqlite",
    begin = "BEGIN IMMEDIATE",
    lock = "",
    notify = None
);

/// Whether `error` is the disk's (full, or failing to read or write):
/// SQLite's `SQLITE_FULL` and `SQLITE_IOERR` with any extended code.
/// Those pass when the disk has room again; anything else at start (a bad
/// path, a newer schema) is a mistake to report and exit on.
fn disk_trouble(error: &StoreError) -> bool {
    const SQLITE_IOERR: i64 = 10;
    const SQLITE_FULL: i64 = 13;
    let sqlx_error = match error {
        StoreError::Database(e) | StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => e,
        StoreError::Migrate(sqlx::migrate::MigrateError::ExecuteMigration(e, _)) => e,
        _ => return false,
    };
    match sqlx_error {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i64>().ok())
            .is_some_and(|code| matches!(code & 0xff, SQLITE_IOERR | SQLITE_FULL)),
        _ => false,
    }
}

/// Rows of each kind in one statement execution: 1,000 tickets are 16,000
/// parameters, well under SQLite's 32,766 a statement.
const CHUNK_ROWS: usize = 1000;

/// One chunk's rows, ready to execute: up to four INSERT statements in one
/// SQL text (sqlx runs them in order, each taking its share of the
/// arguments), so that the whole chunk is one round trip to the
/// connection's worker thread.
struct Rows {
    sql: String,
    args: SqliteArguments<'static>,
}

/// Appends `INSERT INTO table (columns) VALUES (?, …), … tail;` for `rows`
/// rows.
fn push_insert(sql: &mut String, table: &str, columns: &str, rows: usize, tail: &str) {
    let width = columns.split(',').count();
    sql.push_str("INSERT INTO ");
    sql.push_str(table);
    sql.push_str(" (");
    sql.push_str(columns);
    sql.push_str(") VALUES ");
    for i in 0..rows {
        sql.push_str(if i == 0 { "(?" } else { ", (?" });
        for _ in 1..width {
            sql.push_str(", ?");
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql.push_str(";\n");
}

/// Appends one argument; encoding our plain values cannot fail, but an
/// error is reported rather than dropped.
fn add<T>(args: &mut SqliteArguments<'static>, value: T) -> Result<(), StoreError>
where
    T: sqlx::Encode<'static, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + 'static,
{
    args.add(value)
        .map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))
}

fn add_ticket(args: &mut SqliteArguments<'static>, t: TicketRecord) -> Result<(), StoreError> {
    add(args, to_i64(t.id))?;
    add(args, t.external_id)?;
    add(args, t.opened_at)?;
    add(args, t.site)?;
    add(args, t.department)?;
    add(args, t.application)?;
    add(args, t.category.as_str())?;
    add(args, i64::from(t.severity.level()))?;
    add(args, t.channel.as_str())?;
    add(args, t.summary)?;
    add(args, t.reporter_role)?;
    add(args, t.status.as_str())?;
    add(args, t.resolved_at)?;
    add(args, t.assignee)?;
    add(args, t.tier.map(i64::from))?;
    add(args, t.updated_at)
}

fn prepare_rows(chunk: Chunk<'_>) -> Result<Rows, StoreError> {
    let mut sql = String::new();
    let mut args = SqliteArguments::default();
    if !chunk.events.is_empty() {
        push_insert(&mut sql, "events", EVENT_COLUMNS, chunk.events.len(), "");
        for e in chunk.events {
            add(&mut args, to_i64(e.seq))?;
            add(&mut args, e.recorded_at)?;
            add(&mut args, e.event.kind())?;
            add(&mut args, encode_event(&e.event))?;
        }
    }
    if !chunk.created.is_empty() {
        push_insert(&mut sql, "tickets", TICKET_COLUMNS, chunk.created.len(), "");
        for t in chunk.created {
            add_ticket(&mut args, t)?;
        }
    }
    if !chunk.changed.is_empty() {
        push_insert(
            &mut sql,
            "tickets",
            TICKET_COLUMNS,
            chunk.changed.len(),
            TICKET_UPSERT,
        );
        for t in chunk.changed {
            add_ticket(&mut args, t)?;
        }
    }
    if !chunk.calls.is_empty() {
        push_insert(
            &mut sql,
            "calls",
            CALL_COLUMNS,
            chunk.calls.len(),
            CALL_UPSERT,
        );
        for c in chunk.calls {
            add(&mut args, c.call_id)?;
            add(&mut args, c.queue)?;
            add(&mut args, c.offered_at)?;
            add(&mut args, c.answered_at)?;
            add(&mut args, c.abandoned_at)?;
            add(&mut args, c.ended_at)?;
            add(&mut args, c.agent)?;
            add(&mut args, c.wrap_seconds)?;
        }
    }
    Ok(Rows { sql, args })
}

async fn execute_rows(conn: &mut DbConnection, rows: Rows) -> Result<(), StoreError> {
    sqlx::query_with(&rows.sql, rows.args)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
