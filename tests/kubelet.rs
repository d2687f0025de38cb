//! Pull secrets as kubelet and the API server treat them, end to end on small snapshots:
//! per-image key matching, secret types, pods that set their own pull secrets, back-off-only
//! failures, OpenShift without cluster-scoped objects, and events of recreated pods.

mod common;
use common::*;

use base64::Engine as _;
use serde_json::{Value, json};

const PLANTED: &str = "PLANTED-SECRET-kubelet-7Qx";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A Secret with credentials for `keys`, of `ty`, under `key`.
fn secret(ns: &str, name: &str, ty: &str, key: &str, keys: &[&str]) -> Value {
    let auths: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| {
            (
                k.to_string(),
                json!({"username": "robot", "password": PLANTED, "auth": b64(&format!("robot:{PLANTED}"))}),
            )
        })
        .collect();
    json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":name,"namespace":ns},"type":ty,
           "data":{ key: b64(&json!({"auths": auths}).to_string()) }})
}

fn pull_secret(ns: &str, name: &str, keys: &[&str]) -> Value {
    secret(ns, name, "kubernetes.io/dockerconfigjson", ".dockerconfigjson", keys)
}

fn sa(ns: &str, name: &str, secrets: &[&str]) -> Value {
    json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":name,"namespace":ns},
           "imagePullSecrets": secrets.iter().map(|s| json!({"name": s})).collect::<Vec<_>>()})
}

/// A pod owned by `owner` (kind, name), waiting with `reason`/`message` on `image`.
fn pod(ns: &str, name: &str, image: &str, secrets: &[&str], owner: (&str, &str), waiting: (&str, &str)) -> Value {
    let mut p = json!({"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":name,"namespace":ns,"uid":format!("uid-{name}"),"creationTimestamp":"2025-01-01T00:00:00Z",
            "ownerReferences":[{"apiVersion":"apps/v1","kind":owner.0,"name":owner.1,"controller":true,"uid":"o1"}]},
        "spec":{"serviceAccountName":"default","containers":[{"name":"web","image":image}]},
        "status":{"phase":"Pending","containerStatuses":[{"name":"web","image":image,"ready":false,"restartCount":0,
            "state":{"waiting":{"reason":waiting.0,"message":waiting.1}}}]}});
    if !secrets.is_empty() {
        p["spec"]["imagePullSecrets"] = json!(secrets.iter().map(|s| json!({"name": s})).collect::<Vec<_>>());
    }
    p
}

fn auth_error(image: &str) -> String {
    format!(
        "Failed to pull image \"{image}\": rpc error: code = Unknown desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"
    )
}

fn back_off(image: &str) -> String {
    format!("Back-off pulling image \"{image}\"")
}

/// `remedy plan -o json` on the objects, written as one `kind: List` file.
fn plan(objects: Vec<Value>) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("all.json"),
        json!({"apiVersion":"v1","kind":"List","items":objects}).to_string(),
    )
    .unwrap();
    let snap = dir.path().display().to_string();
    let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
    assert!(r.code != 1 && r.code != 101, "plan failed ({}): {}", r.code, r.stderr);
    assert!(
        !r.stdout.contains("PLANTED-SECRET-"),
        "a secret value leaked:\n{}",
        r.stdout
    );
    (r.code, serde_json::from_str(&r.stdout).unwrap())
}

fn rules_of(plan: &Value) -> Vec<String> {
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

fn types(plan: &Value, f: &Value) -> Vec<String> {
    actions_of(plan, f)
        .iter()
        .map(|a| a["type"].as_str().unwrap().to_string())
        .collect()
}

fn openshift(version: &str) -> Vec<Value> {
    vec![
        json!({"apiVersion":"config.openshift.io/v1","kind":"ClusterVersion","metadata":{"name":"version"},
               "status":{"desired":{"version":version}}}),
        json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"},"spec":{}}),
        pull_secret(
            "openshift-config",
            "pull-secret",
            &["quay.io", "registry.redhat.io", "cloud.openshift.com"],
        ),
    ]
}

#[test]
fn a_key_with_a_path_covers_the_images_below_it() {
    let image = "quay.io/myorg/app:1";
    let objects = |image: &str| {
        vec![
            sa("apps", "default", &[]),
            pull_secret("apps", "regcred", &["quay.io/myorg"]),
            pod(
                "apps",
                "web-1",
                image,
                &["regcred"],
                ("ReplicaSet", "web-abc"),
                ("ErrImagePull", &auth_error(image)),
            ),
        ]
    };
    let (_, p) = plan(objects(image));
    // kubelet sends regcred's credentials for quay.io/myorg/app: the registry refused them.
    assert_eq!(rules_of(&p), ["credentials-rejected"]);
    let f = finding(&p, "credentials-rejected");
    assert_eq!(f["evidence"]["probes"]["podSecrets"]["covering"], json!(["regcred"]));
    assert_eq!(f["evidence"]["probes"]["podSecrets"]["lookup"], "quay.io/myorg/app");
    // Another organisation on the same registry is not covered.
    let other = "quay.io/other/app:1";
    let (_, p) = plan(objects(other));
    assert_eq!(rules_of(&p), ["registry-credentials-missing"]);
}

#[test]
fn an_opaque_secret_is_not_a_pull_secret() {
    let image = "quay.io/acme/app:1";
    let (code, p) = plan(vec![
        sa("apps", "default", &[]),
        secret("apps", "regcred", "Opaque", ".dockerconfigjson", &["quay.io"]),
        pod(
            "apps",
            "web-1",
            image,
            &["regcred"],
            ("ReplicaSet", "web-abc"),
            ("ErrImagePull", &auth_error(image)),
        ),
    ]);
    assert_eq!(rules_of(&p), ["pull-secret-wrong-type"]);
    let f = finding(&p, "pull-secret-wrong-type");
    assert_eq!(f["evidence"]["probes"]["podSecrets"]["covers"], false);
    assert_eq!(f["evidence"]["probes"]["podSecrets"]["wrongType"], json!(["regcred"]));
    assert!(f["explanation"].as_str().unwrap().contains("of type Opaque"));
    assert_eq!(types(&p, f), ["manual", "restartPod"]);
    let fix = actions_of(&p, f)[0];
    assert!(
        fix["description"]
            .as_str()
            .unwrap()
            .contains("kubernetes.io/dockerconfigjson")
    );
    assert!(
        fix["commands"]
            .to_string()
            .contains("--type=kubernetes.io/dockerconfigjson")
    );
    let candidates = f["candidates"].to_string();
    assert!(
        candidates.contains("superseded by pull-secret-wrong-type"),
        "{candidates}"
    );
    // The restart would only repeat the failure until the secret is recreated by hand.
    let restart = actions_of(&p, f)[1];
    assert_eq!(restart["status"], "blocked");
    assert!(restart["reason"].as_str().unwrap().contains("(manual)"), "{restart}");
    assert_eq!(code, 3, "nothing remedy can do goes ahead before the manual step");
}

#[test]
fn a_pod_template_with_pull_secrets_gets_the_secret_not_the_service_account() {
    let image = "us.icr.io/x/y:1";
    let template = json!({"metadata":{"labels":{"app":"web"}},
        "spec":{"imagePullSecrets":[{"name":"quay"}],"containers":[{"name":"web","image":image}]}});
    let base = |with_deployment: bool| {
        let mut rs = json!({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-abc","namespace":"apps","uid":"rs1"},
            "spec":{"replicas":1,"template":template.clone()}});
        let mut v = vec![
            sa("apps", "default", &["icr"]),
            pull_secret("apps", "icr", &["us.icr.io"]),
            pull_secret("apps", "quay", &["quay.io"]),
            pod(
                "apps",
                "p1",
                image,
                &["quay"],
                ("ReplicaSet", "web-abc"),
                ("ErrImagePull", &auth_error(image)),
            ),
        ];
        if with_deployment {
            rs["metadata"]["ownerReferences"] =
                json!([{"apiVersion":"apps/v1","kind":"Deployment","name":"web","controller":true}]);
            v.push(
                json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"apps"},
                "spec":{"template":template.clone()}}),
            );
        }
        v.push(rs);
        v
    };
    // A bare ReplicaSet: its template gets the secret, and the pod is recreated from it.
    let (_, p) = plan(base(false));
    assert_eq!(rules_of(&p), ["pod-sets-own-pull-secrets"]);
    let f = finding(&p, "pod-sets-own-pull-secrets");
    assert_eq!(f["evidence"]["probes"]["podSecrets"]["ownPullSecretsFrom"], "template");
    assert_eq!(f["evidence"]["probes"]["podSecrets"]["needsRecreate"], false);
    assert_eq!(types(&p, f), ["ensureListItem", "restartPod"]);
    let add = actions_of(&p, f)[0];
    assert_eq!(add["target"]["kind"], "ReplicaSet");
    let ops = add["change"]["patch"].as_array().unwrap();
    assert_eq!(ops[0]["op"], "test");
    assert_eq!(ops[1]["path"], "/spec/template/spec/imagePullSecrets/-");
    assert_eq!(ops[1]["value"], json!({"name": "icr"}));
    // Neither "link to the service account" nor "the pod predates the link".
    assert!(!p["actions"].to_string().contains("linkPullSecret"));
    let predates = f["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == "pod-predates-pull-secret-link")
        .unwrap();
    assert_eq!(predates["outcome"], "ruled-out");

    // Under a Deployment: the Deployment's template, which rolls the pods out itself.
    let (_, p) = plan(base(true));
    let f = finding(&p, "pod-sets-own-pull-secrets");
    assert_eq!(types(&p, f), ["ensureListItem"]);
    let add = actions_of(&p, f)[0];
    assert_eq!(add["target"]["kind"], "Deployment");
    assert_eq!(add["target"]["name"], "web");
    assert_eq!(add["status"], "pending");
}

#[test]
fn a_pod_listing_its_own_secret_without_a_captured_template() {
    let image = "us.icr.io/x/y:1";
    let (_, p) = plan(vec![
        sa("apps", "default", &[]),
        pull_secret("default", "all-icr-io", &["us.icr.io"]),
        pull_secret("apps", "quay", &["quay.io"]),
        pod(
            "apps",
            "p1",
            image,
            &["quay"],
            ("ReplicaSet", "web-abc"),
            ("ErrImagePull", &auth_error(image)),
        ),
    ]);
    assert_eq!(rules_of(&p), ["pod-sets-own-pull-secrets"]);
    let f = finding(&p, "pod-sets-own-pull-secrets");
    assert_eq!(f["evidence"]["probes"]["podSecrets"]["ownPullSecretsFrom"], "pod");
    // Copy the shared secret in; the template edit is a manual step (the owner is not captured).
    assert_eq!(types(&p, f), ["copySecret", "manual"]);
    let manual = actions_of(&p, f)[1];
    assert!(manual["description"].as_str().unwrap().contains("all-icr-io"));
    assert!(manual["steps"].to_string().contains("not in the captured state"));
    assert!(!p["actions"].to_string().contains("linkPullSecret"));
}

#[test]
fn an_olm_managed_deployment_gets_a_manual_step() {
    let image = "us.icr.io/x/y:1";
    let template = json!({"spec":{"imagePullSecrets":[{"name":"quay"}],"containers":[{"name":"web","image":image}]}});
    let (_, p) = plan(vec![
        sa("apps", "default", &["icr"]),
        pull_secret("apps", "icr", &["us.icr.io"]),
        pull_secret("apps", "quay", &["quay.io"]),
        pod(
            "apps",
            "p1",
            image,
            &["quay"],
            ("ReplicaSet", "op-abc"),
            ("ErrImagePull", &auth_error(image)),
        ),
        json!({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"op-abc","namespace":"apps",
            "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"op","controller":true}]},
            "spec":{"template":template.clone()}}),
        json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"op","namespace":"apps",
            "labels":{"olm.owner":"op.v1","olm.owner.kind":"ClusterServiceVersion"},
            "ownerReferences":[{"apiVersion":"operators.coreos.com/v1alpha1","kind":"ClusterServiceVersion","name":"op.v1","controller":false}]},
            "spec":{"template":template}}),
    ]);
    let f = finding(&p, "pod-sets-own-pull-secrets");
    assert_eq!(f["evidence"]["probes"]["owner"]["olmManaged"], true);
    assert_eq!(types(&p, f), ["manual"]);
    assert!(
        actions_of(&p, f)[0]["steps"]
            .to_string()
            .contains("ClusterServiceVersion")
    );
}

#[test]
fn a_public_image_without_its_error_is_not_blamed_on_credentials() {
    let image = "nginx:1.99-nonexistent";
    let mut objects = openshift("4.14.1");
    objects.extend([
        sa("apps", "default", &[]),
        pod(
            "apps",
            "p1",
            image,
            &[],
            ("ReplicaSet", "web-abc"),
            ("ImagePullBackOff", &back_off(image)),
        ),
    ]);
    let (code, p) = plan(objects);
    assert_eq!(rules_of(&p), ["public-image-pull-failed-inferred"]);
    let f = finding(&p, "public-image-pull-failed-inferred");
    assert_eq!(f["inferred"], true);
    assert!(!p["actions"].to_string().contains("mergeDockerAuths"));
    let candidates = f["candidates"].to_string();
    assert!(
        candidates.contains("failure.registry is not public_registry"),
        "the auth inference was ruled out for docker.io: {candidates}"
    );
    assert!(
        actions_of(&p, f)[0]["commands"]
            .to_string()
            .contains("skopeo inspect --no-creds")
    );
    assert_eq!(code, 3);
}

#[test]
fn a_private_registry_without_its_error_gets_transport_candidates() {
    let image = "reg.example.com:5000/app:1";
    let mut objects = openshift("4.14.1");
    objects.extend([
        sa("apps", "default", &[]),
        pull_secret("apps", "regcred", &["reg.example.com:5000"]),
        pod(
            "apps",
            "p1",
            image,
            &["regcred"],
            ("ReplicaSet", "web-abc"),
            ("ImagePullBackOff", &back_off(image)),
        ),
    ]);
    let (_, p) = plan(objects);
    let mut rules = rules_of(&p);
    rules.sort();
    assert_eq!(
        rules,
        ["registry-ca-untrusted-inferred", "registry-plain-http-inferred"]
    );
    for r in &rules {
        let f = finding(&p, r);
        assert_eq!(f["inferred"], true, "{r}");
        assert_eq!(types(&p, f), ["manual"], "{r}: confirm before changing the cluster");
    }
    let tls = finding(&p, "registry-ca-untrusted-inferred");
    assert_eq!(tls["evidence"]["probes"]["trust"]["key"], "reg.example.com..5000");
    assert!(
        tls["explanation"]
            .as_str()
            .unwrap()
            .contains("missing credentials are not the cause")
    );
    assert!(p["unexplained"].as_array().unwrap().is_empty());

    // With the CA trusted, TLS (and plain HTTP) are ruled out: nothing is left to point at.
    let mut objects = openshift("4.14.1");
    objects[1] = json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"},
        "spec":{"additionalTrustedCA":{"name":"registry-cas"}}});
    objects.extend([
        json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"registry-cas","namespace":"openshift-config"},
               "data":{"reg.example.com..5000":"-----BEGIN CERTIFICATE-----"}}),
        sa("apps", "default", &[]),
        pull_secret("apps", "regcred", &["reg.example.com:5000"]),
        pod(
            "apps",
            "p1",
            image,
            &["regcred"],
            ("ReplicaSet", "web-abc"),
            ("ImagePullBackOff", &back_off(image)),
        ),
    ]);
    let (_, p) = plan(objects);
    assert!(rules_of(&p).is_empty(), "{:#}", p["findings"]);
    assert_eq!(p["unexplained"].as_array().unwrap().len(), 1);
}

#[test]
fn openshift_is_recognised_without_cluster_scoped_objects() {
    // seed-004 as captured from its namespaces only.
    let dir = tempfile::tempdir().unwrap();
    for sub in ["openshift-marketplace", "openshift-config"] {
        let from = root().join("examples/seed-004-marketplace").join(sub);
        let to = dir.path().join(sub);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    let snap = dir.path().display().to_string();
    let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
    let p: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(p["cluster"]["openshift"], true);
    assert_eq!(p["cluster"]["version"], Value::Null);
    assert_eq!(
        rules_of(&p),
        ["pull-secret-not-propagated"],
        "no contradictory Kubernetes finding"
    );
}

#[test]
fn events_of_a_recreated_pod_are_orphans() {
    let image = "quay.io/acme/db:1";
    let mut db = pod(
        "apps",
        "db-0",
        image,
        &[],
        ("StatefulSet", "db"),
        ("ErrImagePull", &auth_error(image)),
    );
    db["metadata"]["uid"] = json!("uid-new");
    let old_event = json!({"apiVersion":"v1","kind":"Event","metadata":{"name":"db-0.1","namespace":"apps"},
        "involvedObject":{"kind":"Pod","name":"db-0","namespace":"apps","uid":"uid-old","fieldPath":"spec.containers{web}"},
        "reason":"Failed","type":"Warning","count":3,"source":{"component":"kubelet"},
        "message":"Failed to pull image \"quay.io/acme/db:0\": not found",
        "firstTimestamp":"2025-01-01T00:00:00Z","lastTimestamp":"2025-01-01T00:10:00Z"});
    let (_, p) = plan(vec![sa("apps", "default", &[]), db, old_event]);
    let orphans = p["orphans"].as_array().unwrap();
    assert_eq!(orphans.len(), 1, "{:#}", p["orphans"]);
    assert_eq!(orphans[0]["pod"], "db-0");
    assert_eq!(orphans[0]["image"], "quay.io/acme/db:0");
    assert_eq!(orphans[0]["count"], 3);
    // The live pod's finding quotes only its own messages.
    let f = &p["findings"][0];
    assert!(!f["evidence"]["messages"].to_string().contains("quay.io/acme/db:0"));
}
