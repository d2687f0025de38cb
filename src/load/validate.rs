//! Every shape problem of a rule document at once: the YAML value is checked against the
//! JSON Schema generated from the `*Spec` types (the one in `schemas/`), so one run reports
//! every unknown field, missing field, wrong type and bad enum value of a document, where
//! serde stops at the first. Only the keywords the generator emits are read: `$ref`, `type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `anyOf`/`oneOf`.

use std::sync::OnceLock;

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

/// One problem, at a dotted YAML path (`spec.match.symtpom`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    UnknownField {
        path: String,
        field: String,
        allowed: Vec<String>,
    },
    MissingField {
        path: String,
        field: String,
    },
    InvalidType {
        path: String,
        found: String,
        expected: String,
    },
    UnknownVariant {
        path: String,
        found: String,
        allowed: Vec<String>,
    },
}

fn schema() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(&crate::schema::playbook_schema()).unwrap_or(Json::Null))
}

/// The problems of a `Playbook` (`playbook == true`) or `Symptom` document; empty when it
/// has the right shape (serde may still refuse it, for example a number out of range).
pub fn problems(doc: &Yaml, playbook: bool) -> Vec<Problem> {
    let root = schema();
    let def = if playbook { "PlaybookSpec" } else { "SymptomSpec" };
    let mut out = Vec::new();
    if let Some(s) = root.pointer(&format!("/$defs/{def}")) {
        check(doc, s, root, "", &mut out);
    }
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `#/$defs/Name` → the schema it names (nested `$ref`s followed, a few levels at most).
fn resolve<'s>(mut s: &'s Json, root: &'s Json) -> &'s Json {
    for _ in 0..8 {
        match s.get("$ref").and_then(Json::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                Some(t) => s = t,
                None => break,
            },
            None => break,
        }
    }
    s
}

/// How a value reads in a message, like serde's `string "x"`, `integer `5``.
fn describe(v: &Yaml) -> String {
    match v {
        Yaml::Null => "null".into(),
        Yaml::Bool(b) => format!("boolean `{b}`"),
        Yaml::Number(n) => format!("number `{n}`"),
        Yaml::String(s) => format!("string {s:?}"),
        Yaml::Sequence(_) => "a list".into(),
        Yaml::Mapping(_) => "a mapping".into(),
        Yaml::Tagged(t) => describe(&t.value),
    }
}

fn expected(types: &[&str]) -> String {
    let words: Vec<&str> = types
        .iter()
        .filter(|t| **t != "null")
        .map(|t| match *t {
            "object" => "a mapping",
            "array" => "a list",
            "string" => "a string",
            "integer" => "an integer",
            "number" => "a number",
            "boolean" => "a boolean (true or false)",
            other => other,
        })
        .collect();
    words.join(" or ")
}

fn type_ok(v: &Yaml, t: &str) -> bool {
    match (t, v) {
        ("null", Yaml::Null)
        | ("boolean", Yaml::Bool(_))
        | ("string", Yaml::String(_))
        | ("array", Yaml::Sequence(_))
        | ("object", Yaml::Mapping(_)) => true,
        ("integer", Yaml::Number(n)) => !n.is_f64(),
        ("number", Yaml::Number(_)) => true,
        (_, Yaml::Tagged(tv)) => type_ok(&tv.value, t),
        _ => false,
    }
}

fn check(v: &Yaml, s: &Json, root: &Json, path: &str, out: &mut Vec<Problem>) {
    let s = resolve(s, root);
    let v = match v {
        Yaml::Tagged(t) => &t.value,
        other => other,
    };
    // `true` or `{}` (a free-form `serde_json::Value`): anything goes.
    let Some(obj) = s.as_object() else { return };
    if let Some(alts) = obj.get("anyOf").or_else(|| obj.get("oneOf")).and_then(Json::as_array) {
        // `Option<T>` is `anyOf: [T, null]`; documented enums are `oneOf` of `const`s. Each
        // alternative is checked once, so nesting costs linear time.
        let is_null = |a: &Json| resolve(a, root).get("type").and_then(Json::as_str) == Some("null");
        if matches!(v, Yaml::Null) && alts.iter().any(is_null) {
            return;
        }
        let consts: Vec<String> = alts
            .iter()
            .filter_map(|a| resolve(a, root).get("const").and_then(Json::as_str).map(str::to_string))
            .collect();
        if !consts.is_empty() {
            if !v.as_str().is_some_and(|x| consts.iter().any(|c| c == x)) {
                out.push(variant_problem(v, path, consts));
            }
            return;
        }
        let others: Vec<&Json> = alts.iter().filter(|a| !is_null(a)).collect();
        if let [only] = others.as_slice() {
            check(v, only, root, path, out);
            return;
        }
        let mut first = None;
        for a in &others {
            let mut p = Vec::new();
            check(v, a, root, path, &mut p);
            if p.is_empty() {
                return;
            }
            first.get_or_insert(p);
        }
        out.extend(first.unwrap_or_default());
        return;
    }
    if let Some(c) = obj.get("const").and_then(Json::as_str) {
        if v.as_str() != Some(c) {
            out.push(variant_problem(v, path, vec![c.to_string()]));
        }
        return;
    }
    let types: Vec<&str> = match obj.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_ok(v, t)) {
        out.push(Problem::InvalidType {
            path: path.to_string(),
            found: describe(v),
            expected: expected(&types),
        });
        return;
    }
    if let Some(values) = obj.get("enum").and_then(Json::as_array) {
        let allowed: Vec<String> = values.iter().filter_map(Json::as_str).map(str::to_string).collect();
        if !v.as_str().is_some_and(|x| allowed.iter().any(|a| a == x)) {
            out.push(variant_problem(v, path, allowed));
        }
        return;
    }
    match v {
        Yaml::Mapping(m) => {
            let props = obj.get("properties").and_then(Json::as_object);
            for (k, val) in m {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
                };
                match props.and_then(|p| p.get(&key)) {
                    Some(ps) => check(val, ps, root, &join(path, &key), out),
                    None => match obj.get("additionalProperties") {
                        Some(Json::Bool(false)) => out.push(Problem::UnknownField {
                            path: join(path, &key),
                            field: key,
                            allowed: props.map(|p| p.keys().cloned().collect()).unwrap_or_default(),
                        }),
                        Some(extra @ Json::Object(_)) => check(val, extra, root, &join(path, &key), out),
                        _ => {}
                    },
                }
            }
            for r in obj.get("required").and_then(Json::as_array).into_iter().flatten() {
                if let Some(r) = r.as_str()
                    && !m.contains_key(r)
                {
                    out.push(Problem::MissingField {
                        path: path.to_string(),
                        field: r.to_string(),
                    });
                }
            }
        }
        Yaml::Sequence(items) => {
            if let Some(is) = obj.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item, is, root, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

fn variant_problem(v: &Yaml, path: &str, allowed: Vec<String>) -> Problem {
    match v.as_str() {
        Some(s) => Problem::UnknownVariant {
            path: path.to_string(),
            found: s.to_string(),
            allowed,
        },
        None => Problem::InvalidType {
            path: path.to_string(),
            found: describe(v),
            expected: format!("one of {}", allowed.join(", ")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str) -> Vec<Problem> {
        problems(&serde_yaml::from_str(text).unwrap(), true)
    }

    #[test]
    fn every_problem_of_a_document() {
        let p = problems_of(
            "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: x, severty: high, category: auht}\nspec:\n  match: {symtpom: a, message: {contians: x}}\n  probes: [{name: p, objekt: {}}]\n  actions: [{manual: {title: 5, steps: notalist}}]\n",
        );
        let paths: Vec<String> = p
            .iter()
            .map(|p| match p {
                Problem::UnknownField { path, .. }
                | Problem::MissingField { path, .. }
                | Problem::InvalidType { path, .. }
                | Problem::UnknownVariant { path, .. } => path.clone(),
            })
            .collect();
        for want in [
            "metadata.severty",
            "metadata.category",
            "metadata",
            "spec.match.symtpom",
            "spec.match.message.contians",
            "spec.probes[0].objekt",
            "spec.actions[0].manual.title",
            "spec.actions[0].manual.steps",
        ] {
            assert!(paths.iter().any(|p| p == want), "{want} missing from {p:#?}");
        }
        assert!(p.contains(&Problem::MissingField {
            path: "metadata".into(),
            field: "title".into()
        }));
    }

    #[test]
    fn a_right_document_has_no_problems() {
        let p = problems_of(
            "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: x, title: t, category: auth, severity: high}\nspec:\n  match: {symptom: a, not: {message: {not: {contains: x}}}, podSelector: {matchLabels: {a: b}, matchExpressions: [{key: a, operator: Exists}]}}\n  probes: [{name: p, object: {apiVersion: v1, kind: Secret, name: s}}]\n  actions: [{ensureObject: {manifest: {any: [thing, 1]}}, disruptive: true}]\n",
        );
        assert!(p.is_empty(), "{p:#?}");
    }
}
