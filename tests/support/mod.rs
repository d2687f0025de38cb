//! Shared test support: the test API (`fake_api`), an in-memory Kubernetes API server built on
//! the `kube-fake-client` store. Test files use it with `mod support;`.
#![allow(dead_code)]

pub mod fake_api;

use std::path::{Path, PathBuf};

/// A test API holding an example's objects; OpenShift's groups are all served when the
/// example is of an OpenShift cluster, as a real one serves them.
pub fn front_for(example: &Path) -> fake_api::http::HttpFront {
    let objects = fake_api::seed::load(example).unwrap();
    let openshift = objects
        .iter()
        .any(|o| o["apiVersion"].as_str().is_some_and(|a| a.contains(".openshift.io/")));
    let mut b = fake_api::Builder::default()
        .objects(objects)
        .token(fake_api::http::TOKEN);
    if openshift {
        b = b.openshift();
    }
    fake_api::http::HttpFront::start(b)
}

/// The objects the test API holds, written as one snapshot file in the front's directory:
/// the same state, for comparing a live run with a snapshot run.
pub fn dump_state(front: &fake_api::http::HttpFront) -> PathBuf {
    let dump = front.dir().join("state.json");
    let items = front.block_on(front.api.all_objects());
    std::fs::write(
        &dump,
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string(),
    )
    .unwrap();
    dump
}
