//! `POST /api/v1/connectors/jira`: a Jira Service Management webhook.
//! `jira:issue_created` and `jira:issue_updated` carry the issue's current
//! state (one record, K = 1); other events are acknowledged and change
//! nothing.

use crate::auth::{Caller, FEEDERS};
use crate::connectors::servicenow::sync_command;
use crate::connectors::{Answer, commit};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::writer;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use golive_connect::jira::{IssueRecord, issue};
use serde_json::Value;
use std::sync::Arc;

pub async fn webhook(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<ApiJson<Value>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    caller.require(FEEDERS)?;
    let ApiJson(body) = body?;
    let mut answer = Answer::new(state.config.max_rejections_listed);
    match issue(body) {
        Ok(None) => {}
        Ok(Some(issue)) => {
            match sync_command(
                &state.connectors.jira,
                &IssueRecord(&issue),
                state.config.clock(),
            ) {
                Ok(command) => commit(writer(&state)?, vec![(1, command)], &mut answer).await?,
                Err(error) => answer.reject_record(1, error),
            }
        }
        Err(error) => answer.reject_record(1, error),
    }
    state
        .metrics
        .connector_records("jira", answer.accepted(), answer.rejected_total());
    Ok(Json(answer.into_json()))
}
