//! The single writer: group commit of validated commands.
//!
//! Handlers send commands here and wait. The writer drains whatever has
//! queued up, decides every command against the ledger inside one store
//! transaction, commits once (one fsync shared by every request in the
//! batch), hands the committed events to the applier (`crate::applier`,
//! the read side's one way in) and answers each request once they are
//! applied: a request is answered only after its commit, and its writes are
//! visible on this replica when it is.
//!
//! Other replicas' commits reach the ledger two ways: what the tailer
//! applied is folded in between batches, and under the log's lock a commit
//! reads only what was committed since (usually nothing, or the last few
//! milliseconds' worth).
//!
//! A large batch is decided in parts of [`PART_EVENTS`] events, which the
//! store writes while the writer decides the next part (all in the one
//! transaction), so deciding and writing overlap instead of taking turns.
//! A large group is decided with the async worker's other tasks handed to
//! another thread (`crate::offload::in_place`), so requests and sockets
//! queued there do not wait for it.
//!
//! One request never fails another's write. When a commit fails because
//! the database is unavailable (down, busy, out of space, timed out; see
//! `StoreError::is_unavailable`), every request of the batch is answered
//! "not committed, try again": nothing of theirs was written. Any other
//! failure may be one command's own data (a value the database refuses),
//! so the batch is split in two halves that are committed one after the
//! other, each decided afresh against the rolled-back ledger, down to the
//! single command at fault, which alone is refused (422: sending it again
//! will not help). A command must be had again for such a retry: a small
//! request's commands are kept and the ledger decides copies; a bulk
//! request's are moved into the ledger and, only if a retry needs them,
//! rebuilt by the request ([`Writer::submit_rebuildable`]: bulk ingest
//! parses the line again), since copying every command of a bulk costs
//! more than all the rest of deciding it.

use crate::applier::{Applier, Source, Tailed};
use crate::offload;
use golive_core::event::RecordedEvent;
use golive_core::input::Rejection;
use golive_core::ledger::{Command, Ledger, Outcome};
use golive_core::time::now_millis;
use golive_store::{CommitBatch, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Upper bound of commands decided in one transaction when many small
/// requests are queued (one bulk request may exceed it on its own).
const MAX_BATCH_COMMANDS: usize = 8192;

/// Events per part of a large batch: the store writes one part while the
/// writer decides the next (`Store::commit_parts`), so deciding and writing
/// overlap. About one statement's worth of rows for either backend.
const PART_EVENTS: usize = 1000;

/// Per command: what it did, or why it was refused.
pub type Decisions = Vec<Result<Outcome, Rejection>>;

/// Why a whole request could not be committed (nothing of it was).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the database refused the commit: {0}")]
    Commit(String),
    #[error("the writer has stopped")]
    Stopped,
}

enum Message {
    Write(WriteRequest),
    /// The ledger as checkpoint bytes (`crate::checkpoint`), with the
    /// sequence number it holds the log up to.
    Checkpoint(oneshot::Sender<Result<(u64, Vec<u8>), String>>),
    /// Sent after the HTTP server has finished its in-flight requests.
    Close(oneshot::Sender<()>),
}

/// Builds a request's command `i` again for a retry after a failed
/// commit took it: the same command, or `None` if that is impossible.
pub type Rebuild = Box<dyn Fn(usize) -> Option<Command> + Send>;

struct WriteRequest {
    /// Each command until an attempt takes it (one without `rebuild` only
    /// lends copies, so its commands are never taken).
    commands: Vec<Option<Command>>,
    rebuild: Option<Rebuild>,
    reply: oneshot::Sender<Result<Decisions, String>>,
}

impl WriteRequest {
    /// Command `i` for an attempt to commit it.
    fn command(&mut self, i: usize) -> Option<Command> {
        match &self.rebuild {
            None => self.commands.get(i).cloned().flatten(),
            Some(rebuild) => self
                .commands
                .get_mut(i)
                .and_then(Option::take)
                .or_else(|| rebuild(i)),
        }
    }
}

/// Cheap handle for submitting commands to the writer.
#[derive(Clone)]
pub struct Writer {
    sender: mpsc::Sender<Message>,
}

impl Writer {
    /// Starts the writer task over a ledger already caught up with the log,
    /// handing its commits to `applier` and following the events the
    /// tailer applied (`tailed`) between commits.
    pub fn start(
        store: Arc<dyn Store>,
        ledger: Ledger,
        applier: Arc<Applier>,
        tailed: mpsc::UnboundedReceiver<Tailed>,
    ) -> (Writer, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(4096);
        let task = tokio::spawn(run(receiver, tailed, store, ledger, applier));
        (Writer { sender }, task)
    }

    /// Submits commands and waits until they are committed (or refused).
    pub async fn submit(&self, commands: Vec<Command>) -> Result<Decisions, WriteError> {
        self.send(commands, None).await
    }

    /// [`Writer::submit`] for many commands that `rebuild` can build again:
    /// they are moved into the ledger instead of copied, and rebuilt only
    /// if a failed commit must be retried.
    pub async fn submit_rebuildable(
        &self,
        commands: Vec<Command>,
        rebuild: Rebuild,
    ) -> Result<Decisions, WriteError> {
        self.send(commands, Some(rebuild)).await
    }

    async fn send(
        &self,
        commands: Vec<Command>,
        rebuild: Option<Rebuild>,
    ) -> Result<Decisions, WriteError> {
        let (reply, answer) = oneshot::channel();
        let request = WriteRequest {
            commands: commands.into_iter().map(Some).collect(),
            rebuild,
            reply,
        };
        self.sender
            .send(Message::Write(request))
            .await
            .map_err(|_| WriteError::Stopped)?;
        match answer.await {
            Ok(Ok(decisions)) => Ok(decisions),
            Ok(Err(message)) => Err(WriteError::Commit(message)),
            Err(_) => Err(WriteError::Stopped),
        }
    }

    /// The ledger as checkpoint bytes and the position it is at, taken
    /// between two batches. Writes wait while it is encoded (off the
    /// runtime, on the blocking pool).
    pub async fn checkpoint(&self) -> Result<(u64, Vec<u8>), WriteError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Message::Checkpoint(reply))
            .await
            .map_err(|_| WriteError::Stopped)?;
        match answer.await {
            Ok(Ok(taken)) => Ok(taken),
            Ok(Err(message)) => Err(WriteError::Commit(message)),
            Err(_) => Err(WriteError::Stopped),
        }
    }

    /// Stops the writer once everything queued before is committed.
    pub async fn close(&self) {
        let (done, finished) = oneshot::channel();
        if self.sender.send(Message::Close(done)).await.is_ok() {
            let _ = finished.await;
        }
    }

    /// Submits one command.
    pub async fn submit_one(
        &self,
        command: Command,
    ) -> Result<Result<Outcome, Rejection>, WriteError> {
        let mut decisions = self.submit(vec![command]).await?;
        decisions.pop().ok_or(WriteError::Stopped)
    }
}

async fn run(
    mut receiver: mpsc::Receiver<Message>,
    mut tailed: mpsc::UnboundedReceiver<Tailed>,
    store: Arc<dyn Store>,
    mut ledger: Ledger,
    applier: Arc<Applier>,
) {
    let mut closing = None;
    loop {
        let message = tokio::select! {
            message = receiver.recv() => message,
            Some(events) = tailed.recv() => {
                follow(&mut ledger, &events);
                continue;
            }
        };
        let Some(message) = message else { break };
        let first = match message {
            Message::Write(request) => request,
            Message::Close(done) => {
                closing = Some(done);
                break;
            }
            Message::Checkpoint(reply) => {
                while let Ok(events) = tailed.try_recv() {
                    follow(&mut ledger, &events);
                }
                let _ = reply.send(checkpoint(&mut ledger).await);
                continue;
            }
        };
        let mut checkpoints = Vec::new();
        let mut queued = first.commands.len();
        let mut requests = vec![first];
        while queued < MAX_BATCH_COMMANDS {
            match receiver.try_recv() {
                Ok(Message::Write(more)) => {
                    queued += more.commands.len();
                    requests.push(more);
                }
                Ok(Message::Close(done)) => {
                    closing = Some(done);
                    break;
                }
                Ok(Message::Checkpoint(reply)) => checkpoints.push(reply),
                Err(_) => break,
            }
        }
        // What the tailer brought meanwhile: not to be read again under
        // the log's lock.
        while let Ok(events) = tailed.try_recv() {
            follow(&mut ledger, &events);
        }
        commit_requests(&store, &mut ledger, &applier, requests).await;
        for reply in checkpoints {
            let _ = reply.send(checkpoint(&mut ledger).await);
        }
        if closing.is_some() {
            break;
        }
    }
    tracing::info!("writer stopped: every accepted write is committed");
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// Encodes the ledger on the blocking pool (it is moved there and back:
/// nothing else uses it meanwhile). Returns its position and bytes.
async fn checkpoint(ledger: &mut Ledger) -> Result<(u64, Vec<u8>), String> {
    let taken = std::mem::take(ledger);
    let encoded = tokio::task::spawn_blocking(move || {
        let bytes = taken.checkpoint();
        (taken, bytes)
    })
    .await;
    match encoded {
        Ok((back, bytes)) => {
            *ledger = back;
            bytes
                .map(|bytes| (ledger.last_seq(), bytes))
                .map_err(|error| error.to_string())
        }
        // The ledger went with the task: the writer cannot go on.
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => panic!("the ledger was lost while encoding a checkpoint: {error}"),
    }
}

/// Folds into the ledger the events the tailer applied that it does not
/// have yet (its own commits come back this way too, and are skipped). A
/// run that does not continue the ledger is left for the next commit's
/// catch-up under the log's lock, which reads from the ledger's last.
fn follow(ledger: &mut Ledger, events: &[RecordedEvent]) {
    for event in events {
        if event.seq <= ledger.last_seq() {
            continue;
        }
        if event.seq != ledger.last_seq() + 1 {
            break;
        }
        ledger.apply(event);
    }
}

/// A run of one request's commands: `request`'s `start..end`.
#[derive(Clone, Copy, Debug)]
struct Segment {
    request: usize,
    start: usize,
    end: usize,
}

/// Commands of consecutive segments, committed in one transaction.
type Group = Vec<Segment>;

fn group_len(group: &[Segment]) -> usize {
    group.iter().map(|s| s.end - s.start).sum()
}

/// Splits a group into two halves by command count, in order.
fn halves(group: Group) -> (Group, Group) {
    let half = group_len(&group) / 2;
    let (mut first, mut second) = (Vec::new(), Vec::new());
    let mut taken = 0;
    for segment in group {
        let length = segment.end - segment.start;
        if taken >= half {
            second.push(segment);
        } else if taken + length <= half {
            first.push(segment);
        } else {
            let cut = segment.start + (half - taken);
            first.push(Segment {
                end: cut,
                ..segment
            });
            second.push(Segment {
                start: cut,
                ..segment
            });
        }
        taken += length;
    }
    (first, second)
}

/// Commits the requests of one batch and answers each; see the module
/// documentation for how a failing commit is isolated.
async fn commit_requests(
    store: &Arc<dyn Store>,
    ledger: &mut Ledger,
    applier: &Applier,
    mut requests: Vec<WriteRequest>,
) {
    let mut results: Vec<Vec<Option<Result<Outcome, Rejection>>>> = requests
        .iter()
        .map(|r| vec![None; r.commands.len()])
        .collect();
    let whole: Group = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.commands.is_empty())
        .map(|(request, r)| Segment {
            request,
            start: 0,
            end: r.commands.len(),
        })
        .collect();
    // Groups still to commit, the next one last.
    let mut work = vec![whole];
    let mut unavailable: Option<String> = None;
    while let Some(group) = work.pop() {
        if group.is_empty() || unavailable.is_some() {
            continue;
        }
        let error = match commit_group(store, ledger, applier, &mut requests, &group).await {
            Ok(decided) => {
                let mut decided = decided.into_iter();
                for segment in &group {
                    for slot in &mut results[segment.request][segment.start..segment.end] {
                        *slot = decided.next();
                    }
                }
                continue;
            }
            Err(error) => error,
        };
        if error.is_unavailable() {
            tracing::error!(error = %error, "commit failed; the batch was rolled back");
            unavailable = Some(error.to_string());
        } else if group_len(&group) == 1 {
            // Only this command's own data is left to blame. Store errors
            // never carry ticket text, so logging this one is safe.
            tracing::warn!(error = %error, "the database refused one command; it alone is refused");
            let segment = group[0];
            results[segment.request][segment.start] = Some(Err(Rejection::refused_by_database()));
        } else {
            tracing::debug!(
                error = %error,
                commands = group_len(&group),
                "commit failed; retrying its halves apart to isolate the command at fault"
            );
            let (first, second) = halves(group);
            work.push(second);
            work.push(first);
        }
    }
    for (request, decisions) in requests.into_iter().zip(results) {
        // Nothing of the request decided: it was all in groups that could
        // not be committed, so the whole request is "try again".
        let answer = match &unavailable {
            Some(error) if decisions.iter().all(Option::is_none) => Err(error.clone()),
            _ => Ok(decisions
                .into_iter()
                .map(|d| d.unwrap_or_else(|| Err(Rejection::unavailable())))
                .collect()),
        };
        // A client that went away still had its write committed.
        let _ = request.reply.send(answer);
    }
}

/// Decides `group`'s commands against the ledger inside one store
/// transaction and commits. On success the ledger keeps the decisions and
/// the events go to the applier, and this returns once they are applied
/// (a request is answered after its writes are visible on this replica);
/// on failure the ledger is rolled back (events other writers had
/// committed stay applied).
async fn commit_group(
    store: &Arc<dyn Store>,
    ledger: &mut Ledger,
    applier: &Applier,
    requests: &mut [WriteRequest],
    group: &[Segment],
) -> Result<Decisions, StoreError> {
    let recorded_at = now_millis();
    let mut caught_up = Vec::new();
    let mut decided: Decisions = Vec::with_capacity(group_len(group));
    // The next command: (index into `group`, index into its request).
    let mut segments = group.iter().peekable();
    let mut position = group.first().map_or(0, |s| s.start);
    let mut started = false;
    let heavy = group_len(group) >= offload::HEAVY;
    let result = store
        .commit_parts(ledger.last_seq(), &mut |missed: Vec<RecordedEvent>| {
            // Deciding a large part takes milliseconds: not on an async
            // worker other requests are queued on.
            offload::in_place(heavy, || {
                if !std::mem::replace(&mut started, true) {
                    for event in &missed {
                        ledger.apply(event);
                    }
                    caught_up = missed;
                    ledger.begin_batch();
                }
                let mut events = Vec::with_capacity(PART_EVENTS);
                while events.len() < PART_EVENTS {
                    let Some(segment) = segments.peek() else {
                        break;
                    };
                    if position >= segment.end {
                        segments.next();
                        position = segments.peek().map_or(0, |s| s.start);
                        continue;
                    }
                    let command = requests[segment.request].command(position);
                    position += 1;
                    let Some(command) = command else {
                        decided.push(Err(Rejection::unavailable()));
                        continue;
                    };
                    let decision = ledger.decide_into(command, recorded_at, &mut events);
                    decided.push(decision);
                }
                // The store hands the events back once committed.
                CommitBatch::new(ledger.rows_of(&events), events)
            })
        })
        .await;
    // Events other writers committed are real whether or not ours landed.
    let (committed, outcome) = match result {
        Ok((_, new_events)) => {
            ledger.commit_batch();
            let committed = if caught_up.is_empty() {
                new_events
            } else {
                let mut committed = caught_up;
                committed.extend(new_events);
                committed
            };
            (committed, Ok(decided))
        }
        Err(error) => {
            ledger.rollback_batch();
            (caught_up, Err(error))
        }
    };
    if !committed.is_empty()
        && let Err(error) = applier.apply(committed, Source::Writer).await
    {
        // Committed all the same; the tailer's next catch-up applies it.
        tracing::warn!(%error, "committed events wait for the next catch-up");
    }
    if outcome.is_ok() {
        crate::fault::trip(crate::fault::Point::Writer);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(request: usize, start: usize, end: usize) -> Segment {
        Segment {
            request,
            start,
            end,
        }
    }

    fn flat(group: &[Segment]) -> Vec<(usize, usize)> {
        group
            .iter()
            .flat_map(|s| (s.start..s.end).map(move |i| (s.request, i)))
            .collect()
    }

    fn call(id: &str) -> Command {
        Command::RecordCall(golive_core::event::CallRecorded {
            call_id: id.into(),
            queue: "Q".into(),
            event: golive_core::model::CallEventKind::Offered,
            at: 1_772_435_645_000,
            agent: None,
            wrap_seconds: None,
        })
    }

    /// Kept commands are lent as copies to every attempt; rebuildable ones
    /// are taken by the first attempt and rebuilt for the next.
    #[test]
    fn a_request_has_its_commands_again_for_a_retry() {
        let (reply, _answer) = oneshot::channel();
        let mut kept = WriteRequest {
            commands: vec![Some(call("a"))],
            rebuild: None,
            reply,
        };
        assert_eq!(kept.command(0), Some(call("a")));
        assert_eq!(kept.command(0), Some(call("a")));
        assert_eq!(kept.command(1), None);
        let (reply, _answer) = oneshot::channel();
        let mut rebuilt = WriteRequest {
            commands: vec![Some(call("a")), Some(call("b"))],
            rebuild: Some(Box::new(|i| Some(call(&format!("again-{i}"))))),
            reply,
        };
        assert_eq!(rebuilt.command(1), Some(call("b")));
        assert_eq!(rebuilt.command(1), Some(call("again-1")));
        assert!(rebuilt.commands[0].is_some(), "untouched until used");
    }

    /// Halves keep every command exactly once, in order, and shrink.
    #[test]
    fn halves_split_by_command_count_in_order() {
        for group in [
            vec![seg(0, 0, 1), seg(1, 0, 1)],
            vec![seg(0, 0, 7)],
            vec![seg(0, 0, 3), seg(1, 0, 1), seg(2, 0, 5)],
            vec![seg(0, 2, 3), seg(4, 0, 2)],
        ] {
            let (first, second) = halves(group.clone());
            let mut joined = flat(&first);
            joined.extend(flat(&second));
            assert_eq!(joined, flat(&group));
            assert!(group_len(&first) >= 1 && group_len(&second) >= 1);
            assert_eq!(group_len(&first), group_len(&group) / 2);
        }
    }
}
