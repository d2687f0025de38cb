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
}
