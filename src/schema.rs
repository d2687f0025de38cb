//! JSON Schemas generated from the types: `schemas/playbook.schema.json` for rule files and
//! `schemas/plan.schema.json` for `remedy plan -o json`. A test regenerates both and fails on drift.

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

pub fn plan_schema() -> String {
    let mut s = schemars::schema_for!(Plan);
    s.insert("title".into(), "remedy plan".into());
    pretty(s)
}
