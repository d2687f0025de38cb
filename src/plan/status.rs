//! Pure status computation: the desired state of one action against the observed objects.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::desired::{Change, ListItem, Target};
use super::patch;
use super::types::{NeedsInput, Status};
use crate::cluster::{Object, ObjectKey};
use crate::inputs::Inputs;
use crate::probe::summary;
use crate::refs::dockercfg::DockerConfig;

pub type Observed = BTreeMap<ObjectKey, Option<Arc<Object>>>;

/// What the plan says about one action.
#[derive(Debug, Clone)]
pub struct Assessed {
    pub status: Status,
    pub summary: String,
    pub reason: Option<String>,
    pub patch: Option<Value>,
    pub diff: Option<String>,
    pub needs_input: Option<NeedsInput>,
}

impl Assessed {
    fn new(status: Status, summary: impl Into<String>) -> Self {
        Assessed {
            status,
            summary: summary.into(),
            reason: None,
            patch: None,
            diff: None,
            needs_input: None,
        }
    }
    fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

fn get<'a>(observed: &'a Observed, t: &Target) -> Option<&'a Object> {
    observed.get(&t.key()).and_then(|o| o.as_deref())
}

/// A unified diff of what changes, without values that can hold credentials (see
/// [`patch::scoped_diff`]).
pub fn diff(label: &str, before: &Value, after: &Value) -> String {
    patch::scoped_diff(label, before, after)
}

fn needs_input(input: &str, hint: &str) -> NeedsInput {
    NeedsInput {
        input: input.to_string(),
        flag: format!("--set-file {input}=PATH"),
        hint: hint.to_string(),
    }
}

pub fn assess(change: &Change, observed: &Observed, inputs: &Inputs) -> Assessed {
    match change {
        Change::CopySecret { from, to } => copy_secret(from, to, observed),
        Change::LinkPullSecret {
            service_account,
            secret,
        } => link(service_account, secret, observed),
        Change::MergeDockerAuths {
            secret,
            registry,
            input,
        } => merge_auths(secret, registry, input, observed, inputs),
        Change::EnsureListItem { target, items } => list_item(target, items, observed),
        Change::SetConfigMapKey {
            config_map,
            key,
            input,
            remove_keys,
            copy_from,
        } => cm_key(
            config_map,
            key,
            input,
            remove_keys,
            copy_from.as_deref(),
            observed,
            inputs,
        ),
        Change::Patch {
            target,
            merge_patch,
            json_patch,
        } => patch_obj(target, merge_patch.as_ref(), json_patch.as_ref(), observed),
        Change::EnsureObject { manifest } => ensure_object(change, manifest, observed),
        Change::RestartPod { pod } => restart(pod, observed),
        Change::Manual { title, .. } => Assessed::new(Status::Manual, title.clone()),
    }
}

fn copy_secret(from: &Target, to: &Target, observed: &Observed) -> Assessed {
    let Some(src) = get(observed, from) else {
        return Assessed::new(
            Status::Blocked,
            format!("copy of {}/{}", from.namespace.as_deref().unwrap_or(""), from.name),
        )
        .because(format!("the source {} does not exist", from.display()));
    };
    let src_regs = summary::docker_config(src)
        .map(|c| summary::registries_with_credentials(&c))
        .unwrap_or_default();
    let from_ref = format!("{}/{}", src.namespace.as_deref().unwrap_or(""), src.name);
    match get(observed, to) {
        None => Assessed::new(
            Status::Pending,
            format!(
                "copy of {from_ref} ({} {}, values hidden)",
                src_regs.len(),
                plural(src_regs.len(), "registry", "registries")
            ),
        )
        .because(format!("{} does not exist", to.display())),
        Some(dst) => {
            let have = summary::docker_config(dst)
                .map(|c| summary::registries_with_credentials(&c))
                .unwrap_or_default();
            let missing: Vec<&String> = src_regs.iter().filter(|r| !have.contains(r)).collect();
            if missing.is_empty() {
                Assessed::new(
                    Status::Satisfied,
                    format!("{} already holds every registry of {from_ref}", to.display()),
                )
            } else {
                let names = missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                Assessed::new(
                    Status::Pending,
                    format!("auths += {names} (from {from_ref}; existing entries kept, values hidden)"),
                )
                .because(format!("{} exists but lacks {names}", to.display()))
            }
        }
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn link(sa: &Target, secret: &str, observed: &Observed) -> Assessed {
    let Some(obj) = get(observed, sa) else {
        return Assessed::new(Status::Blocked, format!("imagePullSecrets += {secret}"))
            .because(format!("{} does not exist", sa.display()));
    };
    let current = obj.field("imagePullSecrets").cloned().unwrap_or(Value::Null);
    let names = summary::sa_pull_secret_names(obj);
    if names.iter().any(|n| n == secret) {
        return Assessed::new(Status::Satisfied, format!("imagePullSecrets already has {secret}"));
    }
    let entry = json!({"name": secret});
    // The list is atomic: never replace it; append to it, guarded so a concurrent change fails the patch.
    let patch = if current.is_array() {
        json!([{"op": "test", "path": "/imagePullSecrets", "value": current}, {"op": "add", "path": "/imagePullSecrets/-", "value": entry}])
    } else {
        json!([{"op": "add", "path": "/imagePullSecrets", "value": [entry]}])
    };
    let mut after = current.as_array().cloned().unwrap_or_default();
    after.push(json!({"name": secret}));
    let kept = if names.is_empty() {
        String::new()
    } else {
        format!(" (keeps {})", names.join(", "))
    };
    Assessed {
        patch: Some(patch),
        diff: Some(diff(
            &sa.display(),
            &json!({"imagePullSecrets": current}),
            &json!({"imagePullSecrets": after}),
        )),
        ..Assessed::new(Status::Pending, format!("imagePullSecrets += {secret}{kept}"))
    }
}

fn merge_auths(secret: &Target, registry: &str, input: &str, observed: &Observed, inputs: &Inputs) -> Assessed {
    let summary_line = format!("auths += {registry} (other entries kept, values hidden)");
    let Some(obj) = get(observed, secret) else {
        return Assessed::new(Status::Blocked, summary_line).because(format!("{} does not exist", secret.display()));
    };
    if summary::docker_config(obj).is_some_and(|c| summary::covers(&c, registry)) {
        return Assessed::new(
            Status::Satisfied,
            format!("{} already has credentials for {registry}", secret.display()),
        );
    }
    let Some(given) = inputs.get(input) else {
        return Assessed {
            needs_input: Some(needs_input(input, &format!("a docker config.json holding credentials for {registry}; `podman login --authfile auth.json {registry}` writes one"))),
            ..Assessed::new(Status::NeedsInput, summary_line)
        }
        .because(format!("only you have the credentials for {registry}"));
    };
    match DockerConfig::from_json(&given.text) {
        Ok(cfg) if summary::covers(&cfg, registry) => Assessed::new(Status::Pending, summary_line)
            .because(format!("{} has no credentials for {registry}", secret.display())),
        Ok(_) => Assessed::new(Status::Blocked, summary_line).because(format!(
            "the file given for `{input}` ({}) has no credentials for {registry}",
            given.origin
        )),
        // The parse error text never includes the input's content.
        Err(_) => Assessed::new(Status::Blocked, summary_line).because(format!(
            "the file given for `{input}` ({}) is not a docker config.json",
            given.origin
        )),
    }
}

fn list_at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(obj, |v, p| v.get(p))
}

/// The common dotted prefix of several paths (`spec.registrySources`), if any.
fn common_prefix(paths: &[&str]) -> Option<String> {
    let split: Vec<Vec<&str>> = paths.iter().map(|p| p.split('.').collect()).collect();
    let first = split.first()?;
    let n = (0..first.len().saturating_sub(1))
        .take_while(|&i| split.iter().all(|s| s.len() > i + 1 && s[i] == first[i]))
        .count();
    (n > 0).then(|| first[..n].join("."))
}

fn list_item(target: &Target, items: &[ListItem], observed: &Observed) -> Assessed {
    let paths: Vec<&str> = items.iter().map(|i| i.path.as_str()).collect();
    let prefix = if items.len() > 1 { common_prefix(&paths) } else { None };
    let short = |path: &str| match &prefix {
        Some(p) => path
            .strip_prefix(p.as_str())
            .map_or(path, |s| s.trim_start_matches('.'))
            .to_string(),
        None => path.to_string(),
    };
    let with_prefix = |parts: Vec<String>| match &prefix {
        Some(p) => format!("{p}: {}", parts.join(", ")),
        None => parts.join(", "),
    };
    let wanted: Vec<String> = items
        .iter()
        .map(|i| format!("{} += {}", short(&i.path), i.item))
        .collect();
    let Some(obj) = get(observed, target) else {
        return Assessed::new(Status::Blocked, with_prefix(wanted))
            .because(format!("{} does not exist", target.display()));
    };
    // Items still to add, and what is already in place.
    let mut todo: Vec<&ListItem> = Vec::new();
    let mut done: Vec<String> = Vec::new();
    for i in items {
        let key = i.item_key.as_deref();
        let list = list_at(obj.value(), &i.path);
        let has = list
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| patch::same_entry(v, &i.item, key)));
        if has {
            done.push(format!("{} already has {}", short(&i.path), i.item));
        } else if list.is_none() && i.only_if_list_exists {
            done.push(format!("{} is not set: no restriction to lift", short(&i.path)));
        } else {
            todo.push(i);
        }
    }
    if todo.is_empty() {
        return Assessed::new(Status::Satisfied, with_prefix(done));
    }
    // One patch for every list: a merge patch when every list is new, otherwise a JSON patch
    // whose `test` operations guard the lists that exist (so a concurrent change fails it).
    let mut after = obj.value().clone();
    let all_new = todo.iter().all(|i| list_at(obj.value(), &i.path).is_none());
    let patch = if all_new {
        let mut merge = json!({});
        for i in &todo {
            patch::ensure_list_item(&mut merge, &i.path, &i.item, i.item_key.as_deref());
        }
        merge
    } else {
        let mut ops = Vec::new();
        for i in &todo {
            let pointer = format!("/{}", i.path.replace('.', "/"));
            let entry = patch::list_entry(&i.item, i.item_key.as_deref());
            match list_at(&after, &i.path) {
                Some(current) => {
                    ops.push(json!({"op": "test", "path": pointer, "value": current}));
                    ops.push(json!({"op": "add", "path": format!("{pointer}/-"), "value": entry}));
                }
                None => {
                    // Add the list under its deepest existing parent.
                    let parts: Vec<&str> = i.path.split('.').collect();
                    let depth = (0..parts.len())
                        .take_while(|&n| list_at(&after, &parts[..=n].join(".")).is_some())
                        .count();
                    let mut value = json!([entry]);
                    for part in parts[depth + 1..].iter().rev() {
                        value = json!({ *part: value });
                    }
                    ops.push(json!({"op": "add", "path": format!("/{}", parts[..=depth].join("/")), "value": value}));
                }
            }
            // Later operations see the lists earlier ones created.
            patch::ensure_list_item(&mut after, &i.path, &i.item, i.item_key.as_deref());
        }
        Value::Array(ops)
    };
    for i in &todo {
        patch::ensure_list_item(&mut after, &i.path, &i.item, i.item_key.as_deref());
    }
    let first = items[0].path.split('.').next().unwrap_or("spec");
    let mut summary_line = with_prefix(
        todo.iter()
            .map(|i| format!("{} += {}", short(&i.path), i.item))
            .collect(),
    );
    summary_line.push_str(" (existing entries kept");
    for d in &done {
        summary_line.push_str("; ");
        summary_line.push_str(d);
    }
    summary_line.push(')');
    Assessed {
        patch: Some(patch),
        diff: Some(diff(
            &target.display(),
            &json!({first: obj.value().get(first)}),
            &json!({first: after.get(first)}),
        )),
        ..Assessed::new(Status::Pending, summary_line)
    }
}

fn cm_key(
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

fn patch_obj(target: &Target, merge: Option<&Value>, jp: Option<&Value>, observed: &Observed) -> Assessed {
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
fn merge_fields(v: &Value, prefix: &str, out: &mut Vec<String>) {
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

fn ensure_object(change: &Change, manifest: &Value, observed: &Observed) -> Assessed {
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

fn restart(pod: &Target, observed: &Observed) -> Assessed {
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
        Assessed::new(Status::Manual, format!("recreate {} yourself", pod.display())).because(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(objs: Vec<Value>) -> Observed {
        objs.into_iter()
            .map(|v| {
                let o = Object::from_value(v).unwrap();
                (o.key(), Some(Arc::new(o)))
            })
            .collect()
    }

    fn sa(pull: Value) -> Value {
        json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"builder","namespace":"apps"},"imagePullSecrets": pull})
    }

    fn t(kind: &str, ns: &str, name: &str) -> Target {
        Target {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: Some(ns.into()),
            name: name.into(),
        }
    }

    #[test]
    fn link_keeps_existing_entries() {
        let o = obs(vec![sa(json!([{"name": "builder-dockercfg-x7k2p"}]))]);
        let a = assess(
            &Change::LinkPullSecret {
                service_account: t("ServiceAccount", "apps", "builder"),
                secret: "pull-secret".into(),
            },
            &o,
            &Inputs::default(),
        );
        assert_eq!(a.status, Status::Pending);
        assert!(a.summary.contains("keeps builder-dockercfg-x7k2p"), "{}", a.summary);
        let ops = a.patch.unwrap();
        assert_eq!(ops[0]["op"], "test");
        assert_eq!(ops[1]["path"], "/imagePullSecrets/-");
        let o = obs(vec![sa(
            json!([{"name": "builder-dockercfg-x7k2p"}, {"name": "pull-secret"}]),
        )]);
        let a = assess(
            &Change::LinkPullSecret {
                service_account: t("ServiceAccount", "apps", "builder"),
                secret: "pull-secret".into(),
            },
            &o,
            &Inputs::default(),
        );
        assert_eq!(a.status, Status::Satisfied);
    }

    #[test]
    fn link_to_missing_service_account_is_blocked() {
        let a = assess(
            &Change::LinkPullSecret {
                service_account: t("ServiceAccount", "apps", "nope"),
                secret: "s".into(),
            },
            &Observed::new(),
            &Inputs::default(),
        );
        assert_eq!(a.status, Status::Blocked);
    }

    #[test]
    fn merge_auths_needs_input_then_checks_it() {
        use base64::Engine;
        let cfg = base64::engine::general_purpose::STANDARD.encode(r#"{"auths":{"quay.io":{"auth":"dTpQTEFOVEVE"}}}"#);
        let o = obs(vec![
            json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"pull-secret","namespace":"openshift-config"},
            "type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson": cfg}}),
        ]);
        let ch = Change::MergeDockerAuths {
            secret: t("Secret", "openshift-config", "pull-secret"),
            registry: "mirror:5000".into(),
            input: "registry_auth".into(),
        };
        let a = assess(&ch, &o, &Inputs::default());
        assert_eq!(a.status, Status::NeedsInput);
        assert_eq!(a.needs_input.unwrap().flag, "--set-file registry_auth=PATH");
        let mut inputs = Inputs::default();
        inputs.insert(
            "registry_auth",
            r#"{"auths":{"other:5000":{"auth":"eDp5"}}}"#,
            "auth.json",
        );
        assert_eq!(assess(&ch, &o, &inputs).status, Status::Blocked);
        inputs.insert(
            "registry_auth",
            r#"{"auths":{"mirror:5000":{"auth":"eDp5"}}}"#,
            "auth.json",
        );
        assert_eq!(assess(&ch, &o, &inputs).status, Status::Pending);
        let ch = Change::MergeDockerAuths {
            secret: t("Secret", "openshift-config", "pull-secret"),
            registry: "quay.io".into(),
            input: "registry_auth".into(),
        };
        assert_eq!(assess(&ch, &o, &Inputs::default()).status, Status::Satisfied);
    }

    #[test]
    fn list_items_and_allow_lists() {
        let img = json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"},"spec":{"registrySources":{"allowedRegistries":["quay.io"]}}});
        let o = obs(vec![img]);
        let target = Target {
            api_version: "config.openshift.io/v1".into(),
            kind: "Image".into(),
            namespace: None,
            name: "cluster".into(),
        };
        let add = |path: &str, only: bool| {
            assess(
                &Change::EnsureListItem {
                    target: target.clone(),
                    items: vec![ListItem {
                        path: path.into(),
                        item: "reg:5000".into(),
                        only_if_list_exists: only,
                        item_key: None,
                    }],
                },
                &o,
                &Inputs::default(),
            )
        };
        let a = add("spec.registrySources.allowedRegistries", true);
        assert_eq!(a.status, Status::Pending);
        let d = a.diff.unwrap();
        assert!(d.contains("+    - reg:5000") && d.contains(" - quay.io"), "{d}");
        assert_eq!(
            add("spec.registrySources.blockedRegistries", true).status,
            Status::Satisfied
        );
        let a = add("spec.registrySources.insecureRegistries", false);
        assert_eq!(a.status, Status::Pending);
        assert_eq!(
            a.patch.unwrap(),
            json!({"spec":{"registrySources":{"insecureRegistries":["reg:5000"]}}})
        );
    }

    #[test]
    fn list_items_that_are_objects() {
        let dep = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"apps"},
            "spec":{"template":{"spec":{"imagePullSecrets":[{"name":"quay"}]}}}});
        let o = obs(vec![dep]);
        let add = |item: &str| {
            assess(
                &Change::EnsureListItem {
                    target: Target {
                        api_version: "apps/v1".into(),
                        ..t("Deployment", "apps", "web")
                    },
                    items: vec![ListItem {
                        path: "spec.template.spec.imagePullSecrets".into(),
                        item: item.into(),
                        only_if_list_exists: false,
                        item_key: Some("name".into()),
                    }],
                },
                &o,
                &Inputs::default(),
            )
        };
        assert_eq!(add("quay").status, Status::Satisfied);
        let a = add("icr");
        assert_eq!(a.status, Status::Pending);
        let ops = a.patch.unwrap();
        assert_eq!(ops[0]["op"], "test", "the list is appended to, never replaced");
        assert_eq!(ops[1]["path"], "/spec/template/spec/imagePullSecrets/-");
        assert_eq!(ops[1]["value"], json!({"name": "icr"}));
    }

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

    fn image_target() -> Target {
        Target {
            api_version: "config.openshift.io/v1".into(),
            kind: "Image".into(),
            namespace: None,
            name: "cluster".into(),
        }
    }

    fn item(path: &str, only: bool) -> ListItem {
        ListItem {
            path: path.into(),
            item: "reg:5000".into(),
            only_if_list_exists: only,
            item_key: None,
        }
    }

    #[test]
    fn several_lists_of_one_object_change_in_one_guarded_patch() {
        // allowedRegistries exists (guarded by `test`), insecureRegistries does not (created).
        let img = json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"},"spec":{"registrySources":{"allowedRegistries":["quay.io"]}}});
        let o = obs(vec![img]);
        let ch = Change::EnsureListItem {
            target: image_target(),
            items: vec![
                item("spec.registrySources.insecureRegistries", false),
                item("spec.registrySources.allowedRegistries", true),
            ],
        };
        let a = assess(&ch, &o, &Inputs::default());
        assert_eq!(a.status, Status::Pending);
        assert_eq!(
            a.patch.unwrap(),
            json!([
                {"op": "add", "path": "/spec/registrySources/insecureRegistries", "value": ["reg:5000"]},
                {"op": "test", "path": "/spec/registrySources/allowedRegistries", "value": ["quay.io"]},
                {"op": "add", "path": "/spec/registrySources/allowedRegistries/-", "value": "reg:5000"}
            ])
        );
        assert_eq!(
            a.summary,
            "spec.registrySources: insecureRegistries += reg:5000, allowedRegistries += reg:5000 (existing entries kept)"
        );
        let d = a.diff.unwrap();
        assert!(
            d.contains("+    insecureRegistries:") && d.contains("     - quay.io"),
            "{d}"
        );
        // The patch applies to the object as it is.
        let mut v = o.values().next().unwrap().as_ref().unwrap().value().clone();
        let ops = assess(&ch, &o, &Inputs::default()).patch.unwrap();
        patch::json_patch(&mut v, &ops).unwrap();
        assert_eq!(
            v["spec"]["registrySources"]["allowedRegistries"],
            json!(["quay.io", "reg:5000"])
        );

        // Without registrySources at all, one merge patch creates both lists' parent.
        let bare =
            json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"},"spec":{}});
        let o = obs(vec![bare]);
        let a = assess(&ch, &o, &Inputs::default());
        assert_eq!(
            a.patch.unwrap(),
            json!({"spec":{"registrySources":{"insecureRegistries":["reg:5000"]}}}),
            "an allow-list that is not set is left unset"
        );
        assert!(a.summary.contains("allowedRegistries is not set"), "{}", a.summary);
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
