//! Classifying lone messages (`remedy rules match`) and running rule examples (`remedy rules test`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Facts;
use crate::engine::{MessageTable, symptoms_of};
use crate::model::Category;
use crate::rules::RuleSet;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MessageMatch {
    pub message: String,
    /// The category of the highest-priority symptom, else of the first matching rule, else `other`.
    pub category: Category,
    pub symptoms: Vec<String>,
    pub rules: Vec<String>,
}

pub fn classify_message(rules: &RuleSet, table: &mut MessageTable, message: &str) -> MessageMatch {
    let hits = table.hits(rules, message);
    let symptoms = symptoms_of(rules, message, &hits);
    let mut set: Vec<usize> = symptoms.clone();
    set.sort_unstable();
    set.dedup();
    let labels = BTreeMap::new();
    let facts = Facts {
        messages: vec![(message, &hits)],
        symptoms: &set,
        unexplained: false,
        event_reasons: vec![],
        event_types: vec![],
        involved_kinds: vec![],
        waiting_reason: None,
        waiting_message: Some((message, &hits)),
        image: "",
        registry: "",
        namespace: "",
        labels: &labels,
        message_only: true,
    };
    // Only rules that test the message at all: a rule matching every failure says nothing here.
    let matched: Vec<usize> = rules
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.matcher.has_message_tests() && r.matcher.eval(&facts, &rules.fields))
        .map(|(i, _)| i)
        .collect();
    let category = symptoms
        .first()
        .map(|&s| rules.symptoms[s].category)
        .or_else(|| matched.first().map(|&r| rules.rules[r].category))
        .unwrap_or(Category::Other);
    let mut rule_ids: Vec<String> = matched.iter().map(|&i| rules.rules[i].id.clone()).collect();
    rule_ids.sort();
    MessageMatch {
        message: message.to_string(),
        category,
        symptoms: symptoms.iter().map(|&s| rules.symptoms[s].id.clone()).collect(),
        rules: rule_ids,
    }
}

pub fn count(rules: &RuleSet) -> usize {
    rules
        .symptoms
        .iter()
        .map(|s| s.examples.matching.len() + s.examples.no_match.len())
        .sum::<usize>()
        + rules
            .rules
            .iter()
            .map(|r| r.examples.matching.len() + r.examples.no_match.len())
            .sum::<usize>()
}

/// Every example that does not behave as declared, as a readable line.
pub fn run(rules: &RuleSet) -> Vec<String> {
    let mut table = MessageTable::new();
    let mut out = Vec::new();
    for s in &rules.symptoms {
        for m in &s.examples.matching {
            if !s.test.eval(m, &table.hits(rules, m)) {
                out.push(format!("symptom {} ({}): should match: {m}", s.id, s.origin.file));
            }
        }
        for m in &s.examples.no_match {
            if s.test.eval(m, &table.hits(rules, m)) {
                out.push(format!("symptom {} ({}): should not match: {m}", s.id, s.origin.file));
            }
        }
    }
    for r in &rules.rules {
        for (m, want) in r
            .examples
            .matching
            .iter()
            .map(|m| (m, true))
            .chain(r.examples.no_match.iter().map(|m| (m, false)))
        {
            let got = classify_message(rules, &mut table, m).rules.contains(&r.id);
            if got != want {
                let what = if want { "should match" } else { "should not match" };
                out.push(format!("playbook {} ({}): {what}: {m}", r.id, r.origin.file));
            }
        }
    }
    out
}
