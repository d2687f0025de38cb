//! The plan as it is printed with `-o json`/`-o yaml`: a public contract, documented by
//! `schemas/plan.schema.json` (generated from these types).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::model::{Category, RuleSeverity};

pub const PLAN_API_VERSION: &str = "remedy.dev/v1alpha1";

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
    pub actions: Vec<Action>,
    /// Failing pulls no rule explains.
    pub unexplained: Vec<Unexplained>,
    /// Pull failures reported by events of pods the state does not hold (see `gone`).
    pub orphans: Vec<Unexplained>,
    /// Rules that failed while being evaluated (a probe or template error).
    pub errors: Vec<RuleError>,
    /// The command line that reproduces this run (for the human plan's `next` hint); not part
    /// of the JSON contract.
    #[serde(skip)]
    pub rerun: Option<super::rerun::Rerun>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanSource {
    /// `snapshot` or `live`.
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    pub openshift: bool,
    #[schemars(required)]
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
    pub subjects: Vec<Subject>,
    /// Why, rendered from the playbook's `explain`.
    #[schemars(required)]
    pub explanation: Option<String>,
    /// True when no surviving message named the cause and the state probes decided it.
    pub inferred: bool,
    pub evidence: FindingEvidence,
    /// Every playbook that matched these failures, and what became of it.
    pub candidates: Vec<Candidate>,
    /// Ids of the actions that fix this finding.
    pub actions: Vec<String>,
}

/// One thing that cannot get its image: a container of a pod, or a tag of an ImageStream
/// whose import failed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// `Pod` or `ImageStream`.
    pub kind: String,
    pub namespace: String,
    /// The pod's or the ImageStream's name.
    pub name: String,
    /// The container (or init container) of a pod; null for an ImageStream.
    #[schemars(required)]
    pub container: Option<String>,
    /// The tag of an ImageStream; null for a pod.
    #[schemars(required)]
    pub tag: Option<String>,
    /// The image as the pod or the tag's `from` names it.
    pub image: String,
    /// This subject's own explanation, when the finding's subjects differ in detail (the
    /// finding's `explanation` then lists the differing words in place); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
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
    pub probes: BTreeMap<String, Value>,
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
    #[schemars(required)]
    pub first_seen: Option<String>,
    #[schemars(required)]
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
    #[schemars(required)]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
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

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionTarget {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// `a1`, `a2`, ... in execution order, which is also the order the plan lists them in
    /// (finding by finding); an action never comes before one it depends on.
    pub id: String,
    /// copySecret, linkPullSecret, mergeDockerAuths, ensureListItem, setConfigMapKey, patch,
    /// ensureObject, restartPod or manual.
    #[serde(rename = "type")]
    pub action_type: String,
    pub status: Status,
    /// Applying it drains and reboots nodes: on OpenShift, a change to `spec.registrySources`
    /// of `image.config.openshift.io/cluster` rolls out a MachineConfig (`additionalTrustedCA`
    /// does not), or the rule marks it so. A property of the change, whatever its status.
    pub disruptive: bool,
    /// Another way to the same end as the other actions of its finding, instead of them (for
    /// example a manual fix that makes an automated one unnecessary). Nothing depends on it.
    pub alternative: bool,
    /// The object changed; null for a manual step.
    #[schemars(required)]
    pub target: Option<ActionTarget>,
    pub description: String,
    pub change: ChangeOut,
    /// Why the status is what it is (for example `waits for a1 (manual)`).
    #[schemars(required)]
    pub reason: Option<String>,
    /// For `needs-input`: which value is missing and how to give it.
    #[schemars(required)]
    pub needs_input: Option<NeedsInput>,
    /// A manual action's steps, in order: printed, never executed.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub steps: Vec<String>,
    /// A manual action's commands, for the person to run (or adapt) after reading the steps:
    /// printed, never executed.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub commands: Vec<String>,
    /// Ids of the actions that must be done first. A pending action that depends on a manual,
    /// needs-input or blocked one is itself blocked (`reason`: `waits for aN (status)`).
    pub depends_on: Vec<String>,
    /// Ids of the findings this action fixes.
    pub findings: Vec<String>,
}

impl Action {
    /// Counted in `summary.disruptive`: disruptive and not yet in place.
    pub fn counts_as_disruptive(&self) -> bool {
        self.disruptive && self.status != Status::Satisfied
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeOut {
    /// One line: what would change. Secret values are never shown.
    pub summary: String,
    /// The JSON patch or merge patch that would be sent (never for Secret data, and not
    /// while a value it needs is missing).
    #[schemars(required)]
    pub patch: Option<Value>,
    /// A unified diff of the affected part of the object (never for Secret data, and not
    /// while a value it needs is missing).
    #[schemars(required)]
    pub diff: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
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
    #[schemars(required)]
    pub container: Option<String>,
    pub image: String,
    pub category: Category,
    #[schemars(required)]
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
