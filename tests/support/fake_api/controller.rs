//! A tiny simulated ReplicaSet controller (the store has none): when a pod that a ReplicaSet
//! controls is deleted, a replacement owned by the same ReplicaSet is created at once, its
//! images pulled or still failing as the test says. Only in the test API, never in remedy.

use serde_json::{Value, json};

/// What the replacement pod's containers show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replacement {
    /// Running, with an image id: the pull worked.
    Pulls,
    /// Waiting in `ErrImagePull` with this message (the next cause, say).
    Fails(String),
}

/// The ReplicaSet controlling `pod`, if one does: (name, uid).
fn replica_set(pod: &Value) -> Option<(String, String)> {
    pod.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r["kind"] == "ReplicaSet" && r["controller"] == true)
        .map(|r| {
            (
                r["name"].as_str().unwrap_or("").to_string(),
                r["uid"].as_str().unwrap_or("").to_string(),
            )
        })
}

/// The pod a ReplicaSet would create to replace the deleted `pod` (the `n`th replacement), or
/// `None` when no ReplicaSet controls it.
pub fn replacement(pod: &Value, n: u64, how: &Replacement) -> Option<Value> {
    let (rs, _) = replica_set(pod)?;
    let mut new = pod.clone();
    let meta = new.get_mut("metadata")?.as_object_mut()?;
    for k in [
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "deletionTimestamp",
    ] {
        meta.remove(k);
    }
    meta.insert("name".into(), json!(format!("{rs}-r{n:04}")));
    meta.insert("uid".into(), json!(format!("replacement-{n}")));
    new["apiVersion"] = json!("v1");
    new["kind"] = json!("Pod");
    let statuses: Vec<Value> = new
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let (state, image_id) = match how {
                Replacement::Pulls => (json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}}), "sha256:0a1b"),
                Replacement::Fails(m) => (json!({"waiting": {"reason": "ErrImagePull", "message": m}}), ""),
            };
            json!({"name": c["name"], "image": c["image"], "imageID": image_id,
                "ready": matches!(how, Replacement::Pulls), "restartCount": 0, "state": state})
        })
        .collect();
    let phase = match how {
        Replacement::Pulls => "Running",
        Replacement::Fails(_) => "Pending",
    };
    new["status"] = json!({"phase": phase, "containerStatuses": statuses});
    Some(new)
}
