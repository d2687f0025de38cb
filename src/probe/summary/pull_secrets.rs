//! The `pullSecrets` probe: which pull secrets kubelet uses for a pod and what they cover.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::secret::{covers, docker_config, lookup_target, misfiled_config, registries_with_credentials};
use crate::cluster::Object;
use crate::refs::dockercfg::DockerConfig;
use crate::refs::keyring;

/// Fields of `pull_secrets` (the `pullSecrets` probe).
pub const PULL_SECRETS_FIELDS: &[&str] = &[
    "pod",
    "namespace",
    "serviceAccount",
    "serviceAccountExists",
    "fromPod",
    "fromServiceAccount",
    "secrets",
    "covers",
    "covering",
    "missing",
    "serviceAccountCovers",
    "serviceAccountCovering",
    "wrongType",
    "ownPullSecrets",
    "ownPullSecretsFrom",
    "needsRecreate",
    "registry",
    "image",
    "lookup",
];

pub(super) fn names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

pub fn pod_pull_secret_names(pod: &Object) -> Vec<String> {
    names(pod.list_field("spec.imagePullSecrets").as_deref())
}

pub fn sa_pull_secret_names(sa: &Object) -> Vec<String> {
    names(sa.list_field("imagePullSecrets").as_deref())
}

/// Where a pod's `imagePullSecrets` came from, as far as the state tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnSecrets {
    /// The pod (or its template) lists none of its own: admission copies the service
    /// account's when the pod is created.
    No,
    /// The owner's pod template lists pull secrets.
    Template,
    /// No template is known, and the pod lists secrets its service account does not.
    Pod,
}

impl OwnSecrets {
    /// The ServiceAccount admission plugin copies the service account's `imagePullSecrets`
    /// into a pod only when the pod has none. With the template known, it decides; without
    /// it, a pod listing a secret its service account does not list set them itself (an
    /// account whose list was edited since the pod was created looks the same).
    pub fn of(from_pod: &[String], from_sa: &[String], template: Option<&[String]>) -> Self {
        match template {
            Some(t) if !t.is_empty() => OwnSecrets::Template,
            Some(_) => OwnSecrets::No,
            None if from_pod.iter().any(|n| !from_sa.contains(n)) => OwnSecrets::Pod,
            None => OwnSecrets::No,
        }
    }

    fn as_value(self) -> Value {
        match self {
            OwnSecrets::No => Value::Null,
            OwnSecrets::Template => json!("template"),
            OwnSecrets::Pod => json!("pod"),
        }
    }
}

/// The pull secrets kubelet uses for a pod, and whether they give it credentials for the
/// image (`image`, matched per repository as kubelet does) or, without an image, the
/// registry. kubelet reads only the pod spec's secrets: service-account secrets are copied
/// there at admission, and only into a pod that lists none of its own; so fixing a service
/// account helps a pod only when it is recreated (`needsRecreate`), and never a pod that
/// sets its own (`ownPullSecrets`). `template` is the pull-secret list of the pod template
/// that created the pod, when known.
pub fn pull_secrets(
    pod: &Object,
    sa: Option<&Object>,
    secrets: &BTreeMap<String, Option<&Object>>,
    registry: &str,
    image: Option<&str>,
    template: Option<&[String]>,
) -> Value {
    let from_pod = pod_pull_secret_names(pod);
    let from_sa = sa.map(sa_pull_secret_names).unwrap_or_default();
    let target = lookup_target(registry, image);
    let mut all: Vec<&String> = from_pod.iter().chain(from_sa.iter()).collect();
    all.sort();
    all.dedup();
    let configs: BTreeMap<&String, DockerConfig> = all
        .iter()
        .filter_map(|n| Some((*n, docker_config(secrets.get(*n).copied().flatten()?)?)))
        .collect();
    // The secrets of one list form one keyring, as in kubelet: the Docker Hub fallback
    // applies only when no key of any of them matched.
    let covering_of = |names: &[String]| -> Vec<String> {
        let listed: Vec<(&String, &DockerConfig)> =
            names.iter().filter_map(|n| configs.get(n).map(|c| (n, c))).collect();
        let cfgs: Vec<&DockerConfig> = listed.iter().map(|(_, c)| *c).collect();
        let mut out: Vec<String> = keyring::covering(&cfgs, &target)
            .into_iter()
            .map(|(i, _)| listed[i].0.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    };
    let covering = covering_of(&from_pod);
    let sa_covering = covering_of(&from_sa);
    let own = OwnSecrets::of(&from_pod, &from_sa, template);
    let mut entries = Vec::new();
    let mut missing = Vec::new();
    let mut wrong_type = Vec::new();
    for name in all {
        let obj = secrets.get(name).copied().flatten();
        let cfg = configs.get(name);
        let in_pod = from_pod.contains(name);
        let in_sa = from_sa.contains(name);
        if obj.is_none() && in_pod {
            missing.push(name.clone());
        }
        // Credentials kubelet would use for the image, were the secret of the right type.
        let misfiled = obj.and_then(misfiled_config).is_some_and(|c| covers(&c, &target));
        if misfiled && in_pod {
            wrong_type.push(name.clone());
        }
        entries.push(json!({
            "name": name,
            "exists": obj.is_some(),
            "type": obj.and_then(|o| o.str_field("type")),
            "kubeletReads": cfg.is_some(),
            "registries": cfg.map(registries_with_credentials).unwrap_or_default(),
            "covers": cfg.is_some_and(|c| covers(c, &target)),
            "wrongType": misfiled,
            "inPod": in_pod,
            "inServiceAccount": in_sa,
        }));
    }
    let covers_any = !covering.is_empty();
    let sa_covers = !sa_covering.is_empty();
    json!({
        "pod": format!("{}/{}", pod.namespace.as_deref().unwrap_or(""), pod.name),
        "namespace": pod.namespace,
        "serviceAccount": pod.str_field("spec.serviceAccountName").unwrap_or("default"),
        "serviceAccountExists": sa.is_some(),
        "fromPod": from_pod,
        "fromServiceAccount": from_sa,
        "secrets": entries,
        "covers": covers_any,
        "covering": covering,
        "missing": missing,
        "wrongType": wrong_type,
        "serviceAccountCovers": sa_covers,
        "serviceAccountCovering": sa_covering,
        "ownPullSecrets": own != OwnSecrets::No,
        "ownPullSecretsFrom": own.as_value(),
        // The service account was fixed after the pod was created: recreating the pod is
        // enough, unless the pod sets its own list (then admission never adds the account's).
        "needsRecreate": sa_covers && !covers_any && own == OwnSecrets::No,
        "registry": registry,
        "image": image.filter(|i| !i.is_empty()),
        "lookup": target,
    })
}
