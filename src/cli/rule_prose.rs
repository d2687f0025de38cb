//! `remedy rules explain ID`: a playbook in prose: what it matches, what it reads, when it
//! fires, what it would do, and the risk.

use std::fmt::Write as _;

use crate::model::{ActionSpec, MatchSpec, ObjectRefSpec, PlaybookSpec, ProbeSpec, SymptomSpec, TextMatcher};

fn text(t: &TextMatcher) -> String {
    let cs = if t.case_sensitive == Some(true) {
        " (case-sensitive)"
    } else {
        ""
    };
    if let Some(c) = &t.contains {
        format!("contains \"{c}\"{cs}")
    } else if let Some(r) = &t.regex {
        format!("matches /{r}/{cs}")
    } else if let Some(e) = &t.equals {
        format!("is \"{e}\"{cs}")
    } else if let Some(v) = &t.any_of {
        format!("({})", v.iter().map(text).collect::<Vec<_>>().join(" or "))
    } else if let Some(v) = &t.all_of {
        format!("({})", v.iter().map(text).collect::<Vec<_>>().join(" and "))
    } else if let Some(n) = &t.not {
        format!("not ({})", text(n))
    } else {
        "tests nothing".into()
    }
}

fn matcher(m: &MatchSpec, symptoms: &[&SymptomSpec]) -> Vec<String> {
    let mut out = Vec::new();
    for s in m.symptom.iter().chain(&m.symptoms) {
        let title = symptoms
            .iter()
            .find(|x| &x.metadata.name == s)
            .and_then(|x| x.metadata.title.clone())
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        out.push(format!("the message shows symptom `{s}`{title}"));
    }
    let fields: [(&str, &Option<TextMatcher>); 8] = [
        ("the message", &m.message),
        ("the waiting message", &m.waiting_message),
        ("the event reason", &m.event_reason),
        ("the event type", &m.event_type),
        ("the involved object's kind", &m.involved_kind),
        ("the waiting reason", &m.waiting_reason),
        ("the image", &m.image),
        ("the registry", &m.registry),
    ];
    for (what, t) in fields {
        if let Some(t) = t {
            out.push(format!("{what} {}", text(t)));
        }
    }
    if let Some(n) = &m.namespaces {
        if !n.include.is_empty() {
            out.push(format!("the namespace is one of {}", n.include.join(", ")));
        }
        if !n.exclude.is_empty() {
            out.push(format!("the namespace is not {}", n.exclude.join(", ")));
        }
    }
    if m.pod_selector.is_some() {
        out.push("the pod's labels match the selector".into());
    }
    if m.inferred {
        out.push("the cause is inferred (only back-off events survived)".into());
    }
    if !m.any_of.is_empty() {
        let alts: Vec<String> = m.any_of.iter().map(|s| matcher(s, symptoms).join(" and ")).collect();
        out.push(format!("any of: {}", alts.join("; or ")));
    }
    for s in &m.all_of {
        out.extend(matcher(s, symptoms));
    }
    if let Some(n) = &m.not {
        out.push(format!("not: {}", matcher(n, symptoms).join(" and ")));
    }
    out
}

fn obj(r: &ObjectRefSpec) -> String {
    match &r.namespace {
        Some(ns) => format!("{} {ns}/{}", r.kind, r.name),
        None => format!("{} {}", r.kind, r.name),
    }
}

fn probe(p: &ProbeSpec) -> String {
    let what = if let Some(o) = &p.object {
        format!("reads {}", obj(o))
    } else if let Some(x) = &p.pull_secrets {
        format!(
            "works out which pull secrets kubelet uses for pod {} and whether they cover {}",
            x.pod, x.registry
        )
    } else if let Some(x) = &p.first_covering {
        format!("finds the first secret that covers {}", x.registry)
    } else if let Some(x) = &p.image_config {
        format!("reads image.config.openshift.io/cluster for {}", x.registry)
    } else if let Some(x) = &p.trusted_ca {
        format!("checks whether the cluster trusts a CA for {}", x.registry)
    } else if let Some(x) = &p.owner {
        format!("finds the owner of pod {}", x.pod)
    } else if let Some(x) = &p.json_path {
        format!("reads {} of {}", x.path, obj(&x.object))
    } else {
        "reads nothing".into()
    };
    format!("`{}` {what}", p.name)
}

fn action(a: &ActionSpec) -> String {
    let mut s = if let Some(x) = &a.copy_secret {
        format!("copy Secret {} to {}", x.from, x.to)
    } else if let Some(x) = &a.link_pull_secret {
        format!(
            "add {} to the imagePullSecrets of ServiceAccount {}",
            x.secret, x.service_account
        )
    } else if let Some(x) = &a.merge_docker_auths {
        format!(
            "merge credentials for {} (from input `{}`) into Secret {}",
            x.registry, x.input, x.secret
        )
    } else if let Some(x) = &a.ensure_list_item {
        format!("make sure {} of {} lists {}", x.path, obj(&x.target), x.item)
    } else if let Some(x) = &a.set_config_map_key {
        format!(
            "set key {} of ConfigMap {} (from input `{}`)",
            x.key, x.config_map, x.input
        )
    } else if let Some(x) = &a.patch {
        format!("patch {}", obj(&x.target))
    } else if let Some(x) = &a.ensure_object {
        let kind = x.manifest.get("kind").and_then(|k| k.as_str()).unwrap_or("an object");
        format!("create {kind} if it is missing")
    } else if let Some(x) = &a.restart_pod {
        format!("restart pod {}", x.pod)
    } else if let Some(x) = &a.manual {
        format!("ask a person to: {} ({} steps)", x.title, x.steps.len())
    } else {
        "nothing".into()
    };
    if let Some(w) = &a.when {
        let _ = write!(s, "; blocked unless {w}");
    }
    if let Some(w) = &a.only_if {
        let _ = write!(s, "; only if {w}");
    }
    if a.disruptive == Some(true) {
        s.push_str("; DISRUPTIVE (drains and reboots nodes)");
    } else if rolls_nodes(a) {
        s.push_str("; DISRUPTIVE (registrySources: a MachineConfig rollout drains and reboots every node)");
    } else if let Some(w) = &a.disruptive_when {
        let _ = write!(s, "; disruptive when {w}");
    }
    if a.alternative {
        s.push_str("; an alternative to the others");
    }
    s
}

/// A change of `registrySources` on image.config.openshift.io/cluster, which the plan always
/// counts as disruptive.
fn rolls_nodes(a: &ActionSpec) -> bool {
    let image = |t: &ObjectRefSpec| t.kind == "Image" && t.api_version.starts_with("config.openshift.io/");
    a.ensure_list_item
        .as_ref()
        .is_some_and(|e| image(&e.target) && e.path.starts_with("spec.registrySources"))
        || a.patch.as_ref().is_some_and(|p| {
            image(&p.target)
                && p.merge_patch
                    .as_ref()
                    .and_then(|m| m.pointer("/spec/registrySources"))
                    .is_some()
        })
}

pub fn render(p: &PlaybookSpec, symptoms: &[&SymptomSpec], file: &str) -> String {
    let m = &p.metadata;
    let b = &p.spec;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}, {} severity)\n  {}",
        m.name,
        m.category.as_str(),
        format!("{:?}", m.severity).to_lowercase(),
        m.title
    );
    let _ = writeln!(out, "  defined in {file}");
    if let Some(d) = &m.description {
        let _ = writeln!(out, "\n  {}", d.trim());
    }
    let _ = writeln!(out, "\nIt matches a failing pull when:");
    for line in matcher(&b.matcher, symptoms) {
        let _ = writeln!(out, "  - {line}");
    }
    if !b.probes.is_empty() {
        let _ = writeln!(out, "\nIt reads the cluster:");
        for p in &b.probes {
            let _ = writeln!(out, "  - {}", probe(p));
        }
    }
    let _ = writeln!(out, "\nIt fires when:");
    if b.when.is_empty() {
        let _ = writeln!(out, "  - always, once it matches");
    }
    for w in &b.when {
        let _ = writeln!(out, "  - {w}");
    }
    if !b.supersedes.is_empty() {
        let _ = writeln!(
            out,
            "  and then the other rules step aside: {}",
            b.supersedes.join(", ")
        );
    }
    let _ = writeln!(out, "\nIt would:");
    for (i, a) in b.actions.iter().enumerate() {
        let _ = writeln!(out, "  {}. {}", i + 1, action(a));
    }
    let disruptive = b
        .actions
        .iter()
        .filter(|a| a.disruptive == Some(true) || a.disruptive_when.is_some() || rolls_nodes(a))
        .count();
    let writes = b.actions.iter().filter(|a| a.manual.is_none()).count();
    let risk = match (writes, disruptive) {
        (0, _) => "none: every step is manual; remedy only prints them".to_string(),
        (n, 0) => format!("{n} change(s) to cluster objects, none marked disruptive"),
        (n, d) => format!("{n} change(s) to cluster objects, {d} of them can drain and reboot nodes"),
    };
    let _ = writeln!(out, "\nRisk: {risk}.");
    if !m.references.is_empty() {
        let _ = writeln!(out, "\nReferences:");
        for r in &m.references {
            let _ = writeln!(out, "  {r}");
        }
    }
    out
}
