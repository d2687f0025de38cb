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

/// Split a shell command into words at spaces outside quotes.
fn shell_words(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in cmd.chars() {
        match (quote, c) {
            (None, ' ') => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                continue;
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Wrap a shell command so that it still runs when pasted: breaks only between words (never
/// inside quotes), each broken line ending in ` \`.
fn wrap_command(cmd: &str, width: usize) -> Vec<String> {
    if cmd.chars().count() <= width {
        return vec![cmd.to_string()];
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in shell_words(cmd) {
        let indent = if lines.is_empty() { 0 } else { 4 };
        if !line.is_empty() && indent + line.chars().count() + 1 + word.chars().count() + 2 > width {
            lines.push(format!("{}{line} \\", " ".repeat(indent)));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        let indent = if lines.is_empty() { 0 } else { 4 };
        lines.push(format!("{}{line}", " ".repeat(indent)));
    }
    lines
}

/// Lines of output, each written without trailing whitespace.
struct Out {
    text: String,
}

impl Out {
    fn line(&mut self, s: &str) {
        let _ = writeln!(self.text, "{}", s.trim_end());
    }

    /// `text` wrapped to the page, after a label of `label_width` visible characters; the
    /// following lines are indented to the same column.
    fn para(&mut self, label: &str, label_width: usize, text: &str) {
        let lines = wrap(text, WIDTH.saturating_sub(label_width).max(20));
        if lines.is_empty() {
            self.line(label);
        }
        for (i, l) in lines.iter().enumerate() {
            if i == 0 {
                self.line(&format!("{label}{l}"));
            } else {
                self.line(&format!("{}{l}", " ".repeat(label_width)));
            }
        }
    }
}

/// Findings' labels (`why`, `pods`, ...) and their text column.
const LABEL: usize = 11;

fn label(style: Style, name: &str) -> String {
    format!("  {}{}", style.bold(name), " ".repeat(LABEL - 2 - name.len()))
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
        if !line.is_empty() && 9 + line.chars().count() + 3 + p.chars().count() > WIDTH {
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
    if !plan.rules.overridden.is_empty() {
        out.para(
            "         ",
            9,
            &format!("user rules replace bundled: {}", plan.rules.overridden.join(", ")),
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
        format!("in {}", ns.join(", "))
    };
    format!("{} {where_}", parts.join(", "))
}

/// What makes actions print as one line: type, kind, namespace and status (plus the id for
/// actions that must stay apart).
type GroupKey = (String, String, Option<String>, Status, bool, String);

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
            a.alternative,
            if apart { a.id.clone() } else { String::new() },
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(a),
            None => groups.push((key, vec![a])),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

fn id_number(id: &str) -> usize {
    id.get(1..).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// `a1-a4, a6`: ids with consecutive runs as ranges.
fn id_ranges<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let mut nums: Vec<usize> = ids.map(id_number).collect();
    nums.sort_unstable();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for n in nums {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    runs.iter()
        .map(|&(a, b)| if a == b { format!("a{a}") } else { format!("a{a}-a{b}") })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `a2`, `a2-a5` (consecutive ids) or `a2,a4`.
fn ids_label(g: &[&Action]) -> String {
    let nums: Vec<usize> = g.iter().map(|a| id_number(&a.id)).collect();
    match nums.as_slice() {
        [one] => format!("a{one}"),
        [first, .., last] if nums.windows(2).all(|w| w[1] == w[0] + 1) => format!("a{first}-a{last}"),
        _ => nums.iter().map(|n| format!("a{n}")).collect::<Vec<_>>().join(","),
    }
}

/// The status column: the same words as the JSON statuses, attention states in capitals.
fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pending => "pending",
        Status::Satisfied => "✓ done",
        Status::Manual => "MANUAL",
        Status::NeedsInput => "NEEDS INPUT",
        Status::Blocked => "BLOCKED",
    }
}

const STATUS_WIDTH: usize = 11;

fn status_tag(s: Status, style: Style) -> String {
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
struct Columns {
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

fn finding_actions<'a>(plan: &'a Plan, f: &Finding) -> Vec<&'a Action> {
    f.actions
        .iter()
        .filter_map(|id| plan.actions.iter().find(|a| &a.id == id))
        .collect()
}

/// The width of the id column: the same for every finding, so the columns line up.
fn ids_width(plan: &Plan) -> usize {
    plan.findings
        .iter()
        .flat_map(|f| group_actions(&finding_actions(plan, f)))
        .map(|g| ids_label(&g).len())
        .max()
        .unwrap_or(2)
        .max(3)
}

/// A kind as people know it; `Config` alone says nothing, so it keeps its group
/// (`Config.samples.operator.openshift.io`, as `oc get` spells it).
fn kind_name(t: &crate::plan::ActionTarget) -> String {
    match t.api_version.split_once('/') {
        Some((group, _)) if t.kind == "Config" => format!("{}.{group}", t.kind),
        _ => t.kind.clone(),
    }
}

/// The plan for one finding, as steps (one per group of like actions).
fn plan_steps(
    out: &mut Out,
    plan: &Plan,
    f: &Finding,
    shown: &mut BTreeMap<String, String>,
    ids_width: usize,
    style: Style,
) {
    let actions = finding_actions(plan, f);
    if actions.is_empty() {
        out.line(&format!(
            "{}diagnosis only: nothing remedy can change",
            label(style, "plan")
        ));
        return;
    }
    let groups = group_actions(&actions);
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
    let text_width = WIDTH.saturating_sub(cols.text()).max(30);
    let alternatives: Vec<&str> = actions
        .iter()
        .filter(|a| a.alternative)
        .map(|a| a.id.as_str())
        .collect();
    let has_main = actions.iter().any(|a| !a.alternative);
    let mut said_or = false;
    for g in groups {
        let a = g[0];
        let ids = ids_label(&g);
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
            (Some(t), n) => format!("{} ×{n} in {}", kind_name(t), t.namespace.clone().unwrap_or_default()),
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
}

fn finding(
    out: &mut Out,
    plan: &Plan,
    f: &Finding,
    shown: &mut BTreeMap<String, String>,
    ids_width: usize,
    style: Style,
) {
    let left = format!("{} {} · {}", style.red("✗"), style.bold(f.category.as_str()), f.rule);
    let right = subjects_line(f);
    // `✗ ` + category + ` · ` + rule.
    let visible_left = 5 + f.category.as_str().len() + f.rule.chars().count();
    if visible_left + 2 + right.chars().count() <= WIDTH {
        let pad = WIDTH - visible_left - right.chars().count();
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
                let names: std::collections::BTreeSet<(&str, &str)> = f
                    .subjects
                    .iter()
                    .filter(|s| s.kind == kind)
                    .map(|s| (s.namespace.as_str(), s.name.as_str()))
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
    let ruled_out: Vec<String> = f
        .candidates
        .iter()
        .filter(|c| c.outcome != "confirmed")
        .map(|c| format!("{} ({})", c.rule, c.outcome.replace('-', " ")))
        .collect();
    if !ruled_out.is_empty() {
        out.para(&label(style, "also"), LABEL, &ruled_out.join(", "));
    }
    for (kind, name) in [("Pod", "pods"), ("ImageStream", "streams")] {
        let names: std::collections::BTreeSet<String> = f
            .subjects
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| {
                // Name image streams with their namespace when the finding spans several.
                if kind == "ImageStream" && f.subjects.iter().any(|o| o.namespace != s.namespace) {
                    format!("{}/{}", s.namespace, s.name)
                } else {
                    s.name.clone()
                }
            })
            .collect();
        if !names.is_empty() {
            let list = names.into_iter().collect::<Vec<_>>().join(", ");
            out.para(&label(style, name), LABEL, &list);
        }
    }
    plan_steps(out, plan, f, shown, ids_width, style);
}

/// What to run next: one line per thing the plan waits for.
fn footer(out: &mut Out, plan: &Plan, style: Style) {
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
    let ids =
        |pred: &dyn Fn(&Action) -> bool| id_ranges(plan.actions.iter().filter(|a| pred(a)).map(|a| a.id.as_str()));
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
        let mut flags: Vec<&str> = plan
            .actions
            .iter()
            .filter_map(|a| a.needs_input.as_ref().map(|n| n.flag.as_str()))
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
            for l in wrap_command(&c, WIDTH - 6) {
                out.line(&format!("      {l}"));
            }
        }
    }
}

pub fn render_plan(plan: &Plan, style: Style) -> String {
    let mut out = Out { text: String::new() };
    header(&mut out, plan, style);
    out.line("");
    if plan.findings.is_empty() && plan.unexplained.is_empty() && plan.unseen_namespaces().is_empty() {
        out.line(&format!("{} no failing image pulls found", style.green("✓")));
        out.line("");
    }
    let mut shown = BTreeMap::new();
    let width = ids_width(plan);
    for f in &plan.findings {
        finding(&mut out, plan, f, &mut shown, width, style);
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
    footer(&mut out, plan, style);
    out.text
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

    #[test]
    fn commands_wrap_between_words_outside_quotes() {
        let cmd = r#"oc patch configs.samples.operator.openshift.io/cluster --type=merge -p '{"spec": {"managementState": "Removed"}}'"#;
        let lines = wrap_command(cmd, 60);
        assert!(lines.len() > 1, "{lines:?}");
        // Every line but the last continues with a backslash; the quoted JSON stays whole.
        for l in &lines[..lines.len() - 1] {
            assert!(l.ends_with(" \\"), "{l:?}");
        }
        assert!(
            lines
                .iter()
                .any(|l| l.contains(r#"'{"spec": {"managementState": "Removed"}}'"#))
        );
        let rejoined: Vec<String> = lines
            .iter()
            .map(|l| l.trim().trim_end_matches('\\').trim().to_string())
            .collect();
        assert_eq!(rejoined.join(" "), cmd);
        assert_eq!(wrap_command("sleep 20", 60), ["sleep 20"]);
    }

    #[test]
    fn id_labels_and_ranges() {
        assert_eq!(id_ranges(["a1", "a2", "a3", "a5"].into_iter()), "a1-a3, a5");
        assert_eq!(id_ranges(["a4"].into_iter()), "a4");
    }
}
