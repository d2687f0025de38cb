//! The command line: clap types, resolved into validated options before anything runs.

mod apply;
mod explain;
mod extra;
mod live;
mod out;
mod rerun;
mod rule_prose;
mod rules;
mod run;
mod scaffold;
mod scope;
mod term;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "remedy",
    version,
    about = "Diagnose and fix failing image pulls on Kubernetes and OpenShift",
    long_about = "remedy reads cluster state (a snapshot of objects, as `kubectl get -o yaml` or an OpenShift \
must-gather writes them), finds pods that cannot pull their images, works out why from the runtime's \
own message and the state of pull secrets, service accounts and registry configuration, and prints a \
plan of fixes with the evidence behind each one.\n\nExit codes: 0 nothing to do, 1 error, 2 actions \
pending, 3 findings that need a person (manual steps, input, or no playbook explains them).",
    after_help = "Examples:\n  remedy plan --snapshot examples/seed-004-marketplace\n  remedy plan --snapshot must-gather/ -o json > plan.json\n  echo 'x509: certificate signed by unknown authority' | remedy rules match\n  remedy rules check --rules my-rules/"
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// When to colour output and logs: auto (a terminal, without NO_COLOR or TERM=dumb),
    /// always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = term::ColorWhen::Auto, global = true)]
    color: term::ColorWhen,
    /// Never colour the output (the same as --color=never; also: NO_COLOR=1).
    #[arg(long, global = true)]
    no_color: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct RuleArgs {
    /// Extra rule files or directories (recursive), added to the bundled rules. A rule with
    /// the id of a bundled rule replaces it. Repeatable.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Leave out the bundled playbooks: only those from `--rules` run. The bundled symptoms
    /// (the shared wording of failures) stay available.
    #[arg(long)]
    no_bundled: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Find failing image pulls and print the plan that fixes them.
    #[command(after_help = "Exit codes: 0 nothing to do, 1 error, 2 actions pending, 3 needs a person.")]
    Plan(Box<PlanArgs>),
    /// Apply a plan to the live cluster: a fresh one, or a saved one (refused when stale).
    #[command(after_help = "Exit codes: 0 nothing to do, 1 error, 2 applied, 3 partial (a person must act), 4 failed.")]
    Apply(Box<apply::ApplyArgs>),
    /// Undo an apply from its report: delete what it created, restore what it patched
    /// (objects changed since are left alone, and named).
    #[command(after_help = "Exit codes: 0 undone, 1 error, 3 some objects left alone, 4 a restore failed.")]
    Undo(apply::UndoArgs),
    /// Print the least-privilege ClusterRole the loaded rules need (YAML).
    Rbac(apply::RbacArgs),
    /// Work with rules: list, check, test, match messages, print schemas.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Print shell completions: `remedy completions bash > /etc/bash_completion.d/remedy`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `remedy man > remedy.1`.
    Man,
    /// Why a pod's pull failure got the plan it did: every rule considered, which matcher
    /// matched or why not, probe results, condition values, action statuses and reasons.
    #[command(
        after_help = "Examples:\n  remedy explain pod/frontend-7c9d6b5f48-2xkqp -n shop --snapshot examples/seed-003-icr-namespace\n  remedy explain pod/frontend-7c9d6b5f48-2xkqp -n shop --kubeconfig ~/.kube/config"
    )]
    Explain(explain::ExplainArgs),
    /// Write a synthetic snapshot (for benchmarks).
    #[command(hide = true)]
    GenSnapshot(GenArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Snapshot file or directory (kubectl -o yaml|json output, must-gather). Repeatable.
    /// Without it, remedy reads the live cluster (see the connection flags).
    #[arg(long, value_name = "PATH")]
    snapshot: Vec<PathBuf>,
    #[command(flatten)]
    connect: live::ConnectArgs,
    #[command(flatten)]
    rules: RuleArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Human)]
    output: Format,
    /// Write the plan to a file instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Give an input a value: `--set name=value`. Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Give an input a file's content (a CA certificate, a docker config.json): `--set-file name=path`.
    #[arg(long = "set-file", value_name = "NAME=PATH")]
    set_file: Vec<String>,
    /// Stop (exit 1) when any snapshot file has errors. Without it, such files are left out,
    /// the plan is made from the rest, marked partial, and the exit code is 4.
    #[arg(long)]
    strict: bool,
    /// Largest snapshot file, archive entry or standard input read (`512MiB`, `4GiB`).
    #[arg(long, value_name = "SIZE", env = "REMEDY_MAX_FILE_SIZE", default_value = "1GiB",
          value_parser = crate::limits::parse_size)]
    max_file_size: u64,
    /// Let the `registry` probe ask the registries (outbound connections, with the pods'
    /// pull-secret credentials). Without it the probe decides nothing.
    #[arg(long)]
    probe_registries: bool,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Show every finding, pod and action in full instead of grouping findings that share a
    /// cause across namespaces (also: `-o wide`).
    #[arg(long)]
    expand: bool,
}

/// What the plan is about; applied before any rule runs.
#[derive(Debug, Args, Clone, Default)]
pub struct ScopeArgs {
    /// Only failures in this namespace. Repeatable.
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    namespace: Vec<String>,
    /// Only pods whose labels match, in kubectl's syntax (`app=web,tier!=db`, `env in (a,b)`).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    selector: Option<String>,
    /// Only failures of this category (auth, tls-unknown-ca, not-found, ...). Repeatable.
    #[arg(long, value_name = "CATEGORY")]
    category: Vec<String>,
    /// Only findings of this playbook. Repeatable.
    #[arg(long, value_name = "PLAYBOOK")]
    rule: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    #[arg(long, default_value_t = 1_000)]
    namespaces: usize,
    /// Share of pods that fail to pull, in percent.
    #[arg(long, default_value_t = 10)]
    failing_percent: usize,
    /// `json` (one List), `yaml` (the same as kubectl writes it) or `must-gather` (a tree;
    /// `--out` is then a directory).
    #[arg(long, default_value = "json", value_parser = ["json", "yaml", "must-gather"])]
    format: String,
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Entry point for the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { crate::plan::exit::ERROR } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    ExitCode::from(run::run(cli))
}
