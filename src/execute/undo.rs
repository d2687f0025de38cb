//! `remedy undo REPORT`: restore what one apply changed (delete what it created, put back the
//! backed-up state of what it patched), unless the object changed again since; then say which
//! and leave it. Restarts are not undone: the controller made a replacement pod.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::report::Report;
use super::writes::Write;
use super::{WriteError, Writer};
use crate::cluster::{Object, ObjectKey};
use crate::desired::Target;

/// What undo does for one write of the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Send(Write),
    /// Left alone, and why.
    Leave(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Undone {
    pub action: String,
    pub target: String,
    /// `restored`, `deleted`, `left` or `failed`.
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn target_of(t: &crate::plan::ActionTarget) -> Target {
    Target {
        api_version: t.api_version.clone(),
        kind: t.kind.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
    }
}

/// The steps, newest write first. `current` holds each target as it is now; `backups` the
/// content of each backup file the report names.
pub fn plan_undo(
    report: &Report,
    current: &BTreeMap<ObjectKey, Option<Arc<Object>>>,
    backups: &BTreeMap<String, Value>,
) -> Vec<(String, Target, Step)> {
    let mut out = Vec::new();
    for a in report.actions.iter().rev() {
        for w in a.writes.iter().rev() {
            let t = target_of(&w.target);
            let now = current.get(&t.key()).cloned().flatten();
            let same = |o: &Object| {
                o.str_field("metadata.uid") == w.uid.as_deref()
                    && o.str_field("metadata.resourceVersion") == w.resource_version.as_deref()
            };
            let step = if w.verb == "delete" {
                Step::Leave("a restart is not undone: the controller replaced the pod".into())
            } else {
                match (&now, w.created, &w.backup) {
                    (None, _, _) => Step::Leave("it no longer exists".into()),
                    (Some(o), _, _) if !same(o) => Step::Leave(format!(
                        "it changed since this apply (resourceVersion {} → {})",
                        w.resource_version.as_deref().unwrap_or("none"),
                        o.str_field("metadata.resourceVersion").unwrap_or("none")
                    )),
                    (Some(o), true, _) => Step::Send(Write::Delete {
                        target: t.clone(),
                        uid: o.str_field("metadata.uid").unwrap_or_default().to_string(),
                    }),
                    (Some(o), false, Some(file)) => match backups.get(file) {
                        Some(prior) => {
                            let mut body = prior.clone();
                            if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                                m.remove("managedFields");
                                // The replace succeeds only on the object as just read.
                                m.insert(
                                    "resourceVersion".into(),
                                    o.str_field("metadata.resourceVersion").unwrap_or_default().into(),
                                );
                            }
                            Step::Send(Write::Replace {
                                target: t.clone(),
                                body,
                            })
                        }
                        None => Step::Leave(format!("its backup {file} cannot be read")),
                    },
                    (Some(_), false, None) => Step::Leave("no backup of it was made (a dry run?)".into()),
                }
            };
            out.push((a.id.clone(), t, step));
        }
    }
    out
}

/// Carry out the undo through `writer`.
pub async fn undo<W: Writer>(report: &Report, writer: &W) -> Result<Vec<Undone>, WriteError> {
    let mut current = BTreeMap::new();
    let mut backups = BTreeMap::new();
    for w in report.actions.iter().flat_map(|a| &a.writes) {
        let t = target_of(&w.target);
        current.insert(t.key(), writer.read(&t).await?);
        if let Some(file) = &w.backup
            && let Ok(text) = std::fs::read_to_string(file)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            backups.insert(file.clone(), v);
        }
    }
    let mut out = Vec::new();
    for (action, t, step) in plan_undo(report, &current, &backups) {
        let (result, reason) = match step {
            Step::Leave(why) => ("left", Some(why)),
            Step::Send(w) => match writer.write(&w, false).await {
                Ok(_) => (
                    if matches!(w, Write::Delete { .. }) {
                        "deleted"
                    } else {
                        "restored"
                    },
                    None,
                ),
                Err(e) => ("failed", Some(e.to_string())),
            },
        };
        out.push(Undone {
            action,
            target: t.display(),
            result,
            reason,
        });
    }
    Ok(out)
}
