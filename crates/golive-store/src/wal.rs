//! Keeping SQLite's write-ahead log small: checkpoints (copying committed
//! pages from the WAL into the database file) and the WAL's ceiling.
//!
//! Checkpoints run on a background task instead of inside the commit that
//! happens to cross SQLite's threshold: a commit is durable once the WAL is
//! synced, so the writer need not wait for that copy, and bulk commits no
//! longer pay for it. Past [`TRUNCATE_FRAMES`] the task also truncates the
//! file, `journal_size_limit` trims it whenever SQLite starts it over, and
//! past [`BACKSTOP_FRAMES`] the committing connection checkpoints by
//! itself.
//!
//! Neither bounds the WAL when a checkpoint is slow (a busy disk can take
//! over a second to sync the database file): a checkpoint in progress makes
//! the others give up at once, and the writer keeps appending meanwhile
//! (the WAL was seen at 73 MB beside a 4 MB database). So past
//! [`CEILING_BYTES`] a commit first waits for a truncating checkpoint
//! ([`WalKeeper::hold_down`]): the WAL exceeds that ceiling by one commit
//! at most, unless other checkpoints kept it waiting [`CEILING_WAIT`] (then
//! commits go ahead for [`SHORT_RESPITE`]).
//!
//! A truncating checkpoint waits for readers to move on, and new writers
//! wait while it is pending. A reader that holds a snapshot (a backup, a
//! replication tool, a shell left inside a transaction) keeps the WAL from
//! starting over for as long as it reads, so waiting for it would stall
//! every write: truncations run on a connection of their own that waits
//! [`TRUNCATE_BUSY`] at most, and when a reader of an older snapshot is
//! what held one up (SQLite could not copy every frame), none is tried for
//! [`RESPITE`]. Meanwhile writes go on and the WAL grows until the reader
//! lets go, as it must; the background task tries again when the respite
//! ends, commits or not, so a pause in writes still finds the WAL
//! truncated.

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Shortest time between two background checkpoints: each one syncs the
/// database file, so a stream of small commits shares one.
const INTERVAL: Duration = Duration::from_millis(100);

/// WAL frames (pages) beyond which the background task truncates the WAL
/// after its passive checkpoint. Passive checkpoints between commits
/// cannot finish while a writer keeps appending, so without this the WAL
/// grows for as long as writes never pause (it reached 273 MB in 25 s
/// beside a 12 MB database). 256 frames of 16 KiB pages: 4 MiB. A
/// checkpoint copies each page once however many frames hold it, so under
/// a stream of small commits (which rewrite the same few pages) this is
/// cheap.
const TRUNCATE_FRAMES: i64 = 256;

/// WAL frames past which the committing connection checkpoints by itself
/// (SQLite's `wal_autocheckpoint`, 8 MiB), should the background task fall
/// behind a writer that commits faster than it checks (it looks at most
/// every [`INTERVAL`]).
pub(crate) const BACKSTOP_FRAMES: &str = "512";

/// Bytes of WAL file kept when SQLite starts the log over after a
/// checkpoint (`journal_size_limit`): 4 MiB.
pub(crate) const KEPT_BYTES: &str = "4194304";

/// WAL file size past which the next commit waits for a checkpoint that
/// truncates the log. The file only exceeds [`KEPT_BYTES`] while the log
/// has not started over, so its size is an upper bound of what the log
/// holds, read with one `stat`.
const CEILING_BYTES: u64 = 16 << 20;

/// Longest a commit waits while other checkpoints hold SQLite's checkpoint
/// lock: long enough for one slowed by the disk to finish (1.3 s seen).
/// Past it the commit goes ahead anyway: a WAL over its ceiling costs
/// disk, a stalled write costs every client behind it.
const CEILING_WAIT: Duration = Duration::from_secs(2);

/// Pause between attempts while another checkpoint holds SQLite's
/// checkpoint lock (a contender is told at once, never queued).
const CEILING_RETRY: Duration = Duration::from_millis(2);

/// How long a truncating checkpoint waits for readers and a writer to let
/// go (its connection's busy timeout; the pool's is 10 s). New writers
/// wait while it does.
const TRUNCATE_BUSY: Duration = Duration::from_millis(200);

/// How long no truncation is tried after a reader of an older snapshot
/// held one up, or one failed (a full disk): whatever held it is unlikely
/// to be gone at the next commit, and trying at every commit would stall
/// every write (and log the same warning for each).
const RESPITE: Duration = Duration::from_secs(10);

/// How long commits do not wait for a truncation after one waited
/// [`CEILING_WAIT`] in vain while other checkpoints ran: those will
/// finish, so the ceiling is back soon, but a disk that slow should not
/// make every commit wait 2 s.
const SHORT_RESPITE: Duration = Duration::from_secs(1);

/// What a truncating checkpoint came to.
enum Truncation {
    /// The WAL is empty.
    Done,
    /// Not now, soon: another checkpoint holds SQLite's checkpoint lock
    /// (SQLite reports no frame counts then), or every frame was copied
    /// but a commit or a reader of the newest snapshot did not let go
    /// within [`TRUNCATE_BUSY`].
    Soon,
    /// A reader holds an older snapshot: frames it may still read cannot
    /// be copied, and the WAL cannot start over until it lets go.
    HeldUp,
}

/// The WAL upkeep of one database file.
pub(crate) struct WalKeeper {
    /// The `-wal` file beside the database (`None` in memory).
    file: Option<PathBuf>,
    /// One connection for truncations, with a busy timeout of
    /// [`TRUNCATE_BUSY`].
    truncator: SqlitePool,
    /// Until when no truncation is tried (see [`RESPITE`]).
    respite: Mutex<Option<Instant>>,
    /// Wakes the background task after a commit.
    wake: Notify,
}

impl WalKeeper {
    /// The upkeep of the database `options` open (connections are made
    /// when first needed).
    pub(crate) fn new(options: &SqliteConnectOptions) -> WalKeeper {
        WalKeeper {
            file: wal_file(options),
            truncator: SqlitePoolOptions::new()
                .max_connections(1)
                .connect_lazy_with(options.clone().busy_timeout(TRUNCATE_BUSY)),
            respite: Mutex::new(None),
            wake: Notify::new(),
        }
    }

    /// After a commit: the background task has work.
    pub(crate) fn committed(&self) {
        self.wake.notify_one();
    }

    /// The background checkpoints: after commits, copies what the WAL
    /// holds into the database file without blocking the writer
    /// (`PASSIVE`) on `pool`, at most once per [`INTERVAL`], and truncates
    /// the WAL past [`TRUNCATE_FRAMES`]. A failed checkpoint loses nothing
    /// (the pages stay in the WAL) and is retried after the next commit.
    pub(crate) async fn run(&self, pool: SqlitePool) {
        // When a truncation is due but could not run, when to try again
        // even if no commit comes (the last commits before a pause must
        // not leave the WAL large).
        let mut retry: Option<Instant> = None;
        loop {
            match retry {
                Some(at) => {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep_until(at.into()) => {}
                    }
                }
                None => self.wake.notified().await,
            }
            let started = Instant::now();
            let passive = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await;
            retry = match passive {
                Ok((_, frames, _)) if frames >= TRUNCATE_FRAMES => match self.respite_until() {
                    Some(until) if started < until => Some(until),
                    _ => match self.truncate().await {
                        Ok(Truncation::Done) => None,
                        Ok(Truncation::Soon) => Some(Instant::now() + INTERVAL),
                        Ok(Truncation::HeldUp) => Some(self.rest(RESPITE)),
                        Err(error) => {
                            tracing::warn!(%error, "WAL truncation failed; retrying after the next commit");
                            None
                        }
                    },
                },
                Ok(_) => None,
                Err(error) => {
                    tracing::warn!(%error, "WAL checkpoint failed; retrying after the next commit");
                    None
                }
            };
            tokio::time::sleep(INTERVAL.saturating_sub(started.elapsed())).await;
        }
    }

    /// Before a commit: holds the WAL under [`CEILING_BYTES`] by waiting
    /// for a checkpoint that truncates it (see the module docs).
    pub(crate) async fn hold_down(&self) {
        let Some(file) = &self.file else { return };
        let size = || std::fs::metadata(file).map_or(0, |m| m.len());
        let started = Instant::now();
        if size() <= CEILING_BYTES || self.respite_until().is_some_and(|until| started < until) {
            return;
        }
        loop {
            match self.truncate().await {
                Ok(Truncation::Done) => return,
                // Some other checkpoint brought it down meanwhile.
                Ok(_) if size() <= CEILING_BYTES => return,
                Ok(Truncation::Soon) if started.elapsed() < CEILING_WAIT => {
                    tokio::time::sleep(CEILING_RETRY).await;
                }
                Ok(Truncation::Soon) => {
                    tracing::warn!(
                        waited_ms = started.elapsed().as_millis() as u64,
                        "WAL over its ceiling and not truncated in time; committing anyway"
                    );
                    self.rest(SHORT_RESPITE);
                    return;
                }
                Ok(Truncation::HeldUp) => {
                    tracing::warn!(
                        "WAL over its ceiling and a reader keeps it from being truncated; \
                         committing anyway"
                    );
                    self.rest(RESPITE);
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "WAL over its ceiling and the checkpoint failed; committing anyway");
                    self.rest(RESPITE);
                    return;
                }
            }
        }
    }

    /// Closes the truncations' connection.
    pub(crate) async fn close(&self) {
        self.truncator.close().await;
    }

    async fn truncate(&self) -> Result<Truncation, sqlx::Error> {
        let (busy, frames, copied) =
            sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.truncator)
                .await?;
        Ok(match (busy, frames, copied) {
            (0, _, _) => Truncation::Done,
            (_, -1, _) => Truncation::Soon,
            _ if copied >= frames => Truncation::Soon,
            _ => Truncation::HeldUp,
        })
    }

    fn respite_until(&self) -> Option<Instant> {
        *self.respite.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a respite of `length`; gives its end.
    fn rest(&self, length: Duration) -> Instant {
        let until = Instant::now() + length;
        *self.respite.lock().unwrap_or_else(PoisonError::into_inner) = Some(until);
        until
    }
}

/// The `-wal` file of a database on disk.
fn wal_file(options: &SqliteConnectOptions) -> Option<PathBuf> {
    let file = options.get_filename();
    let name = file.to_string_lossy();
    if name.is_empty() || name == ":memory:" || name.starts_with("file:") {
        return None;
    }
    let mut wal = file.as_os_str().to_owned();
    wal.push("-wal");
    Some(PathBuf::from(wal))
}
