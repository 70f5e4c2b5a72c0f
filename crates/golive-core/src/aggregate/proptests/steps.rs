//! Property test of [`Aggregator::reports_by_step`]: every step's report
//! equals the oracle's report over that step's window, for all tickets and
//! for a set of sites (whose counts are the sum of each site's, since a
//! fact belongs to the one site the ticket had then).

use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn reports_by_step_match_the_oracle(
        plan in plan(),
        (from, to) in window(),
        step_ms in prop::sample::select(vec![7_000i64, 5 * MINUTE, 60 * MINUTE]),
        chosen in prop::collection::btree_set(0usize..4, 0..4),
    ) {
        let events = events_of(&plan);
        let aggregator = aggregate(&events);
        let oracle = Oracle::new(&events);
        let to = to.min(from + 60 * step_ms);

        let steps = aggregator.reports_by_step(from, to, step_ms, None);
        let mut start = from;
        for step in &steps {
            let end = (start + step_ms).min(to);
            assert_report(step, &oracle.report(start, end, &[]));
            start = end;
        }
        prop_assert_eq!(start, to.max(from), "the steps cover the window");

        // "Nowhere" (index 3) is a site no ticket has.
        let names = [SITES[0], SITES[1], SITES[2], "Nowhere"];
        let sites: Vec<String> = chosen.iter().map(|&k| names[k].to_string()).collect();
        let steps = aggregator.reports_by_step(from, to, step_ms, Some(&sites));
        let mut start = from;
        for step in &steps {
            let end = (start + step_ms).min(to);
            let mut expected = [0u64; 5];
            for site in &sites {
                let only = [(TicketDimension::Site, site.as_str())];
                let f = oracle.ticket_figures(start, end, &only);
                for (sum, n) in expected.iter_mut().zip([f.opened, f.resolved, f.reopened, f.escalated, f.backlog]) {
                    *sum += n;
                }
            }
            let t = &step.tickets;
            prop_assert_eq!(
                [t.opened, t.resolved, t.reopened, t.escalated, t.backlog],
                expected,
                "sites {:?} over [{}, {})", &sites, &step.from, &step.to
            );
            start = end;
        }
    }
}
