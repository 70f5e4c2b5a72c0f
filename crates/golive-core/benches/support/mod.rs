//! Shared by the golive-core benchmarks: the deterministic generator their
//! synthetic go-lives are drawn from, so every run sees the same data.

#![allow(dead_code)]

use golive_core::event::{CallRecorded, Event, RecordedEvent};
use golive_core::model::CallEventKind;
use golive_core::time::Millis;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng};
use std::collections::HashMap;

/// A seeded generator, so every run sees the same data.
pub struct Rng(StdRng);

impl Rng {
    pub fn seeded(seed: u64) -> Rng {
        Rng(StdRng::seed_from_u64(seed))
    }

    pub fn next(&mut self) -> u64 {
        self.0.random()
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A call every 8 s from `start` to `now` over `queues` queues: offered,
/// then 7 % abandoned within a minute, the others answered within a minute
/// and ended 4 minutes later (if before `now`), each at its time.
pub fn calls(
    rng: &mut Rng,
    start: Millis,
    now: Millis,
    queues: usize,
    timed: &mut Vec<(Millis, Event)>,
) {
    let mut at = start;
    let mut call = 0u64;
    while at < now {
        at += 8_000;
        call += 1;
        let queue = format!("Queue {}", rng.below(queues as u64));
        let id = format!("c{call}");
        let event = |kind, at| {
            Event::CallRecorded(CallRecorded {
                call_id: id.clone(),
                queue: queue.clone(),
                event: kind,
                at,
                agent: None,
                wrap_seconds: None,
            })
        };
        timed.push((at, event(CallEventKind::Offered, at)));
        let wait = rng.below(60_000) as Millis;
        if rng.below(100) < 7 {
            timed.push((at + wait, event(CallEventKind::Abandoned, at + wait)));
        } else if at + wait + 240_000 < now {
            timed.push((at + wait, event(CallEventKind::Answered, at + wait)));
            timed.push((
                at + wait + 240_000,
                event(CallEventKind::Ended, at + wait + 240_000),
            ));
        }
    }
}

/// The log the events make, in time order, each at its time: a ticket's
/// id is its creation's sequence number, and a change names its ticket by
/// the `n` of the creation's external id `T{n}`.
pub fn sequenced(mut timed: Vec<(Millis, Event)>) -> Vec<RecordedEvent> {
    // Creations keep their order (their ids are their positions below);
    // changes come after their ticket's creation whatever their time.
    timed.sort_by_key(|(at, _)| *at);
    let mut ids = HashMap::new();
    let mut events = Vec::with_capacity(timed.len());
    for (i, (at, mut event)) in timed.into_iter().enumerate() {
        let seq = i as u64 + 1;
        match &mut event {
            Event::TicketCreated(created) => {
                created.id = seq;
                if let Some(key) = &created.external_id {
                    ids.insert(key.clone(), seq);
                }
            }
            Event::TicketChanged(changed) => {
                changed.id = ids.get(&format!("T{}", changed.id)).copied().unwrap_or(0);
            }
            _ => {}
        }
        events.push(RecordedEvent {
            seq,
            recorded_at: at,
            event,
        });
    }
    events
}
