//! Phone queue settings: answer target, service level target, occupancy
//! cap, shrinkage and agents staffed.
//!
//! A lead sets any of them; a phone-system feed (an `integration` token)
//! sets `agents_staffed` alone. Each `PUT` is one event merged over the
//! settings as they stand, so a lead's count and a feed's count replace
//! each other: the latest wins.

use crate::auth::{Caller, QUEUE_SETTERS, READERS};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::{off_runtime, replayed, writer};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use golive_core::input::{QueueBody, queue_name};
use golive_core::ledger::{Command, Outcome};
use golive_core::model::{QueueSettings, Role};
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn put(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(queue): Path<String>,
    body: Result<ApiJson<QueueBody>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    // Role before body: see tickets::create.
    caller.require(QUEUE_SETTERS)?;
    let ApiJson(body) = body?;
    if caller.role == Role::Integration {
        let refused = body.settings_beyond_staffing();
        if !refused.is_empty() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "an integration token may set only agents_staffed on a queue, not {} (a lead or admin token may)",
                    refused.join(", ")
                ),
            )
            .with_details(json!({ "fields": refused })));
        }
    }
    let queue = queue_name(&queue)?;
    match writer(&state)?
        .submit_one(Command::ConfigureQueue {
            queue: queue.clone(),
            body,
        })
        .await??
    {
        Outcome::QueueConfigured(settings) => Ok(Json(queue_json(&queue, &settings, true))),
        other => {
            tracing::error!(?other, "unexpected outcome for a queue command");
            Err(ApiError::unavailable("unexpected outcome"))
        }
    }
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(queue): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(READERS)?;
    let queue = queue_name(&queue)?;
    let (views, name) = (replayed(&state)?, queue.clone());
    let (settings, configured) = off_runtime(move || views.queue(&name))
        .await?
        .ok_or_else(|| ApiError::unavailable("state unavailable"))?;
    Ok(Json(queue_json(&queue, &settings, configured)))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(READERS)?;
    let views = replayed(&state)?;
    let queues: Vec<Value> = off_runtime(move || views.queues())
        .await?
        .ok_or_else(|| ApiError::unavailable("state unavailable"))?
        .iter()
        .map(|(name, settings, configured)| queue_json(name, settings, *configured))
        .collect();
    Ok(Json(json!({ "queues": queues })))
}

fn queue_json(name: &str, s: &QueueSettings, configured: bool) -> Value {
    json!({
        "queue": name,
        "answer_target_seconds": s.answer_target_seconds,
        "service_level_target": s.service_level_target,
        "max_occupancy": s.max_occupancy,
        "shrinkage": s.shrinkage,
        "agents_staffed": s.agents_staffed,
        "configured": configured,
    })
}
