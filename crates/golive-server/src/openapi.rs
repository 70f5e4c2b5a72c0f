//! The OpenAPI document of the whole API, served at `/api/v1/openapi.json`.

use axum::Json;
use serde_json::Value;

/// The document's text, kept beside the code it describes.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub async fn document() -> Json<Value> {
    Json(serde_json::from_str(DOCUMENT).unwrap_or(Value::Null))
}
