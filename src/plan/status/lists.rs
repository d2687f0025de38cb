//! Items that must be in lists of one object, changed in one guarded patch.

use serde_json::{Value, json};

use super::{Assessed, Observed, diff, get};
use crate::desired::{ListItem, Target};
use crate::plan::patch;
use crate::plan::types::Status;

pub(super) fn list_at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(obj, |v, p| v.get(p))
}

/// The common dotted prefix of several paths (`spec.registrySources`), if any.
pub(super) fn common_prefix(paths: &[&str]) -> Option<String> {
    let split: Vec<Vec<&str>> = paths.iter().map(|p| p.split('.').collect()).collect();
    let first = split.first()?;
    let n = (0..first.len().saturating_sub(1))
        .take_while(|&i| split.iter().all(|s| s.len() > i + 1 && s[i] == first[i]))
        .count();
    (n > 0).then(|| first[..n].join("."))
}

pub(super) fn list_item(target: &Target, items: &[ListItem], observed: &Observed) -> Assessed {
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

#[cfg(test)]
mod tests {
    use super::super::testutil::{obs, t};
    use super::*;
    use crate::desired::Change;
    use crate::inputs::Inputs;
    use crate::plan::status::assess;

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
}
