//! Reports for any window, the live board and staffing.

use crate::auth::{Caller, READERS};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::routes::{JsonText, off_runtime, replayed};
use crate::state::AppState;
use crate::views::Grouping;
use axum::Json;
use axum::extract::State;
use golive_core::board::Scope;
use golive_core::erlang::{self, ErlangInput};
use golive_core::erlang_a::{self, ErlangAInput};
use golive_core::model::{QueueSettings, TicketDimension};
use golive_core::time::{Millis, now_millis, parse_rfc3339};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Longest report window: a year, more than any go-live.
const MAX_WINDOW_MS: Millis = 366 * 24 * 3600 * 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    group_by: Option<String>,
    #[allow(dead_code)]
    token: Option<String>,
}

pub async fn report(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<JsonText, ApiError> {
    caller.require(READERS)?;
    let from = query_time("from", query.from.as_deref())?;
    let to = query_time("to", query.to.as_deref())?;
    if from >= to {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    if to - from > MAX_WINDOW_MS {
        return Err(ApiError::invalid(
            "from",
            "the window may span at most 366 days",
        ));
    }
    let group_by = match query.group_by.as_deref().filter(|g| !g.is_empty()) {
        None => None,
        Some("known_issue") => Some(Grouping::KnownIssue),
        Some(text) => Some(Grouping::Dimension(
            TicketDimension::parse(text).ok_or_else(|| {
                ApiError::invalid(
                    "group_by",
                    "must be one of site, department, application, category, severity, \
                     channel, known_issue",
                )
            })?,
        )),
    };
    let views = replayed(&state)?;
    off_runtime(move || views.report(from, to, group_by).map(|r| JsonText::of(&r)))
        .await?
        .ok_or_else(|| ApiError::unavailable("state unavailable"))
}

/// Unknown parameters are refused: a display configured with `?sites=X`
/// would otherwise show the whole center without a word.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    site: Option<String>,
    queue: Option<String>,
    as_of: Option<String>,
    #[allow(dead_code)]
    token: Option<String>,
}

/// `GET /api/v1/board[?site=|?queue=][&as_of=T]`: the board, cut to the
/// scope on the server; an unknown site or queue is 404. With `as_of`, the
/// board as it stood at T, computed now from the log's figures; T in the
/// future is 422.
pub async fn board(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<BoardQuery>,
) -> Result<JsonText, ApiError> {
    caller.require(READERS)?;
    let scope = Scope::from_query(query.site.as_deref(), query.queue.as_deref())?;
    let now = now_millis();
    let as_of = match query.as_of.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(text) => {
            let at = query_time("as_of", Some(text))?;
            if at > now {
                return Err(ApiError::invalid(
                    "as_of",
                    "is in the future: the board can be shown as it stood, not as it will be",
                ));
            }
            Some(at)
        }
    };
    let views = replayed(&state)?;
    let alerts = state.hub.active_alerts();
    let built = off_runtime(move || {
        let board = match as_of {
            Some(at) => views.board_as_of(at, &scope)?,
            None => views.board(&views.tick(now)?, &scope, &alerts)?,
        };
        Some(board.map(|board| JsonText::of(&board)))
    })
    .await?;
    Ok(built.ok_or_else(|| ApiError::unavailable("state unavailable"))??)
}

pub async fn staffing(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<JsonText, ApiError> {
    caller.require(READERS)?;
    let views = replayed(&state)?;
    off_runtime(move || {
        views
            .live_staffing(now_millis())
            .map(|live| JsonText::of(&live))
    })
    .await?
    .ok_or_else(|| ApiError::unavailable("state unavailable"))
}

/// The Erlang C parameters every calculator takes.
const ERLANG_C_PARAMETERS: [&str; 9] = [
    "calls",
    "interval_seconds",
    "aht_seconds",
    "answer_target_seconds",
    "service_level",
    "max_occupancy",
    "shrinkage",
    "asa_target_seconds",
    "token",
];

/// The what-if calculator. Targets default to a fresh queue's settings.
pub async fn erlang_c(
    caller: Caller,
    ApiQuery(params): ApiQuery<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(READERS)?;
    let input = CalculatorQuery::new(&params, &[])?.erlang_input()?;
    let output = erlang::solve(&input).map_err(|e| ApiError::invalid(e.field, e.message))?;
    Ok(Json(json!(output)))
}

/// The Erlang A calculator: Erlang C's parameters plus `patience_seconds`.
pub async fn erlang_a(
    caller: Caller,
    ApiQuery(params): ApiQuery<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    caller.require(READERS)?;
    let query = CalculatorQuery::new(&params, &["patience_seconds"])?;
    let input = ErlangAInput {
        erlang: query.erlang_input()?,
        patience_seconds: query.number("patience_seconds", None)?,
    };
    let output = erlang_a::solve(&input).map_err(|e| ApiError::invalid(e.field, e.message))?;
    Ok(Json(json!(output)))
}

/// A calculator's query string: only known parameters, numbers as text.
struct CalculatorQuery<'a> {
    params: &'a HashMap<String, String>,
}

impl<'a> CalculatorQuery<'a> {
    fn new(params: &'a HashMap<String, String>, extra: &[&str]) -> Result<Self, ApiError> {
        let known = |name: &str| ERLANG_C_PARAMETERS.contains(&name) || extra.contains(&name);
        if let Some(unknown) = params.keys().find(|k| !known(k)) {
            return Err(ApiError::invalid(unknown, "unknown parameter"));
        }
        Ok(CalculatorQuery { params })
    }

    fn number(&self, name: &str, default: Option<f64>) -> Result<f64, ApiError> {
        match self
            .params
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        {
            Some(text) => text
                .parse::<f64>()
                .map_err(|_| ApiError::invalid(name, format!("{text:?} is not a number"))),
            None => default.ok_or_else(|| ApiError::invalid(name, "is required")),
        }
    }

    /// The Erlang C question; targets default to a fresh queue's settings.
    fn erlang_input(&self) -> Result<ErlangInput, ApiError> {
        let defaults = QueueSettings::default();
        Ok(ErlangInput {
            calls: self.number("calls", None)?,
            interval_seconds: self.number("interval_seconds", None)?,
            aht_seconds: self.number("aht_seconds", None)?,
            answer_target_seconds: self.number(
                "answer_target_seconds",
                Some(defaults.answer_target_seconds),
            )?,
            service_level_target: self
                .number("service_level", Some(defaults.service_level_target))?,
            max_occupancy: self.number("max_occupancy", Some(defaults.max_occupancy))?,
            shrinkage: self.number("shrinkage", Some(defaults.shrinkage))?,
            asa_target_seconds: match self.params.contains_key("asa_target_seconds") {
                true => Some(self.number("asa_target_seconds", None)?),
                false => None,
            },
        })
    }
}

/// Parses a timestamp from a query string. A `+` offset that arrived
/// unencoded was turned into a space by form decoding; put it back.
fn query_time(field: &str, text: Option<&str>) -> Result<Millis, ApiError> {
    let text = text
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid(field, "is required (RFC 3339)"))?;
    parse_rfc3339(text)
        .or_else(|| parse_rfc3339(&text.replace(' ', "+")))
        .ok_or_else(|| ApiError::invalid(field, "must be an RFC 3339 timestamp with an offset"))
}
