//! Rendered actions: the desired state a confirmed rule asks for. Shared by `engine` (which
//! renders them), `plan` (which assesses them) and `execute` (which carries them out), so
//! none of those depends on another for it.

use serde::Serialize;
use serde_json::Value;

use crate::cluster::{GroupKind, ObjectKey};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl Target {
    pub fn key(&self) -> ObjectKey {
        let kind = GroupKind::from_api_version(&self.api_version, &self.kind);
        ObjectKey::new(&kind, self.namespace.as_deref(), &self.name)
    }

    /// `Kind ns/name` or `Kind name`.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// One value that must be in the list at a dotted path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListItem {
    pub path: String,
    pub item: String,
    /// A missing list counts as satisfied (an allow-list that is not set allows everything).
    pub only_if_list_exists: bool,
    /// Items are objects matched on this field (`{"name": item}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    CopySecret {
        from: Target,
        to: Target,
    },
    LinkPullSecret {
        service_account: Target,
        secret: String,
    },
    MergeDockerAuths {
        secret: Target,
        registry: String,
        input: String,
    },
    /// Items that must be in lists of one object. Several lists of one object change in one
    /// patch (for `image.config.openshift.io/cluster`: one MachineConfig rollout, not one per list).
    EnsureListItem {
        target: Target,
        items: Vec<ListItem>,
    },
    SetConfigMapKey {
        config_map: Target,
        key: String,
        input: String,
        remove_keys: Vec<String>,
        copy_from: Option<String>,
    },
    Patch {
        target: Target,
        merge_patch: Option<Value>,
        json_patch: Option<Value>,
    },
    EnsureObject {
        manifest: Value,
    },
    RestartPod {
        pod: Target,
    },
    Manual {
        title: String,
        /// Shared with the rule where they are literal: one per failing image adds up.
        steps: Vec<std::sync::Arc<str>>,
        commands: Vec<std::sync::Arc<str>>,
    },
}

impl Change {
    pub fn type_name(&self) -> &'static str {
        match self {
            Change::CopySecret { .. } => "copySecret",
            Change::LinkPullSecret { .. } => "linkPullSecret",
            Change::MergeDockerAuths { .. } => "mergeDockerAuths",
            Change::EnsureListItem { .. } => "ensureListItem",
            Change::SetConfigMapKey { .. } => "setConfigMapKey",
            Change::Patch { .. } => "patch",
            Change::EnsureObject { .. } => "ensureObject",
            Change::RestartPod { .. } => "restartPod",
            Change::Manual { .. } => "manual",
        }
    }

    /// Order of execution: data first, then references to it, then restarts.
    pub fn phase(&self) -> u8 {
        match self {
            Change::CopySecret { .. }
            | Change::MergeDockerAuths { .. }
            | Change::SetConfigMapKey { .. }
            | Change::EnsureObject { .. } => 1,
            Change::Manual { .. } => 1,
            Change::LinkPullSecret { .. } | Change::EnsureListItem { .. } | Change::Patch { .. } => 2,
            Change::RestartPod { .. } => 3,
        }
    }

    /// The object the action changes (none for a manual step).
    pub fn target(&self) -> Option<Target> {
        match self {
            Change::CopySecret { to, .. } => Some(to.clone()),
            Change::LinkPullSecret { service_account, .. } => Some(service_account.clone()),
            Change::MergeDockerAuths { secret, .. } => Some(secret.clone()),
            Change::EnsureListItem { target, .. } | Change::Patch { target, .. } => Some(target.clone()),
            Change::SetConfigMapKey { config_map, .. } => Some(config_map.clone()),
            Change::EnsureObject { manifest } => Some(Target {
                api_version: manifest
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("v1")
                    .to_string(),
                kind: manifest
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                namespace: manifest
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                name: manifest
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            }),
            Change::RestartPod { pod } => Some(pod.clone()),
            Change::Manual { .. } => None,
        }
    }

    /// Objects whose current state decides the status.
    pub fn reads(&self) -> Vec<ObjectKey> {
        let mut out: Vec<ObjectKey> = self.target().map(|t| t.key()).into_iter().collect();
        if let Change::CopySecret { from, .. } = self {
            out.push(from.key());
        }
        out
    }
}

impl Desired {
    /// Names of the inputs the action uses (`--set`, `--set-file`).
    pub fn inputs(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.requires.iter().map(String::as_str).collect();
        match &self.change {
            Change::MergeDockerAuths { input, .. } | Change::SetConfigMapKey { input, .. } => out.push(input),
            _ => {}
        }
        out
    }
}

/// One rendered action of one confirmed rule on one failure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Desired {
    pub change: Change,
    pub description: Option<String>,
    /// Set when the action's `when` condition is false.
    pub blocked: Option<String>,
    pub disruptive: Option<bool>,
    /// Plain inputs (`--set NAME=VALUE`) the action needs.
    pub requires: Vec<String>,
    /// Another way to the same end, instead of the rule's other actions: nothing depends on it.
    pub alternative: bool,
}

/// A hash of a value's JSON form, computed without building the text: actions render large,
/// a run can have any number of them, and only the hash needs keeping to find equal ones.
pub fn json_hash<T: Serialize>(v: &T) -> u64 {
    use std::hash::Hasher;
    struct Feed(std::collections::hash_map::DefaultHasher);
    impl std::io::Write for Feed {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.write(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut feed = Feed(Default::default());
    // Writing to a hasher cannot fail; the hash only sorts before an equality test.
    let _ = serde_json::to_writer(&mut feed, v);
    feed.0.finish()
}
