//! `never-matches`: regexes no text can match, and `allOf` lists that contradict themselves.

use regex_syntax::hir::{Hir, HirKind, Look};

use super::{Finding, Input, LintCode};
use crate::diag::Location;
use crate::model::{MatchSpec, TextMatcher};

/// Why a regex can never match, if it cannot: an empty class (`[^\s\S]`), or text required
/// before the start or after the end of the input (`a^`, `$a`).
pub fn regex_never_matches(pattern: &str) -> Option<&'static str> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    if hir.properties().minimum_len().is_none() {
        return Some("it requires a character from an empty class");
    }
    impossible_anchor(&hir)
}

fn impossible_anchor(h: &Hir) -> Option<&'static str> {
    match h.kind() {
        HirKind::Concat(items) => {
            for (i, item) in items.iter().enumerate() {
                let needs_text = |s: &[Hir]| s.iter().any(|x| x.properties().minimum_len().unwrap_or(0) > 0);
                if matches!(item.kind(), HirKind::Look(Look::Start)) && needs_text(&items[..i]) {
                    return Some("it requires text before `^` (the start of the message)");
                }
                if matches!(item.kind(), HirKind::Look(Look::End)) && needs_text(&items[i + 1..]) {
                    return Some("it requires text after `$` (the end of the message)");
                }
            }
            items.iter().find_map(impossible_anchor)
        }
        // An alternation fails only if every branch does.
        HirKind::Alternation(items) => items
            .iter()
            .map(impossible_anchor)
            .collect::<Option<Vec<_>>>()
            .and_then(|v| v.first().copied()),
        HirKind::Capture(c) => impossible_anchor(&c.sub),
        HirKind::Repetition(r) if r.min > 0 => impossible_anchor(&r.sub),
        _ => None,
    }
}

fn equals_key(t: &TextMatcher) -> Option<String> {
    let v = t.equals.as_ref()?;
    Some(if t.case_sensitive.unwrap_or(false) {
        v.clone()
    } else {
        v.to_lowercase()
    })
}

fn same(a: &TextMatcher, b: &TextMatcher) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// A contradiction among tests that must all hold.
fn contradiction(all: &[&TextMatcher]) -> Option<String> {
    let mut equals: Vec<String> = all.iter().filter_map(|t| equals_key(t)).collect();
    equals.sort();
    equals.dedup();
    if equals.len() > 1 {
        return Some(format!("it must equal both `{}` and `{}`", equals[0], equals[1]));
    }
    for t in all {
        if let Some(n) = &t.not
            && all.iter().any(|u| same(u, n))
        {
            return Some("it requires a test and its `not`".to_string());
        }
    }
    None
}

struct Walk<'a, 'b> {
    out: &'a mut Vec<Finding>,
    loc: &'b dyn Fn(&str) -> Location,
}

impl Walk<'_, '_> {
    fn push(&mut self, path: &str, why: String, help: &str) {
        self.out.push(Finding::lint(
            LintCode::NeverMatches,
            (self.loc)(path),
            format!("this matcher can never match: {why}"),
            help,
        ));
    }

    fn text(&mut self, t: &TextMatcher, path: &str) {
        if let Some(re) = &t.regex
            && let Some(why) = regex_never_matches(re)
        {
            self.push(
                &format!("{path}.regex"),
                why.to_string(),
                "`^` and `$` anchor at the start and end of the whole message; an empty class matches nothing",
            );
        }
        if let Some(all) = &t.all_of {
            let refs: Vec<&TextMatcher> = all.iter().collect();
            if let Some(why) = contradiction(&refs) {
                self.push(&format!("{path}.allOf"), why, "every test of `allOf` must hold at once");
            }
            for (i, c) in all.iter().enumerate() {
                self.text(c, &format!("{path}.allOf[{i}]"));
            }
        }
        if let Some(any) = &t.any_of {
            for (i, c) in any.iter().enumerate() {
                self.text(c, &format!("{path}.anyOf[{i}]"));
            }
        }
        if let Some(n) = &t.not {
            self.text(n, &format!("{path}.not"));
        }
    }

    fn fields(m: &MatchSpec) -> [(&'static str, Option<&TextMatcher>); 8] {
        [
            ("message", m.message.as_ref()),
            ("waitingMessage", m.waiting_message.as_ref()),
            ("eventReason", m.event_reason.as_ref()),
            ("eventType", m.event_type.as_ref()),
            ("involvedKind", m.involved_kind.as_ref()),
            ("waitingReason", m.waiting_reason.as_ref()),
            ("image", m.image.as_ref()),
            ("registry", m.registry.as_ref()),
        ]
    }

    fn matcher(&mut self, m: &MatchSpec, path: &str) {
        for (key, t) in Self::fields(m) {
            if let Some(t) = t {
                self.text(t, &format!("{path}.{key}"));
            }
        }
        if !m.all_of.is_empty() {
            // Per field, the tests of this level and of every `allOf` entry must all hold.
            for (k, (key, own)) in Self::fields(m).into_iter().enumerate() {
                let mut tests: Vec<&TextMatcher> = own.into_iter().collect();
                for sub in &m.all_of {
                    tests.extend(Self::fields(sub)[k].1);
                }
                if let Some(why) = contradiction(&tests) {
                    self.push(
                        &format!("{path}.allOf"),
                        format!("{key}: {why}"),
                        "every entry of `allOf` must hold at once",
                    );
                }
            }
            for (i, sub) in m.all_of.iter().enumerate() {
                if m.all_of
                    .iter()
                    .any(|o| o.not.as_deref().is_some_and(|n| format!("{n:?}") == format!("{sub:?}")))
                {
                    self.push(
                        &format!("{path}.allOf[{i}]"),
                        "it requires a matcher and its `not`".into(),
                        "every entry of `allOf` must hold at once",
                    );
                }
            }
        }
        for (i, sub) in m.all_of.iter().enumerate() {
            self.matcher(sub, &format!("{path}.allOf[{i}]"));
        }
        for (i, sub) in m.any_of.iter().enumerate() {
            self.matcher(sub, &format!("{path}.anyOf[{i}]"));
        }
        if let Some(n) = &m.not {
            self.matcher(n, &format!("{path}.not"));
        }
    }
}

pub(super) fn check(input: &Input, out: &mut Vec<Finding>) {
    for &i in &input.linted {
        let loc = |p: &str| input.loc(i, p);
        Walk { out, loc: &loc }.matcher(&input.spec(i).spec.matcher, "spec.match");
    }
    let user = input
        .linted
        .first()
        .map(|&i| !input.parsed.sources[input.parsed.playbooks[i].source].bundled);
    for d in &input.parsed.symptoms {
        let bundled = input.parsed.sources[d.source].bundled;
        if user == Some(bundled) {
            continue;
        }
        let loc = |p: &str| input.parsed.loc(d.source, d.doc, p);
        Walk { out, loc: &loc }.text(&d.spec.spec.message, "spec.message");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_that_cannot_match() {
        assert!(regex_never_matches(r"[^\s\S]").is_some());
        assert!(regex_never_matches(r"unauthorized$: x").is_some());
        assert!(regex_never_matches(r"x^unauthorized").is_some());
        assert!(regex_never_matches(r"(?:a$b|c$d)").is_some());
        for fine in [
            r"^unauthorized",
            r"x509$",
            r"a|b$",
            r"(?m)a$\nb",
            r"status (40[13])",
            r"x*^y",
        ] {
            assert!(regex_never_matches(fine).is_none(), "{fine}");
        }
    }
}
