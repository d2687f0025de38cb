//! Pure: the requests that carry out one pending action against the objects as just read.
//! Every write is guarded so that a concurrent change makes it fail instead of being lost:
//! JSON patches `test` the object's uid and the exact current value of what they change,
//! merge patches carry the uid and resourceVersion they were computed from, server-side
//! apply never forces, and deletes carry the pod's uid.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::{ExecuteError, dockerjson};
use crate::cluster::Object;
use crate::desired::{Change, ListItem, Target};
use crate::inputs::Inputs;
use crate::plan::patch;
use crate::plan::status::Observed;
use crate::probe::summary;
use crate::refs::dockercfg::{self, DockerConfig};

/// The annotation remedy puts on every object it changes: the rule, the action and the time
/// (never a value).
pub const ANNOTATION: &str = "remedy.dev/last-applied";
/// The field manager of server-side apply.
pub const FIELD_MANAGER: &str = "remedy";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One request to the API server.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Server-side apply of the fields in `body` (field manager `remedy`, never forced).
    Apply { target: Target, body: Value },
    /// An RFC 6902 JSON patch whose first operations are `test`s.
    JsonPatch { target: Target, ops: Value },
    /// An RFC 7386 merge patch carrying `metadata.uid` and `metadata.resourceVersion`.
    MergePatch { target: Target, body: Value },
    /// A delete with a uid precondition.
    Delete { target: Target, uid: String },
    /// A whole-object replace (undo restoring a backup), guarded by the resourceVersion in
    /// `body`.
    Replace { target: Target, body: Value },
}

impl Write {
    pub fn target(&self) -> &Target {
        match self {
            Write::Apply { target, .. }
            | Write::JsonPatch { target, .. }
            | Write::MergePatch { target, .. }
            | Write::Delete { target, .. }
            | Write::Replace { target, .. } => target,
        }
    }

    /// `apply`, `json-patch`, `merge-patch` or `delete`, for logs and the report.
    pub fn verb(&self) -> &'static str {
        match self {
            Write::Apply { .. } => "apply",
            Write::JsonPatch { .. } => "json-patch",
            Write::MergePatch { .. } => "merge-patch",
            Write::Delete { .. } => "delete",
            Write::Replace { .. } => "replace",
        }
    }
}

/// What goes into the annotation: which rule and action changed the object, and when.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub rule: String,
    pub action: String,
    /// RFC 3339, UTC.
    pub time: String,
}

impl Stamp {
    pub fn value(&self) -> String {
        json!({"rule": self.rule, "action": self.action, "time": self.time}).to_string()
    }
}

fn get<'a>(observed: &'a Observed, t: &Target) -> Option<&'a Object> {
    observed.get(&t.key()).and_then(|o| o.as_deref())
}

fn must<'a>(observed: &'a Observed, t: &Target) -> Result<&'a Object, ExecuteError> {
    get(observed, t).ok_or_else(|| ExecuteError::Precondition(format!("{} does not exist", t.display())))
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `test` of the uid, then the annotation (added whole when the object has none).
fn guard(obj: &Object, stamp: &Stamp) -> Vec<Value> {
    let uid = obj.str_field("metadata.uid").unwrap_or_default();
    let mut ops = vec![json!({"op": "test", "path": "/metadata/uid", "value": uid})];
    ops.push(annotate_op(obj.value(), stamp));
    ops
}

fn annotate_op(v: &Value, stamp: &Stamp) -> Value {
    if v.pointer("/metadata/annotations").is_some_and(Value::is_object) {
        json!({"op": "add", "path": format!("/metadata/annotations/{}", escape(ANNOTATION)), "value": stamp.value()})
    } else {
        json!({"op": "add", "path": "/metadata/annotations", "value": {ANNOTATION: stamp.value()}})
    }
}

/// The operations that put every `todo` item in its list: a `test` of the list as it is and
/// an append when the list exists, otherwise an `add` of a one-item list under its deepest
/// existing parent (`add /imagePullSecrets [..]`, never `/imagePullSecrets/-` on nothing).
pub fn list_ops(obj: &Value, todo: &[&ListItem]) -> Vec<Value> {
    let mut after = obj.clone();
    let mut ops = Vec::new();
    let at = |v: &Value, path: &str| path.split('.').try_fold(v, |v, p| v.get(p)).cloned();
    for i in todo {
        let entry = patch::list_entry(&i.item, i.item_key.as_deref());
        let parts: Vec<&str> = i.path.split('.').collect();
        let pointer = format!("/{}", parts.iter().map(|p| escape(p)).collect::<Vec<_>>().join("/"));
        match at(&after, &i.path) {
            Some(current) if current.is_array() => {
                ops.push(json!({"op": "test", "path": pointer, "value": current}));
                ops.push(json!({"op": "add", "path": format!("{pointer}/-"), "value": entry}));
            }
            current => {
                let depth = (0..parts.len())
                    .take_while(|&n| at(&after, &parts[..=n].join(".")).is_some_and(|v| v.is_object()))
                    .count()
                    .min(parts.len() - 1);
                let mut value = json!([entry]);
                for part in parts[depth + 1..].iter().rev() {
                    value = json!({ *part: value });
                }
                let path = format!(
                    "/{}",
                    parts[..=depth].iter().map(|p| escape(p)).collect::<Vec<_>>().join("/")
                );
                if current.is_some() {
                    // Something that is not a list sits there: replace it only as it is.
                    ops.push(json!({"op": "test", "path": pointer, "value": current}));
                }
                ops.push(json!({"op": "add", "path": path, "value": value}));
            }
        }
        patch::ensure_list_item(&mut after, &i.path, &i.item, i.item_key.as_deref());
    }
    ops
}

fn has_item(obj: &Value, i: &ListItem) -> bool {
    let list = i.path.split('.').try_fold(obj, |v, p| v.get(p));
    list.and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| patch::same_entry(v, &i.item, i.item_key.as_deref())))
        || (list.is_none() && i.only_if_list_exists)
}

/// A pull secret's `.dockerconfigjson` with the registries `add` put into its `auths` (see
/// [`dockerjson::merged`]: nothing else in it changes), guarded by a test of its exact current
/// value.
fn replace_config(secret: &Object, add: &Map<String, Value>, stamp: &Stamp) -> Result<Vec<Value>, ExecuteError> {
    if !dockerjson::is_dockerconfigjson(secret) {
        return Err(ExecuteError::Precondition(format!(
            "Secret {}/{} is not of type {}: remedy only rewrites .dockerconfigjson",
            secret.namespace.as_deref().unwrap_or(""),
            secret.name,
            dockercfg::TYPE_DOCKERCONFIGJSON
        )));
    }
    let path = format!("/data/{}", escape(dockercfg::KEY_DOCKERCONFIGJSON));
    let current = secret.value().pointer(&path).cloned().unwrap_or(Value::Null);
    let merged = dockerjson::merged(secret, add)?;
    let mut ops = guard(secret, stamp);
    if current.is_null() {
        // No key yet: `test` cannot name an absent member, so the data map is tested whole.
        let data = secret.value().pointer("/data").cloned().unwrap_or(Value::Null);
        ops.push(json!({"op": "test", "path": "/data", "value": data}));
        if data.is_object() {
            ops.push(json!({"op": "add", "path": path, "value": B64.encode(merged)}));
        } else {
            ops.push(
                json!({"op": "add", "path": "/data", "value": {(dockercfg::KEY_DOCKERCONFIGJSON): B64.encode(merged)}}),
            );
        }
    } else {
        ops.push(json!({"op": "test", "path": path, "value": current}));
        ops.push(json!({"op": "replace", "path": path, "value": B64.encode(merged)}));
    }
    Ok(ops)
}

/// The writes for one action, computed against `observed` (just read). Call only for an
/// action `plan::status::assess` finds pending on the same state.
pub fn writes(
    change: &Change,
    observed: &Observed,
    inputs: &Inputs,
    stamp: &Stamp,
) -> Result<Vec<Write>, ExecuteError> {
    let one = |w: Write| Ok(vec![w]);
    match change {
        Change::CopySecret { from, to } => {
            let src = must(observed, from)?;
            match get(observed, to) {
                None => one(Write::Apply {
                    target: to.clone(),
                    body: json!({
                        "apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": to.name, "namespace": to.namespace, "annotations": {ANNOTATION: stamp.value()}},
                        "type": src.str_field("type").unwrap_or(dockercfg::TYPE_DOCKERCONFIGJSON),
                        "data": src.field("data").cloned().unwrap_or(json!({})),
                    }),
                }),
                Some(dst) => {
                    // Registries the target lacks, copied as the source writes them.
                    let mut have = summary::docker_config(dst).unwrap_or_default();
                    let theirs = summary::docker_config(src).unwrap_or_default();
                    let keys = have.merge_from(&theirs);
                    let add = dockerjson::pick(&dockerjson::secret_entries(src).unwrap_or_default(), &keys);
                    one(Write::JsonPatch {
                        target: to.clone(),
                        ops: Value::Array(replace_config(dst, &add, stamp)?),
                    })
                }
            }
        }
        Change::LinkPullSecret {
            service_account,
            secret,
        } => {
            let sa = must(observed, service_account)?;
            let item = ListItem {
                path: "imagePullSecrets".into(),
                item: secret.clone(),
                only_if_list_exists: false,
                item_key: Some("name".into()),
            };
            let mut ops = guard(sa, stamp);
            ops.extend(list_ops(sa.value(), &[&item]));
            one(Write::JsonPatch {
                target: service_account.clone(),
                ops: Value::Array(ops),
            })
        }
        Change::MergeDockerAuths {
            secret,
            registry,
            input,
        } => {
            let obj = must(observed, secret)?;
            let given = inputs
                .get(input)
                .ok_or_else(|| ExecuteError::Precondition(format!("input `{input}` is not given")))?;
            let theirs = DockerConfig::from_json(&given.text).map_err(|_| {
                ExecuteError::Precondition(format!("the file given for `{input}` is not a docker config.json"))
            })?;
            let mut have = summary::docker_config(obj).unwrap_or_default();
            // Only the registry the action names is added, from the given file.
            let mut only = DockerConfig::default();
            for (k, e) in theirs.entries {
                if summary::covers(
                    &DockerConfig {
                        entries: [(k.clone(), e.clone())].into(),
                    },
                    registry,
                ) {
                    only.entries.insert(k, e);
                }
            }
            let keys = have.merge_from(&only);
            let add = dockerjson::pick(&dockerjson::raw_entries(&given.text).unwrap_or_default(), &keys);
            one(Write::JsonPatch {
                target: secret.clone(),
                ops: Value::Array(replace_config(obj, &add, stamp)?),
            })
        }
        Change::EnsureListItem { target, items } => {
            let obj = must(observed, target)?;
            let todo: Vec<&ListItem> = items.iter().filter(|i| !has_item(obj.value(), i)).collect();
            let mut ops = guard(obj, stamp);
            ops.extend(list_ops(obj.value(), &todo));
            one(Write::JsonPatch {
                target: target.clone(),
                ops: Value::Array(ops),
            })
        }
        Change::SetConfigMapKey {
            config_map,
            key,
            input,
            remove_keys,
            copy_from,
        } => {
            let obj = get(observed, config_map);
            let data = obj.and_then(|o| o.field("data")).cloned();
            let value = match copy_from.as_deref().and_then(|k| data.as_ref()?.get(k)) {
                Some(v) => v.clone(),
                None => Value::String(
                    inputs
                        .get(input)
                        .ok_or_else(|| ExecuteError::Precondition(format!("input `{input}` is not given")))?
                        .text
                        .clone(),
                ),
            };
            let Some(obj) = obj else {
                return one(Write::Apply {
                    target: config_map.clone(),
                    body: json!({
                        "apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": config_map.name, "namespace": config_map.namespace, "annotations": {ANNOTATION: stamp.value()}},
                        "data": {key: value},
                    }),
                });
            };
            let mut ops = guard(obj, stamp);
            match data {
                Some(d @ Value::Object(_)) => {
                    ops.push(json!({"op": "test", "path": "/data", "value": d}));
                    for k in remove_keys.iter().filter(|k| *k != key && d.get(k.as_str()).is_some()) {
                        ops.push(json!({"op": "remove", "path": format!("/data/{}", escape(k))}));
                    }
                    ops.push(json!({"op": "add", "path": format!("/data/{}", escape(key)), "value": value}));
                }
                _ => ops.push(json!({"op": "add", "path": "/data", "value": {key: value}})),
            }
            one(Write::JsonPatch {
                target: config_map.clone(),
                ops: Value::Array(ops),
            })
        }
        Change::Patch {
            target,
            merge_patch,
            json_patch,
        } => {
            let obj = must(observed, target)?;
            if let Some(m) = merge_patch {
                let mut body = m.clone();
                patch::merge_patch(
                    &mut body,
                    &json!({"metadata": {
                        "uid": obj.str_field("metadata.uid"),
                        "resourceVersion": obj.str_field("metadata.resourceVersion"),
                        "annotations": {ANNOTATION: stamp.value()},
                    }}),
                );
                return one(Write::MergePatch {
                    target: target.clone(),
                    body,
                });
            }
            let mut ops = guard(obj, stamp);
            ops.extend(
                json_patch
                    .as_ref()
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
            one(Write::JsonPatch {
                target: target.clone(),
                ops: Value::Array(ops),
            })
        }
        Change::EnsureObject { manifest } => {
            let target = change.target().expect("ensureObject has a target");
            let mut body = manifest.clone();
            patch::merge_patch(
                &mut body,
                &json!({"metadata": {"annotations": {ANNOTATION: stamp.value()}}}),
            );
            one(Write::Apply { target, body })
        }
        Change::RestartPod { pod } => {
            let obj = must(observed, pod)?;
            let uid = obj
                .str_field("metadata.uid")
                .ok_or_else(|| ExecuteError::Precondition(format!("{} has no uid", pod.display())))?;
            one(Write::Delete {
                target: pod.clone(),
                uid: uid.to_string(),
            })
        }
        Change::Manual { .. } => Ok(Vec::new()),
    }
}

/// The object as a write would leave it, for checks (`Apply` merges the body; `Delete`
/// leaves nothing). Errors when a JSON patch's `test` fails on `obj`.
pub fn simulate(w: &Write, obj: Option<&Value>) -> Result<Option<Value>, String> {
    match w {
        Write::Apply { body, .. } => {
            let mut v = obj.cloned().unwrap_or(json!({}));
            patch::merge_patch(&mut v, body);
            Ok(Some(v))
        }
        Write::JsonPatch { ops, .. } => {
            let mut v = obj.cloned().ok_or("no object to patch")?;
            patch::json_patch(&mut v, ops)?;
            Ok(Some(v))
        }
        Write::MergePatch { body, .. } => {
            let mut v = obj.cloned().ok_or("no object to patch")?;
            patch::merge_patch(&mut v, body);
            Ok(Some(v))
        }
        Write::Delete { .. } => Ok(None),
        Write::Replace { body, .. } => {
            let now = obj.ok_or("no object to replace")?;
            if now.pointer("/metadata/resourceVersion") != body.pointer("/metadata/resourceVersion") {
                return Err("resourceVersion precondition failed".into());
            }
            Ok(Some(body.clone()))
        }
    }
}

#[cfg(test)]
#[path = "writes_tests.rs"]
mod tests;
