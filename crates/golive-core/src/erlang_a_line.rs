//! The Erlang A half of a queue's staffing line: the patience measured from
//! the queue's own calls, Erlang A's recommendation with it, and a short
//! advice telling the lead which of Erlang A and Erlang C to plan on and why
//! they differ.
//!
//! With no abandon in the interval the estimated abandonment rate is 0, and
//! Erlang A with no abandonment *is* Erlang C: the line then carries Erlang
//! C's figures (`model: "erlang_c"`) and a lower bound on patience. With 1–9
//! abandons the patience is uncertain and the advice is to plan on the
//! larger of the two recommendations; with more, on Erlang A's.

use serde::Serialize;

use crate::erlang::{ErlangInput, ErlangOutput};
use crate::erlang_a::{self, ErlangAInput, MAX_PATIENCE_SECONDS};
use crate::model::QueueSettings;
use crate::patience::{self, Confidence, WaitingExposure};

/// Which model's figures a line carries or the advice recommends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    ErlangA,
    ErlangC,
}

/// Why the two models agree or differ, in the terms the advice uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdviceKind {
    /// No calls in the interval.
    NoCalls,
    /// Nobody hung up: Erlang C's assumption holds.
    NoAbandons,
    /// Both recommend the same number.
    Agree,
    /// Few abandons: patience is uncertain, plan on the larger figure.
    PatienceUncertain,
    /// Callers give up, so fewer agents reach the target than Erlang C says.
    FewerWithAbandons,
    /// Callers give up before the answer target, so more agents are needed.
    MoreWithAbandons,
    /// Erlang A could not be computed; Erlang C stands.
    Unavailable,
}

/// Which figure the lead should plan on, and why, in one sentence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Advice {
    pub kind: AdviceKind,
    /// The model whose `required_agents` to plan on.
    pub use_model: Model,
    /// Agents to plan on (that model's `required_agents`).
    pub agents: u32,
    /// The advice as the board shows it.
    pub message: String,
}

/// Erlang A for one queue over an interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErlangALine {
    /// `erlang_a`, or `erlang_c` when nobody hung up (no abandonment
    /// measured: Erlang A reduces to Erlang C).
    pub model: Model,
    /// Measured mean patience; null without abandons.
    pub patience_seconds: Option<f64>,
    /// 95 % interval of the patience; the upper end is null when unbounded.
    pub patience_low_seconds: Option<f64>,
    pub patience_high_seconds: Option<f64>,
    /// `none` (0 abandons), `low` (1–9), `medium` (10–29), `high` (30+).
    pub patience_confidence: Confidence,
    /// Abandons and seconds of waiting the patience is measured from.
    pub abandons: u64,
    pub waiting_seconds: f64,
    pub required_agents: u32,
    pub scheduled_agents: u32,
    /// `required_agents - agents_staffed`: positive means short.
    pub delta: i64,
    /// Figures for `required_agents` (null when none could be computed).
    pub service_level: Option<f64>,
    pub occupancy: Option<f64>,
    pub probability_of_waiting: Option<f64>,
    pub probability_of_abandon: Option<f64>,
    pub asa_seconds: Option<f64>,
    /// What the staffed agents are expected to give at this traffic.
    pub expected_service_level_now: Option<f64>,
    pub expected_abandon_rate_now: Option<f64>,
    pub advice: Advice,
    /// Why Erlang A could not be computed, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Builds the Erlang A line for a queue whose Erlang C question is
/// `question` (answered by `erlang_c`, if it could be).
pub fn line(
    question: &ErlangInput,
    erlang_c: Option<&ErlangOutput>,
    exposure: WaitingExposure,
    settings: &QueueSettings,
) -> ErlangALine {
    let estimate = patience::estimate(exposure);
    let staffed = settings.agents_staffed;
    let c_required = erlang_c.map_or(0, |c| c.required_agents);
    let mut line = ErlangALine {
        model: Model::ErlangC,
        patience_seconds: estimate.patience_seconds,
        patience_low_seconds: estimate.low_seconds,
        patience_high_seconds: estimate.high_seconds,
        patience_confidence: estimate.confidence,
        abandons: estimate.abandons,
        waiting_seconds: estimate.waiting_seconds,
        required_agents: c_required,
        scheduled_agents: erlang_c.map_or(0, |c| c.scheduled_agents),
        delta: i64::from(c_required) - i64::from(staffed),
        service_level: erlang_c.map(|c| c.service_level),
        occupancy: erlang_c.map(|c| c.occupancy),
        probability_of_waiting: erlang_c.map(|c| c.probability_of_waiting),
        probability_of_abandon: erlang_c.map(|_| 0.0),
        asa_seconds: erlang_c.map(|c| c.asa_seconds),
        expected_service_level_now: None,
        expected_abandon_rate_now: None,
        advice: advice(
            AdviceKind::NoCalls,
            Model::ErlangC,
            c_required,
            String::new(),
        ),
        error: None,
    };
    if question.calls <= 0.0 {
        line.advice.message = "No calls in this interval: nothing to staff for.".into();
        return line;
    }
    let Some(patience) = estimate.patience_seconds else {
        line.advice = advice(
            AdviceKind::NoAbandons,
            Model::ErlangC,
            c_required,
            format!(
                "Nobody hung up in this interval, so Erlang C's assumption holds: \
                 plan on {c_required}."
            ),
        );
        return line;
    };
    let patience = patience.min(MAX_PATIENCE_SECONDS);
    let solved = erlang_a::solve(&ErlangAInput {
        erlang: *question,
        patience_seconds: patience,
    });
    let out = match solved {
        Ok(out) => out,
        Err(error) => {
            line.error = Some(error.to_string());
            line.advice = advice(
                AdviceKind::Unavailable,
                Model::ErlangC,
                c_required,
                format!("Erlang A could not be computed; plan on Erlang C's {c_required}."),
            );
            return line;
        }
    };
    line.model = Model::ErlangA;
    line.required_agents = out.required_agents;
    line.scheduled_agents = out.scheduled_agents;
    line.delta = i64::from(out.required_agents) - i64::from(staffed);
    line.service_level = Some(out.service_level);
    line.occupancy = Some(out.occupancy);
    line.probability_of_waiting = Some(out.probability_of_waiting);
    line.probability_of_abandon = Some(out.probability_of_abandon);
    line.asa_seconds = Some(out.asa_seconds);
    if staffed > 0
        && let Ok(now) = erlang_a::queue_performance(
            out.traffic_erlangs,
            staffed,
            question.aht_seconds,
            question.answer_target_seconds,
            patience,
        )
    {
        line.expected_service_level_now = Some(now.service_level);
        line.expected_abandon_rate_now = Some(now.probability_of_abandon);
    }
    line.advice = choose(&line, erlang_c, question, patience);
    line
}

fn advice(kind: AdviceKind, use_model: Model, agents: u32, message: String) -> Advice {
    Advice {
        kind,
        use_model,
        agents,
        message,
    }
}

/// The advice once both models have an answer.
fn choose(
    line: &ErlangALine,
    erlang_c: Option<&ErlangOutput>,
    question: &ErlangInput,
    patience: f64,
) -> Advice {
    let a = line.required_agents;
    let Some(c) = erlang_c.map(|c| c.required_agents) else {
        return advice(
            AdviceKind::MoreWithAbandons,
            Model::ErlangA,
            a,
            format!(
                "Erlang C has no answer for this traffic; with callers hanging up after \
                 ~{patience:.0} s, Erlang A needs {a}."
            ),
        );
    };
    if line.patience_confidence == Confidence::Low && a != c {
        let (model, agents) = if a > c {
            (Model::ErlangA, a)
        } else {
            (Model::ErlangC, c)
        };
        let range = match (line.patience_low_seconds, line.patience_high_seconds) {
            (Some(low), Some(high)) => format!(", likely {low:.0}–{high:.0} s"),
            _ => String::new(),
        };
        return advice(
            AdviceKind::PatienceUncertain,
            model,
            agents,
            format!(
                "Only {} callers hung up, so their patience (~{patience:.0} s{range}) is \
                 uncertain: Erlang A needs {a}, Erlang C {c}; plan on {agents} until more \
                 calls show how long callers wait.",
                line.abandons
            ),
        );
    }
    if a == c {
        return advice(
            AdviceKind::Agree,
            Model::ErlangA,
            a,
            format!("Erlang A and Erlang C agree on {a} (callers hang up after ~{patience:.0} s)."),
        );
    }
    if a < c {
        advice(
            AdviceKind::FewerWithAbandons,
            Model::ErlangA,
            a,
            format!(
                "Erlang C assumes nobody hangs up; with callers abandoning after \
                 ~{patience:.0} s, Erlang A needs {a} (Erlang C: {c}). Plan on {a}."
            ),
        )
    } else {
        advice(
            AdviceKind::MoreWithAbandons,
            Model::ErlangA,
            a,
            format!(
                "Callers hang up after ~{patience:.0} s, before many reach an agent: to \
                 answer {:.0} % within {:.0} s Erlang A needs {a} (Erlang C: {c}). Plan on {a}.",
                question.service_level_target * 100.0,
                question.answer_target_seconds
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erlang;

    fn question(calls: f64) -> ErlangInput {
        ErlangInput {
            calls,
            interval_seconds: 1800.0,
            aht_seconds: 180.0,
            answer_target_seconds: 20.0,
            service_level_target: 0.8,
            max_occupancy: 0.85,
            shrinkage: 0.3,
            asa_target_seconds: None,
        }
    }

    fn settings(staffed: u32) -> QueueSettings {
        QueueSettings {
            agents_staffed: staffed,
            ..QueueSettings::default()
        }
    }

    fn build(calls: f64, abandons: u64, waiting_seconds: f64, staffed: u32) -> ErlangALine {
        let q = question(calls);
        let c = erlang::solve(&q).expect("valid");
        line(
            &q,
            Some(&c),
            WaitingExposure {
                abandons,
                waiting_seconds,
            },
            &settings(staffed),
        )
    }

    #[test]
    fn no_abandons_is_erlang_c() {
        let l = build(100.0, 0, 900.0, 12);
        assert_eq!(l.model, Model::ErlangC);
        assert_eq!(l.required_agents, 14);
        assert_eq!(l.probability_of_abandon, Some(0.0));
        assert_eq!(l.advice.kind, AdviceKind::NoAbandons);
        assert_eq!(l.advice.use_model, Model::ErlangC);
        assert!(l.patience_low_seconds.is_some());
        assert_eq!(l.delta, 2);
    }

    #[test]
    fn measured_patience_drives_erlang_a() {
        // 40 abandons over 12,000 s of waiting: patience 300 s, as in
        // pyworkforce's example, which needs 13 agents (Erlang C: 14).
        let l = build(100.0, 40, 12_000.0, 12);
        assert_eq!(l.model, Model::ErlangA);
        assert_eq!(l.patience_seconds, Some(300.0));
        assert_eq!(l.required_agents, 13);
        assert_eq!(l.scheduled_agents, 19);
        assert_eq!(l.delta, 1);
        assert_eq!(l.advice.kind, AdviceKind::FewerWithAbandons);
        assert_eq!(l.advice.use_model, Model::ErlangA);
        assert!(l.advice.message.contains("~300 s"), "{}", l.advice.message);
        assert!(
            l.advice.message.contains("Erlang C: 14"),
            "{}",
            l.advice.message
        );
        let now = l.expected_service_level_now.expect("staffed");
        assert!(now < 0.8 && now > 0.5, "{now}");
        assert!(l.expected_abandon_rate_now.expect("staffed") > 0.0);
    }

    #[test]
    fn impatient_callers_can_need_more_than_erlang_c() {
        // Callers who hang up after ~2 s miss a 60 s target unless answered
        // almost at once; Erlang C counts on them waiting a minute, which
        // at a 95 % target is worth a few agents.
        let q = ErlangInput {
            answer_target_seconds: 60.0,
            service_level_target: 0.95,
            ..question(100.0)
        };
        let c = erlang::solve(&q).expect("valid");
        let exposure = WaitingExposure {
            abandons: 50,
            waiting_seconds: 100.0,
        };
        let l = line(&q, Some(&c), exposure, &settings(12));
        assert_eq!(l.advice.kind, AdviceKind::MoreWithAbandons, "{l:?}");
        assert!(l.required_agents > c.required_agents, "{l:?}");
        assert!(
            l.advice.message.contains("within 60 s"),
            "{}",
            l.advice.message
        );
    }

    #[test]
    fn few_abandons_plan_on_the_larger_figure() {
        let l = build(100.0, 3, 900.0, 12);
        assert_eq!(l.patience_confidence, Confidence::Low);
        assert_eq!(l.advice.kind, AdviceKind::PatienceUncertain);
        assert_eq!(l.advice.agents, l.required_agents.max(14));
    }

    #[test]
    fn no_calls_nothing_to_staff() {
        let l = build(0.0, 0, 0.0, 3);
        assert_eq!(l.advice.kind, AdviceKind::NoCalls);
        assert_eq!(l.required_agents, 0);
    }
}
