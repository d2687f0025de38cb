use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// A kind, without version: objects are addressed the way `kubectl get kind.group` does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct GroupKind {
    /// Empty for the core group.
    pub group: String,
    pub kind: String,
}

impl GroupKind {
    pub fn new(group: &str, kind: &str) -> Self {
        GroupKind {
            group: group.to_string(),
            kind: kind.to_string(),
        }
    }
    pub fn core(kind: &str) -> Self {
        Self::new("", kind)
    }
    /// From an `apiVersion` (`v1`, `apps/v1`, `config.openshift.io/v1`) and a kind.
    pub fn from_api_version(api_version: &str, kind: &str) -> Self {
        let group = match api_version.rsplit_once('/') {
            Some((group, _version)) => group,
            None => "",
        };
        Self::new(group, kind)
    }

    /// Cluster-scoped kinds that remedy reads; for other kinds the presence of
    /// `metadata.namespace` decides.
    pub fn is_cluster_scoped(&self) -> bool {
        matches!(
            (self.group.as_str(), self.kind.as_str()),
            ("", "Namespace" | "Node" | "PersistentVolume")
                | ("config.openshift.io", _)
                | ("samples.operator.openshift.io", "Config")
                | ("operator.openshift.io", _)
                | ("machineconfiguration.openshift.io", _)
                | ("rbac.authorization.k8s.io", "ClusterRole" | "ClusterRoleBinding")
                | ("apiextensions.k8s.io", "CustomResourceDefinition")
                | ("storage.k8s.io", "StorageClass")
                | ("project.openshift.io", "Project")
        )
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub kind: GroupKind,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    /// The key of an object as readers ask for it: a cluster-scoped kind has no namespace,
    /// whatever the caller passed.
    pub fn new(kind: &GroupKind, namespace: Option<&str>, name: &str) -> ObjectKey {
        ObjectKey {
            kind: kind.clone(),
            namespace: if kind.is_cluster_scoped() {
                None
            } else {
                namespace.map(str::to_string)
            },
            name: name.to_string(),
        }
    }
}

/// Any Kubernetes object, kept dynamic: remedy reads the few fields it needs and keeps
/// unknown kinds as they are.
///
/// The object is held as compact JSON text and parsed into a `Value` only when something
/// reads it (then cached): a parsed `Value` costs about ten times its text, and most objects
/// of a large snapshot are never looked at beyond the typed views detection uses.
#[derive(Debug, Clone)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// The whole object as compact JSON, minus `metadata.managedFields` and kubectl's
    /// last-applied annotation (it can hold secret data and is never needed).
    raw: super::raw::Raw,
    // Boxed: most objects are never parsed, and a `Value` in place is 32 bytes each.
    parsed: std::sync::OnceLock<Box<Value>>,
    /// Fields read by path before (or instead of) the whole object (see `fields`).
    fields: super::fields::Paths,
    /// Which of two copies of one object is newer: `metadata.resourceVersion`, then the
    /// newest `managedFields` time (read before they are dropped).
    version: Version,
}

/// What orders two copies of one object (see `Object::newer_than`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version {
    pub resource_version: Option<Box<str>>,
    pub managed_time: Option<Box<str>>,
    /// `metadata.uid`: two copies with one uid are one object even when their names differ.
    pub uid: Option<Box<str>>,
}

impl Version {
    fn from_meta(meta: &serde_json::Map<String, Value>) -> Version {
        Version {
            resource_version: meta.get("resourceVersion").and_then(Value::as_str).map(Into::into),
            managed_time: meta
                .get("managedFields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("time").and_then(Value::as_str))
                .max()
                .map(Into::into),
            uid: meta.get("uid").and_then(Value::as_str).map(Into::into),
        }
    }
}

/// resourceVersions are opaque to clients, but every API server issues etcd revisions:
/// compared as numbers when both are, else as text.
fn compare_resource_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        *self.raw() == *other.raw()
    }
}

impl Object {
    pub fn group_kind(&self) -> GroupKind {
        GroupKind::from_api_version(&self.api_version, &self.kind)
    }

    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            kind: self.group_kind(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }

    pub fn version(&self) -> &Version {
        &self.version
    }

    /// Set the newest `managedFields` time when the reader dropped them before building.
    pub(crate) fn set_managed_time(&mut self, time: Option<String>) {
        if self.version.managed_time.is_none() {
            self.version.managed_time = time.map(Into::into);
        }
    }

    /// Whether this copy should win over `other` (same object): the higher resourceVersion,
    /// then the later managedFields time; a copy with a version beats one without. Equal
    /// versions fall back to the text, so the answer never depends on which was read first.
    pub fn newer_than(&self, other: &Object) -> bool {
        use std::cmp::Ordering;
        let (a, b) = (&self.version, &other.version);
        let by_rv = match (&a.resource_version, &b.resource_version) {
            (Some(x), Some(y)) => compare_resource_versions(x, y),
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        by_rv
            .then_with(|| a.managed_time.cmp(&b.managed_time))
            .then_with(|| self.raw().cmp(&other.raw()))
            == Ordering::Greater
    }

    /// The whole object (parsed on first use).
    pub fn value(&self) -> &Value {
        self.parsed
            .get_or_init(|| Box::new(serde_json::from_str(&self.raw()).unwrap_or(Value::Null)))
    }

    /// Whether the object has been parsed into a `Value` (tests of the paths that must not).
    #[cfg(test)]
    pub(crate) fn is_parsed(&self) -> bool {
        self.parsed.get().is_some()
    }

    /// The compact JSON text, for typed views that need only a few fields (decompressed when
    /// the object's file has been read: see `raw`).
    pub fn raw(&self) -> super::raw::RawText<'_> {
        self.raw.text()
    }

    /// The length of the text, without reading it.
    pub fn raw_len(&self) -> usize {
        self.raw.len()
    }

    #[cfg(test)]
    pub(crate) fn block_id(&self) -> Option<u64> {
        self.raw.block_id()
    }

    /// The text, to be compressed with its neighbours' (see `raw::pack`).
    pub(crate) fn raw_mut(&mut self) -> &mut super::raw::Raw {
        &mut self.raw
    }

    /// A field by dotted path (`spec.serviceAccountName`).
    pub fn field(&self, path: &str) -> Option<&Value> {
        match self.parsed.get() {
            Some(whole) => path.split('.').try_fold(&**whole, |v, part| v.get(part)),
            None => self.fields.field(|| self.raw(), path),
        }
    }

    /// A list by dotted path, read for each failure: a small object's is read again each time
    /// rather than kept (see `fields::Paths::list`).
    pub fn list_field(&self, path: &str) -> Option<Cow<'_, Value>> {
        match self.parsed.get() {
            Some(whole) => path
                .split('.')
                .try_fold(&**whole, |v, part| v.get(part))
                .map(Cow::Borrowed),
            None => self.fields.list(|| self.raw(), path),
        }
    }

    pub fn str_field(&self, path: &str) -> Option<&str> {
        self.field(path).and_then(Value::as_str)
    }

    pub fn labels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.field("metadata.labels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
    }

    /// Build from JSON text already known to hold no `managedFields` or last-applied
    /// annotation (the caller checked), skipping a parse into `Value`.
    pub fn from_raw(head: &ObjectHead, raw: &str) -> Result<Self, &'static str> {
        let kind = head.kind.clone().ok_or("the object has no `kind`")?;
        let meta = head.metadata.as_ref().ok_or("the object has no `metadata`")?;
        let name = meta.name.clone().ok_or("the object has no `metadata.name`")?;
        let api_version = head.api_version.clone().unwrap_or_else(|| "v1".into());
        let gk = GroupKind::from_api_version(&api_version, &kind);
        let namespace = if gk.is_cluster_scoped() {
            None
        } else {
            meta.namespace.clone()
        };
        Ok(Object {
            api_version,
            kind,
            namespace,
            name,
            raw: super::raw::Raw::Plain(raw.into()),
            parsed: std::sync::OnceLock::new(),
            fields: super::fields::Paths::default(),
            version: Version {
                resource_version: meta.resource_version.as_deref().map(Into::into),
                managed_time: None,
                uid: meta.uid.as_deref().map(Into::into),
            },
        })
    }

    /// Build from JSON text kept as it is written (escapes and all), as the snapshot loader
    /// does for most objects.
    #[cfg(test)]
    pub(crate) fn from_json_text(text: &str) -> Result<Self, &'static str> {
        let head: ObjectHead = serde_json::from_str(text).map_err(|_| "not an object")?;
        Self::from_raw(&head, text)
    }

    /// Build from a decoded document; `None` when it lacks `kind` or `metadata.name`.
    pub fn from_value(mut value: Value) -> Result<Self, &'static str> {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .ok_or("the object has no `kind`")?
            .to_string();
        let api_version = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("v1")
            .to_string();
        let meta = value
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .ok_or("the object has no `metadata`")?;
        let version = Version::from_meta(meta);
        meta.remove("managedFields");
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .ok_or("the object has no `metadata.name`")?
            .to_string();
        let namespace = meta.get("namespace").and_then(Value::as_str).map(str::to_string);
        let gk = GroupKind::from_api_version(&api_version, &kind);
        let namespace = if gk.is_cluster_scoped() { None } else { namespace };
        let raw = super::raw::Raw::Plain(serde_json::to_string(&value).unwrap_or_default().into_boxed_str());
        Ok(Object {
            api_version,
            kind,
            namespace,
            name,
            fields: super::fields::Paths::default(),
            raw,
            parsed: std::sync::OnceLock::new(),
            version,
        })
    }
}

/// What decides how a snapshot item is read: read from its text without building a `Value`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectHead {
    pub kind: Option<String>,
    pub api_version: Option<String>,
    pub metadata: Option<MetaHead>,
    /// Present on lists.
    pub items: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaHead {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}
