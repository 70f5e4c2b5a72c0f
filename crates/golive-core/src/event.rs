//! The events that make up golive's log, the one source of truth.
//!
//! Every accepted write becomes exactly one event with a gap-free sequence
//! number. Tables, the aggregator and the live board are all folds of this
//! stream, so a restart is a replay. Events are facts that were already
//! validated: applying them never fails.

use crate::model::{
    CallEventKind, Category, Channel, KnownIssueStatus, QueueSettings, Severity, TicketStatus,
};
use crate::time::Millis;
use serde::{Deserialize, Serialize};

/// Server-made ticket identifier: the sequence number of the event that
/// created the ticket, so it is unique across writers without coordination
/// beyond the log itself.
pub type TicketId = u64;

/// An event as stored: its place in the log and when it was recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub seq: u64,
    pub recorded_at: Millis,
    pub event: Event,
}

/// One accepted write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    TicketCreated(TicketCreated),
    TicketChanged(TicketChanged),
    CallRecorded(CallRecorded),
    CallLegReplaced(CallLegReplaced),
    QueueConfigured(QueueConfigured),
    AlertAcknowledged(AlertAcknowledged),
    KnownIssueCreated(KnownIssueCreated),
    KnownIssueChanged(KnownIssueChanged),
    AlertRaised(AlertRaised),
    AlertCleared(AlertCleared),
}

impl Event {
    /// The short name stored beside the payload (for inspection in SQL).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::TicketCreated(_) => "ticket_created",
            Event::TicketChanged(_) => "ticket_changed",
            Event::CallRecorded(_) => "call_recorded",
            Event::CallLegReplaced(_) => "call_leg_replaced",
            Event::QueueConfigured(_) => "queue_configured",
            Event::AlertAcknowledged(_) => "alert_acknowledged",
            Event::KnownIssueCreated(_) => "known_issue_created",
            Event::KnownIssueChanged(_) => "known_issue_changed",
            Event::AlertRaised(_) => "alert_raised",
            Event::AlertCleared(_) => "alert_cleared",
        }
    }
}

/// A ticket was logged. `status` is where it starts; a ticket created
/// already done carries its `resolved_at` (first-contact resolution).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketCreated {
    pub id: TicketId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub opened_at: Millis,
    pub site: String,
    pub department: String,
    pub application: String,
    pub category: Category,
    pub severity: Severity,
    pub channel: Channel,
    /// Free text that may hold PHI: stored, never logged, never on a board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter_role: Option<String>,
    pub status: TicketStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    /// The ticket's key in the system it was synchronized from (for
    /// example `servicenow:` + the incident's `sys_id`), when a connector
    /// created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_key: Option<String>,
    /// That system's last update time of the record this came from
    /// (ServiceNow's `sys_updated_on`): an older record changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_updated_at: Option<Millis>,
    /// The known issue the ticket is linked to (its id), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_issue: Option<String>,
}

/// A ticket moved (status), was reassigned or was reclassified. Only the
/// fields that changed are present. `at` is never before the ticket's
/// previous change; facts of the ticket from `at` on (this change's status
/// included) belong to the new classification.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketChanged {
    pub id: TicketId,
    pub at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TicketStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Links the ticket to its key in a connected system (see
    /// [`TicketCreated::source_key`]) when it was created another way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_key: Option<String>,
    /// The connected system's update time of the record this change came
    /// from (see [`TicketCreated::source_updated_at`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_updated_at: Option<Millis>,
    /// A new link to a known issue (its id). A known issue is a diagnosis
    /// of what the ticket was about, so the link holds for the ticket's
    /// whole life, not from `at` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_issue: Option<String>,
}

impl TicketChanged {
    /// Whether the change carries a new value for any classification field.
    pub fn reclassifies(&self) -> bool {
        self.site.is_some()
            || self.department.is_some()
            || self.application.is_some()
            || self.category.is_some()
            || self.severity.is_some()
    }
}

/// One ACD event for a call. Events of a call may be recorded in any order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallRecorded {
    pub call_id: String,
    pub queue: String,
    pub event: CallEventKind,
    pub at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_seconds: Option<f64>,
}

/// A phone system's whole record of one leg (Amazon Connect's contact
/// trace record, CTR): the leg becomes exactly this, whatever events it
/// had. The ledger commits one only when its `source_updated_at` is later
/// than that of the leg's last record (CTRs are delivered at least once and
/// updated several times: the latest wins, an older one changes nothing),
/// and ignores single call events for the leg from then on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallLegReplaced {
    pub call_id: String,
    pub queue: String,
    pub offered_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<Millis>,
    /// When the leg ended: after `answered_at` if it has one, else the
    /// caller hung up waiting (an abandon at this time, as for `ended`
    /// without `answered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_seconds: Option<f64>,
    /// The record's own update time (`LastUpdateTimestamp`), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_updated_at: Option<Millis>,
}

/// A queue's settings after a change (the whole set, not the difference).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueConfigured {
    pub queue: String,
    pub settings: QueueSettings,
}

/// A lead acknowledged an alert: the board dims it, with who and when,
/// until it clears. The acknowledgement is a lead's act; raising and
/// clearing ([`AlertRaised`], [`AlertCleared`]) are the leader's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertAcknowledged {
    /// The alert's stable id (rule plus scope).
    pub alert_id: String,
    /// The acknowledging token's name (never the token).
    pub by: String,
    /// Written by the lead; shown on the board, never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub at: Millis,
    /// When the acknowledged occurrence of the alert was raised.
    pub raised_at: Millis,
}

/// A lead opened a known issue: a problem many tickets are about, with
/// the workaround agents should give. The title is written by a lead for
/// the board (not patient data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnownIssueCreated {
    /// Server-made: the sequence number of this event, as text.
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workaround: Option<String>,
    pub at: Millis,
}

/// A lead changed a known issue: only the fields that changed are present.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KnownIssueChanged {
    pub id: String,
    pub at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workaround: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<KnownIssueStatus>,
}

/// How urgent an alert is. Ordered: critical before warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Critical,
    Warning,
}

/// Where an alert holds; every part absent for the whole center.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AlertScope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}

impl AlertScope {
    /// A queue's scope.
    pub fn queue(name: &str) -> Self {
        AlertScope {
            queue: Some(name.to_owned()),
            ..AlertScope::default()
        }
    }

    /// The place in words, for the board: "Main Campus · MAR".
    pub fn place(&self) -> String {
        [&self.site, &self.application, &self.queue]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// An alert was raised: its condition began to hold, as the leader (one
/// process per database, `crate::alerts`) found in the figures at `at`.
/// In the log so that every replica shows the same alerts with the same
/// times, and a restart shows them as they were.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRaised {
    /// The alert's stable id (rule plus scope).
    pub alert_id: String,
    pub rule: String,
    pub severity: AlertSeverity,
    pub message: String,
    #[serde(default)]
    pub scope: AlertScope,
    /// When the condition began, where the figures say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Millis>,
    /// The figure that crossed its threshold (orders alerts of a rule).
    pub value: f64,
    pub at: Millis,
}

/// A raised alert cleared: its condition stopped holding at `at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertCleared {
    pub alert_id: String,
    pub at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_as_json() {
        let event = Event::CallRecorded(CallRecorded {
            call_id: "c-1".into(),
            queue: "Physician Line".into(),
            event: CallEventKind::Answered,
            at: 1_772_435_645_000,
            agent: Some("a-17".into()),
            wrap_seconds: None,
        });
        let text = serde_json::to_string(&event).unwrap();
        assert!(text.contains("\"type\":\"call_recorded\""));
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
    }
}
