//! The ServiceNow poller: reads incidents updated since its cursor from a
//! configured instance's Table API, from inside the hospital network (no
//! inbound connection needed), and feeds them through the same mapping and
//! writer as the push endpoint.
//!
//! One poll: `GET {instance}/api/now/table/{table}?sysparm_query=
//! sys_updated_on>=FROM^ORDERBYsys_updated_on&sysparm_display_value=all&
//! sysparm_limit=N`, FROM being the cursor minus the configured overlap.
//! Pages are read by the update time: after a full page the next query
//! starts at the page's newest `sys_updated_on` (records an update moved
//! later are read again later, none is skipped by the shift that plain
//! offsets suffer while records change); only when a whole page shares one
//! second does it follow the page's `Link: rel="next"` (or
//! `sysparm_offset`). Records read twice at the boundary are skipped by
//! (key, update time), and the ledger ignores any record no newer than the
//! one it holds, so overlap and restarts never count anything twice. Each
//! page is committed, then the cursor is saved in the database
//! (`connector_state`), so a restart resumes where the last committed page
//! ended. 429 and 5xx answers and connection failures are retried with
//! exponential backoff (honouring `Retry-After`); a poll that still fails
//! counts as an error in the health and starts again at the next interval.

use crate::connectors::commit;
use crate::connectors::servicenow::sync_command;
use crate::connectors::{Answer, PollHealth};
use crate::routes::writer;
use crate::state::AppState;
use golive_connect::config::{PullAuth, ServiceNowPullConfig};
use golive_connect::servicenow::parse_records;
use golive_connect::{Record, TicketField, TicketMapper, parse_source_time};
use golive_core::time::{Millis, format_rfc3339, now_millis};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue, LINK, RETRY_AFTER};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// The connector's name in metrics, health and `connector_state`.
pub const NAME: &str = "servicenow_pull";

/// Attempts of one request before the poll gives up.
const ATTEMPTS: u32 = 6;
/// First retry delay; doubled each time, at most [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Where the first poll starts without a configured `start`.
const DEFAULT_LOOKBACK_MS: Millis = 24 * 3600 * 1000;

/// The saved position: the newest update time read, and the keys of the
/// records read at exactly that time (skipped when read again).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Cursor {
    at: Millis,
    keys: Vec<String>,
}

/// Why a poll stopped.
#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error("the instance answered HTTP {0}")]
    Status(u16),
    #[error("the instance could not be reached ({0})")]
    Transport(String),
    #[error("the instance's answer is not a Table API page ({0})")]
    Body(String),
    #[error("a page's next link leads away from the instance; not followed")]
    ForeignLink,
    #[error("golive could not commit: {0}")]
    Commit(String),
}

/// A running poller's fixed parts.
struct Poller {
    state: Arc<AppState>,
    config: ServiceNowPullConfig,
    client: reqwest::Client,
    authorization: HeaderValue,
    base: String,
}

/// Starts polling. Fails at once when the credentials cannot be read, so a
/// misconfigured pull stops the server at start rather than later.
pub fn spawn(
    state: Arc<AppState>,
    config: ServiceNowPullConfig,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let authorization = authorization(&config.auth)?;
    let base = config.instance_url.trim_end_matches('/').to_string();
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err("connectors.servicenow.pull.instance_url must start with https://".into());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(config.timeout_seconds.max(1)))
        .build()
        .map_err(|e| format!("connectors.servicenow.pull: cannot build an HTTP client: {e}"))?;
    state.connectors.update_health(NAME, |_| {});
    let poller = Poller {
        state,
        config,
        client,
        authorization,
        base,
    };
    Ok(tokio::spawn(poller.run()))
}

/// The `Authorization` header, from a secret read from the environment or
/// a file. The secret is never logged nor put in an error message.
fn authorization(auth: &PullAuth) -> Result<HeaderValue, String> {
    let secret = |env: &Option<String>, file: &Option<std::path::PathBuf>, what: &str| {
        if let Some(name) = env {
            return std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("connectors.servicenow.pull: environment variable {name} ({what}) is not set"));
        }
        if let Some(path) = file {
            return std::fs::read_to_string(path)
                .map(|text| text.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| {
                    format!(
                        "connectors.servicenow.pull: cannot read {what} from {}: {e}",
                        path.display()
                    )
                });
        }
        Err(format!(
            "connectors.servicenow.pull: give the {what} by an environment variable or a file"
        ))
    };
    let value = match auth {
        PullAuth::Basic {
            username,
            password_env,
            password_file,
        } => {
            let password = secret(password_env, password_file, "password")?;
            format!("Basic {}", base64(&format!("{username}:{password}")))
        }
        PullAuth::Bearer {
            token_env,
            token_file,
        } => format!("Bearer {}", secret(token_env, token_file, "token")?),
    };
    let mut header = HeaderValue::from_str(&value).map_err(|_| {
        "connectors.servicenow.pull: the credential holds characters a header cannot".to_string()
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// Standard base64 with padding (RFC 4648), for basic auth.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Poller {
    async fn run(self) {
        let interval = Duration::from_secs(self.config.interval_seconds.max(1));
        loop {
            while self.state.writer().is_none() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            match self.poll().await {
                Ok(cursor_at) => {
                    let now = now_millis();
                    let lag = (now - cursor_at).max(0) as f64 / 1000.0;
                    self.state
                        .metrics
                        .connector_success(NAME, now as f64 / 1000.0, lag);
                    self.state.connectors.update_health(NAME, |h| {
                        h.last_success = Some(format_rfc3339(now));
                        h.lag_seconds = Some(lag);
                    });
                }
                Err(error) => {
                    tracing::warn!(connector = NAME, %error, "poll failed; retrying at the next interval");
                    self.state.metrics.connector_error(NAME);
                    self.state.connectors.update_health(NAME, |h| {
                        h.errors += 1;
                        h.last_error = Some(error.to_string());
                        h.last_error_at = Some(format_rfc3339(now_millis()));
                    });
                }
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// One poll, to the end of what the instance has; returns the cursor.
    async fn poll(&self) -> Result<Millis, PollError> {
        let store = &self.state.store;
        let mut cursor = match store.connector_cursor(NAME).await {
            Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_default(),
            Ok(None) => Cursor {
                at: self.start(),
                keys: Vec::new(),
            },
            Err(e) => return Err(PollError::Commit(e.to_string())),
        };
        let mapper = &self.state.connectors.servicenow;
        let limit = self.config.page_size.clamp(1, 10_000) as usize;
        let mut from = cursor.at - (self.config.overlap_seconds as Millis) * 1000;
        let mut seen: HashSet<(String, Millis)> =
            cursor.keys.iter().map(|k| (k.clone(), cursor.at)).collect();
        let mut offset = 0usize;
        let mut next: Option<String> = None;
        loop {
            let url = match next.take() {
                Some(url) => url,
                None => self.page_url(from, offset, limit),
            };
            let (body, link_next) = self.get(&url).await?;
            let page = parse_records(&body).map_err(|e| PollError::Body(e.to_string()))?;
            let count = page.len();
            let clock = self.state.config.clock();
            let mut answer = Answer::new(self.state.config.max_rejections_listed);
            let mut batch = Vec::new();
            let mut newest: Option<(Millis, Vec<String>)> = None;
            for (index, record) in page.into_iter().enumerate() {
                let Ok(json) = record else { continue };
                let key = first_code(mapper, &json, TicketField::Key);
                let updated = first_code(mapper, &json, TicketField::UpdatedAt)
                    .and_then(|text| parse_source_time(&text, mapper.time_zone()));
                if let Some(at) = updated {
                    match &mut newest {
                        Some((newest_at, keys)) if *newest_at == at => keys.extend(key.clone()),
                        Some((newest_at, _)) if *newest_at > at => {}
                        _ => newest = Some((at, key.clone().into_iter().collect())),
                    }
                }
                if let (Some(key), Some(at)) = (&key, updated)
                    && !seen.insert((key.clone(), at))
                {
                    continue;
                }
                match sync_command(mapper, &json, clock) {
                    Ok(command) => batch.push((index + 1, command)),
                    Err(error) => {
                        tracing::warn!(connector = NAME, field = %error.field, code = error.code, "record refused");
                        answer.reject_record(index + 1, error);
                    }
                }
            }
            let writer = writer(&self.state).map_err(|e| PollError::Commit(e.message))?;
            commit(writer, batch, &mut answer)
                .await
                .map_err(|e| PollError::Commit(e.message))?;
            self.state
                .metrics
                .connector_records(NAME, answer.accepted(), answer.rejected_total());
            self.state
                .connectors
                .update_health(NAME, |h: &mut PollHealth| {
                    h.records_accepted += answer.accepted() as u64;
                    h.records_rejected += answer.rejected_total() as u64;
                });
            if let Some((at, keys)) = newest
                && at >= cursor.at
            {
                cursor = if at == cursor.at {
                    let mut merged = cursor.keys.clone();
                    merged.extend(keys);
                    merged.sort();
                    merged.dedup();
                    Cursor { at, keys: merged }
                } else {
                    Cursor { at, keys }
                };
                let text = serde_json::to_string(&cursor).unwrap_or_default();
                store
                    .set_connector_cursor(NAME, &text, now_millis())
                    .await
                    .map_err(|e| PollError::Commit(e.to_string()))?;
                self.state
                    .connectors
                    .update_health(NAME, |h| h.cursor = Some(format_rfc3339(cursor.at)));
            }
            if count < limit {
                return Ok(cursor.at);
            }
            // A full page: more to read.
            if cursor.at > from {
                from = cursor.at;
                offset = 0;
                seen.retain(|(_, at)| *at >= from);
            } else {
                // The whole page is one second: page through it.
                offset += count;
                if let Some(link) = link_next {
                    if !link.starts_with(&format!("{}/", self.base)) {
                        return Err(PollError::ForeignLink);
                    }
                    next = Some(link);
                }
            }
        }
    }

    /// The first poll's start: the configured one, else a day ago.
    fn start(&self) -> Millis {
        self.config
            .start
            .as_deref()
            .and_then(|text| parse_source_time(text, Default::default()))
            .unwrap_or_else(|| now_millis() - DEFAULT_LOOKBACK_MS)
    }

    fn page_url(&self, from: Millis, offset: usize, limit: usize) -> String {
        let since = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(from)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let mut query = format!("sys_updated_on>={since}");
        if let Some(extra) = self
            .config
            .query
            .as_deref()
            .filter(|q| !q.trim().is_empty())
        {
            query.push('^');
            query.push_str(extra.trim());
        }
        query.push_str("^ORDERBYsys_updated_on");
        let mut url = format!("{}/api/now/table/{}?", self.base, self.config.table);
        url.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .append_pair("sysparm_query", &query)
                .append_pair("sysparm_display_value", "all")
                .append_pair("sysparm_exclude_reference_link", "true")
                .append_pair("sysparm_limit", &limit.to_string())
                .append_pair("sysparm_offset", &offset.to_string())
                .finish(),
        );
        url
    }

    /// GETs a page, retrying 429, 5xx and transport failures with backoff.
    async fn get(&self, url: &str) -> Result<(bytes::Bytes, Option<String>), PollError> {
        let mut delay = FIRST_BACKOFF;
        let mut last = PollError::Transport("no attempt".into());
        for attempt in 1..=ATTEMPTS {
            let sent = self
                .client
                .get(url)
                .header(AUTHORIZATION, self.authorization.clone())
                .header("accept", "application/json")
                .send()
                .await;
            let wait = match sent {
                Ok(response) if response.status().is_success() => {
                    let link = response
                        .headers()
                        .get(LINK)
                        .and_then(|v| v.to_str().ok())
                        .and_then(next_link);
                    let body = response
                        .bytes()
                        .await
                        .map_err(|e| PollError::Transport(without_url(e)))?;
                    return Ok((body, link));
                }
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    last = PollError::Status(status.as_u16());
                    if !(status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()) {
                        return Err(last);
                    }
                    retry_after.unwrap_or(delay).min(MAX_BACKOFF)
                }
                Err(error) => {
                    last = PollError::Transport(without_url(error));
                    delay
                }
            };
            if attempt < ATTEMPTS {
                tracing::debug!(connector = NAME, attempt, error = %last, "retrying");
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(MAX_BACKOFF);
            }
        }
        Err(last)
    }
}

/// The first source value of `field` in `record`.
fn first_code(mapper: &TicketMapper, record: &dyn Record, field: TicketField) -> Option<String> {
    mapper.sources(field).iter().find_map(|path| {
        record
            .values(path)
            .first()
            .and_then(|v| v.code().map(str::to_string))
    })
}

/// A reqwest error's text without its URL (which holds the query).
fn without_url(error: reqwest::Error) -> String {
    error.without_url().to_string()
}

/// The `rel="next"` target of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split('<').skip(1).find_map(|part| {
        let (url, params) = part.split_once('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().trim_end_matches(',').trim();
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            })
            .then(|| url.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_standard_base64() {
        assert_eq!(base64("golive:s3cret!"), "Z29saXZlOnMzY3JldCE=");
        assert_eq!(base64("ab"), "YWI=");
        assert_eq!(base64("abc"), "YWJj");
        assert_eq!(base64(""), "");
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let header = "<https://x.service-now.com/api/now/table/incident?sysparm_offset=0&sysparm_limit=2>;rel=\"first\",<https://x.service-now.com/api/now/table/incident?sysparm_offset=2&sysparm_limit=2>;rel=\"next\",<https://x.service-now.com/api/now/table/incident?sysparm_offset=8&sysparm_limit=2>;rel=\"last\"";
        assert_eq!(
            next_link(header).as_deref(),
            Some(
                "https://x.service-now.com/api/now/table/incident?sysparm_offset=2&sysparm_limit=2"
            )
        );
        assert_eq!(next_link("<https://x/a>;rel=\"last\""), None);
    }

    #[test]
    fn credentials_come_from_env_or_file_and_are_sensitive() {
        let missing = PullAuth::Bearer {
            token_env: Some("GOLIVE_TEST_NO_SUCH_VARIABLE_8812".into()),
            token_file: None,
        };
        let error = authorization(&missing).unwrap_err();
        assert!(error.contains("GOLIVE_TEST_NO_SUCH_VARIABLE_8812"));
        let dir = std::env::temp_dir().join(format!("golive-pull-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("password");
        std::fs::write(&file, "pa55\n").unwrap();
        let header = authorization(&PullAuth::Basic {
            username: "golive".into(),
            password_env: None,
            password_file: Some(file),
        })
        .unwrap();
        assert!(header.is_sensitive());
        assert_eq!(
            header.to_str().unwrap(),
            format!("Basic {}", base64("golive:pa55"))
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
