//! Compiling matchers: text tests into the shared pattern sets, boolean trees, captures.

use std::collections::BTreeSet;

use super::Compiler;
use crate::diag::{Code, Diagnostic, Diagnostics, Location, did_you_mean};
use crate::matcher::{
    LabelSelector, MatchTree, NamespaceGlob, PatternSet, PatternSetBuilder, TextTest, compile_pattern, leaf_source,
};
use crate::model::{MatchSpec, TextMatcher};

/// The first line of a regex error, without the caret diagram.
pub(super) fn regex_message(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(s) => s
            .lines()
            .last()
            .unwrap_or("invalid regex")
            .trim_start_matches("error: ")
            .to_string(),
        other => other.to_string(),
    }
}

/// Compile one shared pattern set; a set too large to compile is blamed on the pattern that
/// tips it over, at the place it was written.
pub(super) fn build_set(
    b: &PatternSetBuilder,
    origins: &[Location],
    what: &str,
    diags: &mut Diagnostics,
) -> PatternSet {
    b.build().unwrap_or_else(|e| {
        let at = b.first_failing().and_then(|i| origins.get(i)).cloned().unwrap_or_default();
        diags.push(
            Diagnostic::error(
                Code::InvalidRegex,
                at,
                format!("the combined {what} patterns of all rules do not compile with this one: {}", regex_message(&e)),
            )
            .with_help(format!(
                "each pattern compiles alone, but together they pass the {} MiB limit: bounded repetitions of classes (`\\w{{150}}`) expand into large automata; use `contains`, a shorter repetition, or `[a-z]` instead of `\\w`",
                b.size_limit() >> 20
            )),
        );
        PatternSet::default()
    })
}

impl Compiler<'_> {
    /// Named groups a compiled text test can capture (never under `not`: a pattern that must
    /// not match has nothing to capture).
    pub(super) fn test_captures(&self, t: &TextTest, message: bool, out: &mut BTreeSet<String>) {
        match t {
            TextTest::Pattern(id) => {
                let origins = if message {
                    &self.message_origins
                } else {
                    &self.field_origins
                };
                if let Some((_, names)) = origins.get(*id) {
                    out.extend(names.iter().cloned());
                }
            }
            TextTest::Any(v) | TextTest::All(v) => v.iter().for_each(|t| self.test_captures(t, message, out)),
            TextTest::Equals(_) | TextTest::Not(_) => {}
        }
    }

    /// Named groups a compiled matcher can capture, its symptoms' included.
    pub(super) fn tree_captures(&self, m: &MatchTree, out: &mut BTreeSet<String>) {
        for &s in &m.symptoms {
            if let Some(names) = self.symptom_captures.get(s) {
                out.extend(names.iter().cloned());
            }
        }
        for t in [&m.message, &m.waiting_message].into_iter().flatten() {
            self.test_captures(t, true, out);
        }
        for t in [
            &m.event_reason,
            &m.event_type,
            &m.involved_kind,
            &m.waiting_reason,
            &m.image,
            &m.registry,
        ]
        .into_iter()
        .flatten()
        {
            self.test_captures(t, false, out);
        }
        for sub in m.any_of.iter().chain(&m.all_of) {
            self.tree_captures(sub, out);
        }
    }

    /// Compile a text matcher into the message set (`message == true`) or the field set.
    pub(super) fn text(&mut self, t: &TextMatcher, message: bool, si: usize, di: usize, path: &str) -> TextTest {
        let set = [
            t.contains.is_some(),
            t.regex.is_some(),
            t.equals.is_some(),
            t.any_of.is_some(),
            t.all_of.is_some(),
            t.not.is_some(),
        ];
        let n = set.iter().filter(|b| **b).count();
        if n != 1 {
            let what = if n == 0 {
                "sets no test"
            } else {
                "sets more than one test"
            };
            self.diags.push(
                Diagnostic::error(Code::AmbiguousSpec, self.loc(si, di, path), format!("this matcher {what}"))
                    .with_help("set exactly one of `contains`, `regex`, `equals`, `anyOf`, `allOf`, `not` (nest them with anyOf/allOf)"),
            );
            return TextTest::Any(vec![]);
        }
        let cs = t.case_sensitive.unwrap_or(false);
        if let Some(e) = &t.equals {
            return TextTest::Equals(e.clone());
        }
        if let Some(src) = leaf_source(t.contains.as_deref(), t.regex.as_deref(), cs) {
            // The user's regex is checked alone: wrapped in `(?i:...)`, a stray `)` could close
            // the wrapper and change what the pattern means (`a)|(?-i:.` would match
            // everything). A pattern valid alone stays valid inside a group, so one compile
            // checks it; a `contains` literal is escaped and needs none.
            let alone = t.regex.as_deref().map(compile_pattern).transpose();
            let names: Vec<String> = match alone {
                Ok(re) => re
                    .map(|re| re.capture_names().flatten().map(str::to_string).collect())
                    .unwrap_or_default(),
                Err(e) => {
                    let p = format!("{path}.regex");
                    self.diags.push(Diagnostic::error(Code::InvalidRegex, self.loc(si, di, &p), format!("invalid regex: {}", regex_message(&e))).with_help("Rust regex syntax: no look-around or back-references; escape literal `(`, `[`, `.`, or use `contains`"));
                    return TextTest::Any(vec![]);
                }
            };
            let key = if t.regex.is_some() { "regex" } else { "contains" };
            let origin = self.loc(si, di, &format!("{path}.{key}"));
            let (set, origins) = if message {
                (&mut self.messages, &mut self.message_origins)
            } else {
                (&mut self.fields, &mut self.field_origins)
            };
            let id = set.add(src);
            if origins.len() <= id {
                origins.push((origin, names));
            }
            return TextTest::Pattern(id);
        }
        let list = |this: &mut Self, v: &[TextMatcher], key: &str| -> Vec<TextTest> {
            v.iter()
                .enumerate()
                .map(|(i, t)| this.text(t, message, si, di, &format!("{path}.{key}[{i}]")))
                .collect()
        };
        if let Some(v) = &t.any_of {
            return TextTest::Any(list(self, v, "anyOf"));
        }
        if let Some(v) = &t.all_of {
            return TextTest::All(list(self, v, "allOf"));
        }
        let inner = t.not.as_ref().expect("exactly one test is set");
        TextTest::Not(Box::new(self.text(inner, message, si, di, &format!("{path}.not"))))
    }

    pub(super) fn matcher(&mut self, m: &MatchSpec, si: usize, di: usize, path: &str) -> MatchTree {
        let mut symptoms = Vec::new();
        let mut names: Vec<(String, String)> = m
            .symptom
            .iter()
            .map(|s| (s.clone(), format!("{path}.symptom")))
            .collect();
        names.extend(
            m.symptoms
                .iter()
                .enumerate()
                .map(|(i, s)| (s.clone(), format!("{path}.symptoms[{i}]"))),
        );
        for (name, p) in names {
            match self.symptom_ids.get(&name) {
                Some(&id) => symptoms.push(id),
                None => {
                    let mut d = Diagnostic::error(
                        Code::UnknownSymptom,
                        self.loc(si, di, &p),
                        format!("unknown symptom `{name}`"),
                    );
                    let known: Vec<&str> = self.symptom_ids.keys().map(String::as_str).collect();
                    d = match did_you_mean(&name, known) {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")),
                        None => {
                            d.with_help("symptoms are documents of `kind: Symptom`; `remedy rules list` shows them")
                        }
                    };
                    self.diags.push(d);
                }
            }
        }
        let field = |this: &mut Self, t: &Option<TextMatcher>, key: &str, message: bool| {
            t.as_ref()
                .map(|t| this.text(t, message, si, di, &format!("{path}.{key}")))
        };
        let message = field(self, &m.message, "message", true);
        let waiting_message = field(self, &m.waiting_message, "waitingMessage", true);
        let event_reason = field(self, &m.event_reason, "eventReason", false);
        let event_type = field(self, &m.event_type, "eventType", false);
        let involved_kind = field(self, &m.involved_kind, "involvedKind", false);
        let waiting_reason = field(self, &m.waiting_reason, "waitingReason", false);
        let image = field(self, &m.image, "image", false);
        let registry = field(self, &m.registry, "registry", false);
        let any_of = m
            .any_of
            .iter()
            .enumerate()
            .map(|(i, s)| self.matcher(s, si, di, &format!("{path}.anyOf[{i}]")))
            .collect();
        let all_of = m
            .all_of
            .iter()
            .enumerate()
            .map(|(i, s)| self.matcher(s, si, di, &format!("{path}.allOf[{i}]")))
            .collect();
        let not = m
            .not
            .as_ref()
            .map(|s| Box::new(self.matcher(s, si, di, &format!("{path}.not"))));
        MatchTree {
            symptoms,
            message,
            waiting_message,
            event_reason,
            event_type,
            involved_kind,
            waiting_reason,
            image,
            registry,
            namespaces: m.namespaces.as_ref().map(|n| NamespaceGlob {
                include: n.include.clone(),
                exclude: n.exclude.clone(),
            }),
            selector: m.pod_selector.as_ref().map(|s| LabelSelector {
                match_labels: s.match_labels.clone(),
                expressions: s
                    .match_expressions
                    .iter()
                    .map(|e| (e.key.clone(), e.operator, e.values.iter().cloned().collect()))
                    .collect(),
            }),
            inferred: m.inferred,
            any_of,
            all_of,
            not,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn a_set_too_large_is_blamed_on_the_pattern_that_tips_it_over() {
        let mut b = PatternSetBuilder::with_size_limit(1_500_000);
        let mut origins = Vec::new();
        for (i, p) in ["a", "b", r"\w{20}x", r"\w{20}y", r"\w{20}z", "c"].iter().enumerate() {
            b.add(p.to_string());
            origins.push(Location {
                file: "r.yaml".into(),
                line: Some(i + 1),
                column: Some(3),
                path: None,
            });
        }
        // Each pattern alone fits; together they do not.
        let mut one = PatternSetBuilder::with_size_limit(1_500_000);
        one.add(r"\w{20}x".to_string());
        assert!(one.build().is_ok());
        assert!(b.build().is_err());
        let tip = b.first_failing().expect("a culprit");
        assert_eq!(tip, 3, "the second large pattern tips the set over");
        let mut diags = Diagnostics::default();
        build_set(&b, &origins, "message", &mut diags);
        let d: Vec<_> = diags.into_sorted();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::InvalidRegex);
        assert_eq!(d[0].location.line, Some(tip + 1));
        assert!(d[0].help.as_deref().is_some_and(|h| h.contains("MiB")));
    }
}
