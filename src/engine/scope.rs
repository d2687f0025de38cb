//! What a plan is about: `-n/--namespace`, `-l/--selector` (pod labels), `--category` and
//! `--rule`. Applied to failures before any rule is evaluated, so the plan, its actions and
//! its exit code concern only what was asked. A live backend may read `namespaces` to list
//! less.

use std::collections::{BTreeMap, BTreeSet};

use crate::detect::Failure;
use crate::model::Category;

/// Why a scope was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("--selector `{0}`: expected key=value, key!=value, key, !key, key in (a,b) or key notin (a,b)")]
    Selector(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    Absent(String),
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
}

impl Requirement {
    fn holds(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::Absent(k) => !labels.contains_key(k),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
        }
    }
}

/// A label selector as kubectl takes it: requirements separated by commas, all of which hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(Vec<Requirement>);

impl Selector {
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        let bad = || ScopeError::Selector(text.to_string());
        // Split at commas outside parentheses.
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0usize, 0usize);
        for (i, c) in text.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.checked_sub(1).ok_or_else(bad)?,
                ',' if depth == 0 => {
                    parts.push(&text[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&text[start..]);
        let valid = |k: &str| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        };
        let set = |s: &str| -> Option<BTreeSet<String>> {
            let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
            Some(inner.split(',').map(|v| v.trim().to_string()).collect())
        };
        let mut reqs = Vec::new();
        for p in parts.iter().map(|p| p.trim()) {
            let req = if let Some((k, v)) = p.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, vs)) = p.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), set(vs).ok_or_else(bad)?)
            } else if let Some((k, vs)) = p.split_once(" in ") {
                Requirement::In(k.trim().into(), set(vs).ok_or_else(bad)?)
            } else if let Some(k) = p.strip_prefix('!') {
                Requirement::Absent(k.trim().into())
            } else {
                Requirement::Exists(p.into())
            };
            let key = match &req {
                Requirement::Equals(k, _)
                | Requirement::NotEquals(k, _)
                | Requirement::Exists(k)
                | Requirement::Absent(k)
                | Requirement::In(k, _)
                | Requirement::NotIn(k, _) => k,
            };
            if !valid(key) {
                return Err(bad());
            }
            reqs.push(req);
        }
        Ok(Selector(reqs))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| r.holds(labels))
    }
}

/// The part of the cluster a plan is about. Empty sets mean "all".
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub namespaces: BTreeSet<String>,
    /// Pod labels; ImageStreams, which have no pod labels, are outside any selector.
    pub selector: Option<Selector>,
    pub categories: BTreeSet<Category>,
    /// Playbook ids.
    pub rules: BTreeSet<String>,
}

impl Scope {
    pub fn is_everything(&self) -> bool {
        self.namespaces.is_empty() && self.selector.is_none() && self.categories.is_empty() && self.rules.is_empty()
    }

    /// Whether a failure's namespace and labels are in scope (its category and rules are
    /// decided later, once classified and evaluated).
    pub fn admits(&self, f: &Failure) -> bool {
        (self.namespaces.is_empty() || self.namespaces.contains(&*f.namespace))
            && self
                .selector
                .as_ref()
                .is_none_or(|s| f.kind == "Pod" && s.matches(&f.labels))
    }

    pub fn admits_category(&self, c: Category) -> bool {
        self.categories.is_empty() || self.categories.contains(&c)
    }

    pub fn admits_rule(&self, id: &str) -> bool {
        self.rules.is_empty() || self.rules.contains(id)
    }
}

/// Keep the failures `--category` and `--rule` ask about, after every rule was evaluated
/// (so supersedes work as without a filter): those a rule in scope confirmed, and, without
/// `--rule`, unexplained ones of a category in scope. Confirmed findings of rules out of scope
/// are dropped; the rest of their evaluations stay as candidates. Linear in failures and
/// evaluations.
pub(super) fn restrict(
    rules: &crate::rules::RuleSet,
    scope: &Scope,
    failures: &mut Vec<Failure>,
    classified: &mut Vec<super::Classified>,
    evaluated: &mut Vec<super::Evaluated>,
) {
    let in_scope = |rule: usize| {
        let r = &rules.rules[rule];
        scope.admits_rule(&r.id) && scope.admits_category(r.category)
    };
    let confirmed = |e: &super::Evaluated| e.outcome == super::Outcome::Confirmed;
    let mut any = vec![false; failures.len()];
    let mut wanted = vec![false; failures.len()];
    for e in evaluated.iter().filter(|e| confirmed(e)) {
        any[e.failure] = true;
        wanted[e.failure] |= in_scope(e.rule);
    }
    let keep: Vec<bool> = (0..failures.len())
        .map(|i| {
            wanted[i]
                || (!any[i]
                    && scope.rules.is_empty()
                    && classified[i].category.is_some_and(|c| scope.admits_category(c)))
        })
        .collect();
    // New index of each kept failure.
    let mut new_index = vec![usize::MAX; failures.len()];
    let mut next = 0;
    for (i, k) in keep.iter().enumerate() {
        if *k {
            new_index[i] = next;
            next += 1;
        }
    }
    evaluated.retain(|e| keep[e.failure] && (!confirmed(e) || in_scope(e.rule)));
    for e in evaluated.iter_mut() {
        e.failure = new_index[e.failure];
    }
    let mut i = 0;
    failures.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    let mut i = 0;
    classified.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn selectors_as_kubectl_reads_them() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        for (sel, want) in [
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("app!=db", true),
            ("app=web,tier=front", true),
            ("app=web,tier=back", false),
            ("tier", true),
            ("!tier", false),
            ("!owner", true),
            ("tier in (front, back)", true),
            ("tier notin (front)", false),
            ("app in (db),tier", false),
        ] {
            assert_eq!(Selector::parse(sel).unwrap().matches(&l), want, "{sel}");
        }
        for bad in ["", "=x", "a in b", "a in (b", "a)"] {
            assert!(Selector::parse(bad).is_err(), "{bad:?} is refused");
        }
    }
}
