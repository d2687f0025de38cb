//! ConfigMap keys, patches, whole objects and pod restarts.

use serde_json::{Value, json};

use super::{Assessed, Observed, diff, get, needs_input};
use crate::desired::{Change, Target};
use crate::inputs::Inputs;
use crate::plan::patch;
use crate::plan::types::Status;
use crate::probe::summary;

pub(super) fn cm_key(
    cm: &Target,
    key: &str,
    input: &str,
    remove: &[String],
    copy_from: Option<&str>,
    observed: &Observed,
    inputs: &Inputs,
) -> Assessed {
    let obj = get(observed, cm);
    let keys: Vec<String> = obj
        .and_then(|o| o.field("data").and_then(Value::as_object))
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let stale: Vec<&String> = remove.iter().filter(|k| keys.contains(k) && *k != key).collect();
    if keys.iter().any(|k| k == key) && stale.is_empty() {
        return Assessed::new(Status::Satisfied, format!("{} already has key {key}", cm.display()));
    }
    let source = copy_from.filter(|k| keys.iter().any(|x| x == k));
    // Say what happens to the keys that are there: kept, or removed (by name).
    let kept = keys.iter().filter(|k| !stale.contains(k) && k.as_str() != key).count();
    let mut effects = Vec::new();
    if !stale.is_empty() {
        effects.push(format!(
            "REMOVES key {}",
            stale.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    if obj.is_none() {
        effects.push("new ConfigMap".to_string());
    } else if kept > 0 {
        effects.push(format!(
            "keeps {}",
            match (stale.is_empty(), kept) {
                (true, _) => "every existing key".to_string(),
                (false, 1) => "the other key".to_string(),
                (false, n) => format!("the {n} other keys"),
            }
        ));
    }
    let effects = if effects.is_empty() {
        String::new()
    } else {
        format!(" ({})", effects.join("; "))
    };
    let keys_diff = || {
        let mut before_keys = keys.clone();
        before_keys.sort();
        let mut after_keys: Vec<String> = keys.iter().filter(|k| !stale.contains(k)).cloned().collect();
        if !after_keys.iter().any(|k| k == key) {
            after_keys.push(key.to_string());
        }
        after_keys.sort();
        diff(
            &format!("{} keys", cm.display()),
            &json!(before_keys),
            &json!(after_keys),
        )
    };
    if let Some(from) = source {
        return Assessed {
            diff: Some(keys_diff()),
            ..Assessed::new(Status::Pending, format!("data[{key}] = copy of data[{from}]{effects}"))
        };
    }
    let summary_line = format!("data[{key}] = <{input}>{effects}");
    let Some(given) = inputs.get(input) else {
        return Assessed {
            needs_input: Some(needs_input(input, "the registry's CA certificate, PEM-encoded")),
            ..Assessed::new(Status::NeedsInput, summary_line)
        }
        .because("only you have the registry's CA certificate".to_string());
    };
    if !given.text.contains("-----BEGIN CERTIFICATE-----") {
        return Assessed::new(Status::Blocked, summary_line).because(format!(
            "the file given for `{input}` ({}) holds no PEM certificate",
            given.origin
        ));
    }
    Assessed {
        diff: Some(keys_diff()),
        ..Assessed::new(Status::Pending, summary_line)
    }
}

pub(super) fn patch_obj(target: &Target, merge: Option<&Value>, jp: Option<&Value>, observed: &Observed) -> Assessed {
    let Some(obj) = get(observed, target) else {
        return Assessed::new(Status::Blocked, "patch").because(format!("{} does not exist", target.display()));
    };
    let mut after = obj.value().clone();
    let (p, result) = match (merge, jp) {
        (Some(m), _) => {
            patch::merge_patch(&mut after, m);
            (m.clone(), Ok(()))
        }
        (None, Some(ops)) => (ops.clone(), patch::json_patch(&mut after, ops)),
        (None, None) => (Value::Null, Ok(())),
    };
    if let Err(e) = result {
        return Assessed::new(Status::Blocked, "patch")
            .because(format!("the JSON patch does not apply to {}: {e}", target.display()));
    }
    let secret = obj.kind == "Secret";
    let compact = serde_json::to_string(&p).unwrap_or_default();
    // A merge patch reads as the fields it sets: `spec.samplesRegistry = mirror:5000`.
    let fields = merge.filter(|_| !secret).map(|m| {
        let mut out = Vec::new();
        merge_fields(m, "", &mut out);
        out.join(", ")
    });
    if after == *obj.value() {
        return Assessed::new(
            Status::Satisfied,
            match fields {
                Some(f) if !f.is_empty() => format!("already {f}"),
                _ => format!("{} already matches the patch", target.display()),
            },
        );
    }
    Assessed {
        patch: (!secret).then_some(p),
        diff: (!secret).then(|| {
            diff(
                &target.display(),
                &obj.value().get("spec").cloned().unwrap_or(Value::Null),
                &after.get("spec").cloned().unwrap_or(Value::Null),
            )
        }),
        ..Assessed::new(
            Status::Pending,
            match (secret, fields) {
                (true, _) => "patch (values hidden)".to_string(),
                (false, Some(f)) if !f.is_empty() => f,
                _ => format!("patch {compact}"),
            },
        )
    }
}

/// The leaves of a merge patch as `path = value` (`remove path` for nulls).
pub(super) fn merge_fields(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                merge_fields(x, &path, out);
            }
        }
        Value::Null => out.push(format!("remove {prefix}")),
        Value::String(s) => out.push(format!("{prefix} = {s}")),
        other => out.push(format!("{prefix} = {other}")),
    }
}

pub(super) fn ensure_object(change: &Change, manifest: &Value, observed: &Observed) -> Assessed {
    let target = change.target().expect("ensureObject has a target");
    let secret = target.kind == "Secret";
    match get(observed, &target) {
        None => Assessed {
            diff: (!secret).then(|| diff(&target.display(), &Value::Null, manifest)),
            ..Assessed::new(Status::Pending, format!("create {}", target.display()))
        },
        Some(obj) => {
            let mut merged = obj.value().clone();
            patch::merge_patch(&mut merged, manifest);
            if merged == *obj.value() {
                Assessed::new(Status::Satisfied, format!("{} exists as wanted", target.display()))
            } else {
                Assessed {
                    diff: (!secret).then(|| diff(&target.display(), obj.value(), &merged)),
                    ..Assessed::new(
                        Status::Pending,
                        format!("update {} (merge; other fields kept)", target.display()),
                    )
                }
            }
        }
    }
}

pub(super) fn restart(pod: &Target, observed: &Observed) -> Assessed {
    let Some(obj) = get(observed, pod) else {
        return Assessed::new(Status::Satisfied, format!("{} is already gone", pod.display()));
    };
    let owner = summary::owner(obj, &[]);
    let reason = owner["reason"].as_str().unwrap_or_default().to_string();
    if owner["restartable"] == Value::Bool(true) {
        let by = format!(
            "{} {}",
            owner["kind"].as_str().unwrap_or(""),
            owner["name"].as_str().unwrap_or("")
        );
        Assessed::new(Status::Pending, format!("owned by {by}; {reason}"))
    } else {
        // The same words for every pod, so several read as one step.
        Assessed::new(Status::Manual, "delete it and create it again yourself").because(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{obs, t};
    use super::*;
    use crate::plan::status::assess;

    #[test]
    fn restart_only_controller_owned_pods() {
        let owned = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"apps","ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs","controller":true}]}});
        let bare = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"q","namespace":"apps"}});
        let o = obs(vec![owned, bare]);
        assert_eq!(
            assess(
                &Change::RestartPod {
                    pod: t("Pod", "apps", "p")
                },
                &o,
                &Inputs::default()
            )
            .status,
            Status::Pending
        );
        assert_eq!(
            assess(
                &Change::RestartPod {
                    pod: t("Pod", "apps", "q")
                },
                &o,
                &Inputs::default()
            )
            .status,
            Status::Manual
        );
    }

    fn cm(data: Value) -> Observed {
        obs(vec![
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"registry-cas","namespace":"openshift-config"},"data": data}),
        ])
    }

    fn set_key(copy_from: Option<&str>, remove: &[&str]) -> Change {
        Change::SetConfigMapKey {
            config_map: t("ConfigMap", "openshift-config", "registry-cas"),
            key: "reg..5000".into(),
            input: "ca_file".into(),
            remove_keys: remove.iter().map(|s| s.to_string()).collect(),
            copy_from: copy_from.map(str::to_string),
        }
    }

    #[test]
    fn a_ca_copied_from_another_key_keeps_that_key() {
        let o = cm(json!({"reg": "PEM", "other": "PEM2"}));
        let a = assess(&set_key(Some("reg"), &[]), &o, &Inputs::default());
        assert_eq!(a.status, Status::Pending);
        assert_eq!(
            a.summary,
            "data[reg..5000] = copy of data[reg] (keeps every existing key)"
        );
        let d = a.diff.unwrap();
        assert!(d.contains("+- reg..5000") && !d.contains("-- reg\n"), "{d}");
        assert!(!d.lines().any(|l| l.starts_with("-- ")), "no key is removed: {d}");
    }

    #[test]
    fn a_removed_key_is_named_in_the_summary() {
        let o = cm(json!({"reg": "PEM", "other": "PEM2"}));
        let a = assess(&set_key(Some("reg"), &["reg"]), &o, &Inputs::default());
        assert_eq!(
            a.summary,
            "data[reg..5000] = copy of data[reg] (REMOVES key reg; keeps the other key)"
        );
        assert!(a.diff.unwrap().contains("-- reg\n"));
        // Without a key to copy from, the CA file is needed; removal is still announced.
        let a = assess(&set_key(None, &["reg"]), &o, &Inputs::default());
        assert_eq!(a.status, Status::NeedsInput);
        assert!(a.summary.contains("REMOVES key reg"), "{}", a.summary);
        assert!(a.diff.is_none());
    }
}
