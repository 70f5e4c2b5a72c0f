//! golive-server: the HTTP layer around the domain core and the store.
//!
//! Request → validate → commit to the event log (group commit in
//! [`writer`]) → apply to the in-memory views → answer. Handlers are thin;
//! the contract's error shape comes from one error type.

pub mod auth;
pub mod error;
pub mod extract;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod revocation;
pub mod routes;
pub mod state;
pub mod trace;
pub mod ui;
pub mod views;
pub mod writer;

use crate::error::ApiError;
use crate::routes::paths;
use crate::state::AppState;
use crate::views::Views;
use crate::writer::Writer;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use golive_core::ledger::Ledger;
use golive_store::{Store, StoreError};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub use state::ServerConfig;

/// Events read per page while replaying the log.
const REPLAY_PAGE: u32 = 10_000;

/// Builds the router over shared state.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            paths::TICKETS,
            post(routes::tickets::create).get(routes::tickets::list),
        )
        .route(
            paths::TICKET,
            get(routes::tickets::get).patch(routes::tickets::update),
        )
        .route(paths::CALL_EVENTS, post(routes::calls::record))
        .route(paths::QUEUES, get(routes::queues::list))
        .route(
            paths::QUEUE,
            get(routes::queues::get).put(routes::queues::put),
        )
        .route(paths::INGEST, post(routes::ingest::ingest))
        .route(
            paths::TOKENS,
            post(routes::tokens::create).get(routes::tokens::list),
        )
        .route(paths::TOKEN, axum::routing::delete(routes::tokens::revoke))
        .route(paths::SESSION, get(routes::tokens::session))
        .route(paths::OPENAPI, get(openapi::document))
        .route(paths::REPORT, get(routes::report::report))
        .route(paths::BOARD, get(routes::report::board))
        .route(paths::STAFFING, get(routes::report::staffing))
        .route(paths::ERLANG_C, get(routes::report::erlang_c))
        .route(paths::ERLANG_A, get(routes::report::erlang_a))
        .route(paths::STAFFING_PLAN, get(routes::plan::plan))
        .route(paths::LIVE, get(live::live))
        .route(paths::ALERT_ACK, post(routes::alerts::acknowledge))
        .route(paths::QR, post(routes::tokens::qr))
        .route(paths::METRICS, get(routes::health::metrics))
        .route(paths::HEALTHZ, get(routes::health::healthz))
        .route(paths::UI_BOARD, get(ui::board))
        .route(paths::UI_CONSOLE, get(ui::console))
        .route(paths::UI_PLAN, get(ui::plan))
        .route(paths::UI_LEAD, get(ui::lead))
        .route(paths::UI_ASSET, get(ui::asset))
        .route(paths::READYZ, get(routes::health::readyz))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "no such path")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take that method",
            )
        })
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(trace::RedactedSpan)
                .on_failure(()),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// How to run a server.
pub struct ServeOptions {
    pub listener: TcpListener,
    pub store: Arc<dyn Store>,
    pub admin_token: Option<String>,
    pub config: ServerConfig,
}

/// Serves until `shutdown` resolves, then stops accepting, finishes
/// in-flight requests, commits what was accepted and returns.
pub async fn serve(
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let go_live_start = options.config.validate().map_err(std::io::Error::other)?;
    let metrics = metrics::Metrics::new(options.config.series_limits());
    let views = Arc::new(Views::new(
        options.config.staffing.clone(),
        options.config.alerts.clone(),
        go_live_start,
        metrics.clone(),
    ));
    metrics.attach(&views);
    let push_interval = Duration::from_millis(options.config.push_interval_ms);
    let state = Arc::new(AppState::new(
        options.config,
        options.store.clone(),
        options.admin_token.as_deref(),
        views.clone(),
        metrics,
    ));
    let replay = tokio::spawn(replay_then_open(state.clone(), options.store, views));
    let publisher = tokio::spawn(live::publish_loop(state.clone(), push_interval));
    let revocations = tokio::spawn(revocation::watch(state.clone()));
    let app = router(state.clone());
    axum::serve(
        options.listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    replay.abort();
    publisher.abort();
    revocations.abort();
    if let Some(writer) = state.writer() {
        writer.close().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Replays the log into a fresh ledger and the views, then starts the
/// writer and marks the server ready. Retries while the database is down.
async fn replay_then_open(state: Arc<AppState>, store: Arc<dyn Store>, views: Arc<Views>) {
    let mut delay = Duration::from_millis(200);
    loop {
        match replay(store.as_ref(), &views).await {
            Ok(ledger) => {
                let (tickets, calls) = ledger.counts();
                tracing::info!(
                    last_seq = ledger.last_seq(),
                    tickets,
                    calls,
                    "log replayed; ready"
                );
                let (writer, _task) = Writer::start(store.clone(), ledger, views.clone());
                state.set_ready(writer);
                return;
            }
            Err(error) => {
                tracing::error!(error = %error, "replay failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn replay(store: &dyn Store, views: &Views) -> Result<Ledger, StoreError> {
    let mut ledger = Ledger::new();
    let started = std::time::Instant::now();
    loop {
        let page = store.events_after(ledger.last_seq(), REPLAY_PAGE).await?;
        if page.is_empty() {
            break;
        }
        for event in &page {
            ledger.apply(event);
        }
        views.apply(&page);
    }
    tracing::info!(
        events = ledger.last_seq(),
        millis = started.elapsed().as_millis() as u64,
        "replay finished"
    );
    Ok(ledger)
}
