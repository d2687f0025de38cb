//! Pure summaries of cluster objects for templates. Secret values never leave this module:
//! a Secret is described by its keys and, for pull secrets, the registries it covers.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::cluster::Object;
use crate::refs::cakey::{self, CaKeyLookup};
use crate::refs::dockercfg::{self, DockerConfig};
use crate::refs::image::ImageRef;
use crate::refs::keyring;

pub const PULL_SECRET_TYPES: &[&str] = &["kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"];

// The fields of each summary, declared next to the code that builds it so they stay in
// sync (a test checks every variant's keys): `load` checks templates that read them.

/// Fields of `redacted` for a Secret (also the `firstCovering` probe's result).
pub const SECRET_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "type",
    "keys",
    "registries",
    "name",
    "namespace",
    "ref",
];
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
/// Fields of `image_config` (the `imageConfig` probe).
pub const IMAGE_CONFIG_FIELDS: &[&str] = &[
    "exists",
    "insecureRegistries",
    "allowedRegistries",
    "allowedRegistriesSet",
    "blockedRegistries",
    "additionalTrustedCA",
    "registryInsecure",
    "registryAllowed",
    "registryBlocked",
    "machineConfigPools",
    "degradedPools",
    "updatingPools",
];
/// Fields of `trusted_ca` (the `trustedCa` probe).
pub const TRUSTED_CA_FIELDS: &[&str] = &[
    "configMap",
    "configMapExists",
    "key",
    "keys",
    "hasKey",
    "wrongKey",
    "trusted",
];
/// Fields of `owner` (the `owner` probe).
pub const OWNER_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "name",
    "controller",
    "restartable",
    "reason",
    "top",
    "chain",
    "olmManaged",
    "templatePullSecrets",
    "templatePath",
    "templateEditable",
];

fn secret_data(secret: &Object) -> Option<BTreeMap<String, String>> {
    Some(
        secret
            .field("data")
            .and_then(Value::as_object)?
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
    )
}

/// The pull-secret config kubelet reads from a Secret, if it reads one: only type
/// `kubernetes.io/dockerconfigjson` with a `.dockerconfigjson` key, or
/// `kubernetes.io/dockercfg` with `.dockercfg` (kubelet's `MakeDockerKeyring`). An Opaque
/// secret holding a `.dockerconfigjson` key is ignored by kubelet, so it is `None` here.
pub fn docker_config(secret: &Object) -> Option<DockerConfig> {
    let ty = secret.str_field("type").unwrap_or("Opaque");
    if !PULL_SECRET_TYPES.contains(&ty) {
        return None;
    }
    DockerConfig::from_secret_data(ty, &secret_data(secret)?).ok()
}

/// A config under a pull-secret key of a Secret whose type kubelet does not read it with
/// (an Opaque secret with `.dockerconfigjson`, or the key of the other pull-secret type).
pub fn misfiled_config(secret: &Object) -> Option<DockerConfig> {
    if docker_config(secret).is_some() {
        return None;
    }
    let data = secret_data(secret)?;
    [
        (dockercfg::KEY_DOCKERCONFIGJSON, dockercfg::TYPE_DOCKERCONFIGJSON),
        (dockercfg::KEY_DOCKERCFG, dockercfg::TYPE_DOCKERCFG),
    ]
    .into_iter()
    .filter(|(key, _)| data.contains_key(*key))
    .find_map(|(_, ty)| DockerConfig::from_secret_data(ty, &data).ok())
}

/// Registries a secret holds credentials for (sorted), as `host[:port][/path]`: a key can
/// carry userinfo or a query, which never print.
pub fn registries_with_credentials(cfg: &DockerConfig) -> Vec<String> {
    let mut keys: Vec<String> = cfg
        .entries
        .iter()
        .filter(|(_, e)| e.has_credentials())
        .map(|(k, _)| crate::redact::registry_key(k))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// What kubelet looks credentials up for: the image's repository name
/// (`quay.io/org/app`) when the image parses, else the bare registry `host[:port]`.
pub fn lookup_target(registry: &str, image: Option<&str>) -> String {
    image
        .filter(|i| !i.is_empty())
        .and_then(|i| ImageRef::parse(i).ok())
        .map(|r| keyring::lookup_name(&r))
        .unwrap_or_else(|| registry.to_string())
}

/// Whether kubelet would send credentials from this config for `target` (a repository name
/// or a bare registry, see [`lookup_target`]).
pub fn covers(cfg: &DockerConfig, target: &str) -> bool {
    keyring::config_covers(cfg, target)
}

/// An object as templates see it; Secrets lose their values.
pub fn redacted(obj: &Object) -> Value {
    if obj.kind != "Secret" {
        return obj.value().clone();
    }
    let keys: Vec<&String> = obj
        .field("data")
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    let registries = docker_config(obj)
        .map(|c| registries_with_credentials(&c))
        .unwrap_or_default();
    json!({
        "apiVersion": obj.api_version,
        "kind": obj.kind,
        "metadata": {
            "name": obj.name,
            "namespace": obj.namespace,
            "labels": obj.field("metadata.labels"),
        },
        "type": obj.str_field("type"),
        "keys": keys,
        "registries": registries,
        "name": obj.name,
        "namespace": obj.namespace,
        "ref": format!("{}/{}", obj.namespace.as_deref().unwrap_or(""), obj.name),
    })
}

fn names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

pub fn pod_pull_secret_names(pod: &Object) -> Vec<String> {
    names(pod.field("spec.imagePullSecrets"))
}

pub fn sa_pull_secret_names(sa: &Object) -> Vec<String> {
    names(sa.field("imagePullSecrets"))
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

/// API groups only OpenShift (and OKD) serve.
pub const OPENSHIFT_GROUPS: &[&str] = &[
    "config.openshift.io",
    "operator.openshift.io",
    "image.openshift.io",
    "route.openshift.io",
    "apps.openshift.io",
    "build.openshift.io",
    "project.openshift.io",
    "security.openshift.io",
    "machineconfiguration.openshift.io",
    "samples.operator.openshift.io",
    "imageregistry.operator.openshift.io",
];

/// What about one object says the cluster is OpenShift, if anything: annotations only
/// OpenShift's controllers and admission write (`openshift.io/sa.scc.*` on namespaces,
/// `openshift.io/scc` on pods, `openshift.io/internal-registry-auth-token.*` or
/// `openshift.io/token-secret.*` on the service-account `-dockercfg-` secrets), the global pull
/// secret `openshift-config/pull-secret`, or a CatalogSource in `openshift-marketplace`.
pub fn openshift_sign(obj: &Object) -> Option<String> {
    let ns = obj.namespace.as_deref().unwrap_or_default();
    // Every annotation looked for contains `openshift.io/`: objects whose text lacks it are
    // never parsed (detection scans every pod; parsing them all would double peak memory).
    let mentions = obj.raw().contains("openshift.io/");
    let annotations = mentions
        .then(|| obj.field("metadata.annotations").and_then(Value::as_object))
        .flatten();
    let annotated = |prefixes: &[&str]| {
        annotations.and_then(|a| a.keys().find(|k| prefixes.iter().any(|p| k.starts_with(p))).cloned())
    };
    match obj.kind.as_str() {
        "Namespace" => annotated(&["openshift.io/sa.scc.", "openshift.io/requester"])
            .map(|k| format!("namespace {} is annotated {k}", obj.name)),
        "Pod" => annotated(&["openshift.io/scc"]).map(|k| format!("pod {ns}/{} is annotated {k}", obj.name)),
        "Secret" if ns == "openshift-config" && obj.name == "pull-secret" => {
            Some("the global pull secret openshift-config/pull-secret exists".to_string())
        }
        "Secret" => annotated(&["openshift.io/internal-registry-auth-token", "openshift.io/token-secret"])
            .map(|k| format!("secret {ns}/{} is annotated {k}", obj.name)),
        "CatalogSource" if ns == "openshift-marketplace" => {
            Some(format!("CatalogSource {ns}/{} (the OpenShift marketplace)", obj.name))
        }
        _ => None,
    }
}

/// Whether a `registrySources` entry (`host[:port]`, `*.domain`, or `host/repo`) applies to a registry.
pub fn source_entry_matches(entry: &str, registry: &str) -> bool {
    let host = entry.split('/').next().unwrap_or(entry);
    if let Some(suffix) = host.strip_prefix("*.") {
        return registry
            .strip_suffix(suffix)
            .is_some_and(|p| p.ends_with('.') && p.len() > 1);
    }
    host.eq_ignore_ascii_case(registry)
}

fn str_list(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
}

/// `image.config.openshift.io/cluster`, summarised for one registry.
pub fn image_config(obj: Option<&Object>, registry: &str) -> Value {
    let Some(obj) = obj else {
        return json!({"exists": false, "registryInsecure": false, "registryAllowed": true, "registryBlocked": false,
                      "insecureRegistries": [], "allowedRegistries": null, "allowedRegistriesSet": false,
                      "blockedRegistries": [], "additionalTrustedCA": null});
    };
    let insecure = str_list(obj.field("spec.registrySources.insecureRegistries")).unwrap_or_default();
    let allowed = str_list(obj.field("spec.registrySources.allowedRegistries"));
    let blocked = str_list(obj.field("spec.registrySources.blockedRegistries")).unwrap_or_default();
    let m = |l: &[String]| l.iter().any(|e| source_entry_matches(e, registry));
    json!({
        "exists": true,
        "insecureRegistries": insecure,
        "allowedRegistries": allowed,
        "allowedRegistriesSet": allowed.is_some(),
        "blockedRegistries": blocked,
        "additionalTrustedCA": obj.str_field("spec.additionalTrustedCA.name"),
        "registryInsecure": m(&insecure),
        "registryAllowed": allowed.as_deref().is_none_or(m),
        "registryBlocked": m(&blocked),
    })
}

fn condition_true<'a>(pool: &'a Object, kind: &str) -> Option<&'a Value> {
    pool.field("status.conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| {
            c.get("type").and_then(Value::as_str) == Some(kind)
                && c.get("status").and_then(Value::as_str) == Some("True")
        })
}

/// MachineConfigPools, for the `imageConfig` probe: a change to `registrySources` rolls out to
/// every pool, and a pool that is Degraded (or still updating) cannot take another rollout safely.
pub fn add_pools(image_config: &mut Value, pools: &[std::sync::Arc<Object>]) {
    let mut sorted: Vec<&Object> = pools.iter().map(|p| p.as_ref()).collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut list = Vec::new();
    let mut degraded = Vec::new();
    let mut updating = Vec::new();
    for p in sorted {
        let deg = ["Degraded", "NodeDegraded", "RenderDegraded"]
            .iter()
            .find_map(|k| condition_true(p, k));
        let upd = condition_true(p, "Updating");
        // The condition that says why: NodeDegraded and RenderDegraded carry the message.
        let message = ["NodeDegraded", "RenderDegraded", "Degraded"]
            .iter()
            .filter_map(|k| condition_true(p, k))
            .find_map(|c| c.get("message").and_then(Value::as_str).filter(|m| !m.is_empty()))
            .map(str::to_string);
        let count = |f: &str| p.field(&format!("status.{f}")).and_then(Value::as_u64).unwrap_or(0);
        if deg.is_some() {
            degraded.push(p.name.clone());
        }
        if upd.is_some() {
            updating.push(p.name.clone());
        }
        list.push(json!({
            "name": p.name,
            "degraded": deg.is_some(),
            "updating": upd.is_some(),
            "paused": p.field("spec.paused").and_then(Value::as_bool).unwrap_or(false),
            "machineCount": count("machineCount"),
            "degradedMachineCount": count("degradedMachineCount"),
            "message": message,
        }));
    }
    if let Some(m) = image_config.as_object_mut() {
        m.insert("machineConfigPools".into(), Value::Array(list));
        m.insert("degradedPools".into(), json!(degraded));
        m.insert("updatingPools".into(), json!(updating));
    }
}

/// Whether the cluster trusts a CA for `registry` through `additionalTrustedCA`.
pub fn trusted_ca(image_cfg: Option<&Object>, config_map: Option<&Object>, registry: &str) -> Value {
    let cm_name = image_cfg.and_then(|o| o.str_field("spec.additionalTrustedCA.name"));
    let keys: Vec<String> = config_map
        .and_then(|c| c.field("data").and_then(Value::as_object))
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let lookup = cakey::find_ca_key(keys.iter().map(String::as_str), registry);
    let (has_key, wrong) = match lookup {
        CaKeyLookup::Correct(_) => (true, None),
        CaKeyLookup::Missing => (false, None),
        CaKeyLookup::ColonForm(k) | CaKeyLookup::Malformed(k) => (false, Some(k)),
    };
    json!({
        "configMap": cm_name,
        "configMapExists": config_map.is_some(),
        "key": cakey::ca_key(registry),
        "keys": keys,
        "hasKey": has_key,
        "wrongKey": wrong,
        "trusted": has_key,
    })
}

/// One owner reference, as the owner chain follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub controller: bool,
}

impl OwnerRef {
    fn of(r: &Value) -> Option<Self> {
        Some(OwnerRef {
            api_version: r.get("apiVersion")?.as_str()?.to_string(),
            kind: r.get("kind")?.as_str()?.to_string(),
            name: r.get("name")?.as_str()?.to_string(),
            controller: r.get("controller").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    fn json(&self, found: bool, inferred: bool) -> Value {
        json!({"apiVersion": self.api_version, "kind": self.kind, "name": self.name,
               "found": found, "inferred": inferred})
    }
}

fn owner_refs(obj: &Object) -> Vec<Value> {
    obj.field("metadata.ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The reference the owner chain follows from `obj`: its controller. A pod without one
/// follows a CatalogSource (OLM recreates its pods although the reference says
/// `controller: false`), else its first owner; higher up only controllers count (a
/// Deployment's `controller: false` reference to an OLM ClusterServiceVersion is not its
/// controller).
pub fn owner_ref(obj: &Object) -> Option<OwnerRef> {
    let refs = owner_refs(obj);
    let pick = refs
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true));
    let pick = if obj.kind == "Pod" {
        pick.or_else(|| {
            refs.iter()
                .find(|r| r.get("kind").and_then(Value::as_str) == Some("CatalogSource"))
        })
        .or(refs.first())
    } else {
        pick
    };
    pick.and_then(OwnerRef::of)
}

/// Where a controller keeps the pull secrets of the pods it creates.
pub fn template_path(kind: &str) -> Option<&'static str> {
    match kind {
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicationController"
        | "DeploymentConfig" => Some("spec.template.spec.imagePullSecrets"),
        "CronJob" => Some("spec.jobTemplate.spec.template.spec.imagePullSecrets"),
        _ => None,
    }
}

/// The pull secrets a controller's pod template lists; `None` when it has no pod template.
pub fn template_pull_secrets(owner: &Object) -> Option<Vec<String>> {
    let path = template_path(&owner.kind)?;
    let template = path.strip_suffix(".spec.imagePullSecrets").unwrap_or(path);
    owner.field(template)?;
    Some(names(owner.field(path)))
}

fn olm_signs(obj: &Object) -> bool {
    obj.labels()
        .any(|(k, v)| k == "olm.owner" || k == "olm.owner.kind" || (k == "olm.managed" && v == "true"))
        || owner_refs(obj).iter().any(|r| {
            matches!(
                r.get("kind").and_then(Value::as_str),
                Some("ClusterServiceVersion" | "CatalogSource")
            )
        })
}

/// The owner of a pod, whether deleting the pod makes something recreate it, and the
/// controller at the top of its owner chain (the object whose pod template to change).
/// `chain` holds the owners found by following [`owner_ref`] from the pod, in order; it
/// stops at the first one that could not be read.
pub fn owner(pod: &Object, chain: &[&Object]) -> Value {
    let mirror = pod
        .field("metadata.annotations")
        .and_then(|a| a.get("kubernetes.io/config.mirror"))
        .is_some();
    let Some(first) = owner_ref(pod) else {
        return json!({"apiVersion": null, "kind": null, "name": null, "controller": false, "restartable": false,
                      "reason": "the pod has no owner: nothing would recreate it",
                      "top": null, "chain": [], "olmManaged": false, "templatePullSecrets": null,
                      "templatePath": null, "templateEditable": false});
    };
    let (restartable, reason) = if mirror || first.kind == "Node" {
        (
            false,
            "a static pod: the kubelet manages it from a file on the node".to_string(),
        )
    } else if first.kind == "CatalogSource" {
        (true, "OLM recreates it from the CatalogSource".to_string())
    } else if first.controller {
        (true, format!("its {} recreates it", first.kind))
    } else {
        (false, format!("owned by {}, which is not its controller", first.kind))
    };

    // Walk up: each found owner names the next; the last reference is the top.
    let mut names_in_chain = Vec::new();
    let mut top = first.json(false, false);
    let mut next = Some(first.clone());
    let mut found = chain.iter();
    let mut top_obj: Option<&Object> = None;
    while let Some(r) = next.take() {
        names_in_chain.push(format!("{}/{}", r.kind, r.name));
        match found.next() {
            Some(obj) if obj.kind == r.kind && obj.name == r.name => {
                top = r.json(true, false);
                top_obj = Some(obj);
                next = owner_ref(obj).filter(|_| names_in_chain.len() < 8);
            }
            _ => {
                top = r.json(false, false);
                top_obj = None;
                // A ReplicaSet named `<deployment>-<pod-template-hash>` belongs to that
                // Deployment, even when the snapshot holds neither.
                let hash = pod.labels().find(|(k, _)| *k == "pod-template-hash").map(|(_, v)| v);
                if r.kind == "ReplicaSet"
                    && let Some(d) = hash.and_then(|h| r.name.strip_suffix(&format!("-{h}")))
                {
                    let dep = OwnerRef {
                        api_version: "apps/v1".into(),
                        kind: "Deployment".into(),
                        name: d.to_string(),
                        controller: true,
                    };
                    names_in_chain.push(format!("Deployment/{d}"));
                    top = dep.json(false, true);
                }
            }
        }
    }
    let top_kind = top["kind"].as_str().unwrap_or_default().to_string();
    let olm = olm_signs(pod) || chain.iter().any(|o| olm_signs(o));
    let path = template_path(&top_kind);
    // The template that made this pod: its direct owner's (a Deployment's pods come from
    // the ReplicaSet's copy of it).
    let made_by = chain.first().filter(|o| o.kind == first.kind && o.name == first.name);
    let editable = top_obj.is_some() && path.is_some() && !olm && top_kind != "Job";
    json!({
        "apiVersion": first.api_version,
        "kind": first.kind,
        "name": first.name,
        "controller": first.controller,
        "restartable": restartable,
        "reason": reason,
        "top": top,
        "chain": names_in_chain,
        "olmManaged": olm,
        "templatePullSecrets": made_by.and_then(|o| template_pull_secrets(o)),
        "templatePath": path,
        "templateEditable": editable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Object {
        Object::from_value(v).unwrap()
    }

    #[test]
    fn source_entries() {
        assert!(source_entry_matches("quay.io", "quay.io"));
        assert!(source_entry_matches("quay.io/openshift-release-dev", "quay.io"));
        assert!(source_entry_matches("*.example.com", "reg.example.com"));
        assert!(!source_entry_matches("*.example.com", "example.com"));
        assert!(!source_entry_matches("reg:5000", "reg:5001"));
    }

    fn b64(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    /// A Secret holding credentials for `keys` under `key`, of type `ty`.
    fn secret(name: &str, ty: &str, key: &str, keys: &[&str]) -> Object {
        let auths: serde_json::Map<String, Value> = keys
            .iter()
            .map(|k| (k.to_string(), json!({"username": "u", "password": "PLANTED-SECRET-x"})))
            .collect();
        let cfg = if key == ".dockercfg" {
            Value::Object(auths).to_string()
        } else {
            json!({ "auths": auths }).to_string()
        };
        obj(
            json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":name,"namespace":"apps"},
                   "type": ty, "data": { key: b64(&cfg) }}),
        )
    }

    fn pull(name: &str, keys: &[&str]) -> Object {
        secret(name, "kubernetes.io/dockerconfigjson", ".dockerconfigjson", keys)
    }

    fn pod_with(secrets: &[&str], owner: Option<(&str, &str)>) -> Object {
        let mut v = json!({"apiVersion":"v1","kind":"Pod",
            "metadata":{"name":"web-1","namespace":"apps","labels":{"pod-template-hash":"5f8b7d9c6"}},
            "spec":{"serviceAccountName":"builder","containers":[{"name":"web","image":"quay.io/team/app:1"}]}});
        if !secrets.is_empty() {
            v["spec"]["imagePullSecrets"] = json!(secrets.iter().map(|n| json!({"name": n})).collect::<Vec<_>>());
        }
        if let Some((kind, name)) = owner {
            v["metadata"]["ownerReferences"] =
                json!([{"apiVersion":"apps/v1","kind":kind,"name":name,"controller":true}]);
        }
        obj(v)
    }

    fn sa_with(secrets: &[&str]) -> Object {
        obj(
            json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"builder","namespace":"apps"},
                   "imagePullSecrets": secrets.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()}),
        )
    }

    fn probe(pod: &Object, sa: Option<&Object>, secrets: &[&Object], template: Option<&[String]>) -> Value {
        let mut map: BTreeMap<String, Option<&Object>> = BTreeMap::new();
        for n in pod_pull_secret_names(pod)
            .into_iter()
            .chain(sa.map(sa_pull_secret_names).unwrap_or_default())
        {
            map.insert(n.clone(), secrets.iter().copied().find(|s| s.name == n));
        }
        pull_secrets(pod, sa, &map, "quay.io", Some("quay.io/team/app:1"), template)
    }

    #[test]
    fn pod_secrets_decide_and_path_keys_count() {
        let team = pull("team", &["quay.io/team"]);
        let other = pull("other", &["quay.io/other"]);
        let pod = pod_with(&["team"], None);
        let sa = sa_with(&["team"]);
        let v = probe(&pod, Some(&sa), &[&team], None);
        assert_eq!(v["covers"], true, "{v:#}");
        assert_eq!(v["covering"], json!(["team"]));
        assert_eq!(v["lookup"], "quay.io/team/app");
        assert_eq!(v["needsRecreate"], false);
        assert_eq!(v["ownPullSecrets"], false);
        // The same key does not cover another repository of the registry.
        let pod = pod_with(&["other"], None);
        let v = probe(&pod, Some(&sa_with(&["other"])), &[&other], None);
        assert_eq!(v["covers"], false);
        assert_eq!(v["secrets"][0]["registries"], json!(["quay.io/other"]));
        // Without an image only keys without a path count.
        let mut map = BTreeMap::new();
        map.insert("team".to_string(), Some(&team));
        let v = pull_secrets(&pod_with(&["team"], None), None, &map, "quay.io", None, None);
        assert_eq!(v["covers"], false);
        assert_eq!(v["lookup"], "quay.io");
    }

    #[test]
    fn service_account_secret_linked_after_the_pod_was_created() {
        let base = pull("base", &["gcr.io"]);
        let team = pull("team", &["quay.io"]);
        // The pod got `base` from its service account; `team` was linked later.
        let pod = pod_with(&["base"], None);
        let sa = sa_with(&["base", "team"]);
        let v = probe(&pod, Some(&sa), &[&base, &team], None);
        assert_eq!(v["covers"], false);
        assert_eq!(v["serviceAccountCovers"], true);
        assert_eq!(v["serviceAccountCovering"], json!(["team"]));
        assert_eq!(v["ownPullSecrets"], false);
        assert_eq!(v["needsRecreate"], true);
        // A pod with no pull secret at all, same account.
        let v = probe(&pod_with(&[], None), Some(&sa), &[&base, &team], None);
        assert_eq!(v["needsRecreate"], true);
        assert_eq!(v["fromPod"], json!([]));
    }

    #[test]
    fn a_pod_with_its_own_list_never_gets_the_accounts() {
        let quay = pull("quay-old", &["gcr.io"]);
        let team = pull("team", &["quay.io"]);
        let sa = sa_with(&["team"]);
        // No template known: the pod lists a secret its account does not.
        let pod = pod_with(&["quay-old"], Some(("ReplicaSet", "web-5f8b7d9c6")));
        let v = probe(&pod, Some(&sa), &[&quay, &team], None);
        assert_eq!(v["ownPullSecrets"], true);
        assert_eq!(v["ownPullSecretsFrom"], "pod");
        assert_eq!(v["serviceAccountCovers"], true);
        assert_eq!(v["needsRecreate"], false, "recreating it would not help");
        // The template decides when it is known.
        let tmpl = vec!["quay-old".to_string()];
        let v = probe(&pod, Some(&sa), &[&quay, &team], Some(&tmpl));
        assert_eq!(v["ownPullSecretsFrom"], "template");
        assert_eq!(v["needsRecreate"], false);
        // A template without pull secrets: whatever the pod has came from admission.
        let v = probe(&pod, Some(&sa), &[&quay, &team], Some(&[]));
        assert_eq!(v["ownPullSecrets"], false);
        assert_eq!(v["needsRecreate"], true);
        assert_eq!(
            OwnSecrets::of(&["a".into()], &["a".into(), "b".into()], None),
            OwnSecrets::No
        );
    }

    #[test]
    fn only_pull_secret_types_count() {
        let opaque = secret("regcred", "Opaque", ".dockerconfigjson", &["quay.io"]);
        let mixed = secret("mixed", "kubernetes.io/dockercfg", ".dockerconfigjson", &["quay.io"]);
        let legacy = secret("legacy", "kubernetes.io/dockercfg", ".dockercfg", &["quay.io"]);
        assert!(docker_config(&opaque).is_none());
        assert!(docker_config(&mixed).is_none());
        assert!(docker_config(&legacy).is_some());
        assert!(misfiled_config(&opaque).is_some());
        assert!(misfiled_config(&legacy).is_none());
        let pod = pod_with(&["regcred", "mixed"], None);
        let v = probe(&pod, None, &[&opaque, &mixed], None);
        assert_eq!(v["covers"], false);
        assert_eq!(v["wrongType"], json!(["mixed", "regcred"]));
        assert_eq!(v["secrets"][1]["kubeletReads"], false);
        assert_eq!(v["secrets"][1]["wrongType"], true);
        assert_eq!(v["secrets"][1]["registries"], json!([]));
        let v = probe(&pod_with(&["legacy"], None), None, &[&legacy], None);
        assert_eq!(v["covers"], true);
        assert_eq!(v["wrongType"], json!([]));
        // Redacted views never show values, whatever the type.
        let shown = redacted(&opaque).to_string();
        assert!(!shown.contains("PLANTED-SECRET-"), "{shown}");
    }

    #[test]
    fn missing_secrets_are_listed() {
        let v = probe(&pod_with(&["gone"], None), None, &[], None);
        assert_eq!(v["missing"], json!(["gone"]));
        assert_eq!(v["secrets"][0]["exists"], false);
    }

    fn owned(kind: &str, name: &str, owner: Option<(&str, &str, bool)>, extra: Value) -> Object {
        let mut v = json!({"apiVersion":"apps/v1","kind":kind,"metadata":{"name":name,"namespace":"apps"}});
        if let Some((k, n, c)) = owner {
            v["metadata"]["ownerReferences"] = json!([{"apiVersion":"apps/v1","kind":k,"name":n,"controller":c}]);
        }
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        obj(v)
    }

    #[test]
    fn owners_restartable() {
        let rs = pod_with(&[], Some(("ReplicaSet", "a-1")));
        assert_eq!(owner(&rs, &[])["restartable"], true);
        let cat = obj(
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n",
            "ownerReferences":[{"apiVersion":"operators.coreos.com/v1alpha1","kind":"CatalogSource","name":"c","controller":false}]}}),
        );
        let o = owner(&cat, &[]);
        assert_eq!(o["restartable"], true);
        assert_eq!(o["olmManaged"], true);
        let bare = obj(json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n"}}));
        assert_eq!(owner(&bare, &[])["restartable"], false);
        assert_eq!(owner(&bare, &[])["top"], Value::Null);
        let stat = obj(
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n",
            "annotations":{"kubernetes.io/config.mirror":"x"},
            "ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","controller":true}]}}),
        );
        assert_eq!(owner(&stat, &[])["restartable"], false);
    }

    #[test]
    fn top_controller_through_the_chain() {
        let pod = pod_with(&[], Some(("ReplicaSet", "web-5f8b7d9c6")));
        let tmpl = json!({"spec":{"template":{"spec":{"imagePullSecrets":[{"name":"quay"}]}}}});
        let rs = owned(
            "ReplicaSet",
            "web-5f8b7d9c6",
            Some(("Deployment", "web", true)),
            tmpl.clone(),
        );
        let dep = owned("Deployment", "web", None, tmpl.clone());
        let o = owner(&pod, &[&rs, &dep]);
        assert_eq!(o["kind"], "ReplicaSet");
        assert_eq!(o["top"]["kind"], "Deployment");
        assert_eq!(o["top"]["name"], "web");
        assert_eq!(o["top"]["found"], true);
        assert_eq!(o["chain"], json!(["ReplicaSet/web-5f8b7d9c6", "Deployment/web"]));
        assert_eq!(o["templatePullSecrets"], json!(["quay"]));
        assert_eq!(o["templatePath"], "spec.template.spec.imagePullSecrets");
        assert_eq!(o["templateEditable"], true);
        // Neither object captured: the Deployment is inferred from pod-template-hash.
        let o = owner(&pod, &[]);
        assert_eq!(o["top"]["kind"], "Deployment");
        assert_eq!(o["top"]["found"], false);
        assert_eq!(o["top"]["inferred"], true);
        assert_eq!(o["templatePullSecrets"], Value::Null);
        assert_eq!(o["templateEditable"], false);
        // A bare ReplicaSet is its own top.
        let lone = owned("ReplicaSet", "web-5f8b7d9c6", None, tmpl.clone());
        let o = owner(&pod, &[&lone]);
        assert_eq!(o["top"]["kind"], "ReplicaSet");
        assert_eq!(o["templateEditable"], true);
        // OLM owns the Deployment (a ClusterServiceVersion reference, not a controller).
        let olm_dep = owned(
            "Deployment",
            "web",
            Some(("ClusterServiceVersion", "web.v1", false)),
            tmpl.clone(),
        );
        let o = owner(&pod, &[&rs, &olm_dep]);
        assert_eq!(o["top"]["kind"], "Deployment", "a CSV is not a controller");
        assert_eq!(o["olmManaged"], true);
        assert_eq!(o["templateEditable"], false);
        // A Job's template cannot change; a CronJob's can, at another path.
        let job_pod = pod_with(&[], Some(("Job", "nightly-290")));
        let job = owned("Job", "nightly-290", Some(("CronJob", "nightly", true)), tmpl.clone());
        let cron = owned(
            "CronJob",
            "nightly",
            None,
            json!({"spec":{"jobTemplate":{"spec":{"template":{"spec":{}}}}}}),
        );
        let o = owner(&job_pod, &[&job, &cron]);
        assert_eq!(o["top"]["kind"], "CronJob");
        assert_eq!(
            o["templatePath"],
            "spec.jobTemplate.spec.template.spec.imagePullSecrets"
        );
        assert_eq!(o["templatePullSecrets"], json!(["quay"]), "the Job made the pod");
        assert_eq!(template_pull_secrets(&cron), Some(vec![]));
        let o = owner(&job_pod, &[&owned("Job", "nightly-290", None, tmpl)]);
        assert_eq!(o["top"]["kind"], "Job");
        assert_eq!(o["templateEditable"], false);
    }

    #[test]
    fn openshift_signs() {
        let ns = obj(json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"apps",
            "annotations":{"openshift.io/sa.scc.mcs":"s0:c26,c5","openshift.io/description":""}}}));
        assert!(openshift_sign(&ns).unwrap().contains("openshift.io/sa.scc.mcs"));
        let plain_ns = obj(json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"apps",
            "annotations":{"scheduler.alpha.kubernetes.io/node-selector":""}}}));
        assert_eq!(openshift_sign(&plain_ns), None);
        assert!(!plain_ns.is_parsed(), "no `openshift.io/` in its text: never parsed");
        let pod = obj(
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a",
            "annotations":{"openshift.io/scc":"anyuid"}}}),
        );
        assert!(openshift_sign(&pod).is_some());
        let dockercfg = obj(
            json!({"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/dockercfg",
            "metadata":{"name":"default-dockercfg-fh6pn","namespace":"openshift-marketplace",
            "annotations":{"openshift.io/internal-registry-auth-token.binding":"bound"}}}),
        );
        assert!(
            openshift_sign(&dockercfg)
                .unwrap()
                .contains("internal-registry-auth-token")
        );
        let legacy = obj(
            json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"default-dockercfg-x7k2n",
            "namespace":"test","annotations":{"openshift.io/token-secret.name":"default-token-abcde"}}}),
        );
        assert!(openshift_sign(&legacy).is_some());
        // A pull secret merely named like OpenShift's is no sign.
        let lookalike = obj(
            json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"app-dockercfg-12345",
            "namespace":"apps","annotations":{"kubernetes.io/service-account.name":"app"}}}),
        );
        assert_eq!(openshift_sign(&lookalike), None);
        let global = obj(
            json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"pull-secret","namespace":"openshift-config"}}),
        );
        assert!(openshift_sign(&global).is_some());
        let cat = obj(
            json!({"apiVersion":"operators.coreos.com/v1alpha1","kind":"CatalogSource",
            "metadata":{"name":"redhat-operators","namespace":"openshift-marketplace"}}),
        );
        assert!(openshift_sign(&cat).is_some());
        // OLM on plain Kubernetes keeps its catalogs in `olm`.
        let olm = obj(
            json!({"apiVersion":"operators.coreos.com/v1alpha1","kind":"CatalogSource",
            "metadata":{"name":"operatorhubio-catalog","namespace":"olm"}}),
        );
        assert_eq!(openshift_sign(&olm), None);
    }

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort();
        k
    }

    fn sorted(fields: &[&'static str]) -> Vec<&'static str> {
        let mut f = fields.to_vec();
        f.sort();
        f
    }

    #[test]
    fn declared_fields_match_every_variant() {
        let pod = obj(
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n",
            "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"a-1","controller":true}]}}),
        );
        let bare = obj(json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n"}}));
        assert_eq!(keys(&owner(&pod, &[])), sorted(OWNER_FIELDS));
        assert_eq!(keys(&owner(&bare, &[])), sorted(OWNER_FIELDS));
        let cfg = obj(json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"}}));
        // The probe adds the MachineConfigPools to every image-config summary.
        let probed = |cfg: Option<&Object>| {
            let mut v = image_config(cfg, "r");
            add_pools(&mut v, &[]);
            v
        };
        assert_eq!(keys(&probed(Some(&cfg))), sorted(IMAGE_CONFIG_FIELDS));
        assert_eq!(keys(&probed(None)), sorted(IMAGE_CONFIG_FIELDS));
        assert_eq!(keys(&trusted_ca(Some(&cfg), None, "r")), sorted(TRUSTED_CA_FIELDS));
        assert_eq!(keys(&trusted_ca(None, None, "r")), sorted(TRUSTED_CA_FIELDS));
        assert_eq!(
            keys(&pull_secrets(&bare, None, &BTreeMap::new(), "r", None, None)),
            sorted(PULL_SECRETS_FIELDS)
        );
        let secret = obj(json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"n"},"data":{}}));
        assert_eq!(keys(&redacted(&secret)), sorted(SECRET_FIELDS));
    }

    #[test]
    fn image_config_allow_list() {
        let cfg = obj(
            json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"},
            "spec":{"registrySources":{"allowedRegistries":["quay.io"],"insecureRegistries":["reg:5000"]}}}),
        );
        let s = image_config(Some(&cfg), "reg:5000");
        assert_eq!(s["registryInsecure"], true);
        assert_eq!(s["registryAllowed"], false);
        let s = image_config(None, "reg:5000");
        assert_eq!(s["registryAllowed"], true);
    }

    #[test]
    fn degraded_pools() {
        let pool = |name: &str, degraded: &str| {
            std::sync::Arc::new(obj(
                json!({"apiVersion":"machineconfiguration.openshift.io/v1","kind":"MachineConfigPool",
                "metadata":{"name":name},"status":{"machineCount":3,"degradedMachineCount":2,"conditions":[
                {"type":"NodeDegraded","status":degraded,"message":"Node w1 is reporting: \"failed to drain node\""},
                {"type":"Degraded","status":degraded,"message":""}]}}),
            ))
        };
        let mut v = json!({});
        add_pools(&mut v, &[pool("worker", "True"), pool("master", "False")]);
        assert_eq!(v["degradedPools"], json!(["worker"]));
        assert_eq!(v["machineConfigPools"][1]["name"], "worker");
        assert!(
            v["machineConfigPools"][1]["message"]
                .as_str()
                .unwrap()
                .contains("failed to drain")
        );
        assert_eq!(v["machineConfigPools"][0]["degraded"], false);
    }
}
