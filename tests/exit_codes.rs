//! The exit code of `remedy plan` (docs/exit-codes.md), on the cases the seed examples do not
//! reach: a finding whose fixes are all in place, a diagnosis-only finding, a rule that fails
//! while it is evaluated.

mod common;
use common::*;

/// A pod failing with a made-up message only these rules know, and a ConfigMap that exists.
const SNAPSHOT: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: web-1, namespace: apps, uid: u1,
             ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: r1, controller: true}]}
  spec: {containers: [{name: web, image: "quay.io/acme/web:1"}]}
  status:
    containerStatuses:
    - name: web
      image: quay.io/acme/web:1
      state: {waiting: {reason: ErrImagePull, message: "zz-exit-test failure"}}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: marker, namespace: apps}
  data: {present: "yes"}
"#;

fn playbook(actions: &str) -> String {
    format!(
        "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {{name: exit-test, title: t, category: other}}\n\
         spec:\n  match:\n    message: {{ contains: zz-exit-test }}\n{actions}"
    )
}

fn plan_exit(rule: &str) -> (i32, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("snap.yaml"), SNAPSHOT).unwrap();
    std::fs::write(dir.path().join("rule.yaml"), rule).unwrap();
    let snap = dir.path().join("snap.yaml").display().to_string();
    let rules = dir.path().join("rule.yaml").display().to_string();
    let r = remedy(&[
        "plan",
        "--snapshot",
        &snap,
        "--rules",
        &rules,
        "--no-bundled",
        "-o",
        "json",
    ]);
    assert_ne!(r.code, 1, "{}", r.stderr);
    (r.code, serde_json::from_str(&r.stdout).unwrap())
}

#[test]
fn every_fix_already_in_place_is_nothing_to_do() {
    let (code, plan) = plan_exit(&playbook(
        "  actions:\n    - ensureObject:\n        manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: marker, namespace: apps}, data: {present: \"yes\"}}\n",
    ));
    assert_eq!(plan["findings"].as_array().unwrap().len(), 1);
    assert_eq!(plan["actions"][0]["status"], "satisfied");
    assert_eq!(code, 0);
}

#[test]
fn a_fix_still_to_make_is_pending() {
    let (code, plan) = plan_exit(&playbook(
        "  actions:\n    - ensureObject:\n        manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: marker, namespace: apps}, data: {present: \"no\"}}\n",
    ));
    assert_eq!(plan["actions"][0]["status"], "pending");
    assert_eq!(code, 2);
}

#[test]
fn a_diagnosis_only_finding_needs_a_person() {
    let (code, plan) = plan_exit(&playbook(""));
    assert_eq!(plan["findings"].as_array().unwrap().len(), 1);
    assert!(plan["actions"].as_array().unwrap().is_empty());
    assert_eq!(code, 3);
}

#[test]
fn a_rule_that_fails_while_evaluated_needs_a_person() {
    // `owner` takes `namespace/name`; `failure.pod` renders only the name, which is well-formed
    // at load but fails when the probe runs on this failure.
    let (code, plan) = plan_exit(&playbook(
        "  probes:\n    - name: owner\n      owner: { pod: \"{{ failure.pod }}\" }\n  actions:\n    - ensureObject:\n        manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: marker, namespace: apps}, data: {present: \"yes\"}}\n",
    ));
    assert!(
        !plan["errors"].as_array().unwrap().is_empty(),
        "the probe's bad reference is a rule error: {:#}",
        plan["errors"]
    );
    assert_eq!(code, 3);
}
