//! The plan for people: what is broken → why, with evidence → what will change → how risky → what next.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Style;
use crate::plan::{Action, Finding, Plan, Status};

const WIDTH: usize = 100;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp (`2025-11-28T23:52:00Z`).
fn epoch(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn span(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let secs = epoch(last?)? - epoch(first?)?;
    Some(match secs {
        s if s <= 0 => return None,
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    })
}

fn truncate(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// The runtime's own words: kubelet's `Failed to pull image "x": ` and gRPC's
/// `rpc error: code = Unknown desc = ` wrappers say nothing a reader needs.
fn core_message(m: &str) -> &str {
    let mut s = m.trim();
    if let Some(rest) = s.strip_prefix("Failed to pull image \"")
        && let Some(i) = rest.find("\": ")
    {
        s = &rest[i + 3..];
    }
    loop {
        let before = s;
        for p in [
            "rpc error: code = Unknown desc = ",
            "rpc error: code = NotFound desc = ",
            "rpc error: code = DeadlineExceeded desc = ",
        ] {
            if let Some(rest) = s.strip_prefix(p) {
                s = rest;
            }
        }
        if s == before {
            return s;
        }
    }
}

/// Fit a wrapped Go error into `max` characters by dropping its outermost wrappers
/// (`failed to pull and unpack image "x": `), where the least specific words are.
fn cause_fit(m: &str, max: usize) -> String {
    let mut s = m.trim();
    let mut cut = false;
    while s.chars().count() > max {
        match s.find(": ") {
            Some(i) if i + 2 < s.len() => {
                s = &s[i + 2..];
                cut = true;
            }
            _ => break,
        }
    }
    let s = truncate(s, max);
    if cut { format!("…{s}") } else { s }
}

/// Word-wrap `text` into lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// One summary for several actions of one type that differ only by object.
fn group_summary(g: &[&Action]) -> String {
    let first = &g[0].change.summary;
    if g.len() == 1 || g.iter().all(|a| &a.change.summary == first) {
        return first.clone();
    }
    match g[0].action_type.as_str() {
        "linkPullSecret" => format!("{} (existing entries kept)", first.split(" (").next().unwrap_or(first)),
        "restartPod" => {
            let mut owners: Vec<&str> = g
                .iter()
                .filter_map(|a| a.change.summary.split_whitespace().nth(2))
                .collect();
            owners.sort();
            owners.dedup();
            format!("owned by {}; their controllers recreate them", owners.join(", "))
        }
        _ => format!("{first} (+{} more)", g.len() - 1),
    }
}

fn verb(a: &Action) -> &'static str {
    match a.action_type.as_str() {
        "copySecret" if a.change.summary.starts_with("auths +=") => "merge",
        "copySecret" | "ensureObject" => "create",
        "linkPullSecret" | "ensureListItem" | "patch" => "patch",
        "mergeDockerAuths" => "merge",
        "setConfigMapKey" => "set",
        "restartPod" => "restart",
        _ => "manual",
    }
}

fn header(out: &mut String, plan: &Plan, style: Style) {
    let platform = match (&plan.cluster.openshift, &plan.cluster.version) {
        (true, Some(v)) => format!("OpenShift {v}"),
        (true, None) => "OpenShift".to_string(),
        (false, _) => "Kubernetes".to_string(),
    };
    let _ = writeln!(
        out,
        "{}  {platform} · {} {} · {} · {} scanned",
        style.bold("cluster"),
        plan.source.kind,
        plan.source.name,
        plural(plan.rules.playbooks, "playbook", "playbooks"),
        plural(plan.cluster.pods_scanned, "pod", "pods")
    );
    if !plan.rules.overridden.is_empty() {
        let _ = writeln!(
            out,
            "         user rules replace bundled: {}",
            plan.rules.overridden.join(", ")
        );
    }
}

fn subjects_line(f: &Finding) -> String {
    let mut ns: Vec<&str> = f.subjects.iter().map(|s| s.namespace.as_str()).collect();
    ns.sort();
    ns.dedup();
    let count = |kind: &str| {
        let mut names: Vec<&str> = f
            .subjects
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.name.as_str())
            .collect();
        names.sort();
        names.dedup();
        names.len()
    };
    let mut parts = Vec::new();
    if count("Pod") > 0 {
        parts.push(plural(count("Pod"), "pod", "pods"));
    }
    if count("ImageStream") > 0 {
        parts.push(plural(count("ImageStream"), "image stream", "image streams"));
    }
    let where_ = if ns.len() == 1 {
        format!("in {}", ns[0])
    } else {
        format!("in {} namespaces", ns.len())
    };
    format!("{} {where_}", parts.join(", "))
}

/// What makes actions print as one line: type, kind, namespace and status (plus the id for
/// actions that must stay apart).
type GroupKey = (String, String, Option<String>, Status, String);

/// Actions of one finding that differ only by object name print as one line, where the first
/// of them stood.
fn group_actions<'a>(actions: &[&'a Action]) -> Vec<Vec<&'a Action>> {
    let mut groups: Vec<(GroupKey, Vec<&Action>)> = Vec::new();
    for a in actions {
        // Only namespaced objects of one kind collapse; changes to one cluster object stay apart.
        let apart = a.action_type == "manual" || a.target.as_ref().is_none_or(|t| t.namespace.is_none());
        let key = (
            a.action_type.clone(),
            a.target.as_ref().map(|t| t.kind.clone()).unwrap_or_default(),
            a.target.as_ref().and_then(|t| t.namespace.clone()),
            a.status,
            if apart { a.id.clone() } else { String::new() },
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(a),
            None => groups.push((key, vec![a])),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

fn status_tag(a: &Action, style: Style) -> String {
    match a.status {
        Status::Pending => String::new(),
        Status::Satisfied => style.green("✓ already done"),
        Status::Manual => style.cyan("MANUAL"),
        Status::NeedsInput => style.yellow("NEEDS INPUT"),
        Status::Blocked => style.red("BLOCKED"),
    }
}

fn finding(
    out: &mut String,
    plan: &Plan,
    f: &Finding,
    shown: &mut BTreeMap<String, usize>,
    step: &mut usize,
    style: Style,
) {
    let left = format!("{} {} · {}", style.red("✗"), style.bold(f.category.as_str()), f.rule);
    let right = subjects_line(f);
    let visible_left = 4 + f.category.as_str().len() + f.rule.len();
    let pad = WIDTH.saturating_sub(visible_left + right.len()).max(2);
    let _ = writeln!(out, "{left}{}{right}", " ".repeat(pad));
    let _ = writeln!(out, "  {}", style.dim(&f.title));
    if let Some(m) = f
        .evidence
        .messages
        .iter()
        .find(|m| !crate::detect::is_generic(&m.message))
    {
        let over = span(m.first_seen.as_deref(), m.last_seen.as_deref())
            .map(|s| format!(" over {s}"))
            .unwrap_or_default();
        let total: u64 = f
            .evidence
            .messages
            .iter()
            .filter(|x| x.message == m.message)
            .map(|x| x.count)
            .sum();
        let text = format!(
            "{} said \"{}\"  ({total}×{over})",
            f.registry,
            cause_fit(core_message(&m.message), 300)
        );
        for line in wrap(&text, WIDTH - 2) {
            let _ = writeln!(out, "  {line}");
        }
    } else if let Some(m) = f.evidence.messages.first() {
        let over = span(m.first_seen.as_deref(), m.last_seen.as_deref())
            .map(|s| format!(" over {s}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  only \"{}\" survives ({}×{over}); the cause was inferred from cluster state",
            truncate(&m.message, 90),
            m.count
        );
    }
    if let Some(why) = &f.explanation {
        let mut first = true;
        for line in wrap(why, WIDTH - 8) {
            let _ = writeln!(
                out,
                "  {}   {}",
                if first { style.bold("why") } else { "   ".to_string() },
                line
            );
            first = false;
        }
    }
    let ruled_out: Vec<String> = f
        .candidates
        .iter()
        .filter(|c| c.outcome != "confirmed")
        .map(|c| format!("{} ({})", c.rule, c.outcome.replace('-', " ")))
        .collect();
    if !ruled_out.is_empty() {
        let mut first = true;
        for line in wrap(&ruled_out.join(", "), WIDTH - 8) {
            let label = if first { style.bold("also") } else { "    ".to_string() };
            let _ = writeln!(out, "  {label}  {line}");
            first = false;
        }
    }
    for (kind, label) in [("Pod", "pods"), ("ImageStream", "streams")] {
        let names: std::collections::BTreeSet<&str> = f
            .subjects
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.name.as_str())
            .collect();
        if !names.is_empty() {
            let list = names.into_iter().collect::<Vec<_>>().join(", ");
            let _ = writeln!(out, "  {}  {}", style.bold(label), truncate(&list, 200));
        }
    }
    let actions: Vec<&Action> = f
        .actions
        .iter()
        .filter_map(|id| plan.actions.iter().find(|a| &a.id == id))
        .collect();
    if actions.is_empty() {
        let _ = writeln!(
            out,
            "  {}  diagnosis only: nothing remedy can change",
            style.bold("plan")
        );
        return;
    }
    let groups = group_actions(&actions);
    let pending = actions.iter().filter(|a| a.status == Status::Pending).count();
    // A disruptive change still to be made counts, even while it waits for input.
    let disruptive = actions
        .iter()
        .filter(|a| a.disruptive && matches!(a.status, Status::Pending | Status::NeedsInput | Status::Blocked))
        .count();
    let risk = if disruptive == 0 {
        "none disruptive".to_string()
    } else {
        style.red(&format!("{disruptive} DISRUPTIVE"))
    };
    let _ = writeln!(
        out,
        "  {}  {} · {} pending · {risk}",
        style.bold("plan"),
        plural(groups.len(), "step", "steps"),
        pending
    );
    for g in groups {
        let a = g[0];
        if let Some(n) = shown.get(&a.id) {
            let _ = writeln!(out, "  {:>3}  (same as step {n} above)", "-");
            continue;
        }
        *step += 1;
        for x in &g {
            shown.insert(x.id.clone(), *step);
        }
        let what = match (&a.target, g.len()) {
            (Some(t), 1) => format!(
                "{} {}",
                t.kind,
                t.namespace
                    .as_ref()
                    .map(|ns| format!("{ns}/{}", t.name))
                    .unwrap_or(t.name.clone())
            ),
            (Some(t), n) => format!("{} ×{n} in {}", t.kind, t.namespace.clone().unwrap_or_default()),
            (None, _) => String::new(),
        };
        let summary = group_summary(&g);
        let tag = status_tag(a, style);
        let dis = if a.disruptive && matches!(a.status, Status::Pending | Status::NeedsInput | Status::Blocked) {
            format!(" {}", style.red("DISRUPTIVE"))
        } else {
            String::new()
        };
        if a.action_type == "manual" {
            let _ = writeln!(out, "  {:>3}  {:<8} {}  {tag}", step, verb(a), a.description);
            for s in &a.steps {
                let mut first = true;
                for line in s.lines() {
                    let _ = writeln!(out, "  {:>3}  {:<8}   {} {line}", "", "", if first { "-" } else { " " });
                    first = false;
                }
            }
            for c in &a.commands {
                let _ = writeln!(out, "  {:>3}  {:<8}   $ {c}", "", "");
            }
            continue;
        }
        let _ = writeln!(out, "  {:>3}  {:<8} {:<48} {summary}{dis}  {tag}", step, verb(a), what);
        if let Some(r) = &a.reason
            && a.status != Status::Pending
        {
            let _ = writeln!(out, "  {:>3}  {:<8} {}", "", "", style.dim(&format!("because {r}")));
        }
        if let Some(ni) = &a.needs_input {
            let _ = writeln!(
                out,
                "  {:>3}  {:<8} give it:  {}   ({})",
                "",
                "",
                style.bold(&ni.flag),
                ni.hint
            );
        }
    }
}

pub fn render_plan(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    header(&mut out, plan, style);
    let _ = writeln!(out);
    if plan.findings.is_empty() && plan.unexplained.is_empty() {
        let _ = writeln!(out, "{} no failing image pulls found", style.green("✓"));
    }
    let mut shown = BTreeMap::new();
    let mut step = 0;
    for f in &plan.findings {
        finding(&mut out, plan, f, &mut shown, &mut step, style);
        let _ = writeln!(out);
    }
    for u in &plan.unexplained {
        let msg = u
            .message
            .as_deref()
            .map(|m| format!(": \"{}\"", truncate(m, 120)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{} {} · no playbook explains {}/{} ({}){msg}",
            style.yellow("?"),
            style.bold(u.category.as_str()),
            u.namespace,
            u.pod,
            u.image
        );
    }
    if !plan.unexplained.is_empty() {
        let _ = writeln!(out);
    }
    if !plan.orphans.is_empty() {
        let _ = writeln!(out, "{} events for pods that no longer exist:", style.dim("·"));
        for o in &plan.orphans {
            let _ = writeln!(out, "    {}/{} ({}) {}", o.namespace, o.pod, o.image, o.category);
        }
        let _ = writeln!(out);
    }
    for e in &plan.errors {
        let _ = writeln!(
            out,
            "{} playbook {} failed on {}/{}: {}",
            style.red("!"),
            e.rule,
            e.namespace,
            e.pod,
            e.error
        );
    }
    let s = &plan.summary;
    let _ = writeln!(
        out,
        "{} · {} pending · {} satisfied · {} manual · {} need input · {} blocked{}",
        plural(s.findings, "finding", "findings"),
        s.pending,
        s.satisfied,
        s.manual,
        s.needs_input,
        s.blocked,
        if s.unexplained > 0 {
            format!(" · {} unexplained", s.unexplained)
        } else {
            String::new()
        }
    );
    if s.pending > 0 {
        let _ = writeln!(
            out,
            "machine-readable plan: remedy plan … -o json   (schema: schemas/plan.schema.json)"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_and_spans() {
        assert_eq!(epoch("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(
            span(Some("2025-11-28T08:00:00Z"), Some("2025-11-28T23:00:00Z")).as_deref(),
            Some("15h")
        );
        assert_eq!(span(Some("bad"), Some("2025-11-28T23:00:00Z")), None);
    }

    #[test]
    fn truncation_is_char_safe() {
        assert_eq!(truncate("ab  cd", 10), "ab cd");
        assert_eq!(truncate("éééééé", 4), "ééé…");
    }

    #[test]
    fn long_errors_keep_their_cause() {
        let m = "failed to pull and unpack image \"a:1\": failed to resolve reference \"a:1\": failed to authorize: 401 Unauthorized";
        assert_eq!(cause_fit(m, 40), "…failed to authorize: 401 Unauthorized");
        assert_eq!(cause_fit("short", 40), "short");
    }

    #[test]
    fn kubelet_wrappers_are_stripped() {
        assert_eq!(
            core_message("Failed to pull image \"a:1\": rpc error: code = Unknown desc = unauthorized"),
            "unauthorized"
        );
        assert_eq!(core_message("x509: bad"), "x509: bad");
    }
}
