//! Server-side apply conflicts as the API server words them. The store answers a conflict
//! with `Apply failed with 1 conflict: conflict with "M" using V` and no fields; the API server
//! names each conflicting field in the message and in `details.causes` (reason
//! `FieldManagerConflict`, `field` such as `.data.key`). This completes the store's answer
//! from the object's `managedFields` and the applied body.

use bytes::Bytes;
use serde_json::{Value, json};

/// Leaf paths of an applied body (`[data, key]`), leaving out what names the object.
fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                let top = path.is_empty() && (k == "apiVersion" || k == "kind");
                let names = path.len() == 1 && path[0] == "metadata" && (k == "name" || k == "namespace");
                if top || names {
                    continue;
                }
                path.push(k.clone());
                leaves(child, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

/// Whether `fields` (a `fieldsV1` tree) owns `path`.
fn owns(fields: &Value, path: &[String]) -> bool {
    let mut node = fields;
    for seg in path {
        match node.get(format!("f:{seg}")) {
            Some(n) => node = n,
            None => return false,
        }
    }
    true
}

/// The store's 409 to an apply by `manager`, completed with the conflicting fields of
/// `current` (the object as stored) that `body` sets. `None`: leave the answer as it is.
pub fn conflict(current: &Value, body: &[u8], manager: &str) -> Option<::http::Response<Bytes>> {
    let applied: Value = serde_yaml::from_slice(body).ok()?;
    let mut paths = Vec::new();
    leaves(&applied, &mut Vec::new(), &mut paths);
    let mut causes = Vec::new();
    for entry in current.pointer("/metadata/managedFields")?.as_array()? {
        let other = entry["manager"].as_str().unwrap_or("");
        if other == manager {
            continue;
        }
        let version = entry["apiVersion"].as_str().unwrap_or("v1");
        for p in &paths {
            if owns(&entry["fieldsV1"], p) {
                causes.push(json!({
                    "reason": "FieldManagerConflict",
                    "message": format!("conflict with \"{other}\" using {version}"),
                    "field": format!(".{}", p.join(".")),
                }));
            }
        }
    }
    if causes.is_empty() {
        return None;
    }
    let message = match causes.as_slice() {
        [one] => format!(
            "Apply failed with 1 conflict: {}: {}",
            one["message"].as_str().unwrap_or(""),
            one["field"].as_str().unwrap_or("")
        ),
        many => format!(
            "Apply failed with {} conflicts: {}",
            many.len(),
            many.iter()
                .map(|c| format!(
                    "{}: {}",
                    c["message"].as_str().unwrap_or(""),
                    c["field"].as_str().unwrap_or("")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": "Conflict", "code": 409,
        "details": {"name": current.pointer("/metadata/name"), "kind": current["kind"], "causes": causes},
    });
    Some(
        ::http::Response::builder()
            .status(409)
            .header("content-type", "application/json")
            .body(Bytes::from(status.to_string()))
            .expect("a valid response"),
    )
}
