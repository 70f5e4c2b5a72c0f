//! Shared server state and configuration.

use crate::auth::Authenticator;
use crate::views::Views;
use crate::writer::Writer;
use golive_store::Store;
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Settings from the optional TOML config file (`--config`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Largest JSON body accepted (bytes).
    pub max_body_bytes: usize,
    /// Largest bulk NDJSON body accepted (bytes).
    pub max_ingest_bytes: usize,
    /// Require a token (any role) on `/metrics`.
    pub metrics_require_token: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 1 << 20,
            max_ingest_bytes: 32 << 20,
            metrics_require_token: false,
        }
    }
}

/// Everything handlers share.
pub struct AppState {
    pub config: ServerConfig,
    pub store: Arc<dyn Store>,
    pub auth: Authenticator,
    pub views: Arc<Views>,
    writer: OnceLock<Writer>,
    ready: AtomicBool,
}

impl AppState {
    pub fn new(
        config: ServerConfig,
        store: Arc<dyn Store>,
        admin_token: Option<&str>,
        views: Arc<Views>,
    ) -> Self {
        AppState {
            config,
            store,
            auth: Authenticator::new(admin_token),
            views,
            writer: OnceLock::new(),
            ready: AtomicBool::new(false),
        }
    }

    /// Called once replay is done: writes are accepted from now on.
    pub fn set_ready(&self, writer: Writer) {
        let _ = self.writer.set(writer);
        self.ready.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The writer, or `None` while the log is still being replayed.
    pub fn writer(&self) -> Option<&Writer> {
        self.writer.get()
    }
}
