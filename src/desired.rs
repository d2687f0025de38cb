//! Rendered actions: the desired state a confirmed rule asks for. Shared by `engine` (which
//! renders them), `plan` (which assesses them) and `execute` (which carries them out), so
//! none of those depends on another for it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cluster::{GroupKind, ObjectKey};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl Desired {
    /// The change alone: no description, nothing blocking it, no inputs, not an alternative.
    pub fn new(change: Change) -> Desired {
        Desired {
            change,
            description: None,
            blocked: None,
            disruptive: None,
            requires: Vec::new(),
            alternative: false,
        }
    }
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

/// Which of a run's distinct actions (`Actions`) an evaluation asks for.
pub type ActionId = u32;

/// Distinct actions, each kept once and packed (see `packed`): the failures of one finding
/// usually render the same action, and when each renders its own (a manual step per failing
/// image) they are held compressed rather than as values, one per failure.
#[derive(Debug, Clone, Default)]
pub struct Actions {
    packed: crate::packed::Packed<Desired>,
    /// The first action of each hash; the others of a hash (a collision) in `collided`.
    by_hash: std::collections::HashMap<u64, ActionId>,
    collided: std::collections::HashMap<u64, Vec<ActionId>>,
    /// The action found or added last: a run of equal ones is compared without reading back.
    last: Option<(ActionId, Desired)>,
}

impl Actions {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.packed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
    }

    pub fn get(&self, id: ActionId) -> Option<Desired> {
        self.packed.get(id as usize)
    }

    /// Every action, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = Desired> + '_ {
        self.packed.iter()
    }

    /// The id of the action equal to `d`, added when there is none.
    pub fn intern(&mut self, d: &Desired) -> ActionId {
        self.intern_by(d, json_hash(d), |a, b| a == b).0
    }

    /// The id of the action `same` as `d` (whose hash of what `same` compares is `hash`), and
    /// whether it was added now.
    pub fn intern_by(&mut self, d: &Desired, hash: u64, same: impl Fn(&Desired, &Desired) -> bool) -> (ActionId, bool) {
        if let Some((id, last)) = &self.last
            && same(last, d)
        {
            return (*id, false);
        }
        let candidates = self
            .by_hash
            .get(&hash)
            .into_iter()
            .chain(self.collided.get(&hash).into_iter().flatten());
        let mut found = None;
        for &id in candidates {
            if let Some(have) = self.packed.get(id as usize)
                && same(&have, d)
            {
                found = Some((id, have));
                break;
            }
        }
        if let Some((id, have)) = found {
            self.last = Some((id, have));
            return (id, false);
        }
        let id = self.packed.push(d) as ActionId;
        match self.by_hash.entry(hash) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(id);
            }
            std::collections::hash_map::Entry::Occupied(_) => self.collided.entry(hash).or_default().push(id),
        }
        self.last = Some((id, d.clone()));
        (id, true)
    }

    /// Compress what is still open and keep no spare room: the run adds no more.
    pub fn shrink_to_fit(&mut self) {
        self.packed.shrink_to_fit();
        self.by_hash.shrink_to_fit();
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(kind: &str, ns: Option<&str>, name: &str) -> Target {
        Target {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: ns.map(str::to_string),
            name: name.into(),
        }
    }

    fn desired(change: Change) -> Desired {
        Desired::new(change)
    }

    /// Every kind of change, with its optional parts set and unset.
    fn every_change() -> Vec<Desired> {
        let sa = target("ServiceAccount", Some("apps"), "default");
        let mut all = vec![
            desired(Change::CopySecret {
                from: target("Secret", Some("a"), "s"),
                to: target("Secret", Some("b"), "s"),
            }),
            desired(Change::LinkPullSecret {
                service_account: sa.clone(),
                secret: "pull".into(),
            }),
            desired(Change::MergeDockerAuths {
                secret: target("Secret", Some("openshift-config"), "pull-secret"),
                registry: "quay.io".into(),
                input: "auth".into(),
            }),
            desired(Change::EnsureListItem {
                target: target("Image", None, "cluster"),
                items: vec![
                    ListItem {
                        path: "spec.registrySources.allowedRegistries".into(),
                        item: "quay.io".into(),
                        only_if_list_exists: true,
                        item_key: None,
                    },
                    ListItem {
                        path: "spec.x".into(),
                        item: "y".into(),
                        only_if_list_exists: false,
                        item_key: Some("name".into()),
                    },
                ],
            }),
            desired(Change::SetConfigMapKey {
                config_map: target("ConfigMap", Some("openshift-config"), "ca"),
                key: "quay.io".into(),
                input: "ca".into(),
                remove_keys: vec!["old".into()],
                copy_from: Some("other".into()),
            }),
            desired(Change::Patch {
                target: sa.clone(),
                merge_patch: Some(json!({"a": [1, 2.5, -3, null, true, {"b": "c"}]})),
                json_patch: None,
            }),
            desired(Change::EnsureObject {
                manifest: json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "n"}}),
            }),
            desired(Change::RestartPod {
                pod: target("Pod", Some("apps"), "p"),
            }),
            desired(Change::Manual {
                title: "read quay.io's answer".into(),
                steps: vec!["run it".into()],
                commands: vec![],
            }),
        ];
        let mut full = desired(Change::Manual {
            title: "t".into(),
            steps: vec![],
            commands: vec!["skopeo inspect docker://quay.io/a/b:1".into()],
        });
        full.description = Some("d".into());
        full.blocked = Some("waits".into());
        full.disruptive = Some(true);
        full.requires = vec!["name".into()];
        full.alternative = true;
        all.push(full);
        all
    }

    #[test]
    fn every_change_reads_back_as_it_was_kept() {
        let mut actions = Actions::new();
        let all = every_change();
        let ids: Vec<ActionId> = all.iter().map(|d| actions.intern(d)).collect();
        assert_eq!(ids, (0..all.len() as ActionId).collect::<Vec<_>>());
        actions.shrink_to_fit();
        for (id, d) in ids.iter().zip(&all) {
            assert_eq!(actions.get(*id).as_ref(), Some(d));
        }
        assert_eq!(actions.iter().collect::<Vec<_>>(), all);
    }

    #[test]
    fn equal_actions_are_kept_once_whatever_came_between() {
        let mut actions = Actions::new();
        let all = every_change();
        for d in &all {
            actions.intern(d);
        }
        // Again, in another order: found, not added (neither as the last one nor by hash).
        for (i, d) in all.iter().enumerate().rev() {
            assert_eq!(actions.intern(d), i as ActionId);
            assert_eq!(actions.intern(d), i as ActionId);
        }
        assert_eq!(actions.len(), all.len());
        // Under a looser sameness (here: the same type), the first of each kind stands for all.
        let mut loose = Actions::new();
        let kind = |d: &Desired| json_hash(&d.change.type_name());
        let manual = |title: &str| {
            desired(Change::Manual {
                title: title.into(),
                steps: vec![],
                commands: vec![],
            })
        };
        let same_type = |a: &Desired, b: &Desired| a.change.type_name() == b.change.type_name();
        assert_eq!(
            loose.intern_by(&manual("one"), kind(&manual("one")), same_type),
            (0, true)
        );
        assert_eq!(
            loose.intern_by(&manual("two"), kind(&manual("two")), same_type),
            (0, false)
        );
        assert_eq!(loose.get(0).unwrap(), manual("one"));
    }
}
