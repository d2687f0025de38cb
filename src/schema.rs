//! JSON Schemas generated from the types: `schemas/playbook.schema.json` for rule files and
//! `schemas/plan.schema.json` for `remedy plan -o json`, `schemas/report.schema.json` for
//! `remedy apply --report`. A test regenerates both and fails on drift.

use schemars::JsonSchema;

use crate::model::{PlaybookSpec, SymptomSpec};
use crate::plan::Plan;

/// A rule file document: a playbook or a symptom (only for the schema; the loader reads
/// `kind` first to give precise errors).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum RuleDocument {
    Playbook(Box<PlaybookSpec>),
    Symptom(Box<SymptomSpec>),
}

fn pretty(schema: schemars::Schema) -> String {
    serde_json::to_string_pretty(&schema).expect("schemas serialise") + "\n"
}

pub fn playbook_schema() -> String {
    let mut s = schemars::schema_for!(RuleDocument);
    s.insert("title".into(), "remedy rule file (Playbook or Symptom)".into());
    pretty(s)
}

/// Every property of every object is required: the report always writes every field, `null`
/// when it does not apply (schemars keeps `Option` fields nullable only when not marked
/// required, so they are marked here).
fn require_all(v: &mut serde_json::Value) {
    if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
        let names: Vec<serde_json::Value> = props.keys().cloned().map(Into::into).collect();
        v["required"] = names.into();
    }
    match v {
        serde_json::Value::Object(m) => m.values_mut().for_each(require_all),
        serde_json::Value::Array(a) => a.iter_mut().for_each(require_all),
        _ => {}
    }
}

pub fn report_schema() -> String {
    let mut s = schemars::schema_for!(crate::execute::Report);
    s.insert("title".into(), "remedy apply report".into());
    let mut v = s.to_value();
    require_all(&mut v);
    serde_json::to_string_pretty(&v).expect("schemas serialise") + "\n"
}

pub fn plan_schema() -> String {
    let mut s = schemars::schema_for!(Plan);
    s.insert("title".into(), "remedy plan".into());
    pretty(s)
}
