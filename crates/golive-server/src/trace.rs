//! Request spans for the logs, without secrets: a wall display opens the
//! board as `/?token=TOKEN` (browsers cannot set headers on a WebSocket),
//! so the URI a span records has its `token` query value replaced. The
//! span records method, redacted URI and HTTP version, never headers
//! (`Authorization` carries the other tokens).

use axum::http::{Request, Uri};
use tower_http::trace::MakeSpan;
use tracing::Span;

/// What replaces a secret in a logged URI.
const REDACTED: &str = "REDACTED";

/// Makes the `request` span of `tower_http`'s trace layer (at DEBUG, as
/// its default does) with the URI redacted.
#[derive(Clone, Copy, Debug, Default)]
pub struct RedactedSpan;

impl<B> MakeSpan<B> for RedactedSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        tracing::debug_span!(
            "request",
            method = %request.method(),
            uri = %redact_uri(request.uri()),
            version = ?request.version(),
        )
    }
}

/// The path and query of `uri` with the value of every `token` query
/// parameter (however it is spelled: `token`, `%74oken`) replaced.
pub fn redact_uri(uri: &Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let raw_key = pair.split_once('=').map_or(pair, |(key, _)| key);
            let key: String = form_urlencoded::parse(raw_key.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect();
            if key.eq_ignore_ascii_case("token") {
                format!("{raw_key}={REDACTED}")
            } else {
                pair.to_string()
            }
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(uri: &str) -> String {
        redact_uri(&uri.parse().expect("uri"))
    }

    #[test]
    fn token_values_are_replaced_and_the_rest_kept() {
        assert_eq!(redacted("/?token=glv_abc"), "/?token=REDACTED");
        assert_eq!(
            redacted("/api/v1/live?site=Main&token=glv_abc&queue=Q"),
            "/api/v1/live?site=Main&token=REDACTED&queue=Q"
        );
        assert_eq!(redacted("/x?%74oken=glv_abc"), "/x?%74oken=REDACTED");
        assert_eq!(redacted("/x?TOKEN=glv_abc"), "/x?TOKEN=REDACTED");
        assert_eq!(redacted("/x?token"), "/x?token=REDACTED");
        assert_eq!(redacted("/api/v1/board"), "/api/v1/board");
        assert_eq!(redacted("/r?from=a&to=b"), "/r?from=a&to=b");
    }
}
