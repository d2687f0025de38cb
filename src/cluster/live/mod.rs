//! The live backend: the Kubernetes API through `kube`.
//!
//! Few requests whatever the cluster's size: discovery, then one cluster-wide paginated list
//! per kind a run needs (pods without finished ones, events about pods, service accounts,
//! owners, ...), each read at most once. Secrets and ConfigMaps are the exception: they are
//! read one by one, by name, so remedy never holds every credential of the cluster and needs
//! only `get` on them.

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
}

pub struct Live {
    t: Transport,
    endpoint: Endpoint,
    discovery: Discovery,
    /// Only these namespaces' pods and events, when set (`-n`); everywhere otherwise.
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

    /// Look only at the pods and events of these namespaces.
    pub fn scoped(mut self, namespaces: Vec<String>) -> Self {
        self.namespaces = Some(namespaces);
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

    /// Every item of a collection, cluster-wide or in the scoped namespaces, converted.
    async fn read_all<T>(
        &self,
        r: &Resource,
        field_selector: Option<&str>,
        scope: Option<&[String]>,
        mut convert: impl FnMut(Value) -> Option<T>,
    ) -> Result<Vec<T>, ClusterError> {
        let name = r.display_name();
        let namespaces: Vec<Option<&str>> = match scope.filter(|_| r.namespaced) {
            Some(list) => list.iter().map(|n| Some(n.as_str())).collect(),
            None => vec![None],
        };
        let mut out = Vec::new();
        for ns in namespaces {
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
                    Err(ClusterError::Read { message, .. })
                        if round == 0 && message.starts_with(transport::EXPIRED) =>
                    {
                        tracing::debug!(resource = %name, "list expired; reading it again");
                    }
                    other => {
                        other?;
                        break;
                    }
                }
            }
            out.append(&mut page_items);
        }
        Ok(out)
    }

    /// The whole kind, read once.
    async fn listed(&self, kind: &GroupKind) -> Result<Arc<Listed>, ClusterError> {
        if let Some(hit) = self.lists.lock().ok().and_then(|m| m.get(kind).cloned()) {
            return Ok(hit);
        }
        let mut all: Vec<Arc<Object>> = match self.resource(kind).await? {
            None => Vec::new(),
            Some(r) => {
                let is_pod = kind.group.is_empty() && kind.kind == "Pod";
                let selector = is_pod.then_some(POD_FIELD_SELECTOR);
                let scope = if is_pod { self.namespaces.as_deref() } else { None };
                let api_version = r.api_version();
                self.read_all(&r, selector, scope, |mut v| {
                    if let Some(m) = v.as_object_mut() {
                        m.insert("kind".into(), Value::String(r.kind.clone()));
                        m.insert("apiVersion".into(), Value::String(api_version.clone()));
                    }
                    Object::from_value(v).ok().map(Arc::new)
                })
                .await?
            }
        };
        all.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let index = all.iter().map(|o| (o.key(), o.clone())).collect();
        let listed = Arc::new(Listed { all, index });
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
        Ok(match namespace {
            None => listed.all.clone(),
            Some(ns) => listed
                .all
                .iter()
                .filter(|o| o.namespace.as_deref() == Some(ns))
                .cloned()
                .collect(),
        })
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
                let mut events = self
                    .read_all(&r, Some(EVENT_FIELD_SELECTOR), self.namespaces.as_deref(), |v| {
                        let e = EventRecord::from_value(&v).ok()?;
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
                    .await?;
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
