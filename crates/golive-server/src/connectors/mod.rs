//! Connectors: thin HTTP adapters (and the ServiceNow poller) that turn a
//! source's records into commands with golive-connect's mapping layer and
//! send them through the same writer as every other write.
//!
//! Every connector answers 200 with `{"accepted": N, "rejected": [{"record":
//! K, "error": {…}}]}` (K from 1); past the configured
//! `max_rejections_listed` rejections (default 1,000, as for bulk ingest)
//! the list stops and `rejected_total` counts them all, so an answer's size
//! is bounded whatever the request held.

pub mod amazon_connect;
pub mod asterisk;
pub mod asterisk_feed;
pub mod jira;
pub mod pull;
pub mod queue_log;
pub mod servicenow;

use crate::error::ApiError;
use crate::writer::{Decisions, WriteError, Writer};
use golive_connect::amazon_connect::ContactMapper;
use golive_connect::config::ConnectorsConfig;
use golive_connect::{QueueResolver, RecordError, TicketMapper};
use golive_core::ledger::Command;
use golive_core::names::NameRules;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Default largest CSV export one request may stream (bytes).
pub const DEFAULT_MAX_CSV_BYTES: usize = 256 << 20;

/// The compiled connector configuration, and the health of the polling
/// ones.
pub struct Connectors {
    pub servicenow: TicketMapper,
    pub jira: TicketMapper,
    pub max_csv_bytes: usize,
    pub amazon_connect: ContactMapper,
    pub asterisk: asterisk_feed::Asterisk,
    health: Mutex<BTreeMap<&'static str, PollHealth>>,
}

/// What a polling connector last did (`/readyz` details). Times are
/// RFC 3339; error texts name the failure, never a credential or a URL's
/// query.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PollHealth {
    /// When a poll last completed.
    pub last_success: Option<String>,
    /// The cursor: the newest source update time read so far.
    pub cursor: Option<String>,
    /// How far the cursor was behind the clock at the last success.
    pub lag_seconds: Option<f64>,
    /// Failed polls since start.
    pub errors: u64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Records committed (or found unchanged) and refused since start.
    pub records_accepted: u64,
    pub records_rejected: u64,
}

impl Connectors {
    pub fn new(config: &ConnectorsConfig, names: NameRules) -> Result<Connectors, String> {
        let resolver = |name: &str, queues| {
            QueueResolver::new(queues, names.clone()).map_err(|e| format!("connectors.{name}.{e}"))
        };
        Ok(Connectors {
            amazon_connect: ContactMapper::new(resolver(
                "amazon_connect",
                &config.amazon_connect.queues,
            )?),
            asterisk: asterisk_feed::Asterisk::new(
                config.asterisk.clone(),
                resolver("asterisk", &config.asterisk.queues)?,
            )?,
            servicenow: TicketMapper::new(
                &golive_connect::servicenow::DEFAULTS,
                &config.servicenow.mapping(),
            )
            .map_err(|e| format!("connectors.servicenow.{e}"))?,
            jira: TicketMapper::new(&golive_connect::jira::DEFAULTS, &config.jira)
                .map_err(|e| format!("connectors.jira.{e}"))?,
            max_csv_bytes: config
                .servicenow
                .max_csv_bytes
                .unwrap_or(DEFAULT_MAX_CSV_BYTES),
            health: Mutex::new(BTreeMap::new()),
        })
    }

    /// Changes polling connector `name`'s health.
    pub fn update_health(&self, name: &'static str, change: impl FnOnce(&mut PollHealth)) {
        if let Ok(mut health) = self.health.lock() {
            change(health.entry(name).or_default());
        }
    }

    /// Every polling connector's health, by name (empty when none polls).
    pub fn health(&self) -> BTreeMap<&'static str, PollHealth> {
        self.health.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

/// A connector's answer as it is built.
#[derive(Debug)]
pub struct Answer {
    accepted: usize,
    rejected_total: usize,
    listed: Vec<Value>,
    /// Rejections listed in full; the rest are only counted.
    limit: usize,
}

impl Answer {
    /// An empty answer that lists at most `limit` rejections.
    pub fn new(limit: usize) -> Answer {
        Answer {
            accepted: 0,
            rejected_total: 0,
            listed: Vec::new(),
            limit,
        }
    }

    /// Record `record` (from 1) was refused.
    pub fn reject(&mut self, record: usize, error: ApiError) {
        self.rejected_total += 1;
        if self.listed.len() < self.limit {
            let mut body = error.body();
            let error = body
                .get_mut("error")
                .map(Value::take)
                .unwrap_or(Value::Null);
            self.listed
                .push(json!({ "record": record, "error": error }));
        }
    }

    /// Record `record` was fine and asked for nothing (an event type
    /// that changes nothing).
    pub fn accept_unchanged(&mut self) {
        self.accepted += 1;
    }

    /// Record `record` could not be mapped.
    pub fn reject_record(&mut self, record: usize, error: RecordError) {
        self.reject(record, ApiError::from(error.into_rejection()));
    }

    pub fn accepted(&self) -> usize {
        self.accepted
    }

    pub fn rejected_total(&self) -> usize {
        self.rejected_total
    }

    /// The answer's body; `rejected` in record order.
    pub fn into_json(mut self) -> Value {
        self.listed
            .sort_by_key(|entry| entry["record"].as_u64().unwrap_or(u64::MAX));
        let mut body = json!({ "accepted": self.accepted, "rejected": self.listed });
        if self.rejected_total > self.listed.len()
            && let Some(map) = body.as_object_mut()
        {
            map.insert("rejected_total".into(), json!(self.rejected_total));
        }
        body
    }
}

/// Commits `batch` (record number, command; a record may have several
/// consecutive commands) through the writer and tallies each record's
/// decision into `answer`: accepted when all its commands were, else
/// refused with the first refusal.
pub async fn commit(
    writer: &Writer,
    batch: Vec<(usize, Command)>,
    answer: &mut Answer,
) -> Result<(), ApiError> {
    InFlight::start(writer, batch).finish(answer).await
}

/// A batch handed to the writer and not yet answered: a streaming
/// connector reads the next batch meanwhile.
pub struct InFlight {
    records: Vec<usize>,
    decisions: Option<tokio::task::JoinHandle<Result<Decisions, WriteError>>>,
}

impl InFlight {
    /// Submits `batch` (record number, command) to the writer.
    pub fn start(writer: &Writer, batch: Vec<(usize, Command)>) -> InFlight {
        if batch.is_empty() {
            return InFlight {
                records: Vec::new(),
                decisions: None,
            };
        }
        let (records, commands): (Vec<usize>, Vec<Command>) = batch.into_iter().unzip();
        let writer = writer.clone();
        let decisions = tokio::spawn(async move { writer.submit(commands).await });
        InFlight {
            records,
            decisions: Some(decisions),
        }
    }

    /// Waits for the commit and tallies each record's decision.
    pub async fn finish(self, answer: &mut Answer) -> Result<(), ApiError> {
        let Some(decisions) = self.decisions else {
            return Ok(());
        };
        let decisions = decisions.await.map_err(|_| WriteError::Stopped)??;
        // (record, its first refusal) of the record being tallied.
        let mut current: Option<(usize, Option<ApiError>)> = None;
        let tally = |answer: &mut Answer, done: Option<(usize, Option<ApiError>)>| match done {
            Some((_, None)) => answer.accepted += 1,
            Some((record, Some(error))) => answer.reject(record, error),
            None => {}
        };
        for (record, decision) in self.records.into_iter().zip(decisions) {
            if current.as_ref().map(|(r, _)| *r) != Some(record) {
                tally(answer, current.take());
                current = Some((record, None));
            }
            if let (Err(rejection), Some((_, first @ None))) = (decision, current.as_mut()) {
                *first = Some(ApiError::from(rejection));
            }
        }
        tally(answer, current);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rejected_list_is_bounded_and_counted() {
        let limit = 7;
        let mut answer = Answer::new(limit);
        for record in (1..=limit + 5).rev() {
            answer.reject_record(record, RecordError::missing("sys_id", "absent"));
        }
        let body = answer.into_json();
        assert_eq!(body["rejected"].as_array().map(Vec::len), Some(limit));
        assert_eq!(body["rejected_total"], limit + 5);
        assert_eq!(body["rejected"][0]["error"]["details"]["field"], "sys_id");
        let small = Answer::new(limit).into_json();
        assert!(small.get("rejected_total").is_none());
    }
}
