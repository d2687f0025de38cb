//! The top of a JSON value read in the same pass that splits a stream into values: a list's
//! header and its items, borrowed as raw text (a second pass over the whole text used to do
//! this, and the file is mostly items).

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// One top-level value, as the loader reads it.
pub enum Doc<'a> {
    /// A bare array: its elements.
    Array(Vec<&'a RawValue>),
    /// An object with `items`: what `JsonTop` (kind, apiVersion, items) would read.
    List {
        kind: Option<String>,
        api_version: Option<String>,
        items: Vec<&'a RawValue>,
    },
    /// Anything else (an object, or a list whose header is odd): read as one item.
    Single,
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Doc<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DocVisitor)
    }
}

struct DocVisitor;

/// A scalar is one item (the item reader names the problem).
macro_rules! single {
    ($($f:ident: $t:ty),*) => {$(
        fn $f<E: de::Error>(self, _: $t) -> Result<Self::Value, E> {
            Ok(Doc::Single)
        }
    )*};
}

impl<'de> Visitor<'de> for DocVisitor {
    type Value = Doc<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    single!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Doc::Single)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            items.push(item);
        }
        Ok(Doc::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // As `#[derive(Deserialize)]` on (kind, apiVersion, items) reads it: a repeated field,
        // a field of another type, or `items` that is not an array (or null) fails, and the
        // value is then read as one item.
        let (mut kind, mut api) = (None, None);
        let mut items: Option<Option<Vec<&'de RawValue>>> = None;
        let mut ok = true;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "kind" | "apiVersion" => {
                    let raw = map.next_value::<&'de RawValue>()?;
                    let slot = if key == "kind" { &mut kind } else { &mut api };
                    match serde_json::from_str::<Option<String>>(raw.get()) {
                        Ok(v) if slot.is_none() => *slot = Some(v),
                        _ => ok = false,
                    }
                }
                "items" => {
                    let v = map.next_value::<Items<'de>>()?;
                    match v {
                        Items::List(v) if items.is_none() => items = Some(Some(v)),
                        Items::Null if items.is_none() => items = Some(None),
                        _ => ok = false,
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match (ok, items) {
            (true, Some(Some(items))) => Doc::List {
                kind: kind.flatten(),
                api_version: api.flatten(),
                items,
            },
            _ => Doc::Single,
        })
    }
}

/// The value of `items`.
enum Items<'a> {
    List(Vec<&'a RawValue>),
    Null,
    Other,
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Items<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Items<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Items::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Items::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Items::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Items::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Items::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Items::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Items::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<&'de RawValue>()? {
                    items.push(item);
                }
                Ok(Items::List(items))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::Doc;

    fn read(text: &str) -> Doc<'_> {
        serde_json::from_str(text).unwrap()
    }

    /// A list is what a derived (kind, apiVersion, items) struct reads; any header it would
    /// refuse makes the value one item, as before.
    #[test]
    fn lists_and_odd_headers() {
        match read(r#"{"kind":"PodList","items":[{"a":1}, {"b":[2]}],"apiVersion":"v1","x":{}}"#) {
            Doc::List {
                kind,
                api_version,
                items,
            } => {
                assert_eq!(kind.as_deref(), Some("PodList"));
                assert_eq!(api_version.as_deref(), Some("v1"));
                let items: Vec<&str> = items.iter().map(|r| r.get()).collect();
                assert_eq!(items, [r#"{"a":1}"#, r#"{"b":[2]}"#]);
            }
            _ => panic!("a list"),
        }
        match read(r#"{"k\u0069nd":null,"items":[]}"#) {
            Doc::List { kind, items, .. } => assert!(kind.is_none() && items.is_empty()),
            _ => panic!("a list"),
        }
        for single in [
            r#"{"kind":"List","kind":"List","items":[]}"#,
            r#"{"kind":5,"items":[]}"#,
            r#"{"items":null}"#,
            r#"{"items":{"a":[1]}}"#,
            r#"{"items":[],"items":[]}"#,
            r#"{"kind":"Pod"}"#,
            r#""text""#,
            "12",
        ] {
            assert!(matches!(read(single), Doc::Single), "{single}");
        }
        assert!(matches!(read("[{}, 1]"), Doc::Array(a) if a.len() == 2));
    }
}
