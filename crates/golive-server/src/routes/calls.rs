//! Call events from the phone system (ACD).

use crate::auth::{Caller, FEEDERS};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::writer;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use golive_core::input::CallBody;
use golive_core::ledger::{Command, Outcome};
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn record(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<ApiJson<CallBody>, ApiError>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // Role before body: see tickets::create.
    caller.require(FEEDERS)?;
    let ApiJson(body) = body?;
    let call = body.validate(state.config.clock())?;
    let (call_id, queue, event) = (call.call_id.clone(), call.queue.clone(), call.event);
    let outcome = writer(&state)?
        .submit_one(Command::RecordCall(call))
        .await??;
    let duplicate = matches!(outcome, Outcome::CallRecorded { duplicate: true });
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({ "call_id": call_id, "queue": queue, "event": event, "status": if duplicate { "duplicate" } else { "recorded" } }),
        ),
    ))
}
