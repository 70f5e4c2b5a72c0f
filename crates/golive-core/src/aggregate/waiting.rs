//! Waiting exposure per queue: the abandons and the seconds callers spent
//! waiting in a window, the two sums measured patience is made of (see the
//! module documentation of `aggregate` for the definition).

use super::Aggregator;
use crate::patience::WaitingExposure;
use crate::time::Millis;

/// How far before a window a call may have been offered and still count
/// as waiting in it. An hour on hold is far beyond any caller's patience;
/// a longer reach would mostly pick up calls whose end the feed lost, and
/// cost a scan of more history on every board.
const LOOKBACK_MS: Millis = 3600 * 1000;

impl Aggregator {
    /// Per known queue (sorted by name): abandons with their time in
    /// `[from, to)` and seconds of waiting inside `[from, to)`.
    pub fn waiting_exposure(&self, from: Millis, to: Millis) -> Vec<(String, WaitingExposure)> {
        let mut sums = vec![(0u64, 0i128); self.queues.len()];
        let scan_from = from.saturating_sub(LOOKBACK_MS);
        for (_, bucket) in self.timeline.window(scan_from, to) {
            for &index in &bucket.offered {
                let call = &self.calls[index as usize];
                let offered = call.offered_at;
                if offered < scan_from || offered >= to {
                    continue;
                }
                let (end, abandoned) = match (call.answered_at(), call.abandoned_at()) {
                    (Some(answered), _) => (answered, false),
                    (None, Some(abandoned)) => (abandoned, true),
                    // Still waiting: up to the window's end.
                    (None, None) => (to, false),
                };
                let Some((abandons, waited_ms)) = sums.get_mut(call.queue as usize) else {
                    continue;
                };
                let inside = end.min(to) - offered.max(from);
                if inside > 0 {
                    *waited_ms += i128::from(inside);
                }
                if abandoned && from <= end && end < to {
                    *abandons += 1;
                }
            }
        }
        let mut out: Vec<(String, WaitingExposure)> = sums
            .into_iter()
            .enumerate()
            .map(|(queue, (abandons, waited_ms))| {
                (
                    self.queues.name(queue).to_owned(),
                    WaitingExposure {
                        abandons,
                        waiting_seconds: waited_ms as f64 / 1000.0,
                    },
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::aggregate::Aggregator;
    use crate::event::{CallRecorded, Event, RecordedEvent};
    use crate::model::CallEventKind;
    use crate::patience::WaitingExposure;
    use crate::time::Millis;

    const T: Millis = 1_772_435_645_000;

    fn feed(aggregator: &mut Aggregator, events: &[(&str, &str, CallEventKind, Millis)]) {
        for (seq, (call, queue, kind, at)) in events.iter().enumerate() {
            aggregator.apply(&RecordedEvent {
                seq: seq as u64 + 1,
                recorded_at: *at,
                event: Event::CallRecorded(CallRecorded {
                    call_id: (*call).into(),
                    queue: (*queue).into(),
                    event: *kind,
                    at: *at,
                    agent: None,
                    wrap_seconds: None,
                }),
            });
        }
    }

    #[test]
    fn waits_are_clipped_to_the_window_and_abandons_counted_by_their_time() {
        use CallEventKind::{Abandoned, Answered, Ended, Offered};
        let s = 1000;
        let (from, to) = (T, T + 600 * s);
        let mut aggregator = Aggregator::new();
        feed(
            &mut aggregator,
            &[
                // Answered after 40 s, inside: 40 s.
                ("a", "Q", Offered, T + 10 * s),
                ("a", "Q", Answered, T + 50 * s),
                // Offered 30 s before the window, hung up 20 s into it: 20 s, 1.
                ("b", "Q", Offered, T - 30 * s),
                ("b", "Q", Abandoned, T + 20 * s),
                // Ended unanswered after 70 s: an abandon at its end.
                ("c", "Q", Offered, T + 100 * s),
                ("c", "Q", Ended, T + 170 * s),
                // Still waiting at the end, offered 50 s before it: 50 s.
                ("d", "Q", Offered, T + 550 * s),
                // Hung up after the window: 60 s inside, no abandon.
                ("e", "Q", Offered, T + 540 * s),
                ("e", "Q", Abandoned, T + 700 * s),
                // Another queue.
                ("f", "R", Offered, T + 100 * s),
                ("f", "R", Abandoned, T + 105 * s),
                // Abandoned before the window: nothing.
                ("g", "Q", Offered, T - 100 * s),
                ("g", "Q", Abandoned, T - 10 * s),
            ],
        );
        let sums = aggregator.waiting_exposure(from, to);
        assert_eq!(
            sums,
            vec![
                (
                    "Q".to_string(),
                    WaitingExposure {
                        abandons: 2,
                        waiting_seconds: 40.0 + 20.0 + 70.0 + 50.0 + 60.0,
                    }
                ),
                (
                    "R".to_string(),
                    WaitingExposure {
                        abandons: 1,
                        waiting_seconds: 5.0,
                    }
                ),
            ]
        );
    }
}
