//! Agents staffed per queue over time: every `agents_staffed` a queue was
//! given (a lead's `PUT`, a phone-system feed's count), at the time it was
//! recorded, so the huddle report can say how many agents were on each
//! queue hour by hour, not only how many are on it now.

use super::Aggregator;
use crate::time::Millis;

/// Per queue id: (recorded at, agents staffed from then on), by time.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct StaffedHistory {
    by_queue: Vec<Vec<(Millis, u32)>>,
}

impl StaffedHistory {
    /// Queue `queue` has `agents` staffed from `at` on. A repeat of the
    /// value in force is not kept.
    pub(super) fn record(&mut self, queue: usize, at: Millis, agents: u32) {
        if self.by_queue.len() <= queue {
            self.by_queue.resize(queue + 1, Vec::new());
        }
        let changes = &mut self.by_queue[queue];
        // Replicas' clocks differ a little: keep the list ordered by time
        // whatever order the events were committed in.
        let position = changes.partition_point(|&(t, _)| t <= at);
        let in_force = position
            .checked_sub(1)
            .and_then(|p| changes.get(p))
            .map_or(0, |&(_, a)| a);
        if in_force == agents && position == changes.len() {
            return;
        }
        changes.insert(position, (at, agents));
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.by_queue.capacity() * size_of::<Vec<(Millis, u32)>>()
            + self
                .by_queue
                .iter()
                .map(|c| c.capacity() * size_of::<(Millis, u32)>())
                .sum::<usize>()
    }

    /// Time-weighted mean of the agents staffed over `[from, to)`: 0
    /// before the queue's first count, each count in force until the next.
    fn mean(&self, queue: usize, from: Millis, to: Millis) -> f64 {
        let Some(changes) = self.by_queue.get(queue) else {
            return 0.0;
        };
        if from >= to {
            return 0.0;
        }
        let first = changes.partition_point(|&(t, _)| t <= from);
        let mut agents = first
            .checked_sub(1)
            .and_then(|p| changes.get(p))
            .map_or(0, |&(_, a)| a);
        let mut since = from;
        let mut agent_ms = 0f64;
        for &(at, next) in changes[first..].iter().take_while(|&&(t, _)| t < to) {
            agent_ms += f64::from(agents) * (at - since) as f64;
            agents = next;
            since = at;
        }
        agent_ms += f64::from(agents) * (to - since) as f64;
        agent_ms / (to - from) as f64
    }
}

impl Aggregator {
    /// The time-weighted mean of `queue`'s agents staffed over
    /// `[from, to)` (0 for a queue never staffed), each count in force
    /// from when it was recorded until the next one.
    pub fn agents_staffed_mean(&self, queue: &str, from: Millis, to: Millis) -> f64 {
        self.queues
            .get(queue)
            .map_or(0.0, |id| self.staffed.mean(id, from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::StaffedHistory;

    #[test]
    fn the_mean_weighs_each_count_by_the_time_it_was_in_force() {
        let mut history = StaffedHistory::default();
        history.record(0, 1_000, 4);
        history.record(0, 3_000, 8);
        // Out of order: recorded later, in force earlier.
        history.record(0, 2_000, 6);
        assert_eq!(history.mean(0, 0, 1_000), 0.0);
        // 0 for 1 s, 4 for 1 s, 6 for 1 s, 8 for 1 s.
        assert_eq!(history.mean(0, 0, 4_000), (4.0 + 6.0 + 8.0) / 4.0);
        assert_eq!(history.mean(0, 3_500, 5_000), 8.0);
        assert_eq!(history.mean(0, 2_500, 3_500), 7.0);
        assert_eq!(history.mean(1, 0, 5_000), 0.0);
        history.record(0, 9_000, 8);
        assert_eq!(history.by_queue[0].len(), 3, "a repeat is not kept");
    }
}
