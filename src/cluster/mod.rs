//! Cluster state behind one trait. `snapshot` reads captured objects; a live backend
//! (the Kubernetes API through `kube`) implements the same trait. The engine never
//! knows which one it has.

mod event;
mod fields;
mod hidden;
pub mod live;
mod object;
pub(crate) mod raw;
mod snapshot;
mod wrong_field;

use std::future::Future;
use std::sync::Arc;

pub use event::EventRecord;
pub use object::{GroupKind, Object, ObjectKey, Version};
pub use raw::RawText;
pub use snapshot::{LoadOptions, SkippedFile, Snapshot};
pub use wrong_field::{FieldError, wrong_field, wrong_field_by};

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("reading {kind} failed: {message}")]
    Read { kind: String, message: String },
    /// RBAC refused a read (403): the run can go on without what it would have given.
    #[error(
        "cannot {verb} {resource} {}: forbidden (needs {verb} on {resource})",
        where_(namespace)
    )]
    Forbidden {
        verb: String,
        resource: String,
        namespace: Option<String>,
    },
    /// The credentials were refused (401).
    #[error(
        "the API server at {server} refused the credentials (401 Unauthorized): log in again or check the kubeconfig's user"
    )]
    Unauthorized { server: String },
    /// No answer after the retries: unreachable, timing out, or failing (5xx, 429).
    #[error("the API server at {server} is unavailable: {message}")]
    Unavailable { server: String, message: String },
    /// No usable connection settings (kubeconfig, context, in-cluster).
    #[error("{0}")]
    Config(String),
}

fn where_(namespace: &Option<String>) -> String {
    match namespace {
        Some(ns) => format!("in {ns}"),
        None => "in any namespace".to_string(),
    }
}

/// Where the state comes from, for the report header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// `snapshot` or `live`.
    pub kind: &'static str,
    /// The snapshot path or the kubeconfig context.
    pub name: String,
}

/// The one read interface the engine uses. Only `probe` calls it.
///
/// Methods are async so the live backend can make API calls; the snapshot answers at once.
pub trait ClusterSource {
    fn info(&self) -> SourceInfo;

    /// All objects of a kind, in one namespace or (with `None`) everywhere, sorted by namespace and name.
    fn list(
        &self,
        kind: &GroupKind,
        namespace: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Arc<Object>>, ClusterError>>;

    /// One object; `namespace` is ignored for cluster-scoped kinds.
    fn get(
        &self,
        kind: &GroupKind,
        namespace: Option<&str>,
        name: &str,
    ) -> impl Future<Output = Result<Option<Arc<Object>>, ClusterError>>;

    /// Core/v1 and events.k8s.io/v1 events about image pulls (see
    /// `EventRecord::is_about_image_pull`), normalised, in a stable order. Other events are
    /// never read, so backends need not keep them.
    fn pull_events(&self) -> impl Future<Output = Result<Arc<Vec<EventRecord>>, ClusterError>>;

    /// Whether the cluster serves an API group (OpenShift detection uses `config.openshift.io`).
    fn has_api_group(&self, group: &str) -> impl Future<Output = Result<bool, ClusterError>>;

    /// Whether `has_api_group` is the cluster's own word (discovery), so that a rule needing
    /// an absent group can be skipped. A snapshot only knows the groups of the objects it
    /// holds: absence there proves nothing.
    fn discovers_apis(&self) -> bool {
        false
    }
}

/// The objects of one namespace, or all of them: how both backends answer `list`.
pub(crate) fn in_namespace(all: &[Arc<Object>], namespace: Option<&str>) -> Vec<Arc<Object>> {
    match namespace {
        None => all.to_vec(),
        Some(ns) => all
            .iter()
            .filter(|o| o.namespace.as_deref() == Some(ns))
            .cloned()
            .collect(),
    }
}
