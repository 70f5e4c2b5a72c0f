//! Asterisk (and FreePBX, which runs it): queue_log lines
//! (`epoch|uniqueid|queue|agent|EVENT|data…`) → golive call events and
//! each queue's staffed agents.
//!
//! [`parse_line`] reads one line; [`QueueLogFeed`] turns lines into
//! [`Action`]s, keeping what the log itself does not repeat: the members
//! of every queue and whether they are paused (`agents_staffed` = members
//! not paused), and the calls waiting in a queue (entered, no exit yet),
//! which are closed after a timeout when their exit never comes. The feed
//! is plain data ([`serde`]), saved by the server beside its position in
//! the file so that a restart resumes exactly.

use crate::error::RecordError;
use crate::queues::{QueueMapConfig, QueueResolver};
use crate::time::future_check;
use golive_core::event::CallRecorded;
use golive_core::input::{Clock, checked_id, checked_name};
use golive_core::model::CallEventKind;
use golive_core::time::{MAX_MILLIS, MIN_MILLIS, Millis};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `[connectors.asterisk]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsteriskConfig {
    /// Asterisk queue name → golive queue, and the unknown-queue policy.
    pub queues: QueueMapConfig,
    /// A queue_log file to follow (e.g. `/var/log/asterisk/queue_log`).
    pub queue_log: Option<PathBuf>,
    /// How often the file is checked for new lines (milliseconds).
    pub poll_interval_ms: u64,
    /// A call that entered a queue and logged no exit (CONNECT, ABANDON,
    /// EXIT…) within this many seconds is closed: `ended` at entry time +
    /// this, which counts it abandoned.
    pub close_waiting_after_seconds: u64,
    /// Where to start in a file golive has never read: `beginning` (the
    /// whole file, default) or `end` (only lines written from now on).
    pub start_at: StartAt,
}

impl Default for AsteriskConfig {
    fn default() -> Self {
        AsteriskConfig {
            queues: QueueMapConfig::default(),
            queue_log: None,
            poll_interval_ms: 1000,
            close_waiting_after_seconds: 3600,
            start_at: StartAt::Beginning,
        }
    }
}

/// See [`AsteriskConfig::start_at`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    #[default]
    Beginning,
    End,
}

/// One queue_log line, borrowed from the text.
#[derive(Clone, Debug, PartialEq)]
pub struct Line<'a> {
    pub at: Millis,
    pub uniqueid: &'a str,
    pub queue: &'a str,
    pub agent: &'a str,
    pub event: &'a str,
    /// The event's own fields (holdtime, position, …), unused by golive.
    pub data: &'a str,
}

/// Reads one line (without its line break). Refused: fewer than five
/// fields, an epoch that is not a number of seconds (2000..2100). Any
/// event name is of the shape: those golive does not map (custom ones
/// included) are ignored by [`QueueLogFeed::apply`], not refused.
pub fn parse_line(line: &str) -> Result<Line<'_>, RecordError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = line.splitn(6, '|');
    let (Some(epoch), Some(uniqueid), Some(queue), Some(agent), Some(event)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(RecordError::invalid(
            "truncated_line",
            "line",
            line,
            "has fewer than the five fields epoch|uniqueid|queue|agent|event",
        ));
    };
    let at = parse_epoch(epoch).ok_or_else(|| {
        RecordError::invalid(
            "invalid_timestamp",
            "epoch",
            epoch,
            "is not a Unix time in seconds (between 2000 and 2100)",
        )
    })?;
    Ok(Line {
        at,
        uniqueid,
        queue,
        agent,
        event,
        data: fields.next().unwrap_or(""),
    })
}

/// Seconds since 1970 (a fraction, if any, kept to the millisecond).
fn parse_epoch(text: &str) -> Option<Millis> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || whole.len() > 10
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let seconds: Millis = whole.parse().ok()?;
    let mut millis = seconds * 1000;
    for (scale, digit) in [100, 10, 1].into_iter().zip(fraction.bytes()) {
        millis += scale * Millis::from(digit - b'0');
    }
    (MIN_MILLIS..MAX_MILLIS).contains(&millis).then_some(millis)
}

/// What a line asks golive to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A call event. One whose ENTERQUEUE golive has not seen (a follower
    /// started at the file's end mid-call) is kept by the ledger until
    /// that leg is offered, like any early call event.
    Call(CallRecorded),
    /// A queue's members not paused changed to this.
    Staffed { queue: String, agents: u32 },
}

/// A member of a queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub paused: bool,
}

/// A call waiting in a queue: entered at this time, no exit logged yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    pub uniqueid: String,
    pub queue: String,
    pub entered: Millis,
}

/// Most calls kept waiting: a log whose exits never come (another
/// system's file, a misconfigured queue) cannot grow the feed without
/// bound; past it the oldest are closed first.
pub const MAX_WAITING: usize = 100_000;

/// The state the log implies (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueLogFeed {
    /// golive queue → member (as the log names it) → state.
    pub members: BTreeMap<String, BTreeMap<String, Member>>,
    /// (uniqueid, golive queue) → entry time; saved as a list of
    /// [`Waiting`].
    #[serde(with = "waiting_list")]
    pub waiting: BTreeMap<(String, String), Millis>,
}

/// The waiting calls as a list (JSON object keys are strings only).
mod waiting_list {
    use super::Waiting;
    use golive_core::time::Millis;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    type Map = BTreeMap<(String, String), Millis>;

    pub fn serialize<S: Serializer>(map: &Map, serializer: S) -> Result<S::Ok, S::Error> {
        let list: Vec<Waiting> = map
            .iter()
            .map(|((uniqueid, queue), entered)| Waiting {
                uniqueid: uniqueid.clone(),
                queue: queue.clone(),
                entered: *entered,
            })
            .collect();
        list.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Map, D::Error> {
        let list = Vec::<Waiting>::deserialize(deserializer)?;
        Ok(list
            .into_iter()
            .map(|w| ((w.uniqueid, w.queue), w.entered))
            .collect())
    }
}

/// Events that end a call's wait in the queue without an answer.
const ABANDONS: [&str; 4] = ["ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"];
/// Events that end an answered call.
/// (The older `TRANSFER` event is not among them: the contract maps only
/// these, and a transferred call logs its own exit when it ends.)
const ENDS: [&str; 4] = [
    "COMPLETECALLER",
    "COMPLETEAGENT",
    "BLINDTRANSFER",
    "ATTENDEDTRANSFER",
];

impl QueueLogFeed {
    /// The actions of one line, updating the feed's state; other events
    /// (RINGNOANSWER, QUEUESTART, custom ones) are no action.
    pub fn apply(
        &mut self,
        line: &Line<'_>,
        queues: &QueueResolver,
        clock: Clock,
        out: &mut Vec<Action>,
    ) -> Result<(), RecordError> {
        let event = line.event;
        let kind = match event {
            "ENTERQUEUE" => CallEventKind::Offered,
            "CONNECT" => CallEventKind::Answered,
            e if ABANDONS.contains(&e) => CallEventKind::Abandoned,
            e if ENDS.contains(&e) => CallEventKind::Ended,
            "ADDMEMBER" | "REMOVEMEMBER" | "PAUSE" | "UNPAUSE" | "PAUSEALL" | "UNPAUSEALL" => {
                return self.member(line, queues, out);
            }
            _ => return Ok(()),
        };
        let at = future_check("epoch", &(line.at / 1000).to_string(), line.at, clock)?;
        let call_id = checked_id("uniqueid", line.uniqueid)
            .map_err(|r| RecordError::from_rejection(&r, "uniqueid", line.uniqueid))?;
        let queue = self.queue(line, queues)?;
        let agent = match kind {
            CallEventKind::Answered if !line.agent.is_empty() && line.agent != "NONE" => {
                checked_name("agent", line.agent).ok()
            }
            _ => None,
        };
        let key = (call_id, queue);
        match kind {
            CallEventKind::Offered => {
                if self.waiting.len() >= MAX_WAITING && !self.waiting.contains_key(&key) {
                    // The oldest entry makes room (it is closed as timed out
                    // once its time comes; see `close_waiting`).
                    if let Some(oldest) = self.oldest_waiting() {
                        self.waiting.remove(&oldest);
                    }
                }
                self.waiting.insert(key.clone(), at);
            }
            _ => {
                self.waiting.remove(&key);
            }
        }
        let (call_id, queue) = key;
        out.push(Action::Call(CallRecorded {
            call_id,
            queue,
            event: kind,
            at,
            agent,
            wrap_seconds: None,
        }));
        Ok(())
    }

    fn oldest_waiting(&self) -> Option<(String, String)> {
        self.waiting
            .iter()
            .min_by_key(|(_, entered)| **entered)
            .map(|(key, _)| key.clone())
    }

    /// The line's queue as golive names it.
    fn queue(&self, line: &Line<'_>, queues: &QueueResolver) -> Result<String, RecordError> {
        if line.queue.is_empty() || line.queue == "NONE" {
            return Err(RecordError::missing(
                "queue",
                "a call event names the queue the call is in",
            ));
        }
        queues.resolve("queue", line.queue)
    }

    /// ADDMEMBER / REMOVEMEMBER / PAUSE / UNPAUSE (and the …ALL forms,
    /// logged with queue NONE, for every queue the member is in). A pause
    /// or unpause of a member never added (a static member from
    /// queues.conf, which logs no ADDMEMBER) makes it a member.
    fn member(
        &mut self,
        line: &Line<'_>,
        queues: &QueueResolver,
        out: &mut Vec<Action>,
    ) -> Result<(), RecordError> {
        let agent = checked_name("agent", line.agent)
            .map_err(|r| RecordError::from_rejection(&r, "agent", line.agent))?;
        let all = matches!(line.event, "PAUSEALL" | "UNPAUSEALL");
        let targets: Vec<String> = if all || line.queue.is_empty() || line.queue == "NONE" {
            self.members
                .iter()
                .filter(|(_, members)| members.contains_key(&agent))
                .map(|(queue, _)| queue.clone())
                .collect()
        } else {
            vec![self.queue(line, queues)?]
        };
        for queue in targets {
            let before = self.staffed(&queue);
            let members = self.members.entry(queue.clone()).or_default();
            match line.event {
                "ADDMEMBER" => {
                    members.entry(agent.clone()).or_default();
                }
                "REMOVEMEMBER" => {
                    members.remove(&agent);
                }
                "PAUSE" | "PAUSEALL" => members.entry(agent.clone()).or_default().paused = true,
                _ => members.entry(agent.clone()).or_default().paused = false,
            }
            let after = self.staffed(&queue);
            if after != before {
                out.push(Action::Staffed {
                    queue,
                    agents: after,
                });
            }
        }
        Ok(())
    }

    /// Members of `queue` not paused.
    pub fn staffed(&self, queue: &str) -> u32 {
        self.members.get(queue).map_or(0, |members| {
            u32::try_from(members.values().filter(|m| !m.paused).count()).unwrap_or(u32::MAX)
        })
    }

    /// Closes the calls that entered a queue at least `after` ms before
    /// `now` and logged no exit: `ended` at entry + `after` (abandoned, as
    /// a leg ended without an answer).
    pub fn close_waiting(&mut self, now: Millis, after: Millis, out: &mut Vec<Action>) {
        let due: Vec<(String, String)> = self
            .waiting
            .iter()
            .filter(|(_, entered)| entered.saturating_add(after) <= now)
            .map(|(key, _)| key.clone())
            .collect();
        for key in due {
            if let Some(entered) = self.waiting.remove(&key) {
                let (call_id, queue) = key;
                out.push(Action::Call(CallRecorded {
                    call_id,
                    queue,
                    event: CallEventKind::Ended,
                    at: entered.saturating_add(after),
                    agent: None,
                    wrap_seconds: None,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests;
