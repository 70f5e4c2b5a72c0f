//! Property tests across a restart from a checkpoint: a random stream is
//! cut at a random point, the ledger and the aggregator are written to
//! checkpoint bytes and read back (as a restarted process does), and the
//! rest of the stream goes to the restored state. Every figure must equal
//! the brute-force oracle's and the state's that never restarted, and the
//! restored ledger must decide every later command as the other one does.

use super::*;
use crate::names::NameRules;

/// `events` folded with a restart at `cut`: everything before it into a
/// fresh aggregator, through checkpoint bytes, then the rest.
fn aggregate_across_restart(events: &[RecordedEvent], cut: usize) -> Aggregator {
    let before = aggregate(&events[..cut]);
    let bytes = before.checkpoint().expect("encode the aggregator");
    drop(before);
    let mut restored = Aggregator::from_checkpoint(&bytes).expect("decode the aggregator");
    for event in &events[cut..] {
        restored.apply(event);
    }
    restored
}

/// A ledger through checkpoint bytes.
fn restart(ledger: &Ledger) -> Ledger {
    let bytes = ledger.checkpoint().expect("encode the ledger");
    Ledger::from_checkpoint(&bytes, NameRules::default()).expect("decode the ledger")
}

/// What a ledger decides for each call event: the events committed (with
/// their sequence numbers) or the refusal's code.
fn decisions(
    ledger: &mut Ledger,
    calls: &[CallRecorded],
) -> Vec<Result<(u64, Vec<Event>), &'static str>> {
    calls
        .iter()
        .map(
            |call| match ledger.decide(Command::RecordCall(call.clone())) {
                Ok((_, events)) => Ok((ledger.last_seq(), events.into_iter().collect())),
                Err(rejection) => Err(rejection.code),
            },
        )
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn a_checkpoint_at_any_point_restarts_to_the_same_figures(
        plan in plan(),
        cut in any::<prop::sample::Index>(),
        windows in prop::collection::vec(window(), 3),
        dimension in prop::sample::select(TicketDimension::ALL.to_vec()),
        now_step in 0i64..(26 * 180),
    ) {
        let events = events_of(&plan);
        let cut = cut.index(events.len() + 1);
        let restored = aggregate_across_restart(&events, cut);
        let never_stopped = aggregate(&events);
        let oracle = Oracle::new(&events);
        prop_assert_eq!(restored.last_seq(), never_stopped.last_seq());
        prop_assert_eq!(restored.counts(), never_stopped.counts());
        for (from, to) in windows {
            for group_by in [None, Some(dimension)] {
                let report = restored.report(from, to, group_by);
                let dimensions: Vec<TicketDimension> = group_by.into_iter().collect();
                assert_report(&report, &oracle.report(from, to, &dimensions));
                prop_assert_eq!(&report, &never_stopped.report(from, to, group_by));
            }
            prop_assert_eq!(
                restored.report_grouped(from, to, &TicketDimension::ALL),
                never_stopped.report_grouped(from, to, &TicketDimension::ALL)
            );
            prop_assert_eq!(restored.trend(from, to, 5 * MINUTE), never_stopped.trend(from, to, 5 * MINUTE));
        }
        let now = T0 + now_step * STEP;
        for limits in [SeriesLimits::NONE, SeriesLimits { label_values: 2, label_sets: 5 }] {
            prop_assert_eq!(
                restored.totals(now, &limits),
                never_stopped.totals(now, &limits)
            );
        }
        prop_assert_eq!(restored.open_summary(now, None), never_stopped.open_summary(now, None));
        prop_assert_eq!(restored.open_summary(now, Some("North Clinic")), never_stopped.open_summary(now, Some("North Clinic")));
        prop_assert_eq!(restored.calls_waiting(now), oracle.calls_waiting(now));
        prop_assert_eq!(restored.board(now, Some(T0)), never_stopped.board(now, Some(T0)));
        prop_assert_eq!(restored.queues(), never_stopped.queues());
        prop_assert_eq!(aggregator_legs(&restored), oracle_legs(&oracle));
    }

    /// A ledger restored from a checkpoint at any point of its log, then
    /// fed the rest, holds every ticket and leg as the one that never
    /// stopped and decides every later call event alike (acceptances,
    /// duplicates and refusals, with the same sequence numbers).
    #[test]
    fn a_restored_ledger_decides_as_the_one_that_never_stopped(
        plan in plan(),
        cut in any::<prop::sample::Index>(),
        later in prop::collection::vec(call_plan(), 20..120),
    ) {
        let events = events_of(&plan);
        let cut = cut.index(events.len() + 1);
        let mut never_stopped = Ledger::new();
        let mut before = Ledger::new();
        for event in &events[..cut] {
            never_stopped.apply(event);
            before.apply(event);
        }
        let mut restored = restart(&before);
        drop(before);
        for event in &events[cut..] {
            never_stopped.apply(event);
            restored.apply(event);
        }
        prop_assert_eq!(restored.last_seq(), never_stopped.last_seq());
        prop_assert_eq!(restored.counts(), never_stopped.counts());
        for id in 0..=events.len() as u64 + 1 {
            prop_assert_eq!(restored.ticket_record(id), never_stopped.ticket_record(id));
        }
        // Raw feeds: repeats, conflicting outcomes, legs in queues the log
        // already has; a restart halfway through them as well.
        let feed = arriving(&later, Feed::Raw, 0);
        let half = feed.len() / 2;
        let mut expected = decisions(&mut never_stopped, &feed[..half]);
        expected.extend(decisions(&mut never_stopped, &feed[half..]));
        let mut actual = decisions(&mut restored, &feed[..half]);
        let mut again = restart(&restored);
        actual.extend(decisions(&mut again, &feed[half..]));
        prop_assert_eq!(actual, expected);
        for call in &feed {
            prop_assert_eq!(
                again.call_record(&call.call_id, &call.queue),
                never_stopped.call_record(&call.call_id, &call.queue)
            );
        }
    }
}
