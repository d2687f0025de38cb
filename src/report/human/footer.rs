//! The plan's last lines: totals, then what to run next.

use super::steps::id_ranges;
use super::text::{Out, plural, wrap_command};
use crate::plan::{Action, Plan, Status};
use crate::report::Style;

/// What to run next: one line per thing the plan waits for.
pub(super) fn footer(out: &mut Out, plan: &Plan, style: Style) {
    let s = &plan.summary;
    let total = plan.actions.len();
    let risk = if s.disruptive == 0 {
        "none disruptive".to_string()
    } else {
        style.red(&format!("{} disruptive", s.disruptive))
    };
    out.para(
        "",
        0,
        &format!(
            "{} · {}: {} pending · {} done · {} manual · {} need input · {} blocked · {risk}{}",
            plural(s.findings, "finding", "findings"),
            plural(total, "action", "actions"),
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
        ),
    );
    let again = if let Some(r) = &plan.rerun {
        r.command()
    } else if plan.source.kind == "snapshot" {
        format!("remedy plan --snapshot {}", plan.source.name)
    } else {
        "remedy plan".to_string()
    };
    let ids = |pred: &dyn Fn(&Action) -> bool| {
        let ids: Vec<String> = plan.actions.iter().filter(|a| pred(a)).map(|a| a.id).collect();
        id_ranges(ids.iter().map(String::as_str))
    };
    // Each: what to do, and the command for it (printed on its own line, ready to paste).
    let mut next: Vec<(String, Option<String>)> = Vec::new();
    if s.pending > 0 {
        next.push((
            format!(
                "review the pending actions ({}); save the plan for a pipeline:",
                ids(&|a| a.status == Status::Pending)
            ),
            Some(format!("{again} -o json > plan.json")),
        ));
    }
    if s.needs_input > 0 {
        let mut flags: Vec<String> = plan
            .actions
            .iter()
            .filter_map(|a| a.needs_input.map(|n| n.flag))
            .collect();
        flags.dedup();
        next.push((
            "give what the plan asks for, then plan again:".into(),
            Some(format!("{again} {}", flags.join(" "))),
        ));
    }
    let manual = ids(&|a| a.status == Status::Manual && !a.alternative);
    if !manual.is_empty() {
        next.push((
            format!("do the manual steps ({manual}) yourself; remedy never runs them"),
            None,
        ));
    }
    let blocked = ids(&|a| a.status == Status::Blocked && !a.reason.as_deref().unwrap_or("").starts_with("waits for"));
    if !blocked.is_empty() {
        next.push((
            format!("clear what blocks {blocked} (see \"because\"), then plan again"),
            None,
        ));
    }
    let alternatives = ids(&|a| a.alternative && a.status != Status::Satisfied);
    if !alternatives.is_empty() {
        next.push((
            format!("or take the alternative ({alternatives}) instead of the steps listed after it"),
            None,
        ));
    }
    if s.unexplained > 0 {
        next.push((
            "no playbook explains the failures marked ?: add one with --rules (see docs/playbooks.md)".into(),
            None,
        ));
    }
    if next.is_empty() {
        next.push((plan.settled_line(), None));
    }
    for (text, command) in next {
        out.para(&format!("{}  ", style.bold("next")), 6, &text);
        if let Some(c) = command {
            for l in wrap_command(&c, out.width - 6) {
                out.line(&format!("      {l}"));
            }
        }
    }
}
