//! queue_log lines as Asterisk writes them, and the feed's state.

use super::*;
use golive_core::names::NameRules;

fn resolver() -> QueueResolver {
    QueueResolver::new(&QueueMapConfig::default(), NameRules::default()).unwrap()
}

fn clock() -> Clock {
    Clock::new(1_800_000_000_000, 300_000)
}

fn run(feed: &mut QueueLogFeed, text: &str) -> (Vec<Action>, Vec<(usize, RecordError)>) {
    let mut actions = Vec::new();
    let mut errors = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let result =
            parse_line(line).and_then(|line| feed.apply(&line, &resolver(), clock(), &mut actions));
        if let Err(error) = result {
            errors.push((number + 1, error));
        }
    }
    (actions, errors)
}

#[test]
fn lines_parse_with_their_fields() {
    let line =
        parse_line("1772434805|1772434800.1234|physician|NONE|ENTERQUEUE||5551234|1").unwrap();
    assert_eq!(line.at, 1_772_434_805_000);
    assert_eq!(
        (line.uniqueid, line.queue, line.event),
        ("1772434800.1234", "physician", "ENTERQUEUE")
    );
    assert_eq!(line.data, "|5551234|1");
    let line = parse_line("1772434805.25|NONE|q|PJSIP/201|PAUSE|lunch\r").unwrap();
    assert_eq!((line.at, line.data), (1_772_434_805_250, "lunch"));
    for (bad, field) in [
        ("1772434805|1772434800.1|q|NONE", "line"),
        ("", "line"),
        ("17724x4805|1.1|q|NONE|CONNECT|1|2|3", "epoch"),
        ("-5|1.1|q|NONE|CONNECT|1|2|3", "epoch"),
        ("99|1.1|q|NONE|CONNECT|1|2|3", "epoch"),
    ] {
        assert_eq!(parse_line(bad).unwrap_err().field, field, "{bad}");
    }
    // Any event name is of the shape (custom events are ignored later).
    for odd in [
        "1772434805|1.1|q|NONE|connect|1",
        "1772434805|1.1|q|NONE||1",
    ] {
        assert!(parse_line(odd).is_ok(), "{odd}");
    }
}

#[test]
fn calls_map_to_events_and_exits_close_the_wait() {
    let mut feed = QueueLogFeed::default();
    let (actions, errors) = run(
        &mut feed,
        "1772434800|1772434800.1|physician|NONE|ENTERQUEUE||5551234|1\n\
         1772434801|1772434800.1|physician|PJSIP/201|RINGNOANSWER|1000\n\
         1772434812|1772434800.1|physician|PJSIP/202|CONNECT|12|1772434812.9|2\n\
         1772435000|1772434800.1|physician|PJSIP/202|COMPLETECALLER|12|188|1\n\
         1772434900|1772434900.2|physician|NONE|ENTERQUEUE||5559876|1\n\
         1772434930|1772434900.2|physician|NONE|ABANDON|1|1|30\n\
         1772434950|1772434950.3|physician|NONE|ENTERQUEUE||5550000|1\n\
         1772434951|NONE|physician|NONE|QUEUESTART|\n",
    );
    assert!(errors.is_empty(), "{errors:?}");
    let calls: Vec<_> = actions
        .iter()
        .map(|a| match a {
            Action::Call(call) => (call.call_id.as_str(), call.event),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("1772434800.1", CallEventKind::Offered),
            ("1772434800.1", CallEventKind::Answered),
            ("1772434800.1", CallEventKind::Ended),
            ("1772434900.2", CallEventKind::Offered),
            ("1772434900.2", CallEventKind::Abandoned),
            ("1772434950.3", CallEventKind::Offered),
        ]
    );
    let Action::Call(call) = &actions[1] else {
        unreachable!()
    };
    assert_eq!(call.agent.as_deref(), Some("PJSIP/202"));
    // One call is still waiting; it is closed once its time is up.
    assert_eq!(feed.waiting.len(), 1);
    let mut closed = Vec::new();
    feed.close_waiting(1_772_434_950_000 + 599_000, 600_000, &mut closed);
    assert!(closed.is_empty());
    feed.close_waiting(1_772_434_950_000 + 600_000, 600_000, &mut closed);
    let [Action::Call(call)] = closed.as_slice() else {
        panic!("{closed:?}")
    };
    assert_eq!(
        (call.event, call.at),
        (CallEventKind::Ended, 1_772_435_550_000)
    );
    assert!(feed.waiting.is_empty());
}

#[test]
fn members_not_paused_are_the_staffed_agents() {
    let mut feed = QueueLogFeed::default();
    let (actions, errors) = run(
        &mut feed,
        "1772434000|REALTIME|physician|PJSIP/201|ADDMEMBER|\n\
         1772434001|REALTIME|physician|PJSIP/202|ADDMEMBER|\n\
         1772434002|REALTIME|nursing|PJSIP/202|ADDMEMBER|\n\
         1772434003|REALTIME|physician|PJSIP/202|ADDMEMBER|\n\
         1772434004|NONE|physician|PJSIP/201|PAUSE|lunch\n\
         1772434005|NONE|NONE|PJSIP/202|PAUSEALL|\n\
         1772434006|NONE|physician|PJSIP/201|UNPAUSE|\n\
         1772434007|NONE|NONE|PJSIP/202|UNPAUSEALL|\n\
         1772434008|REALTIME|physician|PJSIP/201|REMOVEMEMBER|\n\
         1772434009|NONE|nursing|PJSIP/203|UNPAUSE|\n",
    );
    assert!(errors.is_empty(), "{errors:?}");
    let staffed: Vec<_> = actions
        .iter()
        .map(|a| match a {
            Action::Staffed { queue, agents } => (queue.as_str(), *agents),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        staffed,
        [
            ("physician", 1),
            ("physician", 2),
            ("nursing", 1),
            ("physician", 1),
            ("nursing", 0),
            ("physician", 0),
            ("physician", 1),
            ("nursing", 1),
            ("physician", 2),
            ("physician", 1),
            ("nursing", 2),
        ]
    );
    assert_eq!((feed.staffed("physician"), feed.staffed("nursing")), (1, 2));
}

#[test]
fn the_feed_survives_a_save_and_load() {
    let mut feed = QueueLogFeed::default();
    run(
        &mut feed,
        "1772434000|REALTIME|physician|PJSIP/201|ADDMEMBER|\n\
         1772434950|1772434950.3|physician|NONE|ENTERQUEUE||5550000|1\n",
    );
    let text = serde_json::to_string(&feed).unwrap();
    let back: QueueLogFeed = serde_json::from_str(&text).unwrap();
    assert_eq!(back, feed);
}

#[test]
fn bad_lines_are_refused_naming_the_field() {
    let mut feed = QueueLogFeed::default();
    let (actions, errors) = run(
        &mut feed,
        "1772434950|1.3|NONE|NONE|ENTERQUEUE||5550000|1\n\
         1900000000|1.3|physician|NONE|ENTERQUEUE||5550000|1\n\
         1772434950|1.3|physician|NONE|CUSTOMTHING|x\n\
         1772434960|1.3|physician|PJSIP/201|TRANSFER|2001|from-internal|8|95|1\n\
         1772434960|1.3|physician|NONE|x-local.event|\n",
    );
    let fields: Vec<_> = errors
        .iter()
        .map(|(n, e)| (*n, e.code, e.field.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            (1, "missing_field", "queue"),
            (2, "future_timestamp", "epoch")
        ]
    );
    // TRANSFER (the older event) and custom events are ignored, not refused.
    assert!(actions.is_empty(), "{actions:?}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text: a line is parsed or refused, never a panic; a parsed
        /// line gives the epoch back to the second.
        #[test]
        fn any_line_parses_or_is_refused(text in "[0-9|A-Z.a-z/ ]{0,60}") {
            if let Ok(line) = parse_line(&text) {
                let epoch: &str = text.split('|').next().unwrap_or("");
                let whole: i64 = epoch.split('.').next().unwrap_or("").parse().unwrap();
                prop_assert_eq!(line.at / 1000, whole);
            }
        }

        /// Staffed agents equal a brute-force count over the member events
        /// of one queue.
        #[test]
        fn staffing_matches_a_recount(ops in proptest::collection::vec((0u8..4, 0u8..5), 0..60)) {
            let mut feed = QueueLogFeed::default();
            let mut oracle: BTreeMap<u8, bool> = BTreeMap::new();
            let mut text = String::new();
            for (op, agent) in &ops {
                let event = ["ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE"][*op as usize];
                text.push_str(&format!("1772434000|NONE|q|PJSIP/{agent}|{event}|\n"));
                match op {
                    0 => { oracle.entry(*agent).or_insert(false); }
                    1 => { oracle.remove(agent); }
                    2 => { oracle.insert(*agent, true); }
                    _ => { oracle.insert(*agent, false); }
                }
            }
            let (actions, errors) = run(&mut feed, &text);
            prop_assert!(errors.is_empty());
            let expected = oracle.values().filter(|paused| !**paused).count() as u32;
            prop_assert_eq!(feed.staffed("q"), expected);
            if let Some(Action::Staffed { agents, .. }) = actions.last() {
                prop_assert_eq!(*agents, expected);
            }
        }
    }
}

/// Every exit event of the reference maps to its outcome.
#[test]
fn every_exit_event_maps() {
    for (event, data, kind) in [
        ("ABANDON", "1|1|45", CallEventKind::Abandoned),
        ("EXITWITHTIMEOUT", "1|1|30", CallEventKind::Abandoned),
        ("EXITEMPTY", "1|1|5", CallEventKind::Abandoned),
        ("EXITWITHKEY", "1|1|1|40", CallEventKind::Abandoned),
        ("COMPLETECALLER", "8|240|1", CallEventKind::Ended),
        ("COMPLETEAGENT", "8|240|1", CallEventKind::Ended),
        (
            "BLINDTRANSFER",
            "2001|from-internal|8|95|1",
            CallEventKind::Ended,
        ),
        (
            "ATTENDEDTRANSFER",
            "BRIDGE|a1b2-bridge|8|95|1",
            CallEventKind::Ended,
        ),
    ] {
        let mut feed = QueueLogFeed::default();
        let text = format!(
            "1772434800|1772434800.1|physician|NONE|ENTERQUEUE||5551234|1\n\
             1772434900|1772434800.1|physician|PJSIP/201|{event}|{data}\n"
        );
        let (actions, errors) = run(&mut feed, &text);
        assert!(errors.is_empty(), "{event}: {errors:?}");
        let Some(Action::Call(call)) = actions.get(1) else {
            panic!("{event}: {actions:?}")
        };
        assert_eq!(call.event, kind, "{event}");
        assert!(feed.waiting.is_empty(), "{event} ends the wait");
    }
}
