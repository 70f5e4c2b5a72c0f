//! SQL shared by both backends.
//!
//! The statements are the same text for SQLite and PostgreSQL (`$n`
//! placeholders work in both, `QueryBuilder` writes the right ones for bulk
//! statements), but sqlx types are per database, so the functions are
//! stamped out once per backend by `backend_queries!` instead of written
//! twice.

use crate::StoreError;
use golive_core::event::{Event, RecordedEvent};
use golive_core::model::{Category, Channel, Role, Severity, TicketStatus};

/// Rows per multi-row INSERT: well under SQLite's 32,766 bound parameters
/// and PostgreSQL's 65,535 for the widest table (16 columns).
pub(crate) const ROWS_PER_STATEMENT: usize = 1000;

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

        /// Writes a decided batch inside the caller's transaction, after
        /// checking that it continues the log without a gap.
        pub(crate) async fn write_batch(
            conn: &mut DbConnection,
            last_in_log: u64,
            batch: &CommitBatch,
        ) -> Result<u64, StoreError> {
            let Some(first) = batch.events.first() else { return Ok(last_in_log) };
            if first.seq != last_in_log + 1 {
                return Err(StoreError::SequenceGap { expected: last_in_log + 1, found: first.seq });
            }
            // The writer numbers events from the log's last; anything else is
            // a bug that must not reach the disk as a gap or a duplicate.
            for (offset, e) in batch.events.iter().enumerate() {
                let expected = last_in_log + 1 + offset as u64;
                if e.seq != expected {
                    return Err(StoreError::SequenceGap { expected, found: e.seq });
                }
            }
            let new_last = last_in_log + batch.events.len() as u64;
            for chunk in batch.events.chunks(ROWS_PER_STATEMENT * 4) {
                let mut qb: QueryBuilder<'_, $db> =
                    QueryBuilder::new("INSERT INTO events (seq, recorded_at, kind, payload) ");
                qb.push_values(chunk, |mut row, e| {
                    row.push_bind(to_i64(e.seq))
                        .push_bind(e.recorded_at)
                        .push_bind(e.event.kind())
                        .push_bind(encode_event(&e.event));
                });
                qb.build().execute(&mut *conn).await?;
            }
            for chunk in batch.tickets.chunks(ROWS_PER_STATEMENT) {
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO tickets (id, external_id, opened_at, site, department, application, category, \
                     severity, channel, summary, reporter_role, status, resolved_at, assignee, tier, updated_at) ",
                );
                qb.push_values(chunk, |mut row, t| {
                    row.push_bind(to_i64(t.id))
                        .push_bind(t.external_id.as_deref())
                        .push_bind(t.opened_at)
                        .push_bind(t.site.as_str())
                        .push_bind(t.department.as_str())
                        .push_bind(t.application.as_str())
                        .push_bind(t.category.as_str())
                        .push_bind(i64::from(t.severity.level()))
                        .push_bind(t.channel.as_str())
                        .push_bind(t.summary.as_deref())
                        .push_bind(t.reporter_role.as_deref())
                        .push_bind(t.status.as_str())
                        .push_bind(t.resolved_at)
                        .push_bind(t.assignee.as_deref())
                        .push_bind(t.tier.map(i64::from))
                        .push_bind(t.updated_at);
                });
                // Text given at creation (summary, reporter role) and the
                // ticket's identity never change after the first insert.
                qb.push(
                    " ON CONFLICT (id) DO UPDATE SET status = excluded.status, resolved_at = excluded.resolved_at, \
                     assignee = excluded.assignee, tier = excluded.tier, updated_at = excluded.updated_at",
                );
                qb.build().execute(&mut *conn).await?;
            }
            for chunk in batch.calls.chunks(ROWS_PER_STATEMENT) {
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO calls (call_id, queue, offered_at, answered_at, abandoned_at, ended_at, agent, wrap_seconds) ",
                );
                qb.push_values(chunk, |mut row, c| {
                    row.push_bind(c.call_id.as_str())
                        .push_bind(c.queue.as_str())
                        .push_bind(c.offered_at)
                        .push_bind(c.answered_at)
                        .push_bind(c.abandoned_at)
                        .push_bind(c.ended_at)
                        .push_bind(c.agent.as_deref())
                        .push_bind(c.wrap_seconds);
                });
                qb.push(
                    " ON CONFLICT (call_id) DO UPDATE SET queue = excluded.queue, offered_at = excluded.offered_at, \
                     answered_at = excluded.answered_at, abandoned_at = excluded.abandoned_at, \
                     ended_at = excluded.ended_at, agent = excluded.agent, wrap_seconds = excluded.wrap_seconds",
                );
                qb.build().execute(&mut *conn).await?;
            }
            for (name, s) in &batch.queues {
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
            sqlx::query("UPDATE event_counter SET last_seq = $1 WHERE id = 1")
                .bind(to_i64(new_last))
                .execute(&mut *conn)
                .await?;
            Ok(new_last)
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

        pub(crate) async fn call(conn: &mut DbConnection, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
            let sql = format!("{SELECT_CALL} WHERE call_id = $1");
            let row = sqlx::query(&sql).bind(call_id).fetch_optional(&mut *conn).await?;
            row.as_ref().map(call_from_row).transpose()
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
    };
}

pub(crate) use backend_queries;

/// Implements [`crate::Store`] for `$store` (which has a `pool` field) with
/// the backend's way of taking the log's write lock: the transaction's
/// `BEGIN` statement and a clause on the counter read.
macro_rules! store_impl {
    ($store:ident, $name:literal, begin = $begin:literal, lock = $lock:literal) => {
        #[async_trait::async_trait]
        impl crate::Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn commit(
                &self,
                known_last: u64,
                build: &mut crate::BatchBuilder<'_>,
            ) -> Result<u64, StoreError> {
                let mut tx = self.pool.begin_with($begin).await?;
                let last_in_log = read_counter(&mut tx, $lock).await?;
                let mut missed = Vec::new();
                let mut cursor = known_last;
                while cursor < last_in_log {
                    let page = events_after(&mut tx, cursor, 10_000).await?;
                    let Some(last) = page.last() else { break };
                    cursor = last.seq;
                    missed.extend(page);
                }
                let batch = build(missed);
                let new_last = write_batch(&mut tx, last_in_log, &batch).await?;
                tx.commit().await?;
                Ok(new_last)
            }

            async fn events_after(
                &self,
                after: u64,
                limit: u32,
            ) -> Result<Vec<RecordedEvent>, StoreError> {
                let mut conn = self.pool.acquire().await?;
                events_after(&mut conn, after, limit).await
            }

            async fn last_seq(&self) -> Result<u64, StoreError> {
                let mut conn = self.pool.acquire().await?;
                read_counter(&mut conn, "").await
            }

            async fn ticket(&self, id: TicketId) -> Result<Option<TicketRecord>, StoreError> {
                let mut conn = self.pool.acquire().await?;
                ticket(&mut conn, id).await
            }

            async fn tickets(
                &self,
                filter: &TicketFilter,
            ) -> Result<Vec<TicketRecord>, StoreError> {
                let mut conn = self.pool.acquire().await?;
                tickets(&mut conn, filter).await
            }

            async fn call(&self, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
                let mut conn = self.pool.acquire().await?;
                call(&mut conn, call_id).await
            }

            async fn create_token(
                &self,
                name: &str,
                role: golive_core::model::Role,
                token_hash: &str,
                now: Millis,
            ) -> Result<i64, StoreError> {
                let mut conn = self.pool.acquire().await?;
                create_token(&mut conn, name, role, token_hash, now).await
            }

            async fn token_role(
                &self,
                token_hash: &str,
            ) -> Result<Option<golive_core::model::Role>, StoreError> {
                let mut conn = self.pool.acquire().await?;
                token_role(&mut conn, token_hash).await
            }

            async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
                let mut conn = self.pool.acquire().await?;
                tokens(&mut conn).await
            }

            async fn revoke_token(&self, id: i64, now: Millis) -> Result<bool, StoreError> {
                let mut conn = self.pool.acquire().await?;
                revoke_token(&mut conn, id, now).await
            }
        }
    };
}

pub(crate) use store_impl;
