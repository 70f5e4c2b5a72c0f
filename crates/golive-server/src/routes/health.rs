//! Liveness and readiness probes (no auth).

use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use golive_core::time::now_millis;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Longest `/readyz` waits for the database before it answers 503.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// The database answers, the log has been replayed into memory and writes
/// commit (after a failed commit, not ready until one succeeds again: the
/// store probes at most once a second). A 503 is in the error shape, with
/// `details.status` saying what is missing: `starting`,
/// `database_unreachable`, `database_read_only`, `replaying` while
/// starting; `writes_failing` (with `reason` and `failing_for_seconds`),
/// `database_unreachable` or `state_unavailable` after.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    if !state.is_ready() {
        let mut details = json!({ "status": state.starting() });
        if let Some(failure) = state.store.write_failure().await {
            details["reason"] = json!(failure.reason);
        }
        return Err(not_ready(state.starting()).with_details(details));
    }
    if !state.views.is_healthy() {
        return Err(not_ready("state_unavailable"));
    }
    if let Some(failure) = state.store.write_failure().await {
        return Err(not_ready("writes_failing").with_details(json!({
            "status": "writes_failing",
            "reason": failure.reason,
            "failing_for_seconds": failure.for_seconds,
        })));
    }
    match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => {
            let mut body = json!({ "status": "ready", "backend": state.store.backend(), "last_seq": state.views.last_seq() });
            let connectors = state.connectors.health();
            if !connectors.is_empty()
                && let Some(map) = body.as_object_mut()
            {
                map.insert("connectors".into(), json!(connectors));
            }
            Ok(Json(body))
        }
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "readiness: database unreachable");
            Err(not_ready("database_unreachable"))
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer within 1 s");
            Err(not_ready("database_unreachable"))
        }
    }
}

fn not_ready(status: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        format!("golive is not ready: {}", status.replace('_', " ")),
    )
    .with_details(json!({ "status": status }))
}

/// `GET /metrics` in the Prometheus text format; behind a token (any role)
/// when `metrics_require_token` is set.
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    caller: Result<crate::auth::Caller, crate::error::ApiError>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if state.config.metrics_require_token
        && let Err(error) = caller
    {
        return error.into_response();
    }
    // A half-replayed log would read as counters going back (a reset).
    if !state.is_ready() {
        return ApiError::unavailable(
            "golive is starting (replaying its log); metrics follow once it is ready",
        )
        .into_response();
    }
    // A scrape walks the aggregator's whole state (milliseconds for a
    // go-live day, tens for a week): keep it off the async workers so it
    // never stalls requests and live sockets sharing them.
    let scraped = state.clone();
    let body = match tokio::task::spawn_blocking(move || {
        let limits = scraped.config.series_limits();
        let domain = crate::domain_metrics::families(&scraped.views, &limits, now_millis());
        scraped.metrics.render(domain)
    })
    .await
    {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "rendering metrics failed");
            return ApiError::unavailable("metrics could not be rendered").into_response();
        }
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
