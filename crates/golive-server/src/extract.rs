//! Request extractors that answer in the contract's error shape: JSON
//! bodies (415 on the wrong content type, 413 over the limit, 408 when it
//! does not arrive in time, 400 when not JSON, 422 naming the field; a key
//! given twice is 422 `duplicate_field`), NDJSON bodies, query strings,
//! and the caller a request's token names (401 when there is none or it
//! is unknown or revoked).

use crate::auth::Caller;
use crate::error::{ApiError, from_json_error};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use golive_store::token;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// A JSON body deserialized into `T`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        require_content_type(&req, &["application/json"])?;
        let bytes = read_body(req.into_body(), state.config.max_body_bytes, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses one JSON document into `T` with field-level errors. Every body
/// the API takes is a JSON object: anything else is malformed (400), even
/// an array, which serde would otherwise read as the struct's fields in
/// declaration order.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => return Err(ApiError::malformed("body is empty; expected a JSON object")),
        Some(b'[') => {
            return Err(ApiError::malformed(
                "body must be a JSON object, not an array",
            ));
        }
        Some(_) => return Err(ApiError::malformed("body must be a JSON object")),
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(from_json_error)?;
    deserializer.end().map_err(|e| {
        ApiError::malformed(format!("body is not valid JSON: trailing characters ({e})"))
    })?;
    Ok(value)
}

/// An NDJSON body (bulk ingest), size-limited by `max_ingest_bytes`.
pub struct Ndjson(pub Bytes);

impl FromRequest<Arc<AppState>> for Ndjson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        require_content_type(
            &req,
            &[
                "application/x-ndjson",
                "application/ndjson",
                "application/jsonl",
            ],
        )?;
        read_body(req.into_body(), state.config.max_ingest_bytes, state)
            .await
            .map(Ndjson)
    }
}

/// Resolves the token a request presents (the `Authorization: Bearer`
/// header, or `?token=` on a GET) to its caller.
impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let presented = bearer(parts)
            .or_else(|| query_token(parts))
            .ok_or_else(ApiError::unauthorized)?;
        let token_hash = token::hash(&presented);
        match state
            .auth
            .role_of(state.store.as_ref(), &token_hash)
            .await?
        {
            Some(role) => Ok(Caller {
                role,
                token_hash: token_hash.into(),
            }),
            None => Err(ApiError::unauthorized()),
        }
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// `?token=` is accepted only for GET requests: wall displays open the
/// board and its socket that way, and browsers cannot set headers on a
/// WebSocket. Writes always need the header.
fn query_token(parts: &Parts) -> Option<String> {
    if parts.method != axum::http::Method::GET {
        return None;
    }
    form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
        .filter(|t| !t.is_empty())
}

/// A query string deserialized into `T`; bad values are 422 naming the field.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                let message = e.into_inner().to_string();
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_parameter",
                    format!("{field}: {message}"),
                )
                .with_details(serde_json::json!({ "field": field }))
            })
    }
}

/// The request's media type, lower-cased, without parameters.
pub(crate) fn media_type(req: &Request) -> Option<String> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

pub(crate) fn require_content_type(req: &Request, accepted: &[&str]) -> Result<(), ApiError> {
    match media_type(req) {
        Some(mime) if accepted.contains(&mime.as_str()) => Ok(()),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type must be {}, got {}",
                accepted.join(" or "),
                other.as_deref().unwrap_or("none")
            ),
        )),
    }
}

/// Reads a whole body of at most `limit` bytes, which must arrive within
/// `body_timeout_seconds`: a client that sends half a body and stalls
/// holds its connection no longer than that.
pub(crate) async fn read_body(
    body: Body,
    limit: usize,
    state: &AppState,
) -> Result<Bytes, ApiError> {
    let seconds = state.config.body_timeout_seconds;
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(seconds),
        axum::body::to_bytes(body, limit),
    );
    match read.await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("body is larger than the limit of {limit} bytes"),
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the body did not arrive within {seconds} s"),
        )),
    }
}
