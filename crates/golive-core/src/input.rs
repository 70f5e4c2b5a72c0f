//! What clients send, and the stateless half of validation.
//!
//! Bodies are deserialized into these structs (unknown fields are refused so
//! a typo such as `resolvedAt` fails loudly instead of being dropped), then
//! `validate` checks lengths, ranges and timestamps and fills defaults. The
//! stateful half (does the ticket exist, is the call sequence possible) is the
//! ledger's job.

use crate::event::{CallRecorded, TicketId};
use crate::model::{
    CallEventKind, Category, Channel, KnownIssueStatus, QueueSettings, Severity, TicketStatus,
};
use crate::time::{Millis, format_rfc3339, parse_rfc3339};
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
/// Longest token name.
pub const MAX_TOKEN_NAME_CHARS: usize = 64;

/// The server's clock as a body is validated: `now` fills the defaults
/// for missing times, and no given time may be more than `max_ahead`
/// milliseconds after it (a feed that labels local time `Z` must not
/// create events from the future, which would also make every later
/// change to them "stale" until the clock caught up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub now: Millis,
    pub max_ahead: Millis,
}

impl Clock {
    /// The default allowance for clock skew: five minutes.
    pub const DEFAULT_MAX_AHEAD: Millis = 5 * 60_000;

    pub fn new(now: Millis, max_ahead: Millis) -> Self {
        Clock {
            now,
            max_ahead: max_ahead.max(0),
        }
    }

    /// The latest time a body may carry.
    pub fn latest(&self) -> Millis {
        self.now.saturating_add(self.max_ahead)
    }

    /// Parses the timestamp in `field`: RFC 3339 with an offset, within
    /// the years golive accepts and not after [`Clock::latest`].
    pub fn timestamp(&self, field: &str, text: &str) -> Result<Millis, Rejection> {
        let at = parse_rfc3339(text).ok_or_else(|| {
            Rejection::invalid(
                field,
                "must be an RFC 3339 timestamp with an offset between 2000 and 2100, e.g. 2026-03-02T07:14:05Z",
            )
            .with_code("invalid_timestamp")
        })?;
        if at > self.latest() {
            return Err(Rejection::invalid(
                field,
                format!(
                    "is {} in the future (the server's clock says {}); at most {} s ahead is accepted. \
                     Is local time labelled as UTC?",
                    describe_ahead(at - self.now),
                    format_rfc3339(self.now),
                    self.max_ahead / 1000
                ),
            )
            .with_code("timestamp_in_future"));
        }
        Ok(at)
    }
}

/// "3 h 20 min", "42 s": how far ahead a timestamp is, for the message.
fn describe_ahead(millis: Millis) -> String {
    let seconds = millis / 1000;
    match seconds {
        s if s >= 3600 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

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
    /// Could not be committed for a reason that is not the command's own
    /// (the database was unavailable): nothing was changed, try again (503).
    Unavailable,
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

    /// The database refused to store this command's own data, for a
    /// reason validation did not catch: retrying cannot help (422).
    pub fn refused_by_database() -> Self {
        Rejection {
            kind: RejectionKind::Invalid,
            code: "refused_by_database",
            message: "the database refused to store this record; it was not stored, and sending it again will not help".into(),
            field: None,
        }
    }

    /// Not committed because the database was unavailable (503).
    pub fn unavailable() -> Self {
        Rejection {
            kind: RejectionKind::Unavailable,
            code: "unavailable",
            message: "could not be committed because the database is unavailable; nothing was changed, try again".into(),
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
    /// The id of a known issue the ticket is about.
    pub known_issue: Option<String>,
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
    pub known_issue: Option<String>,
}

impl TicketBody {
    /// Checks every field; the clock fills the defaults for missing times
    /// and bounds how far ahead a given one may be.
    pub fn validate(self, clock: Clock) -> Result<NewTicket, Rejection> {
        let now = clock.now;
        let external_id = optional_id("external_id", self.external_id)?;
        let opened_at = match self.opened_at {
            Some(text) => clock.timestamp("opened_at", &text)?,
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
            (Some(text), true) => Some(clock.timestamp("resolved_at", &text)?),
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
            Some(text) => Some(free_text("summary", text)?),
            None => None,
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
            known_issue: optional_id("known_issue", self.known_issue)?,
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
    pub site: Option<String>,
    pub department: Option<String>,
    pub application: Option<String>,
    pub category: Option<Category>,
    pub severity: Option<Severity>,
    pub known_issue: Option<String>,
}

/// New values for a ticket's classification (reclassification); absent
/// fields keep theirs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reclassification {
    pub site: Option<String>,
    pub department: Option<String>,
    pub application: Option<String>,
    pub category: Option<Category>,
    pub severity: Option<Severity>,
}

impl Reclassification {
    /// Whether it names no field at all.
    pub fn is_empty(&self) -> bool {
        self.site.is_none()
            && self.department.is_none()
            && self.application.is_none()
            && self.category.is_none()
            && self.severity.is_none()
    }
}

/// A validated change to a ticket.
#[derive(Clone, Debug, PartialEq)]
pub struct TicketPatch {
    pub status: Option<TicketStatus>,
    pub at: Millis,
    pub assignee: Option<String>,
    pub tier: Option<u8>,
    pub reclassify: Reclassification,
    /// Links the ticket to this known issue (its id).
    pub known_issue: Option<String>,
}

impl TicketPatchBody {
    pub fn validate(self, clock: Clock) -> Result<TicketPatch, Rejection> {
        let reclassify = Reclassification {
            site: optional_name("site", self.site)?,
            department: optional_name("department", self.department)?,
            application: optional_name("application", self.application)?,
            category: self.category,
            severity: self.severity,
        };
        if self.status.is_none()
            && self.assignee.is_none()
            && self.tier.is_none()
            && reclassify.is_empty()
            && self.known_issue.is_none()
        {
            return Err(Rejection::invalid(
                "status",
                "nothing to change: give at least one of status, assignee, tier, site, \
                 department, application, category, severity, known_issue",
            )
            .with_code("empty_patch"));
        }
        let at = match self.at {
            Some(text) => clock.timestamp("at", &text)?,
            None => clock.now,
        };
        Ok(TicketPatch {
            status: self.status,
            at,
            assignee: optional_name("assignee", self.assignee)?,
            tier: optional_tier(self.tier)?,
            reclassify,
            known_issue: optional_id("known_issue", self.known_issue)?,
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
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdateLine {
    pub id: Option<String>,
    pub external_id: Option<String>,
    pub status: Option<TicketStatus>,
    pub at: Option<String>,
    pub assignee: Option<String>,
    pub tier: Option<u8>,
    pub site: Option<String>,
    pub department: Option<String>,
    pub application: Option<String>,
    pub category: Option<Category>,
    pub severity: Option<Severity>,
    pub known_issue: Option<String>,
}

impl TicketUpdateLine {
    pub fn validate(self, clock: Clock) -> Result<(TicketRef, TicketPatch), Rejection> {
        let target = match (self.id, self.external_id) {
            (Some(id), None) => match TicketRef::parse_id(&id) {
                Some(id) => TicketRef::Id(id),
                None => {
                    return Err(Rejection::not_found(format!(
                        "no ticket with id \"{}\"",
                        printable(&id)
                    )));
                }
            },
            (None, Some(external)) => TicketRef::External(client_id("external_id", &external)?),
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
            site: self.site,
            department: self.department,
            application: self.application,
            category: self.category,
            severity: self.severity,
            known_issue: self.known_issue,
        }
        .validate(clock)?;
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
    pub fn validate(self, clock: Clock) -> Result<CallRecorded, Rejection> {
        let call_id = client_id("call_id", &self.call_id)?;
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
            call_id,
            queue: name("queue", &self.queue)?,
            event: self.event,
            at: clock.timestamp("at", &self.at)?,
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
    /// The settings this body sets other than `agents_staffed`, by wire
    /// name: what an `integration` token (a phone-system feed) may not set.
    pub fn settings_beyond_staffing(&self) -> Vec<&'static str> {
        [
            (
                "answer_target_seconds",
                self.answer_target_seconds.is_some(),
            ),
            ("service_level_target", self.service_level_target.is_some()),
            ("max_occupancy", self.max_occupancy.is_some()),
            ("shrinkage", self.shrinkage.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }

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

/// A ticket's current state as a connected system holds it (a ServiceNow
/// incident, a Jira issue), keyed by that system's id. The ledger derives
/// what changed from what it holds (`Command::SyncTicket`). A field is
/// `Err` when the record had no value for it, with the rejection to give
/// if the ticket must be created (an existing ticket keeps its value).
#[derive(Clone, Debug, PartialEq)]
pub struct TicketSync {
    /// The record's key in the source, namespaced (`servicenow:…`).
    pub source_key: String,
    /// Idempotency key and `ext:` id (ServiceNow's `number`).
    pub external_id: Option<String>,
    /// The source's last update of the record.
    pub updated_at: Millis,
    pub opened_at: Result<Millis, Rejection>,
    pub status: Result<TicketStatus, Rejection>,
    /// When it was resolved, if the record says.
    pub resolved_at: Option<Millis>,
    pub site: Result<String, Rejection>,
    pub department: Result<String, Rejection>,
    pub application: Result<String, Rejection>,
    pub category: Result<Category, Rejection>,
    pub severity: Result<Severity, Rejection>,
    pub channel: Result<Channel, Rejection>,
    /// The known issue the record is linked to by configuration (e.g.
    /// ServiceNow's `problem_id`), if any.
    pub known_issue: Option<String>,
}

/// Longest known-issue title and workaround.
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_WORKAROUND_CHARS: usize = 2000;

/// `POST /api/v1/known-issues` body.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIssueBody {
    pub title: String,
    pub application: Option<String>,
    pub workaround: Option<String>,
}

/// A validated new known issue; the ledger gives it an id.
#[derive(Clone, Debug, PartialEq)]
pub struct NewKnownIssue {
    pub title: String,
    pub application: Option<String>,
    pub workaround: Option<String>,
    pub at: Millis,
}

impl KnownIssueBody {
    pub fn validate(self, clock: Clock) -> Result<NewKnownIssue, Rejection> {
        Ok(NewKnownIssue {
            title: lead_text("title", &self.title, MAX_TITLE_CHARS)?
                .ok_or_else(|| Rejection::invalid("title", "must not be empty"))?,
            application: optional_name("application", self.application)?,
            workaround: match self.workaround {
                Some(text) => lead_text("workaround", &text, MAX_WORKAROUND_CHARS)?,
                None => None,
            },
            at: clock.now,
        })
    }
}

/// `PATCH /api/v1/known-issues/{id}` body.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIssuePatchBody {
    pub title: Option<String>,
    pub workaround: Option<String>,
    pub status: Option<KnownIssueStatus>,
}

/// A validated change to a known issue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KnownIssuePatch {
    pub title: Option<String>,
    pub workaround: Option<String>,
    pub status: Option<KnownIssueStatus>,
    pub at: Millis,
}

impl KnownIssuePatchBody {
    pub fn validate(self, clock: Clock) -> Result<KnownIssuePatch, Rejection> {
        if self.title.is_none() && self.workaround.is_none() && self.status.is_none() {
            return Err(Rejection::invalid(
                "status",
                "nothing to change: give at least one of title, workaround, status",
            )
            .with_code("empty_patch"));
        }
        let title = match self.title {
            Some(text) => Some(
                lead_text("title", &text, MAX_TITLE_CHARS)?
                    .ok_or_else(|| Rejection::invalid("title", "must not be empty"))?,
            ),
            None => None,
        };
        let workaround = match self.workaround {
            Some(text) => {
                Some(lead_text("workaround", &text, MAX_WORKAROUND_CHARS)?.unwrap_or_default())
            }
            None => None,
        };
        Ok(KnownIssuePatch {
            title,
            workaround,
            status: self.status,
            at: clock.now,
        })
    }
}

/// Text a lead writes for the board (a title, a workaround): trimmed,
/// blank is none, at most `max` characters, no control characters but
/// line breaks.
fn lead_text(field: &str, raw: &str, max: usize) -> Result<Option<String>, Rejection> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > max {
        return Err(Rejection::invalid(
            field,
            format!("longer than {max} characters"),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Rejection::invalid(field, "contains control characters"));
    }
    Ok(Some(text.to_owned()))
}

/// Checks a site, department, application or queue name as every input
/// path does: trimmed, 1..64 characters, no control characters.
pub fn checked_name(field: &str, raw: &str) -> Result<String, Rejection> {
    name(field, raw)
}

/// Checks an external id as every input path does: trimmed, 1..128
/// characters.
pub fn checked_id(field: &str, raw: &str) -> Result<String, Rejection> {
    optional_id(field, Some(raw.to_string())).map(Option::unwrap_or_default)
}

/// Longest note a lead may put on an acknowledgement.
pub const MAX_NOTE_CHARS: usize = 500;

/// Validates an acknowledgement's note: trimmed, blank is none, at most
/// [`MAX_NOTE_CHARS`], no control characters but line breaks. The message
/// never quotes the note (it is free text).
pub fn ack_note(raw: Option<&str>) -> Result<Option<String>, Rejection> {
    match raw {
        Some(text) => lead_text("note", text, MAX_NOTE_CHARS),
        None => Ok(None),
    }
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

/// An identifier a client chose (external id, call id): trimmed,
/// 1..[`MAX_ID_CHARS`] characters, no NUL.
fn client_id(field: &str, raw: &str) -> Result<String, Rejection> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_ID_CHARS {
        return Err(Rejection::invalid(
            field,
            format!("must be 1..{MAX_ID_CHARS} characters"),
        ));
    }
    free_text(field, trimmed.to_string())
}

fn optional_id(field: &str, raw: Option<String>) -> Result<Option<String>, Rejection> {
    raw.map(|text| client_id(field, &text)).transpose()
}

/// Free text (a summary, an id): anything but NUL, which no database
/// column should hold (PostgreSQL's `text` cannot) and no client means.
fn free_text(field: &str, text: String) -> Result<String, Rejection> {
    if text.contains('\0') {
        return Err(Rejection::invalid(field, "contains a NUL character"));
    }
    Ok(text)
}

/// Validates a token's name (`POST /api/v1/tokens`, `golive token create`):
/// trimmed, 1..[`MAX_TOKEN_NAME_CHARS`] characters, no control characters.
pub fn token_name(raw: &str) -> Result<String, Rejection> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_TOKEN_NAME_CHARS {
        return Err(Rejection::invalid(
            "name",
            format!("must be 1..{MAX_TOKEN_NAME_CHARS} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Rejection::invalid("name", "contains control characters"));
    }
    Ok(trimmed.to_string())
}

/// Validates a text filter of a query string (`?site=`): what a stored
/// value could match, so a NUL is refused here instead of by the database.
pub fn filter_text(field: &str, raw: &str) -> Result<String, Rejection> {
    free_text(field, raw.trim().to_string())
}

/// Text safe to echo in a message: control characters escaped, at most
/// 64 characters (an id that failed to parse is not free text, but it
/// need not be echoed whole).
fn printable(text: &str) -> String {
    text.chars().take(64).flat_map(char::escape_debug).collect()
}

fn optional_tier(tier: Option<u8>) -> Result<Option<u8>, Rejection> {
    match tier {
        Some(t) if !(1..=3).contains(&t) => Err(Rejection::invalid("tier", "must be 1, 2 or 3")),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_772_435_645_000;
    /// A clock that lets the fixtures' times (up to a day after NOW) pass.
    const CLOCK: Clock = Clock {
        now: NOW,
        max_ahead: 86_400_000,
    };

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
        let t = body(serde_json::json!({}))
            .unwrap()
            .validate(CLOCK)
            .unwrap();
        assert_eq!(t.opened_at, NOW);
        assert_eq!(t.status, TicketStatus::Open);
        assert_eq!(t.resolved_at, None);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let t = body(serde_json::json!({"site": "  North  "}))
            .unwrap()
            .validate(CLOCK)
            .unwrap();
        assert_eq!(t.site, "North");
        let long = "x".repeat(65);
        let err = body(serde_json::json!({"site": long}))
            .unwrap()
            .validate(CLOCK)
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("site"));
        let err = body(serde_json::json!({"department": "   "}))
            .unwrap()
            .validate(CLOCK)
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("department"));
    }

    #[test]
    fn resolved_at_rules() {
        let err = body(serde_json::json!({"resolved_at": "2026-03-02T07:20:00Z"}))
            .unwrap()
            .validate(CLOCK)
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("resolved_at"));
        let err = body(
            serde_json::json!({"status": "resolved", "opened_at": "2026-03-02T07:20:00Z",
            "resolved_at": "2026-03-02T07:10:00Z"}),
        )
        .unwrap()
        .validate(CLOCK)
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("resolved_at"));
        let t = body(serde_json::json!({"status": "closed"}))
            .unwrap()
            .validate(CLOCK)
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
                .validate(CLOCK)
                .is_ok()
        );
        let too_long = "é".repeat(MAX_SUMMARY_CHARS + 1);
        let err = body(serde_json::json!({"summary": too_long}))
            .unwrap()
            .validate(CLOCK)
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("summary"));
    }

    #[test]
    fn patch_needs_something_to_change() {
        assert!(TicketPatchBody::default().validate(CLOCK).is_err());
        let p = TicketPatchBody {
            tier: Some(2),
            ..Default::default()
        }
        .validate(CLOCK)
        .unwrap();
        assert_eq!(p.at, NOW);
        assert!(
            TicketPatchBody {
                tier: Some(4),
                ..Default::default()
            }
            .validate(CLOCK)
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
        assert_eq!(ok.validate(CLOCK).unwrap().wrap_seconds, Some(30.0));
        let bad: CallBody = serde_json::from_value(serde_json::json!({
            "call_id": "c-1", "queue": "Q", "event": "ended", "at": "2026-03-02T07:14:05Z",
            "wrap_seconds": -1
        }))
        .unwrap();
        assert_eq!(
            bad.validate(CLOCK).unwrap_err().field.as_deref(),
            Some("wrap_seconds")
        );
        let no_offset: CallBody = serde_json::from_value(serde_json::json!({
            "call_id": "c-1", "queue": "Q", "event": "offered", "at": "2026-03-02T07:14:05"
        }))
        .unwrap();
        assert_eq!(
            no_offset.validate(CLOCK).unwrap_err().field.as_deref(),
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

    #[test]
    fn times_beyond_the_allowed_skew_are_refused_naming_the_field() {
        let clock = Clock::new(NOW, Clock::DEFAULT_MAX_AHEAD);
        // 07:14:05 now: 07:19:05 is exactly the allowance, 07:19:06 past it.
        let ok = body(serde_json::json!({"opened_at": "2026-03-02T07:19:05Z"}))
            .unwrap()
            .validate(clock);
        assert!(ok.is_ok(), "{ok:?}");
        for (field, extra) in [
            (
                "opened_at",
                serde_json::json!({"opened_at": "2026-03-02T07:19:06Z"}),
            ),
            (
                "resolved_at",
                serde_json::json!({"status": "resolved", "resolved_at": "2026-03-02T09:00:00+01:00"}),
            ),
            (
                "resolved_at",
                serde_json::json!({"status": "closed", "resolved_at": "2099-01-01T00:00:00Z"}),
            ),
        ] {
            let err = body(extra).unwrap().validate(clock).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field));
        }
        let err = body(serde_json::json!({"opened_at": "2026-03-02T08:14:05Z"}))
            .unwrap()
            .validate(clock)
            .unwrap_err();
        assert_eq!(err.code, "timestamp_in_future");
        assert!(err.message.contains("1 h 0 min"), "{}", err.message);
        let patch = TicketPatchBody {
            tier: Some(2),
            at: Some("2026-03-02T12:00:00Z".into()),
            ..Default::default()
        }
        .validate(clock)
        .unwrap_err();
        assert_eq!(patch.field.as_deref(), Some("at"));
        let call: CallBody = serde_json::from_value(serde_json::json!({
            "call_id": "c-1", "queue": "Q", "event": "offered", "at": "2026-03-02T07:30:00Z"
        }))
        .unwrap();
        assert_eq!(
            call.validate(clock).unwrap_err().field.as_deref(),
            Some("at")
        );
        let line = TicketUpdateLine {
            id: Some("1".into()),
            external_id: None,
            status: Some(TicketStatus::Resolved),
            at: Some("2026-03-03T07:14:05Z".into()),
            assignee: None,
            tier: None,
            ..TicketUpdateLine::default()
        };
        assert_eq!(
            line.validate(clock).unwrap_err().field.as_deref(),
            Some("at")
        );
    }

    #[test]
    fn nul_is_refused_in_every_text_field() {
        for field in [
            "summary",
            "external_id",
            "site",
            "department",
            "application",
            "reporter_role",
            "assignee",
        ] {
            let err = body(serde_json::json!({ field: "a\u{0}b" }))
                .unwrap()
                .validate(CLOCK)
                .unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field));
        }
        let call = |field: &str| -> CallBody {
            let mut body = serde_json::json!({
                "call_id": "c-1", "queue": "Q", "event": "answered",
                "at": "2026-03-02T07:14:05Z", "agent": "a-1"
            });
            body[field] = serde_json::json!("x\u{0}");
            serde_json::from_value(body).unwrap()
        };
        for field in ["call_id", "queue", "agent"] {
            assert_eq!(
                call(field).validate(CLOCK).unwrap_err().field.as_deref(),
                Some(field)
            );
        }
        let line = TicketUpdateLine {
            id: None,
            external_id: Some("INC\u{0}1".into()),
            status: Some(TicketStatus::Resolved),
            at: None,
            assignee: None,
            tier: None,
            ..TicketUpdateLine::default()
        };
        assert_eq!(
            line.validate(CLOCK).unwrap_err().field.as_deref(),
            Some("external_id")
        );
        assert_eq!(
            token_name("desk\u{0}3").unwrap_err().field.as_deref(),
            Some("name")
        );
        assert_eq!(token_name(" desk 3 ").unwrap(), "desk 3");
        assert!(filter_text("site", "Main\u{0}").is_err());
        // A summary keeps its line breaks and tabs: only NUL is refused.
        let t = body(serde_json::json!({"summary": "line 1\n\tline 2"}))
            .unwrap()
            .validate(CLOCK)
            .unwrap();
        assert_eq!(t.summary.as_deref(), Some("line 1\n\tline 2"));
    }
}
