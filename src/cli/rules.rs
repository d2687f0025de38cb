//! `remedy rules ...`: list, check, lint, test, match, schema, new, explain.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use super::run::{rules as load_rules, style};
use super::{Cli, RuleArgs};
use crate::diag::Diagnostics;
use crate::plan::exit;
use crate::report::{self, Style};
use crate::{engine, matcher, ruletest, schema};

/// Output of the rules commands that have a machine form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List playbooks and symptoms with their category and file.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        #[arg(short, long, value_enum, default_value_t = Output::Human)]
        output: Output,
    },
    /// Load and validate rules; print every problem found.
    Check(RuleArgs),
    /// Every load diagnostic plus lints (rules that never match, overlap other categories or
    /// bundled rules, actions the plan cannot assess, unguarded probe results, unmarked node
    /// rollouts, rules without examples). Exit 0 clean, 1 errors, 4 warnings only.
    #[command(
        after_help = "Examples:\n  remedy rules lint my-rules/\n  remedy rules lint my-rules/ -o json\n\nEach code has a page: docs/lints/CODE.md (lints) or docs/diagnostics.md (load diagnostics)."
    )]
    Lint(LintArgs),
    /// Run rule tests (`kind: RuleTest` files: cases that plan on a cluster state and check the
    /// findings and actions) and the `examples` of every symptom and playbook.
    #[command(
        after_help = "Examples:\n  remedy rules test tests/rules/\n  remedy rules test my-rules/ --rule registry-proxy-auth\n  remedy rules test my-rules/ --accept   # record changed plans of recordPlan cases"
    )]
    Test(TestArgs),
    /// Classify messages (arguments, or one per line on stdin): one JSON line each.
    Match {
        #[command(flatten)]
        rules: RuleArgs,
        /// Messages; read from standard input when none are given.
        messages: Vec<String>,
    },
    /// Scaffold a playbook and its rule test (commented; both lint clean and pass as written).
    #[command(
        after_help = "Example:\n  remedy rules new artifactory-xray-blocked --category policy-rejected --dir my-rules \\\n    --message 'download blocking policy configured in Xray'"
    )]
    New(super::scaffold::NewArgs),
    /// Describe a playbook in prose: what it matches, what it reads, when it fires, what it
    /// would do, and the risk.
    Explain {
        /// The playbook id (`remedy rules list` shows them).
        id: String,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Print a JSON Schema: `playbook` (rule files), `plan` (`remedy plan -o json`), `report`
    /// (`remedy apply --report`) or `test` (rule-test files).
    Schema {
        #[arg(value_parser = ["playbook", "plan", "report", "test"])]
        which: String,
    },
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Rule files or directories to lint (rule tests found there count as examples); none
    /// lints the bundled rules.
    paths: Vec<PathBuf>,
    /// Lint without the bundled playbooks loaded (no overlap checks with them).
    #[arg(long)]
    no_bundled: bool,
    #[arg(short, long, value_enum, default_value_t = Output::Human)]
    output: Output,
}

/// `rules lint` exit code when only warnings were found.
pub const LINT_WARNINGS: u8 = 4;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Rule files, rule-test files, or directories holding either. Rule files found here are
    /// loaded (besides the bundled rules) for every test.
    paths: Vec<PathBuf>,
    #[command(flatten)]
    rules: RuleArgs,
    /// Run only the cases about this rule id.
    #[arg(long, value_name = "ID")]
    rule: Option<String>,
    /// Record the plan of every `recordPlan` case whose plan is new or changed.
    #[arg(long)]
    accept: bool,
    #[arg(short, long, value_enum, default_value_t = Output::Human)]
    output: Output,
}

pub fn run(cli: &Cli, cmd: &RulesCommand) -> anyhow::Result<u8> {
    let err_style = style(cli, std::io::stderr().is_terminal());
    let out_style = style(cli, std::io::stdout().is_terminal());
    let mut out = std::io::stdout().lock();
    match cmd {
        RulesCommand::List { rules: args, output } => {
            let rules = load_rules(args, err_style)?;
            if *output == Output::Json {
                let list: Vec<serde_json::Value> = rules
                    .symptoms
                    .iter()
                    .map(|s| {
                        serde_json::json!({"kind": "Symptom", "id": s.id, "category": s.category,
                            "title": s.title, "file": s.origin.file, "line": s.origin.line, "bundled": s.origin.bundled})
                    })
                    .chain(rules.rules.iter().map(|r| {
                        serde_json::json!({"kind": "Playbook", "id": r.id, "category": r.category,
                            "title": r.title, "severity": r.severity, "file": r.origin.file, "line": r.origin.line,
                            "bundled": r.origin.bundled, "supersedes": r.supersedes})
                    }))
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
                return Ok(exit::CLEAN);
            }
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
            let rules = load_rules(args, err_style)?;
            writeln!(
                out,
                "{} ok: {} playbooks, {} symptoms",
                out_style.green("✓"),
                rules.rules.len(),
                rules.symptoms.len()
            )?;
            Ok(exit::CLEAN)
        }
        RulesCommand::Test(args) => test(args, err_style, out_style, &mut out),
        RulesCommand::Lint(args) => lint(args, out_style, &mut out),
        RulesCommand::New(args) => super::scaffold::run(args),
        RulesCommand::Explain { id, rules: args } => {
            // Loaded for its diagnostics; the prose reads the document as written.
            let rules = load_rules(args, err_style)?;
            let (_, _, parsed) = crate::load::load_parsed(&crate::load::LoadOptions {
                paths: args.rules.clone(),
                bundled: true,
            });
            let Some(rule) = rules.rules.iter().find(|r| &r.id == id) else {
                let known: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
                let hint = crate::diag::did_you_mean(id, known.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                bail!("no playbook `{id}`{hint}; `remedy rules list` shows them");
            };
            let doc = parsed
                .playbooks
                .iter()
                .rev()
                .find(|d| &d.spec.metadata.name == id && parsed.sources[d.source].bundled == rule.origin.bundled)
                .context("the playbook's document")?;
            let symptoms: Vec<&crate::model::SymptomSpec> = parsed.symptoms.iter().map(|d| &d.spec).collect();
            let file = format!("{}:{}", rule.origin.file, rule.origin.line.unwrap_or(1));
            out.write_all(super::rule_prose::render(&doc.spec, &symptoms, &file).as_bytes())?;
            Ok(exit::CLEAN)
        }
        RulesCommand::Match { rules: args, messages } => {
            let rules = load_rules(args, err_style)?;
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
            let text = match which.as_str() {
                "plan" => schema::plan_schema(),
                "report" => schema::report_schema(),
                "test" => ruletest::spec::schema(),
                _ => schema::playbook_schema(),
            };
            out.write_all(text.as_bytes())?;
            Ok(exit::CLEAN)
        }
    }
}

fn test(args: &TestArgs, err_style: Style, out_style: Style, out: &mut dyn Write) -> anyhow::Result<u8> {
    if args.rules.no_bundled && args.paths.is_empty() && args.rules.rules.is_empty() {
        bail!("--no-bundled leaves no rules: give rule paths");
    }
    let mut diags = Diagnostics::default();
    let (_, rule_files) = ruletest::discover(&args.paths, &mut diags);
    // The examples of every loaded symptom and playbook run too (unless one rule is selected).
    let mut rule_paths = rule_files;
    rule_paths.extend(args.rules.rules.iter().cloned());
    let loaded = load_rules(
        &RuleArgs {
            rules: rule_paths,
            no_bundled: args.rules.no_bundled,
        },
        err_style,
    )?;
    let example_failures = if args.rule.is_none() {
        matcher::examples::run(&loaded)
    } else {
        Vec::new()
    };
    let report = ruletest::run(
        &ruletest::Options {
            paths: args.paths.clone(),
            rules: args.rules.rules.clone(),
            rule: args.rule.clone(),
            accept: args.accept,
            no_bundled: args.rules.no_bundled,
        },
        &mut diags,
    );
    let load_failed = diags.has_errors();
    let sorted = diags.into_sorted();
    if !sorted.is_empty() {
        report::write_diagnostics(&mut std::io::stderr().lock(), &sorted, err_style)?;
    }
    let failed = report.failed() + example_failures.len();
    if args.output == Output::Json {
        let v = serde_json::json!({
            "cases": report.cases,
            "exampleFailures": example_failures,
            "passed": report.cases.iter().filter(|c| c.verdict != ruletest::Verdict::Failed).count(),
            "failed": failed,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        for c in &report.cases {
            match c.verdict {
                ruletest::Verdict::Passed => {}
                ruletest::Verdict::Accepted => {
                    writeln!(out, "{} {}: {}: plan recorded", out_style.green("✓"), c.place(), c.case)?
                }
                ruletest::Verdict::Failed => {
                    writeln!(out, "{} {}: case `{}`", out_style.red("✗"), c.place(), c.case)?;
                    for p in &c.problems {
                        writeln!(out, "  {}", p.replace('\n', "\n  "))?;
                    }
                    if let Some(d) = &c.diff {
                        for line in d.lines() {
                            let shown = if line.starts_with('+') && !line.starts_with("+++") {
                                out_style.green(line)
                            } else if line.starts_with('-') && !line.starts_with("---") {
                                out_style.red(line)
                            } else {
                                line.to_string()
                            };
                            writeln!(out, "    {shown}")?;
                        }
                    }
                }
            }
        }
        for f in &example_failures {
            writeln!(out, "{} {f}", out_style.red("✗"))?;
        }
        let examples = if args.rule.is_none() {
            matcher::examples::count(&loaded)
        } else {
            0
        };
        writeln!(
            out,
            "{} cases in {} files, {} examples: {} passed, {} failed",
            report.cases.len(),
            report.files,
            examples,
            report.cases.len() + examples - failed,
            failed
        )?;
    }
    Ok(if failed == 0 && !load_failed {
        exit::CLEAN
    } else {
        exit::ERROR
    })
}

fn lint(args: &LintArgs, style: Style, out: &mut dyn Write) -> anyhow::Result<u8> {
    let mut diags = Diagnostics::default();
    let mut roots = args.paths.clone();
    if roots.is_empty() && std::path::Path::new("tests/rules").is_dir() {
        roots.push(PathBuf::from("tests/rules"));
    }
    let (tests, rule_files) = ruletest::discover(&roots, &mut diags);
    let rule_files = if args.paths.is_empty() { Vec::new() } else { rule_files };
    if !args.paths.is_empty() && rule_files.is_empty() && !diags.has_errors() {
        bail!(
            "no rule files found in {}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut found: Vec<crate::lint::Finding> = diags
        .into_sorted()
        .into_iter()
        .map(|d| crate::lint::Finding {
            docs: format!("docs/diagnostics.md#{}", d.code.as_str()),
            code: d.code.as_str().to_string(),
            location: d.location,
            severity: d.severity,
            message: d.message,
            help: d.help,
        })
        .collect();
    found.extend(crate::lint::lint(&crate::lint::Options {
        paths: rule_files,
        bundled: !args.no_bundled,
        tests,
    }));
    let errors = found.iter().filter(|f| f.is_error()).count();
    let warnings = found.len() - errors;
    if args.output == Output::Json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"findings": found, "errors": errors, "warnings": warnings})
            )?
        )?;
    } else {
        for f in &found {
            let label = if f.is_error() {
                style.red("error")
            } else {
                style.yellow("warning")
            };
            writeln!(out, "{label}[{}]: {}", f.code, f.message)?;
            writeln!(out, "  --> {}", f.location)?;
            if let Some(h) = &f.help {
                writeln!(out, "  help: {h}")?;
            }
            writeln!(out, "  docs: {}", f.docs)?;
        }
        if found.is_empty() {
            writeln!(out, "{} no problems", style.green("✓"))?;
        } else {
            writeln!(out, "{errors} errors, {warnings} warnings")?;
        }
    }
    Ok(if errors > 0 {
        exit::ERROR
    } else if warnings > 0 {
        LINT_WARNINGS
    } else {
        exit::CLEAN
    })
}
