//! The plan as it is printed with `-o json`/`-o yaml`: a public contract, documented by
//! `schemas/plan.schema.json` (generated from these types).

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::model::{Category, RuleSeverity};

pub const PLAN_API_VERSION: &str = "remedy.dev/v1alpha1";

/// The schema of an `Option<T>` field that is always present: required, and `T` or null.
/// (`#[schemars(required)]` alone drops the null.)
pub struct Nullable<T>(std::marker::PhantomData<T>);

impl<T: JsonSchema> JsonSchema for Nullable<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Nullable_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<Option<T>>()
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// `remedy.dev/v1alpha1`.
    pub api_version: String,
    /// `Plan`.
    pub kind: String,
    pub source: PlanSource,
    pub cluster: ClusterInfo,
    pub rules: RulesInfo,
    pub summary: Summary,
    /// What is failing and why, one entry per cause (pods failing for one reason share one finding).
    pub findings: Vec<Finding>,
    /// Every action of every finding, deduplicated and in execution order.
    // Packed: a plan can list a manual step per failing container, some hundred bytes of
    // text each that differ in a name or two.
    #[schemars(with = "Vec<Action>")]
    pub actions: crate::packed::Packed<Action>,
    /// Failing pulls no rule explains.
    pub unexplained: Vec<Unexplained>,
    /// Pull failures reported by events of pods the state does not hold (see `gone`).
    pub orphans: Vec<Unexplained>,
    /// Rules that failed while being evaluated (a probe or template error).
    pub errors: Vec<RuleError>,
    /// The objects the actions read and change, as they were when the plan was made (sorted):
    /// `remedy apply plan.json` refuses the plan when any of them changed since.
    pub objects: Vec<ObjectRecord>,
    /// Names of the inputs (`--set`, `--set-file`) the actions use that were given; never their
    /// values. `remedy apply plan.json` needs the same flags again.
    pub inputs: Vec<String>,
    /// The desired change behind each action, in `actions` order (not printed: apply carries
    /// them out).
    #[serde(skip)]
    #[schemars(skip)]
    pub desired: crate::packed::Packed<crate::desired::Desired>,
    /// The command line that reproduces this run (for the human plan's `next` hint); not part
    /// of the JSON contract.
    #[serde(skip)]
    pub rerun: Option<super::rerun::Rerun>,
}

/// One object the plan read, as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRecord {
    pub api_version: String,
    pub kind: String,
    #[schemars(with = "Nullable<String>")]
    pub namespace: Option<String>,
    pub name: String,
    /// False when the object did not exist (an action would create it).
    pub exists: bool,
    #[schemars(with = "Nullable<String>")]
    pub uid: Option<String>,
    #[schemars(with = "Nullable<String>")]
    pub resource_version: Option<String>,
    /// Ids of the pending actions that change it (empty: only read).
    pub written_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanSource {
    /// `snapshot` or `live`.
    pub kind: String,
    pub name: String,
    /// Some snapshot files had errors and were left out: the plan covers only the rest.
    /// Absent when every file was read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// The files left out of a partial plan, with the first error of each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_files: Vec<SkippedFile>,
    /// The kubeconfig context (or `in-cluster`) of a live plan; absent for a snapshot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub context: Option<String>,
    /// The API server's URL of a live plan; absent for a snapshot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server: Option<String>,
    /// What the plan was limited to (`-n`, `-l`, `--category`, `--rule`); absent when it looked
    /// at everything. `remedy apply PLAN` plans again within it before comparing.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<PlanScope>,
}

/// The limits of a plan, as given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanScope {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// A label selector in kubectl's syntax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Playbook ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkippedFile {
    pub file: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    pub openshift: bool,
    #[schemars(with = "Nullable<String>")]
    pub version: Option<String>,
    pub pods_scanned: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RulesInfo {
    pub playbooks: usize,
    pub symptoms: usize,
    /// Bundled rule ids replaced by user rules.
    pub overridden: Vec<String>,
    /// Rules not evaluated because the cluster does not serve an API they need (live
    /// clusters only: discovery says which APIs exist). Absent when none is.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub skipped: Vec<SkippedRule>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkippedRule {
    pub rule: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub findings: usize,
    /// Pods with a failing pull (image streams are not pods: see `failingImageStreams`).
    pub failing_pods: usize,
    /// ImageStreams with a failed tag import.
    pub failing_image_streams: usize,
    /// Actions by status; they add up to the number of actions.
    pub pending: usize,
    pub satisfied: usize,
    pub manual: usize,
    pub needs_input: usize,
    pub blocked: usize,
    /// Disruptive actions (they drain or reboot nodes) that are not yet satisfied, whatever
    /// their status: pending ones run on apply, blocked or needs-input ones once unblocked.
    pub disruptive: usize,
    pub unexplained: usize,
    pub orphans: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `f1`, `f2`, ... in plan order.
    pub id: String,
    /// The playbook id.
    pub rule: String,
    pub title: String,
    pub category: Category,
    pub severity: RuleSeverity,
    pub registry: String,
    /// What fails: pods (and their containers) and image streams (and their tags).
    // Packed: a finding can have a subject per failing container.
    #[schemars(with = "Vec<Subject>")]
    pub subjects: crate::packed::Packed<Subject>,
    /// Why, rendered from the playbook's `explain`.
    #[schemars(with = "Nullable<String>")]
    pub explanation: Option<String>,
    /// True when no surviving message named the cause and the state probes decided it.
    pub inferred: bool,
    pub evidence: FindingEvidence,
    /// Every playbook that matched these failures, and what became of it.
    pub candidates: Vec<Candidate>,
    /// Ids of the actions that fix this finding.
    pub actions: Vec<String>,
    /// What could not be read while deciding it (a read RBAC forbids): the finding rests on
    /// what was read, and its actions are blocked until the read is allowed. Absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
}

/// One thing that cannot get its image: a container of a pod, or a tag of an ImageStream
/// whose import failed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// `Pod` or `ImageStream`.
    #[schemars(with = "String")]
    pub kind: std::borrow::Cow<'static, str>,
    // The names are shared with the failure's (a plan can have a subject per container).
    #[schemars(with = "String")]
    pub namespace: Arc<str>,
    /// The pod's or the ImageStream's name.
    #[schemars(with = "String")]
    pub name: Arc<str>,
    /// The container (or init container) of a pod; null for an ImageStream.
    #[schemars(with = "Nullable<String>")]
    pub container: Option<Arc<str>>,
    /// The tag of an ImageStream; null for a pod.
    #[schemars(with = "Nullable<String>")]
    pub tag: Option<Arc<str>>,
    /// The image as the pod or the tag's `from` names it.
    #[schemars(with = "String")]
    pub image: Arc<str>,
    /// This subject's own explanation, when the finding's subjects differ in detail (the
    /// finding's `explanation` then lists the differing words in place); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub explanation: Option<crate::near::Text>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingEvidence {
    /// The messages seen, most frequent first, with counts summed over the pods.
    pub messages: Vec<MessageEvidence>,
    /// Symptoms the messages show.
    pub symptoms: Vec<String>,
    /// The playbook conditions that held.
    pub conditions: Vec<String>,
    /// What each probe returned, for the first subject (secret values are never included).
    #[schemars(with = "BTreeMap<String, Value>")]
    pub probes: BTreeMap<String, crate::probe::recorded::Recorded>,
    /// Totals over every subject of the finding (not only the messages listed).
    pub totals: EvidenceTotals,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceTotals {
    /// Subjects (pods and image streams) the finding covers.
    pub subjects: usize,
    /// How often the message naming each subject's cause was seen, summed over the subjects
    /// (the generic back-off lines are not counted).
    pub count: u64,
    #[schemars(required)]
    pub first_seen: Option<String>,
    #[schemars(required)]
    pub last_seen: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageEvidence {
    /// `event`, `containerStatus` or `importStatus` (an ImageStream tag's import condition).
    pub source: String,
    pub reason: String,
    pub message: String,
    pub count: u64,
    /// How many pods showed it.
    pub pods: usize,
    /// How many ImageStreams showed it.
    pub image_streams: usize,
    #[schemars(with = "Nullable<String>")]
    pub first_seen: Option<String>,
    #[schemars(with = "Nullable<String>")]
    pub last_seen: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    pub rule: String,
    pub category: Category,
    /// `confirmed`, `ruled-out`, `superseded` or `error`.
    pub outcome: String,
    /// The condition that did not hold, the rule that superseded it, or the error.
    #[schemars(with = "Nullable<String>")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The state differs; `remedy apply` would change it.
    Pending,
    /// The desired state already holds.
    Satisfied,
    /// A person must do it; remedy prints the steps.
    Manual,
    /// A value only the user has is missing (`needsInput` names the flag).
    NeedsInput,
    /// Something prevents it (`reason` says what).
    Blocked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Satisfied => "satisfied",
            Status::Manual => "manual",
            Status::NeedsInput => "needs-input",
            Status::Blocked => "blocked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionTarget {
    pub api_version: String,
    pub kind: String,
    /// Null for a cluster-scoped object.
    #[schemars(with = "Nullable<String>")]
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// `a1`, `a2`, ... in execution order, which is also the order the plan lists them in
    /// (finding by finding); an action never comes before one it depends on.
    pub id: String,
    /// copySecret, linkPullSecret, mergeDockerAuths, ensureListItem, setConfigMapKey, patch,
    /// ensureObject, restartPod or manual.
    #[serde(rename = "type")]
    #[schemars(with = "String")]
    pub action_type: std::borrow::Cow<'static, str>,
    pub status: Status,
    /// Applying it drains and reboots nodes: on OpenShift, a change to `spec.registrySources`
    /// of `image.config.openshift.io/cluster` rolls out a MachineConfig (`additionalTrustedCA`
    /// does not), or the rule marks it so. A property of the change, whatever its status.
    pub disruptive: bool,
    /// Another way to the same end as the other actions of its finding, instead of them (for
    /// example a manual fix that makes an automated one unnecessary). Nothing depends on it.
    pub alternative: bool,
    /// The object changed; null for a manual step.
    // Boxed, as `needs_input`: a plan can list an action per failing pod, most of them manual
    // steps without either.
    #[schemars(with = "Nullable<ActionTarget>")]
    pub target: Option<Box<ActionTarget>>,
    pub description: String,
    pub change: ChangeOut,
    /// Why the status is what it is (for example `waits for a1 (manual)`).
    #[schemars(with = "Nullable<String>")]
    pub reason: Option<String>,
    /// For `needs-input`: which value is missing and how to give it.
    #[schemars(with = "Nullable<NeedsInput>")]
    pub needs_input: Option<Box<NeedsInput>>,
    /// A manual action's steps, in order: printed, never executed.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub steps: Vec<std::sync::Arc<str>>,
    /// A manual action's commands, for the person to run (or adapt) after reading the steps:
    /// printed, never executed.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub commands: Vec<std::sync::Arc<str>>,
    /// Ids of the actions that must be done first. A pending action that depends on a manual,
    /// needs-input or blocked one is itself blocked (`reason`: `waits for aN (status)`).
    pub depends_on: Vec<String>,
    /// Ids of the findings this action fixes.
    pub findings: Vec<String>,
}

impl Action {
    /// An action with nothing but these set, for tests.
    #[cfg(test)]
    pub(crate) fn for_test(id: &str, action_type: &str, status: Status, target: Option<ActionTarget>) -> Action {
        Action {
            id: id.into(),
            action_type: action_type.to_string().into(),
            status,
            disruptive: false,
            alternative: false,
            target: target.map(Box::new),
            description: String::new(),
            change: ChangeOut {
                summary: String::new(),
                patch: None,
                diff: None,
            },
            reason: None,
            needs_input: None,
            steps: vec![],
            commands: vec![],
            depends_on: vec![],
            findings: vec![],
        }
    }

    /// Counted in `summary.disruptive`: disruptive and not yet in place.
    pub fn counts_as_disruptive(&self) -> bool {
        self.disruptive && self.status != Status::Satisfied
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeOut {
    /// One line: what would change. Secret values are never shown.
    pub summary: String,
    /// The JSON patch or merge patch that would be sent (never for Secret data, and not
    /// while a value it needs is missing).
    #[schemars(with = "Nullable<Value>")]
    pub patch: Option<Value>,
    /// A unified diff of the affected part of the object (never for Secret data, and not
    /// while a value it needs is missing).
    #[schemars(with = "Nullable<String>")]
    pub diff: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NeedsInput {
    pub input: String,
    /// How to give it, e.g. `--set-file registry_auth=PATH`.
    pub flag: String,
    pub hint: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Unexplained {
    /// `Pod` or `ImageStream`.
    pub kind: String,
    pub namespace: String,
    /// The pod's name (the ImageStream's, when `kind` is `ImageStream`).
    pub pod: String,
    /// The container (the tag, for an ImageStream).
    #[schemars(with = "Nullable<String>")]
    pub container: Option<String>,
    pub image: String,
    pub category: Category,
    #[schemars(with = "Nullable<String>")]
    pub message: Option<String>,
    pub count: u64,
    /// Orphans only: `true` when the state shows the pod is gone (it holds other pods of its
    /// namespace), `false` when the pod is only not in the snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gone: Option<bool>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleError {
    pub rule: String,
    pub namespace: String,
    pub pod: String,
    pub error: String,
}

impl Plan {
    /// Visit every string that can carry text from the cluster or from rule templates (messages,
    /// names, images, explanations, summaries, steps, diffs), and every JSON value (probe
    /// results, patches). Ids, enums and the flags remedy itself prints are left out: they are
    /// remedy's own words. Used to redact credentials and, for terminals, escape control
    /// characters.
    pub fn visit_text(&mut self, text: &mut dyn FnMut(&mut String), value: &mut dyn FnMut(&mut Value)) {
        text(&mut self.source.name);
        self.source.context.iter_mut().for_each(&mut *text);
        self.source.server.iter_mut().for_each(&mut *text);
        for f in &mut self.source.skipped_files {
            // A parse error can quote the line it stopped at.
            text(&mut f.file);
            text(&mut f.reason);
        }
        self.rules.skipped.iter_mut().for_each(|r| text(&mut r.reason));
        self.cluster.version.iter_mut().for_each(&mut *text);
        for f in &mut self.findings {
            text(&mut f.title);
            text(&mut f.registry);
            f.subjects.map_in_place(|s| s.visit_text(text));
            f.explanation.iter_mut().for_each(&mut *text);
            for m in &mut f.evidence.messages {
                text(&mut m.reason);
                text(&mut m.message);
            }
            f.evidence.conditions.iter_mut().for_each(&mut *text);
            f.evidence.probes.values_mut().for_each(|p| p.visit(&mut *value));
            f.candidates
                .iter_mut()
                .filter_map(|c| c.detail.as_mut())
                .for_each(&mut *text);
            f.notes.iter_mut().for_each(&mut *text);
        }
        self.actions.map_in_place(|a| {
            if let Some(t) = &mut a.target {
                text(&mut t.name);
                t.namespace.iter_mut().for_each(&mut *text);
            }
            text(&mut a.description);
            text(&mut a.change.summary);
            a.change.patch.iter_mut().for_each(&mut *value);
            a.change.diff.iter_mut().for_each(&mut *text);
            a.reason.iter_mut().for_each(&mut *text);
            if let Some(n) = &mut a.needs_input {
                text(&mut n.hint);
            }
            visit_shared(&mut a.steps, text);
            visit_shared(&mut a.commands, text);
        });
        for u in self.unexplained.iter_mut().chain(self.orphans.iter_mut()) {
            text(&mut u.namespace);
            text(&mut u.pod);
            u.container.iter_mut().for_each(&mut *text);
            text(&mut u.image);
            u.message.iter_mut().for_each(&mut *text);
        }
        for e in &mut self.errors {
            text(&mut e.rule);
            text(&mut e.namespace);
            text(&mut e.pod);
            text(&mut e.error);
        }
    }
}

/// Shared texts are visited as copies, and replaced only where the visit changed them.
fn visit_shared(items: &mut [Arc<str>], text: &mut dyn FnMut(&mut String)) {
    for s in items {
        let mut t = s.to_string();
        text(&mut t);
        if *t != **s {
            *s = t.into();
        }
    }
}

impl Subject {
    fn visit_text(&mut self, text: &mut dyn FnMut(&mut String)) {
        visit_shared(std::slice::from_mut(&mut self.namespace), text);
        visit_shared(std::slice::from_mut(&mut self.name), text);
        visit_shared(self.container.as_mut_slice(), text);
        visit_shared(self.tag.as_mut_slice(), text);
        visit_shared(std::slice::from_mut(&mut self.image), text);
        // A rule's explanation can quote the failure's messages.
        if let Some(t) = &mut self.explanation {
            t.visit(text);
        }
    }
}
