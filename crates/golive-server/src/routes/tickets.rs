//! Tickets: create (idempotent by `external_id`), change, read, list.

use crate::auth::{Caller, TICKET_READERS, TICKET_WRITERS};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::writer;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use golive_core::input::{
    MAX_ID_CHARS, Rejection, TicketBody, TicketPatchBody, TicketRef, filter_text,
};
use golive_core::ledger::{Command, Outcome};
use golive_core::model::TicketStatus;
use golive_core::record::TicketRecord;
use golive_store::TicketFilter;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// Prefix of a ticket reference by external id in a URL.
const EXTERNAL_PREFIX: &str = "ext:";

/// Most tickets one page lists.
const MAX_PAGE: u32 = 500;
const DEFAULT_PAGE: u32 = 50;

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<ApiJson<TicketBody>, ApiError>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // The role is checked before the body: a caller who may not write
    // learns nothing about validation.
    caller.require(TICKET_WRITERS)?;
    let ApiJson(body) = body?;
    let ticket = body.validate(state.config.clock())?;
    match writer(&state)?
        .submit_one(Command::CreateTicket(ticket))
        .await??
    {
        // The stored row: names as the ledger canonicalized them.
        Outcome::TicketCreated(id) => Ok((StatusCode::CREATED, Json(shown(&state, id).await?))),
        Outcome::TicketExists(id) => Ok((StatusCode::OK, Json(shown(&state, id).await?))),
        other => Err(unexpected(other)),
    }
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<TicketPatchBody>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    caller.require(TICKET_WRITERS)?;
    let ApiJson(body) = body?;
    let target = parse_ref(&id)?;
    let patch = body.validate(state.config.clock())?;
    match writer(&state)?
        .submit_one(Command::UpdateTicket(target, patch))
        .await??
    {
        Outcome::TicketUpdated { id, .. } => Ok(Json(shown(&state, id).await?)),
        other => Err(unexpected(other)),
    }
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(TICKET_READERS)?;
    match parse_ref(&id)? {
        TicketRef::Id(id) => Ok(Json(shown(&state, id).await?)),
        TicketRef::External(key) => state
            .store
            .ticket_by_external_id(&key)
            .await?
            .map(|record| Json(with_known_issue(&state, record)))
            .ok_or_else(|| ApiError::not_found(format!("no ticket with external_id {key:?}"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    site: Option<String>,
    application: Option<String>,
    assignee: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
    /// Accepted so that `?token=` links work; authentication reads it.
    #[allow(dead_code)]
    token: Option<String>,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    query: Result<ApiQuery<ListQuery>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    caller.require(TICKET_READERS)?;
    let ApiQuery(query) = query?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(TicketStatus::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "status",
                "must be one of open, in_progress, pending, escalated, resolved, closed",
            )
        })?),
    };
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid("limit", format!("must be 1..{MAX_PAGE}")));
    }
    let before_id =
        match query.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => Some(TicketRef::parse_id(cursor).ok_or_else(|| {
                ApiError::invalid("cursor", "is not a cursor from a previous page")
            })?),
        };
    // A NUL would reach the database (PostgreSQL refuses it): 422 here.
    let text = |field: &str, v: Option<String>| -> Result<Option<String>, ApiError> {
        let text = v.map(|s| filter_text(field, &s)).transpose()?;
        Ok(text.filter(|s| !s.is_empty()))
    };
    let filter = TicketFilter {
        status,
        site: text("site", query.site)?,
        application: text("application", query.application)?,
        assignee: text("assignee", query.assignee)?,
        before_id,
        limit,
    };
    let tickets = state.store.tickets(&filter).await?;
    let next_cursor = (tickets.len() == limit as usize)
        .then(|| tickets.last().map(|t| t.id.to_string()))
        .flatten();
    let tickets: Vec<Value> = tickets
        .into_iter()
        .map(|record| with_known_issue(&state, record))
        .collect();
    Ok(Json(
        json!({ "tickets": tickets, "next_cursor": next_cursor }),
    ))
}

/// A ticket named in a URL: golive's id, or `ext:EXTERNAL_ID` (the path
/// segment is percent-decoded already, so `ext%3AINC1` works too).
fn parse_ref(text: &str) -> Result<TicketRef, ApiError> {
    if let Some(external) = text.strip_prefix(EXTERNAL_PREFIX) {
        let key = external.trim();
        if key.is_empty() || key.chars().count() > MAX_ID_CHARS {
            return Err(ApiError::not_found(format!(
                "no ticket with external_id {key:?}"
            )));
        }
        return Ok(TicketRef::External(key.to_string()));
    }
    TicketRef::parse_id(text)
        .map(TicketRef::Id)
        .ok_or_else(|| ApiError::not_found(format!("no ticket with id {text:?}")))
}

async fn stored(state: &AppState, id: u64) -> Result<TicketRecord, ApiError> {
    state
        .store
        .ticket(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no ticket with id \"{id}\"")))
}

/// The stored ticket with the known issue it is linked to.
async fn shown(state: &AppState, id: u64) -> Result<Value, ApiError> {
    Ok(with_known_issue(state, stored(state, id).await?))
}

/// A ticket's row with `known_issue` (the id, or null) from the read
/// side, which holds the links (the tickets table does not).
fn with_known_issue(state: &AppState, record: TicketRecord) -> Value {
    let known_issue = state.views.known_issue_of(record.id);
    let mut body = json!(record);
    if let Some(map) = body.as_object_mut() {
        map.insert("known_issue".into(), json!(known_issue));
    }
    body
}

fn unexpected(outcome: Outcome) -> ApiError {
    tracing::error!(?outcome, "unexpected outcome for a ticket command");
    ApiError::from(Rejection::not_found("unexpected outcome"))
}
