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
    /// Pull failures reported by events of pods that no longer exist.
    pub orphans: Vec<Unexplained>,
    /// Rules that failed while being evaluated (a probe or template error).
    pub errors: Vec<RuleError>,
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
    pub failing_pods: usize,
    pub pending: usize,
    pub satisfied: usize,
    pub manual: usize,
    pub needs_input: usize,
    pub blocked: usize,
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
    /// The failing pods (and containers).
    pub subjects: Vec<Subject>,
    /// Why, rendered from the playbook's `explain`.
    pub explanation: Option<String>,
    /// True when no surviving message named the cause and the state probes decided it.
    pub inferred: bool,
    pub evidence: FindingEvidence,
    /// Every playbook that matched these failures, and what became of it.
    pub candidates: Vec<Candidate>,
    /// Ids of the actions that fix this finding.
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub container: Option<String>,
    pub image: String,
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
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageEvidence {
    /// `event` or `containerStatus`.
    pub source: String,
    pub reason: String,
    pub message: String,
    pub count: u64,
    pub pods: usize,
    pub first_seen: Option<String>,
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
    /// `a1`, `a2`, ... in execution order.
    pub id: String,
    /// copySecret, linkPullSecret, mergeDockerAuths, ensureListItem, setConfigMapKey, patch,
    /// ensureObject, restartPod or manual.
    #[serde(rename = "type")]
    pub action_type: String,
    pub status: Status,
    /// Reboots or drains nodes (OpenShift rolls out a MachineConfig for image config changes).
    pub disruptive: bool,
    /// The object changed; null for a manual step.
    pub target: Option<ActionTarget>,
    pub description: String,
    pub change: ChangeOut,
    /// Why the status is what it is.
    pub reason: Option<String>,
    pub needs_input: Option<NeedsInput>,
    /// Manual steps and commands: printed, never executed.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub steps: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub commands: Vec<String>,
    pub depends_on: Vec<String>,
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangeOut {
    /// One line: what would change. Secret values are never shown.
    pub summary: String,
    /// The JSON patch or merge patch that would be sent (never for Secret data).
    pub patch: Option<Value>,
    /// A unified diff of the affected part of the object (never for Secret data).
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
    pub namespace: String,
    pub pod: String,
    pub container: Option<String>,
    pub image: String,
    pub category: Category,
    pub message: Option<String>,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleError {
    pub rule: String,
    pub namespace: String,
    pub pod: String,
    pub error: String,
}
