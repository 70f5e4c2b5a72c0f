//! Shared server state and configuration.

use crate::auth::Authenticator;
use crate::connectors::Connectors;
use crate::huddle::HuddleConfig;
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::views::Views;
use crate::writer::Writer;
use golive_connect::ConnectorsConfig;
use golive_core::alerts::AlertRules;
use golive_core::input::Clock;
use golive_core::names::{NameKind, NameRules, NamesConfig};
use golive_core::staffing::StaffingSettings;
use golive_core::time::{Millis, now_millis, parse_rfc3339};
use golive_core::waves::{Wave, WaveConfig};
use golive_store::Store;
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

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
    /// How far ahead of the server's clock (seconds) a timestamp in a body
    /// may be; later ones are refused (422).
    pub max_clock_skew_seconds: u64,
    /// Bulk ingest: rejected lines listed in full in one answer; the rest
    /// are only counted (`rejected_total`), so a request's memory stays
    /// bounded whatever it holds.
    pub max_rejections_listed: usize,
    /// Seconds a client has to send a request's headers (and an idle
    /// keep-alive connection has to start its next request).
    pub header_timeout_seconds: u64,
    /// Seconds a client has to send a request's whole body.
    pub body_timeout_seconds: u64,
    /// Seconds a read (GET) may take before it is answered 503. Writes are
    /// never cut off once handed to the writer: they are bounded by the
    /// database's own timeouts, so that a 503 always means nothing changed.
    pub request_timeout_seconds: u64,
    /// On SIGTERM: seconds in-flight requests get to finish before the
    /// remaining connections are closed.
    pub shutdown_timeout_seconds: u64,
    /// The rollout waves of a phased go-live (`[[waves]]`).
    pub waves: Vec<WaveConfig>,
    /// The daily huddle report: time zone, shifts, list length.
    pub huddle: HuddleConfig,
    /// Seconds between two checkpoints of the in-memory state while the
    /// log moves on (`crate::checkpoint`); 0 turns checkpoints off (none
    /// written or read: every start replays the whole log).
    pub checkpoint_interval_seconds: u64,
    /// A checkpoint sooner, once this many events were applied since the
    /// last one (a bulk import).
    pub checkpoint_every_events: u64,
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
            max_clock_skew_seconds: 300,
            max_rejections_listed: 1000,
            header_timeout_seconds: 10,
            body_timeout_seconds: 60,
            request_timeout_seconds: 30,
            shutdown_timeout_seconds: 10,
            waves: Vec::new(),
            huddle: HuddleConfig::default(),
            checkpoint_interval_seconds: 300,
            checkpoint_every_events: 100_000,
        }
    }
}

/// Why a configuration cannot be used. Reported before the server binds
/// its port, with a non-zero exit.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Syntax { path: String, message: String },
    #[error("config: {key} = {value}: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: String,
    },
}

/// `Err(ConfigError::Invalid)` for `key` unless `ok`.
fn check(
    ok: bool,
    key: &'static str,
    value: impl ToString,
    reason: &str,
) -> Result<(), ConfigError> {
    if ok {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        key,
        value: value.to_string(),
        reason: reason.to_string(),
    })
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
    pub fn validate(&self) -> Result<Option<Millis>, ConfigError> {
        check(
            self.max_body_bytes >= 1024,
            "max_body_bytes",
            self.max_body_bytes,
            "must be at least 1024",
        )?;
        check(
            self.max_ingest_bytes >= 1024,
            "max_ingest_bytes",
            self.max_ingest_bytes,
            "must be at least 1024",
        )?;
        check(
            self.max_label_values > 0,
            "max_label_values",
            self.max_label_values,
            "must be at least 1",
        )?;
        check(
            (50..=60_000).contains(&self.push_interval_ms),
            "push_interval_ms",
            self.push_interval_ms,
            "must be from 50 to 60000",
        )?;
        check(
            self.checkpoint_interval_seconds <= 86_400,
            "checkpoint_interval_seconds",
            self.checkpoint_interval_seconds,
            "must be 0 (off) or at most 86400 (a day)",
        )?;
        check(
            (1_000..=100_000_000).contains(&self.checkpoint_every_events),
            "checkpoint_every_events",
            self.checkpoint_every_events,
            "must be from 1000 to 100000000",
        )?;
        check(
            self.max_clock_skew_seconds <= 86_400,
            "max_clock_skew_seconds",
            self.max_clock_skew_seconds,
            "must be at most 86400 (a day)",
        )?;
        check(
            self.max_rejections_listed <= 100_000,
            "max_rejections_listed",
            self.max_rejections_listed,
            "must be at most 100000",
        )?;
        for (key, value) in [
            ("header_timeout_seconds", self.header_timeout_seconds),
            ("body_timeout_seconds", self.body_timeout_seconds),
            ("request_timeout_seconds", self.request_timeout_seconds),
            ("shutdown_timeout_seconds", self.shutdown_timeout_seconds),
        ] {
            check(
                (1..=3600).contains(&value),
                key,
                value,
                "must be from 1 to 3600 seconds",
            )?;
        }
        if let Err(e) = self.staffing.ate.validate() {
            return Err(ConfigError::Invalid {
                key: "staffing.ate",
                value: e.field.to_string(),
                reason: e.message,
            });
        }
        let aht = self.staffing.default_aht_seconds;
        check(
            aht.is_finite() && aht > 0.0,
            "staffing.default_aht_seconds",
            aht,
            "must be a positive number",
        )?;
        let rules = &self.alerts;
        let rate = rules.abandonment_rate_above;
        check(
            rate.is_finite() && (0.0..=1.0).contains(&rate),
            "alerts.abandonment_rate_above",
            rate,
            "is a fraction from 0 to 1 (0.10 means 10 %)",
        )?;
        let asa = rules.asa_seconds_above;
        check(
            asa.is_finite() && asa >= 0.0,
            "alerts.asa_seconds_above",
            asa,
            "must be a number of seconds, 0 or more",
        )?;
        let minutes = rules.backlog_rising_minutes;
        check(
            minutes.is_multiple_of(golive_core::alerts::BACKLOG_STEP_MINUTES) && minutes <= 720,
            "alerts.backlog_rising_minutes",
            minutes,
            "must be 0 (off) or a multiple of 5 up to 720",
        )?;
        if let Err(e) = self.staffing.plan.validate() {
            return Err(ConfigError::Invalid {
                key: "staffing.plan",
                value: String::new(),
                reason: e.to_string(),
            });
        }
        check(
            self.max_series_per_metric > 0,
            "max_series_per_metric",
            self.max_series_per_metric,
            "must be at least 1",
        )?;
        if let Err(e) = NameRules::new(&self.names) {
            return Err(ConfigError::Invalid {
                key: "names",
                value: String::new(),
                reason: e.to_string(),
            });
        }
        if let Err(e) = Connectors::new(&self.connectors, self.name_rules()) {
            return Err(ConfigError::Invalid {
                key: "connectors",
                value: String::new(),
                reason: e.to_string(),
            });
        }
        if let Err((key, reason)) = golive_core::waves::check(&self.waves) {
            return Err(ConfigError::Invalid {
                key: "waves",
                value: key,
                reason,
            });
        }
        if let Err((key, reason)) = self.huddle.validate() {
            return Err(ConfigError::Invalid {
                key: "huddle",
                value: key,
                reason,
            });
        }
        match &self.go_live_start {
            None => Ok(None),
            Some(text) => parse_rfc3339(text).map(Some).ok_or_else(|| ConfigError::Invalid {
                key: "go_live_start",
                value: format!("{text:?}"),
                reason: "is not an RFC 3339 timestamp with an offset, e.g. 2026-03-02T07:00:00-05:00"
                    .into(),
            }),
        }
    }

    /// The configured rollout waves (checked by [`ServerConfig::validate`]),
    /// their sites spelled as the `[names]` rules spell them.
    pub fn waves(&self) -> Vec<Wave> {
        let rules = self.name_rules();
        let mut waves = golive_core::waves::check(&self.waves).unwrap_or_default();
        for wave in &mut waves {
            for site in &mut wave.sites {
                if let Some(name) = rules.configured(NameKind::Site, site) {
                    *site = name.to_string();
                }
            }
        }
        waves
    }

    /// The clock bodies are validated against right now.
    /// When checkpoints are written; `None` when they are off.
    pub fn checkpoints(&self) -> Option<crate::checkpoint::Schedule> {
        (self.checkpoint_interval_seconds > 0).then(|| crate::checkpoint::Schedule {
            interval: std::time::Duration::from_secs(self.checkpoint_interval_seconds),
            every_events: self.checkpoint_every_events,
        })
    }

    pub fn clock(&self) -> Clock {
        let skew = i64::try_from(self.max_clock_skew_seconds).unwrap_or(86_400);
        Clock::new(now_millis(), skew * 1000)
    }
}

/// Everything handlers share.
pub struct AppState {
    pub config: ServerConfig,
    pub store: Arc<dyn Store>,
    pub auth: Authenticator,
    pub views: Arc<Views>,
    pub hub: Arc<LiveHub>,
    pub metrics: Arc<Metrics>,
    pub connectors: Connectors,
    /// The marks this process's checkpoints share (`crate::checkpoint`).
    pub checkpoints: Arc<crate::checkpoint::Checkpoints>,
    writer: OnceLock<Writer>,
    ready: AtomicBool,
    /// What the server is doing before it is ready, for `/readyz`.
    starting: Mutex<&'static str>,
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
            hub: Arc::new(LiveHub::new()),
            metrics,
            connectors,
            checkpoints: Default::default(),
            writer: OnceLock::new(),
            ready: AtomicBool::new(false),
            starting: Mutex::new("starting"),
        }
    }

    /// Records what the server is doing before it is ready
    /// (`database_unreachable`, `database_read_only`, `replaying`, …).
    pub fn set_starting(&self, status: &'static str) {
        if let Ok(mut starting) = self.starting.lock() {
            *starting = status;
        }
    }

    /// What the server is doing before it is ready.
    pub fn starting(&self) -> &'static str {
        self.starting.lock().map_or("starting", |s| *s)
    }

    /// Called once replay is done: writes are accepted from now on.
    pub fn set_ready(&self, writer: Writer) {
        let _ = self.writer.set(writer);
        self.ready.store(true, Ordering::Release);
    }

    /// No longer ready, and why (the log was replaced under the process:
    /// what it holds in memory must not be served while it starts again).
    pub fn set_not_ready(&self, status: &'static str) {
        self.set_starting(status);
        self.ready.store(false, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The writer, or `None` while the log is still being replayed.
    pub fn writer(&self) -> Option<&Writer> {
        self.writer.get()
    }
}
