//! Reading a file of YAML documents into the sink: the fast reader for the usual layout, the
//! general converter for the rest, a large list cut into runs of items parsed on several
//! cores, and positions for the diagnostics.

use serde_json::value::RawValue;

use super::super::json::{item_loc, load_value};
use super::super::sink::{Sink, list_item_defaults};
use super::convert;
use crate::diag::{Code, Diagnostic, Location};
use crate::load::PositionIndex;

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
        let c = match super::super::fast::convert_snapshot(piece.0) {
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
        out.seal();
        Some(out)
    };
    let results = super::super::pool::map(&split.pieces, threads, parse);
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
    if let Some(c) = super::super::fast::convert_snapshot(text) {
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
