//! Acknowledging an alert (`POST /api/v1/alerts/{id}/ack`, lead and
//! admin): an event in the log, so it survives restarts and reaches every
//! display (and every replica) like any other write.

use crate::auth::{Caller, LEADS};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::writer;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use golive_core::event::AlertAcknowledged;
use golive_core::input::ack_note;
use golive_core::ledger::Command;
use golive_core::time::now_millis;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    note: Option<String>,
}

/// Records who acknowledged the active alert `id`, with an optional note;
/// 404 when no such alert is active.
pub async fn acknowledge(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<AckBody>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    // Role before body: see tickets::create.
    caller.require(LEADS)?;
    let ApiJson(body) = body?;
    let note = ack_note(body.note.as_deref())?;
    let alert = state
        .hub
        .alert(&id)
        .ok_or_else(|| ApiError::not_found("no active alert with this id"))?;
    let by = state
        .auth
        .name_of(state.store.as_ref(), &caller.token_hash)
        .await?;
    let ack = AlertAcknowledged {
        alert_id: alert.condition.id.clone(),
        by,
        note,
        // Never before the raise, whatever this replica's clock says: the
        // raise time is the leader's.
        at: now_millis().max(alert.raised_at),
        raised_at: alert.raised_at,
    };
    writer(&state)?
        .submit_one(Command::AcknowledgeAlert(ack.clone()))
        .await??;
    tracing::info!(alert = %ack.alert_id, "alert acknowledged");
    Ok(Json(json!({
        "alert_id": ack.alert_id,
        "by": ack.by,
        "note": ack.note,
        "at": golive_core::time::format_rfc3339(ack.at),
    })))
}
