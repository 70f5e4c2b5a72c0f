//! Property tests of the input parsers: arbitrary bytes and generated
//! JSON objects (every field a body may carry, with hostile values: NUL,
//! control characters, empty and over-long text, wrong types, times far
//! in the future, keys given twice) through the NDJSON line parser and the
//! ticket, ticket change and call body parsers.
//!
//! Whatever goes in: no panic; every refusal is in the contract's error
//! shape (a 4xx status, a snake_case code, a message, a `details` object
//! naming the field on 422); everything accepted satisfies validation's
//! promises; and the NDJSON fast pass either declines a line or gives the
//! careful pass's answer exactly.

use crate::error::ApiError;
use crate::extract::parse_json;
use crate::routes::ingest::{parse_line, parse_line_careful, parse_line_fast};
use golive_core::input::{CallBody, Clock, MAX_NAME_CHARS, TicketBody, TicketPatchBody};
use golive_core::ledger::Command;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// 2026-03-02T07:14:05Z.
const NOW: i64 = 1_772_435_645_000;

fn clock() -> Clock {
    Clock::new(NOW, Clock::DEFAULT_MAX_AHEAD)
}

/// Checks the contract's error shape.
fn check_shape(error: &ApiError) -> Result<(), TestCaseError> {
    let status = error.status.as_u16();
    prop_assert!(
        matches!(status, 400 | 404 | 409 | 422),
        "status {status} for {error:?}"
    );
    prop_assert!(
        !error.code.is_empty()
            && error
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'),
        "code {:?}",
        error.code
    );
    prop_assert!(!error.message.trim().is_empty(), "no message: {error:?}");
    let body = error.body();
    prop_assert!(body["error"]["details"].is_object(), "no details: {body}");
    if status == 422 {
        prop_assert!(
            body["error"]["details"]["field"].is_string(),
            "422 without a field: {body}"
        );
    }
    Ok(())
}

/// What validation promises about an accepted command.
fn check_accepted(command: &Command) -> Result<(), TestCaseError> {
    let latest = clock().latest();
    let name_ok = |name: &str| {
        !name.is_empty()
            && name.trim() == name
            && name.chars().count() <= MAX_NAME_CHARS
            && !name.chars().any(char::is_control)
    };
    match command {
        Command::CreateTicket(t) => {
            prop_assert!(name_ok(&t.site) && name_ok(&t.department) && name_ok(&t.application));
            prop_assert!(t.opened_at <= latest);
            prop_assert!(t.resolved_at.is_none_or(|r| r >= t.opened_at));
            for text in [&t.summary, &t.external_id, &t.reporter_role, &t.assignee]
                .into_iter()
                .flatten()
            {
                prop_assert!(!text.contains('\0'));
            }
        }
        Command::UpdateTicket(_, patch) => {
            prop_assert!(patch.at <= latest);
            prop_assert!(patch.assignee.as_deref().is_none_or(name_ok));
            let class = &patch.reclassify;
            for name in [&class.site, &class.department, &class.application]
                .into_iter()
                .flatten()
            {
                prop_assert!(name_ok(name));
            }
        }
        Command::RecordCall(call) => {
            prop_assert!(call.at <= latest);
            prop_assert!(name_ok(&call.queue));
            prop_assert!(!call.call_id.is_empty() && !call.call_id.contains('\0'));
        }
        Command::ConfigureQueue { .. }
        | Command::ReplaceCallLeg(_)
        | Command::SyncTicket(_)
        | Command::AcknowledgeAlert(_)
        | Command::CreateKnownIssue(_)
        | Command::UpdateKnownIssue(..)
        | Command::RaiseAlert(_)
        | Command::ClearAlert(_) => {
            prop_assert!(false, "not an ingest command")
        }
    }
    Ok(())
}

/// A JSON value as text: mostly plausible, often hostile.
fn value() -> impl Strategy<Value = String> {
    let plausible = prop_oneof![
        Just("Main Campus"),
        Just("Emergency"),
        Just("Orders"),
        Just("how_to"),
        Just("break_fix"),
        Just("ate"),
        Just("phone"),
        Just("open"),
        Just("resolved"),
        Just("closed"),
        Just("offered"),
        Just("answered"),
        Just("ended"),
        Just("c-1"),
        Just("INC1"),
        Just("12"),
        Just("2026-03-02T07:00:00Z"),
        Just("2026-03-02T07:18:00Z"),
        Just("2026-03-02T07:20:00Z"),
        Just("2026-03-02T09:00:00+01:00"),
        Just("2099-12-31T23:59:59Z"),
        Just("2026-03-02 07:00"),
        Just(""),
        Just("   "),
    ]
    .prop_map(|s| serde_json::to_string(s).unwrap_or_default());
    prop_oneof![
        4 => plausible,
        2 => any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        1 => "[a-z\\x00-\\x1f]{0,80}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        1 => (0usize..5000).prop_map(|n| format!("\"{}\"", "x".repeat(n))),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => (0u8..6).prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|f| serde_json::to_string(&f).unwrap_or_default()),
        1 => Just("null".to_string()),
        1 => Just("true".to_string()),
        1 => Just("[]".to_string()),
        1 => Just("{\"a\":1}".to_string()),
    ]
}

/// Every key any body may carry, plus a stranger.
const KEYS: &[&str] = &[
    "kind",
    "external_id",
    "opened_at",
    "site",
    "department",
    "application",
    "category",
    "severity",
    "channel",
    "summary",
    "reporter_role",
    "status",
    "resolved_at",
    "assignee",
    "tier",
    "id",
    "at",
    "call_id",
    "queue",
    "event",
    "agent",
    "wrap_seconds",
    "s\\u0069te",
    "bogus",
];

/// A JSON object of generated fields (keys may repeat).
fn object(kind: Option<&'static str>) -> impl Strategy<Value = String> {
    let field = (prop::sample::select(KEYS), value());
    proptest::collection::vec(field, 0..12).prop_map(move |fields| {
        let mut parts: Vec<String> = fields
            .into_iter()
            .map(|(key, value)| format!("\"{key}\":{value}"))
            .collect();
        if let Some(kind) = kind {
            parts.insert(0, format!("\"kind\":\"{kind}\""));
        }
        format!("{{{}}}", parts.join(","))
    })
}

/// A valid body of `kind` with a few of its fields replaced, dropped or
/// given again, and strangers added: close to what real feeds send.
fn near_valid(kind: &'static str) -> impl Strategy<Value = String> {
    let base: Vec<(&str, String)> = match kind {
        "ticket" => vec![
            ("kind", "\"ticket\"".into()),
            ("site", "\"Main Campus\"".into()),
            ("department", "\"Emergency\"".into()),
            ("application", "\"Orders\"".into()),
            ("category", "\"how_to\"".into()),
            ("severity", "3".into()),
            ("channel", "\"phone\"".into()),
        ],
        "ticket_update" => vec![
            ("kind", "\"ticket_update\"".into()),
            ("external_id", "\"INC1\"".into()),
            ("status", "\"resolved\"".into()),
        ],
        _ => vec![
            ("kind", "\"call\"".into()),
            ("call_id", "\"c-1\"".into()),
            ("queue", "\"Access Line\"".into()),
            ("event", "\"offered\"".into()),
            ("at", "\"2026-03-02T07:01:00Z\"".into()),
        ],
    };
    let mutation = (
        0u8..3,
        prop::sample::select(KEYS),
        value(),
        any::<prop::sample::Index>(),
    );
    proptest::collection::vec(mutation, 0..4).prop_map(move |mutations| {
        let mut fields = base.clone();
        for (how, key, value, index) in mutations {
            match how {
                // Replace one of the fields' values.
                0 if !fields.is_empty() => {
                    let i = index.index(fields.len());
                    fields[i].1 = value;
                }
                // Drop one.
                1 if !fields.is_empty() => {
                    fields.remove(index.index(fields.len()));
                }
                // Add a field (perhaps one already there).
                _ => fields.push((key, value)),
            }
        }
        let parts: Vec<String> = fields
            .into_iter()
            .map(|(key, value)| format!("\"{key}\":{value}"))
            .collect();
        format!("{{{}}}", parts.join(","))
    })
}

/// An ingest line: a generated object of any kind.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => near_valid("ticket"),
        2 => near_valid("ticket_update"),
        2 => near_valid("call"),
        1 => object(Some("ticket")),
        1 => object(Some("ticket_update")),
        1 => object(Some("call")),
        1 => object(None),
    ]
}

/// The generators reach both sides: many lines are accepted, many refused,
/// and the fast pass answers many of them (so the agreement is tested).
#[test]
fn generated_lines_cover_acceptance_and_refusal() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = line();
    let (mut accepted, mut refused, mut fast) = (0, 0, 0);
    for _ in 0..2000 {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let line = tree.current();
        fast += usize::from(parse_line_fast(line.as_bytes(), clock()).is_some());
        match parse_line(line.as_bytes(), clock()) {
            Ok(_) => accepted += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(accepted > 200, "{accepted} accepted");
    assert!(refused > 200, "{refused} refused");
    assert!(fast > 400, "{fast} answered by the fast pass");
}

fn answer(result: Result<Command, ApiError>) -> Result<Command, String> {
    result.map_err(|e| format!("{} {}", e.status, e.body()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ndjson_lines_of_any_bytes_are_answered_in_shape(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        match parse_line(&raw, clock()) {
            Ok(command) => check_accepted(&command)?,
            Err(error) => check_shape(&error)?,
        }
    }

    #[test]
    fn generated_ndjson_lines_are_answered_in_shape_and_the_fast_pass_agrees(line in line()) {
        let careful = answer(parse_line_careful(line.as_bytes(), clock()));
        if let Some(fast) = parse_line_fast(line.as_bytes(), clock()) {
            prop_assert_eq!(&answer(fast), &careful, "{}", line);
        }
        match parse_line(line.as_bytes(), clock()) {
            Ok(command) => check_accepted(&command)?,
            Err(error) => check_shape(&error)?,
        }
    }

    #[test]
    fn ticket_bodies_are_answered_in_shape(body in prop_oneof![
        near_valid("ticket").prop_map(|b| b.replacen("\"kind\":\"ticket\",", "", 1).into_bytes()),
        object(None).prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]) {
        match parse_json::<TicketBody>(&body) {
            Ok(ticket) => match ticket.validate(clock()) {
                Ok(ticket) => check_accepted(&Command::CreateTicket(ticket))?,
                Err(rejection) => check_shape(&ApiError::from(rejection))?,
            },
            Err(error) => check_shape(&error)?,
        }
    }

    #[test]
    fn ticket_changes_are_answered_in_shape(body in prop_oneof![
        object(None).prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]) {
        match parse_json::<TicketPatchBody>(&body) {
            Ok(patch) => match patch.validate(clock()) {
                Ok(patch) => check_accepted(&Command::UpdateTicket(
                    golive_core::input::TicketRef::Id(1),
                    patch,
                ))?,
                Err(rejection) => check_shape(&ApiError::from(rejection))?,
            },
            Err(error) => check_shape(&error)?,
        }
    }

    #[test]
    fn call_bodies_are_answered_in_shape(body in prop_oneof![
        near_valid("call").prop_map(|b| b.replacen("\"kind\":\"call\",", "", 1).into_bytes()),
        object(None).prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]) {
        match parse_json::<CallBody>(&body) {
            Ok(call) => match call.validate(clock()) {
                Ok(call) => check_accepted(&Command::RecordCall(call))?,
                Err(rejection) => check_shape(&ApiError::from(rejection))?,
            },
            Err(error) => check_shape(&error)?,
        }
    }
}
