//! Templates of a document that does not deserialise: checked for syntax and unknown filters
//! anyway, so one run reports them with the document's structural problems.

use serde_json::Value;

use super::Parsed;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::template::Templates;

/// Whether the string at `path` is a condition (a bare expression) rather than a template.
fn is_condition(path: &str) -> bool {
    path.ends_with(".onlyIf")
        || path.ends_with(".disruptiveWhen")
        || path.ends_with(".when")
        || (path.starts_with("spec.when[") && !path[10..].contains('.'))
}

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
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(x, p, out);
            }
        }
        _ => {}
    }
}

pub(super) fn scan(parsed: &Parsed, si: usize, di: usize, value: &serde_yaml::Value, diags: &mut Diagnostics) {
    let Ok(v) = serde_json::to_value(value) else { return };
    let Some(spec) = v.get("spec") else { return };
    let mut found = Vec::new();
    walk(spec, "spec".to_string(), &mut found);
    let mut t = Templates::new();
    for (i, (path, src)) in found.iter().enumerate() {
        let name = format!("scan{i}");
        let result = if is_condition(path) {
            t.add_condition(&name, src, path)
        } else {
            t.add(&name, src, path)
        };
        let loc = parsed.loc(si, di, path);
        match result {
            Err(e) => diags.push(
                Diagnostic::error(
                    Code::InvalidTemplate,
                    loc,
                    format!("template does not parse: {}", e.detail().unwrap_or("syntax error")),
                )
                .with_help(
                    "templates use minijinja syntax: `{{ failure.namespace }}`; conditions are bare expressions",
                ),
            ),
            Ok(c) => {
                for u in c.unbounded {
                    diags.push(
                        Diagnostic::error(Code::UnboundedTemplate, loc.clone(), u.message).with_help(
                            "rule templates are bounded so that no rule can build a value of unbounded size: see docs/limits.md",
                        ),
                    );
                }
                for u in c.unknown {
                    let d = Diagnostic::error(
                        Code::UnknownFilter,
                        loc.clone(),
                        format!("unknown {} `{}`", u.what, u.name),
                    );
                    diags.push(match u.suggestion {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")),
                        None => d.with_help("minijinja's built-in filters and tests, and remedy's own, are available"),
                    });
                }
            }
        }
    }
}
