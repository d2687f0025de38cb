//! The live backend: the Kubernetes API through `kube`.
//!
//! Few requests whatever the cluster's size: discovery, then one cluster-wide paginated list
//! per kind a run needs (pods without finished ones, events about pods, service accounts,
//! owners, ...), each read at most once. Secrets and ConfigMaps are the exception: they are
//! read one by one, by name, so remedy never holds every credential of the cluster and needs
//! only `get` on them.
//!
//! Namespace-scoped rights: with `-n`, a cluster-wide list that RBAC forbids (403) is read
//! again as one list per requested namespace, and only those namespaces are then known: a
//! read elsewhere is forbidden, as it would be for that user. Without `-n`, a forbidden
//! list of pods or events stops the run and says to name the namespaces.

mod connect;
mod discovery;
mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

pub use connect::{ConnectOptions, Endpoint, connect};
pub use transport::{PAGE_SIZE, RetryPolicy};

use super::{ClusterError, ClusterSource, EventRecord, GroupKind, Object, ObjectKey, SourceInfo};
use discovery::{Discovery, Resource};
use transport::{Target, Transport};

/// Pods that have finished cannot be pulling images.
pub const POD_FIELD_SELECTOR: &str = "status.phase!=Succeeded,status.phase!=Failed";
/// Events about pods: the image-pull ones among them are kept.
pub const EVENT_FIELD_SELECTOR: &str = "involvedObject.kind=Pod";

/// How a kind is read: `get` by name, or one `list` of the whole kind.
pub fn read_verb(kind: &GroupKind) -> &'static str {
    if kind.group.is_empty() && matches!(kind.kind.as_str(), "Secret" | "ConfigMap") {
        "get"
    } else {
        "list"
    }
}

/// A kind read whole, indexed like a snapshot.
struct Listed {
    all: Vec<Arc<Object>>,
    index: HashMap<ObjectKey, Arc<Object>>,
    /// Set when the cluster-wide list was forbidden and these namespaces were listed instead.
    only: Option<Vec<String>>,
    /// The resource's name in errors (`serviceaccounts`).
    resource: String,
}

impl Listed {
    /// Whether objects of `namespace` were read (always, after a cluster-wide list).
    fn covers(&self, namespace: Option<&str>) -> bool {
        match (&self.only, namespace) {
            (None, _) => true,
            (Some(list), Some(ns)) => list.iter().any(|n| n == ns),
            (Some(_), None) => false,
        }
    }

    /// A read outside the namespaces a forbidden cluster-wide list was replaced by: forbidden,
    /// as the cluster-wide list was (a probe turns that into a note).
    fn forbidden(&self, namespace: Option<&str>) -> ClusterError {
        ClusterError::Forbidden {
            verb: "list".into(),
            resource: self.resource.clone(),
            namespace: namespace.map(str::to_string),
        }
    }
}

/// The error of a list RBAC forbids, for the lists a run cannot go without (pods, events,
/// image streams): which list, and what to do about it.
fn forbidden_list(e: ClusterError) -> ClusterError {
    match e {
        ClusterError::Forbidden {
            resource,
            namespace: None,
            ..
        } => ClusterError::Read {
            message: format!(
                "the cluster-wide list is forbidden (needs list on {resource} in every namespace); \
                 with rights in some namespaces only, name them: -n NAMESPACE (repeatable)"
            ),
            kind: resource,
        },
        other => other,
    }
}

pub struct Live {
    t: Transport,
    endpoint: Endpoint,
    discovery: Discovery,
    /// The namespaces asked for (`-n`): listed one by one when a cluster-wide list is
    /// forbidden. `None`: every namespace, and a forbidden list is an error.
    namespaces: Option<Vec<String>>,
    lists: Mutex<HashMap<GroupKind, Arc<Listed>>>,
    gets: Mutex<HashMap<ObjectKey, Option<Arc<Object>>>>,
    events: Mutex<Option<Arc<Vec<EventRecord>>>>,
}

impl Live {
    /// Connect and read the API group list (a 401 or an unreachable server fails here).
    pub async fn connect(opts: &ConnectOptions) -> Result<Live, ClusterError> {
        let (client, endpoint) = connect::connect(opts).await?;
        Self::with_client(client, endpoint, opts.request_timeout).await
    }

    /// From a client already made (tests give one that talks to a test API in process).
    pub async fn with_client(
        client: kube::Client,
        endpoint: Endpoint,
        request_timeout: std::time::Duration,
    ) -> Result<Live, ClusterError> {
        let t = Transport::new(client, endpoint.server.clone(), request_timeout);
        Self::start(t, endpoint).await
    }

    /// As [`Live::with_client`], with another retry policy.
    pub async fn with_retry(
        client: kube::Client,
        endpoint: Endpoint,
        request_timeout: std::time::Duration,
        retry: RetryPolicy,
    ) -> Result<Live, ClusterError> {
        let mut t = Transport::new(client, endpoint.server.clone(), request_timeout);
        t.retry = retry;
        Self::start(t, endpoint).await
    }

    async fn start(t: Transport, endpoint: Endpoint) -> Result<Live, ClusterError> {
        let discovery = Discovery::read(&t).await?;
        Ok(Live {
            t,
            endpoint,
            discovery,
            namespaces: None,
            lists: Mutex::new(HashMap::new()),
            gets: Mutex::new(HashMap::new()),
            events: Mutex::new(None),
        })
    }

    /// The namespaces the run is about (`-n`): a cluster-wide list RBAC forbids is read as
    /// one list per namespace of these instead. Empty: no fallback.
    pub fn scoped(mut self, namespaces: Vec<String>) -> Self {
        self.namespaces = (!namespaces.is_empty()).then_some(namespaces);
        self
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Requests sent so far, retries and discovery included.
    pub fn requests(&self) -> usize {
        self.t.requests()
    }

    async fn resource(&self, kind: &GroupKind) -> Result<Option<Resource>, ClusterError> {
        self.discovery.resource(&self.t, kind).await
    }

    /// Every item of a collection, converted: one cluster-wide list, or, when RBAC forbids
    /// that and `fallback` names namespaces, one list per namespace of those (then returned
    /// as `Some(namespaces)`).
    async fn read_all<T>(
        &self,
        r: &Resource,
        field_selector: Option<&str>,
        fallback: Option<&[String]>,
        mut convert: impl FnMut(Value) -> Option<T>,
    ) -> Result<(Vec<T>, Option<Vec<String>>), ClusterError> {
        match self.read_one(r, field_selector, None, &mut convert).await {
            Err(ClusterError::Forbidden { namespace: None, .. }) if r.namespaced && fallback.is_some() => {
                let list = fallback.unwrap_or_default();
                tracing::info!(resource = %r.display_name(), "the cluster-wide list is forbidden: listing the namespaces given with -n");
                let mut out = Vec::new();
                for ns in list {
                    out.append(&mut self.read_one(r, field_selector, Some(ns), &mut convert).await?);
                }
                Ok((out, Some(list.to_vec())))
            }
            other => other.map(|items| (items, None)),
        }
    }

    /// One list (cluster-wide, or of one namespace), every page of it.
    async fn read_one<T>(
        &self,
        r: &Resource,
        field_selector: Option<&str>,
        ns: Option<&str>,
        convert: &mut impl FnMut(Value) -> Option<T>,
    ) -> Result<Vec<T>, ClusterError> {
        let name = r.display_name();
        let what = Target {
            verb: "list",
            resource: &name,
            namespace: ns,
        };
        // A list whose continue token expired is read again from the start, once.
        let mut page_items: Vec<T> = Vec::new();
        for round in 0..2 {
            page_items.clear();
            let mut take = |v: Value| {
                if let Some(x) = convert(v) {
                    page_items.push(x);
                }
            };
            match self.t.list(&r.path(ns), field_selector, &what, &mut take).await {
                Err(ClusterError::Read { message, .. }) if round == 0 && message.starts_with(transport::EXPIRED) => {
                    tracing::debug!(resource = %name, "list expired; reading it again");
                }
                other => {
                    other?;
                    break;
                }
            }
        }
        Ok(page_items)
    }

    /// The whole kind, read once.
    async fn listed(&self, kind: &GroupKind) -> Result<Arc<Listed>, ClusterError> {
        if let Some(hit) = self.lists.lock().ok().and_then(|m| m.get(kind).cloned()) {
            return Ok(hit);
        }
        let mut resource = kind.kind.to_lowercase();
        let (mut all, only): (Vec<Arc<Object>>, _) = match self.resource(kind).await? {
            None => (Vec::new(), None),
            Some(r) => {
                resource = r.display_name();
                let is_pod = kind.group.is_empty() && kind.kind == "Pod";
                let selector = is_pod.then_some(POD_FIELD_SELECTOR);
                let api_version = r.api_version();
                let read = self
                    .read_all(&r, selector, self.namespaces.as_deref(), |mut v| {
                        if let Some(m) = v.as_object_mut() {
                            m.insert("kind".into(), Value::String(r.kind.clone()));
                            m.insert("apiVersion".into(), Value::String(api_version.clone()));
                        }
                        Object::from_value(v).ok().map(Arc::new)
                    })
                    .await;
                // The lists every run starts from (failures are found in them): no way on
                // without them. Other kinds are read by probes, which make a 403 a note.
                let failures_in = is_pod || (kind.group == "image.openshift.io" && kind.kind == "ImageStream");
                if failures_in {
                    read.map_err(forbidden_list)?
                } else {
                    read?
                }
            }
        };
        all.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        // Kept for the run, as a snapshot's are: compressed, in the order the list is read.
        crate::cluster::raw::pack(all.iter_mut().filter_map(Arc::get_mut).map(Object::raw_mut));
        let index = all.iter().map(|o| (o.key(), o.clone())).collect();
        let listed = Arc::new(Listed {
            all,
            index,
            only,
            resource,
        });
        if let Ok(mut m) = self.lists.lock() {
            m.insert(kind.clone(), listed.clone());
        }
        Ok(listed)
    }

    async fn get_by_name(
        &self,
        kind: &GroupKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Arc<Object>>, ClusterError> {
        let key = ObjectKey::new(kind, namespace, name);
        if let Some(hit) = self.gets.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(hit);
        }
        let obj = match self.resource(kind).await? {
            None => None,
            Some(r) => {
                let ns = namespace.filter(|_| r.namespaced);
                if r.namespaced && ns.is_none() {
                    return Ok(None);
                }
                let display = r.display_name();
                let what = Target {
                    verb: "get",
                    resource: &display,
                    namespace: ns,
                };
                let uri = format!("{}/{}", r.path(ns), transport::encode(name));
                self.t
                    .get(&uri, &what)
                    .await?
                    .and_then(|v| Object::from_value(v).ok())
                    .map(Arc::new)
            }
        };
        if let Ok(mut m) = self.gets.lock() {
            m.insert(key, obj.clone());
        }
        Ok(obj)
    }
}

impl ClusterSource for Live {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            kind: "live",
            name: format!("{} ({})", self.endpoint.context, self.endpoint.server),
        }
    }

    async fn list(&self, kind: &GroupKind, namespace: Option<&str>) -> Result<Vec<Arc<Object>>, ClusterError> {
        let listed = self.listed(kind).await?;
        if namespace.is_some() && !listed.covers(namespace) {
            return Err(listed.forbidden(namespace));
        }
        Ok(crate::cluster::in_namespace(&listed.all, namespace))
    }

    async fn get(
        &self,
        kind: &GroupKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Arc<Object>>, ClusterError> {
        if read_verb(kind) == "get" {
            return self.get_by_name(kind, namespace, name).await;
        }
        let listed = self.listed(kind).await?;
        let ns = if kind.is_cluster_scoped() { None } else { namespace };
        if !listed.covers(ns) {
            return Err(listed.forbidden(ns));
        }
        let key = ObjectKey {
            kind: kind.clone(),
            namespace: ns.map(str::to_string),
            name: name.to_string(),
        };
        // As in a snapshot: a kind remedy does not know to be cluster-scoped may be.
        Ok(listed.index.get(&key).cloned().or_else(|| {
            ns.is_some()
                .then(|| listed.index.get(&ObjectKey { namespace: None, ..key }).cloned())
                .flatten()
        }))
    }

    async fn pull_events(&self) -> Result<Arc<Vec<EventRecord>>, ClusterError> {
        if let Some(hit) = self.events.lock().ok().and_then(|e| e.clone()) {
            return Ok(hit);
        }
        let events = match self.resource(&GroupKind::core("Event")).await? {
            None => Vec::new(),
            Some(r) => {
                let mut ids = std::collections::HashSet::new();
                // One copy of what events repeat (namespaces, kinds, reasons, times).
                let mut names = crate::intern::Names::default();
                let (mut events, _) = self
                    .read_all(&r, Some(EVENT_FIELD_SELECTOR), self.namespaces.as_deref(), |v| {
                        let e = EventRecord::from_value_in(&v, &mut names).ok()?;
                        if !e.is_about_image_pull() {
                            return None;
                        }
                        // Pages of a list that was read again may repeat an event.
                        let id = v.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string);
                        if let Some(id) = id
                            && !ids.insert(id)
                        {
                            return None;
                        }
                        Some(e)
                    })
                    .await
                    .map_err(forbidden_list)?;
                events.sort();
                events
            }
        };
        let events = Arc::new(events);
        if let Ok(mut e) = self.events.lock() {
            *e = Some(events.clone());
        }
        Ok(events)
    }

    async fn has_api_group(&self, group: &str) -> Result<bool, ClusterError> {
        Ok(self.discovery.has_group(group))
    }

    fn discovers_apis(&self) -> bool {
        true
    }
}
