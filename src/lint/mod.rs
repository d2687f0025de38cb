//! `remedy rules lint`: every load diagnostic, plus checks of what loads but is likely wrong.
//! Each lint has a stable code, a place, a help line and a docs page (`docs/lints/CODE.md`).

mod checks;
mod never;

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use crate::diag::{Diagnostic, Location, Severity};
use crate::load::{self, LoadOptions, Parsed};
use crate::model::PlaybookSpec;
use crate::rules::RuleSet;

/// The lint codes. Stable: tools may match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LintCode {
    /// A matcher that can never match: an unsatisfiable regex, a contradicting `allOf`.
    NeverMatches,
    /// A matcher that also matches corpus messages of another category than the rule's own.
    CorpusOtherCategory,
    /// A rule that matches what a bundled rule of another category matches, without `supersedes`.
    OverlapsBundled,
    /// An action whose desired state the engine cannot compare with the current one.
    IncomparableState,
    /// A template reads a probe result that the conditions do not guarantee exists.
    UnguardedProbe,
    /// A change the engine knows rolls nodes (drain and reboot), not marked `disruptive`.
    DisruptiveUnmarked,
    /// A playbook with no message examples and no rule test.
    NoExamples,
}

impl LintCode {
    pub const ALL: &'static [LintCode] = &[
        LintCode::NeverMatches,
        LintCode::CorpusOtherCategory,
        LintCode::OverlapsBundled,
        LintCode::IncomparableState,
        LintCode::UnguardedProbe,
        LintCode::DisruptiveUnmarked,
        LintCode::NoExamples,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LintCode::NeverMatches => "never-matches",
            LintCode::CorpusOtherCategory => "corpus-other-category",
            LintCode::OverlapsBundled => "overlaps-bundled",
            LintCode::IncomparableState => "incomparable-state",
            LintCode::UnguardedProbe => "unguarded-probe",
            LintCode::DisruptiveUnmarked => "disruptive-unmarked",
            LintCode::NoExamples => "no-examples",
        }
    }

    fn severity(self) -> Severity {
        match self {
            LintCode::NeverMatches => Severity::Error,
            _ => Severity::Warning,
        }
    }
}

/// One problem: a load diagnostic or a lint.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub location: Location,
    pub severity: Severity,
    pub code: String,
    pub message: String,
    pub help: Option<String>,
    /// The page that explains the code.
    pub docs: String,
}

impl Finding {
    fn lint(code: LintCode, location: Location, message: String, help: impl Into<String>) -> Self {
        Finding {
            location,
            severity: code.severity(),
            code: code.as_str().to_string(),
            message,
            help: Some(help.into()),
            docs: format!("docs/lints/{}.md", code.as_str()),
        }
    }

    fn from_diagnostic(d: Diagnostic) -> Self {
        let code = d.code.as_str();
        Finding {
            docs: format!("docs/diagnostics.md#{code}"),
            code: code.to_string(),
            location: d.location,
            severity: d.severity,
            message: d.message,
            help: d.help,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Rule files and directories to lint; none lints the bundled rules.
    pub paths: Vec<PathBuf>,
    /// Load the bundled playbooks next to the linted ones (for overlap and `supersedes` checks).
    pub bundled: bool,
    /// Rule-test files found besides the rules (a rule with a test needs no examples).
    pub tests: Vec<PathBuf>,
}

/// What the checks look at: the parsed documents, what they compiled to, and which are linted.
pub(crate) struct Input<'a> {
    pub parsed: &'a Parsed,
    pub rules: &'a RuleSet,
    /// Indices into `parsed.playbooks` of the linted documents.
    pub linted: Vec<usize>,
    /// Rule ids that have a rule test.
    pub tested: BTreeSet<String>,
}

impl Input<'_> {
    pub fn loc(&self, doc: usize, path: &str) -> Location {
        let d = &self.parsed.playbooks[doc];
        self.parsed.loc(d.source, d.doc, path)
    }

    pub fn spec(&self, doc: usize) -> &PlaybookSpec {
        &self.parsed.playbooks[doc].spec
    }
}

/// Rule ids that cases of the given rule-test files are about.
fn tested_rules(tests: &[PathBuf]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in tests {
        let Ok(text) = std::fs::read_to_string(t) else { continue };
        let Ok(v) = serde_yaml::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if let Some(r) = v.pointer("/spec/rule").and_then(|r| r.as_str()) {
            out.insert(r.to_string());
        }
        for c in v
            .pointer("/spec/cases")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(r) = c.get("rule").and_then(|r| r.as_str()) {
                out.insert(r.to_string());
            }
        }
    }
    out
}

/// Lint: load (every diagnostic counts), then run the checks on the linted playbooks.
pub fn lint(opts: &Options) -> Vec<Finding> {
    let (rules, diags, parsed) = load::load_parsed(&LoadOptions {
        paths: opts.paths.clone(),
        bundled: opts.bundled || opts.paths.is_empty(),
    });
    let mut out: Vec<Finding> = diags.into_sorted().into_iter().map(Finding::from_diagnostic).collect();
    let user = !opts.paths.is_empty();
    let linted = (0..parsed.playbooks.len())
        .filter(|&i| parsed.sources[parsed.playbooks[i].source].bundled != user)
        .collect();
    let input = Input {
        parsed: &parsed,
        rules: &rules,
        linted,
        tested: tested_rules(&opts.tests),
    };
    never::check(&input, &mut out);
    checks::check(&input, &mut out);
    out.sort();
    out.dedup();
    out
}
