//! Why one source record was refused: always the field (as the source
//! names it) and the value that could not be used, never a crash and never
//! a silent default.

use golive_core::input::{Rejection, RejectionKind};
use std::fmt;

/// Longest part of a source value repeated in an error message: enough to
/// recognise a code or a name, never a whole free-text field.
const MAX_ECHO_CHARS: usize = 64;

/// One record's refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    /// snake_case reason: `missing_field`, `unmapped_value`,
    /// `invalid_field`, `invalid_timestamp`, `broken_reference`, …
    pub code: &'static str,
    /// The field as the source names it (`priority`, `caller_id.department`,
    /// `fields.priority.name`), or golive's name when no source field was
    /// configured for it.
    pub field: String,
    /// The value as received, cut to 64 characters; `None` when absent.
    pub value: Option<String>,
    /// Human-readable: names the field, the value and why.
    pub message: String,
}

impl RecordError {
    /// The record has no value for a field golive needs.
    pub fn missing(field: &str, why: impl fmt::Display) -> Self {
        RecordError {
            code: "missing_field",
            field: field.to_string(),
            value: None,
            message: format!("{field}: {why}"),
        }
    }

    /// A value no value map (nor the defaults) knows.
    pub fn unmapped(field: &str, value: &str, golive_field: &str) -> Self {
        let echo = echo(value);
        RecordError {
            code: "unmapped_value",
            field: field.to_string(),
            message: format!(
                "{field}: value {echo:?} has no {golive_field} mapping; add it to the \
                 connector's values.{golive_field} table"
            ),
            value: Some(echo),
        }
    }

    /// A value that is there but unusable, with `code` and why.
    pub fn invalid(code: &'static str, field: &str, value: &str, why: impl fmt::Display) -> Self {
        let echo = echo(value);
        RecordError {
            code,
            field: field.to_string(),
            message: format!("{field}: value {echo:?} {why}"),
            value: Some(echo),
        }
    }

    /// A record that is not a record at all (not an object, no key).
    pub fn malformed(why: impl fmt::Display) -> Self {
        RecordError {
            code: "malformed_record",
            field: String::new(),
            value: None,
            message: why.to_string(),
        }
    }

    /// The same error as golive-core's rejection (422), for the HTTP
    /// layer's error shape.
    pub fn into_rejection(self) -> Rejection {
        Rejection {
            kind: RejectionKind::Invalid,
            code: self.code,
            message: self.message,
            field: (!self.field.is_empty()).then_some(self.field),
        }
    }

    /// A core validation refusal (`checked_name`, …) about source field
    /// `field` holding `value`: the message names the source field.
    pub fn from_rejection(rejection: &Rejection, field: &str, value: &str) -> Self {
        let why = rejection
            .message
            .split_once(": ")
            .map_or(rejection.message.as_str(), |(_, why)| why);
        RecordError::invalid(rejection.code, field, value, why)
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RecordError {}

/// `value` cut to [`MAX_ECHO_CHARS`] characters (with `…` when cut).
fn echo(value: &str) -> String {
    let mut chars = value.chars();
    let mut out: String = chars.by_ref().take(MAX_ECHO_CHARS).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_field_and_value_and_stay_short() {
        let error = RecordError::unmapped("priority", "9", "severity");
        assert_eq!(error.field, "priority");
        assert!(error.message.contains("\"9\""), "{}", error.message);
        let huge = "x".repeat(10_000);
        let error = RecordError::invalid("invalid_field", "location", &huge, "is too long");
        assert!(error.message.chars().count() < 150, "{}", error.message);
        let rejection = error.into_rejection();
        assert_eq!(rejection.field.as_deref(), Some("location"));
        assert_eq!(rejection.kind, RejectionKind::Invalid);
    }
}
