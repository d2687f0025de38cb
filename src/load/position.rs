//! Maps YAML paths (`spec.actions[0].copySecret.from`) to line and column, so checks made
//! after deserialisation still point at the right place.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Positions of every node of every document of one file.
#[derive(Debug, Default, Clone)]
pub struct PositionIndex {
    docs: Vec<HashMap<String, (usize, usize)>>,
    /// Keys that repeat a key of the same mapping: (document, path, position of the repeat).
    duplicates: Vec<(usize, String, (usize, usize))>,
}

enum Frame {
    /// `place`: the mapping has no key of its own (a document root or a list item), so it is
    /// placed at its first key (libyaml marks a block mapping's start after that key).
    Map {
        path: String,
        key: Option<String>,
        place: bool,
    },
    Seq {
        path: String,
        index: usize,
    },
}

#[derive(Default)]
struct Builder {
    docs: Vec<HashMap<String, (usize, usize)>>,
    stack: Vec<Frame>,
    duplicates: Vec<(usize, String, (usize, usize))>,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl Builder {
    /// The path of the node that starts now, consuming the parent's pending key or index.
    fn child_path(&mut self) -> Option<String> {
        match self.stack.last_mut()? {
            Frame::Map { path, key, .. } => key.take().map(|k| join(path, &k)),
            Frame::Seq { path, index } => {
                let p = format!("{path}[{index}]");
                *index += 1;
                Some(p)
            }
        }
    }

    fn record(&mut self, path: &str, mark: Marker) {
        if let Some(doc) = self.docs.last_mut() {
            doc.entry(path.to_string()).or_insert((mark.line(), mark.col() + 1));
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::DocumentStart => {
                self.docs.push(HashMap::new());
                self.stack.clear();
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let place = !matches!(self.stack.last(), Some(Frame::Map { .. }));
                let path = if self.stack.is_empty() {
                    Some(String::new())
                } else {
                    self.child_path()
                };
                let path = path.unwrap_or_default();
                self.record(&path, mark);
                self.stack.push(if matches!(ev, Event::MappingStart(..)) {
                    Frame::Map { path, key: None, place }
                } else {
                    Frame::Seq { path, index: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Scalar(value, ..) => {
                let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
                if is_key {
                    let parent = match self.stack.last() {
                        Some(Frame::Map { path, .. }) => path.clone(),
                        _ => String::new(),
                    };
                    if let Some(Frame::Map { place, .. }) = self.stack.last_mut()
                        && std::mem::take(place)
                        && let Some(doc) = self.docs.last_mut()
                    {
                        doc.insert(parent.clone(), (mark.line(), mark.col() + 1));
                    }
                    let path = join(&parent, &value);
                    if self.docs.last().is_some_and(|d| d.contains_key(&path)) {
                        let doc = self.docs.len() - 1;
                        self.duplicates.push((doc, path.clone(), (mark.line(), mark.col() + 1)));
                    }
                    self.record(&path, mark);
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = Some(value);
                    }
                } else if let Some(path) = self.child_path() {
                    self.record(&path, mark);
                }
            }
            Event::Alias(_) => {
                self.child_path();
            }
            _ => {}
        }
    }
}

impl PositionIndex {
    /// Build from source text; a file that does not parse gives an empty index (the
    /// parse error itself is reported by the deserialiser, with its own position).
    pub fn build(text: &str) -> Self {
        let mut b = Builder::default();
        let mut parser = Parser::new_from_str(text);
        let _ = parser.load(&mut b, true);
        PositionIndex {
            docs: b.docs,
            duplicates: b.duplicates,
        }
    }

    /// Keys of document `doc` that repeat a key of their mapping: the path and where the
    /// repeat is (the first occurrence is at `find(doc, path)`).
    pub fn duplicates(&self, doc: usize) -> impl Iterator<Item = (&str, (usize, usize))> {
        self.duplicates
            .iter()
            .filter(move |(d, _, _)| *d == doc)
            .map(|(_, p, pos)| (p.as_str(), *pos))
    }

    /// The position of `path` in document `doc`, or of its nearest ancestor that has one.
    pub fn find(&self, doc: usize, path: &str) -> Option<(usize, usize)> {
        let map = self.docs.get(doc)?;
        let mut p = path;
        loop {
            if let Some(pos) = map.get(p) {
                return Some(*pos);
            }
            if p.is_empty() {
                return None;
            }
            // Up to the parent; a top-level key falls back to the document's root.
            p = &p[..p.rfind(['.', '[']).unwrap_or(0)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_lines_and_columns() {
        let text =
            "a: 1\nspec:\n  actions:\n    - copySecret:\n        from: x\n    - manual: {title: t}\n---\nb: [1, 2]\n";
        let idx = PositionIndex::build(text);
        assert_eq!(idx.find(0, "a"), Some((1, 1)));
        assert_eq!(idx.find(0, "spec.actions[0].copySecret.from"), Some((5, 9)));
        assert_eq!(idx.find(0, "spec.actions[1].manual.title"), Some((6, 16)));
        // Falls back to the nearest ancestor.
        assert_eq!(idx.find(0, "spec.actions[1].manual.steps[3]"), Some((6, 7)));
        // A list item that is a mapping sits at its first key.
        assert_eq!(idx.find(0, "spec.actions[0]"), Some((4, 7)));
        assert_eq!(idx.find(1, "b[1]"), Some((8, 8)));
        let dup = PositionIndex::build("a: 1\nm:\n  x: 1\n  x: 2\n");
        assert_eq!(dup.duplicates(0).collect::<Vec<_>>(), vec![("m.x", (4, 3))]);
        // A key the document lacks points at the document itself.
        assert_eq!(idx.find(1, "apiVersion"), Some((8, 1)));
    }
}
