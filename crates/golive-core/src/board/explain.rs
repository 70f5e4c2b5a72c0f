//! The staffing line in words: what the recommendation rests on (its
//! interval, calls and handle time) and why the service level Erlang C
//! expects from the agents staffed may differ from the one measured, so a
//! board that says "short by 2, 51 % expected" beside a measured 92 % says
//! why.

use crate::aggregate::CallFigures;
use crate::staffing::QueueStaffing;

/// Points of service level between expected and measured that call for
/// an explanation.
const DIFFERENCE: f64 = 0.10;

/// One or two sentences for the board under a queue's staffing line.
pub fn explain(line: &QueueStaffing, measured: Option<&CallFigures>) -> String {
    let interval = minutes(line.interval_seconds);
    if line.calls_offered == 0 {
        return format!("No calls in the last {interval}: nothing to staff for.");
    }
    let basis = format!(
        "Last {interval}: {} calls, {} handle time; {} % in {} s needs {} agents (Erlang C).",
        line.calls_offered,
        duration(line.aht_seconds),
        pct(line.service_level_target),
        line.answer_target_seconds.round(),
        line.required_agents,
    );
    if line.agents_staffed == 0 {
        return format!("{basis} No agents are recorded as staffed: set them to compare.");
    }
    let expected = line.expected_service_level_now;
    let measured_sl = measured.and_then(|m| m.service_level);
    let (Some(expected), Some(measured_sl)) = (expected, measured_sl) else {
        return format!("{basis} {}", line.erlang_a.advice.message);
    };
    let why = if (measured_sl - expected).abs() < DIFFERENCE {
        format!(
            "With {} staffed it expects {} %, as measured ({} %).",
            line.agents_staffed,
            pct(expected),
            pct(measured_sl)
        )
    } else if measured_sl > expected {
        let by_a = line
            .erlang_a
            .expected_service_level_now
            .filter(|a| (measured_sl - a).abs() < (measured_sl - expected).abs());
        match (by_a, line.erlang_a.patience_seconds) {
            (Some(a), Some(patience)) => format!(
                "With {} staffed it expects {} %, but {} % was measured: callers hang up after \
                 ~{}, which shortens the queue for the rest (Erlang A expects {} %).",
                line.agents_staffed,
                pct(expected),
                pct(measured_sl),
                duration(patience),
                pct(a)
            ),
            _ => format!(
                "With {} staffed it expects {} %, but {} % was measured: more agents answered \
                 than the {} recorded, or calls came unevenly; check agents staffed.",
                line.agents_staffed,
                pct(expected),
                pct(measured_sl),
                line.agents_staffed
            ),
        }
    } else {
        format!(
            "With {} staffed it expects {} %, but only {} % was measured: fewer agents were \
             taking calls than the {} recorded, or calls came in bursts.",
            line.agents_staffed,
            pct(expected),
            pct(measured_sl),
            line.agents_staffed
        )
    };
    format!("{basis} {why}")
}

fn pct(rate: f64) -> String {
    format!("{:.0}", rate * 100.0)
}

fn minutes(seconds: f64) -> String {
    format!("{:.0} min", seconds / 60.0)
}

/// 310 → "5 m 10 s", 45 → "45 s".
fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 60, s % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} m"),
        (m, s) => format!("{m} m {s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_board() {
        assert_eq!(duration(310.2), "5 m 10 s");
        assert_eq!(duration(45.0), "45 s");
        assert_eq!(duration(120.0), "2 m");
        assert_eq!(minutes(1800.0), "30 min");
    }
}
