//! The steps of a finding's plan: like actions grouped into one line, ids, verbs, statuses.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::text::{Out, label, plural, wrap, wrap_command};
use crate::plan::{Action, Finding, Plan, Status};
use crate::report::Style;

/// One summary for several actions of one type that differ only by object.
pub(super) fn group_summary(g: &[&Action]) -> String {
    let first = &g[0].change.summary;
    if g.len() == 1 || g.iter().all(|a| &a.change.summary == first) {
        return first.clone();
    }
    match &*g[0].action_type {
        "linkPullSecret" => format!("{} (existing entries kept)", first.split(" (").next().unwrap_or(first)),
        "restartPod" => {
            let mut owners: Vec<&str> = g
                .iter()
                .filter_map(|a| a.change.summary.split_whitespace().nth(2))
                .collect();
            owners.sort();
            owners.dedup();
            // OLM, not a controller owner, recreates catalog pods (`controller: false`).
            let who = if owners == ["CatalogSource"] {
                "OLM recreates them from their CatalogSources"
            } else {
                "their controllers recreate them"
            };
            format!("owned by {}; {who}", owners.join(", "))
        }
        _ => format!("{first} (+{} more)", g.len() - 1),
    }
}

pub(super) fn verb(a: &Action) -> &'static str {
    match &*a.action_type {
        "copySecret" if a.change.summary.starts_with("auths +=") => "merge",
        "copySecret" | "ensureObject" => "create",
        "linkPullSecret" | "ensureListItem" | "patch" => "patch",
        "mergeDockerAuths" => "merge",
        "setConfigMapKey" => "set",
        "restartPod" => "restart",
        _ => "manual",
    }
}

/// What makes actions print as one line: type, kind, namespace and status (plus the id for
/// actions that must stay apart).
pub(super) type GroupKey = (String, String, String, Status, bool, String);

/// Actions of one finding that differ only by object name print as one line, where the first
/// of them stood.
/// Unless `expand`, like actions in several namespaces collapse too.
pub(super) fn group_actions<'a>(actions: &[&'a Action], expand: bool) -> Vec<Vec<&'a Action>> {
    let mut groups: Vec<Vec<&Action>> = Vec::new();
    // Where each key's group is: a finding can have an action per failing container, and each
    // manual one is a group of its own.
    let mut slot: BTreeMap<GroupKey, usize> = BTreeMap::new();
    for a in actions {
        // Only namespaced objects of one kind collapse; changes to one cluster object stay apart.
        let apart = a.action_type == "manual" || a.target.as_ref().is_none_or(|t| t.namespace.is_none());
        let key = (
            a.action_type.to_string(),
            a.target.as_ref().map(|t| t.kind.clone()).unwrap_or_default(),
            a.target
                .as_ref()
                .and_then(|t| t.namespace.clone())
                .filter(|_| expand)
                .unwrap_or_default(),
            a.status,
            a.alternative,
            if apart { a.id.clone() } else { String::new() },
        );
        match slot.entry(key) {
            Entry::Occupied(at) => groups[*at.get()].push(a),
            Entry::Vacant(at) => {
                at.insert(groups.len());
                groups.push(vec![a]);
            }
        }
    }
    groups
}

pub(super) fn id_number(id: &str) -> usize {
    id.get(1..).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// `a1-a4, a6`: ids with consecutive runs as ranges.
pub(super) fn id_ranges<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let mut nums: Vec<usize> = ids.map(id_number).collect();
    nums.sort_unstable();
    nums.dedup();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for n in nums {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    let shown = runs
        .iter()
        .take(RUNS_SHOWN)
        .map(|&(a, b)| if a == b { format!("a{a}") } else { format!("a{a}-a{b}") })
        .collect::<Vec<_>>()
        .join(", ");
    if runs.len() > RUNS_SHOWN {
        let rest: usize = runs[RUNS_SHOWN..].iter().map(|(a, b)| b - a + 1).sum();
        format!("{shown}, … (+{rest} more)")
    } else {
        shown
    }
}

/// Runs of ids listed before a list is cut: the JSON plan has them all.
const RUNS_SHOWN: usize = 8;

/// `a2`, `a2-a5` (consecutive ids) or `a2,a4`.
pub(super) fn ids_label(g: &[&Action]) -> String {
    let nums: Vec<usize> = g.iter().map(|a| id_number(&a.id)).collect();
    match nums.as_slice() {
        [one] => format!("a{one}"),
        [first, .., last] if nums.windows(2).all(|w| w[1] == w[0] + 1) => format!("a{first}-a{last}"),
        [a, b] => format!("a{a},a{b}"),
        // The full list follows the step (see `plan_steps`).
        [first, .., last] => format!("a{first}…a{last}"),
        [] => String::new(),
    }
}

/// The status column: the same words as the JSON statuses, attention states in capitals.
pub(super) fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pending => "pending",
        Status::Satisfied => "✓ done",
        Status::Manual => "MANUAL",
        Status::NeedsInput => "NEEDS INPUT",
        Status::Blocked => "BLOCKED",
    }
}

pub(super) const STATUS_WIDTH: usize = 11;

pub(super) fn status_tag(s: Status, style: Style) -> String {
    let word = status_word(s);
    let pad = " ".repeat(STATUS_WIDTH - word.chars().count());
    let painted = match s {
        Status::Pending => word.to_string(),
        Status::Satisfied => style.green(word),
        Status::Manual => style.cyan(word),
        Status::NeedsInput => style.yellow(word),
        Status::Blocked => style.red(word),
    };
    format!("{painted}{pad}")
}

/// Layout of the step lines: `  <ids>  <verb>  <status>  <text>`.
pub(super) struct Columns {
    ids: usize,
}

impl Columns {
    fn text(&self) -> usize {
        2 + self.ids + 2 + 8 + 1 + STATUS_WIDTH + 2
    }
    fn indent(&self) -> String {
        " ".repeat(self.text())
    }
}

/// A finding's actions, read back from the plan's packed list, with the text of those only
/// `needs_text` says are printed in full. Their steps and commands, mostly a rule's literals,
/// are kept once each: a finding can have a manual step per failing container, and all but
/// the first of a shape are only counted.
pub(super) fn finding_actions(plan: &Plan, f: &Finding, mut needs_text: impl FnMut(&Action) -> bool) -> Vec<Action> {
    let mut texts: HashSet<Arc<str>> = HashSet::new();
    let none: Arc<str> = Arc::from("");
    let mut share = |list: &mut Vec<Arc<str>>, keep: bool| {
        for t in list.iter_mut() {
            if !keep {
                *t = none.clone();
                continue;
            }
            match texts.get(t) {
                Some(have) => *t = have.clone(),
                None => {
                    texts.insert(t.clone());
                }
            }
        }
    };
    f.actions
        .iter()
        .filter_map(|id| plan.action(id))
        .map(|mut a| {
            // Never printed here.
            a.findings = Vec::new();
            a.change.patch = None;
            a.change.diff = None;
            let keep = needs_text(&a);
            if !keep {
                a.description = String::new();
                a.change.summary = String::new();
            }
            share(&mut a.steps, keep);
            share(&mut a.commands, keep);
            a
        })
        .collect()
}

/// Whether `a` is a manual step that may be counted with like ones rather than printed.
fn collapsible(a: &Action, expand: bool) -> bool {
    a.action_type == "manual" && !expand
}

/// Manual steps met so far, by shape (steps, commands, status).
#[derive(Default)]
struct Shapes(BTreeMap<(usize, usize, Status), usize>);

impl Shapes {
    /// Whether `a` repeats the shape of a step met before; it is counted either way.
    fn repeats(&mut self, a: &Action) -> bool {
        let seen = self.0.entry((a.steps.len(), a.commands.len(), a.status)).or_default();
        *seen += 1;
        *seen > 1
    }
}

/// The width of the id column: the same for every finding, so the columns line up.
pub(super) fn ids_width(plan: &Plan, expand: bool) -> usize {
    let mut widest = 2;
    for f in &plan.findings {
        // Only ids are read here.
        let actions = finding_actions(plan, f, |_| false);
        let refs: Vec<&Action> = actions.iter().collect();
        for g in group_actions(&refs, expand) {
            widest = widest.max(ids_label(&g).len());
        }
    }
    widest.max(3)
}

/// A kind as people know it; `Config` alone says nothing, so it keeps its group
/// (`Config.samples.operator.openshift.io`, as `oc get` spells it).
pub(super) fn kind_name(t: &crate::plan::ActionTarget) -> String {
    match t.api_version.split_once('/') {
        Some((group, _)) if t.kind == "Config" => format!("{}.{group}", t.kind),
        _ => t.kind.clone(),
    }
}

/// The plan for one finding, as steps (one per group of like actions).
pub(super) fn plan_steps(
    out: &mut Out,
    plan: &Plan,
    f: &Finding,
    shown: &mut BTreeMap<String, String>,
    ids_width: usize,
    style: Style,
) {
    // Which manual steps print in full, as the loop below decides (manual steps are one
    // group each, in the order they are listed): the text of the others is not read back.
    let mut shapes = Shapes::default();
    let owned = finding_actions(plan, f, |a| {
        match (collapsible(a, out.expand), shown.contains_key(&a.id)) {
            (false, _) => true,
            (true, true) => false,
            (true, false) => !shapes.repeats(a),
        }
    });
    let actions: Vec<&Action> = owned.iter().collect();
    if actions.is_empty() {
        out.line(&format!(
            "{}diagnosis only: nothing remedy can change",
            label(style, "plan")
        ));
        return;
    }
    let groups = group_actions(&actions, out.expand);
    let pending = actions.iter().filter(|a| a.status == Status::Pending).count();
    let disruptive = actions.iter().filter(|a| a.counts_as_disruptive()).count();
    let risk = if disruptive == 0 {
        "none disruptive".to_string()
    } else {
        style.red(&format!("{disruptive} disruptive (drains and reboots nodes)"))
    };
    out.line(&format!(
        "{}{} · {} pending · {risk}",
        label(style, "plan"),
        plural(actions.len(), "action", "actions"),
        pending
    ));
    let cols = Columns { ids: ids_width };
    let text_width = out.width.saturating_sub(cols.text()).max(30);
    let alternatives: Vec<&str> = actions
        .iter()
        .filter(|a| a.alternative)
        .map(|a| a.id.as_str())
        .collect();
    let has_main = actions.iter().any(|a| !a.alternative);
    let mut said_or = false;
    // Unless expanded, a manual step shaped like one already shown (one per pod, say) is
    // counted, not repeated.
    let mut manual_shapes = Shapes::default();
    let mut like_shown: Vec<&Action> = Vec::new();
    for g in groups {
        let a = g[0];
        let ids = ids_label(&g);
        if collapsible(a, out.expand) && !shown.contains_key(&a.id) && manual_shapes.repeats(a) {
            for x in &g {
                shown.insert(x.id.clone(), f.id.clone());
            }
            like_shown.extend(g);
            continue;
        }
        if !a.alternative && !alternatives.is_empty() && has_main && !said_or {
            said_or = true;
            out.line(&format!(
                "  {:>w$}  or, instead of {}:",
                "",
                alternatives.join(", "),
                w = cols.ids
            ));
        }
        if let Some(first) = shown.get(&a.id) {
            out.line(&format!(
                "  {ids:>w$}  {:<8} {}  same as under {first} above",
                verb(a),
                status_tag(a.status, style),
                w = cols.ids
            ));
            continue;
        }
        for x in &g {
            shown.insert(x.id.clone(), f.id.clone());
        }
        let what = match (&a.target, g.len()) {
            (Some(t), 1) => format!(
                "{} {}",
                kind_name(t),
                t.namespace
                    .as_ref()
                    .map(|ns| format!("{ns}/{}", t.name))
                    .unwrap_or(t.name.clone())
            ),
            (Some(t), n) => {
                let ns: std::collections::BTreeSet<&str> = g
                    .iter()
                    .filter_map(|x| x.target.as_ref()?.namespace.as_deref())
                    .collect();
                match ns.len() {
                    1 => format!("{} ×{n} in {}", kind_name(t), t.namespace.clone().unwrap_or_default()),
                    k => format!("{} ×{n} in {k} namespaces", kind_name(t)),
                }
            }
            (None, _) => a.description.clone(),
        };
        let what = if a.counts_as_disruptive() {
            format!("{what} · {}", style.red("DISRUPTIVE"))
        } else {
            what
        };
        let lead = format!(
            "  {ids:>w$}  {:<8} {}  ",
            verb(a),
            status_tag(a.status, style),
            w = cols.ids
        );
        // The first line: what the step is about; then what changes, why the status, how to unblock.
        let mut first = true;
        for l in wrap(&what, text_width) {
            if first {
                out.line(&format!("{lead}{l}"));
                first = false;
            } else {
                out.line(&format!("{}{l}", cols.indent()));
            }
        }
        let indent = cols.indent();
        if g.len() > 2 && ids.contains('…') {
            out.para(
                &indent,
                cols.text(),
                &format!("ids {}", id_ranges(g.iter().map(|x| x.id.as_str()))),
            );
        }
        if a.action_type == "manual" {
            if !a.depends_on.is_empty() {
                out.para(&indent, cols.text(), &format!("after {}", a.depends_on.join(", ")));
            }
            for s in &a.steps {
                let mut lines = s.lines();
                if let Some(l) = lines.next() {
                    out.para(&format!("{indent}- "), cols.text() + 2, l);
                }
                for l in lines {
                    // Literal blocks (file contents) keep their indentation.
                    if l.chars().count() + 2 <= text_width {
                        out.line(&format!("{indent}  {l}"));
                    } else {
                        out.para(&format!("{indent}  "), cols.text() + 2, l);
                    }
                }
            }
            for c in &a.commands {
                for (i, l) in wrap_command(c, text_width.saturating_sub(2)).iter().enumerate() {
                    out.line(&format!("{indent}{} {l}", if i == 0 { "$" } else { " " }));
                }
            }
        } else {
            out.para(&indent, cols.text(), &group_summary(&g));
        }
        if let Some(r) = &a.reason
            && !matches!(a.status, Status::Pending | Status::Satisfied)
        {
            out.para(&indent, cols.text(), &style.dim(&format!("because {r}")));
        }
        if let Some(ni) = &a.needs_input {
            out.line(&format!("{indent}give it: {}", style.bold(&ni.flag)));
            out.para(&format!("{indent}         "), cols.text() + 9, &ni.hint);
        }
    }
    if !like_shown.is_empty() {
        let ids = id_ranges(like_shown.iter().map(|a| a.id.as_str()));
        out.para(
            &format!(
                "  {:>w$}  {:<8} {}  ",
                "",
                "manual",
                status_tag(like_shown[0].status, style),
                w = cols.ids
            ),
            cols.text(),
            &format!(
                "{} more like the one above ({ids}); --expand shows each",
                plural(like_shown.len(), "step", "steps")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(n: usize, kind: &str, namespace: Option<&str>, status: Status) -> Action {
        let target = (!kind.is_empty()).then(|| crate::plan::ActionTarget {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: namespace.map(str::to_string),
            name: format!("o{n}"),
        });
        let kind = if kind.is_empty() { "manual" } else { "patch" };
        Action::for_test(&format!("a{n}"), kind, status, target)
    }

    // One finding can list a manual step per failing container (25,000 in one pod): each is a
    // group of its own, found by key rather than by a scan of the groups so far (which made
    // the human plan of such a pod take two minutes).
    #[test]
    fn many_actions_group_by_key_in_order_of_first_appearance() {
        let mut all: Vec<Action> = (1..=20_000).map(|n| action(n, "", None, Status::Manual)).collect();
        // Like namespaced patches collapse wherever they stand; a different status stays apart.
        all.insert(3, action(20_001, "ServiceAccount", Some("a"), Status::Pending));
        all.push(action(20_002, "ServiceAccount", Some("b"), Status::Pending));
        all.push(action(20_003, "ServiceAccount", Some("b"), Status::Blocked));
        let refs: Vec<&Action> = all.iter().collect();

        let groups = group_actions(&refs, false);
        assert_eq!(groups.len(), 20_002);
        fn ids<'a>(g: &[&'a Action]) -> Vec<&'a str> {
            g.iter().map(|a| a.id.as_str()).collect()
        }
        assert_eq!(ids(&groups[0]), ["a1"]);
        assert_eq!(
            ids(&groups[3]),
            ["a20001", "a20002"],
            "like patches are one line, at the first"
        );
        assert_eq!(ids(&groups[4]), ["a4"]);
        assert_eq!(ids(&groups[20_000]), ["a20000"]);
        assert_eq!(ids(&groups[20_001]), ["a20003"]);
        // Expanded, namespaces keep like patches apart.
        let expanded = group_actions(&refs, true);
        assert_eq!(expanded.len(), 20_003);
        assert_eq!(ids(&expanded[3]), ["a20001"]);
    }

    #[test]
    fn id_labels_and_ranges() {
        assert_eq!(id_ranges(["a1", "a2", "a3", "a5"].into_iter()), "a1-a3, a5");
        assert_eq!(id_ranges(["a4"].into_iter()), "a4");
    }
}
