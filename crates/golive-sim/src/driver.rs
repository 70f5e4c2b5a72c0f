//! The HTTP driver: runs the traffic model against a live server through the
//! public API. It waits for `/readyz`, sends the backfill through bulk
//! ingest, then every 250 ms sends whatever the simulated clock made due —
//! tickets one by one (`POST /api/v1/tickets`, keeping the returned id for
//! `PATCH`), call events to `/api/v1/calls/events`, queue settings with
//! `PUT`. It never panics and never gives up: an unreachable or not-ready
//! server is retried with back-off, refusals (409/422…) are counted.

use std::collections::VecDeque;
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Client, StatusCode, Url};
use serde_json::Value;
use tracing::{debug, info, warn};

use crate::SimConfig;
use crate::model::{Action, QueueSettings, Request, TrafficModel};
use crate::wire::{Addresses, Line, LineKind, TicketRef};

/// How often due requests are sent.
const TICK: Duration = Duration::from_millis(250);
/// How often counts are logged.
const LOG_EVERY: Duration = Duration::from_secs(30);
/// More due requests than this go through bulk ingest instead of one by one
/// (backfill, or a high speed that outruns single requests).
const BULK_THRESHOLD: usize = 200;
/// Ingest lines per request; halved when the server answers 413.
const INGEST_CHUNK: usize = 500;
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Counts of what the simulator sent and how the server took it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tickets the server created (201, or accepted ingest lines).
    pub tickets_created: u64,
    /// Deliberate repeats of an external id the server acknowledged.
    pub tickets_resent: u64,
    pub ticket_updates: u64,
    pub call_events: u64,
    pub queue_updates: u64,
    /// Requests or ingest lines the server refused (4xx): expected now and
    /// then, never fatal.
    pub rejected: u64,
    /// Updates dropped because their ticket was never created.
    pub skipped: u64,
    /// Transport failures, 5xx answers, auth failures.
    pub errors: u64,
}

/// The simulated clock: `live_start` advanced by `speed × real_elapsed`,
/// never past `real_now`. Once caught up it therefore follows the wall
/// clock (1×).
pub fn sim_clock(
    live_start: DateTime<Utc>,
    real_elapsed: Duration,
    speed: f64,
    real_now: DateTime<Utc>,
) -> DateTime<Utc> {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    // Clamped so a huge speed cannot overflow the date arithmetic.
    let millis = (real_elapsed.as_secs_f64() * speed * 1000.0).min(1e15) as i64;
    live_start
        .checked_add_signed(TimeDelta::milliseconds(millis))
        .map_or(real_now, |ahead| ahead.min(real_now))
}

/// Feeds simulated go-live traffic to a server.
pub struct Simulator {
    config: SimConfig,
}

/// What became of one HTTP request.
enum Reply {
    /// 2xx, with the status and the body (JSON if it parsed).
    Done(StatusCode, Value),
    /// The server cannot take it now (connection refused, 503); the request
    /// was not applied and should be sent again later.
    Retry,
    /// 413 from ingest.
    TooLarge,
    /// Refused or failed; already counted and logged.
    Failed,
}

struct Driver {
    client: Client,
    base: Url,
    auth: String,
    model: TrafficModel,
    addresses: Addresses,
    pending: VecDeque<Request>,
    /// Encoded ingest lines not yet accepted; they precede `pending`.
    lines: VecDeque<Line>,
    /// Newest settings per queue not yet sent.
    queue_settings: Vec<(String, QueueSettings)>,
    chunk: usize,
    stats: Stats,
    backoff: Duration,
    retry_at: Option<Instant>,
    auth_warned: bool,
}

impl Simulator {
    pub fn new(config: SimConfig) -> Self {
        Simulator { config }
    }

    /// Runs until `shutdown` resolves (then returns what was sent). Errors
    /// are logged and counted; this never panics and never returns early.
    pub async fn run<F>(self, shutdown: F) -> Stats
    where
        F: Future<Output = ()> + Send,
    {
        let mut shutdown = std::pin::pin!(shutdown);
        let config = self.config;
        let base = match Url::parse(config.base_url.trim_end_matches('/')) {
            Ok(url) => url,
            Err(err) => {
                warn!(error = %err, "simulator: bad base URL, not starting");
                shutdown.await;
                return Stats::default();
            }
        };
        let client = match Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
        {
            Ok(client) => client,
            Err(err) => {
                warn!(error = %err, "simulator: cannot build HTTP client, not starting");
                shutdown.await;
                return Stats::default();
            }
        };
        let model = TrafficModel::new(&config);
        let mut driver = Driver {
            client,
            base,
            auth: format!("Bearer {}", config.token),
            addresses: Addresses::new(model.tag()),
            model,
            pending: VecDeque::new(),
            lines: VecDeque::new(),
            queue_settings: Vec::new(),
            chunk: INGEST_CHUNK,
            stats: Stats::default(),
            backoff: Duration::from_millis(500),
            retry_at: None,
            auth_warned: false,
        };

        tokio::select! {
            _ = &mut shutdown => return driver.stats,
            _ = driver.wait_ready() => {}
        }

        let backfill_end = {
            let hours = if config.backfill_hours.is_finite() {
                config.backfill_hours.max(0.0)
            } else {
                0.0
            };
            let end = config.go_live_start + TimeDelta::milliseconds((hours * 3.6e6) as i64);
            end.min(Utc::now())
        };
        let backfill = driver.model.advance_to(backfill_end);
        info!(
            requests = backfill.len(),
            go_live_start = %config.go_live_start,
            until = %backfill_end,
            speed = config.speed,
            "simulator: backfilling go-live history"
        );
        driver.queue(backfill);
        driver.encode_pending();

        let live_start = backfill_end;
        let started = Instant::now();
        let mut last_log = Instant::now();
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = ticker.tick() => {}
            }
            let now = sim_clock(live_start, started.elapsed(), config.speed, Utc::now());
            let due = driver.model.advance_to(now);
            driver.queue(due);
            if driver.retry_at.is_none_or(|at| Instant::now() >= at) {
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = driver.flush() => {}
                }
            }
            if last_log.elapsed() >= LOG_EVERY {
                last_log = Instant::now();
                driver.log_counts(now);
            }
        }
        driver.log_counts(sim_clock(
            live_start,
            started.elapsed(),
            config.speed,
            Utc::now(),
        ));
        driver.stats
    }
}

impl Driver {
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn wait_ready(&mut self) {
        let url = self.url(&["readyz"]);
        let mut delay = Duration::from_millis(250);
        let mut announced = false;
        loop {
            match self.client.get(url.clone()).send().await {
                Ok(reply) if reply.status().is_success() => return,
                Ok(reply) => debug!(status = %reply.status(), "simulator: server not ready"),
                Err(err) => debug!(error = %err, "simulator: server not reachable"),
            }
            if !announced {
                info!(url = %url, "simulator: waiting for the server to be ready");
                announced = true;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    fn queue(&mut self, requests: Vec<Request>) {
        for request in requests {
            if let Action::PutQueue { queue, settings } = &request.action {
                // Only the newest settings of a queue matter.
                self.queue_settings.retain(|(name, _)| name != queue);
                self.queue_settings.push((queue.clone(), settings.clone()));
            } else {
                self.pending.push_back(request);
            }
        }
    }

    /// Moves every pending request into ingest lines.
    fn encode_pending(&mut self) {
        while let Some(request) = self.pending.pop_front() {
            match self.addresses.ndjson_line(&request) {
                Some(line) => self.lines.push_back(line),
                None => self.stats.skipped += 1,
            }
        }
    }

    fn log_counts(&self, now: DateTime<Utc>) {
        let s = &self.stats;
        info!(
            sim_time = %now,
            tickets_created = s.tickets_created,
            tickets_resent = s.tickets_resent,
            ticket_updates = s.ticket_updates,
            call_events = s.call_events,
            queue_updates = s.queue_updates,
            rejected = s.rejected,
            skipped = s.skipped,
            errors = s.errors,
            waiting = self.pending.len() + self.lines.len(),
            "simulator: traffic sent"
        );
    }

    /// Sends everything that is due, in order, stopping at the first request
    /// the server cannot take yet (it is retried after a back-off).
    async fn flush(&mut self) {
        if self.pending.len() > BULK_THRESHOLD {
            self.encode_pending();
        }
        let ok = self.flush_queue_settings().await
            && self.flush_lines().await
            && self.flush_pending().await;
        if ok {
            self.backoff = Duration::from_millis(500);
            self.retry_at = None;
        } else {
            debug!(backoff = ?self.backoff, "simulator: server unavailable, retrying later");
            self.retry_at = Some(Instant::now() + self.backoff);
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn flush_queue_settings(&mut self) -> bool {
        while let Some((queue, settings)) = self.queue_settings.first().cloned() {
            if !self.put_queue(&queue, &settings).await {
                return false;
            }
            self.queue_settings.remove(0);
        }
        true
    }

    /// `PUT /api/v1/queues/{queue}`; false when it must be retried later.
    async fn put_queue(&mut self, queue: &str, settings: &QueueSettings) -> bool {
        let url = self.url(&["api", "v1", "queues", queue]);
        match self.send(self.client.put(url).json(settings)).await {
            Reply::Retry => return false,
            Reply::Done(..) => self.stats.queue_updates += 1,
            Reply::TooLarge | Reply::Failed => {}
        }
        true
    }

    async fn flush_lines(&mut self) -> bool {
        while !self.lines.is_empty() {
            let n = self.chunk.min(self.lines.len());
            let batch: Vec<Line> = self.lines.iter().take(n).cloned().collect();
            match self.ingest(&batch).await {
                Reply::Retry => return false,
                Reply::TooLarge if n > 1 => {
                    self.chunk = (n / 2).max(1);
                    continue;
                }
                Reply::TooLarge => {
                    self.stats.rejected += 1;
                }
                Reply::Done(..) | Reply::Failed => {}
            }
            self.lines.drain(..n);
        }
        true
    }

    async fn flush_pending(&mut self) -> bool {
        while let Some(request) = self.pending.front().cloned() {
            if !self.send_one(&request).await {
                return false;
            }
            self.pending.pop_front();
        }
        true
    }

    /// Sends one request; false when it must be retried later.
    async fn send_one(&mut self, request: &Request) -> bool {
        match &request.action {
            Action::PutQueue { queue, settings } => {
                if !self.put_queue(queue, settings).await {
                    return false;
                }
            }
            Action::CreateTicket {
                key,
                ticket,
                has_updates,
                resend,
            } => {
                let url = self.url(&["api", "v1", "tickets"]);
                match self.send(self.client.post(url).json(ticket)).await {
                    Reply::Retry => return false,
                    Reply::Done(status, body) => {
                        if *resend || status == StatusCode::OK {
                            self.stats.tickets_resent += 1;
                        } else {
                            self.stats.tickets_created += 1;
                        }
                        if *has_updates && !*resend {
                            match id_of(&body) {
                                Some(id) => self.addresses.record_id(*key, id),
                                None => debug!("simulator: ticket answer without an id"),
                            }
                        }
                    }
                    Reply::TooLarge | Reply::Failed => {}
                }
            }
            Action::UpdateTicket { key, update, last } => {
                let reply = match self.addresses.get(*key).cloned() {
                    Some(TicketRef::Id(id)) => {
                        let url = self.url(&["api", "v1", "tickets", &id]);
                        Some(self.send(self.client.patch(url).json(update)).await)
                    }
                    // Created through ingest: only its external id is known,
                    // and only ingest can address a ticket by that.
                    Some(TicketRef::External(_)) => {
                        match self.addresses.update_line(*key, update) {
                            Some(line) => Some(self.ingest(&[line]).await),
                            None => None,
                        }
                    }
                    None => None,
                };
                match reply {
                    None => self.stats.skipped += 1,
                    Some(Reply::Retry) => return false,
                    Some(Reply::Done(..)) => {
                        // Ingest counts its own lines.
                        if matches!(self.addresses.get(*key), Some(TicketRef::Id(_))) {
                            self.stats.ticket_updates += 1;
                        }
                    }
                    Some(Reply::TooLarge | Reply::Failed) => {}
                }
                if *last {
                    self.addresses.forget(*key);
                }
            }
            Action::CallEvent(event) => {
                let url = self.url(&["api", "v1", "calls", "events"]);
                match self.send(self.client.post(url).json(event)).await {
                    Reply::Retry => return false,
                    Reply::Done(..) => self.stats.call_events += 1,
                    Reply::TooLarge | Reply::Failed => {}
                }
            }
        }
        true
    }

    /// Posts `lines` to the ingest endpoint and counts the answer per line.
    async fn ingest(&mut self, lines: &[Line]) -> Reply {
        let mut body = String::new();
        for line in lines {
            body.push_str(&line.text);
            body.push('\n');
        }
        let url = self.url(&["api", "v1", "ingest"]);
        let request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(body);
        let reply = self.send(request).await;
        if let Reply::Done(_, answer) = &reply {
            let mut refused = vec![false; lines.len()];
            if let Some(rejected) = answer.get("rejected").and_then(Value::as_array) {
                for entry in rejected {
                    let line = entry.get("line").and_then(Value::as_u64).unwrap_or(0) as usize;
                    if let Some(slot) = line.checked_sub(1).and_then(|i| refused.get_mut(i)) {
                        *slot = true;
                    }
                    let code = entry
                        .pointer("/error/code")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown");
                    debug!(line, code, "simulator: ingest line rejected");
                }
            }
            for (line, refused) in lines.iter().zip(refused) {
                if refused {
                    self.stats.rejected += 1;
                    continue;
                }
                match line.kind {
                    LineKind::Ticket => self.stats.tickets_created += 1,
                    LineKind::Resend => self.stats.tickets_resent += 1,
                    LineKind::Update => self.stats.ticket_updates += 1,
                    LineKind::Call => self.stats.call_events += 1,
                }
            }
        }
        reply
    }

    /// Sends with the bearer token and sorts the outcome; refusals and
    /// failures are counted and logged here (never with request bodies,
    /// which carry ticket summaries).
    async fn send(&mut self, request: reqwest::RequestBuilder) -> Reply {
        let response = match request
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) if err.is_connect() => {
                debug!(error = %err, "simulator: cannot connect");
                return Reply::Retry;
            }
            Err(err) => {
                self.stats.errors += 1;
                warn!(error = %err, "simulator: request failed");
                return Reply::Failed;
            }
        };
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let code = || {
            json.pointer("/error/code")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        if status.is_success() {
            return Reply::Done(status, json);
        }
        match status {
            StatusCode::SERVICE_UNAVAILABLE => Reply::Retry,
            StatusCode::PAYLOAD_TOO_LARGE => Reply::TooLarge,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                self.stats.errors += 1;
                if !self.auth_warned {
                    self.auth_warned = true;
                    warn!(%status, "simulator: the server refuses the token (needs the admin role)");
                }
                Reply::Failed
            }
            s if s.is_client_error() => {
                self.stats.rejected += 1;
                debug!(%status, code = %code(), "simulator: request refused");
                Reply::Failed
            }
            _ => {
                self.stats.errors += 1;
                warn!(%status, code = %code(), "simulator: server error");
                Reply::Failed
            }
        }
    }
}

/// The ticket id in a creation answer (a string per the contract; a number
/// is accepted too).
fn id_of(body: &Value) -> Option<String> {
    match body.get("id")? {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap()
    }

    #[test]
    fn clock_runs_fast_then_follows_the_wall_clock() {
        let start = at("2026-03-02T08:00:00Z");
        let wall = at("2026-03-02T09:00:00Z");
        // 30 real seconds at 60x: 30 simulated minutes, still behind.
        assert_eq!(
            sim_clock(start, Duration::from_secs(30), 60.0, wall),
            at("2026-03-02T08:30:00Z")
        );
        // Past the catch-up point it is capped at the wall clock.
        assert_eq!(sim_clock(start, Duration::from_secs(90), 60.0, wall), wall);
        // Nonsense speed means real time.
        assert_eq!(
            sim_clock(start, Duration::from_secs(10), f64::NAN, wall),
            at("2026-03-02T08:00:10Z")
        );
        assert_eq!(
            sim_clock(start, Duration::from_secs(u64::MAX / 4), 1e12, wall),
            wall
        );
    }

    #[test]
    fn run_future_can_be_spawned() {
        fn is_send<T: Send + 'static>(_: &T) {}
        let run = Simulator::new(SimConfig::default()).run(std::future::pending::<()>());
        is_send(&run);
    }

    #[test]
    fn ids_are_read_as_strings() {
        assert_eq!(id_of(&serde_json::json!({"id": "t-1"})), Some("t-1".into()));
        assert_eq!(id_of(&serde_json::json!({"id": 7})), Some("7".into()));
        assert_eq!(id_of(&serde_json::json!({})), None);
    }
}
