//! Checkpoints: the in-memory state written to the database now and then,
//! so that a restart reads it and replays only the events after it instead
//! of the whole log.
//!
//! A checkpoint holds every fold of the log a restart would otherwise
//! rebuild: the writer's ledger (at the position it had decided up to),
//! and the read side's (`Views::folded`: the aggregator, the configured
//! queues, the alert events the live hub's alert book folds, the counts of
//! `golive_events_applied_total`) at the last event the aggregator applied,
//! which is never before the ledger's. A restart restores both and replays
//! from the ledger's position, each part taking only the events it has not
//! seen.
//!
//! It is never trusted over the log. It is used only if all of these hold,
//! and otherwise the whole log is replayed, with a log line saying why:
//! - it was written by a binary with the same format ([`format_id`]: this
//!   module's layout, the version and a fingerprint of golive-core's
//!   sources, which define the checkpointed structures);
//! - its bytes are whole (a SHA-256 over them);
//! - the log still holds, at both positions, the very event it was taken
//!   at: same sequence number, commit time and kind (as `crate::log_guard`
//!   checks a running process's log), so a database restored from a
//!   backup, or a log replaced, is replayed.
//!
//! Writing: every `checkpoint_interval_seconds` when the log moved on,
//! sooner after `checkpoint_every_events` events, and at a graceful
//! shutdown. Writes wait only while the ledger is encoded and while the
//! aggregator is copied (both measured and logged); the aggregator is
//! encoded, hashed and stored while writes go on. Encoding runs on the
//! blocking pool, never on the runtime. Each replica on a shared
//! PostgreSQL writes its own; a restart loads the furthest one, whichever
//! replica wrote it (they follow one log). The store keeps the newest two.

use crate::views::{Folded, Views};
use crate::writer::Writer;
use golive_core::aggregate::Aggregator;
use golive_core::event::RecordedEvent;
use golive_core::ledger::Ledger;
use golive_core::names::NameRules;
use golive_core::time::{Millis, now_millis};
use golive_store::{Store, StoredCheckpoint};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// This module's layout of a checkpoint; bump it when [`Header`] or the
/// framing changes.
const LAYOUT: u32 = 1;

/// The first bytes of a checkpoint.
const MAGIC: &[u8; 4] = b"GLCK";

/// How often the writing task looks whether a checkpoint is due.
const POLL: Duration = Duration::from_secs(1);

/// What wrote a checkpoint, and what may read it: only the same.
pub fn format_id() -> String {
    format!(
        "golive-server/{LAYOUT}/{}/core/{}",
        env!("CARGO_PKG_VERSION"),
        golive_core::checkpoint::STATE_ID
    )
}

/// When checkpoints are written (`checkpoint_*` settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// At most this long between two checkpoints while the log moves on.
    pub interval: Duration,
    /// Sooner, once this many events were applied since the last one.
    pub every_events: u64,
}

/// This process's checkpoints: the position of the last one written (or
/// restored), and a lock so that the periodic one and the shutdown one
/// never run together.
#[derive(Default)]
pub struct Checkpoints {
    written: AtomicU64,
    writing: tokio::sync::Mutex<()>,
}

/// Why a checkpoint was not written or not used. Carries positions, kinds
/// and sizes, never the state's contents.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckpointError(String);

impl CheckpointError {
    fn new(reason: impl Into<String>) -> Self {
        CheckpointError(reason.into())
    }
}

/// The event a part of a checkpoint holds the log up to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Mark {
    seq: u64,
    recorded_at: Millis,
    kind: String,
}

impl Mark {
    fn of(event: &RecordedEvent) -> Mark {
        Mark {
            seq: event.seq,
            recorded_at: event.recorded_at,
            kind: event.event.kind().to_string(),
        }
    }
}

/// Everything but the two large parts, which follow it as they are.
#[derive(Serialize, Deserialize)]
struct Header {
    ledger: Mark,
    views: Mark,
    configured_queues: Vec<String>,
    /// Alert events up to `views`, in the log's own encoding (JSON).
    alert_events: String,
    events_applied: Vec<(String, u64)>,
    ledger_len: u64,
    aggregator_len: u64,
}

/// A checkpoint's bytes: `MAGIC`, the SHA-256 of what follows it, the
/// header's length (u32, little endian), the header (postcard), the
/// ledger, the aggregator.
fn frame(header: &Header, ledger: &[u8], aggregator: &[u8]) -> Result<Vec<u8>, CheckpointError> {
    let header = postcard::to_stdvec(header)
        .map_err(|error| CheckpointError::new(format!("cannot encode the header: {error}")))?;
    let header_len = u32::try_from(header.len())
        .map_err(|_| CheckpointError::new("the header is over 4 GiB"))?;
    let mut body = Vec::with_capacity(4 + 32 + 4 + header.len() + ledger.len() + aggregator.len());
    body.extend_from_slice(MAGIC);
    body.extend_from_slice(&[0; 32]);
    body.extend_from_slice(&header_len.to_le_bytes());
    body.extend_from_slice(&header);
    body.extend_from_slice(ledger);
    body.extend_from_slice(aggregator);
    let digest = Sha256::digest(&body[36..]);
    body[4..36].copy_from_slice(&digest);
    Ok(body)
}

/// The header of a checkpoint's bytes and where its two parts are, once
/// the bytes are checked whole.
fn unframe(
    body: &[u8],
) -> Result<(Header, std::ops::Range<usize>, std::ops::Range<usize>), CheckpointError> {
    if body.len() < 40 || &body[..4] != MAGIC {
        return Err(CheckpointError::new("not a checkpoint (no magic number)"));
    }
    if Sha256::digest(&body[36..]).as_slice() != &body[4..36] {
        return Err(CheckpointError::new(format!(
            "its bytes are damaged (SHA-256 mismatch over {} bytes)",
            body.len()
        )));
    }
    let mut length = [0; 4];
    length.copy_from_slice(&body[36..40]);
    let header_end = 40 + u32::from_le_bytes(length) as usize;
    let header: Header = body
        .get(40..header_end)
        .ok_or_else(|| CheckpointError::new("the header runs past the end"))
        .and_then(|bytes| {
            postcard::from_bytes(bytes)
                .map_err(|error| CheckpointError::new(format!("unreadable header: {error}")))
        })?;
    let ledger_end = usize::try_from(header.ledger_len)
        .ok()
        .and_then(|len| header_end.checked_add(len));
    let aggregator_end = ledger_end.and_then(|end| {
        usize::try_from(header.aggregator_len)
            .ok()
            .and_then(|len| end.checked_add(len))
    });
    match (ledger_end, aggregator_end) {
        (Some(ledger_end), Some(end)) if end == body.len() => {
            Ok((header, header_end..ledger_end, ledger_end..end))
        }
        _ => Err(CheckpointError::new(
            "its parts do not add up to its length",
        )),
    }
}

/// The mark of the log's event `seq`, if the log has it.
async fn mark_in_log(store: &dyn Store, seq: u64) -> Result<Option<Mark>, CheckpointError> {
    if seq == 0 {
        return Ok(Some(Mark {
            seq: 0,
            recorded_at: 0,
            kind: String::new(),
        }));
    }
    let page = store
        .events_after(seq - 1, 1)
        .await
        .map_err(|error| CheckpointError::new(format!("cannot read the log: {error}")))?;
    Ok(page.first().filter(|event| event.seq == seq).map(Mark::of))
}

/// Whether the log holds `mark`'s event; why not otherwise.
async fn check_in_log(store: &dyn Store, mark: &Mark) -> Result<(), CheckpointError> {
    match mark_in_log(store, mark.seq).await? {
        Some(found) if found == *mark => Ok(()),
        Some(found) => Err(CheckpointError::new(format!(
            "it is of another log: event {} is now a {} committed at {}, not the {} committed at {} it was taken at",
            mark.seq, found.kind, found.recorded_at, mark.kind, mark.recorded_at
        ))),
        None => Err(CheckpointError::new(format!(
            "it is of another log: the log has no event {}, where it was taken",
            mark.seq
        ))),
    }
}

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CheckpointError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| CheckpointError::new(format!("the blocking task failed: {error}")))
}

/// The ledger and the read side from the latest checkpoint, if one can be
/// trusted (see the module documentation); the views are restored and the
/// ledger returned, to replay the log after it. `None` (with a log line
/// saying why) means: replay the whole log.
pub async fn restore(store: &dyn Store, views: &Views, names: NameRules) -> Option<Ledger> {
    let started = Instant::now();
    let stored = match store.latest_checkpoint().await {
        Ok(Some(stored)) => stored,
        Ok(None) => {
            tracing::info!("no checkpoint yet; replaying the whole log");
            return None;
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read the latest checkpoint; replaying the whole log");
            return None;
        }
    };
    let seq = stored.seq;
    let bytes = stored.body.len();
    match restore_from(store, views, names, stored).await {
        Ok((ledger, views_seq)) => {
            tracing::info!(
                seq,
                views_seq,
                bytes,
                millis = started.elapsed().as_millis() as u64,
                "restored the checkpoint; replaying the log after it"
            );
            Some(ledger)
        }
        Err(reason) => {
            tracing::warn!(seq, %reason, "checkpoint not used; replaying the whole log");
            None
        }
    }
}

async fn restore_from(
    store: &dyn Store,
    views: &Views,
    names: NameRules,
    stored: StoredCheckpoint,
) -> Result<(Ledger, u64), CheckpointError> {
    let expected = format_id();
    if stored.format != expected {
        return Err(CheckpointError::new(format!(
            "written by another version (format {:?}, this binary reads {expected:?})",
            stored.format
        )));
    }
    let body = Arc::new(stored.body);
    let (header, ledger_at, aggregator_at) = {
        let body = body.clone();
        blocking(move || unframe(&body)).await??
    };
    if header.ledger.seq != stored.seq || header.views.seq < header.ledger.seq {
        return Err(CheckpointError::new(format!(
            "its positions disagree (row at {}, ledger at {}, views at {})",
            stored.seq, header.ledger.seq, header.views.seq
        )));
    }
    check_in_log(store, &header.ledger).await?;
    check_in_log(store, &header.views).await?;
    let alert_events: Vec<RecordedEvent> = serde_json::from_str(&header.alert_events)
        // serde_json's message may quote the text: not logged.
        .map_err(|_| CheckpointError::new("its alert events are unreadable"))?;
    // The two large parts decode side by side.
    let ledger = {
        let body = body.clone();
        tokio::task::spawn_blocking(move || Ledger::from_checkpoint(&body[ledger_at], names))
    };
    let aggregator = blocking(move || Aggregator::from_checkpoint(&body[aggregator_at])).await?;
    let ledger = ledger
        .await
        .map_err(|error| CheckpointError::new(format!("the blocking task failed: {error}")))?;
    let ledger = ledger.map_err(|error| CheckpointError::new(format!("the ledger: {error}")))?;
    let aggregator =
        aggregator.map_err(|error| CheckpointError::new(format!("the aggregator: {error}")))?;
    if ledger.last_seq() != header.ledger.seq || aggregator.last_seq() != header.views.seq {
        return Err(CheckpointError::new(format!(
            "its parts are not at the positions it names (ledger at {}, aggregator at {})",
            ledger.last_seq(),
            aggregator.last_seq()
        )));
    }
    let views_seq = header.views.seq;
    views.restore(Folded {
        aggregator,
        last: (views_seq > 0).then_some((views_seq, header.views.recorded_at, header.views.kind)),
        configured_queues: header.configured_queues,
        alert_events,
        events_applied: header.events_applied,
    });
    Ok((ledger, views_seq))
}

/// What a checkpoint written cost.
#[derive(Debug)]
pub struct Written {
    pub seq: u64,
    pub bytes: usize,
    /// How long writes waited: while the ledger was encoded, and while the
    /// aggregator was copied.
    pub writes_waited: Duration,
    pub took: Duration,
}

/// What writes this process's checkpoints: the log, the read side, the
/// writer (for its ledger) and the marks the periodic and the shutdown
/// checkpoints share. Cheap to clone.
#[derive(Clone)]
pub struct Checkpointer {
    pub store: Arc<dyn Store>,
    pub views: Arc<Views>,
    pub writer: Writer,
    pub marks: Arc<Checkpoints>,
}

impl Checkpointer {
    /// Writes a checkpoint of this process's state now. Skipped
    /// (`Ok(None)`) when nothing was applied since the last one.
    pub async fn write(&self) -> Result<Option<Written>, CheckpointError> {
        let _writing = self.marks.writing.lock().await;
        let written = self.marks.written.load(Ordering::Acquire);
        if self.views.last_seq() <= written {
            return Ok(None);
        }
        tracing::info!(from = written, "writing a checkpoint");
        let started = Instant::now();
        let (ledger_seq, ledger) = self
            .writer
            .checkpoint()
            .await
            .map_err(|error| CheckpointError::new(format!("the ledger: {error}")))?;
        let ledger_waited = started.elapsed();
        let views = self.views.clone();
        let (folded, copy_waited) = blocking(move || {
            let copying = Instant::now();
            let folded = views.folded();
            (folded, copying.elapsed())
        })
        .await?;
        let folded = folded.ok_or_else(|| CheckpointError::new("the read side is poisoned"))?;
        let views_mark = match folded.last {
            Some((seq, recorded_at, ref kind)) => Mark {
                seq,
                recorded_at,
                kind: kind.clone(),
            },
            None => return Ok(None),
        };
        if views_mark.seq < ledger_seq {
            return Err(CheckpointError::new(format!(
                "the read side (at {}) is behind the ledger (at {ledger_seq})",
                views_mark.seq
            )));
        }
        let store = self.store.as_ref();
        let ledger_mark = mark_in_log(store, ledger_seq)
            .await?
            .ok_or_else(|| CheckpointError::new(format!("the log has no event {ledger_seq}")))?;
        // The log is still the one applied (`crate::log_guard` would stop
        // the process otherwise): never write a checkpoint of another log.
        check_in_log(store, &views_mark).await?;
        let body = blocking(move || {
            let aggregator = folded
                .aggregator
                .checkpoint()
                .map_err(|error| CheckpointError::new(format!("the aggregator: {error}")))?;
            let alert_events = serde_json::to_string(&folded.alert_events)
                .map_err(|_| CheckpointError::new("cannot encode the alert events"))?;
            let header = Header {
                ledger: ledger_mark,
                views: views_mark,
                configured_queues: folded.configured_queues,
                alert_events,
                events_applied: folded.events_applied,
                ledger_len: ledger.len() as u64,
                aggregator_len: aggregator.len() as u64,
            };
            frame(&header, &ledger, &aggregator)
        })
        .await??;
        let bytes = body.len();
        let checkpoint = StoredCheckpoint {
            seq: ledger_seq,
            format: format_id(),
            created_at: now_millis(),
            body,
        };
        store
            .save_checkpoint(&checkpoint)
            .await
            .map_err(|error| CheckpointError::new(format!("cannot store it: {error}")))?;
        self.marks.written.fetch_max(ledger_seq, Ordering::AcqRel);
        Ok(Some(Written {
            seq: ledger_seq,
            bytes,
            writes_waited: ledger_waited + copy_waited,
            took: started.elapsed(),
        }))
    }

    /// Writes a checkpoint and logs what it cost, or why it failed (a
    /// failed checkpoint costs only a longer replay at the next start).
    pub async fn write_logged(&self, why: &'static str) {
        match self.write().await {
            Ok(Some(written)) => tracing::info!(
                why,
                seq = written.seq,
                bytes = written.bytes,
                writes_waited_ms = written.writes_waited.as_millis() as u64,
                millis = written.took.as_millis() as u64,
                "checkpoint written"
            ),
            Ok(None) => {}
            Err(reason) => tracing::warn!(why, %reason, "checkpoint not written"),
        }
    }

    /// Writes checkpoints on `schedule` for as long as the server runs.
    /// `restored` is where the state started from (a checkpoint's
    /// position, or 0 after a whole replay, which makes a large log's
    /// first one due at once).
    pub async fn run(self, schedule: Schedule, restored: u64) {
        self.marks.written.fetch_max(restored, Ordering::AcqRel);
        let mut last = Instant::now();
        loop {
            tokio::time::sleep(POLL).await;
            let written = self.marks.written.load(Ordering::Acquire);
            let applied = self.views.last_seq();
            let behind = applied.saturating_sub(written);
            let due = behind >= schedule.every_events
                || (behind > 0 && last.elapsed() >= schedule.interval);
            if due {
                self.write_logged("periodic").await;
                last = Instant::now();
            }
        }
    }

    /// The checkpoint at a graceful shutdown, after the last requests
    /// were answered and before the writer stops, bounded by `limit`.
    pub async fn at_shutdown(&self, limit: Duration) {
        if tokio::time::timeout(limit, self.write_logged("shutdown"))
            .await
            .is_err()
        {
            tracing::warn!(
                seconds = limit.as_secs(),
                "the shutdown checkpoint took too long; not written"
            );
        }
    }
}
