//! Compiling templates and conditions: variables checked against what the rule defines,
//! unknown filters located in the file.

use std::collections::BTreeSet;

use super::{CLUSTER_FIELDS, Compiler, FAILURE_FIELDS};
use crate::diag::{Code, Diagnostic, Location, did_you_mean};
use crate::model::ObjectRefSpec;
use crate::rules::{ObjRefT, Tmpl, TmplValue};
use crate::template::{Compiled, OWN_FILTERS};

impl Compiler<'_> {
    /// Where a template was written, for errors at render time: `file:line:col (path)`.
    pub(super) fn label(&self, si: usize, di: usize, path: &str) -> String {
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
    pub(super) fn template_pos(
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
    pub(super) fn compiled(
        &mut self,
        c: &Compiled,
        src: &str,
        si: usize,
        di: usize,
        path: &str,
        vars: &BTreeSet<String>,
    ) {
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
        for u in &c.unbounded {
            let at = self.template_pos(si, di, path, src, u.line, u.column, "");
            self.diags.push(
                Diagnostic::error(Code::UnboundedTemplate, at, u.message.clone())
                    .with_help("rule templates are bounded so that no rule can build a value of unbounded size: see docs/limits.md"),
            );
        }
    }

    /// Compile a template field, checking the variables it reads against `vars`.
    pub(super) fn tmpl(&mut self, src: &str, si: usize, di: usize, path: &str, vars: &BTreeSet<String>) -> Tmpl {
        if !src.contains("{{") && !src.contains("{%") {
            return Tmpl::Literal(src.into());
        }
        let name = format!("{si}:{di}:{path}");
        let label = self.label(si, di, path);
        match self.templates.add(&name, src, &label) {
            Ok(c) => self.compiled(&c, src, si, di, path, vars),
            Err(e) => self.template_error(&e, si, di, path),
        }
        Tmpl::Template(name)
    }

    pub(super) fn condition(&mut self, src: &str, si: usize, di: usize, path: &str, vars: &BTreeSet<String>) -> String {
        let name = format!("{si}:{di}:{path}");
        let label = self.label(si, di, path);
        match self.templates.add_condition(&name, src, &label) {
            Ok(c) => self.compiled(&c, src, si, di, path, vars),
            Err(e) => self.template_error(&e, si, di, path),
        }
        name
    }

    pub(super) fn template_error(&mut self, e: &minijinja::Error, si: usize, di: usize, path: &str) {
        let detail = e.detail().map(str::to_string).unwrap_or_else(|| e.to_string());
        self.diags.push(
            Diagnostic::error(Code::InvalidTemplate, self.loc(si, di, path), format!("template does not parse: {detail}"))
                .with_help("templates use minijinja syntax: `{{ failure.namespace }}`; conditions are bare expressions such as `not podSecrets.covers`"),
        );
    }

    pub(super) fn check_vars(
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

    pub(super) fn obj_ref(
        &mut self,
        r: &ObjectRefSpec,
        si: usize,
        di: usize,
        path: &str,
        vars: &BTreeSet<String>,
    ) -> ObjRefT {
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

    pub(super) fn tmpl_value(
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
