//! Pull-secret key merges at the JSON level: registries are added to `auths` as their source
//! writes them, and everything remedy does not model (`credHelpers`, `credsStore`, unknown
//! top-level keys, unknown fields inside existing entries such as `identitytoken`) is kept as
//! it is. Errors name keys and secrets, never a value.

use base64::Engine;
use serde_json::{Map, Value};

use super::ExecuteError;
use crate::cluster::Object;
use crate::refs::dockercfg::{KEY_DOCKERCFG, KEY_DOCKERCONFIGJSON, TYPE_DOCKERCFG, TYPE_DOCKERCONFIGJSON};

/// Decoding is as lenient as kubelet's (padding optional).
const B64_IN: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;

/// The key of `auths` in a config.json: exact first, then case-insensitive (Go's encoding/json).
fn auths_key(root: &Map<String, Value>) -> Option<String> {
    if root.contains_key("auths") {
        return Some("auths".into());
    }
    root.keys().find(|k| k.eq_ignore_ascii_case("auths")).cloned()
}

/// Registry entries of a config.json, as written: `auths` when the document is wrapped (it has
/// `auths`, `credsStore` or `credHelpers`), else the document itself (the legacy layout).
pub fn raw_entries(json: &str) -> Option<Map<String, Value>> {
    let Value::Object(root) = serde_json::from_str::<Value>(json).ok()? else {
        return None;
    };
    let wrapped = ["auths", "credsStore", "credHelpers"]
        .iter()
        .any(|f| root.keys().any(|k| k.eq_ignore_ascii_case(f)));
    if !wrapped {
        return Some(root);
    }
    match auths_key(&root).and_then(|k| root.get(&k).cloned()) {
        Some(Value::Object(m)) => Some(m),
        _ => Some(Map::new()),
    }
}

/// The decoded config of a pull secret (`.dockerconfigjson`, or a legacy `.dockercfg`).
fn secret_text(secret: &Object) -> Option<String> {
    let key = match secret.str_field("type") {
        Some(TYPE_DOCKERCFG) => KEY_DOCKERCFG,
        _ => KEY_DOCKERCONFIGJSON,
    };
    let encoded = secret.field("data")?.get(key)?.as_str()?;
    String::from_utf8(B64_IN.decode(encoded.trim()).ok()?).ok()
}

/// Registry entries of a pull secret, as written.
pub fn secret_entries(secret: &Object) -> Option<Map<String, Value>> {
    raw_entries(&secret_text(secret)?)
}

fn name(secret: &Object) -> String {
    format!("Secret {}/{}", secret.namespace.as_deref().unwrap_or(""), secret.name)
}

/// The secret's `.dockerconfigjson` with `add` put into `auths` where their keys are absent;
/// every other byte of meaning kept. A secret without the key starts from `{"auths": {}}`; one
/// whose value is not a JSON object is refused (rewriting it would lose what it holds).
pub fn merged(secret: &Object, add: &Map<String, Value>) -> Result<String, ExecuteError> {
    let encoded = secret
        .field("data")
        .and_then(|d| d.get(KEY_DOCKERCONFIGJSON))
        .and_then(Value::as_str);
    let mut root = match encoded {
        None => Map::new(),
        Some(e) => {
            let refused = |why: &str| {
                ExecuteError::Refused(format!(
                    "{}: its {KEY_DOCKERCONFIGJSON} {why}; remedy does not rewrite what it cannot read whole",
                    name(secret)
                ))
            };
            let bytes = B64_IN.decode(e.trim()).map_err(|_| refused("is not base64"))?;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                _ => return Err(refused("is not a JSON object")),
            }
        }
    };
    let key = auths_key(&root).unwrap_or_else(|| "auths".into());
    let auths = root.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if auths.is_null() {
        *auths = Value::Object(Map::new());
    }
    let Value::Object(auths) = auths else {
        return Err(ExecuteError::Refused(format!(
            "{}: its `auths` is not an object; remedy does not rewrite it",
            name(secret)
        )));
    };
    for (k, v) in add {
        if !auths.contains_key(k) {
            auths.insert(k.clone(), v.clone());
        }
    }
    Ok(Value::Object(root).to_string())
}

/// The entries of `from` under `keys` (keys missing there are left out).
pub fn pick(from: &Map<String, Value>, keys: &[String]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| from.get(k).map(|v| (k.clone(), v.clone())))
        .collect()
}

/// Whether `.dockerconfigjson` is the secret's key (its type says so).
pub fn is_dockerconfigjson(secret: &Object) -> bool {
    secret.str_field("type") == Some(TYPE_DOCKERCONFIGJSON)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    fn secret(config: &Value) -> Object {
        Object::from_value(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "a"}, "type": TYPE_DOCKERCONFIGJSON,
            "data": {KEY_DOCKERCONFIGJSON: B64.encode(config.to_string())}}))
        .unwrap()
    }

    #[test]
    fn unknown_fields_survive_a_merge() {
        let before = json!({
            "auths": {"a.io": {"auth": "dTpw", "identitytoken": "PLANTED-IT", "x-extra": {"n": 1}}},
            "credHelpers": {"gcr.io": "gcloud"},
            "credsStore": "desktop",
            "HttpHeaders": {"User-Agent": "x"},
        });
        let add = json!({"b.io": {"auth": "dTpx", "registrytoken": "PLANTED-RT"}, "a.io": {"auth": "bm86cGU="}});
        let out: Value = serde_json::from_str(&merged(&secret(&before), add.as_object().unwrap()).unwrap()).unwrap();
        let mut want = before.clone();
        want["auths"]["b.io"] = add["b.io"].clone();
        assert_eq!(out, want, "a.io kept as it was, b.io added whole, the rest untouched");
    }

    #[test]
    fn a_go_style_auths_key_and_a_missing_one() {
        let out = merged(
            &secret(&json!({"Auths": {"a.io": {}}})),
            json!({"b.io": {}}).as_object().unwrap(),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap(),
            json!({"Auths": {"a.io": {}, "b.io": {}}})
        );
        let out = merged(
            &secret(&json!({"credsStore": "x"})),
            json!({"b.io": {}}).as_object().unwrap(),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap(),
            json!({"credsStore": "x", "auths": {"b.io": {}}})
        );
    }

    #[test]
    fn what_cannot_be_read_whole_is_refused_without_a_value() {
        let bad = Object::from_value(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "a"}, "type": TYPE_DOCKERCONFIGJSON,
            "data": {KEY_DOCKERCONFIGJSON: B64.encode("PLANTED-NOT-JSON")}}))
        .unwrap();
        let e = merged(&bad, &Map::new()).unwrap_err().to_string();
        assert!(e.contains("Secret a/s") && !e.contains("PLANTED"), "{e}");
        let e = merged(&secret(&json!({"auths": ["PLANTED"]})), &Map::new())
            .unwrap_err()
            .to_string();
        assert!(!e.contains("PLANTED"), "{e}");
    }

    #[test]
    fn raw_entries_of_both_layouts() {
        let wrapped = raw_entries(r#"{"auths":{"a.io":{"auth":"x","k":1}},"credsStore":"d"}"#).unwrap();
        assert_eq!(Value::Object(wrapped), json!({"a.io": {"auth": "x", "k": 1}}));
        let bare = raw_entries(r#"{"a.io":{"auth":"x"}}"#).unwrap();
        assert_eq!(Value::Object(bare), json!({"a.io": {"auth": "x"}}));
        assert!(raw_entries("[]").is_none());
    }
}
