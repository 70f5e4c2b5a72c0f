//! Token administration over HTTP (admin only), beside `golive token`.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use golive_core::input::token_name;
use golive_core::model::Role;
use golive_core::time::now_millis;
use golive_store::token;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    role: Role,
    name: String,
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<ApiJson<NewToken>, ApiError>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // Role before body: see tickets::create.
    caller.require(&[])?;
    let ApiJson(body) = body?;
    let name = token_name(&body.name)?;
    let secret = token::generate();
    let id = state
        .store
        .create_token(&name, body.role, &token::hash(&secret), now_millis())
        .await?;
    tracing::info!(token_id = id, role = %body.role, "token created");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "name": name, "role": body.role, "token": secret })),
    ))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[])?;
    Ok(Json(json!({ "tokens": state.store.tokens().await? })))
}

pub async fn revoke(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[])?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("no token with id {id:?}")))?;
    if !state.store.revoke_token(id, now_millis()).await? {
        return Err(ApiError::not_found(format!("no active token with id {id}")));
    }
    // This process acts at once; every other one (and this one, should
    // this read fail) within the revocation watcher's poll.
    if let Err(error) = crate::revocation::refresh(&state).await {
        tracing::warn!(%error, "revoked token hashes not read; the watcher will");
    }
    tracing::info!(token_id = id, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Who am I: lets the web UI check a token and show what it may do.
pub async fn session(caller: Caller) -> Json<Value> {
    Json(json!({ "role": caller.role }))
}
