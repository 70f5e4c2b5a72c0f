//! Bulk NDJSON ingest: one JSON object a line, each with a `kind`.
//! Valid lines are committed together; the answer lists the others by line
//! number (counted from 1, blank lines included in the count but skipped).

use crate::auth::{Caller, FEEDERS};
use crate::error::{ApiError, from_json_error};
use crate::extract::Ndjson;
use crate::routes::writer;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use golive_core::input::{CallBody, TicketBody, TicketUpdateLine};
use golive_core::ledger::Command;
use golive_core::time::{Millis, now_millis};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::sync::Arc;

pub async fn ingest(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Ndjson(body): Ndjson,
) -> Result<Json<Value>, ApiError> {
    caller.require(FEEDERS)?;
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
