//! The least-privilege ClusterRole for the loaded rules (`remedy rbac`), derived from what
//! the engine always reads, each rule's probes, and each rule's actions: never a hand-kept list.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::cluster::GroupKind;
use crate::rules::{ActionKind, ObjRefT, ProbeKind, RuleSet, Tmpl};

/// Which command the role is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Plan,
    Apply,
}

/// The resource name of a kind (`ServiceAccount` → `serviceaccounts`, `Proxy` → `proxies`).
pub fn plural(kind: &str) -> String {
    let k = kind.to_ascii_lowercase();
    if let Some(stem) = k.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'o', 'u'])
    {
        return format!("{stem}ies");
    }
    if k.ends_with('s') || k.ends_with('x') {
        return format!("{k}es");
    }
    format!("{k}s")
}

/// (group, resource) → verbs.
#[derive(Debug, Default)]
pub struct Permissions {
    pub rules: BTreeMap<(String, String), BTreeSet<&'static str>>,
    /// Reads or writes whose kind is chosen at run time (a templated kind): not covered.
    pub unresolved: BTreeSet<String>,
}

impl Permissions {
    fn add(&mut self, gk: &GroupKind, verbs: &[&'static str]) {
        self.rules
            .entry((gk.group.clone(), plural(&gk.kind)))
            .or_default()
            .extend(verbs.iter().copied());
    }

    fn add_ref(&mut self, rule: &str, r: &ObjRefT, verbs: &[&'static str]) {
        match (&r.api_version, &r.kind) {
            (Tmpl::Literal(api), Tmpl::Literal(kind)) => self.add(&GroupKind::from_api_version(api, kind), verbs),
            _ => {
                self.unresolved
                    .insert(format!("rule {rule}: an object whose kind is templated"));
            }
        }
    }

    fn core(&mut self, kind: &str, verbs: &[&'static str]) {
        self.add(&GroupKind::core(kind), verbs);
    }
}

/// What the loaded rules need.
pub fn permissions(rules: &RuleSet, purpose: Purpose) -> Permissions {
    let mut p = Permissions::default();
    // What every run reads: pods and pull events (cluster-wide lists), OpenShift detection,
    // image streams.
    p.core("Pod", &["get", "list"]);
    p.core("Event", &["list"]);
    p.add(&GroupKind::new("events.k8s.io", "Event"), &["list"]);
    p.add(&GroupKind::new("image.openshift.io", "ImageStream"), &["list"]);
    p.add(&GroupKind::new("config.openshift.io", "ClusterVersion"), &["get"]);
    p.core("Namespace", &["list"]);
    p.add(&GroupKind::new("operators.coreos.com", "CatalogSource"), &["list"]);
    p.core("Secret", &["get"]);
    let apply = purpose == Purpose::Apply;
    for rule in &rules.rules {
        for probe in &rule.probes {
            match &probe.kind {
                ProbeKind::Object(r) | ProbeKind::JsonPath { object: r, .. } => p.add_ref(&rule.id, r, &["get"]),
                ProbeKind::PullSecrets { .. } => {
                    p.core("Pod", &["get"]);
                    p.core("ServiceAccount", &["get"]);
                    p.core("Secret", &["get"]);
                }
                ProbeKind::FirstCovering { .. } => p.core("Secret", &["get"]),
                // The registry probe authenticates as the pod would and trusts the cluster's CAs.
                ProbeKind::Registry { .. } => {
                    p.core("Pod", &["get"]);
                    p.core("ServiceAccount", &["get"]);
                    p.core("Secret", &["get"]);
                    p.core("ConfigMap", &["get"]);
                    p.add(&GroupKind::new("config.openshift.io", "Image"), &["get"]);
                }
                ProbeKind::ImageConfig { .. } => {
                    p.add(&GroupKind::new("config.openshift.io", "Image"), &["get"]);
                    p.add(
                        &GroupKind::new("machineconfiguration.openshift.io", "MachineConfigPool"),
                        &["list"],
                    );
                }
                ProbeKind::TrustedCa { .. } => {
                    p.add(&GroupKind::new("config.openshift.io", "Image"), &["get"]);
                    p.core("ConfigMap", &["get"]);
                }
                ProbeKind::Owner { .. } => {
                    p.core("Pod", &["get"]);
                    for (g, k) in [
                        ("apps", "ReplicaSet"),
                        ("apps", "Deployment"),
                        ("apps", "StatefulSet"),
                        ("apps", "DaemonSet"),
                        ("batch", "Job"),
                        ("batch", "CronJob"),
                        ("", "ReplicationController"),
                        ("apps.openshift.io", "DeploymentConfig"),
                        ("operators.coreos.com", "CatalogSource"),
                    ] {
                        p.add(&GroupKind::new(g, k), &["get"]);
                    }
                }
            }
        }
        // Plans read what actions touch; apply also writes it. Server-side apply and the
        // patches are `patch`; creating through apply also needs `create`.
        let w = |verbs: &'static [&'static str]| if apply { verbs } else { &["get"][..] };
        for action in &rule.actions {
            match &action.kind {
                ActionKind::CopySecret { .. } | ActionKind::MergeDockerAuths { .. } => {
                    p.core("Secret", w(&["get", "patch", "create"]))
                }
                ActionKind::LinkPullSecret { .. } => p.core("ServiceAccount", w(&["get", "patch"])),
                ActionKind::EnsureListItem { target, .. } | ActionKind::Patch { target, .. } => {
                    p.add_ref(&rule.id, target, w(&["get", "patch"]))
                }
                ActionKind::SetConfigMapKey { .. } => p.core("ConfigMap", w(&["get", "patch", "create"])),
                ActionKind::EnsureObject { manifest } => {
                    let api = manifest.value.get("apiVersion").and_then(Value::as_str);
                    let kind = manifest.value.get("kind").and_then(Value::as_str);
                    match (api, kind) {
                        (Some(a), Some(k)) if !a.contains("{{") && !k.contains("{{") => {
                            p.add(&GroupKind::from_api_version(a, k), w(&["get", "patch", "create"]))
                        }
                        _ => {
                            p.unresolved
                                .insert(format!("rule {}: an ensured object whose kind is templated", rule.id));
                        }
                    }
                }
                ActionKind::RestartPod { .. } => p.core("Pod", w(&["get", "delete"])),
                ActionKind::Manual { .. } => {}
            }
        }
    }
    p
}

/// The ClusterRole as YAML: one rule per API group and set of verbs.
pub fn cluster_role(rules: &RuleSet, purpose: Purpose) -> String {
    let p = permissions(rules, purpose);
    let mut grouped: BTreeMap<(String, Vec<&str>), Vec<String>> = BTreeMap::new();
    for ((group, resource), verbs) in &p.rules {
        grouped
            .entry((group.clone(), verbs.iter().copied().collect()))
            .or_default()
            .push(resource.clone());
    }
    let rules_out: Vec<Value> = grouped
        .into_iter()
        .map(|((group, verbs), resources)| json!({"apiGroups": [group], "resources": resources, "verbs": verbs}))
        .collect();
    let name = match purpose {
        Purpose::Plan => "remedy-plan",
        Purpose::Apply => "remedy-apply",
    };
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules_out,
    });
    let mut out = String::new();
    for u in &p.unresolved {
        out.push_str(&format!("# not covered: {u}\n"));
    }
    out.push_str(&serde_yaml::to_string(&role).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural("ServiceAccount"), "serviceaccounts");
        assert_eq!(plural("Proxy"), "proxies");
        assert_eq!(plural("Image"), "images");
        assert_eq!(plural("ImageContentSourcePolicy"), "imagecontentsourcepolicies");
        assert_eq!(plural("Gateway"), "gateways");
    }

    #[test]
    fn apply_adds_exactly_the_writes_of_the_bundled_actions() {
        let (rules, diags) = crate::load::load(&crate::load::LoadOptions {
            paths: vec![],
            bundled: true,
        });
        assert!(!diags.has_errors());
        let plan = permissions(&rules, Purpose::Plan);
        let apply = permissions(&rules, Purpose::Apply);
        let verbs = |p: &Permissions, g: &str, r: &str| {
            p.rules
                .get(&(g.to_string(), r.to_string()))
                .map(|v| v.iter().copied().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        for (g, r) in p_keys(&plan) {
            for v in verbs(&plan, &g, &r) {
                assert!(["get", "list"].contains(&v), "plan only reads: {g}/{r} {v}");
            }
        }
        assert_eq!(verbs(&apply, "", "pods"), ["delete", "get", "list"]);
        assert_eq!(verbs(&apply, "", "serviceaccounts"), ["get", "patch"]);
        assert_eq!(verbs(&apply, "", "secrets"), ["create", "get", "patch"]);
        assert_eq!(verbs(&apply, "", "configmaps"), ["create", "get", "patch"]);
        assert_eq!(verbs(&apply, "config.openshift.io", "images"), ["get", "patch"]);
        assert!(verbs(&apply, "", "nodes").is_empty(), "nothing the rules do not need");
        let yaml = cluster_role(&rules, Purpose::Apply);
        let v: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(v["kind"], "ClusterRole");
        assert!(yaml.contains("serviceaccounts"), "{yaml}");
    }

    fn p_keys(p: &Permissions) -> Vec<(String, String)> {
        p.rules.keys().cloned().collect()
    }
}
