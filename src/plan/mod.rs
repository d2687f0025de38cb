//! Plans (pure and deterministic): findings grouped by cause, actions deduplicated across
//! findings, ordered by dependency, each with a status computed against observed state.

mod disruptive;
mod evidence;
mod group;
mod listing;
mod lookup;
pub mod patch;
mod pending;
pub mod record;
pub mod rerun;
pub mod status;
mod types;
mod verdict;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

pub use crate::desired::{Change, Desired, ListItem, Target};
pub use disruptive::changes_node_config;
pub use lookup::ByChange;
pub use types::*;
pub use verdict::exit;

use crate::cluster::SourceInfo;
use crate::desired::ActionId;
use crate::detect::Failure;
use crate::engine::{Evaluation, Outcome};
use crate::inputs::Inputs;
use crate::rules::RuleSet;
use evidence::{messages, subjects_and_explanation, totals, unexplained};
use pending::{Pending, coalesce};

/// A finding's rule id and group key.
type GroupKey = (String, Arc<str>);

/// Build the plan from an evaluation. Pure: same inputs, same bytes.
pub fn build(rules: &RuleSet, ev: &Evaluation, inputs: &Inputs, source: &SourceInfo) -> Plan {
    build_owned(rules, ev.clone(), inputs, source)
}

/// As `build`, taking the evaluation: explanations and probe results move into the plan, and
/// what each failure's evaluation held is freed before the actions are listed, so the two are
/// never both whole in memory.
pub fn build_owned(rules: &RuleSet, mut ev: Evaluation, inputs: &Inputs, source: &SourceInfo) -> Plan {
    // Group confirmed evaluations into findings: (rule id, group key).
    let mut groups: BTreeMap<GroupKey, Vec<usize>> = BTreeMap::new();
    for (i, e) in ev.evaluated.iter().enumerate() {
        if e.outcome == Outcome::Confirmed {
            groups
                .entry((rules.rules[e.rule].id.clone(), e.group.clone()))
                .or_default()
                .push(i);
        }
    }
    let explained: BTreeSet<usize> = groups.values().flatten().map(|&i| ev.evaluated[i].failure).collect();

    let mut findings = Vec::new();
    let mut actions = Pending::default();
    // Sort findings by category, then rule, then group, for a stable, readable order.
    let mut keyed: Vec<(GroupKey, Vec<usize>)> = groups.into_iter().collect();
    keyed.sort_by(|a, b| {
        (rules.rules[ev.evaluated[a.1[0]].rule].category, &a.0)
            .cmp(&(rules.rules[ev.evaluated[b.1[0]].rule].category, &b.0))
    });
    for (fi, ((rule_id, group_key), members)) in keyed.into_iter().enumerate() {
        let first_rule = ev.evaluated[members[0]].rule;
        let first_probes = std::mem::take(&mut ev.evaluated[members[0]].probes);
        let rule = &rules.rules[first_rule];
        let failures: Vec<&Failure> = members.iter().map(|&i| &ev.failures[ev.evaluated[i].failure]).collect();
        let (subjects, explanation) = subjects_and_explanation(&ev.failures, &mut ev.evaluated, &members);
        let totals = totals(&failures, subjects.len());
        let failure_ids: BTreeSet<usize> = members.iter().map(|&i| ev.evaluated[i].failure).collect();
        // One line per rule; a confirmation on any subject wins over other outcomes.
        let candidates: BTreeMap<&str, Candidate> = ev
            .considered
            .of(first_rule, &group_key)
            .map(|(ri, o)| {
                let r = &rules.rules[ri];
                let (outcome, detail) = match o {
                    Outcome::Confirmed => ("confirmed", None),
                    Outcome::RuledOut(c) => ("ruled-out", Some(format!("condition did not hold: {c}"))),
                    Outcome::Superseded(by) => ("superseded", Some(format!("superseded by {by}"))),
                    Outcome::Error(err) => ("error", Some(err.clone())),
                };
                let c = Candidate {
                    rule: r.id.clone(),
                    category: r.category,
                    outcome: outcome.into(),
                    detail,
                };
                (r.id.as_str(), c)
            })
            .collect();
        let symptoms: BTreeSet<String> = failure_ids
            .iter()
            .flat_map(|&f| ev.classified[f].symptoms.iter().map(|&s| rules.symptoms[s].id.clone()))
            .collect();
        let finding_id = format!("f{}", fi + 1);
        let mut action_keys = Vec::new();
        let mut action_keys_seen: HashSet<usize> = HashSet::new();
        // The action read back last: the failures of a finding usually share theirs.
        let mut last: Option<(ActionId, Arc<Desired>)> = None;
        for &m in &members {
            // (action, phase) of the rule's actions declared so far, alternatives left out.
            let mut earlier: Vec<(usize, u8)> = Vec::new();
            let rendered: Vec<Arc<Desired>> = ev.evaluated[m]
                .actions
                .iter()
                .filter_map(|&id| match &last {
                    Some((at, d)) if *at == id => Some(d.clone()),
                    _ => {
                        let d = Arc::new(ev.actions.get(id)?);
                        last = Some((id, d.clone()));
                        Some(d)
                    }
                })
                .collect();
            for d in coalesce(&rendered) {
                let manual = matches!(d.change, Change::Manual { .. });
                // A manual step declared after other actions follows all of them.
                let follows_all = manual && !d.alternative && !earlier.is_empty();
                let phase = if follows_all {
                    earlier.iter().map(|(_, p)| *p).max().unwrap_or(1)
                } else {
                    d.change.phase()
                };
                let key = actions.index(&d, phase);
                actions.needed_by(key, fi);
                let entry = &mut actions.list[key];
                entry.phase = entry.phase.max(phase);
                if !d.alternative {
                    entry.after.extend(
                        earlier
                            .iter()
                            .filter(|(k, p)| *k != key && (follows_all || *p < phase))
                            .map(|(k, _)| *k),
                    );
                    earlier.push((key, phase));
                }
                if action_keys_seen.insert(key) {
                    action_keys.push(key);
                }
            }
        }
        findings.push((
            Finding {
                id: finding_id,
                rule: rule_id,
                title: rule.title.clone(),
                category: rule.category,
                severity: rule.severity,
                registry: failures[0].registry.to_string(),
                subjects,
                explanation,
                inferred: failures.iter().all(|f| f.unexplained()),
                evidence: FindingEvidence {
                    messages: messages(&failures),
                    symptoms: symptoms.into_iter().collect(),
                    conditions: rule.conditions.iter().map(|c| c.source.clone()).collect(),
                    probes: first_probes,
                    totals,
                },
                candidates: candidates.into_values().collect(),
                actions: Vec::new(),
                notes: {
                    let mut notes: Vec<String> = members
                        .iter()
                        .flat_map(|&m| ev.evaluated[m].notes.iter().cloned())
                        .collect();
                    notes.sort();
                    notes.dedup();
                    notes
                },
            },
            action_keys,
        ));
    }

    let mut unexplained_list = Vec::new();
    let mut orphans = Vec::new();
    for (i, f) in ev.failures.iter().enumerate() {
        if !f.pod_exists {
            let mut o = unexplained(f, ev.classified[i].category);
            // A live read lists every pod; a snapshot may have left the namespace out.
            o.gone = Some(source.kind != "snapshot" || ev.pod_namespaces.contains(&*f.namespace));
            orphans.push(o);
        } else if !explained.contains(&i) {
            unexplained_list.push(unexplained(f, ev.classified[i].category));
        }
    }
    let errors: Vec<RuleError> = ev
        .evaluated
        .iter()
        .filter_map(|e| match &e.outcome {
            Outcome::Error(msg) => Some(RuleError {
                rule: rules.rules[e.rule].id.clone(),
                namespace: ev.failures[e.failure].namespace.to_string(),
                pod: ev.failures[e.failure].pod.to_string(),
                error: msg.clone(),
            }),
            _ => None,
        })
        .collect();
    let failing_pods = ev
        .failures
        .iter()
        .filter(|f| f.pod_exists && f.kind == "Pod")
        .map(|f| (&*f.namespace, &*f.pod))
        .collect::<BTreeSet<_>>()
        .len();
    let failing_streams = ev
        .failures
        .iter()
        .filter(|f| f.kind == "ImageStream")
        .map(|f| (&*f.namespace, &*f.pod))
        .collect::<BTreeSet<_>>()
        .len();
    // Everything per failure is in the findings now: free it before the actions are listed.
    ev.evaluated = Vec::new();
    ev.failures = Vec::new();
    ev.classified = Vec::new();
    ev.considered = Default::default();

    let listing::Listed {
        actions: out_actions,
        desired: out_desired,
        numbers,
        mut used,
    } = listing::list(actions, &ev.observed, inputs);
    let findings: Vec<Finding> = findings
        .into_iter()
        .map(|(mut f, keys)| {
            let mut ids: Vec<u32> = keys.iter().map(|&k| numbers[k]).collect();
            ids.sort_unstable();
            f.actions = ids.into_iter().map(|n| format!("a{n}")).collect();
            f
        })
        .collect();

    let mut summary = Summary {
        findings: findings.len(),
        failing_pods,
        failing_image_streams: failing_streams,
        unexplained: unexplained_list.len(),
        orphans: orphans.len(),
        ..Summary::default()
    };
    // The actions are read back once.
    for a in out_actions.iter() {
        *match a.status {
            Status::Pending => &mut summary.pending,
            Status::Satisfied => &mut summary.satisfied,
            Status::Manual => &mut summary.manual,
            Status::NeedsInput => &mut summary.needs_input,
            Status::Blocked => &mut summary.blocked,
        } += 1;
        summary.disruptive += usize::from(a.counts_as_disruptive());
    }
    let objects = record::records(&ev.observed, out_actions.iter());
    used.sort();
    used.dedup();
    Plan {
        api_version: PLAN_API_VERSION.into(),
        kind: "Plan".into(),
        source: PlanSource {
            kind: source.kind.into(),
            name: source.name.clone(),
            partial: false,
            skipped_files: Vec::new(),
            context: None,
            server: None,
            scope: None,
        },
        cluster: ClusterInfo {
            openshift: ev.cluster["openshift"].as_bool().unwrap_or(false),
            version: ev.cluster["version"].as_str().map(str::to_string),
            pods_scanned: ev.pods_scanned,
        },
        rules: RulesInfo {
            playbooks: rules.rules.len(),
            symptoms: rules.symptoms.len(),
            overridden: rules.overridden.iter().map(|(id, _)| id.clone()).collect(),
            skipped: Vec::new(),
        },
        summary,
        findings,
        actions: out_actions,
        unexplained: unexplained_list,
        orphans,
        errors,
        objects,
        inputs: used,
        desired: out_desired,
        rerun: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image() -> Target {
        Target {
            api_version: "config.openshift.io/v1".into(),
            kind: "Image".into(),
            namespace: None,
            name: "cluster".into(),
        }
    }

    fn patch(merge: serde_json::Value) -> Change {
        Change::Patch {
            target: image(),
            merge_patch: Some(merge),
            json_patch: None,
        }
    }

    fn list(path: &str) -> Change {
        Change::EnsureListItem {
            target: image(),
            items: vec![ListItem {
                path: path.into(),
                item: "reg:5000".into(),
                only_if_list_exists: false,
                item_key: None,
            }],
        }
    }

    #[test]
    fn only_registry_sources_changes_roll_out_to_nodes() {
        assert!(!changes_node_config(&patch(
            json!({"spec": {"additionalTrustedCA": {"name": "registry-cas"}}})
        )));
        assert!(changes_node_config(&patch(
            json!({"spec": {"registrySources": {"insecureRegistries": ["reg:5000"]}}})
        )));
        assert!(changes_node_config(&list("spec.registrySources.blockedRegistries")));
        assert!(!changes_node_config(&list("spec.allowedRegistriesForImport")));
        let jp = |ops: serde_json::Value| Change::Patch {
            target: image(),
            merge_patch: None,
            json_patch: Some(ops),
        };
        assert!(changes_node_config(&jp(
            json!([{"op": "add", "path": "/spec/registrySources/insecureRegistries/-", "value": "r"}])
        )));
        assert!(!changes_node_config(&jp(
            json!([{"op": "test", "path": "/spec/registrySources", "value": {}},
                   {"op": "add", "path": "/spec/additionalTrustedCA", "value": {"name": "x"}}])
        )));
        assert!(changes_node_config(&jp(
            json!([{"op": "replace", "path": "/spec", "value": {}}])
        )));
        // The same patch on another object is not node configuration.
        let other = Change::Patch {
            target: Target {
                name: "other".into(),
                ..image()
            },
            merge_patch: Some(json!({"spec": {"registrySources": {}}})),
            json_patch: None,
        };
        assert!(!changes_node_config(&other));
    }

    fn desired(change: Change) -> Desired {
        Desired::new(change)
    }

    #[test]
    fn list_items_of_one_object_coalesce_into_one_change() {
        let restart = desired(Change::RestartPod {
            pod: Target {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: Some("apps".into()),
                name: "p".into(),
            },
        });
        let out = coalesce(&[
            desired(list("spec.registrySources.insecureRegistries")).into(),
            Arc::new(restart.clone()),
            desired(list("spec.registrySources.allowedRegistries")).into(),
        ]);
        assert_eq!(out.len(), 2, "{out:#?}");
        let Change::EnsureListItem { items, .. } = &out[0].change else {
            panic!("{out:#?}")
        };
        let paths: Vec<&str> = items.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.registrySources.insecureRegistries",
                "spec.registrySources.allowedRegistries"
            ]
        );
        assert_eq!(*out[1], restart);
        // A blocked item and an unblocked one stay apart: they do not share a status.
        let mut blocked = desired(list("spec.registrySources.allowedRegistries"));
        blocked.blocked = Some("no".into());
        assert_eq!(
            coalesce(&[
                desired(list("spec.registrySources.insecureRegistries")).into(),
                blocked.into()
            ])
            .len(),
            2
        );
    }

    #[test]
    fn one_action_per_change_and_shared_inputs_stay_as_they_were() {
        let first: Arc<Desired> = desired(list("spec.registrySources.insecureRegistries")).into();
        let mut described = desired(list("spec.registrySources.insecureRegistries"));
        described.description = Some("another description".into());
        let mut alternative = desired(list("spec.registrySources.insecureRegistries"));
        alternative.alternative = true;
        let mut pending = Pending::default();
        let a = pending.index(&first, 1);
        assert_eq!(pending.index(&described, 1), a, "same change: one action");
        assert_ne!(pending.index(&alternative, 1), a, "an alternative is another action");
        assert_eq!(pending.list.len(), 2);
        // Coalescing two list items writes a new change, never the shared one.
        let other: Arc<Desired> = desired(list("spec.registrySources.allowedRegistries")).into();
        let out = coalesce(&[first.clone(), other]);
        assert_eq!(out.len(), 1);
        let Change::EnsureListItem { items, .. } = &first.change else {
            panic!()
        };
        assert_eq!(items.len(), 1, "the shared action was changed: {first:#?}");
    }
}
