//! `POST /api/v1/connectors/amazon-connect`: Amazon Connect contact events
//! (EventBridge, one per request from an API destination, or batched by a
//! forwarder) and contact trace records (one, an array, NDJSON or
//! concatenated as Kinesis Firehose writes them). Each contact event (K
//! from 1) becomes up to three call events of its contact's leg, committed
//! together through the writer; an event identical to one an earlier
//! record of the request gave is left out (the ledger would only find it a
//! duplicate). Each CTR replaces its leg, when it is newer than the leg's
//! last one (the ledger decides).

use crate::auth::{Caller, FEEDERS};
use crate::connectors::{Answer, commit};
use crate::error::ApiError;
use crate::extract::{read_body, require_content_type};
use crate::routes::writer;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Request, State};
use golive_connect::amazon_connect::{Contact, QueueCache, Repeats, parse_body};
use golive_core::ledger::Command;
use serde_json::Value;
use std::sync::Arc;

/// The connector's name in metrics.
pub const NAME: &str = "amazon_connect";

pub async fn push(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    caller.require(FEEDERS)?;
    require_content_type(&request, &["application/json", "application/x-ndjson"])?;
    let bytes = read_body(request.into_body(), state.config.max_ingest_bytes, &state).await?;
    let records = parse_body(&bytes)
        .map_err(|e| ApiError::malformed(format!("body is not JSON records: {e}")))?;
    let clock = state.config.clock();
    let mapper = &state.connectors.amazon_connect;
    let mut answer = Answer::new(state.config.max_rejections_listed);
    let mut batch = Vec::with_capacity(records.len() * 2);
    let mut repeats = Repeats::default();
    let mut queues = QueueCache::default();
    for (index, record) in records.iter().enumerate() {
        let number = index + 1;
        match mapper.map_cached(record, clock, &mut queues) {
            Ok(contact) if contact.is_empty() => answer.accept_unchanged(),
            Ok(Contact::Record(leg)) => batch.push((number, Command::ReplaceCallLeg(leg))),
            Ok(Contact::Events(events)) => {
                let before = batch.len();
                batch.extend(
                    events
                        .into_iter()
                        .filter(|event| !repeats.is_repeat(event))
                        .map(|event| (number, Command::RecordCall(event))),
                );
                if batch.len() == before {
                    // Everything it says, an earlier record said.
                    answer.accept_unchanged();
                }
            }
            Err(error) => answer.reject_record(number, error),
        }
    }
    drop(records);
    commit(writer(&state)?, batch, &mut answer).await?;
    state
        .metrics
        .connector_records(NAME, answer.accepted(), answer.rejected_total());
    Ok(Json(answer.into_json()))
}
