//! One source record, read field by field whatever its format: a JSON
//! object as ServiceNow's Table API or Jira writes it, or a CSV row.
//!
//! A field is named by a dot-walked path (`caller_id.department`,
//! `status.statusCategory.key`): a key spelled exactly so is taken first
//! (ServiceNow writes dot-walked fields that way, and CSV exports head
//! their columns so), else the path is followed through nested objects.

use serde_json::{Map, Value};

/// One value of a field. ServiceNow may send the stored value, the
/// display value, or both (`sysparm_display_value=all`); a reference
/// (`{"value": sys_id, "link": …}`) without a display value is only an id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceValue {
    /// The stored value (a choice code, a UTC time, a sys_id).
    pub value: Option<String>,
    /// The value as shown to people (a label, a name, a local time).
    pub display: Option<String>,
    /// A reference given only by its id (a sys_id and a link).
    pub reference_only: bool,
}

impl SourceValue {
    fn plain(text: String) -> Option<SourceValue> {
        (!text.trim().is_empty()).then(|| SourceValue {
            display: Some(text.clone()),
            value: Some(text),
            reference_only: false,
        })
    }

    /// The stored value, else the display value (choices, times).
    pub fn code(&self) -> Option<&str> {
        self.value.as_deref().or(self.display.as_deref())
    }

    /// The display value, else the stored value (names).
    pub fn label(&self) -> Option<&str> {
        self.display.as_deref().or(self.value.as_deref())
    }

    /// Both, the stored value first, without repeats: what a value map is
    /// asked about.
    pub fn candidates(&self) -> impl Iterator<Item = &str> {
        let display = self
            .display
            .as_deref()
            .filter(|display| Some(*display) != self.value.as_deref());
        self.value.as_deref().into_iter().chain(display)
    }
}

/// A record whose fields can be read by path. A field that is absent,
/// null or an empty string has no values; a list has one per element.
pub trait Record {
    fn values(&self, path: &str) -> Vec<SourceValue>;
}

/// A JSON object as a record.
#[derive(Clone, Copy, Debug)]
pub struct JsonRecord<'a>(pub &'a Map<String, Value>);

impl Record for JsonRecord<'_> {
    fn values(&self, path: &str) -> Vec<SourceValue> {
        let mut out = Vec::new();
        if let Some(value) = walk(self.0, path) {
            collect(value, &mut out);
        }
        out
    }
}

/// The value at `path` in `object`: the exact key, else the first
/// segment's object and the rest of the path within it.
fn walk<'a>(object: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = object.get(path) {
        return Some(value);
    }
    let mut split = path.char_indices().filter(|(_, c)| *c == '.');
    split.find_map(|(at, _)| {
        let (head, rest) = (&path[..at], &path[at + 1..]);
        match object.get(head) {
            Some(Value::Object(inner)) => walk(inner, rest),
            _ => None,
        }
    })
}

fn collect(value: &Value, out: &mut Vec<SourceValue>) {
    match value {
        Value::String(text) => out.extend(SourceValue::plain(text.clone())),
        Value::Number(number) => out.extend(SourceValue::plain(number.to_string())),
        Value::Bool(flag) => out.extend(SourceValue::plain(flag.to_string())),
        Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
        Value::Object(object) => out.extend(from_object(object)),
        Value::Null => {}
    }
}

/// ServiceNow's `{"value", "display_value", "link"}` pairs, or a named
/// object as Jira writes them (`{"name": …}`, `{"value": …}` of a select
/// custom field, `{"key": …}`).
fn from_object(object: &Map<String, Value>) -> Option<SourceValue> {
    let text = |key: &str| match object.get(key) {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    };
    if object.contains_key("display_value") || object.contains_key("link") {
        let value = text("value");
        let display = text("display_value");
        if value.is_none() && display.is_none() {
            return None;
        }
        let reference_only = display.is_none() && object.contains_key("link");
        return Some(SourceValue {
            value,
            display,
            reference_only,
        });
    }
    ["name", "value", "displayName", "key"]
        .into_iter()
        .find_map(text)
        .and_then(SourceValue::plain)
}

/// A CSV row with its header, as a record: values are what people see
/// (an export holds display values).
#[derive(Clone, Copy, Debug)]
pub struct CsvRecord<'a> {
    pub header: &'a [String],
    pub row: &'a [String],
}

impl Record for CsvRecord<'_> {
    fn values(&self, path: &str) -> Vec<SourceValue> {
        self.header
            .iter()
            .position(|name| name == path)
            .and_then(|column| self.row.get(column))
            .and_then(|text| {
                (!text.trim().is_empty()).then(|| SourceValue {
                    value: None,
                    display: Some(text.clone()),
                    reference_only: false,
                })
            })
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn servicenow_value_shapes() {
        let map = record(json!({
            "number": "INC0010001",
            "state": {"display_value": "In Progress", "value": "2"},
            "cmdb_ci": {"display_value": "Epic Orders", "link": "https://x/api/now/table/cmdb_ci/1"},
            "location": {"value": "5671", "link": "https://x/api/now/table/cmn_location/5671"},
            "caller_id.department": "Emergency",
            "resolved_at": "",
            "u_department": null
        }));
        let r = JsonRecord(&map);
        assert_eq!(r.values("number")[0].code(), Some("INC0010001"));
        let state = &r.values("state")[0];
        assert_eq!(
            (state.code(), state.label()),
            (Some("2"), Some("In Progress"))
        );
        assert_eq!(state.candidates().collect::<Vec<_>>(), ["2", "In Progress"]);
        assert_eq!(r.values("cmdb_ci")[0].label(), Some("Epic Orders"));
        assert!(r.values("location")[0].reference_only);
        assert_eq!(
            r.values("caller_id.department")[0].label(),
            Some("Emergency")
        );
        assert!(r.values("resolved_at").is_empty());
        assert!(r.values("u_department").is_empty());
        assert!(r.values("nothing.here").is_empty());
    }

    #[test]
    fn jira_value_shapes_and_nesting() {
        let map = record(json!({
            "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}},
            "priority": {"name": "High", "id": "2"},
            "components": [{"name": "Orders"}, {"name": "MAR"}],
            "labels": ["site-main", "ed"],
            "customfield_10050": {"value": "Emergency", "id": "10101"}
        }));
        let r = JsonRecord(&map);
        assert_eq!(
            r.values("status.statusCategory.key")[0].code(),
            Some("indeterminate")
        );
        assert_eq!(r.values("priority")[0].code(), Some("High"));
        let components: Vec<_> = r
            .values("components")
            .iter()
            .map(|v| v.label().map(String::from))
            .collect();
        assert_eq!(components, [Some("Orders".into()), Some("MAR".into())]);
        assert_eq!(r.values("labels").len(), 2);
        assert_eq!(r.values("customfield_10050")[0].code(), Some("Emergency"));
    }

    #[test]
    fn csv_rows_by_header() {
        let header = vec!["number".to_string(), "priority".to_string()];
        let row = vec!["INC1".to_string(), "2 - High".to_string()];
        let r = CsvRecord {
            header: &header,
            row: &row,
        };
        assert_eq!(r.values("priority")[0].code(), Some("2 - High"));
        assert!(r.values("state").is_empty());
    }
}
