//! The huddle report's calendar (`[huddle]` in the configuration): the
//! command center's time zone and shift boundaries, turned into the
//! bounds of a day or of one shift.
//!
//! A day is the local calendar day, midnight to midnight. A shift starts
//! at its `start` on the date and runs until the next shift's start, the
//! last one until the first shift's start on the next day (a night shift
//! crosses midnight). Local times are read in the configured zone, so a
//! day of a daylight-saving change has 23 or 25 hours.

use chrono::{Days, NaiveDate, NaiveTime, TimeZone, Utc};
use golive_connect::SourceTimeZone;
use golive_core::time::Millis;
use serde::Deserialize;

/// The `[huddle]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HuddleConfig {
    /// IANA zone of dates and shift boundaries, e.g. "America/Chicago".
    pub time_zone: SourceTimeZone,
    /// Shifts of a day, in order of their start.
    pub shifts: Vec<ShiftConfig>,
    /// Applications listed in the report's top list.
    pub top_applications: usize,
}

impl Default for HuddleConfig {
    fn default() -> Self {
        HuddleConfig {
            time_zone: SourceTimeZone::default(),
            shifts: vec![
                ShiftConfig {
                    name: "Day".into(),
                    start: "07:00".into(),
                },
                ShiftConfig {
                    name: "Night".into(),
                    start: "19:00".into(),
                },
            ],
            top_applications: 10,
        }
    }
}

/// One shift: its name and local start time, `HH:MM`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShiftConfig {
    pub name: String,
    pub start: String,
}

/// Why a day or shift cannot be reported on.
#[derive(Debug, PartialEq)]
pub enum SpanError {
    UnknownShift,
    /// The date is outside what golive keeps (2000–2099).
    OutOfRange,
}

impl HuddleConfig {
    /// Checks what the types cannot: the error is (key, reason).
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.shifts.is_empty() {
            return Err((
                "huddle.shifts".into(),
                "must name at least one shift".into(),
            ));
        }
        let mut previous: Option<NaiveTime> = None;
        for (k, shift) in self.shifts.iter().enumerate() {
            let name = shift.name.trim();
            if name.is_empty() || name.chars().count() > 64 {
                return Err((
                    format!("huddle.shifts[{k}].name"),
                    "must be 1 to 64 characters".into(),
                ));
            }
            if self.shifts[..k].iter().any(|s| s.name.trim() == name) {
                return Err((
                    format!("huddle.shifts[{k}].name"),
                    format!("{name:?} names two shifts"),
                ));
            }
            let start = parse_start(&shift.start).ok_or_else(|| {
                (
                    format!("huddle.shifts[{k}].start"),
                    "must be a local time HH:MM, e.g. \"07:00\"".to_string(),
                )
            })?;
            if previous.is_some_and(|p| p >= start) {
                return Err((
                    format!("huddle.shifts[{k}].start"),
                    "shifts must be listed in order of their start within the day".into(),
                ));
            }
            previous = Some(start);
        }
        if !(1..=100).contains(&self.top_applications) {
            return Err((
                "huddle.top_applications".into(),
                "must be from 1 to 100".into(),
            ));
        }
        Ok(())
    }

    /// The zone's name, e.g. "America/Chicago".
    pub fn zone_name(&self) -> &'static str {
        self.time_zone.0.name()
    }

    /// The local date it is at `now`.
    pub fn today(&self, now: Millis) -> Option<NaiveDate> {
        let utc = Utc.timestamp_millis_opt(now).single()?;
        Some(utc.with_timezone(&self.time_zone.0).date_naive())
    }

    /// The bounds of `date`, or of its shift named `shift`.
    pub fn span(
        &self,
        date: NaiveDate,
        shift: Option<&str>,
    ) -> Result<(Millis, Millis), SpanError> {
        let next_day = date
            .checked_add_days(Days::new(1))
            .ok_or(SpanError::OutOfRange)?;
        let (from, to) = match shift {
            None => (
                self.local(date, NaiveTime::MIN),
                self.local(next_day, NaiveTime::MIN),
            ),
            Some(name) => {
                let k = self
                    .shifts
                    .iter()
                    .position(|s| s.name.trim() == name.trim())
                    .ok_or(SpanError::UnknownShift)?;
                let start = |k: usize| {
                    self.shifts
                        .get(k)
                        .and_then(|s| parse_start(&s.start))
                        .unwrap_or(NaiveTime::MIN)
                };
                let end = match self.shifts.get(k + 1) {
                    Some(_) => self.local(date, start(k + 1)),
                    None => self.local(next_day, start(0)),
                };
                (self.local(date, start(k)), end)
            }
        };
        let (from, to) = (
            from.ok_or(SpanError::OutOfRange)?,
            to.ok_or(SpanError::OutOfRange)?,
        );
        let range = golive_core::time::MIN_MILLIS..golive_core::time::MAX_MILLIS;
        if !range.contains(&from) || !range.contains(&to) {
            return Err(SpanError::OutOfRange);
        }
        Ok((from, to))
    }

    /// A local date and time as an instant: the earlier one when the
    /// clocks go back, the moment they jump to when it does not exist.
    fn local(&self, date: NaiveDate, time: NaiveTime) -> Option<Millis> {
        let zone = self.time_zone.0;
        let local = date.and_time(time);
        let mapped = zone.from_local_datetime(&local).earliest().or_else(|| {
            // In a spring-forward gap: the first minute that exists.
            (1..=180).find_map(|m| {
                zone.from_local_datetime(&(local + chrono::Duration::minutes(m)))
                    .earliest()
            })
        })?;
        Some(mapped.timestamp_millis())
    }
}

fn parse_start(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(zone: &str) -> HuddleConfig {
        toml::from_str(&format!(
            "time_zone = \"{zone}\"\nshifts = [{{ name = \"Day\", start = \"07:00\" }}, {{ name = \"Night\", start = \"19:00\" }}]"
        ))
        .expect("config")
    }

    fn at(text: &str) -> Millis {
        golive_core::time::parse_rfc3339(text).expect("time")
    }

    #[test]
    fn days_and_shifts_in_the_zone() {
        let chicago = config("America/Chicago");
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
        assert_eq!(
            chicago.span(date, None),
            Ok((at("2026-03-02T06:00:00Z"), at("2026-03-03T06:00:00Z")))
        );
        assert_eq!(
            chicago.span(date, Some("Day")),
            Ok((at("2026-03-02T13:00:00Z"), at("2026-03-03T01:00:00Z")))
        );
        // The night shift crosses midnight.
        assert_eq!(
            chicago.span(date, Some("Night")),
            Ok((at("2026-03-03T01:00:00Z"), at("2026-03-03T13:00:00Z")))
        );
        assert_eq!(
            chicago.span(date, Some("Swing")),
            Err(SpanError::UnknownShift)
        );
        // The spring-forward day has 23 hours.
        let spring = NaiveDate::from_ymd_opt(2026, 3, 8).expect("date");
        let (from, to) = chicago.span(spring, None).expect("span");
        assert_eq!(to - from, 23 * 3_600_000);
        assert_eq!(
            chicago.today(at("2026-03-03T05:59:00Z")),
            Some(NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"))
        );
    }

    #[test]
    fn bad_shifts_are_refused_naming_the_key() {
        for (text, key) in [
            ("shifts = []", "huddle.shifts"),
            (
                "shifts = [{ name = \"\", start = \"07:00\" }]",
                "huddle.shifts[0].name",
            ),
            (
                "shifts = [{ name = \"Day\", start = \"7am\" }]",
                "huddle.shifts[0].start",
            ),
            (
                "shifts = [{ name = \"Day\", start = \"19:00\" }, { name = \"Night\", start = \"07:00\" }]",
                "huddle.shifts[1].start",
            ),
            (
                "shifts = [{ name = \"Day\", start = \"07:00\" }, { name = \"Day\", start = \"19:00\" }]",
                "huddle.shifts[1].name",
            ),
            ("top_applications = 0", "huddle.top_applications"),
        ] {
            let config: HuddleConfig = toml::from_str(text).expect(text);
            assert_eq!(
                config.validate().map_err(|e| e.0),
                Err(key.to_string()),
                "{text}"
            );
        }
        assert!(toml::from_str::<HuddleConfig>("time_zone = \"Mars/Olympus\"").is_err());
        assert!(HuddleConfig::default().validate().is_ok());
    }
}
