//! YAML documents straight to compact JSON text, without building a tree: the snapshot keeps
//! objects as JSON text anyway, so YAML takes the same path as JSON after this. On the way,
//! `metadata.managedFields` (only its newest time is kept, for telling duplicates apart) and
//! kubectl's last-applied annotation are dropped, and a key repeated in one mapping is an
//! error (YAML parsers silently keep the last one: `kind: Pod` then `kind: Secret` would
//! make a Secret).

use std::collections::HashSet;
use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::json::{item_loc, load_value};
use super::sink::{Sink, list_item_defaults};
use crate::diag::{Code, Diagnostic, Location};
use crate::load::PositionIndex;

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

/// A large single-document `kubectl get -o yaml` list, cut into runs of whole items so they
/// can be parsed on several cores: `kubectl` writes `items:` at column 0 and each item as a
/// `- ` line at column 0; nothing inside an item can start a line at column 0. Anything else
/// (several documents, other layouts) is not split. The caller parses the pieces and falls
/// back to the whole text if any piece fails, so a wrong guess costs time, never correctness.
pub struct Split<'t> {
    /// The list without its items (`items: []`), for its `kind` and `apiVersion`.
    pub header: String,
    /// Runs of items, each a YAML sequence, with the line its first item starts on (0-based)
    /// and the index of that item in the list.
    pub pieces: Vec<(&'t str, usize, usize)>,
}

pub fn split_items(text: &str, pieces: usize) -> Option<Split<'_>> {
    let mut offset = 0;
    let mut items_at = None;
    let mut starts: Vec<(usize, usize)> = Vec::new(); // (byte offset, line)
    let mut end = text.len();
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let here = offset;
        offset += line.len();
        let first = line.as_bytes().first().copied();
        if items_at.is_none() {
            if line.trim_end() == "items:" {
                items_at = Some((here, offset));
            } else if line.starts_with("---") && line_no > 0 || line.starts_with("...") || line.starts_with('%') {
                return None;
            }
            continue;
        }
        match first {
            Some(b'-') if line.starts_with("- ") || line.trim_end() == "-" => starts.push((here, line_no)),
            Some(b'-' | b'.') if line.starts_with("---") || line.starts_with("...") => return None,
            Some(b' ' | b'#' | b'\n' | b'\r') | None => {}
            Some(_) => {
                end = here;
                // The rest must be the list's other top-level keys: another `items:` or a
                // second document would need the real parser.
                let rest = &text[here..];
                if rest
                    .lines()
                    .any(|l| l.starts_with("- ") || l.starts_with("---") || l.trim_end() == "items:")
                {
                    return None;
                }
                break;
            }
        }
    }
    let (items_line, items_body) = items_at?;
    if starts.is_empty() || starts[0].0 != items_body {
        return None;
    }
    let header = format!("{}items: []\n{}", &text[..items_line], &text[end..]);
    let per = starts.len().div_ceil(pieces.max(1));
    let mut out = Vec::new();
    for (k, chunk) in starts.chunks(per).enumerate() {
        let from = chunk[0].0;
        let to = starts.get((k + 1) * per).map_or(end, |s| s.0);
        out.push((&text[from..to], chunk[0].1, k * per));
    }
    Some(Split { header, pieces: out })
}

/// Files at least this large are split by item and parsed on several cores.
const SPLIT_MIN: usize = 4 << 20;

/// Read all YAML documents of `text` into `sink`, on up to `threads` cores for a large list.
pub fn load(text: &str, loc: &Location, sink: &mut Sink, threads: usize) {
    let before = sink.diags.len();
    let split = (threads > 1 && text.len() >= SPLIT_MIN)
        .then(|| split_items(text, threads * 8))
        .flatten();
    let done = split.is_some_and(|s| load_split(&s, loc, sink, threads));
    if !done {
        load_sequential(text, loc, sink);
    }
    fill_positions(text, sink, before);
}

/// The pieces of a split list, parsed in parallel and taken in order; false (and nothing
/// taken) when any piece does not parse alone: the whole text is then read as usual.
fn load_split(split: &Split<'_>, loc: &Location, sink: &mut Sink, threads: usize) -> bool {
    let Some(Ok(head)) = serde_yaml::Deserializer::from_str(&split.header).next().map(convert) else {
        return false;
    };
    #[derive(serde::Deserialize)]
    struct Head {
        kind: Option<String>,
        #[serde(rename = "apiVersion")]
        api_version: Option<String>,
    }
    let Ok(head) = serde_json::from_str::<Head>(&head.json) else {
        return false;
    };
    let defaults = list_item_defaults(head.kind.as_deref(), head.api_version.as_deref());
    let parse = |piece: &(&str, usize, usize)| -> Option<Sink> {
        let c = match super::fast::convert_snapshot(piece.0) {
            Some(c) => c,
            None => {
                let mut docs = serde_yaml::Deserializer::from_str(piece.0);
                let c = convert(docs.next()?).ok()?;
                if docs.next().is_some() {
                    return None;
                }
                c
            }
        };
        let items: Vec<&RawValue> = serde_json::from_str(&c.json).ok()?;
        let mut out = Sink::default();
        for (i, item) in items.iter().enumerate() {
            let time = if c.times.len() == items.len() {
                c.times[i].clone()
            } else {
                None
            };
            out.take_raw(item.get(), &|| item_loc(loc, "", piece.2 + i), defaults.as_ref(), time);
        }
        Some(out)
    };
    let results = super::pool::map(&split.pieces, threads, parse);
    if results.iter().any(Option::is_none) {
        return false;
    }
    for r in results.into_iter().flatten() {
        sink.append(r);
    }
    true
}

fn load_sequential(text: &str, loc: &Location, sink: &mut Sink) {
    // The usual layout, one document: the fast reader (it gives up on anything else).
    if let Some(c) = super::fast::convert_snapshot(text) {
        // Text the reader wrote is JSON; were it not, nothing would be read, as before.
        let _ = load_value(&c.json, loc, "", sink, &c.times, 1);
        return;
    }
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let doc_loc = Location {
            path: (i > 0).then(|| format!("document {}", i + 1)),
            ..loc.clone()
        };
        match convert(doc) {
            Ok(c) if c.json == "null" || c.json.is_empty() => {}
            Ok(c) => {
                let prefix = if i > 0 {
                    format!("document {}.", i + 1)
                } else {
                    String::new()
                };
                if load_value(&c.json, &doc_loc, &prefix, sink, &c.times, 1).is_err() {
                    // Named as a plain parse of the text names it.
                    let e = serde_json::from_str::<&RawValue>(&c.json).err();
                    let e = e.map(|e| e.to_string()).unwrap_or_default();
                    sink.diags.push(Diagnostic::error(
                        Code::InvalidYaml,
                        doc_loc,
                        format!("the document has no JSON form: {e}"),
                    ));
                }
            }
            Err((e, path)) => {
                let msg = crate::load::yaml_message(&e);
                let duplicate = msg.contains("duplicate key `");
                let (line, column) = e
                    .location()
                    .filter(|_| !duplicate)
                    .map(|l| (Some(l.line()), Some(l.column())))
                    .unwrap_or((None, None));
                let mut at = doc_loc.clone();
                at.line = line;
                at.column = column;
                if duplicate {
                    at.path = Some(match &doc_loc.path {
                        Some(p) => format!("{p}.{path}"),
                        None => path.clone(),
                    });
                    let index = PositionIndex::build(text);
                    if let Some((_, (l, c))) = index.duplicates(i).find(|(p, _)| *p == path) {
                        at.line = Some(l);
                        at.column = Some(c);
                    }
                }
                let message = if duplicate {
                    msg.split(" at line ").next().unwrap_or(&msg).to_string()
                } else {
                    format!("invalid YAML: {msg}")
                };
                let help = if duplicate {
                    "a repeated key is ambiguous (YAML parsers keep the last one); keep one"
                } else {
                    "the file must hold objects as `kubectl get -o yaml` writes them"
                };
                sink.diags
                    .push(Diagnostic::error(Code::InvalidYaml, at, message).with_help(help));
                // After an error the rest of the stream cannot be trusted; the file is
                // skipped whole anyway.
                break;
            }
        }
    }
}

/// Lines for diagnostics that name only a path: positions are indexed only when something
/// needs one, since most snapshots have no problems.
fn fill_positions(text: &str, sink: &mut Sink, from: usize) {
    let mut index = None;
    for d in sink.diags.iter_mut().skip(from).filter(|d| d.location.line.is_none()) {
        let path = d.location.path.as_deref().unwrap_or("");
        let (doc, rest) = match path.strip_prefix("document ") {
            Some(after) => {
                let (n, rest) = after.split_once('.').unwrap_or((after, ""));
                match n.parse::<usize>() {
                    Ok(n) if n > 0 => (n - 1, rest),
                    _ => continue,
                }
            }
            None => (0, path),
        };
        let index = index.get_or_insert_with(|| PositionIndex::build(text));
        if let Some((line, column)) = index.find(doc, rest) {
            d.location.line = Some(line);
            d.location.column = Some(column);
        }
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

    #[test]
    fn lists_split_into_runs_of_whole_items() {
        let y = "apiVersion: v1\nitems:\n- kind: Pod\n  metadata:\n    name: a\n- kind: Pod\n  x: |\n    - not an item\n- kind: Pod\nkind: List\nmetadata:\n  resourceVersion: \"\"\n";
        let s = split_items(y, 2).unwrap();
        assert_eq!(
            s.header,
            "apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: \"\"\n"
        );
        assert_eq!(s.pieces.len(), 2);
        assert_eq!(s.pieces[0].1, 2);
        assert_eq!(s.pieces[1], ("- kind: Pod\n", 8, 2));
        assert!(split_items("a: 1\n---\nitems:\n- x\n", 2).is_none());
        assert!(split_items("items:\n  - x\n", 2).is_none());
    }
}
