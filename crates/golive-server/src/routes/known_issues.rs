//! Known issues, the go-live's hot list: leads create and resolve them
//! (`POST`/`PATCH`, lead and admin), everyone who reads the board lists
//! them (`GET`). Each change is an event in the log like any other write;
//! the list is answered by the read side, which also counts the tickets
//! linked to each.

use crate::auth::{Caller, LEADS, READERS};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::{off_runtime, replayed, writer};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use golive_core::aggregate::KnownIssue;
use golive_core::input::{KnownIssueBody, KnownIssuePatchBody};
use golive_core::ledger::{Command, Outcome};
use golive_core::time::now_millis;
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /api/v1/known-issues`: every known issue in creation order.
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(READERS)?;
    let views = replayed(&state)?;
    let issues = off_runtime(move || views.known_issues(now_millis()))
        .await?
        .ok_or_else(unavailable)?;
    Ok(Json(json!({ "known_issues": issues })))
}

/// `POST /api/v1/known-issues` → 201 with the new known issue.
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<ApiJson<KnownIssueBody>, ApiError>,
) -> Result<(StatusCode, Json<KnownIssue>), ApiError> {
    // Role before body: see tickets::create.
    caller.require(LEADS)?;
    let ApiJson(body) = body?;
    let issue = body.validate(state.config.clock())?;
    let outcome = writer(&state)?
        .submit_one(Command::CreateKnownIssue(issue))
        .await??;
    let id = issue_id(outcome)?;
    tracing::info!(known_issue = %id, "known issue created");
    Ok((StatusCode::CREATED, Json(current(&state, &id)?)))
}

/// `PATCH /api/v1/known-issues/{id}`: new title, workaround or status;
/// 404 for an unknown id.
pub async fn update(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<KnownIssuePatchBody>, ApiError>,
) -> Result<Json<KnownIssue>, ApiError> {
    caller.require(LEADS)?;
    let ApiJson(body) = body?;
    let patch = body.validate(state.config.clock())?;
    let status = patch.status;
    let outcome = writer(&state)?
        .submit_one(Command::UpdateKnownIssue(id, patch))
        .await??;
    let id = issue_id(outcome)?;
    if let Some(status) = status {
        tracing::info!(known_issue = %id, status = status.as_str(), "known issue changed");
    }
    Ok(Json(current(&state, &id)?))
}

fn issue_id(outcome: Outcome) -> Result<String, ApiError> {
    match outcome {
        Outcome::KnownIssue { id, .. } => Ok(id.to_string()),
        other => {
            tracing::error!(?other, "unexpected outcome for a known issue");
            Err(ApiError::unavailable("unexpected outcome; try again"))
        }
    }
}

/// The known issue as the read side has it now (the write was applied
/// before the writer answered).
fn current(state: &AppState, id: &str) -> Result<KnownIssue, ApiError> {
    state
        .views
        .known_issues(now_millis())
        .ok_or_else(unavailable)?
        .into_iter()
        .find(|issue| issue.id == id)
        .ok_or_else(unavailable)
}

fn unavailable() -> ApiError {
    ApiError::unavailable("state unavailable")
}
