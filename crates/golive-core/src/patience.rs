//! Measured caller patience: how long a queue's callers hold on before they
//! hang up, estimated from the queue's own calls, with a confidence
//! interval.
//!
//! # Estimator
//!
//! Over an interval, every caller who waited contributes the time he spent
//! waiting inside it: up to his answer if answered, up to his hang-up if he
//! abandoned, up to the interval's end if still waiting. With `k`
//! abandons over `W` seconds of total waiting, the abandonment rate is
//!
//! ```text
//! θ̂ = k / W            patience = 1/θ̂ = W / k
//! ```
//!
//! the maximum-likelihood estimate for exponential patience with censored
//! observations (answered and still-waiting callers tell us only that their
//! patience was longer than their wait), and the standard estimator of
//! call-center practice for the Erlang A model even when patience is not
//! exactly exponential: it is the abandonment rate per second of waiting.
//!
//! # Confidence
//!
//! Given `W`, the number of abandons is Poisson with mean `θW`, so the exact
//! (Garwood) 95 % interval for `θ` is `[χ²(0.025; 2k)/2W, χ²(0.975; 2k+2)/2W]`
//! and the patience interval its reciprocal. The chi-square quantiles are
//! computed exactly (Newton's method on the Poisson form of the gamma
//! distribution) up to 200 abandons and by the Wilson–Hilferty
//! approximation above, where it is within 0.01 % of exact. The interval
//! shrinks like `1/√k`: with 5 abandons patience is known to a factor of
//! about 2.5 either way, with 30 to about ±40 %.
//!
//! `confidence` says the same in a word: `none` with no abandons (the
//! estimate is infinite — nobody has hung up — and only a lower bound
//! exists), `low` for 1–9, `medium` for 10–29 and `high` for 30 or more.

use serde::Serialize;

/// Abandons and waiting time of one queue over an interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct WaitingExposure {
    /// Callers who hung up during the interval.
    pub abandons: u64,
    /// Seconds callers spent waiting during the interval, all callers.
    pub waiting_seconds: f64,
}

/// How much an estimate can be trusted, from the number of abandons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// No abandons: only a lower bound on patience.
    None,
    /// 1–9 abandons.
    Low,
    /// 10–29 abandons.
    Medium,
    /// 30 or more abandons.
    High,
}

impl Confidence {
    fn of(abandons: u64) -> Self {
        match abandons {
            0 => Confidence::None,
            1..=9 => Confidence::Low,
            10..=29 => Confidence::Medium,
            _ => Confidence::High,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::None => "none",
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// A queue's measured patience.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PatienceEstimate {
    /// `waiting_seconds / abandons`; `None` without abandons.
    pub patience_seconds: Option<f64>,
    /// Lower end of the 95 % interval; `None` without any waiting.
    pub low_seconds: Option<f64>,
    /// Upper end of the 95 % interval; `None` when unbounded (no abandons).
    pub high_seconds: Option<f64>,
    /// The measurements it comes from.
    pub abandons: u64,
    pub waiting_seconds: f64,
    pub confidence: Confidence,
}

/// Two-sided level of the interval.
const LEVEL: f64 = 0.95;
/// Above this many abandons the quantiles use Wilson–Hilferty.
const EXACT_UP_TO: u64 = 200;

/// Estimates patience from a queue's abandons and waiting time.
pub fn estimate(exposure: WaitingExposure) -> PatienceEstimate {
    let k = exposure.abandons;
    let waiting = if exposure.waiting_seconds.is_finite() {
        exposure.waiting_seconds.max(0.0)
    } else {
        0.0
    };
    let tail = (1.0 - LEVEL) / 2.0;
    let usable = waiting > 0.0;
    // Patience bounds are 2W over the rate's chi-square bounds.
    let low = usable.then(|| waiting / gamma_quantile(k + 1, 1.0 - tail));
    let high = (usable && k > 0).then(|| waiting / gamma_quantile(k, tail));
    PatienceEstimate {
        patience_seconds: (usable && k > 0).then(|| waiting / k as f64),
        low_seconds: low,
        high_seconds: high,
        abandons: k,
        waiting_seconds: waiting,
        confidence: Confidence::of(k),
    }
}

/// The `p`-quantile of the gamma distribution with integer shape `shape`
/// and scale 1 (half the chi-square quantile with `2·shape` degrees of
/// freedom). `shape ≥ 1`, `0 < p < 1`.
pub fn gamma_quantile(shape: u64, p: f64) -> f64 {
    let m = shape.max(1) as f64;
    let approximate = wilson_hilferty(m, p);
    if shape > EXACT_UP_TO {
        return approximate;
    }
    // Newton on P(Gamma(m) ≤ x) = P(Poisson(x) ≥ m), kept inside a bracket.
    let (mut low, mut high) = (0.0_f64, m + 40.0 * m.sqrt() + 40.0);
    let mut x = if approximate > 0.0 && approximate < high {
        approximate
    } else {
        m
    };
    for _ in 0..100 {
        let (cdf, density) = gamma_cdf_and_density(shape, x);
        if cdf < p {
            low = x;
        } else {
            high = x;
        }
        let step = (cdf - p) / density;
        let mut next = x - step;
        if !(next > low && next < high && step.is_finite()) {
            next = 0.5 * (low + high);
        }
        if (next - x).abs() <= 1e-13 * x.max(1e-300) {
            return next;
        }
        x = next;
    }
    x
}

/// Wilson–Hilferty: `χ²_ν ≈ ν(1 − 2/(9ν) + z√(2/(9ν)))³` with `ν = 2m`,
/// halved for the gamma distribution.
fn wilson_hilferty(m: f64, p: f64) -> f64 {
    let c = 1.0 / (9.0 * m);
    m * (1.0 - c + normal_quantile(p) * c.sqrt()).powi(3)
}

/// `P(Gamma(m, 1) ≤ x)` and its density, for integer `m ≥ 1`, from the
/// Poisson terms `e^{−x} x^i / i!` (each in log space, so nothing
/// overflows); both tails are at least 2.5 % where the quantile search
/// evaluates them, so `1 − Σ` loses nothing that matters.
fn gamma_cdf_and_density(m: u64, x: f64) -> (f64, f64) {
    if x <= 0.0 {
        return (0.0, 0.0);
    }
    let ln_x = x.ln();
    let mut log_term = -x;
    let mut below = 0.0;
    for i in 0..m {
        if i > 0 {
            log_term += ln_x - (i as f64).ln();
        }
        below += log_term.exp();
    }
    // The density of Gamma(m) at x is the Poisson term for i = m − 1.
    ((1.0 - below).clamp(0.0, 1.0), log_term.exp())
}

/// The standard normal quantile (Acklam's rational approximation, relative
/// error below 1.2e-9), used only to start the search above.
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposure(abandons: u64, waiting_seconds: f64) -> WaitingExposure {
        WaitingExposure {
            abandons,
            waiting_seconds,
        }
    }

    #[test]
    fn point_estimate_is_waiting_time_per_abandon() {
        let e = estimate(exposure(12, 1800.0));
        assert_eq!(e.patience_seconds, Some(150.0));
        assert_eq!(e.confidence, Confidence::Medium);
        let (low, high) = (e.low_seconds.unwrap(), e.high_seconds.unwrap());
        assert!(low < 150.0 && 150.0 < high, "{e:?}");
    }

    #[test]
    fn one_degree_of_freedom_pair_is_exact_in_closed_form() {
        // Shape 1 is the exponential distribution: quantile −ln(1 − p).
        for p in [0.025_f64, 0.5, 0.975] {
            let exact = -(1.0 - p).ln();
            assert!((gamma_quantile(1, p) - exact).abs() < 1e-12 * exact.max(1.0));
        }
        // No abandons: the lower bound is W / (−ln 0.025 … for shape 1).
        let e = estimate(exposure(0, 1000.0));
        assert_eq!(e.patience_seconds, None);
        assert_eq!(e.high_seconds, None);
        assert_eq!(e.confidence, Confidence::None);
        let low = e.low_seconds.unwrap();
        assert!((low - 1000.0 / -(0.025_f64).ln()).abs() < 1e-9, "{low}");
    }

    #[test]
    fn quantiles_match_published_chi_square_tables() {
        // χ² quantiles (ν, p) from standard tables, to their printed digits.
        let table = [
            (2, 0.025, 0.0506),
            (2, 0.975, 7.378),
            (10, 0.025, 3.247),
            (10, 0.975, 20.483),
            (20, 0.025, 9.591),
            (20, 0.975, 34.170),
            (60, 0.025, 40.482),
            (60, 0.975, 83.298),
            (100, 0.975, 129.561),
        ];
        for (nu, p, chi2) in table {
            let ours = 2.0 * gamma_quantile(nu / 2, p);
            assert!(
                (ours - chi2).abs() <= 5e-4 * chi2.max(1.0),
                "χ²({nu}, {p}) = {ours}, table {chi2}"
            );
        }
    }

    #[test]
    fn wilson_hilferty_takes_over_smoothly() {
        // Where the approximation takes over it is within 0.01 % of exact.
        for p in [0.025, 0.975] {
            for shape in [50, EXACT_UP_TO] {
                let exact = gamma_quantile(shape, p);
                let approximate = wilson_hilferty(shape as f64, p);
                assert!(
                    ((approximate - exact) / exact).abs() < 1e-4,
                    "{exact} {approximate}"
                );
            }
        }
    }

    #[test]
    fn interval_narrows_with_more_abandons() {
        let width = |k: u64| {
            let e = estimate(exposure(k, 60.0 * k as f64));
            e.high_seconds.unwrap() / e.low_seconds.unwrap()
        };
        assert!(width(5) > width(30));
        assert!(width(30) > width(300));
        assert!(width(30) < 2.2, "{}", width(30));
    }

    #[test]
    fn no_waiting_means_no_estimate() {
        for bad in [0.0, -5.0, f64::NAN] {
            let e = estimate(exposure(3, bad));
            assert_eq!(e.patience_seconds, None);
            assert_eq!(e.low_seconds, None);
            assert_eq!(e.high_seconds, None);
        }
    }
}
