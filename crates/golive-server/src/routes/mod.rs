//! HTTP handlers, one module per resource, and the route table.

pub mod alerts;
pub mod calls;
pub mod health;
pub mod huddle;
pub mod ingest;
pub mod known_issues;
pub mod live;
pub mod plan;
pub mod queues;
pub mod report;
pub mod tickets;
pub mod tokens;
pub mod waves;

use crate::error::ApiError;
use crate::state::AppState;
use crate::views::Views;
use crate::writer::{WriteError, Writer};
use axum::http::{HeaderMap, header};
use std::sync::Arc;

/// Every path the API serves, as the router and the OpenAPI document name
/// it (a test checks the two agree).
pub mod paths {
    pub const TICKETS: &str = "/api/v1/tickets";
    pub const TICKET: &str = "/api/v1/tickets/{id}";
    pub const CALL_EVENTS: &str = "/api/v1/calls/events";
    pub const QUEUES: &str = "/api/v1/queues";
    pub const QUEUE: &str = "/api/v1/queues/{queue}";
    pub const INGEST: &str = "/api/v1/ingest";
    pub const CONNECTOR_SERVICENOW: &str = "/api/v1/connectors/servicenow";
    pub const CONNECTOR_JIRA: &str = "/api/v1/connectors/jira";
    pub const CONNECTOR_AMAZON_CONNECT: &str = "/api/v1/connectors/amazon-connect";
    pub const CONNECTOR_ASTERISK: &str = "/api/v1/connectors/asterisk";
    pub const TOKENS: &str = "/api/v1/tokens";
    pub const TOKEN: &str = "/api/v1/tokens/{id}";
    pub const SESSION: &str = "/api/v1/session";
    pub const REPORT: &str = "/api/v1/report";
    pub const HUDDLE: &str = "/api/v1/report/huddle";
    pub const WAVES: &str = "/api/v1/waves";
    pub const BOARD: &str = "/api/v1/board";
    pub const STAFFING: &str = "/api/v1/staffing";
    pub const ERLANG_C: &str = "/api/v1/staffing/erlang-c";
    pub const ERLANG_A: &str = "/api/v1/staffing/erlang-a";
    pub const STAFFING_PLAN: &str = "/api/v1/staffing/plan";
    pub const LIVE: &str = "/api/v1/live";
    pub const ALERT_ACK: &str = "/api/v1/alerts/{id}/ack";
    pub const KNOWN_ISSUES: &str = "/api/v1/known-issues";
    pub const KNOWN_ISSUE: &str = "/api/v1/known-issues/{id}";
    pub const QR: &str = "/api/v1/qr";
    pub const UI_LEAD: &str = "/lead";
    pub const METRICS: &str = "/metrics";
    pub const OPENAPI: &str = "/api/v1/openapi.json";
    pub const HEALTHZ: &str = "/healthz";
    pub const READYZ: &str = "/readyz";
    pub const UI_BOARD: &str = "/";
    pub const UI_CONSOLE: &str = "/console";
    pub const UI_PLAN: &str = "/plan";
    pub const UI_WAVES: &str = "/waves";
    pub const UI_HUDDLE: &str = "/huddle";
    pub const UI_ASSET: &str = "/assets/{file}";

    /// All of the above.
    pub const ALL: &[&str] = &[
        TICKETS,
        TICKET,
        CALL_EVENTS,
        QUEUES,
        QUEUE,
        INGEST,
        CONNECTOR_SERVICENOW,
        CONNECTOR_JIRA,
        CONNECTOR_AMAZON_CONNECT,
        CONNECTOR_ASTERISK,
        TOKENS,
        TOKEN,
        SESSION,
        OPENAPI,
        HEALTHZ,
        READYZ,
        UI_BOARD,
        UI_CONSOLE,
        UI_PLAN,
        UI_WAVES,
        UI_HUDDLE,
        UI_LEAD,
        UI_ASSET,
        REPORT,
        HUDDLE,
        WAVES,
        BOARD,
        STAFFING,
        ERLANG_C,
        ERLANG_A,
        STAFFING_PLAN,
        LIVE,
        ALERT_ACK,
        KNOWN_ISSUES,
        KNOWN_ISSUE,
        QR,
        METRICS,
    ];
}

/// The writer, or 503 while the log is still being replayed at start.
pub(crate) fn writer(state: &AppState) -> Result<&Writer, ApiError> {
    state.writer().ok_or_else(|| {
        ApiError::unavailable("golive is starting (replaying its log); try again shortly")
    })
}

/// The views to answer a read from, or 503 while the log is being replayed
/// (at start, or again after it was replaced): figures from part of a log
/// would be wrong, not just late.
pub(crate) fn replayed(state: &AppState) -> Result<Arc<Views>, ApiError> {
    if !state.is_ready() {
        return Err(ApiError::unavailable(
            "golive is starting (replaying its log); try again shortly",
        ));
    }
    Ok(state.views.clone())
}

/// Runs `work` on the blocking pool (`crate::offload`): reports and boards
/// read the aggregator for milliseconds to tens of milliseconds, and wait
/// on its lock while a large commit is applied; neither may hold up the
/// async workers that serve every other request and the live sockets.
pub(crate) async fn off_runtime<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    crate::offload::blocking(work).await.map_err(|error| {
        tracing::error!(%error, "work on the blocking pool failed");
        ApiError::unavailable("the answer could not be computed; try again")
    })
}

/// A JSON body serialized off the async workers: a report over weeks, or
/// a whole-center board, is a large document.
pub struct JsonText(Vec<u8>);

impl JsonText {
    /// Serializes `value`; call it inside [`off_runtime`].
    pub(crate) fn of<T: serde::Serialize>(value: &T) -> JsonText {
        JsonText(serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()))
    }
}

impl axum::response::IntoResponse for JsonText {
    fn into_response(self) -> axum::response::Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}

/// Whether a read answers CSV: `format=csv`, or no `format` and an
/// `Accept` naming `text/csv`; `format=json` forces JSON.
pub(crate) fn wants_csv(headers: &HeaderMap, format: Option<&str>) -> Result<bool, ApiError> {
    match format.map(str::trim) {
        None | Some("") => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv"))),
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::invalid("format", "must be json or csv")),
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        tracing::error!(error = %e, "write not committed");
        ApiError::unavailable("the write could not be committed; nothing was changed, try again")
    }
}
