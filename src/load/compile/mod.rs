//! Spec → runtime: validation with located diagnostics, then compiled rules.

mod actions;
mod broken;
mod matchers;
mod templates;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Doc, Parsed};
use crate::diag::{Code, Diagnostic, Diagnostics, Location, did_you_mean};
use crate::matcher::PatternSetBuilder;
use crate::model::{PlaybookSpec, SymptomSpec};
use crate::rules::{Condition, Origin, Probe, Rule, RuleSet, Symptom};
use crate::template::Templates;
pub use broken::probe_result_fields;
use matchers::build_set;

/// Fields of the `failure` template variable.
pub const FAILURE_FIELDS: &[&str] = &[
    "kind",
    "name",
    "namespace",
    "pod",
    "container",
    "initContainer",
    "image",
    "registry",
    "repository",
    "tag",
    "digest",
    "message",
    "messages",
    "reason",
    "serviceAccount",
    "podExists",
    "inferred",
    "category",
    "symptoms",
    "labels",
    "nodeName",
];
/// Fields of the `cluster` template variable.
pub const CLUSTER_FIELDS: &[&str] = &["openshift", "version", "source"];
/// Variables every template can read, besides probe results.
pub const BUILTIN_VARS: &[&str] = &["failure", "captures", "cluster", "inputs", "params"];

struct Compiler<'a> {
    parsed: &'a Parsed,
    diags: &'a mut Diagnostics,
    messages: PatternSetBuilder,
    fields: PatternSetBuilder,
    /// Where each pattern of `messages`/`fields` was first written, and its named groups, by
    /// pattern id.
    message_origins: Vec<(Location, Vec<String>)>,
    field_origins: Vec<(Location, Vec<String>)>,
    /// Named groups of each symptom's patterns, by symptom index.
    symptom_captures: Vec<BTreeSet<String>>,
    /// While compiling a playbook: the named groups its matcher (and its symptoms) define,
    /// and the result fields of its probes whose shape is known.
    captures: BTreeSet<String>,
    probe_fields: HashMap<String, &'static [&'static str]>,
    templates: Templates,
    symptom_ids: HashMap<String, usize>,
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Keep one document per id: a user document replaces a bundled one; two of the same kind collide.
fn dedupe<T>(
    docs: &[Doc<T>],
    id_of: impl Fn(&T) -> &str,
    parsed: &Parsed,
    diags: &mut Diagnostics,
    overridden: &mut Vec<(String, String)>,
    what: &str,
) -> Vec<usize> {
    let mut chosen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, d) in docs.iter().enumerate() {
        let id = id_of(&d.spec);
        match chosen.get(id) {
            None => {
                chosen.insert(id, i);
            }
            Some(&j) => {
                let prev = &docs[j];
                let prev_bundled = parsed.sources[prev.source].bundled;
                let this_bundled = parsed.sources[d.source].bundled;
                if prev_bundled && !this_bundled {
                    overridden.push((id.to_string(), parsed.sources[d.source].name.clone()));
                    chosen.insert(id, i);
                } else {
                    let first = parsed.loc(prev.source, prev.doc, "metadata.name");
                    diags.push(
                        Diagnostic::error(
                            Code::DuplicateId,
                            parsed.loc(d.source, d.doc, "metadata.name"),
                            format!("{what} id `{id}` is defined twice"),
                        )
                        .with_help(format!(
                            "first defined at {first}; ids must be unique (a user rule may replace a bundled one)"
                        )),
                    );
                }
            }
        }
    }
    let mut keep: Vec<usize> = chosen.into_values().collect();
    keep.sort();
    keep
}

pub(super) fn compile(parsed: &Parsed, left_out: &BTreeSet<String>, diags: &mut Diagnostics) -> RuleSet {
    let mut overridden = Vec::new();
    let symptom_docs = dedupe(
        &parsed.symptoms,
        |s: &SymptomSpec| &s.metadata.name,
        parsed,
        diags,
        &mut overridden,
        "symptom",
    );
    let playbook_docs = dedupe(
        &parsed.playbooks,
        |s: &PlaybookSpec| &s.metadata.name,
        parsed,
        diags,
        &mut overridden,
        "rule",
    );
    let mut c = Compiler {
        parsed,
        diags,
        messages: PatternSetBuilder::default(),
        fields: PatternSetBuilder::default(),
        message_origins: Vec::new(),
        field_origins: Vec::new(),
        symptom_captures: Vec::new(),
        captures: BTreeSet::new(),
        probe_fields: HashMap::new(),
        templates: Templates::new(),
        symptom_ids: HashMap::new(),
    };
    let mut symptoms = Vec::new();
    for &i in &symptom_docs {
        let d = &parsed.symptoms[i];
        c.symptom_ids.insert(d.spec.metadata.name.clone(), symptoms.len());
        let s = c.symptom(d);
        let mut names = BTreeSet::new();
        c.test_captures(&s.test, true, &mut names);
        c.symptom_captures.push(names);
        symptoms.push(s);
    }
    for d in &parsed.broken {
        c.broken(d);
    }
    let mut rules = Vec::new();
    // The document of each compiled rule (a playbook with errors compiles to nothing).
    let mut rule_docs = Vec::new();
    for &i in &playbook_docs {
        if let Some(r) = c.playbook(&parsed.playbooks[i]) {
            rules.push(r);
            rule_docs.push(i);
        }
    }
    // `supersedes` must name rules that exist.
    let ids: BTreeSet<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    for (r, &i) in rules.iter().zip(&rule_docs) {
        let d = &parsed.playbooks[i];
        for (k, s) in r.supersedes.iter().enumerate() {
            if left_out.contains(s) {
                c.diags.push(
                    Diagnostic::warning(
                        Code::SupersedesNotLoaded,
                        parsed.loc(d.source, d.doc, &format!("spec.supersedes[{k}]")),
                        format!("`supersedes` names bundled rule `{s}`, which --no-bundled leaves out"),
                    )
                    .with_help("nothing to step aside from while it is not loaded; with the bundled rules it applies"),
                );
            } else if !ids.contains(s.as_str()) {
                let mut diag = Diagnostic::error(
                    Code::InvalidValue,
                    parsed.loc(d.source, d.doc, &format!("spec.supersedes[{k}]")),
                    format!("`supersedes` names unknown rule `{s}`"),
                );
                diag = match did_you_mean(s, ids.iter().copied()) {
                    Some(m) => diag.with_help(format!("did you mean `{m}`?")),
                    None => {
                        diag.with_help("`supersedes` lists ids of loaded playbooks; `remedy rules list` shows them")
                    }
                };
                c.diags.push(diag);
            }
        }
    }
    supersedes_cycles(&rules, &rule_docs, parsed, c.diags);
    let origins = |o: &[(Location, Vec<String>)]| o.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>();
    let messages = build_set(&c.messages, &origins(&c.message_origins), "message", c.diags);
    let fields = build_set(&c.fields, &origins(&c.field_origins), "field", c.diags);
    overridden.sort();
    RuleSet {
        symptoms,
        rules,
        messages,
        fields,
        templates: c.templates,
        overridden,
    }
}

/// Rules that supersede each other (or themselves) would each step aside for the other on a
/// failure both confirm: one diagnostic per cycle, at the first rule's entry that starts it.
fn supersedes_cycles(rules: &[Rule], docs: &[usize], parsed: &Parsed, diags: &mut Diagnostics) {
    let index: HashMap<&str, usize> = rules.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    let edges: Vec<Vec<usize>> = rules
        .iter()
        .map(|r| {
            r.supersedes
                .iter()
                .filter_map(|s| index.get(s.as_str()).copied())
                .collect()
        })
        .collect();
    let mut reported: BTreeSet<BTreeSet<usize>> = BTreeSet::new();
    for start in 0..rules.len() {
        // Breadth-first from `start`; the first way back to it is the shortest cycle through it.
        let mut parent: Vec<Option<usize>> = vec![None; rules.len()];
        let mut queue = std::collections::VecDeque::from([start]);
        let mut seen = vec![false; rules.len()];
        let mut back = None;
        'search: while let Some(n) = queue.pop_front() {
            for &m in &edges[n] {
                if m == start {
                    back = Some(n);
                    break 'search;
                }
                if !seen[m] {
                    seen[m] = true;
                    parent[m] = Some(n);
                    queue.push_back(m);
                }
            }
        }
        let Some(last) = back else { continue };
        let mut cycle = vec![last];
        while let Some(p) = parent[*cycle.last().expect("non-empty")] {
            cycle.push(p);
        }
        if *cycle.last().expect("non-empty") != start {
            cycle.push(start);
        }
        cycle.reverse();
        if !reported.insert(cycle.iter().copied().collect()) {
            continue;
        }
        let next = cycle.get(1).copied().unwrap_or(start);
        let k = rules[start]
            .supersedes
            .iter()
            .position(|s| s == &rules[next].id)
            .unwrap_or(0);
        let d = &parsed.playbooks[docs[start]];
        let names: Vec<&str> = cycle.iter().chain([&start]).map(|&i| rules[i].id.as_str()).collect();
        let msg = if cycle.len() == 1 {
            format!("rule `{}` supersedes itself", rules[start].id)
        } else {
            format!("rules supersede each other: {}", names.join(" → "))
        };
        diags.push(
            Diagnostic::error(
                Code::SupersedesCycle,
                parsed.loc(d.source, d.doc, &format!("spec.supersedes[{k}]")),
                msg,
            )
            .with_help("on a failure they all confirm each would step aside for another; keep `supersedes` on the more precise rule only"),
        );
    }
}

impl Compiler<'_> {
    fn loc(&self, source: usize, doc: usize, path: &str) -> Location {
        self.parsed.loc(source, doc, path)
    }

    fn origin(&self, source: usize, doc: usize) -> Origin {
        let loc = self.loc(source, doc, "metadata.name");
        Origin {
            file: loc.file,
            line: loc.line,
            bundled: self.parsed.sources[source].bundled,
        }
    }

    fn symptom(&mut self, d: &Doc<SymptomSpec>) -> Symptom {
        let m = &d.spec.metadata;
        if !is_kebab(&m.name) {
            self.diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    self.loc(d.source, d.doc, "metadata.name"),
                    format!("symptom id `{}` is not kebab-case", m.name),
                )
                .with_help("use lowercase letters, digits and `-`"),
            );
        }
        let test = self.text(&d.spec.spec.message, true, d.source, d.doc, "spec.message");
        Symptom {
            id: m.name.clone(),
            category: m.category,
            title: m.title.clone(),
            priority: d.spec.spec.priority,
            test,
            examples: d.spec.spec.examples.clone().unwrap_or_default(),
            origin: self.origin(d.source, d.doc),
        }
    }

    fn playbook(&mut self, d: &Doc<PlaybookSpec>) -> Option<Rule> {
        let (si, di) = (d.source, d.doc);
        let m = &d.spec.metadata;
        let body = &d.spec.spec;
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        if !is_kebab(&m.name) {
            self.diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    self.loc(si, di, "metadata.name"),
                    format!("rule id `{}` is not kebab-case", m.name),
                )
                .with_help("use lowercase letters, digits and `-`"),
            );
        }
        let matcher = self.matcher(&body.matcher, si, di, "spec.match");
        let mut captures = BTreeSet::new();
        self.tree_captures(&matcher, &mut captures);
        self.captures = captures;
        self.probe_fields.clear();
        let mut vars: BTreeSet<String> = BUILTIN_VARS.iter().map(|s| s.to_string()).collect();
        let mut probes = Vec::new();
        for (i, p) in body.probes.iter().enumerate() {
            let path = format!("spec.probes[{i}]");
            if !is_ident(&p.name) || vars.contains(&p.name) {
                let why = if is_ident(&p.name) {
                    "is already defined (a built-in or an earlier probe)"
                } else {
                    "is not an identifier"
                };
                self.diags.push(Diagnostic::error(Code::InvalidProbe, self.loc(si, di, &format!("{path}.name")), format!("probe name `{}` {why}", p.name)).with_help("probe names are identifiers (letters, digits, `_`) unique in the playbook, and not failure/captures/cluster/inputs"));
            }
            // A probe may read the probes before it, not itself or later ones.
            if let Some(kind) = self.probe(p, si, di, &path, &vars) {
                match crate::probe::result_fields(&kind) {
                    Some(fields) => self.probe_fields.insert(p.name.clone(), fields),
                    None => self.probe_fields.remove(&p.name),
                };
                probes.push(Probe {
                    name: p.name.clone(),
                    kind,
                });
            }
            vars.insert(p.name.clone());
        }
        let conditions = body
            .when
            .iter()
            .enumerate()
            .map(|(i, w)| Condition {
                name: self.condition(w, si, di, &format!("spec.when[{i}]"), &vars),
                source: w.clone(),
            })
            .collect();
        let explain = body
            .explain
            .as_ref()
            .map(|e| self.tmpl(e, si, di, "spec.explain", &vars));
        let group_src = body
            .group_by
            .clone()
            .unwrap_or_else(|| "{{ failure.namespace }} {{ failure.registry }}".to_string());
        let group_by = self.tmpl(&group_src, si, di, "spec.groupBy", &vars);
        let actions = body
            .actions
            .iter()
            .enumerate()
            .filter_map(|(i, a)| self.action(a, si, di, &format!("spec.actions[{i}]"), &vars))
            .collect();
        let errors_after = self.diags.iter().filter(|d| d.is_error()).count();
        (errors_after == errors_before).then(|| Rule {
            id: m.name.clone(),
            title: m.title.clone(),
            category: m.category,
            severity: m.severity,
            description: m.description.clone(),
            references: m.references.clone(),
            matcher,
            probes,
            conditions,
            explain,
            group_by,
            supersedes: body.supersedes.clone(),
            actions,
            examples: body.examples.clone().unwrap_or_default(),
            origin: self.origin(si, di),
        })
    }
}
