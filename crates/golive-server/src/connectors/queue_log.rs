//! The queue_log follower: reads the lines Asterisk appends to a
//! configured queue_log file and feeds them through the same mapping,
//! writer and saved state as `POST /api/v1/connectors/asterisk`; and,
//! whether or not a file is followed, closes the calls whose queue exit
//! never came once `close_waiting_after_seconds` have passed.
//!
//! Position: the file's device and inode, the offset of the first byte
//! not yet read (always a line's start: a line still being written is left
//! for the next poll), and a hash of the file's first bytes. Each poll:
//! - same inode, and the file at least as long as the offset with the
//!   same first bytes: read on from the offset;
//! - same inode but shorter, or other first bytes: the file was truncated
//!   in place (logrotate's `copytruncate`): read it from the start;
//! - another inode: the file was renamed away (logrotate's default,
//!   followed by `asterisk -rx "logger reload"`) and a new one created:
//!   the rest of the old file is read first, found by its inode among the
//!   files of the same directory (`queue_log.1`, `queue_log-20260302`…),
//!   then the new file from its start.
//!
//! The position is saved with the feed after every commit (see
//! [`super::asterisk`]), so a restart resumes where the last commit ended.
//! Calls waiting too long are closed only once the follower has read to
//! the end of the file, so a backlog read after a restart is never
//! mistaken for calls that never left their queue.

use crate::connectors::asterisk::{ingest, numbered_lines};
use crate::connectors::asterisk_feed::{FilePosition, Saved};
use crate::state::AppState;
use golive_connect::asterisk::StartAt;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The follower's name in metrics and `/readyz`.
pub const NAME: &str = "asterisk_queue_log";

/// Most bytes read and committed at once.
const CHUNK: usize = 1 << 20;
/// Bytes of the file's start whose hash tells a rewritten file apart.
const HEAD: u64 = 256;

/// Starts the follower (and the closing of calls that never left their
/// queue).
pub fn spawn(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let config = &state.connectors.asterisk.config;
        let interval = Duration::from_millis(config.poll_interval_ms);
        if config.queue_log.is_some() {
            state.connectors.update_health(NAME, |_| {});
        }
        loop {
            if state.writer().is_some()
                && let Err(error) = poll(&state).await
            {
                state.metrics.connector_error(NAME);
                state.connectors.update_health(NAME, |h| {
                    h.errors += 1;
                    h.last_error = Some(error.clone());
                    h.last_error_at = Some(golive_core::time::format_rfc3339(
                        golive_core::time::now_millis(),
                    ));
                });
                tracing::warn!(%error, "queue_log follower: poll failed; retrying");
            }
            tokio::time::sleep(interval).await;
        }
    })
}

/// One poll: everything new in the file, then the waiting calls.
async fn poll(state: &AppState) -> Result<(), String> {
    let connector = &state.connectors.asterisk;
    let mut saved = connector
        .lock(state.store.as_ref())
        .await
        .map_err(|e| e.message)?;
    if let Some(path) = connector.config.queue_log.clone() {
        loop {
            let caught_up = read_some(state, &mut saved, &path).await?;
            if caught_up {
                break;
            }
        }
        state.connectors.update_health(NAME, |h| {
            h.last_success = Some(golive_core::time::format_rfc3339(
                golive_core::time::now_millis(),
            ));
            h.cursor = saved
                .file
                .map(|f| format!("inode {} offset {}", f.ino, f.offset));
        });
    }
    if !saved.feed.waiting.is_empty() {
        ingest(state, &mut saved, std::iter::empty(), true, None)
            .await
            .map_err(|e| e.message)?;
    }
    Ok(())
}

/// Reads and commits at most one chunk; `true` once at the end of the
/// file (nothing, or less than a chunk, was left).
async fn read_some(state: &AppState, saved: &mut Saved, path: &Path) -> Result<bool, String> {
    let start_at = state.connectors.asterisk.config.start_at;
    let current = match std::fs::metadata(path) {
        Ok(meta) => meta,
        // Between the rename and the new file: the old one's rest is
        // read once the new file shows up.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let position = match saved.file {
        None => {
            let offset = match start_at {
                StartAt::Beginning => 0,
                StartAt::End => current.len(),
            };
            let file = std::fs::File::open(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            let mut position = fresh(&current, &file)?;
            position.offset = offset;
            saved.file = Some(position);
            position
        }
        Some(position) => position,
    };
    let same_file = position.dev == current.dev() && position.ino == current.ino();
    if !same_file {
        // Renamed away: finish the old file, then start the new one.
        if let Some(old) = find_by_inode(path, position) {
            let caught_up = read_from(state, saved, &old, position).await?;
            if !caught_up {
                return Ok(false);
            }
        }
        let file = std::fs::File::open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let next = fresh(&current, &file)?;
        return read_from(state, saved, path, next).await;
    }
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let rewritten = current.len() < position.offset
        || (position.head_len > 0 && head_hash(&file, position.head_len)? != position.head);
    if !rewritten {
        return read_from(state, saved, path, position).await;
    }
    // Truncated in place: the copy logrotate made holds the lines written
    // between the last read and the truncation.
    if let Some((copy, meta)) = find_copy(path, position) {
        let at_copy = FilePosition {
            dev: meta.dev(),
            ino: meta.ino(),
            ..position
        };
        if !read_from(state, saved, &copy, at_copy).await? {
            return Ok(false);
        }
    }
    let next = fresh(&current, &file)?;
    read_from(state, saved, path, next).await
}

/// The position at the start of `file`.
fn fresh(meta: &std::fs::Metadata, file: &std::fs::File) -> Result<FilePosition, String> {
    let head_len = meta.len().min(HEAD);
    Ok(FilePosition {
        dev: meta.dev(),
        ino: meta.ino(),
        offset: 0,
        head: head_hash(file, head_len)?,
        head_len,
    })
}

/// Reads complete lines of `path` from `position` (one chunk at most),
/// commits them and saves the position after them.
async fn read_from(
    state: &AppState,
    saved: &mut Saved,
    path: &Path,
    mut position: FilePosition,
) -> Result<bool, String> {
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let length = file.metadata().map_err(|e| e.to_string())?.len();
    if position.head_len < HEAD && length > position.head_len {
        // The file was shorter than the head when first seen: take more.
        position.head_len = length.min(HEAD);
        position.head = head_hash(&file, position.head_len)?;
    }
    file.seek(SeekFrom::Start(position.offset))
        .map_err(|e| e.to_string())?;
    let mut buffer = Vec::with_capacity(CHUNK.min(usize::try_from(length).unwrap_or(CHUNK)));
    (&mut file)
        .take(CHUNK as u64)
        .read_to_end(&mut buffer)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let full = buffer.len() == CHUNK;
    let consumed = match buffer.iter().rposition(|b| *b == b'\n') {
        Some(last) => last + 1,
        // A whole chunk without a line break is no queue_log line: skip it
        // (it is refused below as one line).
        None if full => buffer.len(),
        None => 0,
    };
    if consumed == 0 {
        if saved.file != Some(position) {
            saved.file = Some(position);
        }
        return Ok(true);
    }
    position.offset += consumed as u64;
    let answer = ingest(
        state,
        saved,
        numbered_lines(&buffer[..consumed]),
        false,
        Some(position),
    )
    .await
    .map_err(|e| e.message)?;
    let (accepted, rejected) = (answer.accepted(), answer.rejected_total());
    state.metrics.connector_records(NAME, accepted, rejected);
    state.connectors.update_health(NAME, |h| {
        h.records_accepted += accepted as u64;
        h.records_rejected += rejected as u64;
    });
    if rejected > 0 {
        // Never the lines themselves: ENTERQUEUE carries the caller's number.
        tracing::warn!(
            rejected,
            offset = position.offset,
            "queue_log follower: lines refused"
        );
    }
    Ok(!full)
}

/// FNV-1a of the first `len` bytes of `file`.
fn head_hash(file: &std::fs::File, len: u64) -> Result<u64, String> {
    let mut head = Vec::new();
    let mut reader = file;
    reader.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    reader
        .take(len)
        .read_to_end(&mut head)
        .map_err(|e| e.to_string())?;
    Ok(head.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    }))
}

/// A copy of the file beside `path` (what `copytruncate` leaves): the same
/// first bytes, at least as long as `position`'s offset.
fn find_copy(path: &Path, position: FilePosition) -> Option<(PathBuf, std::fs::Metadata)> {
    let directory = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    std::fs::read_dir(directory)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|candidate| candidate != path)
        .find_map(|candidate| {
            let meta = std::fs::metadata(&candidate).ok()?;
            let file = std::fs::File::open(&candidate).ok()?;
            let same_head = meta.is_file()
                && meta.len() >= position.offset
                && meta.len() >= position.head_len
                && head_hash(&file, position.head_len).ok()? == position.head;
            same_head.then_some((candidate, meta))
        })
}

/// The file beside `path` with `position`'s device and inode (where a
/// rotation renamed it), if any.
fn find_by_inode(path: &Path, position: FilePosition) -> Option<PathBuf> {
    let directory = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    std::fs::read_dir(directory)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.dev() == position.dev && meta.ino() == position.ino)
        })
}
