//! The real binary against the test API over HTTP, as a user runs it:
//! `remedy plan --kubeconfig FILE`.

mod common;
mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use support::fake_api::http::HttpFront;
use support::fake_api::{Builder, FakeApi, Fault};

fn examples() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(common::root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

use support::front_for;

fn plan_json(args: &[&str]) -> (i32, Value, String) {
    let r = common::remedy(args);
    let v = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
    (r.code, v, r.stderr)
}

/// The plan without what names its source.
fn comparable(mut plan: Value) -> Value {
    plan.as_object_mut().unwrap().remove("source");
    plan
}

#[test]
fn every_example_plans_the_same_live_as_from_a_snapshot_of_the_same_objects() {
    for example in examples() {
        let name = example.file_name().unwrap().to_string_lossy().into_owned();
        let front = front_for(&example);
        let kubeconfig = front.kubeconfig().display().to_string();
        let (code_live, live, stderr) = plan_json(&["plan", "--kubeconfig", &kubeconfig, "-o", "json"]);
        assert!(live.is_object(), "{name}: no plan: {stderr}");
        assert_eq!(live["source"]["kind"], "live", "{name}");
        assert_eq!(
            live["source"]["name"],
            json!(format!("fake ({})", front.url())),
            "{name}"
        );
        assert_eq!(live["source"]["context"], "fake", "{name}");
        assert_eq!(live["source"]["server"], json!(front.url()), "{name}");

        // The same objects, as the store holds them, written as a snapshot.
        let dump = support::dump_state(&front);
        let (code_snap, snap, stderr) = plan_json(&["plan", "--snapshot", &dump.display().to_string(), "-o", "json"]);
        assert!(snap.is_object(), "{name}: no snapshot plan: {stderr}");

        let mut live_cmp = comparable(live.clone());
        let mut snap_cmp = comparable(snap);
        // Rules skipped because the cluster lacks their APIs are not evaluated live; from the
        // snapshot they are evaluated (a snapshot cannot tell an absent API) and must come to
        // nothing: no finding of theirs, at most a ruled-out candidate.
        let skipped: Vec<String> = live["rules"]["skipped"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["rule"].as_str().unwrap().to_string())
            .collect();
        live_cmp["rules"].as_object_mut().unwrap().remove("skipped");
        for f in snap_cmp["findings"].as_array_mut().unwrap() {
            assert!(
                !skipped.contains(&f["rule"].as_str().unwrap().to_string()),
                "{name}: a skipped rule has a finding"
            );
            f["candidates"]
                .as_array_mut()
                .unwrap()
                .retain(|c| !skipped.contains(&c["rule"].as_str().unwrap().to_string()));
        }
        assert_eq!(
            live_cmp, snap_cmp,
            "{name}: the live plan differs from the snapshot plan"
        );
        assert_eq!(code_live, code_snap, "{name}");
        if !name.starts_with("healthy") {
            assert!(!live["findings"].as_array().unwrap().is_empty(), "{name}: no findings");
        }
    }
}

#[test]
fn the_live_plan_finds_what_the_example_snapshot_finds() {
    for example in examples() {
        let name = example.file_name().unwrap().to_string_lossy().into_owned();
        let front = front_for(&example);
        let (_, live, _) = plan_json(&[
            "plan",
            "--kubeconfig",
            &front.kubeconfig().display().to_string(),
            "-o",
            "json",
        ]);
        let (_, snap, _) = plan_json(&["plan", "--snapshot", &example.display().to_string(), "-o", "json"]);
        let key = |p: &Value| -> Vec<(Value, Value)> {
            p["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| (f["rule"].clone(), f["subjects"].clone()))
                .collect()
        };
        assert_eq!(key(&live), key(&snap), "{name}: findings");
        let actions = |p: &Value| -> Vec<(Value, Value, Value)> {
            p["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| (a["type"].clone(), a["status"].clone(), a["target"].clone()))
                .collect()
        };
        assert_eq!(actions(&live), actions(&snap), "{name}: actions");
    }
}

#[test]
fn a_live_plan_lists_each_kind_once_in_pages_and_never_per_namespace() {
    let example = common::root().join("examples/seed-004-marketplace");
    let front = front_for(&example);
    let (code, plan, stderr) = plan_json(&[
        "plan",
        "--kubeconfig",
        &front.kubeconfig().display().to_string(),
        "-o",
        "json",
    ]);
    assert!(plan.is_object(), "{stderr}");
    assert_ne!(code, 1);
    let log = front.api.log();
    let lists: Vec<&str> = log
        .iter()
        .filter(|l| l.verb == "list")
        .map(|l| l.path.as_str())
        .collect();
    let mut unique = lists.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), lists.len(), "a collection was listed twice: {lists:?}");
    assert!(
        lists.iter().all(|p| !p.contains("/namespaces/")),
        "per-namespace list: {lists:?}"
    );
    for l in log.iter().filter(|l| l.verb == "list") {
        assert_eq!(l.param("limit").as_deref(), Some("500"), "{l:?}");
    }
    let pods = log
        .iter()
        .find(|l| l.verb == "list" && l.path == "/api/v1/pods")
        .expect("a pod list");
    assert_eq!(
        pods.param("fieldSelector").as_deref(),
        Some("status.phase!=Succeeded,status.phase!=Failed")
    );
    let events = log
        .iter()
        .find(|l| l.verb == "list" && l.path == "/api/v1/events")
        .expect("an event list");
    assert_eq!(
        events.param("fieldSelector").as_deref(),
        Some("involvedObject.kind=Pod")
    );
    // Each object is read at most once: no path is read twice.
    let mut reads: Vec<(&str, &str)> = log
        .iter()
        .filter(|l| l.is_read())
        .map(|l| (l.path.as_str(), l.query.as_str()))
        .collect();
    let n = reads.len();
    reads.sort();
    reads.dedup();
    assert_eq!(reads.len(), n, "a read was repeated: {log:?}");
    assert_eq!(front.api.writes(), 0, "plan never writes");
}

#[test]
fn a_cluster_without_openshift_skips_the_rules_that_need_its_apis() {
    let msg = "Failed to pull image \"10.19.83.164:5000/http:v2\": failed to do request: Head \"https://10.19.83.164:5000/v2/http/manifests/v2\": http: server gave HTTP response to HTTPS client";
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"containers": [{"name": "c", "image": "10.19.83.164:5000/http:v2"}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "image": "10.19.83.164:5000/http:v2",
            "state": {"waiting": {"reason": "ErrImagePull", "message": msg}}}]}});
    let front = HttpFront::start(Builder::default().objects([pod]).token(support::fake_api::http::TOKEN));
    let (_, plan, stderr) = plan_json(&[
        "plan",
        "--kubeconfig",
        &front.kubeconfig().display().to_string(),
        "-o",
        "json",
    ]);
    assert!(plan.is_object(), "{stderr}");
    assert_eq!(plan["cluster"]["openshift"], false);
    let skipped = plan["rules"]["skipped"].as_array().expect("rules.skipped");
    let openshift_rule = skipped
        .iter()
        .find(|s| s["rule"] == "plain-http-registry-openshift")
        .expect("the OpenShift variant is skipped");
    assert!(
        openshift_rule["reason"]
            .as_str()
            .unwrap()
            .contains("config.openshift.io"),
        "{openshift_rule}"
    );
    let rules: Vec<&str> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"plain-http-registry-kubernetes"), "{rules:?}");
    // The same cluster as OpenShift: nothing is skipped for want of its APIs.
    let front = HttpFront::start(Builder::default().openshift().token(support::fake_api::http::TOKEN));
    let (_, plan, _) = plan_json(&[
        "plan",
        "--kubeconfig",
        &front.kubeconfig().display().to_string(),
        "-o",
        "json",
    ]);
    assert!(plan["rules"].get("skipped").is_none(), "{}", plan["rules"]);
}

#[test]
fn a_wrong_token_is_an_error_with_one_line_and_exit_1() {
    let front = HttpFront::start(FakeApi::builder().token("right"));
    let bad = front.write_kubeconfig("bad", "bad-context", "wrong");
    let r = common::remedy(&["plan", "--kubeconfig", &bad.display().to_string()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("401"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn an_unreachable_server_is_an_error_with_one_line_and_exit_1() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        support::fake_api::http::kubeconfig_text(&format!("http://127.0.0.1:{port}"), "gone", "t"),
    )
    .unwrap();
    let r = common::remedy(&[
        "plan",
        "--kubeconfig",
        &kc.display().to_string(),
        "--request-timeout",
        "2s",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("127.0.0.1:{port}")), "{}", r.stderr);
}

#[test]
fn transient_failures_are_retried_and_the_plan_succeeds() {
    let example = common::root().join("examples/seed-000-global-pull-secret");
    let front = front_for(&example);
    front.api.fault(Fault::on("GET", "/api/v1/pods").status(503).times(2));
    front.api.fault(Fault::on("GET", "/api/v1/events").close());
    front.api.fault(Fault::on("GET", "/apis").status(429));
    let (code, plan, stderr) = plan_json(&[
        "plan",
        "--kubeconfig",
        &front.kubeconfig().display().to_string(),
        "-o",
        "json",
    ]);
    assert!(plan.is_object(), "{stderr}");
    assert_ne!(code, 1);
    let statuses: Vec<u16> = front
        .api
        .log()
        .iter()
        .filter(|l| l.path == "/api/v1/pods")
        .map(|l| l.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert!(!plan["findings"].as_array().unwrap().is_empty());
}

#[test]
fn a_server_slower_than_the_whole_run_timeout_is_an_error() {
    let front = HttpFront::start(FakeApi::builder().token(support::fake_api::http::TOKEN));
    front.api.fault(
        Fault::on("GET", "/api/v1/pods")
            .delay(std::time::Duration::from_secs(3600))
            .always(),
    );
    let t = std::time::Instant::now();
    let r = common::remedy(&[
        "plan",
        "--kubeconfig",
        &front.kubeconfig().display().to_string(),
        "--timeout",
        "1s",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("did not finish within 1s (--timeout)"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {}", r.stderr);
    // Not a speed check: only a guard against a run that never ends (every list is delayed
    // forever, so without the whole-run timeout the run would not end at all).
    assert!(t.elapsed() < std::time::Duration::from_secs(60), "the run hung");
}

#[test]
fn snapshot_and_kubeconfig_are_mutually_exclusive() {
    let r = common::remedy(&[
        "plan",
        "--snapshot",
        &common::example("healthy"),
        "--kubeconfig",
        "/nonexistent",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot be used with"), "{}", r.stderr);
}

#[test]
fn a_forbidden_probe_read_is_a_note_and_the_plan_goes_on() {
    let example = common::root().join("examples/seed-000-global-pull-secret");
    let front = front_for(&example);
    front.api.forbid("get", "", "secrets", Some("openshift-config"));
    let (code, plan, stderr) = plan_json(&[
        "plan",
        "--kubeconfig",
        &front.kubeconfig().display().to_string(),
        "-o",
        "json",
    ]);
    assert!(plan.is_object(), "{stderr}");
    assert_ne!(code, 1, "{stderr}");
    let note = "cannot get secrets in openshift-config: forbidden (needs get on secrets)";
    // The bundled rules cannot decide without the secret: each says why, none is ruled out.
    let errors = plan["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|e| e["error"].as_str().unwrap().contains(note)),
        "{errors:?}"
    );
    assert!(front.api.log().iter().any(|l| l.status == 403));
}

/// A rule whose conditions hold without the probe it could not read.
fn rule_file() -> String {
    common::root()
        .join("tests/data/playbooks/needs-global-secret.yaml")
        .display()
        .to_string()
}

#[test]
fn a_forbidden_probe_read_blocks_the_actions_of_its_finding() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"containers": [{"name": "c", "image": "quay.io/acme/web:1"}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "image": "quay.io/acme/web:1",
            "state": {"waiting": {"reason": "ErrImagePull", "message": "unauthorized: authentication required"}}}]}});
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pull-secret", "namespace": "openshift-config"},
        "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "e30="}});
    let front = HttpFront::start(
        Builder::default()
            .objects([pod, secret])
            .token(support::fake_api::http::TOKEN),
    );
    front.api.forbid("get", "", "secrets", Some("openshift-config"));
    let rule = rule_file();
    let kc = front.kubeconfig().display().to_string();
    let (_, plan, stderr) = plan_json(&[
        "plan",
        "--kubeconfig",
        &kc,
        "--no-bundled",
        "--rules",
        &rule,
        "-o",
        "json",
    ]);
    assert!(plan.is_object(), "{stderr}");
    let note = "probe `global`: cannot get secrets in openshift-config: forbidden (needs get on secrets)";
    let f = &plan["findings"][0];
    assert_eq!(f["rule"], "needs-global-secret", "{plan}");
    assert_eq!(f["notes"], json!([note]));
    assert_eq!(f["explanation"], "global secret read: False");
    assert_eq!(f["evidence"]["probes"]["global"], Value::Null, "the probe is unknown");
    let a = &plan["actions"][0];
    assert_eq!(a["type"], "copySecret");
    assert_eq!(a["status"], "blocked");
    assert_eq!(a["reason"], note);
    // Allowed, the same plan has the action pending and no note.
    let front2 = HttpFront::start(
        Builder::default()
            .objects(front.block_on(front.api.all_objects()))
            .token(support::fake_api::http::TOKEN),
    );
    let (_, plan, _) = plan_json(&[
        "plan",
        "--kubeconfig",
        &front2.kubeconfig().display().to_string(),
        "--no-bundled",
        "--rules",
        &rule,
        "-o",
        "json",
    ]);
    assert!(plan["findings"][0].get("notes").is_none());
    assert_eq!(plan["actions"][0]["status"], "pending");
}
