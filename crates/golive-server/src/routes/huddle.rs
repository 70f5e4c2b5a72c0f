//! `GET /api/v1/report/huddle`: the daily huddle report for a day or a
//! shift, as JSON or (with `Accept: text/csv` or `format=csv`) one of its
//! tables as CSV (`table=hours|applications|staffing|known_issues`).

use crate::auth::{Caller, READERS};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::huddle::SpanError;
use crate::routes::replayed;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use golive_core::huddle::{self, HuddleRequest, Table};
use golive_core::time::now_millis;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuddleQuery {
    date: Option<String>,
    shift: Option<String>,
    format: Option<String>,
    table: Option<String>,
    #[allow(dead_code)]
    token: Option<String>,
}

pub async fn huddle(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<HuddleQuery>,
) -> Result<Response, ApiError> {
    caller.require(READERS)?;
    let csv = super::wants_csv(&headers, query.format.as_deref())?;
    let table = match query
        .table
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => Table::Hours,
        Some(text) => Table::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "table",
                "must be one of hours, applications, staffing, known_issues",
            )
        })?,
    };
    let config = &state.config.huddle;
    let now = now_millis();
    let date = match query
        .date
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        None => config.today(now),
        Some(text) => Some(
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| ApiError::invalid("date", "must be a date YYYY-MM-DD"))?,
        ),
    }
    .ok_or_else(|| ApiError::invalid("date", "must be a date YYYY-MM-DD"))?;
    let shift = query
        .shift
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let (from, to) = config.span(date, shift).map_err(|e| match e {
        SpanError::UnknownShift => {
            let names: Vec<&str> = config.shifts.iter().map(|s| s.name.trim()).collect();
            ApiError::invalid("shift", format!("must be one of {}", names.join(", ")))
        }
        SpanError::OutOfRange => ApiError::invalid("date", "must be from 2000 to 2099"),
    })?;
    let request = HuddleRequest {
        date: date.format("%Y-%m-%d").to_string(),
        shift: shift.map(str::to_string),
        time_zone: config.zone_name().to_string(),
        from,
        to,
        now,
        top_applications: config.top_applications,
    };
    // An hour's staffing line solves Erlang C and A per queue: keep the
    // day's worth off the async workers.
    let views = replayed(&state)?;
    let report = tokio::task::spawn_blocking(move || views.huddle(&request))
        .await
        .map_err(|_| ApiError::unavailable("the report could not be computed"))?
        .ok_or_else(|| ApiError::unavailable("state unavailable"))?;
    if csv {
        return Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            huddle::to_csv(&report, table),
        )
            .into_response());
    }
    let mut body = serde_json::to_value(&report)
        .map_err(|_| ApiError::unavailable("the report could not be written"))?;
    if let Some(map) = body.as_object_mut() {
        // The page offers the configured shifts.
        let shifts: Vec<_> = config
            .shifts
            .iter()
            .map(|s| json!({"name": s.name.trim(), "start": s.start.trim()}))
            .collect();
        map.insert("shifts".into(), json!(shifts));
    }
    Ok(Json(body).into_response())
}
