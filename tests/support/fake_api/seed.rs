//! Objects of a snapshot (files or a directory of `kubectl get -o yaml|json` output, or a
//! must-gather), to seed the test API with.

use std::path::Path;

use serde_json::Value;

/// Every object in the files under `path` (lists expanded), in sorted file order.
pub fn load(path: &Path) -> Result<Vec<Value>, String> {
    let mut files = Vec::new();
    collect(path, &mut files).map_err(|e| format!("{}: {e}", path.display()))?;
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let docs: Vec<Value> = if f.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            vec![serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?]
        } else {
            let mut docs = Vec::new();
            for d in serde_yaml::Deserializer::from_str(&text) {
                let v: Value = serde::Deserialize::deserialize(d).map_err(|e| format!("{}: {e}", f.display()))?;
                docs.push(v);
            }
            docs
        };
        for d in docs {
            expand(d, None, &mut out);
        }
    }
    Ok(out)
}

fn collect(path: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        for e in std::fs::read_dir(path)? {
            collect(&e?.path(), out)?;
        }
    } else if path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["yaml", "yml", "json"].iter().any(|w| e.eq_ignore_ascii_case(w)))
    {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn expand(mut v: Value, defaults: Option<(String, String)>, out: &mut Vec<Value>) {
    let Some(m) = v.as_object_mut() else { return };
    if let Some(Value::Array(items)) = m.remove("items") {
        let defaults = m
            .get("kind")
            .and_then(Value::as_str)
            .and_then(|k| k.strip_suffix("List"))
            .filter(|k| !k.is_empty())
            .map(|k| {
                let api = m.get("apiVersion").and_then(Value::as_str).unwrap_or("v1");
                (k.to_string(), api.to_string())
            });
        for i in items {
            expand(i, defaults.clone(), out);
        }
        return;
    }
    if let Some((kind, api)) = defaults {
        m.entry("kind").or_insert(Value::String(kind));
        m.entry("apiVersion").or_insert(Value::String(api));
    }
    let named = v.pointer("/metadata/name").and_then(Value::as_str).is_some();
    if v.get("kind").and_then(Value::as_str).is_some() && named {
        out.push(v);
    }
}

/// What identifies an object: apiVersion group, kind, namespace, name.
pub fn key(v: &Value) -> (String, String, String, String) {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    let api = s("/apiVersion");
    let group = api.rsplit_once('/').map(|(g, _)| g.to_string()).unwrap_or_default();
    (group, s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
}
