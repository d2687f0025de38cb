use std::collections::{BTreeMap, BTreeSet};

use super::{Hits, PatternSet};
use crate::model::LabelOperator;

/// A compiled `TextMatcher`.
#[derive(Debug, Clone)]
pub enum TextTest {
    Pattern(usize),
    Equals(String),
    Any(Vec<TextTest>),
    All(Vec<TextTest>),
    Not(Box<TextTest>),
}

impl TextTest {
    pub fn eval(&self, s: &str, hits: &Hits) -> bool {
        match self {
            TextTest::Pattern(id) => hits.get(*id),
            TextTest::Equals(e) => s == e,
            TextTest::Any(v) => v.iter().any(|t| t.eval(s, hits)),
            TextTest::All(v) => v.iter().all(|t| t.eval(s, hits)),
            TextTest::Not(t) => !t.eval(s, hits),
        }
    }

    /// Named groups of the pattern leaves that matched `s`, in branches that hold (none under
    /// `not`); the first value of a name wins.
    pub fn captures(&self, s: &str, hits: &Hits, set: &PatternSet, out: &mut BTreeMap<String, String>) {
        match self {
            TextTest::Pattern(id) if hits.get(*id) => set.captures(*id, s, out),
            TextTest::Any(v) => v
                .iter()
                .filter(|t| t.eval(s, hits))
                .for_each(|t| t.captures(s, hits, set, out)),
            TextTest::All(v) => v.iter().for_each(|t| t.captures(s, hits, set, out)),
            _ => {}
        }
    }

    /// Evaluate on a string against a set, scanning only when needed.
    pub fn eval_str(&self, s: &str, set: &PatternSet) -> bool {
        self.eval(s, &set.scan(s))
    }
}

/// `*` wildcard namespace patterns.
#[derive(Debug, Clone, Default)]
pub struct NamespaceGlob {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// `*` matches any run of characters, in O(pattern × name) time: on a mismatch only the last
/// `*` takes one more byte (the recursive form was exponential in the number of `*`).
fn glob(pattern: &str, s: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), s.as_bytes());
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
            continue;
        }
        if pi < p.len() && si < s.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
            continue;
        }
        if pi == p.len() && si == s.len() {
            return true;
        }
        match star {
            Some((sp, ss)) if ss < s.len() => {
                star = Some((sp, ss + 1));
                pi = sp + 1;
                si = ss + 1;
            }
            _ => return false,
        }
    }
}

impl NamespaceGlob {
    pub fn allows(&self, ns: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| glob(p, ns)))
            && !self.exclude.iter().any(|p| glob(p, ns))
    }
}

#[derive(Debug, Clone, Default)]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub expressions: Vec<(String, LabelOperator, BTreeSet<String>)>,
}

impl LabelSelector {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|(k, op, values)| match op {
                LabelOperator::In => labels.get(k).is_some_and(|v| values.contains(v)),
                LabelOperator::NotIn => labels.get(k).is_none_or(|v| !values.contains(v)),
                LabelOperator::Exists => labels.contains_key(k),
                LabelOperator::DoesNotExist => !labels.contains_key(k),
            })
    }
}

/// What a failure offers to matching. Built by the engine from a `Failure`.
pub struct Facts<'a> {
    /// All messages (events and container status), with their hits in the message set.
    pub messages: Vec<(&'a str, &'a Hits)>,
    /// Symptom ids shown by any message.
    /// Sorted.
    pub symptoms: &'a [usize],
    /// No message names a cause (only back-off and generic lines survived).
    pub unexplained: bool,
    pub event_reasons: Vec<&'a str>,
    pub event_types: Vec<&'a str>,
    pub involved_kinds: Vec<&'a str>,
    pub waiting_reason: Option<&'a str>,
    pub waiting_message: Option<(&'a str, &'a Hits)>,
    pub image: &'a str,
    pub registry: &'a str,
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    /// `rules match`: only message-level tests count; every other test passes.
    pub message_only: bool,
}

/// A compiled `MatchSpec`. `None` fields are not tested.
#[derive(Debug, Clone, Default)]
pub struct MatchTree {
    /// Any of these symptom ids (empty: not tested).
    pub symptoms: Vec<usize>,
    pub message: Option<TextTest>,
    pub waiting_message: Option<TextTest>,
    pub event_reason: Option<TextTest>,
    pub event_type: Option<TextTest>,
    pub involved_kind: Option<TextTest>,
    pub waiting_reason: Option<TextTest>,
    pub image: Option<TextTest>,
    pub registry: Option<TextTest>,
    pub namespaces: Option<NamespaceGlob>,
    pub selector: Option<LabelSelector>,
    pub inferred: bool,
    pub any_of: Vec<MatchTree>,
    pub all_of: Vec<MatchTree>,
    pub not: Option<Box<MatchTree>>,
}

impl MatchTree {
    pub fn has_message_tests(&self) -> bool {
        !self.symptoms.is_empty() || self.message.is_some() || self.waiting_message.is_some()
    }

    /// Named groups of every pattern leaf of this tree that matched the failure: message
    /// tests on the messages they matched, field tests (reasons, image, registry) on their
    /// values, and the patterns of the symptoms the tree names that the failure shows. Only
    /// branches that hold count (`anyOf` alternatives that did not match and `not` give
    /// nothing). The first value of a name wins. Call it on a tree that matched.
    pub fn captures<'t>(
        &self,
        f: &Facts,
        messages: &PatternSet,
        fields: &PatternSet,
        symptom_test: &dyn Fn(usize) -> Option<&'t TextTest>,
        out: &mut BTreeMap<String, String>,
    ) {
        for &s in self.symptoms.iter().filter(|s| f.symptoms.contains(s)) {
            if let Some(t) = symptom_test(s) {
                for (m, h) in f.messages.iter().filter(|(m, h)| t.eval(m, h)) {
                    t.captures(m, h, messages, out);
                }
            }
        }
        if let Some(t) = &self.message {
            for (m, h) in f.messages.iter().filter(|(m, h)| t.eval(m, h)) {
                t.captures(m, h, messages, out);
            }
        }
        if let (Some(t), Some((m, h))) = (&self.waiting_message, f.waiting_message)
            && t.eval(m, h)
        {
            t.captures(m, h, messages, out);
        }
        let field_tests: [(&Option<TextTest>, &[&str]); 6] = [
            (&self.event_reason, &f.event_reasons),
            (&self.event_type, &f.event_types),
            (&self.involved_kind, &f.involved_kinds),
            (&self.waiting_reason, f.waiting_reason.as_slice()),
            (&self.image, std::slice::from_ref(&f.image)),
            (&self.registry, std::slice::from_ref(&f.registry)),
        ];
        for (t, values) in field_tests {
            let Some(t) = t else { continue };
            for v in values {
                let hits = fields.scan(v);
                if t.eval(v, &hits) {
                    t.captures(v, &hits, fields, out);
                }
            }
        }
        for sub in self.any_of.iter().chain(&self.all_of) {
            if sub.eval(f, fields) {
                sub.captures(f, messages, fields, symptom_test, out);
            }
        }
    }

    pub fn eval(&self, f: &Facts, fields: &PatternSet) -> bool {
        let field = |t: &Option<TextTest>, values: &[&str]| -> bool {
            f.message_only || t.as_ref().is_none_or(|t| values.iter().any(|v| t.eval_str(v, fields)))
        };
        // Message-level tests pass on their own for an unexplained failure when `inferred` is set.
        let infer = self.inferred && f.unexplained && !f.message_only;
        let message_ok = infer
            || ((self.symptoms.is_empty() || self.symptoms.iter().any(|s| f.symptoms.contains(s)))
                && self
                    .message
                    .as_ref()
                    .is_none_or(|t| f.messages.iter().any(|(m, h)| t.eval(m, h)))
                && self
                    .waiting_message
                    .as_ref()
                    .is_none_or(|t| f.waiting_message.is_some_and(|(m, h)| t.eval(m, h))));
        message_ok
            && field(&self.event_reason, &f.event_reasons)
            && field(&self.event_type, &f.event_types)
            && field(&self.involved_kind, &f.involved_kinds)
            && field(&self.waiting_reason, f.waiting_reason.as_slice())
            && field(&self.image, &[f.image])
            && field(&self.registry, &[f.registry])
            && (f.message_only || self.namespaces.as_ref().is_none_or(|n| n.allows(f.namespace)))
            && (f.message_only || self.selector.as_ref().is_none_or(|s| s.matches(f.labels)))
            && self
                .any_of
                .iter()
                .fold(self.any_of.is_empty(), |acc, t| acc || t.eval(f, fields))
            && self.all_of.iter().all(|t| t.eval(f, fields))
            && self.not.as_ref().is_none_or(|t| !t.eval(f, fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("openshift-*", "openshift-marketplace"));
        assert!(!glob("openshift-*", "default"));
        assert!(glob("*-system", "kube-system"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("*", "") && glob("**", "x") && !glob("a", "") && glob("ä*", "äb"));
        assert!(!glob("*x", "") && glob("*é", "café"));
        let g = NamespaceGlob {
            include: vec![],
            exclude: vec!["kube-*".into()],
        };
        assert!(g.allows("apps") && !g.allows("kube-system"));
    }

    /// Exponential backtracking never finished on this; the linear matcher answers at once.
    #[test]
    fn many_wildcards_do_not_backtrack_exponentially() {
        let pattern = format!("{}b", "*a".repeat(40));
        assert!(!glob(&pattern, &"a".repeat(5000)));
        assert!(glob(&format!("{}*", "*a".repeat(40)), &"a".repeat(5000)));
    }

    #[test]
    fn selectors() {
        let labels: BTreeMap<_, _> = [("olm.catalogSource".to_string(), "x".to_string())].into();
        let mut s = LabelSelector::default();
        s.expressions
            .push(("olm.catalogSource".into(), LabelOperator::Exists, BTreeSet::new()));
        assert!(s.matches(&labels));
        s.match_labels.insert("app".into(), "web".into());
        assert!(!s.matches(&labels));
    }
}
