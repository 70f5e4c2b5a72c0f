//! Erlang A staffing: the M/M/N+M queue, in which waiting callers hang up.
//!
//! Erlang C assumes every caller waits as long as it takes. During a
//! go-live many do not, and a queue that loses callers answers the ones who
//! stay sooner than Erlang C predicts. Erlang A adds one figure to the
//! model: each waiting caller abandons at rate `θ = 1 / patience`.
//!
//! # Contract (binding)
//!
//! Arrivals at rate `λ = C / T`, service rate `μ = 1 / H` per agent, each
//! waiting caller abandons at rate `θ`. `service_level` = P(a caller is
//! answered within the target `t`) over **all** callers, those who hang up
//! included; `asa_seconds` = mean wait of answered callers (those answered
//! at once count with 0); `occupancy` = carried load `A·(1 − P(abandon))`
//! over `N`. `required_agents` = the smallest `N ≥ 1` meeting the service
//! level (and the ASA target when given); if its occupancy exceeds
//! `max_occupancy`, the smallest larger `N` whose occupancy does not.
//! `scheduled_agents` as for Erlang C.
//!
//! # The exact solution
//!
//! The number of callers in the system is a birth–death process with birth
//! rate `λ` and death rate `min(k, N)·μ + max(k − N, 0)·θ`. With `A = λ/μ`,
//! `B` Erlang B for `N` agents and `q_j = Π_{i=1..j} λ / (Nμ + iθ)` (the
//! weight of `j` callers waiting relative to all agents busy and nobody
//! waiting):
//!
//! ```text
//! π_N     = 1 / (β + Q)        β = 1/B − 1 = N / (A · B_{N−1}),  Q = Σ_j q_j
//! P(wait) = Q · π_N            (an arrival finds every agent busy: PASTA)
//! ```
//!
//! A caller who finds `j` callers ahead moves up at rate `Nμ + iθ` while `i`
//! are ahead, so the wait `V` he would have is hypoexponential with rates
//! `Nμ + iθ`, `i = j..0`, and he hangs up at rate `θ` meanwhile:
//!
//! ```text
//! P(answered | j)          = Nμ / (Nμ + (j+1)θ)                (telescoping)
//! P(answered by t | j)     = ∫₀ᵗ f_V(v) e^{−θv} dv
//!                          = Nμ/(Nμ + (j+1)θ) · P(V′ ≤ t)
//! E[V · 1{answered} | j]   = Nμ/(Nμ + (j+1)θ) · Σ_{m=1..j+1} 1/(Nμ + mθ)
//! ```
//!
//! where `V′` has rates `Nμ + mθ`, `m = 1..j+1`. By Rényi's representation
//! of exponential order statistics, `V′` is distributed as the `(j+1)`-th
//! smallest of `a + j + 1` exponential(θ) times with `a = Nμ/θ` (also for
//! non-integer `a`), so `P(V′ ≤ t) = I_p(j+1, a+1)` with `p = 1 − e^{−θt}`:
//! the upper tail `P(K ≥ j+1)` of a negative binomial `K` with pmf
//! `w_k = (1−p)^{a+1} · Γ(a+1+k) / (Γ(a+1) k!) · p^k`. Its head sums
//! `H_n = Σ_{k<n} w_k` and the tail `1 − H_n` are what the solver uses.
//!
//! Everything then is a sum of positive terms, evaluated with forward
//! recursions and no alternating sums:
//!
//! ```text
//! P(abandon)   = π_N Σ_j q_j (j+1)θ/(Nμ + (j+1)θ)
//! 1 − SL       = P(abandon) + π_N Σ_j q_j Nμ/(Nμ + (j+1)θ) · H_{j+1}
//! SL           = π_N (β + Σ_j q_j Nμ/(Nμ + (j+1)θ) · (1 − H_{j+1}))
//! ASA          = π_N Σ_j q_j Nμ/(Nμ + (j+1)θ) Σ_{m≤j+1} 1/(Nμ + mθ) / (1 − P(abandon))
//! ```
//!
//! The service level is taken from whichever of the last two is the
//! smaller side, so it is accurate to a few ulps in absolute terms and its
//! complement `1 − SL` to a few ulps relative, however close to 1 it is.
//! Products that would overflow or underflow (`q_j` for an overloaded
//! queue, `w_0 = e^{−(Nμ+θ)t}` for a big one) are carried as a mantissa and
//! a separate natural-log scale. The sums stop once the remaining tail is
//! provably below 10⁻¹⁸ of what has been summed.
//!
//! As patience grows, `θ → 0` and each figure tends to Erlang C's (the tests
//! check it); unlike Erlang C the queue is stable for any `N ≥ 1`, because
//! callers who wait too long leave.
//!
//! # Search
//!
//! The service level rises and the ASA falls as agents are added, so the
//! required `N` is found by galloping from Erlang C's answer (down when it
//! already meets the targets, up otherwise) and bisecting. Staffing with
//! `N < A` can never reach a service level above `N / A` (carried load
//! cannot exceed `N`), so such `N` are ruled out without evaluation. Each
//! evaluation costs `O(N + J)` for `J` the number of queue states with
//! non-negligible weight; a solve for 1,000 erlangs takes a few dozen
//! microseconds (see `docs/performance.md`).
//!
//! # Decisions this module makes
//!
//! * **Zero traffic**: `required_agents` is 1 (the contract's `N ≥ 1`), the
//!   service level 1, every other figure 0.
//! * Targets count as reached with the same tolerances as Erlang C.
//! * **Limits**: those of Erlang C, plus `patience_seconds` in
//!   `(0, MAX_PATIENCE_SECONDS]`, and an error rather than a long loop when
//!   the queue would hold more than [`MAX_QUEUE_STATES`] callers at a
//!   staffing level the search has to look at (only absurd combinations of
//!   traffic, patience and handle time get there).

use serde::Serialize;

use crate::erlang::{
    self, ErlangError, ErlangInput, MAX_AGENTS, SERVICE_LEVEL_TOLERANCE, ceil_ignoring_noise,
    scheduled_agents,
};

/// Longest mean patience accepted, in seconds (a year: Erlang C in all
/// but name).
pub const MAX_PATIENCE_SECONDS: f64 = 366.0 * 86_400.0;
/// Most waiting-caller states one evaluation may sum over.
pub const MAX_QUEUE_STATES: usize = 4_000_000;

/// Relative size below which the rest of a sum is dropped.
const NEGLIGIBLE: f64 = 1e-18;
/// Products are renormalised when they pass this size.
const RESCALE_ABOVE: f64 = 1e100;
/// Relative slack on the occupancy cap, as for Erlang C's `ceil`.
const OCCUPANCY_TOLERANCE: f64 = 1e-9;

/// An Erlang A question: the Erlang C parameters plus the callers' mean
/// patience.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ErlangAInput {
    /// The Erlang C parameters (interval, calls, handle time, targets).
    pub erlang: ErlangInput,
    /// Mean time a waiting caller holds on before hanging up, in seconds.
    pub patience_seconds: f64,
}

/// The answer to an Erlang A question; the figures after the agent counts
/// are for `N = required_agents`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ErlangAOutput {
    /// Offered traffic `A = C·H/T` in erlangs.
    pub traffic_erlangs: f64,
    /// Agents needed on the phones.
    pub required_agents: u32,
    /// Agents to schedule so that `required_agents` remain after shrinkage.
    pub scheduled_agents: u32,
    /// Share of all callers answered within the answer target.
    pub service_level: f64,
    /// Carried load over agents.
    pub occupancy: f64,
    /// Probability that a caller finds every agent busy.
    pub probability_of_waiting: f64,
    /// Mean wait of the answered callers, in seconds.
    pub asa_seconds: f64,
    /// Probability that a caller hangs up before being answered.
    pub probability_of_abandon: f64,
}

/// How an M/M/N+M queue performs with a given number of agents.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AbandonPerformance {
    /// Share of all callers answered within the answer target.
    pub service_level: f64,
    /// Probability that a caller finds every agent busy.
    pub probability_of_waiting: f64,
    /// Probability that a caller hangs up before being answered.
    pub probability_of_abandon: f64,
    /// Mean wait of the answered callers, in seconds.
    pub asa_seconds: f64,
    /// Mean time in queue over all callers (those who hang up included),
    /// `P(abandon) · patience` by Little's law.
    pub mean_wait_seconds: f64,
    /// Carried load over agents.
    pub occupancy: f64,
}

impl AbandonPerformance {
    /// A queue nobody ever waits in.
    const IDLE: AbandonPerformance = AbandonPerformance {
        service_level: 1.0,
        probability_of_waiting: 0.0,
        probability_of_abandon: 0.0,
        asa_seconds: 0.0,
        mean_wait_seconds: 0.0,
        occupancy: 0.0,
    };
}

/// Validates the input, then finds the required and scheduled agents.
///
/// # Errors
///
/// An [`ErlangError`] naming the parameter when one is out of range or the
/// answer would exceed the limits (those of Erlang C and
/// [`MAX_QUEUE_STATES`]).
pub fn solve(input: &ErlangAInput) -> Result<ErlangAOutput, ErlangError> {
    let traffic = erlang::validate(&input.erlang)?;
    let patience = validate_patience(input.patience_seconds)?;
    let question = &input.erlang;
    if traffic == 0.0 {
        return Ok(output(
            traffic,
            1,
            question.shrinkage,
            AbandonPerformance::IDLE,
        ));
    }
    let mut queue = Queue::new(
        traffic,
        question.aht_seconds,
        question.answer_target_seconds,
        patience,
    );
    let target = question.service_level_target;
    let meets = |p: &AbandonPerformance| {
        p.service_level >= target - SERVICE_LEVEL_TOLERANCE
            && question
                .asa_target_seconds
                .is_none_or(|asa| p.asa_seconds <= asa * (1.0 + SERVICE_LEVEL_TOLERANCE))
    };
    // Below this the service level cannot reach the target (see the
    // module documentation); the margin keeps the shortcut conservative.
    let hopeless_below = (target - 1e-9) * traffic;
    let check =
        |queue: &mut Queue, agents: u32| -> Result<Option<AbandonPerformance>, ErlangError> {
            if f64::from(agents) < hopeless_below && f64::from(agents) < traffic {
                return Ok(None);
            }
            let performance = queue.performance(agents)?;
            Ok(meets(&performance).then_some(performance))
        };

    let start = queue.erlang_c_start(question);
    // `low` never meets the targets (0 stands for "no agents"), `high` does.
    let (mut low, mut high, mut best) = match check(&mut queue, start)? {
        Some(found) => {
            let mut high = (start, found);
            let mut step = 1;
            loop {
                let candidate = high.0.saturating_sub(step);
                if candidate == 0 {
                    break (0, high.0, high.1);
                }
                match check(&mut queue, candidate)? {
                    Some(found) => high = (candidate, found),
                    None => break (candidate, high.0, high.1),
                }
                step = step.saturating_mul(2);
            }
        }
        None => {
            let mut low = start;
            let mut step = 1;
            loop {
                let candidate = low.saturating_add(step);
                if candidate > MAX_AGENTS {
                    return Err(ErlangError::new(
                        "service_level",
                        format!("the target needs more than {MAX_AGENTS} agents"),
                    ));
                }
                if let Some(found) = check(&mut queue, candidate)? {
                    break (low, candidate, found);
                }
                low = candidate;
                step = step.saturating_mul(2);
            }
        }
    };
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        match check(&mut queue, middle)? {
            Some(found) => {
                high = middle;
                best = found;
            }
            None => low = middle,
        }
    }

    // Carried load never falls as agents are added, so no N below
    // carried / cap can meet the cap: jumping there skips nothing.
    let cap = question.max_occupancy;
    let mut required = high;
    while best.occupancy > cap * (1.0 + OCCUPANCY_TOLERANCE) {
        let carried = best.occupancy * f64::from(required);
        let next = ceil_ignoring_noise(carried / cap).max(required + 1);
        if next > MAX_AGENTS {
            return Err(ErlangError::new(
                "max_occupancy",
                format!("keeping occupancy at or below it needs more than {MAX_AGENTS} agents"),
            ));
        }
        required = next;
        best = queue.performance(required)?;
    }

    let scheduled = scheduled_agents(required, question.shrinkage);
    if scheduled > MAX_AGENTS {
        return Err(ErlangError::new(
            "shrinkage",
            format!("{required} agents at this shrinkage means scheduling more than {MAX_AGENTS}"),
        ));
    }
    Ok(output(traffic, required, question.shrinkage, best))
}

/// Service level, waiting and abandonment of a queue offered `traffic`
/// erlangs with `agents` agents, callers of mean `patience_seconds`.
///
/// # Errors
///
/// An [`ErlangError`] naming the argument that is not a usable number, or
/// `patience_seconds` when the queue is too long to sum (see
/// [`MAX_QUEUE_STATES`]).
pub fn queue_performance(
    traffic: f64,
    agents: u32,
    aht_seconds: f64,
    answer_target_seconds: f64,
    patience_seconds: f64,
) -> Result<AbandonPerformance, ErlangError> {
    if !(traffic.is_finite() && (0.0..=erlang::MAX_TRAFFIC_ERLANGS).contains(&traffic)) {
        return Err(ErlangError::new(
            "calls",
            "traffic must be a finite number of erlangs",
        ));
    }
    if !(aht_seconds.is_finite() && aht_seconds > 0.0) {
        return Err(ErlangError::new("aht_seconds", "must be greater than 0"));
    }
    if !(answer_target_seconds.is_finite() && answer_target_seconds >= 0.0) {
        return Err(ErlangError::new(
            "answer_target_seconds",
            "must be at least 0",
        ));
    }
    if agents == 0 {
        return Err(ErlangError::new("agents", "must be at least 1"));
    }
    let patience = validate_patience(patience_seconds)?;
    if traffic == 0.0 {
        return Ok(AbandonPerformance::IDLE);
    }
    Queue::new(traffic, aht_seconds, answer_target_seconds, patience).performance(agents)
}

fn validate_patience(patience: f64) -> Result<f64, ErlangError> {
    if !patience.is_finite() || patience <= 0.0 {
        return Err(ErlangError::new(
            "patience_seconds",
            "must be a number greater than 0",
        ));
    }
    if patience > MAX_PATIENCE_SECONDS {
        return Err(ErlangError::new(
            "patience_seconds",
            format!("must be at most {MAX_PATIENCE_SECONDS}"),
        ));
    }
    Ok(patience)
}

fn output(
    traffic: f64,
    required: u32,
    shrinkage: f64,
    performance: AbandonPerformance,
) -> ErlangAOutput {
    ErlangAOutput {
        traffic_erlangs: traffic,
        required_agents: required,
        scheduled_agents: scheduled_agents(required, shrinkage),
        service_level: performance.service_level,
        occupancy: performance.occupancy,
        probability_of_waiting: performance.probability_of_waiting,
        asa_seconds: performance.asa_seconds,
        probability_of_abandon: performance.probability_of_abandon,
    }
}

/// One queue's rates, with Erlang B values cached as the search visits
/// different agent counts.
struct Queue {
    traffic: f64,
    /// Arrival rate λ per second.
    arrivals: f64,
    /// Service rate μ per agent per second.
    service: f64,
    /// Abandonment rate θ per waiting caller per second.
    abandon: f64,
    patience: f64,
    target: f64,
    /// Erlang B for 0, 1, 2, … agents, as far as needed so far.
    blocking: Vec<f64>,
}

impl Queue {
    fn new(traffic: f64, aht: f64, target: f64, patience: f64) -> Self {
        Queue {
            traffic,
            arrivals: traffic / aht,
            service: 1.0 / aht,
            abandon: 1.0 / patience,
            patience,
            target,
            blocking: vec![1.0],
        }
    }

    /// Erlang B for `agents`, by the contract's stable recursion.
    fn blocking(&mut self, agents: u32) -> f64 {
        let wanted = agents as usize;
        while self.blocking.len() <= wanted {
            let previous = self.blocking[self.blocking.len() - 1];
            let k = self.blocking.len() as f64;
            let offered = self.traffic * previous;
            self.blocking.push(offered / (k + offered));
        }
        self.blocking[wanted]
    }

    /// Erlang C's answer to the same targets without the occupancy cap
    /// (exact in the long-patience limit, a close start otherwise), from
    /// the same cached Erlang B values.
    fn erlang_c_start(&mut self, question: &ErlangInput) -> u32 {
        let aht = 1.0 / self.service;
        let mut agents = self.traffic.floor() as u32 + 1;
        while agents < MAX_AGENTS {
            let n = f64::from(agents);
            let blocking = self.blocking(agents);
            let waiting = n * blocking / (n - self.traffic * (1.0 - blocking));
            let spare = n - self.traffic;
            let late = waiting * (-spare * self.target / aht).exp();
            let asa_met = question
                .asa_target_seconds
                .is_none_or(|asa| waiting * aht / spare <= asa);
            if 1.0 - late >= question.service_level_target - SERVICE_LEVEL_TOLERANCE && asa_met {
                break;
            }
            agents += 1;
        }
        agents
    }

    fn performance(&mut self, agents: u32) -> Result<AbandonPerformance, ErlangError> {
        let n = f64::from(agents);
        // β = 1/B_N − 1 = N / (A·B_{N−1}) exactly, from the recursion.
        let beta = n / (self.traffic * self.blocking(agents - 1));
        if !beta.is_finite() {
            // Erlang B underflowed: nobody ever finds every agent busy.
            return Ok(AbandonPerformance {
                occupancy: self.traffic / n,
                ..AbandonPerformance::IDLE
            });
        }
        let sums = self.queue_sums(n)?;
        // Everything below is relative to the scale the sums are kept in.
        let beta = beta * (-sums.log_scale).exp();
        let total = beta + sums.waiting;
        let abandon = sums.abandon / total;
        let late = (sums.abandon + sums.answered_late) / total;
        let service_level = if late <= 0.5 {
            1.0 - late
        } else {
            (beta + sums.answered_in_time) / total
        };
        let answered = beta + sums.answered;
        Ok(AbandonPerformance {
            service_level: service_level.clamp(0.0, 1.0),
            probability_of_waiting: (sums.waiting / total).clamp(0.0, 1.0),
            probability_of_abandon: abandon.clamp(0.0, 1.0),
            asa_seconds: if answered > 0.0 {
                sums.answered_wait / answered
            } else {
                0.0
            },
            mean_wait_seconds: abandon * self.patience,
            occupancy: (self.traffic * (1.0 - abandon) / n).clamp(0.0, 1.0),
        })
    }

    /// The sums over waiting-caller states `j` of the module documentation,
    /// all multiplied by `e^{−log_scale}`.
    fn queue_sums(&self, n: f64) -> Result<QueueSums, ErlangError> {
        let (lambda, theta, t) = (self.arrivals, self.abandon, self.target);
        let n_mu = n * self.service;

        // Negative binomial pmf w_k = nb_mantissa · e^{nb_log}.
        let p_over_theta = -(-theta * t).exp_m1() / theta;
        let mut nb_mantissa = 1.0_f64;
        let mut nb_log = -(n_mu + theta) * t;
        let mut nb_scale = nb_log.exp();
        let mut head = 0.0_f64; // H_{j+1} once w_j is added

        let mut sums = QueueSums::default();
        let mut weight = 1.0_f64; // q_j · e^{−log_scale}
        let mut wait_sum = 0.0_f64; // Σ_{m≤j+1} 1/(Nμ + mθ)
        let mut j = 0usize;
        loop {
            let ahead = j as f64 + 1.0;
            let inverse_rate = 1.0 / (n_mu + ahead * theta);
            let answered = n_mu * inverse_rate;
            let abandoned = ahead * theta * inverse_rate;
            head += nb_mantissa * nb_scale;
            let head = head.min(1.0);
            wait_sum += inverse_rate;

            sums.waiting += weight;
            sums.abandon += weight * abandoned;
            sums.answered += weight * answered;
            sums.answered_late += weight * answered * head;
            sums.answered_in_time += weight * answered * (1.0 - head);
            sums.answered_wait += weight * answered * wait_sum;

            // Next negative binomial term, ratio p(a + k)/k for k = j + 1;
            // not needed once the head has reached 1.
            if head < 1.0 {
                nb_mantissa *= p_over_theta * (n_mu + ahead * theta) / ahead;
                if nb_mantissa > RESCALE_ABOVE {
                    nb_log += nb_mantissa.ln();
                    nb_mantissa = 1.0;
                    nb_scale = nb_log.exp();
                }
            } else {
                nb_mantissa = 0.0;
            }

            // Next queue weight; ratios fall as j grows.
            let ratio = lambda * inverse_rate;
            if ratio < 1.0 && weight * ratio / (1.0 - ratio) <= NEGLIGIBLE * sums.waiting {
                break;
            }
            weight *= ratio;
            if weight > RESCALE_ABOVE {
                sums.rescale(weight);
                weight = 1.0;
            }
            j += 1;
            if j >= MAX_QUEUE_STATES {
                return Err(ErlangError::new(
                    "patience_seconds",
                    format!(
                        "with this patience and traffic the queue would hold more than \
                         {MAX_QUEUE_STATES} callers; check the units of the parameters"
                    ),
                ));
            }
        }
        Ok(sums)
    }
}

/// Running sums over waiting-caller states, relative to `e^{log_scale}`.
#[derive(Clone, Copy, Debug, Default)]
struct QueueSums {
    log_scale: f64,
    /// Σ q_j: every agent busy, j waiting.
    waiting: f64,
    /// Σ q_j P(abandon | j).
    abandon: f64,
    /// Σ q_j P(answered | j).
    answered: f64,
    /// Σ q_j P(answered after the target | j).
    answered_late: f64,
    /// Σ q_j P(answered within the target | j).
    answered_in_time: f64,
    /// Σ q_j E[wait · 1{answered} | j].
    answered_wait: f64,
}

impl QueueSums {
    fn rescale(&mut self, by: f64) {
        self.log_scale += by.ln();
        for sum in [
            &mut self.waiting,
            &mut self.abandon,
            &mut self.answered,
            &mut self.answered_late,
            &mut self.answered_in_time,
            &mut self.answered_wait,
        ] {
            *sum /= by;
        }
    }
}

#[cfg(test)]
mod tests;
