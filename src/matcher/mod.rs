//! Pure matching: failures and messages against compiled matchers.
//!
//! Every message pattern of every symptom and playbook sits in one `RegexSet`, so a message
//! is scanned once however many rules there are; the boolean trees (`anyOf`, `allOf`, `not`)
//! are then evaluated on the set's answer.

pub mod examples;
mod tree;

use std::collections::BTreeMap;

use regex::{Regex, RegexSet, RegexSetBuilder};

pub use tree::{Facts, LabelSelector, MatchTree, NamespaceGlob, TextTest};

/// Upper bound of the message set's lazy DFA cache, in bytes.
const DFA_CACHE_LIMIT: usize = 32 << 20;

/// Collects patterns; `build` compiles them into one set.
#[derive(Debug, Default)]
pub struct PatternSetBuilder {
    patterns: Vec<String>,
}

impl PatternSetBuilder {
    /// Add an already-validated regex source; returns its id in the set.
    pub fn add(&mut self, source: String) -> usize {
        if let Some(i) = self.patterns.iter().position(|p| *p == source) {
            return i;
        }
        self.patterns.push(source);
        self.patterns.len() - 1
    }

    pub fn build(self) -> Result<PatternSet, regex::Error> {
        // The set's lazy DFA caches the states it has seen. Case-insensitive patterns with
        // Unicode classes (`\S+`) need many; past the default 2 MiB cache the DFA keeps
        // clearing it and falls back to the NFA, some 40x slower per message. The cache only
        // grows as far as the messages need.
        let set = RegexSetBuilder::new(&self.patterns)
            .dfa_size_limit(DFA_CACHE_LIMIT)
            .build()?;
        let regexes = self
            .patterns
            .iter()
            .map(|p| Regex::new(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PatternSet { set, regexes })
    }
}

#[derive(Debug, Clone)]
pub struct PatternSet {
    set: RegexSet,
    regexes: Vec<Regex>,
}

impl Default for PatternSet {
    fn default() -> Self {
        PatternSetBuilder::default().build().expect("an empty set compiles")
    }
}

/// Which patterns of a set matched one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hits(Vec<bool>);

impl Hits {
    pub fn get(&self, id: usize) -> bool {
        self.0.get(id).copied().unwrap_or(false)
    }
}

impl PatternSet {
    pub fn scan(&self, s: &str) -> Hits {
        let mut hits = vec![false; self.regexes.len()];
        for i in self.set.matches(s).iter() {
            hits[i] = true;
        }
        Hits(hits)
    }

    pub fn len(&self) -> usize {
        self.regexes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.regexes.is_empty()
    }

    /// Named groups of pattern `id` on `s`.
    pub fn captures(&self, id: usize, s: &str, out: &mut BTreeMap<String, String>) {
        let re = &self.regexes[id];
        if re.capture_names().flatten().next().is_none() {
            return;
        }
        if let Some(caps) = re.captures(s) {
            for name in re.capture_names().flatten() {
                if let Some(m) = caps.name(name) {
                    out.entry(name.to_string()).or_insert_with(|| m.as_str().to_string());
                }
            }
        }
    }
}

/// The regex source for a `contains`/`regex` leaf, with case folding applied.
pub fn leaf_source(contains: Option<&str>, regex: Option<&str>, case_sensitive: bool) -> Option<String> {
    let body = match (contains, regex) {
        (Some(c), _) => regex::escape(c),
        (None, Some(r)) => r.to_string(),
        (None, None) => return None,
    };
    Some(if case_sensitive { body } else { format!("(?i:{body})") })
}
