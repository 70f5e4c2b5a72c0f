//! The single writer: group commit of validated commands.
//!
//! Handlers send commands here and wait. The writer drains whatever has
//! queued up, decides every command against the ledger inside one store
//! transaction, commits once (one fsync shared by every request in the
//! batch), then answers each request and hands the committed events to the
//! read side. A request is answered only after its commit.
//!
//! A large batch is decided in parts of [`PART_EVENTS`] events, which the
//! store writes while the writer decides the next part (all in the one
//! transaction), so deciding and writing overlap instead of taking turns.

use crate::views::Views;
use golive_core::event::RecordedEvent;
use golive_core::input::Rejection;
use golive_core::ledger::{Command, Ledger, Outcome};
use golive_core::time::now_millis;
use golive_store::{CommitBatch, Store};
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

/// Why a whole request could not be committed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the database refused the commit: {0}")]
    Commit(String),
    #[error("the writer has stopped")]
    Stopped,
}

enum Message {
    Write(WriteRequest),
    /// Sent after the HTTP server has finished its in-flight requests.
    Close(oneshot::Sender<()>),
}

struct WriteRequest {
    commands: Vec<Command>,
    reply: oneshot::Sender<Result<Decisions, String>>,
}

/// Cheap handle for submitting commands to the writer.
#[derive(Clone)]
pub struct Writer {
    sender: mpsc::Sender<Message>,
}

impl Writer {
    /// Starts the writer task over a ledger already caught up with the log.
    pub fn start(
        store: Arc<dyn Store>,
        ledger: Ledger,
        views: Arc<Views>,
    ) -> (Writer, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(4096);
        let task = tokio::spawn(run(receiver, store, ledger, views));
        (Writer { sender }, task)
    }

    /// Submits commands and waits until they are committed (or refused).
    pub async fn submit(&self, commands: Vec<Command>) -> Result<Decisions, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Message::Write(WriteRequest { commands, reply }))
            .await
            .map_err(|_| WriteError::Stopped)?;
        match answer.await {
            Ok(Ok(decisions)) => Ok(decisions),
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
    store: Arc<dyn Store>,
    mut ledger: Ledger,
    views: Arc<Views>,
) {
    let mut closing = None;
    while let Some(message) = receiver.recv().await {
        let first = match message {
            Message::Write(request) => request,
            Message::Close(done) => {
                closing = Some(done);
                break;
            }
        };
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
                Err(_) => break,
            }
        }
        commit_requests(&store, &mut ledger, &views, requests).await;
        if closing.is_some() {
            break;
        }
    }
    tracing::info!("writer stopped: every accepted write is committed");
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

async fn commit_requests(
    store: &Arc<dyn Store>,
    ledger: &mut Ledger,
    views: &Views,
    requests: Vec<WriteRequest>,
) {
    let recorded_at = now_millis();
    let mut caught_up = Vec::new();
    let mut replies = Vec::with_capacity(requests.len());
    // Each request's commands, decided in order over the parts.
    let mut pending = Vec::with_capacity(requests.len());
    let mut decided: Vec<Decisions> = Vec::with_capacity(requests.len());
    for request in requests {
        decided.push(Vec::with_capacity(request.commands.len()));
        pending.push(request.commands.into_iter());
        replies.push(request.reply);
    }
    let mut next_request = 0;
    let mut started = false;
    let result = store
        .commit_parts(ledger.last_seq(), &mut |missed: Vec<RecordedEvent>| {
            if !std::mem::replace(&mut started, true) {
                for event in &missed {
                    ledger.apply(event);
                }
                caught_up = missed;
                ledger.begin_batch();
            }
            let mut events = Vec::with_capacity(PART_EVENTS);
            while events.len() < PART_EVENTS && next_request < pending.len() {
                let Some(command) = pending[next_request].next() else {
                    next_request += 1;
                    continue;
                };
                let decision = ledger.decide_into(command, recorded_at, &mut events);
                decided[next_request].push(decision);
            }
            // The store hands the events back once committed.
            CommitBatch::from_ledger(ledger, events)
        })
        .await;
    // Events other writers committed are real whether or not ours landed.
    if !caught_up.is_empty() {
        views.apply(&caught_up);
    }
    match result {
        Ok((_, new_events)) => {
            ledger.commit_batch();
            if !new_events.is_empty() {
                views.apply(&new_events);
            }
            for (reply, decisions) in replies.into_iter().zip(decided) {
                // A client that went away still had its write committed.
                let _ = reply.send(Ok(decisions));
            }
        }
        Err(error) => {
            ledger.rollback_batch();
            tracing::error!(error = %error, "commit failed; the batch was rolled back");
            for reply in replies {
                let _ = reply.send(Err(error.to_string()));
            }
        }
    }
}
