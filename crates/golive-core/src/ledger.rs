//! The ledger: the write side's memory of what has been accepted, used to
//! decide whether a command is allowed and what event it becomes.
//!
//! It holds just enough per ticket and per call to enforce the contract
//! (idempotency by `external_id` and by (`call_id`, `event`), status
//! transitions, possible call sequences) and to rebuild projection rows. It
//! is a fold of the event log, so replaying the log rebuilds it exactly.
//!
//! Decisions happen in batches inside the store's commit: `begin_batch`,
//! any number of `decide`, then `commit_batch` once the store committed or
//! `rollback_batch` if it failed, which restores the state from an undo log
//! so that an uncommitted event never leaves a trace.

use crate::event::{
    AlertAcknowledged, CallRecorded, Event, QueueConfigured, RecordedEvent, TicketChanged,
    TicketCreated, TicketId,
};
use crate::input::{NewTicket, QueueBody, Rejection, TicketPatch, TicketRef};
use crate::model::{CallEventKind, Category, Channel, QueueSettings, Severity, TicketStatus};
use crate::record::{CallRecord, TicketRecord};
use crate::time::{Millis, format_rfc3339};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Hashes ticket ids, which the server hands out (sequence numbers), so no
/// client can choose keys that collide: a multiply is enough, where the
/// default SipHash costs more than the rest of a lookup. Keys that clients
/// choose (external ids, call ids, names) keep the default hasher.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        // Fibonacci hashing: sequential ids spread over every bucket, and
        // the high bits (which the table also uses) are well mixed.
        self.0 = (self.0 ^ id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A request to change state, already validated field by field.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    CreateTicket(NewTicket),
    UpdateTicket(TicketRef, TicketPatch),
    RecordCall(CallRecorded),
    ConfigureQueue {
        queue: String,
        body: QueueBody,
    },
    /// Validated by the caller (`input::acknowledgement`); always accepted.
    AcknowledgeAlert(AlertAcknowledged),
}

/// What an accepted command did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A new ticket with this id.
    TicketCreated(TicketId),
    /// The `external_id` was already known: nothing new was recorded.
    TicketExists(TicketId),
    /// The ticket was changed (or already was as asked: `changed` false).
    TicketUpdated { id: TicketId, changed: bool },
    /// The call event was recorded (`duplicate`: it already had been).
    CallRecorded { duplicate: bool },
    /// The queue now has these settings.
    QueueConfigured(QueueSettings),
    /// The acknowledgement was recorded.
    AlertAcknowledged,
}

#[derive(Clone, Debug)]
struct TicketState {
    external_id: Option<Arc<str>>,
    opened_at: Millis,
    updated_at: Millis,
    resolved_at: Option<Millis>,
    status: TicketStatus,
    site: Arc<str>,
    department: Arc<str>,
    application: Arc<str>,
    category: Category,
    severity: Severity,
    channel: Channel,
    tier: Option<u8>,
    assignee: Option<Arc<str>>,
}

/// What the ledger keeps of a call. A go-live week has half a million
/// calls, so this is 48 plain bytes: times use `NOT_YET` for "no such event
/// yet", names are ids in the ledger's name table, a missing wrap time is
/// NaN.
#[derive(Clone, Copy, Debug)]
struct CallState {
    offered: Millis,
    answered: Millis,
    abandoned: Millis,
    ended: Millis,
    wrap_seconds: f64,
    queue: u32,
    agent: u32,
}

/// Marks an event a call has not had.
const NOT_YET: Millis = Millis::MIN;
/// Marks a name a call does not have.
const NO_NAME: u32 = u32::MAX;

impl CallState {
    const EMPTY: CallState = CallState {
        offered: NOT_YET,
        answered: NOT_YET,
        abandoned: NOT_YET,
        ended: NOT_YET,
        wrap_seconds: f64::NAN,
        queue: NO_NAME,
        agent: NO_NAME,
    };

    fn time_of(&self, kind: CallEventKind) -> Option<Millis> {
        let at = match kind {
            CallEventKind::Offered => self.offered,
            CallEventKind::Answered => self.answered,
            CallEventKind::Abandoned => self.abandoned,
            CallEventKind::Ended => self.ended,
        };
        (at != NOT_YET).then_some(at)
    }
}

/// Undo log entries: the value a key had before the batch touched it.
enum Undo {
    Ticket(TicketId, Option<TicketState>),
    External(Arc<str>, Option<TicketId>),
    Call(Box<str>, Option<CallState>),
    Queue(Arc<str>, Option<QueueSettings>),
    LastSeq(u64),
}

/// The write side's state. See the module documentation.
#[derive(Default)]
pub struct Ledger {
    last_seq: u64,
    tickets: HashMap<TicketId, TicketState, BuildHasherDefault<IdHasher>>,
    external_ids: HashMap<Arc<str>, TicketId>,
    calls: HashMap<Box<str>, CallState>,
    /// Queue and agent names of calls, by id (see `CallState`).
    call_names: Vec<Arc<str>>,
    call_name_ids: HashMap<Arc<str>, u32>,
    queues: BTreeMap<Arc<str>, QueueSettings>,
    names: HashSet<Arc<str>>,
    undo: Option<Vec<Undo>>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sequence number of the last event folded in.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Number of tickets and calls known.
    pub fn counts(&self) -> (usize, usize) {
        (self.tickets.len(), self.calls.len())
    }

    /// Folds in an event that is already in the log (replay, or an event
    /// another writer committed). Must be called in sequence order.
    pub fn apply(&mut self, recorded: &RecordedEvent) {
        self.apply_event(recorded.seq, &recorded.event);
    }

    /// Starts recording undo information for a batch of decisions.
    pub fn begin_batch(&mut self) {
        self.undo = Some(Vec::new());
    }

    /// The batch was committed: forget the undo log.
    pub fn commit_batch(&mut self) {
        self.undo = None;
    }

    /// The batch was not committed: restore the state from before it.
    pub fn rollback_batch(&mut self) {
        let Some(undo) = self.undo.take() else { return };
        for entry in undo.into_iter().rev() {
            match entry {
                Undo::Ticket(id, Some(state)) => {
                    self.tickets.insert(id, state);
                }
                Undo::Ticket(id, None) => {
                    self.tickets.remove(&id);
                }
                Undo::External(key, Some(id)) => {
                    self.external_ids.insert(key, id);
                }
                Undo::External(key, None) => {
                    self.external_ids.remove(&key);
                }
                Undo::Call(key, Some(state)) => {
                    self.calls.insert(key, state);
                }
                Undo::Call(key, None) => {
                    self.calls.remove(&key);
                }
                Undo::Queue(key, Some(settings)) => {
                    self.queues.insert(key, settings);
                }
                Undo::Queue(key, None) => {
                    self.queues.remove(&key);
                }
                Undo::LastSeq(seq) => self.last_seq = seq,
            }
        }
    }

    /// Decides a command against the current state. When it is accepted and
    /// changes something, the returned event (sequence number `last_seq()`
    /// after the call) has already been folded in.
    pub fn decide(&mut self, command: Command) -> Result<(Outcome, Option<Event>), Rejection> {
        match command {
            Command::CreateTicket(ticket) => Ok(self.decide_create(ticket)),
            Command::UpdateTicket(target, patch) => self.decide_update(&target, patch),
            Command::RecordCall(call) => self.decide_call(call),
            Command::ConfigureQueue { queue, body } => {
                let settings = body.merge_into(self.queue_settings(&queue))?;
                let event = Event::QueueConfigured(QueueConfigured { queue, settings });
                Ok(self.accept(Outcome::QueueConfigured(settings), event))
            }
            Command::AcknowledgeAlert(ack) => {
                Ok(self.accept(Outcome::AlertAcknowledged, Event::AlertAcknowledged(ack)))
            }
        }
    }

    fn accept(&mut self, outcome: Outcome, event: Event) -> (Outcome, Option<Event>) {
        self.apply_event(self.last_seq + 1, &event);
        (outcome, Some(event))
    }

    fn decide_create(&mut self, t: NewTicket) -> (Outcome, Option<Event>) {
        if let Some(existing) = t
            .external_id
            .as_deref()
            .and_then(|key| self.external_ids.get(key))
        {
            return (Outcome::TicketExists(*existing), None);
        }
        let id = self.last_seq + 1;
        let event = Event::TicketCreated(TicketCreated {
            id,
            external_id: t.external_id,
            opened_at: t.opened_at,
            site: t.site,
            department: t.department,
            application: t.application,
            category: t.category,
            severity: t.severity,
            channel: t.channel,
            summary: t.summary,
            reporter_role: t.reporter_role,
            status: t.status,
            resolved_at: t.resolved_at,
            assignee: t.assignee,
            tier: t.tier,
        });
        self.accept(Outcome::TicketCreated(id), event)
    }

    /// Resolves a ticket reference to an id that exists.
    pub fn find_ticket(&self, target: &TicketRef) -> Option<TicketId> {
        match target {
            TicketRef::Id(id) => self.tickets.contains_key(id).then_some(*id),
            TicketRef::External(key) => self.external_ids.get(key.as_str()).copied(),
        }
    }

    fn decide_update(
        &mut self,
        target: &TicketRef,
        patch: TicketPatch,
    ) -> Result<(Outcome, Option<Event>), Rejection> {
        let id = self.find_ticket(target).ok_or_else(|| {
            Rejection::not_found(match target {
                TicketRef::Id(id) => format!("no ticket with id \"{id}\""),
                TicketRef::External(key) => format!("no ticket with external_id {key:?}"),
            })
        })?;
        let Some(ticket) = self.tickets.get(&id) else {
            return Err(Rejection::not_found(format!("no ticket with id \"{id}\"")));
        };
        let status = patch.status.filter(|s| *s != ticket.status);
        let assignee = patch
            .assignee
            .filter(|a| ticket.assignee.as_deref() != Some(a.as_str()));
        let tier = patch.tier.filter(|t| ticket.tier != Some(*t));
        if status.is_none() && assignee.is_none() && tier.is_none() {
            return Ok((Outcome::TicketUpdated { id, changed: false }, None));
        }
        if patch.at < ticket.opened_at {
            return Err(Rejection::invalid(
                "at",
                format!(
                    "is before the ticket was opened ({})",
                    format_rfc3339(ticket.opened_at)
                ),
            ));
        }
        if patch.at < ticket.updated_at {
            return Err(Rejection::conflict(
                "stale_change",
                Some("at"),
                format!(
                    "at: is before the ticket's last change ({}); changes must be in time order",
                    format_rfc3339(ticket.updated_at)
                ),
            ));
        }
        if ticket.status == TicketStatus::Closed && status == Some(TicketStatus::Resolved) {
            return Err(Rejection::conflict(
                "invalid_transition",
                Some("status"),
                "status: a closed ticket can be reopened but not set back to resolved",
            ));
        }
        let event = Event::TicketChanged(TicketChanged {
            id,
            at: patch.at,
            status,
            assignee,
            tier,
        });
        Ok(self.accept(Outcome::TicketUpdated { id, changed: true }, event))
    }

    fn decide_call(&mut self, call: CallRecorded) -> Result<(Outcome, Option<Event>), Rejection> {
        if let Some(state) = self.calls.get(call.call_id.as_str()) {
            if state.time_of(call.event).is_some() {
                return Ok((Outcome::CallRecorded { duplicate: true }, None));
            }
            check_call_sequence(state, call.event, call.at)?;
        }
        let event = Event::CallRecorded(call);
        Ok(self.accept(Outcome::CallRecorded { duplicate: false }, event))
    }

    fn intern(&mut self, text: &str) -> Arc<str> {
        if let Some(existing) = self.names.get(text) {
            return existing.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        self.names.insert(shared.clone());
        shared
    }

    fn remember(&mut self, entry: impl FnOnce(&Self) -> Undo) {
        if self.undo.is_some() {
            let undo = entry(self);
            if let Some(log) = self.undo.as_mut() {
                log.push(undo);
            }
        }
    }

    fn apply_event(&mut self, seq: u64, event: &Event) {
        let previous_seq = self.last_seq;
        self.remember(|_| Undo::LastSeq(previous_seq));
        self.last_seq = seq;
        match event {
            Event::TicketCreated(t) => {
                // External ids are unique per ticket: sharing them through
                // `names` would only grow that set by one entry a ticket.
                let external_id: Option<Arc<str>> = t.external_id.as_deref().map(Arc::from);
                let state = TicketState {
                    external_id: external_id.clone(),
                    opened_at: t.opened_at,
                    updated_at: t.resolved_at.unwrap_or(t.opened_at),
                    resolved_at: if t.status.is_done() {
                        t.resolved_at
                    } else {
                        None
                    },
                    status: t.status,
                    site: self.intern(&t.site),
                    department: self.intern(&t.department),
                    application: self.intern(&t.application),
                    category: t.category,
                    severity: t.severity,
                    channel: t.channel,
                    tier: t.tier,
                    assignee: t.assignee.as_deref().map(|a| self.intern(a)),
                };
                // `insert` hands back what the undo log needs: one lookup
                // a map instead of two.
                let previous = self.tickets.insert(t.id, state);
                self.remember(|_| Undo::Ticket(t.id, previous));
                if let Some(key) = external_id {
                    let previous = self.external_ids.insert(key.clone(), t.id);
                    self.remember(|_| Undo::External(key, previous));
                }
            }
            Event::TicketChanged(change) => {
                let assignee = change.assignee.as_deref().map(|a| self.intern(a));
                self.remember(|l| Undo::Ticket(change.id, l.tickets.get(&change.id).cloned()));
                let Some(ticket) = self.tickets.get_mut(&change.id) else {
                    return;
                };
                ticket.updated_at = change.at;
                if let Some(next) = change.status {
                    if next.is_done() && ticket.status.is_active() {
                        ticket.resolved_at = Some(change.at);
                    } else if next.is_active() {
                        ticket.resolved_at = None;
                    }
                    ticket.status = next;
                }
                if assignee.is_some() {
                    ticket.assignee = assignee;
                }
                if change.tier.is_some() {
                    ticket.tier = change.tier;
                }
            }
            Event::CallRecorded(call) => {
                let queue = self.call_name(&call.queue);
                let agent = call.agent.as_deref().map(|a| self.call_name(a));
                let key = call.call_id.as_str();
                self.remember(|l| Undo::Call(Box::from(key), l.calls.get(key).copied()));
                if !self.calls.contains_key(key) {
                    self.calls.insert(Box::from(key), CallState::EMPTY);
                }
                let Some(state) = self.calls.get_mut(key) else {
                    return;
                };
                if state.queue == NO_NAME || call.event == CallEventKind::Offered {
                    state.queue = queue;
                }
                match call.event {
                    CallEventKind::Offered => state.offered = call.at,
                    CallEventKind::Answered => {
                        state.answered = call.at;
                        if let Some(agent) = agent {
                            state.agent = agent;
                        }
                    }
                    CallEventKind::Abandoned => state.abandoned = call.at,
                    CallEventKind::Ended => {
                        state.ended = call.at;
                        if let Some(wrap) = call.wrap_seconds {
                            state.wrap_seconds = wrap;
                        }
                    }
                }
            }
            Event::QueueConfigured(q) => {
                let key = self.intern(&q.queue);
                self.remember(|l| Undo::Queue(key.clone(), l.queues.get(&key).copied()));
                self.queues.insert(key, q.settings);
            }
            // The write side holds nothing about alerts.
            Event::AlertAcknowledged(_) => {}
        }
    }

    /// The id of a queue or agent name in the call name table. Names
    /// added by a batch that is rolled back stay: they are only names.
    fn call_name(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.call_name_ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.call_names.len()).unwrap_or(NO_NAME - 1);
        let shared: Arc<str> = Arc::from(name);
        self.call_names.push(shared.clone());
        self.call_name_ids.insert(shared, id);
        id
    }

    fn call_name_of(&self, id: u32) -> Option<&str> {
        self.call_names.get(id as usize).map(|name| &**name)
    }

    /// The queue's settings, or the contract's defaults if never configured.
    pub fn queue_settings(&self, queue: &str) -> QueueSettings {
        self.queues.get(queue).copied().unwrap_or_default()
    }

    /// The projection row of a ticket, without the free text (summary and
    /// reporter role live only in the creation event and the table).
    pub fn ticket_record(&self, id: TicketId) -> Option<TicketRecord> {
        let t = self.tickets.get(&id)?;
        Some(TicketRecord {
            id,
            external_id: t.external_id.as_deref().map(str::to_string),
            opened_at: t.opened_at,
            site: t.site.to_string(),
            department: t.department.to_string(),
            application: t.application.to_string(),
            category: t.category,
            severity: t.severity,
            channel: t.channel,
            summary: None,
            reporter_role: None,
            status: t.status,
            resolved_at: t.resolved_at,
            assignee: t.assignee.as_deref().map(str::to_string),
            tier: t.tier,
            updated_at: t.updated_at,
        })
    }

    /// The projection row of a call.
    pub fn call_record(&self, call_id: &str) -> Option<CallRecord> {
        let c = self.calls.get(call_id)?;
        Some(CallRecord {
            call_id: call_id.to_string(),
            queue: self.call_name_of(c.queue).unwrap_or_default().to_string(),
            offered_at: c.time_of(CallEventKind::Offered),
            answered_at: c.time_of(CallEventKind::Answered),
            abandoned_at: c.time_of(CallEventKind::Abandoned),
            ended_at: c.time_of(CallEventKind::Ended),
            agent: self.call_name_of(c.agent).map(str::to_string),
            wrap_seconds: (!c.wrap_seconds.is_nan()).then_some(c.wrap_seconds),
        })
    }
}

/// Refuses call events that cannot have happened given what is known.
fn check_call_sequence(
    state: &CallState,
    kind: CallEventKind,
    at: Millis,
) -> Result<(), Rejection> {
    let impossible = |message: String| {
        Err(Rejection::invalid("event", message).with_code("impossible_call_sequence"))
    };
    let before = |field: &str, other: Option<Millis>| {
        other.is_some_and(|t| t < at).then(|| field.to_string())
    };
    let after = |field: &str, other: Option<Millis>| {
        other.is_some_and(|t| t > at).then(|| field.to_string())
    };
    match kind {
        CallEventKind::Offered => {
            if let Some(later) = before("answered", state.time_of(CallEventKind::Answered))
                .or_else(|| before("abandoned", state.time_of(CallEventKind::Abandoned)))
                .or_else(|| before("ended", state.time_of(CallEventKind::Ended)))
            {
                return impossible(format!("offered at is after the call was already {later}"));
            }
        }
        CallEventKind::Answered => {
            if state.time_of(CallEventKind::Abandoned).is_some() {
                return impossible(
                    "the call was already abandoned; it cannot also be answered".into(),
                );
            }
            if let Some(first) = after("offered", state.time_of(CallEventKind::Offered)) {
                return impossible(format!("answered before it was {first}"));
            }
            if let Some(later) = before("ended", state.time_of(CallEventKind::Ended)) {
                return impossible(format!("answered after the call {later}"));
            }
        }
        CallEventKind::Abandoned => {
            if state.time_of(CallEventKind::Answered).is_some()
                || state.time_of(CallEventKind::Ended).is_some()
            {
                return impossible(
                    "the call was already answered; it cannot also be abandoned".into(),
                );
            }
            if let Some(first) = after("offered", state.time_of(CallEventKind::Offered)) {
                return impossible(format!("abandoned before it was {first}"));
            }
        }
        CallEventKind::Ended => {
            if state.time_of(CallEventKind::Abandoned).is_some() {
                return impossible("the call was abandoned; only answered calls end".into());
            }
            if let Some(first) = after("answered", state.time_of(CallEventKind::Answered))
                .or_else(|| after("offered", state.time_of(CallEventKind::Offered)))
            {
                return impossible(format!("ended before it was {first}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{CallBody, TicketBody, TicketPatchBody};

    const T0: Millis = 1_772_435_645_000;

    fn new_ticket(extra: serde_json::Value) -> NewTicket {
        let mut base = serde_json::json!({
            "site": "Main Campus", "department": "Emergency", "application": "Orders",
            "category": "how_to", "severity": 3, "channel": "phone",
            "opened_at": "2026-03-02T07:14:05Z"
        });
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value::<TicketBody>(base)
            .unwrap()
            .validate(T0)
            .unwrap()
    }

    fn call(id: &str, event: &str, at: &str) -> Command {
        let body: CallBody = serde_json::from_value(serde_json::json!({
            "call_id": id, "queue": "Physician Line", "event": event, "at": at
        }))
        .unwrap();
        Command::RecordCall(body.validate().unwrap())
    }

    fn patch(status: &str, at: &str) -> TicketPatch {
        TicketPatchBody {
            status: TicketStatus::parse(status),
            at: Some(at.into()),
            ..Default::default()
        }
        .validate(T0)
        .unwrap()
    }

    #[test]
    fn ids_come_from_the_sequence_and_external_ids_are_idempotent() {
        let mut ledger = Ledger::new();
        let (first, event) = ledger
            .decide(Command::CreateTicket(new_ticket(
                serde_json::json!({"external_id": "INC1"}),
            )))
            .unwrap();
        assert_eq!(first, Outcome::TicketCreated(1));
        assert!(event.is_some());
        let (again, event) = ledger
            .decide(Command::CreateTicket(new_ticket(
                serde_json::json!({"external_id": "INC1", "site": "Other"}),
            )))
            .unwrap();
        assert_eq!(again, Outcome::TicketExists(1));
        assert!(event.is_none());
        assert_eq!(ledger.last_seq(), 1);
    }

    #[test]
    fn status_changes_follow_time_and_rules() {
        let mut ledger = Ledger::new();
        ledger
            .decide(Command::CreateTicket(new_ticket(serde_json::json!({}))))
            .unwrap();
        let id = TicketRef::Id(1);
        let before_open = ledger.decide(Command::UpdateTicket(
            id.clone(),
            patch("resolved", "2026-03-02T07:00:00Z"),
        ));
        assert_eq!(before_open.unwrap_err().field.as_deref(), Some("at"));
        ledger
            .decide(Command::UpdateTicket(
                id.clone(),
                patch("closed", "2026-03-02T08:00:00Z"),
            ))
            .unwrap();
        assert_eq!(
            ledger.ticket_record(1).unwrap().resolved_at,
            Some(T0 + 2_755_000)
        );
        let stale = ledger
            .decide(Command::UpdateTicket(
                id.clone(),
                patch("open", "2026-03-02T07:30:00Z"),
            ))
            .unwrap_err();
        assert_eq!(stale.code, "stale_change");
        let back = ledger
            .decide(Command::UpdateTicket(
                id.clone(),
                patch("resolved", "2026-03-02T09:00:00Z"),
            ))
            .unwrap_err();
        assert_eq!(back.code, "invalid_transition");
        let (same, event) = ledger
            .decide(Command::UpdateTicket(
                id.clone(),
                patch("closed", "2026-03-02T09:00:00Z"),
            ))
            .unwrap();
        assert_eq!(
            same,
            Outcome::TicketUpdated {
                id: 1,
                changed: false
            }
        );
        assert!(event.is_none());
        ledger
            .decide(Command::UpdateTicket(
                id,
                patch("open", "2026-03-02T09:00:00Z"),
            ))
            .unwrap();
        assert_eq!(ledger.ticket_record(1).unwrap().resolved_at, None);
        let missing = ledger.decide(Command::UpdateTicket(
            TicketRef::Id(99),
            patch("open", "2026-03-02T09:00:00Z"),
        ));
        assert_eq!(
            missing.unwrap_err().kind,
            crate::input::RejectionKind::NotFound
        );
    }

    #[test]
    fn call_sequences_out_of_order_and_impossible() {
        let mut ledger = Ledger::new();
        ledger
            .decide(call("c1", "answered", "2026-03-02T07:14:20Z"))
            .unwrap();
        let late_offer = ledger.decide(call("c1", "offered", "2026-03-02T07:14:30Z"));
        assert_eq!(late_offer.unwrap_err().code, "impossible_call_sequence");
        ledger
            .decide(call("c1", "offered", "2026-03-02T07:14:05Z"))
            .unwrap();
        let dup = ledger
            .decide(call("c1", "offered", "2026-03-02T07:14:05Z"))
            .unwrap();
        assert_eq!(dup.0, Outcome::CallRecorded { duplicate: true });
        assert!(
            ledger
                .decide(call("c1", "abandoned", "2026-03-02T07:15:00Z"))
                .is_err()
        );
        assert!(
            ledger
                .decide(call("c1", "ended", "2026-03-02T07:14:10Z"))
                .is_err()
        );
        ledger
            .decide(call("c1", "ended", "2026-03-02T07:20:00Z"))
            .unwrap();
        let record = ledger.call_record("c1").unwrap();
        assert_eq!(record.offered_at, Some(T0));
        assert_eq!(record.ended_at, Some(T0 + 355_000));
        ledger
            .decide(call("c2", "abandoned", "2026-03-02T07:15:00Z"))
            .unwrap();
        assert!(
            ledger
                .decide(call("c2", "answered", "2026-03-02T07:15:10Z"))
                .is_err()
        );
        assert!(
            ledger
                .decide(call("c2", "ended", "2026-03-02T07:15:10Z"))
                .is_err()
        );
    }

    #[test]
    fn rollback_restores_everything_the_batch_touched() {
        let mut ledger = Ledger::new();
        ledger
            .decide(Command::CreateTicket(new_ticket(
                serde_json::json!({"external_id": "A"}),
            )))
            .unwrap();
        ledger
            .decide(call("c1", "offered", "2026-03-02T07:14:05Z"))
            .unwrap();
        ledger.begin_batch();
        ledger
            .decide(Command::CreateTicket(new_ticket(
                serde_json::json!({"external_id": "B"}),
            )))
            .unwrap();
        ledger
            .decide(Command::UpdateTicket(
                TicketRef::Id(1),
                patch("resolved", "2026-03-02T08:00:00Z"),
            ))
            .unwrap();
        ledger
            .decide(call("c1", "answered", "2026-03-02T07:14:15Z"))
            .unwrap();
        ledger
            .decide(call("c9", "offered", "2026-03-02T07:14:15Z"))
            .unwrap();
        ledger
            .decide(Command::ConfigureQueue {
                queue: "Physician Line".into(),
                body: QueueBody {
                    agents_staffed: Some(3),
                    ..Default::default()
                },
            })
            .unwrap();
        assert_eq!(ledger.last_seq(), 7);
        ledger.rollback_batch();
        assert_eq!(ledger.last_seq(), 2);
        assert_eq!(ledger.counts(), (1, 1));
        assert_eq!(ledger.ticket_record(1).unwrap().status, TicketStatus::Open);
        assert!(
            ledger
                .find_ticket(&TicketRef::External("B".into()))
                .is_none()
        );
        assert_eq!(ledger.call_record("c1").unwrap().answered_at, None);
        assert_eq!(ledger.queue_settings("Physician Line").agents_staffed, 0);
    }

    #[test]
    fn replay_rebuilds_the_same_state() {
        let mut ledger = Ledger::new();
        let mut log = Vec::new();
        for command in [
            Command::CreateTicket(new_ticket(serde_json::json!({"external_id": "A"}))),
            Command::UpdateTicket(
                TicketRef::External("A".into()),
                patch("escalated", "2026-03-02T08:00:00Z"),
            ),
            call("c1", "offered", "2026-03-02T07:14:05Z"),
        ] {
            if let (_, Some(event)) = ledger.decide(command).unwrap() {
                log.push(RecordedEvent {
                    seq: ledger.last_seq(),
                    recorded_at: T0,
                    event,
                });
            }
        }
        let mut replayed = Ledger::new();
        for event in &log {
            replayed.apply(event);
        }
        assert_eq!(replayed.last_seq(), 3);
        assert_eq!(replayed.ticket_record(1), ledger.ticket_record(1));
        assert_eq!(replayed.call_record("c1"), ledger.call_record("c1"));
    }
}
