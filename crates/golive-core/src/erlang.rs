//! Erlang C staffing for phone queues: how many agents a queue needs so that
//! a target share of its calls is answered within a target time.
//!
//! # Contract (binding)
//!
//! For an interval of `T` seconds with `C` calls offered and mean handle time
//! `H`, the offered traffic is `A = C·H/T` erlangs. For `N > A` agents:
//!
//! * Erlang B by the stable recursion `B_0 = 1`,
//!   `B_k = A·B_{k−1} / (k + A·B_{k−1})`;
//! * `P(wait) = N·B_N / (N − A·(1 − B_N))`;
//! * service level at answer target `t`: `1 − P(wait)·e^(−(N−A)·t/H)`;
//! * `ASA = P(wait)·H / (N − A)`; occupancy `A / N`.
//!
//! `required_agents` is the smallest `N > A` whose service level reaches the
//! target (and whose ASA is at most the ASA target when one is given); if the
//! occupancy `A/N` then exceeds `max_occupancy`, `N = ceil(A / max_occupancy)`.
//! `scheduled_agents = ceil(required / (1 − shrinkage))` in exact arithmetic.
//!
//! # Decisions this module makes
//!
//! * **Zero traffic** (`calls = 0`): nothing to answer, so 0 required, 0
//!   scheduled, service level 1, `P(wait)` 0, ASA 0, occupancy 0. Minimum
//!   coverage of an idle queue is a rostering decision, not queueing maths.
//! * **Reaching a target** tolerates floating-point noise: a service level
//!   counts as reached when it is at least `target − 1e-12`, an ASA when it is
//!   at most `target·(1 + 1e-12)`. This is also what makes a service-level
//!   target of exactly 1.0 meaningful: mathematically `SL < 1` for every finite
//!   `N` when `A > 0`, so 1.0 is read as "all but one call in 10^12 within the
//!   target" and yields a finite, modest `N` instead of an error.
//! * **Occupancy cap**: `ceil(A / max_occupancy)` treats a quotient within
//!   1e-9 (relative) above an integer as that integer, because `A` and the cap
//!   come from decimal text: 8.4 / 0.7 evaluates to 12.000000000000002 and
//!   must give 12 agents, not 13. The result is never below the smallest
//!   integer above `A`.
//! * **Shrinkage** is rounded to 1e-9 units and the division is done in
//!   integers, so 21 agents at 0.3 shrinkage schedule exactly 30.
//! * **Limits**: traffic above [`MAX_TRAFFIC_ERLANGS`] or a solution needing
//!   more than [`MAX_AGENTS`] agents is an error rather than a long loop; a
//!   handle time above [`MAX_AHT_SECONDS`] is almost certainly milliseconds
//!   sent as seconds and is rejected too.
//!
//! # Cost
//!
//! The recursion runs once up to `⌊A⌋ + 1` and then steps `N` upward one
//! agent at a time, so a solve is `O(A + √A)` multiply-divides and no
//! factorials or powers ever appear (nothing overflows at 100,000 erlangs).

use serde::Serialize;
use thiserror::Error;

use crate::model::QueueSettings;

/// Largest offered traffic `solve` accepts, in erlangs.
pub const MAX_TRAFFIC_ERLANGS: f64 = 100_000.0;
/// Largest number of agents (required or scheduled) `solve` will return.
pub const MAX_AGENTS: u32 = 1_000_000;
/// Largest mean handle time accepted, in seconds (one day).
pub const MAX_AHT_SECONDS: f64 = 86_400.0;
/// How far below its target a service level may fall and still count as
/// reached (absorbs floating-point noise; see the module documentation).
pub const SERVICE_LEVEL_TOLERANCE: f64 = 1e-12;

/// Relative slack when rounding a quotient up to whole agents.
const CEIL_RELATIVE_TOLERANCE: f64 = 1e-9;
/// Shrinkage is handled in units of 1e-9.
const SHRINKAGE_SCALE: u128 = 1_000_000_000;

/// The parameters of one Erlang C question, as the API receives them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ErlangInput {
    /// Calls offered during the interval.
    pub calls: f64,
    /// Length of the interval in seconds.
    pub interval_seconds: f64,
    /// Mean handle time per call in seconds.
    pub aht_seconds: f64,
    /// Answer-time target `t` of the service level, in seconds.
    pub answer_target_seconds: f64,
    /// Share of calls to answer within `answer_target_seconds`, in (0, 1].
    pub service_level_target: f64,
    /// Highest acceptable agent occupancy, in (0, 1].
    pub max_occupancy: f64,
    /// Share of paid time agents are unavailable, in [0, 1).
    pub shrinkage: f64,
    /// Optional ceiling on the average speed of answer, in seconds.
    pub asa_target_seconds: Option<f64>,
}

impl ErlangInput {
    /// Builds the question for a queue from its configured targets.
    pub fn for_queue(
        calls: f64,
        interval_seconds: f64,
        aht_seconds: f64,
        settings: &QueueSettings,
    ) -> Self {
        ErlangInput {
            calls,
            interval_seconds,
            aht_seconds,
            answer_target_seconds: settings.answer_target_seconds,
            service_level_target: settings.service_level_target,
            max_occupancy: settings.max_occupancy,
            shrinkage: settings.shrinkage,
            asa_target_seconds: None,
        }
    }
}

/// The answer to an Erlang C question; the last four figures are for
/// `N = required_agents`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ErlangOutput {
    /// Offered traffic `A = C·H/T` in erlangs.
    pub traffic_erlangs: f64,
    /// Agents needed on the phones.
    pub required_agents: u32,
    /// Agents to schedule so that `required_agents` remain after shrinkage.
    pub scheduled_agents: u32,
    /// Expected share of calls answered within the answer target.
    pub service_level: f64,
    /// Expected agent occupancy `A / N`.
    pub occupancy: f64,
    /// Probability that a call has to wait (Erlang C).
    pub probability_of_waiting: f64,
    /// Expected average speed of answer in seconds.
    pub asa_seconds: f64,
}

/// How a queue performs with a given number of agents.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Performance {
    /// Expected share of calls answered within the answer target.
    pub service_level: f64,
    /// Probability that a call has to wait (Erlang C).
    pub probability_of_waiting: f64,
    /// Expected average speed of answer in seconds.
    pub asa_seconds: f64,
    /// Expected agent occupancy `A / N`.
    pub occupancy: f64,
}

/// A parameter that is malformed, out of range or leads to an absurd answer.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ErlangError {
    /// The query parameter at fault, spelled as the API spells it.
    pub field: &'static str,
    /// Why it was rejected, in plain words.
    pub message: String,
}

impl ErlangError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        ErlangError {
            field,
            message: message.into(),
        }
    }
}

/// Offered traffic in erlangs: `calls · aht_seconds / interval_seconds`.
pub fn traffic_erlangs(calls: f64, interval_seconds: f64, aht_seconds: f64) -> f64 {
    calls * aht_seconds / interval_seconds
}

/// Erlang B blocking probability for `agents` servers and `traffic` erlangs,
/// by the stable recursion. Returns 1 for zero agents.
pub fn erlang_b(traffic: f64, agents: u32) -> f64 {
    let mut recursion = ErlangB::new(traffic);
    recursion.advance_to(agents);
    recursion.blocking
}

/// Validates the input, then finds the required and scheduled agents.
///
/// # Errors
///
/// An [`ErlangError`] naming the parameter when one is not finite or out of
/// range, or when the answer would exceed [`MAX_TRAFFIC_ERLANGS`] or
/// [`MAX_AGENTS`].
pub fn solve(input: &ErlangInput) -> Result<ErlangOutput, ErlangError> {
    let traffic = validate(input)?;
    if traffic == 0.0 {
        return Ok(ErlangOutput {
            traffic_erlangs: 0.0,
            required_agents: 0,
            scheduled_agents: 0,
            service_level: 1.0,
            occupancy: 0.0,
            probability_of_waiting: 0.0,
            asa_seconds: 0.0,
        });
    }

    let mut recursion = ErlangB::new(traffic);
    recursion.advance_to(smallest_agents_above(traffic));
    let mut performance = recursion.performance(input.aht_seconds, input.answer_target_seconds);
    loop {
        let service_level_met =
            performance.service_level >= input.service_level_target - SERVICE_LEVEL_TOLERANCE;
        let asa_met = input.asa_target_seconds.is_none_or(|target| {
            performance.asa_seconds <= target * (1.0 + SERVICE_LEVEL_TOLERANCE)
        });
        if service_level_met && asa_met {
            break;
        }
        if recursion.agents >= MAX_AGENTS {
            let field = if service_level_met {
                "asa_target_seconds"
            } else {
                "service_level"
            };
            return Err(ErlangError::new(
                field,
                format!("the target needs more than {MAX_AGENTS} agents"),
            ));
        }
        recursion.step();
        performance = recursion.performance(input.aht_seconds, input.answer_target_seconds);
    }

    let capped = traffic / input.max_occupancy;
    if capped > f64::from(MAX_AGENTS) {
        return Err(ErlangError::new(
            "max_occupancy",
            format!("keeping occupancy at or below it needs more than {MAX_AGENTS} agents"),
        ));
    }
    let occupancy_floor = ceil_ignoring_noise(capped).max(smallest_agents_above(traffic));
    if occupancy_floor > recursion.agents {
        recursion.advance_to(occupancy_floor);
        performance = recursion.performance(input.aht_seconds, input.answer_target_seconds);
    }
    let required = recursion.agents;

    let scheduled = scheduled_agents(required, input.shrinkage);
    if scheduled > MAX_AGENTS {
        return Err(ErlangError::new(
            "shrinkage",
            format!("{required} agents at this shrinkage means scheduling more than {MAX_AGENTS}"),
        ));
    }

    Ok(ErlangOutput {
        traffic_erlangs: traffic,
        required_agents: required,
        scheduled_agents: scheduled,
        service_level: performance.service_level,
        occupancy: performance.occupancy,
        probability_of_waiting: performance.probability_of_waiting,
        asa_seconds: performance.asa_seconds,
    })
}

/// Service level, `P(wait)`, ASA and occupancy of a queue offered `traffic`
/// erlangs with `agents` agents. `None` when the queue is unstable
/// (`agents <= traffic`) or a parameter is not a usable number (negative or
/// non-finite traffic or answer target, traffic above
/// [`MAX_TRAFFIC_ERLANGS`], handle time not positive).
pub fn queue_performance(
    traffic: f64,
    agents: u32,
    aht_seconds: f64,
    answer_target_seconds: f64,
) -> Option<Performance> {
    let usable = (0.0..=MAX_TRAFFIC_ERLANGS).contains(&traffic)
        && aht_seconds.is_finite()
        && aht_seconds > 0.0
        && answer_target_seconds.is_finite()
        && answer_target_seconds >= 0.0;
    if !usable || f64::from(agents) <= traffic {
        return None;
    }
    let mut recursion = ErlangB::new(traffic);
    recursion.advance_to(agents);
    Some(recursion.performance(aht_seconds, answer_target_seconds))
}

/// Agents to schedule so that `required` remain after `shrinkage`:
/// `ceil(required / (1 − shrinkage))`, with shrinkage rounded to 1e-9 and the
/// division done in integers (21 at 0.3 gives 30, not 31).
///
/// Shrinkage that is negative or NaN counts as 0; shrinkage that rounds to 1
/// or more leaves nobody available, so any positive requirement saturates at
/// `u32::MAX` (`solve` rejects such input before getting here).
pub fn scheduled_agents(required: u32, shrinkage: f64) -> u32 {
    let lost = shrinkage_units(shrinkage);
    if required == 0 {
        return 0;
    }
    if lost >= SHRINKAGE_SCALE {
        return u32::MAX;
    }
    let scheduled = (u128::from(required) * SHRINKAGE_SCALE).div_ceil(SHRINKAGE_SCALE - lost);
    u32::try_from(scheduled).unwrap_or(u32::MAX)
}

/// Rounds `x >= 0` up to an integer, except that a value within
/// [`CEIL_RELATIVE_TOLERANCE`] above an integer is taken as that integer:
/// quotients of decimal inputs carry a few ulps of noise that must not cost a
/// whole extra person. Callers keep `x` well inside `u32`.
pub(crate) fn ceil_ignoring_noise(x: f64) -> u32 {
    let floor = x.floor();
    let rounded = if x - floor <= CEIL_RELATIVE_TOLERANCE * x.max(1.0) {
        floor
    } else {
        x.ceil()
    };
    // Float-to-int `as` saturates, which is the behaviour wanted at the edges.
    rounded as u32
}

/// The smallest whole number of agents strictly above `traffic`.
fn smallest_agents_above(traffic: f64) -> u32 {
    traffic.floor() as u32 + 1
}

/// Shrinkage in 1e-9 units, clamped to `0..=SHRINKAGE_SCALE`.
fn shrinkage_units(shrinkage: f64) -> u128 {
    if shrinkage.is_nan() || shrinkage <= 0.0 {
        0
    } else if shrinkage >= 1.0 {
        SHRINKAGE_SCALE
    } else {
        // In (0, 1e9], so the cast is exact after rounding.
        (shrinkage * 1e9).round() as u128
    }
}

/// Checks every parameter and returns the offered traffic.
pub(crate) fn validate(input: &ErlangInput) -> Result<f64, ErlangError> {
    let finite = |field: &'static str, value: f64| {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(ErlangError::new(field, "must be a finite number"))
        }
    };

    let calls = finite("calls", input.calls)?;
    if calls < 0.0 {
        return Err(ErlangError::new("calls", "must be at least 0"));
    }
    let interval = finite("interval_seconds", input.interval_seconds)?;
    if interval <= 0.0 {
        return Err(ErlangError::new(
            "interval_seconds",
            "must be greater than 0",
        ));
    }
    let aht = finite("aht_seconds", input.aht_seconds)?;
    if aht <= 0.0 {
        return Err(ErlangError::new("aht_seconds", "must be greater than 0"));
    }
    if aht > MAX_AHT_SECONDS {
        return Err(ErlangError::new(
            "aht_seconds",
            format!("must be at most {MAX_AHT_SECONDS} (handle times are in seconds)"),
        ));
    }
    let answer_target = finite("answer_target_seconds", input.answer_target_seconds)?;
    if answer_target < 0.0 {
        return Err(ErlangError::new(
            "answer_target_seconds",
            "must be at least 0",
        ));
    }
    let service_level = finite("service_level", input.service_level_target)?;
    if !(service_level > 0.0 && service_level <= 1.0) {
        return Err(ErlangError::new(
            "service_level",
            "must be greater than 0 and at most 1",
        ));
    }
    let max_occupancy = finite("max_occupancy", input.max_occupancy)?;
    if !(max_occupancy > 0.0 && max_occupancy <= 1.0) {
        return Err(ErlangError::new(
            "max_occupancy",
            "must be greater than 0 and at most 1",
        ));
    }
    let shrinkage = finite("shrinkage", input.shrinkage)?;
    if !(0.0..1.0).contains(&shrinkage) || shrinkage_units(shrinkage) >= SHRINKAGE_SCALE {
        return Err(ErlangError::new(
            "shrinkage",
            "must be at least 0 and below 1 (to 9 decimal places)",
        ));
    }
    if let Some(asa_target) = input.asa_target_seconds {
        let asa_target = finite("asa_target_seconds", asa_target)?;
        if asa_target <= 0.0 {
            return Err(ErlangError::new(
                "asa_target_seconds",
                "must be greater than 0",
            ));
        }
    }

    let traffic = traffic_erlangs(calls, interval, aht);
    // An overflow of calls × aht_seconds to infinity lands here too.
    if traffic.is_nan() || traffic > MAX_TRAFFIC_ERLANGS {
        return Err(ErlangError::new(
            "calls",
            format!(
                "offered traffic calls × aht_seconds / interval_seconds exceeds \
                 {MAX_TRAFFIC_ERLANGS} erlangs"
            ),
        ));
    }
    Ok(traffic)
}

/// The Erlang B recursion, kept open so that `N` can be stepped upward
/// without starting again from zero agents.
#[derive(Clone, Copy, Debug)]
struct ErlangB {
    traffic: f64,
    agents: u32,
    blocking: f64,
}

impl ErlangB {
    fn new(traffic: f64) -> Self {
        ErlangB {
            traffic,
            agents: 0,
            blocking: 1.0,
        }
    }

    fn step(&mut self) {
        self.agents += 1;
        let offered = self.traffic * self.blocking;
        self.blocking = offered / (f64::from(self.agents) + offered);
    }

    fn advance_to(&mut self, agents: u32) {
        while self.agents < agents {
            self.step();
            // Once blocking underflows it stays zero; skipping the remaining
            // steps bounds the work for absurd agent counts.
            if self.blocking == 0.0 {
                self.agents = agents;
            }
        }
    }

    /// Queue figures at the current `N`; requires `N > A`.
    fn performance(&self, aht_seconds: f64, answer_target_seconds: f64) -> Performance {
        let agents = f64::from(self.agents);
        let spare = agents - self.traffic;
        let blocking = self.blocking;
        let waiting =
            (agents * blocking / (agents - self.traffic * (1.0 - blocking))).clamp(0.0, 1.0);
        let late = waiting * (-spare * answer_target_seconds / aht_seconds).exp();
        Performance {
            service_level: (1.0 - late).clamp(0.0, 1.0),
            probability_of_waiting: waiting,
            asa_seconds: waiting * aht_seconds / spare,
            occupancy: self.traffic / agents,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Instant;

    fn input(calls: f64, interval: f64, aht: f64, target: f64, sl: f64) -> ErlangInput {
        ErlangInput {
            calls,
            interval_seconds: interval,
            aht_seconds: aht,
            answer_target_seconds: target,
            service_level_target: sl,
            max_occupancy: 1.0,
            shrinkage: 0.0,
            asa_target_seconds: None,
        }
    }

    /// Textbook Erlang C in exact integer arithmetic, for integer traffic and
    /// small N: every term is multiplied by `N!·(N − A)` so that
    /// `C = A^N·N / (Σ_{k<N} A^k·(N!/k!)·(N − A) + A^N·N)`.
    fn erlang_c_exact(traffic: u128, agents: u128) -> f64 {
        assert!(agents > traffic);
        let mut sum: u128 = 0;
        for k in 0..agents {
            let falling: u128 = (k + 1..=agents).product();
            sum += traffic.pow(k as u32) * falling * (agents - traffic);
        }
        let top = traffic.pow(agents as u32) * agents;
        top as f64 / (sum + top) as f64
    }

    /// Textbook Erlang C in log space with Kahan sums, for any traffic:
    /// `ln(A^k/k!) = k·ln A − Σ ln j`, scaled by the largest term.
    fn erlang_c_log(traffic: f64, agents: u32) -> f64 {
        let ln_a = traffic.ln();
        let mut logs = Vec::with_capacity(agents as usize + 1);
        let (mut ln_fact, mut carry) = (0.0_f64, 0.0_f64);
        for k in 0..=agents {
            if k > 0 {
                let y = f64::from(k).ln() - carry;
                let t = ln_fact + y;
                carry = (t - ln_fact) - y;
                ln_fact = t;
            }
            logs.push(f64::from(k) * ln_a - ln_fact);
        }
        let n = f64::from(agents);
        let last = logs[agents as usize] + (n / (n - traffic)).ln();
        let scale = logs.iter().copied().fold(last, f64::max);
        let (mut sum, mut carry) = (0.0_f64, 0.0_f64);
        for &l in &logs[..agents as usize] {
            let y = (l - scale).exp() - carry;
            let t = sum + y;
            carry = (t - sum) - y;
            sum = t;
        }
        let top = (last - scale).exp();
        top / (sum + top)
    }

    fn p_wait(traffic: f64, agents: u32) -> f64 {
        queue_performance(traffic, agents, 180.0, 20.0)
            .map(|p| p.probability_of_waiting)
            .expect("stable queue")
    }

    fn assert_relative(actual: f64, expected: f64, tolerance: f64) {
        let error = ((actual - expected) / expected).abs();
        assert!(
            error <= tolerance,
            "actual {actual:e}, expected {expected:e}, relative error {error:e}"
        );
    }

    #[test]
    fn recursion_matches_exact_rationals() {
        for (traffic, agents) in [(1, 2..=12), (2, 3..=14), (5, 6..=20), (10, 11..=25)] {
            for n in agents {
                assert_relative(
                    p_wait(traffic as f64, n),
                    erlang_c_exact(traffic, u128::from(n)),
                    1e-12,
                );
            }
        }
    }

    #[test]
    fn log_reference_agrees_with_exact_rationals() {
        // Checks the reference itself before it is trusted for large traffic.
        for n in 11..=25 {
            assert_relative(
                erlang_c_log(10.0, n),
                erlang_c_exact(10, u128::from(n)),
                1e-12,
            );
        }
    }

    #[test]
    fn textbook_100_calls_per_half_hour() {
        // 100 calls in 30 minutes at 180 s handle time: A = 10 erlangs.
        let out = solve(&input(100.0, 1800.0, 180.0, 20.0, 0.8)).expect("valid");
        assert_eq!(out.traffic_erlangs, 10.0);
        assert_eq!(out.required_agents, 14);
        // 13 agents just miss 80/20 (79.6%), 14 make it (88.8%).
        let thirteen = queue_performance(10.0, 13, 180.0, 20.0).expect("stable");
        assert!(
            (thirteen.service_level - 0.7956).abs() < 1e-4,
            "{thirteen:?}"
        );
        let c = erlang_c_exact(10, 14);
        assert_relative(out.probability_of_waiting, c, 1e-12);
        assert!((c - 0.1741).abs() < 1e-4, "{c}");
        let sl = 1.0 - c * (-4.0_f64 * 20.0 / 180.0).exp();
        assert_relative(out.service_level, sl, 1e-12);
        assert!((out.service_level - 0.8884).abs() < 1e-4, "{out:?}");
        assert_relative(out.asa_seconds, c * 180.0 / 4.0, 1e-12);
        assert_relative(out.occupancy, 10.0 / 14.0, 1e-15);
        assert_eq!(out.scheduled_agents, 14);
    }

    #[test]
    fn occupancy_cap_drives_required_agents() {
        // A = 8.4; a lax service level is met by 9 agents (93% occupancy),
        // the 70% cap needs 8.4 / 0.7 = 12, which floats to 12.000000000000002.
        let mut question = input(168.0, 3600.0, 180.0, 20.0, 0.05);
        question.max_occupancy = 0.7;
        let out = solve(&question).expect("valid");
        assert_eq!(out.traffic_erlangs, 8.4);
        assert_eq!(out.required_agents, 12);
        assert_relative(out.occupancy, 0.7, 1e-15);
        assert_relative(out.probability_of_waiting, p_wait(8.4, 12), 1e-15);
        question.max_occupancy = 1.0;
        assert_eq!(solve(&question).expect("valid").required_agents, 9);
        // The same at A = 8.5 and an 85% cap: exactly 10.
        let mut question = input(85.0, 1800.0, 180.0, 20.0, 0.05);
        question.max_occupancy = 0.85;
        assert_eq!(solve(&question).expect("valid").required_agents, 10);
    }

    #[test]
    fn occupancy_cap_stays_above_traffic() {
        let mut question = input(100.0, 1800.0, 180.0, 0.0, 0.01);
        question.max_occupancy = 1.0 - 1e-12;
        let out = solve(&question).expect("valid");
        assert!(f64::from(out.required_agents) > out.traffic_erlangs);
        assert_eq!(out.required_agents, 11);
    }

    #[test]
    fn tiny_traffic_needs_one_agent() {
        // 0.05 erlangs: one agent, who is rarely busy.
        let out = solve(&input(1.0, 3600.0, 180.0, 20.0, 0.8)).expect("valid");
        assert_relative(out.traffic_erlangs, 0.05, 1e-15);
        assert_eq!(out.required_agents, 1);
        // One server: Erlang C equals the utilisation.
        assert_relative(out.probability_of_waiting, 0.05, 1e-14);
        assert_relative(out.probability_of_waiting, erlang_c_log(0.05, 1), 1e-12);
    }

    #[test]
    fn large_traffic_is_fast_and_agrees_with_log_reference() {
        // 5,000 erlangs: 100,000 calls per hour at 180 s.
        let question = input(100_000.0, 3600.0, 180.0, 20.0, 0.8);
        let started = Instant::now();
        let out = solve(&question).expect("valid");
        let elapsed = started.elapsed();
        assert_eq!(out.traffic_erlangs, 5000.0);
        assert!(
            out.required_agents > 5000 && out.required_agents < 5100,
            "{out:?}"
        );
        assert_relative(
            out.probability_of_waiting,
            erlang_c_log(5000.0, out.required_agents),
            1e-9,
        );
        let previous =
            queue_performance(5000.0, out.required_agents - 1, 180.0, 20.0).expect("stable");
        assert!(previous.service_level < 0.8);
        // Generous so that a loaded debug build passes; the bench measures it.
        assert!(elapsed.as_millis() < 200, "{elapsed:?}");
    }

    #[test]
    fn ten_thousand_agents_do_not_overflow() {
        for (traffic, agents) in [(9000.0, 9100), (9000.0, 10_000), (9999.5, 10_000)] {
            let p = p_wait(traffic, agents);
            assert!(p.is_finite() && (0.0..=1.0).contains(&p));
            assert_relative(p, erlang_c_log(traffic, agents), 1e-9);
        }
        let far = queue_performance(10.0, u32::MAX, 180.0, 20.0).expect("stable");
        assert_eq!(far.probability_of_waiting, 0.0);
        assert_eq!(far.service_level, 1.0);
    }

    #[test]
    fn asa_target_can_bind() {
        let mut question = input(100.0, 1800.0, 180.0, 20.0, 0.8);
        let without = solve(&question).expect("valid");
        question.asa_target_seconds = Some(5.0);
        let with = solve(&question).expect("valid");
        assert!(with.required_agents > without.required_agents);
        assert!(with.asa_seconds <= 5.0);
        let below = queue_performance(10.0, with.required_agents - 1, 180.0, 20.0).expect("stable");
        assert!(below.asa_seconds > 5.0);
        // A lax ASA target changes nothing.
        question.asa_target_seconds = Some(3600.0);
        assert_eq!(solve(&question).expect("valid"), without);
    }

    #[test]
    fn shrinkage_uses_exact_arithmetic() {
        assert_eq!(scheduled_agents(21, 0.3), 30);
        assert_eq!(scheduled_agents(7, 0.3), 10);
        assert_eq!(scheduled_agents(22, 0.3), 32);
        assert_eq!(scheduled_agents(13, 0.0), 13);
        assert_eq!(scheduled_agents(0, 0.5), 0);
        assert_eq!(scheduled_agents(3, 0.25), 4);
        assert_eq!(scheduled_agents(10, 0.35), 16);
        assert_eq!(scheduled_agents(u32::MAX, 0.5), u32::MAX);
        assert_eq!(scheduled_agents(5, 1.0), u32::MAX);
        assert_eq!(scheduled_agents(5, f64::NAN), 5);

        let mut question = input(100.0, 1800.0, 180.0, 20.0, 0.8);
        question.shrinkage = 0.3;
        let out = solve(&question).expect("valid");
        assert_eq!(
            out.scheduled_agents,
            scheduled_agents(out.required_agents, 0.3)
        );
    }

    #[test]
    fn zero_calls_need_nobody() {
        let mut question = input(0.0, 1800.0, 180.0, 20.0, 0.8);
        question.shrinkage = 0.3;
        let out = solve(&question).expect("valid");
        assert_eq!(
            out,
            ErlangOutput {
                traffic_erlangs: 0.0,
                required_agents: 0,
                scheduled_agents: 0,
                service_level: 1.0,
                occupancy: 0.0,
                probability_of_waiting: 0.0,
                asa_seconds: 0.0,
            }
        );
    }

    #[test]
    fn service_level_of_one_is_reachable() {
        for target in [0.0, 20.0] {
            let out = solve(&input(100.0, 1800.0, 180.0, target, 1.0)).expect("valid");
            assert!(
                out.service_level >= 1.0 - SERVICE_LEVEL_TOLERANCE,
                "{out:?}"
            );
            assert!(out.required_agents < 60, "{out:?}");
            let below =
                queue_performance(10.0, out.required_agents - 1, 180.0, target).expect("stable");
            assert!(below.service_level < 1.0 - SERVICE_LEVEL_TOLERANCE);
        }
    }

    #[test]
    fn every_invalid_parameter_is_named() {
        let good = {
            let mut q = input(100.0, 1800.0, 180.0, 20.0, 0.8);
            q.max_occupancy = 0.85;
            q.shrinkage = 0.3;
            q.asa_target_seconds = Some(30.0);
            q
        };
        assert!(solve(&good).is_ok());
        type Edit = fn(&mut ErlangInput, f64);
        let fields: [(&str, Edit, &[f64]); 8] = [
            ("calls", |q, v| q.calls = v, &[-1.0]),
            (
                "interval_seconds",
                |q, v| q.interval_seconds = v,
                &[0.0, -1.0],
            ),
            (
                "aht_seconds",
                |q, v| q.aht_seconds = v,
                &[0.0, -1.0, 180_000.0],
            ),
            (
                "answer_target_seconds",
                |q, v| q.answer_target_seconds = v,
                &[-1.0],
            ),
            (
                "service_level",
                |q, v| q.service_level_target = v,
                &[0.0, -0.5, 1.5],
            ),
            (
                "max_occupancy",
                |q, v| q.max_occupancy = v,
                &[0.0, -0.1, 1.01],
            ),
            (
                "shrinkage",
                |q, v| q.shrinkage = v,
                &[1.0, -0.1, 0.999_999_999_9],
            ),
            (
                "asa_target_seconds",
                |q, v| q.asa_target_seconds = Some(v),
                &[0.0, -5.0],
            ),
        ];
        for (field, edit, bad) in fields {
            let non_finite = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
            for &value in bad.iter().chain(&non_finite) {
                let mut question = good;
                edit(&mut question, value);
                let error = solve(&question).expect_err(field);
                assert_eq!(error.field, field, "{field} = {value}: {error}");
                assert!(!error.message.is_empty());
            }
        }
    }

    #[test]
    fn absurd_sizes_are_rejected_not_solved() {
        let huge = input(1e9, 1.0, 180.0, 20.0, 0.8);
        assert_eq!(solve(&huge).expect_err("too big").field, "calls");
        let overflow = input(1e300, 1e-300, 86_400.0, 20.0, 0.8);
        assert_eq!(solve(&overflow).expect_err("too big").field, "calls");

        let mut tight = input(100.0, 1800.0, 180.0, 20.0, 0.8);
        tight.max_occupancy = 1e-6;
        assert_eq!(solve(&tight).expect_err("too many").field, "max_occupancy");

        let mut shrunk = input(100_000.0, 3600.0, 180.0, 20.0, 0.8);
        shrunk.shrinkage = 0.999;
        assert_eq!(solve(&shrunk).expect_err("too many").field, "shrinkage");

        // The traffic limit itself is solvable.
        let limit = input(2_000_000.0, 3600.0, 180.0, 20.0, 0.8);
        assert_eq!(solve(&limit).expect("at limit").traffic_erlangs, 100_000.0);
    }

    #[test]
    fn queue_performance_rejects_unstable_or_unusable_queues() {
        assert!(queue_performance(10.0, 10, 180.0, 20.0).is_none());
        assert!(queue_performance(10.0, 9, 180.0, 20.0).is_none());
        assert!(queue_performance(0.0, 0, 180.0, 20.0).is_none());
        assert!(queue_performance(f64::NAN, 5, 180.0, 20.0).is_none());
        assert!(queue_performance(-1.0, 5, 180.0, 20.0).is_none());
        assert!(queue_performance(1.0, 5, 0.0, 20.0).is_none());
        assert!(queue_performance(1.0, 5, 180.0, -1.0).is_none());
        let idle = queue_performance(0.0, 3, 180.0, 20.0).expect("stable");
        assert_eq!(idle.service_level, 1.0);
        assert_eq!(idle.asa_seconds, 0.0);
    }

    #[test]
    fn noisy_quotients_round_to_the_intended_integer() {
        assert_eq!(8.4 / 0.7, 12.000000000000002);
        assert_eq!(ceil_ignoring_noise(8.4 / 0.7), 12);
        assert_eq!(ceil_ignoring_noise(2.1 / 0.7), 3);
        assert_eq!(ceil_ignoring_noise(8.5 / 0.85), 10);
        assert_eq!(ceil_ignoring_noise(10.0), 10);
        assert_eq!(ceil_ignoring_noise(10.01), 11);
        assert_eq!(ceil_ignoring_noise(0.0), 0);
        assert_eq!(ceil_ignoring_noise(0.3), 1);
    }

    proptest! {
        #[test]
        fn recursion_matches_log_reference(traffic in 0.01_f64..2000.0, extra in 0.0_f64..4.0) {
            // Agents from just above A up to A + 4√A + 2: where answers live.
            let agents = (traffic + extra * traffic.sqrt()).floor() as u32 + 1;
            let p = p_wait(traffic, agents);
            let reference = erlang_c_log(traffic, agents);
            prop_assert!(((p - reference) / reference).abs() <= 1e-9,
                "A={} N={} p={:e} ref={:e}", traffic, agents, p, reference);
        }

        #[test]
        fn solve_returns_the_smallest_sufficient_staff(
            calls in 1.0_f64..5000.0,
            aht in 30.0_f64..900.0,
            target in 0.0_f64..60.0,
            sl in 0.05_f64..0.99,
            occupancy in 0.5_f64..1.0,
            shrinkage in 0.0_f64..0.6,
        ) {
            let question = ErlangInput {
                calls,
                interval_seconds: 3600.0,
                aht_seconds: aht,
                answer_target_seconds: target,
                service_level_target: sl,
                max_occupancy: occupancy,
                shrinkage,
                asa_target_seconds: None,
            };
            let out = solve(&question).expect("valid");
            let n = out.required_agents;
            prop_assert!(f64::from(n) > out.traffic_erlangs);
            prop_assert!(out.service_level >= sl - SERVICE_LEVEL_TOLERANCE);
            prop_assert!(out.occupancy <= occupancy * (1.0 + 1e-9));
            // One fewer agent must break the service level or the cap.
            if let Some(fewer) = queue_performance(out.traffic_erlangs, n - 1, aht, target) {
                prop_assert!(
                    fewer.service_level < sl - SERVICE_LEVEL_TOLERANCE
                        || fewer.occupancy > occupancy * (1.0 + 1e-9)
                );
            }
            // Scheduling: enough after shrinkage, and not one more than that.
            let s = out.scheduled_agents;
            let available = |scheduled: u32| f64::from(scheduled) * (1.0 - shrinkage);
            prop_assert!(available(s) >= f64::from(n) * (1.0 - 1e-9));
            prop_assert!(s == n || available(s - 1) < f64::from(n) * (1.0 + 1e-9));
        }
    }
}
