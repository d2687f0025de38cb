//! JSON snapshot text: one value, or several concatenated (`kubectl get -o json --watch`),
//! each an object, a list (`items`) or an array of objects. Items are borrowed as raw text
//! and read into typed views or kept as text, never expanded into a `Value` tree (a `Value`
//! costs about ten times its text).

use serde_json::value::RawValue;

use super::doc::Doc;
use super::sink::{Sink, list_item_defaults};
use crate::diag::{Code, Diagnostic, Location};

/// Lists at least this long are read on several cores.
const PARALLEL_MIN: usize = 4096;
/// ... when there are more than two: on two logical CPUs (most often one core's two hardware
/// threads) one thread reads a JSON list faster than two, measured (`docs/performance.md`).
/// Reading an item is quick next to the cost of a second thread on a sibling CPU.
const PARALLEL_THREADS_MIN: usize = 3;

/// The top of a JSON value as the loader reads it (`Doc::List`), to find an item again for a
/// diagnostic's position: the header is read only to fail as the loader does.
#[derive(serde::Deserialize)]
struct JsonTop<'a> {
    #[serde(rename = "kind")]
    _kind: Option<String>,
    #[serde(rename = "apiVersion")]
    _api_version: Option<String>,
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

/// The error of the first value of `text` that is not valid JSON, as a diagnostic.
fn invalid_json(text: &str, loc: &Location) -> Option<Diagnostic> {
    let stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    for v in stream {
        if let Err(e) = v {
            return Some(
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
        }
    }
    None
}

/// Read all JSON values of `text` into `sink`.
pub fn load(text: &str, loc: &Location, sink: &mut Sink, threads: usize) {
    // One pass splits the stream into values and each value into its items.
    let mut docs: Vec<(&str, Doc)> = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Doc>();
    let mut end = 0;
    loop {
        match stream.next() {
            None => break,
            Some(Ok(doc)) => {
                let start = end + (text[end..].len() - text[end..].trim_start_matches(JSON_WS).len());
                end = stream.byte_offset();
                docs.push((&text[start..end], doc));
            }
            Some(Err(_)) => {
                // The error as a plain split of the stream names it (a `Doc` reads the same
                // JSON, but its own messages are not the ones users have been shown).
                if let Some(d) = invalid_json(text, loc) {
                    sink.diags.push(d);
                    return;
                }
                // Valid JSON a `Doc` refuses (a top-level number too large for a float): each
                // value is split off raw and read alone, the one that fails as one item.
                docs = serde_json::Deserializer::from_str(text)
                    .into_iter::<&RawValue>()
                    .map_while(Result::ok)
                    .map(|raw| (raw.get(), serde_json::from_str::<Doc>(raw.get()).unwrap_or(Doc::Single)))
                    .collect();
                break;
            }
        }
    }
    let several = docs.len() > 1;
    let mut spans = Vec::new();
    for (n, (raw, doc)) in docs.into_iter().enumerate() {
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
        load_doc(raw, doc, &doc_loc, &prefix, sink, &[], threads);
        spans.push((before, sink.diags.len(), raw));
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

/// JSON's whitespace.
const JSON_WS: &[char] = &[' ', '\t', '\n', '\r'];

/// One JSON value's text (nothing is read if it is not valid JSON); `times` are the managedFields times a YAML reader took
/// out (see `yaml::Converted::times`), matched to items when there is one per item (plus the
/// list's).
pub fn load_value(
    text: &str,
    loc: &Location,
    prefix: &str,
    sink: &mut Sink,
    times: &[Option<String>],
    threads: usize,
) -> Result<(), serde_json::Error> {
    let doc = match serde_json::from_str::<Doc>(text) {
        Ok(doc) => doc,
        // Valid JSON a `Doc` refuses (see `load`) is one item.
        Err(_) => serde_json::from_str::<&RawValue>(text).map(|_| Doc::Single)?,
    };
    load_doc(text.trim_matches(JSON_WS), doc, loc, prefix, sink, times, threads);
    Ok(())
}

fn load_doc(
    text: &str,
    doc: Doc,
    loc: &Location,
    prefix: &str,
    sink: &mut Sink,
    times: &[Option<String>],
    threads: usize,
) {
    let time = |i: usize, n: usize| -> Option<String> {
        if times.len() == n || times.len() == n + 1 {
            times.get(i).cloned().flatten()
        } else {
            None
        }
    };
    match doc {
        Doc::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let at = || Location {
                    path: Some(format!("{prefix}[{i}]")),
                    ..loc.clone()
                };
                sink.take_raw(item.get(), &at, None, time(i, items.len()));
            }
        }
        Doc::List {
            items,
            kind,
            api_version,
        } => {
            let defaults = list_item_defaults(kind.as_deref(), api_version.as_deref());
            let n = items.len();
            // A large list is read on several cores, in runs of items merged in order.
            let per = if threads >= PARALLEL_THREADS_MIN && n >= PARALLEL_MIN {
                n.div_ceil(threads * 4)
            } else {
                n.max(1)
            };
            let runs: Vec<(usize, &[&RawValue])> = items.chunks(per).enumerate().map(|(k, c)| (k * per, c)).collect();
            let parts = super::pool::map(&runs, threads, |(start, run)| {
                let mut part = Sink::default();
                for (j, item) in run.iter().enumerate() {
                    let i = start + j;
                    part.take_raw(item.get(), &|| item_loc(loc, prefix, i), defaults.as_ref(), time(i, n));
                }
                part.seal();
                part
            });
            for part in parts {
                sink.append(part);
            }
        }
        // Not a list (or a list whose header is odd): the item reader names any problem.
        Doc::Single => sink.take_raw(text, &|| loc.clone(), None, times.last().cloned().flatten()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Valid JSON that a `Doc` cannot read (a number beyond a float, alone at the top) is read
    /// as the item reader reads it, with its error, beside the other values of the stream.
    #[test]
    fn a_value_beyond_a_float_is_an_item_error() {
        let text = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}\n1e400\n";
        let loc = Location {
            file: "s.json".into(),
            ..Location::default()
        };
        let mut sink = Sink::default();
        load(text, &loc, &mut sink, 1);
        assert_eq!(sink.objects.len(), 1);
        let d: Vec<_> = sink.diags.iter().collect();
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("out of range"), "{}", d[0].message);
        assert_eq!(d[0].location.path.as_deref(), Some("document 2"));
    }

    /// A long list read on several threads gives what one thread gives: the same objects in
    /// the same order, the same diagnostics at the same items.
    #[test]
    fn a_long_list_reads_the_same_on_any_number_of_threads() {
        let mut items: Vec<String> = (0..PARALLEL_MIN + 500)
            .map(|i| {
                format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"c{i}","namespace":"n"}}}}"#)
            })
            .collect();
        items[4321] =
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n"},"spec":{"containers":5}}"#
                .into();
        let text = format!(r#"{{"kind":"List","apiVersion":"v1","items":[{}]}}"#, items.join(",\n"));
        let loc = Location {
            file: "l.json".into(),
            ..Location::default()
        };
        let read = |threads: usize| {
            let mut sink = Sink::default();
            load(&text, &loc, &mut sink, threads);
            sink
        };
        let (one, four) = (read(1), read(PARALLEL_THREADS_MIN + 1));
        assert_eq!(one.objects.len(), PARALLEL_MIN + 499);
        let raws = |s: &Sink| s.objects.iter().map(|o| o.raw().to_string()).collect::<Vec<_>>();
        assert_eq!(raws(&one), raws(&four));
        let diags = |s: &Sink| {
            s.diags
                .iter()
                .map(|d| format!("{} {:?}", d.message, d.location))
                .collect::<Vec<_>>()
        };
        assert_eq!(diags(&one), diags(&four));
        assert_eq!(one.diags.len(), 1);
        assert_eq!(
            one.diags.iter().next().unwrap().location.path.as_deref(),
            Some("items[4321].spec.containers")
        );
        assert_eq!(one.diags.iter().next().unwrap().location.line, Some(4322));
    }
}
