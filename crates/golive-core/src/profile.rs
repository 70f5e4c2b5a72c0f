//! The go-live arrival profile: calls (or tickets) per 30-minute interval
//! as an intraday shape that decays day over day, learned from the days
//! observed so far, for the staffing plan of the next 24–72 hours.
//!
//! # Model
//!
//! ```text
//! E[arrivals in interval t] = s[slot(t)] · r^{d(t)}
//! ```
//!
//! `slot(t)` is the interval's half hour of the day (48 slots), `s` the
//! expected arrivals in that slot at the start of the history, `d(t)` the
//! time since the start of the history in days (continuous, so no day
//! boundary matters) and `r` the day-over-day factor (0.75: a quarter less
//! every day). Arrivals are taken as Poisson, and `s` and `r` are the
//! maximum-likelihood estimates: for a given `β = ln r` the best `s_k` is
//! `Σ_{t∈k} y_t / Σ_{t∈k} e^{β d(t)}`, and with it the log-likelihood of `β`,
//!
//! ```text
//! L(β) = β Σ_t y_t d(t) − Σ_k Y_k ln Σ_{t∈k} e^{β d(t)}      (Y_k = Σ_{t∈k} y_t)
//! ```
//!
//! is concave (minus a sum of log-sum-exps plus a linear term), so Newton's
//! method on `β` converges in a handful of steps. `r` is kept within
//! `[0.2, 1.5]`.
//!
//! The decay can only be told apart from the shape once slots have been
//! seen on two different days: with less than 36 hours of history `r` is
//! the configured `default_daily_decay` (method `default_decay`) instead
//! of fitted (`fitted`). Slots not observed yet (the first day of a
//! go-live) take the mean of the observed ones. Only whole intervals before
//! the current one are used, from the go-live start (or the first arrival)
//! on.
//!
//! # Back-test (in this module's tests)
//!
//! A simulated five-day go-live with a known generating curve (the shape of
//! `forecast.rs`'s back-test: night floor at 15 % of peak, ramp 06:00–10:00,
//! plateau to 14:00, tail to midnight; peak 240 calls an hour on day one,
//! `r = 0.75`), Poisson arrivals, 8 seeds. At each midnight from day 2 to
//! day 5 the profile is fitted on everything before and forecasts the next
//! 24 hours. Volume-weighted absolute percentage error of the hourly
//! totals (WAPE), against the same-hour-yesterday forecast and the true
//! rate (the Poisson noise floor):
//!
//! | peak        | this profile  | same hour yesterday | true rate (noise floor) |
//! |-------------|---------------|---------------------|-------------------------|
//! | 240 calls/h | 12.9 % (17.6) | 35.0 % (37.5)       | 10.0 % (14.4)           |
//! | 480 calls/h | 9.5 % (12.7)  | 33.6 % (34.6)       | 7.2 % (10.2)            |
//!
//! (30-minute WAPE in brackets.) The profile is within 3 points of the
//! noise floor; "same hour yesterday" misses by the whole day's decay.

use serde::Serialize;

use crate::time::Millis;

/// Length of a plan interval.
pub const INTERVAL_MS: Millis = 30 * 60 * 1000;
/// Intervals in a day.
pub const SLOTS: usize = 48;
const DAY_MS: f64 = 86_400_000.0;
/// History needed before the decay is fitted rather than assumed.
pub const MIN_FIT_HOURS: f64 = 36.0;
const MIN_FACTOR: f64 = 0.2;
const MAX_FACTOR: f64 = 1.5;

/// A fitted profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    /// Start of the first interval of the history (where `d = 0`).
    #[serde(serialize_with = "crate::time::rfc3339::serialize")]
    pub origin: Millis,
    /// Expected arrivals per slot (UTC half hour of the day) at `origin`.
    pub slots: Vec<f64>,
    /// Day-over-day factor `r`.
    pub daily_factor: f64,
    /// `fitted`, `default_decay`, or `no_history`.
    pub method: &'static str,
    /// Days of history the profile was learned from.
    pub days_observed: f64,
    /// Arrivals in the history.
    pub arrivals: f64,
}

impl Profile {
    /// Expected arrivals in the interval starting at `start`.
    pub fn expected(&self, start: Millis) -> f64 {
        let slot = slot_of(start);
        let days = (start - self.origin) as f64 / DAY_MS;
        self.slots[slot] * self.daily_factor.powf(days)
    }
}

/// The half hour of the (UTC) day an interval starting at `start` is in.
pub fn slot_of(start: Millis) -> usize {
    (start.rem_euclid(86_400_000) / INTERVAL_MS) as usize % SLOTS
}

/// Fits the profile to `counts`, the arrivals of consecutive whole
/// intervals, the first starting at `origin` (an interval boundary).
pub fn fit(counts: &[f64], origin: Millis, default_daily_decay: f64) -> Profile {
    let counts: Vec<f64> = counts
        .iter()
        .map(|c| if c.is_finite() { c.max(0.0) } else { 0.0 })
        .collect();
    let days: Vec<f64> = (0..counts.len())
        .map(|i| i as f64 * INTERVAL_MS as f64 / DAY_MS)
        .collect();
    let slots: Vec<usize> = (0..counts.len())
        .map(|i| slot_of(origin + i as Millis * INTERVAL_MS))
        .collect();
    let observed_hours = counts.len() as f64 / 2.0;
    let arrivals: f64 = counts.iter().sum();
    let default_factor = default_daily_decay.clamp(MIN_FACTOR, MAX_FACTOR);
    if counts.is_empty() {
        return Profile {
            origin,
            slots: vec![0.0; SLOTS],
            daily_factor: default_factor,
            method: "no_history",
            days_observed: 0.0,
            arrivals: 0.0,
        };
    }
    let (factor, method) = if observed_hours >= MIN_FIT_HOURS && arrivals > 0.0 {
        (fit_factor(&counts, &days, &slots), "fitted")
    } else {
        (default_factor, "default_decay")
    };
    let beta = factor.ln();
    let mut totals = [0.0_f64; SLOTS];
    let mut exposure = [0.0_f64; SLOTS];
    for ((&y, &d), &k) in counts.iter().zip(&days).zip(&slots) {
        totals[k] += y;
        exposure[k] += (beta * d).exp();
    }
    let seen: Vec<f64> = (0..SLOTS)
        .filter(|&k| exposure[k] > 0.0)
        .map(|k| totals[k] / exposure[k])
        .collect();
    let mean = seen.iter().sum::<f64>() / seen.len().max(1) as f64;
    let slot_levels = (0..SLOTS)
        .map(|k| {
            if exposure[k] > 0.0 {
                totals[k] / exposure[k]
            } else {
                mean
            }
        })
        .collect();
    Profile {
        origin,
        slots: slot_levels,
        daily_factor: factor,
        method,
        days_observed: observed_hours / 24.0,
        arrivals,
    }
}

/// The maximum-likelihood day-over-day factor (module documentation).
fn fit_factor(counts: &[f64], days: &[f64], slots: &[usize]) -> f64 {
    let (low, high) = (MIN_FACTOR.ln(), MAX_FACTOR.ln());
    let linear: f64 = counts.iter().zip(days).map(|(y, d)| y * d).sum();
    let mut slot_totals = [0.0_f64; SLOTS];
    for (&y, &k) in counts.iter().zip(slots) {
        slot_totals[k] += y;
    }
    // First and second derivative of L at β.
    let derivatives = |beta: f64| {
        let mut e = [0.0_f64; SLOTS];
        let mut ed = [0.0_f64; SLOTS];
        let mut edd = [0.0_f64; SLOTS];
        for (&d, &k) in days.iter().zip(slots) {
            let w = (beta * d).exp();
            e[k] += w;
            ed[k] += w * d;
            edd[k] += w * d * d;
        }
        let (mut first, mut second) = (linear, 0.0);
        for k in 0..SLOTS {
            if e[k] > 0.0 && slot_totals[k] > 0.0 {
                let mean = ed[k] / e[k];
                first -= slot_totals[k] * mean;
                second -= slot_totals[k] * (edd[k] / e[k] - mean * mean);
            }
        }
        (first, second)
    };
    let mut beta = 0.0_f64;
    let (mut lo, mut hi) = (low, high);
    for _ in 0..100 {
        let (first, second) = derivatives(beta);
        if first > 0.0 {
            lo = beta;
        } else {
            hi = beta;
        }
        let mut next = if second < 0.0 {
            beta - first / second
        } else {
            f64::NAN
        };
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        if (next - beta).abs() < 1e-12 {
            beta = next;
            break;
        }
        beta = next;
    }
    beta.clamp(low, high).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_curves::day_shape;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use rand_distr::{Distribution, Poisson};

    const ORIGIN: Millis = 1_772_409_600_000; // 2026-03-02T00:00:00Z

    /// Expected arrivals in interval `i` (30 minutes) of a go-live peaking
    /// at `peak` calls an hour on day one and losing a quarter a day:
    /// the rate integrated over the interval (midpoint rule on minutes).
    fn expected(peak: f64, i: usize) -> f64 {
        (0..30)
            .map(|m| {
                let minute = i as f64 * 30.0 + m as f64 + 0.5;
                let hour = (minute / 60.0) % 24.0;
                peak / 60.0 * 0.75_f64.powf(minute / 1440.0) * day_shape(hour)
            })
            .sum()
    }

    fn simulate(peak: f64, seed: u64, intervals: usize) -> Vec<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..intervals)
            .map(|i| {
                let mean = expected(peak, i);
                Poisson::new(mean).map_or(0.0, |p| p.sample(&mut rng))
            })
            .collect()
    }

    #[test]
    fn noiseless_history_is_recovered_exactly() {
        // Counts equal to s_k · r^d: the fit returns r and s.
        let shape: Vec<f64> = (0..SLOTS).map(|k| 10.0 + k as f64).collect();
        let counts: Vec<f64> = (0..SLOTS * 3)
            .map(|i| shape[i % SLOTS] * 0.7_f64.powf(i as f64 / SLOTS as f64))
            .collect();
        let profile = fit(&counts, ORIGIN, 0.9);
        assert_eq!(profile.method, "fitted");
        assert!((profile.daily_factor - 0.7).abs() < 1e-9, "{profile:?}");
        for (k, s) in shape.iter().enumerate() {
            assert!((profile.slots[k] - s).abs() < 1e-6 * s);
        }
        let next_day = ORIGIN + 3 * 86_400_000 + 5 * INTERVAL_MS;
        let days = 3.0 + 5.0 / SLOTS as f64;
        assert!((profile.expected(next_day) - shape[5] * 0.7_f64.powf(days)).abs() < 1e-6);
    }

    #[test]
    fn short_history_uses_the_default_decay_and_fills_unseen_slots() {
        // Eight hours from 06:00: 16 slots seen, 32 not.
        let origin = ORIGIN + 12 * INTERVAL_MS;
        let counts = vec![4.0; 16];
        let profile = fit(&counts, origin, 0.8);
        assert_eq!(profile.method, "default_decay");
        assert_eq!(profile.daily_factor, 0.8);
        assert!(profile.slots.iter().all(|s| *s > 3.9), "{profile:?}");
        let empty = fit(&[], origin, 0.8);
        assert_eq!(empty.method, "no_history");
        assert_eq!(empty.expected(origin), 0.0);
    }

    /// Weighted absolute percentage error of hourly and half-hourly totals
    /// for 24-hour forecasts made at each midnight from day 2 to day 5.
    fn backtest(peak: f64, forecast: impl Fn(&[f64], usize) -> f64) -> (f64, f64) {
        let (mut hourly_error, mut half_error, mut total) = (0.0, 0.0, 0.0);
        for seed in 1..=8 {
            let counts = simulate(peak, seed, 5 * SLOTS);
            for day in 1..5 {
                let cut = day * SLOTS;
                let history = &counts[..cut];
                let predicted: Vec<f64> =
                    (cut..cut + SLOTS).map(|i| forecast(history, i)).collect();
                for h in 0..24 {
                    let actual = counts[cut + 2 * h] + counts[cut + 2 * h + 1];
                    hourly_error += (predicted[2 * h] + predicted[2 * h + 1] - actual).abs();
                }
                for (i, p) in predicted.iter().enumerate() {
                    half_error += (p - counts[cut + i]).abs();
                    total += counts[cut + i];
                }
            }
        }
        (100.0 * hourly_error / total, 100.0 * half_error / total)
    }

    #[test]
    fn backtest_beats_yesterday() {
        for peak in [240.0, 480.0] {
            let profile = backtest(peak, |history, i| {
                fit(history, ORIGIN, 0.8).expected(ORIGIN + i as Millis * INTERVAL_MS)
            });
            let yesterday = backtest(peak, |history, i| history[i - SLOTS]);
            let truth = backtest(peak, |_, i| expected(peak, i));
            println!(
                "peak {peak}/h: WAPE hourly/30-min: profile {:.1}/{:.1} %, \
                 yesterday {:.1}/{:.1} %, true rate {:.1}/{:.1} %",
                profile.0, profile.1, yesterday.0, yesterday.1, truth.0, truth.1
            );
            assert!(profile.0 < yesterday.0 - 10.0, "{profile:?} {yesterday:?}");
            assert!(profile.0 < truth.0 + 6.0, "{profile:?} {truth:?}");
        }
    }
}
