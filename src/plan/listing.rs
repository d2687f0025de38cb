//! Listing a plan's actions: in execution order, numbered, each assessed against the objects
//! as observed, with the status that follows from what it waits for.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::disruptive::changes_node_config;
use super::pending::{Pending, execution_order};
use super::status::assess;
use super::{Action, ActionTarget, Change, ChangeOut, Desired, NeedsInput, Status};
use crate::cluster::{Object, ObjectKey};
use crate::desired::ActionId;
use crate::inputs::Inputs;
use crate::packed::Packed;

/// Statuses that mean "apply cannot do this now": an action that depends on one waits.
fn holds_back(s: Status) -> bool {
    matches!(s, Status::Manual | Status::NeedsInput | Status::Blocked)
}

pub(super) struct Listed {
    pub(super) actions: Packed<Action>,
    /// Each action's change, in `actions` order.
    pub(super) desired: Packed<Desired>,
    /// Each pending action's number (its id is `a` and the number), by its index in
    /// `Pending::list`: a plan can have an action per failure, and one string each adds up.
    pub(super) numbers: Vec<u32>,
    /// Names of the inputs the actions use that were given (unsorted, repeated).
    pub(super) used: Vec<String>,
}

pub(super) fn list(pending: Pending, observed: &BTreeMap<ObjectKey, Option<Arc<Object>>>, inputs: &Inputs) -> Listed {
    let Pending { list: actions, desired } = pending;
    let sorted = execution_order(&actions);
    let mut numbers: Vec<u32> = vec![0; actions.len()];
    for (i, &k) in sorted.iter().enumerate() {
        numbers[k] = i as u32 + 1;
    }
    // Packed as they are listed: a plan can list a manual step per failing container. What
    // later actions read of earlier ones (number and status) is kept beside.
    let mut out_actions: Packed<Action> = Packed::new();
    let mut listed_as: Vec<(u32, Status)> = Vec::with_capacity(sorted.len());
    let mut out_desired: Packed<Desired> = Packed::new();
    // Names of the inputs the actions use that were given.
    let mut used: Vec<String> = Vec::new();
    // Where each action is in `out_actions`, once listed.
    let mut listed: Vec<Option<usize>> = vec![None; actions.len()];
    for &k in &sorted {
        let pa = &actions[k];
        let Some(d) = desired.get(k as ActionId) else { continue };
        let d = &d;
        out_desired.push(d);
        used.extend(
            d.inputs()
                .into_iter()
                .filter(|n| inputs.get(n).is_some())
                .map(str::to_string),
        );
        let mut a = assess(&d.change, observed, inputs);
        if a.status != Status::Satisfied
            && let Some(missing) = d.requires.iter().find(|r| inputs.get(r).is_none())
        {
            // The change is rendered without the value: its patch and diff would show an
            // empty string where the value goes, so neither is shown.
            a.status = Status::NeedsInput;
            a.summary = format!("sets the value you give as `{missing}`; the patch is shown once you give it");
            a.patch = None;
            a.diff = None;
            a.reason = Some(format!("only you know the value of `{missing}`"));
            a.needs_input = Some(NeedsInput {
                input: missing.clone(),
                flag: format!("--set {missing}=VALUE"),
                hint: "a plain value (visible in the plan); never pass credentials this way".into(),
            });
        }
        if let Some(reason) = &d.blocked
            && a.status != Status::Satisfied
        {
            a.status = Status::Blocked;
            a.reason = Some(reason.clone());
        }
        // Only dependencies listed before it (always the case unless rules declare a cycle),
        // by their position: a plan can have any number of actions.
        let mut before: Vec<usize> = pa.after.iter().filter_map(|&k| listed[k]).collect();
        before.sort_unstable();
        before.dedup();
        // An action cannot go ahead while one it follows is not done and apply cannot do it:
        // a manual step, a value only the user has, or something blocked.
        if a.status == Status::Pending
            && let Some((n, status)) = before.iter().map(|&i| listed_as[i]).find(|(_, s)| holds_back(*s))
        {
            a.status = Status::Blocked;
            a.reason = Some(format!("waits for a{n} ({})", status.as_str()));
        }
        let depends_on: Vec<String> = before.iter().map(|&i| format!("a{}", listed_as[i].0)).collect();
        listed[k] = Some(listed_as.len());
        listed_as.push((numbers[k], a.status));
        let (steps, commands) = match &d.change {
            Change::Manual { steps, commands, .. } => (steps.clone(), commands.clone()),
            _ => (Vec::new(), Vec::new()),
        };
        let target = d.change.target().map(|t| {
            Box::new(ActionTarget {
                api_version: t.api_version,
                kind: t.kind,
                namespace: t.namespace,
                name: t.name,
            })
        });
        let description = d.description.clone().unwrap_or_else(|| default_description(&d.change));
        out_actions.push(&Action {
            id: format!("a{}", numbers[k]),
            action_type: d.change.type_name().into(),
            status: a.status,
            disruptive: d.disruptive.unwrap_or(false) || changes_node_config(&d.change),
            alternative: d.alternative,
            target,
            description,
            change: ChangeOut {
                summary: a.summary,
                patch: a.patch,
                diff: a.diff,
            },
            reason: a.reason,
            needs_input: a.needs_input.map(Box::new),
            steps,
            commands,
            depends_on,
            findings: pa.findings.iter().map(|f| format!("f{}", f + 1)).collect(),
        });
    }
    out_desired.shrink_to_fit();
    out_actions.shrink_to_fit();
    Listed {
        actions: out_actions,
        desired: out_desired,
        numbers,
        used,
    }
}

fn default_description(c: &Change) -> String {
    match c {
        Change::CopySecret { from, to } => format!(
            "copy Secret {}/{} to {}",
            from.namespace.as_deref().unwrap_or(""),
            from.name,
            to.namespace.as_deref().unwrap_or("")
        ),
        Change::LinkPullSecret {
            service_account,
            secret,
        } => format!("add {secret} to the imagePullSecrets of {}", service_account.display()),
        Change::MergeDockerAuths { secret, registry, .. } => {
            format!("add credentials for {registry} to {}", secret.display())
        }
        Change::EnsureListItem { target, items } => {
            let paths = items.iter().map(|i| i.path.as_str()).collect::<Vec<_>>().join(" and ");
            match items.first() {
                Some(first) if items.iter().all(|i| i.item == first.item) => {
                    format!("add {} to {paths} of {}", first.item, target.display())
                }
                _ => format!(
                    "add {} of {}",
                    items
                        .iter()
                        .map(|i| format!("{} to {}", i.item, i.path))
                        .collect::<Vec<_>>()
                        .join(", "),
                    target.display()
                ),
            }
        }
        Change::SetConfigMapKey { config_map, key, .. } => format!("set key {key} in {}", config_map.display()),
        Change::Patch { target, .. } => format!("patch {}", target.display()),
        Change::EnsureObject { .. } => format!("ensure {} exists", c.target().map(|t| t.display()).unwrap_or_default()),
        Change::RestartPod { pod } => format!("restart {}", pod.display()),
        Change::Manual { title, .. } => title.clone(),
    }
}
