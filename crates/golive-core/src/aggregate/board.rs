//! The live side of the aggregator: the big-screen board, per-minute
//! trends, arrival series for forecasting, surges and waiting calls.
//! Everything here is counts; no ticket text, names or assignees.

use super::figures::Report;
use super::timeline::change;
use super::{Aggregator, Call, Class};
use crate::model::TicketDimension;
use crate::time::{Millis, format_rfc3339};
use serde::Serialize;
use std::collections::BTreeMap;

const MINUTE_MS: Millis = 60_000;
/// The board's two live windows.
pub const SHORT_WINDOW_MS: Millis = 15 * MINUTE_MS;
pub const LONG_WINDOW_MS: Millis = 60 * MINUTE_MS;
/// Length of a surge's recent window.
const SURGE_WINDOW_MS: Millis = 15 * MINUTE_MS;
/// How far before the recent window a surge's baseline reaches.
const SURGE_BASELINE_MS: Millis = 120 * MINUTE_MS;
/// Fewest tickets in the recent window that can make a surge.
const SURGE_MIN_COUNT: u64 = 6;
/// How many times its baseline the recent window must reach.
const SURGE_FACTOR: f64 = 3.0;
/// Floor of the baseline in the comparison, so a quiet group needs real
/// volume to flag.
const SURGE_BASELINE_FLOOR: f64 = 1.0;
/// A call offered longer ago than this is no longer counted as waiting:
/// its end was most likely lost by the ACD feed.
const WAITING_CUTOFF_MS: Millis = 4 * 60 * MINUTE_MS;
/// Span and step of the board's trend.
const TREND_MINUTES: i64 = 120;
/// Most buckets a trend or arrival series returns; later ones are left out.
pub const MAX_BUCKETS: usize = 100_000;

/// Everything the command center's big screen shows, as of one moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Board {
    /// RFC 3339.
    pub as_of: String,
    /// Reports ending now.
    pub windows: BoardWindows,
    /// Per-minute counts of the last two hours.
    pub trend: Trend,
    /// Applications and sites surging now.
    pub surges: Vec<Surge>,
    /// Queue name → calls waiting now, for every known queue.
    pub calls_waiting: BTreeMap<String, u64>,
    /// Severity "1".."4" → active tickets now.
    pub backlog_by_severity: BTreeMap<String, u64>,
    /// Active severity-1 tickets now: the tile nobody may miss.
    pub open_sev1: u64,
}

/// The board's report windows, all ending now, with tickets grouped by
/// application and by site.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoardWindows {
    /// The last 15 minutes.
    #[serde(rename = "15m")]
    pub last_15m: Report,
    /// The last 60 minutes.
    #[serde(rename = "60m")]
    pub last_60m: Report,
    /// From the go-live start, when one is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_go_live: Option<Report>,
}

/// Counts per bucket, for a sparkline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trend {
    /// Width of a bucket.
    pub bucket_seconds: i64,
    /// Oldest first; the last bucket is cut at the board's `as_of`.
    pub points: Vec<TrendPoint>,
}

/// One bucket of a trend; calls are counted by their offered time, so
/// `abandoned` is among the calls offered in the bucket.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrendPoint {
    /// Bucket start (RFC 3339 on the wire).
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub at: Millis,
    /// Tickets opened.
    pub opened: u64,
    /// Resolutions.
    pub resolved: u64,
    /// Calls offered.
    pub offered: u64,
    /// Of the calls offered, those abandoned.
    pub abandoned: u64,
}

/// An application or site opening tickets far faster than its own recent
/// baseline (the rule is in the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Surge {
    /// `application` or `site`.
    pub dimension: TicketDimension,
    /// The application or site name.
    pub value: String,
    /// Tickets opened in the last 15 minutes.
    pub last_15m: u64,
    /// Mean tickets opened per 15 minutes over the two hours before.
    pub baseline_15m: f64,
    /// `last_15m / max(baseline_15m, 1)`.
    pub ratio: f64,
}

/// Which arrivals [`Aggregator::arrivals_per_bucket`] counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arrivals<'a> {
    /// Tickets opened; only those with `dimension` = `value` when given.
    Tickets(Option<(TicketDimension, &'a str)>),
    /// Calls offered; only to the named queue when given.
    Calls(Option<&'a str>),
}

impl Aggregator {
    /// The board as of `now`: 15- and 60-minute windows (and since the
    /// go-live start, if set), the per-minute trend of the last two hours,
    /// surges, waiting calls and the backlog by severity.
    pub fn board(&self, now: Millis, go_live_start: Option<Millis>) -> Board {
        self.board_where(now, go_live_start, None)
    }

    /// [`Aggregator::board`] for one site's display when `site` is given:
    /// every ticket figure counts that site's tickets only, surges are the
    /// site's own, and the call figures (calls belong to queues, not
    /// sites) are left out: no waiting calls, trend points with no calls.
    pub fn board_where(
        &self,
        now: Millis,
        go_live_start: Option<Millis>,
        site: Option<&str>,
    ) -> Board {
        let grouped = [TicketDimension::Application, TicketDimension::Site];
        let only = site.map(|name| (TicketDimension::Site, name));
        // Every window ends now: one backlog for all of them (and the
        // severities), not one walk each.
        let backlog = self.backlog_at(
            now,
            &[
                TicketDimension::Application,
                TicketDimension::Site,
                TicketDimension::Severity,
            ],
            only,
        );
        let window = |from: Millis| self.report_at(from, now, &grouped, only, Some(&backlog));
        // Whole minutes, the last one ending at or just after `now`, so the
        // sparkline does not shift every second.
        let last_minute = now.saturating_sub(1).div_euclid(MINUTE_MS) * MINUTE_MS;
        let trend_from = last_minute - (TREND_MINUTES - 1) * MINUTE_MS;

        let site_group = site.map(|name| {
            self.group_of_value(TicketDimension::Site, name)
                .unwrap_or(usize::MAX)
        });
        let keep = |class: &Class| {
            site_group.is_none_or(|group| class.group(TicketDimension::Site) == group)
        };
        let backlog_by_severity: BTreeMap<String, u64> = (0..4)
            .map(|group| {
                let name = self.group_name(TicketDimension::Severity, group);
                let count = backlog.of(TicketDimension::Severity, group);
                (name, u64::try_from(count).unwrap_or(0))
            })
            .collect();
        let points = match site {
            None => self.trend(trend_from, now, MINUTE_MS),
            Some(_) => self.trend_where(trend_from, now, MINUTE_MS, &keep, &|_| false),
        };
        let mut surges = self.surges(now);
        let mut calls_waiting: BTreeMap<String, u64> =
            self.calls_waiting(now).into_iter().collect();
        if let Some(name) = site {
            surges.retain(|s| s.dimension == TicketDimension::Site && s.value == name);
            calls_waiting.clear();
        }

        Board {
            as_of: format_rfc3339(now),
            windows: BoardWindows {
                last_15m: window(now.saturating_sub(SHORT_WINDOW_MS)),
                last_60m: window(now.saturating_sub(LONG_WINDOW_MS)),
                // Kept as events are applied when the aggregator tracks
                // this start; a walk of the window otherwise.
                since_go_live: go_live_start.map(|start| {
                    self.since_report(start, now, only, &backlog)
                        .unwrap_or_else(|| window(start))
                }),
            },
            trend: Trend {
                bucket_seconds: MINUTE_MS / 1000,
                points,
            },
            surges,
            calls_waiting,
            open_sev1: backlog_by_severity.get("1").copied().unwrap_or(0),
            backlog_by_severity,
        }
    }

    /// Tickets opened and resolved, calls offered and abandoned, per bucket
    /// of `bucket_ms` from `from` (the last bucket is cut at `to`). Empty if
    /// `bucket_ms <= 0` or `from >= to`; at most [`MAX_BUCKETS`] points.
    pub fn trend(&self, from: Millis, to: Millis, bucket_ms: i64) -> Vec<TrendPoint> {
        self.trend_where(from, to, bucket_ms, &|_| true, &|_| true)
    }

    /// The per-minute trend of one phone queue's calls (no tickets), the
    /// last two hours ending at `now`, as on the board.
    pub fn queue_trend(&self, now: Millis, queue: &str) -> Trend {
        let wanted = self.queues.get(queue);
        let last_minute = now.saturating_sub(1).div_euclid(MINUTE_MS) * MINUTE_MS;
        let from = last_minute - (TREND_MINUTES - 1) * MINUTE_MS;
        Trend {
            bucket_seconds: MINUTE_MS / 1000,
            points: self.trend_where(from, now, MINUTE_MS, &|_| false, &|call| {
                wanted.is_some_and(|id| call.queue as usize == id)
            }),
        }
    }

    /// [`Aggregator::trend`] of the tickets and calls the filters accept.
    fn trend_where(
        &self,
        from: Millis,
        to: Millis,
        bucket_ms: i64,
        tickets: &dyn Fn(&Class) -> bool,
        calls: &dyn Fn(&Call) -> bool,
    ) -> Vec<TrendPoint> {
        let mut points: Vec<TrendPoint> = (0..bucket_count(from, to, bucket_ms))
            .map(|i| TrendPoint {
                at: from + i as i64 * bucket_ms,
                opened: 0,
                resolved: 0,
                offered: 0,
                abandoned: 0,
            })
            .collect();
        if points.is_empty() {
            return points;
        }
        let slot = |at: Millis| bucket_index(from, to, bucket_ms, at);
        for (start, bucket) in self.timeline.window(from, to) {
            for &index in &bucket.opened {
                let ticket = &self.tickets[index as usize];
                if tickets(&self.class_of(index, 0))
                    && let Some(point) = slot(ticket.opened_at).and_then(|i| points.get_mut(i))
                {
                    point.opened += 1;
                }
            }
            for change in &bucket.changes {
                if change.kind & change::RESOLVED != 0
                    && tickets(&self.class_of(change.ticket, change.version))
                    && let Some(point) = slot(change.at(start)).and_then(|i| points.get_mut(i))
                {
                    point.resolved += 1;
                }
            }
            for &index in &bucket.offered {
                let call = &self.calls[index as usize];
                if calls(call)
                    && let Some(point) = slot(call.offered_at).and_then(|i| points.get_mut(i))
                {
                    point.offered += 1;
                    point.abandoned += u64::from(call.abandoned_at().is_some());
                }
            }
        }
        points
    }

    /// Arrivals per bucket of `bucket_ms` from `from` (the last bucket is cut
    /// at `to`), for forecasting: tickets opened or calls offered, optionally
    /// for one dimension value or queue. An unknown value gives zeros.
    /// Empty if `bucket_ms <= 0` or `from >= to`; at most [`MAX_BUCKETS`].
    pub fn arrivals_per_bucket(
        &self,
        source: Arrivals<'_>,
        from: Millis,
        to: Millis,
        bucket_ms: i64,
    ) -> Vec<u64> {
        let mut counts = vec![0u64; bucket_count(from, to, bucket_ms)];
        let slot = |at: Millis| bucket_index(from, to, bucket_ms, at);
        let add = |counts: &mut Vec<u64>, at: Millis| {
            if let Some(count) = slot(at).and_then(|i| counts.get_mut(i)) {
                *count += 1;
            }
        };
        match source {
            Arrivals::Tickets(filter) => {
                // `None`: a value no ticket has, so nothing to count.
                let wanted = match filter {
                    Some((dimension, value)) => self
                        .group_of_value(dimension, value)
                        .map(|group| Some((dimension, group))),
                    None => Some(None),
                };
                let Some(wanted) = wanted else {
                    return counts;
                };
                for (_, bucket) in self.timeline.window(from, to) {
                    for &index in &bucket.opened {
                        let ticket = &self.tickets[index as usize];
                        if wanted.is_none_or(|(dimension, group)| {
                            self.class_of(index, 0).group(dimension) == group
                        }) {
                            add(&mut counts, ticket.opened_at);
                        }
                    }
                }
            }
            Arrivals::Calls(queue) => {
                let wanted = match queue {
                    Some(name) => self.queues.get(name).map(Some),
                    None => Some(None),
                };
                let Some(wanted) = wanted else {
                    return counts;
                };
                for (_, bucket) in self.timeline.window(from, to) {
                    for &index in &bucket.offered {
                        let call = &self.calls[index as usize];
                        if wanted.is_none_or(|id| call.queue as usize == id) {
                            add(&mut counts, call.offered_at);
                        }
                    }
                }
            }
        }
        counts
    }

    /// Applications and sites whose tickets opened in the last 15 minutes
    /// are at least 6 and at least 3 × their baseline; highest ratio first.
    pub fn surges(&self, now: Millis) -> Vec<Surge> {
        let recent_from = now.saturating_sub(SURGE_WINDOW_MS);
        let baseline_from = recent_from.saturating_sub(SURGE_BASELINE_MS);
        let dimensions = [TicketDimension::Application, TicketDimension::Site];
        // Per dimension, per group: (recent, baseline) counts.
        let mut counts: Vec<Vec<(u64, u64)>> = dimensions
            .iter()
            .map(|&dimension| vec![(0, 0); self.group_count(dimension)])
            .collect();
        for (_, bucket) in self.timeline.window(baseline_from, now) {
            for &index in &bucket.opened {
                let ticket = &self.tickets[index as usize];
                let at = ticket.opened_at;
                if at < baseline_from || at >= now {
                    continue;
                }
                let class = self.class_of(index, 0);
                for (dimension, groups) in dimensions.iter().zip(&mut counts) {
                    let (recent, baseline) = &mut groups[class.group(*dimension)];
                    if at >= recent_from {
                        *recent += 1;
                    } else {
                        *baseline += 1;
                    }
                }
            }
        }
        let periods = SURGE_BASELINE_MS as f64 / SURGE_WINDOW_MS as f64;
        let mut surges: Vec<Surge> = Vec::new();
        for (&dimension, groups) in dimensions.iter().zip(&counts) {
            for (group, &(recent, baseline)) in groups.iter().enumerate() {
                let baseline_15m = baseline as f64 / periods;
                let ratio = recent as f64 / baseline_15m.max(SURGE_BASELINE_FLOOR);
                if recent >= SURGE_MIN_COUNT && ratio >= SURGE_FACTOR {
                    surges.push(Surge {
                        dimension,
                        value: self.group_name(dimension, group),
                        last_15m: recent,
                        baseline_15m,
                        ratio,
                    });
                }
            }
        }
        surges.sort_by(|a, b| {
            b.ratio
                .total_cmp(&a.ratio)
                .then_with(|| a.dimension.as_str().cmp(b.dimension.as_str()))
                .then_with(|| a.value.cmp(&b.value))
        });
        surges
    }

    /// The open backlog at `now − k·step` for k = `steps` … 0 (oldest
    /// first), from `backlog_now` (the backlog as of `now`) less the
    /// backlog changes dated in between: no walk of the history.
    pub fn backlog_steps(
        &self,
        now: Millis,
        backlog_now: u64,
        step: Millis,
        steps: u32,
    ) -> Vec<u64> {
        let span = step * Millis::from(steps);
        // Backlog change of the facts in [now − (k+1)·step, now − k·step).
        let mut deltas = vec![0i64; steps as usize];
        let mut add = |at: Millis, delta: i64| {
            if step > 0 && at < now && at >= now - span {
                let k = usize::try_from((now - 1 - at) / step).unwrap_or(usize::MAX);
                if let Some(slot) = deltas.get_mut(k) {
                    *slot += delta;
                }
            }
        };
        for (start, bucket) in self.timeline.window(now - span, now) {
            for &index in &bucket.opened {
                add(self.tickets[index as usize].opened_at, 1);
            }
            for fact in &bucket.changes {
                add(fact.at(start), change::backlog_delta(fact.kind));
            }
        }
        let mut backlog = i64::try_from(backlog_now).unwrap_or(i64::MAX);
        let mut samples = vec![backlog_now];
        for delta in deltas {
            backlog -= delta;
            samples.push(u64::try_from(backlog).unwrap_or(0));
        }
        samples.reverse();
        samples
    }

    /// Per known queue (sorted by name), the call legs offered there in
    /// `(now - 4 h, now]` that the feed has not reported answered,
    /// abandoned or ended at or before `now`.
    pub fn calls_waiting(&self, now: Millis) -> Vec<(String, u64)> {
        let mut waiting = vec![0u64; self.queues.len()];
        let from = now.saturating_sub(WAITING_CUTOFF_MS);
        for (_, bucket) in self
            .timeline
            .window(from.saturating_add(1), now.saturating_add(1))
        {
            for &index in &bucket.offered {
                let call = &self.calls[index as usize];
                if call.offered_at > from
                    && call.offered_at <= now
                    && !call.is_settled_at(now)
                    && let Some(count) = waiting.get_mut(call.queue as usize)
                {
                    *count += 1;
                }
            }
        }
        let mut queues: Vec<(String, u64)> = waiting
            .into_iter()
            .enumerate()
            .map(|(queue, count)| (self.queues.name(queue).to_owned(), count))
            .collect();
        queues.sort_by(|a, b| a.0.cmp(&b.0));
        queues
    }
}

/// Number of buckets of `bucket_ms` covering `[from, to)`, capped.
pub(super) fn bucket_count(from: Millis, to: Millis, bucket_ms: i64) -> usize {
    if bucket_ms <= 0 || from >= to {
        return 0;
    }
    let span = i128::from(to) - i128::from(from);
    let count = (span + i128::from(bucket_ms) - 1) / i128::from(bucket_ms);
    usize::try_from(count).map_or(MAX_BUCKETS, |count| count.min(MAX_BUCKETS))
}

/// The bucket of `at`, if it is in `[from, to)`.
pub(super) fn bucket_index(from: Millis, to: Millis, bucket_ms: i64, at: Millis) -> Option<usize> {
    if at < from || at >= to {
        return None;
    }
    let offset = i128::from(at) - i128::from(from);
    usize::try_from(offset / i128::from(bucket_ms)).ok()
}
