//! The rule-test file format (`kind: RuleTest`): cases run whole plans and state what they expect.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::Category;

/// A rule-test file: cases that each build a cluster state, plan on it, and check the plan.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleTestFile {
    /// Always `remedy.dev/v1alpha1`.
    pub api_version: String,
    /// Always `RuleTest`.
    pub kind: String,
    pub metadata: TestMetadata,
    pub spec: TestSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestMetadata {
    /// A name for the test file, shown in reports.
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestSpec {
    /// The playbook under test: the default `rule` of every case (`--rule ID` selects by it).
    #[serde(default)]
    pub rule: Option<String>,
    /// Rule files or directories to load besides the bundled rules, relative to this file.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Leave out the bundled playbooks (the bundled symptoms stay), as `--no-bundled` does.
    #[serde(default)]
    pub no_bundled: bool,
    pub cases: Vec<CaseSpec>,
}

/// One case: a cluster state (a snapshot path, inline objects, or a lone event message), optional
/// inputs, and what the plan must show.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaseSpec {
    /// Shown when the case fails; unique in the file.
    pub name: String,
    /// The playbook this case is about, when it differs from the file's `rule`.
    #[serde(default)]
    pub rule: Option<String>,
    /// A snapshot file or directory, or a list of them, relative to this file. Objects read
    /// later replace earlier ones with the same kind, namespace and name (inline `objects` come
    /// last), so a case can start from a snapshot and change a few objects.
    #[serde(default)]
    pub snapshot: Option<OneOrMany>,
    /// Objects (and Events) as `kubectl get -o yaml` shows them, added to the snapshot.
    #[serde(default)]
    pub objects: Vec<serde_json::Value>,
    /// A pull-failure message: the case gets a pod whose pull failed with it (an event and a
    /// waiting container), in `namespace`, pulling `image`.
    #[serde(default)]
    pub message: Option<String>,
    /// The image of the pod made for `message` (default `registry.example.com/team/app:1.0`).
    #[serde(default)]
    pub image: Option<String>,
    /// The namespace of the pod made for `message` (default `default`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Add a ClusterVersion so the cluster looks like OpenShift (for `message` cases).
    #[serde(default)]
    pub openshift: bool,
    /// Input values, as `--set NAME=VALUE` gives them.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// Input files, as `--set-file NAME=PATH` gives them (paths relative to this file).
    #[serde(default)]
    pub input_files: BTreeMap<String, String>,
    /// The rule must not fire on this state (no finding of `rule`).
    #[serde(default)]
    pub valid: bool,
    /// What the plan must show.
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Compare the whole plan (YAML) with the one recorded under `__snapshots__/` next to this
    /// file; `remedy rules test --accept` records it.
    #[serde(default)]
    pub record_plan: bool,
}

/// Expected findings and actions. Each list given must match the plan's exactly, in any order.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// Every finding of the plan.
    #[serde(default)]
    pub findings: Option<Vec<ExpectFinding>>,
    /// Every action of the plan.
    #[serde(default)]
    pub actions: Option<Vec<ExpectAction>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectFinding {
    /// The playbook id.
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// `namespace/name` of every failing pod (or ImageStream) of the finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subjects: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectAction {
    /// The action type: copySecret, linkPullSecret, mergeDockerAuths, ensureListItem,
    /// setConfigMapKey, patch, ensureObject, restartPod or manual.
    #[serde(rename = "type")]
    pub action_type: String,
    /// `Kind namespace/name` (`Kind name` for cluster-scoped objects); omit for manual steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// pending, satisfied, manual, needs-input or blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// The JSON Schema of rule-test files (`schemas/test.schema.json`).
pub fn schema() -> String {
    let mut s = schemars::schema_for!(RuleTestFile);
    s.insert("title".into(), "remedy rule test (kind: RuleTest)".into());
    serde_json::to_string_pretty(&s).expect("schemas serialise") + "\n"
}

/// One path or a list of paths.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn paths(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}
