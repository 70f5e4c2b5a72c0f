//! Token administration over HTTP, beside `golive token`: admins manage
//! every token; leads see the list and create and revoke display tokens,
//! to put a wall screen up (or take one down) from the lead page.

use crate::auth::{Caller, LEADS};
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
    caller.require(LEADS)?;
    let ApiJson(body) = body?;
    if caller.role != Role::Admin && body.role != Role::Display {
        return Err(ApiError::forbidden(
            "admin (a lead creates display tokens only)",
        ));
    }
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
    caller.require(LEADS)?;
    Ok(Json(json!({ "tokens": state.store.tokens().await? })))
}

pub async fn revoke(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(LEADS)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("no token with id {id:?}")))?;
    if caller.role != Role::Admin {
        let tokens = state.store.tokens().await?;
        let target = tokens.iter().find(|t| t.id == id && t.revoked_at.is_none());
        match target {
            None => return Err(ApiError::not_found(format!("no active token with id {id}"))),
            Some(t) if t.role != Role::Display => {
                return Err(ApiError::forbidden(
                    "admin (a lead revokes display tokens only)",
                ));
            }
            Some(_) => {}
        }
    }
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrBody {
    text: String,
}

/// Longest text a QR code is made of (a kiosk URL with its token).
const MAX_QR_CHARS: usize = 2048;

/// `POST /api/v1/qr` (lead, admin): `text` as a QR code in SVG, for a
/// wall screen's kiosk URL. The text (it holds a token) travels in the
/// body, never the URL, and is not logged.
pub async fn qr(
    caller: Caller,
    body: Result<ApiJson<QrBody>, ApiError>,
) -> Result<axum::response::Response, ApiError> {
    caller.require(LEADS)?;
    let ApiJson(body) = body?;
    if body.text.is_empty() || body.text.chars().count() > MAX_QR_CHARS {
        return Err(ApiError::invalid(
            "text",
            format!("must be 1..{MAX_QR_CHARS} characters"),
        ));
    }
    let code = qrcode::QrCode::new(body.text.as_bytes())
        .map_err(|_| ApiError::invalid("text", "too long for a QR code"))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    Ok(axum::response::IntoResponse::into_response((
        [
            (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )))
}
