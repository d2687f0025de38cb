//! The only cluster reader. Probes render their arguments, read objects through a cache
//! (each object is read once per run), and hand them to the pure summaries in `summary`.

pub mod recorded;
pub mod registry;
pub mod summary;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jsonpath_rust::JsonPath;
use serde_json::{Value, json};

use crate::cluster::{ClusterError, ClusterSource, EventRecord, GroupKind, Object, ObjectKey};
use crate::rules::{ObjRefT, ProbeKind, Tmpl};
use crate::template::Templates;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("`{0}` is not of the form namespace/name")]
    BadRef(String),
    #[error("JSONPath `{path}`: {message}")]
    JsonPath { path: String, message: String },
}

/// The fields of a probe's result when its shape is fixed (the summaries), for load-time
/// checks of the templates that read it; `None` for generic reads (`object`, `jsonPath`),
/// whose fields depend on the object.
pub fn result_fields(kind: &ProbeKind) -> Option<&'static [&'static str]> {
    match kind {
        ProbeKind::PullSecrets { .. } => Some(summary::PULL_SECRETS_FIELDS),
        ProbeKind::FirstCovering { .. } => Some(summary::SECRET_FIELDS),
        ProbeKind::ImageConfig { .. } => Some(summary::IMAGE_CONFIG_FIELDS),
        ProbeKind::TrustedCa { .. } => Some(summary::TRUSTED_CA_FIELDS),
        ProbeKind::Owner { .. } => Some(summary::OWNER_FIELDS),
        ProbeKind::Registry { .. } => Some(registry::FIELDS),
        ProbeKind::Object(_) | ProbeKind::JsonPath { .. } => None,
    }
}

/// `namespace/name`.
pub fn split_ref(s: &str) -> Result<(String, String), ProbeError> {
    match s.trim().split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((ns.to_string(), name.to_string()))
        }
        _ => Err(ProbeError::BadRef(s.to_string())),
    }
}

/// How many `pullSecrets` results are kept for reuse.
const PULL_SECRETS_KEPT: usize = 256;

/// A probe's result, and the same as templates see it.
#[derive(Clone)]
pub struct Probed {
    pub value: Value,
    pub context: minijinja::Value,
}

impl Probed {
    fn new(value: Value) -> Probed {
        let context = minijinja::Value::from(minijinja::value::Serde(&value));
        Probed { value, context }
    }
}

/// Cached reads. Not `Sync`: one run evaluates on one task.
pub struct Reader<'c, C: ClusterSource> {
    cluster: &'c C,
    cache: RefCell<HashMap<ObjectKey, Option<Arc<Object>>>>,
    /// Whole lists by kind: probes run per failure and rule, and a live backend would
    /// otherwise list the same kind from the API server each time.
    lists: RefCell<HashMap<GroupKind, Arc<Vec<Arc<Object>>>>>,
    /// Registry verdicts by pod and image: each costs a connection.
    results: RefCell<HashMap<String, Value>>,
    /// `pullSecrets` results of the latest pods and images (several rules read the same one
    /// on one failure). Bounded: they are recomputed from cached reads, and a cluster can have
    /// any number of pods and images.
    /// Kept with the value as templates see it: converting it again for every rule that
    /// reads it took about a tenth of a plan's time on many failing containers.
    pull_secrets: RefCell<HashMap<String, Probed>>,
    /// Whether the `registry` probe may contact registries (`plan --probe-registries`).
    probe_registries: Cell<bool>,
}

impl<'c, C: ClusterSource> Reader<'c, C> {
    pub fn new(cluster: &'c C) -> Self {
        Reader {
            cluster,
            cache: RefCell::new(HashMap::new()),
            lists: RefCell::new(HashMap::new()),
            results: RefCell::new(HashMap::new()),
            pull_secrets: RefCell::new(HashMap::new()),
            probe_registries: Cell::new(false),
        }
    }

    /// Lets the `registry` probe connect to registries; without it the probe decides nothing.
    pub fn allow_registry_probe(&self, allow: bool) {
        self.probe_registries.set(allow);
    }

    pub fn cluster(&self) -> &C {
        self.cluster
    }

    pub async fn get(
        &self,
        kind: &GroupKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Arc<Object>>, ClusterError> {
        let key = ObjectKey::new(kind, namespace, name);
        if let Some(hit) = self.cache.borrow().get(&key) {
            return Ok(hit.clone());
        }
        let obj = self.cluster.get(kind, namespace, name).await?;
        self.cache.borrow_mut().insert(key, obj.clone());
        Ok(obj)
    }

    /// Every object of a kind, read once per run.
    pub async fn list(&self, kind: &GroupKind) -> Result<Arc<Vec<Arc<Object>>>, ClusterError> {
        if let Some(hit) = self.lists.borrow().get(kind) {
            return Ok(hit.clone());
        }
        let all = Arc::new(self.cluster.list(kind, None).await?);
        self.lists.borrow_mut().insert(kind.clone(), all.clone());
        Ok(all)
    }

    pub async fn pull_events(&self) -> Result<Arc<Vec<EventRecord>>, ClusterError> {
        self.cluster.pull_events().await
    }

    /// Platform facts every rule can read as `cluster`. `pods` are the cluster's pods (their
    /// annotations and pull secrets are among the signs of OpenShift).
    pub async fn cluster_facts(&self, pods: &[Arc<Object>]) -> Result<Value, ClusterError> {
        let cv = self
            .get(
                &GroupKind::new("config.openshift.io", "ClusterVersion"),
                None,
                "version",
            )
            .await;
        // A user who may not read the ClusterVersion still gets a plan: the other signs decide.
        let cv = match cv {
            Err(ClusterError::Forbidden { .. }) => None,
            other => other?,
        };
        let sign = match &cv {
            Some(_) => Some("ClusterVersion version".to_string()),
            None => self.openshift_sign(pods).await,
        };
        if let Some(s) = &sign {
            tracing::debug!(sign = %s, "OpenShift detected");
        }
        let version = cv.as_ref().and_then(|o| {
            o.str_field("status.desired.version").map(str::to_string).or_else(|| {
                o.field("status.history")
                    .and_then(Value::as_array)
                    .and_then(|h| h.first())
                    .and_then(|h| h.get("version"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
        });
        let info = self.cluster.info();
        Ok(json!({"openshift": sign.is_some(), "version": version, "source": format!("{} {}", info.kind, info.name)}))
    }

    /// The first sign that the cluster is OpenShift, cheapest first: an OpenShift API group
    /// (the only sign a live cluster needs), then, for snapshots that hold no cluster-scoped
    /// objects, the objects themselves (see [`summary::openshift_sign`]). Reads that fail
    /// (a forbidden list) are no sign.
    async fn openshift_sign(&self, pods: &[Arc<Object>]) -> Option<String> {
        for g in summary::OPENSHIFT_GROUPS {
            if self.cluster.has_api_group(g).await.unwrap_or(false) {
                return Some(format!("API group {g}"));
            }
        }
        let global = self.secret("openshift-config", "pull-secret").await.ok().flatten();
        if let Some(s) = global.as_deref().and_then(summary::openshift_sign) {
            return Some(s);
        }
        let mut candidates: Vec<Arc<Object>> = pods.to_vec();
        for kind in [
            GroupKind::core("Namespace"),
            GroupKind::new("operators.coreos.com", "CatalogSource"),
        ] {
            candidates.extend(self.list(&kind).await.unwrap_or_default().iter().cloned());
        }
        if let Some(s) = candidates.iter().find_map(|o| summary::openshift_sign(o)) {
            return Some(s);
        }
        // OpenShift gives every service account a `<sa>-dockercfg-<suffix>` pull secret for
        // the internal registry; a few of those the pods name are read, not every Secret.
        // Pods whose text lacks `-dockercfg-` are skipped unparsed: this runs over every pod.
        let mut seen = std::collections::BTreeSet::new();
        for pod in pods.iter().filter(|p| p.raw().contains("-dockercfg-")) {
            if seen.len() >= 5 {
                break;
            }
            let ns = pod.namespace.as_deref().unwrap_or_default();
            for name in summary::pod_pull_secret_names(pod) {
                if !name.contains("-dockercfg-") || !seen.insert((ns.to_string(), name.clone())) {
                    continue;
                }
                if let Some(s) = self
                    .secret(ns, &name)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|o| summary::openshift_sign(&o))
                {
                    return Some(s);
                }
            }
        }
        None
    }

    async fn object_ref(
        &self,
        r: &ObjRefT,
        t: &Templates,
        ctx: &minijinja::Value,
    ) -> Result<Option<Arc<Object>>, ProbeError> {
        let api = r.api_version.render(t, ctx)?;
        let kind = r.kind.render(t, ctx)?;
        let ns = r.namespace.as_ref().map(|n| n.render(t, ctx)).transpose()?;
        let name = r.name.render(t, ctx)?;
        Ok(self
            .get(&GroupKind::from_api_version(&api, &kind), ns.as_deref(), &name)
            .await?)
    }

    async fn secret(&self, ns: &str, name: &str) -> Result<Option<Arc<Object>>, ClusterError> {
        self.get(&GroupKind::core("Secret"), Some(ns), name).await
    }

    /// Run one probe: its result, and the same as templates see it under the probe's name.
    pub async fn run(&self, kind: &ProbeKind, t: &Templates, ctx: &minijinja::Value) -> Result<Probed, ProbeError> {
        if let ProbeKind::PullSecrets { pod, registry, image } = kind {
            return self.pull_secrets_probe(pod, registry, image.as_ref(), t, ctx).await;
        }
        self.run_value(kind, t, ctx).await.map(Probed::new)
    }

    async fn run_value(&self, kind: &ProbeKind, t: &Templates, ctx: &minijinja::Value) -> Result<Value, ProbeError> {
        match kind {
            ProbeKind::Object(r) => Ok(self
                .object_ref(r, t, ctx)
                .await?
                .map(|o| summary::redacted(&o))
                .unwrap_or(Value::Null)),
            ProbeKind::PullSecrets { pod, registry, image } => self
                .pull_secrets_probe(pod, registry, image.as_ref(), t, ctx)
                .await
                .map(|p| p.value),
            ProbeKind::FirstCovering {
                registry,
                image,
                candidates,
            } => {
                let registry = registry.render(t, ctx)?;
                let image = image.as_ref().map(|i| i.render(t, ctx)).transpose()?;
                let target = summary::lookup_target(&registry, image.as_deref());
                for c in candidates {
                    let (ns, name) = split_ref(&c.render(t, ctx)?)?;
                    if let Some(obj) = self.secret(&ns, &name).await?
                        && summary::docker_config(&obj).is_some_and(|cfg| summary::covers(&cfg, &target))
                    {
                        return Ok(summary::redacted(&obj));
                    }
                }
                Ok(Value::Null)
            }
            ProbeKind::ImageConfig { registry } => {
                let registry = registry.render(t, ctx)?;
                let cfg = self.image_config().await?;
                let mut v = summary::image_config(cfg.as_deref(), &registry);
                // Changing registrySources rolls out to these pools: their health matters.
                let pools = self
                    .list(&GroupKind::new(
                        "machineconfiguration.openshift.io",
                        "MachineConfigPool",
                    ))
                    .await?;
                summary::add_pools(&mut v, &pools);
                Ok(v)
            }
            ProbeKind::TrustedCa { registry } => {
                let registry = registry.render(t, ctx)?;
                let cfg = self.image_config().await?;
                let cm = match cfg.as_ref().and_then(|c| c.str_field("spec.additionalTrustedCA.name")) {
                    Some(name) => {
                        self.get(&GroupKind::core("ConfigMap"), Some("openshift-config"), name)
                            .await?
                    }
                    None => None,
                };
                Ok(summary::trusted_ca(cfg.as_deref(), cm.as_deref(), &registry))
            }
            ProbeKind::Owner { pod } => {
                let (ns, name) = split_ref(&pod.render(t, ctx)?)?;
                let Some(pod) = self.get(&GroupKind::core("Pod"), Some(&ns), &name).await? else {
                    return Ok(Value::Null);
                };
                let chain = self.owner_chain(&pod).await?;
                let chain: Vec<&Object> = chain.iter().map(Arc::as_ref).collect();
                Ok(summary::owner(&pod, &chain))
            }
            ProbeKind::Registry { pod, image } => {
                let (ns, name) = split_ref(&pod.render(t, ctx)?)?;
                let image = image.render(t, ctx)?;
                self.registry_probe(&ns, &name, &image).await
            }
            ProbeKind::JsonPath { object, path } => {
                let Some(obj) = self.object_ref(object, t, ctx).await? else {
                    return Ok(json!([]));
                };
                let doc = summary::redacted(&obj);
                let found = doc.query(path).map_err(|e| ProbeError::JsonPath {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                Ok(Value::Array(found.into_iter().cloned().collect()))
            }
        }
    }

    /// The `pullSecrets` probe, kept for the latest pods and images.
    async fn pull_secrets_probe(
        &self,
        pod: &Tmpl,
        registry: &Tmpl,
        image: Option<&Tmpl>,
        t: &Templates,
        ctx: &minijinja::Value,
    ) -> Result<Probed, ProbeError> {
        let (ns, name) = split_ref(&pod.render(t, ctx)?)?;
        let registry = registry.render(t, ctx)?;
        let image = image.map(|i| i.render(t, ctx)).transpose()?;
        let cache_key = format!("pullSecrets {ns}/{name} {registry} {}", image.as_deref().unwrap_or(""));
        if let Some(p) = self.pull_secrets.borrow().get(&cache_key) {
            return Ok(p.clone());
        }
        let Some(pod) = self.get(&GroupKind::core("Pod"), Some(&ns), &name).await? else {
            return Ok(Probed::new(Value::Null));
        };
        let sa_name = pod
            .str_field("spec.serviceAccountName")
            .unwrap_or("default")
            .to_string();
        let sa = self
            .get(&GroupKind::core("ServiceAccount"), Some(&ns), &sa_name)
            .await?;
        let mut wanted = summary::pod_pull_secret_names(&pod);
        wanted.extend(sa.as_deref().map(summary::sa_pull_secret_names).unwrap_or_default());
        let mut fetched = BTreeMap::new();
        for s in wanted {
            let obj = self.secret(&ns, &s).await?;
            fetched.insert(s, obj);
        }
        let refs: BTreeMap<String, Option<&Object>> = fetched.iter().map(|(k, v)| (k.clone(), v.as_deref())).collect();
        let chain = self.owner_chain(&pod).await?;
        // The template that created the pod is its direct owner's.
        let template = chain
            .first()
            .filter(|o| summary::owner_ref(&pod).is_some_and(|r| r.kind == o.kind && r.name == o.name))
            .and_then(|o| summary::template_pull_secrets(o));
        let probed = Probed::new(summary::pull_secrets(
            &pod,
            sa.as_deref(),
            &refs,
            &registry,
            image.as_deref(),
            template.as_deref(),
        ));
        let mut kept = self.pull_secrets.borrow_mut();
        if kept.len() >= PULL_SECRETS_KEPT {
            kept.clear();
        }
        kept.insert(cache_key, probed.clone());
        Ok(probed)
    }

    /// The `registry` probe: the pod's own pull secrets give the credentials (kubelet reads
    /// only those), the cluster's trusted CA for the registry is added to the system roots.
    async fn registry_probe(&self, ns: &str, pod: &str, image: &str) -> Result<Value, ProbeError> {
        let Ok(parsed) = crate::refs::image::ImageRef::parse(image) else {
            return Ok(registry::not_probed(image, "the image reference does not parse"));
        };
        let target = registry::target_of(&parsed);
        if !self.probe_registries.get() {
            return Ok(registry::not_probed(
                &target.host,
                "the registry was not asked: run `remedy plan --probe-registries` to let it decide",
            ));
        }
        let cache_key = format!("registry {ns}/{pod} {image}");
        if let Some(v) = self.results.borrow().get(&cache_key) {
            return Ok(v.clone());
        }
        let mut secrets = Vec::new();
        if let Some(p) = self.get(&GroupKind::core("Pod"), Some(ns), pod).await? {
            for s in summary::pod_pull_secret_names(&p) {
                if let Some(obj) = self.secret(ns, &s).await? {
                    secrets.push(obj);
                }
            }
        }
        let refs: Vec<&Object> = secrets.iter().map(Arc::as_ref).collect();
        let cfg = self.image_config().await?;
        let cm = match cfg.as_ref().and_then(|c| c.str_field("spec.additionalTrustedCA.name")) {
            Some(name) => {
                self.get(&GroupKind::core("ConfigMap"), Some("openshift-config"), name)
                    .await?
            }
            None => None,
        };
        let opts = registry::Options {
            creds: registry::credentials(&refs, &parsed),
            extra_ca_pem: registry::trusted_ca(cm.as_deref(), &parsed.registry)
                .into_iter()
                .collect(),
            ..registry::Options::default()
        };
        let v = match registry::probe(&target, &opts).await {
            Ok(report) => registry::probed(&report.verdict),
            // A trusted CA that does not parse is the cluster's to fix; the probe says so.
            Err(e) => registry::not_probed(&target.host, &e.to_string()),
        };
        self.results.borrow_mut().insert(cache_key, v.clone());
        Ok(v)
    }

    /// The owners of a pod, following [`summary::owner_ref`] up (ReplicaSet, then its
    /// Deployment, ...), until one cannot be read or has no controller.
    pub async fn owner_chain(&self, pod: &Object) -> Result<Vec<Arc<Object>>, ClusterError> {
        let ns = pod.namespace.as_deref();
        let mut out: Vec<Arc<Object>> = Vec::new();
        let mut next = summary::owner_ref(pod);
        while let Some(r) = next.take() {
            // Owner references cannot form cycles in a real cluster; a snapshot might.
            if out.len() >= 8 {
                break;
            }
            let Some(obj) = self
                .get(&GroupKind::from_api_version(&r.api_version, &r.kind), ns, &r.name)
                .await?
            else {
                break;
            };
            next = summary::owner_ref(&obj);
            out.push(obj);
        }
        Ok(out)
    }

    pub async fn image_config(&self) -> Result<Option<Arc<Object>>, ClusterError> {
        self.get(&GroupKind::new("config.openshift.io", "Image"), None, "cluster")
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::cluster::{Snapshot, SourceInfo};

    /// A snapshot that counts the lists it is asked for.
    struct Counting {
        inner: Snapshot,
        lists: Cell<usize>,
    }

    impl ClusterSource for Counting {
        fn info(&self) -> SourceInfo {
            self.inner.info()
        }
        async fn list(&self, kind: &GroupKind, ns: Option<&str>) -> Result<Vec<Arc<Object>>, ClusterError> {
            self.lists.set(self.lists.get() + 1);
            self.inner.list(kind, ns).await
        }
        async fn get(
            &self,
            kind: &GroupKind,
            ns: Option<&str>,
            name: &str,
        ) -> Result<Option<Arc<Object>>, ClusterError> {
            self.inner.get(kind, ns, name).await
        }
        async fn pull_events(&self) -> Result<Arc<Vec<EventRecord>>, ClusterError> {
            self.inner.pull_events().await
        }
        async fn has_api_group(&self, group: &str) -> Result<bool, ClusterError> {
            self.inner.has_api_group(group).await
        }
    }

    #[test]
    fn each_kind_is_listed_once_per_run() {
        let pool = Object::from_value(json!({"apiVersion": "machineconfiguration.openshift.io/v1",
            "kind": "MachineConfigPool", "metadata": {"name": "worker"}}))
        .unwrap();
        let source = Counting {
            inner: Snapshot::from_parts("test".into(), vec![pool], vec![]),
            lists: Cell::new(0),
        };
        let reader = Reader::new(&source);
        let kind = GroupKind::new("machineconfiguration.openshift.io", "MachineConfigPool");
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for _ in 0..3 {
            let pools = rt.block_on(reader.list(&kind)).unwrap();
            assert_eq!(pools.len(), 1);
        }
        assert_eq!(source.lists.get(), 1);
    }
}
