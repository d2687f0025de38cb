//! `remedy rules test`: rule tests as data. Each case builds a cluster state (a snapshot, inline
//! objects, or one event message), plans on it with the rules, and checks the whole plan: its
//! findings, its actions, or (`recordPlan`) the full plan against a recorded one.

mod case;
pub use case::{CaseState, case_state};
mod record;
pub mod spec;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diag::{Code, Diagnostic, Diagnostics, Location};
use crate::load::{self, LoadOptions, PositionIndex};
use crate::rules::RuleSet;
use crate::walk::Walker;
pub use spec::RuleTestFile;

/// The `kind` of rule-test documents.
pub const KIND: &str = "RuleTest";

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Rule files, rule-test files, or directories holding either.
    pub paths: Vec<PathBuf>,
    /// Extra rule paths (`--rules`), loaded for every test file.
    pub rules: Vec<PathBuf>,
    /// Run only the cases about this rule.
    pub rule: Option<String>,
    /// Record the plans of `recordPlan` cases instead of failing on a difference.
    pub accept: bool,
    pub no_bundled: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Passed,
    Failed,
    /// A recorded plan was written (`--accept`).
    Accepted,
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub file: String,
    pub line: Option<usize>,
    pub case: String,
    pub rule: Option<String>,
    pub verdict: Verdict,
    /// What did not hold, one line each (expected versus actual).
    pub problems: Vec<String>,
    /// For a `recordPlan` case whose plan changed: a unified diff, recorded → now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl CaseResult {
    /// `file:line: case` for reports.
    pub fn place(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.file),
            None => self.file.clone(),
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub cases: Vec<CaseResult>,
    /// Test files found (with at least one selected case or not).
    pub files: usize,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.cases.iter().filter(|c| c.verdict == Verdict::Failed).count()
    }
}

/// What a YAML file found under a test path holds, judged by its first document.
#[derive(Debug, PartialEq, Eq)]
pub enum FileKind {
    Test,
    Rule,
    /// Cluster objects (a snapshot a case reads): `apiVersion` is not remedy's.
    Data,
}

pub fn file_kind(text: &str) -> FileKind {
    use serde::Deserialize;
    let first = serde_yaml::Deserializer::from_str(text)
        .map(|d| serde_yaml::Value::deserialize(d).ok())
        .find(|v| !matches!(v, Some(serde_yaml::Value::Null)))
        .flatten();
    let field = |k: &str| {
        first
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    match (field("apiVersion"), field("kind")) {
        (_, Some(k)) if k == KIND => FileKind::Test,
        // A recorded plan under `__snapshots__/`.
        (_, Some(k)) if k == "Plan" => FileKind::Data,
        // A file remedy cannot read as anything goes to the rule loader, which says why.
        (Some(api), _) if !api.starts_with("remedy.dev/") => FileKind::Data,
        _ => FileKind::Rule,
    }
}

/// Split the given paths into rule-test files and rule files (snapshot data is left out).
pub fn discover(paths: &[PathBuf], diags: &mut Diagnostics) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut walker = Walker::new("rules test", load::is_rule_file);
    let (mut tests, mut rules) = (Vec::new(), Vec::new());
    for p in paths {
        let (files, _) = walker.collect(p, diags);
        for f in files {
            match std::fs::read_to_string(&f) {
                Ok(t) => match file_kind(&t) {
                    FileKind::Test => tests.push(f),
                    FileKind::Rule => rules.push(f),
                    FileKind::Data => {}
                },
                Err(e) => diags.push(Diagnostic::error(
                    Code::UnreadableFile,
                    Location {
                        file: f.display().to_string(),
                        ..Location::default()
                    },
                    format!("cannot read: {e}"),
                )),
            }
        }
    }
    (tests, rules)
}

/// A parsed test file with positions for its cases.
pub struct TestFile {
    pub path: PathBuf,
    pub spec: spec::TestSpec,
    pub positions: PositionIndex,
}

impl TestFile {
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn line_of(&self, path: &str) -> Option<usize> {
        self.positions.find(0, path).map(|p| p.0)
    }
}

/// Read and check one test file; problems are diagnostics naming the file and place.
pub fn read_test_file(path: &Path, diags: &mut Diagnostics) -> Option<TestFile> {
    let file = path.display().to_string();
    let at = |line: Option<usize>, column: Option<usize>| Location {
        file: file.clone(),
        line,
        column,
        path: None,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(Diagnostic::error(
                Code::UnreadableFile,
                at(None, None),
                format!("cannot read: {e}"),
            ));
            return None;
        }
    };
    let doc: RuleTestFile = match serde_yaml::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            let loc = e.location();
            diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    at(loc.as_ref().map(|l| l.line()), loc.as_ref().map(|l| l.column())),
                    load::yaml_message(&e),
                )
                .with_help("`remedy rules schema test` prints the rule-test format"),
            );
            return None;
        }
    };
    let positions = PositionIndex::build(&text);
    let mut ok = true;
    if doc.api_version != crate::model::API_VERSION || doc.kind != KIND {
        diags.push(Diagnostic::error(
            Code::UnknownKind,
            at(positions.find(0, "apiVersion").map(|p| p.0), None),
            format!(
                "a rule test starts with `apiVersion: {}` and `kind: {KIND}`",
                crate::model::API_VERSION
            ),
        ));
        ok = false;
    }
    let tf = TestFile {
        path: path.to_path_buf(),
        spec: doc.spec,
        positions,
    };
    let mut names = std::collections::BTreeSet::new();
    for (i, c) in tf.spec.cases.iter().enumerate() {
        let line = tf.line_of(&format!("spec.cases[{i}]"));
        let mut bad = |msg: String, help: &str| {
            diags.push(Diagnostic::error(Code::InvalidValue, at(line, None), msg).with_help(help));
            ok = false;
        };
        if !names.insert(c.name.as_str()) {
            bad(
                format!("case `{}` is named twice", c.name),
                "case names are unique in a file",
            );
        }
        if c.snapshot.is_none() && c.objects.is_empty() && c.message.is_none() {
            bad(
                format!("case `{}` gives no cluster state", c.name),
                "give `snapshot: PATH`, inline `objects`, or a `message`",
            );
        }
        let rule = c.rule.as_ref().or(tf.spec.rule.as_ref());
        if c.valid && rule.is_none() {
            bad(
                format!("case `{}` is `valid` but names no rule", c.name),
                "set `rule:` on the case or `spec.rule` on the file: a valid case checks that this rule does not fire",
            );
        }
        if !c.valid && c.expect.is_none() && !c.record_plan && rule.is_none() {
            bad(
                format!("case `{}` checks nothing", c.name),
                "give `expect`, `valid: true`, `recordPlan: true`, or a `rule` that must fire",
            );
        }
    }
    ok.then_some(tf)
}

/// Run every selected case of every test file found under `opts.paths`.
pub fn run(opts: &Options, diags: &mut Diagnostics) -> Report {
    let (tests, rule_files) = discover(&opts.paths, diags);
    let mut report = Report::default();
    let mut cache: HashMap<(Vec<PathBuf>, bool), Option<RuleSet>> = HashMap::new();
    for path in tests {
        let Some(tf) = read_test_file(&path, diags) else {
            continue;
        };
        report.files += 1;
        let selected: Vec<usize> = (0..tf.spec.cases.len())
            .filter(|&i| {
                let c = &tf.spec.cases[i];
                opts.rule.as_ref().is_none_or(|r| {
                    c.rule.as_ref().or(tf.spec.rule.as_ref()) == Some(r)
                        || c.expect
                            .as_ref()
                            .and_then(|e| e.findings.as_ref())
                            .is_some_and(|f| f.iter().any(|f| &f.rule == r))
                })
            })
            .collect();
        if selected.is_empty() {
            continue;
        }
        let mut paths = rule_files.clone();
        paths.extend(opts.rules.iter().cloned());
        paths.extend(tf.spec.rules.iter().map(|r| tf.dir().join(r)));
        let no_bundled = opts.no_bundled || tf.spec.no_bundled;
        let rules = cache.entry((paths.clone(), no_bundled)).or_insert_with(|| {
            let (rules, d) = load::load(&LoadOptions {
                paths,
                bundled: !no_bundled,
            });
            let failed = d.has_errors();
            diags.extend(d);
            (!failed).then_some(rules)
        });
        for i in selected {
            let c = &tf.spec.cases[i];
            let mut result = CaseResult {
                file: path.display().to_string(),
                line: tf.line_of(&format!("spec.cases[{i}]")),
                case: c.name.clone(),
                rule: c.rule.clone().or_else(|| tf.spec.rule.clone()),
                verdict: Verdict::Passed,
                problems: Vec::new(),
                diff: None,
            };
            match rules {
                Some(rules) => case::run(rules, &tf, i, opts.accept, &mut result),
                None => result
                    .problems
                    .push("the rules did not load (their diagnostics are listed above)".into()),
            }
            if !result.problems.is_empty() {
                result.verdict = Verdict::Failed;
            }
            report.cases.push(result);
        }
    }
    report
}
