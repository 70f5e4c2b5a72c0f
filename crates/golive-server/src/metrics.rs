//! Prometheus metrics (`GET /metrics`).
//!
//! Domain series (tickets, calls, staffing) are read at scrape time from
//! the aggregator's running totals, kept from the same facts as the
//! reports, so counters agree with `/api/v1/report` and survive restarts
//! as a replay; a scrape costs time proportional to the series, not to
//! the history. Service series (HTTP
//! requests, live clients, board publishing) are ordinary instruments.
//!
//! Series are bounded, so a typo-happy feed cannot blow up Grafana: past
//! `max_label_values` distinct values of a label, further ones are
//! reported as `other`, and past `max_series_per_metric` label sets of a
//! ticket metric, further ones are reported with site and application
//! `other`. Which values and sets are kept depends only on the log (order
//! of first appearance, see `golive_core::aggregate::SeriesLimits`), so it
//! is the same on every replica and after a restart. Ticket summaries never
//! become labels: only site, application, category, severity and queue do.

use crate::views::Views;
use axum::extract::MatchedPath;
use axum::http::Request;
use axum::middleware::Next;
use axum::response::Response;
use golive_core::aggregate::{HistogramBounds, HistogramTotals, SeriesLimits};
use golive_core::event::RecordedEvent;
use golive_core::time::{Millis, now_millis};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Ticket resolution: minutes to days (the bounds the aggregator keeps
/// its running totals on).
pub const RESOLUTION_BUCKETS: &[f64] = HistogramBounds::METRICS.resolution;
/// Call waits: seconds to minutes.
pub const WAIT_BUCKETS: &[f64] = HistogramBounds::METRICS.wait;
/// Call handle time (talk + wrap): one to sixty minutes.
pub const HANDLE_BUCKETS: &[f64] = HistogramBounds::METRICS.handle;

/// The service's instruments and the registry they live in.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    live_clients: IntGauge,
    publish_duration: Histogram,
    push_delay: Histogram,
    events: IntCounterVec,
    limits: SeriesLimits,
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
    pub fn new(limits: SeriesLimits) -> Arc<Self> {
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
            limits,
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

    /// Adds the domain collector reading `views` (after both exist).
    pub fn attach(&self, views: &Arc<Views>) {
        let collector = DomainCollector::new(Arc::downgrade(views), self.limits);
        let _ = self.registry.register(Box::new(collector));
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

    /// The text exposition of every series.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(error) = encoder.encode(&self.registry.gather(), &mut buffer) {
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

/// Reads the aggregator at scrape time.
struct DomainCollector {
    views: Weak<Views>,
    limits: SeriesLimits,
    descs: Vec<Desc>,
}

const DOMAIN_FAMILIES: &[(&str, &str)] = &[
    (
        "golive_tickets_opened_total",
        "Tickets opened, by site, application, category and severity.",
    ),
    (
        "golive_tickets_resolved_total",
        "Ticket resolutions (active to resolved/closed), by site, application, category and severity.",
    ),
    (
        "golive_tickets_backlog",
        "Active tickets now, by site, application and severity.",
    ),
    (
        "golive_ticket_resolution_duration_seconds",
        "Time from opening to resolution, by application.",
    ),
    (
        "golive_calls_offered_total",
        "Call legs offered, by queue (a transferred call is a leg in each queue).",
    ),
    (
        "golive_calls_answered_total",
        "Offered call legs answered, by queue.",
    ),
    (
        "golive_calls_abandoned_total",
        "Offered call legs abandoned (abandoned, or ended unanswered), by queue.",
    ),
    (
        "golive_calls_waiting",
        "Call legs offered and not yet answered, abandoned or ended, by queue.",
    ),
    (
        "golive_call_wait_duration_seconds",
        "Wait from offered to answered, by queue.",
    ),
    (
        "golive_call_handle_duration_seconds",
        "Handle time (talk plus wrap-up), by queue.",
    ),
    (
        "golive_known_issue_tickets_total",
        "Tickets linked to a known issue, by known issue id (a ticket moved to another known issue counts there too).",
    ),
    (
        "golive_queue_agents_staffed",
        "Agents staffed on the queue (its settings).",
    ),
    (
        "golive_queue_agents_required",
        "Agents required now by Erlang C over the recent interval.",
    ),
];

impl DomainCollector {
    fn new(views: Weak<Views>, limits: SeriesLimits) -> Self {
        let descs = DOMAIN_FAMILIES
            .iter()
            .filter_map(|(name, help)| {
                Desc::new(
                    name.to_string(),
                    help.to_string(),
                    vec![],
                    Default::default(),
                )
                .ok()
            })
            .collect();
        DomainCollector {
            views,
            limits,
            descs,
        }
    }
}

impl Collector for DomainCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Some(views) = self.views.upgrade() else {
            return Vec::new();
        };
        let now = now_millis();
        let (totals, staffing, known_issues) = {
            let Some(aggregator) = views.aggregator() else {
                return Vec::new();
            };
            let totals = aggregator.totals(now, &self.limits);
            let known_issues = aggregator.known_issue_links(&self.limits);
            let staffing: Vec<(String, u32, u32)> =
                golive_core::staffing::for_recent(&aggregator, now, views.staffing_settings())
                    .into_iter()
                    .map(|line| {
                        let label = aggregator
                            .queue_label(&line.queue, &self.limits)
                            .to_string();
                        (label, line.agents_staffed, line.required_agents)
                    })
                    .collect();
            (totals, staffing, known_issues)
        };
        // The totals come bounded and merged (one entry per label set);
        // only staffing lines may share a label (queues folded into
        // `other`), and are merged below.
        let mut families = Families::default();
        for ((site, application, category, severity), (opened, resolved)) in &totals.tickets {
            let labels = [
                ("site", site.clone()),
                ("application", application.clone()),
                ("category", category.to_string()),
                ("severity", severity.to_string()),
            ];
            families.add(
                "golive_tickets_opened_total",
                MetricType::COUNTER,
                &labels,
                Value::Number(*opened as f64),
            );
            families.add(
                "golive_tickets_resolved_total",
                MetricType::COUNTER,
                &labels,
                Value::Number(*resolved as f64),
            );
        }
        for ((site, application, severity), count) in &totals.backlog {
            let labels = [
                ("site", site.clone()),
                ("application", application.clone()),
                ("severity", severity.to_string()),
            ];
            families.add(
                "golive_tickets_backlog",
                MetricType::GAUGE,
                &labels,
                Value::Number(*count as f64),
            );
        }
        for (application, histogram) in &totals.resolution_seconds {
            let labels = [("application", application.clone())];
            families.add(
                "golive_ticket_resolution_duration_seconds",
                MetricType::HISTOGRAM,
                &labels,
                Value::Histogram(RESOLUTION_BUCKETS, histogram),
            );
        }
        for (queue, q) in &totals.queues {
            let labels = [("queue", queue.clone())];
            families.add(
                "golive_calls_offered_total",
                MetricType::COUNTER,
                &labels,
                Value::Number(q.offered as f64),
            );
            families.add(
                "golive_calls_answered_total",
                MetricType::COUNTER,
                &labels,
                Value::Number(q.answered as f64),
            );
            families.add(
                "golive_calls_abandoned_total",
                MetricType::COUNTER,
                &labels,
                Value::Number(q.abandoned as f64),
            );
            families.add(
                "golive_calls_waiting",
                MetricType::GAUGE,
                &labels,
                Value::Number(q.waiting as f64),
            );
            families.add(
                "golive_call_wait_duration_seconds",
                MetricType::HISTOGRAM,
                &labels,
                Value::Histogram(WAIT_BUCKETS, &q.wait_seconds),
            );
            families.add(
                "golive_call_handle_duration_seconds",
                MetricType::HISTOGRAM,
                &labels,
                Value::Histogram(HANDLE_BUCKETS, &q.handle_seconds),
            );
        }
        for (known_issue, links) in &known_issues {
            families.add(
                "golive_known_issue_tickets_total",
                MetricType::COUNTER,
                &[("known_issue", known_issue.clone())],
                Value::Number(*links as f64),
            );
        }
        families.merge = true;
        for (queue, staffed, required) in &staffing {
            let labels = [("queue", queue.clone())];
            families.add(
                "golive_queue_agents_staffed",
                MetricType::GAUGE,
                &labels,
                Value::Number(f64::from(*staffed)),
            );
            families.add(
                "golive_queue_agents_required",
                MetricType::GAUGE,
                &labels,
                Value::Number(f64::from(*required)),
            );
        }
        families.finish()
    }
}

enum Value<'a> {
    Number(f64),
    Histogram(&'static [f64], &'a HistogramTotals),
}

/// Builds metric families, merging series whose bounded labels collide
/// (several values folded into `other`). Series are found by a hash of
/// their label values, so a scrape stays linear in the number of series.
#[derive(Default)]
struct Families {
    families: Vec<MetricFamily>,
    /// Per family (same index): label values → index of the series.
    series: Vec<HashMap<Vec<String>, usize>>,
    /// Whether series may collide (several queues folded into `other`);
    /// without it every series is new and the index is skipped.
    merge: bool,
}

impl Families {
    fn add(
        &mut self,
        name: &'static str,
        kind: MetricType,
        labels: &[(&str, String)],
        value: Value<'_>,
    ) {
        let index = match self.families.iter().position(|f| f.name() == name) {
            Some(index) => index,
            None => {
                let help = DOMAIN_FAMILIES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or("", |(_, h)| h);
                let mut family = MetricFamily::default();
                family.set_name(name.to_string());
                family.set_help(help.to_string());
                family.set_field_type(kind);
                self.families.push(family);
                self.series.push(HashMap::new());
                self.families.len() - 1
            }
        };
        let key: Option<Vec<String>> = self
            .merge
            .then(|| labels.iter().map(|(_, value)| value.clone()).collect());
        let family = &mut self.families[index];
        let existing = key
            .as_ref()
            .and_then(|key| self.series[index].get(key).copied());
        match (existing, value) {
            (Some(i), Value::Number(n)) => {
                let metric = &mut family.mut_metric()[i];
                if kind == MetricType::COUNTER {
                    let mut counter = proto::Counter::default();
                    counter.set_value(metric.get_counter().get_value() + n);
                    metric.set_counter(counter);
                } else {
                    let mut gauge = proto::Gauge::default();
                    gauge.set_value(metric.get_gauge().get_value() + n);
                    metric.set_gauge(gauge);
                }
            }
            (Some(i), Value::Histogram(bounds, h)) => {
                let metric = &mut family.mut_metric()[i];
                let merged = merge_histogram(metric.get_histogram(), bounds, h);
                metric.set_histogram(merged);
            }
            (None, value) => {
                let pairs: Vec<proto::LabelPair> = labels
                    .iter()
                    .map(|(key, value)| {
                        let mut pair = proto::LabelPair::default();
                        pair.set_name(key.to_string());
                        pair.set_value(value.clone());
                        pair
                    })
                    .collect();
                let mut metric = proto::Metric::from_label(pairs);
                match value {
                    Value::Number(n) if kind == MetricType::COUNTER => {
                        let mut counter = proto::Counter::default();
                        counter.set_value(n);
                        metric.set_counter(counter);
                    }
                    Value::Number(n) => {
                        let mut gauge = proto::Gauge::default();
                        gauge.set_value(n);
                        metric.set_gauge(gauge);
                    }
                    Value::Histogram(bounds, h) => {
                        metric.set_histogram(merge_histogram(
                            &proto::Histogram::default(),
                            bounds,
                            h,
                        ));
                    }
                }
                if let Some(key) = key {
                    self.series[index].insert(key, family.get_metric().len());
                }
                family.mut_metric().push(metric);
            }
        }
    }

    fn finish(self) -> Vec<MetricFamily> {
        self.families
            .into_iter()
            .filter(|f| !f.get_metric().is_empty())
            .collect()
    }
}

/// Adds `h` (per-bucket counts) to `base` (cumulative counts).
fn merge_histogram(
    base: &proto::Histogram,
    bounds: &[f64],
    h: &HistogramTotals,
) -> proto::Histogram {
    let mut out = proto::Histogram::default();
    let mut cumulative = 0u64;
    let buckets = bounds
        .iter()
        .enumerate()
        .map(|(i, bound)| {
            cumulative += h.buckets.get(i).copied().unwrap_or(0);
            let previous = base.get_bucket().get(i).map_or(0, |b| b.cumulative_count());
            let mut bucket = proto::Bucket::default();
            bucket.set_upper_bound(*bound);
            bucket.set_cumulative_count(previous + cumulative);
            bucket
        })
        .collect();
    out.set_bucket(buckets);
    out.set_sample_count(base.get_sample_count() + h.count);
    out.set_sample_sum(base.get_sample_sum() + h.sum);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_metrics_register_and_render() {
        let metrics = Metrics::new(SeriesLimits::NONE);
        metrics.set_live_clients(3);
        metrics.observe_request("/api/v1/tickets", "POST", 201, Duration::from_millis(3));
        let text = metrics.render();
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
        let metrics = Metrics::new(SeriesLimits::NONE);
        metrics.observe_request("/healthz", "GET", 200, Duration::from_millis(1));
        assert!(metrics.render().contains(
            "golive_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
        ));
    }

    #[test]
    fn colliding_series_merge() {
        let h = HistogramTotals {
            buckets: vec![1, 0, 0],
            sum: 0.5,
            count: 1,
        };
        let mut families = Families {
            merge: true,
            ..Families::default()
        };
        for queue in ["other", "other", "a"] {
            let labels = [("queue", queue.to_string())];
            families.add(
                "golive_calls_offered_total",
                MetricType::COUNTER,
                &labels,
                Value::Number(2.0),
            );
            families.add(
                "golive_call_wait_duration_seconds",
                MetricType::HISTOGRAM,
                &labels,
                Value::Histogram(&[1.0, 2.0], &h),
            );
        }
        let out = families.finish();
        let offered = out
            .iter()
            .find(|f| f.name() == "golive_calls_offered_total")
            .expect("family");
        let values: Vec<f64> = offered
            .get_metric()
            .iter()
            .map(|m| m.get_counter().get_value())
            .collect();
        assert_eq!(values, [4.0, 2.0]);
        let wait = out
            .iter()
            .find(|f| f.name() == "golive_call_wait_duration_seconds")
            .expect("family");
        assert_eq!(wait.get_metric()[0].get_histogram().get_sample_count(), 2);
    }

    #[test]
    fn merged_histograms_stay_cumulative() {
        let h = HistogramTotals {
            buckets: vec![1, 2, 3],
            sum: 10.0,
            count: 6,
        };
        let once = merge_histogram(&proto::Histogram::default(), &[1.0, 2.0], &h);
        let twice = merge_histogram(&once, &[1.0, 2.0], &h);
        let counts: Vec<u64> = twice
            .get_bucket()
            .iter()
            .map(|b| b.cumulative_count())
            .collect();
        assert_eq!(counts, [2, 6]);
        assert_eq!(twice.get_sample_count(), 12);
    }
}
