//! Shared server state and configuration.

use crate::auth::Authenticator;
use crate::connectors::Connectors;
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::views::Views;
use crate::writer::Writer;
use golive_connect::ConnectorsConfig;
use golive_core::alerts::AlertRules;
use golive_core::names::{NameRules, NamesConfig};
use golive_core::staffing::StaffingSettings;
use golive_core::time::{Millis, parse_rfc3339};
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
    /// Distinct values per metric label before further ones become `other`.
    pub max_label_values: usize,
    /// Label sets per ticket metric before further ones are reported with
    /// site and application `other`.
    pub max_series_per_metric: usize,
    /// Least time between two boards pushed to live displays.
    pub push_interval_ms: u64,
    /// When the go-live started (RFC 3339): adds a `since_go_live` window
    /// to the board.
    pub go_live_start: Option<String>,
    /// How staffing recommendations are made.
    pub staffing: StaffingSettings,
    /// Alert thresholds.
    pub alerts: AlertRules,
    /// Canonical names and aliases of sites, departments, applications and
    /// queues, applied to every write whatever its path.
    pub names: NamesConfig,
    /// Connectors: field mappings, value maps, time zones, the ServiceNow
    /// pull.
    pub connectors: ConnectorsConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 1 << 20,
            max_ingest_bytes: 32 << 20,
            metrics_require_token: false,
            max_label_values: 200,
            max_series_per_metric: 5000,
            push_interval_ms: 1000,
            go_live_start: None,
            staffing: StaffingSettings::default(),
            alerts: AlertRules::default(),
            names: NamesConfig::default(),
            connectors: ConnectorsConfig::default(),
        }
    }
}

impl ServerConfig {
    /// The bounds on `/metrics` series.
    pub fn series_limits(&self) -> golive_core::aggregate::SeriesLimits {
        golive_core::aggregate::SeriesLimits {
            label_values: self.max_label_values,
            label_sets: self.max_series_per_metric,
        }
    }

    /// The compiled `[names]` rules (checked by [`ServerConfig::validate`]).
    pub fn name_rules(&self) -> NameRules {
        NameRules::new(&self.names).unwrap_or_default()
    }

    /// Checks values the type system cannot; returns the go-live start.
    pub fn validate(&self) -> Result<Option<Millis>, String> {
        if self.max_body_bytes < 1024 || self.max_ingest_bytes < 1024 {
            return Err("max_body_bytes and max_ingest_bytes must be at least 1024".into());
        }
        if self.max_label_values == 0 {
            return Err("max_label_values must be at least 1".into());
        }
        if self.max_series_per_metric == 0 {
            return Err("max_series_per_metric must be at least 1".into());
        }
        if !(50..=60_000).contains(&self.push_interval_ms) {
            return Err("push_interval_ms must be from 50 to 60000".into());
        }
        self.staffing
            .ate
            .validate()
            .map_err(|e| format!("staffing.ate: {e}"))?;
        self.staffing
            .plan
            .validate()
            .map_err(|e| format!("staffing.plan: {e}"))?;
        if !(self.staffing.default_aht_seconds.is_finite()
            && self.staffing.default_aht_seconds > 0.0)
        {
            return Err("staffing.default_aht_seconds must be a positive number".into());
        }
        NameRules::new(&self.names)?;
        Connectors::new(&self.connectors)?;
        match &self.go_live_start {
            None => Ok(None),
            Some(text) => parse_rfc3339(text).map(Some).ok_or_else(|| {
                format!("go_live_start {text:?} is not an RFC 3339 timestamp with an offset")
            }),
        }
    }
}

/// Everything handlers share.
pub struct AppState {
    pub config: ServerConfig,
    pub store: Arc<dyn Store>,
    pub auth: Authenticator,
    pub views: Arc<Views>,
    pub hub: LiveHub,
    pub metrics: Arc<Metrics>,
    pub connectors: Connectors,
    writer: OnceLock<Writer>,
    ready: AtomicBool,
}

impl AppState {
    pub fn new(
        config: ServerConfig,
        store: Arc<dyn Store>,
        admin_token: Option<&str>,
        views: Arc<Views>,
        metrics: Arc<Metrics>,
        connectors: Connectors,
    ) -> Self {
        AppState {
            config,
            store,
            auth: Authenticator::new(admin_token),
            views,
            hub: LiveHub::new(),
            metrics,
            connectors,
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
