//! `-n`, `-l`, `--category` and `--rule` resolved into the engine's scope, with the loaded
//! rules at hand to check playbook ids.

use anyhow::bail;

use super::ScopeArgs;
use crate::engine::scope::{Scope, Selector};
use crate::model::Category;
use crate::rules::RuleSet;

fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (strsim::jaro_winkler(name, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

pub fn resolve(args: &ScopeArgs, rules: &RuleSet) -> anyhow::Result<Scope> {
    let mut scope = Scope::default();
    for ns in &args.namespace {
        if ns.trim().is_empty() {
            bail!("--namespace: the name is empty");
        }
        scope.namespaces.insert(ns.trim().to_string());
    }
    if let Some(sel) = &args.selector {
        scope.selector = Some(Selector::parse(sel)?);
    }
    for c in &args.category {
        match serde_json::from_value::<Category>(serde_json::Value::String(c.clone())) {
            Ok(cat) => {
                scope.categories.insert(cat);
            }
            Err(_) => {
                let names: Vec<&str> = rules.rules.iter().map(|r| r.category.as_str()).collect();
                let mut all = names.clone();
                all.sort();
                all.dedup();
                match closest(c, all.iter().copied()) {
                    Some(k) => bail!("--category {c}: no such category (did you mean `{k}`?)"),
                    None => bail!("--category {c}: no such category; the rules know {}", all.join(", ")),
                }
            }
        }
    }
    for id in &args.rule {
        if rules.rule(id).is_none() {
            match closest(id, rules.rules.iter().map(|r| r.id.as_str())) {
                Some(k) => bail!("--rule {id}: no such playbook (did you mean `{k}`?)"),
                None => bail!("--rule {id}: no such playbook (`remedy rules list` shows them)"),
            }
        }
        scope.rules.insert(id.clone());
    }
    Ok(scope)
}
