use schemars::JsonSchema;
use serde::Deserialize;

use super::ObjectRefSpec;

/// One piece of desired state. Set exactly one action type; the other fields are common.
/// String fields are templates.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ActionSpec {
    /// Overrides the generated one-line description.
    #[serde(default)]
    pub description: Option<String>,
    /// A condition: when it is false the action is `blocked`, with `blockedReason` as the reason.
    #[serde(default)]
    pub when: Option<String>,
    /// Template for why the action is `blocked` when `when` is false.
    #[serde(default)]
    pub blocked_reason: Option<String>,
    /// A condition: when it is false the action is left out of the plan (it does not apply).
    #[serde(default)]
    pub only_if: Option<String>,
    /// Plain values the action needs (`--set NAME=VALUE`), readable as `params.NAME`. Without
    /// them the action is `needs-input`. Never use these for credentials: use an input file.
    #[serde(default)]
    pub requires: Vec<String>,
    /// Marks the action as rebooting or draining nodes. A change to `spec.registrySources` of
    /// `image.config.openshift.io/cluster` (insecure, allowed and blocked registries: a
    /// MachineConfig rollout) is always disruptive; `additionalTrustedCA` is not.
    #[serde(default)]
    pub disruptive: Option<bool>,
    /// Another way to the same end, instead of the rule's other actions (typically a manual
    /// "better" fix next to an automated one). No action depends on it and it depends on none;
    /// the plan presents it as an alternative.
    #[serde(default)]
    pub alternative: bool,
    /// A condition: when it holds, the action is disruptive (for changes whose effect
    /// depends on the platform version, such as `cluster.version is version_lt('4.7')`).
    #[serde(default)]
    pub disruptive_when: Option<String>,

    /// Copy a Secret into another namespace; an existing target gets the missing registries merged in.
    #[serde(default)]
    pub copy_secret: Option<CopySecretAction>,
    /// Add a secret to a ServiceAccount's `imagePullSecrets`, keeping every existing entry.
    #[serde(default)]
    pub link_pull_secret: Option<LinkPullSecretAction>,
    /// Merge a registry's credentials, given by the user, into a pull secret's `auths`.
    #[serde(default)]
    pub merge_docker_auths: Option<MergeDockerAuthsAction>,
    /// Ensure a value is in a list of an object (for example a registry in `insecureRegistries`).
    #[serde(default)]
    pub ensure_list_item: Option<EnsureListItemAction>,
    /// Ensure a ConfigMap has a key, given by the user, keeping the other keys.
    #[serde(default)]
    pub set_config_map_key: Option<ConfigMapKeyAction>,
    /// A JSON merge patch or JSON patch on an object (typically a cluster config).
    #[serde(default)]
    pub patch: Option<PatchAction>,
    /// Ensure an object exists, with the fields given.
    #[serde(default)]
    pub ensure_object: Option<EnsureObjectAction>,
    /// Delete a pod so its controller recreates it. A pod without a controller gets a manual step.
    #[serde(default)]
    pub restart_pod: Option<RestartPodAction>,
    /// Instructions printed for a person; never executed.
    #[serde(default)]
    pub manual: Option<ManualAction>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CopySecretAction {
    /// `namespace/name` of the source secret.
    pub from: String,
    /// `namespace/name` of the copy.
    pub to: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LinkPullSecretAction {
    /// `namespace/name` of the ServiceAccount.
    pub service_account: String,
    /// Name of the secret, in the ServiceAccount's namespace.
    pub secret: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MergeDockerAuthsAction {
    /// `namespace/name` of the pull secret.
    pub secret: String,
    /// The registry whose credentials must be present.
    pub registry: String,
    /// The input holding a docker `config.json` with that registry (`--set-file NAME=PATH`).
    pub input: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnsureListItemAction {
    /// The object holding the list.
    pub target: ObjectRefSpec,
    /// Dotted path to the list, e.g. `spec.registrySources.insecureRegistries`.
    pub path: String,
    /// The value that must be in the list.
    pub item: String,
    /// Only when the list already exists: a missing list means "no restriction" for allow-lists.
    #[serde(default)]
    pub only_if_list_exists: bool,
    /// The list holds objects: `item` is the value of this field (`name` for
    /// `imagePullSecrets`), matched on it and added as `{itemKey: item}`.
    #[serde(default)]
    pub item_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigMapKeyAction {
    /// `namespace/name` of the ConfigMap.
    pub config_map: String,
    /// The key that must exist (for a CA, `host..port`: see the `ca_key` filter).
    pub key: String,
    /// The input holding the value (`--set-file NAME=PATH`).
    pub input: String,
    /// Keys to remove in the same change (for example a key written in the wrong form).
    #[serde(default)]
    pub remove_keys: Vec<String>,
    /// An existing key whose value to use instead of the input (renaming a wrong-form key).
    #[serde(default)]
    pub copy_from: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchAction {
    /// The object to patch.
    pub target: ObjectRefSpec,
    /// RFC 7386 JSON merge patch; string leaves are templates.
    #[serde(default)]
    pub merge_patch: Option<serde_json::Value>,
    /// RFC 6902 JSON patch operations; string leaves are templates.
    #[serde(default)]
    pub json_patch: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnsureObjectAction {
    /// The object (apiVersion, kind, metadata.name, ...); string leaves are templates.
    pub manifest: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RestartPodAction {
    /// `namespace/name` of the pod.
    pub pod: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManualAction {
    /// One line saying what the person must do.
    pub title: String,
    /// The steps, in order, as plain sentences.
    #[serde(default)]
    pub steps: Vec<String>,
    /// Commands shown for the person to run; remedy never runs them.
    #[serde(default)]
    pub commands: Vec<String>,
}
