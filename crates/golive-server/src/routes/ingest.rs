//! Bulk NDJSON ingest: one JSON object a line, each with a `kind`.
//! Valid lines are committed together; the answer lists the others by line
//! number (counted from 1, blank lines included in the count but skipped).
//!
//! A line is read in one pass into [`AnyLine`] (every field any kind may
//! carry). Only when that pass cannot say for sure that the line is
//! well-formed (bad JSON, a missing, unknown or mistyped field, a duplicate
//! key) is it read again the careful way, through a JSON value, which names
//! the field and wins the tie-breaks exactly as before; so the fast pass
//! changes no answer, only how fast a good line is read.

use crate::auth::{Caller, FEEDERS};
use crate::error::{ApiError, from_json_error};
use crate::extract::Ndjson;
use crate::routes::writer;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use golive_core::input::{CallBody, TicketBody, TicketUpdateLine};
use golive_core::ledger::Command;
use golive_core::model::{CallEventKind, Category, Channel, Severity, TicketStatus};
use golive_core::time::{Millis, now_millis};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::sync::Arc;

pub async fn ingest(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<Ndjson, ApiError>,
) -> Result<Json<Value>, ApiError> {
    // Role before body: see tickets::create.
    caller.require(FEEDERS)?;
    let Ndjson(body) = body?;
    let now = now_millis();
    let mut lines = Vec::new();
    let mut commands = Vec::new();
    let mut rejected: Vec<(usize, ApiError)> = Vec::new();
    for (index, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line_number = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(raw, now) {
            Ok(command) => {
                lines.push(line_number);
                commands.push(command);
            }
            Err(error) => rejected.push((line_number, error)),
        }
    }
    let decisions = if commands.is_empty() {
        Vec::new()
    } else {
        writer(&state)?.submit(commands).await?
    };
    let mut accepted = 0usize;
    for (line_number, decision) in lines.into_iter().zip(decisions) {
        match decision {
            Ok(_) => accepted += 1,
            Err(rejection) => rejected.push((line_number, ApiError::from(rejection))),
        }
    }
    rejected.sort_by_key(|(line, _)| *line);
    let rejected: Vec<Value> = rejected
        .into_iter()
        .map(|(line, error)| {
            let mut body = error.body();
            let error_body = body
                .get_mut("error")
                .map(Value::take)
                .unwrap_or(Value::Null);
            json!({ "line": line, "status": error.status.as_u16(), "error": error_body })
        })
        .collect();
    Ok(Json(json!({ "accepted": accepted, "rejected": rejected })))
}

fn parse_line(raw: &[u8], now: Millis) -> Result<Command, ApiError> {
    match parse_line_fast(raw, now) {
        Some(result) => result,
        None => parse_line_careful(raw, now),
    }
}

/// A field of [`AnyLine`]: absent, or present (`null` included, so that a
/// field another kind of line would take is noticed even when null).
#[derive(Default)]
enum Field<T> {
    #[default]
    Absent,
    Present(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Field::Present)
    }
}

impl<T> Field<Option<T>> {
    /// An optional field of the line's kind (`null` is the same as absent).
    fn optional(self) -> Option<T> {
        match self {
            Field::Absent => None,
            Field::Present(value) => value,
        }
    }

    /// A required field: `None` when absent or null, which the careful
    /// pass reports.
    fn required(self) -> Option<T> {
        self.optional()
    }

    fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }
}

/// Every field that any kind of ingest line may carry, with the types the
/// line bodies give them (fields shared by kinds have the same type in
/// each); all nullable, so that presence and kind are checked afterwards.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnyLine<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    external_id: Field<Option<String>>,
    #[serde(default)]
    opened_at: Field<Option<String>>,
    #[serde(default)]
    site: Field<Option<String>>,
    #[serde(default)]
    department: Field<Option<String>>,
    #[serde(default)]
    application: Field<Option<String>>,
    #[serde(default)]
    category: Field<Option<Category>>,
    #[serde(default)]
    severity: Field<Option<Severity>>,
    #[serde(default)]
    channel: Field<Option<Channel>>,
    #[serde(default)]
    summary: Field<Option<String>>,
    #[serde(default)]
    reporter_role: Field<Option<String>>,
    #[serde(default)]
    status: Field<Option<TicketStatus>>,
    #[serde(default)]
    resolved_at: Field<Option<String>>,
    #[serde(default)]
    assignee: Field<Option<String>>,
    #[serde(default)]
    tier: Field<Option<u8>>,
    #[serde(default)]
    id: Field<Option<String>>,
    #[serde(default)]
    at: Field<Option<String>>,
    #[serde(default)]
    call_id: Field<Option<String>>,
    #[serde(default)]
    queue: Field<Option<String>>,
    #[serde(default)]
    event: Field<Option<CallEventKind>>,
    #[serde(default)]
    agent: Field<Option<String>>,
    #[serde(default)]
    wrap_seconds: Field<Option<f64>>,
}

/// The one-pass read of a line. `None` when the line is not certainly
/// well-formed for its kind: the careful pass then gives the answer.
/// Validation (lengths, timestamps, …) is the same `validate` either way.
fn parse_line_fast(raw: &[u8], now: Millis) -> Option<Result<Command, ApiError>> {
    // A struct also reads from a JSON array (fields in order); a line must
    // be an object.
    if raw.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let line: AnyLine<'_> = serde_json::from_slice(raw).ok()?;
    match line.kind.as_ref() {
        "ticket" => {
            let foreign = [&line.id, &line.at, &line.call_id, &line.queue, &line.agent];
            if !foreign.iter().all(|f| f.is_absent())
                || !line.event.is_absent()
                || !line.wrap_seconds.is_absent()
            {
                return None;
            }
            let body = TicketBody {
                external_id: line.external_id.optional(),
                opened_at: line.opened_at.optional(),
                site: line.site.required()?,
                department: line.department.required()?,
                application: line.application.required()?,
                category: line.category.required()?,
                severity: line.severity.required()?,
                channel: line.channel.required()?,
                summary: line.summary.optional(),
                reporter_role: line.reporter_role.optional(),
                status: line.status.optional(),
                resolved_at: line.resolved_at.optional(),
                assignee: line.assignee.optional(),
                tier: line.tier.optional(),
            };
            Some(
                body.validate(now)
                    .map(Command::CreateTicket)
                    .map_err(ApiError::from),
            )
        }
        "ticket_update" => {
            let foreign = [
                &line.opened_at,
                &line.summary,
                &line.reporter_role,
                &line.resolved_at,
                &line.call_id,
                &line.queue,
                &line.agent,
            ];
            if !foreign.iter().all(|f| f.is_absent())
                || !line.channel.is_absent()
                || !line.event.is_absent()
                || !line.wrap_seconds.is_absent()
            {
                return None;
            }
            let body = TicketUpdateLine {
                id: line.id.optional(),
                external_id: line.external_id.optional(),
                status: line.status.optional(),
                at: line.at.optional(),
                assignee: line.assignee.optional(),
                tier: line.tier.optional(),
                site: line.site.optional(),
                department: line.department.optional(),
                application: line.application.optional(),
                category: line.category.optional(),
                severity: line.severity.optional(),
            };
            Some(
                body.validate(now)
                    .map(|(target, patch)| Command::UpdateTicket(target, patch))
                    .map_err(ApiError::from),
            )
        }
        "call" => {
            let foreign = [
                &line.external_id,
                &line.opened_at,
                &line.site,
                &line.department,
                &line.application,
                &line.summary,
                &line.reporter_role,
                &line.resolved_at,
                &line.assignee,
                &line.id,
            ];
            if !foreign.iter().all(|f| f.is_absent())
                || !line.category.is_absent()
                || !line.severity.is_absent()
                || !line.channel.is_absent()
                || !line.status.is_absent()
                || !line.tier.is_absent()
            {
                return None;
            }
            let body = CallBody {
                call_id: line.call_id.required()?,
                queue: line.queue.required()?,
                event: line.event.required()?,
                at: line.at.required()?,
                agent: line.agent.optional(),
                wrap_seconds: line.wrap_seconds.optional(),
            };
            Some(
                body.validate()
                    .map(Command::RecordCall)
                    .map_err(ApiError::from),
            )
        }
        _ => None,
    }
}

/// The careful read of a line: through a JSON value, so that every error
/// names its field (and `kind` is checked before the rest).
fn parse_line_careful(raw: &[u8], now: Millis) -> Result<Command, ApiError> {
    let mut object: Map<String, Value> = match serde_json::from_slice(raw) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(ApiError::malformed("line must be a JSON object")),
        Err(e) => return Err(ApiError::malformed(format!("line is not valid JSON: {e}"))),
    };
    let kind = match object.remove("kind") {
        Some(Value::String(kind)) => kind,
        Some(_) => return Err(ApiError::invalid("kind", "must be a string")),
        None => {
            return Err(ApiError::invalid(
                "kind",
                "is required: ticket, ticket_update or call",
            ));
        }
    };
    let rest = Value::Object(object);
    match kind.as_str() {
        "ticket" => Ok(Command::CreateTicket(
            from_value::<TicketBody>(rest)?.validate(now)?,
        )),
        "ticket_update" => {
            let (target, patch) = from_value::<TicketUpdateLine>(rest)?.validate(now)?;
            Ok(Command::UpdateTicket(target, patch))
        }
        "call" => Ok(Command::RecordCall(
            from_value::<CallBody>(rest)?.validate()?,
        )),
        other => Err(ApiError::invalid(
            "kind",
            format!("unknown kind {other:?}: use ticket, ticket_update or call"),
        )),
    }
}

fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(from_json_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_772_435_645_000;

    fn answer(result: Result<Command, ApiError>) -> Result<Command, String> {
        result.map_err(|e| format!("{} {}", e.status, e.body()))
    }

    /// The fast pass either declines a line or answers exactly as the
    /// careful pass does.
    #[test]
    fn fast_pass_never_changes_an_answer() {
        let ticket = r#""site":"Main Campus","department":"ICU","application":"MAR","category":"how_to","severity":3,"channel":"ate""#;
        let lines = [
            format!(r#"{{"kind":"ticket",{ticket}}}"#),
            format!(r#"{{{ticket},"kind":"ticket","external_id":" B-1 ","summary":"  "}}"#),
            format!(r#"{{"kind":"ticket",{ticket},"status":"resolved","resolved_at":"2026-03-02T07:30:00Z","opened_at":"2026-03-02T07:00:00Z"}}"#),
            format!(r#"{{"kind":"ticket",{ticket},"resolved_at":"2026-03-02T07:30:00Z"}}"#),
            format!(r#"{{"kind":"ticket",{ticket},"tier":7}}"#),
            format!(r#"{{"kind":"ticket",{ticket},"site":"North"}}"#),
            format!(r#"{{"kind":"ticket",{ticket},"agent":null}}"#),
            format!(r#"{{"kind":"ticket",{ticket},"summary":null,"tier":null}}"#),
            format!(r#"{{"kind":"ticket",{ticket},"severity":5}}"#),
            format!(r#"{{"kind":"ticket",{ticket},"severity":3.0}}"#),
            format!(r#"{{"kind":"ticket",{ticket},"sevrity":3}}"#),
            format!(r#"{{"kind":"ticket",{ticket},"kind":"call"}}"#),
            format!(r#"{{"kind":"ticket",{ticket}}} x"#),
            r#"{"kind":"ticket","s\u0069te":"Main Campus","department":"ICU","application":"MAR","category":"how_to","severity":3,"channel":"ate"}"#.into(),
            r#"{"kind":"ticket","site":null,"department":"ICU","application":"MAR","category":"how_to","severity":3,"channel":"ate"}"#.into(),
            r#"{"kind":"ticket","department":"ICU","application":"MAR","category":"how_to","severity":3,"channel":"ate"}"#.into(),
            r#"["ticket","Main Campus"]"#.into(),
            r#"{"kind":"ticket_update","external_id":"B-1","status":"resolved","at":"2026-03-02T07:30:00Z"}"#.into(),
            r#"{"kind":"ticket_update","id":"12","tier":2}"#.into(),
            r#"{"kind":"ticket_update","id":"x1","tier":2}"#.into(),
            r#"{"kind":"ticket_update","id":12,"tier":2}"#.into(),
            r#"{"kind":"ticket_update","external_id":"B-1"}"#.into(),
            r#"{"kind":"ticket_update","external_id":"B-1","site":"X","status":"open"}"#.into(),
            r#"{"kind":"ticket_update","external_id":"B-1","application":"Pharmacy","severity":1,"category":"access","department":" ICU ","at":"2026-03-02T07:30:00Z"}"#.into(),
            r#"{"kind":"ticket_update","external_id":"B-1","severity":9}"#.into(),
            r#"{"kind":"ticket_update","external_id":"B-1","site":""}"#.into(),
            r#"{"kind":"ticket_update","external_id":"B-1","channel":"phone"}"#.into(),
            r#"{"kind":"call","call_id":"c1","queue":"Access Line","event":"offered","at":"2026-03-02T07:01:00Z"}"#.into(),
            r#"{"kind":"call","call_id":"c1","queue":"Access Line","event":"ended","at":"2026-03-02T07:01:00Z","wrap_seconds":30,"agent":"a-1"}"#.into(),
            r#"{"kind":"call","call_id":"c1","queue":"Access Line","event":"ended","at":"2026-03-02T07:01:00Z","wrap_seconds":-1}"#.into(),
            r#"{"kind":"call","call_id":"c1","queue":"Access Line","event":"rang","at":"2026-03-02T07:01:00Z"}"#.into(),
            r#"{"kind":"call","call_id":"c1","queue":"Access Line","at":"2026-03-02T07:01:00Z"}"#.into(),
            r#"{"kind":"call","call_id":"c1","queue":"Access Line","event":"offered","at":"2026-03-02T07:01:00Z","tier":null}"#.into(),
            r#"{"kind":"mystery"}"#.into(),
            r#"{"kind":7}"#.into(),
            r#"{"site":"x"}"#.into(),
            r#"{not json"#.into(),
            r#""ticket""#.into(),
        ];
        let mut fast_answers = 0;
        for line in &lines {
            let careful = answer(parse_line_careful(line.as_bytes(), NOW));
            if let Some(fast) = parse_line_fast(line.as_bytes(), NOW) {
                fast_answers += 1;
                assert_eq!(answer(fast), careful, "{line}");
            }
            assert_eq!(answer(parse_line(line.as_bytes(), NOW)), careful, "{line}");
        }
        assert!(
            fast_answers >= 12,
            "the fast pass took only {fast_answers} lines"
        );
    }
}
