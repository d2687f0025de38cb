//! `remedy explain pod/NAME`: for one pod, every rule considered on each of its failures: which
//! matcher matched or why not, each probe's result, each condition's value, and each action's
//! status with its reason. Pure: it reads an evaluation and the plan built from it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::engine::{Evaluation, Keep, MessageTable, Outcome};
use crate::matcher::{Facts, Hits, MatchTree};
use crate::model::Category;
use crate::plan::Plan;
use crate::rules::RuleSet;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub namespace: String,
    pub pod: String,
    pub failures: Vec<FailureExplained>,
    /// The pod's other failing containers, beyond the first `EXPLAINED` (`--container NAME`
    /// explains one of them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub more_containers: Vec<String>,
}

/// Failures of one pod explained in full: each is some ten kilobytes of text, and a pod can
/// fail in thousands of containers.
pub const EXPLAINED: usize = 20;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureExplained {
    pub container: Option<String>,
    pub image: String,
    pub registry: String,
    /// The category of the failure's best symptom, if any.
    pub category: Option<Category>,
    pub symptoms: Vec<String>,
    pub messages: Vec<String>,
    pub rules: Vec<RuleExplained>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleExplained {
    pub rule: String,
    pub category: Category,
    pub matched: bool,
    /// For a rule whose matcher did not match: the parts that failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why_not: Vec<String>,
    /// confirmed, ruled-out, superseded, error, or skipped (the cluster does not serve an API
    /// the rule needs); absent when the matcher did not match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub probes: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionExplained>,
}

#[derive(Debug, Serialize)]
pub struct ConditionValue {
    pub condition: String,
    /// true, false, error, or not evaluated (a condition before it was false).
    pub value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionExplained {
    pub id: String,
    #[serde(rename = "type")]
    pub action_type: String,
    pub target: Option<String>,
    pub status: String,
    pub reason: String,
}

/// Why a matcher did not match: each top-level part that fails on its own.
fn why_not(rules: &RuleSet, t: &MatchTree, f: &Facts) -> Vec<String> {
    let fields = &rules.fields;
    let part = |m: MatchTree| m.eval(f, fields);
    let mut out = Vec::new();
    let message = MatchTree {
        symptoms: t.symptoms.clone(),
        message: t.message.clone(),
        waiting_message: t.waiting_message.clone(),
        inferred: t.inferred,
        ..MatchTree::default()
    };
    if !part(message) {
        let shown: Vec<&str> = f.symptoms.iter().map(|&s| rules.symptoms[s].id.as_str()).collect();
        let shown = if shown.is_empty() {
            "none".to_string()
        } else {
            shown.join(", ")
        };
        let wanted: Vec<&str> = t.symptoms.iter().map(|&s| rules.symptoms[s].id.as_str()).collect();
        if !wanted.is_empty() && !t.symptoms.iter().any(|s| f.symptoms.contains(s)) {
            out.push(format!(
                "needs symptom {} (the failure shows: {shown})",
                wanted.join(" or ")
            ));
        } else {
            out.push("its message test does not match the failure's messages".to_string());
        }
        if t.inferred && !f.unexplained {
            out.push("it infers only failures whose messages explain nothing (back-off only)".to_string());
        }
    }
    let field = |m: MatchTree, what: &str, value: String, out: &mut Vec<String>| {
        if !m.eval(f, fields) {
            out.push(format!("its `{what}` test fails on {value}"));
        }
    };
    let list = |v: &[&str]| {
        if v.is_empty() {
            "nothing".to_string()
        } else {
            v.join(", ")
        }
    };
    if let Some(x) = &t.event_reason {
        let m = MatchTree {
            event_reason: Some(x.clone()),
            ..MatchTree::default()
        };
        field(m, "eventReason", list(&f.event_reasons), &mut out);
    }
    if let Some(x) = &t.event_type {
        let m = MatchTree {
            event_type: Some(x.clone()),
            ..MatchTree::default()
        };
        field(m, "eventType", list(&f.event_types), &mut out);
    }
    if let Some(x) = &t.involved_kind {
        let m = MatchTree {
            involved_kind: Some(x.clone()),
            ..MatchTree::default()
        };
        field(m, "involvedKind", list(&f.involved_kinds), &mut out);
    }
    if let Some(x) = &t.waiting_reason {
        let m = MatchTree {
            waiting_reason: Some(x.clone()),
            ..MatchTree::default()
        };
        field(
            m,
            "waitingReason",
            f.waiting_reason.unwrap_or("nothing").to_string(),
            &mut out,
        );
    }
    if let Some(x) = &t.image {
        let m = MatchTree {
            image: Some(x.clone()),
            ..MatchTree::default()
        };
        field(m, "image", f.image.to_string(), &mut out);
    }
    if let Some(x) = &t.registry {
        let m = MatchTree {
            registry: Some(x.clone()),
            ..MatchTree::default()
        };
        field(m, "registry", f.registry.to_string(), &mut out);
    }
    if let Some(n) = &t.namespaces
        && !n.allows(f.namespace)
    {
        out.push(format!("namespace {} is outside `namespaces`", f.namespace));
    }
    if let Some(s) = &t.selector
        && !s.matches(f.labels)
    {
        out.push("the pod's labels do not match `podSelector`".to_string());
    }
    if !t.any_of.is_empty() && !t.any_of.iter().any(|m| m.eval(f, fields)) {
        out.push("no `anyOf` alternative matches".to_string());
    }
    for (i, m) in t.all_of.iter().enumerate() {
        if !m.eval(f, fields) {
            out.push(format!("`allOf[{i}]` does not match"));
        }
    }
    if t.not.as_ref().is_some_and(|m| m.eval(f, fields)) {
        out.push("its `not` matcher matches".to_string());
    }
    out
}

fn target_label(t: &crate::plan::ActionTarget) -> String {
    match &t.namespace {
        Some(ns) => format!("{} {ns}/{}", t.kind, t.name),
        None => format!("{} {}", t.kind, t.name),
    }
}

/// Explain the failures `keep` names (of one pod, or one of its containers), the first
/// `keep.at_most` of them in full, from an evaluation that kept them (`evaluate_with`); `None`
/// when there are none. `skipped` holds the rules (by index) left out of the evaluation because
/// the cluster does not serve an API they need, with why (`engine::apis::skipped_rules`).
pub fn explain(
    rules: &RuleSet,
    ev: &Evaluation,
    plan: &Plan,
    keep: Keep,
    skipped: &[(usize, String)],
) -> Option<Explanation> {
    let mut table = MessageTable::new();
    let mut failures = Vec::new();
    let mut more_containers = Vec::new();
    let of_pod = |f: &crate::detect::Failure| keep.of_pod(f);
    // The pod's evaluations by (failure, rule), found in one pass: a pod can fail in thousands
    // of containers, each evaluated by every rule.
    let evaluated: BTreeMap<(usize, usize), &crate::engine::Evaluated> = ev
        .evaluated
        .iter()
        .filter(|e| ev.failures.get(e.failure).is_some_and(of_pod))
        .map(|e| ((e.failure, e.rule), e))
        .collect();
    let by_change = plan.by_change();
    for (fi, f) in ev.failures.iter().enumerate() {
        if !of_pod(f) {
            continue;
        }
        if failures.len() >= keep.at_most {
            more_containers.extend(f.container.as_deref().map(str::to_string));
            continue;
        }
        let c = &ev.classified[fi];
        let hits: Vec<(String, Arc<Hits>)> = f
            .evidence
            .iter()
            .map(|e| (e.message.to_string(), table.hits(rules, &e.message)))
            .collect();
        let waiting = f
            .waiting_message
            .as_ref()
            .map(|m| (m.to_string(), table.hits(rules, m)));
        // The same facts the engine matches on (engine::facts).
        let facts = Facts {
            messages: hits.iter().map(|(m, h)| (m.as_str(), h.as_ref())).collect(),
            symptoms: &c.symptoms,
            unexplained: f.unexplained(),
            event_reasons: f
                .evidence
                .iter()
                .filter(|e| e.source == crate::detect::EvidenceSource::Event)
                .map(|e| &*e.reason)
                .collect(),
            event_types: f.evidence.iter().filter_map(|e| e.event_type.as_deref()).collect(),
            involved_kinds: vec![f.kind],
            waiting_reason: f.waiting_reason.as_deref(),
            waiting_message: waiting.as_ref().map(|(m, h)| (m.as_str(), h.as_ref())),
            image: &f.image,
            registry: &f.registry,
            namespace: &f.namespace,
            labels: &f.labels,
            message_only: false,
        };
        let mut explained = Vec::new();
        for (ri, rule) in rules.rules.iter().enumerate() {
            let evaluated = evaluated.get(&(fi, ri)).copied();
            let mut r = RuleExplained {
                rule: rule.id.clone(),
                category: rule.category,
                matched: evaluated.is_some(),
                why_not: Vec::new(),
                outcome: None,
                detail: None,
                probes: BTreeMap::new(),
                conditions: Vec::new(),
                actions: Vec::new(),
            };
            let skip = skipped.iter().find(|(i, _)| *i == ri);
            if let Some((_, reason)) = skip
                && rule.matcher.eval(&facts, &rules.fields)
            {
                r.matched = true;
                r.outcome = Some("skipped".to_string());
                r.detail = Some(reason.clone());
                explained.push(r);
                continue;
            }
            let Some(e) = evaluated else {
                r.why_not = why_not(rules, &rule.matcher, &facts);
                explained.push(r);
                continue;
            };
            r.probes = e.probes.iter().map(|(k, v)| (k.clone(), v.value())).collect();
            let (outcome, detail) = match &e.outcome {
                Outcome::Confirmed => ("confirmed", None),
                Outcome::Superseded(by) => ("superseded", Some(format!("by {by}, which also confirmed"))),
                Outcome::RuledOut(c) => ("ruled-out", Some(format!("`{c}` is false"))),
                Outcome::Error(m) => ("error", Some(m.clone())),
            };
            r.outcome = Some(outcome.to_string());
            r.detail = detail;
            // Conditions are checked in order, after every probe, and stop at the first false
            // (or failing) one.
            let stop = match &e.outcome {
                Outcome::RuledOut(c) => Some((c.clone(), "false")),
                Outcome::Error(m) => rule
                    .conditions
                    .iter()
                    .find(|c| m.starts_with(&format!("condition `{}`", c.source)))
                    .map(|c| (c.source.clone(), "error")),
                _ => None,
            };
            let probe_failed = matches!(&e.outcome, Outcome::Error(m) if m.starts_with("probe `"));
            let mut after = probe_failed;
            for cond in &rule.conditions {
                let value = match &stop {
                    _ if after => "not evaluated",
                    Some((c, v)) if *c == cond.source => {
                        after = true;
                        v
                    }
                    _ => "true",
                };
                r.conditions.push(ConditionValue {
                    condition: cond.source.clone(),
                    value: value.to_string(),
                });
            }
            if e.outcome == Outcome::Confirmed {
                // This failure's own actions, as the plan lists them (shared ones once).
                let rendered: Vec<Arc<crate::desired::Desired>> = e
                    .actions
                    .iter()
                    .filter_map(|&id| ev.actions.get(id))
                    .map(Arc::new)
                    .collect();
                for a in by_change.actions_for(&rendered) {
                    r.actions.push(ActionExplained {
                        id: a.id.clone(),
                        action_type: a.action_type.to_string(),
                        target: a.target.as_deref().map(target_label),
                        status: a.status.as_str().to_string(),
                        reason: a.reason.clone().unwrap_or_else(|| a.change.summary.clone()),
                    });
                }
            }
            explained.push(r);
        }
        failures.push(FailureExplained {
            container: f.container.as_deref().map(str::to_string),
            image: f.image.to_string(),
            registry: f.registry.to_string(),
            category: c.category,
            symptoms: c.symptoms.iter().map(|&s| rules.symptoms[s].id.clone()).collect(),
            messages: f.evidence.iter().map(|e| e.message.to_string()).collect(),
            rules: explained,
        });
    }
    (!failures.is_empty()).then(|| Explanation {
        namespace: keep.namespace.to_string(),
        pod: keep.pod.to_string(),
        failures,
        more_containers,
    })
}
