//! Against a real cluster, only when `REMEDY_TEST_KUBECONFIG` names a kubeconfig; otherwise
//! every test here prints why it is skipped and passes.
//!
//! It creates its own namespace and a pod whose image cannot be pulled, waits for kubelet to
//! report the failure, checks that `remedy plan --kubeconfig` reports that pod, and deletes the
//! namespace.

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
        let nss: Api<Namespace> = Api::all(c.clone());
        nss.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .unwrap();
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
