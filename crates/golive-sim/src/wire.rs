//! Wire form of the model's requests: NDJSON lines for `POST /api/v1/ingest`
//! and the bookkeeping that lets a later ticket update find its ticket.
//!
//! The server makes ticket ids, and the ingest endpoint answers with counts
//! only, so a ticket created through ingest can be addressed later only by
//! `external_id`. Tickets the model created without one but that will be
//! updated are therefore given a generated `GL-<tag>-<key>` id when they go
//! through ingest; tickets created one by one keep the server's `"id"`.

use std::collections::HashMap;

use serde::Serialize;

use crate::model::{Action, NewTicket, Request, TicketUpdate};

/// How a later update reaches a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TicketRef {
    /// The server's id, from a `POST /api/v1/tickets` answer.
    Id(String),
    /// An `external_id` the ticket was created with.
    External(String),
}

/// What an ingest line carries, for counting the server's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    Ticket,
    Resend,
    Update,
    Call,
}

/// One NDJSON line (without the newline) and what it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub kind: LineKind,
    pub text: String,
}

/// Maps the model's ticket keys to the handles updates must use.
#[derive(Debug, Default)]
pub struct Addresses {
    tag: String,
    refs: HashMap<u64, TicketRef>,
}

impl Addresses {
    pub fn new(tag: &str) -> Self {
        Addresses {
            tag: tag.to_string(),
            refs: HashMap::new(),
        }
    }

    pub fn get(&self, key: u64) -> Option<&TicketRef> {
        self.refs.get(&key)
    }

    /// Records the server's id for `key` (the answer to a creation).
    pub fn record_id(&mut self, key: u64, id: String) {
        self.refs.insert(key, TicketRef::Id(id));
    }

    pub fn forget(&mut self, key: u64) {
        self.refs.remove(&key);
    }

    /// Number of tickets still waiting for updates.
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    /// The body of a creation sent through ingest, given an external id when
    /// updates must find it later. Only tickets with updates to come are
    /// remembered (and forgotten after their last one), so the map stays
    /// small however long the simulation runs.
    fn ingest_ticket(&mut self, key: u64, ticket: &NewTicket, remember: bool) -> NewTicket {
        let mut ticket = ticket.clone();
        if remember {
            let external = ticket
                .external_id
                .get_or_insert_with(|| format!("GL-{}-{key}", self.tag))
                .clone();
            self.refs.insert(key, TicketRef::External(external));
        }
        ticket
    }

    /// The ingest line for `request`; `None` for queue settings (not an
    /// ingest kind) and for updates whose ticket never got a handle.
    pub fn ndjson_line(&mut self, request: &Request) -> Option<Line> {
        match &request.action {
            Action::PutQueue { .. } => None,
            Action::CreateTicket {
                key,
                ticket,
                has_updates,
                resend,
            } => {
                let body = self.ingest_ticket(*key, ticket, *has_updates && !*resend);
                let kind = if *resend {
                    LineKind::Resend
                } else {
                    LineKind::Ticket
                };
                Some(Line {
                    kind,
                    text: tagged("ticket", &[], &body)?,
                })
            }
            Action::UpdateTicket { key, update, last } => {
                let line = self.update_line(*key, update);
                if *last {
                    self.forget(*key);
                }
                line
            }
            Action::CallEvent(event) => Some(Line {
                kind: LineKind::Call,
                text: tagged("call", &[], event)?,
            }),
        }
    }

    /// The ingest line for an update of the ticket known under `key`.
    pub fn update_line(&self, key: u64, update: &TicketUpdate) -> Option<Line> {
        let (field, value) = match self.refs.get(&key)? {
            TicketRef::Id(id) => ("id", id),
            TicketRef::External(external) => ("external_id", external),
        };
        Some(Line {
            kind: LineKind::Update,
            text: tagged("ticket_update", &[(field, value)], update)?,
        })
    }
}

/// `{"kind":KIND,<extra fields>,<body fields>}` with `kind` first so the
/// lines read well.
fn tagged<T: Serialize>(kind: &str, extra: &[(&str, &str)], body: &T) -> Option<String> {
    let body = serde_json::to_string(body).ok()?;
    let rest = body.strip_prefix('{')?;
    let mut line = format!("{{\"kind\":{}", serde_json::to_string(kind).ok()?);
    for (name, value) in extra {
        line.push(',');
        line.push_str(&serde_json::to_string(name).ok()?);
        line.push(':');
        line.push_str(&serde_json::to_string(value).ok()?);
    }
    if rest != "}" {
        line.push(',');
    }
    line.push_str(rest);
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SimConfig, TrafficModel};
    use chrono::{DateTime, TimeDelta, Utc};

    #[test]
    fn only_tickets_awaiting_updates_are_remembered() {
        let config = SimConfig {
            go_live_start: DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap(),
            ..SimConfig::default()
        };
        let mut model = TrafficModel::new(&config);
        let mut addresses = Addresses::new(model.tag());
        let requests = model.advance_to(config.go_live_start + TimeDelta::hours(72));
        let created = requests
            .iter()
            .filter(|r| matches!(r.action, Action::CreateTicket { resend: false, .. }))
            .count();
        let mut unaddressed = 0;
        for request in &requests {
            if addresses.ndjson_line(request).is_none()
                && !matches!(request.action, Action::PutQueue { .. })
            {
                unaddressed += 1;
            }
        }
        assert_eq!(unaddressed, 0);
        // What is left are tickets still open at the end of the run.
        assert!(
            addresses.len() * 10 < created,
            "{} of {created}",
            addresses.len()
        );
    }

    #[test]
    fn tagged_puts_kind_first_and_keeps_fields() {
        #[derive(Serialize)]
        struct Body {
            a: u8,
        }
        let line = tagged("ticket_update", &[("id", "t-1")], &Body { a: 1 });
        assert_eq!(
            line.as_deref(),
            Some(r#"{"kind":"ticket_update","id":"t-1","a":1}"#)
        );
        let empty = tagged("x", &[], &serde_json::json!({}));
        assert_eq!(empty.as_deref(), Some(r#"{"kind":"x"}"#));
    }
}
