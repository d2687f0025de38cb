//! Plans (pure and deterministic): findings grouped by cause, actions deduplicated across
//! findings, ordered by dependency, each with a status computed against observed state.

mod desired;
pub mod patch;
pub mod status;
mod types;

use std::collections::{BTreeMap, BTreeSet};

pub use desired::{Change, Desired, Target};
pub use types::*;

use crate::cluster::SourceInfo;
use crate::detect::{EvidenceSource, Failure};
use crate::engine::{Evaluation, Outcome};
use crate::inputs::Inputs;
use crate::model::Category;
use crate::rules::RuleSet;
use status::assess;

/// How many distinct messages a finding quotes as evidence.
const MAX_MESSAGES: usize = 5;

/// The image-config object changes that roll out a MachineConfig to every node.
fn always_disruptive(change: &Change) -> bool {
    change
        .target()
        .is_some_and(|t| t.kind == "Image" && t.api_version.starts_with("config.openshift.io/") && t.name == "cluster")
}

/// Exit codes, in the spirit of `terraform plan -detailed-exitcode`. Documented in `docs/exit-codes.md`.
pub mod exit {
    /// Nothing is failing, or everything is already fixed.
    pub const CLEAN: u8 = 0;
    /// An error: bad rules, an unreadable snapshot, bad flags, an API failure.
    pub const ERROR: u8 = 1;
    /// Findings with pending actions: `remedy apply` would change the cluster.
    pub const PENDING: u8 = 2;
    /// Findings that need a person: only manual, needs-input or blocked actions, or failures no rule explains.
    pub const ATTENTION: u8 = 3;
}

impl Plan {
    pub fn exit_code(&self) -> u8 {
        let satisfied = |id: &String| {
            self.actions
                .iter()
                .any(|a| &a.id == id && a.status == Status::Satisfied)
        };
        // A finding is settled when it has fixes and every one is already in place; a
        // diagnosis-only finding (no actions) always needs a person.
        let settled = self
            .findings
            .iter()
            .all(|f| !f.actions.is_empty() && f.actions.iter().all(satisfied));
        if self.summary.pending > 0 {
            exit::PENDING
        } else if settled && self.unexplained.is_empty() && self.errors.is_empty() {
            exit::CLEAN
        } else {
            exit::ATTENTION
        }
    }
}

fn subject(f: &Failure) -> Subject {
    Subject {
        kind: f.kind.clone(),
        namespace: f.namespace.clone(),
        name: f.pod.clone(),
        container: f.container.clone(),
        image: f.image.clone(),
    }
}

fn unexplained(f: &Failure, category: Option<Category>) -> Unexplained {
    Unexplained {
        namespace: f.namespace.clone(),
        pod: f.pod.clone(),
        container: f.container.clone(),
        image: f.image.clone(),
        category: category.unwrap_or(Category::Other),
        message: f.headline().map(|e| e.message.clone()),
        count: f.total_count(),
    }
}

/// Messages of a group of failures, deduplicated, counts summed, most frequent first.
fn messages(failures: &[&Failure]) -> Vec<MessageEvidence> {
    let mut by: BTreeMap<(String, String, String), MessageEvidence> = BTreeMap::new();
    let mut pods: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    for f in failures {
        for e in &f.evidence {
            let source = match e.source {
                EvidenceSource::Event => "event",
                EvidenceSource::ContainerStatus => "containerStatus",
                EvidenceSource::ImportStatus => "importStatus",
            };
            let key = (source.to_string(), e.reason.clone(), e.message.clone());
            let m = by.entry(key.clone()).or_insert_with(|| MessageEvidence {
                source: source.into(),
                reason: e.reason.clone(),
                message: e.message.clone(),
                count: 0,
                pods: 0,
                first_seen: None,
                last_seen: None,
            });
            m.count = m.count.saturating_add(e.count);
            m.first_seen = [m.first_seen.clone(), e.first_seen.clone()].into_iter().flatten().min();
            m.last_seen = [m.last_seen.clone(), e.last_seen.clone()].into_iter().flatten().max();
            pods.entry(key)
                .or_default()
                .insert(format!("{}/{}", f.namespace, f.pod));
        }
    }
    let mut out: Vec<MessageEvidence> = by
        .into_iter()
        .map(|(k, mut m)| {
            m.pods = pods.get(&k).map_or(0, BTreeSet::len);
            m
        })
        .collect();
    // Messages that name a cause first, then by frequency.
    out.sort_by(|a, b| {
        crate::detect::is_generic(&a.message)
            .cmp(&crate::detect::is_generic(&b.message))
            .then(b.count.cmp(&a.count))
            .then_with(|| a.message.cmp(&b.message))
    });
    out.truncate(MAX_MESSAGES);
    out
}

struct PendingAction {
    desired: Desired,
    findings: BTreeSet<usize>,
    /// Keys of actions this one follows.
    after: BTreeSet<String>,
}

fn action_key(d: &Desired) -> String {
    serde_json::to_string(&(&d.change, &d.blocked)).unwrap_or_default()
}

/// Build the plan from an evaluation. Pure: same inputs, same bytes.
pub fn build(rules: &RuleSet, ev: &Evaluation, inputs: &Inputs, source: &SourceInfo) -> Plan {
    // Group confirmed evaluations into findings: (rule id, group key).
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
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
    let mut actions: BTreeMap<String, PendingAction> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    // Sort findings by category, then rule, then group, for a stable, readable order.
    let mut keyed: Vec<((String, String), Vec<usize>)> = groups.into_iter().collect();
    keyed.sort_by(|a, b| {
        (rules.rules[ev.evaluated[a.1[0]].rule].category, &a.0)
            .cmp(&(rules.rules[ev.evaluated[b.1[0]].rule].category, &b.0))
    });
    for (fi, ((rule_id, _group), members)) in keyed.into_iter().enumerate() {
        let first = &ev.evaluated[members[0]];
        let rule = &rules.rules[first.rule];
        let failures: Vec<&Failure> = members.iter().map(|&i| &ev.failures[ev.evaluated[i].failure]).collect();
        let mut subjects: Vec<Subject> = failures.iter().map(|f| subject(f)).collect();
        subjects.sort();
        subjects.dedup();
        let failure_ids: BTreeSet<usize> = members.iter().map(|&i| ev.evaluated[i].failure).collect();
        let mut candidates: BTreeMap<String, Candidate> = BTreeMap::new();
        for e in ev.evaluated.iter().filter(|e| failure_ids.contains(&e.failure)) {
            let r = &rules.rules[e.rule];
            let (outcome, detail) = match &e.outcome {
                Outcome::Confirmed => ("confirmed", None),
                Outcome::RuledOut(c) => ("ruled-out", Some(format!("condition did not hold: {c}"))),
                Outcome::Superseded(by) => ("superseded", Some(format!("superseded by {by}"))),
                Outcome::Error(err) => ("error", Some(err.clone())),
            };
            // One line per rule; a confirmation on any subject wins over other outcomes.
            let entry = candidates.entry(r.id.clone()).or_insert_with(|| Candidate {
                rule: r.id.clone(),
                category: r.category,
                outcome: outcome.into(),
                detail: detail.clone(),
            });
            if outcome == "confirmed" {
                entry.outcome = outcome.into();
                entry.detail = None;
            }
        }
        let symptoms: BTreeSet<String> = failure_ids
            .iter()
            .flat_map(|&f| ev.classified[f].symptoms.iter().map(|&s| rules.symptoms[s].id.clone()))
            .collect();
        let finding_id = format!("f{}", fi + 1);
        let mut action_keys = Vec::new();
        for &m in &members {
            let mut earlier: Vec<(String, u8)> = Vec::new();
            for d in &ev.evaluated[m].actions {
                let key = action_key(d);
                let phase = d.change.phase();
                let entry = actions.entry(key.clone()).or_insert_with(|| {
                    order.push(key.clone());
                    PendingAction {
                        desired: d.clone(),
                        findings: BTreeSet::new(),
                        after: BTreeSet::new(),
                    }
                });
                entry.findings.insert(fi);
                entry
                    .after
                    .extend(earlier.iter().filter(|(_, p)| *p < phase).map(|(k, _)| k.clone()));
                earlier.push((key.clone(), phase));
                if !action_keys.contains(&key) {
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
                registry: failures[0].registry.clone(),
                subjects,
                explanation: first.explanation.clone(),
                inferred: failures.iter().all(|f| f.unexplained()),
                evidence: FindingEvidence {
                    messages: messages(&failures),
                    symptoms: symptoms.into_iter().collect(),
                    conditions: rule.conditions.iter().map(|c| c.source.clone()).collect(),
                    probes: first.probes.clone(),
                },
                candidates: candidates.into_values().collect(),
                actions: Vec::new(),
            },
            action_keys,
        ));
    }

    // Execution order: by phase, then first appearance; ids follow it.
    let mut sorted: Vec<&String> = order.iter().collect();
    // Within a phase, actions keep the order rules declare them in (first appearance).
    sorted.sort_by_key(|k| actions[*k].desired.change.phase());
    let ids: BTreeMap<&String, String> = sorted
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, format!("a{}", i + 1)))
        .collect();
    let mut out_actions: Vec<Action> = Vec::new();
    for k in &sorted {
        let pa = &actions[*k];
        let d = &pa.desired;
        let mut a = assess(&d.change, &ev.observed, inputs);
        if a.status != Status::Satisfied
            && let Some(missing) = d.requires.iter().find(|r| inputs.get(r).is_none())
        {
            a.status = Status::NeedsInput;
            a.reason = Some(format!("needs the value `{missing}`"));
            a.needs_input = Some(NeedsInput {
                input: missing.clone(),
                flag: format!("--set {missing}=VALUE"),
                hint: "a plain value (visible in the plan); never pass credentials this way".into(),
            });
        }
        if let Some(reason) = &d.blocked
            && a.status != Status::Satisfied
        {
            a.status = Status::Blocked;
            a.reason = Some(reason.clone());
        }
        let depends_on: Vec<String> = pa
            .after
            .iter()
            .filter_map(|k| ids.get(k).cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // An action cannot go ahead while one it follows waits for input or is blocked.
        if a.status == Status::Pending
            && let Some(dep) = out_actions
                .iter()
                .find(|o| depends_on.contains(&o.id) && matches!(o.status, Status::NeedsInput | Status::Blocked))
        {
            a.status = Status::Blocked;
            a.reason = Some(format!("waits for {} ({})", dep.id, dep.status.as_str()));
        }
        let (steps, commands) = match &d.change {
            Change::Manual { steps, commands, .. } => (steps.clone(), commands.clone()),
            _ => (Vec::new(), Vec::new()),
        };
        let target = d.change.target().map(|t| ActionTarget {
            api_version: t.api_version,
            kind: t.kind,
            namespace: t.namespace,
            name: t.name,
        });
        let description = d.description.clone().unwrap_or_else(|| default_description(&d.change));
        out_actions.push(Action {
            id: ids[k].clone(),
            action_type: d.change.type_name().into(),
            status: a.status,
            disruptive: d.disruptive.unwrap_or(false) || always_disruptive(&d.change),
            target,
            description,
            change: ChangeOut {
                summary: a.summary,
                patch: a.patch,
                diff: a.diff,
            },
            reason: a.reason,
            needs_input: a.needs_input,
            steps,
            commands,
            depends_on,
            findings: pa.findings.iter().map(|f| format!("f{}", f + 1)).collect(),
        });
    }
    let findings: Vec<Finding> = findings
        .into_iter()
        .map(|(mut f, keys)| {
            let mut ids: Vec<String> = keys.iter().map(|k| ids[k].clone()).collect();
            ids.sort_by_key(|id| id[1..].parse::<usize>().unwrap_or(0));
            f.actions = ids;
            f
        })
        .collect();

    let mut unexplained_list = Vec::new();
    let mut orphans = Vec::new();
    for (i, f) in ev.failures.iter().enumerate() {
        if !f.pod_exists {
            orphans.push(unexplained(f, ev.classified[i].category));
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
                namespace: ev.failures[e.failure].namespace.clone(),
                pod: ev.failures[e.failure].pod.clone(),
                error: msg.clone(),
            }),
            _ => None,
        })
        .collect();
    let count = |s: Status| out_actions.iter().filter(|a| a.status == s).count();
    let failing: BTreeSet<(String, String)> = ev
        .failures
        .iter()
        .filter(|f| f.pod_exists)
        .map(|f| (f.namespace.clone(), f.pod.clone()))
        .collect();
    let summary = Summary {
        findings: findings.len(),
        failing_pods: failing.len(),
        pending: count(Status::Pending),
        satisfied: count(Status::Satisfied),
        manual: count(Status::Manual),
        needs_input: count(Status::NeedsInput),
        blocked: count(Status::Blocked),
        disruptive: out_actions
            .iter()
            .filter(|a| a.disruptive && a.status == Status::Pending)
            .count(),
        unexplained: unexplained_list.len(),
        orphans: orphans.len(),
    };
    Plan {
        api_version: PLAN_API_VERSION.into(),
        kind: "Plan".into(),
        source: PlanSource {
            kind: source.kind.into(),
            name: source.name.clone(),
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
        },
        summary,
        findings,
        actions: out_actions,
        unexplained: unexplained_list,
        orphans,
        errors,
    }
}

fn default_description(c: &Change) -> String {
    match c {
        Change::CopySecret { from, to } => format!(
            "copy Secret {}/{} to {}",
            from.namespace.as_deref().unwrap_or(""),
            from.name,
            to.namespace.as_deref().unwrap_or("")
        ),
        Change::LinkPullSecret {
            service_account,
            secret,
        } => format!("add {secret} to the imagePullSecrets of {}", service_account.display()),
        Change::MergeDockerAuths { secret, registry, .. } => {
            format!("add credentials for {registry} to {}", secret.display())
        }
        Change::EnsureListItem { target, path, item, .. } => format!("add {item} to {path} of {}", target.display()),
        Change::SetConfigMapKey { config_map, key, .. } => format!("set key {key} in {}", config_map.display()),
        Change::Patch { target, .. } => format!("patch {}", target.display()),
        Change::EnsureObject { .. } => format!("ensure {} exists", c.target().map(|t| t.display()).unwrap_or_default()),
        Change::RestartPod { pod } => format!("restart {}", pod.display()),
        Change::Manual { title, .. } => title.clone(),
    }
}
