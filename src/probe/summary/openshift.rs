//! OpenShift's cluster configuration: detection, `image.config.openshift.io/cluster` and
//! its trusted-CA ConfigMap, and the MachineConfigPools a change rolls out to.

use serde_json::{Value, json};

use crate::cluster::Object;
use crate::refs::cakey::{self, CaKeyLookup};

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
