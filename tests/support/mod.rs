//! Shared test support: the test API (`fake_api`), an in-memory Kubernetes API server built on
//! the `kube-fake-client` store. Test files use it with `mod support;`.
#![allow(dead_code)]

pub mod fake_api;
