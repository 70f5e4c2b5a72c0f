//! Alert rules for the command center, evaluated on every change of the
//! aggregates: raised when a condition starts to hold, cleared (with its
//! time) when it stops. Pure: the caller passes the figures and the clock.
//!
//! Rules (thresholds configurable, the `[alerts]` table):
//! - `sev1_open`: a site and application have active severity-1 tickets
//!   (critical: patient safety). One alert per site and application, since
//!   the oldest of them opened.
//! - `abandonment_high`: a queue's abandonment rate over the last 15 min is
//!   above `abandonment_rate_above`, with at least `min_calls` offered;
//!   critical above twice that.
//! - `asa_high`: a queue's ASA over the last 15 min is above
//!   `asa_seconds_above`, with at least `min_calls` offered; critical above
//!   twice that.
//! - `understaffed`: a queue's required agents exceed its staffed agents by
//!   at least `understaffed_by`; critical at twice that.
//! - `surge`: an application or site is surging (the aggregator's rule).
//! - `backlog_rising`: the open backlog grew at every 5-minute step of the
//!   last `backlog_rising_minutes`.
//!
//! The board's colours use the same thresholds ([`Thresholds`]): a figure
//! is amber where its warning alert fires and red where the critical one
//! does.
//!
//! An alert's id is its rule plus its scope (`abandonment_high:Nursing
//! Line`, `sev1_open:Main Campus:MAR`): the same condition always has the
//! same id, on every replica and across restarts, which is what an
//! acknowledgement (an event in the log) names.

use crate::aggregate::{Board, Sev1Group};
use crate::event::{AlertCleared, AlertRaised};
use crate::staffing::QueueStaffing;
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Thresholds of the rules; the `[alerts]` table of the configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertRules {
    pub abandonment_rate_above: f64,
    pub asa_seconds_above: f64,
    pub min_calls: u64,
    pub sev1_open: bool,
    pub backlog_rising_minutes: u32,
    pub surges: bool,
    pub understaffed_by: u32,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            abandonment_rate_above: 0.10,
            asa_seconds_above: 60.0,
            min_calls: 5,
            sev1_open: true,
            backlog_rising_minutes: 30,
            surges: true,
            understaffed_by: 2,
        }
    }
}

impl AlertRules {
    /// The board's colour thresholds: the warning and critical levels of
    /// these rules.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            abandonment_rate: Level {
                warn: self.abandonment_rate_above,
                bad: 2.0 * self.abandonment_rate_above,
            },
            asa_seconds: Level {
                warn: self.asa_seconds_above,
                bad: 2.0 * self.asa_seconds_above,
            },
            agents_short: Level {
                warn: f64::from(self.understaffed_by.max(1)),
                bad: 2.0 * f64::from(self.understaffed_by.max(1)),
            },
            min_calls: self.min_calls,
            sev1_open: self.sev1_open,
        }
    }
}

/// Where a figure turns amber (`warn`) and red (`bad`): strictly above.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Level {
    pub warn: f64,
    pub bad: f64,
}

/// The colour thresholds sent with every board, from [`AlertRules`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Thresholds {
    /// A queue's 15-minute abandonment rate (0..1).
    pub abandonment_rate: Level,
    /// A queue's 15-minute average speed of answer.
    pub asa_seconds: Level,
    /// Required minus staffed agents (amber and red at or above).
    pub agents_short: Level,
    /// Fewest calls offered before call rates are coloured.
    pub min_calls: u64,
    /// Whether an open severity-1 ticket turns its tile red.
    pub sev1_open: bool,
}

/// Minutes between the backlog samples of `backlog_rising`.
pub const BACKLOG_STEP_MINUTES: u32 = 5;

// Severity and scope are part of the logged fact (`AlertRaised`): they
// live with the events, which need nothing from this module.
pub use crate::event::{AlertScope, AlertSeverity as Severity};

/// A condition that holds now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Condition {
    /// Stable identity: rule plus scope, e.g. `abandonment_high:Physician Line`.
    pub id: String,
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub scope: AlertScope,
    /// When the condition began, where the figures say (a severity-1
    /// ticket's opening); otherwise the alert's `raised_at` stands.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::time::rfc3339::option::serialize"
    )]
    pub since: Option<Millis>,
    /// The figure that crossed its threshold (a rate, seconds, agents,
    /// tickets), for ordering within a rule: worst first.
    #[serde(skip)]
    pub value: f64,
}

/// Who acknowledged an alert, when, and why; from the log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Acknowledgement {
    /// The acknowledging token's name.
    pub by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub at: Millis,
    /// When the acknowledged occurrence of the alert was raised.
    #[serde(skip)]
    pub raised_at: Millis,
}

/// An alert as shown on the board and sent to sockets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    #[serde(flatten)]
    pub condition: Condition,
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub raised_at: Millis,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::time::rfc3339::option::serialize"
    )]
    pub cleared_at: Option<Millis>,
    /// Present once a lead acknowledged this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledgement>,
}

impl Alert {
    /// When the condition began: its data-given start, else its raise.
    pub fn since(&self) -> Millis {
        self.condition.since.unwrap_or(self.raised_at)
    }
}

/// What holds now, from the board, the open severity-1 tickets and the
/// live staffing; `backlog_samples` are the open backlog at each 5-minute
/// step, oldest first, ending now.
pub fn evaluate(
    rules: &AlertRules,
    board: &Board,
    sev1: &[Sev1Group],
    staffing: &[QueueStaffing],
    backlog_samples: &[u64],
) -> Vec<Condition> {
    let mut out = Vec::new();
    let level = |value: f64, above: f64| {
        if value > 2.0 * above {
            Severity::Critical
        } else {
            Severity::Warning
        }
    };
    if rules.sev1_open {
        for group in sev1 {
            out.push(Condition {
                id: format!("sev1_open:{}:{}", group.site, group.application),
                rule: "sev1_open",
                severity: Severity::Critical,
                message: format!(
                    "{} severity-1 ticket{} open: {} at {}",
                    group.open,
                    if group.open == 1 { "" } else { "s" },
                    group.application,
                    group.site
                ),
                scope: AlertScope {
                    site: Some(group.site.clone()),
                    application: Some(group.application.clone()),
                    queue: None,
                },
                since: Some(group.since),
                value: group.open as f64,
            });
        }
    }
    for (queue, calls) in &board.windows.last_15m.calls_by_queue {
        if calls.offered < rules.min_calls {
            continue;
        }
        if let Some(rate) = calls
            .abandonment_rate
            .filter(|r| *r > rules.abandonment_rate_above)
        {
            out.push(Condition {
                id: format!("abandonment_high:{queue}"),
                rule: "abandonment_high",
                severity: level(rate, rules.abandonment_rate_above),
                message: format!(
                    "{queue}: {:.0} % of calls abandoned in the last 15 min",
                    rate * 100.0
                ),
                scope: AlertScope::queue(queue),
                since: None,
                value: rate,
            });
        }
        if let Some(asa) = calls.asa_seconds.filter(|a| *a > rules.asa_seconds_above) {
            out.push(Condition {
                id: format!("asa_high:{queue}"),
                rule: "asa_high",
                severity: level(asa, rules.asa_seconds_above),
                message: format!("{queue}: average speed of answer {asa:.0} s in the last 15 min"),
                scope: AlertScope::queue(queue),
                since: None,
                value: asa,
            });
        }
    }
    if rules.understaffed_by > 0 {
        for line in staffing {
            if line.delta >= i64::from(rules.understaffed_by) {
                out.push(Condition {
                    id: format!("understaffed:{}", line.queue),
                    rule: "understaffed",
                    severity: if line.delta >= 2 * i64::from(rules.understaffed_by) {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    },
                    message: format!(
                        "{}: {} agents staffed, {} required (short by {})",
                        line.queue, line.agents_staffed, line.required_agents, line.delta
                    ),
                    scope: AlertScope::queue(&line.queue),
                    since: None,
                    value: line.delta as f64,
                });
            }
        }
    }
    if rules.surges {
        for surge in &board.surges {
            let dimension = surge.dimension.as_str();
            let mut scope = AlertScope::default();
            match surge.dimension {
                crate::model::TicketDimension::Site => scope.site = Some(surge.value.clone()),
                _ => scope.application = Some(surge.value.clone()),
            }
            out.push(Condition {
                id: format!("surge:{dimension}:{}", surge.value),
                rule: "surge",
                severity: Severity::Warning,
                message: format!(
                    "{} surging: {} tickets in 15 min, {:.1}× its baseline",
                    surge.value, surge.last_15m, surge.ratio
                ),
                scope,
                since: None,
                value: surge.ratio,
            });
        }
    }
    if rules.backlog_rising_minutes > 0
        && backlog_samples.len() >= 2
        && backlog_samples.windows(2).all(|w| w[1] > w[0])
    {
        let first = backlog_samples.first().copied().unwrap_or_default();
        let last = backlog_samples.last().copied().unwrap_or_default();
        out.push(Condition {
            id: "backlog_rising".into(),
            rule: "backlog_rising",
            severity: Severity::Warning,
            message: format!(
                "backlog rising for {} min: {first} → {last}",
                rules.backlog_rising_minutes
            ),
            scope: AlertScope::default(),
            since: None,
            value: last as f64,
        });
    }
    out
}

/// Triage rank of a rule within a severity: patient safety first, then
/// callers being lost, then what causes it, then the rest.
pub fn rule_rank(rule: &str) -> u8 {
    match rule {
        "sev1_open" => 0,
        "abandonment_high" => 1,
        "understaffed" => 2,
        "asa_high" => 3,
        "surge" => 4,
        "backlog_rising" => 5,
        _ => 6,
    }
}

/// The alerts standing at a past moment `now`, from the conditions that
/// held then, in triage order: a board as of that moment shows them as
/// raised then (the log keeps acknowledgements, not alert histories).
pub fn standing_at(now: Millis, holding: Vec<Condition>) -> Vec<Alert> {
    let mut book = AlertBook::default();
    book.update(now, holding);
    book.active()
}

/// The rules' names, for reading an alert back from the log.
pub const RULES: [&str; 6] = [
    "sev1_open",
    "abandonment_high",
    "understaffed",
    "asa_high",
    "surge",
    "backlog_rising",
];

/// The alerts raised and not yet cleared, and the acknowledgements: a fold
/// of the log's alert events ([`AlertRaised`], [`AlertCleared`],
/// [`AlertAcknowledged`](crate::event::AlertAcknowledged)), so every
/// replica that applied the same log holds the same alerts with the same
/// times. A raise of an active alert and a clear of an inactive one change
/// nothing (two leaders during a hand-over may both write one).
///
/// The leader (one process per database) compares what holds with the
/// book ([`AlertBook::pending`]) and writes the difference to the log;
/// every replica's held alerts follow its own latest figures for their
/// message ([`AlertBook::refresh`]).
///
/// An acknowledgement holds for the occurrence of the alert it was made
/// on (made at or after its raise) until the alert clears. A log written
/// before raises were logged holds acknowledgements without raises: at
/// the leader's first comparison, an alert that holds and was
/// acknowledged before is taken as the same occurrence, keeping its
/// acknowledgement and its raise time.
#[derive(Default)]
pub struct AlertBook {
    active: BTreeMap<String, Alert>,
    acks: BTreeMap<String, Acknowledgement>,
    evaluated: bool,
}

/// What an update changed.
#[derive(Debug, Default, PartialEq)]
pub struct AlertChanges {
    pub raised: Vec<Alert>,
    pub cleared: Vec<Alert>,
    /// Alerts whose acknowledgement arrived since the last update.
    pub acknowledged: Vec<Alert>,
}

impl AlertBook {
    /// Folds in an acknowledgement from the log; the acknowledged alert,
    /// when it is active and was raised at or before it.
    pub fn acknowledge(&mut self, alert_id: &str, ack: Acknowledgement) -> Option<Alert> {
        self.acks.insert(alert_id.to_owned(), ack.clone());
        let alert = self.active.get_mut(alert_id)?;
        if ack.at < alert.raised_at {
            return None;
        }
        alert.acknowledged = Some(ack);
        Some(alert.clone())
    }

    /// Folds in a raise from the log: the new alert, unless it is active.
    pub fn raise(&mut self, raised: &AlertRaised) -> Option<Alert> {
        if self.active.contains_key(&raised.alert_id) {
            return None;
        }
        let rule = RULES
            .iter()
            .find(|r| **r == raised.rule)
            .copied()
            .unwrap_or("unknown");
        let acknowledged = self
            .acks
            .get(&raised.alert_id)
            .filter(|ack| ack.at >= raised.at)
            .cloned();
        let alert = Alert {
            condition: Condition {
                id: raised.alert_id.clone(),
                rule,
                severity: raised.severity,
                message: raised.message.clone(),
                scope: raised.scope.clone(),
                since: raised.since,
                value: raised.value,
            },
            raised_at: raised.at,
            cleared_at: None,
            acknowledged,
        };
        self.active.insert(raised.alert_id.clone(), alert.clone());
        Some(alert)
    }

    /// Folds in a clear from the log: the cleared alert, if it was active.
    pub fn clear(&mut self, cleared: &AlertCleared) -> Option<Alert> {
        let mut alert = self.active.remove(&cleared.alert_id)?;
        // An acknowledgement outlives neither its alert nor a later raise.
        self.acks.remove(&cleared.alert_id);
        alert.cleared_at = Some(cleared.at);
        Some(alert)
    }

    /// The active alert with this id.
    pub fn get(&self, id: &str) -> Option<&Alert> {
        self.active.get(id)
    }

    /// What the leader writes so that the book matches the conditions
    /// holding at `now`: a raise for each new one, a clear for each that
    /// stopped holding.
    pub fn pending(
        &mut self,
        now: Millis,
        holding: &[Condition],
    ) -> (Vec<AlertRaised>, Vec<AlertCleared>) {
        let restoring = !std::mem::replace(&mut self.evaluated, true);
        let raises = holding
            .iter()
            .filter(|c| !self.active.contains_key(&c.id))
            .map(|condition| {
                let at = match self.acks.get(&condition.id) {
                    Some(ack) if restoring => ack.raised_at.min(now),
                    _ => now,
                };
                AlertRaised {
                    alert_id: condition.id.clone(),
                    rule: condition.rule.to_string(),
                    severity: condition.severity,
                    message: condition.message.clone(),
                    scope: condition.scope.clone(),
                    since: condition.since,
                    value: condition.value,
                    at,
                }
            })
            .collect();
        let clears = self
            .active
            .keys()
            .filter(|id| !holding.iter().any(|c| &c.id == *id))
            .map(|id| AlertCleared {
                alert_id: id.clone(),
                at: now,
            })
            .collect();
        if restoring {
            // Acknowledgements of alerts that no longer hold: if one holds
            // again later, that is a new occurrence.
            let holds = |id: &String| holding.iter().any(|c| &c.id == id);
            self.acks.retain(|id, _| holds(id));
        }
        (raises, clears)
    }

    /// Held alerts follow the latest figures (message, severity, worst
    /// figure); their raise time and acknowledgement stay.
    pub fn refresh(&mut self, holding: &[Condition]) {
        for condition in holding {
            if let Some(alert) = self.active.get_mut(&condition.id) {
                alert.condition = condition.clone();
            }
        }
    }

    /// [`AlertBook::pending`] folded in at once, then
    /// [`AlertBook::refresh`]: one process alone deciding and applying
    /// (tests, benches).
    pub fn update(&mut self, now: Millis, holding: Vec<Condition>) -> AlertChanges {
        let (raises, clears) = self.pending(now, &holding);
        let changes = AlertChanges {
            raised: raises.iter().filter_map(|r| self.raise(r)).collect(),
            cleared: clears.iter().filter_map(|c| self.clear(c)).collect(),
            acknowledged: Vec::new(),
        };
        self.refresh(&holding);
        changes
    }

    /// Active alerts in triage order: critical first; then those nobody
    /// acknowledged; then patient safety, lost callers, their causes; then
    /// the worst figure; then the longest standing.
    pub fn active(&self) -> Vec<Alert> {
        let mut list: Vec<Alert> = self.active.values().cloned().collect();
        list.sort_by(|a, b| {
            let key = |x: &Alert| {
                (
                    x.condition.severity,
                    x.acknowledged.is_some(),
                    rule_rank(x.condition.rule),
                )
            };
            key(a)
                .cmp(&key(b))
                .then_with(|| b.condition.value.total_cmp(&a.condition.value))
                .then_with(|| a.since().cmp(&b.since()))
                .then_with(|| a.condition.id.cmp(&b.condition.id))
        });
        list
    }
}

#[cfg(test)]
mod tests;
