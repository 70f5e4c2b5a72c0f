//! The embedded SQLite backend (the default): one file, WAL journal,
//! `synchronous = FULL` so an acknowledged commit survives power loss, and
//! `BEGIN IMMEDIATE` so the writer takes the lock before it reads the
//! sequence counter (a deferred transaction could fail to upgrade).

use crate::shared::{backend_queries, store_impl};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

backend_queries!(sqlx::Sqlite);

/// A SQLite database file.
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../../migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

store_impl!(SqliteStore, "sqlite", begin = "BEGIN IMMEDIATE", lock = "");
