//! `GET /api/v1/staffing/plan`: the staffing plan for the next shifts, as
//! JSON or (with `Accept: text/csv` or `format=csv`) CSV.

use crate::auth::{Caller, READERS};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::routes::replayed;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use golive_core::plan::{self, MAX_HOURS, MIN_HOURS};
use golive_core::time::now_millis;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    hours: Option<String>,
    format: Option<String>,
    #[allow(dead_code)]
    token: Option<String>,
}

pub async fn plan(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PlanQuery>,
) -> Result<Response, ApiError> {
    caller.require(READERS)?;
    let hours = match query
        .hours
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        None => state.config.staffing.plan.horizon_hours,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|h| (MIN_HOURS..=MAX_HOURS).contains(h))
            .ok_or_else(|| {
                ApiError::invalid(
                    "hours",
                    format!("must be a whole number from {MIN_HOURS} to {MAX_HOURS}"),
                )
            })?,
    };
    let csv = super::wants_csv(&headers, query.format.as_deref())?;
    // A plan solves an integer program per queue and site: keep it off the
    // async workers.
    let views = replayed(&state)?;
    let now = now_millis();
    let built = tokio::task::spawn_blocking(move || views.plan(now, hours))
        .await
        .map_err(|_| ApiError::unavailable("the plan could not be computed"))?
        .ok_or_else(|| ApiError::unavailable("state unavailable"))?;
    let built = built.map_err(|message| ApiError::invalid("hours", message))?;
    if csv {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            plan::to_csv(&built),
        )
            .into_response());
    }
    Ok(Json(built).into_response())
}
