//! What clients send, and the stateless half of validation.
//!
//! Bodies are deserialized into these structs (unknown fields are refused so
//! a typo such as `resolvedAt` fails loudly instead of being dropped), then
//! `validate` checks lengths, ranges and timestamps and fills defaults. The
//! stateful half (does the ticket exist, is the call sequence possible) is the
//! ledger's job.

use crate::event::{CallRecorded, TicketId};
use crate::model::{CallEventKind, Category, Channel, QueueSettings, Severity, TicketStatus};
use crate::time::{Millis, parse_rfc3339};
use serde::Deserialize;
use std::fmt;

/// Longest site, department, application, queue or assignee name.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest ticket summary.
pub const MAX_SUMMARY_CHARS: usize = 4000;
/// Longest external id or call id.
pub const MAX_ID_CHARS: usize = 128;
/// Longest wrap-up time accepted on a call, one day.
pub const MAX_WRAP_SECONDS: f64 = 86_400.0;

/// Why a command was refused. The HTTP layer maps `kind` to a status.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    pub kind: RejectionKind,
    /// snake_case machine-readable reason.
    pub code: &'static str,
    /// Human-readable: names the field and why.
    pub message: String,
    pub field: Option<String>,
}

/// The class of a rejection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectionKind {
    /// Well-formed but invalid (422).
    Invalid,
    /// The target does not exist (404).
    NotFound,
    /// Conflicts with the current state (409).
    Conflict,
}

impl Rejection {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Rejection {
            kind: RejectionKind::Invalid,
            code: "invalid_field",
            message: format!("{field}: {}", message.into()),
            field: Some(field.to_string()),
        }
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Rejection {
            kind: RejectionKind::NotFound,
            code: "not_found",
            message: message.into(),
            field: None,
        }
    }

    pub fn conflict(code: &'static str, field: Option<&str>, message: impl Into<String>) -> Self {
        Rejection {
            kind: RejectionKind::Conflict,
            code,
            message: message.into(),
            field: field.map(str::to_string),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejection {}

/// `POST /api/v1/tickets` body (and `"kind": "ticket"` ingest lines).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketBody {
    pub external_id: Option<String>,
    pub opened_at: Option<String>,
    pub site: String,
    pub department: String,
    pub application: String,
    pub category: Category,
    pub severity: Severity,
    pub channel: Channel,
    pub summary: Option<String>,
    pub reporter_role: Option<String>,
    pub status: Option<TicketStatus>,
    pub resolved_at: Option<String>,
    pub assignee: Option<String>,
    pub tier: Option<u8>,
}

/// A validated new ticket, defaults filled in; the ledger gives it an id.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTicket {
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
    pub resolved_at: Option<Millis>,
    pub assignee: Option<String>,
    pub tier: Option<u8>,
}

impl TicketBody {
    /// Checks every field; `now` fills the defaults for missing times.
    pub fn validate(self, now: Millis) -> Result<NewTicket, Rejection> {
        let external_id = optional_id("external_id", self.external_id)?;
        let opened_at = match self.opened_at {
            Some(text) => timestamp("opened_at", &text)?,
            None => now,
        };
        let status = self.status.unwrap_or(TicketStatus::Open);
        let resolved_at = match (self.resolved_at, status.is_done()) {
            (Some(_), false) => {
                return Err(Rejection::invalid(
                    "resolved_at",
                    format!("only allowed with status resolved or closed, not {status}"),
                ));
            }
            (Some(text), true) => Some(timestamp("resolved_at", &text)?),
            // A ticket logged as already fixed was fixed when it was logged,
            // or now if it was opened earlier.
            (None, true) => Some(opened_at.max(now)),
            (None, false) => None,
        };
        if resolved_at.is_some_and(|resolved| resolved < opened_at) {
            return Err(Rejection::invalid("resolved_at", "is before opened_at"));
        }
        let summary = match self.summary {
            Some(text) if text.chars().count() > MAX_SUMMARY_CHARS => {
                return Err(Rejection::invalid(
                    "summary",
                    format!("longer than {MAX_SUMMARY_CHARS} characters"),
                ));
            }
            Some(text) if text.trim().is_empty() => None,
            other => other,
        };
        Ok(NewTicket {
            external_id,
            opened_at,
            site: name("site", &self.site)?,
            department: name("department", &self.department)?,
            application: name("application", &self.application)?,
            category: self.category,
            severity: self.severity,
            channel: self.channel,
            summary,
            reporter_role: optional_name("reporter_role", self.reporter_role)?,
            status,
            resolved_at,
            assignee: optional_name("assignee", self.assignee)?,
            tier: optional_tier(self.tier)?,
        })
    }
}

/// `PATCH /api/v1/tickets/{id}` body.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketPatchBody {
    pub status: Option<TicketStatus>,
    pub at: Option<String>,
    pub assignee: Option<String>,
    pub tier: Option<u8>,
}

/// A validated change to a ticket.
#[derive(Clone, Debug, PartialEq)]
pub struct TicketPatch {
    pub status: Option<TicketStatus>,
    pub at: Millis,
    pub assignee: Option<String>,
    pub tier: Option<u8>,
}

impl TicketPatchBody {
    pub fn validate(self, now: Millis) -> Result<TicketPatch, Rejection> {
        if self.status.is_none() && self.assignee.is_none() && self.tier.is_none() {
            return Err(Rejection::invalid(
                "status",
                "nothing to change: give at least one of status, assignee, tier",
            )
            .with_code("empty_patch"));
        }
        let at = match self.at {
            Some(text) => timestamp("at", &text)?,
            None => now,
        };
        Ok(TicketPatch {
            status: self.status,
            at,
            assignee: optional_name("assignee", self.assignee)?,
            tier: optional_tier(self.tier)?,
        })
    }
}

/// Which ticket an update names: the server id or the client's external id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TicketRef {
    Id(TicketId),
    External(String),
}

impl TicketRef {
    /// Parses a server-made id as it appears in URLs and bodies.
    pub fn parse_id(text: &str) -> Option<TicketId> {
        let digits = text.trim();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }
}

/// `"kind": "ticket_update"` ingest line: a PATCH body plus whom it is for.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdateLine {
    pub id: Option<String>,
    pub external_id: Option<String>,
    pub status: Option<TicketStatus>,
    pub at: Option<String>,
    pub assignee: Option<String>,
    pub tier: Option<u8>,
}

impl TicketUpdateLine {
    pub fn validate(self, now: Millis) -> Result<(TicketRef, TicketPatch), Rejection> {
        let target = match (self.id, self.external_id) {
            (Some(id), None) => match TicketRef::parse_id(&id) {
                Some(id) => TicketRef::Id(id),
                None => return Err(Rejection::not_found(format!("no ticket with id {id:?}"))),
            },
            (None, Some(external)) => TicketRef::External(external.trim().to_string()),
            (Some(_), Some(_)) => {
                return Err(Rejection::invalid(
                    "id",
                    "give either id or external_id, not both",
                ));
            }
            (None, None) => return Err(Rejection::invalid("id", "id or external_id is required")),
        };
        let patch = TicketPatchBody {
            status: self.status,
            at: self.at,
            assignee: self.assignee,
            tier: self.tier,
        }
        .validate(now)?;
        Ok((target, patch))
    }
}

/// `POST /api/v1/calls/events` body (and `"kind": "call"` ingest lines).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallBody {
    pub call_id: String,
    pub queue: String,
    pub event: CallEventKind,
    pub at: String,
    pub agent: Option<String>,
    pub wrap_seconds: Option<f64>,
}

impl CallBody {
    pub fn validate(self) -> Result<CallRecorded, Rejection> {
        let call_id = self.call_id.trim();
        if call_id.is_empty() || call_id.chars().count() > MAX_ID_CHARS {
            return Err(Rejection::invalid(
                "call_id",
                format!("must be 1..{MAX_ID_CHARS} characters"),
            ));
        }
        let wrap_seconds = match self.wrap_seconds {
            Some(w) if !w.is_finite() || !(0.0..=MAX_WRAP_SECONDS).contains(&w) => {
                return Err(Rejection::invalid(
                    "wrap_seconds",
                    format!("must be a number from 0 to {MAX_WRAP_SECONDS}"),
                ));
            }
            other => other,
        };
        Ok(CallRecorded {
            call_id: call_id.to_string(),
            queue: name("queue", &self.queue)?,
            event: self.event,
            at: timestamp("at", &self.at)?,
            agent: optional_name("agent", self.agent)?,
            wrap_seconds,
        })
    }
}

/// `PUT /api/v1/queues/{queue}` body: every field optional, merged over the
/// queue's current settings.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueBody {
    pub answer_target_seconds: Option<f64>,
    pub service_level_target: Option<f64>,
    pub max_occupancy: Option<f64>,
    pub shrinkage: Option<f64>,
    pub agents_staffed: Option<u32>,
}

impl QueueBody {
    /// Checks the ranges and returns the merged settings.
    pub fn merge_into(&self, current: QueueSettings) -> Result<QueueSettings, Rejection> {
        let mut next = current;
        if let Some(v) = self.answer_target_seconds {
            if !v.is_finite() || !(0.0..=3600.0).contains(&v) {
                return Err(Rejection::invalid(
                    "answer_target_seconds",
                    "must be from 0 to 3600",
                ));
            }
            next.answer_target_seconds = v;
        }
        if let Some(v) = self.service_level_target {
            if !v.is_finite() || v <= 0.0 || v > 1.0 {
                return Err(Rejection::invalid(
                    "service_level_target",
                    "must be in (0, 1]",
                ));
            }
            next.service_level_target = v;
        }
        if let Some(v) = self.max_occupancy {
            if !v.is_finite() || v <= 0.0 || v > 1.0 {
                return Err(Rejection::invalid("max_occupancy", "must be in (0, 1]"));
            }
            next.max_occupancy = v;
        }
        if let Some(v) = self.shrinkage {
            if !v.is_finite() || !(0.0..1.0).contains(&v) {
                return Err(Rejection::invalid("shrinkage", "must be in [0, 1)"));
            }
            next.shrinkage = v;
        }
        if let Some(v) = self.agents_staffed {
            if v > 100_000 {
                return Err(Rejection::invalid(
                    "agents_staffed",
                    "must be at most 100000",
                ));
            }
            next.agents_staffed = v;
        }
        Ok(next)
    }
}

/// Longest note a lead may put on an acknowledgement.
pub const MAX_NOTE_CHARS: usize = 500;

/// Validates an acknowledgement's note: trimmed, blank is none, at most
/// [`MAX_NOTE_CHARS`], no control characters but line breaks. The message
/// never quotes the note (it is free text).
pub fn ack_note(raw: Option<&str>) -> Result<Option<String>, Rejection> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(Rejection::invalid(
            "note",
            format!("longer than {MAX_NOTE_CHARS} characters"),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Rejection::invalid("note", "contains control characters"));
    }
    Ok(Some(text.to_owned()))
}

/// Validates a queue name taken from a URL path.
pub fn queue_name(raw: &str) -> Result<String, Rejection> {
    name("queue", raw)
}

fn name(field: &str, raw: &str) -> Result<String, Rejection> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Rejection::invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(Rejection::invalid(
            field,
            format!("longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Rejection::invalid(field, "contains control characters"));
    }
    Ok(trimmed.to_string())
}

fn optional_name(field: &str, raw: Option<String>) -> Result<Option<String>, Rejection> {
    raw.map(|text| name(field, &text)).transpose()
}

fn optional_id(field: &str, raw: Option<String>) -> Result<Option<String>, Rejection> {
    match raw {
        None => Ok(None),
        Some(text) => {
            let trimmed = text.trim();
            if trimmed.is_empty() || trimmed.chars().count() > MAX_ID_CHARS {
                return Err(Rejection::invalid(
                    field,
                    format!("must be 1..{MAX_ID_CHARS} characters"),
                ));
            }
            Ok(Some(trimmed.to_string()))
        }
    }
}

fn optional_tier(tier: Option<u8>) -> Result<Option<u8>, Rejection> {
    match tier {
        Some(t) if !(1..=3).contains(&t) => Err(Rejection::invalid("tier", "must be 1, 2 or 3")),
        other => Ok(other),
    }
}

fn timestamp(field: &str, text: &str) -> Result<Millis, Rejection> {
    parse_rfc3339(text).ok_or_else(|| {
        Rejection::invalid(
            field,
            "must be an RFC 3339 timestamp with an offset between 2000 and 2100, e.g. 2026-03-02T07:14:05Z",
        )
        .with_code("invalid_timestamp")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_772_435_645_000;

    fn body(extra: serde_json::Value) -> Result<TicketBody, serde_json::Error> {
        let mut base = serde_json::json!({
            "site": "Main Campus", "department": "Emergency", "application": "Orders",
            "category": "how_to", "severity": 3, "channel": "phone"
        });
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(base)
    }

    #[test]
    fn minimal_ticket_gets_defaults() {
        let t = body(serde_json::json!({})).unwrap().validate(NOW).unwrap();
        assert_eq!(t.opened_at, NOW);
        assert_eq!(t.status, TicketStatus::Open);
        assert_eq!(t.resolved_at, None);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let t = body(serde_json::json!({"site": "  North  "}))
            .unwrap()
            .validate(NOW)
            .unwrap();
        assert_eq!(t.site, "North");
        let long = "x".repeat(65);
        let err = body(serde_json::json!({"site": long}))
            .unwrap()
            .validate(NOW)
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("site"));
        let err = body(serde_json::json!({"department": "   "}))
            .unwrap()
            .validate(NOW)
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("department"));
    }

    #[test]
    fn resolved_at_rules() {
        let err = body(serde_json::json!({"resolved_at": "2026-03-02T07:20:00Z"}))
            .unwrap()
            .validate(NOW)
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("resolved_at"));
        let err = body(
            serde_json::json!({"status": "resolved", "opened_at": "2026-03-02T07:20:00Z",
            "resolved_at": "2026-03-02T07:10:00Z"}),
        )
        .unwrap()
        .validate(NOW)
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("resolved_at"));
        let t = body(serde_json::json!({"status": "closed"}))
            .unwrap()
            .validate(NOW)
            .unwrap();
        assert_eq!(t.resolved_at, Some(NOW));
    }

    #[test]
    fn enums_and_severity_are_checked_by_type() {
        assert!(body(serde_json::json!({"severity": 0})).is_err());
        assert!(body(serde_json::json!({"severity": 5})).is_err());
        assert!(body(serde_json::json!({"severity": "3"})).is_err());
        assert!(body(serde_json::json!({"category": "howto"})).is_err());
        assert!(body(serde_json::json!({"channel": "fax"})).is_err());
        assert!(body(serde_json::json!({"sevrity": 2})).is_err());
    }

    #[test]
    fn summary_limit_counts_characters() {
        let ok = "é".repeat(MAX_SUMMARY_CHARS);
        assert!(
            body(serde_json::json!({"summary": ok}))
                .unwrap()
                .validate(NOW)
                .is_ok()
        );
        let too_long = "é".repeat(MAX_SUMMARY_CHARS + 1);
        let err = body(serde_json::json!({"summary": too_long}))
            .unwrap()
            .validate(NOW)
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("summary"));
    }

    #[test]
    fn patch_needs_something_to_change() {
        assert!(TicketPatchBody::default().validate(NOW).is_err());
        let p = TicketPatchBody {
            tier: Some(2),
            ..Default::default()
        }
        .validate(NOW)
        .unwrap();
        assert_eq!(p.at, NOW);
        assert!(
            TicketPatchBody {
                tier: Some(4),
                ..Default::default()
            }
            .validate(NOW)
            .is_err()
        );
    }

    #[test]
    fn call_bodies() {
        let ok: CallBody = serde_json::from_value(serde_json::json!({
            "call_id": "c-1", "queue": "Physician Line", "event": "ended",
            "at": "2026-03-02T07:14:05Z", "wrap_seconds": 30
        }))
        .unwrap();
        assert_eq!(ok.validate().unwrap().wrap_seconds, Some(30.0));
        let bad: CallBody = serde_json::from_value(serde_json::json!({
            "call_id": "c-1", "queue": "Q", "event": "ended", "at": "2026-03-02T07:14:05Z",
            "wrap_seconds": -1
        }))
        .unwrap();
        assert_eq!(
            bad.validate().unwrap_err().field.as_deref(),
            Some("wrap_seconds")
        );
        let no_offset: CallBody = serde_json::from_value(serde_json::json!({
            "call_id": "c-1", "queue": "Q", "event": "offered", "at": "2026-03-02T07:14:05"
        }))
        .unwrap();
        assert_eq!(
            no_offset.validate().unwrap_err().field.as_deref(),
            Some("at")
        );
    }

    #[test]
    fn queue_settings_merge_and_ranges() {
        let merged = QueueBody {
            agents_staffed: Some(12),
            ..Default::default()
        }
        .merge_into(QueueSettings::default())
        .unwrap();
        assert_eq!(merged.agents_staffed, 12);
        assert_eq!(merged.answer_target_seconds, 20.0);
        for bad in [
            QueueBody {
                shrinkage: Some(1.0),
                ..Default::default()
            },
            QueueBody {
                service_level_target: Some(0.0),
                ..Default::default()
            },
            QueueBody {
                max_occupancy: Some(1.5),
                ..Default::default()
            },
            QueueBody {
                answer_target_seconds: Some(f64::NAN),
                ..Default::default()
            },
        ] {
            assert!(bad.merge_into(QueueSettings::default()).is_err());
        }
    }

    #[test]
    fn ticket_ids_are_plain_numbers() {
        assert_eq!(TicketRef::parse_id("42"), Some(42));
        assert_eq!(TicketRef::parse_id("-1"), None);
        assert_eq!(TicketRef::parse_id("4x"), None);
        assert_eq!(TicketRef::parse_id(""), None);
    }
}
