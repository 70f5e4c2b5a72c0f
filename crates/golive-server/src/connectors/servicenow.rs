//! `POST /api/v1/connectors/servicenow`: incident records as the Table API
//! or a Business Rule sends them (`application/json`: one record, an array
//! or `{"result": …}`), or an incident list export (`text/csv`), streamed
//! and committed in batches (one committing while the next is read) so a
//! 100,000-row export holds two batches in memory at most.

use crate::auth::{Caller, FEEDERS};
use crate::connectors::{Answer, InFlight, commit};
use crate::error::ApiError;
use crate::extract::{media_type, read_body};
use crate::routes::writer;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use futures::StreamExt;
use golive_connect::csv::{CsvItem, CsvStream};
use golive_connect::{CsvRecord, RecordError, TicketField, TicketMapper};
use golive_core::input::Clock;
use golive_core::ledger::Command;
use serde_json::Value;
use std::sync::Arc;

/// CSV rows committed together: bounds a CSV request's memory.
const CSV_BATCH: usize = 5000;

pub async fn push(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    caller.require(FEEDERS)?;
    match media_type(&request).as_deref() {
        Some("application/json") => json(&state, request).await,
        Some("text/csv") | Some("application/csv") => csv(&state, request).await,
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type must be application/json or text/csv, got {}",
                other.unwrap_or("none")
            ),
        )),
    }
}

/// The command for one mapped record.
pub fn sync_command(
    mapper: &TicketMapper,
    record: &dyn golive_connect::Record,
    clock: Clock,
) -> Result<Command, RecordError> {
    mapper
        .map(record, clock)
        .map(|sync| Command::SyncTicket(Box::new(sync)))
}

async fn json(state: &AppState, request: Request) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(request.into_body(), state.config.max_ingest_bytes, state).await?;
    // Records borrow their strings from the body: no tree of JSON values.
    let records = golive_connect::servicenow::parse_records(&bytes)
        .map_err(|e| ApiError::malformed(format!("body is not valid JSON: {e}")))?;
    let clock = state.config.clock();
    let mapper = &state.connectors.servicenow;
    let mut answer = Answer::new(state.config.max_rejections_listed);
    let mut batch = Vec::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        let number = index + 1;
        match record.and_then(|r| sync_command(mapper, &r, clock)) {
            Ok(command) => batch.push((number, command)),
            Err(error) => answer.reject_record(number, error),
        }
    }
    commit(writer(state)?, batch, &mut answer).await?;
    state
        .metrics
        .connector_records("servicenow", answer.accepted(), answer.rejected_total());
    Ok(Json(answer.into_json()))
}

/// A mapped CSV row, or why it was refused.
type Mapped = (usize, Result<Command, RecordError>);

async fn csv(state: &AppState, request: Request) -> Result<Json<Value>, ApiError> {
    let limit = state.connectors.max_csv_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let mapper = &state.connectors.servicenow;
    let clock = state.config.clock();
    let mut stream = CsvStream::new();
    let mut body = request.into_body().into_data_stream();
    let mut answer = Answer::new(state.config.max_rejections_listed);
    let mut batch: Vec<(usize, Command)> = Vec::with_capacity(CSV_BATCH);
    let mut mapped: Vec<Mapped> = Vec::new();
    let mut in_flight: Option<InFlight> = None;
    // The last data row read: where a size limit stopped.
    let mut last_row = 0usize;
    let mut header_checked = false;
    let mut read = 0usize;
    let mut ended = false;
    while !ended {
        match body.next().await {
            Some(Ok(chunk)) => {
                read += chunk.len();
                if read > limit {
                    // Rows before the limit are committed; say where it
                    // stopped rather than pretend nothing happened.
                    let next = last_row + 1;
                    answer.reject(
                        next,
                        too_large(limit).with_details(serde_json::json!({ "field": "body" })),
                    );
                    break;
                }
                stream.feed(&chunk, &mut |item| {
                    map_item(mapper, clock, item, &mut mapped)
                });
            }
            Some(Err(_)) => {
                return Err(ApiError::malformed("the request body could not be read"));
            }
            None => {
                stream.finish(&mut |item| map_item(mapper, clock, item, &mut mapped));
                ended = true;
            }
        }
        if !header_checked && let Some(header) = stream.header() {
            check_header(mapper, header)?;
            header_checked = true;
        }
        for (number, result) in mapped.drain(..) {
            last_row = number;
            match result {
                Ok(command) => batch.push((number, command)),
                Err(error) => answer.reject_record(number, error),
            }
        }
        if batch.len() >= CSV_BATCH || ended {
            // One batch commits while the next is read: wait for the one
            // before, hand over this one.
            if let Some(previous) = in_flight.take() {
                previous.finish(&mut answer).await?;
            }
            in_flight = Some(InFlight::start(writer(state)?, std::mem::take(&mut batch)));
        }
    }
    if let Some(last) = in_flight {
        last.finish(&mut answer).await?;
    }
    if !header_checked {
        return Err(ApiError::invalid(
            "body",
            "the CSV export has no header row",
        ));
    }
    Ok(Json(answer.into_json()))
}

fn map_item(mapper: &TicketMapper, clock: Clock, item: CsvItem<'_>, out: &mut Vec<Mapped>) {
    match item {
        CsvItem::Header(_) => {}
        CsvItem::Row {
            number,
            header,
            fields,
        } => {
            let record = CsvRecord {
                header,
                row: fields,
            };
            out.push((number, sync_command(mapper, &record, clock)));
        }
        CsvItem::Bad {
            number,
            column,
            why,
        } => out.push((
            number,
            Err(RecordError {
                code: "invalid_field",
                message: format!("{column}: {why}"),
                field: column,
                value: None,
            }),
        )),
    }
}

/// A header must name a column for the record's key and one for its
/// update time: without them no row could be told apart or ordered.
fn check_header(mapper: &TicketMapper, header: &[String]) -> Result<(), ApiError> {
    for field in [TicketField::Key, TicketField::UpdatedAt] {
        let sources = mapper.sources(field);
        if !sources.iter().any(|s| header.contains(s)) {
            return Err(ApiError::invalid(
                "header",
                format!(
                    "the CSV header has no {} column ({}); export the list with it",
                    field.as_str(),
                    sources.join(" or ")
                ),
            )
            .with_details(serde_json::json!({ "field": "header", "expected": sources })));
        }
    }
    Ok(())
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "the CSV export is larger than the limit of {limit} bytes (connectors.servicenow.max_csv_bytes)"
        ),
    )
}
