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

fn seed_001_actions(plan: &Value) -> Vec<&Value> {
    let f = finding(plan, "plain-http-registry-openshift");
    actions_of(plan, f)
}

#[test]
fn seed_001_plain_http_registry_on_okd() {
    let (code, plan) = plan_json("seed-001-plain-http", &[]);
    assert_eq!(plan["findings"].as_array().unwrap().len(), 1, "{:#}", plan["findings"]);
    let f = finding(&plan, "plain-http-registry-openshift");
    assert_eq!(f["category"], "insecure-http");
    assert_eq!(pods(f), ["test/gateway-deployment-5b7fb45f68-z4sbk"]);
    let acts = seed_001_actions(&plan);
    assert_eq!(
        types_and_statuses(&acts),
        [
            ("manual".into(), "manual".into()),
            ("ensureListItem".into(), "blocked".into()),
            ("restartPod".into(), "blocked".into())
        ]
    );
    // The HTTPS fix is the alternative to the rest: marked so, and nothing depends on it.
    let (https, lists, restart) = (acts[0], acts[1], acts[2]);
    assert_eq!(https["alternative"], true);
    assert!(https["description"].as_str().unwrap().contains("HTTPS"));
    assert!(acts[1..].iter().all(|a| a["alternative"] == false));
    assert!(
        acts.iter()
            .all(|a| !a["dependsOn"].as_array().unwrap().contains(&https["id"])),
        "nothing waits for the alternative"
    );
    // insecureRegistries and, because allowedRegistries is set, allowedRegistries: one patch, one rollout.
    assert_eq!(target(lists), "Image cluster");
    assert_eq!(lists["disruptive"], true);
    let summary = lists["change"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(
            "spec.registrySources: insecureRegistries += 192.168.2.11:5001, allowedRegistries += 192.168.2.11:5001"
        ),
        "{summary}"
    );
    let ops = lists["change"]["patch"].as_array().expect("one JSON patch");
    let paths: Vec<&str> = ops.iter().map(|o| o["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "/spec/registrySources/insecureRegistries",
            "/spec/registrySources/allowedRegistries",
            "/spec/registrySources/allowedRegistries/-"
        ]
    );
    assert_eq!(ops[1]["op"], "test", "the existing allow-list is guarded, not replaced");
    // The worker pool is Degraded from the last attempt: no new rollout until it recovers.
    let reason = lists["reason"].as_str().unwrap();
    assert!(reason.contains("MachineConfigPool worker is Degraded"), "{reason}");
    let ic = &f["evidence"]["probes"]["imageCfg"];
    assert_eq!(ic["degradedPools"], serde_json::json!(["worker"]));
    let explanation = f["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("policy.json"),
        "the allowedRegistries pitfall is explained"
    );
    assert!(explanation.contains("worker is Degraded"), "{explanation}");
    // The restart waits for the blocked patch instead of deleting the pod for nothing.
    assert_eq!(restart["dependsOn"], serde_json::json!([lists["id"]]));
    assert_eq!(
        restart["reason"],
        format!("waits for {} (blocked)", lists["id"].as_str().unwrap())
    );
    // Disruptive and not yet applied: counted, in JSON as in the human summary.
    assert_eq!(plan["summary"]["disruptive"], 1);
    assert_eq!(code, 3, "blocked: needs a person");
}

/// Seed 001 once the worker pool has recovered: the single rollout may go ahead.
#[test]
fn seed_001_with_a_healthy_pool_the_rollout_is_pending() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/seed-001-plain-http"), dir.path());
    let pool = walk(dir.path())
        .into_iter()
        .find(|p| p.ends_with("machineconfigpools/worker.yaml"))
        .unwrap();
    let text = std::fs::read_to_string(&pool).unwrap();
    // Every condition of the pool turns False: not Degraded, not Updating.
    let healthy = text.replace("status: \"True\"", "status: \"False\"");
    assert_ne!(text, healthy);
    std::fs::write(&pool, healthy).unwrap();
    let snap = dir.path().display().to_string();
    let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let acts = seed_001_actions(&plan);
    assert_eq!(
        types_and_statuses(&acts),
        [
            ("manual".into(), "manual".into()),
            ("ensureListItem".into(), "pending".into()),
            ("restartPod".into(), "pending".into())
        ]
    );
    assert!(acts[1]["dependsOn"].as_array().unwrap().is_empty());
    assert_eq!(plan["summary"]["disruptive"], 1);
    assert_eq!(r.code, 2);
    let human = remedy(&["plan", "--snapshot", &snap]).stdout;
    assert!(human.contains("1 disruptive (drains and reboots nodes)"), "{human}");
    assert!(human.contains("Image cluster · DISRUPTIVE"), "{human}");
    assert!(human.contains("or, instead of a1:"), "{human}");
}

#[test]
fn seed_002_untrusted_ca_covers_the_pod_and_the_sample_image_streams() {
    let (code, plan) = plan_json("seed-002-untrusted-ca", &[]);
    // The samples configuration is not the cause: one finding, the CA.
    assert_eq!(plan["findings"].as_array().unwrap().len(), 1, "{:#}", plan["findings"]);
    let f = finding(&plan, "untrusted-ca-openshift");
    assert_eq!(f["category"], "tls-unknown-ca");
    assert_eq!(pods(f), ["apps/web-7d9c8b6f5d-abcde"]);
    let streams: Vec<(String, String)> = f["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "ImageStream")
        .map(|s| {
            assert_eq!(s["container"], Value::Null, "an image stream has tags, not containers");
            (s["name"].as_str().unwrap().into(), s["tag"].as_str().unwrap().into())
        })
        .collect();
    assert_eq!(
        streams,
        [
            ("mysql".into(), "5.7".into()),
            ("mysql".into(), "8.0".into()),
            ("postgresql".into(), "10".into()),
            ("postgresql".into(), "12".into())
        ]
    );
    // Pods are pods: the image streams are counted apart.
    assert_eq!(plan["summary"]["failingPods"], 1);
    assert_eq!(plan["summary"]["failingImageStreams"], 2);
    for m in f["evidence"]["messages"].as_array().unwrap() {
        let stream = m["source"] == "importStatus";
        assert_eq!(m["pods"], if stream { 0 } else { 1 }, "{m}");
        assert_eq!(m["imageStreams"], if stream { 1 } else { 0 }, "{m}");
    }
    let acts = actions_of(&plan, f);
    assert_eq!(
        types_and_statuses(&acts),
        [
            ("setConfigMapKey".into(), "pending".into()),
            ("patch".into(), "satisfied".into()),
            ("patch".into(), "satisfied".into()),
            ("manual".into(), "manual".into()),
            ("restartPod".into(), "pending".into())
        ]
    );
    let (key, trust, samples, reimport, restart) = (acts[0], acts[1], acts[2], acts[3], acts[4]);
    // The key OpenShift looks up is added with the PEM of the existing key, which stays (port 443).
    assert_eq!(target(key), "ConfigMap openshift-config/registry-config");
    assert_eq!(
        key["change"]["summary"],
        "data[registry.example.com..5000] = copy of data[registry.example.com] (keeps every existing key)"
    );
    let diff = key["change"]["diff"].as_str().unwrap();
    assert!(diff.contains("+- registry.example.com..5000"), "{diff}");
    assert!(
        !diff.contains("-- registry.example.com\n"),
        "the existing key is kept: {diff}"
    );
    assert_eq!(key["disruptive"], false);
    // additionalTrustedCA is already set, and trusting a CA does not reboot nodes.
    assert_eq!(target(trust), "Image cluster");
    assert_eq!(
        trust["change"]["summary"],
        "already spec.additionalTrustedCA.name = registry-config"
    );
    assert_eq!(trust["disruptive"], false);
    assert_eq!(plan["summary"]["disruptive"], 0);
    // samplesRegistry already points at the mirror.
    assert_eq!(target(samples), "Config cluster");
    assert_eq!(
        samples["change"]["summary"],
        "already spec.samplesRegistry = registry.example.com:5000"
    );
    // The re-import comes after the CA fix and says so.
    assert!(reimport["commands"].to_string().contains("managementState"));
    let deps = reimport["dependsOn"].as_array().unwrap();
    assert!(deps.contains(&key["id"]) && deps.contains(&trust["id"]), "{deps:?}");
    assert!(id_num(&reimport["id"]) > id_num(&key["id"]));
    assert!(restart["dependsOn"].as_array().unwrap().contains(&key["id"]));
    // No step edits skippedImagestreams: the streams fail on the CA, not for want of a mirror.
    assert!(!plan["actions"].to_string().contains("skippedImagestreams\\\":"));
    let why = f["explanation"].as_str().unwrap();
    assert!(why.contains("stays: it is the one for port 443"), "{why}");
    assert!(why.contains("samplesRegistry is set to it"), "{why}");
    assert_eq!(code, 2);
}

fn id_num(id: &Value) -> usize {
    id.as_str().unwrap()[1..].parse().unwrap()
}

/// The ids a reader sees are the ids the plan uses: in order, finding by finding.
#[test]
fn action_ids_follow_the_listing_and_respect_dependencies() {
    for ex in [
        "seed-000-global-pull-secret",
        "seed-001-plain-http",
        "seed-002-untrusted-ca",
        "seed-003-icr-namespace",
        "seed-004-marketplace",
    ] {
        let (_, plan) = plan_json(ex, &[]);
        let listed: Vec<usize> = plan["findings"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["actions"].as_array().unwrap().iter().map(id_num))
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        let first_listing: Vec<usize> = listed.into_iter().filter(|n| seen.insert(*n)).collect();
        let expected: Vec<usize> = (1..=first_listing.len()).collect();
        assert_eq!(first_listing, expected, "{ex}: ids in listing order");
        for a in plan["actions"].as_array().unwrap() {
            for d in a["dependsOn"].as_array().unwrap() {
                assert!(id_num(d) < id_num(&a["id"]), "{ex}: {} depends on a later {d}", a["id"]);
            }
        }
        // Every step line of the human plan starts with the ids it covers (`a2` or `a2-a5`).
        let human = remedy(&["plan", "--snapshot", &example(ex)]).stdout;
        let mut shown = Vec::new();
        for line in human.lines() {
            let Some(label) = line.split_whitespace().next() else {
                continue;
            };
            let Some(first) = line.strip_prefix("  ").map(str::trim_start) else {
                continue;
            };
            if !first.starts_with(label) || !label.starts_with('a') {
                continue;
            }
            let bounds: Vec<usize> = label
                .split('-')
                .filter_map(|x| x.strip_prefix('a')?.parse().ok())
                .collect();
            match bounds.as_slice() {
                [one] => shown.push(*one),
                [from, to] => shown.extend(*from..=*to),
                _ => {}
            }
        }
        assert_eq!(
            shown, expected,
            "{ex}: the human plan numbers its steps with the ids:\n{human}"
        );
    }
}

/// A proxy whose certificate is not trusted is the proxy's problem, not the registry's CA.
#[test]
fn seed_002_behind_a_proxy_with_an_untrusted_certificate() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/seed-002-untrusted-ca"), dir.path());
    for file in walk(&dir.path().join("apps")) {
        let text = std::fs::read_to_string(&file).unwrap();
        let proxied = text.replace(
            "x509: certificate signed by unknown authority",
            "proxyconnect tcp: x509: certificate signed by unknown authority",
        );
        std::fs::write(&file, proxied).unwrap();
    }
    let snap = dir.path().display().to_string();
    let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let proxy = finding(&plan, "registry-proxy-failure");
    assert_eq!(proxy["category"], "proxy");
    assert_eq!(pods(proxy), ["apps/web-7d9c8b6f5d-abcde"]);
    // The image streams still fail on the registry's own CA; the pod does not.
    let ca = finding(&plan, "untrusted-ca-openshift");
    assert!(pods(ca).is_empty(), "{:#}", ca["subjects"]);
    assert!(
        !actions_of(&plan, ca).iter().any(|a| a["type"] == "restartPod"),
        "no restart of the proxied pod for a CA fix that does not concern it"
    );
    let ca_for_pod = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["findings"].as_array().unwrap().contains(&proxy["id"]))
        .any(|a| a["type"] == "setConfigMapKey");
    assert!(!ca_for_pod, "the proxy finding does not propose the registry CA fix");
}

/// A samples-operator finding appears when the samples configuration itself is the cause: a
/// disconnected cluster whose sample image streams still import from registry.redhat.io.
#[test]
fn seed_002_without_samples_registry_the_samples_config_is_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/seed-002-untrusted-ca"), dir.path());
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
    let streams = dir.path().join("openshift/imagestreams.json");
    let text = std::fs::read_to_string(&streams)
        .unwrap()
        .replace("registry.example.com:5000", "registry.redhat.io")
        .replace(
            "x509: certificate signed by unknown authority",
            "dial tcp: lookup registry.redhat.io on 172.30.0.10:53: no such host",
        );
    std::fs::write(&streams, text).unwrap();
    let snap = dir.path().display().to_string();
    let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let s = finding(&plan, "samples-registry-unreachable");
    assert_eq!(s["category"], "network-timeout");
    assert!(pods(s).is_empty());
    // The generic DNS finding steps aside for the precise one.
    assert!(
        !plan["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "registry-dns-failure"),
        "{:#}",
        plan["findings"]
    );
    let acts = actions_of(&plan, s);
    let patch = acts
        .iter()
        .find(|a| a["type"] == "patch")
        .expect("a samplesRegistry patch");
    assert_eq!(patch["status"], "needs-input");
    assert_eq!(patch["needsInput"]["flag"], "--set samples_registry=VALUE");
    // No fake diff: the value is missing, so neither patch nor diff is shown.
    assert_eq!(patch["change"]["patch"], Value::Null);
    assert_eq!(patch["change"]["diff"], Value::Null);
    assert!(!patch["change"]["summary"].as_str().unwrap().contains("\"\""));
    // skippedImagestreams is appended to (a JSON patch `add .../-`), never replaced.
    let skip = acts
        .iter()
        .find(|a| a["type"] == "manual" && a["commands"].to_string().contains("skippedImagestreams"))
        .unwrap();
    let cmd = skip["commands"][0].as_str().unwrap();
    assert!(
        cmd.contains("--type=json") && cmd.contains("/spec/skippedImagestreams/-"),
        "{cmd}"
    );
    assert!(skip["steps"][0].as_str().unwrap().contains("jenkins-agent-nodejs"));
    // The re-import toggle comes after the samplesRegistry change.
    let toggle = acts
        .iter()
        .find(|a| a["type"] == "manual" && a["commands"].to_string().contains("managementState"))
        .unwrap();
    assert!(toggle["dependsOn"].as_array().unwrap().contains(&patch["id"]));

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
    let s = finding(&plan, "samples-registry-unreachable");
    let patch = actions_of(&plan, s).into_iter().find(|a| a["type"] == "patch").unwrap();
    assert_eq!(patch["status"], "pending");
    assert_eq!(
        patch["change"]["patch"]["spec"]["samplesRegistry"],
        "registry.example.com:5000"
    );
    assert_eq!(patch["disruptive"], false);
}

/// A restart that follows a manual step waits for it: deleting the pod first achieves nothing.
#[test]
fn restarts_wait_for_manual_steps() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("cluster.yaml");
    std::fs::write(
        &snap,
        r#"apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: apps
  uid: u-1
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5f, controller: true}
spec:
  containers: [{name: web, image: "reg.lab:5000/web:1"}]
status:
  containerStatuses:
  - name: web
    image: "reg.lab:5000/web:1"
    ready: false
    restartCount: 0
    state:
      waiting:
        reason: ErrImagePull
        message: 'failed to pull and unpack image "reg.lab:5000/web:1": failed to resolve reference "reg.lab:5000/web:1": failed to do request: Head "https://reg.lab:5000/v2/web/manifests/1": tls: failed to verify certificate: x509: certificate signed by unknown authority'
"#,
    )
    .unwrap();
    let snap = snap.display().to_string();
    let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let f = finding(&plan, "untrusted-ca-kubernetes");
    let acts = actions_of(&plan, f);
    assert_eq!(
        types_and_statuses(&acts),
        [
            ("manual".into(), "manual".into()),
            ("restartPod".into(), "blocked".into())
        ]
    );
    assert_eq!(acts[1]["reason"], "waits for a1 (manual)");
    assert_eq!(plan["summary"]["pending"], 0);
    assert_eq!(r.code, 3, "nothing apply could do: a person goes first");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
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
    let why = f["explanation"].as_str().unwrap();
    assert!(
        why.contains("shop/all-icr-io, is already there") && !why.contains("never copied"),
        "the explanation agrees with the satisfied copy: {why}"
    );
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
            .env_remove("COLUMNS")
            .output()
            .unwrap();
        let out = String::from_utf8(r.stdout).unwrap();
        for line in out.lines() {
            assert!(line.chars().count() <= 100, "{ex}: longer than 100 columns: {line:?}");
            assert_eq!(line, line.trim_end(), "{ex}: trailing whitespace: {line:?}");
        }
        assert!(
            out.lines().any(|l| l.starts_with("next  ")),
            "{ex}: the plan ends with what to run next"
        );
        insta::assert_snapshot!(format!("plan-{ex}"), out);
    }
}
