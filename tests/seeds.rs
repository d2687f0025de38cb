//! Each seed incident, captured as a snapshot, gives the plan its author would have wanted.

mod common;
use common::*;
use serde_json::Value;

fn types_and_statuses(actions: &[&Value]) -> Vec<(String, String)> {
    actions
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn target(a: &Value) -> String {
    let t = &a["target"];
    match t["namespace"].as_str() {
        Some(ns) => format!("{} {ns}/{}", t["kind"].as_str().unwrap(), t["name"].as_str().unwrap()),
        None => format!("{} {}", t["kind"].as_str().unwrap(), t["name"].as_str().unwrap()),
    }
}

#[test]
fn seed_000_global_pull_secret_lacks_the_mirror() {
    let (code, plan) = plan_json("seed-000-global-pull-secret", &[]);
    assert_eq!(plan["findings"].as_array().unwrap().len(), 1, "{:#}", plan["findings"]);
    let f = finding(&plan, "global-pull-secret-missing-registry");
    assert_eq!(f["category"], "auth");
    assert_eq!(
        f["inferred"], true,
        "only back-off events survived: the cause is inferred"
    );
    assert_eq!(pods(f), ["openshift-marketplace/my-operator-catalog-fhbg8"]);
    assert_eq!(f["registry"], "registry.oss2.fu.igotit.co.kr:5000");
    let acts = actions_of(&plan, f);
    assert_eq!(
        types_and_statuses(&acts),
        [
            ("mergeDockerAuths".into(), "needs-input".into()),
            ("restartPod".into(), "blocked".into())
        ]
    );
    assert_eq!(target(acts[0]), "Secret openshift-config/pull-secret");
    assert_eq!(acts[0]["needsInput"]["flag"], "--set-file registry_auth=PATH");
    assert_eq!(
        acts[0]["disruptive"], true,
        "on 4.6 the MCO drains and reboots every node for a pull-secret change"
    );
    assert_eq!(acts[1]["dependsOn"][0], acts[0]["id"]);
    assert_eq!(code, 3, "needs a person: exit 3");
    let candidates = f["candidates"].as_array().unwrap();
    assert!(
        candidates
            .iter()
            .filter(|c| c["outcome"] == "confirmed")
            .all(|c| c["category"] == "auth"),
        "{candidates:#?}"
    );
    // The other causes the state can speak to were looked at and ruled out.
    let outcome = |rule: &str| {
        let c = candidates.iter().find(|c| c["rule"] == rule).expect(rule);
        (c["outcome"].as_str().unwrap().to_string(), c["detail"].to_string())
    };
    let (o, d) = outcome("registry-ca-untrusted-inferred");
    assert_eq!(o, "ruled-out");
    assert!(d.contains("not trust.trusted"), "{d}");
    let (o, d) = outcome("registry-policy-rejects-inferred");
    assert_eq!(o, "ruled-out");
    assert!(d.contains("registryBlocked"), "{d}");
    // The evidence shows what ruled out TLS and policy: the CA is trusted under the
    // host..port key, and registrySources neither blocks nor omits the mirror.
    let probes = &f["evidence"]["probes"];
    assert_eq!(probes["trust"]["key"], "registry.oss2.fu.igotit.co.kr..5000");
    assert_eq!(probes["trust"]["trusted"], true);
    assert_eq!(probes["trust"]["configMap"], "registry-cas");
    assert_eq!(probes["imageCfg"]["registryAllowed"], true);
    assert_eq!(probes["imageCfg"]["registryBlocked"], false);
    assert_eq!(probes["imageCfg"]["allowedRegistriesSet"], false);
    let conditions = f["evidence"]["conditions"].to_string();
    assert!(conditions.contains("imageCfg.registryAllowed"), "{conditions}");
    let why = f["explanation"].as_str().unwrap();
    assert!(why.contains("key registry.oss2.fu.igotit.co.kr..5000"), "{why}");
    assert!(why.contains("Before OpenShift 4.7 (this cluster: 4.6.48)"), "{why}");
}

#[test]
fn seed_000_on_openshift_4_7_merges_without_disruption() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/seed-000-global-pull-secret"), dir.path());
    let cv = dir.path().join("cluster.yaml");
    let text = std::fs::read_to_string(&cv).unwrap().replace("4.6.48", "4.7.0");
    std::fs::write(&cv, text).unwrap();
    let snap = dir.path().display().to_string();
    let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["cluster"]["version"], "4.7.0");
    let f = finding(&plan, "global-pull-secret-missing-registry");
    let acts = actions_of(&plan, f);
    assert_eq!(acts[0]["type"], "mergeDockerAuths");
    assert_eq!(acts[0]["disruptive"], false);
    assert!(!f["explanation"].as_str().unwrap().contains("Before OpenShift 4.7"));
}

#[test]
fn seed_000_with_credentials_given_becomes_pending() {
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    std::fs::write(
        &auth,
        r#"{"auths":{"registry.oss2.fu.igotit.co.kr:5000":{"auth":"dXNlcjpQTEFOVEVELUlOUFVULTk5"}}}"#,
    )
    .unwrap();
    let flag = format!("registry_auth={}", auth.display());
    let (code, plan) = plan_json("seed-000-global-pull-secret", &["--set-file", &flag]);
    let f = finding(&plan, "global-pull-secret-missing-registry");
    let acts = actions_of(&plan, f);
    assert_eq!(
        types_and_statuses(&acts),
        [
            ("mergeDockerAuths".into(), "pending".into()),
            ("restartPod".into(), "pending".into())
        ]
    );
    assert_eq!(code, 2);
}

#[test]
fn seed_001_plain_http_registry_on_okd() {
    let (code, plan) = plan_json("seed-001-plain-http", &[]);
    assert_eq!(plan["findings"].as_array().unwrap().len(), 1, "{:#}", plan["findings"]);
    let f = finding(&plan, "plain-http-registry-openshift");
    assert_eq!(f["category"], "insecure-http");
    assert_eq!(pods(f), ["test/gateway-deployment-5b7fb45f68-z4sbk"]);
    let acts = actions_of(&plan, f);
    let kinds: Vec<_> = types_and_statuses(&acts);
    assert_eq!(
        kinds,
        [
            ("manual".into(), "manual".into()),
            ("ensureListItem".into(), "pending".into()),
            ("ensureListItem".into(), "pending".into()),
            ("restartPod".into(), "pending".into())
        ]
    );
    // insecureRegistries and, because allowedRegistries is set, allowedRegistries too: both disruptive.
    let lists: Vec<&&Value> = acts.iter().filter(|a| a["type"] == "ensureListItem").collect();
    for a in &lists {
        assert_eq!(target(a), "Image cluster");
        assert_eq!(a["disruptive"], true);
    }
    assert!(
        lists[0]["change"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("spec.registrySources.insecureRegistries += 192.168.2.11:5001")
    );
    assert!(
        lists[1]["change"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("spec.registrySources.allowedRegistries += 192.168.2.11:5001")
    );
    assert!(
        f["explanation"].as_str().unwrap().contains("policy.json"),
        "the allowedRegistries pitfall is explained"
    );
    assert_eq!(plan["summary"]["disruptive"], 2);
    assert_eq!(code, 2);
}

#[test]
fn seed_002_untrusted_ca_and_samples_operator() {
    let (code, plan) = plan_json("seed-002-untrusted-ca", &[]);
    let f = finding(&plan, "untrusted-ca-openshift");
    assert_eq!(f["category"], "tls-unknown-ca");
    assert_eq!(pods(f), ["apps/web-7d9c8b6f5d-abcde"]);
    let streams: Vec<_> = f["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "ImageStream")
        .collect();
    assert!(!streams.is_empty(), "the sample image streams fail for the same reason");
    let acts = actions_of(&plan, f);
    assert_eq!(
        types_and_statuses(&acts),
        [
            ("setConfigMapKey".into(), "pending".into()),
            ("patch".into(), "satisfied".into()),
            ("restartPod".into(), "pending".into())
        ]
    );
    assert_eq!(target(acts[0]), "ConfigMap openshift-config/registry-config");
    let summary = acts[0]["change"]["summary"].as_str().unwrap();
    assert!(summary.contains("registry.example.com..5000"), "{summary}");
    assert!(
        summary.starts_with("rename key registry.example.com "),
        "the existing wrong key's value is reused: {summary}"
    );
    assert_eq!(
        acts[1]["disruptive"], true,
        "image config changes are disruptive even when already satisfied"
    );
    let s = finding(&plan, "samples-operator-disconnected");
    assert!(pods(s).is_empty());
    let sa = actions_of(&plan, s);
    assert!(
        sa.iter()
            .any(|a| a["type"] == "manual" && a["commands"].to_string().contains("managementState"))
    );
    // samplesRegistry is already set, so no patch of it is planned.
    assert!(!sa.iter().any(|a| a["type"] == "patch"));
    assert_eq!(code, 2);
}

#[test]
fn seed_002_without_samples_registry_asks_for_it() {
    // Copy the snapshot and drop samplesRegistry: the plan then needs `--set samples_registry=`.
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("examples/seed-002-untrusted-ca");
    copy_dir(&src, dir.path());
    let cfg = dir
        .path()
        .join("cluster/config.samples.operator.openshift.io-cluster.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("samplesRegistry:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&cfg, text).unwrap();
    let snap = dir.path().display().to_string();
    let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let s = finding(&plan, "samples-operator-disconnected");
    let patch = actions_of(&plan, s)
        .into_iter()
        .find(|a| a["type"] == "patch")
        .expect("a samplesRegistry patch");
    assert_eq!(patch["status"], "needs-input");
    assert_eq!(patch["needsInput"]["flag"], "--set samples_registry=VALUE");
    let r = remedy(&[
        "plan",
        "--snapshot",
        &snap,
        "-o",
        "json",
        "--set",
        "samples_registry=registry.example.com:5000",
    ]);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let s = finding(&plan, "samples-operator-disconnected");
    let patch = actions_of(&plan, s).into_iter().find(|a| a["type"] == "patch").unwrap();
    assert_eq!(patch["status"], "pending");
    assert_eq!(
        patch["change"]["patch"]["spec"]["samplesRegistry"],
        "registry.example.com:5000"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn seed_003_icr_secret_not_in_namespace_and_a_missing_tag() {
    let (code, plan) = plan_json("seed-003-icr-namespace", &[]);
    assert_eq!(plan["cluster"]["openshift"], false);
    let f = finding(&plan, "pull-secret-not-propagated");
    assert_eq!(f["category"], "auth");
    assert_eq!(
        pods(f),
        ["shop/frontend-7c9d6b5f48-2xkqp", "shop/frontend-7c9d6b5f48-9wz7m"]
    );
    let acts = actions_of(&plan, f);
    assert_eq!(
        types_and_statuses(&acts),
        [
            ("copySecret".into(), "satisfied".into()),
            ("linkPullSecret".into(), "pending".into()),
            ("restartPod".into(), "pending".into()),
            ("restartPod".into(), "pending".into())
        ]
    );
    assert_eq!(target(acts[1]), "ServiceAccount shop/default");
    // The missing tag is a naming error, not a credentials one.
    let nf = finding(&plan, "image-not-found");
    assert_eq!(nf["category"], "not-found");
    assert_eq!(pods(nf), ["shop/catalog-5f8b7d9c6-lq4tn"]);
    assert!(actions_of(&plan, nf).iter().all(|a| a["type"] == "manual"));
    // What proves the API key works: the catalog pod got all-icr-io from its service account
    // at admission, that secret covers the image, and the registry answered past auth.
    let ps = &nf["evidence"]["probes"]["podSecrets"];
    assert_eq!(ps["fromPod"], serde_json::json!(["all-icr-io"]));
    assert_eq!(ps["covering"], serde_json::json!(["all-icr-io"]));
    assert_eq!(ps["covers"], true);
    assert_eq!(ps["lookup"], "us.icr.io/shop-ns/catalog");
    assert!(nf["explanation"].as_str().unwrap().contains("the credentials work"));
    assert_eq!(code, 2);
}

#[test]
fn seed_004_marketplace_catalogs_one_finding_for_four_pods() {
    let (code, plan) = plan_json("seed-004-marketplace", &[]);
    assert_eq!(plan["findings"].as_array().unwrap().len(), 1, "{:#}", plan["findings"]);
    let f = finding(&plan, "pull-secret-not-propagated");
    assert_eq!(f["category"], "auth");
    assert_eq!(
        pods(f),
        [
            "openshift-marketplace/certified-operators-9z52w",
            "openshift-marketplace/community-operators-428fs",
            "openshift-marketplace/redhat-marketplace-trhlm",
            "openshift-marketplace/redhat-operators-mkjxr"
        ]
    );
    let acts = actions_of(&plan, f);
    assert_eq!(acts.len(), 9, "one copy, four links, four restarts");
    assert_eq!(acts[0]["type"], "copySecret");
    assert_eq!(target(acts[0]), "Secret openshift-marketplace/pull-secret");
    let links: Vec<String> = acts
        .iter()
        .filter(|a| a["type"] == "linkPullSecret")
        .map(|a| target(a))
        .collect();
    assert_eq!(
        links,
        [
            "ServiceAccount openshift-marketplace/certified-operators",
            "ServiceAccount openshift-marketplace/community-operators",
            "ServiceAccount openshift-marketplace/redhat-marketplace",
            "ServiceAccount openshift-marketplace/redhat-operators"
        ]
    );
    for a in acts.iter().filter(|a| a["type"] == "linkPullSecret") {
        // The atomic list is appended to, never replaced: OpenShift's dockercfg entry stays.
        let ops = a["change"]["patch"].as_array().unwrap();
        assert_eq!(ops[0]["op"], "test");
        assert_eq!(ops[1]["op"], "add");
        assert_eq!(ops[1]["path"], "/imagePullSecrets/-");
        assert!(a["change"]["summary"].as_str().unwrap().contains("-dockercfg-"));
    }
    for a in acts.iter().filter(|a| a["type"] == "restartPod") {
        assert_eq!(a["status"], "pending", "CatalogSource-owned pods are recreated by OLM");
        assert!(a["dependsOn"].as_array().unwrap().len() >= 2);
    }
    assert!(
        acts.iter()
            .all(|a| a["status"] == "pending" && a["disruptive"] == false)
    );
    assert_eq!(code, 2);
}

#[test]
fn healthy_cluster_has_nothing_to_do() {
    let (code, plan) = plan_json("healthy", &[]);
    assert_eq!(plan["findings"], serde_json::json!([]));
    assert_eq!(plan["actions"], serde_json::json!([]));
    assert_eq!(plan["unexplained"], serde_json::json!([]));
    assert_eq!(code, 0);
}

#[test]
fn human_output_of_every_example() {
    for ex in [
        "seed-000-global-pull-secret",
        "seed-001-plain-http",
        "seed-002-untrusted-ca",
        "seed-003-icr-namespace",
        "seed-004-marketplace",
        "healthy",
    ] {
        let path = format!("examples/{ex}");
        let r = std::process::Command::new(env!("CARGO_BIN_EXE_remedy"))
            .args(["plan", "--snapshot", &path])
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let out = String::from_utf8(r.stdout).unwrap();
        insta::assert_snapshot!(format!("plan-{ex}"), out);
    }
}
