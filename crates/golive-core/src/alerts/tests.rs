//! Unit tests of the alert rules, the triage order and acknowledgements.

use super::*;
use crate::aggregate::Sev1Group;

const T: Millis = 1_772_438_400_000;

fn condition(id: &str, rule: &'static str, severity: Severity, value: f64) -> Condition {
    Condition {
        id: id.into(),
        rule,
        severity,
        message: String::new(),
        scope: AlertScope::default(),
        since: None,
        value,
    }
}

fn ack(by: &str, at: Millis, raised_at: Millis) -> Acknowledgement {
    Acknowledgement {
        by: by.into(),
        note: Some("on it".into()),
        at,
        raised_at,
    }
}

#[test]
fn severity_one_alerts_name_site_and_application() {
    let board = crate::aggregate::Aggregator::new().board(T, None);
    let sev1 = vec![Sev1Group {
        site: "Main Campus".into(),
        application: "MAR".into(),
        open: 2,
        since: T - 600_000,
    }];
    let holding = evaluate(&AlertRules::default(), &board, &sev1, &[], &[]);
    assert_eq!(holding.len(), 1);
    let alert = &holding[0];
    assert_eq!(alert.id, "sev1_open:Main Campus:MAR");
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.since, Some(T - 600_000));
    assert_eq!(alert.scope.place(), "Main Campus · MAR");
    assert_eq!(
        alert.message,
        "2 severity-1 tickets open: MAR at Main Campus"
    );
}

#[test]
fn triage_puts_patient_safety_first_and_acknowledged_after() {
    let mut book = AlertBook::default();
    book.update(
        T,
        vec![
            condition(
                "abandonment_high:A",
                "abandonment_high",
                Severity::Warning,
                0.12,
            ),
            condition(
                "abandonment_high:B",
                "abandonment_high",
                Severity::Warning,
                0.18,
            ),
            condition("understaffed:A", "understaffed", Severity::Critical, 5.0),
            condition("sev1_open:X:Y", "sev1_open", Severity::Critical, 1.0),
            condition("surge:site:X", "surge", Severity::Warning, 4.0),
        ],
    );
    let order = |book: &AlertBook| -> Vec<String> {
        book.active().into_iter().map(|a| a.condition.id).collect()
    };
    assert_eq!(
        order(&book),
        [
            "sev1_open:X:Y",
            "understaffed:A",
            "abandonment_high:B",
            "abandonment_high:A",
            "surge:site:X"
        ]
    );
    let acknowledged = book.acknowledge("sev1_open:X:Y", ack("lead-1", T + 1, T));
    assert!(acknowledged.is_some_and(|a| a.acknowledged.is_some()));
    book.update(
        T + 1_000,
        book.active().into_iter().map(|a| a.condition).collect(),
    );
    assert_eq!(order(&book)[..2], ["understaffed:A", "sev1_open:X:Y"]);
}

#[test]
fn an_acknowledgement_holds_until_its_alert_clears() {
    let mut book = AlertBook::default();
    let held = || vec![condition("asa_high:Q", "asa_high", Severity::Warning, 90.0)];
    book.update(T, held());
    book.acknowledge("asa_high:Q", ack("lead-1", T + 5_000, T));
    book.update(T + 6_000, held());
    let alert = book.get("asa_high:Q").expect("active").clone();
    assert_eq!(
        alert.acknowledged.as_ref().map(|a| a.by.as_str()),
        Some("lead-1")
    );
    let json = serde_json::to_value(&alert).unwrap();
    assert_eq!(json["acknowledged"]["by"], "lead-1");
    assert_eq!(json["acknowledged"]["note"], "on it");
    assert_eq!(json["severity"], "warning");
    // Cleared, then raised again: a new occurrence nobody acknowledged.
    let cleared = book.update(T + 7_000, vec![]);
    assert_eq!(cleared.cleared.len(), 1);
    book.update(T + 8_000, held());
    assert!(
        book.get("asa_high:Q")
            .expect("active")
            .acknowledged
            .is_none()
    );
}

#[test]
fn a_restart_keeps_the_acknowledgement_of_an_alert_still_holding() {
    // The replayed log holds an acknowledgement of an alert raised at T.
    let mut book = AlertBook::default();
    book.acknowledge("understaffed:Q", ack("lead-2", T + 60_000, T));
    book.acknowledge("asa_high:Gone", ack("lead-2", T + 60_000, T));
    let holding = vec![condition(
        "understaffed:Q",
        "understaffed",
        Severity::Warning,
        2.0,
    )];
    let changes = book.update(T + 3_600_000, holding);
    let alert = book.get("understaffed:Q").expect("active");
    assert_eq!(
        alert.raised_at, T,
        "the same occurrence, raised when it was"
    );
    assert_eq!(alert.acknowledged.as_ref().map(|a| a.at), Some(T + 60_000));
    assert_eq!(changes.raised.len(), 1);
    // The acknowledgement of an alert that no longer holds is dropped: if
    // it holds again later, that is a new occurrence.
    book.update(
        T + 3_601_000,
        vec![
            condition("understaffed:Q", "understaffed", Severity::Warning, 2.0),
            condition("asa_high:Gone", "asa_high", Severity::Warning, 70.0),
        ],
    );
    assert!(
        book.get("asa_high:Gone")
            .expect("active")
            .acknowledged
            .is_none()
    );
}

/// The book is a fold of the log: a replica that applies the leader's
/// raises and clears holds the same alerts, with the same times, as the
/// leader; a repeated raise or clear (two leaders during a hand-over)
/// changes nothing.
#[test]
fn a_follower_applying_the_leaders_events_holds_the_same_alerts() {
    let mut leader = AlertBook::default();
    let mut follower = AlertBook::default();
    let holding = vec![
        condition("asa_high:Q", "asa_high", Severity::Warning, 90.0),
        condition("sev1_open:X:Y", "sev1_open", Severity::Critical, 1.0),
    ];
    let (raises, clears) = leader.pending(T, &holding);
    assert_eq!((raises.len(), clears.len()), (2, 0));
    for raised in &raises {
        let json =
            serde_json::to_string(&crate::event::Event::AlertRaised(raised.clone())).unwrap();
        let back: crate::event::Event = serde_json::from_str(&json).unwrap();
        let crate::event::Event::AlertRaised(back) = back else {
            panic!("an alert_raised event")
        };
        assert!(leader.raise(raised).is_some());
        assert!(follower.raise(&back).is_some());
        assert!(
            follower.raise(&back).is_none(),
            "a second raise changes nothing"
        );
    }
    assert_eq!(leader.active(), follower.active());
    let (raises, clears) = leader.pending(T + 5_000, &holding[..1]);
    assert_eq!((raises.len(), clears.len()), (0, 1));
    for cleared in &clears {
        let a = leader.clear(cleared).expect("was active");
        let b = follower.clear(cleared).expect("was active");
        assert_eq!(a, b);
        assert_eq!(a.cleared_at, Some(T + 5_000));
        assert!(
            follower.clear(cleared).is_none(),
            "a second clear changes nothing"
        );
    }
    assert_eq!(leader.active(), follower.active());
    assert_eq!(follower.active()[0].raised_at, T);
}

#[test]
fn thresholds_follow_the_rules() {
    let rules = AlertRules {
        abandonment_rate_above: 0.08,
        asa_seconds_above: 45.0,
        understaffed_by: 3,
        ..AlertRules::default()
    };
    let t = rules.thresholds();
    assert_eq!(t.abandonment_rate.warn, 0.08);
    assert_eq!(t.abandonment_rate.bad, 0.16);
    assert_eq!(t.asa_seconds.bad, 90.0);
    assert_eq!(t.agents_short.warn, 3.0);
    assert_eq!(t.min_calls, 5);
}
