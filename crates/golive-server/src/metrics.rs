//! The service's own Prometheus instruments (HTTP requests, live clients,
//! board publishing, events applied, connectors) and the text rendering of
//! `GET /metrics`, which adds the domain series computed at scrape time
//! (`crate::domain_metrics`).

use axum::extract::MatchedPath;
use axum::http::Request;
use axum::middleware::Next;
use axum::response::Response;
use golive_core::event::RecordedEvent;
use golive_core::time::Millis;
use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The service's instruments and the registry they live in.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    live_clients: IntGauge,
    publish_duration: Histogram,
    push_delay: Histogram,
    events: IntCounterVec,
    connector_records: IntCounterVec,
    connector_errors: IntCounterVec,
    connector_last_success: prometheus::GaugeVec,
    connector_lag: prometheus::GaugeVec,
    apply_lag: HistogramVec,
}

/// Apply lag: a millisecond (the resolution of `recorded_at`) to the
/// contract's two seconds and past.
pub const APPLY_LAG_BUCKETS: &[f64] = &[
    0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0,
    2.0, 5.0,
];

impl Metrics {
    pub fn new() -> Arc<Self> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "golive_http_requests_total",
                "HTTP requests by route template, method and status.",
            ),
            &["route", "method", "status"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "golive_http_request_duration_seconds",
                "HTTP request latency by route template, method and status.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route", "method", "status"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let live_clients = IntGauge::new("golive_live_clients", "Connected live-board WebSockets.")
            .unwrap_or_else(|_| unreachable_metric());
        let publish_duration = Histogram::with_opts(
            HistogramOpts::new(
                "golive_board_publish_duration_seconds",
                "Time to compute and publish a changed board to the live hub.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
        )
        .unwrap_or_else(|_| unreachable_metric());
        let push_delay = Histogram::with_opts(
            HistogramOpts::new(
                "golive_live_push_delay_seconds",
                "Time from a board's publication to its delivery to one display socket.",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        )
        .unwrap_or_else(|_| unreachable_metric());
        let events = IntCounterVec::new(
            Opts::new(
                "golive_events_applied_total",
                "Events folded into memory since start (replay included).",
            ),
            &["kind"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let apply_lag = HistogramVec::new(
            HistogramOpts::new(
                "golive_apply_lag_seconds",
                "Time from a commit's decision (its events' recorded_at, on the clock of the \
                 replica that wrote it) to its events being applied here, by source: this \
                 replica's writer, or the log (another replica's commit).",
            )
            .buckets(APPLY_LAG_BUCKETS.to_vec()),
            &["source"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        // Connector series: the label is the connector's name, a fixed set.
        let connector_records = IntCounterVec::new(
            Opts::new(
                "golive_connector_records_total",
                "Source records a connector handled, by connector and outcome (accepted, rejected).",
            ),
            &["connector", "outcome"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let connector_errors = IntCounterVec::new(
            Opts::new(
                "golive_connector_errors_total",
                "Failed polls of a polling connector (the source unreachable or refusing).",
            ),
            &["connector"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let connector_last_success = prometheus::GaugeVec::new(
            Opts::new(
                "golive_connector_last_success_timestamp_seconds",
                "When a polling connector last completed a poll (Unix seconds).",
            ),
            &["connector"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let connector_lag = prometheus::GaugeVec::new(
            Opts::new(
                "golive_connector_lag_seconds",
                "How far a polling connector's cursor is behind now, as of its last poll.",
            ),
            &["connector"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        for collector in [
            Box::new(connector_records.clone()) as Box<dyn Collector>,
            Box::new(connector_errors.clone()),
            Box::new(connector_last_success.clone()),
            Box::new(connector_lag.clone()),
            Box::new(http_requests.clone()),
            Box::new(http_duration.clone()),
            Box::new(live_clients.clone()),
            Box::new(publish_duration.clone()),
            Box::new(push_delay.clone()),
            Box::new(events.clone()),
            Box::new(apply_lag.clone()),
        ] {
            let _ = registry.register(collector);
        }
        #[cfg(target_os = "linux")]
        {
            let _ = registry.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ));
        }
        Arc::new(Metrics {
            registry,
            http_requests,
            http_duration,
            live_clients,
            publish_duration,
            push_delay,
            events,
            connector_records,
            connector_errors,
            connector_last_success,
            connector_lag,
            apply_lag,
        })
    }

    /// Records how long after their decision committed events were
    /// applied here (once per commit: a commit's events share their
    /// `recorded_at`).
    pub fn observe_apply_lag(&self, source: &str, events: &[RecordedEvent], now: Millis) {
        let histogram = self.apply_lag.with_label_values(&[source]);
        let mut previous = None;
        for event in events {
            if previous != Some(event.recorded_at) {
                previous = Some(event.recorded_at);
                histogram.observe((now - event.recorded_at).max(0) as f64 / 1000.0);
            }
        }
    }

    /// `golive_events_applied_total` per kind, for a checkpoint.
    pub fn events_applied(&self) -> Vec<(String, u64)> {
        self.events
            .collect()
            .iter()
            .flat_map(|family| family.get_metric())
            .filter_map(|metric| {
                let kind = metric.get_label().iter().find(|l| l.name() == "kind")?;
                Some((
                    kind.value().to_string(),
                    metric.get_counter().get_value() as u64,
                ))
            })
            .collect()
    }

    /// Sets `golive_events_applied_total` to a checkpoint's counts: a
    /// restart from a checkpoint counts the events it holds as applied,
    /// as a replay would.
    pub fn restore_events_applied(&self, counts: &[(String, u64)]) {
        self.events.reset();
        for (kind, count) in counts {
            self.events.with_label_values(&[kind]).inc_by(*count);
        }
    }

    pub fn record_events(&self, events: &[RecordedEvent]) {
        for event in events {
            self.events.with_label_values(&[event.event.kind()]).inc();
        }
    }

    /// Records a connector's accepted and rejected source records.
    pub fn connector_records(&self, connector: &str, accepted: usize, rejected: usize) {
        for (outcome, count) in [("accepted", accepted), ("rejected", rejected)] {
            self.connector_records
                .with_label_values(&[connector, outcome])
                .inc_by(count as u64);
        }
    }

    /// A polling connector's poll failed.
    pub fn connector_error(&self, connector: &str) {
        self.connector_errors.with_label_values(&[connector]).inc();
    }

    /// A polling connector finished a poll at `at_seconds` (Unix), its
    /// cursor `lag_seconds` behind.
    pub fn connector_success(&self, connector: &str, at_seconds: f64, lag_seconds: f64) {
        self.connector_last_success
            .with_label_values(&[connector])
            .set(at_seconds);
        self.connector_lag
            .with_label_values(&[connector])
            .set(lag_seconds);
        // The error counter exists from the first poll on (at 0), so a
        // rate() over it works before the first failure.
        self.connector_errors.with_label_values(&[connector]);
    }

    pub fn set_live_clients(&self, clients: u64) {
        self.live_clients
            .set(i64::try_from(clients).unwrap_or(i64::MAX));
    }

    pub fn observe_publish(&self, took: Duration) {
        self.publish_duration.observe(took.as_secs_f64());
    }

    pub fn observe_push_delay(&self, took: Duration) {
        self.push_delay.observe(took.as_secs_f64());
    }

    fn observe_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let status = status.to_string();
        self.http_requests
            .with_label_values(&[route, method, &status])
            .inc();
        self.http_duration
            .with_label_values(&[route, method, &status])
            .observe(took.as_secs_f64());
    }

    /// The text exposition of every series: these instruments and the
    /// `domain` families computed for this scrape.
    pub fn render(&self, domain: Vec<MetricFamily>) -> String {
        let mut families = self.registry.gather();
        families.extend(domain);
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(error) = encoder.encode(&families, &mut buffer) {
            tracing::error!(%error, "encoding metrics failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// A metric constructor failing means a malformed static name: a bug that
/// the unit tests below would catch first.
fn unreachable_metric<T>() -> T {
    panic!("static metric definition is invalid")
}

/// The `method` label: the standard methods by name, anything else (a
/// client may send any token as a method) as `other`, so the label stays
/// bounded.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Records request count and latency by route *template* (never the raw
/// path, which holds ticket ids) and status.
pub async fn track(
    axum::extract::State(metrics): axum::extract::State<Arc<Metrics>>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe_request(
        &route,
        method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_metrics_register_and_render() {
        let metrics = Metrics::new();
        metrics.set_live_clients(3);
        metrics.observe_request("/api/v1/tickets", "POST", 201, Duration::from_millis(3));
        let text = metrics.render(Vec::new());
        assert!(text.contains("golive_live_clients 3"));
        assert!(text.contains(
            "golive_http_requests_total{method=\"POST\",route=\"/api/v1/tickets\",status=\"201\"} 1"
        ));
    }

    #[test]
    fn unknown_methods_are_one_label_value() {
        use axum::http::Method;
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let made_up = Method::from_bytes(b"BREW").expect("extension method");
        assert_eq!(method_label(&made_up), "other");
    }

    #[test]
    fn request_latency_is_labelled_by_status() {
        let metrics = Metrics::new();
        metrics.observe_request("/healthz", "GET", 200, Duration::from_millis(1));
        assert!(metrics.render(Vec::new()).contains(
            "golive_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
        ));
    }
}
