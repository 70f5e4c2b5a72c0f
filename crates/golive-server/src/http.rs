//! The HTTP server: accepts connections and serves each over HTTP/1.1 with
//! the limits a server facing broken or hostile clients needs, and shuts
//! down within a bound.
//!
//! - A client has `header_timeout_seconds` to send a request's headers
//!   (and an idle keep-alive connection as long to start its next
//!   request); the connection is closed otherwise. Bodies are bounded by
//!   `body_timeout_seconds` where they are read (`extract.rs`), and reads
//!   by `request_timeout_seconds` ([`read_deadline`]).
//! - Request heads: a URI over [`MAX_URI_BYTES`], more than
//!   [`MAX_HEADER_COUNT`] headers or more than [`MAX_HEADER_BYTES`] of them
//!   are answered in the API's error shape ([`check_head`]). Heads beyond
//!   what the HTTP parser buffers ([`MAX_HEAD_BYTES`], [`PARSED_HEADERS`])
//!   or that are not HTTP at all are refused by the parser itself with a
//!   bare status line.
//! - Shutdown: stop accepting, let in-flight requests finish for up to
//!   `shutdown_timeout_seconds`, then close what is left.

use crate::error::ApiError;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Longest URI (path and query) answered; longer is 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most headers a request may carry; more is 431.
pub const MAX_HEADER_COUNT: usize = 100;
/// Most bytes of header names and values; more is 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The HTTP parser's buffer for one request head: past this it answers
/// 431 on its own (a bare status line).
pub const MAX_HEAD_BYTES: usize = 256 * 1024;
/// Headers the HTTP parser reads before giving up on its own.
pub const PARSED_HEADERS: usize = 512;

/// Timeouts of the HTTP layer.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    pub header_timeout: Duration,
    pub shutdown_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops
/// accepting, gives in-flight requests `limits.shutdown_timeout` to finish
/// and closes the connections still open.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(PARSED_HEADERS);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
        };
        // Finished connections are reaped here so the set stays small.
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(
            app.clone()
                .map_request(|request: Request<Incoming>| request.map(Body::new)),
        );
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let mut connection = pin!(connection);
            let stop_requested = async move {
                // The guard `wait_for` returns must not be held.
                let stopped = stopping.wait_for(|stop| *stop).await.is_ok();
                if !stopped {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stop_requested => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            seconds = limits.shutdown_timeout.as_secs(),
            "shutdown: requests still in flight after the grace period; closing their connections"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// A failed `accept`: a connection reset before it was accepted is only
/// that; anything else (out of file descriptors, most likely) is logged
/// and waited out briefly instead of spinning.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Answers a request whose head is too large in the API's error shape
/// (414 for the URI, 431 for the headers) before any handler sees it.
pub async fn check_head(request: Request, next: Next) -> Response {
    let uri_bytes = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the URI is {uri_bytes} bytes; at most {MAX_URI_BYTES} are accepted"),
        )
        .into_response();
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADER_COUNT || header_bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "{} headers of {header_bytes} bytes; at most {MAX_HEADER_COUNT} headers and {MAX_HEADER_BYTES} bytes are accepted",
                headers.len()
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// Bounds how long a read (GET or HEAD) may take: 503 after `timeout`.
/// Writes are left alone: once a write reached the writer it is answered
/// with what became of it, because a 503 must mean that nothing changed.
pub async fn read_deadline(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return next.run(request).await;
    }
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than {} s; try again",
                timeout.as_secs()
            ),
        )
        .into_response(),
    }
}
