//! Bulk NDJSON ingest: one JSON object a line, each with a `kind`.
//! Valid lines are committed; the answer lists the others by line number
//! (counted from 1, blank lines included in the count but skipped).
//!
//! A request's memory is bounded whatever it holds: besides its body
//! (at most `max_ingest_bytes`), it keeps two chunks of [`CHUNK_LINES`]
//! lines (one being committed while the next is parsed) and at most
//! `max_rejections_listed` rejections in full; further rejections are only
//! counted (`rejected_total`).
//!
//! Chunks are committed one after the other, each in its own transaction,
//! so a large body never holds the log's lock for long and other clients'
//! writes go in between. If the database becomes unavailable mid-request,
//! the answer says so: when nothing was committed yet, the whole request
//! is 503 (nothing changed, send it again); otherwise the answer is 200
//! with what was committed and `not_committed_from_line`, the first line
//! of the chunk that failed: that line and every later one were not
//! committed (nor reported), and only they need to be sent again.
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
use crate::writer::{Decisions, Rebuild};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use golive_core::input::{CallBody, Clock, TicketBody, TicketUpdateLine};
use golive_core::ledger::Command;
use golive_core::model::{CallEventKind, Category, Channel, Severity, TicketStatus};
use serde::de::{DeserializeOwned, Deserializer, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// Lines parsed and committed at a time.
pub const CHUNK_LINES: usize = 8192;

/// The answer to a bulk request.
#[derive(Serialize)]
pub struct IngestAnswer {
    /// Lines committed (or already known: an idempotent repeat).
    accepted: usize,
    /// The first rejected lines, by line number.
    rejected: Vec<RejectedLine>,
    /// Every rejected line, listed or not.
    rejected_total: usize,
    /// Present when the database became unavailable mid-request: this
    /// line and every later one were not committed; send them again.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_committed_from_line: Option<usize>,
}

#[derive(Serialize)]
struct RejectedLine {
    line: usize,
    status: u16,
    error: Value,
}

/// Rejections of one request: the first `limit` in full, the rest counted.
struct Rejections {
    listed: Vec<RejectedLine>,
    total: usize,
    limit: usize,
}

impl Rejections {
    fn record(&mut self, line: usize, error: &ApiError) {
        self.total += 1;
        if self.listed.len() < self.limit {
            self.listed.push(RejectedLine {
                line,
                status: error.status.as_u16(),
                error: error.error_object(),
            });
        }
    }
}

/// Some consecutive lines of the body, parsed.
#[derive(Default)]
struct Chunk {
    /// The first line number of the chunk (0 for an empty chunk).
    first_line: usize,
    /// The line number of each command.
    lines: Vec<usize>,
    commands: Vec<Command>,
    /// Where each command's line is in the body (start, length), to parse
    /// it again if the writer must retry it.
    spans: Vec<(usize, usize)>,
    /// Lines refused by validation, in order; at most as many as can still
    /// be listed are kept, the rest only counted.
    refused: Vec<(usize, ApiError)>,
    refused_unlisted: usize,
}

/// Where the next chunk starts: a byte offset into the body and the
/// number of the line there (from 1); `None` once the body is read.
#[derive(Clone, Copy)]
struct Position {
    offset: usize,
    line: usize,
}

/// Parses the non-blank lines of `body` from `from` on, at most
/// [`CHUNK_LINES`] of them; keeps at most `listable` validation errors
/// whole. Returns the chunk and where the next one starts.
fn parse_chunk(
    body: &[u8],
    from: Option<Position>,
    clock: Clock,
    listable: usize,
) -> (Chunk, Option<Position>) {
    let mut chunk = Chunk::default();
    let mut at = from;
    let mut taken = 0;
    while let Some(Position { offset, line }) = at {
        if taken == CHUNK_LINES {
            break;
        }
        let rest = body.get(offset..).unwrap_or_default();
        let (raw, next) = match rest.iter().position(|b| *b == b'\n') {
            Some(end) => (&rest[..end], Some(offset + end + 1)),
            None => (rest, None),
        };
        at = next.map(|offset| Position {
            offset,
            line: line + 1,
        });
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        taken += 1;
        if chunk.first_line == 0 {
            chunk.first_line = line;
        }
        match parse_line(raw, clock) {
            Ok(command) => {
                chunk.lines.push(line);
                chunk.commands.push(command);
                chunk.spans.push((offset, raw.len()));
            }
            Err(error) if chunk.refused.len() < listable => chunk.refused.push((line, error)),
            Err(_) => chunk.refused_unlisted += 1,
        }
    }
    (chunk, at)
}

/// How the writer has a chunk's command `i` again: by parsing its line
/// again with the same clock, which gives the same command.
fn reparse(body: Bytes, spans: Vec<(usize, usize)>, clock: Clock) -> Rebuild {
    Box::new(move |i| {
        let (start, length) = *spans.get(i)?;
        let raw = body.get(start..start + length)?;
        parse_line(raw, clock).ok()
    })
}

/// [`parse_chunk`] on the blocking pool: parsing a chunk takes
/// milliseconds of CPU, which must not hold up the async worker the writer
/// may be waiting on (the chunk before is committed meanwhile).
async fn parse_chunk_apart(
    body: &Bytes,
    from: Option<Position>,
    clock: Clock,
    listable: usize,
) -> Result<(Chunk, Option<Position>), ApiError> {
    let body = body.clone();
    tokio::task::spawn_blocking(move || parse_chunk(&body, from, clock, listable))
        .await
        .map_err(|error| {
            tracing::error!(%error, "parsing a bulk chunk failed");
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "the request could not be read; nothing more of it was committed",
            )
        })
}

pub async fn ingest(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<Ndjson, ApiError>,
) -> Result<Json<IngestAnswer>, ApiError> {
    // Role before body: see tickets::create.
    caller.require(FEEDERS)?;
    let Ndjson(body) = body?;
    let writer = writer(&state)?;
    let clock = state.config.clock();
    let mut rejections = Rejections {
        listed: Vec::new(),
        total: 0,
        limit: state.config.max_rejections_listed,
    };
    let mut accepted = 0usize;
    let mut committed_any = false;
    let (mut current, mut next_from) = parse_chunk_apart(
        &body,
        Some(Position { offset: 0, line: 1 }),
        clock,
        rejections.limit,
    )
    .await?;
    while current.first_line != 0 {
        let commands = std::mem::take(&mut current.commands);
        let rebuild = reparse(body.clone(), std::mem::take(&mut current.spans), clock);
        let submit = async {
            if commands.is_empty() {
                Ok(Decisions::new())
            } else {
                writer.submit_rebuildable(commands, rebuild).await
            }
        };
        // The next chunk is parsed while this one is committed.
        let listable = rejections.limit.saturating_sub(rejections.listed.len());
        let (decisions, next) =
            futures::join!(submit, parse_chunk_apart(&body, next_from, clock, listable));
        let decisions = match decisions {
            Ok(decisions) => decisions,
            Err(error) if !committed_any => return Err(error.into()),
            Err(error) => {
                tracing::error!(error = %error, line = current.first_line, "bulk ingest stopped mid-request");
                return Ok(Json(IngestAnswer {
                    accepted,
                    rejected: rejections.listed,
                    rejected_total: rejections.total,
                    not_committed_from_line: Some(current.first_line),
                }));
            }
        };
        committed_any |= !current.lines.is_empty();
        record_chunk(current, decisions, &mut rejections, &mut accepted);
        match next {
            Ok(next) => (current, next_from) = next,
            Err(error) if !committed_any => return Err(error),
            // What was committed is reported; the rest is not committed.
            Err(_) => {
                return Ok(Json(IngestAnswer {
                    accepted,
                    rejected: rejections.listed,
                    rejected_total: rejections.total,
                    not_committed_from_line: next_from.map(|p| p.line),
                }));
            }
        }
    }
    Ok(Json(IngestAnswer {
        accepted,
        rejected: rejections.listed,
        rejected_total: rejections.total,
        not_committed_from_line: None,
    }))
}

/// Counts a committed chunk's accepted lines and records its rejections
/// (validation's and the writer's) in line order.
fn record_chunk(
    chunk: Chunk,
    decisions: Decisions,
    rejections: &mut Rejections,
    accepted: &mut usize,
) {
    let mut refused = chunk.refused.into_iter().peekable();
    for (line, decision) in chunk.lines.into_iter().zip(decisions) {
        while let Some((refused_line, error)) = refused.next_if(|(l, _)| *l < line) {
            rejections.record(refused_line, &error);
        }
        match decision {
            Ok(_) => *accepted += 1,
            Err(rejection) => rejections.record(line, &ApiError::from(rejection)),
        }
    }
    for (line, error) in refused {
        rejections.record(line, &error);
    }
    // Only counted: they all come after the refused lines kept whole, so
    // none of them would be among the first listed.
    rejections.total += chunk.refused_unlisted;
}

pub(crate) fn parse_line(raw: &[u8], clock: Clock) -> Result<Command, ApiError> {
    match parse_line_fast(raw, clock) {
        Some(result) => result,
        None => parse_line_careful(raw, clock),
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
    #[serde(default)]
    known_issue: Field<Option<String>>,
}

/// The one-pass read of a line. `None` when the line is not certainly
/// well-formed for its kind: the careful pass then gives the answer.
/// Validation (lengths, timestamps, …) is the same `validate` either way.
pub(crate) fn parse_line_fast(raw: &[u8], clock: Clock) -> Option<Result<Command, ApiError>> {
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
                known_issue: line.known_issue.optional(),
            };
            Some(
                body.validate(clock)
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
                known_issue: line.known_issue.optional(),
            };
            Some(
                body.validate(clock)
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
                &line.known_issue,
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
                body.validate(clock)
                    .map(Command::RecordCall)
                    .map_err(ApiError::from),
            )
        }
        _ => None,
    }
}

/// The careful read of a line: through a JSON value, so that every error
/// names its field (and `kind` is checked before the rest). A key given
/// twice is refused, as in every JSON body the API takes.
pub(crate) fn parse_line_careful(raw: &[u8], clock: Clock) -> Result<Command, ApiError> {
    let mut object = parse_object(raw)?;
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
            from_value::<TicketBody>(rest)?.validate(clock)?,
        )),
        "ticket_update" => {
            let (target, patch) = from_value::<TicketUpdateLine>(rest)?.validate(clock)?;
            Ok(Command::UpdateTicket(target, patch))
        }
        "call" => Ok(Command::RecordCall(
            from_value::<CallBody>(rest)?.validate(clock)?,
        )),
        other => Err(ApiError::invalid(
            "kind",
            format!("unknown kind {other:?}: use ticket, ticket_update or call"),
        )),
    }
}

/// A line as a JSON object whose keys are all different.
fn parse_object(raw: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<UniqueObject>(raw) {
        Ok(UniqueObject(object)) => Ok(object),
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            let message = e.to_string();
            match message
                .strip_prefix("duplicate field `")
                .and_then(|rest| rest.split('`').next())
            {
                Some(key) => Err(ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "duplicate_field",
                    format!("{key}: given more than once"),
                )
                .with_details(serde_json::json!({ "field": key }))),
                None => Err(ApiError::malformed("line must be a JSON object")),
            }
        }
        Err(e) => Err(ApiError::malformed(format!("line is not valid JSON: {e}"))),
    }
}

/// A JSON object read key by key, refusing a key given twice (a plain map
/// would keep the last one silently).
struct UniqueObject(Map<String, Value>);

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = UniqueObject;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueObject, A::Error> {
                let mut object = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value: Value = map.next_value()?;
                    if object.contains_key(&key) {
                        return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
                    }
                    object.insert(key, value);
                }
                Ok(UniqueObject(object))
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(from_json_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: golive_core::time::Millis = 1_772_435_645_000;
    /// Lets the fixtures' times (within a day of NOW) pass.
    const CLOCK: Clock = Clock {
        now: NOW,
        max_ahead: 86_400_000,
    };

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
            let careful = answer(parse_line_careful(line.as_bytes(), CLOCK));
            if let Some(fast) = parse_line_fast(line.as_bytes(), CLOCK) {
                fast_answers += 1;
                assert_eq!(answer(fast), careful, "{line}");
            }
            assert_eq!(
                answer(parse_line(line.as_bytes(), CLOCK)),
                careful,
                "{line}"
            );
        }
        assert!(
            fast_answers >= 12,
            "the fast pass took only {fast_answers} lines"
        );
    }
}
