//! The API groups a rule needs, from what its probes read and its actions change, and the
//! rules a cluster cannot serve.

use std::collections::BTreeMap;

use crate::cluster::{ClusterError, ClusterSource};
use crate::rules::{ActionKind, ObjRefT, ProbeKind, Rule, RuleSet, Tmpl};

fn group_of(api_version: &str) -> Option<String> {
    api_version
        .rsplit_once('/')
        .map(|(g, _)| g.to_string())
        .filter(|g| !g.is_empty() && !g.contains("{{"))
}

fn literal_group(r: &ObjRefT) -> Option<(String, String)> {
    match (&r.api_version, &r.kind) {
        (Tmpl::Literal(api), Tmpl::Literal(kind)) => group_of(api).map(|g| (g, kind.to_string())),
        _ => None,
    }
}

/// Non-core API groups the rule needs, each with what needs it (`probe \`image\``). Only
/// literal references count: a templated one names whatever the cluster holds.
pub fn rule_api_groups(rule: &Rule) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in &rule.probes {
        let needs = match &p.kind {
            ProbeKind::ImageConfig { .. } | ProbeKind::TrustedCa { .. } => {
                Some(("config.openshift.io".to_string(), "Image".to_string()))
            }
            ProbeKind::Object(r) | ProbeKind::JsonPath { object: r, .. } => literal_group(r),
            _ => None,
        };
        if let Some((g, kind)) = needs {
            out.entry(g)
                .or_insert_with(|| format!("probe `{}` reads {kind}", p.name));
        }
    }
    for a in &rule.actions {
        let needs = match &a.kind {
            ActionKind::EnsureListItem { target, .. } | ActionKind::Patch { target, .. } => literal_group(target),
            ActionKind::EnsureObject { manifest } => {
                let api = manifest.value.get("apiVersion").and_then(|v| v.as_str()).unwrap_or("");
                let kind = manifest.value.get("kind").and_then(|v| v.as_str()).unwrap_or("");
                group_of(api).map(|g| (g, kind.to_string()))
            }
            _ => None,
        };
        if let Some((g, kind)) = needs {
            out.entry(g).or_insert_with(|| format!("an action changes {kind}"));
        }
    }
    out
}

/// Rules (by index) the cluster cannot serve, with why. Empty unless the cluster's API
/// groups come from discovery (a snapshot cannot tell an absent API from an empty one).
pub async fn skipped_rules<C: ClusterSource>(
    rules: &RuleSet,
    cluster: &C,
) -> Result<Vec<(usize, String)>, ClusterError> {
    let mut out = Vec::new();
    if !cluster.discovers_apis() {
        return Ok(out);
    }
    for (i, rule) in rules.rules.iter().enumerate() {
        for (group, why) in rule_api_groups(rule) {
            if !cluster.has_api_group(&group).await? {
                out.push((i, format!("the cluster does not serve the API group {group} ({why})")));
                break;
            }
        }
    }
    Ok(out)
}
