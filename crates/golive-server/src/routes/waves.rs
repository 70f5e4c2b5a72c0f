//! `GET /api/v1/waves`: the rollout waves, each aligned at its own go-live
//! start, hour by hour.

use crate::auth::{Caller, READERS};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::routes::{off_runtime, replayed};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use golive_core::time::now_millis;
use golive_core::waves::{DEFAULT_HOURS, MAX_HOURS};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WavesQuery {
    hours: Option<String>,
    #[allow(dead_code)]
    token: Option<String>,
}

pub async fn waves(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<WavesQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(READERS)?;
    let hours = match query
        .hours
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        None => DEFAULT_HOURS,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|h| (1..=MAX_HOURS).contains(h))
            .ok_or_else(|| {
                ApiError::invalid(
                    "hours",
                    format!("must be a whole number from 1 to {MAX_HOURS}"),
                )
            })?,
    };
    let waves = state.config.waves();
    // Weeks of waves scan weeks of the log: keep that off the async workers.
    let views = replayed(&state)?;
    let now = now_millis();
    let curves = off_runtime(move || views.waves(&waves, now, hours))
        .await?
        .ok_or_else(|| ApiError::unavailable("state unavailable"))?;
    Ok(Json(json!({ "waves": curves })))
}
