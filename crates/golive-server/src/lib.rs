//! golive-server: the HTTP layer around the domain core and the store.
//!
//! Request → validate → commit to the event log (group commit in
//! [`writer`]) → apply to the in-memory views → answer. Handlers are thin;
//! the contract's error shape comes from one error type.
//!
//! The background tasks (the writer, the live board publisher) are
//! supervised: if one panics or stops while the server runs, [`serve`]
//! returns an error and the process exits non-zero, so that systemd or
//! Kubernetes restarts it, instead of running half alive.

pub mod applier;
pub mod auth;
pub mod checkpoint;
pub mod connectors;
pub mod domain_metrics;
pub mod error;
pub mod extract;
pub mod fault;
pub mod http;
pub mod huddle;
#[cfg(test)]
mod input_proptests;
pub mod live;
pub mod log_guard;
pub mod metrics;
#[cfg(test)]
mod module_graph;
pub mod offload;
pub mod openapi;
pub mod publisher;
pub mod revocation;
pub mod routes;
pub mod state;
pub mod tail;
pub mod trace;
pub mod ui;
pub mod views;
pub mod writer;

use crate::applier::Applier;
use crate::error::ApiError;
use crate::routes::paths;
use crate::state::AppState;
use crate::views::Views;
use crate::writer::Writer;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use golive_core::ledger::Ledger;
use golive_core::names::NameRules;
use golive_store::{Store, StoreError};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub use state::{ConfigError, ServerConfig};

/// Longest a graceful stop waits for the database connections to close.
const STORE_CLOSE_LIMIT: Duration = Duration::from_secs(5);

/// Events read per page while replaying the log.
const REPLAY_PAGE: u32 = 10_000;

/// Longest a graceful shutdown waits for its checkpoint.
const SHUTDOWN_CHECKPOINT_LIMIT: Duration = Duration::from_secs(20);

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
            paths::CONNECTOR_SERVICENOW,
            post(connectors::servicenow::push),
        )
        .route(paths::CONNECTOR_JIRA, post(connectors::jira::webhook))
        .route(
            paths::CONNECTOR_AMAZON_CONNECT,
            post(connectors::amazon_connect::push),
        )
        .route(paths::CONNECTOR_ASTERISK, post(connectors::asterisk::push))
        .route(
            paths::TOKENS,
            post(routes::tokens::create).get(routes::tokens::list),
        )
        .route(paths::TOKEN, axum::routing::delete(routes::tokens::revoke))
        .route(paths::SESSION, get(routes::tokens::session))
        .route(paths::OPENAPI, get(openapi::document))
        .route(paths::REPORT, get(routes::report::report))
        .route(paths::HUDDLE, get(routes::huddle::huddle))
        .route(paths::WAVES, get(routes::waves::waves))
        .route(paths::BOARD, get(routes::report::board))
        .route(paths::STAFFING, get(routes::report::staffing))
        .route(paths::ERLANG_C, get(routes::report::erlang_c))
        .route(paths::ERLANG_A, get(routes::report::erlang_a))
        .route(paths::STAFFING_PLAN, get(routes::plan::plan))
        .route(paths::LIVE, get(routes::live::live))
        .route(paths::ALERT_ACK, post(routes::alerts::acknowledge))
        .route(
            paths::KNOWN_ISSUES,
            get(routes::known_issues::list).post(routes::known_issues::create),
        )
        .route(
            paths::KNOWN_ISSUE,
            axum::routing::patch(routes::known_issues::update),
        )
        .route(paths::QR, post(routes::tokens::qr))
        .route(paths::METRICS, get(routes::health::metrics))
        .route(paths::HEALTHZ, get(routes::health::healthz))
        .route(paths::UI_BOARD, get(ui::board))
        .route(paths::UI_CONSOLE, get(ui::console))
        .route(paths::UI_PLAN, get(ui::plan))
        .route(paths::UI_WAVES, get(ui::waves))
        .route(paths::UI_HUDDLE, get(ui::huddle))
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
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_secs(state.config.request_timeout_seconds),
            http::read_deadline,
        ))
        .layer(axum::middleware::from_fn(http::check_head))
        .layer(axum::middleware::from_fn(error::json_errors))
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

/// Why [`serve`] stopped other than by the shutdown signal.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
    #[error("connectors: {0}")]
    Connectors(String),
    #[error("{task} stopped unexpectedly ({reason}); exiting so that a supervisor restarts golive")]
    TaskDied { task: &'static str, reason: String },
    /// The event log was replaced under the process (`log_guard`): what it
    /// holds in memory belongs to another log; start again and replay.
    #[error("the event log was replaced under this process: {0}")]
    LogReplaced(String),
}

/// Why the writing half of the server stopped.
#[derive(Debug)]
enum CoreStop {
    Failed(String),
    LogReplaced(String),
}

/// Serves until `shutdown` resolves, then stops accepting, finishes
/// in-flight requests (for up to `shutdown_timeout_seconds`), commits what
/// was accepted and returns. Returns an error at once if a background task
/// dies.
pub async fn serve(
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let go_live_start = options.config.validate()?;
    let connectors =
        connectors::Connectors::new(&options.config.connectors, options.config.name_rules())
            .map_err(|error| ServeError::Connectors(error.to_string()))?;
    let metrics = metrics::Metrics::new();
    let views = Arc::new(Views::new(
        options.config.staffing.clone(),
        options.config.alerts.clone(),
        go_live_start,
        metrics.clone(),
    ));
    let push_interval = Duration::from_millis(options.config.push_interval_ms);
    let limits = http::HttpLimits {
        header_timeout: Duration::from_secs(options.config.header_timeout_seconds),
        shutdown_timeout: Duration::from_secs(options.config.shutdown_timeout_seconds),
    };
    let state = Arc::new(AppState::new(
        options.config,
        options.store.clone(),
        options.admin_token.as_deref(),
        views.clone(),
        metrics,
        connectors,
    ));
    let pull = match state.config.connectors.servicenow.pull.clone() {
        Some(pull) => Some(
            connectors::pull::spawn(state.clone(), pull)
                .map_err(|error| ServeError::Connectors(error.to_string()))?,
        ),
        None => None,
    };
    let revocations = tokio::spawn(revocation::watch(state.clone()));
    let leadership = tokio::spawn(publisher::lead(state.clone()));
    let mut core = tokio::spawn(open_then_write(state.clone(), options.store, views));
    let mut publisher = tokio::spawn(publisher::publish_loop(state.clone(), push_interval));
    let queue_log = connectors::queue_log::spawn(state.clone());
    let app = router(state.clone());
    tokio::select! {
        served = http::serve(options.listener, app, limits, shutdown) => served?,
        ended = &mut core => {
            return Err(match ended {
                Ok(Err(CoreStop::LogReplaced(reason))) => {
                    tracing::warn!(%reason, "the event log was replaced; replaying it");
                    ServeError::LogReplaced(reason)
                }
                Ok(Err(CoreStop::Failed(reason))) => died("the writer", Ok(Err(reason))),
                Ok(Ok(())) => died("the writer", Ok(Ok(()))),
                Err(error) => died("the writer", Err(error)),
            });
        }
        ended = &mut publisher => return Err(died("the live board publisher", ended.map(Ok))),
    }
    publisher.abort();
    revocations.abort();
    queue_log.abort();
    // Ends the leader's session, releasing the lock for another replica.
    leadership.abort();
    if let Some(pull) = pull {
        pull.abort();
    }
    if let Some(writer) = state.writer() {
        if state.config.checkpoints().is_some() {
            // After the last request, so that the next start replays
            // nothing.
            checkpointer(&state, writer)
                .at_shutdown(SHUTDOWN_CHECKPOINT_LIMIT)
                .await;
        }
        writer.close().await;
    }
    core.abort();
    // After the last write: on SQLite this leaves one file, no WAL.
    if tokio::time::timeout(STORE_CLOSE_LIMIT, state.store.close())
        .await
        .is_err()
    {
        tracing::warn!("the database connections did not close in time");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The error for a background task that ended while the server ran.
fn died(
    task: &'static str,
    ended: Result<Result<(), String>, tokio::task::JoinError>,
) -> ServeError {
    let reason = match ended {
        Ok(Ok(())) => "it returned".to_string(),
        Ok(Err(reason)) => reason,
        Err(error) if error.is_panic() => {
            let panic = error.into_panic();
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string());
            format!("panicked: {text}")
        }
        Err(error) => error.to_string(),
    };
    tracing::error!(task, %reason, "background task died");
    ServeError::TaskDied { task, reason }
}

/// What writes this process's checkpoints, from the shared state.
fn checkpointer(state: &AppState, writer: &Writer) -> checkpoint::Checkpointer {
    checkpoint::Checkpointer {
        store: state.store.clone(),
        views: state.views.clone(),
        writer: writer.clone(),
        marks: state.checkpoints.clone(),
    }
}

/// Makes the database ready and replays the log (retrying while the
/// database is down or read-only), publishes a first board, starts the
/// writer and the tailer (which follows other replicas' commits) and
/// marks the server ready; then runs as long as both do.
async fn open_then_write(
    state: Arc<AppState>,
    store: Arc<dyn Store>,
    views: Arc<Views>,
) -> Result<(), CoreStop> {
    let (ledger, restored) = open(&state, store.as_ref(), &views).await;
    let (tickets, calls) = ledger.counts();
    tracing::info!(
        last_seq = ledger.last_seq(),
        tickets,
        calls,
        "log replayed; ready"
    );
    let (applier, tailed) = Applier::new(
        store.clone(),
        views,
        state.metrics.clone(),
        ledger.last_seq(),
    );
    if let Err(error) = applier.remember_last().await {
        // The first check of `log_guard` reads it instead.
        tracing::warn!(%error, "cannot read the replay's last event back");
    }
    let (writer, mut writing) = Writer::start(store.clone(), ledger, applier.clone(), tailed);
    let mut tailer = tokio::spawn(tail::run(store, applier.clone()));
    let checkpoints = state
        .config
        .checkpoints()
        .map(|schedule| tokio::spawn(checkpointer(&state, &writer).run(schedule, restored)));
    // Before ready: the first snapshot a display gets is a full board.
    publisher::publish_apart(&state, false).await;
    state.set_ready(writer);
    // Ends with this task however it ends (a checkpoint half written is
    // rolled back with its transaction).
    let _checkpoints = AbortOnDrop(checkpoints);
    let rethrow = |error: tokio::task::JoinError| {
        if error.is_panic() {
            std::panic::resume_unwind(error.into_panic());
        }
        error.to_string()
    };
    tokio::select! {
        ended = &mut writing => {
            tailer.abort();
            ended.map_err(rethrow).map_err(CoreStop::Failed)
        }
        ended = &mut tailer, if state.store.backend() == "postgres" => {
            ended.map_err(rethrow).map_err(CoreStop::Failed)?;
            Err(CoreStop::Failed("the log tailer stopped".into()))
        }
        reason = log_guard::watch(applier) => {
            // Not ready from here: nothing more is answered from a log
            // that is not the database's.
            state.set_not_ready("log_replaced");
            tailer.abort();
            Err(CoreStop::LogReplaced(reason))
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// Prepares the database and replays the log into a fresh ledger and the
/// views (from the latest checkpoint when one can be trusted), retrying
/// (with backoff up to 10 s) until both succeed. Returns the ledger and
/// the position the state was restored at (0 after a whole replay).
async fn open(state: &AppState, store: &dyn Store, views: &Views) -> (Ledger, u64) {
    let mut delay = Duration::from_millis(200);
    loop {
        let attempt = async {
            store.prepare().await?;
            state.set_starting("replaying");
            let checkpoints = state.config.checkpoints().is_some();
            replay(store, views, state.config.name_rules(), checkpoints).await
        };
        match attempt.await {
            Ok(ledger) => return ledger,
            Err(error) => {
                let status = match error {
                    StoreError::ReadOnly(_) => "database_read_only",
                    _ => "database_unreachable",
                };
                state.set_starting(status);
                tracing::error!(error = %error, "the database is not ready; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Folds the log into a ledger and the views: from the latest checkpoint
/// when `checkpoints` are on and it can be trusted (`crate::checkpoint`),
/// else from the start. The views take only events past what they hold
/// (a checkpoint's views may be ahead of its ledger; a retry after a
/// failed read must not apply anything twice).
async fn replay(
    store: &dyn Store,
    views: &Views,
    names: NameRules,
    checkpoints: bool,
) -> Result<(Ledger, u64), StoreError> {
    let started = std::time::Instant::now();
    let restored = match checkpoints {
        true => checkpoint::restore(store, views, names.clone()).await,
        false => None,
    };
    let from = restored.as_ref().map_or(0, Ledger::last_seq);
    let mut ledger = restored.unwrap_or_else(|| Ledger::with_names(names));
    loop {
        let page = store.events_after(ledger.last_seq(), REPLAY_PAGE).await?;
        if page.is_empty() {
            break;
        }
        for event in &page {
            ledger.apply(event);
        }
        let applied = views.last_seq();
        views.apply(&page[page.partition_point(|event| event.seq <= applied)..]);
    }
    tracing::info!(
        from,
        events = ledger.last_seq() - from,
        millis = started.elapsed().as_millis() as u64,
        "replay finished"
    );
    Ok((ledger, from))
}
