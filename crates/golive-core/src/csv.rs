//! CSV rows as RFC 4180 writes them, for the endpoints that answer CSV
//! (the staffing plan, the huddle report).

/// Appends one row: fields with a comma, quote or line break are quoted,
/// quotes doubled.
pub fn push_row(out: &mut String, fields: &[String]) {
    for (k, field) in fields.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push('\n');
}
