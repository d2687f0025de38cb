//! A fast reader for the block YAML that `kubectl get -o yaml`, must-gathers and serde_yaml
//! write, straight to compact JSON text: about ten times quicker than a general YAML parser,
//! because it only reads that layout. Anything outside it (flow collections, anchors, tags,
//! folded or multi-line scalars, comments after values, numbers in unusual forms, ...) makes it
//! give up (`None`) and the general parser (`yaml::convert`) reads the document instead, so its
//! output is always what the general parser would give: `tests` check that on real files.

use super::yaml::{Converted, push_json_str};

mod scalar;
use scalar::{double_quoted, key_split, plain_key, plain_scalar, single_quoted};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    Metadata,
    Annotations,
    Items,
    Other,
}

struct Line<'t> {
    indent: usize,
    /// After the indentation, without the line break.
    text: &'t str,
}

struct P<'t> {
    lines: Vec<Line<'t>>,
    i: usize,
    out: String,
    times: Vec<Option<String>>,
    pending: Option<String>,
    /// Write an Event that cannot be about a pull as `{"kind":"Event"}` instead of converting
    /// it (the sink passes it over, as it would the whole event; `convert_snapshot`).
    skip_events: bool,
}

type R<T = ()> = Option<T>;

/// Convert one document (no `---` inside but an optional first line). `None`: not in the
/// layout this reader knows, or a repeated key (the general parser reports it).
#[cfg(test)]
pub fn convert(doc: &str) -> Option<Converted> {
    convert_with(doc, false)
}

/// `convert` for a snapshot: events that cannot be about a pull (nine in ten of a capture) are
/// not converted, only marked, so list positions stay what they are.
pub fn convert_snapshot(doc: &str) -> Option<Converted> {
    convert_with(doc, true)
}

fn convert_with(doc: &str, skip_events: bool) -> Option<Converted> {
    let mut lines = Vec::new();
    for raw in doc.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let text = raw.trim_start_matches(' ');
        if text.starts_with('\t') {
            return None;
        }
        lines.push(Line {
            indent: raw.len() - text.len(),
            text,
        });
    }
    let mut p = P {
        lines,
        i: 0,
        out: String::with_capacity(doc.len()),
        times: Vec::new(),
        pending: None,
        skip_events,
    };
    p.skip_blank();
    if p.i < p.lines.len() && p.lines[p.i].indent == 0 && p.lines[p.i].text == "---" {
        p.i += 1;
        p.skip_blank();
    }
    if p.i >= p.lines.len() {
        return Some(Converted::default());
    }
    let indent = p.lines[p.i].indent;
    p.node(indent, Ctx::Root)?;
    p.skip_blank();
    if p.i < p.lines.len() {
        return None;
    }
    Some(Converted {
        json: p.out,
        times: p.times,
    })
}

fn is_seq_entry(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

impl<'t> P<'t> {
    /// Past blank and comment-only lines (never inside block scalars, which read raw lines).
    fn skip_blank(&mut self) {
        while let Some(l) = self.lines.get(self.i) {
            if l.text.is_empty() || l.text.starts_with('#') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn node(&mut self, indent: usize, ctx: Ctx) -> R {
        let l = &self.lines[self.i];
        if l.indent != indent {
            return None;
        }
        if is_seq_entry(l.text) {
            self.seq(indent, ctx)
        } else {
            self.map(indent, ctx)
        }
    }

    fn seq(&mut self, indent: usize, ctx: Ctx) -> R {
        let child = if matches!(ctx, Ctx::Root | Ctx::Items) {
            Ctx::Root
        } else {
            Ctx::Other
        };
        self.out.push('[');
        let mut first = true;
        loop {
            self.skip_blank();
            let Some(l) = self.lines.get(self.i) else { break };
            if l.indent != indent || !is_seq_entry(l.text) {
                if l.indent > indent {
                    return None;
                }
                break;
            }
            if !first {
                self.out.push(',');
            }
            first = false;
            let rest = if l.text == "-" { "" } else { &l.text[2..] };
            let rest_trim = rest.trim_start_matches(' ');
            if rest_trim.is_empty() {
                // `-` alone: the entry is on the following lines.
                self.i += 1;
                self.skip_blank();
                match self.lines.get(self.i) {
                    Some(n) if n.indent > indent => {
                        let ni = n.indent;
                        self.node(ni, child)?;
                    }
                    _ => self.out.push_str("null"),
                }
                continue;
            }
            let col = indent + 2 + (rest.len() - rest_trim.len());
            if is_seq_entry(rest_trim) {
                return None;
            }
            if key_split(rest_trim).is_some() {
                // `- key: value`: a mapping whose first key sits after the dash.
                self.lines[self.i] = Line {
                    indent: col,
                    text: rest_trim,
                };
                self.map(col, child)?;
            } else {
                self.inline_value(rest_trim, indent, child)?;
                self.i += 1;
                self.no_continuation(indent)?;
            }
        }
        self.out.push(']');
        Some(())
    }

    /// After a one-line value, the next line must not be deeper (that would be a
    /// continuation this reader does not follow).
    fn no_continuation(&mut self, indent: usize) -> R {
        let save = self.i;
        self.skip_blank();
        let deeper = self.lines.get(self.i).is_some_and(|l| l.indent > indent);
        self.i = save;
        (!deeper).then_some(())
    }

    /// Where an object at `indent` (from the current line) ends, when it is an `Event` none of
    /// whose lines holds a word of a pull event's reason (or an escape that could hide one).
    fn unpulled_event_end(&self, indent: usize) -> Option<usize> {
        let mut is_event = false;
        let mut j = self.i;
        while let Some(l) = self.lines.get(j) {
            if !(l.text.is_empty() || l.text.starts_with('#')) {
                if l.indent < indent || (l.indent == indent && is_seq_entry(l.text)) {
                    break;
                }
                if l.text.contains('\\') || crate::cluster::EventRecord::may_be_about_image_pull(l.text) {
                    return None;
                }
                is_event |= l.indent == indent && l.text == "kind: Event";
            }
            j += 1;
        }
        is_event.then_some(j)
    }

    fn map(&mut self, indent: usize, ctx: Ctx) -> R {
        if self.skip_events
            && ctx == Ctx::Root
            && let Some(end) = self.unpulled_event_end(indent)
        {
            self.out.push_str("{\"kind\":\"Event\"}");
            self.times.push(None);
            self.i = end;
            return Some(());
        }
        let outer_pending = if ctx == Ctx::Root { self.pending.take() } else { None };
        self.out.push('{');
        let mut seen: Vec<&'t str> = Vec::new();
        let mut seen_set: Option<std::collections::HashSet<&'t str>> = None;
        let mut first = true;
        loop {
            self.skip_blank();
            let Some(l) = self.lines.get(self.i) else { break };
            if l.indent < indent || (l.indent == indent && is_seq_entry(l.text)) {
                break;
            }
            if l.indent > indent {
                return None;
            }
            let text = l.text;
            let (key_raw, rest) = key_split(text)?;
            let key = plain_key(key_raw)?;
            // Repeated keys are the general parser's to report, with their position.
            let new = match &mut seen_set {
                Some(set) => set.insert(key),
                None => {
                    let new = !seen.contains(&key);
                    seen.push(key);
                    if seen.len() > 16 {
                        seen_set = Some(seen.drain(..).collect());
                    }
                    new
                }
            };
            if !new {
                return None;
            }
            let child = match (ctx, key) {
                (Ctx::Root, "metadata") => Ctx::Metadata,
                (Ctx::Root, "items") => Ctx::Items,
                (Ctx::Metadata, "annotations") => Ctx::Annotations,
                _ => Ctx::Other,
            };
            let skip = matches!(
                (ctx, key),
                (Ctx::Metadata, "managedFields") | (Ctx::Annotations, LAST_APPLIED)
            );
            let mark = self.out.len();
            if !first {
                self.out.push(',');
            }
            push_json_str(&mut self.out, key);
            self.out.push(':');
            let value_at = self.out.len();
            let rest = rest.trim_start_matches(' ');
            if rest.is_empty() {
                self.i += 1;
                self.skip_blank();
                match self.lines.get(self.i) {
                    Some(n) if n.indent > indent || (n.indent == indent && is_seq_entry(n.text)) => {
                        let ni = n.indent;
                        self.node(ni, child)?;
                    }
                    _ => self.out.push_str("null"),
                }
            } else if rest.starts_with('|') {
                self.block_scalar(rest, indent)?;
            } else {
                self.inline_value(rest, indent, child)?;
                self.i += 1;
                self.no_continuation(indent)?;
            }
            if skip {
                if key == "managedFields" {
                    self.pending = managed_time(&self.out[value_at..])?;
                }
                self.out.truncate(mark);
            } else {
                first = false;
            }
        }
        self.out.push('}');
        if ctx == Ctx::Root {
            let mine = std::mem::replace(&mut self.pending, outer_pending);
            self.times.push(mine);
        }
        Some(())
    }

    /// `|` or `|-` and the lines under it, kept as they are.
    fn block_scalar(&mut self, header: &str, indent: usize) -> R {
        let strip = match header {
            "|" => false,
            "|-" => true,
            _ => return None,
        };
        self.i += 1;
        let start = self.i;
        // Content: the following lines deeper than the key, or blank.
        let mut end = start;
        let mut content_indent = None;
        while let Some(l) = self.lines.get(end) {
            if l.text.is_empty() {
                end += 1;
                continue;
            }
            if l.indent <= indent {
                break;
            }
            content_indent.get_or_insert(l.indent);
            end += 1;
        }
        // Trailing blank lines belong to the chomping, not the content.
        let mut last = end;
        while last > start && self.lines[last - 1].text.is_empty() {
            last -= 1;
        }
        let ci = content_indent.unwrap_or(indent + 1);
        let mut s = String::new();
        for l in &self.lines[start..last] {
            if !l.text.is_empty() && l.indent < ci {
                return None;
            }
            if !l.text.is_empty() {
                s.push_str(&" ".repeat(l.indent - ci));
                s.push_str(l.text);
            } else if l.indent > ci {
                s.push_str(&" ".repeat(l.indent - ci));
            }
            s.push('\n');
        }
        if strip {
            while s.ends_with('\n') {
                s.pop();
            }
        }
        push_json_str(&mut self.out, &s);
        self.i = end;
        Some(())
    }

    /// A value on the key's line: `{}`, `[]`, a quoted or a plain scalar.
    fn inline_value(&mut self, v: &str, _indent: usize, _ctx: Ctx) -> R {
        match v {
            "{}" => self.out.push_str("{}"),
            "[]" => self.out.push_str("[]"),
            _ if v.starts_with('\'') => {
                let inner = v.strip_prefix('\'')?.strip_suffix('\'')?;
                let unq = single_quoted(inner)?;
                push_json_str(&mut self.out, &unq);
            }
            _ if v.starts_with('"') => {
                let inner = v.strip_prefix('"')?.strip_suffix('"')?;
                let unq = double_quoted(inner)?;
                push_json_str(&mut self.out, &unq);
            }
            _ => plain_scalar(v, &mut self.out)?,
        }
        Some(())
    }
}

/// The newest `time` of a `managedFields` list already written as JSON.
fn managed_time(json: &str) -> Option<Option<String>> {
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        time: Option<String>,
    }
    let entries: Option<Vec<Entry>> = serde_json::from_str(json).ok()?;
    Some(entries.unwrap_or_default().into_iter().filter_map(|e| e.time).max())
}

#[cfg(test)]
mod tests;
