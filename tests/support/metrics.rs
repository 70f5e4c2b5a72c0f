//! Reads `/metrics` in tests: the Prometheus text format parsed by
//! `prom_text_format_parser` into one sample per exposition line (histogram
//! buckets keep their `le` label, `_sum` and `_count` their suffix), with
//! label values unescaped.
//!
//! Not `prometheus-parse`: its label regex stops at the first `}`, so every
//! line of a templated route (`route="/api/v1/tickets/{id}"`) is dropped
//! without an error, and it splits label values at `,` and `=` and leaves
//! their escapes in. A text this parser cannot read fails the test.

use super::Server;
use prom_text_format_parser::{Scrape, ValueType};
use std::collections::{BTreeMap, BTreeSet};

/// One sample: the name as written on its line, its labels, its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A series: a sample's name and labels.
pub type Series = (String, BTreeMap<String, String>);

/// Every sample of one scrape, in the order served.
#[derive(Clone, Debug)]
pub struct Metrics {
    pub samples: Vec<Sample>,
}

impl Metrics {
    /// Parses a scrape; panics (failing the test) on text that is not the
    /// Prometheus text format.
    pub fn parse(text: &str) -> Metrics {
        let scrape = Scrape::parse(text).unwrap_or_else(|e| panic!("/metrics unreadable: {e:?}"));
        let mut samples = Vec::new();
        for metric in scrape.metrics {
            for sample in metric.samples {
                let suffix = match sample.value.value_type {
                    ValueType::Sample
                        if metric.kind == prom_text_format_parser::Type::Histogram =>
                    {
                        "_bucket"
                    }
                    ValueType::Sample => "",
                    ValueType::Sum => "_sum",
                    ValueType::Count => "_count",
                };
                samples.push(Sample {
                    name: format!("{}{suffix}", metric.name),
                    labels: sample
                        .labels
                        .iter()
                        .map(|label| (label.key.clone(), unescape(&label.value)))
                        .collect(),
                    value: sample.value.value.as_f64(),
                });
            }
        }
        Metrics { samples }
    }

    /// The samples named `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The value of the series `name` whose labels are exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.named(name)
            .find(|s| s.labels == wanted)
            .map(|s| s.value)
    }

    /// The sum over every series named `name`.
    pub fn sum(&self, name: &str) -> f64 {
        self.named(name).map(|s| s.value).sum()
    }

    /// The sum over the series named `name` with `label` = `value`.
    pub fn sum_where(&self, name: &str, label: &str, value: &str) -> f64 {
        self.named(name)
            .filter(|s| s.labels.get(label).is_some_and(|v| v == value))
            .map(|s| s.value)
            .sum()
    }

    /// The values label `label` takes in the series named `name`.
    pub fn label_values(&self, name: &str, label: &str) -> BTreeSet<String> {
        self.named(name)
            .filter_map(|s| s.labels.get(label).cloned())
            .collect()
    }

    /// Series → value; panics if the scrape repeats a series.
    pub fn by_series(&self) -> BTreeMap<Series, f64> {
        let mut out = BTreeMap::new();
        for s in &self.samples {
            let series = (s.name.clone(), s.labels.clone());
            assert!(
                out.insert(series, s.value).is_none(),
                "duplicate series {} {:?}",
                s.name,
                s.labels
            );
        }
        out
    }
}

/// A label value as written, with the text format's three escapes
/// (`\\`, `\"`, `\n`) resolved; the parser checks that no other follows
/// a backslash.
fn unescape(written: &str) -> String {
    let mut out = String::with_capacity(written.len());
    let mut chars = written.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

impl Server {
    /// `/metrics`, parsed.
    pub async fn metrics(&self) -> Metrics {
        Metrics::parse(&self.metrics_text().await)
    }
}
