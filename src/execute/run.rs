//! Carrying out a plan, action by action, in plan order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::backup::Backups;
use super::report::{ActionReport, Outcome, Report, ReportSource, ReportSummary, WriteReport};
use super::writes::{Stamp, writes};
use super::{ExecuteError, WriteError, Writer, now_rfc3339};
use crate::cluster::ObjectKey;
use crate::desired::{Change, Desired, Target};
use crate::inputs::Inputs;
use crate::plan::status::{Observed, assess};
use crate::plan::{Action, ActionTarget, Plan, Status};

/// What `remedy apply` was asked to do.
#[derive(Debug, Default)]
pub struct Options {
    /// Send every write with `dryRun=All`.
    pub dry_run: bool,
    /// Run disruptive actions (they drain and reboot nodes); otherwise they are skipped.
    pub allow_disruptive: bool,
    /// Only actions of findings of these rules (all when empty).
    pub only: Vec<String>,
    /// Only actions of findings with a failing pod (or image stream) in these namespaces
    /// (all when empty): where the failure is, not where the action writes.
    pub namespaces: Vec<String>,
    /// Manual steps the user says are done (`--done a1`): actions behind them may run.
    pub done: Vec<String>,
    /// Reads and tries per action: a conflict re-reads, re-assesses and tries again.
    pub attempts: u32,
    /// Where prior states go (none for a dry run).
    pub backups: Option<Backups>,
}

enum Step {
    Done(Outcome, Option<String>),
    Retry(String),
    Fail(String),
}

fn action_target(t: &Target) -> ActionTarget {
    ActionTarget {
        api_version: t.api_version.clone(),
        kind: t.kind.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
    }
}

/// The objects an action's status depends on.
fn reads(change: &Change) -> Vec<Target> {
    let mut out: Vec<Target> = change.target().into_iter().collect();
    if let Change::CopySecret { from, .. } = change {
        out.push(from.clone());
    }
    out
}

/// The rule of an action: that of the first finding it fixes.
fn rule_of<'a>(plan: &'a Plan, a: &Action) -> Option<&'a str> {
    a.findings.iter().find_map(|f| plan.finding(f)).map(|f| f.rule.as_str())
}

/// What `--only` and `-n` select of a plan's actions, with each finding's failing namespaces
/// gathered once: a finding can have a subject and an action per failing container, and each
/// action asked about them all.
pub struct Selection<'p> {
    plan: &'p Plan,
    only: &'p [String],
    namespaces: &'p [String],
    /// Finding id → the namespaces of its subjects (only with `-n`).
    failing: HashMap<&'p str, BTreeSet<Arc<str>>>,
}

impl<'p> Selection<'p> {
    pub fn new(plan: &'p Plan, only: &'p [String], namespaces: &'p [String]) -> Self {
        let failing = match namespaces.is_empty() {
            true => HashMap::new(),
            false => plan
                .findings
                .iter()
                .map(|f| (f.id.as_str(), f.subjects.iter().map(|s| s.namespace).collect()))
                .collect(),
        };
        Selection {
            plan,
            only,
            namespaces,
            failing,
        }
    }

    /// Why `a` is not among what `--only` and `-n` select; `None` when it is.
    pub fn not_selected(&self, a: &Action) -> Option<String> {
        let plan = self.plan;
        if !self.only.is_empty() {
            let rule = rule_of(plan, a).unwrap_or_default();
            let findings = a.findings.iter().filter_map(|f| plan.finding(f));
            if !findings.into_iter().any(|f| self.only.contains(&f.rule)) {
                return Some(format!("not selected: rule {rule} is not among --only"));
            }
        }
        if self.namespaces.is_empty() {
            return None;
        }
        let failing: BTreeSet<&str> = a
            .findings
            .iter()
            .filter_map(|f| self.failing.get(f.as_str()))
            .flatten()
            .map(|ns| &**ns)
            .collect();
        let listed = |ns: &str| self.namespaces.iter().any(|n| n == ns);
        if !failing.iter().any(|ns| listed(ns)) {
            return Some(format!(
                "not selected: it fixes no failure in {} (-n)",
                self.namespaces.join(", ")
            ));
        }
        // A finding may span namespaces: its action in another failing namespace is that
        // namespace's (a shared object elsewhere, like openshift-config's, is not).
        if let Some(ns) = a.target.as_ref().and_then(|t| t.namespace.as_deref())
            && failing.contains(ns)
            && !listed(ns)
        {
            return Some(format!("not selected: it changes namespace {ns}, not among -n"));
        }
        None
    }
}

/// Carry out `plan` through `writer`. Never panics on API answers; every action gets a
/// result, and the report says exactly what was sent.
pub async fn execute<W: Writer>(plan: &Plan, inputs: &Inputs, writer: &W, opts: &Options) -> Report {
    let started_at = now_rfc3339();
    let mut results: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut backed_up: BTreeSet<ObjectKey> = BTreeSet::new();
    let mut reports = Vec::new();
    let mut writes_sent = 0usize;
    let selection = Selection::new(plan, &opts.only, &opts.namespaces);
    for (i, a) in plan.actions.iter().enumerate() {
        let start = now_rfc3339();
        let mut r = ActionReport {
            id: a.id.clone(),
            action_type: a.action_type.to_string(),
            target: a.target.as_deref().cloned(),
            result: Outcome::NotRun,
            reason: None,
            error: None,
            attempts: 0,
            started_at: start.clone(),
            finished_at: start,
            writes: Vec::new(),
        };
        let rule = rule_of(plan, &a).unwrap_or_default().to_string();
        let ok = |o: Option<&Outcome>| matches!(o, Some(Outcome::Applied | Outcome::AlreadySatisfied));
        let waiting = a
            .depends_on
            .iter()
            .find(|d| !ok(results.get(*d)) && !opts.done.contains(d));
        let desired: Option<Desired> = plan.desired.get(i);
        let desired = desired.as_ref();
        let (result, reason) = if let Some(why) = selection.not_selected(&a) {
            (Outcome::Skipped, Some(why))
        } else if a.action_type == "manual" {
            if opts.done.contains(&a.id) {
                (
                    Outcome::AlreadySatisfied,
                    Some(format!("marked done with --done {}", a.id)),
                )
            } else {
                (
                    Outcome::NotRun,
                    Some(format!("a manual step: do it, then re-run with --done {}", a.id)),
                )
            }
        } else if let Some(dep) = waiting {
            let how = results.get(dep).map_or("not run", |o| o.as_str());
            (Outcome::NotRun, Some(format!("waits for {dep} ({how})")))
        } else if let Some(d) = desired.filter(|d| d.blocked.is_some()) {
            (Outcome::NotRun, d.blocked.clone())
        } else if a.status == Status::NeedsInput {
            (Outcome::NotRun, a.reason.clone())
        } else if a.disruptive && a.status != Status::Satisfied && !opts.allow_disruptive {
            (
                Outcome::Skipped,
                Some(
                    "disruptive (drains and reboots nodes): skipped by policy; give --allow-disruptive to run it"
                        .into(),
                ),
            )
        } else if let Some(d) = desired {
            let stamp = Stamp {
                rule: rule.clone(),
                action: a.id.clone(),
                time: now_rfc3339(),
            };
            let mut last = String::new();
            let mut outcome = None;
            for _ in 0..opts.attempts.max(1) {
                r.attempts += 1;
                match attempt(
                    d,
                    inputs,
                    writer,
                    &stamp,
                    opts,
                    &mut backed_up,
                    &mut r.writes,
                    &mut writes_sent,
                )
                .await
                {
                    Step::Done(o, why) => {
                        outcome = Some((o, why));
                        break;
                    }
                    Step::Retry(why) => {
                        tracing::info!(action = %a.id, "re-reading after: {why}");
                        last = why;
                    }
                    Step::Fail(e) => {
                        r.error = Some(e);
                        outcome = Some((Outcome::Failed, None));
                        break;
                    }
                }
            }
            outcome.unwrap_or_else(|| {
                r.error = Some(format!("gave up after {} attempts: {last}", r.attempts));
                (Outcome::Failed, None)
            })
        } else {
            (Outcome::NotRun, Some("the plan holds no change for this action".into()))
        };
        r.result = result;
        r.reason = reason;
        r.finished_at = now_rfc3339();
        results.insert(a.id.clone(), result);
        reports.push(r);
    }
    let count = |o: Outcome| reports.iter().filter(|r| r.result == o).count();
    let summary = ReportSummary {
        applied: count(Outcome::Applied),
        already_satisfied: count(Outcome::AlreadySatisfied),
        skipped: count(Outcome::Skipped),
        failed: count(Outcome::Failed),
        not_run: count(Outcome::NotRun),
        writes: writes_sent,
    };
    let mut report = Report {
        api_version: crate::plan::PLAN_API_VERSION.into(),
        kind: super::report::REPORT_KIND.into(),
        source: ReportSource {
            kind: plan.source.kind.clone(),
            name: plan.source.name.clone(),
        },
        dry_run: opts.dry_run,
        started_at,
        finished_at: now_rfc3339(),
        backup_dir: opts.backups.as_ref().map(|b| b.dir().display().to_string()),
        summary,
        actions: reports,
        findings: plan
            .findings
            .iter()
            .map(|f| super::FindingReport {
                id: f.id.clone(),
                rule: f.rule.clone(),
                verification: super::Verification::Unknown,
                message: None,
            })
            .collect(),
        exit_code: 0,
    };
    report.exit_code = super::exit_code(&report, false);
    report
}

#[allow(clippy::too_many_arguments)]
async fn attempt<W: Writer>(
    d: &Desired,
    inputs: &Inputs,
    writer: &W,
    stamp: &Stamp,
    opts: &Options,
    backed_up: &mut BTreeSet<ObjectKey>,
    out: &mut Vec<WriteReport>,
    sent: &mut usize,
) -> Step {
    let mut observed = Observed::new();
    for t in reads(&d.change) {
        match writer.read(&t).await {
            Ok(obj) => {
                observed.insert(t.key(), obj);
            }
            Err(e) => return Step::Fail(format!("reading {}: {e}", t.display())),
        }
    }
    let a = assess(&d.change, &observed, inputs);
    match a.status {
        Status::Satisfied => return Step::Done(Outcome::AlreadySatisfied, None),
        Status::Pending => {}
        _ => return Step::Done(Outcome::NotRun, Some(a.reason.unwrap_or(a.summary))),
    }
    let ws = match writes(&d.change, &observed, inputs, stamp) {
        Ok(ws) => ws,
        Err(ExecuteError::Precondition(why)) => return Step::Retry(why),
        Err(e) => return Step::Fail(e.to_string()),
    };
    for w in &ws {
        let key = w.target().key();
        let prior = observed.get(&key).cloned().flatten();
        let mut backup = None;
        // The first prior state of each object is the one undo restores.
        if !opts.dry_run
            && !backed_up.contains(&key)
            && let Some(b) = &opts.backups
        {
            match b.save(w.target(), prior.as_deref()) {
                Ok(path) => backup = path.map(|p| p.display().to_string()),
                Err(e) => return Step::Fail(format!("backing up {} before changing it: {e}", w.target().display())),
            }
            backed_up.insert(key);
        }
        *sent += 1;
        match writer.write(w, opts.dry_run).await {
            Ok(after) => out.push(WriteReport {
                verb: w.verb().into(),
                target: action_target(w.target()),
                created: prior.is_none(),
                backup,
                uid: after
                    .as_ref()
                    .and_then(|o| o.str_field("metadata.uid"))
                    .map(str::to_string),
                resource_version: after
                    .as_ref()
                    .and_then(|o| o.str_field("metadata.resourceVersion"))
                    .map(str::to_string),
            }),
            Err(WriteError::Conflict(m)) | Err(WriteError::NotFound(m)) => return Step::Retry(m),
            Err(e) => return Step::Fail(format!("{} {}: {e}", w.verb(), w.target().display())),
        }
    }
    Step::Done(Outcome::Applied, None)
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
