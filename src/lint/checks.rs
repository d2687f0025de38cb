//! The lints on what a playbook would do: overlaps with the corpus and bundled rules, actions
//! the engine cannot assess, probe results read unguarded, unmarked node rollouts, no examples.

use serde::Deserialize;
use serde_json::Value;

use super::{Finding, Input, LintCode};
use crate::engine::MessageTable;
use crate::matcher::examples::classify_message;
use crate::model::{ActionSpec, Category, ObjectRefSpec};

/// The corpus of real pull-failure messages, as users posted them.
const CORPUS: &str = include_str!("../../tests/data/corpus/pull-errors.yaml");
/// The project's corrections of the corpus's categories (each with its reason).
const CORRECTIONS: &str = include_str!("../../tests/data/corpus/corrections.yaml");

#[derive(Deserialize)]
struct CorpusEntry {
    id: String,
    category: String,
    message: String,
}

#[derive(Deserialize)]
struct Correction {
    id: String,
    category: String,
}

fn corpus() -> Vec<(String, Category, String)> {
    let mut entries: Vec<CorpusEntry> = serde_yaml::from_str(CORPUS).unwrap_or_default();
    let corrections: Vec<Correction> = serde_yaml::from_str(CORRECTIONS).unwrap_or_default();
    for c in corrections {
        if let Some(e) = entries.iter_mut().find(|e| e.id == c.id) {
            e.category = c.category;
        }
    }
    entries
        .into_iter()
        .filter_map(|e| {
            // Credentials absent rather than wrong: matchers treat it as auth.
            let cat = if e.category == "missing-pull-secret" {
                "auth"
            } else {
                e.category.as_str()
            };
            let cat: Category = serde_json::from_value(Value::String(cat.to_string())).ok()?;
            Some((e.id, cat, e.message))
        })
        .collect()
}

fn short(m: &str) -> String {
    let s: String = m.chars().take(100).collect();
    if s.len() < m.len() { format!("{s}…") } else { s }
}

pub(super) fn check(input: &Input, out: &mut Vec<Finding>) {
    let corpus = corpus();
    let mut table = MessageTable::new();
    let user = input
        .linted
        .first()
        .is_some_and(|&i| !input.parsed.sources[input.parsed.playbooks[i].source].bundled);
    for &i in &input.linted {
        let spec = input.spec(i);
        let id = &spec.metadata.name;
        // The compiled rule of this document (absent when it has errors).
        let compiled = input
            .rules
            .rules
            .iter()
            .find(|r| &r.id == id && r.origin.bundled != user);
        if let Some(rule) = compiled {
            let mut other: Vec<&(String, Category, String)> = Vec::new();
            for entry in &corpus {
                if entry.1 == rule.category {
                    continue;
                }
                // A bundled rule's message is counted only when the symptoms misfile it too:
                // bundled rules build on the symptoms' priorities, which the corpus tests check.
                let hit = classify_message(input.rules, &mut table, &entry.2);
                if hit.rules.contains(id) && (user || hit.category != entry.1) {
                    other.push(entry);
                }
            }
            if let Some((cid, cat, msg)) = other.first().map(|e| (&e.0, e.1, &e.2)) {
                out.push(Finding::lint(
                    LintCode::CorpusOtherCategory,
                    input.loc(i, "spec.match"),
                    format!(
                        "`{id}` ({}) matches {} corpus message(s) of other categories, e.g. {cid} ({}): \"{}\"",
                        rule.category.as_str(),
                        other.len(),
                        cat.as_str(),
                        short(msg)
                    ),
                    "narrow the matcher to this failure's wording, or check the rule's category",
                ));
            }
            if user {
                overlaps(input, i, rule, &corpus, &mut table, out);
            }
        }
        for (k, a) in spec.spec.actions.iter().enumerate() {
            action_lints(input, i, k, a, out);
        }
        unguarded(input, i, out);
        let no_examples = spec
            .spec
            .examples
            .as_ref()
            .is_none_or(|e| e.matching.is_empty() && e.no_match.is_empty());
        if no_examples && !input.tested.contains(id) {
            out.push(Finding::lint(
                LintCode::NoExamples,
                input.loc(i, "metadata.name"),
                format!("`{id}` has no examples and no rule test"),
                "add `spec.examples` (`match:`/`noMatch:` real messages) or a rule test; `remedy rules new` scaffolds both",
            ));
        }
    }
}

/// A user rule that matches what a bundled rule of another category matches (corpus messages
/// and both rules' examples), with neither superseding the other.
fn overlaps(
    input: &Input,
    i: usize,
    rule: &crate::rules::Rule,
    corpus: &[(String, Category, String)],
    table: &mut MessageTable,
    out: &mut Vec<Finding>,
) {
    for b in input.rules.rules.iter().filter(|b| b.origin.bundled && b.id != rule.id) {
        if b.category == rule.category || rule.supersedes.contains(&b.id) || b.supersedes.contains(&rule.id) {
            continue;
        }
        let messages = corpus
            .iter()
            .map(|c| &c.2)
            .chain(&rule.examples.matching)
            .chain(&b.examples.matching);
        for m in messages {
            let hit = classify_message(input.rules, table, m);
            if hit.rules.contains(&rule.id) && hit.rules.contains(&b.id) {
                out.push(Finding::lint(
                    LintCode::OverlapsBundled,
                    input.loc(i, "spec.match"),
                    format!(
                        "`{}` ({}) and bundled `{}` ({}) both match \"{}\"",
                        rule.id,
                        rule.category.as_str(),
                        b.id,
                        b.category.as_str(),
                        short(m)
                    ),
                    format!(
                        "if `{}` is the more precise cause, add `supersedes: [{}]`; otherwise narrow its matcher",
                        rule.id, b.id
                    ),
                ));
                break;
            }
        }
    }
}

fn is_cluster_image(t: &ObjectRefSpec) -> bool {
    t.kind == "Image" && t.api_version.starts_with("config.openshift.io/") && t.name == "cluster"
}

fn action_lints(input: &Input, i: usize, k: usize, a: &ActionSpec, out: &mut Vec<Finding>) {
    let path = format!("spec.actions[{k}]");
    if let Some(p) = &a.patch {
        for (j, op) in p.json_patch.iter().flatten().enumerate() {
            let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
            let target = op.get("path").and_then(Value::as_str).unwrap_or("");
            let why = match kind {
                "move" | "copy" => Some(format!("a `{kind}` operation")),
                "add" if target.ends_with("/-") => Some("an append (`add` to `/-`)".to_string()),
                _ => None,
            };
            if let Some(why) = why {
                out.push(Finding::lint(
                    LintCode::IncomparableState,
                    input.loc(i, &format!("{path}.patch.jsonPatch[{j}]")),
                    format!("{why} changes the object every time it is applied: the plan can never see it as done"),
                    "the engine applies the patch to the current object and compares; use ensureListItem for list entries, or a merge patch",
                ));
            }
        }
    }
    if a.disruptive == Some(true) || a.disruptive_when.is_some() {
        return;
    }
    const SOURCES: &str = "spec.registrySources";
    let rolls = match (&a.ensure_list_item, &a.patch) {
        (Some(e), _) => is_cluster_image(&e.target) && e.path.starts_with(SOURCES),
        (_, Some(p)) => {
            is_cluster_image(&p.target)
                && (p
                    .merge_patch
                    .as_ref()
                    .and_then(|m| m.pointer("/spec/registrySources"))
                    .is_some()
                    || p.json_patch.iter().flatten().any(|op| {
                        op.get("path")
                            .and_then(Value::as_str)
                            .is_some_and(|p| p.starts_with("/spec/registrySources"))
                    }))
        }
        _ => false,
    };
    if rolls {
        out.push(Finding::lint(
            LintCode::DisruptiveUnmarked,
            input.loc(i, &path),
            "this changes `registrySources` of image.config.openshift.io/cluster, which rolls out a MachineConfig (every node drained and rebooted), but is not marked disruptive".to_string(),
            "add `disruptive: true` so the rule says what the plan will; the engine marks it disruptive either way",
        ));
    }
}

/// The document's YAML as JSON, to walk every string an action or explanation holds.
fn doc_value(input: &Input, i: usize) -> Option<Value> {
    let d = &input.parsed.playbooks[i];
    let text = &input.parsed.sources[d.source].text;
    serde_yaml::Deserializer::from_str(text)
        .nth(d.doc)
        .and_then(|doc| Value::deserialize(doc).ok())
}

fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Probes whose result is null when what they read is absent (an object, a JSONPath, an
/// owner): a template reading a field of one needs a condition that it is there.
fn unguarded(input: &Input, i: usize, out: &mut Vec<Finding>) {
    let spec = input.spec(i);
    let nullable: Vec<&str> = spec
        .spec
        .probes
        .iter()
        .filter(|p| p.object.is_some() || p.json_path.is_some() || p.owner.is_some())
        .map(|p| p.name.as_str())
        .collect();
    if nullable.is_empty() {
        return;
    }
    let Some(doc) = doc_value(input, i) else { return };
    for name in nullable {
        let Ok(reads) = regex::Regex::new(&format!(r"\b{}\s*(\.|\[)", regex::escape(name))) else {
            continue;
        };
        let Ok(mention) = regex::Regex::new(&format!(r"\b{}\b", regex::escape(name))) else {
            continue;
        };
        let Ok(guard) = regex::Regex::new(&format!(
            r"(\bif\s+(not\s+)?{n}\b|\b{n}\s+is\s+(not\s+)?(defined|none|undefined)|\b{n}\s+(and|or)\b|\b{n}\s*\|\s*default)",
            n = regex::escape(name)
        )) else {
            continue;
        };
        if spec.spec.when.iter().any(|w| mention.is_match(w)) {
            continue;
        }
        let mut places: Vec<(String, &Value)> = Vec::new();
        if let Some(e) = doc.pointer("/spec/explain") {
            places.push(("spec.explain".into(), e));
        }
        for (k, a) in doc
            .pointer("/spec/actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let guarded = ["when", "onlyIf"]
                .iter()
                .any(|c| a.get(c).and_then(Value::as_str).is_some_and(|s| mention.is_match(s)));
            if !guarded {
                places.push((format!("spec.actions[{k}]"), a));
            }
        }
        for (path, v) in places {
            let mut texts = Vec::new();
            strings(v, &mut texts);
            if texts.iter().any(|t| reads.is_match(t) && !guard.is_match(t)) {
                out.push(Finding::lint(
                    LintCode::UnguardedProbe,
                    input.loc(i, &path),
                    format!("reads a field of probe `{name}`, whose result is null when what it reads is absent, and no condition checks it"),
                    format!("add `{name}` to the rule's `when` (or the action's `when`/`onlyIf`), or guard the template: `{{% if {name} %}}`"),
                ));
            }
        }
    }
}
