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
    raw: Box<str>,
    parsed: std::sync::OnceLock<Value>,
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
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

    /// The whole object (parsed on first use).
    pub fn value(&self) -> &Value {
        self.parsed
            .get_or_init(|| serde_json::from_str(&self.raw).unwrap_or(Value::Null))
    }

    /// The compact JSON text, for typed views that need only a few fields.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// A field by dotted path (`spec.serviceAccountName`).
    pub fn field(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(self.value(), |v, part| v.get(part))
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
        let raw = serde_json::to_string(&value).unwrap_or_default().into_boxed_str();
        Ok(Object {
            api_version,
            kind,
            namespace,
            name,
            raw,
            parsed: std::sync::OnceLock::new(),
        })
    }
}

/// An event, reduced to what failure detection reads. Events are the bulk of a large
/// snapshot, so they are not kept as whole objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EventRecord {
    pub namespace: String,
    pub involved_kind: String,
    pub involved_name: String,
    pub involved_uid: Option<String>,
    /// `spec.containers{name}` / `spec.initContainers{name}`.
    pub field_path: Option<String>,
    pub reason: String,
    pub event_type: String,
    pub message: String,
    pub count: u64,
    pub first_timestamp: Option<String>,
    pub last_timestamp: Option<String>,
    pub component: Option<String>,
}

impl EventRecord {
    /// From a core/v1 `Event` or an `events.k8s.io/v1` one.
    pub fn from_value(v: &Value) -> Result<Self, &'static str> {
        let s = |path: &[&str]| -> Option<String> {
            path.iter()
                .try_fold(v, |v, p| v.get(p))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let regarding = if v.get("involvedObject").is_some() {
            "involvedObject"
        } else {
            "regarding"
        };
        let involved_name = s(&[regarding, "name"]).ok_or("the event has no involvedObject.name")?;
        let namespace = s(&[regarding, "namespace"])
            .or_else(|| s(&["metadata", "namespace"]))
            .unwrap_or_default();
        let count = v
            .get("count")
            .and_then(Value::as_u64)
            .or_else(|| v.get("deprecatedCount").and_then(Value::as_u64))
            .or_else(|| v.pointer("/series/count").and_then(Value::as_u64))
            .unwrap_or(1);
        Ok(EventRecord {
            namespace,
            involved_kind: s(&[regarding, "kind"]).unwrap_or_default(),
            involved_name,
            involved_uid: s(&[regarding, "uid"]),
            field_path: s(&[regarding, "fieldPath"]),
            reason: s(&["reason"]).unwrap_or_default(),
            event_type: s(&["type"]).unwrap_or_else(|| "Normal".into()),
            message: s(&["message"]).or_else(|| s(&["note"])).unwrap_or_default(),
            count,
            first_timestamp: s(&["firstTimestamp"])
                .or_else(|| s(&["deprecatedFirstTimestamp"]))
                .or_else(|| s(&["eventTime"])),
            last_timestamp: s(&["lastTimestamp"])
                .or_else(|| s(&["deprecatedLastTimestamp"]))
                .or_else(|| s(&["series", "lastObservedTime"]))
                .or_else(|| s(&["eventTime"])),
            component: s(&["source", "component"]).or_else(|| s(&["reportingController"])),
        })
    }
}
