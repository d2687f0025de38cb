//! Pure summaries of cluster objects for templates. Secret values never leave this module:
//! a Secret is described by its keys and, for pull secrets, the registries it covers.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::cluster::Object;
use crate::refs::cakey::{self, CaKeyLookup};
use crate::refs::dockercfg::DockerConfig;
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
    "needsRecreate",
    "registry",
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
pub const OWNER_FIELDS: &[&str] = &["apiVersion", "kind", "name", "controller", "restartable", "reason"];

/// The decoded pull-secret config of a Secret, if it is one.
pub fn docker_config(secret: &Object) -> Option<DockerConfig> {
    let ty = secret.str_field("type").unwrap_or("Opaque");
    let data: BTreeMap<String, String> = secret
        .field("data")
        .and_then(Value::as_object)?
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    // Some tools write pull secrets as Opaque with the right key.
    let ty = if PULL_SECRET_TYPES.contains(&ty) {
        ty
    } else if data.contains_key(".dockerconfigjson") {
        "kubernetes.io/dockerconfigjson"
    } else if data.contains_key(".dockercfg") {
        "kubernetes.io/dockercfg"
    } else {
        return None;
    };
    DockerConfig::from_secret_data(ty, &data).ok()
}

/// Registries a secret holds credentials for (sorted).
pub fn registries_with_credentials(cfg: &DockerConfig) -> Vec<String> {
    cfg.entries
        .iter()
        .filter(|(_, e)| e.has_credentials())
        .map(|(k, _)| k.clone())
        .collect()
}

pub fn covers(cfg: &DockerConfig, registry: &str) -> bool {
    cfg.entries
        .iter()
        .any(|(k, e)| e.has_credentials() && keyring::key_matches_host(k, registry))
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

/// The pull secrets kubelet uses for a pod (those in the pod spec: service-account secrets
/// are copied there at admission, so a service account fixed later does not help a pod
/// created earlier).
pub fn pull_secrets(
    pod: &Object,
    sa: Option<&Object>,
    secrets: &BTreeMap<String, Option<&Object>>,
    registry: &str,
) -> Value {
    let from_pod = pod_pull_secret_names(pod);
    let from_sa = sa.map(sa_pull_secret_names).unwrap_or_default();
    let mut entries = Vec::new();
    let mut covering = Vec::new();
    let mut missing = Vec::new();
    let mut sa_covers = false;
    let mut all: Vec<&String> = from_pod.iter().chain(from_sa.iter()).collect();
    all.sort();
    all.dedup();
    for name in all {
        let obj = secrets.get(name).copied().flatten();
        let cfg = obj.and_then(docker_config);
        let c = cfg.as_ref().is_some_and(|c| covers(c, registry));
        let in_pod = from_pod.contains(name);
        let in_sa = from_sa.contains(name);
        if obj.is_none() && in_pod {
            missing.push(name.clone());
        }
        if c && in_pod {
            covering.push(name.clone());
        }
        sa_covers |= c && in_sa;
        entries.push(json!({
            "name": name,
            "exists": obj.is_some(),
            "type": obj.and_then(|o| o.str_field("type")),
            "registries": cfg.as_ref().map(registries_with_credentials).unwrap_or_default(),
            "covers": c,
            "inPod": in_pod,
            "inServiceAccount": in_sa,
        }));
    }
    json!({
        "pod": format!("{}/{}", pod.namespace.as_deref().unwrap_or(""), pod.name),
        "namespace": pod.namespace,
        "serviceAccount": pod.str_field("spec.serviceAccountName").unwrap_or("default"),
        "serviceAccountExists": sa.is_some(),
        "fromPod": from_pod,
        "fromServiceAccount": from_sa,
        "secrets": entries,
        "covers": !covering.is_empty(),
        "covering": covering,
        "missing": missing,
        "serviceAccountCovers": sa_covers,
        // The service account was fixed after the pod was created: recreating the pod is enough.
        "needsRecreate": sa_covers && covering.is_empty(),
        "registry": registry,
    })
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

/// The owner of a pod and whether deleting the pod makes something recreate it.
pub fn owner(pod: &Object) -> Value {
    let refs = pod
        .field("metadata.ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mirror = pod
        .field("metadata.annotations")
        .and_then(|a| a.get("kubernetes.io/config.mirror"))
        .is_some();
    let pick = refs
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .or_else(|| {
            refs.iter()
                .find(|r| r.get("kind").and_then(Value::as_str) == Some("CatalogSource"))
        })
        .or(refs.first());
    let Some(r) = pick else {
        return json!({"apiVersion": null, "kind": null, "name": null, "controller": false, "restartable": false,
                      "reason": "the pod has no owner: nothing would recreate it"});
    };
    let kind = r.get("kind").and_then(Value::as_str).unwrap_or_default();
    let controller = r.get("controller").and_then(Value::as_bool).unwrap_or(false);
    let (restartable, reason) = if mirror || kind == "Node" {
        (
            false,
            "a static pod: the kubelet manages it from a file on the node".to_string(),
        )
    } else if kind == "CatalogSource" {
        (true, "OLM recreates it from the CatalogSource".to_string())
    } else if controller {
        (true, format!("its {kind} recreates it"))
    } else {
        (false, format!("owned by {kind}, which is not its controller"))
    };
    json!({
        "apiVersion": r.get("apiVersion"),
        "kind": kind,
        "name": r.get("name"),
        "controller": controller,
        "restartable": restartable,
        "reason": reason,
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

    #[test]
    fn owners() {
        let rs = obj(
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n",
            "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"a-1","controller":true}]}}),
        );
        assert_eq!(owner(&rs)["restartable"], true);
        let cat = obj(
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n",
            "ownerReferences":[{"apiVersion":"operators.coreos.com/v1alpha1","kind":"CatalogSource","name":"c","controller":false}]}}),
        );
        assert_eq!(owner(&cat)["restartable"], true);
        let bare = obj(json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n"}}));
        assert_eq!(owner(&bare)["restartable"], false);
        let stat = obj(
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n",
            "annotations":{"kubernetes.io/config.mirror":"x"},
            "ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","controller":true}]}}),
        );
        assert_eq!(owner(&stat)["restartable"], false);
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
        assert_eq!(keys(&owner(&pod)), sorted(OWNER_FIELDS));
        assert_eq!(keys(&owner(&bare)), sorted(OWNER_FIELDS));
        let cfg = obj(json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"}}));
        assert_eq!(keys(&image_config(Some(&cfg), "r")), sorted(IMAGE_CONFIG_FIELDS));
        assert_eq!(keys(&image_config(None, "r")), sorted(IMAGE_CONFIG_FIELDS));
        assert_eq!(keys(&trusted_ca(Some(&cfg), None, "r")), sorted(TRUSTED_CA_FIELDS));
        assert_eq!(keys(&trusted_ca(None, None, "r")), sorted(TRUSTED_CA_FIELDS));
        assert_eq!(
            keys(&pull_secrets(&bare, None, &BTreeMap::new(), "r")),
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
}
