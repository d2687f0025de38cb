//! Evaluating one rule on one failure: probes in order, then conditions, then actions.

use std::collections::BTreeMap;

use crate::probe::recorded::Recorded;

use super::{Evaluated, Outcome};
use crate::cluster::{ClusterError, ClusterSource};
use crate::desired::{Actions, Change, Desired, ListItem, Target};
use crate::probe::{ProbeError, Reader, split_ref};
use crate::rules::{ActionKind, ActionTemplate, ObjRefT, RuleSet};
use crate::template::Templates;

/// The failure's context (converted once per failure) with this rule's probe results on top.
fn layered(base: &minijinja::Value, probes: &BTreeMap<String, minijinja::Value>) -> minijinja::Value {
    minijinja::value::merge_maps([minijinja::Value::from(probes.clone()), base.clone()])
}

pub async fn evaluate_rule<C: ClusterSource>(
    rules: &RuleSet,
    reader: &Reader<'_, C>,
    ri: usize,
    fi: usize,
    base: &minijinja::Value,
    captures: BTreeMap<String, String>,
    actions: &mut Actions,
) -> Evaluated {
    let rule = &rules.rules[ri];
    let t = &rules.templates;
    // The rule's own captures sit on top of the failure's context, like its probe results
    // (a probe cannot be named `captures`).
    let mut probe_vals: BTreeMap<String, minijinja::Value> = BTreeMap::new();
    probe_vals.insert("captures".into(), minijinja::Value::from(captures));
    let mut ev = Evaluated {
        rule: ri,
        failure: fi,
        outcome: Outcome::Confirmed,
        group: "".into(),
        probes: BTreeMap::new(),
        explanation: None,
        actions: Box::default(),
        notes: Vec::new(),
    };
    for p in &rule.probes {
        match reader.run(&p.kind, t, &layered(base, &probe_vals)).await {
            Ok(probed) => {
                probe_vals.insert(p.name.clone(), probed.context);
                ev.probes.insert(p.name.clone(), Recorded::new(&probed.value));
            }
            // A read RBAC forbids leaves the probe unknown (`null`); the rule goes on, and
            // whatever it would do waits on the note.
            Err(ProbeError::Cluster(e @ ClusterError::Forbidden { .. })) => {
                ev.notes.push(format!("probe `{}`: {e}", p.name));
                probe_vals.insert(p.name.clone(), minijinja::Value::from(()));
                ev.probes.insert(p.name.clone(), Recorded::null());
            }
            Err(e) => {
                ev.outcome = Outcome::Error(format!("probe `{}`: {e}", p.name));
                return ev;
            }
        }
    }
    // With an unknown probe, a condition that fails or errors decides nothing: the rule is
    // an error carrying the note, not ruled out.
    let unknown = |ev: &mut Evaluated| {
        ev.outcome = Outcome::Error(ev.notes.join("; "));
    };
    let mctx = layered(base, &probe_vals);
    for c in &rule.conditions {
        match t.check(&c.name, &mctx) {
            Ok(true) => {}
            Ok(false) if !ev.notes.is_empty() => {
                unknown(&mut ev);
                return ev;
            }
            Ok(false) => {
                ev.outcome = Outcome::RuledOut(c.source.clone());
                return ev;
            }
            Err(_) if !ev.notes.is_empty() => {
                unknown(&mut ev);
                return ev;
            }
            Err(e) => {
                ev.outcome = Outcome::Error(format!("condition `{}`: {e}", c.source));
                return ev;
            }
        }
    }
    let mut rendered: Vec<Desired> = Vec::new();
    let result = (|| -> Result<(), ProbeError> {
        ev.group = rule.group_by.render(t, &mctx)?.into();
        ev.explanation = rule
            .explain
            .as_ref()
            .map(|e| e.render(t, &mctx))
            .transpose()?
            .map(Into::into);
        for a in &rule.actions {
            if let Some(cond) = &a.only_if
                && !t.check(cond, &mctx)?
            {
                continue;
            }
            rendered.push(render_action(a, t, &mctx)?);
        }
        Ok(())
    })();
    if let Err(e) = result {
        ev.outcome = if ev.notes.is_empty() {
            Outcome::Error(format!("rendering: {e}"))
        } else {
            Outcome::Error(ev.notes.join("; "))
        };
        rendered.clear();
    }
    if let Some(note) = ev.notes.first() {
        for a in &mut rendered {
            a.blocked.get_or_insert_with(|| note.clone());
        }
    }
    // Kept once per distinct action: failures of one finding usually render the same ones.
    ev.actions = rendered.iter().map(|d| actions.intern(d)).collect();
    ev
}

fn target(r: &ObjRefT, t: &Templates, ctx: &minijinja::Value) -> Result<Target, ProbeError> {
    Ok(Target {
        api_version: r.api_version.render(t, ctx)?,
        kind: r.kind.render(t, ctx)?,
        namespace: r
            .namespace
            .as_ref()
            .map(|n| n.render(t, ctx))
            .transpose()?
            .filter(|n| !n.is_empty()),
        name: r.name.render(t, ctx)?,
    })
}

fn render_nonempty(
    items: &[crate::rules::Tmpl],
    t: &Templates,
    ctx: &minijinja::Value,
) -> Result<Vec<std::sync::Arc<str>>, ProbeError> {
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        let s = i.render_shared(t, ctx)?;
        if !s.trim().is_empty() {
            out.push(s);
        }
    }
    Ok(out)
}

fn ns_ref(kind: &str, s: &str) -> Result<Target, ProbeError> {
    let (ns, name) = split_ref(s)?;
    Ok(Target {
        api_version: "v1".into(),
        kind: kind.into(),
        namespace: Some(ns),
        name,
    })
}

fn render_action(a: &ActionTemplate, t: &Templates, ctx: &minijinja::Value) -> Result<Desired, ProbeError> {
    let change = match &a.kind {
        ActionKind::CopySecret { from, to } => Change::CopySecret {
            from: ns_ref("Secret", &from.render(t, ctx)?)?,
            to: ns_ref("Secret", &to.render(t, ctx)?)?,
        },
        ActionKind::LinkPullSecret {
            service_account,
            secret,
        } => Change::LinkPullSecret {
            service_account: ns_ref("ServiceAccount", &service_account.render(t, ctx)?)?,
            secret: secret.render(t, ctx)?,
        },
        ActionKind::MergeDockerAuths {
            secret,
            registry,
            input,
        } => Change::MergeDockerAuths {
            secret: ns_ref("Secret", &secret.render(t, ctx)?)?,
            registry: registry.render(t, ctx)?,
            input: input.clone(),
        },
        ActionKind::EnsureListItem {
            target: tg,
            path,
            item,
            only_if_list_exists,
            item_key,
        } => Change::EnsureListItem {
            target: target(tg, t, ctx)?,
            items: vec![ListItem {
                path: path.clone(),
                item: item.render(t, ctx)?,
                only_if_list_exists: *only_if_list_exists,
                item_key: item_key.clone(),
            }],
        },
        ActionKind::SetConfigMapKey {
            config_map,
            key,
            input,
            remove_keys,
            copy_from,
        } => Change::SetConfigMapKey {
            copy_from: copy_from
                .as_ref()
                .map(|k| k.render(t, ctx))
                .transpose()?
                .filter(|k| !k.is_empty()),
            config_map: ns_ref("ConfigMap", &config_map.render(t, ctx)?)?,
            key: key.render(t, ctx)?,
            input: input.clone(),
            remove_keys: remove_keys
                .iter()
                .map(|k| k.render(t, ctx))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|k| !k.is_empty())
                .collect(),
        },
        ActionKind::Patch {
            target: tg,
            merge_patch,
            json_patch,
        } => Change::Patch {
            target: target(tg, t, ctx)?,
            merge_patch: merge_patch.as_ref().map(|v| v.render(t, ctx)).transpose()?,
            json_patch: json_patch.as_ref().map(|v| v.render(t, ctx)).transpose()?,
        },
        ActionKind::EnsureObject { manifest } => Change::EnsureObject {
            manifest: manifest.render(t, ctx)?,
        },
        ActionKind::RestartPod { pod } => Change::RestartPod {
            pod: ns_ref("Pod", &pod.render(t, ctx)?)?,
        },
        ActionKind::Manual { title, steps, commands } => Change::Manual {
            title: title.render(t, ctx)?,
            // A step or command that renders empty does not apply to this failure.
            steps: render_nonempty(steps, t, ctx)?,
            commands: render_nonempty(commands, t, ctx)?,
        },
    };
    let blocked = match &a.when {
        Some(w) if !t.check(w, ctx)? => Some(match &a.blocked_reason {
            Some(r) => r.render(t, ctx)?,
            None => "a condition of the rule does not hold".to_string(),
        }),
        _ => None,
    };
    Ok(Desired {
        change,
        description: a.description.as_ref().map(|d| d.render(t, ctx)).transpose()?,
        blocked,
        disruptive: match &a.disruptive_when {
            Some(cond) if t.check(cond, ctx)? => Some(true),
            _ => a.disruptive,
        },
        requires: a.requires.clone(),
        alternative: a.alternative,
    })
}
