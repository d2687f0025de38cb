//! Against a real cluster, only when `REMEDY_TEST_KUBECONFIG` names a kubeconfig; otherwise
//! every test here prints why it is skipped and passes.
//!
//! It creates its own namespace and a pod whose image cannot be pulled, waits for kubelet to
//! report the failure, checks that `remedy plan --kubeconfig` reports that pod, and deletes the
//! namespace. With `REMEDY_TEST_PRIVATE_IMAGE` (an image that needs credentials) and
//! `REMEDY_TEST_DOCKERCONFIG` (a `.dockerconfigjson` file that pulls it) it also has remedy fix
//! a real failure: the credentials are where the bundled rule looks for a registry's shared
//! secret (`default/<registry with dashes>`, deleted afterwards), a Deployment in the test's
//! namespace cannot pull, `remedy apply -n NS --yes --wait` copies and links the secret and
//! restarts the pod, and the replacement must pull.

mod common;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};

fn kubeconfig() -> Option<String> {
    match std::env::var("REMEDY_TEST_KUBECONFIG") {
        Ok(k) if !k.is_empty() => Some(k),
        _ => {
            eprintln!("skipped: set REMEDY_TEST_KUBECONFIG to a kubeconfig to run the real-cluster tests");
            None
        }
    }
}

async fn client(path: &str) -> kube::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = kube::config::Kubeconfig::read_from(path).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .unwrap();
    kube::Client::try_from(cfg).unwrap()
}

#[test]
fn plan_reports_a_failing_pod_of_a_real_cluster() {
    let Some(kc) = kubeconfig() else { return };
    let ns = format!("remedy-test-{}", std::process::id());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = rt.block_on(client(&kc));
    rt.block_on(async {
        create_namespace(&c, &ns).await;
        let pods: Api<Pod> = Api::namespaced(c.clone(), &ns);
        let pod = json!({"metadata": {"name": "cannot-pull"},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/remedy-test/none:1"}]}});
        pods.create(&PostParams::default(), &serde_json::from_value(pod).unwrap())
            .await
            .unwrap();
        // Wait for kubelet to report the failed pull.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(120) {
            let p = pods.get("cannot-pull").await.unwrap();
            let waiting = p
                .status
                .and_then(|s| s.container_statuses)
                .and_then(|cs| cs.first().and_then(|c| c.state.clone()))
                .and_then(|s| s.waiting)
                .and_then(|w| w.reason);
            if matches!(waiting.as_deref(), Some("ErrImagePull" | "ImagePullBackOff")) {
                break;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    let r = common::remedy(&["plan", "--kubeconfig", &kc, "-o", "json"]);
    rt.block_on(async {
        let nss: Api<Namespace> = Api::all(c.clone());
        let _ = nss.delete(&ns, &DeleteParams::default()).await;
    });
    assert_ne!(r.code, 1, "{}", r.stderr);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["source"]["kind"], "live");
    let mentioned = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["subjects"].as_array().unwrap().iter())
        .chain(plan["unexplained"].as_array().unwrap().iter())
        .any(|s| s["namespace"] == ns.as_str());
    assert!(mentioned, "the failing pod of {ns} is not in the plan: {}", r.stdout);
}

fn private_image() -> Option<(String, String)> {
    match (
        std::env::var("REMEDY_TEST_PRIVATE_IMAGE"),
        std::env::var("REMEDY_TEST_DOCKERCONFIG"),
    ) {
        (Ok(i), Ok(d)) if !i.is_empty() && !d.is_empty() => Some((i, d)),
        _ => {
            eprintln!(
                "skipped: set REMEDY_TEST_PRIVATE_IMAGE and REMEDY_TEST_DOCKERCONFIG to have remedy fix a real pull failure"
            );
            None
        }
    }
}

#[test]
fn apply_fixes_a_real_pull_failure_and_the_pod_recovers() {
    let Some(kc) = kubeconfig() else { return };
    let Some((image, dockerconfig)) = private_image() else {
        return;
    };
    let ns = format!("remedy-fix-{}", std::process::id());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = rt.block_on(client(&kc));
    let config = std::fs::read(&dockerconfig).unwrap();
    let registry = image.split('/').next().unwrap().to_string();
    rt.block_on(async {
        use k8s_openapi::api::apps::v1::Deployment;
        use k8s_openapi::api::core::v1::Secret;
        create_namespace(&c, &ns).await;
        let secrets: Api<Secret> = Api::namespaced(c.clone(), "default");
        let secret = json!({
            "metadata": {"name": registry.replace('.', "-"), "labels": {"remedy-test": ns}},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64(&config)}
        });
        let _ = secrets
            .create(&PostParams::default(), &serde_json::from_value(secret).unwrap())
            .await;
        let deployments: Api<Deployment> = Api::namespaced(c.clone(), &ns);
        let d = json!({
            "metadata": {"name": "private"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "private"}},
                "template": {"metadata": {"labels": {"app": "private"}},
                    "spec": {"containers": [{"name": "c", "image": image, "command": ["sleep", "3600"]}]}}}
        });
        deployments
            .create(&PostParams::default(), &serde_json::from_value(d).unwrap())
            .await
            .unwrap();
        wait_for_pull_failure(&c, &ns).await;
    });
    let report = std::env::temp_dir().join(format!("{ns}-report.json"));
    let r = common::remedy(&[
        "apply",
        "--kubeconfig",
        &kc,
        "-n",
        &ns,
        "--yes",
        "--wait=3m",
        "--report",
        &report.display().to_string(),
    ]);
    rt.block_on(async {
        use k8s_openapi::api::core::v1::Secret;
        let nss: Api<Namespace> = Api::all(c.clone());
        let _ = nss.delete(&ns, &DeleteParams::default()).await;
        let secrets: Api<Secret> = Api::namespaced(c.clone(), "default");
        let _ = secrets
            .delete(&registry.replace('.', "-"), &DeleteParams::default())
            .await;
    });
    assert_eq!(r.code, 2, "all applied and verified: {}\n{}", r.stdout, r.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["verification"] == "fixed"),
        "{report:#}"
    );
    assert!(!r.stdout.contains(&String::from_utf8_lossy(&config).to_string()));
}

async fn create_namespace(c: &kube::Client, ns: &str) {
    let nss: Api<Namespace> = Api::all(c.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
    )
    .await
    .unwrap();
}

async fn wait_for_pull_failure(c: &kube::Client, ns: &str) {
    let pods: Api<Pod> = Api::namespaced(c.clone(), ns);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        let list = pods.list(&Default::default()).await.unwrap();
        let failing = list.items.iter().any(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|cs| cs.first())
                .and_then(|c| c.state.as_ref())
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref())
                .is_some_and(|r| matches!(r, "ErrImagePull" | "ImagePullBackOff"))
        });
        if failing {
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
