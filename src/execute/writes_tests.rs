use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::cluster::Object;
use crate::desired::{Change, ListItem, Target};
use crate::inputs::Inputs;
use crate::plan::Status;
use crate::plan::status::{Observed, assess};

fn obs(objs: Vec<Value>) -> Observed {
    objs.into_iter()
        .map(|v| {
            let o = Object::from_value(v).unwrap();
            (o.key(), Some(Arc::new(o)))
        })
        .collect()
}

fn t(kind: &str, ns: &str, name: &str) -> Target {
    Target {
        api_version: "v1".into(),
        kind: kind.into(),
        namespace: Some(ns.into()),
        name: name.into(),
    }
}

fn stamp() -> Stamp {
    Stamp {
        rule: "r".into(),
        action: "a1".into(),
        time: "2026-01-01T00:00:00Z".into(),
    }
}

fn sa(pull: Option<Value>) -> Value {
    let mut v = json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"b","namespace":"apps","uid":"u1","resourceVersion":"3"}});
    if let Some(p) = pull {
        v["imagePullSecrets"] = p;
    }
    v
}

fn link() -> Change {
    Change::LinkPullSecret {
        service_account: t("ServiceAccount", "apps", "b"),
        secret: "pull".into(),
    }
}

fn ops(w: &[Write]) -> &Value {
    match &w[0] {
        Write::JsonPatch { ops, .. } => ops,
        other => panic!("{other:?}"),
    }
}

#[test]
fn link_to_an_absent_list_adds_a_one_item_list() {
    let o = obs(vec![sa(None)]);
    let w = writes(&link(), &o, &Inputs::default(), &stamp()).unwrap();
    assert_eq!(
        ops(&w),
        &json!([
            {"op": "test", "path": "/metadata/uid", "value": "u1"},
            {"op": "add", "path": "/metadata/annotations", "value": {ANNOTATION: stamp().value()}},
            {"op": "add", "path": "/imagePullSecrets", "value": [{"name": "pull"}]}
        ])
    );
    let after = simulate(&w[0], Some(o.values().next().unwrap().as_ref().unwrap().value()))
        .unwrap()
        .unwrap();
    let obj = Object::from_value(after).unwrap();
    let mut now = Observed::new();
    now.insert(obj.key(), Some(Arc::new(obj)));
    assert_eq!(assess(&link(), &now, &Inputs::default()).status, Status::Satisfied);
}

#[test]
fn link_appends_behind_a_test_of_the_exact_list() {
    let o = obs(vec![sa(Some(json!([{"name": "x"}])))]);
    let w = writes(&link(), &o, &Inputs::default(), &stamp()).unwrap();
    let ops = ops(&w).as_array().unwrap();
    assert_eq!(
        ops[2],
        json!({"op": "test", "path": "/imagePullSecrets", "value": [{"name": "x"}]})
    );
    assert_eq!(
        ops[3],
        json!({"op": "add", "path": "/imagePullSecrets/-", "value": {"name": "pull"}})
    );
    // A concurrent edit (another entry added after the read) makes the patch fail, not vanish.
    let edited = sa(Some(json!([{"name": "x"}, {"name": "other"}])));
    assert!(simulate(&w[0], Some(&edited)).is_err());
    // A replacement object (another uid) fails it too.
    let mut replaced = sa(Some(json!([{"name": "x"}])));
    replaced["metadata"]["uid"] = json!("u2");
    assert!(simulate(&w[0], Some(&replaced)).is_err());
}

#[test]
fn the_annotation_is_added_beside_existing_ones() {
    let mut v = sa(None);
    v["metadata"]["annotations"] = json!({"keep": "me"});
    let o = obs(vec![v.clone()]);
    let w = writes(&link(), &o, &Inputs::default(), &stamp()).unwrap();
    let after = simulate(&w[0], Some(&v)).unwrap().unwrap();
    assert_eq!(after["metadata"]["annotations"]["keep"], "me");
    let stamp_value: Value =
        serde_json::from_str(after["metadata"]["annotations"][ANNOTATION].as_str().unwrap()).unwrap();
    assert_eq!(
        stamp_value,
        json!({"rule": "r", "action": "a1", "time": "2026-01-01T00:00:00Z"})
    );
}

fn pull_secret(ns: &str, name: &str, auths: Value) -> Value {
    use base64::Engine;
    let cfg = base64::engine::general_purpose::STANDARD.encode(json!({"auths": auths}).to_string());
    json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":name,"namespace":ns,"uid":format!("uid-{name}"),"resourceVersion":"1"},
        "type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson": cfg}})
}

#[test]
fn copy_secret_creates_by_server_side_apply_and_merges_into_an_existing_one() {
    let copy = Change::CopySecret {
        from: t("Secret", "openshift-config", "pull-secret"),
        to: t("Secret", "apps", "pull-secret"),
    };
    let src = pull_secret(
        "openshift-config",
        "pull-secret",
        json!({"quay.io": {"auth": "dTpQTEFOVEVE"}}),
    );
    let o = obs(vec![src.clone()]);
    let w = writes(&copy, &o, &Inputs::default(), &stamp()).unwrap();
    let Write::Apply { body, .. } = &w[0] else {
        panic!("{w:?}")
    };
    assert_eq!(body["data"], src["data"]);
    assert_eq!(body["metadata"]["namespace"], "apps");
    assert!(
        body["metadata"]["annotations"][ANNOTATION]
            .as_str()
            .unwrap()
            .contains("\"rule\":\"r\"")
    );
    assert!(
        body["metadata"].get("uid").is_none(),
        "nothing copied from the source's metadata"
    );

    let dst = pull_secret("apps", "pull-secret", json!({"other.io": {"auth": "eDp5"}}));
    let o = obs(vec![src, dst.clone()]);
    let w = writes(&copy, &o, &Inputs::default(), &stamp()).unwrap();
    let after = simulate(&w[0], Some(&dst)).unwrap().unwrap();
    let obj = Object::from_value(after).unwrap();
    let regs = crate::probe::summary::docker_config(&obj).unwrap().registries();
    assert_eq!(regs, ["other.io", "quay.io"], "existing entries kept");
    // The exact current value is tested: a concurrent rewrite fails the patch.
    let other = pull_secret("apps", "pull-secret", json!({"third.io": {"auth": "eDp5"}}));
    assert!(simulate(&w[0], Some(&other)).is_err());
}

#[test]
fn merge_auths_adds_only_the_named_registry_from_the_input() {
    let ch = Change::MergeDockerAuths {
        secret: t("Secret", "openshift-config", "pull-secret"),
        registry: "mirror:5000".into(),
        input: "registry_auth".into(),
    };
    let s = pull_secret(
        "openshift-config",
        "pull-secret",
        json!({"quay.io": {"auth": "dTpQTEFOVEVE"}}),
    );
    let o = obs(vec![s.clone()]);
    let mut inputs = Inputs::default();
    inputs.insert(
        "registry_auth",
        r#"{"auths":{"mirror:5000":{"auth":"eDp5"},"unrelated.io":{"auth":"eDp5"}}}"#,
        "auth.json",
    );
    let w = writes(&ch, &o, &inputs, &stamp()).unwrap();
    let after = simulate(&w[0], Some(&s)).unwrap().unwrap();
    let regs = crate::probe::summary::docker_config(&Object::from_value(after).unwrap())
        .unwrap()
        .registries();
    assert_eq!(regs, ["mirror:5000", "quay.io"]);
    assert!(
        !format!("{w:?}").contains("eDp5"),
        "the value is base64 inside the whole config only"
    );
}

#[test]
fn list_items_create_missing_parents_and_guard_existing_lists() {
    let img = json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster","uid":"i1"},"spec":{"registrySources":{"allowedRegistries":["quay.io"]}}});
    let target = Target {
        api_version: "config.openshift.io/v1".into(),
        kind: "Image".into(),
        namespace: None,
        name: "cluster".into(),
    };
    let item = |path: &str, only: bool| ListItem {
        path: path.into(),
        item: "reg:5000".into(),
        only_if_list_exists: only,
        item_key: None,
    };
    let ch = Change::EnsureListItem {
        target,
        items: vec![
            item("spec.registrySources.insecureRegistries", false),
            item("spec.registrySources.allowedRegistries", true),
            item("spec.registrySources.blockedRegistries", true),
        ],
    };
    let o = obs(vec![img.clone()]);
    let w = writes(&ch, &o, &Inputs::default(), &stamp()).unwrap();
    let after = simulate(&w[0], Some(&img)).unwrap().unwrap();
    assert_eq!(
        after["spec"]["registrySources"],
        json!({"allowedRegistries": ["quay.io", "reg:5000"], "insecureRegistries": ["reg:5000"]})
    );
    // Nothing at all under spec: one add of the whole branch.
    let bare = json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster","uid":"i1"}});
    let o = obs(vec![bare.clone()]);
    let w = writes(&ch, &o, &Inputs::default(), &stamp()).unwrap();
    assert_eq!(
        ops(&w)[2],
        json!({"op": "add", "path": "/spec", "value": {"registrySources": {"insecureRegistries": ["reg:5000"]}}})
    );
    simulate(&w[0], Some(&bare)).unwrap();
}

#[test]
fn config_map_keys_are_set_behind_a_test_of_the_data() {
    let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cas","namespace":"openshift-config","uid":"c1"},"data":{"reg":"PEM","other":"PEM2"}});
    let ch = Change::SetConfigMapKey {
        config_map: t("ConfigMap", "openshift-config", "cas"),
        key: "reg..5000".into(),
        input: "ca_file".into(),
        remove_keys: vec!["reg".into()],
        copy_from: Some("reg".into()),
    };
    let o = obs(vec![cm.clone()]);
    let w = writes(&ch, &o, &Inputs::default(), &stamp()).unwrap();
    let after = simulate(&w[0], Some(&cm)).unwrap().unwrap();
    assert_eq!(after["data"], json!({"other": "PEM2", "reg..5000": "PEM"}));
    let mut changed = cm.clone();
    changed["data"]["new"] = json!("x");
    assert!(
        simulate(&w[0], Some(&changed)).is_err(),
        "a concurrent key is never dropped"
    );
    // No ConfigMap: created from the input.
    let mut inputs = Inputs::default();
    inputs.insert("ca_file", "-----BEGIN CERTIFICATE-----", "ca.pem");
    let w = writes(&ch, &Observed::new(), &inputs, &stamp()).unwrap();
    let Write::Apply { body, .. } = &w[0] else { panic!() };
    assert_eq!(body["data"]["reg..5000"], "-----BEGIN CERTIFICATE-----");
}

#[test]
fn merge_patches_carry_uid_and_resource_version() {
    let img = json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster","uid":"i1","resourceVersion":"9"},"spec":{}});
    let ch = Change::Patch {
        target: Target {
            api_version: "config.openshift.io/v1".into(),
            kind: "Image".into(),
            namespace: None,
            name: "cluster".into(),
        },
        merge_patch: Some(json!({"spec": {"additionalTrustedCA": {"name": "cas"}}})),
        json_patch: None,
    };
    let w = writes(&ch, &obs(vec![img]), &Inputs::default(), &stamp()).unwrap();
    let Write::MergePatch { body, .. } = &w[0] else {
        panic!()
    };
    assert_eq!(body["metadata"]["uid"], "i1");
    assert_eq!(body["metadata"]["resourceVersion"], "9");
    assert_eq!(body["spec"]["additionalTrustedCA"]["name"], "cas");
}

#[test]
fn restarts_delete_with_the_pods_uid() {
    let pod = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"apps","uid":"p1"}});
    let ch = Change::RestartPod {
        pod: t("Pod", "apps", "p"),
    };
    let w = writes(&ch, &obs(vec![pod]), &Inputs::default(), &stamp()).unwrap();
    assert_eq!(
        w,
        [Write::Delete {
            target: t("Pod", "apps", "p"),
            uid: "p1".into()
        }]
    );
    assert!(writes(&ch, &Observed::new(), &Inputs::default(), &stamp()).is_err());
}

#[test]
fn ensured_objects_are_applied_with_the_annotation() {
    let ch = Change::EnsureObject {
        manifest: json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"a"},"data":{"k":"v"}}),
    };
    let w = writes(&ch, &Observed::new(), &Inputs::default(), &stamp()).unwrap();
    let Write::Apply { body, target } = &w[0] else { panic!() };
    assert_eq!(target.display(), "ConfigMap a/x");
    assert_eq!(body["data"]["k"], "v");
    assert!(body["metadata"]["annotations"][ANNOTATION].is_string());
}
