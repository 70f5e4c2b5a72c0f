//! The pure traffic model: given a simulated clock it yields the API requests
//! a go-live command center would see (ticket creations and updates, phone
//! queue call events, queue settings). No I/O and no wall clock: the same
//! configuration and seed always give the same requests, however the clock
//! is stepped, so tests and benchmarks can rely on it.
//!
//! Internally it is a discrete-event simulation. Arrivals are
//! non-homogeneous Poisson processes (drawn by thinning) whose rate follows a
//! hospital day (quiet night, ramp from 06:00, peak 09:00–11:00, afternoon
//! bump, evening decay) and decays day by day after go-live. When a ticket
//! arrives its whole life (pick-up, escalation, pending, resolution, reopen,
//! close) is drawn at once and its updates are queued at their future times;
//! calls go through a FIFO multi-agent queue with caller patience, so waits
//! and abandonment grow with load instead of being drawn independently.
//!
//! The queue is exact for FIFO with abandonment: each caller's offered wait
//! is the time until the first of the queue's staffed seats frees up
//! (seats are held only by callers who stayed), and he is answered if that
//! comes before his patience runs out (exponential, per queue), else he
//! hangs up when it does. Shifts are staffed from a forecast that
//! undershoots the real volume by queue (`forecast_accuracy`): the nursing
//! line, planned for 40 % of its calls, is overloaded every morning peak, so
//! callers wait minutes and a quarter or more hang up. Draws come from
//! seeded `StdRng` streams through `rand_distr`.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use chrono::{DateTime, SecondsFormat, TimeDelta, Timelike, Utc};
use golive_core::erlang;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, LogNormal, Uniform};
use serde::{Serialize, Serializer};

use crate::SimConfig;
use crate::catalog::{self, QUEUES};

// The contract's vocabulary is golive-core's, so the simulator cannot send
// a value the server would not accept.
pub use golive_core::model::{CallEventKind, Category, Channel, TicketStatus as Status};

/// Categories in the order of the simulator's weight tables (most frequent
/// on day one first).
const CATEGORY_ORDER: [Category; 8] = [
    Category::HowTo,
    Category::Access,
    Category::Workflow,
    Category::BreakFix,
    Category::Hardware,
    Category::Data,
    Category::Interface,
    Category::Other,
];

/// Body of `POST /api/v1/tickets`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewTicket {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(serialize_with = "ts")]
    pub opened_at: DateTime<Utc>,
    pub site: String,
    pub department: String,
    pub application: String,
    pub category: Category,
    pub severity: u8,
    pub channel: Channel,
    pub summary: String,
    pub reporter_role: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ts_opt")]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Body of `PATCH /api/v1/tickets/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TicketUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(serialize_with = "ts")]
    pub at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
}

/// Body of `POST /api/v1/calls/events`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallEvent {
    pub call_id: String,
    pub queue: String,
    pub event: CallEventKind,
    #[serde(serialize_with = "ts")]
    pub at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrap_seconds: Option<u32>,
}

/// Body of `PUT /api/v1/queues/{queue}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueSettings {
    pub answer_target_seconds: u32,
    pub service_level_target: f64,
    pub max_occupancy: f64,
    pub shrinkage: f64,
    pub agents_staffed: u32,
}

/// One API request the command center would send.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Queue settings, once at go-live and again at each shift change
    /// (07:00, 15:00, 23:00 hospital time) with that shift's staffing.
    PutQueue {
        queue: String,
        settings: QueueSettings,
    },
    /// A new ticket. `key` is the model's own handle for later updates (the
    /// server's id is only known once the creation is answered).
    CreateTicket {
        key: u64,
        ticket: NewTicket,
        /// Whether `UpdateTicket` requests for this key will follow.
        has_updates: bool,
        /// A deliberate repeat of an earlier creation with the same
        /// `external_id`, as a retrying integration would send; the server
        /// should answer 200 with the existing ticket.
        resend: bool,
    },
    /// A change to the ticket created under `key`.
    UpdateTicket {
        key: u64,
        update: TicketUpdate,
        /// The ticket's final update: its handle can be forgotten after it.
        last: bool,
    },
    CallEvent(CallEvent),
}

/// A request and the simulated time at which it is sent. Every timestamp
/// inside the request is at or before `send_at`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Request {
    #[serde(serialize_with = "ts")]
    pub send_at: DateTime<Utc>,
    #[serde(flatten)]
    pub action: Action,
}

fn ts<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn ts_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ts(t, s),
        None => s.serialize_none(),
    }
}

/// Relative ticket and call volume by hour of the hospital day (index = hour
/// starting at that hour); 1.0 is the morning peak.
const DAY_PROFILE: [f64; 24] = [
    0.10, 0.08, 0.07, 0.07, 0.08, 0.15, 0.35, 0.65, 0.85, 1.00, 1.00, 0.90, //
    0.75, 0.80, 0.85, 0.75, 0.60, 0.50, 0.40, 0.32, 0.25, 0.20, 0.16, 0.12,
];

/// Volume long after go-live, relative to day 1.
const STEADY_STATE: f64 = 0.1;

/// Shift changes, in hours of the hospital day.
const SHIFT_STARTS: [i64; 3] = [7, 15, 23];

const MAX_OCCUPANCY: f64 = 0.85;
const MEAN_WRAP_SECONDS: f64 = 40.0;

/// A burst of tickets about one application, like the hour after a badly
/// understood order set goes live.
#[derive(Clone, Debug)]
struct Surge {
    application: &'static str,
    site: Option<usize>,
    main_category: Category,
    theme: String,
}

enum Step {
    Emit(Action),
    TicketArrival,
    SurgeStart,
    SurgeTicket(usize),
    CallArrival(usize),
    ShiftChange,
}

struct Scheduled {
    at: DateTime<Utc>,
    seq: u64,
    step: Step,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    // Reversed so the max-heap pops the earliest (then first scheduled) step.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

struct QueueState {
    /// When each agent seat becomes free; only the first `staffed` are used.
    free_at: Vec<DateTime<Utc>>,
    staffed: usize,
    rng: StdRng,
}

/// The deterministic go-live traffic generator.
pub struct TrafficModel {
    go_live: DateTime<Utc>,
    offset_seconds: i64,
    tickets_per_hour_peak: f64,
    calls_scale: f64,
    daily_decay: f64,
    tag: String,
    heap: BinaryHeap<Scheduled>,
    seq: u64,
    arrival_rng: StdRng,
    ticket_rng: StdRng,
    surge_rng: StdRng,
    queues: Vec<QueueState>,
    surges: Vec<Surge>,
    next_key: u64,
    next_incident: u64,
    next_call: u64,
}

fn stream_rng(seed: u64, stream: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Truncates to whole milliseconds, the precision the server stores.
fn to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

fn plus(t: DateTime<Utc>, seconds: f64) -> DateTime<Utc> {
    t + TimeDelta::milliseconds((seconds * 1000.0).round() as i64)
}

fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// An exponential draw with the given mean (the mean itself if the mean
/// is not a usable number).
fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    Exp::new(1.0 / mean).map_or(mean, |d| d.sample(rng))
}

/// A log-normal draw with the given median and log-scale spread.
fn log_normal(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    LogNormal::new(median.ln(), sigma).map_or(median, |d| d.sample(rng))
}

/// A uniform draw in `[low, high)` (`low` itself for an empty range).
fn uniform(rng: &mut StdRng, low: f64, high: f64) -> f64 {
    Uniform::new(low, high).map_or(low, |d| d.sample(rng))
}

/// An index drawn with probability proportional to its weight (the first
/// for weights that are all zero or not usable).
fn weighted(rng: &mut StdRng, weights: &[f64]) -> usize {
    WeightedIndex::new(weights).map_or(0, |d| d.sample(rng))
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

impl TrafficModel {
    /// Starts the simulation at `config.go_live_start`; nothing happens
    /// before it.
    pub fn new(config: &SimConfig) -> Self {
        let go_live = to_millis(config.go_live_start);
        let seconds = go_live.timestamp().unsigned_abs();
        let mut model = TrafficModel {
            go_live,
            offset_seconds: i64::from(config.utc_offset_minutes) * 60,
            tickets_per_hour_peak: finite_or(config.tickets_per_hour_peak, 0.0).max(0.0),
            calls_scale: finite_or(config.calls_scale, 0.0).max(0.0),
            daily_decay: finite_or(config.daily_decay, 1.0).clamp(0.01, 1.0),
            // Ids carry the go-live second so a second demo run against the
            // same database does not collide with the first one's ids.
            tag: base36(seconds),
            heap: BinaryHeap::new(),
            seq: 0,
            arrival_rng: stream_rng(config.seed, 1),
            ticket_rng: stream_rng(config.seed, 2),
            surge_rng: stream_rng(config.seed, 3),
            queues: (0..QUEUES.len())
                .map(|i| QueueState {
                    free_at: Vec::new(),
                    staffed: 0,
                    rng: stream_rng(config.seed, 10 + i as u64),
                })
                .collect(),
            surges: Vec::new(),
            next_key: 1,
            next_incident: 10_000 + (seconds % 900) * 10_000,
            next_call: 1000,
        };
        model.schedule(go_live, Step::ShiftChange);
        if model.tickets_per_hour_peak > 0.0 {
            let first = model.next_ticket_arrival(go_live);
            model.schedule(first, Step::TicketArrival);
            // The first surge comes early so a fresh board shows one.
            let first_surge = plus(go_live, uniform(&mut model.surge_rng, 3600.0, 6000.0));
            model.schedule(first_surge, Step::SurgeStart);
        }
        if model.calls_scale > 0.0 {
            for q in 0..QUEUES.len() {
                let first = model.next_call_arrival(q, go_live);
                model.schedule(first, Step::CallArrival(q));
            }
        }
        model
    }

    /// A short tag derived from the go-live second, used in generated ids.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Time of the next request, if any is scheduled.
    pub fn peek_time(&self) -> Option<DateTime<Utc>> {
        self.heap.peek().map(|s| s.at)
    }

    /// All requests due at or before `until`, in send order.
    pub fn advance_to(&mut self, until: DateTime<Utc>) -> Vec<Request> {
        let mut out = Vec::new();
        while let Some(next) = self.heap.peek() {
            if next.at > until {
                break;
            }
            let Some(Scheduled { at, step, .. }) = self.heap.pop() else {
                break;
            };
            match step {
                Step::Emit(action) => out.push(Request {
                    send_at: at,
                    action,
                }),
                Step::TicketArrival => {
                    self.ticket(at, None);
                    let next = self.next_ticket_arrival(at);
                    self.schedule(next, Step::TicketArrival);
                }
                Step::SurgeStart => self.start_surge(at),
                Step::SurgeTicket(surge) => self.ticket(at, Some(surge)),
                Step::CallArrival(q) => {
                    self.call(q, at);
                    let next = self.next_call_arrival(q, at);
                    self.schedule(next, Step::CallArrival(q));
                }
                Step::ShiftChange => self.shift_change(at),
            }
        }
        out
    }

    fn schedule(&mut self, at: DateTime<Utc>, step: Step) {
        self.seq += 1;
        self.heap.push(Scheduled {
            at,
            seq: self.seq,
            step,
        });
    }

    fn emit(&mut self, at: DateTime<Utc>, action: Action) {
        self.schedule(at, Step::Emit(action));
    }

    /// Fractional hour of the hospital day at `t`.
    fn local_hour(&self, t: DateTime<Utc>) -> f64 {
        let local = t + TimeDelta::seconds(self.offset_seconds);
        let seconds = local.num_seconds_from_midnight() as f64;
        seconds / 3600.0
    }

    /// Day profile at `t`, interpolated between hour midpoints so the
    /// rate has no steps on the hour.
    fn profile(&self, t: DateTime<Utc>) -> f64 {
        let x = self.local_hour(t) - 0.5;
        let floor = x.floor();
        let frac = x - floor;
        let i = (floor as i64).rem_euclid(24) as usize;
        DAY_PROFILE[i] * (1.0 - frac) + DAY_PROFILE[(i + 1) % 24] * frac
    }

    fn days_live(&self, t: DateTime<Utc>) -> f64 {
        (seconds_between(self.go_live, t) / 86_400.0).max(0.0)
    }

    /// Volume factor at `t` for a per-day decay. It levels off at the help
    /// desk's steady state, which also keeps the arrival draws (thinning)
    /// from spinning on a vanishing rate in a very long run.
    fn decay(&self, per_day: f64, t: DateTime<Utc>) -> f64 {
        per_day
            .clamp(0.01, 1.0)
            .powf(self.days_live(t))
            .max(STEADY_STATE)
    }

    /// Ticket arrivals per hour at `t` (surges excluded).
    pub fn ticket_rate(&self, t: DateTime<Utc>) -> f64 {
        if t < self.go_live {
            return 0.0;
        }
        self.tickets_per_hour_peak * self.profile(t) * self.decay(self.daily_decay, t)
    }

    /// Calls offered per hour to queue `q` at `t`.
    pub fn call_rate(&self, q: usize, t: DateTime<Utc>) -> f64 {
        let Some(spec) = QUEUES.get(q) else {
            return 0.0;
        };
        if t < self.go_live {
            return 0.0;
        }
        // Scales the queue's own decay with the configured one so a slower
        // configured decay slows every queue.
        let decay = spec.daily_decay * self.daily_decay / 0.75;
        spec.peak_calls_per_hour * self.calls_scale * self.profile(t) * self.decay(decay, t)
    }

    fn next_ticket_arrival(&mut self, after: DateTime<Utc>) -> DateTime<Utc> {
        let max_rate = self.tickets_per_hour_peak;
        let mut t = after;
        loop {
            t = plus(t, exponential(&mut self.arrival_rng, 3600.0 / max_rate));
            let accept = self.ticket_rate(t) / max_rate;
            if self.arrival_rng.random::<f64>() < accept {
                return t;
            }
        }
    }

    fn next_call_arrival(&mut self, q: usize, after: DateTime<Utc>) -> DateTime<Utc> {
        let max_rate = QUEUES[q].peak_calls_per_hour * self.calls_scale;
        let mut t = after;
        loop {
            let gap = exponential(&mut self.queues[q].rng, 3600.0 / max_rate);
            t = plus(t, gap);
            let accept = self.call_rate(q, t) / max_rate;
            if self.queues[q].rng.random::<f64>() < accept {
                return t;
            }
        }
    }

    fn category_weights(&self, t: DateTime<Utc>) -> [f64; 8] {
        // how_to dominates day 1 and fades as users learn the system; the
        // other categories keep their weights, so their shares grow.
        let how_to = 55.0 * 0.8_f64.powf(self.days_live(t));
        // Same order as CATEGORY_ORDER.
        [how_to, 13.0, 10.0, 8.0, 5.0, 4.0, 2.5, 2.5]
    }

    fn ticket(&mut self, opened_at: DateTime<Utc>, surge: Option<usize>) {
        let mut ticket = self.draw_ticket(opened_at, surge);
        let rng = &mut self.ticket_rng;
        let (create_at, updates) = lifecycle(rng, &mut ticket);
        let resend_at = match &ticket.external_id {
            Some(_) if rng.random_bool(0.04) => Some(plus(create_at, uniform(rng, 5.0, 600.0))),
            _ => None,
        };

        let key = self.next_key;
        self.next_key += 1;
        let has_updates = !updates.is_empty();
        if let Some(at) = resend_at {
            self.emit(
                at,
                Action::CreateTicket {
                    key,
                    ticket: ticket.clone(),
                    has_updates,
                    resend: true,
                },
            );
        }
        self.emit(
            create_at,
            Action::CreateTicket {
                key,
                ticket,
                has_updates,
                resend: false,
            },
        );
        let count = updates.len();
        for (i, update) in updates.into_iter().enumerate() {
            self.emit(
                update.at,
                Action::UpdateTicket {
                    key,
                    update,
                    last: i + 1 == count,
                },
            );
        }
    }

    /// Where, what and how a new ticket is about; `status` is still open.
    fn draw_ticket(&mut self, opened_at: DateTime<Utc>, surge: Option<usize>) -> NewTicket {
        let surge = surge.and_then(|i| self.surges.get(i)).cloned();
        let days = self.days_live(opened_at);
        let category_weights = self.category_weights(opened_at);
        let rng = &mut self.ticket_rng;

        let site_index = match surge.as_ref().and_then(|s| s.site) {
            Some(i) => i,
            None => weighted(
                rng,
                &catalog::SITES.iter().map(|s| s.weight).collect::<Vec<_>>(),
            ),
        };
        let site = &catalog::SITES[site_index];
        let department_weights: Vec<f64> = site
            .departments
            .iter()
            .map(|d| catalog::department_weight(d))
            .collect();
        let department = site.departments[weighted(rng, &department_weights)];
        let application = match &surge {
            Some(s) => s.application,
            None => {
                let weights: Vec<f64> = catalog::APPLICATIONS
                    .iter()
                    .map(|a| catalog::application_weight(department, a))
                    .collect();
                catalog::APPLICATIONS[weighted(rng, &weights)]
            }
        };
        let category = match &surge {
            Some(s) if rng.random_bool(0.8) => s.main_category,
            _ => CATEGORY_ORDER[weighted(rng, &category_weights)],
        };
        let severity = {
            // [sev1, sev2, sev3, sev4]
            let weights = match category {
                Category::BreakFix | Category::Interface | Category::Data => {
                    [1.5, 18.0, 66.0, 14.5]
                }
                Category::HowTo | Category::Other => [0.2, 5.0, 74.0, 20.8],
                _ => [0.6, 10.0, 72.0, 17.4],
            };
            weighted(rng, &weights) as u8 + 1
        };
        // At-the-elbow support is heaviest in the first days.
        let ate = 28.0 * 0.85_f64.powf(days);
        let channel = Channel::ALL[weighted(rng, &[45.0, ate, 6.0, 10.0, 5.0, 7.0])];
        let summary = match &surge {
            Some(s) if s.main_category == category && rng.random_bool(0.6) => s.theme.clone(),
            _ => catalog::summary(category, application, |n| rng.random_range(0..n)),
        };
        let roles = catalog::reporter_roles(department);
        let role_weights: Vec<f64> = roles.iter().map(|r| r.1).collect();
        let reporter_role = roles[weighted(rng, &role_weights)].0;
        let integration =
            matches!(channel, Channel::Email | Channel::Portal) || rng.random_bool(0.12);
        let external_id = if integration {
            self.next_incident += 1;
            Some(format!("INC{:07}", self.next_incident))
        } else {
            None
        };

        NewTicket {
            external_id,
            opened_at,
            site: site.name.to_string(),
            department: department.to_string(),
            application: application.to_string(),
            category,
            severity,
            channel,
            summary,
            reporter_role: reporter_role.to_string(),
            status: Status::Open,
            resolved_at: None,
        }
    }

    fn start_surge(&mut self, at: DateTime<Utc>) {
        let rng = &mut self.surge_rng;
        let apps = [
            ("Orders", 5.0),
            ("Clinical Documentation", 3.0),
            ("MAR", 2.0),
            ("Registration/ADT", 1.5),
            ("Pharmacy", 1.0),
            ("Lab", 1.0),
        ];
        let weights: Vec<f64> = apps.iter().map(|a| a.1).collect();
        let application = apps[weighted(rng, &weights)].0;
        let main_category = if rng.random_bool(0.7) {
            Category::HowTo
        } else {
            Category::BreakFix
        };
        let site = if rng.random_bool(0.5) {
            Some(weighted(
                rng,
                &catalog::SITES.iter().map(|s| s.weight).collect::<Vec<_>>(),
            ))
        } else {
            None
        };
        let theme = catalog::summary(main_category, application, |n| rng.random_range(0..n));
        let minutes = uniform(rng, 25.0, 40.0);
        let per_hour = uniform(rng, 40.0, 70.0)
            * (self.tickets_per_hour_peak / 120.0)
            * self.decay(self.daily_decay, at);
        self.surges.push(Surge {
            application,
            site,
            main_category,
            theme,
        });
        let index = self.surges.len() - 1;
        let end = plus(at, minutes * 60.0);
        if per_hour > 0.0 {
            let mut t = at;
            loop {
                t = plus(t, exponential(&mut self.surge_rng, 3600.0 / per_hour));
                if t >= end {
                    break;
                }
                self.schedule(t, Step::SurgeTicket(index));
            }
        }
        // Next surge: about one every three busy hours, rarely at night.
        let mut next = end;
        loop {
            next = plus(next, exponential(&mut self.surge_rng, 3.0 * 3600.0));
            if self.surge_rng.random::<f64>() < self.profile(next) {
                break;
            }
        }
        self.schedule(next, Step::SurgeStart);
    }

    fn handle_median(q: usize) -> f64 {
        QUEUES[q].median_handle_seconds
    }

    /// Agents on queue `q` for the shift `[start, end)`, as a workforce
    /// planner would set them: Erlang C for the forecast busiest moment of
    /// the shift at the queue's service-level target, never fewer than two.
    /// The forecast is the queue's `forecast_accuracy` of the real volume.
    fn planned_agents(&self, q: usize, start: DateTime<Utc>, end: DateTime<Utc>) -> usize {
        let mut peak: f64 = 0.0;
        let mut t = start;
        while t < end {
            peak = peak.max(self.call_rate(q, t));
            t += TimeDelta::minutes(10);
        }
        let spec = &QUEUES[q];
        let handle = Self::handle_median(q).clamp(180.0, 480.0) * 1.05 + MEAN_WRAP_SECONDS;
        let erlangs = peak * spec.forecast_accuracy * handle / 3600.0;
        erlang_c_agents(
            erlangs,
            handle,
            f64::from(spec.answer_target_seconds),
            spec.service_level_target,
        )
        .max(2)
    }

    fn next_shift_change(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        let offset = TimeDelta::seconds(self.offset_seconds);
        let local = after + offset;
        let since_midnight = TimeDelta::seconds(i64::from(local.num_seconds_from_midnight()))
            + TimeDelta::nanoseconds(i64::from(local.nanosecond()));
        let midnight = local - since_midnight;
        let next = SHIFT_STARTS
            .iter()
            .map(|h| midnight + TimeDelta::hours(*h))
            .find(|c| *c > local)
            .unwrap_or(midnight + TimeDelta::hours(24 + SHIFT_STARTS[0]));
        next - offset
    }

    fn shift_change(&mut self, at: DateTime<Utc>) {
        let end = self.next_shift_change(at);
        for (q, spec) in QUEUES.iter().enumerate() {
            let staffed = self.planned_agents(q, at, end);
            let state = &mut self.queues[q];
            // Seats beyond the new staffing keep their busy-until time, so a
            // call in progress at a shift change still finishes.
            if state.free_at.len() < staffed {
                state.free_at.resize(staffed, at);
            }
            state.staffed = staffed;
            self.emit(
                at,
                Action::PutQueue {
                    queue: spec.name.to_string(),
                    settings: QueueSettings {
                        answer_target_seconds: spec.answer_target_seconds,
                        service_level_target: spec.service_level_target,
                        max_occupancy: MAX_OCCUPANCY,
                        shrinkage: 0.3,
                        agents_staffed: staffed as u32,
                    },
                },
            );
        }
        self.schedule(end, Step::ShiftChange);
    }

    fn call(&mut self, q: usize, offered_at: DateTime<Utc>) {
        self.next_call += 1;
        let call_id = format!("c-{}-{}", self.tag, self.next_call);
        let spec = &QUEUES[q];
        let queue = spec.name.to_string();
        let state = &mut self.queues[q];
        let rng = &mut state.rng;
        let patience = exponential(rng, spec.mean_patience_seconds);
        let handle = log_normal(rng, spec.median_handle_seconds, 0.3).clamp(180.0, 480.0);
        let wrap: u32 = rng.random_range(20..=60);
        let late_offer = rng.random_bool(0.04);
        let repeat_end = rng.random_bool(0.01);
        let feed_lag = uniform(rng, 1.0, 5.0);

        // FIFO: the caller takes the seat that frees up first.
        let mut best: Option<(usize, DateTime<Utc>)> = None;
        for (i, free) in state.free_at.iter().take(state.staffed).enumerate() {
            if best.is_none_or(|(_, b)| *free < b) {
                best = Some((i, *free));
            }
        }
        let event = |kind, at, agent: Option<String>, wrap_seconds| CallEvent {
            call_id: call_id.clone(),
            queue: queue.clone(),
            event: kind,
            at,
            agent,
            wrap_seconds,
        };
        let offered = event(CallEventKind::Offered, offered_at, None, None);
        let answer = best.and_then(|(seat, free)| {
            let start = free.max(offered_at);
            (seconds_between(offered_at, start) <= patience).then_some((seat, start))
        });
        match answer {
            Some((seat, answered_at)) => {
                let ended_at = plus(answered_at, handle);
                state.free_at[seat] = plus(ended_at, f64::from(wrap));
                let agent = format!("a-{}", spec.agent_base + seat as u32 + 1);
                let answered = event(CallEventKind::Answered, answered_at, Some(agent), None);
                let ended = event(CallEventKind::Ended, ended_at, None, Some(wrap));
                // A lagging ACD feed sometimes delivers "offered" after
                // "answered"; the server must hold the early event.
                let offered_send = if late_offer {
                    plus(answered_at, feed_lag)
                } else {
                    offered_at
                };
                self.emit(offered_send, Action::CallEvent(offered));
                self.emit(answered_at, Action::CallEvent(answered));
                if repeat_end {
                    self.emit(plus(ended_at, feed_lag), Action::CallEvent(ended.clone()));
                }
                self.emit(ended_at, Action::CallEvent(ended));
            }
            None => {
                let abandoned = event(
                    CallEventKind::Abandoned,
                    plus(offered_at, patience),
                    None,
                    None,
                );
                self.emit(offered_at, Action::CallEvent(offered));
                self.emit(abandoned.at, Action::CallEvent(abandoned));
            }
        }
    }
}

/// Draws a ticket's whole life: either logged already resolved (first-contact
/// resolution) or picked up, perhaps escalated or left pending, resolved
/// after a log-normal time, perhaps reopened, perhaps closed. Returns when
/// the creation is sent and the updates in order.
fn lifecycle(rng: &mut StdRng, ticket: &mut NewTicket) -> (DateTime<Utc>, Vec<TicketUpdate>) {
    let opened_at = ticket.opened_at;
    let (category, severity) = (ticket.category, ticket.severity);
    let fcr_channel = match ticket.channel {
        Channel::Phone => 0.35,
        Channel::Ate => 0.55,
        Channel::WalkIn => 0.45,
        Channel::Chat => 0.30,
        Channel::Email | Channel::Portal => 0.05,
    };
    let fcr_category = match ticket.category {
        Category::HowTo => 1.3,
        Category::Access => 1.2,
        Category::Other | Category::Workflow => 0.8,
        Category::Hardware | Category::Data | Category::BreakFix => 0.35,
        Category::Interface => 0.1,
    };
    let first_contact = ticket.severity > 1 && rng.random::<f64>() < fcr_channel * fcr_category;

    let desk = format!("desk-{:02}", rng.random_range(1..=24));
    let mut updates: Vec<TicketUpdate> = Vec::new();
    let create_at;
    let mut resolved_at;
    if first_contact {
        // Logged as the call or visit ends, already solved.
        resolved_at = plus(opened_at, uniform(rng, 120.0, 720.0));
        ticket.status = Status::Resolved;
        ticket.resolved_at = Some(resolved_at);
        create_at = resolved_at;
    } else {
        create_at = opened_at;
        let pickup_mean = match severity {
            1 => 120.0,
            2 => 480.0,
            3 => 1200.0,
            _ => 2700.0,
        };
        let picked_up = plus(opened_at, 30.0 + exponential(rng, pickup_mean));
        updates.push(TicketUpdate {
            status: Some(Status::InProgress),
            at: picked_up,
            assignee: Some(desk.clone()),
            tier: Some(1),
        });
        let median_minutes = match category {
            Category::HowTo => 35.0,
            Category::Access => 30.0,
            Category::Workflow | Category::Other => 90.0,
            Category::BreakFix | Category::Data => 180.0,
            Category::Hardware => 240.0,
            Category::Interface => 300.0,
        };
        let severity_factor = match severity {
            1 => 0.5,
            2 => 0.7,
            3 => 1.0,
            _ => 1.6,
        };
        let duration = log_normal(rng, median_minutes * 60.0 * severity_factor, 0.9)
            .clamp(240.0, 3.0 * 86_400.0);
        let mut work = (seconds_between(picked_up, plus(opened_at, duration))).max(180.0);
        let escalate_p = match category {
            Category::HowTo => 0.04,
            Category::Access | Category::Other => 0.10,
            Category::Workflow => 0.15,
            Category::Hardware => 0.20,
            Category::BreakFix => 0.35,
            Category::Data => 0.30,
            Category::Interface => 0.50,
        } + if severity == 2 { 0.2 } else { 0.0 };
        if severity == 1 || rng.random::<f64>() < escalate_p {
            work *= 1.5;
            let tier = if severity == 1 || rng.random_bool(0.25) {
                3
            } else {
                2
            };
            let delay = if severity == 1 {
                uniform(rng, 300.0, 900.0).min(work * 0.3)
            } else {
                work * uniform(rng, 0.1, 0.4)
            };
            updates.push(TicketUpdate {
                status: Some(Status::Escalated),
                at: plus(picked_up, delay),
                assignee: Some(if tier == 3 {
                    "vendor-support".to_string()
                } else {
                    catalog::analyst_team(&ticket.application).to_string()
                }),
                tier: Some(tier),
            });
        } else if rng.random_bool(0.12) {
            // Waiting on the caller (a callback, a screenshot).
            work *= 1.3;
            updates.push(TicketUpdate {
                status: Some(Status::Pending),
                at: plus(picked_up, work * uniform(rng, 0.15, 0.35)),
                assignee: None,
                tier: None,
            });
            updates.push(TicketUpdate {
                status: Some(Status::InProgress),
                at: plus(picked_up, work * uniform(rng, 0.6, 0.8)),
                assignee: None,
                tier: None,
            });
        }
        resolved_at = plus(picked_up, work);
        updates.push(TicketUpdate {
            status: Some(Status::Resolved),
            at: resolved_at,
            assignee: None,
            tier: None,
        });
    }
    let reopen_p = if first_contact { 0.03 } else { 0.05 };
    if rng.random::<f64>() < reopen_p {
        let reopened = plus(resolved_at, 300.0 + exponential(rng, 2400.0));
        updates.push(TicketUpdate {
            status: Some(Status::InProgress),
            at: reopened,
            assignee: Some(desk),
            tier: Some(1),
        });
        resolved_at = plus(reopened, log_normal(rng, 2400.0, 0.8).max(180.0));
        updates.push(TicketUpdate {
            status: Some(Status::Resolved),
            at: resolved_at,
            assignee: None,
            tier: None,
        });
    }
    if rng.random_bool(0.5) {
        updates.push(TicketUpdate {
            status: Some(Status::Closed),
            at: plus(resolved_at, uniform(rng, 3600.0, 8.0 * 3600.0)),
            assignee: None,
            tier: None,
        });
    }
    // Keeps each ticket's history strictly ordered even when draws
    // collide, so updates never overtake each other or the creation.
    let mut last = create_at;
    for update in &mut updates {
        if update.at <= last {
            update.at = plus(last, 1.0);
        }
        last = update.at;
    }
    (create_at, updates)
}

/// Smallest agent count whose Erlang C service level at `target` seconds
/// reaches `level` for `erlangs` of traffic with mean handle `handle`
/// seconds, raised if needed to keep occupancy under [`MAX_OCCUPANCY`]:
/// golive's own solver, so the simulated planner staffs by the definition
/// the service recommends with.
fn erlang_c_agents(erlangs: f64, handle: f64, target: f64, level: f64) -> usize {
    let input = erlang::ErlangInput {
        calls: erlangs,
        interval_seconds: handle,
        aht_seconds: handle,
        answer_target_seconds: target,
        service_level_target: level,
        max_occupancy: MAX_OCCUPANCY,
        shrinkage: 0.0,
        asa_target_seconds: None,
    };
    // The planner's inputs are the catalog's constants; a question the
    // solver refuses (traffic beyond its range) staffs the occupancy bound.
    erlang::solve(&input).map_or((erlangs / MAX_OCCUPANCY).ceil() as usize, |out| {
        (out.required_agents as usize).max(1)
    })
}

fn finite_or(value: f64, fallback: f64) -> f64 {
    if value.is_finite() { value } else { fallback }
}
