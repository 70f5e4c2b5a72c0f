//! SQL shared by both backends.
//!
//! The statements are the same text for SQLite and PostgreSQL (`$n`
//! placeholders work in both), but sqlx types are per database, so the
//! functions are stamped out once per backend by `backend_queries!` instead
//! of written twice. The one exception is how rows get in: each backend has
//! its fastest multi-row form (`prepare_rows` and `execute_rows` in
//! sqlite.rs and postgres.rs), with the upsert rules shared here
//! (`TICKET_UPSERT`, `CALL_UPSERT`), and the commit loop that feeds them
//! (`write_parts`) is shared.

use crate::{CommitBatch, StoreError};
use golive_core::event::{Event, RecordedEvent, TicketId};
use golive_core::model::{Category, Channel, Role, Severity, TicketStatus};
use golive_core::record::{CallRecord, TicketRecord};
use std::collections::HashSet;

pub(crate) const EVENT_COLUMNS: &str = "seq, recorded_at, kind, payload";

pub(crate) const TICKET_COLUMNS: &str = "id, external_id, opened_at, site, department, application, category, \
     severity, channel, summary, reporter_role, status, resolved_at, assignee, tier, updated_at";

/// Text given at creation (summary, reporter role), the ticket's identity,
/// opening and channel never change after the first insert; its status,
/// assignment and classification (reclassification) do.
pub(crate) const TICKET_UPSERT: &str = " ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
     resolved_at = excluded.resolved_at, assignee = excluded.assignee, tier = excluded.tier, \
     updated_at = excluded.updated_at, site = excluded.site, department = excluded.department, \
     application = excluded.application, category = excluded.category, \
     severity = excluded.severity";

pub(crate) const CALL_COLUMNS: &str =
    "call_id, queue, offered_at, answered_at, abandoned_at, ended_at, agent, wrap_seconds";

/// One row per call leg (`call_id`, `queue`). Merge: what a leg's events
/// recorded is never unset, so a row that does not carry a field keeps the
/// stored value.
pub(crate) const CALL_UPSERT: &str = " ON CONFLICT (call_id, queue) DO UPDATE SET \
     offered_at = COALESCE(excluded.offered_at, calls.offered_at), \
     answered_at = COALESCE(excluded.answered_at, calls.answered_at), \
     abandoned_at = COALESCE(excluded.abandoned_at, calls.abandoned_at), \
     ended_at = COALESCE(excluded.ended_at, calls.ended_at), \
     agent = COALESCE(excluded.agent, calls.agent), \
     wrap_seconds = COALESCE(excluded.wrap_seconds, calls.wrap_seconds)";

pub(crate) const SELECT_TICKET: &str = "SELECT id, external_id, opened_at, site, department, application, category, \
     severity, channel, summary, reporter_role, status, resolved_at, assignee, tier, updated_at FROM tickets";

pub(crate) const SELECT_CALL: &str = "SELECT call_id, queue, offered_at, answered_at, abandoned_at, ended_at, agent, \
     wrap_seconds FROM calls";

pub(crate) fn decode_event(
    seq: i64,
    recorded_at: i64,
    payload: &str,
) -> Result<RecordedEvent, StoreError> {
    let seq = u64::try_from(seq).map_err(|_| StoreError::Corrupt {
        seq: 0,
        reason: format!("negative seq {seq}"),
    })?;
    let event: Event = serde_json::from_str(payload).map_err(|e| StoreError::Corrupt {
        seq,
        reason: e.to_string(),
    })?;
    Ok(RecordedEvent {
        seq,
        recorded_at,
        event,
    })
}

pub(crate) fn encode_event(event: &Event) -> String {
    // Serializing our own plain types cannot fail (no maps with non-string
    // keys, no failing Serialize impls); fall back to an empty object to keep
    // this infallible rather than panicking.
    serde_json::to_string(event).unwrap_or_else(|_| String::from("{}"))
}

pub(crate) fn parse_category(text: &str) -> Result<Category, StoreError> {
    Category::parse(text).ok_or_else(|| StoreError::BadRow(format!("unknown category {text:?}")))
}

pub(crate) fn parse_channel(text: &str) -> Result<Channel, StoreError> {
    Channel::parse(text).ok_or_else(|| StoreError::BadRow(format!("unknown channel {text:?}")))
}

pub(crate) fn parse_status(text: &str) -> Result<TicketStatus, StoreError> {
    TicketStatus::parse(text).ok_or_else(|| StoreError::BadRow(format!("unknown status {text:?}")))
}

pub(crate) fn parse_severity(level: i64) -> Result<Severity, StoreError> {
    u8::try_from(level)
        .ok()
        .and_then(Severity::new)
        .ok_or_else(|| StoreError::BadRow(format!("bad severity {level}")))
}

pub(crate) fn parse_role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| StoreError::BadRow(format!("unknown role {text:?}")))
}

pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Refuses events that do not continue the log from `last` one by one: the
/// writer numbers events from the log's last, so anything else is a bug
/// that must not reach the disk as a gap or a duplicate.
pub(crate) fn check_sequence(events: &[RecordedEvent], last: u64) -> Result<(), StoreError> {
    for (offset, e) in events.iter().enumerate() {
        let expected = last + 1 + offset as u64;
        if e.seq != expected {
            return Err(StoreError::SequenceGap {
                expected,
                found: e.seq,
            });
        }
    }
    Ok(())
}

/// The rows of one statement execution: up to `CHUNK_ROWS` of each kind.
pub(crate) struct Chunk<'e> {
    pub events: &'e [RecordedEvent],
    pub created: Vec<TicketRecord>,
    pub changed: Vec<TicketRecord>,
    pub calls: Vec<CallRecord>,
}

/// One part of a commit (see [`crate::Store::commit_parts`]), checked
/// and cut into [`Chunk`]s of at most `rows` rows of each kind.
pub(crate) struct Part {
    rows: usize,
    /// The log's last sequence number once this part is written.
    pub last: u64,
    events: Vec<RecordedEvent>,
    next_event: usize,
    created: std::vec::IntoIter<TicketRecord>,
    changed: std::vec::IntoIter<TicketRecord>,
    calls: std::vec::IntoIter<CallRecord>,
    pub queues: Vec<(String, golive_core::model::QueueSettings)>,
}

impl Part {
    /// The part that continues the log after `last`, or `None` for a batch
    /// without events (the end of the parts).
    pub(crate) fn start(
        batch: CommitBatch,
        last: u64,
        rows: usize,
    ) -> Result<Option<Part>, StoreError> {
        if batch.events.is_empty() {
            return Ok(None);
        }
        check_sequence(&batch.events, last)?;
        // A ticket whose creation is among this part's events is new: a
        // plain INSERT (an upsert's conflict check costs about as much as
        // the insert itself, and a conflict there would mean a corrupt
        // table, which must fail the commit rather than be overwritten).
        // Rows of older tickets are upserts (`TICKET_UPSERT`). The events
        // say which is which: nothing here assumes how ids are made.
        let created_here: HashSet<TicketId> = batch
            .events
            .iter()
            .filter_map(|e| match &e.event {
                Event::TicketCreated(created) => Some(created.id),
                _ => None,
            })
            .collect();
        let (created, changed): (Vec<TicketRecord>, Vec<TicketRecord>) = batch
            .tickets
            .into_iter()
            .partition(|t| created_here.contains(&t.id));
        Ok(Some(Part {
            rows,
            last: last + batch.events.len() as u64,
            events: batch.events,
            next_event: 0,
            created: created.into_iter(),
            changed: changed.into_iter(),
            calls: batch.calls.into_iter(),
            queues: batch.queues,
        }))
    }

    /// The next chunk of rows, or `None` once all are handed out.
    pub(crate) fn next_chunk(&mut self) -> Option<Chunk<'_>> {
        let end = (self.next_event + self.rows).min(self.events.len());
        let events = &self.events[self.next_event..end];
        self.next_event = end;
        let chunk = Chunk {
            events,
            created: self.created.by_ref().take(self.rows).collect(),
            changed: self.changed.by_ref().take(self.rows).collect(),
            calls: self.calls.by_ref().take(self.rows).collect(),
        };
        let empty = chunk.events.is_empty()
            && chunk.created.is_empty()
            && chunk.changed.is_empty()
            && chunk.calls.is_empty();
        (!empty).then_some(chunk)
    }

    pub(crate) fn into_events(self) -> Vec<RecordedEvent> {
        self.events
    }
}

/// Generates the backend's query functions for the sqlx database `$db`.
macro_rules! backend_queries {
    ($db:ty) => {
        use crate::shared::*;
        use crate::{CommitBatch, StoreError, TicketFilter, TokenInfo};
        use golive_core::event::{RecordedEvent, TicketId};
        use golive_core::record::{CallRecord, TicketRecord};
        use golive_core::time::Millis;
        use sqlx::{QueryBuilder, Row};

        type DbRow = <$db as sqlx::Database>::Row;
        type DbConnection = <$db as sqlx::Database>::Connection;

        pub(crate) async fn read_counter(conn: &mut DbConnection, lock_clause: &str) -> Result<u64, StoreError> {
            let sql = format!("SELECT last_seq FROM event_counter WHERE id = 1{lock_clause}");
            let last: i64 = sqlx::query_scalar(&sql).fetch_one(&mut *conn).await?;
            Ok(to_u64(last))
        }

        pub(crate) async fn events_after(
            conn: &mut DbConnection,
            after: u64,
            limit: u32,
        ) -> Result<Vec<RecordedEvent>, StoreError> {
            let rows = sqlx::query("SELECT seq, recorded_at, payload FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(to_i64(after))
                .bind(i64::from(limit))
                .fetch_all(&mut *conn)
                .await?;
            rows.iter()
                .map(|row| {
                    decode_event(row.try_get("seq")?, row.try_get("recorded_at")?, row.try_get::<&str, _>("payload")?)
                })
                .collect()
        }

        /// Writes what `build` returns, part after part, inside the caller's
        /// transaction, after checking that each part continues the log
        /// without a gap. Rows go in as the backend's multi-row statements
        /// (`prepare_rows`, `execute_rows` in sqlite.rs and postgres.rs),
        /// a chunk at a time, and the next chunk's arguments (or, after a
        /// part's last chunk, the next part and its first chunk's
        /// arguments) are built while the database executes the current
        /// one. Parts are taken by value so that row text moves into the
        /// statements' arguments instead of being copied; the events are
        /// handed back.
        pub(crate) async fn write_parts(
            conn: &mut DbConnection,
            last_in_log: u64,
            first_part: CommitBatch,
            build: &mut crate::BatchBuilder<'_>,
        ) -> Result<(u64, Vec<RecordedEvent>), StoreError> {
            /// What was built while a chunk executed.
            enum Ahead<R> {
                Chunk(R),
                Part(Option<Part>, Option<R>),
            }
            let mut last = last_in_log;
            let mut written: Vec<RecordedEvent> = Vec::new();
            let mut current = Part::start(first_part, last, CHUNK_ROWS)?;
            let mut rows = match current.as_mut() {
                Some(part) => part.next_chunk().map(prepare_rows).transpose()?,
                None => None,
            };
            while let (Some(part), Some(chunk_rows)) = (current.as_mut(), rows.take()) {
                let execute = execute_rows(&mut *conn, chunk_rows);
                let ahead = async {
                    if let Some(chunk) = part.next_chunk() {
                        return Ok(Ahead::Chunk(prepare_rows(chunk)?));
                    }
                    let mut next = Part::start(build(Vec::new()), part.last, CHUNK_ROWS)?;
                    let first = match next.as_mut() {
                        Some(next) => next.next_chunk().map(prepare_rows).transpose()?,
                        None => None,
                    };
                    Ok::<_, StoreError>(Ahead::Part(next, first))
                };
                let (executed, ahead) = futures::join!(execute, ahead);
                executed?;
                match ahead? {
                    Ahead::Chunk(next_rows) => rows = Some(next_rows),
                    Ahead::Part(next, first) => {
                        if let Some(done) = std::mem::replace(&mut current, next) {
                            write_queues(&mut *conn, &done.queues).await?;
                            last = done.last;
                            let mut events = done.into_events();
                            if written.is_empty() {
                                written = events;
                            } else {
                                written.append(&mut events);
                            }
                        }
                        rows = first;
                    }
                }
            }
            if last > last_in_log {
                sqlx::query("UPDATE event_counter SET last_seq = $1 WHERE id = 1")
                    .bind(to_i64(last))
                    .execute(&mut *conn)
                    .await?;
            }
            Ok((last, written))
        }

        /// One commit on `conn`: takes the log's write lock (the
        /// transaction's `begin` statement and the counter read's `lock`
        /// clause), hands `build` what others committed since
        /// `known_last`, writes its parts, runs `notify` (bound to the new
        /// last sequence number, as text) when it wrote any, and commits. Returns the log's
        /// last sequence number and the events written.
        pub(crate) async fn commit_on(
            conn: &mut DbConnection,
            begin: &'static str,
            lock: &str,
            notify: Option<&'static str>,
            known_last: u64,
            build: &mut crate::BatchBuilder<'_>,
        ) -> Result<(u64, Vec<RecordedEvent>), StoreError> {
            let mut tx = sqlx::Connection::begin_with(conn, begin).await?;
            let last_in_log = read_counter(&mut tx, lock).await?;
            let mut missed = Vec::new();
            let mut cursor = known_last;
            while cursor < last_in_log {
                let page = events_after(&mut tx, cursor, 10_000).await?;
                let Some(last) = page.last() else { break };
                cursor = last.seq;
                missed.extend(page);
            }
            let first_part = build(missed);
            let written = write_parts(&mut tx, last_in_log, first_part, build).await?;
            if let Some(notify) = notify.filter(|_| written.0 > last_in_log) {
                // Delivered by the database at commit, and only if it
                // commits: listeners never hear of a rolled-back batch.
                sqlx::query(notify)
                    .bind(written.0.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(written)
        }

        /// A write transaction that changes nothing a reader could see but
        /// must reach the disk like any commit, so it fails while commits
        /// would: the counter goes up and back down. (Setting it to itself
        /// would not do: SQLite skips an update that leaves a row as it was,
        /// and commits nothing.)
        pub(crate) async fn probe_write(conn: &mut DbConnection, begin: &'static str) -> Result<(), StoreError> {
            let mut tx = sqlx::Connection::begin_with(conn, begin).await?;
            for step in ["last_seq + 1", "last_seq - 1"] {
                sqlx::query(&format!("UPDATE event_counter SET last_seq = {step} WHERE id = 1"))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn write_queues(
            conn: &mut DbConnection,
            queues: &[(String, golive_core::model::QueueSettings)],
        ) -> Result<(), StoreError> {
            for (name, s) in queues {
                sqlx::query(
                    "INSERT INTO queues (name, answer_target_seconds, service_level_target, max_occupancy, shrinkage, \
                     agents_staffed) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET \
                     answer_target_seconds = excluded.answer_target_seconds, \
                     service_level_target = excluded.service_level_target, max_occupancy = excluded.max_occupancy, \
                     shrinkage = excluded.shrinkage, agents_staffed = excluded.agents_staffed",
                )
                .bind(name.as_str())
                .bind(s.answer_target_seconds)
                .bind(s.service_level_target)
                .bind(s.max_occupancy)
                .bind(s.shrinkage)
                .bind(i64::from(s.agents_staffed))
                .execute(&mut *conn)
                .await?;
            }
            Ok(())
        }

        fn ticket_from_row(row: &DbRow) -> Result<TicketRecord, StoreError> {
            Ok(TicketRecord {
                id: to_u64(row.try_get("id")?),
                external_id: row.try_get("external_id")?,
                opened_at: row.try_get("opened_at")?,
                site: row.try_get("site")?,
                department: row.try_get("department")?,
                application: row.try_get("application")?,
                category: parse_category(row.try_get("category")?)?,
                severity: parse_severity(row.try_get("severity")?)?,
                channel: parse_channel(row.try_get("channel")?)?,
                summary: row.try_get("summary")?,
                reporter_role: row.try_get("reporter_role")?,
                status: parse_status(row.try_get("status")?)?,
                resolved_at: row.try_get("resolved_at")?,
                assignee: row.try_get("assignee")?,
                tier: row.try_get::<Option<i64>, _>("tier")?.and_then(|t| u8::try_from(t).ok()),
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn call_from_row(row: &DbRow) -> Result<CallRecord, StoreError> {
            Ok(CallRecord {
                call_id: row.try_get("call_id")?,
                queue: row.try_get("queue")?,
                offered_at: row.try_get("offered_at")?,
                answered_at: row.try_get("answered_at")?,
                abandoned_at: row.try_get("abandoned_at")?,
                ended_at: row.try_get("ended_at")?,
                agent: row.try_get("agent")?,
                wrap_seconds: row.try_get("wrap_seconds")?,
            })
        }

        pub(crate) async fn ticket(conn: &mut DbConnection, id: TicketId) -> Result<Option<TicketRecord>, StoreError> {
            let sql = format!("{SELECT_TICKET} WHERE id = $1");
            let row = sqlx::query(&sql).bind(to_i64(id)).fetch_optional(&mut *conn).await?;
            row.as_ref().map(ticket_from_row).transpose()
        }

        pub(crate) async fn ticket_by_external_id(
            conn: &mut DbConnection,
            external_id: &str,
        ) -> Result<Option<TicketRecord>, StoreError> {
            let sql = format!("{SELECT_TICKET} WHERE external_id = $1");
            let row = sqlx::query(&sql).bind(external_id).fetch_optional(&mut *conn).await?;
            row.as_ref().map(ticket_from_row).transpose()
        }

        pub(crate) async fn tickets(conn: &mut DbConnection, filter: &TicketFilter) -> Result<Vec<TicketRecord>, StoreError> {
            let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(SELECT_TICKET);
            qb.push(" WHERE 1 = 1");
            if let Some(status) = filter.status {
                qb.push(" AND status = ").push_bind(status.as_str());
            }
            if let Some(site) = &filter.site {
                qb.push(" AND site = ").push_bind(site.as_str());
            }
            if let Some(application) = &filter.application {
                qb.push(" AND application = ").push_bind(application.as_str());
            }
            if let Some(assignee) = &filter.assignee {
                qb.push(" AND assignee = ").push_bind(assignee.as_str());
            }
            if let Some(before) = filter.before_id {
                qb.push(" AND id < ").push_bind(to_i64(before));
            }
            qb.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(filter.limit));
            let rows = qb.build().fetch_all(&mut *conn).await?;
            rows.iter().map(ticket_from_row).collect()
        }

        pub(crate) async fn call(conn: &mut DbConnection, call_id: &str, queue: &str) -> Result<Option<CallRecord>, StoreError> {
            let sql = format!("{SELECT_CALL} WHERE call_id = $1 AND queue = $2");
            let row = sqlx::query(&sql).bind(call_id).bind(queue).fetch_optional(&mut *conn).await?;
            row.as_ref().map(call_from_row).transpose()
        }

        pub(crate) async fn connector_cursor(
            conn: &mut DbConnection,
            name: &str,
        ) -> Result<Option<String>, StoreError> {
            let cursor: Option<String> =
                sqlx::query_scalar("SELECT cursor FROM connector_state WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *conn)
                    .await?;
            Ok(cursor)
        }

        pub(crate) async fn set_connector_cursor(
            conn: &mut DbConnection,
            name: &str,
            cursor: &str,
            now: Millis,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO connector_state (name, cursor, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            )
            .bind(name)
            .bind(cursor)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        pub(crate) async fn save_checkpoint(
            conn: &mut DbConnection,
            checkpoint: &crate::StoredCheckpoint,
        ) -> Result<(), StoreError> {
            use sqlx::Connection;
            let mut tx = conn.begin().await?;
            sqlx::query(
                "INSERT INTO checkpoints (seq, format, created_at, body) VALUES ($1, $2, $3, $4)",
            )
            .bind(to_i64(checkpoint.seq))
            .bind(checkpoint.format.as_str())
            .bind(checkpoint.created_at)
            .bind(checkpoint.body.as_slice())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM checkpoints WHERE id NOT IN \
                 (SELECT id FROM checkpoints ORDER BY seq DESC, id DESC LIMIT $1)",
            )
            .bind(crate::CHECKPOINTS_KEPT)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        pub(crate) async fn latest_checkpoint(
            conn: &mut DbConnection,
        ) -> Result<Option<crate::StoredCheckpoint>, StoreError> {
            // The newest is chosen by id first: sorting whole rows would
            // copy every kept body (tens of MB each) through the sorter.
            let row = sqlx::query(
                "SELECT seq, format, created_at, body FROM checkpoints WHERE id = \
                 (SELECT id FROM checkpoints ORDER BY seq DESC, id DESC LIMIT 1)",
            )
            .fetch_optional(&mut *conn)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let seq: i64 = row.try_get("seq")?;
            Ok(Some(crate::StoredCheckpoint {
                seq: u64::try_from(seq).map_err(|_| StoreError::BadRow(format!("checkpoint at seq {seq}")))?,
                format: row.try_get("format")?,
                created_at: row.try_get("created_at")?,
                body: row.try_get("body")?,
            }))
        }

        pub(crate) async fn create_token(
            conn: &mut DbConnection,
            name: &str,
            role: golive_core::model::Role,
            token_hash: &str,
            now: Millis,
        ) -> Result<i64, StoreError> {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO tokens (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(name)
            .bind(role.as_str())
            .bind(token_hash)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            Ok(id)
        }

        pub(crate) async fn token_role(
            conn: &mut DbConnection,
            token_hash: &str,
        ) -> Result<Option<golive_core::model::Role>, StoreError> {
            let role: Option<String> =
                sqlx::query_scalar("SELECT role FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                    .bind(token_hash)
                    .fetch_optional(&mut *conn)
                    .await?;
            role.as_deref().map(parse_role).transpose()
        }

        pub(crate) async fn token_name(
            conn: &mut DbConnection,
            token_hash: &str,
        ) -> Result<Option<String>, StoreError> {
            Ok(sqlx::query_scalar("SELECT name FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(token_hash)
                .fetch_optional(&mut *conn)
                .await?)
        }

        pub(crate) async fn tokens(conn: &mut DbConnection) -> Result<Vec<TokenInfo>, StoreError> {
            let rows = sqlx::query("SELECT id, name, role, created_at, revoked_at FROM tokens ORDER BY id")
                .fetch_all(&mut *conn)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(TokenInfo {
                        id: row.try_get("id")?,
                        name: row.try_get("name")?,
                        role: parse_role(row.try_get("role")?)?,
                        created_at: row.try_get("created_at")?,
                        revoked_at: row.try_get("revoked_at")?,
                    })
                })
                .collect()
        }

        pub(crate) async fn revoke_token(conn: &mut DbConnection, id: i64, now: Millis) -> Result<bool, StoreError> {
            let done = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        pub(crate) async fn revoked_token_count(conn: &mut DbConnection) -> Result<u64, StoreError> {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE revoked_at IS NOT NULL")
                .fetch_one(&mut *conn)
                .await?;
            Ok(to_u64(count))
        }

        pub(crate) async fn revoked_token_hashes(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
            Ok(sqlx::query_scalar("SELECT token_hash FROM tokens WHERE revoked_at IS NOT NULL")
                .fetch_all(&mut *conn)
                .await?)
        }
    };
}

pub(crate) use backend_queries;

/// Implements [`crate::Store`] for `$store` (which has `pool` and `health`
/// fields, an `acquire` method handing out a connection to a migrated
/// database, a `committed` method, called after each commit that wrote
/// events, and `prepare_backend`, `listen_backend` and `lead_backend`
/// methods behind [`crate::Store::prepare`], [`crate::Store::listen`] and
/// [`crate::Store::try_lead`]) with the backend's way of taking the log's
/// write lock (the transaction's `BEGIN` statement and a clause on the
/// counter read) and of telling other processes about a commit (`notify`:
/// a statement run inside the committing transaction, or `None`).
macro_rules! store_impl {
    ($store:ident, $name:literal, begin = $begin:literal, lock = $lock:literal, notify = $notify:expr) => {
        impl $store {
            /// Runs a write probe (see `probe_write`) on a pooled connection,
            /// discarding the connection if it fails. `None` when no
            /// connection came within `PROBE_WAIT`: readiness must answer
            /// quickly even while the database is down, when the pool would
            /// wait its whole acquire timeout. (Only the wait is bounded: a
            /// probe cut off mid-transaction would leave its connection in
            /// an unknown state.)
            async fn probe_writes(&self) -> Option<Result<(), StoreError>> {
                let acquired =
                    tokio::time::timeout(crate::health::PROBE_WAIT, self.acquire()).await;
                let mut conn = match acquired {
                    Err(_) => return None,
                    Ok(Err(error)) => return Some(Err(error)),
                    Ok(Ok(conn)) => conn,
                };
                let result = probe_write(&mut conn, $begin).await;
                if result.is_err() {
                    conn.close_on_drop();
                }
                Some(result)
            }
        }

        #[async_trait::async_trait]
        impl crate::Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn ping(&self) -> Result<(), StoreError> {
                let mut conn = self.acquire().await?;
                sqlx::query("SELECT 1").execute(&mut *conn).await?;
                Ok(())
            }

            async fn prepare(&self) -> Result<(), StoreError> {
                self.prepare_backend().await
            }

            async fn close(&self) {
                self.close_backend().await
            }

            async fn listen(&self) -> Result<Option<crate::LogListener>, StoreError> {
                self.listen_backend().await
            }

            async fn try_lead(&self) -> Result<Option<crate::Leadership>, StoreError> {
                self.lead_backend().await
            }

            async fn commit_parts(
                &self,
                known_last: u64,
                build: &mut crate::BatchBuilder<'_>,
            ) -> Result<(u64, Vec<RecordedEvent>), StoreError> {
                self.before_commit().await;
                let result = async {
                    let mut conn = self.acquire().await?;
                    let result =
                        commit_on(&mut conn, $begin, $lock, $notify, known_last, build).await;
                    if result.as_ref().is_err_and(StoreError::is_unavailable) {
                        // Such a failure may leave the connection unusable:
                        // SQLite rolls a transaction back by itself on a full
                        // disk, while sqlx still counts it as open (every
                        // later BEGIN on that connection would fail), and a
                        // PostgreSQL connection may be talking to a server
                        // that restarted. Never hand it out again. (A value
                        // the database refused leaves it as good as new.)
                        conn.close_on_drop();
                    }
                    result
                }
                .await;
                match &result {
                    Ok((_, events)) => {
                        self.health.succeeded();
                        if !events.is_empty() {
                            self.committed();
                        }
                    }
                    // A value the database refused says nothing of whether
                    // writes can commit: readiness stays as it was.
                    Err(error) if error.is_unavailable() => self.health.failed(error),
                    Err(_) => {}
                }
                result
            }

            async fn write_failure(&self) -> Option<crate::WriteFailure> {
                let (failure, probe) = self.health.check()?;
                if !probe {
                    return Some(failure);
                }
                match self.probe_writes().await {
                    Some(Ok(())) => self.health.succeeded(),
                    Some(Err(error)) => self.health.failed(&error),
                    None => {}
                }
                self.health.current()
            }

            async fn events_after(
                &self,
                after: u64,
                limit: u32,
            ) -> Result<Vec<RecordedEvent>, StoreError> {
                let mut conn = self.acquire().await?;
                events_after(&mut conn, after, limit).await
            }

            async fn last_seq(&self) -> Result<u64, StoreError> {
                let mut conn = self.acquire().await?;
                read_counter(&mut conn, "").await
            }

            async fn ticket(&self, id: TicketId) -> Result<Option<TicketRecord>, StoreError> {
                let mut conn = self.acquire().await?;
                ticket(&mut conn, id).await
            }

            async fn ticket_by_external_id(
                &self,
                external_id: &str,
            ) -> Result<Option<TicketRecord>, StoreError> {
                let mut conn = self.pool.acquire().await?;
                ticket_by_external_id(&mut conn, external_id).await
            }

            async fn tickets(
                &self,
                filter: &TicketFilter,
            ) -> Result<Vec<TicketRecord>, StoreError> {
                let mut conn = self.acquire().await?;
                tickets(&mut conn, filter).await
            }

            async fn call(
                &self,
                call_id: &str,
                queue: &str,
            ) -> Result<Option<CallRecord>, StoreError> {
                let mut conn = self.acquire().await?;
                call(&mut conn, call_id, queue).await
            }

            async fn connector_cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
                let mut conn = self.pool.acquire().await?;
                connector_cursor(&mut conn, name).await
            }

            async fn set_connector_cursor(
                &self,
                name: &str,
                cursor: &str,
                now: Millis,
            ) -> Result<(), StoreError> {
                let mut conn = self.pool.acquire().await?;
                set_connector_cursor(&mut conn, name, cursor, now).await
            }

            async fn save_checkpoint(
                &self,
                checkpoint: &crate::StoredCheckpoint,
            ) -> Result<(), StoreError> {
                let mut conn = self.acquire().await?;
                save_checkpoint(&mut conn, checkpoint).await
            }

            async fn latest_checkpoint(
                &self,
            ) -> Result<Option<crate::StoredCheckpoint>, StoreError> {
                let mut conn = self.acquire().await?;
                latest_checkpoint(&mut conn).await
            }

            async fn create_token(
                &self,
                name: &str,
                role: golive_core::model::Role,
                token_hash: &str,
                now: Millis,
            ) -> Result<i64, StoreError> {
                let mut conn = self.acquire().await?;
                create_token(&mut conn, name, role, token_hash, now).await
            }

            async fn token_role(
                &self,
                token_hash: &str,
            ) -> Result<Option<golive_core::model::Role>, StoreError> {
                let mut conn = self.acquire().await?;
                token_role(&mut conn, token_hash).await
            }

            async fn token_name(&self, token_hash: &str) -> Result<Option<String>, StoreError> {
                let mut conn = self.acquire().await?;
                token_name(&mut conn, token_hash).await
            }

            async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
                let mut conn = self.acquire().await?;
                tokens(&mut conn).await
            }

            async fn revoke_token(&self, id: i64, now: Millis) -> Result<bool, StoreError> {
                let mut conn = self.acquire().await?;
                revoke_token(&mut conn, id, now).await
            }

            async fn revoked_token_count(&self) -> Result<u64, StoreError> {
                let mut conn = self.acquire().await?;
                revoked_token_count(&mut conn).await
            }

            async fn revoked_token_hashes(&self) -> Result<Vec<String>, StoreError> {
                let mut conn = self.acquire().await?;
                revoked_token_hashes(&mut conn).await
            }
        }
    };
}

pub(crate) use store_impl;
