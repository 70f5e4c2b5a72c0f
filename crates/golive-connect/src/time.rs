//! Times as connected systems write them: RFC 3339, ISO 8601 offsets
//! without a colon (Jira's `+0530`), and ServiceNow's `YYYY-MM-DD HH:MM:SS`
//! in the source's time zone (UTC unless configured).

use crate::error::RecordError;
use chrono::{DateTime, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use golive_core::time::{MAX_MILLIS, MIN_MILLIS, Millis};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How far in the future a source time may be (clock drift) before the
/// record is refused: the contract's default skew, 5 minutes.
pub const MAX_FUTURE_SKEW_MS: Millis = 5 * 60 * 1000;

/// The zone times without an offset are in: an IANA name such as
/// `"America/Chicago"` in configuration, `UTC` by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceTimeZone(pub Tz);

impl Default for SourceTimeZone {
    fn default() -> Self {
        SourceTimeZone(Tz::UTC)
    }
}

impl<'de> Deserialize<'de> for SourceTimeZone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse::<Tz>().map(SourceTimeZone).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown time zone {name:?}: use an IANA name such as \"America/Chicago\" or \"UTC\""
            ))
        })
    }
}

impl Serialize for SourceTimeZone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.name())
    }
}

/// Parses a source time: with an offset (`Z`, `+05:30` or `+0530`, a `T`
/// or a space between date and time), or without one in `zone`.
/// Fractions of a second are truncated to milliseconds. `None` for
/// anything else, or a time outside 2000..2100.
pub fn parse_source_time(text: &str, zone: SourceTimeZone) -> Option<Millis> {
    let text = text.trim();
    let millis = if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        parsed.timestamp_millis()
    } else if let Some(parsed) = ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"]
        .iter()
        .find_map(|format| DateTime::parse_from_str(text, format).ok())
    {
        parsed.timestamp_millis()
    } else {
        let local = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())?;
        // In a fall-back hour the earlier instant; in a spring-forward gap
        // (a time that never happened) nothing.
        zone.0
            .from_local_datetime(&local)
            .earliest()?
            .timestamp_millis()
    };
    (MIN_MILLIS..MAX_MILLIS).contains(&millis).then_some(millis)
}

/// [`parse_source_time`] for field `field`, refusing unparseable times and
/// times more than [`MAX_FUTURE_SKEW_MS`] after `now`.
pub fn source_time(
    field: &str,
    text: &str,
    zone: SourceTimeZone,
    now: Millis,
) -> Result<Millis, RecordError> {
    let millis = parse_source_time(text, zone).ok_or_else(|| {
        RecordError::invalid(
            "invalid_timestamp",
            field,
            text,
            "is not a time (YYYY-MM-DD HH:MM:SS, or ISO 8601 with an offset, between 2000 and 2100)",
        )
    })?;
    if millis > now.saturating_add(MAX_FUTURE_SKEW_MS) {
        return Err(RecordError::invalid(
            "future_timestamp",
            field,
            text,
            "is more than 5 minutes in the future (is the source's time zone configured?)",
        ));
    }
    Ok(millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use golive_core::time::parse_rfc3339;

    fn utc(text: &str) -> Millis {
        parse_rfc3339(text).unwrap()
    }

    #[test]
    fn offsets_with_and_without_colon_and_local_times() {
        let zone = SourceTimeZone::default();
        let expected = utc("2026-03-02T07:14:05.123Z");
        for text in [
            "2026-03-02T07:14:05.123Z",
            "2026-03-02T12:44:05.123+05:30",
            "2026-03-02T12:44:05.123+0530",
            "2026-03-02 07:14:05.123",
        ] {
            assert_eq!(parse_source_time(text, zone), Some(expected), "{text}");
        }
        let chicago = SourceTimeZone("America/Chicago".parse().unwrap());
        assert_eq!(
            parse_source_time("2026-03-02 01:14:05", chicago),
            Some(utc("2026-03-02T07:14:05Z"))
        );
        // 02:30 on the spring-forward night never happened in Chicago.
        assert_eq!(parse_source_time("2026-03-08 02:30:00", chicago), None);
        assert_eq!(parse_source_time("1999-12-31 23:59:59", zone), None);
        assert_eq!(parse_source_time("03/02/2026 07:14", zone), None);
    }

    #[test]
    fn future_times_are_refused() {
        let now = utc("2026-03-02T07:00:00Z");
        let zone = SourceTimeZone::default();
        assert!(source_time("opened_at", "2026-03-02 07:04:59", zone, now).is_ok());
        let error = source_time("opened_at", "2026-03-02 08:00:00", zone, now).unwrap_err();
        assert_eq!(
            (error.code, error.field.as_str()),
            ("future_timestamp", "opened_at")
        );
        let error = source_time("opened_at", "yesterday", zone, now).unwrap_err();
        assert_eq!(error.code, "invalid_timestamp");
    }

    #[test]
    fn zones_come_from_configuration_by_name() {
        #[derive(Deserialize)]
        struct Holder {
            zone: SourceTimeZone,
        }
        let held: Holder = serde_json::from_str(r#"{"zone": "Asia/Kolkata"}"#).unwrap();
        assert_eq!(held.zone.0.name(), "Asia/Kolkata");
        assert!(serde_json::from_str::<Holder>(r#"{"zone": "Mars/Base"}"#).is_err());
    }
}
