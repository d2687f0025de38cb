//! `apply --wait` against the test API with its simulated ReplicaSet controller: the restarted
//! pod's replacement pulls (`fixed`, exit 2) or fails again with a new message (`still
//! failing`, exit 3), as docs/exit-codes.md says.

mod common;
mod support;

use serde_json::{Value, json};
use support::fake_api::Builder;
use support::fake_api::controller::Replacement;
use support::fake_api::http::{HttpFront, TOKEN};

const RULE: &str = r#"apiVersion: remedy.dev/v1alpha1
kind: Playbook
metadata: {name: restart-to-retry, title: The pod must pull again, category: other}
spec:
  match:
    message: { contains: zz-wait-retry }
  actions:
    - restartPod: { pod: "{{ failure.namespace }}/{{ failure.pod }}" }
"#;

fn front(how: Replacement) -> HttpFront {
    let owner = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9c", "uid": "rs-uid-1", "controller": true}]);
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-5d9c", "namespace": "apps", "uid": "rs-uid-1"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "quay.io/acme/web:1"}]}}}});
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-5d9c-abcde", "namespace": "apps", "uid": "pod-uid-1", "labels": {"app": "web"}, "ownerReferences": owner},
        "spec": {"containers": [{"name": "c", "image": "quay.io/acme/web:1"}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "image": "quay.io/acme/web:1",
            "state": {"waiting": {"reason": "ErrImagePull", "message": "zz-wait-retry"}}}]}});
    let f = HttpFront::start(Builder::default().objects([rs, pod]).token(TOKEN));
    f.api.simulate_replica_sets(Some(how));
    f
}

fn apply_wait(f: &HttpFront, wait: &str) -> (common::Run, Value) {
    let rule = f.dir().join("rule.yaml");
    std::fs::write(&rule, RULE).unwrap();
    let report = f.dir().join("report.json");
    let r = common::remedy(&[
        "apply",
        "--kubeconfig",
        &f.kubeconfig().display().to_string(),
        "--no-bundled",
        "--rules",
        &rule.display().to_string(),
        "--yes",
        &format!("--wait={wait}"),
        "--report",
        &report.display().to_string(),
        "--backup-dir",
        &f.dir().join("b").display().to_string(),
    ]);
    let rep = serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_default()).unwrap_or(Value::Null);
    (r, rep)
}

#[test]
fn a_replacement_that_pulls_is_reported_fixed_and_apply_exits_2() {
    let f = front(Replacement::Pulls);
    let (r, rep) = apply_wait(&f, "30s");
    assert_eq!(r.code, 2, "applied and verified: {}\n{}", r.stdout, r.stderr);
    assert_eq!(rep["actions"][0]["result"], "applied", "{rep}");
    assert_eq!(rep["findings"][0]["verification"], "fixed", "{rep}");
    assert_eq!(rep["exitCode"], 2);
    assert!(r.stdout.contains("fixed"), "{}", r.stdout);
    // The old pod is gone; its replacement, from the same ReplicaSet, runs.
    let pods = f.block_on(f.api.objects("v1", "Pod"));
    assert_eq!(pods.len(), 1, "{pods:?}");
    assert_eq!(pods[0]["metadata"]["ownerReferences"][0]["uid"], "rs-uid-1");
    assert_ne!(pods[0]["metadata"]["uid"], "pod-uid-1");
}

#[test]
fn a_replacement_that_fails_again_is_still_failing_with_the_new_message_and_apply_exits_3() {
    let next = "x509: certificate signed by unknown authority";
    let f = front(Replacement::Fails(next.into()));
    // The replacement never pulls: verification runs to the end of this (short) wait.
    let (r, rep) = apply_wait(&f, "3s");
    assert_eq!(r.code, 3, "applied, not verified: {}\n{}", r.stdout, r.stderr);
    assert_eq!(rep["actions"][0]["result"], "applied", "{rep}");
    let v = &rep["findings"][0];
    assert_eq!(v["verification"], "still-failing", "{rep}");
    assert_eq!(v["message"], next, "the new message names the next cause");
    assert_eq!(rep["exitCode"], 3);
    assert!(
        r.stdout.contains("still failing") && r.stdout.contains(&format!("restart-to-retry: {next}")),
        "{}",
        r.stdout
    );
}

#[test]
fn without_the_controller_nothing_comes_back_and_verification_is_unknown() {
    let f = front(Replacement::Pulls);
    f.api.simulate_replica_sets(None);
    let (r, rep) = apply_wait(&f, "3s");
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(rep["findings"][0]["verification"], "unknown", "{rep}");
}
