//! `POST /api/v1/connectors/asterisk` (queue_log lines as text, K = the
//! line number) and the ingest the queue_log follower
//! ([`super::queue_log`]) shares with it, over one saved state
//! ([`super::asterisk_feed`]: queue members, waiting calls and the
//! followed file's position, saved together in the database
//! (`connector_state`, name `asterisk`) after every commit).
//!
//! Lines are mapped in order under one lock, their commands committed
//! through the writer, then the state saved. If golive stops between the
//! commit and the save, the lines since the saved position are read again
//! from the saved state on restart: their call events are already
//! recorded (idempotent per `(call_id, queue, event)`) and the member
//! counts come out the same, so nothing is counted twice.

use super::asterisk_feed::{FilePosition, NAME, Saved};
use crate::auth::{Caller, FEEDERS};
use crate::connectors::{Answer, commit};
use crate::error::ApiError;
use crate::extract::{read_body, require_content_type};
use crate::routes::writer;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Request, State};
use golive_connect::RecordError;
use golive_connect::asterisk::{Action, parse_line};
use golive_core::input::QueueBody;
use golive_core::ledger::Command;
use golive_core::time::now_millis;
use serde_json::Value;
use std::sync::Arc;

/// One line to map: its number (K) and text.
pub type NumberedLine<'a> = (usize, Result<&'a str, RecordError>);

/// Maps `lines` (and, with `close_waiting`, the calls whose exit never
/// came) through the feed, commits, then saves the state with `file` as
/// the new position (when given). On a failed commit the state is as
/// before and nothing was written.
pub async fn ingest<'a>(
    state: &AppState,
    saved: &mut Saved,
    lines: impl Iterator<Item = NumberedLine<'a>>,
    close_waiting: bool,
    file: Option<FilePosition>,
) -> Result<Answer, ApiError> {
    let connector = &state.connectors.asterisk;
    let clock = state.config.clock();
    let before = saved.feed.clone();
    let mut answer = Answer::new(state.config.max_rejections_listed);
    let mut batch = Vec::new();
    let mut actions = Vec::new();
    for (number, line) in lines {
        let mapped = line.and_then(|text| {
            let line = parse_line(text)?;
            saved
                .feed
                .apply(&line, &connector.queues, clock, &mut actions)
        });
        match mapped {
            Ok(()) if actions.is_empty() => answer.accept_unchanged(),
            Ok(()) => batch.extend(actions.drain(..).map(|action| (number, command(action)))),
            Err(error) => {
                actions.clear();
                answer.reject_record(number, error);
            }
        }
    }
    if close_waiting {
        let after = i64::try_from(connector.config.close_waiting_after_seconds)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        saved.feed.close_waiting(now_millis(), after, &mut actions);
        // Numbered after the lines: their refusals (a call meanwhile
        // ended otherwise) are nobody's error.
        batch.extend(
            actions
                .drain(..)
                .map(|action| (usize::MAX, command(action))),
        );
    }
    let committed = match writer(state) {
        Ok(writer) => commit(writer, batch, &mut answer).await,
        Err(error) => Err(error),
    };
    if let Err(error) = committed {
        saved.feed = before;
        return Err(error);
    }
    if file.is_some() {
        saved.file = file;
    }
    save(state, saved).await;
    Ok(answer)
}

/// Saves the state; a failure only means lines are read again later.
async fn save(state: &AppState, saved: &Saved) {
    let text = match serde_json::to_string(saved) {
        Ok(text) => text,
        Err(error) => {
            tracing::error!(%error, "could not encode the Asterisk state");
            return;
        }
    };
    if let Err(error) = state
        .store
        .set_connector_cursor(NAME, &text, now_millis())
        .await
    {
        tracing::warn!(%error, "could not save the Asterisk state; lines since the last save will be read again");
    }
}

fn command(action: Action) -> Command {
    match action {
        Action::Call(call) => Command::RecordCall(call),
        Action::Staffed { queue, agents } => Command::ConfigureQueue {
            queue,
            body: QueueBody {
                agents_staffed: Some(agents),
                ..QueueBody::default()
            },
        },
    }
}

/// Splits text into numbered lines (from 1), skipping empty ones; a line
/// that is not UTF-8 is refused.
pub fn numbered_lines(bytes: &[u8]) -> impl Iterator<Item = NumberedLine<'_>> {
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty() && *line != b"\r")
        .map(|(index, line)| {
            let text = std::str::from_utf8(line).map_err(|_| {
                RecordError::invalid("invalid_field", "line", "", "is not UTF-8 text")
            });
            (index + 1, text)
        })
}

pub async fn push(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    caller.require(FEEDERS)?;
    require_content_type(&request, &["text/plain"])?;
    let bytes = read_body(request.into_body(), state.config.max_ingest_bytes, &state).await?;
    let connector = &state.connectors.asterisk;
    let mut saved = connector.lock(state.store.as_ref()).await?;
    let answer = ingest(&state, &mut saved, numbered_lines(&bytes), false, None).await?;
    drop(saved);
    state
        .metrics
        .connector_records(NAME, answer.accepted(), answer.rejected_total());
    Ok(Json(answer.into_json()))
}
