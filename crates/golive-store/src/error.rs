//! The store's error type, and which failures are the database's rather
//! than the data's (the server's writer retries the others to find the one
//! request at fault).

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
    #[error("the database accepts no writes: {0}")]
    ReadOnly(String),
}

impl StoreError {
    /// Whether the failure is the database's and not the data's: it is
    /// down, unreachable, busy, out of space, read-only, timed out, or its
    /// log cannot be read. Retrying the same writes later may succeed;
    /// retrying some of them now will not. Any other failure (a constraint,
    /// a value the database cannot store, an unexpected error) may be the
    /// fault of one command in a batch, so the writer retries the batch in
    /// parts to find it.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(error) => database_unavailable(error),
            StoreError::Migrate(_)
            | StoreError::Corrupt { .. }
            | StoreError::BadRow(_)
            | StoreError::SequenceGap { .. }
            | StoreError::UnsupportedUrl(_)
            | StoreError::ReadOnly(_) => true,
        }
    }
}

fn database_unavailable(error: &sqlx::Error) -> bool {
    match error {
        // What the database said about one statement: its code decides.
        sqlx::Error::Database(db) => match db.code() {
            Some(code) if code.len() == 5 => postgres_unavailable(&code),
            Some(code) => code.parse::<i32>().is_ok_and(sqlite_unavailable),
            None => false,
        },
        // A value that cannot be sent is the data's fault.
        sqlx::Error::Encode(_) => false,
        // No answer at all (I/O, pool, protocol, TLS, a crashed worker).
        _ => true,
    }
}

/// PostgreSQL SQLSTATE classes of failures that are not the data's:
/// connection (08), transaction state such as a read-only server (25),
/// authorization (28), missing database (3D), serialization and deadlock
/// (40), resources such as a full disk (53), locks not available (55),
/// operator intervention such as a statement timeout or shutdown (57),
/// system and internal errors (58, XX), configuration (F0).
fn postgres_unavailable(sqlstate: &str) -> bool {
    matches!(
        &sqlstate[..2],
        "08" | "25" | "28" | "3D" | "40" | "53" | "55" | "57" | "58" | "XX" | "F0"
    )
}

/// SQLite primary result codes of failures that are not the data's:
/// PERM, ABORT, BUSY, LOCKED, NOMEM, READONLY, INTERRUPT, IOERR, CORRUPT,
/// FULL, CANTOPEN, PROTOCOL, NOTADB.
fn sqlite_unavailable(extended: i32) -> bool {
    matches!(
        extended & 0xff,
        3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 13 | 14 | 15 | 26
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified_by_what_they_blame() {
        // Data: NUL in text (22021), unique violation (23505), a trigger's
        // exception (P0001), an index row too large (54000).
        for code in ["22021", "23505", "P0001", "54000"] {
            assert!(!postgres_unavailable(code), "{code}");
        }
        // Database: connection lost, read-only, deadlock, disk full,
        // lock timeout, statement timeout, shutdown.
        for code in [
            "08006", "25006", "40P01", "53100", "55P03", "57014", "57P01",
        ] {
            assert!(postgres_unavailable(code), "{code}");
        }
        // SQLite: constraint (incl. a trigger's RAISE), too big, mismatch
        // are data; busy, read-only, I/O error, disk full are not.
        for code in [19, 1811, 2067, 18, 20] {
            assert!(!sqlite_unavailable(code), "{code}");
        }
        for code in [5, 8, 1032, 10, 3338, 13] {
            assert!(sqlite_unavailable(code), "{code}");
        }
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_unavailable());
    }
}
