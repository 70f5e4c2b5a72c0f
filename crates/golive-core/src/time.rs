//! Timestamps: milliseconds since the Unix epoch, UTC.
//!
//! Everything inside golive is an `i64` of milliseconds so that window
//! boundaries are exact integers; text only exists at the edges (RFC 3339
//! with an offset in, RFC 3339 `Z` with milliseconds out).

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

/// Earliest accepted timestamp (2000-01-01T00:00:00Z): anything older is a
/// broken clock or a unit mistake, not a go-live.
pub const MIN_MILLIS: Millis = 946_684_800_000;
/// Latest accepted timestamp (2100-01-01T00:00:00Z).
pub const MAX_MILLIS: Millis = 4_102_444_800_000;

/// Parses RFC 3339 text with an explicit offset, truncating to milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<Millis> {
    let parsed = DateTime::parse_from_rfc3339(text.trim()).ok()?;
    let millis = parsed.timestamp_millis();
    (MIN_MILLIS..MAX_MILLIS).contains(&millis).then_some(millis)
}

/// Formats milliseconds as RFC 3339 UTC with millisecond precision.
pub fn format_rfc3339(millis: Millis) -> String {
    match DateTime::<Utc>::from_timestamp_millis(millis) {
        Some(at) => at.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => String::from("invalid-timestamp"),
    }
}

/// The current wall-clock time; only the edges of the system call this.
pub fn now_millis() -> Millis {
    Utc::now().timestamp_millis()
}

/// Serde helpers for API fields that are RFC 3339 text on the wire.
pub mod rfc3339 {
    use super::{Millis, format_rfc3339};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(millis: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_rfc3339(*millis))
    }

    pub mod option {
        use super::super::{Millis, format_rfc3339};
        use serde::Serializer;

        pub fn serialize<S: Serializer>(millis: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
            match millis {
                Some(m) => s.serialize_str(&format_rfc3339(*m)),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_offsets() {
        let z = parse_rfc3339("2026-03-02T07:14:05Z").unwrap();
        let offset = parse_rfc3339("2026-03-02T08:14:05+01:00").unwrap();
        assert_eq!(z, offset);
        assert_eq!(format_rfc3339(z), "2026-03-02T07:14:05.000Z");
        let fractional = parse_rfc3339("2026-03-02T07:14:05.123456Z").unwrap();
        assert_eq!(fractional - z, 123);
    }

    #[test]
    fn rejects_missing_offset_and_absurd_years() {
        assert!(parse_rfc3339("2026-03-02T07:14:05").is_none());
        assert!(parse_rfc3339("1970-01-01T00:00:00Z").is_none());
        assert!(parse_rfc3339("2200-01-01T00:00:00Z").is_none());
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
