//! `remedy explain pod/NAME -n NS [--snapshot S | --kubeconfig K]`: every rule considered for
//! one pod, and why; from a snapshot or the live cluster, with the connection flags of `plan`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use super::live::ConnectArgs;
use super::rules::Output;
use super::run::{rules as load_rules, style};
use super::{Cli, RuleArgs};
use crate::cluster::live::{Live, connect};
use crate::cluster::{ClusterSource, Snapshot};
use crate::engine::Keep;
use crate::explain::{EXPLAINED, Explanation, RuleExplained};
use crate::inputs::Inputs;
use crate::plan::exit;
use crate::report::{self, Style};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The pod: `pod/NAME`.
    target: String,
    /// The pod's namespace. Default: on a cluster, the namespace of the kubeconfig context (as
    /// kubectl takes it); on a snapshot, `default`.
    #[arg(short, long)]
    namespace: Option<String>,
    /// Explain only this container's failure. Without it, the pod's first 20 failing
    /// containers are explained and the others named.
    #[arg(short, long, value_name = "NAME")]
    container: Option<String>,
    /// Snapshot file or directory, as for `remedy plan`. Repeatable. Without it, remedy reads
    /// the live cluster (see the connection flags).
    #[arg(long, value_name = "PATH")]
    snapshot: Vec<PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    rules: RuleArgs,
    /// Give an input a value, as for `remedy plan`.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    #[arg(short, long, value_enum, default_value_t = Output::Human)]
    output: Output,
}

fn clip(s: &str, n: usize) -> String {
    let c: String = s.chars().take(n).collect();
    if c.len() < s.len() { format!("{c}…") } else { c }
}

fn rule_text(r: &RuleExplained, style: Style, out: &mut String) {
    use std::fmt::Write as _;
    let head = format!("{} ({})", r.rule, r.category.as_str());
    if !r.matched {
        let _ = writeln!(
            out,
            "{} {head}: did not match: {}",
            style.dim("·"),
            r.why_not.join("; ")
        );
        return;
    }
    let outcome = r.outcome.as_deref().unwrap_or("");
    let mark = match outcome {
        "confirmed" => style.green("✓"),
        "error" => style.red("!"),
        "skipped" => style.dim("-"),
        _ => style.yellow("✗"),
    };
    let detail = r.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
    let _ = writeln!(out, "{mark} {head}: matched, {}{detail}", outcome.replace('-', " "));
    for (name, v) in &r.probes {
        let _ = writeln!(out, "    probe   {name} = {}", clip(&v.to_string(), 240));
    }
    for c in &r.conditions {
        let _ = writeln!(out, "    when    {} → {}", c.condition, c.value);
    }
    for a in &r.actions {
        let target = a.target.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "    action  {} {}{target}: {} ({})",
            a.id, a.action_type, a.status, a.reason
        );
    }
}

pub fn text(e: &Explanation, style: Style) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for f in &e.failures {
        let container = f
            .container
            .as_deref()
            .map(|c| format!(" · container {c}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}{container} · {}",
            style.bold(&format!("pod {}/{}", e.namespace, e.pod)),
            f.image
        );
        for m in &f.messages {
            let _ = writeln!(out, "  message   \"{}\"", clip(m, 240));
        }
        let cat = f.category.map(|c| format!(" ({})", c.as_str())).unwrap_or_default();
        let symptoms = if f.symptoms.is_empty() {
            "none".to_string()
        } else {
            f.symptoms.join(", ")
        };
        let _ = writeln!(out, "  symptoms  {symptoms}{cat}\n");
        for r in f.rules.iter().filter(|r| r.matched) {
            rule_text(r, style, &mut out);
        }
        for r in f.rules.iter().filter(|r| !r.matched) {
            rule_text(r, style, &mut out);
        }
        out.push('\n');
    }
    if !e.more_containers.is_empty() {
        let n = e.more_containers.len();
        let _ = writeln!(
            out,
            "{} more failing container{} not explained here: {}; `--container NAME` explains one",
            n,
            if n == 1 { "" } else { "s" },
            crate::report::compact_list(e.more_containers.iter().map(String::as_str), 10)
        );
    }
    out
}

/// Evaluate every rule on `cluster` as `plan` does (rules whose APIs it does not serve are
/// skipped), keeping every probe result, and explain one pod.
async fn explain_from<C: ClusterSource>(
    rules: &crate::rules::RuleSet,
    cluster: &C,
    inputs: &Inputs,
    keep: Keep<'_>,
) -> anyhow::Result<Option<Explanation>> {
    let skipped = crate::engine::apis::skipped_rules(rules, cluster).await?;
    let skip = skipped.iter().map(|(i, _)| *i).collect();
    let evaluation = crate::engine::evaluate_with(rules, cluster, inputs, &skip, keep).await?;
    let plan = crate::plan::build(rules, &evaluation, inputs, &cluster.info());
    Ok(crate::explain::explain(rules, &evaluation, &plan, keep, &skipped))
}

/// What to explain: the pod's failures, or one container's.
fn keep<'a>(namespace: &'a str, pod: &'a str, args: &'a ExplainArgs) -> Keep<'a> {
    Keep {
        namespace,
        pod,
        container: args.container.as_deref(),
        at_most: EXPLAINED,
    }
}

pub fn run(cli: &Cli, args: &ExplainArgs) -> anyhow::Result<u8> {
    let err_style = style(cli, std::io::stderr().is_terminal());
    let Some(pod) = args.target.strip_prefix("pod/").filter(|p| !p.is_empty()) else {
        bail!("explain takes `pod/NAME` (got `{}`)", args.target);
    };
    if args.connect.all_namespaces {
        bail!("explain looks at one pod in one namespace: give it with -n/--namespace, not -A/--all-namespaces");
    }
    let mut inputs = Inputs::default();
    for s in &args.set {
        let (k, v) = s
            .split_once('=')
            .with_context(|| format!("--set `{s}`: expected NAME=VALUE"))?;
        inputs.insert_plain(k, v);
    }
    let rules = load_rules(&args.rules, err_style)?;
    // Timers and sockets: the live client connects with timeouts.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let (explained, source, ns) = if args.snapshot.is_empty() {
        let run = async {
            let (client, endpoint) = connect(&args.connect.options()).await?;
            let ns = args
                .namespace
                .clone()
                .unwrap_or_else(|| client.default_namespace().to_string());
            let live = Live::with_client(client, endpoint.clone(), args.connect.request_timeout).await?;
            let e = explain_from(&rules, &live, &inputs, keep(&ns, pod, args))
                .await
                .with_context(|| format!("explaining against {} ({})", endpoint.context, endpoint.server))?;
            Ok::<_, anyhow::Error>((e, format!("the cluster ({})", endpoint.context), ns))
        };
        match runtime.block_on(async { tokio::time::timeout(args.connect.timeout, run).await }) {
            Ok(r) => r?,
            Err(_) => bail!("explain did not finish within --timeout: the API server answers too slowly"),
        }
    } else {
        let (snapshot, diags) = Snapshot::load(&args.snapshot);
        if diags.has_errors() {
            report::write_diagnostics(&mut std::io::stderr().lock(), &diags.into_sorted(), err_style)?;
            bail!("the snapshot files have errors (listed above)");
        }
        let ns = args.namespace.clone().unwrap_or_else(|| "default".to_string());
        let e = runtime.block_on(explain_from(&rules, &snapshot, &inputs, keep(&ns, pod, args)))?;
        (e, "the snapshot".to_string(), ns)
    };
    let Some(e) = explained else {
        if let Some(c) = &args.container {
            bail!(
                "container {c} of pod {ns}/{pod} has no failing image pull in {source} (without --container, explain lists the pod's failing containers)"
            );
        }
        bail!("pod {ns}/{pod} has no failing image pull in {source} (`remedy plan` lists the failing pods)");
    };
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&e)?)?,
        Output::Human => out.write_all(text(&e, style(cli, std::io::stdout().is_terminal())).as_bytes())?,
    }
    Ok(exit::CLEAN)
}
