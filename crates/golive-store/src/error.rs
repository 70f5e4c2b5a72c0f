//! The store's error type.

/// Why a store operation failed. None of these carry ticket text.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("event {seq} in the log cannot be read: {reason}")]
    Corrupt { seq: u64, reason: String },
    #[error("stored value cannot be read: {0}")]
    BadRow(String),
    #[error("batch starts at sequence {found}, the log expects {expected}")]
    SequenceGap { expected: u64, found: u64 },
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://…")]
    UnsupportedUrl(String),
}
