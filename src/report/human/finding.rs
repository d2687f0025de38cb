//! One finding: what is broken, the registry's words, why, what else was ruled out, the pods.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::group::{compact_list, namespaces};
use super::message::{cause_fit, core_message};
use super::steps::{id_ranges, plan_steps};
use super::text::{LABEL, Out, label, plural, truncate};
use super::time::span;
use crate::plan::{Finding, Plan};
use crate::report::Style;

pub(super) fn subjects_line(f: &Finding) -> String {
    let ns = namespaces([f]);
    let count = |kind: &str| {
        f.subjects
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| (s.namespace, s.name))
            .collect::<BTreeSet<_>>()
            .len()
    };
    let mut parts = Vec::new();
    if count("Pod") > 0 {
        parts.push(plural(count("Pod"), "pod", "pods"));
    }
    if count("ImageStream") > 0 {
        parts.push(plural(count("ImageStream"), "image stream", "image streams"));
    }
    let where_ = match ns.len() {
        1..=3 => format!("in {}", ns.iter().map(|n| &**n).collect::<Vec<_>>().join(", ")),
        n => format!("in {n} namespaces"),
    };
    format!("{} {where_}", parts.join(", "))
}

/// Pods and streams listed by name before the list is cut (`--expand` shows all); fewer when
/// they carry their namespace, and namespaces likewise.
const NAMES_SHOWN: usize = 8;
const QUALIFIED_NAMES_SHOWN: usize = 3;
const NAMESPACES_SHOWN: usize = 5;

pub(super) fn finding(
    out: &mut Out,
    plan: &Plan,
    f: &Finding,
    shown: &mut BTreeMap<String, String>,
    ids_width: usize,
    style: Style,
    others: &[&Finding],
) {
    let left = format!("{} {} · {}", style.red("✗"), style.bold(f.category.as_str()), f.rule);
    let right = subjects_line(f);
    // `✗ ` + category + ` · ` + rule.
    let visible_left = 5 + f.category.as_str().len() + f.rule.chars().count();
    if visible_left + 2 + right.chars().count() <= out.width {
        let pad = out.width - visible_left - right.chars().count();
        out.line(&format!("{left}{}{right}", " ".repeat(pad)));
    } else {
        out.line(&left);
        out.para("  ", 2, &right);
    }
    out.para("  ", 2, &style.dim(&f.title));
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
        // Several pods: the totals over all of them, not this one message's.
        let t = &f.evidence.totals;
        let counted = if t.subjects > 1 && t.count > total {
            let over = span(t.first_seen.as_deref(), t.last_seen.as_deref())
                .map(|s| format!(" over {s}"))
                .unwrap_or_default();
            let count = |kind: &str| {
                let names: BTreeSet<(Arc<str>, Arc<str>)> = f
                    .subjects
                    .iter()
                    .filter(|s| s.kind == kind)
                    .map(|s| (s.namespace, s.name))
                    .collect();
                names.len()
            };
            let what = match (count("Pod"), count("ImageStream")) {
                (p, 0) => plural(p, "pod", "pods"),
                (0, i) => plural(i, "image stream", "image streams"),
                (p, i) => format!(
                    "{} and {}",
                    plural(p, "pod", "pods"),
                    plural(i, "image stream", "image streams")
                ),
            };
            format!("{total}×; {}× from {what}{over}", t.count)
        } else {
            format!("{total}×{over}")
        };
        let text = format!(
            "{} said \"{}\"  ({counted})",
            f.registry,
            cause_fit(core_message(&m.message), 300)
        );
        out.para("  ", 2, &text);
    } else if let Some(m) = f.evidence.messages.first() {
        let over = span(m.first_seen.as_deref(), m.last_seen.as_deref())
            .map(|s| format!(" over {s}"))
            .unwrap_or_default();
        out.para(
            "  ",
            2,
            &format!(
                "only \"{}\" survives ({}×{over}); the cause was inferred from cluster state",
                truncate(&m.message, 90),
                m.count
            ),
        );
    }
    if let Some(why) = &f.explanation {
        out.para(&label(style, "why"), LABEL, why);
    }
    // What could not be read (RBAC): the finding rests on the rest, its actions wait for it.
    for n in &f.notes {
        out.para(&label(style, "note"), LABEL, n);
    }
    // A finding over several namespaces is printed compactly (unless --expand): the rules it
    // ruled out are counted or named, the reasons one `remedy explain` away.
    let compact = namespaces([f]).len() > 1 && !out.expand;
    let few = !compact;
    let ruled_out: Vec<String> = f
        .candidates
        .iter()
        .filter(|c| c.outcome != "confirmed")
        .map(|c| match (c.outcome.as_str(), c.detail.as_deref()) {
            // The condition that did not hold, in a few words; `remedy explain` has the rest.
            ("ruled-out", Some(d)) if few => {
                let cond = d.trim_start_matches("condition did not hold: ");
                let short: String = cond.chars().take(40).collect();
                let more = if short.len() < cond.len() { "…" } else { "" };
                format!("{} (ruled out: {short}{more} is false)", c.rule)
            }
            _ => format!("{} ({})", c.rule, c.outcome.replace('-', " ")),
        })
        .collect();
    if !ruled_out.is_empty() {
        let pointer = f
            .subjects
            .iter()
            .find(|s| s.kind == "Pod")
            .map(|s| format!("; why: remedy explain pod/{} -n {}", s.name, s.namespace))
            .unwrap_or_default();
        let text = if compact && ruled_out.len() > 3 {
            format!("{} other rules ruled out{pointer}", ruled_out.len())
        } else {
            format!("{}{pointer}", ruled_out.join(", "))
        };
        out.para(&label(style, "also"), LABEL, &text);
    }
    let several = namespaces([f]).len() > 1;
    // The headline names up to three namespaces; more are listed here.
    if namespaces([f]).len() > 3 && !out.expand {
        let ns = namespaces([f]);
        let list = compact_list(ns.iter().map(|n| &**n), NAMESPACES_SHOWN);
        out.para(
            &label(style, "where"),
            LABEL,
            &format!("{} namespaces: {list}", ns.len()),
        );
    }
    for (kind, name) in [("Pod", "pods"), ("ImageStream", "streams")] {
        let names: BTreeSet<String> = f
            .subjects
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| {
                // Name pods and streams with their namespace when the finding spans several.
                if several {
                    format!("{}/{}", s.namespace, s.name)
                } else {
                    s.name.to_string()
                }
            })
            .collect();
        if names.is_empty() {
            continue;
        }
        let max = if several { QUALIFIED_NAMES_SHOWN } else { NAMES_SHOWN };
        let list = if out.expand || names.len() <= max {
            names.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
        } else {
            format!(
                "{} · --expand lists all",
                compact_list(names.iter().map(String::as_str), max)
            )
        };
        out.para(&label(style, name), LABEL, &list);
    }
    plan_steps(out, plan, f, shown, ids_width, style);
    if let Some(first) = others.first().filter(|_| others.len() > 1) {
        let rest: Vec<&Finding> = others[1..].to_vec();
        let own: BTreeSet<&str> = f.actions.iter().map(String::as_str).collect();
        let ids: Vec<&str> = rest
            .iter()
            .flat_map(|o| o.actions.iter().map(String::as_str))
            .filter(|id| !own.contains(id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for id in &ids {
            shown.entry(id.to_string()).or_insert_with(|| first.id.clone());
        }
        if !ids.is_empty() {
            let ns = namespaces(rest.iter().copied());
            out.para(
                &label(style, "likewise"),
                LABEL,
                &format!(
                    "the same steps for {} more {} ({} in {}): {}",
                    rest.len(),
                    if rest.len() == 1 { "finding" } else { "findings" },
                    plural(ids.len(), "action", "actions"),
                    plural(ns.len(), "namespace", "namespaces"),
                    id_ranges(ids.iter().copied())
                ),
            );
        }
    }
}
