//! `dryRun=All`: the store ignores it and would write. The test API answers a dry-run write
//! with what the write would return, computed on a copy, and stores nothing. Approximate like
//! the store's own writes (merge patches stand in for strategic merge and apply).

use bytes::Bytes;
use serde_json::{Value, json};

use super::{FakeApi, Route, json_response, status};

fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = json!({});
            }
            let t = target.as_object_mut().expect("an object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

pub async fn serve(
    api: &FakeApi,
    parts: &::http::request::Parts,
    method: &str,
    route: &Route,
    body: Bytes,
) -> ::http::Response<Bytes> {
    let res = route.res;
    let current = match &route.name {
        Some(n) => {
            api.get(&res.api_version(), res.kind, route.namespace.as_deref(), n)
                .await
        }
        None => None,
    };
    let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match method {
        "POST" => {
            let mut obj = sent;
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if api
                .get(&res.api_version(), res.kind, route.namespace.as_deref(), &name)
                .await
                .is_some()
            {
                return status(409, &format!("{} \"{name}\" already exists", res.plural));
            }
            obj["apiVersion"] = json!(res.api_version());
            obj["kind"] = json!(res.kind);
            if let Some(ns) = &route.namespace {
                obj["metadata"]["namespace"] = json!(ns);
            }
            json_response(201, &obj)
        }
        "PUT" => {
            let Some(cur) = current else {
                return status(404, "not found");
            };
            let want = sent.pointer("/metadata/resourceVersion").and_then(Value::as_str);
            let have = cur.pointer("/metadata/resourceVersion").and_then(Value::as_str);
            if want.is_some_and(|w| !w.is_empty() && Some(w) != have) {
                return status(
                    409,
                    "the object has been modified; please apply your changes to the latest version and try again",
                );
            }
            json_response(200, &sent)
        }
        "PATCH" => {
            let ct = parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let Some(mut cur) = current else {
                if ct.contains("apply-patch") {
                    return json_response(201, &sent);
                }
                return status(404, "not found");
            };
            if ct.contains("json-patch") {
                let patch: json_patch::Patch = match serde_json::from_value(sent) {
                    Ok(p) => p,
                    Err(e) => return status(400, &format!("invalid JSON patch: {e}")),
                };
                if let Err(e) = json_patch::patch(&mut cur, &patch) {
                    return status(422, &e.to_string());
                }
            } else {
                merge(&mut cur, &sent);
            }
            json_response(200, &cur)
        }
        "DELETE" => {
            let Some(cur) = current else {
                return status(404, "not found");
            };
            if let Some(resp) = api.check_preconditions(route, &body).await {
                return resp;
            }
            json_response(200, &cur)
        }
        _ => status(405, "method not allowed"),
    }
}
