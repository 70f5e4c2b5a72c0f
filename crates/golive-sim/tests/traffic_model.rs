//! Checks that the traffic model is deterministic, looks like a go-live
//! (mixes, daily shape, abandonment) and only ever produces requests the
//! external contract accepts.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use golive_sim::{
    Action, CallEventKind, Category, Request, SimConfig, Status, TrafficModel, ndjson_backfill,
};
use serde_json::Value;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap()
}

/// Go-live at midnight hospital time (UTC here) on day 1.
fn config(seed: u64) -> SimConfig {
    SimConfig {
        base_url: "http://127.0.0.1:1".into(),
        token: "t".into(),
        speed: 1.0,
        seed,
        go_live_start: at("2026-03-02T00:00:00Z"),
        backfill_hours: 0.0,
        utc_offset_minutes: 0,
        tickets_per_hour_peak: 120.0,
        calls_scale: 1.0,
        daily_decay: 0.75,
    }
}

fn run(seed: u64, hours: i64) -> Vec<Request> {
    let config = config(seed);
    let mut model = TrafficModel::new(&config);
    model.advance_to(config.go_live_start + TimeDelta::hours(hours))
}

fn tickets(requests: &[Request]) -> Vec<&golive_sim::NewTicket> {
    requests
        .iter()
        .filter_map(|r| match &r.action {
            Action::CreateTicket {
                ticket,
                resend: false,
                ..
            } => Some(ticket),
            _ => None,
        })
        .collect()
}

fn in_hours(t: DateTime<Utc>, from: i64, to: i64) -> bool {
    let day = at("2026-03-02T00:00:00Z");
    t >= day + TimeDelta::hours(from) && t < day + TimeDelta::hours(to)
}

#[test]
fn same_seed_same_requests_however_the_clock_is_stepped() {
    let config = config(7);
    let end = config.go_live_start + TimeDelta::hours(30);

    let mut whole = TrafficModel::new(&config);
    let once = whole.advance_to(end);

    let mut stepped = TrafficModel::new(&config);
    let mut pieces = Vec::new();
    let mut t = config.go_live_start - TimeDelta::minutes(5);
    while t < end {
        // Uneven steps, like a real-time driver's ticks.
        t = (t + TimeDelta::milliseconds(250 * 60 * 7 + 13)).min(end);
        pieces.extend(stepped.advance_to(t));
    }
    assert!(once.len() > 1000);
    assert_eq!(once, pieces);

    assert_eq!(run(7, 6), run(7, 6));
    assert_ne!(run(7, 6), run(8, 6));
    assert_eq!(ndjson_backfill(&config, 3.0), ndjson_backfill(&config, 3.0));
}

#[test]
fn requests_come_in_send_order_and_never_carry_later_timestamps() {
    let requests = run(3, 48);
    for pair in requests.windows(2) {
        assert!(pair[0].send_at <= pair[1].send_at);
    }
    for r in &requests {
        let latest = match &r.action {
            Action::CreateTicket { ticket, .. } => ticket.resolved_at.unwrap_or(ticket.opened_at),
            Action::UpdateTicket { update, .. } => update.at,
            Action::CallEvent(event) => event.at,
            Action::PutQueue { .. } => r.send_at,
        };
        assert!(latest <= r.send_at, "{r:?}");
    }
}

#[test]
fn day_one_morning_looks_like_a_go_live() {
    for seed in [1, 2, 42] {
        let requests = run(seed, 24);
        let all = tickets(&requests);
        let morning: Vec<_> = all
            .iter()
            .filter(|t| in_hours(t.opened_at, 6, 12))
            .collect();
        assert!(morning.len() > 300, "{}", morning.len());

        let mut by_category: HashMap<Category, usize> = HashMap::new();
        for t in &morning {
            *by_category.entry(t.category).or_default() += 1;
        }
        let how_to = by_category[&Category::HowTo];
        assert!(by_category.values().all(|n| *n <= how_to));
        let share = how_to as f64 / morning.len() as f64;
        assert!((0.45..0.7).contains(&share), "how_to share {share}");

        let sev1 = all.iter().filter(|t| t.severity == 1).count() as f64 / all.len() as f64;
        let sev2 = all.iter().filter(|t| t.severity == 2).count() as f64 / all.len() as f64;
        assert!(sev1 < 0.02, "sev-1 share {sev1}");
        assert!((0.05..0.16).contains(&sev2), "sev-2 share {sev2}");

        let at_ten = all.iter().filter(|t| in_hours(t.opened_at, 10, 11)).count();
        let at_three = all.iter().filter(|t| in_hours(t.opened_at, 3, 4)).count();
        assert!(at_ten > 3 * at_three, "10:00 {at_ten} vs 03:00 {at_three}");

        let fcr =
            all.iter().filter(|t| t.status == Status::Resolved).count() as f64 / all.len() as f64;
        assert!((0.2..0.6).contains(&fcr), "first-contact share {fcr}");
        let integration = all.iter().filter(|t| t.external_id.is_some()).count();
        assert!(integration > 0 && integration < all.len() / 2);
    }
}

#[test]
fn volume_decays_day_over_day() {
    let requests = run(5, 72);
    let all = tickets(&requests);
    let per_day: Vec<usize> = (0..3)
        .map(|d| {
            all.iter()
                .filter(|t| in_hours(t.opened_at, 24 * d, 24 * (d + 1)))
                .count()
        })
        .collect();
    assert!(
        per_day[0] > per_day[1] && per_day[1] > per_day[2],
        "{per_day:?}"
    );
    assert!((700..2200).contains(&per_day[0]), "{per_day:?}");
}

#[test]
fn surges_concentrate_on_one_application() {
    let requests = run(11, 24);
    let all = tickets(&requests);
    // Find the busiest 30-minute window for a single application.
    let mut best = 0;
    for start in (0..24 * 60).step_by(10) {
        let from = at("2026-03-02T00:00:00Z") + TimeDelta::minutes(start);
        let to = from + TimeDelta::minutes(30);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for t in all
            .iter()
            .filter(|t| t.opened_at >= from && t.opened_at < to)
        {
            *counts.entry(t.application.as_str()).or_default() += 1;
        }
        best = best.max(counts.values().copied().max().unwrap_or(0));
    }
    // Without a surge one application gets at most ~15 tickets in half an
    // hour even at peak.
    assert!(best >= 25, "busiest application half hour: {best}");
}

#[test]
fn every_ticket_and_update_is_acceptable_to_the_contract() {
    let categories = [
        "how_to",
        "break_fix",
        "access",
        "hardware",
        "workflow",
        "data",
        "interface",
        "other",
    ];
    let channels = ["phone", "ate", "walk_in", "chat", "email", "portal"];
    let statuses = [
        "open",
        "in_progress",
        "pending",
        "escalated",
        "resolved",
        "closed",
    ];
    let requests = run(9, 48);
    let mut opened: HashMap<u64, DateTime<Utc>> = HashMap::new();
    let mut seen_channels = HashSet::new();
    for r in &requests {
        match &r.action {
            Action::CreateTicket { key, ticket, .. } => {
                let body = serde_json::to_value(ticket).unwrap();
                for field in ["site", "department", "application"] {
                    let value = body[field].as_str().unwrap();
                    assert!(!value.trim().is_empty() && value.trim().chars().count() <= 64);
                }
                assert!(categories.contains(&body["category"].as_str().unwrap()));
                assert!(channels.contains(&body["channel"].as_str().unwrap()));
                seen_channels.insert(body["channel"].as_str().unwrap().to_string());
                assert!((1..=4).contains(&body["severity"].as_u64().unwrap()));
                let status = body["status"].as_str().unwrap();
                assert!(statuses.contains(&status));
                let summary = body["summary"].as_str().unwrap();
                assert!(!summary.is_empty() && summary.len() <= 4000);
                assert!(!summary.contains('{'), "unfilled template: {summary}");
                let opened_at = at(body["opened_at"].as_str().unwrap());
                match body.get("resolved_at") {
                    Some(resolved) => {
                        assert!(status == "resolved" || status == "closed");
                        assert!(at(resolved.as_str().unwrap()) >= opened_at);
                    }
                    None => assert!(status != "resolved" && status != "closed"),
                }
                if let Some(external) = body.get("external_id") {
                    assert!(external.as_str().unwrap().starts_with("INC"));
                }
                opened.entry(*key).or_insert(opened_at);
            }
            Action::UpdateTicket { key, update, .. } => {
                let opened_at = opened[key];
                assert!(update.at > opened_at);
                let body = serde_json::to_value(update).unwrap();
                if let Some(status) = body.get("status") {
                    assert!(statuses.contains(&status.as_str().unwrap()));
                }
                if let Some(tier) = body.get("tier") {
                    assert!((1..=3).contains(&tier.as_u64().unwrap()));
                }
            }
            Action::PutQueue { settings, .. } => {
                assert!(settings.agents_staffed >= 2);
                assert!(settings.service_level_target > 0.0 && settings.service_level_target < 1.0);
            }
            Action::CallEvent(_) => {}
        }
    }
    assert_eq!(seen_channels.len(), channels.len());
}

#[test]
fn ticket_histories_are_consistent() {
    let requests = run(4, 72);
    let mut history: HashMap<u64, Vec<(DateTime<Utc>, Status)>> = HashMap::new();
    let mut resolutions = 0;
    let mut reopens = 0;
    let mut escalations = 0;
    for r in &requests {
        match &r.action {
            Action::CreateTicket {
                key,
                ticket,
                resend: false,
                ..
            } => {
                history
                    .entry(*key)
                    .or_default()
                    .push((ticket.opened_at, ticket.status));
            }
            Action::UpdateTicket { key, update, .. } => {
                let entries = history.get_mut(key).expect("update before creation");
                let (previous_at, previous) = *entries.last().unwrap();
                assert!(update.at > previous_at);
                if let Some(status) = update.status {
                    if previous.is_done() && !status.is_done() {
                        reopens += 1;
                    }
                    if !previous.is_done() && status.is_done() {
                        resolutions += 1;
                    }
                    if status == Status::Escalated {
                        escalations += 1;
                    }
                    entries.push((update.at, status));
                }
            }
            _ => {}
        }
    }
    assert!(resolutions > 500);
    assert!(reopens > 10 && reopens < resolutions / 10, "{reopens}");
    assert!(escalations > 50, "{escalations}");
}

#[test]
fn calls_follow_offered_then_answered_and_ended_or_abandoned() {
    let requests = run(6, 48);
    let horizon = at("2026-03-04T00:00:00Z");
    let mut calls: HashMap<String, HashMap<CallEventKind, Vec<DateTime<Utc>>>> = HashMap::new();
    let mut late_offers = 0;
    for r in &requests {
        if let Action::CallEvent(event) = &r.action {
            let events = calls.entry(event.call_id.clone()).or_default();
            if event.event == CallEventKind::Answered
                && !events.contains_key(&CallEventKind::Offered)
            {
                late_offers += 1;
            }
            events.entry(event.event).or_default().push(event.at);
            if event.event == CallEventKind::Answered {
                assert!(event.agent.is_some());
            }
            if event.event == CallEventKind::Ended {
                assert!((20..=60).contains(&event.wrap_seconds.unwrap()));
            }
        }
    }
    assert!(
        late_offers > 0,
        "some offers should arrive after the answer"
    );
    for (id, events) in &calls {
        let offered = events.get(&CallEventKind::Offered).expect(id);
        let offered = offered[0];
        let answered = events.get(&CallEventKind::Answered);
        let abandoned = events.get(&CallEventKind::Abandoned);
        let ended = events.get(&CallEventKind::Ended);
        match (answered, abandoned) {
            (Some(answered), None) => {
                assert!(answered[0] >= offered);
                if answered[0] + TimeDelta::minutes(9) > horizon {
                    continue;
                }
                let ended = ended.expect("answered calls end");
                let talk = (ended[0] - answered[0]).num_seconds();
                assert!((180..=480).contains(&talk), "handle {talk}");
            }
            (None, Some(abandoned)) => {
                assert!(abandoned[0] > offered);
                assert!(ended.is_none());
            }
            _ => panic!("call {id} must be answered or abandoned, not both/neither"),
        }
        // Repeats (a re-sent "ended") are identical to the original.
        for times in events.values() {
            assert!(times.iter().all(|t| *t == times[0]));
        }
    }
}

#[test]
fn abandonment_at_peak_is_plausible() {
    for seed in [1, 2, 3] {
        let requests = run(seed, 24);
        let mut offered = HashMap::new();
        let mut abandoned = HashSet::new();
        let mut waits = Vec::new();
        let mut answered_at = HashMap::new();
        for r in &requests {
            if let Action::CallEvent(e) = &r.action {
                match e.event {
                    CallEventKind::Offered => {
                        offered.insert(e.call_id.clone(), e.at);
                    }
                    CallEventKind::Abandoned => {
                        abandoned.insert(e.call_id.clone());
                    }
                    CallEventKind::Answered => {
                        answered_at.insert(e.call_id.clone(), e.at);
                    }
                    CallEventKind::Ended => {}
                }
            }
        }
        let peak: Vec<_> = offered
            .iter()
            .filter(|(_, t)| in_hours(**t, 9, 12))
            .map(|(id, _)| id)
            .collect();
        let rate =
            peak.iter().filter(|id| abandoned.contains(**id)).count() as f64 / peak.len() as f64;
        // The nursing line is overloaded at peak by design (see
        // morning_peak_overloads_the_nursing_line), which lifts the total.
        assert!((0.05..0.30).contains(&rate), "peak abandonment {rate}");
        for id in &peak {
            if let Some(answered) = answered_at.get(*id) {
                waits.push((*answered - offered[*id]).num_milliseconds() as f64 / 1000.0);
            }
        }
        let asa = waits.iter().sum::<f64>() / waits.len() as f64;
        assert!((5.0..180.0).contains(&asa), "peak ASA {asa}");

        let night: Vec<_> = offered
            .iter()
            .filter(|(_, t)| in_hours(**t, 1, 5))
            .map(|(id, _)| id)
            .collect();
        let night_rate = night.iter().filter(|id| abandoned.contains(**id)).count() as f64
            / night.len().max(1) as f64;
        assert!(night_rate < 0.15, "night abandonment {night_rate}");
    }
}

#[test]
fn ndjson_lines_are_valid_and_updates_find_their_tickets() {
    let config = config(12);
    let lines = ndjson_backfill(&config, 6.0);
    assert!(lines.len() > 500);
    let mut externals = HashSet::new();
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for line in &lines {
        assert!(!line.contains('\n'));
        let value: Value = serde_json::from_str(line).unwrap();
        let kind = value["kind"].as_str().unwrap().to_string();
        match kind.as_str() {
            "ticket" => {
                if let Some(external) = value.get("external_id").and_then(Value::as_str) {
                    externals.insert(external.to_string());
                }
                assert!(value.get("opened_at").is_some());
            }
            "ticket_update" => {
                let external = value["external_id"].as_str().unwrap();
                assert!(externals.contains(external), "update before its ticket");
                assert!(value.get("at").is_some());
            }
            "call" => {
                assert!(value.get("call_id").is_some() && value.get("event").is_some());
            }
            other => panic!("unexpected kind {other}"),
        }
        *kinds.entry(kind).or_default() += 1;
    }
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    // Backfill starts at go-live: no line is dated before it.
    assert!(lines.iter().all(|l| !l.contains("2026-03-01T")));
}

#[test]
fn long_runs_settle_at_a_steady_state_instead_of_stalling() {
    let mut config = config(21);
    config.daily_decay = 0.3;
    let mut model = TrafficModel::new(&config);
    let requests = model.advance_to(config.go_live_start + TimeDelta::days(20));
    let last_day = tickets(&requests)
        .iter()
        .filter(|t| t.opened_at >= config.go_live_start + TimeDelta::days(19))
        .count();
    // About a tenth of day 1, still a working help desk.
    assert!((60..250).contains(&last_day), "{last_day}");
}

/// The nursing line, staffed for 40 % of its calls, is overloaded at the
/// day-1 morning peak: callers queue for minutes and many hang up, while
/// the physician line copes. Waits come from the queue itself: answered
/// or abandoned minus offered.
#[test]
fn morning_peak_overloads_the_nursing_line() {
    for seed in [1, 2, 3] {
        let requests = run(seed, 24);
        let mut offered: HashMap<String, (String, DateTime<Utc>)> = HashMap::new();
        let mut settled: HashMap<String, (CallEventKind, DateTime<Utc>)> = HashMap::new();
        for r in &requests {
            if let Action::CallEvent(e) = &r.action {
                match e.event {
                    CallEventKind::Offered => {
                        offered.insert(e.call_id.clone(), (e.queue.clone(), e.at));
                    }
                    CallEventKind::Answered | CallEventKind::Abandoned => {
                        settled.insert(e.call_id.clone(), (e.event, e.at));
                    }
                    CallEventKind::Ended => {}
                }
            }
        }
        let figures = |queue: &str| {
            let (mut calls, mut abandoned, mut answered, mut answer_wait, mut wait) =
                (0.0, 0.0, 0.0, 0.0, 0.0);
            for (id, (q, at)) in &offered {
                if q != queue || !in_hours(*at, 9, 11) {
                    continue;
                }
                let (kind, end) = settled[id];
                let seconds = (end - *at).num_milliseconds() as f64 / 1000.0;
                calls += 1.0;
                wait += seconds;
                if kind == CallEventKind::Abandoned {
                    abandoned += 1.0;
                } else {
                    answered += 1.0;
                    answer_wait += seconds;
                }
            }
            // Little's law: mean callers waiting = total waiting / 2 hours.
            (abandoned / calls, answer_wait / answered, wait / 7200.0)
        };
        let (abandon, asa, waiting) = figures("Nursing Line");
        assert!(abandon > 0.15, "seed {seed}: nursing abandonment {abandon}");
        assert!(asa > 30.0, "seed {seed}: nursing ASA {asa}");
        // On average over the two hours; more at the top of the peak.
        assert!(
            waiting > 1.0,
            "seed {seed}: nursing callers waiting {waiting}"
        );
        let (abandon, _, waiting) = figures("Physician Line");
        assert!(
            abandon < 0.15,
            "seed {seed}: physician abandonment {abandon}"
        );
        assert!(
            waiting < 1.0,
            "seed {seed}: physician callers waiting {waiting}"
        );
    }
}
