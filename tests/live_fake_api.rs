//! The test API itself: the gaps of the store it closes behave as the API server does.

mod support;

use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams, Preconditions};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use support::fake_api::{Builder, Effect, FakeApi, Fault, http::HttpFront};

fn pod(ns: &str, name: &str, phase: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
           "spec": {"containers": [{"name": "c", "image": "quay.io/a/b:1"}]}, "status": {"phase": phase}})
}

fn dynamic(client: &kube::Client, group: &str, version: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    Api::all_with(client.clone(), &ar)
}

/// A JSON patch (kube 5 types it only with its `jsonpatch` feature).
async fn json_patch(client: &kube::Client, uri: &str, dry_run: bool, patch: &Value) -> Result<Value, kube::Error> {
    let uri = if dry_run {
        format!("{uri}?dryRun=All")
    } else {
        uri.to_string()
    };
    let req = http::Request::patch(uri)
        .header("content-type", "application/json-patch+json")
        .body(serde_json::to_vec(patch).unwrap())
        .unwrap();
    client.request::<Value>(req).await
}

async fn raw_get(client: &kube::Client, uri: &str) -> Value {
    let req = http::Request::get(uri).body(Vec::new()).unwrap();
    client.request::<Value>(req).await.unwrap()
}

#[tokio::test]
async fn lists_are_paginated_with_continue_tokens_from_one_snapshot() {
    let api = FakeApi::builder()
        .objects((0..25).map(|i| pod(&format!("ns{}", i % 3), &format!("p{i:02}"), "Running")))
        .build()
        .await;
    let client = api.client();
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::all(client.clone());
    let first = pods.list(&ListParams::default().limit(10)).await.unwrap();
    assert_eq!(first.items.len(), 10);
    let token = first.metadata.continue_.clone().expect("a continue token");
    assert_eq!(first.metadata.remaining_item_count, Some(15));
    // A pod created after the first page is not in later pages: one consistent list.
    api.create(pod("ns0", "late", "Running")).await.unwrap();
    let mut names: Vec<String> = first.items.iter().map(|p| p.metadata.name.clone().unwrap()).collect();
    let mut next = Some(token);
    while let Some(t) = next {
        let page = pods
            .list(&ListParams::default().limit(10).continue_token(&t))
            .await
            .unwrap();
        names.extend(page.items.iter().map(|p| p.metadata.name.clone().unwrap()));
        next = page.metadata.continue_.filter(|c| !c.is_empty());
    }
    assert_eq!(names.len(), 25);
    assert!(!names.contains(&"late".to_string()));
    // Sorted by namespace then name.
    assert_eq!(names[0], "p00");
    assert_eq!(api.log().iter().filter(|l| l.verb == "list").count(), 3);
    // A fresh list sees the new pod.
    assert_eq!(pods.list(&ListParams::default()).await.unwrap().items.len(), 26);
}

#[tokio::test]
async fn field_selectors_exclude_finished_pods_and_refuse_unsupported_fields() {
    let api = FakeApi::builder()
        .objects([
            pod("a", "run", "Running"),
            pod("a", "done", "Succeeded"),
            pod("b", "bad", "Failed"),
            pod("b", "wait", "Pending"),
        ])
        .build()
        .await;
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::all(api.client());
    let lp = ListParams::default().fields("status.phase!=Succeeded,status.phase!=Failed");
    let mut names: Vec<String> = pods
        .list(&lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.metadata.name.unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["run", "wait"]);
    let err = pods
        .list(&ListParams::default().fields("spec.containers=x"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("field label not supported"), "{err}");
}

#[tokio::test]
async fn discovery_serves_openshift_groups_only_when_asked() {
    let plain = FakeApi::new().await;
    let groups = raw_get(&plain.client(), "/apis").await;
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"apps"));
    assert!(!names.contains(&"config.openshift.io"));
    let cv = dynamic(
        &plain.client(),
        "config.openshift.io",
        "v1",
        "ClusterVersion",
        "clusterversions",
    );
    let e = cv.get("version").await.unwrap_err();
    assert!(
        matches!(e, kube::Error::Api(ref s) if s.code == 404),
        "an absent group is a 404: {e}"
    );

    let ocp = FakeApi::builder().openshift().build().await;
    let groups = raw_get(&ocp.client(), "/apis").await;
    assert!(
        groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "config.openshift.io")
    );
    let res = raw_get(&ocp.client(), "/apis/config.openshift.io/v1").await;
    let images = res["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "images")
        .unwrap();
    assert_eq!(images["namespaced"], false);
    let core = raw_get(&ocp.client(), "/api/v1").await;
    assert!(
        core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "pods" && r["namespaced"] == true)
    );
    assert!(ocp.discovery_requests() >= 3);
    assert_eq!(ocp.reads(), 0, "discovery is not counted as reads");
}

#[tokio::test]
async fn cluster_scoped_custom_objects_have_no_namespace() {
    let api = FakeApi::builder()
        .objects([
            json!({"apiVersion": "config.openshift.io/v1", "kind": "Image", "metadata": {"name": "cluster"},
                         "spec": {"registrySources": {"insecureRegistries": ["r.example:5000"]}}}),
        ])
        .build()
        .await;
    let images = dynamic(&api.client(), "config.openshift.io", "v1", "Image", "images");
    let img = images.get("cluster").await.unwrap();
    assert_eq!(img.metadata.namespace, None);
    assert_eq!(
        img.data["spec"]["registrySources"]["insecureRegistries"][0],
        "r.example:5000"
    );
    let all = images.list(&ListParams::default()).await.unwrap();
    assert_eq!(all.items.len(), 1);
    assert_eq!(all.items[0].metadata.namespace, None);
}

#[tokio::test]
async fn scripted_faults_statuses_delays_and_closed_connections() {
    let api = FakeApi::builder().objects([pod("a", "p", "Running")]).build().await;
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(api.client(), "a");
    api.fault(Fault::on("GET", "/pods/p").status(503).times(2));
    for _ in 0..2 {
        let e = pods.get("p").await.unwrap_err();
        assert!(matches!(e, kube::Error::Api(ref s) if s.code == 503), "{e}");
    }
    assert!(pods.get("p").await.is_ok(), "the fault is used up after two requests");
    api.fault(Fault::on("GET", "/pods/p").close());
    let e = pods.get("p").await.unwrap_err();
    assert!(
        !matches!(e, kube::Error::Api(_)),
        "a closed connection is no API answer: {e}"
    );
    api.fault(Fault {
        effect: Effect::Delay(Duration::from_millis(200)),
        ..Fault::on("*", "/pods/p")
    });
    let t = std::time::Instant::now();
    pods.get("p").await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(200));
    let statuses: Vec<u16> = api.log().iter().map(|l| l.status).collect();
    assert_eq!(statuses, [503, 503, 200, 0, 200]);
}

#[tokio::test]
async fn permissions_forbid_per_resource_and_namespace() {
    let secret = |ns: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": ns}, "type": "Opaque"});
    let api = FakeApi::builder()
        .objects([secret("openshift-config"), secret("apps")])
        .build()
        .await;
    api.forbid("get", "", "secrets", Some("openshift-config"));
    let c = api.client();
    let e = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(c.clone(), "openshift-config")
        .get("s")
        .await
        .unwrap_err();
    match e {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 403);
            assert!(s.message.contains("cannot get resource \"secrets\""), "{}", s.message);
        }
        other => panic!("{other}"),
    }
    assert!(
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(c, "apps")
            .get("s")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn delete_preconditions_protect_a_replacement() {
    let api = FakeApi::builder().objects([pod("a", "p", "Running")]).build().await;
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(api.client(), "a");
    let old_uid = pods.get("p").await.unwrap().metadata.uid.unwrap();
    // The pod is replaced (same name, new uid) before the delete.
    assert!(api.delete("v1", "Pod", Some("a"), "p").await);
    api.create(pod("a", "p", "Running")).await.unwrap();
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(old_uid),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let e = pods.delete("p", &dp).await.unwrap_err();
    assert!(matches!(e, kube::Error::Api(ref s) if s.code == 409), "{e}");
    assert!(
        api.get("v1", "Pod", Some("a"), "p").await.is_some(),
        "the replacement is still there"
    );
    assert_eq!(api.writes(), 1);
}

#[tokio::test]
async fn dry_run_writes_answer_without_storing() {
    let api = FakeApi::builder()
        .objects([
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "a"}}),
        ])
        .build()
        .await;
    let sas: Api<k8s_openapi::api::core::v1::ServiceAccount> = Api::namespaced(api.client(), "a");
    let patch = json!([{"op": "add", "path": "/imagePullSecrets", "value": [{"name": "pull"}]}]);
    let client = api.client();
    let uri = "/api/v1/namespaces/a/serviceaccounts/default";
    let out = json_patch(&client, uri, true, &patch).await.unwrap();
    assert_eq!(out["imagePullSecrets"][0]["name"], "pull");
    let stored = api.get("v1", "ServiceAccount", Some("a"), "default").await.unwrap();
    assert!(stored.get("imagePullSecrets").is_none(), "a dry run stores nothing");
    // A failing `test` is a 422, as for a real write.
    let failing = json!([{"op": "test", "path": "/metadata/uid", "value": "not-the-uid"}]);
    let e = json_patch(&client, uri, true, &failing).await.unwrap_err();
    assert!(matches!(e, kube::Error::Api(ref s) if s.code == 422), "{e}");
    let created = sas
        .create(
            &PostParams {
                dry_run: true,
                ..PostParams::default()
            },
            &serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(created.metadata.name.as_deref(), Some("x"));
    assert!(api.get("v1", "ServiceAccount", Some("a"), "x").await.is_none());
    assert!(api.log().iter().all(|l| l.dry_run && l.is_write()));
    // A real write does store.
    json_patch(&client, uri, false, &patch).await.unwrap();
    let stored = api.get("v1", "ServiceAccount", Some("a"), "default").await.unwrap();
    assert_eq!(stored["imagePullSecrets"][0]["name"], "pull");
}

#[tokio::test]
async fn examples_seed_the_store() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let api = Builder::default()
        .snapshot(root.join("seed-002-untrusted-ca"))
        .build()
        .await;
    let pods = api.objects("v1", "Pod").await;
    assert_eq!(pods.len(), 1);
    assert!(
        api.get("config.openshift.io/v1", "Image", None, "cluster")
            .await
            .is_some()
    );
    assert!(
        api.get("v1", "Secret", Some("openshift-config"), "pull-secret")
            .await
            .is_some()
    );
    assert!(!api.objects("v1", "Event").await.is_empty());
}

#[test]
fn the_http_front_serves_a_kube_client_through_its_kubeconfig() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let front = HttpFront::start(
        FakeApi::builder()
            .objects([pod("a", "p", "Running")])
            .token("test-token"),
    );
    let kubeconfig = front.kubeconfig().to_path_buf();
    let names = front.block_on(async move {
        let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
        let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(cfg).unwrap();
        let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::all(client);
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|p| p.metadata.name.unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(names, ["p"]);
    let log = front.api.log();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].method.as_str(), log[0].path.as_str()), ("GET", "/api/v1/pods"));
    // A wrong token is refused.
    let bad = front.write_kubeconfig("bad", "bad", "wrong");
    let code = front.block_on(async move {
        let kc = kube::config::Kubeconfig::read_from(&bad).unwrap();
        let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
        let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::all(kube::Client::try_from(cfg).unwrap());
        match pods.list(&ListParams::default()).await {
            Err(kube::Error::Api(s)) => s.code,
            other => panic!("{other:?}"),
        }
    });
    assert_eq!(code, 401);
}

#[tokio::test]
async fn every_example_seeds_with_every_object() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 6);
    for dir in dirs {
        let objects = support::fake_api::seed::load(&dir).unwrap();
        let mut keys: Vec<_> = objects.iter().map(support::fake_api::seed::key).collect();
        keys.sort();
        keys.dedup();
        let api = Builder::default().objects(objects).build().await;
        let stored = api.all_objects().await;
        assert_eq!(stored.len(), keys.len(), "{}", dir.display());
    }
}
