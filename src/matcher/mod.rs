//! Pure matching: failures and messages against compiled matchers.
//!
//! Every message pattern of every symptom and playbook sits in one `RegexSet`, so a message
//! is scanned once however many rules there are; the boolean trees (`anyOf`, `allOf`, `not`)
//! are then evaluated on the set's answer.

pub mod examples;
mod tree;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

pub use tree::{Facts, LabelSelector, MatchTree, NamespaceGlob, TextTest};

/// Upper bound of the message set's lazy DFA cache, in bytes.
const DFA_CACHE_LIMIT: usize = 32 << 20;

/// How large one compiled pattern may be: the regex crate's default (10 MiB).
pub const PATTERN_SIZE_LIMIT: usize = 10 << 20;

/// How large the combined set may be. Every pattern of every rule goes into one set, so its
/// size is about the sum of theirs: the limit is well above the single-pattern one (a dozen
/// patterns near it, such as `\w{150}` with Unicode classes, exceed 10 MiB together) while
/// still bounding the memory and start-up time a rule file can cost.
pub const SET_SIZE_LIMIT: usize = 256 << 20;

/// Compile one regex under the per-pattern limit.
pub fn compile_pattern(source: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(source).size_limit(PATTERN_SIZE_LIMIT).build()
}

/// Collects patterns; `build` compiles them into one set.
#[derive(Debug)]
pub struct PatternSetBuilder {
    patterns: Vec<String>,
    size_limit: usize,
}

impl Default for PatternSetBuilder {
    fn default() -> Self {
        PatternSetBuilder {
            patterns: Vec::new(),
            size_limit: SET_SIZE_LIMIT,
        }
    }
}

impl PatternSetBuilder {
    /// A builder with another set size limit (tests of the too-large path).
    pub fn with_size_limit(size_limit: usize) -> Self {
        PatternSetBuilder {
            patterns: Vec::new(),
            size_limit,
        }
    }

    pub fn size_limit(&self) -> usize {
        self.size_limit
    }

    /// Add an already-validated regex source; returns its id in the set.
    pub fn add(&mut self, source: String) -> usize {
        if let Some(i) = self.patterns.iter().position(|p| *p == source) {
            return i;
        }
        self.patterns.push(source);
        self.patterns.len() - 1
    }

    fn set_of(&self, patterns: &[String]) -> Result<RegexSet, regex::Error> {
        // The set's lazy DFA caches the states it has seen. Case-insensitive patterns with
        // Unicode classes (`\S+`) need many; past the default 2 MiB cache the DFA keeps
        // clearing it and falls back to the NFA, some 40x slower per message. The cache only
        // grows as far as the messages need.
        RegexSetBuilder::new(patterns)
            .size_limit(self.size_limit)
            .dfa_size_limit(DFA_CACHE_LIMIT)
            .build()
    }

    pub fn build(&self) -> Result<PatternSet, regex::Error> {
        let set = self.set_of(&self.patterns)?;
        Ok(PatternSet {
            set,
            sources: self.patterns.clone(),
            regexes: vec![OnceLock::new(); self.patterns.len()],
        })
    }

    /// When `build` fails: the id of the pattern that makes the set fail, that is the first
    /// whose addition to those before it does (found by bisection over prefixes).
    pub fn first_failing(&self) -> Option<usize> {
        if self.set_of(&self.patterns).is_ok() {
            return self.patterns.iter().position(|p| compile_pattern(p).is_err());
        }
        // Invariant: the first `lo` patterns compile together, the first `hi` do not.
        let (mut lo, mut hi) = (0, self.patterns.len());
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.set_of(&self.patterns[..mid]).is_ok() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(hi - 1)
    }
}

#[derive(Debug, Clone)]
pub struct PatternSet {
    set: RegexSet,
    sources: Vec<String>,
    /// Each pattern alone, compiled on first use: only patterns with named groups that
    /// matched need one (compiling them all would dominate start-up).
    regexes: Vec<OnceLock<Option<Regex>>>,
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
        let mut hits = vec![false; self.sources.len()];
        for i in self.set.matches(s).iter() {
            hits[i] = true;
        }
        Hits(hits)
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Named groups of pattern `id` on `s`.
    pub fn captures(&self, id: usize, s: &str, out: &mut BTreeMap<String, String>) {
        let Some(source) = self.sources.get(id) else { return };
        // Named groups are written `(?P<name>` or `(?<name>`; most patterns have none.
        if !source.contains("(?P<") && !source.contains("(?<") {
            return;
        }
        // Every pattern compiled inside the set, so it compiles alone; `None` is defensive.
        let Some(re) = self.regexes[id].get_or_init(|| compile_pattern(source).ok()) else {
            return;
        };
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
