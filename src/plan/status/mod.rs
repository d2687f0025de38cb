//! Pure status computation: the desired state of one action against the observed objects.
//!
//! By concern: pull secrets and their links (`secrets`), list items (`lists`), ConfigMap keys,
//! patches, whole objects and restarts (`objects`).

mod lists;
mod objects;
mod secrets;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::types::{NeedsInput, Status};
use crate::cluster::{Object, ObjectKey};
use crate::desired::{Change, Target};
use crate::inputs::Inputs;

pub type Observed = BTreeMap<ObjectKey, Option<Arc<Object>>>;

/// What the plan says about one action.
#[derive(Debug, Clone)]
pub struct Assessed {
    pub status: Status,
    pub summary: String,
    pub reason: Option<String>,
    pub patch: Option<Value>,
    pub diff: Option<String>,
    pub needs_input: Option<NeedsInput>,
}

impl Assessed {
    pub(super) fn new(status: Status, summary: impl Into<String>) -> Self {
        Assessed {
            status,
            summary: summary.into(),
            reason: None,
            patch: None,
            diff: None,
            needs_input: None,
        }
    }
    pub(super) fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

pub(super) fn get<'a>(observed: &'a Observed, t: &Target) -> Option<&'a Object> {
    observed.get(&t.key()).and_then(|o| o.as_deref())
}

/// A unified diff of what changes, without values that can hold credentials (see
/// [`patch::scoped_diff`]).
pub fn diff(label: &str, before: &Value, after: &Value) -> String {
    super::patch::scoped_diff(label, before, after)
}

pub(super) fn needs_input(input: &str, hint: &str) -> NeedsInput {
    NeedsInput {
        input: input.to_string(),
        flag: format!("--set-file {input}=PATH"),
        hint: hint.to_string(),
    }
}

pub fn assess(change: &Change, observed: &Observed, inputs: &Inputs) -> Assessed {
    match change {
        Change::CopySecret { from, to } => secrets::copy_secret(from, to, observed),
        Change::LinkPullSecret {
            service_account,
            secret,
        } => secrets::link(service_account, secret, observed),
        Change::MergeDockerAuths {
            secret,
            registry,
            input,
        } => secrets::merge_auths(secret, registry, input, observed, inputs),
        Change::EnsureListItem { target, items } => lists::list_item(target, items, observed),
        Change::SetConfigMapKey {
            config_map,
            key,
            input,
            remove_keys,
            copy_from,
        } => objects::cm_key(
            config_map,
            key,
            input,
            remove_keys,
            copy_from.as_deref(),
            observed,
            inputs,
        ),
        Change::Patch {
            target,
            merge_patch,
            json_patch,
        } => objects::patch_obj(target, merge_patch.as_ref(), json_patch.as_ref(), observed),
        Change::EnsureObject { manifest } => objects::ensure_object(change, manifest, observed),
        Change::RestartPod { pod } => objects::restart(pod, observed),
        Change::Manual { title, .. } => Assessed::new(Status::Manual, title.clone()),
    }
}

#[cfg(test)]
pub(super) mod testutil {
    use super::*;
    use serde_json::json;

    pub fn obs(objs: Vec<Value>) -> Observed {
        objs.into_iter()
            .map(|v| {
                let o = Object::from_value(v).unwrap();
                (o.key(), Some(Arc::new(o)))
            })
            .collect()
    }

    pub fn sa(pull: Value) -> Value {
        json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"builder","namespace":"apps"},"imagePullSecrets": pull})
    }

    pub fn t(kind: &str, ns: &str, name: &str) -> Target {
        Target {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: Some(ns.into()),
            name: name.into(),
        }
    }
}
