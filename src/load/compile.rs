//! Spec → runtime: validation with located diagnostics, then compiled rules.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Doc, Parsed};
use crate::diag::{Code, Diagnostic, Diagnostics, Location, did_you_mean};
use crate::matcher::{
    LabelSelector, MatchTree, NamespaceGlob, PatternSet, PatternSetBuilder, TextTest, compile_pattern, leaf_source,
};
use crate::model::{ActionSpec, MatchSpec, ObjectRefSpec, PlaybookSpec, ProbeSpec, SymptomSpec, TextMatcher};
use crate::rules::{
    ActionKind, ActionTemplate, Condition, ObjRefT, Origin, Probe, ProbeKind, Rule, RuleSet, Symptom, Tmpl, TmplValue,
};
use crate::template::{Compiled, OWN_FILTERS, Templates};

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

pub(super) fn compile(parsed: &Parsed, diags: &mut Diagnostics) -> RuleSet {
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
            if !ids.contains(s.as_str()) {
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

/// The first line of a regex error, without the caret diagram.
fn regex_message(e: &regex::Error) -> String {
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
    fn test_captures(&self, t: &TextTest, message: bool, out: &mut BTreeSet<String>) {
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
    fn tree_captures(&self, m: &MatchTree, out: &mut BTreeSet<String>) {
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

    /// Compile a text matcher into the message set (`message == true`) or the field set.
    fn text(&mut self, t: &TextMatcher, message: bool, si: usize, di: usize, path: &str) -> TextTest {
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

    fn matcher(&mut self, m: &MatchSpec, si: usize, di: usize, path: &str) -> MatchTree {
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

    /// Where a template was written, for errors at render time: `file:line:col (path)`.
    fn label(&self, si: usize, di: usize, path: &str) -> String {
        let loc = self.loc(si, di, path);
        if loc.line.is_some() {
            format!("{loc} ({path})")
        } else {
            loc.to_string()
        }
    }

    /// The file position of `name` at (`line`, `column`) of template `src`, written at `path`:
    /// found by looking for the tag up to the name (`{{ failure.image | nosuch`) in the file from
    /// the field on, since a block scalar spreads a template over lines. Falls back to the
    /// field itself (an escaped string, a tag folded over lines).
    #[allow(clippy::too_many_arguments)]
    fn template_pos(
        &self,
        si: usize,
        di: usize,
        path: &str,
        src: &str,
        line: usize,
        column: usize,
        name: &str,
    ) -> Location {
        let field = self.loc(si, di, path);
        let Some(start) = field.line else { return field };
        let Some(tline) = src.lines().nth(line.saturating_sub(1)) else {
            return field;
        };
        // Byte offset of the name in its template line, then back to the start of its tag.
        let Some((at, _)) = tline.char_indices().nth(column.saturating_sub(1)) else {
            return field;
        };
        let tag = tline[..at].rfind("{{").or_else(|| tline[..at].rfind("{%")).unwrap_or(0);
        let fragment = format!("{}{name}", &tline[tag..at]);
        let fragment = fragment.trim_start();
        let lead = tline[tag..at].chars().count() - tline[tag..at].trim_start().chars().count();
        let text = &self.parsed.sources[si].text;
        let window = src.lines().count() + 3;
        for (i, fline) in text.lines().enumerate().skip(start - 1).take(window) {
            if let Some(b) = fline.find(fragment) {
                let col = fline[..b].chars().count() + tline[tag..at].chars().count() - lead + 1;
                return Location {
                    line: Some(i + 1),
                    column: Some(col),
                    ..field
                };
            }
        }
        field
    }

    /// Report what compiling a template found: undefined variables, unknown filters/tests.
    fn compiled(&mut self, c: &Compiled, src: &str, si: usize, di: usize, path: &str, vars: &BTreeSet<String>) {
        self.check_vars(&c.vars, vars, si, di, path);
        for u in &c.unknown {
            let d = Diagnostic::error(
                Code::UnknownFilter,
                self.template_pos(si, di, path, src, u.line, u.column, &u.name),
                format!("unknown {} `{}`", u.what, u.name),
            );
            let d = match u.suggestion {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None if u.what == "filter" => d.with_help(format!(
                    "minijinja's built-in filters and remedy's own ({}) are available",
                    OWN_FILTERS.join(", ")
                )),
                None => d.with_help("minijinja's built-in tests are available (`is defined`, `is none`, `is in`, ...)"),
            };
            self.diags.push(d);
        }
    }

    /// Compile a template field, checking the variables it reads against `vars`.
    fn tmpl(&mut self, src: &str, si: usize, di: usize, path: &str, vars: &BTreeSet<String>) -> Tmpl {
        if !src.contains("{{") && !src.contains("{%") {
            return Tmpl::Literal(src.to_string());
        }
        let name = format!("{si}:{di}:{path}");
        let label = self.label(si, di, path);
        match self.templates.add(&name, src, &label) {
            Ok(c) => self.compiled(&c, src, si, di, path, vars),
            Err(e) => self.template_error(&e, si, di, path),
        }
        Tmpl::Template(name)
    }

    fn condition(&mut self, src: &str, si: usize, di: usize, path: &str, vars: &BTreeSet<String>) -> String {
        let name = format!("{si}:{di}:{path}");
        let label = self.label(si, di, path);
        match self.templates.add_condition(&name, src, &label) {
            Ok(c) => self.compiled(&c, src, si, di, path, vars),
            Err(e) => self.template_error(&e, si, di, path),
        }
        name
    }

    fn template_error(&mut self, e: &minijinja::Error, si: usize, di: usize, path: &str) {
        let detail = e.detail().map(str::to_string).unwrap_or_else(|| e.to_string());
        self.diags.push(
            Diagnostic::error(Code::InvalidTemplate, self.loc(si, di, path), format!("template does not parse: {detail}"))
                .with_help("templates use minijinja syntax: `{{ failure.namespace }}`; conditions are bare expressions such as `not podSecrets.covers`"),
        );
    }

    fn check_vars(
        &mut self,
        used: &std::collections::HashSet<String>,
        vars: &BTreeSet<String>,
        si: usize,
        di: usize,
        path: &str,
    ) {
        let mut used: Vec<&String> = used.iter().collect();
        used.sort();
        for var in used {
            let mut parts = var.split('.');
            let root = parts.next().unwrap_or_default();
            let attr = parts.next();
            let problem = if !vars.contains(root) && self.templates.global_names().iter().any(|g| g == root) {
                None
            } else if !vars.contains(root) {
                Some((root.to_string(), vars.iter().map(String::as_str).collect::<Vec<_>>()))
            } else if root == "failure" && attr.is_some_and(|a| !FAILURE_FIELDS.contains(&a)) {
                Some((var.clone(), FAILURE_FIELDS.to_vec()))
            } else if root == "cluster" && attr.is_some_and(|a| !CLUSTER_FIELDS.contains(&a)) {
                Some((var.clone(), CLUSTER_FIELDS.to_vec()))
            } else if root == "captures" && attr.is_some_and(|a| !self.captures.contains(a)) {
                Some((var.clone(), self.captures.iter().map(String::as_str).collect()))
            } else if let Some(fields) = self.probe_fields.get(root)
                && attr.is_some_and(|a| !fields.contains(&a))
            {
                Some((var.clone(), fields.to_vec()))
            } else {
                None
            };
            if let Some((name, candidates)) = problem {
                let last = name.rsplit('.').next().unwrap_or(&name);
                let mut d = Diagnostic::error(
                    Code::UndefinedVariable,
                    self.loc(si, di, path),
                    format!("template uses undefined variable `{name}`"),
                );
                d = match did_you_mean(last, candidates.iter().copied()) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None if candidates.is_empty() && root == "captures" => d.with_help(
                        "the rule's patterns (and its symptoms') name no groups: add one, as in `(?P<name>...)`",
                    ),
                    None => d.with_help(format!("defined here: {}", candidates.join(", "))),
                };
                self.diags.push(d);
            }
        }
    }

    fn obj_ref(&mut self, r: &ObjectRefSpec, si: usize, di: usize, path: &str, vars: &BTreeSet<String>) -> ObjRefT {
        ObjRefT {
            api_version: self.tmpl(&r.api_version, si, di, &format!("{path}.apiVersion"), vars),
            kind: self.tmpl(&r.kind, si, di, &format!("{path}.kind"), vars),
            namespace: r
                .namespace
                .as_ref()
                .map(|n| self.tmpl(n, si, di, &format!("{path}.namespace"), vars)),
            name: self.tmpl(&r.name, si, di, &format!("{path}.name"), vars),
        }
    }

    fn tmpl_value(
        &mut self,
        v: &serde_json::Value,
        si: usize,
        di: usize,
        path: &str,
        vars: &BTreeSet<String>,
    ) -> TmplValue {
        let base = format!("{si}:{di}:{path}#");
        let mut found = Vec::new();
        templated_strings(v, String::new(), &mut found);
        for (ptr, s) in found {
            // `/spec/items/0/name` → `spec.items[0].name`, the position index's form.
            let mut at = path.to_string();
            for seg in ptr.split('/').filter(|p| !p.is_empty()) {
                if seg.bytes().all(|b| b.is_ascii_digit()) {
                    at.push_str(&format!("[{seg}]"));
                } else {
                    at.push('.');
                    at.push_str(seg);
                }
            }
            let label = self.label(si, di, &at);
            match self.templates.add(&format!("{base}{ptr}"), s, &label) {
                Ok(c) => self.compiled(&c, s, si, di, &at, vars),
                Err(e) => self.template_error(&e, si, di, &at),
            }
        }
        TmplValue { base, value: v.clone() }
    }

    fn probe(&mut self, p: &ProbeSpec, si: usize, di: usize, path: &str, vars: &BTreeSet<String>) -> Option<ProbeKind> {
        let n = [
            p.object.is_some(),
            p.pull_secrets.is_some(),
            p.first_covering.is_some(),
            p.image_config.is_some(),
            p.trusted_ca.is_some(),
            p.owner.is_some(),
            p.json_path.is_some(),
            p.registry.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if n != 1 {
            self.diags.push(
                Diagnostic::error(
                    Code::AmbiguousSpec,
                    self.loc(si, di, path),
                    format!("probe `{}` must set exactly one probe type (it sets {n})", p.name),
                )
                .with_help(
                    "one of: object, pullSecrets, firstCovering, imageConfig, trustedCa, owner, jsonPath, registry",
                ),
            );
            return None;
        }
        let t = |this: &mut Self, s: &str, key: &str| this.tmpl(s, si, di, &format!("{path}.{key}"), vars);
        Some(if let Some(o) = &p.object {
            ProbeKind::Object(self.obj_ref(o, si, di, &format!("{path}.object"), vars))
        } else if let Some(x) = &p.pull_secrets {
            ProbeKind::PullSecrets {
                pod: t(self, &x.pod, "pullSecrets.pod"),
                registry: t(self, &x.registry, "pullSecrets.registry"),
                image: x.image.as_ref().map(|i| t(self, i, "pullSecrets.image")),
            }
        } else if let Some(x) = &p.first_covering {
            ProbeKind::FirstCovering {
                registry: t(self, &x.registry, "firstCovering.registry"),
                image: x.image.as_ref().map(|i| t(self, i, "firstCovering.image")),
                candidates: x
                    .candidates
                    .iter()
                    .enumerate()
                    .map(|(i, c)| t(self, c, &format!("firstCovering.candidates[{i}]")))
                    .collect(),
            }
        } else if let Some(x) = &p.image_config {
            ProbeKind::ImageConfig {
                registry: t(self, &x.registry, "imageConfig.registry"),
            }
        } else if let Some(x) = &p.trusted_ca {
            ProbeKind::TrustedCa {
                registry: t(self, &x.registry, "trustedCa.registry"),
            }
        } else if let Some(x) = &p.owner {
            ProbeKind::Owner {
                pod: t(self, &x.pod, "owner.pod"),
            }
        } else if let Some(x) = &p.registry {
            ProbeKind::Registry {
                pod: t(self, &x.pod, "registry.pod"),
                image: t(self, &x.image, "registry.image"),
            }
        } else {
            let x = p.json_path.as_ref().expect("counted above");
            if let Err(e) = jsonpath_rust::parser::parse_json_path(&x.path) {
                self.diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        self.loc(si, di, &format!("{path}.jsonPath.path")),
                        format!("invalid JSONPath: {e}"),
                    )
                    .with_help("for example `$.spec.registrySources.insecureRegistries[*]`"),
                );
            }
            ProbeKind::JsonPath {
                object: self.obj_ref(&x.object, si, di, &format!("{path}.jsonPath.object"), vars),
                path: x.path.clone(),
            }
        })
    }

    fn action(
        &mut self,
        a: &ActionSpec,
        si: usize,
        di: usize,
        path: &str,
        vars: &BTreeSet<String>,
    ) -> Option<ActionTemplate> {
        let n = [
            a.copy_secret.is_some(),
            a.link_pull_secret.is_some(),
            a.merge_docker_auths.is_some(),
            a.ensure_list_item.is_some(),
            a.set_config_map_key.is_some(),
            a.patch.is_some(),
            a.ensure_object.is_some(),
            a.restart_pod.is_some(),
            a.manual.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if n != 1 {
            self.diags.push(
                Diagnostic::error(Code::AmbiguousSpec, self.loc(si, di, path), format!("an action must set exactly one action type (this one sets {n})"))
                    .with_help("one of: copySecret, linkPullSecret, mergeDockerAuths, ensureListItem, setConfigMapKey, patch, ensureObject, restartPod, manual"),
            );
            return None;
        }
        let t = |this: &mut Self, s: &str, key: &str| this.tmpl(s, si, di, &format!("{path}.{key}"), vars);
        let input = |this: &mut Self, s: &str, key: &str| {
            if !is_ident(s) {
                this.diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        this.loc(si, di, &format!("{path}.{key}")),
                        format!("input name `{s}` is not an identifier"),
                    )
                    .with_help(
                        "use letters, digits and `_`, e.g. `registry_auth`; users give it with --set-file NAME=PATH",
                    ),
                );
            }
            s.to_string()
        };
        let kind = if let Some(x) = &a.copy_secret {
            ActionKind::CopySecret {
                from: t(self, &x.from, "copySecret.from"),
                to: t(self, &x.to, "copySecret.to"),
            }
        } else if let Some(x) = &a.link_pull_secret {
            ActionKind::LinkPullSecret {
                service_account: t(self, &x.service_account, "linkPullSecret.serviceAccount"),
                secret: t(self, &x.secret, "linkPullSecret.secret"),
            }
        } else if let Some(x) = &a.merge_docker_auths {
            ActionKind::MergeDockerAuths {
                secret: t(self, &x.secret, "mergeDockerAuths.secret"),
                registry: t(self, &x.registry, "mergeDockerAuths.registry"),
                input: input(self, &x.input, "mergeDockerAuths.input"),
            }
        } else if let Some(x) = &a.ensure_list_item {
            ActionKind::EnsureListItem {
                target: self.obj_ref(&x.target, si, di, &format!("{path}.ensureListItem.target"), vars),
                path: x.path.clone(),
                item: t(self, &x.item, "ensureListItem.item"),
                only_if_list_exists: x.only_if_list_exists,
                item_key: x.item_key.clone(),
            }
        } else if let Some(x) = &a.set_config_map_key {
            ActionKind::SetConfigMapKey {
                config_map: t(self, &x.config_map, "setConfigMapKey.configMap"),
                key: t(self, &x.key, "setConfigMapKey.key"),
                input: input(self, &x.input, "setConfigMapKey.input"),
                copy_from: x.copy_from.as_ref().map(|k| t(self, k, "setConfigMapKey.copyFrom")),
                remove_keys: x
                    .remove_keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| t(self, k, &format!("setConfigMapKey.removeKeys[{i}]")))
                    .collect(),
            }
        } else if let Some(x) = &a.patch {
            if x.merge_patch.is_some() == x.json_patch.is_some() {
                self.diags.push(
                    Diagnostic::error(
                        Code::AmbiguousSpec,
                        self.loc(si, di, &format!("{path}.patch")),
                        "a patch sets exactly one of `mergePatch` and `jsonPatch`",
                    )
                    .with_help(
                        "mergePatch for JSON merge patches (RFC 7386), jsonPatch for operation lists (RFC 6902)",
                    ),
                );
            }
            ActionKind::Patch {
                target: self.obj_ref(&x.target, si, di, &format!("{path}.patch.target"), vars),
                merge_patch: x
                    .merge_patch
                    .as_ref()
                    .map(|v| self.tmpl_value(v, si, di, &format!("{path}.patch.mergePatch"), vars)),
                json_patch: x.json_patch.as_ref().map(|v| {
                    self.tmpl_value(
                        &serde_json::Value::Array(v.clone()),
                        si,
                        di,
                        &format!("{path}.patch.jsonPatch"),
                        vars,
                    )
                }),
            }
        } else if let Some(x) = &a.ensure_object {
            let ok = x.manifest.get("apiVersion").is_some()
                && x.manifest.get("kind").is_some()
                && x.manifest.pointer("/metadata/name").is_some();
            if !ok {
                self.diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        self.loc(si, di, &format!("{path}.ensureObject.manifest")),
                        "the manifest needs `apiVersion`, `kind` and `metadata.name`",
                    )
                    .with_help("write the object as `kubectl apply` would take it"),
                );
            }
            ActionKind::EnsureObject {
                manifest: self.tmpl_value(&x.manifest, si, di, &format!("{path}.ensureObject.manifest"), vars),
            }
        } else if let Some(x) = &a.restart_pod {
            ActionKind::RestartPod {
                pod: t(self, &x.pod, "restartPod.pod"),
            }
        } else {
            let x = a.manual.as_ref().expect("counted above");
            ActionKind::Manual {
                title: t(self, &x.title, "manual.title"),
                steps: x
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| t(self, s, &format!("manual.steps[{i}]")))
                    .collect(),
                commands: x
                    .commands
                    .iter()
                    .enumerate()
                    .map(|(i, s)| t(self, s, &format!("manual.commands[{i}]")))
                    .collect(),
            }
        };
        Some(ActionTemplate {
            description: a.description.as_ref().map(|s| t(self, s, "description")),
            when: a
                .when
                .as_ref()
                .map(|s| self.condition(s, si, di, &format!("{path}.when"), vars)),
            only_if: a
                .only_if
                .as_ref()
                .map(|s| self.condition(s, si, di, &format!("{path}.onlyIf"), vars)),
            requires: a
                .requires
                .iter()
                .enumerate()
                .map(|(i, r)| input(self, r, &format!("requires[{i}]")))
                .collect(),
            blocked_reason: a.blocked_reason.as_ref().map(|s| t(self, s, "blockedReason")),
            disruptive: a.disruptive,
            alternative: a.alternative,
            disruptive_when: a
                .disruptive_when
                .as_ref()
                .map(|s| self.condition(s, si, di, &format!("{path}.disruptiveWhen"), vars)),
            kind,
        })
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

/// Every string under `v` that holds template syntax, with its JSON pointer below `v`.
fn templated_strings<'v>(v: &'v serde_json::Value, ptr: String, out: &mut Vec<(String, &'v str)>) {
    match v {
        serde_json::Value::String(s) if s.contains("{{") || s.contains("{%") => out.push((ptr, s)),
        serde_json::Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                templated_strings(x, format!("{ptr}/{i}"), out);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                templated_strings(x, format!("{ptr}/{k}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_too_large_is_blamed_on_the_pattern_that_tips_it_over() {
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
