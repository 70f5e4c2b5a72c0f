//! The PostgreSQL backend (production). Several golive processes may share
//! one database: each commit locks the single `event_counter` row
//! (`SELECT … FOR UPDATE`), so sequence numbers are handed out gap-free and
//! transactions commit in sequence order; a writer that finds the counter
//! ahead of what it knows folds in the other writers' events first.

use crate::shared::{backend_queries, store_impl};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

backend_queries!(sqlx::Postgres);

/// A PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await?;
        Ok(PgStore { pool })
    }
}

store_impl!(PgStore, "postgres", begin = "BEGIN", lock = " FOR UPDATE");
