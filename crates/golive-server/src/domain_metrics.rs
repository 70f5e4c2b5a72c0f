//! The domain series of `GET /metrics` (tickets, calls, staffing), read
//! at scrape time from the aggregator's running totals, kept from the same
//! facts as the reports, so counters agree with `/api/v1/report` and
//! survive restarts as a replay; a scrape costs time proportional to the
//! series, not to the history. The service's own instruments are in `crate::metrics`; the
//! scrape (`routes::health::metrics`) renders both.
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
use golive_core::aggregate::{HistogramBounds, HistogramTotals, SeriesLimits};
use golive_core::time::Millis;
use prometheus::proto::{self, MetricFamily, MetricType};
use std::collections::HashMap;

/// Ticket resolution: minutes to days (the bounds the aggregator keeps
/// its running totals on).
pub const RESOLUTION_BUCKETS: &[f64] = HistogramBounds::METRICS.resolution;
/// Call waits: seconds to minutes, with a bucket at each common answer
/// target (20 s default, 30 s, 60 s) so service level can be read off.
pub const WAIT_BUCKETS: &[f64] = HistogramBounds::METRICS.wait;
/// Call handle time (talk + wrap): one to sixty minutes.
pub const HANDLE_BUCKETS: &[f64] = HistogramBounds::METRICS.handle;

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

/// The domain series as of `now`, bounded by `limits`. Empty when the
/// read side is poisoned (its figures may be half-updated).
pub fn families(views: &Views, limits: &SeriesLimits, now: Millis) -> Vec<MetricFamily> {
    let (totals, staffing, known_issues) = {
        let Some(aggregator) = views.aggregator() else {
            return Vec::new();
        };
        let totals = aggregator.totals(now, limits);
        let known_issues = aggregator.known_issue_links(limits);
        let staffing: Vec<(String, u32, u32)> =
            golive_core::staffing::for_recent(&aggregator, now, views.staffing_settings())
                .into_iter()
                .map(|line| {
                    let label = aggregator.queue_label(&line.queue, limits).to_string();
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
