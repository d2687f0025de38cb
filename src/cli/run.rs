//! Runs a parsed command. Errors reach the user here, through `report`, with exit code 1.

use std::io::{IsTerminal, Read, Write};

use anyhow::{Context, bail};

use super::{Cli, Command, GenArgs, PlanArgs, RuleArgs, RulesCommand};
use crate::cluster::Snapshot;
use crate::diag::Diagnostics;
use crate::inputs::{Inputs, KnownInputs};
use crate::load::{self, LoadOptions};
use crate::plan::exit;
use crate::report::{self, Style};
use crate::rules::RuleSet;
use crate::{bench, engine, matcher, plan, schema};

fn style(cli: &Cli, stream_is_tty: bool) -> Style {
    Style {
        color: super::term::use_color(cli.color, cli.no_color, stream_is_tty),
    }
}

fn init_logs(verbose: u8, color: bool) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .without_time()
        .try_init();
}

pub fn run(cli: Cli) -> u8 {
    let err_style = style(&cli, std::io::stderr().is_terminal());
    init_logs(cli.verbose, err_style.color);
    let result = match &cli.command {
        Command::Plan(args) => plan_cmd(&cli, args),
        Command::Rules(cmd) => rules_cmd(&cli, cmd),
        Command::GenSnapshot(args) => gen_snapshot(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}: {e:#}", err_style.red("error"));
            exit::ERROR
        }
    }
}

/// Load rules; print diagnostics; fail if any is an error.
fn rules(args: &RuleArgs, style: Style) -> anyhow::Result<RuleSet> {
    if args.no_bundled && args.rules.is_empty() {
        bail!("--no-bundled leaves no rules: give --rules PATH");
    }
    let (rules, diags) = load::load(&LoadOptions {
        paths: args.rules.clone(),
        bundled: !args.no_bundled,
    });
    report_diags(diags, style, "rule")?;
    for (id, file) in &rules.overridden {
        tracing::info!("rule `{id}` from {file} replaces the bundled one");
    }
    Ok(rules)
}

fn report_diags(diags: Diagnostics, style: Style, what: &str) -> anyhow::Result<()> {
    let failed = diags.has_errors();
    let sorted = diags.into_sorted();
    if !sorted.is_empty() {
        report::write_diagnostics(&mut std::io::stderr().lock(), &sorted, style)?;
    }
    if failed {
        bail!("the {what} files have errors (listed above); stopped before using them");
    }
    Ok(())
}

/// `--set` and `--set-file`, checked against the inputs the rules ask for.
fn parse_inputs(args: &PlanArgs, rules: &RuleSet) -> anyhow::Result<Inputs> {
    let known = KnownInputs::of(rules);
    let mut inputs = Inputs::default();
    for s in &args.set {
        let (k, v) = known.parse(s, false)?;
        inputs.insert_plain(k, v);
    }
    for s in &args.set_file {
        let (k, p) = known.parse(s, true)?;
        let text = std::fs::read_to_string(p).with_context(|| format!("--set-file {k}: cannot read {p}"))?;
        if text.trim().is_empty() {
            bail!("--set-file {k}: {p} is empty");
        }
        inputs.insert(k, text, p);
    }
    Ok(inputs)
}

fn plan_cmd(cli: &Cli, args: &PlanArgs) -> anyhow::Result<u8> {
    let err_style = style(cli, std::io::stderr().is_terminal());
    let rules = rules(&args.rules, err_style)?;
    let inputs = parse_inputs(args, &rules)?;
    let (snapshot, diags) = Snapshot::load(&args.snapshot);
    report_diags(diags, err_style, "snapshot")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the runtime")?;
    let scope = super::scope::resolve(&args.scope, &rules)?;
    let evaluation = runtime.block_on(engine::evaluate_in(&rules, &snapshot, &inputs, &scope))?;
    let plan = plan::build(
        &rules,
        &evaluation,
        &inputs,
        &crate::cluster::ClusterSource::info(&snapshot),
    );
    let out_style = if args.out.is_some() {
        Style::default()
    } else {
        style(cli, std::io::stdout().is_terminal())
    };
    let view = report::View {
        style: out_style,
        width: super::term::page_width(args.out.is_none()),
        expand: args.expand,
    };
    let text = report::plan_text(&plan, args.output, &view)?;
    match &args.out {
        Some(path) => super::out::write_plan_file(path, &text)?,
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("writing the plan")?,
    }
    Ok(plan.exit_code())
}

fn rules_cmd(cli: &Cli, cmd: &RulesCommand) -> anyhow::Result<u8> {
    let err_style = style(cli, std::io::stderr().is_terminal());
    let out_style = style(cli, std::io::stdout().is_terminal());
    let mut out = std::io::stdout().lock();
    match cmd {
        RulesCommand::List(args) => {
            let rules = rules(args, err_style)?;
            for s in &rules.symptoms {
                writeln!(
                    out,
                    "symptom   {:<40} {:<20} {}",
                    s.id,
                    s.category.as_str(),
                    s.origin.file
                )?;
            }
            for r in &rules.rules {
                writeln!(
                    out,
                    "playbook  {:<40} {:<20} {}",
                    r.id,
                    r.category.as_str(),
                    r.origin.file
                )?;
            }
            Ok(exit::CLEAN)
        }
        RulesCommand::Check(args) => {
            let rules = rules(args, err_style)?;
            writeln!(
                out,
                "{} ok: {} playbooks, {} symptoms",
                out_style.green("✓"),
                rules.rules.len(),
                rules.symptoms.len()
            )?;
            Ok(exit::CLEAN)
        }
        RulesCommand::Test(args) => {
            let rules = rules(args, err_style)?;
            let failures = matcher::examples::run(&rules);
            for f in &failures {
                writeln!(out, "{} {f}", out_style.red("✗"))?;
            }
            let total = matcher::examples::count(&rules);
            writeln!(out, "{} passed, {} failed", total - failures.len(), failures.len())?;
            Ok(if failures.is_empty() { exit::CLEAN } else { exit::ERROR })
        }
        RulesCommand::Match { rules: args, messages } => {
            let rules = rules(args, err_style)?;
            let mut lines = messages.clone();
            if lines.is_empty() {
                let mut input = String::new();
                std::io::stdin()
                    .read_to_string(&mut input)
                    .context("reading messages from stdin")?;
                lines = input
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string)
                    .collect();
            }
            let mut table = engine::MessageTable::new();
            for m in lines {
                let r = matcher::examples::classify_message(&rules, &mut table, &m);
                writeln!(out, "{}", serde_json::to_string(&r)?)?;
            }
            Ok(exit::CLEAN)
        }
        RulesCommand::Schema { which } => {
            out.write_all(
                if which == "plan" {
                    schema::plan_schema()
                } else {
                    schema::playbook_schema()
                }
                .as_bytes(),
            )?;
            Ok(exit::CLEAN)
        }
    }
}

fn gen_snapshot(args: &GenArgs) -> anyhow::Result<u8> {
    let file = std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let stats = bench::generate(
        &mut w,
        &bench::GenOptions {
            pods: args.pods,
            events: args.events,
            namespaces: args.namespaces,
            failing_percent: args.failing_percent,
        },
    )?;
    w.flush()?;
    writeln!(
        std::io::stderr(),
        "wrote {} ({} pods, {} events, {} namespaces, {} failing)",
        args.out.display(),
        stats.pods,
        stats.events,
        stats.namespaces,
        stats.failing
    )?;
    Ok(exit::CLEAN)
}
