//! The plan for people: what is broken → why, with evidence → what will change → how risky → what next.

mod finding;
mod footer;
mod group;
mod message;
mod steps;
mod text;
mod time;

pub use group::compact_list;

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::Style;
use crate::plan::{Plan, Unexplained};
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
    skipped_rules(out, plan);
}

/// Rules not evaluated (their APIs are absent): one line per reason, the rules that share it
/// together; `--expand` gives each rule its full reason.
fn skipped_rules(out: &mut Out, plan: &Plan) {
    let mut by_reason: Vec<(String, Vec<&str>)> = Vec::new();
    for s in &plan.rules.skipped {
        // `the cluster does not serve the API group G (probe `p` reads K)`: the part before the
        // parenthesis is what rules share.
        let reason = if out.expand {
            s.reason.clone()
        } else {
            s.reason.split(" (").next().unwrap_or(&s.reason).to_string()
        };
        match by_reason.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, rules)) => rules.push(&s.rule),
            None => by_reason.push((reason, vec![&s.rule])),
        }
    }
    for (reason, rules) in by_reason {
        let list = if out.expand {
            rules.join(", ")
        } else {
            group::compact_list(rules.iter().copied(), 4)
        };
        out.para(
            "         ",
            9,
            &format!("{} skipped, {reason}: {list}", plural(rules.len(), "rule", "rules")),
        );
    }
}

pub fn render_plan(plan: &Plan, style: Style, width: usize, expand: bool) -> String {
    let mut out = Vec::new();
    // Writing to a vector cannot fail.
    let _ = write_human(plan, style, width, expand, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The human plan written to `w` as it is rendered: the full listing of a plan with an
/// action per failing container (`--expand`) is never held whole.
pub fn write_human(plan: &Plan, style: Style, width: usize, expand: bool, w: &mut dyn Write) -> io::Result<()> {
    let ids = steps::ids_width(plan, expand);
    // A body longer than a screen opens with the table of categories: its lines are counted
    // first, up to a screenful.
    let mut count = Out::counting(width, expand);
    body(&mut count, plan, style, ids, &|o| o.lines <= group::SCREENFUL);
    let mut head = Out::new(width, expand);
    header(&mut head, plan, style);
    head.line("");
    if count.lines > group::SCREENFUL && !plan.findings.is_empty() {
        group::summary_table(&mut head, plan, style);
        head.line("");
    }
    w.write_all(head.text.as_bytes())?;
    let mut out = Out::writing(width, expand, w);
    body(&mut out, plan, style, ids, &|_| true);
    out.finish()
}

/// Everything under the header: findings, the failures no playbook explains, orphans, errors
/// and the footer. After each finding, `go_on` says whether to render the rest.
fn body(out: &mut Out, plan: &Plan, style: Style, ids: usize, go_on: &dyn Fn(&Out) -> bool) {
    let expand = out.expand;
    if plan.findings.is_empty() && plan.unexplained.is_empty() && plan.unseen_namespaces().is_empty() {
        out.line(&format!("{} no failing image pulls found", style.green("✓")));
        out.line("");
    }
    let mut shown = BTreeMap::new();
    let groups: Vec<Vec<&crate::plan::Finding>> = if expand {
        plan.findings.iter().map(|f| vec![f]).collect()
    } else {
        group::group_findings(plan)
    };
    for g in groups {
        if g.len() == 1 {
            finding::finding(out, plan, g[0], &mut shown, ids, style, &[]);
        } else {
            finding::finding(out, plan, &group::merge(&g), &mut shown, ids, style, &g);
        }
        out.line("");
        if !go_on(out) {
            return;
        }
    }
    unexplained(out, plan, style);
    for (gone, head) in [(false, "not in the snapshot"), (true, "that no longer exist")] {
        let orphans: Vec<&Unexplained> = plan.orphans.iter().filter(|o| o.gone.unwrap_or(true) == gone).collect();
        if orphans.is_empty() {
            continue;
        }
        out.line(&format!("{} events for pods {head}:", style.dim("·")));
        for (what, pods) in like_failures(orphans, expand) {
            out.para("    ", 4, &format!("{} {what}", describe_pods(&pods)));
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
    footer::footer(out, plan, style);
}

/// `ns/pod` for one, `N pods in ns` or `N pods in M namespaces` for several.
fn describe_pods(pods: &[&Unexplained]) -> String {
    if let [one] = pods {
        return format!("{}/{}", one.namespace, one.pod);
    }
    let ns: std::collections::BTreeSet<&str> = pods.iter().map(|u| u.namespace.as_str()).collect();
    let what = if pods.iter().all(|u| u.kind == "ImageStream") {
        "image streams"
    } else {
        "pods"
    };
    match ns.len() {
        1 => format!("{} {what} in {}", pods.len(), pods[0].namespace),
        n => format!("{} {what} in {n} namespaces", pods.len()),
    }
}

/// Failures no playbook explains, those with the same image, category and message together
/// (one each with `--expand`), in order of first appearance.
fn like_failures<'a>(
    list: impl IntoIterator<Item = &'a Unexplained>,
    expand: bool,
) -> Vec<(String, Vec<&'a Unexplained>)> {
    let mut groups: Vec<(String, Vec<&Unexplained>)> = Vec::new();
    let mut slot: std::collections::HashMap<(String, &str, &str, Option<&str>), usize> = Default::default();
    for (i, u) in list.into_iter().enumerate() {
        let key = (
            if expand { i.to_string() } else { String::new() },
            u.image.as_str(),
            u.category.as_str(),
            u.message.as_deref(),
        );
        let what = format!("({}) {}", u.image, u.category.as_str());
        match slot.get(&key) {
            Some(&g) => groups[g].1.push(u),
            None => {
                slot.insert(key, groups.len());
                groups.push((what, vec![u]));
            }
        }
    }
    groups
}

fn unexplained(out: &mut Out, plan: &Plan, style: Style) {
    for (_, group) in like_failures(&plan.unexplained, out.expand) {
        let u = group[0];
        let msg = u
            .message
            .as_deref()
            .map(|m| format!(": \"{}\"", truncate(m, 120)))
            .unwrap_or_default();
        let subject = if let [one] = group.as_slice() {
            let what = if one.kind == "ImageStream" {
                "image stream"
            } else {
                "pod"
            };
            format!("{what} {}/{}", one.namespace, one.pod)
        } else {
            describe_pods(&group)
        };
        out.para(
            &format!("{} ", style.yellow("?")),
            2,
            &format!(
                "{} · no playbook explains {subject} ({}){msg}",
                u.category.as_str(),
                u.image
            ),
        );
    }
    if !plan.unexplained.is_empty() {
        out.line("");
    }
}
