//! ServiceNow records read straight from the request bytes: a record is a
//! flat list of fields whose strings borrow from the body (no copy unless
//! escaped), so parsing and dropping 10,000 records costs a fraction of a
//! `serde_json::Value` tree. Objects other than ServiceNow's
//! `{"value", "display_value", "link"}` pairs (nested data a script sent)
//! and lists are kept as JSON values and read as [`JsonRecord`] reads them.

use crate::error::RecordError;
use crate::source::{JsonRecord, Record, SourceValue};
use serde::Deserializer;
use serde::de::{self, Deserialize, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// One field's value.
#[derive(Debug)]
enum Field<'a> {
    /// No value (null, an empty string).
    Empty,
    /// A plain string or number.
    Text(Cow<'a, str>),
    /// `{"value", "display_value", "link"}`.
    Pair {
        value: Option<Cow<'a, str>>,
        display: Option<Cow<'a, str>>,
        link: bool,
    },
    /// Anything else, read as JSON.
    Json(Value),
}

/// One record: its fields in the order sent.
#[derive(Debug, Default)]
pub struct FlatRecord<'a> {
    fields: Vec<(Cow<'a, str>, Field<'a>)>,
}

impl FlatRecord<'_> {
    fn get(&self, key: &str) -> Option<&Field<'_>> {
        self.fields
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, field)| field)
    }
}

impl Record for FlatRecord<'_> {
    fn values(&self, path: &str) -> Vec<SourceValue> {
        let field = match self.get(path) {
            Some(field) => field,
            None => {
                // A dot-walk into a nested object a script sent.
                return path
                    .split_once('.')
                    .and_then(|(head, rest)| match self.get(head) {
                        Some(Field::Json(Value::Object(inner))) => {
                            Some(JsonRecord(inner).values(rest))
                        }
                        _ => None,
                    })
                    .unwrap_or_default();
            }
        };
        let text = |t: &Option<Cow<'_, str>>| {
            t.as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(str::to_string)
        };
        match field {
            Field::Empty => Vec::new(),
            Field::Text(t) if t.trim().is_empty() => Vec::new(),
            Field::Text(t) => vec![SourceValue {
                value: Some(t.to_string()),
                display: Some(t.to_string()),
                reference_only: false,
            }],
            Field::Pair {
                value,
                display,
                link,
            } => {
                let value = text(value);
                let display = text(display);
                if value.is_none() && display.is_none() {
                    return Vec::new();
                }
                vec![SourceValue {
                    reference_only: display.is_none() && *link,
                    value,
                    display,
                }]
            }
            Field::Json(json) => {
                let mut wrapper = Map::new();
                wrapper.insert(String::new(), json.clone());
                JsonRecord(&wrapper).values("")
            }
        }
    }
}

/// The records of a body: one record, an array, or `{"result": …}` around
/// either (a record that has other fields besides `result` is a record).
/// An array element that is not an object is its own refusal.
pub fn parse_records(
    body: &[u8],
) -> Result<Vec<Result<FlatRecord<'_>, RecordError>>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let records = deserializer.deserialize_any(BodyVisitor)?;
    deserializer.end()?;
    Ok(records)
}

type Records<'a> = Vec<Result<FlatRecord<'a>, RecordError>>;

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Records<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an incident record, an array of them, or {\"result\": …}")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        elements(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut record = FlatRecord::default();
        let mut result: Option<Records<'de>> = None;
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            if key.0 == "result" && result.is_none() {
                result = Some(map.next_value_seed(ResultSeed)?);
            } else {
                let value = map.next_value::<FieldValue<'de>>()?;
                record.fields.push((key.0, value.0));
            }
        }
        Ok(match result {
            Some(records) if record.fields.is_empty() => records,
            _ => vec![Ok(record)],
        })
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(vec![Err(not_a_record("a string"))])
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(vec![Err(not_a_record("a number"))])
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(vec![Err(not_a_record("a number"))])
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(vec![Err(not_a_record("a number"))])
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(vec![Err(not_a_record("a boolean"))])
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(vec![Err(not_a_record("null"))])
    }
}

fn not_a_record(kind: &str) -> RecordError {
    RecordError::malformed(format!("a record must be a JSON object, not {kind}"))
}

fn elements<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Records<'de>, A::Error> {
    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(100_000));
    while let Some(element) = seq.next_element::<Element<'de>>()? {
        out.push(element.0);
    }
    Ok(out)
}

/// `result`: one record or an array.
struct ResultSeed;

impl<'de> DeserializeSeed<'de> for ResultSeed {
    type Value = Records<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        // {"result": {"result": …}} is not a shape the Table API sends;
        // whatever BodyVisitor makes of it stands.
        deserializer.deserialize_any(BodyVisitor)
    }
}

/// An array element: a record, or the refusal of something else.
struct Element<'a>(Result<FlatRecord<'a>, RecordError>);

impl<'de> Deserialize<'de> for Element<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ElementVisitor;
        impl<'de> Visitor<'de> for ElementVisitor {
            type Value = Element<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an incident record")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut record = FlatRecord::default();
                while let Some(key) = map.next_key::<CowStr<'de>>()? {
                    let value = map.next_value::<FieldValue<'de>>()?;
                    record.fields.push((key.0, value.0));
                }
                Ok(Element(Ok(record)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Element(Err(not_a_record("an array"))))
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Element(Err(not_a_record("a string"))))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Element(Err(not_a_record("a number"))))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Element(Err(not_a_record("a number"))))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Element(Err(not_a_record("a number"))))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Element(Err(not_a_record("a boolean"))))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Element(Err(not_a_record("null"))))
            }
        }
        deserializer.deserialize_any(ElementVisitor)
    }
}

/// A string that borrows from the body when it can.
struct CowStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = CowStr<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// A field's value (see [`Field`]).
struct FieldValue<'a>(Field<'a>);

impl<'de> Deserialize<'de> for FieldValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor).map(FieldValue)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(text(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(text(Cow::Owned(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(v.to_string())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(v.to_string())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Field::Json(Value::from(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(v.to_string())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Empty)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Empty)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Field::Json(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut value = None;
        let mut display = None;
        let mut link = false;
        let mut other: Option<Map<String, Value>> = None;
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            let item = map.next_value::<FieldValue<'de>>()?.0;
            let string = match &item {
                Field::Text(t) => Some(t.clone()),
                Field::Empty => Some(Cow::Borrowed("")),
                _ => None,
            };
            match (key.0.as_ref(), string) {
                ("value", Some(s)) if other.is_none() => value = Some(s),
                ("display_value", Some(s)) if other.is_none() => display = Some(s),
                ("link", Some(_)) if other.is_none() => link = true,
                _ => {
                    let map = other.get_or_insert_with(Map::new);
                    map.insert(key.0.into_owned(), into_json(item));
                }
            }
        }
        match other {
            None if value.is_some() || display.is_some() || link => Ok(Field::Pair {
                value,
                display,
                link,
            }),
            None => Ok(Field::Json(Value::Object(Map::new()))),
            Some(mut map) => {
                // Not a pair after all: keep everything as JSON.
                for (key, v) in [("value", value), ("display_value", display)] {
                    if let Some(v) = v {
                        map.insert(key.into(), Value::String(v.into_owned()));
                    }
                }
                Ok(Field::Json(Value::Object(map)))
            }
        }
    }
}

fn text(v: Cow<'_, str>) -> Field<'_> {
    if v.is_empty() {
        Field::Empty
    } else {
        Field::Text(v)
    }
}

fn into_json(field: Field<'_>) -> Value {
    match field {
        Field::Empty => Value::String(String::new()),
        Field::Text(t) => Value::String(t.into_owned()),
        Field::Pair {
            value,
            display,
            link,
        } => {
            let mut map = Map::new();
            if let Some(v) = value {
                map.insert("value".into(), Value::String(v.into_owned()));
            }
            if let Some(d) = display {
                map.insert("display_value".into(), Value::String(d.into_owned()));
            }
            if link {
                map.insert("link".into(), Value::String(String::new()));
            }
            Value::Object(map)
        }
        Field::Json(value) => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::JsonRecord;
    use serde_json::json;

    /// The flat reading gives every field exactly what the JSON value
    /// reading gives.
    #[test]
    fn reads_like_json_values() {
        let record = json!({
            "number": "INC1", "state": {"value": "2", "display_value": "In Progress"},
            "location": {"value": "5671", "link": "https://x/cmn_location/5671"},
            "cmdb_ci": {"display_value": "Epic \"Orders\"", "link": "https://x/y", "value": "b0c"},
            "resolved_at": "", "u_department": null, "priority": 3,
            "caller_id": {"department": {"display_value": "ICU", "value": "d1"}},
            "labels": ["a", "b"], "empty_pair": {"value": "", "display_value": ""}
        });
        let text = record.to_string();
        let flat = parse_records(text.as_bytes()).unwrap().remove(0).unwrap();
        let map = record.as_object().unwrap();
        for path in [
            "number",
            "state",
            "location",
            "cmdb_ci",
            "resolved_at",
            "u_department",
            "priority",
            "caller_id.department",
            "labels",
            "empty_pair",
            "absent",
        ] {
            assert_eq!(flat.values(path), JsonRecord(map).values(path), "{path}");
        }
    }

    #[test]
    fn body_shapes() {
        let count = |text: &str| parse_records(text.as_bytes()).map(|r| r.len());
        assert_eq!(count(r#"{"result": [{"a": "1"}, {"b": "2"}]}"#).unwrap(), 2);
        assert_eq!(count(r#"{"result": {"a": "1"}}"#).unwrap(), 1);
        assert_eq!(count(r#"[{"a": "1"}, 7, "x", [1], null]"#).unwrap(), 5);
        let mixed = parse_records(br#"[{"a": "1"}, 7]"#).unwrap();
        assert!(mixed[0].is_ok() && mixed[1].is_err());
        assert_eq!(count(r#"{"number": "INC1"}"#).unwrap(), 1);
        assert!(count(r#"{"result": ["#).is_err());
        assert!(count(r#"{"a": 1} x"#).is_err());
        assert!(parse_records(b"7").unwrap()[0].is_err());
    }
}
