//! JSON merge patch (RFC 7386) and the JSON patch (RFC 6902) operations plans use, applied
//! to copies of observed objects to compute diffs and decide whether a patch is a no-op.

use serde_json::Value;

pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let t = target.as_object_mut().expect("made an object above");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn parent_and_key<'a>(doc: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), String> {
    let mut tokens: Vec<String> = path.split('/').skip(1).map(unescape).collect();
    let last = tokens.pop().ok_or("empty path")?;
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m.get_mut(&t).ok_or_else(|| format!("{path}: no `{t}`"))?,
            Value::Array(a) => {
                let i: usize = t.parse().map_err(|_| format!("{path}: `{t}` is not an index"))?;
                a.get_mut(i).ok_or_else(|| format!("{path}: index {i} out of range"))?
            }
            _ => return Err(format!("{path}: `{t}` is not a container")),
        };
    }
    Ok((cur, last))
}

/// Apply `add`, `remove`, `replace` and `test` operations.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    for op in ops.as_array().ok_or("a JSON patch is a list of operations")? {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .ok_or("an operation without `op`")?;
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or("an operation without `path`")?;
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        if kind == "test" {
            if doc.pointer(path) != Some(&value) {
                return Err(format!("test failed at {path}"));
            }
            continue;
        }
        let (parent, key) = parent_and_key(doc, path)?;
        match (kind, parent) {
            ("add" | "replace", Value::Object(m)) => {
                if kind == "replace" && !m.contains_key(&key) {
                    return Err(format!("{path}: nothing to replace"));
                }
                m.insert(key, value);
            }
            ("add", Value::Array(a)) if key == "-" => a.push(value),
            ("add", Value::Array(a)) => {
                let i: usize = key.parse().map_err(|_| format!("{path}: bad index"))?;
                if i > a.len() {
                    return Err(format!("{path}: index out of range"));
                }
                a.insert(i, value);
            }
            ("replace", Value::Array(a)) => {
                let i: usize = key.parse().map_err(|_| format!("{path}: bad index"))?;
                *a.get_mut(i).ok_or(format!("{path}: index out of range"))? = value;
            }
            ("remove", Value::Object(m)) => {
                m.remove(&key).ok_or(format!("{path}: nothing to remove"))?;
            }
            ("remove", Value::Array(a)) => {
                let i: usize = key.parse().map_err(|_| format!("{path}: bad index"))?;
                if i >= a.len() {
                    return Err(format!("{path}: index out of range"));
                }
                a.remove(i);
            }
            (other, _) => return Err(format!("unsupported operation `{other}` at {path}")),
        }
    }
    Ok(())
}

/// The list entry for `item`: the string itself, or `{key: item}` for lists of objects.
pub fn list_entry(item: &str, key: Option<&str>) -> Value {
    match key {
        Some(k) => serde_json::json!({ k: item }),
        None => Value::String(item.to_string()),
    }
}

/// Whether a list entry is `item` (for lists of objects: its `key` field is).
pub fn same_entry(v: &Value, item: &str, key: Option<&str>) -> bool {
    match key {
        Some(k) => v.get(k).and_then(Value::as_str) == Some(item),
        None => v.as_str() == Some(item),
    }
}

/// Ensure `item` is in the list at dotted `path`, creating the list (and parents) if needed.
pub fn ensure_list_item(doc: &mut Value, path: &str, item: &str, key: Option<&str>) {
    let mut cur = doc;
    for part in path.split('.') {
        if !cur.is_object() {
            *cur = Value::Object(Default::default());
        }
        cur = cur
            .as_object_mut()
            .expect("object")
            .entry(part.to_string())
            .or_insert(Value::Null);
    }
    if !cur.is_array() {
        *cur = Value::Array(vec![]);
    }
    let list = cur.as_array_mut().expect("array");
    if !list.iter().any(|v| same_entry(v, item, key)) {
        list.push(list_entry(item, key));
    }
}

/// What stands for a value a diff never shows.
const HIDDEN: &str = "<hidden>";
const HIDDEN_CHANGED: &str = "<hidden, changed>";

/// Whether the value at `path` never prints: every field of a Secret but its identity, a
/// container's `env`, `envFrom`, `args` and `command` (they hold tokens), and annotation values.
fn is_sensitive(path: &[&str], secret: bool) -> bool {
    let Some(last) = path.last() else {
        return false;
    };
    if secret {
        let identity = matches!(
            path,
            ["apiVersion" | "kind" | "type"] | ["metadata", "name" | "namespace"]
        );
        let structure = matches!(path, ["metadata"] | ["data" | "stringData"]);
        return !identity && !structure;
    }
    matches!(*last, "env" | "envFrom" | "args" | "command")
        || (path.len() >= 2 && path[path.len() - 2] == "annotations")
}

/// `v` with every sensitive value below `path` replaced by `hidden`.
fn mask(v: &Value, path: &mut Vec<String>, secret: bool, hidden: &str) -> Value {
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    if is_sensitive(&refs, secret) {
        return Value::String(hidden.to_string());
    }
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    path.push(k.clone());
                    let masked = mask(x, path, secret, hidden);
                    path.pop();
                    (k.clone(), masked)
                })
                .collect(),
        ),
        // Items of a list keep the list's path: containers[i].env is still `env`.
        Value::Array(a) => Value::Array(a.iter().map(|x| mask(x, path, secret, hidden)).collect()),
        other => other.clone(),
    }
}

/// The changed parts of `before` and `after` (`None`: absent on that side), masked.
fn prune(
    before: Option<&Value>,
    after: Option<&Value>,
    path: &mut Vec<String>,
    secret: bool,
) -> (Option<Value>, Option<Value>) {
    if before == after {
        return (None, None);
    }
    let refs: Vec<&str> = path.iter().map(String::as_str).collect();
    if is_sensitive(&refs, secret) {
        return (
            before.map(|_| Value::String(HIDDEN.into())),
            after.map(|_| Value::String(if before.is_some() { HIDDEN_CHANGED } else { HIDDEN }.into())),
        );
    }
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let mut nb = serde_json::Map::new();
            let mut na = serde_json::Map::new();
            let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for k in keys {
                path.push(k.clone());
                let (x, y) = prune(b.get(k), a.get(k), path, secret);
                path.pop();
                if let Some(x) = x {
                    nb.insert(k.clone(), x);
                }
                if let Some(y) = y {
                    na.insert(k.clone(), y);
                }
            }
            (Some(Value::Object(nb)), Some(Value::Object(na)))
        }
        _ => (
            before.map(|v| mask(v, path, secret, HIDDEN)),
            after.map(|v| mask(v, path, secret, HIDDEN)),
        ),
    }
}

fn yaml(v: &Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(v) => serde_yaml::to_string(v).unwrap_or_default(),
    }
}

/// A unified diff of only what changes between two states of an object (`Null`: it does not
/// exist), labelled `label` (`Kind ns/name`). Unchanged fields are left out, and values that
/// can hold credentials (any field of a Secret, containers' `env`/`args`/`command`,
/// annotation values) show as `<hidden>`.
pub fn scoped_diff(label: &str, before: &Value, after: &Value) -> String {
    let secret = label.starts_with("Secret ");
    let side = |v: &Value| (!v.is_null()).then(|| v.clone());
    let (b, a) = prune(side(before).as_ref(), side(after).as_ref(), &mut Vec::new(), secret);
    let (b, a) = (yaml(&b), yaml(&a));
    similar::TextDiff::from_lines(&b, &a)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{label} (now)"), &format!("{label} (planned)"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7386() {
        let mut v = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut v, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(v, json!({"a": "z", "c": {"d": "e"}}));
    }

    #[test]
    fn json_patch_ops() {
        let mut v = json!({"spec": {"l": ["a"]}});
        json_patch(&mut v, &json!([{"op":"test","path":"/spec/l","value":["a"]},{"op":"add","path":"/spec/l/-","value":"b"},{"op":"replace","path":"/spec/l/0","value":"c"}])).unwrap();
        assert_eq!(v, json!({"spec": {"l": ["c", "b"]}}));
        assert!(json_patch(&mut v, &json!([{"op":"test","path":"/spec/l","value":[]}])).is_err());
        assert!(json_patch(&mut v, &json!([{"op":"remove","path":"/spec/x"}])).is_err());
        assert!(json_patch(&mut v, &json!([{"op":"move","path":"/spec/l","from":"/x"}])).is_err());
    }

    #[test]
    fn list_items_are_added_once() {
        let mut v = json!({});
        ensure_list_item(&mut v, "spec.registrySources.insecureRegistries", "r:5000", None);
        ensure_list_item(&mut v, "spec.registrySources.insecureRegistries", "r:5000", None);
        assert_eq!(
            v,
            json!({"spec": {"registrySources": {"insecureRegistries": ["r:5000"]}}})
        );
        // Lists of objects, such as a pod template's imagePullSecrets.
        let mut v = json!({"spec": {"template": {"spec": {"imagePullSecrets": [{"name": "quay"}]}}}});
        ensure_list_item(&mut v, "spec.template.spec.imagePullSecrets", "icr", Some("name"));
        ensure_list_item(&mut v, "spec.template.spec.imagePullSecrets", "quay", Some("name"));
        assert_eq!(
            v["spec"]["template"]["spec"]["imagePullSecrets"],
            json!([{"name": "quay"}, {"name": "icr"}])
        );
    }

    #[test]
    fn diffs_show_only_the_changed_path() {
        let before = json!({"spec": {"template": {"metadata": {"annotations": {"token": "PLANTED-a"}},
            "spec": {"imagePullSecrets": [{"name": "quay"}],
            "containers": [{"name": "web", "image": "x", "env": [{"name": "T", "value": "PLANTED-e"}],
                "args": ["--token=PLANTED-g"], "command": ["sh", "-c", "PLANTED-c"]}]}}}});
        let mut after = before.clone();
        ensure_list_item(&mut after, "spec.template.spec.imagePullSecrets", "icr", Some("name"));
        let d = scoped_diff("Deployment apps/web", &before, &after);
        assert!(
            d.contains("+    - name: icr") || d.contains("+      - name: icr"),
            "{d}"
        );
        assert!(!d.contains("PLANTED"), "{d}");
        assert!(
            !d.contains("containers") && !d.contains("annotations"),
            "only the changed path: {d}"
        );
        // A created object shows in full, but never its env, args, command or annotation values.
        let d = scoped_diff("Deployment apps/web", &Value::Null, &after);
        assert!(
            !d.contains("PLANTED") && d.contains("containers") && d.contains("<hidden>"),
            "{d}"
        );
    }

    #[test]
    fn secret_diffs_never_show_values() {
        let before = json!({"kind": "Secret", "metadata": {"name": "s", "annotations": {"a": "PLANTED-1"}},
            "data": {"k": "UExBTlRFRA==", ".dockerconfigjson": "UExBTlRFRC0y"}});
        let mut after = before.clone();
        ensure_list_item(&mut after, "data.list", "PLANTED-3", None);
        after["data"]["k"] = json!("UExBTlRFRC00");
        let d = scoped_diff("Secret apps/s", &before, &after);
        for leaked in ["PLANTED", "UExB"] {
            assert!(!d.contains(leaked), "{d}");
        }
        assert!(d.contains("<hidden, changed>") && d.contains("list"), "{d}");
    }
}
