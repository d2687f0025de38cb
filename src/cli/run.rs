//! Runs a parsed command. Errors reach the user here, through `report`, with exit code 1.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, bail};

use super::{Cli, Command, GenArgs, PlanArgs, RuleArgs};
use crate::cluster::Snapshot;
use crate::diag::Diagnostics;
use crate::inputs::Inputs;
use crate::load::{self, LoadOptions};
use crate::plan::exit;
use crate::report::{self, Style};
use crate::rules::RuleSet;
use crate::{bench, engine, plan};

pub(super) fn style(cli: &Cli, stream_is_tty: bool) -> Style {
    Style {
        color: stream_is_tty && !cli.no_color && std::env::var_os("NO_COLOR").is_none(),
    }
}

fn init_logs(verbose: u8) {
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
        .without_time()
        .try_init();
}

pub fn run(cli: Cli) -> u8 {
    init_logs(cli.verbose);
    let err_style = style(&cli, std::io::stderr().is_terminal());
    let result = match &cli.command {
        Command::Plan(args) => plan_cmd(&cli, args),
        Command::Rules(cmd) => super::rules::run(&cli, cmd),
        Command::Completions { shell } => super::extra::completions(*shell),
        Command::Man => super::extra::man(),
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

fn parse_inputs(args: &PlanArgs) -> anyhow::Result<Inputs> {
    let mut inputs = Inputs::default();
    for s in &args.set {
        let (k, v) = s
            .split_once('=')
            .with_context(|| format!("--set `{}`: expected NAME=VALUE", s.split('=').next().unwrap_or("")))?;
        inputs.insert_plain(k, v);
    }
    for s in &args.set_file {
        let (k, p) = s
            .split_once('=')
            .with_context(|| format!("--set-file `{s}`: expected NAME=PATH"))?;
        let text = std::fs::read_to_string(p).with_context(|| format!("--set-file {k}: cannot read {p}"))?;
        inputs.insert(k, text, p);
    }
    Ok(inputs)
}

fn plan_cmd(cli: &Cli, args: &PlanArgs) -> anyhow::Result<u8> {
    let err_style = style(cli, std::io::stderr().is_terminal());
    let inputs = parse_inputs(args)?;
    let rules = rules(&args.rules, err_style)?;
    let (snapshot, diags) = Snapshot::load(&args.snapshot);
    report_diags(diags, err_style, "snapshot")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the runtime")?;
    let evaluation = runtime.block_on(engine::evaluate(&rules, &snapshot, &inputs))?;
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
    let text = report::plan_text(&plan, args.output, out_style)?;
    match &args.out {
        Some(path) => write_atomically(path, &text)?,
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("writing the plan")?,
    }
    Ok(plan.exit_code())
}

/// Write a regular file via a temporary file beside it and a rename, so a failed write never
/// leaves half a plan. Anything else (`/dev/null`, a FIFO, `/dev/stdout`) is written in place:
/// renaming over it would replace the device with a file. A symlink is followed, so the link
/// stays and its target gets the plan.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        return std::fs::write(path, text).with_context(|| format!("writing {}", path.display()));
    }
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = real.with_file_name(format!(".{name}.remedy-{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, text)
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|()| std::fs::rename(&tmp, &real).with_context(|| format!("renaming to {}", real.display())));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
