//! Making failures: what a pod's failures share is made once per pod, and names many
//! failures repeat are kept once per run.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Failure;
use super::view::{PodView, Str};
use crate::cluster::{EventRecord, Object};

pub(super) fn set_registry(f: &mut Failure, names: &mut Names) {
    f.registry = registry_of(&f.image, names);
}

/// The registry an image is pulled from; empty when the image does not parse.
pub(super) fn registry_of(image: &str, names: &mut Names) -> Arc<str> {
    let host = crate::refs::image::ImageRef::parse(image).map(|r| r.registry_host().to_string());
    names.get(host.as_deref().unwrap_or_default())
}

/// One copy of each of a run's names that failures repeat (namespaces, images, containers,
/// registries, waiting reasons): shared by the failures and by the plan's subjects.
#[derive(Default)]
pub(super) struct Names {
    names: crate::intern::Names,
    /// Shared by every pod without labels.
    pub(super) no_labels: Arc<BTreeMap<String, String>>,
}

impl Names {
    pub(super) fn get(&mut self, s: &str) -> Arc<str> {
        self.names.get(s)
    }
}

/// What every failure of one pod has in common: made once per pod, shared by its failures.
#[derive(Clone)]
pub(super) struct PodFacts {
    namespace: Arc<str>,
    pod: Arc<str>,
    service_account: Arc<str>,
    node_name: Option<Arc<str>>,
    labels: Arc<BTreeMap<String, String>>,
    created: Option<Arc<str>>,
}

impl PodFacts {
    pub(super) fn of(pod: &Object, view: &PodView, ns: &str, names: &mut Names) -> Self {
        let shared = |s: &Option<Str>| s.as_ref().map(|s| Arc::from(s.as_str()));
        PodFacts {
            namespace: names.get(ns),
            pod: Arc::from(pod.name.as_str()),
            service_account: match &view.spec.service_account_name {
                Some(sa) => names.get(sa.as_str()),
                None => names.get("default"),
            },
            node_name: view.spec.node_name.as_ref().map(|n| names.get(n.as_str())),
            labels: if view.metadata.labels.is_empty() {
                names.no_labels.clone()
            } else {
                Arc::new(
                    view.metadata
                        .labels
                        .iter()
                        .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
                        .collect(),
                )
            },
            created: shared(&view.metadata.creation_timestamp),
        }
    }
}

pub(super) fn new_failure(
    facts: &PodFacts,
    container: Option<&str>,
    init: bool,
    image: &str,
    names: &mut Names,
) -> Failure {
    Failure {
        kind: "Pod",
        namespace: facts.namespace.clone(),
        pod: facts.pod.clone(),
        pod_exists: true,
        gone_uid: None,
        container: container.map(|c| names.get(c)),
        init_container: init,
        image: names.get(image),
        registry: registry_of(image, names),
        waiting_reason: None,
        waiting_message: None,
        evidence: Vec::new(),
        service_account: Some(facts.service_account.clone()),
        node_name: facts.node_name.clone(),
        labels: facts.labels.clone(),
        created: facts.created.clone(),
    }
}

pub(super) fn orphan(
    e: &EventRecord,
    container: Option<&str>,
    gone_uid: Option<&str>,
    image: &str,
    names: &mut Names,
) -> Failure {
    Failure {
        kind: "Pod",
        namespace: e.namespace.clone(),
        pod: e.involved_name.clone(),
        pod_exists: false,
        gone_uid: gone_uid.map(|u| names.get(u)),
        container: container.map(|c| names.get(c)),
        init_container: false,
        image: names.get(image),
        registry: registry_of(image, names),
        waiting_reason: None,
        waiting_message: None,
        evidence: Vec::new(),
        service_account: None,
        node_name: None,
        labels: Default::default(),
        created: None,
    }
}
