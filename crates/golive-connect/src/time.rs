//! Times as connected systems write them: RFC 3339, ISO 8601 offsets
//! without a colon (Jira's `+0530`), and ServiceNow's `YYYY-MM-DD HH:MM:SS`
//! in the source's time zone (UTC unless configured).

use crate::error::RecordError;
use chrono::{DateTime, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use golive_core::input::Clock;
use golive_core::time::{MAX_MILLIS, MIN_MILLIS, Millis};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    let millis = if let Some(local) = plain_local(text) {
        in_zone(local, zone)?
    } else if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
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
        in_zone(local, zone)?
    };
    (MIN_MILLIS..MAX_MILLIS).contains(&millis).then_some(millis)
}

/// `local` in `zone`: in a fall-back hour the earlier instant; in a
/// spring-forward gap (a time that never happened) nothing.
fn in_zone(local: NaiveDateTime, zone: SourceTimeZone) -> Option<Millis> {
    if zone.0 == Tz::UTC {
        return Some(local.and_utc().timestamp_millis());
    }
    Some(
        zone.0
            .from_local_datetime(&local)
            .earliest()?
            .timestamp_millis(),
    )
}

/// ServiceNow's own `YYYY-MM-DD HH:MM:SS`, read without a format string:
/// almost every time a connector sees has exactly this shape.
fn plain_local(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(0..4)?).ok()?,
        number(5..7)?,
        number(8..10)?,
    )?;
    date.and_hms_opt(number(11..13)?, number(14..16)?, number(17..19)?)
}

/// [`parse_source_time`] for field `field`, refusing unparseable times and
/// times after the clock's latest (its configured skew ahead of now).
pub fn checked_time(
    field: &str,
    text: &str,
    zone: SourceTimeZone,
    clock: Clock,
) -> Result<Millis, RecordError> {
    let millis = parse_source_time(text, zone).ok_or_else(|| {
        RecordError::invalid(
            "invalid_timestamp",
            field,
            text,
            "is not a time (YYYY-MM-DD HH:MM:SS, or ISO 8601 with an offset, between 2000 and 2100)",
        )
    })?;
    future_check(field, text, millis, clock)
}

/// `millis` (read from `text` in `field`), unless it is after the clock's
/// latest.
pub fn future_check(
    field: &str,
    text: &str,
    millis: Millis,
    clock: Clock,
) -> Result<Millis, RecordError> {
    if millis > clock.latest() {
        return Err(RecordError::invalid(
            "future_timestamp",
            field,
            text,
            format!(
                "is more than {} seconds in the future (is the source's clock or time zone right?)",
                clock.max_ahead / 1000
            ),
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
        assert_eq!(parse_source_time("2026-02-30 07:14:05", zone), None);
        assert_eq!(parse_source_time("2026-03-02 25:14:05", zone), None);
        assert_eq!(parse_source_time("2026-03-02 07:1x:05", zone), None);
        assert_eq!(
            parse_source_time(" 2026-03-02 07:14:05 ", zone),
            Some(utc("2026-03-02T07:14:05Z"))
        );
    }

    #[test]
    fn future_times_are_refused() {
        let now = Clock::new(utc("2026-03-02T07:00:00Z"), 300_000);
        let zone = SourceTimeZone::default();
        assert!(checked_time("opened_at", "2026-03-02 07:04:59", zone, now).is_ok());
        let error = checked_time("opened_at", "2026-03-02 08:00:00", zone, now).unwrap_err();
        assert_eq!(
            (error.code, error.field.as_str()),
            ("future_timestamp", "opened_at")
        );
        let error = checked_time("opened_at", "yesterday", zone, now).unwrap_err();
        // The configured skew, not a constant: a minute allows a minute.
        let strict = Clock::new(utc("2026-03-02T07:00:00Z"), 60_000);
        assert!(checked_time("opened_at", "2026-03-02 07:01:00", zone, strict).is_ok());
        assert!(checked_time("opened_at", "2026-03-02 07:01:01", zone, strict).is_err());
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
