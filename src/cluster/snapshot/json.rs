//! JSON snapshot text: one value, or several concatenated (`kubectl get -o json --watch`),
//! each an object, a list (`items`) or an array of objects. Items are borrowed as raw text
//! and read into typed views or kept as text, never expanded into a `Value` tree (a `Value`
//! costs about ten times its text).

use serde_json::value::RawValue;

use super::sink::{Sink, list_item_defaults};
use crate::diag::{Code, Diagnostic, Location};

/// The top of a JSON value: a list's header and its items, borrowed from the text.
#[derive(serde::Deserialize)]
struct JsonTop<'a> {
    kind: Option<String>,
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(borrow)]
    items: Option<Vec<&'a RawValue>>,
}

/// Line and column (1-based) of `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Where a diagnostic's path (`items[3].spec.containers`) is in one JSON value starting at
/// byte `base` of `text`: the item is found exactly, its fields by searching for their keys
/// in order. Only runs for diagnostics.
fn json_position(text: &str, base: usize, doc: &str, path: &str) -> Option<(usize, usize)> {
    let mut parts = path.split(['.', '[']).filter(|p| !p.is_empty());
    let doc_ptr = doc.as_ptr() as usize;
    let item = path
        .strip_prefix("items[")
        .or_else(|| path.strip_prefix('['))
        .and_then(|after| after.split(']').next()?.parse::<usize>().ok());
    let (start, end) = match item {
        Some(i) => {
            let items: Vec<&RawValue> = if doc.trim_start().starts_with('[') {
                serde_json::from_str(doc).ok()?
            } else {
                serde_json::from_str::<JsonTop>(doc).ok()?.items?
            };
            let raw = items.get(i)?.get();
            let start = raw.as_ptr() as usize - doc_ptr;
            parts.next();
            (start, start + raw.len())
        }
        None => (doc.len() - doc.trim_start().len(), doc.len()),
    };
    let mut at = start;
    for key in parts {
        if key.ends_with(']') {
            continue;
        }
        let needle = format!("\"{key}\"");
        match doc[at..end].find(&needle) {
            Some(i) => at += i,
            None => break,
        }
    }
    Some(line_col(text, base + at))
}

pub fn item_loc(loc: &Location, prefix: &str, i: usize) -> Location {
    Location {
        path: Some(format!("{prefix}items[{i}]")),
        ..loc.clone()
    }
}

/// Read all JSON values of `text` into `sink`.
pub fn load(text: &str, loc: &Location, sink: &mut Sink) {
    let mut docs = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    loop {
        match stream.next() {
            None => break,
            Some(Ok(raw)) => docs.push(raw),
            Some(Err(e)) => {
                sink.diags.push(
                    Diagnostic::error(
                        Code::InvalidYaml,
                        Location {
                            line: Some(e.line()),
                            column: Some(e.column()),
                            ..loc.clone()
                        },
                        format!("invalid JSON: {e}"),
                    )
                    .with_help("the file must hold JSON objects as `kubectl get -o json` writes them"),
                );
                return;
            }
        }
    }
    let several = docs.len() > 1;
    let mut spans = Vec::new();
    for (n, raw) in docs.iter().enumerate() {
        let prefix = if several {
            format!("document {}.", n + 1)
        } else {
            String::new()
        };
        let doc_loc = Location {
            path: several.then(|| format!("document {}", n + 1)),
            ..loc.clone()
        };
        let before = sink.diags.len();
        load_value(raw, &doc_loc, &prefix, sink, &[]);
        spans.push((before, sink.diags.len(), raw.get()));
    }
    // Positions only for diagnostics that lack one: most snapshots have none.
    let base_ptr = text.as_ptr() as usize;
    for (from, to, doc) in spans {
        for d in sink.diags.iter_mut().skip(from).take(to - from) {
            if d.location.line.is_some() {
                continue;
            }
            let path = d.location.path.clone().unwrap_or_default();
            let rest = match path.strip_prefix("document ") {
                Some(after) => after.split_once('.').map_or("", |(_, r)| r).to_string(),
                None => path,
            };
            if let Some((line, column)) = json_position(text, doc.as_ptr() as usize - base_ptr, doc, &rest) {
                d.location.line = Some(line);
                d.location.column = Some(column);
            }
        }
    }
}

/// One JSON value; `times` are the managedFields times a YAML reader took out (see
/// `yaml::Converted::times`), matched to items when there is one per item (plus the list's).
pub fn load_value(raw: &RawValue, loc: &Location, prefix: &str, sink: &mut Sink, times: &[Option<String>]) {
    let text = raw.get();
    let time = |i: usize, n: usize| -> Option<String> {
        if times.len() == n || times.len() == n + 1 {
            times.get(i).cloned().flatten()
        } else {
            None
        }
    };
    if text.starts_with('[') {
        match serde_json::from_str::<Vec<&RawValue>>(text) {
            Ok(items) => {
                for (i, item) in items.iter().enumerate() {
                    let loc = Location {
                        path: Some(format!("{prefix}[{i}]")),
                        ..loc.clone()
                    };
                    sink.take_raw(item, &loc, None, time(i, items.len()));
                }
            }
            Err(_) => sink.take_raw(raw, loc, None, None),
        }
        return;
    }
    match serde_json::from_str::<JsonTop>(text) {
        Ok(JsonTop {
            items: Some(items),
            kind,
            api_version,
        }) => {
            let defaults = list_item_defaults(kind.as_deref(), api_version.as_deref());
            for (i, item) in items.iter().enumerate() {
                sink.take_raw(item, &item_loc(loc, prefix, i), defaults.as_ref(), time(i, items.len()));
            }
        }
        // Not a list (or a list whose header is odd): the item reader names any problem.
        _ => sink.take_raw(raw, loc, None, times.last().cloned().flatten()),
    }
}
