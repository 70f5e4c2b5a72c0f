//! The projection rows a batch of newly decided events touched, as the
//! ledger holds them after the batch: what the writer hands the store to
//! write beside the events, so the store persists rows and never reads
//! the write side's state. The ledger hands its rows in
//! ([`Ledger::rows_of`](super::Ledger::rows_of)); nothing here reads it.

use crate::event::{CallLegReplaced, CallRecorded, Event, RecordedEvent, TicketId};
use crate::model::QueueSettings;
use crate::record::{CallRecord, TicketRecord};
use std::collections::HashSet;

/// The rows of the `tickets`, `calls` and `queues` projections one batch
/// of events touched (full rows; a ticket's summary and reporter role only
/// when it was created in the batch, since only then are they written).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    pub tickets: Vec<TicketRecord>,
    pub calls: Vec<CallRecord>,
    pub queues: Vec<(String, QueueSettings)>,
}

impl Rows {
    /// The rows `events` (decided in order) touched, as `ticket` and
    /// `call` give them after the batch: a ticket created and updated in
    /// the batch is one row, as it ends up, and so is a call leg touched
    /// twice (PostgreSQL refuses an upsert that touches a row twice in one
    /// statement).
    pub fn of(
        events: &[RecordedEvent],
        ticket: impl Fn(TicketId) -> Option<TicketRecord>,
        call: impl Fn(&str, &str) -> Option<CallRecord>,
    ) -> Rows {
        let mut rows = Rows::default();
        let created: HashSet<TicketId> = events
            .iter()
            .filter_map(|e| match &e.event {
                Event::TicketCreated(created) => Some(created.id),
                _ => None,
            })
            .collect();
        rows.tickets.reserve(
            events
                .iter()
                .filter(|e| matches!(e.event, Event::TicketCreated(_) | Event::TicketChanged(_)))
                .count(),
        );
        let mut changed: HashSet<TicketId> = HashSet::new();
        let mut legs: HashSet<(&str, &str)> = HashSet::new();
        for recorded in events {
            match &recorded.event {
                Event::TicketCreated(created) => {
                    if let Some(mut row) = ticket(created.id) {
                        row.summary = created.summary.clone();
                        row.reporter_role = created.reporter_role.clone();
                        rows.tickets.push(row);
                    }
                }
                Event::TicketChanged(change) => {
                    if !created.contains(&change.id)
                        && changed.insert(change.id)
                        && let Some(row) = ticket(change.id)
                    {
                        rows.tickets.push(row);
                    }
                }
                Event::CallRecorded(CallRecorded { call_id, queue, .. })
                | Event::CallLegReplaced(CallLegReplaced { call_id, queue, .. }) => {
                    if legs.insert((call_id.as_str(), queue.as_str()))
                        && let Some(row) = call(call_id, queue)
                    {
                        rows.calls.push(row);
                    }
                }
                Event::QueueConfigured(q) => {
                    rows.queues.retain(|(name, _)| name != &q.queue);
                    rows.queues.push((q.queue.clone(), q.settings));
                }
                // Kept in the log only: no projection table shows them.
                Event::AlertAcknowledged(_)
                | Event::AlertRaised(_)
                | Event::AlertCleared(_)
                | Event::KnownIssueCreated(_)
                | Event::KnownIssueChanged(_) => {}
            }
        }
        rows
    }
}
