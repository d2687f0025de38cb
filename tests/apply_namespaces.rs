//! `-n` on `remedy apply`, and namespace-scoped rights: the real binary over HTTP against a
//! test API holding the seed-004 failure twice, in `openshift-marketplace` and in a copy,
//! `other-market`; writes are counted per namespace from the API's request log.

mod common;
mod support;

use serde_json::{Value, json};
use support::fake_api::http::{HttpFront, TOKEN};
use support::fake_api::{Builder, Fault, Logged};

const A: &str = "openshift-marketplace";
const B: &str = "other-market";

/// A copy of an object in namespace `B`: every mention of `A` renamed, every uid made unique.
fn copied(v: &Value) -> Value {
    match v {
        Value::String(s) => json!(s.replace(A, B)),
        Value::Array(a) => Value::Array(a.iter().map(copied).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("uid", Value::String(u)) => (k.clone(), json!(format!("{u}-copy"))),
                    _ => (k.clone(), copied(v)),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn front() -> HttpFront {
    let mut objects = support::fake_api::seed::load(&common::root().join("examples/seed-004-marketplace")).unwrap();
    let copies: Vec<Value> = objects
        .iter()
        .filter(|o| o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(A))
        .map(copied)
        .collect();
    assert!(copies.len() > 10, "the failure is copied whole");
    objects.extend(copies);
    HttpFront::start(Builder::default().objects(objects).token(TOKEN).openshift())
}

fn k(f: &HttpFront) -> String {
    f.kubeconfig().display().to_string()
}

/// `remedy apply --yes` with `extra` (a saved plan, flags), backups under the front's directory.
fn apply(f: &HttpFront, extra: &[&str]) -> common::Run {
    let (kc, backups) = (k(f), f.dir().join("b").display().to_string());
    let mut args = vec!["apply", "--kubeconfig", &kc, "--yes", "--backup-dir", &backups];
    args.extend_from_slice(extra);
    common::remedy(&args)
}

/// Writes (dry runs included) into namespace `ns`.
fn writes_in(log: &[Logged], ns: &str) -> usize {
    let part = format!("/namespaces/{ns}/");
    log.iter().filter(|l| l.is_write() && l.path.contains(&part)).count()
}

fn writes(log: &[Logged]) -> usize {
    log.iter().filter(|l| l.is_write()).count()
}

#[test]
fn a_fresh_apply_with_n_writes_only_into_that_namespace() {
    let f = front();
    let r = common::remedy(&["plan", "--kubeconfig", &k(&f), "-o", "json"]);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["summary"]["pending"], 18, "9 actions per namespace: {}", r.stdout);

    f.api.clear_log();
    let r = apply(&f, &["-n", B]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let log = f.api.log();
    assert_eq!(writes_in(&log, B), 9, "{log:?}");
    assert_eq!(writes(&log), 9, "nothing written elsewhere: {log:?}");
    assert!(r.stdout.contains("9 actions: 9 applied"), "{}", r.stdout);

    // The other namespace is still to fix, and only it.
    f.api.clear_log();
    let r = apply(&f, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let log = f.api.log();
    assert_eq!((writes_in(&log, A), writes(&log)), (9, 9), "{log:?}");
    f.api.clear_log();
    let r = apply(&f, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(f.api.writes(), 0);
}

#[test]
fn a_saved_plan_applied_with_n_runs_only_the_actions_of_that_namespace() {
    let f = front();
    let plan = f.dir().join("plan.json").display().to_string();
    let r = common::remedy(&["plan", "--kubeconfig", &k(&f), "-o", "json", "--out", &plan]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    f.api.clear_log();
    let report = f.dir().join("report.json").display().to_string();
    let r = apply(&f, &[&plan, "-n", A, "--report", &report]);
    // The other namespace's actions are skipped (not selected): a partial apply.
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let log = f.api.log();
    assert_eq!((writes_in(&log, A), writes(&log)), (9, 9), "{log:?}");
    let rep: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(rep["summary"]["applied"], 9);
    assert_eq!(rep["summary"]["skipped"], 9);
    for a in rep["actions"].as_array().unwrap() {
        let ns = a["target"]["namespace"].as_str().unwrap();
        let want = if ns == A { "applied" } else { "skipped" };
        assert_eq!(a["result"], want, "{a}");
        if ns == B {
            assert!(a["reason"].as_str().unwrap().starts_with("not selected"), "{a}");
        }
    }
}

#[test]
fn an_empty_namespace_name_is_refused_before_anything_is_read() {
    let f = front();
    f.api.clear_log();
    let r = apply(&f, &["-n", ""]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--namespace"), "{}", r.stderr);
    assert!(f.api.log().is_empty());
}

/// Lists of `resource` (`pods`, `events`): (path, status) in order.
fn lists(log: &[Logged], resource: &str) -> Vec<(String, u16)> {
    log.iter()
        .filter(|l| l.verb == "list" && l.path.ends_with(&format!("/{resource}")))
        .map(|l| (l.path.clone(), l.status))
        .collect()
}

/// A user with rights in some namespaces only: the cluster-wide lists of pods and events
/// answer 403.
fn namespace_scoped_rights(f: &HttpFront) {
    f.api.fault(Fault::on("GET", "/api/v1/pods").status(403).always());
    f.api.fault(Fault::on("GET", "/api/v1/events").status(403).always());
}

#[test]
fn with_n_a_forbidden_cluster_wide_list_is_read_per_requested_namespace() {
    let f = front();
    namespace_scoped_rights(&f);
    f.api.clear_log();
    let r = common::remedy(&["plan", "--kubeconfig", &k(&f), "-n", A, "-o", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["summary"]["pending"], 9, "{}", r.stdout);
    let log = f.api.log();
    for resource in ["pods", "events"] {
        assert_eq!(
            lists(&log, resource),
            [
                (format!("/api/v1/{resource}"), 403),
                (format!("/api/v1/namespaces/{A}/{resource}"), 200)
            ],
            "one cluster-wide try, then exactly the requested namespace"
        );
    }
    // Apply works the same way with those rights.
    f.api.clear_log();
    let r = apply(&f, &["-n", A]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let log = f.api.log();
    assert_eq!((writes_in(&log, A), writes(&log)), (9, 9), "{log:?}");
    assert!(lists(&log, "pods").iter().all(|(p, _)| !p.contains(B)), "{log:?}");
}

#[test]
fn without_n_a_forbidden_cluster_wide_list_is_an_error_that_suggests_n() {
    let f = front();
    namespace_scoped_rights(&f);
    f.api.clear_log();
    let r = common::remedy(&["plan", "--kubeconfig", &k(&f)]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {}", r.stderr);
    assert!(
        r.stderr
            .contains("reading pods failed: the cluster-wide list is forbidden")
            && r.stderr.contains("-n NAMESPACE"),
        "{}",
        r.stderr
    );
    // A 403 is an answer, not a transient failure: asked once, never per namespace.
    assert_eq!(lists(&f.api.log(), "pods"), [("/api/v1/pods".to_string(), 403)]);
    let r = apply(&f, &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("-n NAMESPACE"), "{}", r.stderr);
    assert_eq!(f.api.writes(), 0);
}

#[test]
fn without_n_a_forbidden_event_list_names_the_events() {
    let f = front();
    f.api.fault(Fault::on("GET", "/api/v1/events").status(403).always());
    let r = common::remedy(&["plan", "--kubeconfig", &k(&f)]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("reading events failed: the cluster-wide list is forbidden")
            && r.stderr.contains("-n NAMESPACE"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_plan_saved_with_n_is_applied_within_the_same_scope_and_is_not_stale() {
    let f = front();
    let plan = f.dir().join("plan.json").display().to_string();
    let r = common::remedy(&["plan", "--kubeconfig", &k(&f), "-n", B, "-o", "json", "--out", &plan]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(saved["source"]["scope"], json!({"namespaces": [B]}));
    f.api.clear_log();
    let r = apply(&f, &[&plan]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let log = f.api.log();
    assert_eq!((writes_in(&log, B), writes(&log)), (9, 9), "{log:?}");
    // Applied, the plan is stale now; the way to re-plan keeps its scope.
    let r = apply(&f, &[&plan]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(&format!("re-plan: remedy plan -n {B} -o json --out {plan}")),
        "{}",
        r.stderr
    );
}
