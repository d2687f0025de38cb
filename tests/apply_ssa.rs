//! Ensured objects go through server-side apply as field manager `remedy`, never forced: a
//! field another manager owns is a conflict, reported (who owns which field), and the action
//! fails with nothing written. No bundled rule ensures an object, so a rule here does.

mod common;
mod support;

use serde_json::{Value, json};
use support::fake_api::Builder;
use support::fake_api::http::{HttpFront, TOKEN};

const RULE: &str = r#"apiVersion: remedy.dev/v1alpha1
kind: Playbook
metadata: {name: ensure-mirror-config, title: The mirror settings are missing, category: other}
spec:
  match:
    message: { contains: zz-ssa-mirror }
  actions:
    - ensureObject:
        manifest:
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: mirror, namespace: "{{ failure.namespace }}"}
          data: {registry: "mirror.local:5000"}
"#;

fn front() -> HttpFront {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "apps", "uid": "u-web"},
        "spec": {"containers": [{"name": "c", "image": "quay.io/acme/web:1"}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "image": "quay.io/acme/web:1",
            "state": {"waiting": {"reason": "ErrImagePull", "message": "zz-ssa-mirror"}}}]}});
    HttpFront::start(Builder::default().objects([pod]).token(TOKEN))
}

/// Server-side apply of `body` by `manager`, as another tool would send it.
fn apply_as(f: &HttpFront, manager: &str, body: &Value) {
    let req = http::Request::patch(format!(
        "/api/v1/namespaces/apps/configmaps/mirror?fieldManager={manager}"
    ))
    .header("content-type", "application/apply-patch+yaml")
    .header("authorization", format!("Bearer {TOKEN}"))
    .body(kube::client::Body::from(serde_json::to_vec(body).unwrap()))
    .unwrap();
    // The client spawns its buffer task: made inside the front's runtime.
    let resp = f.block_on(async { f.api.client().send(req).await }).unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

/// `remedy apply --yes` with the rule above only: the run, and its report.
fn apply(f: &HttpFront) -> (common::Run, Value) {
    let rules = f.dir().join("rule.yaml");
    std::fs::write(&rules, RULE).unwrap();
    let report = f.dir().join("report.json");
    let r = common::remedy(&[
        "apply",
        "--kubeconfig",
        &f.kubeconfig().display().to_string(),
        "--no-bundled",
        "--rules",
        &rules.display().to_string(),
        "--yes",
        "--report",
        &report.display().to_string(),
        "--backup-dir",
        &f.dir().join("b").display().to_string(),
    ]);
    let rep = serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_default()).unwrap_or(Value::Null);
    (r, rep)
}

#[test]
fn a_field_another_manager_owns_fails_the_action_names_the_owner_and_writes_nothing() {
    let f = front();
    let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "mirror", "namespace": "apps"}, "data": {"registry": "other.local:5000"}});
    apply_as(&f, "platform-team", &theirs);
    f.api.clear_log();
    let (r, rep) = apply(&f);
    assert_eq!(r.code, 4, "failed: {}\n{}", r.stdout, r.stderr);
    let a = &rep["actions"][0];
    assert_eq!(
        (&a["type"], &a["result"]),
        (&json!("ensureObject"), &json!("failed")),
        "{a}"
    );
    let error = a["error"].as_str().unwrap();
    assert!(
        error.contains(".data.registry owned by \"platform-team\"") && error.contains("never forced"),
        "{error}"
    );
    assert!(r.stdout.contains("platform-team"), "{}", r.stdout);
    // One apply sent, as `remedy`, without force; refused; not retried.
    let writes: Vec<_> = f.api.log().into_iter().filter(|l| l.is_write()).collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].status, 409);
    assert_eq!(writes[0].param("fieldManager").as_deref(), Some("remedy"));
    assert_eq!(writes[0].param("force"), None);
    // Nothing changed: their value, and no annotation of remedy's.
    let now = f
        .block_on(f.api.get("v1", "ConfigMap", Some("apps"), "mirror"))
        .unwrap();
    assert_eq!(now["data"], theirs["data"]);
    assert!(
        now.pointer("/metadata/annotations/remedy.dev~1last-applied").is_none(),
        "{now}"
    );
    assert_eq!(rep["summary"]["writes"], 1);
}

#[test]
fn without_another_owner_the_same_apply_creates_the_object() {
    let f = front();
    let (r, _) = apply(&f);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let now = f
        .block_on(f.api.get("v1", "ConfigMap", Some("apps"), "mirror"))
        .unwrap();
    assert_eq!(now["data"]["registry"], "mirror.local:5000");
    let managers: Vec<&str> = now["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["remedy"]);
}
