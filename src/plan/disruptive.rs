//! Which changes disrupt nodes: decided from what a change writes, whatever its status.

use crate::desired::Change;

/// Whether a change drains and reboots nodes, by what it writes: on OpenShift, changing
/// `spec.registrySources` of `image.config.openshift.io/cluster` (insecure, allowed and blocked
/// registries) rolls out a MachineConfig to every node. `additionalTrustedCA` does not: the CA
/// is distributed to the nodes without a reboot.
pub fn changes_node_config(change: &Change) -> bool {
    const SOURCES: &str = "spec.registrySources";
    let Some(t) = change.target() else {
        return false;
    };
    if !(t.kind == "Image" && t.api_version.starts_with("config.openshift.io/") && t.name == "cluster") {
        return false;
    }
    match change {
        Change::EnsureListItem { items, .. } => items
            .iter()
            .any(|i| i.path == SOURCES || i.path.starts_with("spec.registrySources.")),
        Change::Patch {
            merge_patch,
            json_patch,
            ..
        } => {
            let in_merge = merge_patch.as_ref().is_some_and(|m| {
                // `{"spec": null}` (or a non-object spec) would remove registrySources too.
                match m.get("spec") {
                    Some(serde_json::Value::Object(spec)) => spec.contains_key("registrySources"),
                    Some(_) => true,
                    None => false,
                }
            });
            let in_json = json_patch
                .as_ref()
                .and_then(serde_json::Value::as_array)
                .is_some_and(|ops| {
                    ops.iter().any(|op| {
                        let kind = op.get("op").and_then(serde_json::Value::as_str).unwrap_or("");
                        let path = op.get("path").and_then(serde_json::Value::as_str).unwrap_or("");
                        // Replacing or removing a parent replaces registrySources with it.
                        kind != "test"
                            && (path.is_empty() || path == "/spec" || path.starts_with("/spec/registrySources"))
                    })
                });
            in_merge || in_json
        }
        Change::EnsureObject { manifest } => manifest.pointer("/spec/registrySources").is_some(),
        _ => false,
    }
}
