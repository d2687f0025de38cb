//! The plan for people: what is broken → why, with evidence → what will change → how risky → what next.

mod finding;
mod footer;
mod message;
mod steps;
mod text;
mod time;

use std::collections::BTreeMap;

use super::Style;
use crate::plan::Plan;
use text::{Out, plural, truncate};

/// The page width when the terminal's is unknown.
pub const DEFAULT_WIDTH: usize = 100;

fn header(out: &mut Out, plan: &Plan, style: Style) {
    let platform = match (&plan.cluster.openshift, &plan.cluster.version) {
        (true, Some(v)) => format!("OpenShift {v}"),
        (true, None) => "OpenShift".to_string(),
        (false, _) => "Kubernetes".to_string(),
    };
    let parts = [
        platform,
        format!("{} {}", plan.source.kind, plan.source.name),
        plural(plan.rules.playbooks, "playbook", "playbooks"),
        format!("{} scanned", plural(plan.cluster.pods_scanned, "pod", "pods")),
    ];
    // Break between the parts, never inside one.
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for p in parts {
        if !line.is_empty() && 9 + line.chars().count() + 3 + p.chars().count() > out.width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push_str(" · ");
        }
        line.push_str(&p);
    }
    lines.push(line);
    for (i, l) in lines.iter().enumerate() {
        if i == 0 {
            out.line(&format!("{}  {l}", style.bold("cluster")));
        } else {
            out.line(&format!("         {l}"));
        }
    }
    if plan.source.partial {
        let files: Vec<&str> = plan.source.skipped_files.iter().map(|f| f.file.as_str()).collect();
        out.para(
            "         ",
            9,
            &format!(
                "{} partial plan: {} left out for errors (listed on stderr): {}",
                style.yellow("warning"),
                text::plural(files.len(), "file", "files"),
                files.join(", ")
            ),
        );
    }
    if !plan.rules.overridden.is_empty() {
        out.para(
            "         ",
            9,
            &format!("user rules replace bundled: {}", plan.rules.overridden.join(", ")),
        );
    }
}

pub fn render_plan(plan: &Plan, style: Style, width: usize) -> String {
    let mut out = Out {
        text: String::new(),
        width,
    };
    header(&mut out, plan, style);
    out.line("");
    if plan.findings.is_empty() && plan.unexplained.is_empty() && plan.unseen_namespaces().is_empty() {
        out.line(&format!("{} no failing image pulls found", style.green("✓")));
        out.line("");
    }
    let mut shown = BTreeMap::new();
    let ids = steps::ids_width(plan);
    for f in &plan.findings {
        finding::finding(&mut out, plan, f, &mut shown, ids, style);
        out.line("");
    }
    for u in &plan.unexplained {
        let msg = u
            .message
            .as_deref()
            .map(|m| format!(": \"{}\"", truncate(m, 120)))
            .unwrap_or_default();
        let what = if u.kind == "ImageStream" { "image stream" } else { "pod" };
        out.para(
            &format!("{} ", style.yellow("?")),
            2,
            &format!(
                "{} · no playbook explains {what} {}/{} ({}){msg}",
                u.category.as_str(),
                u.namespace,
                u.pod,
                u.image
            ),
        );
    }
    if !plan.unexplained.is_empty() {
        out.line("");
    }
    for (gone, head) in [(false, "not in the snapshot"), (true, "that no longer exist")] {
        let orphans: Vec<_> = plan.orphans.iter().filter(|o| o.gone.unwrap_or(true) == gone).collect();
        if orphans.is_empty() {
            continue;
        }
        out.line(&format!("{} events for pods {head}:", style.dim("·")));
        for o in orphans {
            out.para(
                "    ",
                4,
                &format!("{}/{} ({}) {}", o.namespace, o.pod, o.image, o.category),
            );
        }
        out.line("");
    }
    for e in &plan.errors {
        out.para(
            &format!("{} ", style.red("!")),
            2,
            &format!("playbook {} failed on {}/{}: {}", e.rule, e.namespace, e.pod, e.error),
        );
    }
    footer::footer(&mut out, plan, style);
    out.text
}
