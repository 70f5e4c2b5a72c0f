//! The read side: everything answered from memory, fed with committed
//! events in sequence order (replay at start, then each commit).

use golive_core::event::{Event, RecordedEvent};
use golive_core::model::QueueSettings;
use std::collections::BTreeMap;
use std::sync::RwLock;
use tokio::sync::watch;

/// In-memory state derived from the log.
pub struct Views {
    committed: watch::Sender<u64>,
    queues: RwLock<BTreeMap<String, Option<QueueSettings>>>,
}

impl Default for Views {
    fn default() -> Self {
        Self::new()
    }
}

impl Views {
    pub fn new() -> Self {
        Views {
            committed: watch::Sender::new(0),
            queues: RwLock::new(BTreeMap::new()),
        }
    }

    /// Folds committed events in; must be called in sequence order.
    pub fn apply(&self, events: &[RecordedEvent]) {
        let Some(last) = events.last() else { return };
        if let Ok(mut queues) = self.queues.write() {
            for recorded in events {
                match &recorded.event {
                    Event::QueueConfigured(q) => {
                        queues.insert(q.queue.clone(), Some(q.settings));
                    }
                    Event::CallRecorded(call) => {
                        if !queues.contains_key(&call.queue) {
                            queues.insert(call.queue.clone(), None);
                        }
                    }
                    Event::TicketCreated(_) | Event::TicketChanged(_) => {}
                }
            }
        }
        self.committed.send_replace(last.seq);
    }

    /// Sequence number of the last event folded in.
    pub fn last_seq(&self) -> u64 {
        *self.committed.borrow()
    }

    /// Subscribes to the last committed sequence number.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Every queue configured or seen in a call: its settings, and whether
    /// they were configured (otherwise the defaults apply).
    pub fn queues(&self) -> Vec<(String, QueueSettings, bool)> {
        match self.queues.read() {
            Ok(queues) => queues
                .iter()
                .map(|(name, settings)| {
                    (
                        name.clone(),
                        settings.unwrap_or_default(),
                        settings.is_some(),
                    )
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// One queue's settings and whether it was ever configured.
    pub fn queue(&self, name: &str) -> (QueueSettings, bool) {
        match self.queues.read().ok().and_then(|q| q.get(name).copied()) {
            Some(Some(settings)) => (settings, true),
            _ => (QueueSettings::default(), false),
        }
    }
}
