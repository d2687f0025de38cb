//! Type errors in the parts of an object that can hold credentials describe the offending
//! value (its type and length) instead of quoting it: serde's message quotes a wrong-typed
//! string or number as it is, and that text ends up on stderr and in CI logs.

use serde_json::Value;

/// Kinds whose every field can hold a credential.
const SECRET_KINDS: &[&str] = &["Secret", "ConfigMap"];

/// Field names under which a credential can sit, at any depth: annotations, containers'
/// `env`/`args`/`command`, Secret and ConfigMap data, and messages (registries put tokens in
/// URLs).
const SECRET_FIELDS: &[&str] = &[
    "annotations",
    "env",
    "envFrom",
    "args",
    "command",
    "data",
    "stringData",
    "binaryData",
    "message",
    "note",
];

/// Where those fields sit in the objects remedy reads typed, with list indexes as `[]`: a
/// value at one of these paths or above them (`spec.containers: "…"`, a string where the
/// containers were) can hold them too.
const SECRET_PLACES: &[&str] = &[
    "metadata.annotations",
    "spec.containers[].env",
    "spec.containers[].args",
    "spec.containers[].command",
    "spec.initContainers[].env",
    "spec.initContainers[].args",
    "spec.initContainers[].command",
    "spec.ephemeralContainers[].env",
    "spec.ephemeralContainers[].args",
    "spec.ephemeralContainers[].command",
    "status.containerStatuses[].state.waiting.message",
    "status.initContainerStatuses[].state.waiting.message",
    "status.ephemeralContainerStatuses[].state.waiting.message",
    "status.tags[].conditions[].message",
    "message",
    "note",
];

/// `spec.containers[0].env` → `spec.containers[].env`.
fn normalise(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

fn under(path: &str, place: &str) -> bool {
    path == place
        || path
            .strip_prefix(place)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// Whether the value at `path` of an object of `kind` can hold a credential.
pub fn can_hold_secrets(kind: Option<&str>, path: &str) -> bool {
    if kind.is_some_and(|k| SECRET_KINDS.contains(&k)) || path.is_empty() {
        return true;
    }
    let path = normalise(path);
    let named = path
        .split(['.', '['])
        .map(|s| s.trim_end_matches(']'))
        .any(|s| SECRET_FIELDS.contains(&s));
    named
        || SECRET_PLACES
            .iter()
            .any(|place| under(&path, place) || under(place, &path))
}

/// The value's type and length, never its content.
pub fn describe(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => format!("a string of {} characters", s.chars().count()),
        Some(Value::Number(n)) => format!("a number of {} characters", n.to_string().len()),
        Some(Value::Bool(_)) => "a boolean".to_string(),
        Some(Value::Null) => "null".to_string(),
        Some(Value::Array(a)) => format!("a list of {} items", a.len()),
        Some(Value::Object(m)) => format!("a mapping of {} keys", m.len()),
        None => "a value".to_string(),
    }
}

/// serde's complaint about `value` at `path`, with the value described rather than quoted
/// when the place can hold a credential.
pub fn type_error(kind: Option<&str>, path: &str, value: Option<&Value>, msg: String) -> String {
    if !can_hold_secrets(kind, path) {
        return msg;
    }
    let what = if msg.starts_with("invalid type") {
        "invalid type"
    } else {
        "invalid value"
    };
    // serde names what it expected last; the quoted value comes before it.
    match msg.rsplit_once(", expected ") {
        Some((_, expected)) => format!(
            "{what}: {}, expected {expected} (the value is not shown: this field can hold credentials)",
            describe(value)
        ),
        None => format!(
            "{what}: {} (the value is not shown: this field can hold credentials)",
            describe(value)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn places_that_can_hold_credentials() {
        assert!(can_hold_secrets(Some("Secret"), "type"));
        assert!(can_hold_secrets(Some("Pod"), "metadata.annotations.x"));
        assert!(can_hold_secrets(Some("Pod"), "spec.containers"));
        assert!(can_hold_secrets(Some("Pod"), "spec.containers[3]"));
        assert!(can_hold_secrets(Some("Pod"), "spec.containers[3].env[0].value"));
        assert!(can_hold_secrets(Some("Event"), "message"));
        assert!(can_hold_secrets(Some("Pod"), ""));
        assert!(!can_hold_secrets(Some("Pod"), "spec.containers[0].image"));
        assert!(!can_hold_secrets(Some("Pod"), "metadata.labels.app"));
        assert!(!can_hold_secrets(Some("Event"), "count"));
    }

    #[test]
    fn the_value_is_described_not_quoted() {
        let v = json!("token=PLANTED-abc");
        let msg = "invalid type: string \"token=PLANTED-abc\", expected a sequence".to_string();
        let out = type_error(Some("Pod"), "spec.containers", Some(&v), msg.clone());
        assert!(!out.contains("PLANTED"), "{out}");
        assert!(out.contains("a string of 17 characters, expected a sequence"), "{out}");
        // Elsewhere serde's message stays as it is: it helps.
        assert_eq!(type_error(Some("Pod"), "spec.nodeName", Some(&v), msg.clone()), msg);
    }
}
