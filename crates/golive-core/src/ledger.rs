//! The ledger: the write side's memory of what has been accepted, used to
//! decide whether a command is allowed and what event it becomes.
//!
//! It holds just enough per ticket and per call leg to enforce the
//! contract (idempotency by `external_id` and by (`call_id`, `queue`,
//! `event`), status transitions, possible call sequences) and to rebuild
//! projection rows. It is a fold of the event log, so replaying the log
//! rebuilds it exactly.
//!
//! A call offered to a second queue (a transfer) is a second **leg**: legs
//! are keyed by (`call_id`, `queue`) and each has its own events. Within a
//! leg the times must be possible whatever order the events arrive in:
//! nothing before `offered`, `answered` and `abandoned` not both, and
//! neither after `ended`. A leg with `ended` but no `answered` is an
//! abandon (the aggregator counts it at the `ended` time), so `ended` may
//! come with or without either, and an `answered` arriving after its
//! `ended` is accepted when its time is before that `ended`.
//!
//! Decisions happen in batches inside the store's commit: `begin_batch`,
//! any number of `decide`, then `commit_batch` once the store committed or
//! `rollback_batch` if it failed, which restores the state from an undo log
//! so that an uncommitted event never leaves a trace.

use crate::event::{
    AlertAcknowledged, AlertCleared, AlertRaised, CallLegReplaced, CallRecorded, Event,
    KnownIssueChanged, KnownIssueCreated, QueueConfigured, RecordedEvent, TicketChanged,
    TicketCreated, TicketId,
};
use crate::input::{
    KnownIssuePatch, NewKnownIssue, NewTicket, QueueBody, Reclassification, Rejection, TicketPatch,
    TicketRef, TicketSync,
};
use crate::model::{
    CallEventKind, Category, Channel, KnownIssueStatus, QueueSettings, Severity, TicketStatus,
};
use crate::names::{NameBook, NameKind, NameRules};
use crate::record::{CallRecord, TicketRecord};
use crate::time::{Millis, format_rfc3339};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

mod checkpoint;
mod rows;

pub use rows::Rows;

/// Hashes ticket ids, which the server hands out (sequence numbers), so no
/// client can choose keys that collide: foldhash's fixed-seed variant,
/// where the default SipHash costs more than the rest of a lookup. Keys
/// that clients choose (external ids, call ids, names) keep the default
/// hasher.
type IdState = foldhash::fast::FixedState;

/// A request to change state, already validated field by field.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    CreateTicket(NewTicket),
    UpdateTicket(TicketRef, TicketPatch),
    RecordCall(CallRecorded),
    /// A phone system's whole record of a leg (see [`CallLegReplaced`]).
    ReplaceCallLeg(CallLegReplaced),
    ConfigureQueue {
        queue: String,
        body: QueueBody,
    },
    /// A connected system's current state of a ticket: created when
    /// unknown, else whatever changed (see [`TicketSync`]).
    SyncTicket(Box<TicketSync>),
    /// Validated by the caller (`input::acknowledgement`); always accepted.
    AcknowledgeAlert(AlertAcknowledged),
    /// A lead opens a known issue.
    CreateKnownIssue(NewKnownIssue),
    /// A lead changes (or resolves) the known issue with this id.
    UpdateKnownIssue(String, KnownIssuePatch),
    /// The leader found an alert's condition began or stopped holding;
    /// always accepted (the alert book, a fold of the log, ignores a raise
    /// of an active alert or a clear of an inactive one, so a second
    /// leader during a hand-over changes nothing).
    RaiseAlert(AlertRaised),
    ClearAlert(AlertCleared),
}

/// The events one accepted command became, in order: none (nothing new),
/// one, or two (a synchronized ticket first seen already resolved is
/// created active, then resolved).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Events {
    first: Option<Event>,
    second: Option<Event>,
}

impl Events {
    fn none() -> Self {
        Events::default()
    }

    fn one(event: Event) -> Self {
        Events {
            first: Some(event),
            second: None,
        }
    }

    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + usize::from(self.second.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// The first event, if any.
    pub fn first(&self) -> Option<&Event> {
        self.first.as_ref()
    }
}

impl IntoIterator for Events {
    type Item = Event;
    type IntoIter = std::iter::Flatten<std::array::IntoIter<Option<Event>, 2>>;

    fn into_iter(self) -> Self::IntoIter {
        [self.first, self.second].into_iter().flatten()
    }
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
    /// A known issue was created or changed (or already was as asked:
    /// `changed` false).
    KnownIssue { id: Arc<str>, changed: bool },
    /// The alert's raise or clear was recorded.
    AlertChanged,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
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
    /// How many times the classification changed (bounded, see
    /// [`MAX_RECLASSIFICATIONS`]).
    reclassified: u8,
    /// Whether a connected system's key is linked to it.
    has_source_key: bool,
    /// The connected system's update time of the newest record applied.
    source_updated_at: Option<Millis>,
    /// The known issue the ticket is linked to.
    known_issue: Option<Arc<str>>,
}

/// What the ledger keeps of a known issue: enough to tell a change from
/// a repeat.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct KnownIssueState {
    title: Arc<str>,
    workaround: Option<Arc<str>>,
    status: KnownIssueStatus,
}

/// Most reclassifications one ticket may have: the aggregator files each
/// counted fact with the ticket's classification version in one byte.
pub const MAX_RECLASSIFICATIONS: u8 = 250;

/// What the ledger keeps of a call leg. A go-live week has half a million
/// legs, so this is 56 plain bytes: times use `NOT_YET` for "no such event
/// yet", the agent is an id in the ledger's call name table, a missing
/// wrap time is NaN. The queue is part of the leg's key ([`leg_key`]).
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct CallState {
    offered: Millis,
    answered: Millis,
    abandoned: Millis,
    ended: Millis,
    wrap_seconds: f64,
    agent: u32,
    /// The update time of the record that last replaced the leg
    /// ([`CallLegReplaced`]): `NOT_YET` when none did, `UNDATED_RECORD`
    /// for a record without one.
    replaced: Millis,
}

/// Marks an event a call has not had.
const NOT_YET: Millis = Millis::MIN;
/// Marks a name a call does not have.
const NO_NAME: u32 = u32::MAX;
/// The update time of a leg record that carries none: older than any
/// dated record, so every dated one replaces it.
const UNDATED_RECORD: Millis = Millis::MIN + 1;

impl CallState {
    const EMPTY: CallState = CallState {
        offered: NOT_YET,
        answered: NOT_YET,
        abandoned: NOT_YET,
        ended: NOT_YET,
        wrap_seconds: f64::NAN,
        agent: NO_NAME,
        replaced: NOT_YET,
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

/// The key of a leg in `Ledger::calls`: its queue's id in the call name
/// table (4 bytes), then the call id. One allocation per leg, and a
/// transfer's legs share nothing that could be confused.
fn leg_key(queue: u32, call_id: &str) -> Box<[u8]> {
    let mut key = Vec::with_capacity(4 + call_id.len());
    key.extend_from_slice(&queue.to_le_bytes());
    key.extend_from_slice(call_id.as_bytes());
    key.into_boxed_slice()
}

/// Undo log entries: the value a key had before the batch touched it.
enum Undo {
    Ticket(TicketId, Option<TicketState>),
    External(Arc<str>, Option<TicketId>),
    Call(Box<[u8]>, Option<CallState>),
    Queue(Arc<str>, Option<QueueSettings>),
    KnownIssue(Arc<str>, Option<KnownIssueState>),
    LastSeq(u64),
    Name(NameKind, Box<str>),
    SourceKey(Arc<str>, Option<TicketId>),
}

/// The write side's state. See the module documentation.
///
/// It goes into checkpoints (`Ledger::checkpoint`): a field added here
/// must be serializable too, or marked `#[serde(skip)]` and rebuilt in
/// `restore`.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    last_seq: u64,
    tickets: HashMap<TicketId, TicketState, IdState>,
    external_ids: HashMap<Arc<str>, TicketId>,
    /// Connected systems' keys (`TicketCreated::source_key`) → ticket.
    source_keys: HashMap<Arc<str>, TicketId>,
    /// Call legs by [`leg_key`].
    calls: HashMap<Box<[u8]>, CallState>,
    /// Queue and agent names of call legs, by id (see `CallState`).
    call_names: Vec<Arc<str>>,
    #[serde(skip)]
    call_name_ids: HashMap<Arc<str>, u32>,
    queues: BTreeMap<Arc<str>, QueueSettings>,
    known_issues: HashMap<Arc<str>, KnownIssueState>,
    names: HashSet<Arc<str>>,
    /// Configured canonical names and aliases: from the configuration,
    /// never from a checkpoint.
    #[serde(skip)]
    rules: NameRules,
    /// Display names of sites, departments, applications and queues.
    book: NameBook,
    /// Between `begin_batch` and its end only; a checkpoint is taken
    /// between batches.
    #[serde(skip)]
    undo: Option<Vec<Undo>>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// A ledger that resolves names with configured canonical names and
    /// aliases (see [`crate::names`]).
    pub fn with_names(rules: NameRules) -> Self {
        Ledger {
            rules,
            ..Self::default()
        }
    }

    /// The display name `text` gets as a name of `kind`: what a command
    /// naming it would record now.
    pub fn canonical_name(&mut self, kind: NameKind, text: &str) -> Arc<str> {
        self.book.resolve(&self.rules, kind, text)
    }

    /// Sequence number of the last event folded in.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Number of tickets and call legs known.
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
                Undo::KnownIssue(key, Some(state)) => {
                    self.known_issues.insert(key, state);
                }
                Undo::KnownIssue(key, None) => {
                    self.known_issues.remove(&key);
                }
                Undo::LastSeq(seq) => self.last_seq = seq,
                Undo::Name(kind, key) => self.book.forget(kind, &key),
                Undo::SourceKey(key, Some(id)) => {
                    self.source_keys.insert(key, id);
                }
                Undo::SourceKey(key, None) => {
                    self.source_keys.remove(&key);
                }
            }
        }
    }

    /// Decides a command against the current state. When it is accepted and
    /// changes something, the returned events (numbered up to `last_seq()`
    /// after the call) have already been folded in.
    pub fn decide(&mut self, command: Command) -> Result<(Outcome, Events), Rejection> {
        match command {
            Command::CreateTicket(ticket) => self.decide_create(ticket),
            Command::UpdateTicket(target, patch) => self.decide_update(&target, patch),
            Command::RecordCall(call) => self.decide_call(call),
            Command::ReplaceCallLeg(leg) => self.decide_replace_leg(leg),
            Command::ConfigureQueue { queue, body } => {
                let queue = self.canonical_name(NameKind::Queue, &queue).to_string();
                let settings = body.merge_into(self.queue_settings(&queue))?;
                let event = Event::QueueConfigured(QueueConfigured { queue, settings });
                Ok(self.accept(Outcome::QueueConfigured(settings), event))
            }
            Command::SyncTicket(sync) => self.decide_sync(*sync),
            Command::AcknowledgeAlert(ack) => {
                Ok(self.accept(Outcome::AlertAcknowledged, Event::AlertAcknowledged(ack)))
            }
            Command::CreateKnownIssue(issue) => {
                let id: Arc<str> = Arc::from((self.last_seq + 1).to_string());
                let event = Event::KnownIssueCreated(KnownIssueCreated {
                    id: id.to_string(),
                    title: issue.title,
                    application: issue
                        .application
                        .map(|name| self.canonical_owned(NameKind::Application, name)),
                    workaround: issue.workaround,
                    at: issue.at,
                });
                Ok(self.accept(Outcome::KnownIssue { id, changed: true }, event))
            }
            Command::UpdateKnownIssue(id, patch) => self.decide_known_issue(&id, patch),
            Command::RaiseAlert(raised) => {
                Ok(self.accept(Outcome::AlertChanged, Event::AlertRaised(raised)))
            }
            Command::ClearAlert(cleared) => {
                Ok(self.accept(Outcome::AlertChanged, Event::AlertCleared(cleared)))
            }
        }
    }

    /// A change to a known issue: only the fields that differ; 404 for an
    /// unknown id.
    fn decide_known_issue(
        &mut self,
        id: &str,
        patch: KnownIssuePatch,
    ) -> Result<(Outcome, Events), Rejection> {
        let Some((key, issue)) = self.known_issues.get_key_value(id) else {
            return Err(Rejection::not_found(format!(
                "no known issue with id {:?}",
                id.chars().take(64).collect::<String>()
            )));
        };
        let key = key.clone();
        let title = patch.title.filter(|t| **t != *issue.title);
        let workaround = patch
            .workaround
            .filter(|w| issue.workaround.as_deref().unwrap_or("") != w.as_str());
        let status = patch.status.filter(|s| *s != issue.status);
        if title.is_none() && workaround.is_none() && status.is_none() {
            return Ok((
                Outcome::KnownIssue {
                    id: key,
                    changed: false,
                },
                Events::none(),
            ));
        }
        let event = Event::KnownIssueChanged(KnownIssueChanged {
            id: key.to_string(),
            at: patch.at,
            title,
            workaround,
            status,
        });
        Ok(self.accept(
            Outcome::KnownIssue {
                id: key,
                changed: true,
            },
            event,
        ))
    }

    /// Checks that a ticket's `known_issue` names a known issue.
    fn check_known_issue(&self, id: Option<&str>) -> Result<(), Rejection> {
        match id {
            Some(id) if !self.known_issues.contains_key(id) => Err(Rejection::invalid(
                "known_issue",
                "no known issue with this id",
            )),
            _ => Ok(()),
        }
    }

    /// Whether a known issue with this id exists.
    pub fn knows_known_issue(&self, id: &str) -> bool {
        self.known_issues.contains_key(id)
    }

    /// [`Ledger::decide`], appending the command's events to `out` as
    /// they will be stored: numbered on from the log's last and stamped
    /// `recorded_at`.
    pub fn decide_into(
        &mut self,
        command: Command,
        recorded_at: Millis,
        out: &mut Vec<RecordedEvent>,
    ) -> Result<Outcome, Rejection> {
        let (outcome, events) = self.decide(command)?;
        let first = self.last_seq + 1 - events.len() as u64;
        for (offset, event) in events.into_iter().enumerate() {
            out.push(RecordedEvent {
                seq: first + offset as u64,
                recorded_at,
                event,
            });
        }
        Ok(outcome)
    }

    fn accept(&mut self, outcome: Outcome, event: Event) -> (Outcome, Events) {
        self.apply_event(self.last_seq + 1, &event);
        (outcome, Events::one(event))
    }

    /// The display name of `text` as an owned string for an event, reusing
    /// `text` when it already is the display name.
    fn canonical_owned(&mut self, kind: NameKind, text: String) -> String {
        let display = self.canonical_name(kind, &text);
        if *display == *text {
            text
        } else {
            display.to_string()
        }
    }

    fn decide_create(&mut self, t: NewTicket) -> Result<(Outcome, Events), Rejection> {
        if let Some(existing) = t
            .external_id
            .as_deref()
            .and_then(|key| self.external_ids.get(key))
        {
            return Ok((Outcome::TicketExists(*existing), Events::none()));
        }
        self.check_known_issue(t.known_issue.as_deref())?;
        let id = self.last_seq + 1;
        let site = self.canonical_owned(NameKind::Site, t.site);
        let department = self.canonical_owned(NameKind::Department, t.department);
        let application = self.canonical_owned(NameKind::Application, t.application);
        let event = Event::TicketCreated(TicketCreated {
            id,
            external_id: t.external_id,
            opened_at: t.opened_at,
            site,
            department,
            application,
            category: t.category,
            severity: t.severity,
            channel: t.channel,
            summary: t.summary,
            reporter_role: t.reporter_role,
            status: t.status,
            resolved_at: t.resolved_at,
            assignee: t.assignee,
            tier: t.tier,
            source_key: None,
            source_updated_at: None,
            known_issue: t.known_issue,
        });
        Ok(self.accept(Outcome::TicketCreated(id), event))
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
    ) -> Result<(Outcome, Events), Rejection> {
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
        let known_issue = patch
            .known_issue
            .filter(|k| ticket.known_issue.as_deref() != Some(k.as_str()));
        self.check_known_issue(known_issue.as_deref())?;
        let (opened_at, updated_at, current_status, reclassified) = (
            ticket.opened_at,
            ticket.updated_at,
            ticket.status,
            ticket.reclassified,
        );
        let class = self.class_changes(id, patch.reclassify);
        if status.is_none()
            && assignee.is_none()
            && tier.is_none()
            && class.is_empty()
            && known_issue.is_none()
        {
            return Ok((
                Outcome::TicketUpdated { id, changed: false },
                Events::none(),
            ));
        }
        if patch.at < opened_at {
            return Err(Rejection::invalid(
                "at",
                format!(
                    "is before the ticket was opened ({})",
                    format_rfc3339(opened_at)
                ),
            ));
        }
        if patch.at < updated_at {
            return Err(Rejection::conflict(
                "stale_change",
                Some("at"),
                format!(
                    "at: is before the ticket's last change ({}); changes must be in time order",
                    format_rfc3339(updated_at)
                ),
            ));
        }
        if current_status == TicketStatus::Closed && status == Some(TicketStatus::Resolved) {
            return Err(Rejection::conflict(
                "invalid_transition",
                Some("status"),
                "status: a closed ticket can be reopened but not set back to resolved",
            ));
        }
        if !class.is_empty() && reclassified >= MAX_RECLASSIFICATIONS {
            return Err(Rejection::conflict(
                "too_many_reclassifications",
                None,
                format!("the ticket was already reclassified {MAX_RECLASSIFICATIONS} times"),
            ));
        }
        let event = Event::TicketChanged(TicketChanged {
            id,
            at: patch.at,
            status,
            assignee,
            tier,
            site: class.site,
            department: class.department,
            application: class.application,
            category: class.category,
            severity: class.severity,
            source_key: None,
            source_updated_at: None,
            known_issue,
        });
        Ok(self.accept(Outcome::TicketUpdated { id, changed: true }, event))
    }

    /// A connected system's record: find the ticket by its source key, else
    /// by external id; create it, or derive what changed.
    fn decide_sync(&mut self, sync: TicketSync) -> Result<(Outcome, Events), Rejection> {
        let found = self
            .source_keys
            .get(sync.source_key.as_str())
            .or_else(|| {
                sync.external_id
                    .as_deref()
                    .and_then(|key| self.external_ids.get(key))
            })
            .copied();
        match found {
            None => self.sync_create(sync),
            Some(id) => self.sync_update(id, sync),
        }
    }

    /// A ticket first seen through a connector. One already done is created
    /// active and then resolved at its `resolved_at` (two events): the
    /// source does not say whether it was a first-contact resolution, so it
    /// is not counted as one.
    fn sync_create(&mut self, sync: TicketSync) -> Result<(Outcome, Events), Rejection> {
        let opened_at = sync.opened_at?;
        let status = sync.status?;
        let site = sync.site?;
        let department = sync.department?;
        let application = sync.application?;
        let category = sync.category?;
        let severity = sync.severity?;
        let channel = sync.channel?;
        self.check_known_issue(sync.known_issue.as_deref())?;
        if sync.updated_at < opened_at {
            return Err(Rejection::invalid(
                "updated_at",
                "the record's update time is before it was opened",
            ));
        }
        let resolution = if status.is_done() {
            let at = sync.resolved_at.unwrap_or(sync.updated_at);
            if at < opened_at {
                return Err(Rejection::invalid("resolved_at", "is before opened_at"));
            }
            Some(at)
        } else {
            None
        };
        let id = self.last_seq + 1;
        let site = self.canonical_owned(NameKind::Site, site);
        let department = self.canonical_owned(NameKind::Department, department);
        let application = self.canonical_owned(NameKind::Application, application);
        let created = Event::TicketCreated(TicketCreated {
            id,
            external_id: sync.external_id,
            opened_at,
            site,
            department,
            application,
            category,
            severity,
            channel,
            summary: None,
            reporter_role: None,
            status: if resolution.is_some() {
                TicketStatus::Open
            } else {
                status
            },
            resolved_at: None,
            assignee: None,
            tier: None,
            source_key: Some(sync.source_key),
            source_updated_at: Some(sync.updated_at),
            known_issue: sync.known_issue,
        });
        let (outcome, mut events) = self.accept(Outcome::TicketCreated(id), created);
        if let Some(at) = resolution {
            let resolved = Event::TicketChanged(TicketChanged {
                id,
                at,
                status: Some(status),
                source_updated_at: Some(sync.updated_at),
                ..TicketChanged::default()
            });
            self.apply_event(self.last_seq + 1, &resolved);
            events.second = Some(resolved);
        }
        Ok((outcome, events))
    }

    /// A newer record of a known ticket: one change at the resolution time
    /// when it resolves the ticket, else at the record's update time (never
    /// before the ticket's last change). Its classification applies before
    /// its status, so a ticket re-routed and resolved between two records
    /// counts its resolution under the new classification. A record no
    /// newer than the last one applied changes nothing; a newer one that
    /// changes nothing golive shows still records its update time, so an
    /// older record arriving later is recognised as older.
    fn sync_update(
        &mut self,
        id: TicketId,
        sync: TicketSync,
    ) -> Result<(Outcome, Events), Rejection> {
        let Some(ticket) = self.tickets.get(&id) else {
            return Err(Rejection::not_found(format!("no ticket with id \"{id}\"")));
        };
        if ticket
            .source_updated_at
            .is_some_and(|held| sync.updated_at <= held)
        {
            return Ok((
                Outcome::TicketUpdated { id, changed: false },
                Events::none(),
            ));
        }
        let current = ticket.status;
        let (opened_at, updated_at, reclassified) =
            (ticket.opened_at, ticket.updated_at, ticket.reclassified);
        let link = (!ticket.has_source_key).then(|| sync.source_key.clone());
        let known_issue = sync
            .known_issue
            .filter(|k| ticket.known_issue.as_deref() != Some(k.as_str()));
        // A closed ticket is not set back to resolved (as for a PATCH).
        let status = sync.status.ok().filter(|next| {
            *next != current
                && !(current == TicketStatus::Closed && *next == TicketStatus::Resolved)
        });
        let class = self.class_changes(
            id,
            Reclassification {
                site: sync.site.ok(),
                department: sync.department.ok(),
                application: sync.application.ok(),
                category: sync.category.ok(),
                severity: sync.severity.ok(),
            },
        );
        if !class.is_empty() && reclassified >= MAX_RECLASSIFICATIONS {
            return Err(Rejection::conflict(
                "too_many_reclassifications",
                None,
                format!("the ticket was already reclassified {MAX_RECLASSIFICATIONS} times"),
            ));
        }
        let resolves = status.is_some_and(|next| next.is_done() && current.is_active());
        let at = match (resolves, sync.resolved_at) {
            (true, Some(resolved_at)) => resolved_at,
            _ => sync.updated_at,
        }
        .max(updated_at)
        .max(opened_at);
        self.check_known_issue(known_issue.as_deref())?;
        let changed = status.is_some() || !class.is_empty() || known_issue.is_some();
        let event = Event::TicketChanged(TicketChanged {
            id,
            at,
            status,
            assignee: None,
            tier: None,
            site: class.site,
            department: class.department,
            application: class.application,
            category: class.category,
            severity: class.severity,
            source_key: link,
            source_updated_at: Some(sync.updated_at),
            known_issue,
        });
        Ok(self.accept(Outcome::TicketUpdated { id, changed }, event))
    }

    /// The fields of `asked` that differ from ticket `id`'s classification,
    /// names canonicalized.
    fn class_changes(&mut self, id: TicketId, asked: Reclassification) -> Reclassification {
        if asked.is_empty() {
            return asked;
        }
        let site = asked
            .site
            .map(|name| self.canonical_owned(NameKind::Site, name));
        let department = asked
            .department
            .map(|name| self.canonical_owned(NameKind::Department, name));
        let application = asked
            .application
            .map(|name| self.canonical_owned(NameKind::Application, name));
        let Some(ticket) = self.tickets.get(&id) else {
            return Reclassification::default();
        };
        Reclassification {
            site: site.filter(|name| **name != *ticket.site),
            department: department.filter(|name| **name != *ticket.department),
            application: application.filter(|name| **name != *ticket.application),
            category: asked.category.filter(|c| *c != ticket.category),
            severity: asked.severity.filter(|s| *s != ticket.severity),
        }
    }

    fn decide_call(&mut self, mut call: CallRecorded) -> Result<(Outcome, Events), Rejection> {
        call.queue = self.canonical_owned(NameKind::Queue, std::mem::take(&mut call.queue));
        if let Some(state) = self.leg(&call.call_id, &call.queue) {
            // A leg a phone system's record gave is that record's: single
            // events (the same contact's EventBridge events, say) add
            // nothing to it. The aggregator reads the log alike.
            if state.time_of(call.event).is_some() || state.replaced != NOT_YET {
                return Ok((Outcome::CallRecorded { duplicate: true }, Events::none()));
            }
            check_call_sequence(state, call.event, call.at)?;
        }
        let event = Event::CallRecorded(call);
        Ok(self.accept(Outcome::CallRecorded { duplicate: false }, event))
    }

    fn decide_replace_leg(
        &mut self,
        mut leg: CallLegReplaced,
    ) -> Result<(Outcome, Events), Rejection> {
        leg.queue = self.canonical_owned(NameKind::Queue, std::mem::take(&mut leg.queue));
        let updated = leg.source_updated_at.unwrap_or(UNDATED_RECORD);
        if let Some(state) = self.leg(&leg.call_id, &leg.queue)
            && state.replaced != NOT_YET
            && updated <= state.replaced
        {
            // The same record again (at least once delivery) or an older one.
            return Ok((Outcome::CallRecorded { duplicate: true }, Events::none()));
        }
        let times = [Some(leg.offered_at), leg.answered_at, leg.ended_at];
        let mut known = times.iter().flatten();
        let mut previous = known.next().copied().unwrap_or(0);
        for at in known {
            if *at < previous {
                return Err(Rejection::invalid(
                    "event",
                    "the record's times are out of order (queued, connected to an agent, \
                     disconnected)",
                )
                .with_code("impossible_call_sequence"));
            }
            previous = *at;
        }
        let event = Event::CallLegReplaced(leg);
        Ok(self.accept(Outcome::CallRecorded { duplicate: false }, event))
    }

    /// The key of leg (`call_id`, `queue`) and the id of `agent`, with the
    /// queue's name recorded and the leg's state remembered for undo: what
    /// applying any event of a leg starts with.
    fn touch_leg(
        &mut self,
        call_id: &str,
        queue: &str,
        agent: &Option<String>,
    ) -> (Box<[u8]>, Option<u32>) {
        self.named(NameKind::Queue, queue);
        let queue = self.call_name(queue);
        let agent = agent.as_deref().map(|a| self.call_name(a));
        let key = leg_key(queue, call_id);
        self.remember(|l| Undo::Call(key.clone(), l.calls.get(&key).copied()));
        (key, agent)
    }

    fn intern(&mut self, text: &str) -> Arc<str> {
        if let Some(existing) = self.names.get(text) {
            return existing.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        self.names.insert(shared.clone());
        shared
    }

    fn link_source_key(&mut self, key: &str, id: TicketId) {
        let key: Arc<str> = Arc::from(key);
        let previous = self.source_keys.insert(key.clone(), id);
        self.remember(|_| Undo::SourceKey(key, previous));
    }

    /// Records a name an event carries in the name book (undoably) and
    /// returns it shared.
    fn named(&mut self, kind: NameKind, name: &str) -> Arc<str> {
        if let Some(key) = self.book.record(kind, name) {
            self.remember(|_| Undo::Name(kind, key));
        }
        self.intern(name)
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
                    site: self.named(NameKind::Site, &t.site),
                    department: self.named(NameKind::Department, &t.department),
                    application: self.named(NameKind::Application, &t.application),
                    category: t.category,
                    severity: t.severity,
                    channel: t.channel,
                    tier: t.tier,
                    assignee: t.assignee.as_deref().map(|a| self.intern(a)),
                    reclassified: 0,
                    has_source_key: t.source_key.is_some(),
                    source_updated_at: t.source_updated_at,
                    known_issue: t.known_issue.as_deref().map(|k| self.intern(k)),
                };
                // `insert` hands back what the undo log needs: one lookup
                // a map instead of two.
                let previous = self.tickets.insert(t.id, state);
                self.remember(|_| Undo::Ticket(t.id, previous));
                if let Some(key) = external_id {
                    let previous = self.external_ids.insert(key.clone(), t.id);
                    self.remember(|_| Undo::External(key, previous));
                }
                if let Some(key) = &t.source_key {
                    self.link_source_key(key, t.id);
                }
            }
            Event::TicketChanged(change) => {
                let assignee = change.assignee.as_deref().map(|a| self.intern(a));
                let known_issue = change.known_issue.as_deref().map(|k| self.intern(k));
                let site = change
                    .site
                    .as_deref()
                    .map(|n| self.named(NameKind::Site, n));
                let department = change
                    .department
                    .as_deref()
                    .map(|n| self.named(NameKind::Department, n));
                let application = change
                    .application
                    .as_deref()
                    .map(|n| self.named(NameKind::Application, n));
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
                if known_issue.is_some() {
                    ticket.known_issue = known_issue;
                }
                if change.tier.is_some() {
                    ticket.tier = change.tier;
                }
                if change.reclassifies() {
                    ticket.reclassified = ticket.reclassified.saturating_add(1);
                }
                if let Some(site) = site {
                    ticket.site = site;
                }
                if let Some(department) = department {
                    ticket.department = department;
                }
                if let Some(application) = application {
                    ticket.application = application;
                }
                if let Some(category) = change.category {
                    ticket.category = category;
                }
                if let Some(severity) = change.severity {
                    ticket.severity = severity;
                }
                if change.source_updated_at.is_some() {
                    ticket.source_updated_at = change.source_updated_at;
                }
                if let Some(key) = &change.source_key {
                    ticket.has_source_key = true;
                    self.link_source_key(key, change.id);
                }
            }
            Event::CallRecorded(call) => {
                let (key, agent) = self.touch_leg(&call.call_id, &call.queue, &call.agent);
                let state = self.calls.entry(key).or_insert(CallState::EMPTY);
                // The aggregator's rule (aggregate module docs): the first
                // event of each kind wins and a later one is ignored whole,
                // the wrap time is the first `ended`'s own, and a leg a
                // record replaced takes no single events. `decide` never
                // commits such an event, but a raw log may hold one; both
                // sides must read it alike.
                let first_of_its_kind = state.time_of(call.event).is_none();
                match call.event {
                    _ if !first_of_its_kind || state.replaced != NOT_YET => {}
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
                        state.wrap_seconds = call.wrap_seconds.unwrap_or(f64::NAN);
                    }
                }
            }
            Event::CallLegReplaced(leg) => {
                let (key, agent) = self.touch_leg(&leg.call_id, &leg.queue, &leg.agent);
                let time = |at: Option<Millis>| at.unwrap_or(NOT_YET);
                self.calls.insert(
                    key,
                    CallState {
                        offered: leg.offered_at,
                        answered: time(leg.answered_at),
                        abandoned: NOT_YET,
                        ended: time(leg.ended_at),
                        wrap_seconds: leg.wrap_seconds.unwrap_or(f64::NAN),
                        agent: agent.unwrap_or(NO_NAME),
                        replaced: leg.source_updated_at.unwrap_or(UNDATED_RECORD),
                    },
                );
            }
            Event::QueueConfigured(q) => {
                let key = self.named(NameKind::Queue, &q.queue);
                self.remember(|l| Undo::Queue(key.clone(), l.queues.get(&key).copied()));
                self.queues.insert(key, q.settings);
            }
            // The write side holds nothing about alerts.
            Event::AlertAcknowledged(_) | Event::AlertRaised(_) | Event::AlertCleared(_) => {}
            Event::KnownIssueCreated(issue) => {
                let key: Arc<str> = Arc::from(issue.id.as_str());
                let state = KnownIssueState {
                    title: Arc::from(issue.title.as_str()),
                    workaround: issue.workaround.as_deref().map(Arc::from),
                    status: KnownIssueStatus::Open,
                };
                let previous = self.known_issues.insert(key.clone(), state);
                self.remember(|_| Undo::KnownIssue(key, previous));
            }
            Event::KnownIssueChanged(change) => {
                let Some((key, state)) = self.known_issues.get_key_value(change.id.as_str()) else {
                    return;
                };
                let (key, previous) = (key.clone(), state.clone());
                self.remember(|_| Undo::KnownIssue(key.clone(), Some(previous)));
                if let Some(state) = self.known_issues.get_mut(&key) {
                    if let Some(title) = &change.title {
                        state.title = Arc::from(title.as_str());
                    }
                    if let Some(workaround) = &change.workaround {
                        state.workaround =
                            (!workaround.is_empty()).then(|| Arc::from(workaround.as_str()));
                    }
                    if let Some(status) = change.status {
                        state.status = status;
                    }
                }
            }
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

    /// The leg (`call_id`, `queue`), if any event of it was accepted.
    fn leg(&self, call_id: &str, queue: &str) -> Option<&CallState> {
        let queue = *self.call_name_ids.get(queue)?;
        self.calls.get(&leg_key(queue, call_id))
    }

    /// The queue's settings, or the contract's defaults if never configured.
    pub fn queue_settings(&self, queue: &str) -> QueueSettings {
        self.queues.get(queue).copied().unwrap_or_default()
    }

    /// The rows `events` (decided by this ledger, in order) touched, from
    /// its state after them (see [`Rows::of`]).
    pub fn rows_of(&self, events: &[RecordedEvent]) -> Rows {
        Rows::of(
            events,
            |id| self.ticket_record(id),
            |call, queue| self.call_record(call, queue),
        )
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

    /// The projection row of the leg (`call_id`, `queue`).
    pub fn call_record(&self, call_id: &str, queue: &str) -> Option<CallRecord> {
        let c = self.leg(call_id, queue)?;
        Some(CallRecord {
            call_id: call_id.to_string(),
            queue: queue.to_string(),
            offered_at: c.time_of(CallEventKind::Offered),
            answered_at: c.time_of(CallEventKind::Answered),
            abandoned_at: c.time_of(CallEventKind::Abandoned),
            ended_at: c.time_of(CallEventKind::Ended),
            agent: self.call_name_of(c.agent).map(str::to_string),
            wrap_seconds: (!c.wrap_seconds.is_nan()).then_some(c.wrap_seconds),
        })
    }
}

/// Refuses call events that cannot have happened given what the leg
/// already has, whatever order its events arrive in: nothing before
/// `offered`; `answered` and `abandoned` not both; neither after `ended`.
fn check_call_sequence(
    state: &CallState,
    kind: CallEventKind,
    at: Millis,
) -> Result<(), Rejection> {
    use CallEventKind::{Abandoned, Answered, Ended, Offered};
    let impossible = |message: String| {
        Err(Rejection::invalid("event", message).with_code("impossible_call_sequence"))
    };
    // The first of `kinds` the leg has at a time before (or after) `at`.
    let earlier = |kinds: &[CallEventKind]| {
        kinds
            .iter()
            .find(|k| state.time_of(**k).is_some_and(|t| t < at))
            .map(|k| k.as_str())
    };
    let later = |kinds: &[CallEventKind]| {
        kinds
            .iter()
            .find(|k| state.time_of(**k).is_some_and(|t| t > at))
            .map(|k| k.as_str())
    };
    let excluded = match kind {
        Answered => Some(Abandoned),
        Abandoned => Some(Answered),
        Offered | Ended => None,
    };
    if let Some(other) = excluded.filter(|k| state.time_of(*k).is_some()) {
        return impossible(format!(
            "this leg (call_id, queue) was already {}; it cannot also be {}",
            other.as_str(),
            kind.as_str()
        ));
    }
    let problem = match kind {
        Offered => earlier(&[Answered, Abandoned, Ended])
            .map(|other| format!("offered after this leg was already {other}")),
        Answered | Abandoned => later(&[Offered])
            .map(|_| format!("{} before this leg was offered", kind.as_str()))
            .or_else(|| {
                earlier(&[Ended]).map(|_| format!("{} after this leg ended", kind.as_str()))
            }),
        Ended => later(&[Offered, Answered, Abandoned])
            .map(|other| format!("ended before this leg was {other}")),
    };
    match problem {
        Some(message) => impossible(message),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{CallBody, Clock, TicketBody, TicketPatchBody};

    const T0: Millis = 1_772_435_645_000;
    /// A clock that lets the fixtures' times (up to a day after T0) pass.
    const CLOCK: Clock = Clock {
        now: T0,
        max_ahead: 86_400_000,
    };

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
            .validate(CLOCK)
            .unwrap()
    }

    fn call(id: &str, event: &str, at: &str) -> Command {
        leg(id, "Physician Line", event, at)
    }

    fn leg(id: &str, queue: &str, event: &str, at: &str) -> Command {
        let body: CallBody = serde_json::from_value(serde_json::json!({
            "call_id": id, "queue": queue, "event": event, "at": at
        }))
        .unwrap();
        Command::RecordCall(body.validate(CLOCK).unwrap())
    }

    fn refusal(ledger: &mut Ledger, command: Command) -> String {
        let rejection = ledger.decide(command).unwrap_err();
        assert_eq!(rejection.code, "impossible_call_sequence");
        assert_eq!(rejection.field.as_deref(), Some("event"));
        rejection.message
    }

    fn patch(status: &str, at: &str) -> TicketPatch {
        TicketPatchBody {
            status: TicketStatus::parse(status),
            at: Some(at.into()),
            ..Default::default()
        }
        .validate(CLOCK)
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
        assert!(!event.is_empty());
        let (again, event) = ledger
            .decide(Command::CreateTicket(new_ticket(
                serde_json::json!({"external_id": "INC1", "site": "Other"}),
            )))
            .unwrap();
        assert_eq!(again, Outcome::TicketExists(1));
        assert!(event.is_empty());
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
        assert!(event.is_empty());
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
        let record = ledger.call_record("c1", "Physician Line").unwrap();
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
        // An abandoned call may also end (the caller hangs up), not before.
        let message = refusal(&mut ledger, call("c2", "ended", "2026-03-02T07:14:50Z"));
        assert_eq!(message, "event: ended before this leg was abandoned");
        ledger
            .decide(call("c2", "ended", "2026-03-02T07:15:10Z"))
            .unwrap();
    }

    /// A phone system's record of a whole leg: the latest by its update
    /// time wins, whatever order records arrive in; an equal or older one
    /// changes nothing, and single events add nothing to a recorded leg.
    #[test]
    fn a_leg_record_replaces_the_leg_when_newer() {
        let record = |updated: Option<Millis>, answered: Option<Millis>| {
            Command::ReplaceCallLeg(CallLegReplaced {
                call_id: "k1".into(),
                queue: "Physician Line".into(),
                offered_at: T0,
                answered_at: answered,
                ended_at: Some(T0 + 240_000),
                agent: answered.map(|_| "jdoe".into()),
                wrap_seconds: answered.map(|_| 20.0),
                source_updated_at: updated,
            })
        };
        let mut ledger = Ledger::new();
        // An abandoned leg from single events first.
        ledger
            .decide(leg(
                "k1",
                "Physician Line",
                "offered",
                "2026-03-02T07:14:05Z",
            ))
            .unwrap();
        ledger
            .decide(leg(
                "k1",
                "Physician Line",
                "abandoned",
                "2026-03-02T07:15:00Z",
            ))
            .unwrap();
        let decided = |ledger: &mut Ledger, command| {
            let (outcome, events) = ledger.decide(command).unwrap();
            (outcome, events.len())
        };
        let fresh = (Outcome::CallRecorded { duplicate: false }, 1);
        let nothing = (Outcome::CallRecorded { duplicate: true }, 0);
        // A record without an update time replaces single events; any
        // dated one replaces it.
        assert_eq!(decided(&mut ledger, record(None, None)), fresh);
        assert_eq!(decided(&mut ledger, record(None, None)), nothing);
        assert_eq!(
            decided(&mut ledger, record(Some(T0 + 600_000), Some(T0 + 30_000))),
            fresh
        );
        let row = ledger.call_record("k1", "Physician Line").unwrap();
        assert_eq!(
            (
                row.answered_at,
                row.abandoned_at,
                row.ended_at,
                row.wrap_seconds
            ),
            (Some(T0 + 30_000), None, Some(T0 + 240_000), Some(20.0))
        );
        assert_eq!(row.agent.as_deref(), Some("jdoe"));
        for older in [Some(T0 + 600_000), Some(T0 + 300_000), None] {
            assert_eq!(decided(&mut ledger, record(older, None)), nothing);
        }
        assert_eq!(
            decided(
                &mut ledger,
                leg("k1", "Physician Line", "abandoned", "2026-03-02T07:20:00Z")
            ),
            nothing
        );
        // Times out of order are refused.
        let mut bad = record(Some(T0 + 900_000), Some(T0 + 300_000));
        if let Command::ReplaceCallLeg(leg) = &mut bad {
            leg.ended_at = Some(T0 + 100_000);
        }
        assert_eq!(
            ledger.decide(bad).unwrap_err().code,
            "impossible_call_sequence"
        );
    }

    #[test]
    fn a_transfer_is_a_second_leg_with_its_own_events() {
        let mut ledger = Ledger::new();
        for command in [
            leg("c1", "Physician Line", "offered", "2026-03-02T07:14:05Z"),
            leg("c1", "Physician Line", "answered", "2026-03-02T07:14:15Z"),
            leg("c1", "Physician Line", "ended", "2026-03-02T07:16:00Z"),
            // Transferred: offered to Pharmacy, which has its own answer.
            leg("c1", "Pharmacy", "offered", "2026-03-02T07:16:00Z"),
            leg("c1", "Pharmacy", "answered", "2026-03-02T07:17:30Z"),
        ] {
            let (outcome, event) = ledger.decide(command).unwrap();
            assert_eq!(outcome, Outcome::CallRecorded { duplicate: false });
            assert!(!event.is_empty());
        }
        assert_eq!(ledger.counts(), (0, 2));
        // Idempotent per (call_id, queue, event).
        let (again, event) = ledger
            .decide(leg("c1", "Pharmacy", "offered", "2026-03-02T07:16:00Z"))
            .unwrap();
        assert_eq!(again, Outcome::CallRecorded { duplicate: true });
        assert!(event.is_empty());
        // Each leg's sequence is checked on its own.
        let message = refusal(
            &mut ledger,
            leg("c1", "Pharmacy", "abandoned", "2026-03-02T07:18:00Z"),
        );
        assert_eq!(
            message,
            "event: this leg (call_id, queue) was already answered; it cannot also be abandoned"
        );
        let first = ledger.call_record("c1", "Physician Line").unwrap();
        let second = ledger.call_record("c1", "Pharmacy").unwrap();
        assert_eq!(
            (first.offered_at, first.answered_at, first.ended_at),
            (Some(T0), Some(T0 + 10_000), Some(T0 + 115_000))
        );
        assert_eq!(
            (second.queue.as_str(), second.offered_at, second.answered_at),
            ("Pharmacy", Some(T0 + 115_000), Some(T0 + 205_000))
        );
        assert_eq!(second.ended_at, None);
        assert!(ledger.call_record("c1", "Nursing").is_none());
        assert!(ledger.call_record("c9", "Pharmacy").is_none());
    }

    #[test]
    fn ended_without_answer_and_answered_after_ended() {
        let mut ledger = Ledger::new();
        // Ended arrives first, then offered: an abandon, as far as is known.
        ledger
            .decide(call("c1", "ended", "2026-03-02T07:15:00Z"))
            .unwrap();
        ledger
            .decide(call("c1", "offered", "2026-03-02T07:14:05Z"))
            .unwrap();
        // The answer arrives late: the leg becomes answered.
        ledger
            .decide(call("c1", "answered", "2026-03-02T07:14:25Z"))
            .unwrap();
        let record = ledger.call_record("c1", "Physician Line").unwrap();
        assert_eq!(
            (record.answered_at, record.abandoned_at, record.ended_at),
            (Some(T0 + 20_000), None, Some(T0 + 55_000))
        );
        // An answer stamped after the end, or before the offer, is refused.
        ledger
            .decide(call("c2", "offered", "2026-03-02T07:14:05Z"))
            .unwrap();
        ledger
            .decide(call("c2", "ended", "2026-03-02T07:15:00Z"))
            .unwrap();
        let message = refusal(&mut ledger, call("c2", "answered", "2026-03-02T07:15:01Z"));
        assert_eq!(message, "event: answered after this leg ended");
        let message = refusal(&mut ledger, call("c2", "answered", "2026-03-02T07:14:00Z"));
        assert_eq!(message, "event: answered before this leg was offered");
        let message = refusal(&mut ledger, call("c2", "abandoned", "2026-03-02T07:15:30Z"));
        assert_eq!(message, "event: abandoned after this leg ended");
        // An explicit abandon before the end is possible; then no answer.
        ledger
            .decide(call("c2", "abandoned", "2026-03-02T07:14:40Z"))
            .unwrap();
        let message = refusal(&mut ledger, call("c2", "answered", "2026-03-02T07:14:30Z"));
        assert_eq!(
            message,
            "event: this leg (call_id, queue) was already abandoned; it cannot also be answered"
        );
        // An offered stamped after any other event of its leg is refused.
        ledger
            .decide(leg("c3", "Nursing", "abandoned", "2026-03-02T07:15:00Z"))
            .unwrap();
        let message = refusal(
            &mut ledger,
            leg("c3", "Nursing", "offered", "2026-03-02T07:15:01Z"),
        );
        assert_eq!(
            message,
            "event: offered after this leg was already abandoned"
        );
        // Ended before the answer it follows, in either arrival order.
        ledger
            .decide(leg("c4", "Nursing", "answered", "2026-03-02T07:15:00Z"))
            .unwrap();
        let message = refusal(
            &mut ledger,
            leg("c4", "Nursing", "ended", "2026-03-02T07:14:59Z"),
        );
        assert_eq!(message, "event: ended before this leg was answered");
    }

    #[test]
    fn rejected_events_leave_no_trace() {
        let mut ledger = Ledger::new();
        ledger
            .decide(call("c1", "answered", "2026-03-02T07:15:00Z"))
            .unwrap();
        let before = ledger.last_seq();
        assert!(
            ledger
                .decide(call("c1", "abandoned", "2026-03-02T07:15:00Z"))
                .is_err()
        );
        assert_eq!(ledger.last_seq(), before);
        assert_eq!(
            ledger
                .call_record("c1", "Physician Line")
                .unwrap()
                .abandoned_at,
            None
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
        assert_eq!(
            ledger
                .call_record("c1", "Physician Line")
                .unwrap()
                .answered_at,
            None
        );
        assert!(ledger.call_record("c9", "Physician Line").is_none());
        assert_eq!(ledger.queue_settings("Physician Line").agents_staffed, 0);
    }

    #[test]
    fn reclassification_changes_only_what_differs_and_keeps_time_order() {
        let mut ledger = Ledger::new();
        ledger
            .decide(Command::CreateTicket(new_ticket(
                serde_json::json!({"external_id": "INC7"}),
            )))
            .unwrap();
        let reroute = |application: &str, at: &str| {
            TicketPatchBody {
                application: Some(application.into()),
                severity: Severity::new(3),
                at: Some(at.into()),
                ..Default::default()
            }
            .validate(CLOCK)
            .unwrap()
        };
        let target = TicketRef::External("INC7".into());
        let (outcome, event) = ledger
            .decide(Command::UpdateTicket(
                target.clone(),
                reroute("Pharmacy", "2026-03-02T07:30:00Z"),
            ))
            .unwrap();
        assert_eq!(
            outcome,
            Outcome::TicketUpdated {
                id: 1,
                changed: true
            }
        );
        let Some(Event::TicketChanged(change)) = event.first() else {
            panic!("a change event")
        };
        // Severity 3 is what the ticket already had: not in the event.
        assert_eq!(change.application.as_deref(), Some("Pharmacy"));
        assert_eq!(change.severity, None);
        assert_eq!(ledger.ticket_record(1).unwrap().application, "Pharmacy");
        // The same again, in any case or spacing, changes nothing.
        let (_, event) = ledger
            .decide(Command::UpdateTicket(
                target.clone(),
                reroute(" PHARMACY ", "2026-03-02T07:40:00Z"),
            ))
            .unwrap();
        assert!(event.is_empty());
        let stale = ledger
            .decide(Command::UpdateTicket(
                target,
                reroute("Orders", "2026-03-02T07:20:00Z"),
            ))
            .unwrap_err();
        assert_eq!(stale.code, "stale_change");
    }

    #[test]
    fn names_fold_to_the_first_spelling_or_the_configured_one() {
        let mut ledger = Ledger::new();
        ledger
            .decide(Command::CreateTicket(new_ticket(
                serde_json::json!({"site": "main  campus"}),
            )))
            .unwrap();
        ledger
            .decide(Command::CreateTicket(new_ticket(
                serde_json::json!({"site": "Main Campus"}),
            )))
            .unwrap();
        assert_eq!(ledger.ticket_record(2).unwrap().site, "main campus");
        ledger
            .decide(call("c1", "offered", "2026-03-02T07:14:05Z"))
            .unwrap();
        let body: CallBody = serde_json::from_value(serde_json::json!({
            "call_id": "c2", "queue": "PHYSICIAN LINE", "event": "offered",
            "at": "2026-03-02T07:14:05Z"
        }))
        .unwrap();
        ledger
            .decide(Command::RecordCall(body.validate(CLOCK).unwrap()))
            .unwrap();
        assert!(ledger.call_record("c2", "Physician Line").is_some());

        let config = crate::names::NamesConfig {
            site: crate::names::NameList {
                canonical: vec!["Main Campus".into()],
                aliases: [("MC".to_string(), "Main Campus".to_string())].into(),
            },
            ..Default::default()
        };
        let mut configured = Ledger::with_names(NameRules::new(&config).unwrap());
        for site in ["MC", "main  campus", "MAIN CAMPUS"] {
            let (Outcome::TicketCreated(id), _) = configured
                .decide(Command::CreateTicket(new_ticket(
                    serde_json::json!({"site": site}),
                )))
                .unwrap()
            else {
                panic!("created")
            };
            assert_eq!(configured.ticket_record(id).unwrap().site, "Main Campus");
        }
    }

    #[test]
    fn a_rolled_back_first_spelling_is_forgotten() {
        let mut ledger = Ledger::new();
        ledger.begin_batch();
        ledger
            .decide(Command::CreateTicket(new_ticket(
                serde_json::json!({"application": "orders"}),
            )))
            .unwrap();
        ledger.rollback_batch();
        ledger
            .decide(Command::CreateTicket(new_ticket(
                serde_json::json!({"application": "Orders"}),
            )))
            .unwrap();
        ledger
            .decide(Command::CreateTicket(new_ticket(
                serde_json::json!({"application": "ORDERS"}),
            )))
            .unwrap();
        assert_eq!(ledger.ticket_record(2).unwrap().application, "Orders");
    }

    fn sync(updated: &str, status: TicketStatus, application: &str) -> Command {
        let at = |text: &str| crate::time::parse_rfc3339(text).unwrap();
        Command::SyncTicket(Box::new(TicketSync {
            source_key: "servicenow:abc".into(),
            external_id: Some("INC0010001".into()),
            updated_at: at(updated),
            opened_at: Ok(at("2026-03-02T07:00:00Z")),
            status: Ok(status),
            resolved_at: status.is_done().then(|| at("2026-03-02T07:45:00Z")),
            site: Ok("Main Campus".into()),
            department: Ok("Emergency".into()),
            application: Ok(application.into()),
            category: Ok(Category::HowTo),
            severity: Ok(Severity::ALL[1]),
            channel: Err(Rejection::invalid("channel", "contact_type has no value")),
            known_issue: None,
        }))
    }

    #[test]
    fn synchronized_records_are_the_current_state() {
        let mut ledger = Ledger::new();
        // Creating needs every field: the deferred rejection is given.
        let missing = ledger
            .decide(sync("2026-03-02T07:10:00Z", TicketStatus::Open, "Orders"))
            .unwrap_err();
        assert_eq!(missing.field.as_deref(), Some("channel"));
        let mut first = sync("2026-03-02T07:10:00Z", TicketStatus::Open, "Orders");
        if let Command::SyncTicket(s) = &mut first {
            s.channel = Ok(Channel::Phone);
        }
        let (outcome, events) = ledger.decide(first).unwrap();
        assert_eq!((outcome, events.len()), (Outcome::TicketCreated(1), 1));
        // Newer: re-routed and resolved, one change at the resolution time;
        // the missing channel of an existing ticket is no error.
        let (outcome, events) = ledger
            .decide(sync(
                "2026-03-02T08:00:00Z",
                TicketStatus::Resolved,
                "Pharmacy",
            ))
            .unwrap();
        assert_eq!(
            outcome,
            Outcome::TicketUpdated {
                id: 1,
                changed: true
            }
        );
        let Some(Event::TicketChanged(change)) = events.first() else {
            panic!("a change")
        };
        assert_eq!(change.at, T0 + 1_855_000, "at resolved_at 07:45");
        assert_eq!(change.application.as_deref(), Some("Pharmacy"));
        // Older and repeated records change nothing.
        for updated in ["2026-03-02T07:30:00Z", "2026-03-02T08:00:00Z"] {
            let (outcome, events) = ledger
                .decide(sync(updated, TicketStatus::Open, "Orders"))
                .unwrap();
            assert_eq!(
                outcome,
                Outcome::TicketUpdated {
                    id: 1,
                    changed: false
                }
            );
            assert!(events.is_empty());
        }
        // A newer one that changes nothing shown still records its time.
        let (outcome, events) = ledger
            .decide(sync(
                "2026-03-02T09:00:00Z",
                TicketStatus::Resolved,
                "Pharmacy",
            ))
            .unwrap();
        assert_eq!(
            outcome,
            Outcome::TicketUpdated {
                id: 1,
                changed: false
            }
        );
        assert_eq!(events.len(), 1);
        let (_, events) = ledger
            .decide(sync("2026-03-02T08:30:00Z", TicketStatus::Open, "Orders"))
            .unwrap();
        assert!(events.is_empty());
        // Reopened later: a reopen at the update time.
        let (_, events) = ledger
            .decide(sync(
                "2026-03-02T09:30:00Z",
                TicketStatus::InProgress,
                "Pharmacy",
            ))
            .unwrap();
        let Some(Event::TicketChanged(change)) = events.first() else {
            panic!("a change")
        };
        assert_eq!(change.status, Some(TicketStatus::InProgress));
        assert_eq!(ledger.ticket_record(1).unwrap().resolved_at, None);
    }

    #[test]
    fn a_record_first_seen_resolved_is_created_then_resolved() {
        let mut ledger = Ledger::new();
        let mut record = sync("2026-03-02T08:00:00Z", TicketStatus::Closed, "Orders");
        if let Command::SyncTicket(s) = &mut record {
            s.channel = Ok(Channel::Email);
        }
        let mut log = Vec::new();
        let outcome = ledger.decide_into(record, T0, &mut log).unwrap();
        assert_eq!(outcome, Outcome::TicketCreated(1));
        assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
        assert!(matches!(
            &log[0].event,
            Event::TicketCreated(TicketCreated {
                status: TicketStatus::Open,
                ..
            })
        ));
        let mut replayed = Ledger::new();
        for event in &log {
            replayed.apply(event);
        }
        assert_eq!(replayed.ticket_record(1), ledger.ticket_record(1));
        assert_eq!(
            replayed.ticket_record(1).unwrap().status,
            TicketStatus::Closed
        );
        // Found by its key after a replay: the same record is no change.
        let (_, events) = replayed
            .decide(sync("2026-03-02T08:00:00Z", TicketStatus::Closed, "Orders"))
            .unwrap();
        assert!(events.is_empty());
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
            let (_, events) = ledger.decide(command).unwrap();
            let first = ledger.last_seq() + 1 - events.len() as u64;
            for (offset, event) in events.into_iter().enumerate() {
                log.push(RecordedEvent {
                    seq: first + offset as u64,
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
        assert_eq!(
            replayed.call_record("c1", "Physician Line"),
            ledger.call_record("c1", "Physician Line")
        );
    }
}
