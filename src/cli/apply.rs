//! `remedy rbac`, `remedy apply` and `remedy undo`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use super::RuleArgs;
use crate::cluster::live::{Live, connect};
use crate::execute::api::KubeWriter;
use crate::execute::rbac::{self, Purpose};
use crate::execute::{self, Options, Report, Verification, backup, verify};
use crate::plan::record::{self, SavedPlan};
use crate::plan::{Plan, PlanScope, Status, exit};
use crate::report::Style;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RbacFor {
    Plan,
    Apply,
}

#[derive(Debug, Args)]
pub struct RbacArgs {
    /// The command the role is for: `plan` (reads only) or `apply` (reads and the writes the
    /// rules' actions make).
    #[arg(long = "for", value_enum, default_value_t = RbacFor::Apply)]
    purpose: RbacFor,
    #[command(flatten)]
    rules: RuleArgs,
}

pub fn rbac_cmd(args: &RbacArgs, err_style: Style) -> anyhow::Result<u8> {
    let rules = super::run::rules(&args.rules, err_style)?;
    let purpose = match args.purpose {
        RbacFor::Plan => Purpose::Plan,
        RbacFor::Apply => Purpose::Apply,
    };
    std::io::stdout()
        .lock()
        .write_all(rbac::cluster_role(&rules, purpose).as_bytes())?;
    Ok(exit::CLEAN)
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A saved plan (`remedy plan -o json --out plan.json`): apply exactly it, and refuse when
    /// anything it recorded changed since. Without it, a fresh plan is made and applied.
    #[arg(value_name = "PLAN")]
    plan: Option<PathBuf>,
    /// Not accepted: a snapshot cannot be changed (plan with it instead).
    #[arg(long, value_name = "PATH", hide = true)]
    snapshot: Vec<PathBuf>,
    #[command(flatten)]
    connect: super::live::ConnectArgs,
    #[command(flatten)]
    rules: RuleArgs,
    /// Apply without asking (pipelines). Without it, apply asks on a terminal and refuses
    /// otherwise.
    #[arg(short, long)]
    yes: bool,
    /// Send every write with `dryRun=All`: the API server checks it and changes nothing.
    #[arg(long)]
    dry_run: bool,
    /// Apply only the actions of this rule's findings. Repeatable.
    #[arg(long = "only", value_name = "RULE_ID")]
    only: Vec<String>,
    /// Only failures in this namespace, as for `plan -n`: a fresh plan looks at no other, and
    /// of a saved plan only the actions of findings with a failing pod there run (wherever
    /// they write: a secret copied from openshift-config counts for the namespace it fixes).
    /// A cluster-wide list RBAC forbids is then read namespace by namespace. Repeatable.
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    namespace: Vec<String>,
    /// Give an input a value: `--set name=value`. Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Give an input a file's content: `--set-file name=path`. Repeatable.
    #[arg(long = "set-file", value_name = "NAME=PATH")]
    set_file: Vec<String>,
    /// Run disruptive actions (they drain and reboot nodes); otherwise they are skipped.
    #[arg(long)]
    allow_disruptive: bool,
    /// A manual step you have done (its action id, e.g. `a1`): actions waiting for it run.
    /// Repeatable.
    #[arg(long = "done", value_name = "ACTION_ID")]
    done: Vec<String>,
    /// Write the report (JSON, schemas/report.schema.json) to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Where prior states are saved before changes (default: $XDG_STATE_HOME/remedy/backups,
    /// else ~/.local/state/remedy/backups).
    #[arg(long, value_name = "DIR")]
    backup_dir: Option<PathBuf>,
    /// After applying, re-read the affected pods (and replacements of restarted ones) until
    /// their images pull or this time passes (default 5m).
    #[arg(long, value_name = "DURATION", num_args = 0..=1, require_equals = true,
          default_missing_value = "5m", value_parser = super::live::parse_duration)]
    wait: Option<Duration>,
}

/// A saved plan, and the scope it was made in (`source.scope`).
fn load_saved(path: &Path) -> anyhow::Result<(SavedPlan, Option<PlanScope>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the saved plan {}", path.display()))?;
    let saved = parse_saved(path, &text)?;
    let scope = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.pointer("/source/scope").cloned())
        .map(serde_json::from_value::<PlanScope>)
        .transpose()
        .with_context(|| format!("{}: source.scope is not a plan's scope", path.display()))?;
    Ok((saved, scope))
}

fn parse_saved(path: &Path, text: &str) -> anyhow::Result<SavedPlan> {
    let saved: SavedPlan = serde_json::from_str(text).with_context(|| {
        format!(
            "{} is not a plan saved with `remedy plan -o json --out FILE`",
            path.display()
        )
    })?;
    if saved.kind != "Plan" || saved.api_version != crate::plan::PLAN_API_VERSION {
        bail!(
            "{}: kind {} / apiVersion {} is not a remedy plan ({})",
            path.display(),
            saved.kind,
            saved.api_version,
            crate::plan::PLAN_API_VERSION
        );
    }
    if saved.source.kind != "live" {
        bail!(
            "{} was planned from a snapshot ({}): only a plan of a live cluster can be applied",
            path.display(),
            saved.source.name
        );
    }
    Ok(saved)
}

/// The flags of a recorded scope, each word shell-quoted (` -n apps -l 'a in (b)'`).
fn scope_flags(rec: &PlanScope) -> String {
    use crate::plan::rerun::quote;
    let mut out = String::new();
    let mut add = |flag: &str, v: &str| out.push_str(&format!(" {flag} {}", quote(v)));
    rec.namespaces.iter().for_each(|n| add("-n", n));
    if let Some(sel) = &rec.selector {
        add("-l", sel);
    }
    rec.categories.iter().for_each(|c| add("--category", c));
    rec.rules.iter().for_each(|r| add("--rule", r));
    out
}

/// Actions apply would try: pending ones that `--only` and `-n` select.
fn changes(plan: &Plan, only: &[String], namespaces: &[String]) -> usize {
    let selection = execute::Selection::new(plan, only, namespaces);
    plan.actions
        .iter()
        .filter(|a| a.status == Status::Pending)
        .filter(|a| selection.not_selected(a).is_none())
        .count()
}

fn confirm(n: usize, context: &str) -> anyhow::Result<bool> {
    let mut err = std::io::stderr().lock();
    write!(
        err,
        "apply {n} {} to {context}? [y/N] ",
        if n == 1 { "change" } else { "changes" }
    )?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the answer")?;
    Ok(matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// One line per action, then the totals.
pub fn report_text(r: &Report) -> String {
    let mut out = String::new();
    for a in &r.actions {
        let target = a
            .target
            .as_ref()
            .map(|t| match &t.namespace {
                Some(ns) => format!("{} {ns}/{}", t.kind, t.name),
                None => format!("{} {}", t.kind, t.name),
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "{:>4}  {:<17}  {:<16} {target}\n",
            a.id,
            a.result.as_str(),
            a.action_type
        ));
        if let Some(e) = &a.error {
            out.push_str(&format!("      error: {e}\n"));
        } else if let Some(why) = &a.reason {
            out.push_str(&format!("      {why}\n"));
        }
    }
    for f in &r.findings {
        if f.verification != Verification::Unknown || f.message.is_some() {
            let v = match f.verification {
                Verification::Fixed => "fixed",
                Verification::StillFailing => "still failing",
                Verification::Unknown => "unknown",
            };
            out.push_str(&format!("{:>4}  {v:<17}  {}", f.id, f.rule));
            if let Some(m) = &f.message {
                out.push_str(&format!(": {m}"));
            }
            out.push('\n');
        }
    }
    let s = &r.summary;
    out.push_str(&format!(
        "{} actions: {} applied · {} already satisfied · {} skipped · {} failed · {} not run · {} writes{}\n",
        r.actions.len(),
        s.applied,
        s.already_satisfied,
        s.skipped,
        s.failed,
        s.not_run,
        s.writes,
        if r.dry_run { " (dry run: nothing changed)" } else { "" }
    ));
    out
}

pub fn apply_cmd(args: &ApplyArgs, err_style: Style) -> anyhow::Result<u8> {
    super::live::check_namespaces(&args.connect, &args.namespace)?;
    if !args.snapshot.is_empty() {
        bail!(
            "remedy apply changes a live cluster and a snapshot cannot be changed: drop --snapshot (use it with `remedy plan`)"
        );
    }
    let rules = super::run::rules(&args.rules, err_style)?;
    let inputs = super::run::inputs_from(&args.set, &args.set_file, &rules)?;
    let scope_args = super::ScopeArgs {
        namespace: args.namespace.clone(),
        ..Default::default()
    };
    let scope = super::scope::resolve(&scope_args, &rules)?;
    let namespaces: Vec<String> = scope.namespaces.iter().cloned().collect();
    let (saved, saved_scope) = match args.plan.as_deref().map(load_saved).transpose()? {
        Some((s, scope)) => (Some(s), scope),
        None => (None, None),
    };
    // A saved plan is made again within its own scope, to be compared whole; `-n` then selects
    // among its actions. A fresh plan is made within `-n`.
    let plan_scope = match (&saved, &saved_scope) {
        (Some(_), Some(rec)) => super::scope::resolve(&super::live::scope_args(rec), &rules)?,
        (Some(_), None) => Default::default(),
        (None, _) => scope.clone(),
    };
    // Namespaces to list one by one should a cluster-wide list be forbidden.
    let fallback: Vec<String> = if namespaces.is_empty() {
        plan_scope.namespaces.iter().cloned().collect()
    } else {
        namespaces.clone()
    };
    if let Some(s) = &saved {
        let missing = record::missing_inputs(s, &inputs);
        if !missing.is_empty() {
            bail!(
                "the saved plan was made with inputs {}: give them again with --set/--set-file (values are never saved)",
                missing.join(", ")
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let stdin_tty = std::io::stdin().is_terminal();
    let report = runtime.block_on(async {
        let opts = args.connect.options();
        let (client, endpoint) = tokio::time::timeout(args.connect.timeout, connect(&opts))
            .await
            .map_err(|_| anyhow::anyhow!("no connection within --timeout"))??;
        let live = Live::with_client(client.clone(), endpoint.clone(), args.connect.request_timeout)
            .await?
            .scoped(fallback);
        let plan = tokio::time::timeout(args.connect.timeout, super::live::plan_from(&rules, &live, &inputs, &plan_scope))
            .await
            .map_err(|_| anyhow::anyhow!("the plan did not finish within --timeout"))?
            .with_context(|| format!("planning against {} ({})", endpoint.context, endpoint.server))?;
        if let (Some(s), Some(path)) = (&saved, &args.plan) {
            let drift = record::drift(s, &plan);
            if !drift.is_empty() {
                bail!(
                    "{} is stale: the cluster changed since it was made, so it is not applied:\n  - {}\nre-plan: remedy plan{} -o json --out {}",
                    path.display(),
                    drift.join("\n  - "),
                    saved_scope.as_ref().map(scope_flags).unwrap_or_default(),
                    path.display()
                );
            }
        }
        let n = changes(&plan, &args.only, &namespaces);
        if n > 0 && !args.yes {
            if !stdin_tty {
                bail!(
                    "refusing to apply {n} changes to {} without confirmation: standard input is not a terminal; pass --yes",
                    endpoint.context
                );
            }
            let text = crate::report::plan_text(&plan, crate::report::Format::Human, &crate::report::View::default())?;
            std::io::stdout().lock().write_all(text.as_bytes())?;
            if !confirm(n, &endpoint.context)? {
                bail!("not confirmed: nothing was applied");
            }
        }
        let backups = if args.dry_run || n == 0 {
            None
        } else {
            let base = match &args.backup_dir {
                Some(d) => d.clone(),
                None => backup::default_base().context("no HOME or XDG_STATE_HOME for backups: give --backup-dir")?,
            };
            Some(
                backup::Backups::create(&base, &execute::now_rfc3339())
                    .with_context(|| format!("creating the backup directory under {}", base.display()))?,
            )
        };
        let writer = KubeWriter::new(client, args.connect.request_timeout);
        let before = match args.wait {
            Some(_) => verify::pods_before(&plan, &writer).await,
            None => Default::default(),
        };
        let opts = Options {
            dry_run: args.dry_run,
            allow_disruptive: args.allow_disruptive,
            only: args.only.clone(),
            namespaces: namespaces.clone(),
            done: args.done.clone(),
            attempts: 3,
            backups,
        };
        let mut report = execute::execute(&plan, &inputs, &writer, &opts).await;
        if let Some(d) = args.wait.filter(|_| !args.dry_run) {
            let tty = std::io::stderr().is_terminal();
            let mut progress = |line: &str| {
                if tty {
                    let _ = write!(std::io::stderr(), "\r{line}\x1b[K");
                }
            };
            report.findings = verify::wait(&plan, &before, &writer, d, Duration::from_secs(2), &mut progress).await;
            if tty {
                let _ = writeln!(std::io::stderr());
            }
            report.exit_code = execute::exit_code(&report, true);
        }
        Ok::<_, anyhow::Error>(report)
    })?;
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&report)? + "\n";
        super::out::write_plan_file(path, &text)?;
    }
    std::io::stdout().lock().write_all(report_text(&report).as_bytes())?;
    Ok(report.exit_code)
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The report of the apply to undo (`remedy apply --report FILE`).
    #[arg(value_name = "REPORT")]
    report: PathBuf,
    /// Not accepted: a snapshot cannot be changed.
    #[arg(long, value_name = "PATH", hide = true)]
    snapshot: Vec<PathBuf>,
    #[command(flatten)]
    connect: super::live::ConnectArgs,
    /// Undo without asking. Without it, undo asks on a terminal and refuses otherwise.
    #[arg(short, long)]
    yes: bool,
}

pub fn undo_cmd(args: &UndoArgs) -> anyhow::Result<u8> {
    if !args.snapshot.is_empty() {
        bail!("remedy undo changes a live cluster: drop --snapshot");
    }
    let text = std::fs::read_to_string(&args.report).with_context(|| format!("reading {}", args.report.display()))?;
    let report: Report = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a report of `remedy apply --report`", args.report.display()))?;
    if report.dry_run {
        bail!(
            "{} is the report of a dry run: it changed nothing",
            args.report.display()
        );
    }
    let writes: usize = report.actions.iter().map(|a| a.writes.len()).sum();
    if writes == 0 {
        writeln!(
            std::io::stdout(),
            "{} made no change: nothing to undo",
            args.report.display()
        )?;
        return Ok(exit::CLEAN);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let stdin_tty = std::io::stdin().is_terminal();
    let done = runtime.block_on(async {
        let (client, endpoint) = tokio::time::timeout(args.connect.timeout, connect(&args.connect.options()))
            .await
            .map_err(|_| anyhow::anyhow!("no connection within --timeout"))??;
        if !args.yes {
            if !stdin_tty {
                bail!(
                    "refusing to undo {writes} changes on {} without confirmation: standard input is not a terminal; pass --yes",
                    endpoint.context
                );
            }
            let mut err = std::io::stderr().lock();
            write!(err, "undo {writes} changes of {} on {}? [y/N] ", args.report.display(), endpoint.context)?;
            err.flush()?;
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            if !matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
                bail!("not confirmed: nothing was undone");
            }
        }
        let writer = KubeWriter::new(client, args.connect.request_timeout);
        Ok::<_, anyhow::Error>(execute::undo::undo(&report, &writer).await?)
    })?;
    let mut out = std::io::stdout().lock();
    for u in &done {
        write!(out, "{:>4}  {:<9} {}", u.action, u.result, u.target)?;
        if let Some(r) = &u.reason {
            write!(out, ": {r}")?;
        }
        writeln!(out)?;
    }
    Ok(if done.iter().any(|u| u.result == "failed") {
        execute::exit::FAILED
    } else if done
        .iter()
        .any(|u| u.result == "left" && !u.reason.as_deref().unwrap_or("").starts_with("a restart"))
    {
        execute::exit::PARTIAL
    } else {
        exit::CLEAN
    })
}
