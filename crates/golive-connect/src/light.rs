//! A JSON value read straight from the request bytes: strings (keys
//! included) borrow from the body unless escaped, and an object is one
//! list of fields. Building and dropping a `serde_json::Value` tree (a
//! map node and a string for every key) costs more than everything else a
//! connector does with a record; this costs a fraction.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// One JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Light<'a> {
    Null,
    Bool(bool),
    Number(f64),
    Text(Cow<'a, str>),
    List(Vec<Light<'a>>),
    Object(Vec<(Cow<'a, str>, Light<'a>)>),
}

impl<'a> Light<'a> {
    /// The fields of an object.
    pub fn fields(&self) -> Option<&[(Cow<'a, str>, Light<'a>)]> {
        match self {
            Light::Object(fields) => Some(fields),
            _ => None,
        }
    }

    /// The value as an error message may echo it.
    pub fn echo(&self) -> String {
        match self {
            Light::Null => "null".into(),
            Light::Bool(flag) => flag.to_string(),
            Light::Number(number) => number.to_string(),
            Light::Text(text) => text.to_string(),
            Light::List(_) => "[…]".into(),
            Light::Object(_) => "{…}".into(),
        }
    }
}

/// A string that borrows from the input when it can.
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

impl<'de> Deserialize<'de> for Light<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LightVisitor)
    }
}

struct LightVisitor;

impl<'de> Visitor<'de> for LightVisitor {
    type Value = Light<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Light<'de>, E> {
        Ok(Light::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Light<'de>, E> {
        Ok(Light::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Light<'de>, D::Error> {
        Light::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Light<'de>, E> {
        Ok(Light::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Light<'de>, E> {
        Ok(Light::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Light<'de>, E> {
        Ok(Light::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Light<'de>, E> {
        Ok(Light::Number(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Light<'de>, E> {
        Ok(Light::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Light<'de>, E> {
        Ok(Light::Text(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Light<'de>, E> {
        Ok(Light::Text(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Light<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<Light<'de>>()? {
            items.push(item);
        }
        Ok(Light::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Light<'de>, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            fields.push((key, map.next_value::<Light<'de>>()?));
        }
        Ok(Light::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_what_it_can_and_reads_every_shape() {
        let text = r#"{"a": "x", "b\u0041": "y\n", "n": 12.5, "l": [null, true], "o": {}}"#;
        let light: Light<'_> = serde_json::from_str(text).unwrap();
        let fields = light.fields().unwrap();
        assert!(matches!(
            &fields[0],
            (Cow::Borrowed("a"), Light::Text(Cow::Borrowed("x")))
        ));
        assert_eq!(fields[1].0, "bA");
        assert_eq!(fields[1].1, Light::Text(Cow::Owned("y\n".into())));
        assert_eq!(fields[2].1, Light::Number(12.5));
        assert_eq!(
            fields[3].1,
            Light::List(vec![Light::Null, Light::Bool(true)])
        );
        assert_eq!(fields[4].1, Light::Object(Vec::new()));
    }
}
