//! Go-live traffic simulator behind `golive demo`: a deterministic model of
//! command-center traffic (tickets, ticket updates, phone queue call events,
//! queue staffing) and a driver that feeds it to a running server through
//! the public HTTP API, the same path any integration uses.
//!
//! # Clock
//!
//! The simulation starts at [`SimConfig::go_live_start`]. The first
//! [`SimConfig::backfill_hours`] (never past the real present) are generated
//! at once and sent through `POST /api/v1/ingest`, so a fresh board has
//! history. From there the simulated clock runs at [`SimConfig::speed`]
//! simulated seconds per real second, capped at the real wall clock: once it
//! catches up with "now" it runs at 1×. No timestamp ever lies in the
//! future. To see sped-up traffic, start the go-live further in the past
//! than the backfill (as [`SimConfig::demo`] does).

pub mod catalog;
mod driver;
pub mod model;
pub mod wire;

use chrono::{DateTime, TimeDelta, Timelike, Utc};

pub use driver::{Simulator, Stats, sim_clock};
pub use model::{
    Action, CallEvent, CallEventKind, Category, Channel, NewTicket, QueueSettings, Request, Status,
    TicketUpdate, TrafficModel,
};

/// Everything the simulator needs; the traffic model reads only the
/// non-network fields.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Server root, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    /// Bearer token; needs the admin role (ingest, call events, tickets and
    /// queue settings).
    pub token: String,
    /// Simulated seconds per real second while the simulation is behind the
    /// wall clock. Non-positive or non-finite values mean 1.
    pub speed: f64,
    pub seed: u64,
    /// When the go-live began. Day-over-day decay counts from here.
    pub go_live_start: DateTime<Utc>,
    /// Hours after `go_live_start` sent at once through bulk ingest.
    pub backfill_hours: f64,
    /// The hospital's offset from UTC; the day profile (night lull, morning
    /// peak) and the shift changes follow hospital time.
    pub utc_offset_minutes: i32,
    /// Ticket arrivals per hour at the day-1 morning peak, surges excluded.
    pub tickets_per_hour_peak: f64,
    /// Multiplies every phone queue's call volume (1.0 ≈ 160 calls/hour at
    /// the day-1 peak over three queues).
    pub calls_scale: f64,
    /// Volume factor per day since go-live.
    pub daily_decay: f64,
}

impl SimConfig {
    /// A demo setup for a server at `base_url`: seed 42, an overnight
    /// cutover 36.5 hours ago (22:00 hospital time the day before
    /// yesterday), the first 36 hours sent at once as backfill — a day and
    /// a half of decaying volume for the staffing plan to learn from — and
    /// the last half hour replayed at 60× (about 30 real seconds) before
    /// running in real time. The hospital's time zone is chosen so that it
    /// is 10:30 there right now, which puts the board in day two's
    /// overloaded morning peak whatever the machine's clock says.
    pub fn demo(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        let now = Utc::now();
        let backfill_hours = 36.0;
        SimConfig {
            base_url: base_url.into(),
            token: token.into(),
            speed: 60.0,
            seed: 42,
            go_live_start: now - TimeDelta::minutes(36 * 60 + 30),
            backfill_hours,
            utc_offset_minutes: offset_for_local_time(now, 10 * 60 + 30),
            tickets_per_hour_peak: 120.0,
            calls_scale: 1.0,
            daily_decay: 0.75,
        }
    }
}

impl Default for SimConfig {
    /// [`SimConfig::demo`] against `http://127.0.0.1:8080` with no token.
    fn default() -> Self {
        SimConfig::demo("http://127.0.0.1:8080", "")
    }
}

/// The UTC offset (minutes, a multiple of 15, within ±12 h) at which `now`
/// reads `local_minutes` past midnight.
pub fn offset_for_local_time(now: DateTime<Utc>, local_minutes: i32) -> i32 {
    let utc_minutes = (now.num_seconds_from_midnight() / 60) as i32;
    let raw = (local_minutes - utc_minutes).rem_euclid(24 * 60);
    let rounded = ((raw + 7) / 15 * 15) % (24 * 60);
    if rounded >= 12 * 60 {
        rounded - 24 * 60
    } else {
        rounded
    }
}

/// The first `hours` of the go-live (from `config.go_live_start`) as NDJSON
/// ingest lines (no trailing newlines; join with `\n`), for benchmarks and
/// tests that want a realistic body without a server. Queue settings are
/// not an ingest kind and are left out. Timestamps are not capped at the
/// wall clock: pick a `go_live_start` far enough in the past if the server
/// must not see future times.
pub fn ndjson_backfill(config: &SimConfig, hours: f64) -> Vec<String> {
    let mut model = TrafficModel::new(config);
    let mut addresses = wire::Addresses::new(model.tag());
    let until = config.go_live_start + TimeDelta::milliseconds((hours.max(0.0) * 3.6e6) as i64);
    model
        .advance_to(until)
        .iter()
        .filter_map(|request| addresses.ndjson_line(request))
        .map(|line| line.text)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_offset_puts_now_at_half_past_ten() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T03:07:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap();
        let offset = offset_for_local_time(now, 630);
        assert_eq!(offset % 15, 0);
        assert!((-720..720).contains(&offset));
        let local = now + TimeDelta::minutes(i64::from(offset));
        let minutes = local.num_seconds_from_midnight() / 60;
        assert!((623..=638).contains(&minutes), "{minutes}");
    }
}
