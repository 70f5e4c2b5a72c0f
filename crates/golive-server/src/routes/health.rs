//! Liveness and readiness probes (no auth).

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers, the log has been replayed into memory and writes
/// commit (after a failed commit, not ready until one succeeds again: the
/// store probes at most once a second).
pub async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    if !state.is_ready() {
        let mut body = json!({ "status": "replaying" });
        if let Some(failure) = state.store.write_failure().await {
            body["reason"] = json!(failure.reason);
        }
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
    }
    if let Some(failure) = state.store.write_failure().await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "writes_failing",
                "reason": failure.reason,
                "failing_for_seconds": failure.for_seconds,
            })),
        );
    }
    match state.store.ping().await {
        Ok(()) => {
            let mut body = json!({ "status": "ready", "backend": state.store.backend(), "last_seq": state.views.last_seq() });
            let connectors = state.connectors.health();
            if !connectors.is_empty()
                && let Some(map) = body.as_object_mut()
            {
                map.insert("connectors".into(), json!(connectors));
            }
            (StatusCode::OK, Json(body))
        }
        Err(error) => {
            tracing::warn!(error = %error, "readiness: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "database_unreachable" })),
            )
        }
    }
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
    // A scrape walks the aggregator's whole state (milliseconds for a
    // go-live day, tens for a week): keep it off the async workers so it
    // never stalls requests and live sockets sharing them.
    let metrics = state.metrics.clone();
    let body = match tokio::task::spawn_blocking(move || metrics.render()).await {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "rendering metrics failed");
            return crate::error::ApiError::unavailable("metrics could not be rendered")
                .into_response();
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
