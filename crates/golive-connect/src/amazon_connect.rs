//! Amazon Connect: contact events as EventBridge delivers them
//! ("Amazon Connect Contact Event") and contact trace records (CTRs, as a
//! Kinesis Firehose HTTP endpoint or a forwarder sends them) → golive call
//! events, one leg per contact and queue.
//!
//! Keys are read in any case (`queueInfo` and `QueueInfo` alike). Times
//! come from the record, never from the envelope's `time`. A contact event
//! says everything it knows about its contact at once (a DISCONNECTED
//! event carries the queue and agent times too), so a lost or late event
//! is made up for by the next one, and duplicates change nothing (call
//! events are idempotent per (`call_id`, `queue`, `event`)). A CTR is the
//! contact's whole record: it replaces the leg ([`CallLegReplaced`]), and
//! of the updates of one contact the one with the latest
//! `LastUpdateTimestamp` wins, whatever order they arrive in.

use crate::error::RecordError;
use crate::light::Light;
use crate::queues::{QueueMapConfig, QueueResolver};
use golive_core::event::{CallLegReplaced, CallRecorded};
use golive_core::input::{Clock, MAX_WRAP_SECONDS, checked_id, checked_name};
use golive_core::model::CallEventKind;
use golive_core::time::Millis;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;

/// An object's fields.
type Map<'a> = [(Cow<'a, str>, Light<'a>)];

/// `[connectors.amazon_connect]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmazonConnectConfig {
    /// Queue ARN (or name) → golive queue, and the unknown-queue policy.
    pub queues: QueueMapConfig,
}

/// The EventBridge `detail-type` of contact events.
pub const CONTACT_EVENT: &str = "Amazon Connect Contact Event";

/// The records of a body: one object, an array of them, or objects one
/// after another (NDJSON, or Firehose's concatenated JSON); strings
/// borrow from `bytes`.
pub fn parse_body(bytes: &[u8]) -> Result<Vec<Light<'_>>, serde_json::Error> {
    let mut records = Vec::new();
    for value in serde_json::Deserializer::from_slice(bytes).into_iter::<Light<'_>>() {
        match value? {
            Light::List(items) => records.extend(items),
            other => records.push(other),
        }
    }
    Ok(records)
}

/// `object[key]`, the key compared ignoring ASCII case.
fn get<'a, 'b>(object: &'a Map<'b>, key: &str) -> Option<&'a Light<'b>> {
    object
        .iter()
        .find(|(name, _)| name == key)
        .or_else(|| {
            object
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
        })
        .map(|(_, value)| value)
}

/// The value at `path` (keys in any case); null counts as absent.
fn at<'a, 'b>(object: &'a Map<'b>, path: &[&str]) -> Option<&'a Light<'b>> {
    let (last, parents) = path.split_last()?;
    let mut current = object;
    for key in parents {
        current = get(current, key)?.fields()?;
    }
    get(current, last).filter(|value| **value != Light::Null)
}

/// Text at `path`: a non-empty string (numbers as written).
fn text<'a>(object: &'a Map<'_>, path: &[&str]) -> Option<&'a str> {
    match at(object, path)? {
        Light::Text(text) if !text.trim().is_empty() => Some(text),
        _ => None,
    }
}

/// The last `/` or `:` segment of an ARN (its id).
fn arn_id(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

/// What one record says about its contact's leg.
#[derive(Clone, Debug, PartialEq)]
pub enum Contact {
    /// A contact event's call events (none for event types that change
    /// nothing).
    Events(Vec<CallRecorded>),
    /// A contact trace record: the whole leg.
    Record(CallLegReplaced),
}

impl Contact {
    /// Whether the record asks for nothing.
    pub fn is_empty(&self) -> bool {
        matches!(self, Contact::Events(events) if events.is_empty())
    }
}

/// Maps records onto call events with a queue map and the server's clock.
#[derive(Clone, Debug)]
pub struct ContactMapper {
    queues: QueueResolver,
}

/// Times a record gives its leg, each with its field's name (after
/// `prefix`, `detail.` in an event envelope).
#[derive(Default)]
struct Leg {
    prefix: &'static str,
    call_id: String,
    queue: String,
    offered: Option<(&'static str, Millis)>,
    answered: Option<(&'static str, Millis)>,
    agent: Option<String>,
    disconnected: Option<(&'static str, Millis)>,
    wrap_seconds: Option<f64>,
}

/// Queue names already resolved in one request: folding a 100-character
/// ARN for every event costs more than the rest of its mapping.
#[derive(Debug, Default)]
pub struct QueueCache {
    looked_up: HashMap<String, Option<String>>,
    resolved: HashMap<String, String>,
}

/// `error` about a field under `prefix` (`detail.`).
fn prefixed(prefix: &str, mut error: RecordError) -> RecordError {
    if !prefix.is_empty() {
        error.field = format!("{prefix}{}", error.field);
        error.message = format!("{prefix}{}", error.message);
    }
    error
}

impl ContactMapper {
    pub fn new(queues: QueueResolver) -> Self {
        ContactMapper { queues }
    }

    /// What one record says (no events for event types that change
    /// nothing), or why it was refused.
    pub fn map(&self, record: &Light<'_>, clock: Clock) -> Result<Contact, RecordError> {
        self.map_cached(record, clock, &mut QueueCache::default())
    }

    /// [`ContactMapper::map`] with the queue names resolved so far in the
    /// request.
    pub fn map_cached(
        &self,
        record: &Light<'_>,
        clock: Clock,
        cache: &mut QueueCache,
    ) -> Result<Contact, RecordError> {
        let Light::Object(object) = record else {
            return Err(RecordError::malformed(
                "a record is a JSON object (an EventBridge contact event or a contact trace record)",
            ));
        };
        if let Some(detail) = at(object, &["detail"]) {
            match text(object, &["detail-type"]) {
                Some(CONTACT_EVENT) => {}
                other => {
                    return Err(RecordError::invalid(
                        "invalid_field",
                        "detail-type",
                        other.unwrap_or(""),
                        format!("is not {CONTACT_EVENT:?}: route only contact events here"),
                    ));
                }
            }
            let Light::Object(detail) = detail else {
                return Err(RecordError::malformed("detail: not an object"));
            };
            return self
                .event(detail, "detail.", clock, cache)
                .map(Contact::Events);
        }
        if at(object, &["eventType"]).is_some() {
            // A forwarder that sends the detail alone.
            return self.event(object, "", clock, cache).map(Contact::Events);
        }
        self.trace_record(object, clock, cache).map(Contact::Record)
    }

    /// A contact event's detail.
    fn event(
        &self,
        detail: &Map<'_>,
        prefix: &'static str,
        clock: Clock,
        cache: &mut QueueCache,
    ) -> Result<Vec<CallRecorded>, RecordError> {
        let field = |name: &str| format!("{prefix}{name}");
        let event_type = text(detail, &["eventType"])
            .ok_or_else(|| RecordError::missing(&field("eventType"), "the event has no type"))?;
        let (answers, ends) = match event_type {
            "QUEUED" => (false, false),
            "CONNECTED_TO_AGENT" => (true, false),
            "DISCONNECTED" => (true, true),
            // INITIATED, CONTACT_DATA_UPDATED, COMPLETED (after-contact
            // work done), … change nothing.
            _ => return Ok(Vec::new()),
        };
        let contact = text(detail, &["contactId"])
            .ok_or_else(|| RecordError::missing(&field("contactId"), "the event has no contact"))?;
        let Some(arn) = text(detail, &["queueInfo", "queueArn"]) else {
            if event_type == "QUEUED" {
                return Err(RecordError::missing(
                    &field("queueInfo.queueArn"),
                    "a QUEUED event names its queue",
                ));
            }
            // Never queued (ended in the flow, or outbound): no leg.
            return Ok(Vec::new());
        };
        let mut leg = Leg {
            prefix,
            call_id: checked_id("call_id", contact)
                .map_err(|r| RecordError::from_rejection(&r, &field("contactId"), contact))?,
            queue: self
                .queue_of_arn("queueInfo.queueArn", arn, cache)
                .map_err(|e| prefixed(prefix, e))?,
            ..Leg::default()
        };
        let time = |path: &[&str],
                    name: &'static str|
         -> Result<Option<(&'static str, Millis)>, RecordError> {
            match text(detail, path) {
                Some(value) => timestamp(name, value, clock)
                    .map(|t| Some((name, t)))
                    .map_err(|e| prefixed(prefix, e)),
                None => Ok(None),
            }
        };
        leg.offered = time(
            &["queueInfo", "enqueueTimestamp"],
            "queueInfo.enqueueTimestamp",
        )?;
        if leg.offered.is_none() {
            return Err(RecordError::missing(
                &field("queueInfo.enqueueTimestamp"),
                "a queued contact has its enqueue time",
            ));
        }
        if answers {
            leg.answered = time(
                &["agentInfo", "connectedToAgentTimestamp"],
                "agentInfo.connectedToAgentTimestamp",
            )?;
            if leg.answered.is_none() && event_type == "CONNECTED_TO_AGENT" {
                return Err(RecordError::missing(
                    &field("agentInfo.connectedToAgentTimestamp"),
                    "a CONNECTED_TO_AGENT event has the time it connected",
                ));
            }
            leg.agent = text(detail, &["agentInfo", "agentArn"]).map(|a| arn_id(a).to_string());
        }
        if ends {
            leg.disconnected = time(&["disconnectTimestamp"], "disconnectTimestamp")?;
            if leg.disconnected.is_none() {
                return Err(RecordError::missing(
                    &field("disconnectTimestamp"),
                    "a disconnected contact has its disconnect time",
                ));
            }
            leg.wrap_seconds = wrap(
                detail,
                &["agentInfo", "afterContactWorkDuration"],
                "agentInfo.afterContactWorkDuration",
            )
            .map_err(|e| prefixed(prefix, e))?;
        }
        leg.events()
    }

    /// A contact trace record.
    fn trace_record(
        &self,
        ctr: &Map<'_>,
        clock: Clock,
        cache: &mut QueueCache,
    ) -> Result<CallLegReplaced, RecordError> {
        let contact = text(ctr, &["ContactId"]).ok_or_else(|| {
            RecordError::missing(
                "ContactId",
                "the record is neither a contact event (detail-type) nor a contact trace record",
            )
        })?;
        let updated = text(ctr, &["LastUpdateTimestamp"])
            .map(|updated| timestamp("LastUpdateTimestamp", updated, clock))
            .transpose()?;
        let Some(Light::Object(queue)) = at(ctr, &["Queue"]) else {
            return Err(RecordError::missing(
                "Queue",
                "the record has no queue (an outbound or flow-only contact has no leg to count)",
            ));
        };
        let name = text(queue, &["Name"]);
        let arn = text(queue, &["ARN"]);
        let queue_name = match (arn, name) {
            (Some(arn), _) if self.lookup(arn, cache).is_some() => {
                self.queue_of_arn("Queue.ARN", arn, cache)?
            }
            (_, Some(name)) => self.resolve("Queue.Name", name, cache)?,
            (Some(arn), None) => self.queue_of_arn("Queue.ARN", arn, cache)?,
            (None, None) => {
                return Err(RecordError::missing(
                    "Queue.Name",
                    "the record's queue has neither Name nor ARN",
                ));
            }
        };
        let time = |object: &Map<'_>, key: &str, name: &'static str| match text(object, &[key]) {
            Some(value) => timestamp(name, value, clock).map(|t| Some((name, t))),
            None => Ok(None),
        };
        let Some(offered) = time(queue, "EnqueueTimestamp", "Queue.EnqueueTimestamp")? else {
            return Err(RecordError::missing(
                "Queue.EnqueueTimestamp",
                "a queued contact has its enqueue time",
            ));
        };
        let mut leg = Leg {
            call_id: checked_id("call_id", contact)
                .map_err(|r| RecordError::from_rejection(&r, "ContactId", contact))?,
            queue: queue_name,
            offered: Some(offered),
            disconnected: time(ctr, "DisconnectTimestamp", "DisconnectTimestamp")?,
            ..Leg::default()
        };
        if let Some(Light::Object(agent)) = at(ctr, &["Agent"]) {
            leg.answered = time(
                agent,
                "ConnectedToAgentTimestamp",
                "Agent.ConnectedToAgentTimestamp",
            )?;
            leg.agent = text(agent, &["Username"])
                .or_else(|| text(agent, &["ARN"]).map(arn_id))
                .map(str::to_string);
            leg.wrap_seconds = wrap(
                agent,
                &["AfterContactWorkDuration"],
                "Agent.AfterContactWorkDuration",
            )?;
        }
        leg.record(offered.1, updated)
    }

    /// The golive queue of a queue ARN: the configured map, else the ARN's
    /// last segment through `[names.queue]` and the unknown-queue policy.
    fn queue_of_arn(
        &self,
        field: &str,
        arn: &str,
        cache: &mut QueueCache,
    ) -> Result<String, RecordError> {
        if let Some(queue) = self.lookup(arn, cache) {
            return Ok(queue);
        }
        if self.queues.refuses_unknown() {
            return self.resolve(field, arn, cache);
        }
        self.resolve(field, arn_id(arn), cache)
    }

    /// [`QueueResolver::lookup`] through the request's cache.
    fn lookup(&self, source: &str, cache: &mut QueueCache) -> Option<String> {
        if let Some(hit) = cache.looked_up.get(source) {
            return hit.clone();
        }
        let found = self.queues.lookup(source);
        cache.looked_up.insert(source.to_string(), found.clone());
        found
    }

    /// [`QueueResolver::resolve`] through the request's cache (refusals
    /// are not kept: they name their field).
    fn resolve(
        &self,
        field: &str,
        source: &str,
        cache: &mut QueueCache,
    ) -> Result<String, RecordError> {
        if let Some(queue) = cache.resolved.get(source) {
            return Ok(queue.clone());
        }
        let queue = self.queues.resolve(field, source)?;
        cache.resolved.insert(source.to_string(), queue.clone());
        Ok(queue)
    }
}

impl Leg {
    /// Refuses times out of order (queued, connected, disconnected).
    fn check_order(&self) -> Result<(), RecordError> {
        let order: Vec<&(&str, Millis)> = [&self.offered, &self.answered, &self.disconnected]
            .into_iter()
            .flatten()
            .collect();
        for pair in order.windows(2) {
            if pair[1].1 < pair[0].1 {
                return Err(RecordError::invalid(
                    "impossible_call_sequence",
                    &format!("{}{}", self.prefix, pair[1].0),
                    &golive_core::time::format_rfc3339(pair[1].1),
                    format!("is before {}{}", self.prefix, pair[0].0),
                ));
            }
        }
        Ok(())
    }

    /// The agent's name, when it is one golive can keep.
    fn agent(&self) -> Option<String> {
        self.agent
            .as_deref()
            .and_then(|agent| checked_name("agent", agent).ok())
    }

    /// The whole leg, enqueued at `offered_at`, as a CTR updated at
    /// `updated` gives it.
    fn record(
        self,
        offered_at: Millis,
        updated: Option<Millis>,
    ) -> Result<CallLegReplaced, RecordError> {
        self.check_order()?;
        let agent = self.agent();
        Ok(CallLegReplaced {
            agent,
            call_id: self.call_id,
            queue: self.queue,
            offered_at,
            answered_at: self.answered.map(|(_, at)| at),
            ended_at: self.disconnected.map(|(_, at)| at),
            // Wrap is after-contact work of an answered contact only.
            wrap_seconds: self.answered.and(self.wrap_seconds),
            source_updated_at: updated,
        })
    }

    /// The leg's call events, after checking its times are in order.
    fn events(self) -> Result<Vec<CallRecorded>, RecordError> {
        self.check_order()?;
        let agent = self.agent();
        let event = |event: CallEventKind, at: Millis| CallRecorded {
            call_id: self.call_id.clone(),
            queue: self.queue.clone(),
            event,
            at,
            agent: None,
            wrap_seconds: None,
        };
        let mut events = Vec::with_capacity(3);
        if let Some((_, offered)) = self.offered {
            events.push(event(CallEventKind::Offered, offered));
        }
        if let Some((_, answered)) = self.answered {
            events.push(CallRecorded {
                agent,
                ..event(CallEventKind::Answered, answered)
            });
        }
        if let Some((_, disconnected)) = self.disconnected {
            if self.answered.is_some() {
                events.push(CallRecorded {
                    wrap_seconds: self.wrap_seconds,
                    ..event(CallEventKind::Ended, disconnected)
                });
            } else {
                events.push(event(CallEventKind::Abandoned, disconnected));
            }
        }
        Ok(events)
    }
}

/// The call events already taken from one request, by leg: a contact's
/// later events repeat what its earlier ones said (a DISCONNECTED also
/// carries the enqueue and connect times), and an event identical to one
/// already in the request would only be found a duplicate by the ledger,
/// so it is left out before it costs a decision.
#[derive(Debug, Default)]
pub struct Repeats {
    /// call_id → (queue, the time of each kind of event taken).
    legs: HashMap<String, Vec<LegTimes>>,
}

/// A leg's queue and the time of each kind of event taken for it.
type LegTimes = (String, [Option<Millis>; 4]);

impl Repeats {
    /// Whether `event` (same leg, kind and time) was already taken; takes
    /// it if not.
    pub fn is_repeat(&mut self, event: &CallRecorded) -> bool {
        let kind = match event.event {
            CallEventKind::Offered => 0,
            CallEventKind::Answered => 1,
            CallEventKind::Abandoned => 2,
            CallEventKind::Ended => 3,
        };
        if !self.legs.contains_key(event.call_id.as_str()) {
            self.legs.insert(event.call_id.clone(), Vec::new());
        }
        let Some(legs) = self.legs.get_mut(event.call_id.as_str()) else {
            return false;
        };
        let slot = match legs.iter().position(|(queue, _)| *queue == event.queue) {
            Some(index) => &mut legs[index].1,
            None => {
                legs.push((event.queue.clone(), [None; 4]));
                let last = legs.len() - 1;
                &mut legs[last].1
            }
        };
        if slot[kind] == Some(event.at) {
            return true;
        }
        if slot[kind].is_none() {
            slot[kind] = Some(event.at);
        }
        false
    }
}

/// A record's time, refused naming `field` when it is not a time or is
/// further ahead of the server's clock than the configured skew.
fn timestamp(field: &str, text: &str, clock: Clock) -> Result<Millis, RecordError> {
    crate::time::checked_time(field, text, Default::default(), clock)
}

/// Wrap seconds at `path`: a number from 0 to a day.
fn wrap(object: &Map<'_>, path: &[&str], field: &str) -> Result<Option<f64>, RecordError> {
    let Some(value) = at(object, path) else {
        return Ok(None);
    };
    let seconds = match value {
        Light::Number(n) => Some(*n),
        Light::Text(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if s.is_finite() && (0.0..=MAX_WRAP_SECONDS).contains(&s) => Ok(Some(s)),
        _ => Err(RecordError::invalid(
            "invalid_field",
            field,
            &value.echo(),
            format!("is not a number of seconds from 0 to {MAX_WRAP_SECONDS}"),
        )),
    }
}

#[cfg(test)]
mod tests;
