//! A synthetic phased go-live for the waves and huddle tests: tickets at
//! several sites (some created resolved, some resolved, closed, reopened
//! or moved to another site later), phone calls on two queues, all sent
//! through bulk ingest as a feed would; and a brute-force oracle that
//! counts the contract's definitions straight from that raw list.

#![allow(dead_code)]

use chrono::{DateTime, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;

pub fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .expect("valid time")
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn millis(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .timestamp_millis()
}

/// A status change or a move to another site, at `at`.
#[derive(Clone, Debug)]
pub struct Change {
    pub at: i64,
    pub status: Option<&'static str>,
    pub site: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Ticket {
    pub external_id: String,
    pub opened_at: i64,
    pub site: String,
    pub application: String,
    /// Created already resolved at this time.
    pub created_resolved: Option<i64>,
    pub changes: Vec<Change>,
}

const DONE: [&str; 2] = ["resolved", "closed"];

impl Ticket {
    /// (time, status after, site after) from creation on, in time order.
    fn states(&self) -> Vec<(i64, &'static str, String)> {
        let mut states = vec![(self.opened_at, "open", self.site.clone())];
        if let Some(at) = self.created_resolved {
            states.push((at, "resolved", self.site.clone()));
        }
        for change in &self.changes {
            let (_, status, site) = states.last().cloned().expect("a state");
            states.push((
                change.at,
                change.status.unwrap_or(status),
                change.site.clone().unwrap_or(site),
            ));
        }
        states
    }

    /// Resolutions: (time, site then).
    pub fn resolutions(&self) -> Vec<(i64, String)> {
        let states = self.states();
        states
            .windows(2)
            .filter(|w| !DONE.contains(&w[0].1) && DONE.contains(&w[1].1))
            .map(|w| (w[1].0, w[1].2.clone()))
            .collect()
    }

    /// Whether it is in the backlog as of `to`, and its site then.
    pub fn backlog_at(&self, to: i64) -> Option<String> {
        if self.opened_at >= to {
            return None;
        }
        let states = self.states();
        let (_, status, site) = states.iter().rev().find(|(at, ..)| *at < to)?;
        (!DONE.contains(status)).then(|| site.clone())
    }
}

/// One call leg: offered, then answered or abandoned after `wait_ms`,
/// answered ones ending after `talk_ms`.
#[derive(Clone, Debug)]
pub struct Call {
    pub id: String,
    pub queue: String,
    pub offered_at: i64,
    pub wait_ms: i64,
    pub answered: bool,
    pub talk_ms: i64,
}

pub struct GoLive {
    pub tickets: Vec<Ticket>,
    pub calls: Vec<Call>,
}

pub const APPLICATIONS: [&str; 5] = ["Orders", "MAR", "Scheduling", "Results", "Billing"];

/// What to generate: `tickets` tickets opened in `[from, to)` at `sites`,
/// with later changes up to `now`, and `calls` calls on `queues` over the
/// same span; the same `seed` gives the same go-live.
pub struct Plan<'a> {
    pub seed: u64,
    pub from: i64,
    pub to: i64,
    pub now: i64,
    pub sites: &'a [&'a str],
    pub tickets: usize,
    pub queues: &'a [&'a str],
    pub calls: usize,
}

pub fn go_live(plan: &Plan<'_>) -> GoLive {
    let Plan {
        seed,
        from,
        to,
        now,
        sites,
        tickets: count,
        queues,
        calls,
    } = *plan;
    let mut rng = StdRng::seed_from_u64(seed);
    // Odd milliseconds: no fact falls exactly on an hour boundary.
    let time_in = |rng: &mut StdRng, a: i64, b: i64| rng.random_range(a..b.max(a + 1)) | 1;
    let mut tickets = Vec::with_capacity(count);
    for k in 0..count {
        let opened_at = time_in(&mut rng, from, to);
        let site = sites[rng.random_range(0..sites.len())].to_string();
        // Busier applications first, so the top list has an order.
        let application =
            APPLICATIONS[(rng.random_range(0..15usize) as f64).sqrt() as usize % 5].to_string();
        let mut ticket = Ticket {
            external_id: format!("INC{seed}-{k:05}"),
            opened_at,
            site,
            application,
            created_resolved: None,
            changes: Vec::new(),
        };
        let mut last = opened_at;
        let next = |rng: &mut StdRng, last: &mut i64| -> Option<i64> {
            let at = time_in(rng, *last + 1_000, *last + 3 * HOUR);
            (at < now).then(|| {
                *last = at;
                at
            })
        };
        if rng.random_bool(0.2) {
            let at = time_in(&mut rng, opened_at, (opened_at + 20 * MINUTE).min(now));
            ticket.created_resolved = Some(at.max(opened_at));
            last = at.max(opened_at);
        }
        let mut done = ticket.created_resolved.is_some();
        for _ in 0..rng.random_range(0..4) {
            let Some(at) = next(&mut rng, &mut last) else {
                break;
            };
            let move_site = rng.random_bool(0.15);
            let status = if done {
                if rng.random_bool(0.5) {
                    "closed"
                } else {
                    "open"
                }
            } else if rng.random_bool(0.6) {
                "resolved"
            } else {
                "in_progress"
            };
            let previous_closed = ticket
                .changes
                .iter()
                .rev()
                .find_map(|c| c.status)
                .is_some_and(|s| s == "closed");
            // A closed ticket only reopens; resolved → closed is no second
            // resolution.
            let status = if previous_closed { "open" } else { status };
            done = DONE.contains(&status);
            ticket.changes.push(Change {
                at,
                status: Some(status),
                site: move_site.then(|| sites[rng.random_range(0..sites.len())].to_string()),
            });
        }
        tickets.push(ticket);
    }
    let mut legs = Vec::with_capacity(calls);
    for k in 0..calls {
        let offered_at = time_in(&mut rng, from, to);
        let wait_ms = rng.random_range(1_000..90_000i64);
        let talk_ms = rng.random_range(60_000..600_000i64);
        let answered = rng.random_bool(0.85);
        let end = offered_at + wait_ms + if answered { talk_ms } else { 0 };
        if end >= now {
            continue;
        }
        legs.push(Call {
            id: format!("c{seed}-{k}"),
            queue: queues[rng.random_range(0..queues.len())].to_string(),
            offered_at,
            wait_ms,
            answered,
            talk_ms,
        });
    }
    GoLive {
        tickets,
        calls: legs,
    }
}

impl GoLive {
    /// The NDJSON lines a feed sends: every ticket, then the changes in
    /// time order, then the calls.
    pub fn ndjson(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for t in &self.tickets {
            let mut body = json!({
                "kind": "ticket", "external_id": t.external_id, "opened_at": iso(t.opened_at),
                "site": t.site, "department": "Emergency", "application": t.application,
                "category": "how_to", "severity": 3, "channel": "phone",
            });
            if let Some(at) = t.created_resolved {
                body["status"] = json!("resolved");
                body["resolved_at"] = json!(iso(at));
            }
            lines.push(body.to_string());
        }
        let mut changes: Vec<(i64, String)> = self
            .tickets
            .iter()
            .flat_map(|t| {
                t.changes.iter().map(|c| {
                    let mut body = json!({"kind": "ticket_update", "external_id": t.external_id, "at": iso(c.at)});
                    if let Some(status) = c.status {
                        body["status"] = json!(status);
                    }
                    if let Some(site) = &c.site {
                        body["site"] = json!(site);
                    }
                    (c.at, body.to_string())
                })
            })
            .collect();
        changes.sort_by_key(|(at, _)| *at);
        lines.extend(changes.into_iter().map(|(_, line)| line));
        for c in &self.calls {
            let call = |event: &str, at: i64| {
                json!({"kind": "call", "call_id": c.id, "queue": c.queue, "event": event, "at": iso(at)})
                    .to_string()
            };
            lines.push(call("offered", c.offered_at));
            if c.answered {
                lines.push(call("answered", c.offered_at + c.wait_ms));
                lines.push(call("ended", c.offered_at + c.wait_ms + c.talk_ms));
            } else {
                lines.push(call("abandoned", c.offered_at + c.wait_ms));
            }
        }
        lines
    }

    /// Ticket counts of `[from, to)` for tickets at one of `sites` (all
    /// when `None`), each fact under the site the ticket had then:
    /// (opened, resolved, backlog as of `to`).
    pub fn tickets(&self, from: i64, to: i64, sites: Option<&[&str]>) -> (u64, u64, u64) {
        let keep = |site: &str| sites.is_none_or(|s| s.contains(&site));
        let within = |at: i64| from <= at && at < to;
        let opened = self
            .tickets
            .iter()
            .filter(|t| within(t.opened_at) && keep(&t.site))
            .count() as u64;
        let resolved = self
            .tickets
            .iter()
            .flat_map(|t| t.resolutions())
            .filter(|(at, site)| within(*at) && keep(site))
            .count() as u64;
        let backlog = self
            .tickets
            .iter()
            .filter_map(|t| t.backlog_at(to))
            .filter(|site| keep(site))
            .count() as u64;
        (opened, resolved, backlog)
    }

    /// Tickets of `application` over `[from, to)`: (opened, resolved,
    /// backlog as of `to`). The tests never move a ticket to another
    /// application.
    pub fn application(&self, application: &str, from: i64, to: i64) -> (u64, u64, u64) {
        let mine = GoLive {
            tickets: self
                .tickets
                .iter()
                .filter(|t| t.application == application)
                .cloned()
                .collect(),
            calls: Vec::new(),
        };
        mine.tickets(from, to, None)
    }

    /// Calls offered in `[from, to)`: (offered, answered, abandoned,
    /// answered within `target_ms(queue)`).
    pub fn calls(
        &self,
        from: i64,
        to: i64,
        target_ms: impl Fn(&str) -> i64,
    ) -> (u64, u64, u64, u64) {
        let mine: Vec<&Call> = self
            .calls
            .iter()
            .filter(|c| from <= c.offered_at && c.offered_at < to)
            .collect();
        let answered = mine.iter().filter(|c| c.answered).count() as u64;
        let within = mine
            .iter()
            .filter(|c| c.answered && c.wait_ms <= target_ms(&c.queue))
            .count() as u64;
        (
            mine.len() as u64,
            answered,
            mine.len() as u64 - answered,
            within,
        )
    }

    /// Calls of one queue offered in `[from, to)`.
    pub fn queue_offered(&self, queue: &str, from: i64, to: i64) -> u64 {
        self.calls
            .iter()
            .filter(|c| c.queue == queue && from <= c.offered_at && c.offered_at < to)
            .count() as u64
    }
}

/// A JSON number or null as an `Option<f64>`.
pub fn number(value: &Value) -> Option<f64> {
    value.as_f64()
}
