//! The `owner` probe: what owns a pod, whether it is recreated, and its pod template.

use serde_json::{Value, json};

use super::pull_secrets::names;
use crate::cluster::Object;

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
    match obj.list_field("metadata.ownerReferences") {
        Some(std::borrow::Cow::Owned(Value::Array(refs))) => refs,
        Some(refs) => refs.as_array().cloned().unwrap_or_default(),
        None => Vec::new(),
    }
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
