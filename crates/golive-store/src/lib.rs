//! golive-store: the durable event log and its projections.
//!
//! One trait, [`Store`], with a SQLite implementation (the embedded
//! default) and a PostgreSQL one (production), both through sqlx and both
//! held to one conformance suite. The log is append-only with gap-free
//! sequence numbers; `tickets`, `calls` and `queues` are projections written
//! in the same transaction as the events they come from.

mod error;
mod health;
mod postgres;
mod shared;
mod sqlite;
pub mod token;
mod wal;

pub use error::StoreError;
pub use health::WriteFailure;
pub use postgres::{LISTENER_APPLICATION, LOG_CHANNEL, LogListener, LogNotice};

use async_trait::async_trait;
use golive_core::event::{RecordedEvent, TicketId};
use golive_core::ledger::Rows;
use golive_core::model::{QueueSettings, Role, TicketStatus};
use golive_core::record::{CallRecord, TicketRecord};
use golive_core::time::Millis;
use std::sync::Arc;

/// What one commit writes: the new events and the projection rows they
/// touched (full rows; a ticket's summary only when it was created in this
/// batch, since only then is it written).
#[derive(Clone, Debug, Default)]
pub struct CommitBatch {
    pub events: Vec<RecordedEvent>,
    pub tickets: Vec<TicketRecord>,
    pub calls: Vec<CallRecord>,
    pub queues: Vec<(String, QueueSettings)>,
}

/// Builds a batch inside the commit, after the writer holds the log's lock.
/// It receives the events other writers committed since `known_last` (to
/// fold in before deciding) and returns what to write, numbered from the
/// last of those + 1 (or, for [`Store::commit_parts`], one part of it).
pub type BatchBuilder<'a> = dyn FnMut(Vec<RecordedEvent>) -> CommitBatch + Send + 'a;

/// The leadership [`Store::try_lead`] hands out, held until dropped.
pub struct Leadership {
    /// The session holding the advisory lock; `None` when the process is
    /// the only one (SQLite).
    session: Option<sqlx::PgConnection>,
}

impl Leadership {
    fn sole() -> Self {
        Leadership { session: None }
    }

    fn session(conn: sqlx::PgConnection) -> Self {
        Leadership {
            session: Some(conn),
        }
    }

    /// Whether it is still held: its session answers (a session-level
    /// lock lasts as long as the session does).
    pub async fn holds(&mut self) -> bool {
        match &mut self.session {
            None => true,
            Some(conn) => sqlx::Connection::ping(conn).await.is_ok(),
        }
    }
}

/// A checkpoint of the in-memory state, as stored (`checkpoints` table).
/// The store keeps the bytes without reading them: what they hold and
/// when they can be trusted is the server's business.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredCheckpoint {
    /// The log position it was taken at.
    pub seq: u64,
    /// What wrote it (format and binary); a reader checks it first.
    pub format: String,
    pub created_at: Millis,
    pub body: Vec<u8>,
}

/// Checkpoints kept: the newest two (by log position), so that one is
/// always whole while the next is written.
pub const CHECKPOINTS_KEPT: i64 = 2;

/// Filters for listing tickets, newest first.
#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub site: Option<String>,
    pub application: Option<String>,
    pub assignee: Option<String>,
    /// Only tickets with an id below this (the previous page's last id).
    pub before_id: Option<TicketId>,
    pub limit: u32,
}

/// A stored token, without its secret. Serialized as the API shows it
/// (times as RFC 3339, like every timestamp in the API).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    #[serde(serialize_with = "golive_core::time::rfc3339::serialize")]
    pub created_at: Millis,
    #[serde(serialize_with = "golive_core::time::rfc3339::option::serialize")]
    pub revoked_at: Option<Millis>,
}

/// The durable side of golive. See the crate documentation.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Cheap round trip to the database (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Why writes cannot commit now: `Some` from a failed commit until one
    /// succeeds. While writes fail, this runs a write probe (a write
    /// transaction that changes nothing) at most once a second, so it turns
    /// `None` once the database takes writes again even if no client
    /// writes meanwhile (readiness).
    async fn write_failure(&self) -> Option<WriteFailure>;
    /// Makes the database ready to serve writes; the server retries it
    /// until it succeeds and is not ready before. Runs the migrations where
    /// they have not run yet (a PostgreSQL server may come up after
    /// golive), and checks that a write can commit: a read-only SQLite file
    /// or a PostgreSQL standby fails with [`StoreError::ReadOnly`] instead
    /// of serving reads while every write fails.
    async fn prepare(&self) -> Result<(), StoreError>;

    /// Closes every connection, waiting for those in use to be returned
    /// (a graceful stop, after the last write). On SQLite the last close
    /// folds the WAL into the database file and removes the WAL and
    /// shared-memory files, so a stopped service leaves one
    /// self-contained file.
    async fn close(&self);

    /// Follows commits made by every process on the database (each commit
    /// notifies, inside its transaction). `None` where one process alone
    /// writes the log (SQLite), so there is nothing to follow.
    async fn listen(&self) -> Result<Option<LogListener>, StoreError>;

    /// Becomes the leader if no other process is: one process per
    /// database at a time holds it (a PostgreSQL advisory lock on a
    /// session of its own, released when that session ends). `None` while
    /// another holds it. With SQLite the only process always leads.
    async fn try_lead(&self) -> Result<Option<Leadership>, StoreError>;

    /// Takes the log's write lock, hands `build` the events committed by
    /// others since `known_last`, writes what it returns and commits.
    /// Returns the last sequence number now in the log. Nothing of the
    /// batch is visible unless this returns `Ok`.
    async fn commit(
        &self,
        known_last: u64,
        build: &mut BatchBuilder<'_>,
    ) -> Result<u64, StoreError> {
        self.commit_events(known_last, build)
            .await
            .map(|(last, _)| last)
    }

    /// [`Store::commit`], handing back the batch's events once they are
    /// committed, so that a caller who publishes them (the server's writer)
    /// moves them into the batch instead of keeping a copy.
    async fn commit_events(
        &self,
        known_last: u64,
        build: &mut BatchBuilder<'_>,
    ) -> Result<(u64, Vec<RecordedEvent>), StoreError> {
        let mut built = false;
        self.commit_parts(known_last, &mut |missed| {
            if std::mem::replace(&mut built, true) {
                CommitBatch::default()
            } else {
                build(missed)
            }
        })
        .await
    }

    /// [`Store::commit_events`] for a batch built in parts, all in one
    /// transaction: `build` is first called with the events other writers
    /// committed since `known_last`, then again with none after each part
    /// it returns, until it returns a part without events. The database
    /// writes one part while the next is being built, so deciding a large
    /// batch overlaps with writing it. Each part's events continue the
    /// previous part's sequence numbers; its rows are the projection rows
    /// as they stand after that part (a row may be written by several parts
    /// and ends up as the last one wrote it).
    async fn commit_parts(
        &self,
        known_last: u64,
        build: &mut BatchBuilder<'_>,
    ) -> Result<(u64, Vec<RecordedEvent>), StoreError>;

    /// Events with `seq > after`, in order, at most `limit`.
    async fn events_after(&self, after: u64, limit: u32) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The last committed sequence number.
    async fn last_seq(&self) -> Result<u64, StoreError>;

    async fn ticket(&self, id: TicketId) -> Result<Option<TicketRecord>, StoreError>;

    /// The ticket with this `external_id`, if any.
    async fn ticket_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<TicketRecord>, StoreError>;

    async fn tickets(&self, filter: &TicketFilter) -> Result<Vec<TicketRecord>, StoreError>;

    /// The projection row of the call leg (`call_id`, `queue`).
    async fn call(&self, call_id: &str, queue: &str) -> Result<Option<CallRecord>, StoreError>;

    /// The saved position of polling connector `name` (opaque text the
    /// connector wrote), if any.
    async fn connector_cursor(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Saves polling connector `name`'s position, replacing the previous.
    async fn set_connector_cursor(
        &self,
        name: &str,
        cursor: &str,
        now: Millis,
    ) -> Result<(), StoreError>;

    /// Saves a checkpoint and drops all but the newest
    /// [`CHECKPOINTS_KEPT`] (by log position), in one transaction.
    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<(), StoreError>;

    /// The checkpoint at the furthest log position, whichever process
    /// wrote it.
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;

    /// Stores a new token by its hash; returns its id.
    async fn create_token(
        &self,
        name: &str,
        role: Role,
        token_hash: &str,
        now: Millis,
    ) -> Result<i64, StoreError>;

    /// The role of an unrevoked token with this hash.
    async fn token_role(&self, token_hash: &str) -> Result<Option<Role>, StoreError>;

    /// The name of an unrevoked token with this hash.
    async fn token_name(&self, token_hash: &str) -> Result<Option<String>, StoreError>;

    async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;

    /// Revokes a token by id; false when there is no such active token.
    async fn revoke_token(&self, id: i64, now: Millis) -> Result<bool, StoreError>;

    /// How many tokens have ever been revoked. Revocation is permanent and
    /// tokens are never deleted, so this only grows: a change means a new
    /// revocation, whichever process made it (a cheap poll; the tokens
    /// table holds the tokens admins made, hundreds of rows at most).
    async fn revoked_token_count(&self) -> Result<u64, StoreError>;

    /// The hashes of every revoked token.
    async fn revoked_token_hashes(&self) -> Result<Vec<String>, StoreError>;
}

/// Opens the database named by `url` (`sqlite://…` or `postgres://…`),
/// creating a SQLite file if missing, and runs the migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redact(url)))
    }
}

/// Like [`connect`], for a server that must start while its database may
/// be down: a PostgreSQL pool connects on first use and
/// [`Store::prepare`] (which the server retries) runs the migrations. A
/// SQLite file is local, so it is opened and migrated at once, as by
/// [`connect`].
pub async fn connect_lazy(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open_lazy(url)?))
    } else {
        connect(url).await
    }
}

/// A database URL with any password replaced, safe for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}://{}:***{}",
                    &url[..scheme_end],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl CommitBatch {
    /// The batch of `events` with the projection rows they touched (the
    /// writer's [`golive_core::ledger::Rows`]).
    pub fn new(rows: Rows, events: Vec<RecordedEvent>) -> CommitBatch {
        CommitBatch {
            events,
            tickets: rows.tickets,
            calls: rows.calls,
            queues: rows.queues,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://golive.db"), "sqlite://golive.db");
    }
}
