//! Rollout waves: a phased go-live brings sites live in waves, each at its
//! own go-live start. `GET /api/v1/waves` aligns every wave at its own
//! start and counts, hour by hour since then, its sites' tickets opened,
//! resolutions and backlog, with tickets opened per 100 end users, so a
//! lead sees whether wave 2 is going better than wave 1.
//!
//! Hour `h` of a wave is the report window `[start + h·1h, start +
//! (h+1)·1h)` over the tickets of the wave's sites (each fact under the
//! site the ticket had when it happened, as every report counts): `opened`
//! and `resolved` as the report defines them, `backlog` as of the hour's
//! end. Listed: every hour that has begun (the current one included), up
//! to the `hours` asked for.

use crate::aggregate::Aggregator;
use crate::model::TicketDimension;
use crate::names::fold;
use crate::time::{Millis, format_rfc3339};
use serde::{Deserialize, Serialize};

pub const HOUR_MS: Millis = 3_600_000;
/// Hours listed when the request does not say.
pub const DEFAULT_HOURS: u32 = 72;
/// Most hours a request may ask for: 90 days.
pub const MAX_HOURS: u32 = 90 * 24;

/// One `[[waves]]` entry of the configuration file, as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaveConfig {
    pub name: String,
    /// RFC 3339 with an offset.
    pub go_live_start: String,
    pub sites: Vec<String>,
    /// End users at those sites.
    pub users: u32,
}

/// A checked wave.
#[derive(Clone, Debug, PartialEq)]
pub struct Wave {
    pub name: String,
    pub go_live_start: Millis,
    pub sites: Vec<String>,
    pub users: u32,
}

/// A wave's curves, the body of one `waves` entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WaveCurve {
    pub name: String,
    /// RFC 3339.
    pub go_live_start: String,
    pub sites: Vec<String>,
    pub users: u32,
    pub hours: Vec<WaveHour>,
}

/// Hour `hour` since a wave's go-live start.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WaveHour {
    pub hour: u32,
    pub opened: u64,
    pub resolved: u64,
    /// `opened × 100 / users`.
    pub opened_per_100_users: f64,
    /// Active tickets of the wave's sites as of the hour's end.
    pub backlog: u64,
}

/// Checks the configured waves: names present and distinct, a start with
/// an offset, at least one site, users above zero. The error names the
/// wave (by position) and the field.
pub fn check(configs: &[WaveConfig]) -> Result<Vec<Wave>, (String, String)> {
    let mut waves: Vec<Wave> = Vec::with_capacity(configs.len());
    for (k, config) in configs.iter().enumerate() {
        let field = |name: &str| format!("waves[{k}].{name}");
        let name = config.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err((field("name"), "must be 1 to 64 characters".into()));
        }
        if waves.iter().any(|w| w.name == name) {
            return Err((field("name"), format!("{name:?} names two waves")));
        }
        let go_live_start = crate::time::parse_rfc3339(&config.go_live_start).ok_or_else(|| {
            (
                field("go_live_start"),
                "must be an RFC 3339 timestamp with an offset, e.g. 2026-03-02T06:00:00Z".into(),
            )
        })?;
        let sites: Vec<String> = config.sites.iter().map(|s| s.trim().to_string()).collect();
        if sites.is_empty() || sites.iter().any(String::is_empty) {
            return Err((field("sites"), "must name at least one site".into()));
        }
        if config.users == 0 {
            return Err((field("users"), "must be at least 1".into()));
        }
        waves.push(Wave {
            name: name.to_string(),
            go_live_start,
            sites,
            users: config.users,
        });
    }
    Ok(waves)
}

/// Every wave's hours as of `now`, at most `hours` each.
pub fn curves(aggregator: &Aggregator, waves: &[Wave], now: Millis, hours: u32) -> Vec<WaveCurve> {
    let known = aggregator.known_values(TicketDimension::Site);
    waves
        .iter()
        .map(|wave| {
            // Sites as the figures spell them: a configured name matches
            // whatever case and spacing the tickets arrived with.
            let sites: Vec<String> = known
                .iter()
                .filter(|site| wave.sites.iter().any(|s| fold(s) == fold(site)))
                .cloned()
                .collect();
            let begun = if now < wave.go_live_start {
                0
            } else {
                ((now - wave.go_live_start) / HOUR_MS + 1).min(i64::from(hours))
            };
            let from = wave.go_live_start;
            let steps =
                aggregator.reports_by_step(from, from + begun * HOUR_MS, HOUR_MS, Some(&sites));
            WaveCurve {
                name: wave.name.clone(),
                go_live_start: format_rfc3339(wave.go_live_start),
                sites: wave.sites.clone(),
                users: wave.users,
                hours: steps
                    .iter()
                    .zip(0u32..)
                    .map(|(step, hour)| WaveHour {
                        hour,
                        opened: step.tickets.opened,
                        resolved: step.tickets.resolved,
                        opened_per_100_users: step.tickets.opened as f64 * 100.0
                            / f64::from(wave.users),
                        backlog: step.tickets.backlog,
                    })
                    .collect(),
            }
        })
        .collect()
}
