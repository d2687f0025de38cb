//! The human plan of a live cluster says what the JSON says: the rules skipped for APIs the
//! cluster does not serve (with why), and the notes of a finding whose reads RBAC refused.

mod common;
mod support;

use serde_json::json;
use support::fake_api::Builder;
use support::fake_api::http::{HttpFront, TOKEN};

/// `remedy plan` (human) against the front, with the run's random parts (the port, the
/// temporary kubeconfig) replaced by fixed words.
fn human(f: &HttpFront, extra: &[&str]) -> (i32, String) {
    let kc = f.kubeconfig().display().to_string();
    let mut args = vec!["plan", "--kubeconfig", kc.as_str()];
    args.extend_from_slice(extra);
    let r = common::remedy(&args);
    assert!(r.code != 1, "{}", r.stderr);
    let mut out = r.stdout.replace(&f.url(), "http://127.0.0.1:PORT");
    out = out.replace(&kc, "KUBECONFIG");
    out = out.replace(&f.dir().display().to_string(), "DIR");
    (r.code, out)
}

fn pod(ns: &str, image: &str, message: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": ns, "uid": "u-web"},
        "spec": {"containers": [{"name": "c", "image": image}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "c", "image": image,
            "state": {"waiting": {"reason": "ErrImagePull", "message": message}}}]}})
}

#[test]
fn the_human_plan_names_the_rules_skipped_and_why() {
    let msg = "Failed to pull image \"10.19.83.164:5000/http:v2\": failed to do request: Head \"https://10.19.83.164:5000/v2/http/manifests/v2\": http: server gave HTTP response to HTTPS client";
    let f = HttpFront::start(
        Builder::default()
            .objects([pod("apps", "10.19.83.164:5000/http:v2", msg)])
            .token(TOKEN),
    );
    let (_, out) = human(&f, &[]);
    let joined = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        joined(&out).contains(
            "6 rules skipped, the cluster does not serve the API group config.openshift.io: global-pull-secret-missing-registry"
        ),
        "{out}"
    );
    insta::assert_snapshot!("live-skipped-rules", out);
    // --expand: every rule, each with its own full reason.
    let (_, wide) = human(&f, &["--expand"]);
    let wide = joined(&wide);
    assert!(
        wide.contains("1 rule skipped, the cluster does not serve the API group config.openshift.io (probe `")
            && wide.contains("plain-http-registry-openshift"),
        "{wide}"
    );
}

#[test]
fn the_human_plan_shows_a_finding_note_and_the_blocked_action() {
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pull-secret", "namespace": "openshift-config"},
        "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "e30="}});
    let f = HttpFront::start(
        Builder::default()
            .objects([
                pod("apps", "quay.io/acme/web:1", "unauthorized: authentication required"),
                secret,
            ])
            .token(TOKEN),
    );
    f.api.forbid("get", "", "secrets", Some("openshift-config"));
    let rule = common::root().join("tests/data/playbooks/needs-global-secret.yaml");
    let (code, out) = human(&f, &["--no-bundled", "--rules", &rule.display().to_string()]);
    assert_eq!(code, 3, "only a blocked action: a person must act\n{out}");
    let note = "probe `global`: cannot get secrets in openshift-config: forbidden (needs get on secrets)";
    let joined = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(joined.contains(&format!("note {note}")), "{out}");
    insta::assert_snapshot!("live-finding-note", out);
}
