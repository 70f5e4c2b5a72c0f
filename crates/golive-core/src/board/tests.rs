//! Unit tests of the typed board: scopes cut every part, a site's
//! figures equal those of a log holding only that site's tickets, and the
//! fingerprint ignores the clock but not the figures.

use super::*;
use crate::alerts::{AlertBook, evaluate};
use crate::event::{CallRecorded, Event, RecordedEvent, TicketChanged, TicketCreated};
use crate::model::{CallEventKind, Category, Channel, Severity, TicketDimension, TicketStatus};

/// 2026-03-02T08:00:00Z.
const T: Millis = 1_772_438_400_000;
const MIN: Millis = 60_000;

struct Log {
    events: Vec<Event>,
}

impl Log {
    fn ticket(&mut self, site: &str, app: &str, minutes_ago: i64, severity: u8, tier: Option<u8>) {
        let id = self.events.len() as u64 + 1;
        self.events.push(Event::TicketCreated(TicketCreated {
            id,
            external_id: None,
            opened_at: T - minutes_ago * MIN,
            site: site.into(),
            department: "ED".into(),
            application: app.into(),
            category: Category::HowTo,
            severity: Severity::new(severity).unwrap(),
            channel: Channel::Phone,
            summary: Some("PHI text".into()),
            reporter_role: None,
            status: TicketStatus::Open,
            resolved_at: None,
            assignee: None,
            tier,
            source_key: None,
            source_updated_at: None,
            known_issue: None,
        }));
    }

    fn resolve_last(&mut self, minutes_ago: i64) {
        let id = self.events.len() as u64;
        self.events.push(Event::TicketChanged(TicketChanged {
            id,
            at: T - minutes_ago * MIN,
            status: Some(TicketStatus::Resolved),
            ..TicketChanged::default()
        }));
    }

    fn call(&mut self, id: &str, queue: &str, minutes_ago: i64, abandoned: bool) {
        let at = T - minutes_ago * MIN;
        for (event, at) in [
            (CallEventKind::Offered, at),
            (
                if abandoned {
                    CallEventKind::Abandoned
                } else {
                    CallEventKind::Answered
                },
                at + 30_000,
            ),
        ] {
            self.events.push(Event::CallRecorded(CallRecorded {
                call_id: id.into(),
                queue: queue.into(),
                event,
                at,
                agent: None,
                wrap_seconds: None,
            }));
        }
    }

    fn aggregator(&self, keep: impl Fn(&Event) -> bool) -> Aggregator {
        let mut aggregator = Aggregator::new();
        for (seq, event) in self.events.iter().enumerate() {
            if keep(event) {
                aggregator.apply(&RecordedEvent {
                    seq: seq as u64 + 1,
                    recorded_at: T,
                    event: event.clone(),
                });
            }
        }
        aggregator
    }
}

fn morning() -> Log {
    let mut log = Log { events: Vec::new() };
    log.ticket("Main", "MAR", 10, 3, None);
    log.ticket("North", "MAR", 20, 1, None);
    log.ticket("North", "Orders", 70, 3, Some(2));
    log.ticket("North", "Orders", 300, 2, Some(3));
    log.ticket("Main", "Orders", 5, 3, None);
    log.resolve_last(2);
    log.ticket("North", "Lab", 1500, 4, None);
    for k in 0..8 {
        log.call(&format!("n{k}"), "Nursing", 3 + k, k % 2 == 0);
        log.call(&format!("p{k}"), "Physician", 4 + k, false);
    }
    log
}

fn settings<'a>(staffing: &'a StaffingSettings, rules: &'a AlertRules) -> Settings<'a> {
    Settings {
        staffing,
        rules,
        go_live_start: Some(T - 30 * 3_600_000),
    }
}

fn boards(aggregator: &Aggregator, now: Millis, scope: &Scope) -> LiveBoard {
    let staffing = StaffingSettings::default();
    let rules = AlertRules::default();
    let settings = settings(&staffing, &rules);
    let parts = Parts::new(aggregator, now, &settings);
    // Alerts raised at T whenever the board is built, as one book would.
    let mut book = AlertBook::default();
    book.update(
        T,
        evaluate(
            &rules,
            &parts.board,
            &parts.open.sev1,
            &parts.live.queues,
            &[],
        ),
    );
    LiveBoard::build(aggregator, &parts, &settings, scope, &book.active())
}

#[test]
fn a_site_board_equals_a_log_of_that_site_alone() {
    let log = morning();
    let all = log.aggregator(|_| true);
    let north_ids: Vec<u64> = log
        .events
        .iter()
        .filter_map(|e| match e {
            Event::TicketCreated(t) if t.site == "North" => Some(t.id),
            _ => None,
        })
        .collect();
    let north_only = log.aggregator(|e| match e {
        Event::TicketCreated(t) => t.site == "North",
        Event::TicketChanged(c) => north_ids.contains(&c.id),
        _ => false,
    });
    let board = boards(&all, T, &Scope::Site("North".into()));
    let json = serde_json::to_value(&board).unwrap();
    assert_eq!(
        json["scope"],
        serde_json::json!({"site": "North", "queue": null})
    );
    for (name, window) in [("15m", 15 * MIN), ("60m", 60 * MIN)] {
        let expected = north_only.report_grouped(
            T - window,
            T,
            &[TicketDimension::Application, TicketDimension::Site],
        );
        let shown = &json["windows"][name];
        assert_eq!(
            shown["tickets"],
            serde_json::to_value(&expected.tickets).unwrap()
        );
        assert_eq!(
            shown["tickets_by"],
            serde_json::to_value(&expected.tickets_by).unwrap()
        );
        assert!(shown.get("calls").is_none() && shown.get("calls_by_queue").is_none());
        assert_eq!(shown["staffing"], serde_json::json!([]));
        assert!(json["windows"]["since_go_live"].get("staffing").is_none());
    }
    assert_eq!(board.backlog_by_severity.as_ref().unwrap()["1"], 1);
    assert!(board.staffing.is_empty() && board.forecast.is_empty());
    assert!(board.calls_waiting.is_empty());
    let sev1 = board.sev1.as_ref().unwrap();
    assert_eq!(sev1.len(), 1);
    assert_eq!(
        (sev1[0].site.as_str(), sev1[0].application.as_str()),
        ("North", "MAR")
    );
    assert!(
        board
            .alerts
            .iter()
            .all(|a| a.condition.scope.site.as_deref() == Some("North"))
    );
    assert!(board.alerts.iter().any(|a| a.condition.rule == "sev1_open"));
    // Aging of North's open tickets: 20 min, 70 min, 5 h and 25 h old.
    let aging = board.aging.as_ref().unwrap();
    assert_eq!((aging.over_1h, aging.over_4h, aging.over_24h), (3, 2, 1));
    assert_eq!(aging.oldest_opened_at, Some(T - 1500 * MIN));
    let escalations = board.escalations.as_ref().unwrap();
    assert_eq!((escalations.tier_2, escalations.tier_3), (1, 1));
    assert_eq!(escalations.oldest_opened_at, Some(T - 300 * MIN));
    // The trend counts North's tickets only and no calls.
    let opened: u64 = board.trend.points.iter().map(|p| p.opened).sum();
    let offered: u64 = board.trend.points.iter().map(|p| p.offered).sum();
    assert_eq!((opened, offered), (2, 0), "North opened 20 and 70 min ago");
}

#[test]
fn a_queue_board_shows_that_queue_alone() {
    let log = morning();
    let all = log.aggregator(|_| true);
    let board = boards(&all, T, &Scope::Queue("Nursing".into()));
    let report = all.report(T - 15 * MIN, T, None);
    let w15 = &board.windows.last_15m;
    assert_eq!(w15.calls.as_ref(), report.calls_by_queue.get("Nursing"));
    assert_eq!(
        w15.calls_by_queue
            .as_ref()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["Nursing"]
    );
    assert!(w15.tickets.is_none() && w15.tickets_by.is_none());
    assert!(w15.staffing.iter().flatten().all(|l| l.queue == "Nursing"));
    assert_eq!(board.staffing.len(), 1);
    assert!(board.open_sev1.is_none() && board.sev1.is_none() && board.ate.is_empty());
    assert!(
        board
            .alerts
            .iter()
            .all(|a| a.condition.scope.queue.as_deref() == Some("Nursing"))
    );
    assert!(
        board
            .alerts
            .iter()
            .any(|a| a.condition.rule == "abandonment_high")
    );
    let offered: u64 = board.trend.points.iter().map(|p| p.offered).sum();
    assert_eq!(offered, 8);
    assert_eq!(board.trend.points.iter().map(|p| p.opened).sum::<u64>(), 0);
}

#[test]
fn the_whole_board_windows_are_the_report() {
    let log = morning();
    let all = log.aggregator(|_| true);
    let board = boards(&all, T, &Scope::All);
    let json = serde_json::to_value(&board).unwrap();
    assert!(json.get("scope").is_none());
    let report = all.report_grouped(
        T - 60 * MIN,
        T,
        &[TicketDimension::Application, TicketDimension::Site],
    );
    let mut expected = serde_json::to_value(&report).unwrap();
    expected["staffing"] = serde_json::to_value(&board.windows.last_60m.staffing).unwrap();
    assert_eq!(json["windows"]["60m"], expected);
    assert_eq!(json["go_live"]["day"], 2);
    assert_eq!(board.thresholds, AlertRules::default().thresholds());
    // Sev-1 comes first in the triage, and says where.
    assert_eq!(board.alerts[0].condition.id, "sev1_open:North:MAR");
    let line = &board.staffing[0];
    assert!(
        line.explanation.starts_with("Last 30 min:"),
        "{}",
        line.explanation
    );
    assert_eq!(line.interval_to - line.interval_from, 30 * MIN);
    assert!(!json.to_string().contains("PHI text"));
}

#[test]
fn the_fingerprint_ignores_the_clock_and_sees_the_figures() {
    let mut log = morning();
    let all = log.aggregator(|_| true);
    let now = boards(&all, T, &Scope::All);
    let later = boards(&all, T + 20_000, &Scope::All);
    assert_ne!(now.as_of, later.as_of);
    let text = |b: &LiveBoard| String::from_utf8(b.fingerprint()).unwrap();
    assert_eq!(text(&now), text(&later));
    log.ticket("Main", "MAR", 0, 3, None);
    let more = log.aggregator(|_| true);
    assert_ne!(text(&now), text(&boards(&more, T + 20_000, &Scope::All)));
}

#[test]
fn unknown_scopes_are_refused() {
    let all = morning().aggregator(|_| true);
    assert!(Scope::Site("North".into()).check(&all).is_ok());
    assert_eq!(
        Scope::Site("Nowhere".into()).check(&all),
        Err(ScopeError::UnknownSite("Nowhere".into()))
    );
    assert!(Scope::Queue("Nursing".into()).check(&all).is_ok());
    assert!(Scope::Queue("Pharmacy".into()).check(&all).is_err());
}
