//! One run: detect failures, classify their messages, evaluate the rules that match
//! (probes, conditions), render the actions, and read the objects those actions touch.
//! Everything that reads the cluster goes through `probe::Reader`.

pub mod apis;
pub mod considered;
mod context;
mod render;
pub mod scope;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::cluster::{ClusterError, ClusterSource, GroupKind, Object, ObjectKey};
use crate::desired::{ActionId, Actions};
use crate::detect::{self, Failure};
use crate::inputs::Inputs;
use crate::matcher::{Facts, Hits};
use crate::model::Category;
use crate::probe::Reader;
use crate::rules::RuleSet;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// How a rule fared on one failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Confirmed,
    /// A condition did not hold (the condition as written).
    RuledOut(String),
    /// A more precise rule confirmed the same failure.
    Superseded(String),
    /// Evaluating the rule failed (a probe or template error).
    Error(String),
}

/// A rule evaluated on one failure.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub rule: usize,
    pub failure: usize,
    pub outcome: Outcome,
    // Shared by the evaluations of one group (there is one per failure): see `evaluate_full`.
    pub group: Arc<str>,
    pub probes: BTreeMap<String, crate::probe::recorded::Recorded>,
    /// Shares what it has in common with the first explanation of its rule and group.
    pub explanation: Option<crate::near::Text>,
    /// Into the run's `Evaluation::actions`.
    pub actions: Box<[ActionId]>,
    /// What could not be read (a forbidden probe read): such probes are `null`, and every
    /// action of the rule is blocked with the note as its reason.
    pub notes: Vec<String>,
}

/// The classification of a failure's messages.
#[derive(Debug, Clone, Default)]
pub struct Classified {
    /// Sorted, each once: one per failure, and a set's node is about a hundred bytes.
    pub symptoms: Vec<usize>,
    pub category: Option<Category>,
}

#[derive(Debug, Clone)]
pub struct Evaluation {
    pub cluster: Value,
    pub failures: Vec<Failure>,
    pub classified: Vec<Classified>,
    /// Confirmed rules and rule errors; every outcome too when probes are kept (`explain`)
    /// or a filter applies. The rest of what rules made of a finding's failures is in
    /// `considered`.
    pub evaluated: Vec<Evaluated>,
    pub considered: considered::Considered,
    /// Every distinct action the evaluations render, each once.
    pub actions: Actions,
    /// Current state of every object an action targets or reads.
    pub observed: BTreeMap<ObjectKey, Option<Arc<Object>>>,
    pub pods_scanned: usize,
    /// Namespaces the state holds pods of: a failing pod missing from one of them is gone; one
    /// missing from any other may only be missing from the capture.
    pub pod_namespaces: std::collections::BTreeSet<String>,
}

/// How many messages' scans `MessageTable` keeps.
const MESSAGES_KEPT: usize = 4096;

/// Message → which patterns of the shared set it hits, computed once per distinct message.
pub struct MessageTable {
    hits: HashMap<String, Arc<Hits>>,
}

impl MessageTable {
    pub fn new() -> Self {
        MessageTable { hits: HashMap::new() }
    }

    pub fn hits(&mut self, rules: &RuleSet, message: &str) -> Arc<Hits> {
        if let Some(h) = self.hits.get(message) {
            return h.clone();
        }
        // Bounded: a scan is cheap to redo, and a cluster can hold any number of messages.
        if self.hits.len() >= MESSAGES_KEPT {
            self.hits.clear();
        }
        let h = Arc::new(rules.messages.scan(message));
        self.hits.insert(message.to_string(), h.clone());
        h
    }
}

impl Default for MessageTable {
    fn default() -> Self {
        Self::new()
    }
}

/// The symptoms one message shows, best (highest priority) first.
pub fn symptoms_of(rules: &RuleSet, message: &str, hits: &Hits) -> Vec<usize> {
    let mut found: Vec<usize> = rules
        .symptoms
        .iter()
        .enumerate()
        .filter(|(_, s)| s.test.eval(message, hits))
        .map(|(i, _)| i)
        .collect();
    found.sort_by(|&a, &b| {
        rules.symptoms[b]
            .priority
            .cmp(&rules.symptoms[a].priority)
            .then_with(|| rules.symptoms[a].id.cmp(&rules.symptoms[b].id))
    });
    found
}

pub fn classify(rules: &RuleSet, table: &mut MessageTable, f: &Failure) -> Classified {
    let mut out = Classified::default();
    let mut best: Option<usize> = None;
    for ev in &f.evidence {
        let hits = table.hits(rules, &ev.message);
        let found = symptoms_of(rules, &ev.message, &hits);
        if let Some(&top) = found.first()
            && best.is_none_or(|b| rules.symptoms[top].priority > rules.symptoms[b].priority)
        {
            best = Some(top);
        }
        out.symptoms.extend(found);
    }
    out.symptoms.sort_unstable();
    out.symptoms.dedup();
    out.symptoms.shrink_to_fit();
    out.category = best.map(|b| rules.symptoms[b].category);
    out
}

/// Facts for matching one failure.
fn facts<'a>(
    f: &'a Failure,
    c: &'a Classified,
    hits: &'a [(String, Arc<Hits>)],
    waiting: Option<&'a (String, Arc<Hits>)>,
) -> Facts<'a> {
    Facts {
        messages: hits.iter().map(|(m, h)| (m.as_str(), h.as_ref())).collect(),
        symptoms: &c.symptoms,
        unexplained: f.unexplained(),
        event_reasons: f
            .evidence
            .iter()
            .filter(|e| e.source == detect::EvidenceSource::Event)
            .map(|e| &*e.reason)
            .collect(),
        event_types: f.evidence.iter().filter_map(|e| e.event_type.as_deref()).collect(),
        involved_kinds: vec![f.kind],
        waiting_reason: f.waiting_reason.as_deref(),
        waiting_message: waiting.map(|(m, h)| (m.as_str(), h.as_ref())),
        image: &f.image,
        registry: &f.registry,
        namespace: &f.namespace,
        labels: &f.labels,
        message_only: false,
    }
}

/// Evaluate every rule against the cluster.
pub async fn evaluate<C: ClusterSource>(
    rules: &RuleSet,
    cluster: &C,
    inputs: &Inputs,
) -> Result<Evaluation, EngineError> {
    evaluate_full(rules, cluster, inputs, &scope::Scope::default(), &BTreeSet::new(), None).await
}

/// Evaluate every rule but those in `skip` (indexes into `rules.rules`: see
/// [`apis::skipped_rules`]).
pub async fn evaluate_skipping<C: ClusterSource>(
    rules: &RuleSet,
    cluster: &C,
    inputs: &Inputs,
    skip: &BTreeSet<usize>,
) -> Result<Evaluation, EngineError> {
    evaluate_full(rules, cluster, inputs, &scope::Scope::default(), skip, None).await
}

/// The failures whose every outcome and probe result an evaluation keeps (for `remedy
/// explain`): those of one pod (and container), the first `at_most` of them. A plan keeps
/// the probes of the first failure of each finding only, and a pod can fail in thousands of
/// containers, each evaluated by every rule.
#[derive(Debug, Clone, Copy)]
pub struct Keep<'a> {
    pub namespace: &'a str,
    pub pod: &'a str,
    pub container: Option<&'a str>,
    pub at_most: usize,
}

impl Keep<'_> {
    /// Whether `f` is one of the pod's failures (whatever `at_most`).
    pub fn of_pod(&self, f: &Failure) -> bool {
        f.kind == "Pod"
            && &*f.namespace == self.namespace
            && &*f.pod == self.pod
            && self.container.is_none_or(|c| f.container.as_deref() == Some(c))
    }
}

/// As `evaluate_skipping`, keeping every outcome and probe result of the failures `keep`
/// names (the plan is the same).
pub async fn evaluate_with<C: ClusterSource>(
    rules: &RuleSet,
    cluster: &C,
    inputs: &Inputs,
    skip: &BTreeSet<usize>,
    keep: Keep<'_>,
) -> Result<Evaluation, EngineError> {
    evaluate_full(rules, cluster, inputs, &scope::Scope::default(), skip, Some(keep)).await
}

/// Evaluate every rule but those in `skip` against the failures in `scope` (see
/// [`scope::Scope`]).
pub async fn evaluate_in<C: ClusterSource>(
    rules: &RuleSet,
    cluster: &C,
    inputs: &Inputs,
    scope: &scope::Scope,
    skip: &BTreeSet<usize>,
) -> Result<Evaluation, EngineError> {
    evaluate_full(rules, cluster, inputs, scope, skip, None).await
}

async fn evaluate_full<C: ClusterSource>(
    rules: &RuleSet,
    cluster: &C,
    inputs: &Inputs,
    scope: &scope::Scope,
    skip: &BTreeSet<usize>,
    keep: Option<Keep<'_>>,
) -> Result<Evaluation, EngineError> {
    let reader = Reader::new(cluster);
    reader.allow_registry_probe(inputs.probe_registries);
    let pods = reader.list(&GroupKind::core("Pod")).await?;
    let cluster_facts = reader.cluster_facts(&pods).await?;
    let events = reader.pull_events().await?;
    let mut failures = detect::detect(&pods, &events);
    let event_count = events.len();
    // Only detection reads them: what failures keep of them is shared (their messages), the
    // records are freed here when the backend handed them over.
    drop(events);
    let streams = reader
        .list(&GroupKind::new("image.openshift.io", "ImageStream"))
        .await?;
    failures.extend(detect::detect_imagestreams(&streams));
    failures.retain(|f| scope.admits(f));
    tracing::debug!(
        pods = pods.len(),
        events = event_count,
        failures = failures.len(),
        "detected"
    );

    let mut table = MessageTable::new();
    let mut classified: Vec<Classified> = failures.iter().map(|f| classify(rules, &mut table, f)).collect();

    let mut evaluated = Vec::new();
    // Probe results are most of an evaluation's memory, and a plan quotes those of the first
    // failure of each finding only: without filters that could drop evaluations later, each
    // failure's are settled (supersedes) and freed as soon as it is evaluated, so memory does
    // not grow with every failure's probes.
    let early = scope.categories.is_empty() && scope.rules.is_empty();
    // The failures `keep` names that are kept so far.
    let mut kept = 0;
    let mut seen = BTreeSet::new();
    let mut considered = considered::Considered::default();
    let mut actions = Actions::new();
    let mut firsts = considered::Firsts::default();
    let mut groups = crate::intern::Names::default();
    for (fi, f) in failures.iter().enumerate() {
        if !f.pod_exists {
            continue;
        }
        let start = evaluated.len();
        let keep_all = keep.is_some_and(|k| k.of_pod(f) && kept < k.at_most);
        kept += usize::from(keep_all);
        let c = &classified[fi];
        let hits: Vec<(String, Arc<Hits>)> = f
            .evidence
            .iter()
            .map(|e| (e.message.to_string(), table.hits(rules, &e.message)))
            .collect();
        let waiting = f
            .waiting_message
            .as_ref()
            .map(|m| (m.to_string(), table.hits(rules, m)));
        let facts = facts(f, c, &hits, waiting.as_ref());
        let base = minijinja::Value::from(minijinja::value::Serde(context::failure_context(
            rules,
            f,
            c,
            &cluster_facts,
            inputs,
        )));
        for (ri, rule) in rules.rules.iter().enumerate() {
            if skip.contains(&ri) || !rule.matcher.eval(&facts, &rules.fields) {
                continue;
            }
            // Each rule sees the named groups of its own patterns only: two rules that capture
            // the same name on one failure must not read each other's value.
            let mut captures = BTreeMap::new();
            let symptom_test = |s: usize| rules.symptoms.get(s).map(|s| &s.test);
            rule.matcher
                .captures(&facts, &rules.messages, &rules.fields, &symptom_test, &mut captures);
            let mut ev = render::evaluate_rule(rules, &reader, ri, fi, &base, captures, &mut actions).await;
            ev.group = groups.get(&ev.group);
            if let Some(text) = &mut ev.explanation {
                *text = firsts.near(ri, &ev.group, text);
            }
            evaluated.push(ev);
        }
        if early {
            apply_supersedes(rules, &mut evaluated[start..]);
            let probes: Vec<_> = match keep_all {
                true => evaluated[start..].iter().map(|e| e.probes.clone()).collect(),
                false => Vec::new(),
            };
            free_probes(&mut evaluated[start..], &mut seen);
            // What the plan reads of the other outcomes is folded in now: memory then grows
            // with the confirmed rules, not with every rule that matched every failure.
            considered.add(&evaluated[start..]);
            let tail = evaluated.split_off(start);
            if keep_all {
                evaluated.extend(tail.into_iter().zip(probes).map(|(mut e, p)| {
                    e.probes = p;
                    e
                }));
            } else {
                evaluated.extend(
                    tail.into_iter()
                        .filter(|e| matches!(e.outcome, Outcome::Confirmed | Outcome::Error(_))),
                );
            }
        }
    }
    // Kept until the plan is built: no spare room.
    evaluated.shrink_to_fit();
    if !early {
        apply_supersedes(rules, &mut evaluated);
        if !scope.categories.is_empty() || !scope.rules.is_empty() {
            scope::restrict(rules, scope, &mut failures, &mut classified, &mut evaluated);
        }
        if keep.is_none() {
            free_probes(&mut evaluated, &mut seen);
        }
        considered.add_all(&evaluated);
    }

    actions.shrink_to_fit();
    let mut observed = BTreeMap::new();
    // Each distinct action once: many evaluations share one.
    let mut read = vec![false; actions.len()];
    for ev in evaluated.iter().filter(|e| e.outcome == Outcome::Confirmed) {
        for &id in &ev.actions {
            if std::mem::replace(&mut read[id as usize], true) {
                continue;
            }
            let Some(a) = actions.get(id) else { continue };
            for key in a.change.reads() {
                if let std::collections::btree_map::Entry::Vacant(slot) = observed.entry(key) {
                    let key = slot.key();
                    // An object RBAC hides reads as absent: the actions that needed it are
                    // blocked by their rule's note already (see `Evaluated::notes`).
                    let obj = match reader.get(&key.kind, key.namespace.as_deref(), &key.name).await {
                        Err(ClusterError::Forbidden { .. }) => None,
                        other => other?,
                    };
                    slot.insert(obj);
                }
            }
        }
    }
    Ok(Evaluation {
        cluster: cluster_facts,
        failures,
        classified,
        evaluated,
        considered,
        actions,
        observed,
        pods_scanned: pods.len(),
        pod_namespaces: pods.iter().filter_map(|p| p.namespace.clone()).collect(),
    })
}

/// A confirmed rule that another confirmed rule supersedes, on the same failure, steps aside.
/// Plans quote the probes of the first failure of each finding only: free the rest.
fn free_probes(evaluated: &mut [Evaluated], seen: &mut BTreeSet<(usize, Arc<str>)>) {
    for ev in evaluated {
        if ev.outcome != Outcome::Confirmed || !seen.insert((ev.rule, ev.group.clone())) {
            ev.probes = BTreeMap::new();
        }
    }
}

fn apply_supersedes(rules: &RuleSet, evaluated: &mut [Evaluated]) {
    let confirmed: BTreeSet<(usize, &str)> = evaluated
        .iter()
        .filter(|e| e.outcome == Outcome::Confirmed)
        .map(|e| (e.failure, rules.rules[e.rule].id.as_str()))
        .collect();
    let mut superseded = Vec::new();
    for (i, e) in evaluated.iter().enumerate() {
        if e.outcome != Outcome::Confirmed {
            continue;
        }
        let id = &rules.rules[e.rule].id;
        let by = rules
            .rules
            .iter()
            .find(|r| r.supersedes.contains(id) && confirmed.contains(&(e.failure, r.id.as_str())));
        if let Some(by) = by {
            superseded.push((i, by.id.clone()));
        }
    }
    for (i, by) in superseded {
        evaluated[i].outcome = Outcome::Superseded(by);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{Object, Snapshot};
    use crate::load::{RuleSource, load_sources};

    fn rules(text: &str) -> RuleSet {
        let mut sources = crate::load::bundled_sources();
        sources.retain(|s| s.name.contains("symptoms"));
        sources.push(RuleSource {
            name: "test.yaml".into(),
            text: text.into(),
            bundled: false,
        });
        let (rules, diags) = load_sources(sources);
        assert!(!diags.has_errors(), "{:?}", diags.into_sorted());
        rules
    }

    fn failing_pod(image: &str, message: &str) -> Snapshot {
        let pod = Object::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "openshift-marketplace"},
            "spec": {"containers": [{"name": "c", "image": image}]},
            "status": {"containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "ErrImagePull", "message": message}}}]}
        }))
        .unwrap();
        Snapshot::from_parts("test".into(), vec![pod], vec![])
    }

    fn explanations(rules: &RuleSet, snap: &Snapshot) -> BTreeMap<String, String> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let ev = rt.block_on(evaluate(rules, snap, &Inputs::default())).unwrap();
        ev.evaluated
            .iter()
            .map(|e| {
                (
                    rules.rules[e.rule].id.clone(),
                    e.explanation
                        .as_ref()
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| format!("{:?}", e.outcome)),
                )
            })
            .collect()
    }

    #[test]
    fn captures_belong_to_the_rule_that_made_them() {
        let rules = rules(
            "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: cap-one, title: one, category: auth}\nspec:\n  match:\n    message: { regex: 'invalid (?P<what>username)/password' }\n  explain: \"what={{ captures.what }}\"\n---\napiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: cap-two, title: two, category: auth}\nspec:\n  match:\n    message: { regex: 'invalid username/(?P<what>password)' }\n  explain: \"what={{ captures.what }}\"\n",
        );
        let got = explanations(
            &rules,
            &failing_pod("quay.io/a/b:1", "invalid username/password: unauthorized"),
        );
        assert_eq!(got["cap-one"], "what=username");
        assert_eq!(got["cap-two"], "what=password");
    }

    #[test]
    fn captures_come_from_every_kind_of_matcher() {
        let rules = rules(
            "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: cap-fields, title: t, category: auth}\nspec:\n  match:\n    image: { regex: 'redhat/(?P<idx>[a-z-]+)-index' }\n    registry: { regex: '(?P<reghost>registry)\\.redhat' }\n    waitingReason: { regex: '(?P<why>ErrImage)Pull' }\n    anyOf:\n      - message: { regex: '(?P<never>nomatch)' }\n      - message: { regex: '(?P<status>unauthorized)' }\n  explain: \"{{ captures.idx }} {{ captures.reghost }} {{ captures.why }} {{ captures.status }} [{{ captures.never }}]\"\n",
        );
        let got = explanations(
            &rules,
            &failing_pod("registry.redhat.io/redhat/redhat-operator-index:v4.20", "unauthorized"),
        );
        // The alternative that did not match gives nothing.
        assert_eq!(got["cap-fields"], "redhat-operator registry ErrImage unauthorized []");
    }

    #[test]
    fn only_confirmed_outcomes_are_kept_and_actions_are_shared() {
        let rules = rules(
            "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: kept, title: t, category: auth}\nspec:\n  match:\n    message: { contains: 'unauthorized' }\n  groupBy: \"{{ failure.registry }}\"\n  explain: \"the pod {{ failure.pod }} pulls from {{ failure.registry }} and is refused, as every pod of this group is\"\n  actions:\n    - manual:\n        title: \"log in to {{ failure.registry }}\"\n        steps: [\"ask for access\"]\n---\napiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: dropped, title: t, category: auth}\nspec:\n  match:\n    message: { contains: 'unauthorized' }\n  when: [\"failure.registry == 'elsewhere'\"]\n",
        );
        let pods: Vec<Object> = (0..3)
            .map(|i| {
                Object::from_value(serde_json::json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": format!("p{i}"), "namespace": "apps"},
                    "spec": {"containers": [{"name": "c", "image": format!("quay.io/a/b{i}:1")}]},
                    "status": {"containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "ErrImagePull", "message": "unauthorized"}}}]}
                }))
                .unwrap()
            })
            .collect();
        let snap = Snapshot::from_parts("test".into(), pods, vec![]);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let ev = rt.block_on(evaluate(&rules, &snap, &Inputs::default())).unwrap();
        let kept = rules.rules.iter().position(|r| r.id == "kept").unwrap();
        let dropped = rules.rules.iter().position(|r| r.id == "dropped").unwrap();
        // Ruled-out outcomes are not kept per failure...
        assert_eq!(ev.evaluated.len(), 3, "{:?}", ev.evaluated);
        assert!(
            ev.evaluated
                .iter()
                .all(|e| e.rule == kept && e.outcome == Outcome::Confirmed)
        );
        // ...but what the plan lists of them is.
        let seen: BTreeMap<usize, &Outcome> = ev.considered.of(kept, "quay.io").collect();
        assert_eq!(seen[&kept], &Outcome::Confirmed);
        assert!(
            matches!(seen[&dropped], Outcome::RuledOut(c) if c.contains("elsewhere")),
            "{seen:?}"
        );
        // One copy of the action every failure rendered alike.
        assert_eq!(ev.actions.len(), 1);
        assert!(ev.evaluated.iter().all(|e| *e.actions == [0]));
        // Each explanation keeps only what differs from the group's first one.
        let bases: Vec<&Arc<str>> = ev
            .evaluated
            .iter()
            .enumerate()
            .map(|(i, e)| match e.explanation.as_ref() {
                Some(crate::near::Text::Near { base, mid, .. }) => {
                    // The first is the base itself; the others differ in the pod's number.
                    assert_eq!(mid.len(), usize::from(i > 0), "{mid:?}");
                    base
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(bases.iter().all(|b| Arc::ptr_eq(b, bases[0])));
        assert_eq!(
            ev.evaluated[2].explanation.as_ref().unwrap().to_string(),
            "the pod p2 pulls from quay.io and is refused, as every pod of this group is"
        );
    }
}
