use schemars::JsonSchema;
use serde::Deserialize;

/// A read of cluster state. Give it a `name` and exactly one probe type. String fields are
/// templates rendered with the failure, the captures and the earlier probes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProbeSpec {
    /// The template variable that holds the result (an identifier: letters, digits, `_`).
    pub name: String,
    /// One object, or none when it does not exist. Secret values are never exposed: a
    /// Secret shows its keys and, for pull secrets, the registries it covers.
    #[serde(default)]
    pub object: Option<ObjectRefSpec>,
    /// The pull secrets kubelet would use for a pod, and whether they cover a registry.
    #[serde(default)]
    pub pull_secrets: Option<PullSecretsProbe>,
    /// The first of several candidate secrets that holds credentials for a registry.
    #[serde(default)]
    pub first_covering: Option<FirstCoveringProbe>,
    /// OpenShift's `image.config.openshift.io/cluster`, summarised for one registry.
    #[serde(default)]
    pub image_config: Option<RegistryProbe>,
    /// Whether the cluster trusts a CA for a registry (OpenShift `additionalTrustedCA`).
    #[serde(default)]
    pub trusted_ca: Option<RegistryProbe>,
    /// The owner of a pod and whether deleting the pod makes a controller recreate it.
    #[serde(default)]
    pub owner: Option<PodProbe>,
    /// Values selected from one object with a JSONPath expression (a list, empty when the object is missing).
    #[serde(default)]
    pub json_path: Option<JsonPathProbe>,
    /// Asks the registry itself, with the credentials the pod would use: scheme, TLS verdict,
    /// credentials, repository and tag. Only with `plan --probe-registries`; otherwise
    /// `probed` is false and every verdict unknown.
    #[serde(default)]
    pub registry: Option<RegistryImageProbe>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegistryImageProbe {
    /// `namespace/name` of the pod whose pull secrets give the credentials.
    pub pod: String,
    /// The image as the pod names it.
    pub image: String,
}

/// An object reference. `namespace` is omitted for cluster-scoped kinds.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectRefSpec {
    /// `v1`, `config.openshift.io/v1`, ...
    pub api_version: String,
    /// The kind, as in the object (`Secret`, `Image`, ...).
    pub kind: String,
    /// The namespace; omit it for cluster-scoped kinds.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PullSecretsProbe {
    /// `namespace/name` of the pod.
    pub pod: String,
    /// The registry host[:port] to check coverage for.
    pub registry: String,
    /// The image as the pod names it. When set, coverage is decided per image as kubelet
    /// does (a key `quay.io/team` covers `quay.io/team/app`); otherwise per registry.
    #[serde(default)]
    pub image: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FirstCoveringProbe {
    /// The registry host[:port] the secret must hold credentials for.
    pub registry: String,
    /// The image as the pod names it: coverage per image, as for `pullSecrets`.
    #[serde(default)]
    pub image: Option<String>,
    /// `namespace/name` of candidate secrets, tried in order.
    pub candidates: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegistryProbe {
    /// The registry host[:port].
    pub registry: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodProbe {
    /// `namespace/name` of the pod.
    pub pod: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsonPathProbe {
    /// The object to read.
    pub object: ObjectRefSpec,
    /// A JSONPath expression such as `$.spec.registrySources.insecureRegistries[*]`.
    pub path: String,
}
