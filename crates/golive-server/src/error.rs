//! The API's one error type, rendered as the contract's JSON error body:
//! `{"error": {"code": "snake_case", "message": "...", "details": {...}}}`
//! (`details` always present: `{}` when there is nothing to add), and the
//! layer that puts every other error answer (the framework's own
//! rejections) into that shape too.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use golive_core::input::{Rejection, RejectionKind};
use golive_store::StoreError;
use serde_json::{Value, json};

/// An error answer: status, machine code, human message, optional details.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_json", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required (Authorization: Bearer TOKEN)",
        )
    }

    pub fn forbidden(needed: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this token's role may not do this; needs {needed}"),
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("{field}: {}", message.into()),
        )
        .with_details(json!({ "field": field }))
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// The JSON body without the status (bulk ingest reports per line).
    pub fn body(&self) -> Value {
        json!({ "error": self.error_object() })
    }

    /// The `{"code", "message", "details"}` object inside the body.
    pub fn error_object(&self) -> Value {
        json!({
            "code": self.code,
            "message": self.message,
            "details": self.details.clone().unwrap_or_else(|| json!({})),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl From<golive_core::board::ScopeError> for ApiError {
    fn from(e: golive_core::board::ScopeError) -> Self {
        match e {
            golive_core::board::ScopeError::Both => ApiError::invalid("queue", e.to_string()),
            _ => ApiError::new(StatusCode::NOT_FOUND, "unknown_scope", e.to_string()),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        let status = match r.kind {
            RejectionKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            RejectionKind::NotFound => StatusCode::NOT_FOUND,
            RejectionKind::Conflict => StatusCode::CONFLICT,
            RejectionKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        let error = ApiError::new(status, r.code, r.message);
        match r.field {
            Some(field) => error.with_details(json!({ "field": field })),
            None => error,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // Store errors never contain ticket text, so logging them is safe.
        tracing::error!(error = %e, "store operation failed");
        ApiError::unavailable("the database is not available; nothing was changed, try again")
    }
}

/// Turns a serde_json error (with the path to the failing field) into the
/// contract's 400 (not JSON) or 422 (JSON, but not what the field needs).
pub fn from_json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    let message = inner.to_string();
    match inner.classify() {
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => {
            ApiError::malformed(format!("body is not valid JSON: {message}"))
        }
        serde_json::error::Category::Data => {
            if path == "." && message.starts_with("invalid type") {
                return ApiError::malformed(format!("body must be a JSON object: {message}"));
            }
            let (code, field) = if let Some(name) = backticked(&message, "missing field `") {
                ("missing_field", name)
            } else if let Some(name) = backticked(&message, "unknown field `") {
                ("unknown_field", name)
            } else if let Some(name) = backticked(&message, "duplicate field `") {
                ("duplicate_field", name)
            } else if message.starts_with("invalid type") {
                ("invalid_type", path.clone())
            } else {
                ("invalid_field", path.clone())
            };
            let message = strip_position(&message);
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                format!("{field}: {message}"),
            )
            .with_details(json!({ "field": field }))
        }
    }
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next().map(str::to_string)
}

/// serde_json appends " at line 1 column 42"; useless to API clients.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Puts every error answer that is not already JSON into the contract's
/// shape: the framework's own rejections (a path segment that is not
/// UTF-8, a plain GET to the WebSocket route, a bad query string on a
/// route that uses the framework's extractor) answer plain text or an
/// empty body otherwise. The status is kept; the text, if any, becomes
/// the message.
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Rejection texts are short; anything longer is cut, not buffered whole.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string()
    } else {
        text
    };
    let mut answer = ApiError::new(status, code_for(status), message).into_response();
    // Keep headers such as `Allow` or `Retry-After`, not the old body's.
    for (name, value) in parts.headers.iter() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

/// The machine code for an error answer known only by its status.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::UPGRADE_REQUIRED => "upgrade_required",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::GATEWAY_TIMEOUT => "timeout",
        s if s.is_server_error() => "internal_error",
        _ => "request_failed",
    }
}
