//! The exact requests the live backend sends, and how it takes each answer: a scripted mock
//! (kube's `tower-test` pattern) plays the API server.

use std::time::Duration;

use http::{Request, Response};
use kube::client::Body;
use remedy::cluster::live::{Endpoint, Live, RetryPolicy};
use remedy::cluster::{ClusterError, ClusterSource, GroupKind};
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

type Mock = Handle<Request<Body>, Response<Body>>;

fn endpoint() -> Endpoint {
    Endpoint {
        context: "mock".into(),
        server: "http://127.0.0.1:1".into(),
    }
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    }
}

fn answer(code: u16, body: Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string().into_bytes()))
        .unwrap()
}

fn status(code: u16, message: &str) -> Response<Body> {
    answer(
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}),
    )
}

/// Expect one request for `uri` (path and query) and answer it.
async fn expect(handle: &mut Mock, uri: &str, resp: Response<Body>) {
    let (req, send) = handle.next_request().await.expect("a request");
    assert_eq!(req.method(), "GET");
    assert_eq!(req.uri().to_string(), uri);
    send.send_response(resp);
}

async fn discovery(handle: &mut Mock) {
    expect(
        handle,
        "/apis",
        answer(200, json!({"kind": "APIGroupList", "groups": []})),
    )
    .await;
}

fn core_resources() -> Value {
    json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "pods", "kind": "Pod", "namespaced": true},
        {"name": "pods/status", "kind": "Pod", "namespaced": true},
        {"name": "secrets", "kind": "Secret", "namespaced": true},
        {"name": "events", "kind": "Event", "namespaced": true},
        {"name": "serviceaccounts", "kind": "ServiceAccount", "namespaced": true}]})
}

fn pod(ns: &str, name: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": ns}, "spec": {"containers": []}})
}

const PODS: &str = "/api/v1/pods?limit=500&fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed";

#[tokio::test]
async fn pods_are_one_paginated_cluster_wide_list_read_once() {
    let (svc, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        discovery(&mut handle).await;
        expect(&mut handle, "/api/v1", answer(200, core_resources())).await;
        expect(
            &mut handle,
            PODS,
            answer(
                200,
                json!({"kind": "PodList", "metadata": {"continue": "t/1"}, "items": [pod("a", "p1")]}),
            ),
        )
        .await;
        expect(
            &mut handle,
            &format!("{PODS}&continue=t%2F1"),
            answer(
                200,
                json!({"kind": "PodList", "metadata": {}, "items": [pod("b", "p2")]}),
            ),
        )
        .await;
        // The handle is dropped here: any further request fails the test.
    });
    let live = Live::with_retry(
        kube::Client::new(svc, "default"),
        endpoint(),
        Duration::from_secs(5),
        fast(),
    )
    .await
    .unwrap();
    let pods = live.list(&GroupKind::core("Pod"), None).await.unwrap();
    let names: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["p1", "p2"]);
    assert_eq!(pods[0].kind, "Pod", "list items get their kind back");
    server.await.unwrap();
    // Answered from the list: no request.
    let again = live.get(&GroupKind::core("Pod"), Some("b"), "p2").await.unwrap();
    assert_eq!(again.unwrap().name, "p2");
    assert!(
        live.get(&GroupKind::core("Pod"), Some("a"), "gone")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(live.list(&GroupKind::core("Pod"), Some("a")).await.unwrap().len(), 1);
    assert_eq!(live.requests(), 4);
}

#[tokio::test]
async fn a_503_is_retried_then_the_answer_is_used() {
    let (svc, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        discovery(&mut handle).await;
        expect(&mut handle, "/api/v1", answer(200, core_resources())).await;
        let uri = "/api/v1/namespaces/apps/secrets/pull";
        expect(&mut handle, uri, status(503, "etcd leader changed")).await;
        expect(&mut handle, uri, status(503, "etcd leader changed")).await;
        expect(
            &mut handle,
            uri,
            answer(
                200,
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pull", "namespace": "apps"}}),
            ),
        )
        .await;
    });
    let live = Live::with_retry(
        kube::Client::new(svc, "default"),
        endpoint(),
        Duration::from_secs(5),
        fast(),
    )
    .await
    .unwrap();
    let s = live
        .get(&GroupKind::core("Secret"), Some("apps"), "pull")
        .await
        .unwrap();
    assert_eq!(s.unwrap().name, "pull");
    server.await.unwrap();
    // Read once: the second read is the cache's.
    assert!(
        live.get(&GroupKind::core("Secret"), Some("apps"), "pull")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(live.requests(), 5);
}

#[tokio::test]
async fn retries_are_bounded() {
    let (svc, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        for _ in 0..3 {
            expect(&mut handle, "/apis", status(500, "boom")).await;
        }
    });
    let err = Live::with_retry(
        kube::Client::new(svc, "default"),
        endpoint(),
        Duration::from_secs(5),
        fast(),
    )
    .await
    .err()
    .expect("an error after three tries");
    server.await.unwrap();
    assert!(matches!(err, ClusterError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("after 3 tries"), "{err}");
}

#[tokio::test]
async fn a_401_is_an_error_at_once() {
    let (svc, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        expect(&mut handle, "/apis", status(401, "Unauthorized")).await;
    });
    let err = Live::with_retry(
        kube::Client::new(svc, "default"),
        endpoint(),
        Duration::from_secs(5),
        fast(),
    )
    .await
    .err()
    .expect("an error");
    server.await.unwrap();
    assert!(matches!(err, ClusterError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("401"), "{err}");
}

#[tokio::test]
async fn a_403_names_what_could_not_be_read_and_what_permission_is_missing() {
    let (svc, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        discovery(&mut handle).await;
        expect(&mut handle, "/api/v1", answer(200, core_resources())).await;
        expect(
            &mut handle,
            "/api/v1/namespaces/openshift-config/secrets/pull-secret",
            status(403, "secrets \"pull-secret\" is forbidden"),
        )
        .await;
    });
    let live = Live::with_retry(
        kube::Client::new(svc, "default"),
        endpoint(),
        Duration::from_secs(5),
        fast(),
    )
    .await
    .unwrap();
    let err = live
        .get(&GroupKind::core("Secret"), Some("openshift-config"), "pull-secret")
        .await
        .unwrap_err();
    server.await.unwrap();
    assert_eq!(
        err.to_string(),
        "cannot get secrets in openshift-config: forbidden (needs get on secrets)"
    );
}

#[tokio::test]
async fn a_kind_the_cluster_does_not_serve_reads_as_empty_without_a_request() {
    let (svc, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        discovery(&mut handle).await;
    });
    let live = Live::with_retry(
        kube::Client::new(svc, "default"),
        endpoint(),
        Duration::from_secs(5),
        fast(),
    )
    .await
    .unwrap();
    server.await.unwrap();
    let cv = GroupKind::new("config.openshift.io", "ClusterVersion");
    assert!(live.get(&cv, None, "version").await.unwrap().is_none());
    assert!(!live.has_api_group("config.openshift.io").await.unwrap());
    assert_eq!(live.requests(), 1);
}

#[tokio::test]
async fn events_are_one_list_of_pod_events_keeping_only_image_pulls() {
    let (svc, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let ev = |name: &str, reason: &str, msg: &str| {
        json!({"metadata": {"name": name, "namespace": "a", "uid": name}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "a"},
               "reason": reason, "message": msg, "type": "Warning"})
    };
    let server = tokio::spawn(async move {
        discovery(&mut handle).await;
        expect(&mut handle, "/api/v1", answer(200, core_resources())).await;
        expect(
            &mut handle,
            "/api/v1/events?limit=500&fieldSelector=involvedObject.kind%3DPod",
            answer(
                200,
                json!({"kind": "EventList", "metadata": {}, "items": [
                ev("e1", "Failed", "Failed to pull image \"x\": unauthorized"),
                ev("e2", "Scheduled", "Successfully assigned a/p to node"),
                ev("e3", "Failed", "Failed to pull image \"y\": unauthorized")]}),
            ),
        )
        .await;
    });
    let live = Live::with_retry(
        kube::Client::new(svc, "default"),
        endpoint(),
        Duration::from_secs(5),
        fast(),
    )
    .await
    .unwrap();
    let events = live.pull_events().await.unwrap();
    server.await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(&*events[0].reason, "Failed");
    // What events repeat is kept once for the list.
    assert!(std::sync::Arc::ptr_eq(&events[0].reason, &events[1].reason));
    assert!(std::sync::Arc::ptr_eq(&events[0].namespace, &events[1].namespace));
    assert_eq!(live.pull_events().await.unwrap().len(), 2, "read once");
    assert_eq!(live.requests(), 3);
}
