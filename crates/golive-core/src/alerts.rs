//! Alert rules for the command center, evaluated on every change of the
//! aggregates: raised when a condition starts to hold, cleared (with its
//! time) when it stops. Pure: the caller passes the figures and the clock.
//!
//! Rules (thresholds configurable):
//! - `abandonment_high`: a queue's abandonment rate over the last 15 min is
//!   above `abandonment_rate_above`, with at least `min_calls` offered.
//! - `asa_high`: a queue's ASA over the last 15 min is above
//!   `asa_seconds_above`, with at least `min_calls` offered.
//! - `sev1_open`: any severity-1 ticket is active (critical).
//! - `backlog_rising`: the open backlog grew at every 5-minute step of the
//!   last `backlog_rising_minutes`.
//! - `surge`: an application or site is surging (the aggregator's rule).
//! - `understaffed`: a queue's required agents exceed its staffed agents by
//!   at least `understaffed_by`.

use crate::aggregate::Board;
use crate::staffing::QueueStaffing;
use crate::time::{Millis, format_rfc3339};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
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

/// Minutes between the backlog samples of `backlog_rising`.
pub const BACKLOG_STEP_MINUTES: u32 = 5;

/// A condition that holds now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Condition {
    /// Stable identity: rule plus scope, e.g. `abandonment_high:Physician Line`.
    pub id: String,
    pub rule: &'static str,
    /// `warning` or `critical`.
    pub severity: &'static str,
    pub message: String,
    pub scope: Value,
}

/// An alert as shown on the board and sent to sockets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    #[serde(flatten)]
    pub condition: Condition,
    pub raised_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleared_at: Option<String>,
}

/// What holds now, from the board and the live staffing; `backlog_samples`
/// are the open backlog at each 5-minute step, oldest first, ending now.
pub fn evaluate(
    rules: &AlertRules,
    board: &Board,
    staffing: &[QueueStaffing],
    backlog_samples: &[u64],
) -> Vec<Condition> {
    let mut out = Vec::new();
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
                severity: if rate > 2.0 * rules.abandonment_rate_above {
                    "critical"
                } else {
                    "warning"
                },
                message: format!(
                    "{queue}: {:.0} % of calls abandoned in the last 15 min",
                    rate * 100.0
                ),
                scope: json!({ "queue": queue }),
            });
        }
        if let Some(asa) = calls.asa_seconds.filter(|a| *a > rules.asa_seconds_above) {
            out.push(Condition {
                id: format!("asa_high:{queue}"),
                rule: "asa_high",
                severity: "warning",
                message: format!("{queue}: average speed of answer {asa:.0} s in the last 15 min"),
                scope: json!({ "queue": queue }),
            });
        }
    }
    if rules.sev1_open && board.open_sev1 > 0 {
        out.push(Condition {
            id: "sev1_open".into(),
            rule: "sev1_open",
            severity: "critical",
            message: format!("{} severity-1 ticket(s) open", board.open_sev1),
            scope: json!({}),
        });
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
            severity: "warning",
            message: format!(
                "backlog rising for {} min: {first} → {last}",
                rules.backlog_rising_minutes
            ),
            scope: json!({}),
        });
    }
    if rules.surges {
        for surge in &board.surges {
            let dimension = surge.dimension.as_str();
            out.push(Condition {
                id: format!("surge:{dimension}:{}", surge.value),
                rule: "surge",
                severity: "warning",
                message: format!(
                    "{} surging: {} tickets in 15 min, {:.1}× its baseline",
                    surge.value, surge.last_15m, surge.ratio
                ),
                scope: json!({ dimension: surge.value }),
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
                        "critical"
                    } else {
                        "warning"
                    },
                    message: format!(
                        "{}: {} agents staffed, {} required (short by {})",
                        line.queue, line.agents_staffed, line.required_agents, line.delta
                    ),
                    scope: json!({ "queue": line.queue }),
                });
            }
        }
    }
    out
}

/// The alerts raised and not yet cleared, and what changed at each update.
#[derive(Default)]
pub struct AlertBook {
    active: BTreeMap<String, Alert>,
}

/// What an update changed.
#[derive(Debug, Default, PartialEq)]
pub struct AlertChanges {
    pub raised: Vec<Alert>,
    pub cleared: Vec<Alert>,
}

impl AlertBook {
    /// Records the conditions holding at `now`: new ones are raised, ones
    /// that stopped holding are cleared; a held one keeps its raise time
    /// (its message follows the latest figures).
    pub fn update(&mut self, now: Millis, holding: Vec<Condition>) -> AlertChanges {
        let mut changes = AlertChanges::default();
        let mut next = BTreeMap::new();
        for condition in holding {
            match self.active.remove(&condition.id) {
                Some(mut alert) => {
                    alert.condition = condition;
                    next.insert(alert.condition.id.clone(), alert);
                }
                None => {
                    let alert = Alert {
                        condition,
                        raised_at: format_rfc3339(now),
                        cleared_at: None,
                    };
                    changes.raised.push(alert.clone());
                    next.insert(alert.condition.id.clone(), alert);
                }
            }
        }
        for (_, mut alert) in std::mem::take(&mut self.active) {
            alert.cleared_at = Some(format_rfc3339(now));
            changes.cleared.push(alert);
        }
        self.active = next;
        changes
    }

    /// Active alerts, critical first, then by raise time.
    pub fn active(&self) -> Vec<Alert> {
        let mut list: Vec<Alert> = self.active.values().cloned().collect();
        list.sort_by(|a, b| {
            (
                a.condition.severity != "critical",
                &a.raised_at,
                &a.condition.id,
            )
                .cmp(&(
                    b.condition.severity != "critical",
                    &b.raised_at,
                    &b.condition.id,
                ))
        });
        list
    }
}
