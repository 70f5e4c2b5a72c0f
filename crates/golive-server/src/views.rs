//! The read side: everything answered from memory, fed with committed
//! events in sequence order (replay at start, then each commit).
//!
//! One aggregator serves reports, the board, staffing, alerts and the live
//! feed, so every figure comes from the same definitions.

use crate::metrics::Metrics;
use golive_core::aggregate::{Aggregator, KnownIssue};
use golive_core::alerts::{Alert, AlertRules, Condition};
use golive_core::board::{self, LiveBoard, Parts, Scope, ScopeError};
use golive_core::event::{Event, RecordedEvent};
use golive_core::huddle::{Huddle, HuddleRequest};
use golive_core::model::{QueueSettings, TicketDimension};
use golive_core::plan::{self, Plan};
use golive_core::staffing::{self, LiveStaffing, StaffingSettings};
use golive_core::time::Millis;
use golive_core::waves::{Wave, WaveCurve};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use tokio::sync::watch;

/// In-memory state derived from the log.
pub struct Views {
    committed: watch::Sender<u64>,
    configured_queues: RwLock<BTreeSet<String>>,
    aggregator: RwLock<Aggregator>,
    staffing: StaffingSettings,
    rules: AlertRules,
    go_live_start: Option<Millis>,
    /// `golive_events_applied_total` is counted under the aggregator's
    /// lock, so a checkpoint reads counts and position of the same events.
    metrics: Arc<Metrics>,
    /// Alert events (raised, cleared, acknowledged) applied since the live
    /// hub last took them, in log order.
    alert_events: Mutex<Vec<Event>>,
    /// Every alert event applied, in log order, for checkpoints (the live
    /// hub's alert book is their fold). A few per hour at most.
    alert_log: Mutex<Vec<RecordedEvent>>,
    /// The last event the aggregator applied: (seq, recorded at, kind).
    last_applied: Mutex<Option<(u64, Millis, String)>>,
}

/// Everything the views folded from the log, as of the last event the
/// aggregator applied (`last`): what a checkpoint holds of the read side.
pub struct Folded {
    pub aggregator: Aggregator,
    /// (seq, recorded at, kind) of the last event folded in.
    pub last: Option<(u64, Millis, String)>,
    pub configured_queues: Vec<String>,
    /// Every alert event up to `last`, in log order.
    pub alert_events: Vec<RecordedEvent>,
    /// `golive_events_applied_total` per kind.
    pub events_applied: Vec<(String, u64)>,
}

/// One tick of the board: the center-wide figures, computed under one
/// read lock and shared by every scope's board.
pub struct Tick {
    pub parts: Parts,
    /// Open backlog every 5 minutes back over the rising-backlog rule's
    /// span, oldest first, ending now.
    pub backlog_samples: Vec<u64>,
}

impl Tick {
    /// The conditions the alert rules find in these figures.
    pub fn conditions(&self, rules: &AlertRules) -> Vec<Condition> {
        golive_core::alerts::evaluate(
            rules,
            &self.parts.board,
            &self.parts.open.sev1,
            &self.parts.live.queues,
            &self.backlog_samples,
        )
    }
}

impl Views {
    pub fn new(
        staffing: StaffingSettings,
        rules: AlertRules,
        go_live_start: Option<Millis>,
        metrics: Arc<Metrics>,
    ) -> Self {
        // The board's since-go-live window is kept as events apply rather
        // than walked every second.
        let mut aggregator = Aggregator::new();
        if let Some(start) = go_live_start {
            aggregator.keep_since(start);
        }
        Views {
            committed: watch::Sender::new(0),
            configured_queues: RwLock::new(BTreeSet::new()),
            aggregator: RwLock::new(aggregator),
            staffing,
            rules,
            go_live_start,
            metrics,
            alert_events: Mutex::new(Vec::new()),
            alert_log: Mutex::new(Vec::new()),
            last_applied: Mutex::new(None),
        }
    }

    /// Folds committed events in; must be called in sequence order.
    pub fn apply(&self, events: &[RecordedEvent]) {
        let Some(last) = events.last() else { return };
        if let Ok(mut configured) = self.configured_queues.write() {
            for recorded in events {
                if let Event::QueueConfigured(q) = &recorded.event {
                    configured.insert(q.queue.clone());
                }
            }
        }
        let is_alert = |recorded: &&RecordedEvent| {
            matches!(
                recorded.event,
                Event::AlertAcknowledged(_) | Event::AlertRaised(_) | Event::AlertCleared(_)
            )
        };
        if let Ok(mut alerts) = self.alert_events.lock() {
            alerts.extend(
                events
                    .iter()
                    .filter(is_alert)
                    .map(|recorded| recorded.event.clone()),
            );
        }
        if let Ok(mut log) = self.alert_log.lock() {
            log.extend(events.iter().filter(is_alert).cloned());
        }
        if let Ok(mut aggregator) = self.aggregator.write() {
            for recorded in events {
                aggregator.apply(recorded);
            }
            crate::fault::trip(crate::fault::Point::Views);
            // Under the aggregator's lock, so that a checkpoint reads
            // counts and position of the same events.
            self.metrics.record_events(events);
            if let Ok(mut mark) = self.last_applied.lock() {
                *mark = Some((last.seq, last.recorded_at, last.event.kind().to_string()));
            }
        }
        self.committed.send_replace(last.seq);
    }

    /// A copy of everything folded in, for a checkpoint. The aggregator is
    /// cloned under its read lock (applying waits that long: a copy of its
    /// vectors, far shorter than encoding them); the copy is encoded after.
    /// `None` when the read side is poisoned.
    pub fn folded(&self) -> Option<Folded> {
        let aggregator = self.aggregator.read().ok()?;
        let last = self.last_applied.lock().ok()?.clone();
        let events_applied = self.metrics.events_applied();
        let copy = aggregator.clone();
        drop(aggregator);
        let seq = last.as_ref().map_or(0, |(seq, _, _)| *seq);
        // Both are updated before the aggregator: they may hold a few
        // events past `last`. Queues are a set (applying them again is a
        // no-op); alert events are cut at `last`.
        let configured_queues = self
            .configured_queues
            .read()
            .ok()?
            .iter()
            .cloned()
            .collect();
        let alert_events = self
            .alert_log
            .lock()
            .ok()?
            .iter()
            .filter(|recorded| recorded.seq <= seq)
            .cloned()
            .collect();
        Some(Folded {
            aggregator: copy,
            last,
            configured_queues,
            alert_events,
            events_applied,
        })
    }

    /// Starts from a checkpoint's folds instead of an empty log (before
    /// anything else is applied). The alert events go to the live hub as
    /// a replay's would.
    pub fn restore(&self, folded: Folded) {
        let seq = folded.last.as_ref().map_or(0, |(seq, _, _)| *seq);
        if let Ok(mut configured) = self.configured_queues.write() {
            *configured = folded.configured_queues.into_iter().collect();
        }
        if let Ok(mut alerts) = self.alert_events.lock() {
            *alerts = folded
                .alert_events
                .iter()
                .map(|recorded| recorded.event.clone())
                .collect();
        }
        if let Ok(mut log) = self.alert_log.lock() {
            *log = folded.alert_events;
        }
        if let Ok(mut aggregator) = self.aggregator.write() {
            *aggregator = folded.aggregator;
            aggregator.keep_since_only(self.go_live_start);
            self.metrics.restore_events_applied(&folded.events_applied);
            if let Ok(mut mark) = self.last_applied.lock() {
                *mark = folded.last;
            }
        }
        self.committed.send_replace(seq);
    }

    /// Sequence number of the last event folded in.
    pub fn last_seq(&self) -> u64 {
        *self.committed.borrow()
    }

    /// Read access to the aggregator (held briefly: the writer waits on it).
    /// `None` once a panic while folding events in poisoned it: its figures
    /// may be half-updated, so callers answer 503 instead of using them.
    pub fn aggregator(&self) -> Option<RwLockReadGuard<'_, Aggregator>> {
        self.aggregator.read().ok()
    }

    /// Whether the read side can be trusted (no panic poisoned it).
    pub fn is_healthy(&self) -> bool {
        !self.aggregator.is_poisoned() && !self.configured_queues.is_poisoned()
    }

    pub fn staffing_settings(&self) -> &StaffingSettings {
        &self.staffing
    }

    pub fn alert_rules(&self) -> &AlertRules {
        &self.rules
    }

    /// Every queue configured or seen in a call: its settings, and whether
    /// they were configured (otherwise the defaults apply). `None` when the
    /// read side is poisoned (see [`Views::aggregator`]).
    pub fn queues(&self) -> Option<Vec<(String, QueueSettings, bool)>> {
        let configured = self.configured_queues.read().ok()?.clone();
        let queues = self.aggregator()?.queues();
        Some(
            queues
                .into_iter()
                .map(|(name, settings)| {
                    let is_configured = configured.contains(&name);
                    (name, settings, is_configured)
                })
                .collect(),
        )
    }

    /// One queue's settings and whether it was ever configured.
    pub fn queue(&self, name: &str) -> Option<(QueueSettings, bool)> {
        let configured = self.configured_queues.read().ok()?.contains(name);
        let settings = self.aggregator()?.queue_settings(name);
        Some((settings, configured))
    }

    /// `GET /api/v1/report`: figures for `[from, to)` plus staffing,
    /// grouped by a dimension or by known issue.
    pub fn report(&self, from: Millis, to: Millis, group_by: Option<Grouping>) -> Option<Value> {
        let aggregator = self.aggregator()?;
        let dimensions = match group_by {
            Some(Grouping::Dimension(dimension)) => vec![dimension],
            _ => Vec::new(),
        };
        let mut body = report_json(&aggregator, &self.staffing, from, to, &dimensions);
        if group_by == Some(Grouping::KnownIssue)
            && let Some(map) = body.as_object_mut()
        {
            let groups = aggregator.known_issue_report(from, to);
            map.insert("tickets_by".into(), json!({ "known_issue": groups }));
        }
        Some(body)
    }

    /// `GET /api/v1/known-issues`: every known issue as of `now`.
    pub fn known_issues(&self, now: Millis) -> Option<Vec<KnownIssue>> {
        Some(self.aggregator()?.known_issues(now))
    }

    /// The known issue ticket `id` is linked to, if any.
    pub fn known_issue_of(&self, id: u64) -> Option<String> {
        self.aggregator()?.known_issue_of(id).map(str::to_owned)
    }

    /// The staffing plan for the `hours` after `now`. The aggregator is
    /// read only to gather the histories: the integer programs run after
    /// its lock is released, so the writer never waits on them.
    pub fn plan(&self, now: Millis, hours: u32) -> Option<Result<Plan, String>> {
        let input = {
            let aggregator = self.aggregator()?;
            plan::input_from(
                &aggregator,
                now,
                self.go_live_start,
                hours,
                &self.staffing.plan,
                self.staffing.ate,
                self.staffing.default_aht_seconds,
            )
        };
        Some(plan::build(&input, &self.staffing.plan))
    }

    /// The rollout waves' curves as of `now`, `hours` at most each.
    pub fn waves(&self, waves: &[Wave], now: Millis, hours: u32) -> Option<Vec<WaveCurve>> {
        let aggregator = self.aggregator()?;
        Some(golive_core::waves::curves(&aggregator, waves, now, hours))
    }

    /// The huddle report of a day or shift.
    pub fn huddle(&self, request: &HuddleRequest) -> Option<Huddle> {
        let aggregator = self.aggregator()?;
        Some(golive_core::huddle::build(
            &aggregator,
            &self.staffing,
            request,
        ))
    }

    /// The live staffing recommendation as of `now`.
    pub fn live_staffing(&self, now: Millis) -> Option<LiveStaffing> {
        let aggregator = self.aggregator()?;
        Some(staffing::live(&aggregator, now, &self.staffing))
    }

    /// Alert events committed (or replayed) since the last call, in log
    /// order.
    pub fn take_alert_events(&self) -> Vec<Event> {
        self.alert_events
            .lock()
            .map(|mut events| std::mem::take(&mut *events))
            .unwrap_or_default()
    }

    fn board_settings(&self) -> board::Settings<'_> {
        board::Settings {
            staffing: &self.staffing,
            rules: &self.rules,
            go_live_start: self.go_live_start,
        }
    }

    /// The center-wide figures as of `now`.
    pub fn tick(&self, now: Millis) -> Option<Tick> {
        let aggregator = self.aggregator()?;
        let parts = Parts::new(&aggregator, now, &self.board_settings());
        let backlog_samples = board::backlog_samples(&aggregator, &parts, &self.rules);
        Some(Tick {
            parts,
            backlog_samples,
        })
    }

    /// Whether `scope` names a site or queue the figures know.
    pub fn check_scope(&self, scope: &Scope) -> Result<(), ScopeError> {
        match self.aggregator() {
            Some(aggregator) => scope.check(&aggregator),
            None => Ok(()),
        }
    }

    /// `GET /api/v1/board?as_of=T`: the board as it stood at `at`, from
    /// the same definitions as the live one, with the alerts whose
    /// conditions held then.
    pub fn board_as_of(&self, at: Millis, scope: &Scope) -> Option<Result<LiveBoard, ScopeError>> {
        let aggregator = self.aggregator()?;
        Some(
            scope
                .check(&aggregator)
                .map(|()| board::as_of(&aggregator, at, &self.board_settings(), scope)),
        )
    }

    /// The board of `scope` from a tick, with the active `alerts`.
    pub fn board(
        &self,
        tick: &Tick,
        scope: &Scope,
        alerts: &[Alert],
    ) -> Option<Result<LiveBoard, ScopeError>> {
        let aggregator = self.aggregator()?;
        Some(scope.check(&aggregator).map(|()| {
            LiveBoard::build(
                &aggregator,
                &tick.parts,
                &self.board_settings(),
                scope,
                alerts,
            )
        }))
    }
}

/// How a report groups its tickets (`group_by`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grouping {
    Dimension(TicketDimension),
    /// By the known issue tickets are linked to, keyed by its id.
    KnownIssue,
}

/// A report body with its `staffing` section, for any set of groupings.
pub fn report_json(
    aggregator: &Aggregator,
    settings: &StaffingSettings,
    from: Millis,
    to: Millis,
    group_by: &[TicketDimension],
) -> Value {
    let report = aggregator.report_grouped(from, to, group_by);
    let lines = staffing::for_report(aggregator, &report, from, to, settings);
    let mut body = serde_json::to_value(&report).unwrap_or(Value::Null);
    if let Some(map) = body.as_object_mut() {
        map.insert("staffing".into(), json!(lines));
    }
    body
}
