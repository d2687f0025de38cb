//! Templates of a playbook that does not deserialise: checked anyway (syntax, filters and the
//! variables they read), with what its raw document defines, so one run reports template
//! errors together with the document's structural problems.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{BUILTIN_VARS, Compiler};
use crate::load::Doc;
use crate::rules::{ObjRefT, ProbeKind, Tmpl};

/// The result fields of a probe kind, by its key in a rule file (`pullSecrets`), when the
/// result has a fixed shape; `None` for generic reads and unknown keys.
pub fn probe_result_fields(key: &str) -> Option<&'static [&'static str]> {
    let t = || Tmpl::Literal("".into());
    let r = || ObjRefT {
        api_version: t(),
        kind: t(),
        namespace: None,
        name: t(),
    };
    let kind = match key {
        "object" => ProbeKind::Object(r()),
        "pullSecrets" => ProbeKind::PullSecrets {
            pod: t(),
            registry: t(),
            image: None,
        },
        "firstCovering" => ProbeKind::FirstCovering {
            registry: t(),
            image: None,
            candidates: Vec::new(),
        },
        "imageConfig" => ProbeKind::ImageConfig { registry: t() },
        "trustedCa" => ProbeKind::TrustedCa { registry: t() },
        "owner" => ProbeKind::Owner { pod: t() },
        "jsonPath" => ProbeKind::JsonPath {
            object: r(),
            path: String::new(),
        },
        "registry" => ProbeKind::Registry { pod: t(), image: t() },
        _ => return None,
    };
    crate::probe::result_fields(&kind)
}

/// Whether the string at `path` is a condition (a bare expression) rather than a template.
fn is_condition(path: &str) -> bool {
    path.ends_with(".onlyIf")
        || path.ends_with(".disruptiveWhen")
        || path.ends_with(".when")
        || (path.starts_with("spec.when[") && !path[10..].contains('.'))
}

/// Every template and condition under `v`, with its path.
fn walk(v: &Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if is_condition(&path) || s.contains("{{") || s.contains("{%") => {
            out.push((path, s.clone()));
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                walk(x, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                walk(x, format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

impl Compiler<'_> {
    /// Named groups a raw `match` can capture: of its regexes and of the symptoms it names.
    /// Generous (a `not` branch counts too): a broken document is checked for typos, and a
    /// false alarm would hide the real problems.
    fn raw_captures(&self, v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("regex", Value::String(re)) => {
                            if let Ok(re) = regex::Regex::new(re) {
                                out.extend(re.capture_names().flatten().map(str::to_string));
                            }
                        }
                        ("symptom" | "symptoms", _) => {
                            let ids: Vec<&str> = match x {
                                Value::String(s) => vec![s.as_str()],
                                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                                _ => Vec::new(),
                            };
                            for id in ids {
                                if let Some(names) =
                                    self.symptom_ids.get(id).and_then(|&i| self.symptom_captures.get(i))
                                {
                                    out.extend(names.iter().cloned());
                                }
                            }
                        }
                        _ => self.raw_captures(x, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|x| self.raw_captures(x, out)),
            _ => {}
        }
    }

    fn check_raw(&mut self, found: &[(String, String)], si: usize, di: usize, vars: &BTreeSet<String>) {
        for (path, src) in found {
            let name = format!("broken:{si}:{di}:{path}");
            let label = self.label(si, di, path);
            let result = if is_condition(path) {
                self.templates.add_condition(&name, src, &label)
            } else {
                self.templates.add(&name, src, &label)
            };
            match result {
                Ok(c) => self.compiled(&c, src, si, di, path, vars),
                Err(e) => self.template_error(&e, si, di, path),
            }
        }
    }

    /// Check the templates of a playbook that did not deserialise, as `playbook` does for one
    /// that did: a probe sees the probes before it, everything else sees them all.
    pub(super) fn broken(&mut self, d: &Doc<Value>) {
        let (si, di) = (d.source, d.doc);
        let Some(spec) = d.spec.get("spec").and_then(Value::as_object) else {
            return;
        };
        let mut captures = BTreeSet::new();
        if let Some(m) = spec.get("match") {
            self.raw_captures(m, &mut captures);
        }
        self.captures = captures;
        self.probe_fields.clear();
        let mut vars: BTreeSet<String> = BUILTIN_VARS.iter().map(|s| s.to_string()).collect();
        let probes = spec
            .get("probes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, p) in probes.iter().enumerate() {
            let mut found = Vec::new();
            walk(p, format!("spec.probes[{i}]"), &mut found);
            self.check_raw(&found, si, di, &vars);
            let Some(name) = p.get("name").and_then(Value::as_str) else {
                continue;
            };
            let kinds: Vec<&str> = p
                .as_object()
                .into_iter()
                .flat_map(|m| m.keys())
                .map(String::as_str)
                .filter(|k| *k != "name")
                .collect();
            let fields = match kinds.as_slice() {
                [k] => probe_result_fields(k),
                _ => None,
            };
            match fields {
                Some(f) => self.probe_fields.insert(name.to_string(), f),
                None => self.probe_fields.remove(name),
            };
            vars.insert(name.to_string());
        }
        let mut found = Vec::new();
        for (k, v) in spec {
            // What holds templates and conditions; matchers and examples are plain text.
            if matches!(k.as_str(), "when" | "explain" | "groupBy" | "actions") {
                walk(v, format!("spec.{k}"), &mut found);
            }
        }
        self.check_raw(&found, si, di, &vars);
    }
}
