//! The one way into the read side: committed events, in sequence order,
//! each exactly once.
//!
//! Events reach a process two ways: its own writer's commits (with
//! whatever other processes committed just before, which the writer read
//! under the log's lock) and the tailer, which follows what other
//! replicas commit on a shared PostgreSQL (`crate::tail`). Both hand them
//! here. A guard on the sequence number drops what was already applied,
//! and a gap (never expected: both sources are contiguous runs of the log)
//! is read from the log before what follows it, so nothing is applied
//! twice or skipped whoever gets there first.
//!
//! What the tailer brought is also passed to the writer, so that the
//! ledger it decides commands against follows the log between commits and
//! the catch-up it does under the log's lock stays small.

use crate::metrics::Metrics;
use crate::offload;
use crate::views::Views;
use golive_core::event::RecordedEvent;
use golive_core::time::now_millis;
use golive_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc};

/// Events per read of the log while catching up.
const PAGE: u32 = 10_000;

/// Where a run of events came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// This process's writer: its ledger has them already.
    Writer,
    /// Read from the log (the tailer): the writer's ledger needs them.
    Log,
}

/// Runs of events the tailer applied, for the writer's ledger.
pub type Tailed = Arc<Vec<RecordedEvent>>;

/// What the log holds where this process's last applied event should be
/// (`crate::log_guard`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogCheck {
    /// The same event: the log is the one applied.
    Same,
    /// Another log: why it is not the same.
    Replaced(String),
}

/// What identifies an applied event in its log: its sequence number, the
/// time it was committed and its kind (two logs that agree on all three at
/// the same place are the same log there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mark {
    seq: u64,
    recorded_at: i64,
    kind: &'static str,
}

impl Mark {
    fn of(event: &RecordedEvent) -> Mark {
        Mark {
            seq: event.seq,
            recorded_at: event.recorded_at,
            kind: event.event.kind(),
        }
    }
}

/// Applies committed events to the views in order, once each.
pub struct Applier {
    store: Arc<dyn Store>,
    views: Arc<Views>,
    metrics: Arc<Metrics>,
    /// The last sequence number applied; held while applying, so runs
    /// from the writer and the tailer never interleave.
    applied: Mutex<u64>,
    /// The last event applied (unknown after the replay until the first
    /// check reads it).
    last: std::sync::Mutex<Option<Mark>>,
    to_writer: mpsc::UnboundedSender<Tailed>,
}

impl Applier {
    /// An applier over views that already hold the log up to `applied`
    /// (the replay), and the receiving end the writer reads tailed events
    /// from.
    pub fn new(
        store: Arc<dyn Store>,
        views: Arc<Views>,
        metrics: Arc<Metrics>,
        applied: u64,
    ) -> (Arc<Applier>, mpsc::UnboundedReceiver<Tailed>) {
        let (to_writer, from_applier) = mpsc::unbounded_channel();
        let applier = Arc::new(Applier {
            store,
            views,
            metrics,
            applied: Mutex::new(applied),
            last: std::sync::Mutex::new(None),
            to_writer,
        });
        (applier, from_applier)
    }

    /// Remembers the replay's last event, read back from the log, so that
    /// the first catch-up already checks the log is the one replayed.
    pub async fn remember_last(&self) -> Result<(), StoreError> {
        let seq = self.applied().await;
        if seq > 0
            && let Some(found) = self.mark_in_log(seq).await?
        {
            self.remember(seq, found).await;
        }
        Ok(())
    }

    /// The mark of the log's event `seq`, if the log has it.
    async fn mark_in_log(&self, seq: u64) -> Result<Option<Mark>, StoreError> {
        let page = self.store.events_after(seq - 1, 1).await?;
        Ok(page.first().filter(|event| event.seq == seq).map(Mark::of))
    }

    /// Takes `found` as the last applied event's mark, unless nothing was
    /// known and something was applied since it was read.
    async fn remember(&self, seq: u64, found: Mark) {
        let applied = self.applied.lock().await;
        if *applied == seq {
            let mut last = self
                .last
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            last.get_or_insert(found);
        }
    }

    /// The last sequence number applied.
    pub async fn applied(&self) -> u64 {
        *self.applied.lock().await
    }

    /// Applies a contiguous run of committed events: those at or below
    /// the last applied are skipped; a gap before the run is read from the
    /// log first. On an error reading a gap nothing of the run is applied
    /// (the next catch-up reads it all from the log).
    pub async fn apply(
        &self,
        events: Vec<RecordedEvent>,
        source: Source,
    ) -> Result<(), StoreError> {
        let mut applied = self.applied.lock().await;
        let Some(first) = events.iter().position(|e| e.seq > *applied) else {
            return Ok(());
        };
        let first_seq = events[first].seq;
        if first_seq > *applied + 1 {
            tracing::warn!(
                applied = *applied,
                next = first_seq,
                "a gap before committed events; reading it from the log"
            );
            self.read_log(&mut applied, first_seq - 1).await?;
        }
        let mut events = events;
        events.drain(..first);
        // Keep only the contiguous run that follows (a run is contiguous by
        // construction; anything else waits for the next catch-up).
        let contiguous = events
            .iter()
            .enumerate()
            .take_while(|(i, e)| e.seq == *applied + 1 + *i as u64)
            .count();
        events.truncate(contiguous);
        self.apply_run(&mut applied, events, source).await;
        Ok(())
    }

    /// Whether the log still holds, where this process's last applied event
    /// is, that same event. The last applied event is read under the lock
    /// and the log without it, so applying never waits on this read (an
    /// event stays at its place in the log whatever is applied after it).
    pub async fn check_log(&self) -> Result<LogCheck, StoreError> {
        let (seq, mark) = {
            let applied = self.applied.lock().await;
            let last = *self
                .last
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (*applied, last)
        };
        if seq == 0 {
            return Ok(LogCheck::Same);
        }
        match (mark, self.mark_in_log(seq).await?) {
            (_, None) => Ok(LogCheck::Replaced(format!(
                "the log has no event {seq}, the last one this process applied"
            ))),
            // Not known yet (the replay's could not be read back): the
            // log holds it now.
            (None, Some(found)) => {
                self.remember(seq, found).await;
                Ok(LogCheck::Same)
            }
            (Some(mark), Some(found)) if mark == found => Ok(LogCheck::Same),
            (Some(mark), Some(found)) => Ok(LogCheck::Replaced(format!(
                "event {seq} is now a {} committed at {}, not the {} committed at {} this process applied",
                found.kind, found.recorded_at, mark.kind, mark.recorded_at
            ))),
        }
    }

    /// Reads and applies everything the log holds past what was applied.
    /// Returns the last sequence number applied.
    pub async fn catch_up(&self) -> Result<u64, StoreError> {
        loop {
            // Read without holding the lock (the writer may apply its own
            // commits meanwhile); the guard drops what it already applied.
            // The read starts at the last event applied: if the log there
            // is another one (replaced under the process), nothing of it
            // is applied, and `crate::log_guard` starts the process again.
            let after = self.applied().await;
            let limit = if after > 0 { PAGE + 1 } else { PAGE };
            let mut page = self
                .store
                .events_after(after.saturating_sub(1), limit)
                .await?;
            if after > 0 {
                let last = *self
                    .last
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                match page.first() {
                    Some(first) if first.seq == after => {
                        if last.is_some_and(|mark| mark != Mark::of(first)) {
                            return Ok(after);
                        }
                        page.remove(0);
                    }
                    _ => return Ok(after),
                }
            }
            let full = page.len() == PAGE as usize;
            self.apply(page, Source::Log).await?;
            if !full {
                return Ok(self.applied().await);
            }
        }
    }

    /// Reads the log up to `until` (inclusive) and applies it.
    async fn read_log(&self, applied: &mut u64, until: u64) -> Result<(), StoreError> {
        while *applied < until {
            let limit = u32::try_from(until - *applied).unwrap_or(PAGE).min(PAGE);
            let page = self.store.events_after(*applied, limit).await?;
            if page.is_empty() {
                return Err(StoreError::SequenceGap {
                    expected: *applied + 1,
                    found: until + 1,
                });
            }
            self.apply_run(applied, page, Source::Log).await;
        }
        Ok(())
    }

    /// Applies a run that continues the log right after `applied`. A large
    /// run is folded in on the blocking pool (see `crate::offload`); the
    /// lock on `applied` is held meanwhile, so runs still go in one at a
    /// time, in order, and the caller (the writer answering its requests)
    /// goes on only once they are applied.
    async fn apply_run(&self, applied: &mut u64, events: Vec<RecordedEvent>, source: Source) {
        let Some(last) = events.last().map(|e| e.seq) else {
            return;
        };
        let heavy = events.len() >= offload::HEAVY;
        let fold = {
            let views = self.views.clone();
            move || {
                views.apply(&events);
                events
            }
        };
        let events = if heavy {
            match offload::blocking_or_panic(fold).await {
                Some(events) => events,
                // The runtime is stopping: nothing more is applied.
                None => return,
            }
        } else {
            fold()
        };
        *applied = last;
        if let Some(event) = events.last() {
            *self
                .last
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Mark::of(event));
        }
        let label = match source {
            Source::Writer => "writer",
            Source::Log => "log",
        };
        self.metrics.observe_apply_lag(label, &events, now_millis());
        if source == Source::Log {
            // The writer is gone only while the server stops.
            let _ = self.to_writer.send(Arc::new(events));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use golive_core::alerts::AlertRules;
    use golive_core::event::CallRecorded;
    use golive_core::ledger::{Command, Ledger};
    use golive_core::model::CallEventKind;
    use golive_core::staffing::StaffingSettings;
    use golive_store::CommitBatch;

    const AT: i64 = 1_772_435_645_000;

    fn offered(n: usize) -> Command {
        Command::RecordCall(CallRecorded {
            call_id: format!("call-{n}"),
            queue: "Q".into(),
            event: CallEventKind::Offered,
            at: AT,
            agent: None,
            wrap_seconds: None,
        })
    }

    /// Runs from the writer and the log, overlapping, repeated and with
    /// gaps before them: every event is applied once, in order (the views
    /// count each call once, `golive_events_applied_total` equals the log),
    /// and the writer is handed exactly the events it did not write.
    #[tokio::test]
    async fn each_event_is_applied_once_whatever_brings_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("log.db").display());
        let store = golive_store::connect(&url).await.expect("store");
        let mut ledger = Ledger::new();
        store
            .commit(0, &mut |_| {
                let mut out = Vec::new();
                for n in 0..30 {
                    let _ = ledger.decide_into(offered(n), AT, &mut out);
                }
                CommitBatch::new(ledger.rows_of(&out), out)
            })
            .await
            .expect("commit");
        let events = store.events_after(0, 100).await.expect("log");
        assert_eq!(events.len(), 30);

        let metrics = Metrics::new();
        let views = Arc::new(Views::new(
            StaffingSettings::default(),
            AlertRules::default(),
            None,
            metrics.clone(),
        ));
        let (applier, mut to_writer) = Applier::new(store, views.clone(), metrics.clone(), 0);
        // seq 11..=20 from the writer: 1..=10 are read from the log first.
        applier
            .apply(events[10..20].to_vec(), Source::Writer)
            .await
            .expect("apply");
        assert_eq!(applier.applied().await, 20);
        // Overlapping and repeated runs.
        for run in [&events[5..25], &events[0..3], &events[..]] {
            applier
                .apply(run.to_vec(), Source::Log)
                .await
                .expect("apply");
        }
        assert_eq!(applier.catch_up().await.expect("catch up"), 30);
        applier
            .apply(events.clone(), Source::Writer)
            .await
            .expect("apply");
        assert_eq!(views.last_seq(), 30);

        let report = views
            .report(AT - 3_600_000, AT + 3_600_000, None)
            .expect("report");
        assert_eq!(report["calls"]["offered"], 30, "{report}");
        let text = metrics.render(Vec::new());
        let applied: f64 = text
            .lines()
            .filter(|l| l.starts_with("golive_events_applied_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert_eq!(applied, 30.0);

        let mut handed = Vec::new();
        while let Ok(run) = to_writer.try_recv() {
            handed.extend(run.iter().map(|e| e.seq));
        }
        let expected: Vec<u64> = (1..=10).chain(21..=30).collect();
        assert_eq!(
            handed, expected,
            "the writer gets what it did not write, once"
        );
    }
}
