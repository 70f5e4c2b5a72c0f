//! Rows of the projections (the `tickets` and `calls` tables) and the
//! ticket as the API shows it.

use crate::event::TicketId;
use crate::model::{Category, Channel, Severity, TicketStatus};
use crate::time::{Millis, format_rfc3339};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

/// A ticket as stored in the `tickets` projection and returned by the API.
#[derive(Clone, Debug, PartialEq)]
pub struct TicketRecord {
    pub id: TicketId,
    pub external_id: Option<String>,
    pub opened_at: Millis,
    pub site: String,
    pub department: String,
    pub application: String,
    pub category: Category,
    pub severity: Severity,
    pub channel: Channel,
    pub summary: Option<String>,
    pub reporter_role: Option<String>,
    pub status: TicketStatus,
    /// When the ticket last became done; `None` while active.
    pub resolved_at: Option<Millis>,
    pub assignee: Option<String>,
    pub tier: Option<u8>,
    /// Time of the last change (or `opened_at`).
    pub updated_at: Millis,
}

impl Serialize for TicketRecord {
    /// The API shape: ids as strings, times as RFC 3339.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Ticket", 16)?;
        out.serialize_field("id", &self.id.to_string())?;
        out.serialize_field("external_id", &self.external_id)?;
        out.serialize_field("opened_at", &format_rfc3339(self.opened_at))?;
        out.serialize_field("site", &self.site)?;
        out.serialize_field("department", &self.department)?;
        out.serialize_field("application", &self.application)?;
        out.serialize_field("category", &self.category)?;
        out.serialize_field("severity", &self.severity)?;
        out.serialize_field("channel", &self.channel)?;
        out.serialize_field("summary", &self.summary)?;
        out.serialize_field("reporter_role", &self.reporter_role)?;
        out.serialize_field("status", &self.status)?;
        out.serialize_field("resolved_at", &self.resolved_at.map(format_rfc3339))?;
        out.serialize_field("assignee", &self.assignee)?;
        out.serialize_field("tier", &self.tier)?;
        out.serialize_field("updated_at", &format_rfc3339(self.updated_at))?;
        out.end()
    }
}

/// A call leg (`call_id`, `queue`) as stored in the `calls` projection:
/// everything its events recorded so far. A leg with `ended_at` and no
/// `answered_at` counts as abandoned at `ended_at` (`abandoned_at` is only
/// an `abandoned` event's time).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallRecord {
    pub call_id: String,
    pub queue: String,
    pub offered_at: Option<Millis>,
    pub answered_at: Option<Millis>,
    pub abandoned_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub agent: Option<String>,
    pub wrap_seconds: Option<f64>,
}

impl TicketRecord {
    /// The row of a ticket just created from `new` with server id `id`.
    pub fn from_new(id: TicketId, new: &crate::input::NewTicket) -> Self {
        TicketRecord {
            id,
            external_id: new.external_id.clone(),
            opened_at: new.opened_at,
            site: new.site.clone(),
            department: new.department.clone(),
            application: new.application.clone(),
            category: new.category,
            severity: new.severity,
            channel: new.channel,
            summary: new.summary.clone(),
            reporter_role: new.reporter_role.clone(),
            status: new.status,
            resolved_at: if new.status.is_done() {
                new.resolved_at
            } else {
                None
            },
            assignee: new.assignee.clone(),
            tier: new.tier,
            updated_at: new.resolved_at.unwrap_or(new.opened_at),
        }
    }
}
