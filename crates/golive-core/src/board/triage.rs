//! Alerts taken together for a triage: when three or more alerts of one
//! rule hold at once ("5 queues abandoning > 10 %"), the board shows them
//! as one group, worst severity first, with where each one is.

use crate::alerts::{Alert, AlertRules, Severity, rule_rank};
use crate::time::Millis;
use serde::Serialize;

/// Fewest alerts of one rule that are shown as a group.
pub const GROUP_AT: usize = 3;

/// Several alerts of one rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertGroup {
    pub rule: &'static str,
    /// The most severe of its alerts.
    pub severity: Severity,
    pub count: usize,
    /// The group in words: "5 queues abandoning > 10 %".
    pub summary: String,
    /// Its alerts' ids, in triage order.
    pub ids: Vec<String>,
    /// How many of them were acknowledged.
    pub acknowledged: usize,
    /// When the longest-standing of them began.
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub since: Millis,
}

/// Groups of the rules with [`GROUP_AT`] or more of `alerts` (in triage
/// order), in the order of their first alert.
pub fn groups(alerts: &[Alert], rules: &AlertRules) -> Vec<AlertGroup> {
    let mut out: Vec<AlertGroup> = Vec::new();
    for alert in alerts {
        let rule = alert.condition.rule;
        match out.iter_mut().find(|g| g.rule == rule) {
            Some(group) => {
                group.count += 1;
                group.severity = group.severity.min(alert.condition.severity);
                group.ids.push(alert.condition.id.clone());
                group.acknowledged += usize::from(alert.acknowledged.is_some());
                group.since = group.since.min(alert.since());
            }
            None => out.push(AlertGroup {
                rule,
                severity: alert.condition.severity,
                count: 1,
                summary: String::new(),
                ids: vec![alert.condition.id.clone()],
                acknowledged: usize::from(alert.acknowledged.is_some()),
                since: alert.since(),
            }),
        }
    }
    out.retain(|g| g.count >= GROUP_AT);
    for group in &mut out {
        group.summary = summary(group.rule, group.count, rules);
    }
    out.sort_by_key(|g| (g.severity, rule_rank(g.rule)));
    out
}

fn summary(rule: &str, n: usize, rules: &AlertRules) -> String {
    match rule {
        "sev1_open" => format!("severity-1 tickets open in {n} places"),
        "abandonment_high" => format!(
            "{n} queues abandoning > {} %",
            percent(rules.abandonment_rate_above)
        ),
        "asa_high" => format!(
            "{n} queues answering in > {:.0} s on average",
            rules.asa_seconds_above
        ),
        "understaffed" => format!(
            "{n} queues short by {} or more agents",
            rules.understaffed_by
        ),
        "surge" => format!("{n} applications and sites surging"),
        other => format!("{n} × {other}"),
    }
}

/// 0.1 → "10", 0.075 → "7.5".
fn percent(rate: f64) -> String {
    let pct = (rate * 1000.0).round() / 10.0;
    if pct.fract() == 0.0 {
        format!("{pct:.0}")
    } else {
        format!("{pct:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{AlertScope, Condition};

    fn alert(rule: &'static str, place: &str, severity: Severity, raised_at: Millis) -> Alert {
        Alert {
            condition: Condition {
                id: format!("{rule}:{place}"),
                rule,
                severity,
                message: String::new(),
                scope: AlertScope::default(),
                since: None,
                value: 0.0,
            },
            raised_at,
            cleared_at: None,
            acknowledged: None,
        }
    }

    #[test]
    fn groups_three_or_more_of_a_rule() {
        let alerts = vec![
            alert("sev1_open", "A", Severity::Critical, 5),
            alert("abandonment_high", "Q1", Severity::Critical, 9),
            alert("abandonment_high", "Q2", Severity::Warning, 3),
            alert("abandonment_high", "Q3", Severity::Warning, 7),
            alert("abandonment_high", "Q4", Severity::Warning, 8),
            alert("abandonment_high", "Q5", Severity::Warning, 8),
            alert("surge", "X", Severity::Warning, 1),
            alert("surge", "Y", Severity::Warning, 1),
        ];
        let groups = groups(&alerts, &AlertRules::default());
        assert_eq!(groups.len(), 1, "sev-1 once, surges twice: no group");
        let group = &groups[0];
        assert_eq!(group.summary, "5 queues abandoning > 10 %");
        assert_eq!(group.severity, Severity::Critical);
        assert_eq!(group.since, 3);
        assert_eq!(group.ids.len(), 5);
        assert_eq!(percent(0.075), "7.5");
    }
}
