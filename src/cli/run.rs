//! Runs a parsed command. Errors reach the user here, through `report`, with exit code 1.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, bail};

use super::{Cli, Command, GenArgs, PlanArgs, RuleArgs};
use crate::cluster::Snapshot;
use crate::diag::Diagnostics;
use crate::inputs::{Inputs, KnownInputs};
use crate::load::{self, LoadOptions};
use crate::plan::exit;
use crate::report::{self, Style};
use crate::rules::RuleSet;
use crate::{bench, plan};

pub(super) fn style(cli: &Cli, stream_is_tty: bool) -> Style {
    Style {
        color: super::term::use_color(cli.color, cli.no_color, stream_is_tty),
    }
}

fn init_logs(verbose: u8, color: bool) {
    // kube's client logs each failed connection as an error; remedy reports it once itself.
    let default = match verbose {
        0 => "warn,kube_client=off",
        1 => "info,kube_client=warn",
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
        Command::Rules(cmd) => super::rules::run(&cli, cmd),
        Command::Rbac(args) => super::apply::rbac_cmd(args, err_style),
        Command::Completions { shell } => super::extra::completions(*shell),
        Command::Man => super::extra::man(),
        Command::Apply(args) => super::apply::apply_cmd(args, err_style),
        Command::Undo(args) => super::apply::undo_cmd(args),
        Command::Explain(args) => super::explain::run(&cli, args),
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
pub(super) fn rules(args: &RuleArgs, style: Style) -> anyhow::Result<RuleSet> {
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
    let mut inputs = inputs_from(&args.set, &args.set_file, rules)?;
    inputs.probe_registries = args.probe_registries;
    Ok(inputs)
}

/// `--set NAME=VALUE` and `--set-file NAME=PATH`, as `plan` and `apply` take them: names the
/// rules do not ask for, and empty values, are refused.
pub(super) fn inputs_from(set: &[String], set_file: &[String], rules: &RuleSet) -> anyhow::Result<Inputs> {
    let known = KnownInputs::of(rules);
    let mut inputs = Inputs::default();
    for s in set {
        let (k, v) = known.parse(s, false)?;
        inputs.insert_plain(k, v);
    }
    for s in set_file {
        let (k, p) = known.parse(s, true)?;
        let text = crate::limits::read_text(
            Path::new(p),
            crate::limits::MAX_SET_FILE_SIZE,
            "a fixed limit for --set-file",
        )
        .with_context(|| format!("--set-file {k}: cannot read {p}"))?;
        if text.trim().is_empty() {
            bail!("--set-file {k}: {p} is empty");
        }
        inputs.insert(k, text, p);
    }
    Ok(inputs)
}

fn plan_cmd(cli: &Cli, args: &PlanArgs) -> anyhow::Result<u8> {
    super::live::check_namespaces(&args.connect, &args.scope.namespace)?;
    let err_style = style(cli, std::io::stderr().is_terminal());
    let rules = rules(&args.rules, err_style)?;
    let inputs = parse_inputs(args, &rules)?;
    // Timers and sockets: the live client and the registry probe connect with timeouts.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let scope = super::scope::resolve(&args.scope, &rules)?;
    let mut plan = if args.snapshot.is_empty() {
        runtime.block_on(super::live::plan_live(&rules, &inputs, &args.connect, &scope))?
    } else {
        let (mut snapshot, diags) = Snapshot::load_with(
            &args.snapshot,
            &crate::cluster::LoadOptions {
                max_file_size: args.max_file_size,
            },
        );
        let skipped = snapshot.skipped_files().to_vec();
        if args.strict || !snapshot.usable() {
            report_diags(diags, err_style, "snapshot")?;
        } else {
            report_partial(diags, &skipped, err_style)?;
        }
        // Read once, by detection: freed when it is done with them.
        snapshot.hand_over_events();
        let mut plan = runtime.block_on(super::live::plan_from(&rules, &snapshot, &inputs, &scope))?;
        // The process ends right after printing: freeing every object of a large snapshot one
        // by one would cost more than a tenth of the run, for nothing.
        std::mem::forget(snapshot);
        plan.source.partial = !skipped.is_empty();
        plan.source.skipped_files = skipped
            .iter()
            .map(|f| plan::SkippedFile {
                file: f.file.clone(),
                reason: f.reason.clone(),
            })
            .collect();
        plan
    };
    plan.rerun = Some(super::rerun::of(args));
    plan.source.scope = super::live::scope_record(&args.scope);
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
    let code = if plan.source.partial {
        exit::PARTIAL
    } else {
        plan.exit_code()
    };
    let write = |w: &mut dyn Write| -> anyhow::Result<()> { Ok(report::write_plan(plan, args.output, &view, w)?) };
    match &args.out {
        Some(path) => super::out::write_plan_with(path, write)?,
        None => write(&mut std::io::stdout().lock()).context("writing the plan")?,
    }
    Ok(code)
}

/// Diagnostics of a snapshot some of whose files were left out: printed, with one warning
/// per left-out file, and the run goes on with the rest.
fn report_partial(mut diags: Diagnostics, skipped: &[crate::cluster::SkippedFile], style: Style) -> anyhow::Result<()> {
    use crate::diag::{Code, Diagnostic, Location};
    for f in skipped {
        diags.push(
            Diagnostic::warning(
                Code::SkippedFile,
                Location {
                    file: f.file.clone(),
                    ..Location::default()
                },
                "left out of the plan for the errors above: the plan is partial (exit code 4)",
            )
            .with_help("fix the file, or pass --strict to stop at any error"),
        );
    }
    let sorted = diags.into_sorted();
    if !sorted.is_empty() {
        report::write_diagnostics(&mut std::io::stderr().lock(), &sorted, style)?;
    }
    Ok(())
}

fn gen_snapshot(args: &GenArgs) -> anyhow::Result<u8> {
    let opts = bench::GenOptions {
        pods: args.pods,
        events: args.events,
        namespaces: args.namespaces,
        failing_percent: args.failing_percent,
    };
    let stats = if args.format == "must-gather" {
        bench::generate_must_gather(&args.out, &opts).with_context(|| format!("writing {}", args.out.display()))?
    } else {
        let file = std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
        let mut w = std::io::BufWriter::new(file);
        let stats = if args.format == "yaml" {
            bench::generate_yaml(&mut w, &opts)?
        } else {
            bench::generate(&mut w, &opts)?
        };
        w.flush()?;
        stats
    };
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
