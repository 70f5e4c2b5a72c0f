//! Display precision: the one place that says how finely a board's
//! numbers are shown, used to decide whether a board changed.
//!
//! No figure on a display shows more than three significant digits (a
//! rate as "83 %" or "4.6 %", a duration as "2 m 11 s", erlangs as
//! "12.3"), so two boards whose floats agree to four significant digits
//! look the same on every display; whole counts are compared exactly.
//! The page's formatters (`assets/common.js`: `fmtPct`, `fmtDuration`,
//! `fmtDecimal`, `fmtInt`) never show more than that.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};
use std::io;

/// Significant digits a float keeps when boards are compared.
pub const SIGNIFICANT_DIGITS: i32 = 4;

/// `value` rounded to [`SIGNIFICANT_DIGITS`] significant digits.
pub fn round(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let magnitude = value.abs().log10().floor() as i32;
    let scale = 10f64.powi(SIGNIFICANT_DIGITS - 1 - magnitude);
    (value * scale).round() / scale
}

/// Compact JSON with every float rounded by [`round`].
struct Rounded;

impl Formatter for Rounded {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        CompactFormatter.write_f64(writer, round(value))
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        CompactFormatter.write_f64(writer, round(f64::from(value)))
    }
}

/// `value` as compact JSON with floats at display precision.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * 1024);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, Rounded);
    // Serializing plain data into a Vec cannot fail; an error would only
    // make two boards compare unequal, which is safe.
    if value.serialize(&mut serializer).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_four_significant_digits() {
        assert_eq!(round(0.834_56), 0.8346);
        assert_eq!(round(131.449), 131.4);
        assert_eq!(round(0.000_123_45), 0.000_123_5);
        assert_eq!(round(-2.5), -2.5);
        assert_eq!(round(0.0), 0.0);
        assert!(round(f64::NAN).is_nan());
    }

    #[test]
    fn equal_at_display_precision_encodes_equal() {
        #[derive(Serialize)]
        struct Figures {
            rate: f64,
            count: u64,
        }
        let a = encode(&Figures {
            rate: 0.833_333_33,
            count: 7,
        });
        let b = encode(&Figures {
            rate: 0.833_333_34,
            count: 7,
        });
        let c = encode(&Figures {
            rate: 0.8341,
            count: 7,
        });
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            String::from_utf8(a).unwrap(),
            r#"{"rate":0.8333,"count":7}"#
        );
    }
}
