//! YAML documents straight to compact JSON text, without building a tree: the snapshot keeps
//! objects as JSON text anyway, so YAML takes the same path as JSON after this. On the way,
//! `metadata.managedFields` (only its newest time is kept, for telling duplicates apart) and
//! kubectl's last-applied annotation are dropped, and a key repeated in one mapping is an
//! error (YAML parsers silently keep the last one: `kind: Pod` then `kind: Secret` would
//! make a Secret).

use std::collections::HashSet;
use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

mod load;
pub use load::load;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Where a node sits, as far as dropping fields needs to know.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// An object: a document's root, a bare sequence's element, a list's item.
    Root,
    Metadata,
    Annotations,
    /// A list's `items`.
    Items,
    Other,
}

/// One document converted.
#[derive(Debug, Default)]
pub struct Converted {
    /// Compact JSON; empty for an empty document.
    pub json: String,
    /// The newest `managedFields` time of each object (`Root` mapping), in the order the
    /// objects end: a list's items first, then the list.
    pub times: Vec<Option<String>>,
}

#[derive(Default)]
struct State {
    out: String,
    times: Vec<Option<String>>,
    /// The managed time of the object being written.
    pending: Option<String>,
    /// Filled as an error travels up: the path of the failing node, innermost first.
    err_path: Vec<String>,
}

/// Convert one serde_yaml document. On error, the returned path (dotted, `items[3].metadata`)
/// says where, as far as the error did not say it itself.
pub fn convert<'de, D>(doc: D) -> Result<Converted, (D::Error, String)>
where
    D: Deserializer<'de>,
{
    let mut st = State::default();
    match (Emit {
        st: &mut st,
        ctx: Ctx::Root,
    })
    .deserialize(doc)
    {
        Ok(()) => Ok(Converted {
            json: st.out,
            times: st.times,
        }),
        Err(e) => {
            let mut path = String::new();
            for part in st.err_path.iter().rev() {
                if !part.starts_with('[') && !path.is_empty() {
                    path.push('.');
                }
                path.push_str(part);
            }
            Err((e, path))
        }
    }
}

struct Emit<'s> {
    st: &'s mut State,
    ctx: Ctx,
}

impl<'de> DeserializeSeed<'de> for Emit<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// JSON string escaping, with a fast path for the usual string that needs none.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A mapping key as text: YAML allows scalars of any type as keys; JSON keys are strings.
struct Key(String);

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key, E> {
                Ok(Key(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key("null".into()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(serde::Deserialize)]
struct ManagedEntry {
    #[serde(default)]
    time: Option<String>,
}

/// Keys seen in one mapping: a short list scanned, switching to a set for large mappings so
/// a mapping of n keys costs O(n).
#[derive(Default)]
struct Seen {
    few: Vec<String>,
    many: Option<HashSet<String>>,
}

impl Seen {
    /// False when `key` was already there.
    fn insert(&mut self, key: &str) -> bool {
        if let Some(set) = &mut self.many {
            return set.insert(key.to_string());
        }
        if self.few.iter().any(|k| k == key) {
            return false;
        }
        self.few.push(key.to_string());
        if self.few.len() > 16 {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

impl<'de> Visitor<'de> for Emit<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("YAML that JSON can hold")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.st.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        let _ = write!(self.st.out, "{v}");
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        let _ = write!(self.st.out, "{v}");
        Ok(())
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<(), E> {
        let _ = write!(self.st.out, "{v}");
        Ok(())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<(), E> {
        let _ = write!(self.st.out, "{v}");
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        // As serde_json does: NaN and infinities have no JSON form.
        match serde_json::Number::from_f64(v) {
            Some(n) => {
                let _ = write!(self.st.out, "{n}");
            }
            None => self.st.out.push_str("null"),
        }
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        push_json_str(&mut self.st.out, v);
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.st.out.push_str("null");
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let child = match self.ctx {
            Ctx::Root | Ctx::Items => Ctx::Root,
            _ => Ctx::Other,
        };
        self.st.out.push('[');
        let mut i = 0usize;
        loop {
            if i > 0 {
                self.st.out.push(',');
            }
            let before = self.st.out.len();
            match seq.next_element_seed(Emit {
                st: self.st,
                ctx: child,
            }) {
                Ok(Some(())) => {}
                Ok(None) => {
                    // Undo the separator written for an element that was not there.
                    self.st.out.truncate(before - usize::from(i > 0));
                    break;
                }
                Err(e) => {
                    self.st.err_path.push(format!("[{i}]"));
                    return Err(e);
                }
            }
            i += 1;
        }
        self.st.out.push(']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let outer_pending = if ctx == Ctx::Root { self.st.pending.take() } else { None };
        self.st.out.push('{');
        let mut seen = Seen::default();
        let mut first = true;
        while let Some(Key(key)) = map.next_key()? {
            if !seen.insert(&key) {
                let e = de::Error::custom(format!("duplicate key `{key}` in one mapping"));
                self.st.err_path.push(key);
                return Err(e);
            }
            match (ctx, key.as_str()) {
                (Ctx::Metadata, "managedFields") => {
                    let entries: Option<Vec<ManagedEntry>> = map.next_value().inspect_err(|_| {
                        self.st.err_path.push(key.clone());
                    })?;
                    self.st.pending = entries.unwrap_or_default().into_iter().filter_map(|m| m.time).max();
                    continue;
                }
                (Ctx::Annotations, LAST_APPLIED) => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                _ => {}
            }
            if !first {
                self.st.out.push(',');
            }
            first = false;
            push_json_str(&mut self.st.out, &key);
            self.st.out.push(':');
            let child = match (ctx, key.as_str()) {
                (Ctx::Root, "metadata") => Ctx::Metadata,
                (Ctx::Root, "items") => Ctx::Items,
                (Ctx::Metadata, "annotations") => Ctx::Annotations,
                _ => Ctx::Other,
            };
            if let Err(e) = map.next_value_seed(Emit {
                st: self.st,
                ctx: child,
            }) {
                self.st.err_path.push(key);
                return Err(e);
            }
        }
        self.st.out.push('}');
        if ctx == Ctx::Root {
            let mine = std::mem::replace(&mut self.st.pending, outer_pending);
            self.st.times.push(mine);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(yaml: &str) -> String {
        let doc = serde_yaml::Deserializer::from_str(yaml).next().unwrap();
        convert(doc).map_err(|(e, p)| format!("{p}: {e}")).unwrap().json
    }

    #[test]
    fn scalars_and_nesting_as_serde_json_reads_them() {
        let y = "a: 1\nb: -2\nc: 1.5\nd: true\ne: ~\nf: \"x\\\"y\"\ng: [1, {h: i}]\n'1': 2\n3: x\nn: .nan\n";
        let direct: serde_json::Value = serde_yaml::from_str(y).unwrap();
        let via: serde_json::Value = serde_json::from_str(&json(y)).unwrap();
        assert_eq!(via, direct);
        assert_eq!(json("s: \"tab\\there\\u0001\"\n"), r#"{"s":"tab\there\u0001"}"#);
        assert_eq!(json("[]"), "[]");
        assert_eq!(json("{}"), "{}");
    }

    #[test]
    fn managed_fields_and_last_applied_are_dropped_and_the_newest_time_kept() {
        let y = "kind: Pod\nmetadata:\n  name: p\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"secret\": 1}'\n    keep: x\n  managedFields:\n  - time: \"2024-01-01T00:00:00Z\"\n  - time: \"2025-01-01T00:00:00Z\"\n    fieldsV1: {}\n";
        let doc = serde_yaml::Deserializer::from_str(y).next().unwrap();
        let c = convert(doc).map_err(|_| ()).unwrap();
        assert_eq!(
            c.json,
            r#"{"kind":"Pod","metadata":{"name":"p","annotations":{"keep":"x"}}}"#
        );
        assert_eq!(c.times, vec![Some("2025-01-01T00:00:00Z".to_string())]);
    }

    #[test]
    fn duplicate_keys_are_errors_with_their_path() {
        let doc = serde_yaml::Deserializer::from_str("kind: Pod\nmetadata:\n  name: a\n  name: b\n")
            .next()
            .unwrap();
        let (e, path) = convert(doc).unwrap_err();
        assert!(e.to_string().contains("duplicate key `name`"), "{e}");
        assert_eq!(path, "metadata.name");
        // A mapping of many keys is checked in linear time, and still finds the repeat.
        let mut big: String = (0..5000).map(|i| format!("k{i}: {i}\n")).collect();
        big.push_str("k17: again\n");
        let doc = serde_yaml::Deserializer::from_str(&big).next().unwrap();
        assert_eq!(convert(doc).unwrap_err().1, "k17");
    }
}
