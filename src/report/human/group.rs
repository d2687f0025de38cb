//! Large clusters: findings that share rule and cause across namespaces read as one, and a
//! table of categories opens a long plan. `--expand` (`-o wide`) shows every finding alone;
//! the JSON always keeps every subject.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::message::core_message;
use super::text::{Out, plural};
use crate::plan::{Finding, MessageEvidence, Plan, Status};
use crate::report::Style;

/// What findings must share to read as one: the rule, the cause in the runtime's words,
/// the registry, and the shape of the plan (each step's type, status and kind).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct CauseKey {
    rule: String,
    registry: String,
    title: String,
    cause: String,
    steps: Vec<(String, Status, String, bool)>,
}

fn cause_key(plan: &Plan, f: &Finding) -> CauseKey {
    let cause = f
        .evidence
        .messages
        .iter()
        .find(|m| !crate::detect::is_generic(&m.message))
        .map(|m| core_message(&m.message).to_string())
        .unwrap_or_default();
    let steps = f
        .actions
        .iter()
        .filter_map(|id| plan.action(id))
        .map(|a| {
            (
                a.action_type.to_string(),
                a.status,
                a.target.as_ref().map(|t| t.kind.clone()).unwrap_or_default(),
                a.alternative,
            )
        })
        .collect();
    CauseKey {
        rule: f.rule.clone(),
        registry: f.registry.clone(),
        title: f.title.clone(),
        cause,
        steps,
    }
}

/// Findings in plan order, those sharing a cause together (at the place of the first).
pub(super) fn group_findings(plan: &Plan) -> Vec<Vec<&Finding>> {
    let mut slot: BTreeMap<CauseKey, usize> = BTreeMap::new();
    let mut groups: Vec<Vec<&Finding>> = Vec::new();
    for f in &plan.findings {
        let key = cause_key(plan, f);
        match slot.get(&key) {
            Some(&i) => groups[i].push(f),
            None => {
                slot.insert(key, groups.len());
                groups.push(vec![f]);
            }
        }
    }
    groups
}

/// Namespaces of findings, sorted and distinct.
pub(super) fn namespaces<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> BTreeSet<Arc<str>> {
    findings
        .into_iter()
        .flat_map(|f| f.subjects.iter().map(|s| s.namespace))
        .collect()
}

/// `a, b, c, … (+N more)`: at most `max` names.
pub fn compact_list<'a>(names: impl IntoIterator<Item = &'a str>, max: usize) -> String {
    let all: Vec<&str> = names.into_iter().collect();
    if all.len() <= max {
        return all.join(", ");
    }
    format!("{}, … (+{} more)", all[..max].join(", "), all.len() - max)
}

/// One finding standing for the group: every subject, the messages summed, the first
/// finding's explanation (said to be an example when they differ) and its actions.
pub(super) fn merge(group: &[&Finding]) -> Finding {
    let first = group[0];
    let mut merged = first.clone();
    let mut subjects: Vec<_> = group.iter().flat_map(|f| f.subjects.iter()).collect();
    subjects.sort();
    subjects.dedup();
    merged.subjects = subjects.into_iter().collect();
    let mut messages: BTreeMap<&str, MessageEvidence> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for m in group.iter().flat_map(|f| &f.evidence.messages) {
        match messages.get_mut(m.message.as_str()) {
            Some(x) => {
                x.count += m.count;
                x.pods += m.pods;
                x.image_streams += m.image_streams;
                x.first_seen = min_opt(x.first_seen.take(), m.first_seen.clone());
                x.last_seen = max_opt(x.last_seen.take(), m.last_seen.clone());
            }
            None => {
                order.push(&m.message);
                messages.insert(&m.message, m.clone());
            }
        }
    }
    merged.evidence.messages = order.iter().filter_map(|m| messages.remove(m)).collect();
    if group.iter().any(|f| f.explanation != first.explanation)
        && let (Some(why), Some(ns)) = (&first.explanation, first.subjects.get(0))
    {
        merged.explanation = Some(format!("in {}, for example: {why}", ns.namespace));
    }
    merged
}

fn min_opt(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// More lines than this and the plan opens with the table of categories.
pub(super) const SCREENFUL: usize = 60;

/// Category × pods, namespaces, findings and actions, as `kubectl get` prints tables.
pub(super) fn summary_table(out: &mut Out, plan: &Plan, style: Style) {
    #[derive(Default)]
    struct Row<'a> {
        pods: BTreeSet<(Arc<str>, Arc<str>)>,
        streams: BTreeSet<(Arc<str>, Arc<str>)>,
        namespaces: BTreeSet<Arc<str>>,
        findings: usize,
        actions: BTreeSet<&'a str>,
    }
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for f in &plan.findings {
        let row = rows.entry(f.category.as_str()).or_default();
        row.findings += 1;
        for s in f.subjects.iter() {
            row.namespaces.insert(s.namespace.clone());
            let set = if s.kind == "Pod" {
                &mut row.pods
            } else {
                &mut row.streams
            };
            set.insert((s.namespace, s.name));
        }
        row.actions.extend(f.actions.iter().map(String::as_str));
    }
    let mut unexplained = Row::default();
    for u in &plan.unexplained {
        unexplained.namespaces.insert(u.namespace.as_str().into());
        let set = if u.kind == "Pod" {
            &mut unexplained.pods
        } else {
            &mut unexplained.streams
        };
        set.insert((u.namespace.as_str().into(), u.pod.as_str().into()));
    }
    let status_of: HashMap<String, Status> = plan.actions.iter().map(|a| (a.id, a.status)).collect();
    let count = |row: &Row, s: Status| row.actions.iter().filter(|id| status_of.get(**id) == Some(&s)).count();
    let heads = [
        "CATEGORY",
        "PODS",
        "STREAMS",
        "NAMESPACES",
        "FINDINGS",
        "ACTIONS",
        "PENDING",
        "MANUAL",
        "INPUT",
        "BLOCKED",
    ];
    let mut table: Vec<Vec<String>> = vec![heads.iter().map(|h| h.to_string()).collect()];
    let mut push = |name: &str, row: &Row| {
        table.push(vec![
            name.to_string(),
            row.pods.len().to_string(),
            row.streams.len().to_string(),
            row.namespaces.len().to_string(),
            row.findings.to_string(),
            row.actions.len().to_string(),
            count(row, Status::Pending).to_string(),
            count(row, Status::Manual).to_string(),
            count(row, Status::NeedsInput).to_string(),
            count(row, Status::Blocked).to_string(),
        ]);
    };
    for (name, row) in &rows {
        push(name, row);
    }
    if !plan.unexplained.is_empty() {
        push("? unexplained", &unexplained);
    }
    let widths: Vec<usize> = (0..heads.len())
        .map(|c| table.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for (i, r) in table.iter().enumerate() {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c == 0 {
                    format!("{cell:<w$}", w = widths[c])
                } else {
                    format!("{cell:>w$}", w = widths[c])
                }
            })
            .collect();
        let line = format!("  {}", cells.join("  "));
        out.line(&if i == 0 { style.bold(&line) } else { line });
    }
    let total_pods: BTreeSet<&(Arc<str>, Arc<str>)> = rows.values().flat_map(|r| r.pods.iter()).collect();
    out.line(&format!(
        "  {} with a failing pull · {} · {}{}",
        plural(total_pods.len() + unexplained.pods.len(), "pod", "pods"),
        plural(namespaces(&plan.findings).len(), "namespace", "namespaces"),
        plural(plan.findings.len(), "finding", "findings"),
        if out.expand { "" } else { " (--expand lists every one)" },
    ));
}
