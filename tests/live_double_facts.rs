//! Measured facts about the raw test double (`kube-fake-client` 0.3.0, without the test API in
//! front). docs/testing.md cites these tests: if an upgrade changes a fact, a test here fails
//! and the document (and the test API's workarounds) must follow.

use serde_json::{Value, json};

async fn store() -> kube4::Client {
    kube_fake_client::ClientBuilder::new().build().await.unwrap()
}

async fn send(c: &kube4::Client, method: &str, uri: &str, ct: &str, body: Value) -> (u16, Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", ct)
        .body(kube4::client::Body::from(if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        }))
        .unwrap();
    let resp = c.send(req).await.unwrap();
    let code = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

const JSON: &str = "application/json";

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "a"}, "data": {"k": "v"}})
}

#[tokio::test]
async fn every_write_bumps_the_resource_version_even_a_no_op() {
    let c = store().await;
    let (_, created) = send(&c, "POST", "/api/v1/namespaces/a/configmaps", JSON, cm("x")).await;
    let rv0 = created["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    let (code, patched) = send(
        &c,
        "PATCH",
        "/api/v1/namespaces/a/configmaps/x",
        "application/merge-patch+json",
        json!({"data": {"k": "v"}}),
    )
    .await;
    assert_eq!(code, 200);
    assert_ne!(patched["metadata"]["resourceVersion"].as_str().unwrap(), rv0);
}

#[tokio::test]
async fn stale_resource_version_is_409_and_failed_test_is_422() {
    let c = store().await;
    send(&c, "POST", "/api/v1/namespaces/a/configmaps", JSON, cm("x")).await;
    let mut stale = cm("x");
    stale["metadata"]["resourceVersion"] = json!("12345");
    let (code, _) = send(&c, "PUT", "/api/v1/namespaces/a/configmaps/x", JSON, stale).await;
    assert_eq!(code, 409);
    let (code, _) = send(
        &c,
        "PATCH",
        "/api/v1/namespaces/a/configmaps/x",
        "application/json-patch+json",
        json!([{"op": "test", "path": "/data/k", "value": "other"}]),
    )
    .await;
    assert_eq!(code, 422);
}

#[tokio::test]
async fn dry_run_is_ignored_and_writes() {
    let c = store().await;
    let (code, _) = send(&c, "POST", "/api/v1/namespaces/a/configmaps?dryRun=All", JSON, cm("x")).await;
    assert_eq!(code, 201);
    let (code, _) = send(&c, "GET", "/api/v1/namespaces/a/configmaps/x", JSON, Value::Null).await;
    assert_eq!(code, 200, "the dry-run create was stored");
}

#[tokio::test]
async fn delete_preconditions_are_ignored() {
    let c = store().await;
    send(&c, "POST", "/api/v1/namespaces/a/configmaps", JSON, cm("x")).await;
    let (code, _) = send(
        &c,
        "DELETE",
        "/api/v1/namespaces/a/configmaps/x",
        JSON,
        json!({"preconditions": {"uid": "not-the-uid"}}),
    )
    .await;
    assert_eq!(code, 200, "deleted despite a wrong uid precondition");
}

#[tokio::test]
async fn limit_truncates_without_a_continue_token() {
    let c = store().await;
    for i in 0..5 {
        send(
            &c,
            "POST",
            "/api/v1/namespaces/a/configmaps",
            JSON,
            cm(&format!("c{i}")),
        )
        .await;
    }
    let (_, list) = send(&c, "GET", "/api/v1/configmaps?limit=2", JSON, Value::Null).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(
        list["metadata"].get("continue").is_none(),
        "the other 3 are unreachable"
    );
}

#[tokio::test]
async fn field_selector_inequality_matches_nothing() {
    let c = store().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"}, "spec": {"containers": []}, "status": {"phase": "Running"}});
    send(&c, "POST", "/api/v1/namespaces/a/pods", JSON, pod).await;
    let (_, list) = send(
        &c,
        "GET",
        "/api/v1/pods?fieldSelector=status.phase%21%3DSucceeded",
        JSON,
        Value::Null,
    )
    .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "a running pod is not found by phase!=Succeeded"
    );
}

#[tokio::test]
async fn no_discovery_no_watch_no_namespaces() {
    let c = store().await;
    for uri in ["/api", "/apis", "/api/v1"] {
        let req = http::Request::get(uri)
            .body(kube4::client::Body::from(Vec::new()))
            .unwrap();
        assert!(c.send(req).await.is_err(), "{uri} is served");
    }
    // Namespaces cannot be created or listed: the store cannot route /api/v1/namespaces.
    let req = http::Request::post("/api/v1/namespaces")
        .header("content-type", JSON)
        .body(kube4::client::Body::from(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})
                .to_string()
                .into_bytes(),
        ))
        .unwrap();
    assert!(c.send(req).await.is_err());
    let req = http::Request::get("/api/v1/pods?watch=true")
        .body(kube4::client::Body::from(Vec::new()))
        .unwrap();
    let resp = c.send(req).await.unwrap();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["kind"], "PodList", "a watch is answered with a plain list");
}

#[tokio::test]
async fn server_side_apply_conflicts_on_an_identical_value_from_another_manager() {
    let c = store().await;
    let apply = "application/apply-patch+yaml";
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "a"}, "data": {"k": "v"}});
    let (code, _) = send(
        &c,
        "PATCH",
        "/api/v1/namespaces/a/configmaps/x?fieldManager=one",
        apply,
        body.clone(),
    )
    .await;
    assert!(code < 300, "{code}");
    let (code, _) = send(
        &c,
        "PATCH",
        "/api/v1/namespaces/a/configmaps/x?fieldManager=two",
        apply,
        body,
    )
    .await;
    assert_eq!(code, 409, "a real server lets two managers share an identical value");
}
