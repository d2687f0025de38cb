//! The test API: a stateful in-memory Kubernetes API server for tests.
//!
//! The store is `kube-fake-client` 0.3.0 (kube 4). In front of it, this module adds what the
//! store lacks and remedy relies on (see docs/testing.md): discovery, `limit`/`continue`
//! pagination with a consistent snapshot per list, field selectors with `!=`, cluster-scoped
//! custom kinds, delete preconditions, `dryRun`, server-side apply conflicts that name their
//! fields, a request log, permissions and scripted faults. It is reachable two ways:
//! - in process, as a kube 5 `kube::Client` ([`FakeApi::client`]);
//! - over HTTP on 127.0.0.1 with a generated kubeconfig ([`http::HttpFront`]), so the real
//!   binary runs with `--kubeconfig`.

pub mod controller;
mod dryrun;
pub mod http;
pub mod kinds;
mod query;
pub mod seed;
mod ssa;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};

pub use kinds::ResourceInfo;
use query::Query;

/// Where the store keeps objects of cluster-scoped custom kinds: it treats every custom kind as
/// namespaced, so they are stored in this namespace and served without it.
const CLUSTER_SCOPE_NS: &str = "zz-cluster-scoped";

/// One request as the test API received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// The raw query string (percent-encoded, as sent).
    pub query: String,
    /// `get`, `list`, `create`, `update`, `patch`, `delete`, `deletecollection`, `watch` or
    /// `discovery`.
    pub verb: String,
    pub status: u16,
    pub dry_run: bool,
}

impl Logged {
    pub fn is_write(&self) -> bool {
        matches!(
            self.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        )
    }

    pub fn is_read(&self) -> bool {
        matches!(self.verb.as_str(), "get" | "list" | "watch")
    }

    /// A query parameter, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        Query::parse(&self.query).get(name).map(str::to_string)
    }
}

/// What a scripted fault does to a matching request.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Answer with this status (a Kubernetes `Status` body with the usual reason).
    Status(u16),
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Drop the connection without an answer (a transport error for the client).
    Close,
}

/// A scripted fault: the first `times` requests matching `method` and `path` get `effect`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Option<String>,
    /// Matches when the request path contains this.
    pub path: String,
    /// Matches when the raw query contains this (empty: any).
    pub query: String,
    pub times: usize,
    pub effect: Effect,
}

impl Fault {
    /// A fault on requests with this method (`*` for any) whose path contains `path`; once,
    /// answering 500, until changed.
    pub fn on(method: &str, path: &str) -> Fault {
        Fault {
            method: (method != "*").then(|| method.to_ascii_uppercase()),
            path: path.to_string(),
            query: String::new(),
            times: 1,
            effect: Effect::Status(500),
        }
    }
    pub fn status(mut self, code: u16) -> Fault {
        self.effect = Effect::Status(code);
        self
    }
    pub fn delay(mut self, d: Duration) -> Fault {
        self.effect = Effect::Delay(d);
        self
    }
    pub fn close(mut self) -> Fault {
        self.effect = Effect::Close;
        self
    }
    pub fn times(mut self, n: usize) -> Fault {
        self.times = n;
        self
    }
    pub fn always(self) -> Fault {
        self.times(usize::MAX)
    }
    pub fn query(mut self, q: &str) -> Fault {
        self.query = q.to_string();
        self
    }
}

/// A permission rule: `verb` on `resource` (plural; `*` for any) of `group`, in `namespace`
/// (`None`: everywhere, cluster-wide requests included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub verbs: Vec<String>,
    pub group: String,
    pub resource: String,
    pub namespace: Option<String>,
}

impl Rule {
    pub fn new(verbs: &[&str], group: &str, resource: &str, namespace: Option<&str>) -> Rule {
        Rule {
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            group: group.to_string(),
            resource: resource.to_string(),
            namespace: namespace.map(str::to_string),
        }
    }

    fn matches(&self, verb: &str, group: &str, resource: &str, namespace: Option<&str>) -> bool {
        (self.verbs.iter().any(|v| v == verb || v == "*"))
            && (self.group == group || self.group == "*")
            && (self.resource == resource || self.resource == "*")
            && match (&self.namespace, namespace) {
                (None, _) => true,
                (Some(a), Some(b)) => a == b,
                (Some(_), None) => false,
            }
    }
}

/// Who may do what. By default everything is allowed except `deny` rules; with `only`, every
/// request that no rule allows is forbidden (as RBAC does).
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    pub only: Option<Vec<Rule>>,
    pub deny: Vec<Rule>,
}

#[derive(Default)]
struct State {
    log: Vec<Logged>,
    faults: Vec<Fault>,
    permissions: Permissions,
    /// Custom groups served (as installed CRDs).
    groups: BTreeSet<String>,
    /// Lists being paged: each list is read once, then served page by page, as the API
    /// server serves pages from one resourceVersion.
    pages: HashMap<u64, Arc<Vec<Value>>>,
    next_list: u64,
    token: Option<String>,
    expire_continue: bool,
    /// The simulated ReplicaSet controller, when on: what its replacement pods show.
    controller: Option<controller::Replacement>,
    replacements: u64,
    /// Namespaces, kept here: the store cannot route `/api/v1/namespaces[/NAME]` at all.
    namespaces: std::collections::BTreeMap<String, Value>,
    namespace_uids: u64,
}

/// The test API. Cheap to clone; clones share the store, the log and the faults.
#[derive(Clone)]
pub struct FakeApi {
    store: kube4::Client,
    state: Arc<Mutex<State>>,
}

/// Settings for [`FakeApi::build`].
#[derive(Default)]
pub struct Builder {
    groups: BTreeSet<String>,
    objects: Vec<Value>,
    token: Option<String>,
}

impl Builder {
    /// Serve the OpenShift (and OLM) groups, even with no objects in them.
    pub fn openshift(mut self) -> Self {
        self.groups
            .extend(kinds::OPENSHIFT_GROUPS.iter().map(|g| g.to_string()));
        self
    }
    /// Serve one custom group (groups of seeded objects are served anyway).
    pub fn group(mut self, g: &str) -> Self {
        self.groups.insert(g.to_string());
        self
    }
    /// Objects to create (duplicates: the last wins).
    pub fn objects(mut self, objects: impl IntoIterator<Item = Value>) -> Self {
        self.objects.extend(objects);
        self
    }
    /// The objects of snapshot files or directories (`examples/*`), as `remedy plan --snapshot`
    /// reads them.
    pub fn snapshot(self, path: impl AsRef<std::path::Path>) -> Self {
        let objects = seed::load(path.as_ref()).unwrap_or_else(|e| panic!("{e}"));
        self.objects(objects)
    }
    /// Require `Authorization: Bearer TOKEN` (else 401). The in-process client sends none, so
    /// use this with the HTTP front.
    pub fn token(mut self, t: &str) -> Self {
        self.token = Some(t.to_string());
        self
    }

    pub async fn build(self) -> FakeApi {
        let store = kinds::register_all(kube_fake_client::ClientBuilder::new())
            .build()
            .await
            .expect("building the store");
        let mut groups = self.groups;
        let mut unknown = BTreeSet::new();
        for o in &self.objects {
            match kinds::by_kind(str_at(o, "apiVersion"), str_at(o, "kind")) {
                Some(r) if !r.builtin => {
                    groups.insert(r.group.to_string());
                }
                Some(_) => {}
                None => {
                    unknown.insert(format!("{} {}", str_at(o, "apiVersion"), str_at(o, "kind")));
                }
            }
        }
        assert!(
            unknown.is_empty(),
            "the test API does not serve {unknown:?}: add them to tests/support/fake_api/kinds.rs"
        );
        let api = FakeApi {
            store,
            state: Arc::new(Mutex::new(State {
                groups,
                token: self.token,
                ..State::default()
            })),
        };
        // The last copy of an object wins, as in a snapshot.
        let mut seen = HashMap::new();
        let mut ordered = Vec::new();
        for o in self.objects {
            let key = seed::key(&o);
            match seen.get(&key) {
                Some(&i) => ordered[i] = o,
                None => {
                    seen.insert(key, ordered.len());
                    ordered.push(o);
                }
            }
        }
        for o in ordered {
            api.create(o).await.unwrap_or_else(|e| panic!("seeding: {e}"));
        }
        api
    }
}

fn str_at<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A request routed to a resource.
#[derive(Debug, Clone)]
struct Route {
    res: &'static ResourceInfo,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

impl Route {
    /// The path the store serves this resource at.
    fn store_path(&self) -> String {
        let r = self.res;
        let base = if r.group.is_empty() {
            format!("/api/{}", r.version)
        } else {
            format!("/apis/{}/{}", r.group, r.version)
        };
        let ns = if !r.namespaced && !r.builtin {
            Some(CLUSTER_SCOPE_NS)
        } else {
            self.namespace.as_deref()
        };
        let mut p = base;
        if let Some(ns) = ns {
            p.push_str(&format!("/namespaces/{ns}"));
        }
        p.push_str(&format!("/{}", r.plural));
        if let Some(n) = &self.name {
            p.push_str(&format!("/{n}"));
        }
        if let Some(s) = &self.subresource {
            p.push_str(&format!("/{s}"));
        }
        p
    }
}

/// What the client gets back.
pub enum Answer {
    Response(::http::Response<Bytes>),
    /// Close the connection without a response.
    Close,
}

fn status_reason(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    }
}

/// A Kubernetes `Status` answer.
pub fn status(code: u16, message: &str) -> ::http::Response<Bytes> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": status_reason(code), "code": code,
    });
    json_response(code, &body)
}

fn json_response(code: u16, body: &Value) -> ::http::Response<Bytes> {
    let mut b = ::http::Response::builder()
        .status(code)
        .header("content-type", "application/json");
    if code == 429 || code == 503 {
        b = b.header("retry-after", "0");
    }
    b.body(Bytes::from(body.to_string())).expect("a valid response")
}

fn verb_of(method: &str, route: &Route, q: &Query) -> &'static str {
    match (method, route.name.is_some()) {
        ("GET", true) => "get",
        ("GET", false) if q.get("watch").is_some_and(|w| w == "true" || w == "1") => "watch",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

impl FakeApi {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// An empty test API (built-in resources only).
    pub async fn new() -> FakeApi {
        Builder::default().build().await
    }

    /// remedy's live backend on this API (context `test`, 30 s timeout).
    pub async fn live(&self) -> remedy::cluster::live::Live {
        let endpoint = remedy::cluster::live::Endpoint {
            context: "test".into(),
            server: "in-process".into(),
        };
        remedy::cluster::live::Live::with_client(self.client(), endpoint, Duration::from_secs(30))
            .await
            .unwrap()
    }

    /// A kube 5 client talking to this API in process.
    pub fn client(&self) -> kube::Client {
        let api = self.clone();
        let svc = tower::service_fn(move |req: ::http::Request<kube::client::Body>| {
            let api = api.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = body.collect().await?.to_bytes();
                match api.handle(&parts, body).await {
                    Answer::Response(r) => Ok(r.map(http_body_util::Full::new)),
                    Answer::Close => Err::<_, Box<dyn std::error::Error + Send + Sync>>(
                        "connection closed by the test API before a response".into(),
                    ),
                }
            }
        });
        kube::Client::new(svc, "default")
    }

    // --- the log -----------------------------------------------------------------------

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }
    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }
    /// Reads (get, list, watch), discovery left out.
    pub fn reads(&self) -> usize {
        self.log().iter().filter(|l| l.is_read()).count()
    }
    /// Writes (create, update, patch, delete), dry runs included.
    pub fn writes(&self) -> usize {
        self.log().iter().filter(|l| l.is_write()).count()
    }
    /// Requests for discovery documents.
    pub fn discovery_requests(&self) -> usize {
        self.log().iter().filter(|l| l.verb == "discovery").count()
    }

    // --- faults and permissions --------------------------------------------------------

    pub fn fault(&self, f: Fault) {
        self.state.lock().unwrap().faults.push(f);
    }
    pub fn clear_faults(&self) {
        self.state.lock().unwrap().faults.clear();
    }
    /// Forbid `verb` on a resource (plural) of `group`, in one namespace or everywhere.
    pub fn forbid(&self, verb: &str, group: &str, resource: &str, namespace: Option<&str>) {
        self.state
            .lock()
            .unwrap()
            .permissions
            .deny
            .push(Rule::new(&[verb], group, resource, namespace));
    }
    /// Allow exactly these rules; every other request gets 403.
    pub fn allow_only(&self, rules: Vec<Rule>) {
        self.state.lock().unwrap().permissions.only = Some(rules);
    }
    /// Recreate each deleted pod that a ReplicaSet controls, as its controller would (see
    /// [`controller`]); `None` turns it off (the default: nothing comes back).
    pub fn simulate_replica_sets(&self, how: Option<controller::Replacement>) {
        self.state.lock().unwrap().controller = how;
    }
    /// Answer every later `continue` token with 410 Gone (an expired list).
    pub fn expire_continue_tokens(&self, on: bool) {
        self.state.lock().unwrap().expire_continue = on;
    }
    /// Stop or start serving a custom group (as if its CRDs were removed or installed).
    pub fn serve_group(&self, group: &str, on: bool) {
        let mut s = self.state.lock().unwrap();
        if on {
            s.groups.insert(group.to_string());
        } else {
            s.groups.remove(group);
        }
    }

    // --- direct store access (not logged, no faults) -----------------------------------

    /// Create an object in the store.
    pub async fn create(&self, mut obj: Value) -> Result<Value, String> {
        let res = kinds::by_kind(str_at(&obj, "apiVersion"), str_at(&obj, "kind"))
            .ok_or_else(|| format!("unknown kind {} {}", str_at(&obj, "apiVersion"), str_at(&obj, "kind")))?;
        let namespace = if res.namespaced {
            Some(
                obj.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default")
                    .to_string(),
            )
        } else {
            None
        };
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            // The store refuses creates that carry one.
            m.remove("resourceVersion");
            m.remove("managedFields");
            if !res.namespaced {
                m.remove("namespace");
            }
        }
        let route = Route {
            res,
            namespace,
            name: None,
            subresource: None,
        };
        let resp = self
            .store_send("POST", &route.store_path(), "", None, obj.to_string().into())
            .await;
        let code = resp.status().as_u16();
        let body: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        if code >= 300 {
            return Err(format!("{code}: {}", str_at(&body, "message")));
        }
        Ok(unreserve(body))
    }

    /// One object as stored now, or `None`.
    pub async fn get(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let res = kinds::by_kind(api_version, kind)?;
        let route = Route {
            res,
            namespace: namespace.filter(|_| res.namespaced).map(str::to_string),
            name: Some(name.to_string()),
            subresource: None,
        };
        let resp = self
            .store_send("GET", &route.store_path(), "", None, Bytes::new())
            .await;
        (resp.status().as_u16() == 200)
            .then(|| serde_json::from_slice(resp.body()).ok().map(unreserve))
            .flatten()
    }

    /// Replace an object in the store (its resourceVersion must match, or be absent).
    pub async fn put(&self, obj: Value) -> Result<Value, String> {
        let res = kinds::by_kind(str_at(&obj, "apiVersion"), str_at(&obj, "kind")).ok_or("unknown kind")?;
        let route = Route {
            res,
            namespace: obj
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .filter(|_| res.namespaced)
                .map(str::to_string),
            name: Some(str_at(&obj["metadata"], "name").to_string()),
            subresource: None,
        };
        let mut obj = obj;
        if !res.namespaced && !res.builtin {
            obj["metadata"]["namespace"] = json!(CLUSTER_SCOPE_NS);
        }
        let resp = self
            .store_send("PUT", &route.store_path(), "", None, obj.to_string().into())
            .await;
        let body: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        if resp.status().as_u16() >= 300 {
            return Err(str_at(&body, "message").to_string());
        }
        Ok(unreserve(body))
    }

    /// Delete an object from the store; whether it was there.
    pub async fn delete(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> bool {
        let Some(res) = kinds::by_kind(api_version, kind) else {
            return false;
        };
        let route = Route {
            res,
            namespace: namespace.filter(|_| res.namespaced).map(str::to_string),
            name: Some(name.to_string()),
            subresource: None,
        };
        let resp = self
            .store_send(
                "DELETE",
                &route.store_path(),
                "propagationPolicy=Orphan",
                None,
                Bytes::new(),
            )
            .await;
        resp.status().as_u16() == 200
    }

    /// Every object of a resource, as stored (sorted by namespace and name).
    pub async fn objects(&self, api_version: &str, kind: &str) -> Vec<Value> {
        let Some(res) = kinds::by_kind(api_version, kind) else {
            return Vec::new();
        };
        self.store_list(res, None, "").await.unwrap_or_default()
    }

    /// Every stored object of every served resource (for writing the same state as a snapshot).
    pub async fn all_objects(&self) -> Vec<Value> {
        let groups = self.state.lock().unwrap().groups.clone();
        let mut out = Vec::new();
        for r in kinds::all() {
            if !r.builtin && !groups.contains(r.group) {
                continue;
            }
            // events.k8s.io events are the same objects as core events on a real server.
            if r.group == "events.k8s.io" {
                continue;
            }
            for mut o in self.store_list(r, None, "").await.unwrap_or_default() {
                o["apiVersion"] = json!(r.api_version());
                o["kind"] = json!(r.kind);
                out.push(o);
            }
        }
        out
    }

    // --- serving -----------------------------------------------------------------------

    async fn store_send(
        &self,
        method: &str,
        path: &str,
        query: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> ::http::Response<Bytes> {
        let uri = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        };
        let mut b = ::http::Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        if let ["api", "v1", "namespaces", rest @ ..] = parts.as_slice()
            && rest.len() <= 1
        {
            return self.namespace_op(method, rest.first().copied(), &body);
        }
        let req = b
            .body(kube4::client::Body::from(body.to_vec()))
            .expect("a valid request");
        match self.store.send(req).await {
            Ok(resp) => {
                let (parts, body) = resp.into_parts();
                let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
                ::http::Response::from_parts(parts, bytes)
            }
            Err(e) => status(500, &format!("the store failed: {e}")),
        }
    }

    /// Namespaces: create, get, list and delete (all a plan needs).
    fn namespace_op(&self, method: &str, name: Option<&str>, body: &Bytes) -> ::http::Response<Bytes> {
        let mut s = self.state.lock().unwrap();
        let not_found = |n: &str| status(404, &format!("namespaces \"{n}\" not found"));
        match (method, name) {
            ("GET", None) => {
                let items: Vec<Value> = s.namespaces.values().cloned().collect();
                json_response(
                    200,
                    &json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": items}),
                )
            }
            ("GET", Some(n)) => s
                .namespaces
                .get(n)
                .map_or_else(|| not_found(n), |o| json_response(200, o)),
            ("POST", None) => {
                let Ok(mut o) = serde_json::from_slice::<Value>(body) else {
                    return status(400, "not JSON");
                };
                let n = o
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if s.namespaces.contains_key(&n) {
                    return status(409, &format!("namespaces \"{n}\" already exists"));
                }
                s.namespace_uids += 1;
                let uid = format!("00000000-0000-0000-0000-{:012}", s.namespace_uids);
                let m = &mut o["metadata"];
                if m.get("uid").is_none() {
                    m["uid"] = json!(uid);
                }
                m["resourceVersion"] = json!(s.namespace_uids.to_string());
                s.namespaces.insert(n, o.clone());
                json_response(201, &o)
            }
            ("DELETE", Some(n)) => s
                .namespaces
                .remove(n)
                .map_or_else(|| not_found(n), |o| json_response(200, &o)),
            _ => status(405, "the test API only creates, reads and deletes namespaces"),
        }
    }

    /// Every object of a list request, filtered and sorted; items carry no kind/apiVersion
    /// (as the API server sends them).
    async fn store_list(
        &self,
        res: &'static ResourceInfo,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<Vec<Value>, ::http::Response<Bytes>> {
        let route = Route {
            res,
            namespace: namespace.map(str::to_string),
            name: None,
            subresource: None,
        };
        let q = if label_selector.is_empty() {
            String::new()
        } else {
            format!("labelSelector={}", query::encode(label_selector))
        };
        let resp = self
            .store_send("GET", &route.store_path(), &q, None, Bytes::new())
            .await;
        if resp.status().as_u16() != 200 {
            return Err(resp);
        }
        let list: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        let mut items: Vec<Value> = list
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(unreserve)
            .collect();
        for i in &mut items {
            if let Some(m) = i.as_object_mut() {
                m.remove("kind");
                m.remove("apiVersion");
            }
        }
        items.sort_by(|a, b| {
            let k = |v: &Value| {
                (
                    v.pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    v.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                )
            };
            k(a).cmp(&k(b))
        });
        Ok(items)
    }

    fn record(&self, entry: Logged) {
        self.state.lock().unwrap().log.push(entry);
    }

    /// Handle one client request: log it, apply faults and permissions, then serve it.
    pub async fn handle(&self, parts: &::http::request::Parts, body: Bytes) -> Answer {
        let method = parts.method.as_str().to_string();
        let path = parts.uri.path().to_string();
        let raw_query = parts.uri.query().unwrap_or("").to_string();
        let q = Query::parse(&raw_query);
        let route = route(&path);
        let verb = match &route {
            Some(Ok(r)) => verb_of(&method, r, &q),
            _ => "discovery",
        };
        let dry_run = q.get("dryRun").is_some_and(|v| v == "All")
            || serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|b| b.get("dryRun").cloned())
                .is_some_and(|d| d == json!(["All"]));
        let mut entry = Logged {
            method: method.clone(),
            path: path.clone(),
            query: raw_query.clone(),
            verb: verb.to_string(),
            status: 0,
            dry_run,
        };

        // Scripted faults first: they stand for the network and the server, before auth.
        let effect = {
            let mut s = self.state.lock().unwrap();
            s.faults
                .iter_mut()
                .find(|f| {
                    f.times > 0
                        && f.method.as_deref().is_none_or(|m| m == method)
                        && path.contains(&f.path)
                        && raw_query.contains(&f.query)
                })
                .map(|f| {
                    f.times = f.times.saturating_sub(1);
                    f.effect.clone()
                })
        };
        match effect {
            Some(Effect::Close) => {
                entry.status = 0;
                self.record(entry);
                return Answer::Close;
            }
            Some(Effect::Status(code)) => {
                entry.status = code;
                self.record(entry);
                return Answer::Response(status(code, &format!("injected fault: {}", status_reason(code))));
            }
            Some(Effect::Delay(d)) => tokio::time::sleep(d).await,
            None => {}
        }

        let resp = self.serve(parts, &method, &path, &q, route, verb, dry_run, body).await;
        entry.status = resp.status().as_u16();
        self.record(entry);
        Answer::Response(resp)
    }

    #[allow(clippy::too_many_arguments)]
    async fn serve(
        &self,
        parts: &::http::request::Parts,
        method: &str,
        path: &str,
        q: &Query,
        route: Option<Result<Route, ()>>,
        verb: &str,
        dry_run: bool,
        body: Bytes,
    ) -> ::http::Response<Bytes> {
        let (token, groups, permissions) = {
            let s = self.state.lock().unwrap();
            (s.token.clone(), s.groups.clone(), s.permissions.clone())
        };
        if let Some(t) = token {
            let sent = parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if sent != Some(t.as_str()) {
                return status(401, "Unauthorized");
            }
        }
        let route = match route {
            None => return self.discovery(path, &groups),
            Some(Err(())) => return status(404, "the server could not find the requested resource"),
            Some(Ok(r)) => r,
        };
        if !route.res.builtin && !groups.contains(route.res.group) {
            return status(404, "the server could not find the requested resource");
        }
        let ns = route.namespace.as_deref();
        let resource = match &route.subresource {
            Some(s) => format!("{}/{s}", route.res.plural),
            None => route.res.plural.to_string(),
        };
        let allowed_by_only = permissions
            .only
            .as_ref()
            .is_none_or(|rules| rules.iter().any(|r| r.matches(verb, route.res.group, &resource, ns)));
        let denied = permissions
            .deny
            .iter()
            .any(|r| r.matches(verb, route.res.group, &resource, ns));
        if !allowed_by_only || denied {
            return forbidden(verb, &route, &resource);
        }

        if verb == "list" {
            return self.serve_list(&route, q).await;
        }
        if verb == "watch" {
            return status(405, "the test API serves no watch");
        }
        if dry_run {
            return dryrun::serve(self, parts, method, &route, body).await;
        }
        if method == "DELETE"
            && let Some(resp) = self.check_preconditions(&route, &body).await
        {
            return resp;
        }
        let how = self.state.lock().unwrap().controller.clone();
        let deleted_pod = match (&how, &route.name) {
            (Some(_), Some(name)) if method == "DELETE" && route.res.kind == "Pod" && route.subresource.is_none() => {
                self.get("v1", "Pod", route.namespace.as_deref(), name).await
            }
            _ => None,
        };
        let mut body = body;
        if !route.res.namespaced
            && !route.res.builtin
            && matches!(method, "POST" | "PUT")
            && let Ok(mut v) = serde_json::from_slice::<Value>(&body)
        {
            v["metadata"]["namespace"] = json!(CLUSTER_SCOPE_NS);
            body = v.to_string().into();
        }
        let ct = parts.headers.get("content-type").and_then(|v| v.to_str().ok());
        // Only the parameters the store reads are passed on; dryRun never reaches it.
        let pass: Vec<String> = ["fieldManager", "force", "propagationPolicy"]
            .iter()
            .filter_map(|k| q.get(k).map(|v| format!("{k}={}", query::encode(v))))
            .collect();
        let applied =
            (method == "PATCH" && ct.is_some_and(|c| c.starts_with("application/apply-patch"))).then(|| body.clone());
        let resp = self
            .store_send(method, &route.store_path(), &pass.join("&"), ct, body)
            .await;
        if resp.status().is_success()
            && let (Some(pod), Some(how)) = (&deleted_pod, &how)
        {
            let n = {
                let mut s = self.state.lock().unwrap();
                s.replacements += 1;
                s.replacements
            };
            if let Some(new) = controller::replacement(pod, n, how) {
                self.create(new)
                    .await
                    .unwrap_or_else(|e| panic!("the replacement pod: {e}"));
            }
        }
        if resp.status().as_u16() == 409
            && let (Some(applied), Some(name)) = (&applied, &route.name)
            && let Some(current) = self
                .get(
                    &route.res.api_version(),
                    route.res.kind,
                    route.namespace.as_deref(),
                    name,
                )
                .await
            && let Some(r) = ssa::conflict(&current, applied, q.get("fieldManager").unwrap_or(""))
        {
            return r;
        }
        let (p, b) = resp.into_parts();
        let b = match serde_json::from_slice::<Value>(&b) {
            Ok(v) => Bytes::from(unreserve(v).to_string()),
            Err(_) => b,
        };
        ::http::Response::from_parts(p, b)
    }

    async fn serve_list(&self, route: &Route, q: &Query) -> ::http::Response<Bytes> {
        let limit: Option<usize> = q.get("limit").and_then(|l| l.parse().ok()).filter(|&l| l > 0);
        let (items, offset, list_id) = match q.get("continue").filter(|c| !c.is_empty()) {
            Some(token) => {
                let s = self.state.lock().unwrap();
                if s.expire_continue {
                    return status(
                        410,
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                    );
                }
                let parsed = token
                    .strip_prefix("page-")
                    .and_then(|t| t.split_once('-'))
                    .and_then(|(id, off)| Some((id.parse::<u64>().ok()?, off.parse::<usize>().ok()?)));
                match parsed.and_then(|(id, off)| Some((s.pages.get(&id)?.clone(), off, id))) {
                    Some(found) => found,
                    None => return status(400, "invalid continue token"),
                }
            }
            None => {
                let selector = match q
                    .get("fieldSelector")
                    .map(|s| query::FieldSelector::parse(s, route.res.kind))
                {
                    Some(Err(e)) => return status(400, &e),
                    Some(Ok(s)) => Some(s),
                    None => None,
                };
                let mut items = match self
                    .store_list(
                        route.res,
                        route.namespace.as_deref(),
                        q.get("labelSelector").unwrap_or(""),
                    )
                    .await
                {
                    Ok(i) => i,
                    Err(resp) => return resp,
                };
                if let Some(sel) = &selector {
                    items.retain(|o| sel.matches(o));
                }
                let mut s = self.state.lock().unwrap();
                s.next_list += 1;
                let id = s.next_list;
                let items = Arc::new(items);
                if limit.is_some_and(|l| l < items.len()) {
                    s.pages.insert(id, items.clone());
                }
                (items, 0, id)
            }
        };
        let end = limit.map_or(items.len(), |l| (offset + l).min(items.len()));
        let page: Vec<Value> = items[offset.min(end)..end].to_vec();
        let mut meta = json!({"resourceVersion": "1"});
        if end < items.len() {
            meta["continue"] = json!(format!("page-{list_id}-{end}"));
            meta["remainingItemCount"] = json!(items.len() - end);
        } else {
            self.state.lock().unwrap().pages.remove(&list_id);
        }
        json_response(
            200,
            &json!({
                "kind": format!("{}List", route.res.kind),
                "apiVersion": route.res.api_version(),
                "metadata": meta,
                "items": page,
            }),
        )
    }

    /// `DeleteOptions.preconditions` (uid, resourceVersion): the store ignores them.
    async fn check_preconditions(&self, route: &Route, body: &Bytes) -> Option<::http::Response<Bytes>> {
        let opts: Value = serde_json::from_slice(body).ok()?;
        let pre = opts.get("preconditions")?;
        let name = route.name.as_deref()?;
        let current = self
            .get(
                &route.res.api_version(),
                route.res.kind,
                route.namespace.as_deref(),
                name,
            )
            .await?;
        for (field, label) in [("uid", "UID"), ("resourceVersion", "ResourceVersion")] {
            if let Some(want) = pre.get(field).and_then(Value::as_str) {
                let have = current
                    .pointer(&format!("/metadata/{field}"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if want != have {
                    return Some(status(
                        409,
                        &format!(
                            "Precondition failed: {label} in precondition: {want}, {label} in object meta: {have}"
                        ),
                    ));
                }
            }
        }
        None
    }

    fn discovery(&self, path: &str, groups: &BTreeSet<String>) -> ::http::Response<Bytes> {
        let served = |r: &&ResourceInfo| r.builtin || groups.contains(r.group);
        let resources = |group: &str, version: &str| -> Vec<Value> {
            kinds::all()
                .filter(served)
                .filter(|r| r.group == group && r.version == version)
                .map(|r| {
                    json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced,
                       "kind": r.kind, "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]})
                })
                .collect()
        };
        let mut group_versions: Vec<(&str, &str)> = kinds::all()
            .filter(served)
            .filter(|r| !r.group.is_empty())
            .map(|r| (r.group, r.version))
            .collect();
        group_versions.sort();
        group_versions.dedup();
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let doc = match parts.as_slice() {
            ["version"] => {
                json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake", "platform": "linux/amd64"})
            }
            ["api"] => json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
            ["api", "v1"] => {
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": resources("", "v1")})
            }
            ["apis"] => {
                let mut list: Vec<Value> = Vec::new();
                let mut names: Vec<&str> = group_versions.iter().map(|(g, _)| *g).collect();
                names.dedup();
                for g in names {
                    let versions: Vec<Value> = group_versions
                        .iter()
                        .filter(|(gg, _)| *gg == g)
                        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                        .collect();
                    list.push(json!({"name": g, "versions": versions, "preferredVersion": versions[0]}));
                }
                json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": list})
            }
            ["apis", g] if group_versions.iter().any(|(gg, _)| gg == g) => {
                let versions: Vec<Value> = group_versions
                    .iter()
                    .filter(|(gg, _)| gg == g)
                    .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                    .collect();
                json!({"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": versions, "preferredVersion": versions[0]})
            }
            ["apis", g, v] if group_versions.contains(&(*g, *v)) => {
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{g}/{v}"), "resources": resources(g, v)})
            }
            _ => return status(404, "the server could not find the requested resource"),
        };
        json_response(200, &doc)
    }
}

fn forbidden(verb: &str, route: &Route, resource: &str) -> ::http::Response<Bytes> {
    let group = route.res.group;
    let what = match &route.name {
        Some(n) => format!("{} \"{n}\" is forbidden", route.res.plural),
        None => format!("{} is forbidden", route.res.plural),
    };
    let scope = match &route.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    status(
        403,
        &format!(
            "{what}: User \"system:serviceaccount:test:remedy\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}"
        ),
    )
}

/// Serve a cluster-scoped custom object without the namespace the store keeps it in.
fn unreserve(mut v: Value) -> Value {
    fn strip(o: &mut Value) {
        if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut)
            && m.get("namespace").and_then(Value::as_str) == Some(CLUSTER_SCOPE_NS)
        {
            m.remove("namespace");
        }
    }
    strip(&mut v);
    if let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) {
        items.iter_mut().for_each(strip);
    }
    v
}

/// Route a path: `None` for discovery paths, `Some(Err)` for unknown resources.
fn route(path: &str) -> Option<Result<Route, ()>> {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    let Some(res) = kinds::by_plural(group, version, rest[0]) else {
        return Some(Err(()));
    };
    if namespace.is_some() && !res.namespaced {
        return Some(Err(()));
    }
    Some(Ok(Route {
        res,
        namespace,
        name: rest.get(1).map(|s| s.to_string()),
        subresource: rest.get(2).map(|s| s.to_string()),
    }))
}
