//! Diagnostics: every problem found while loading rules or snapshots, collected before stopping.
//!
//! Each code is stable and kebab-case; `docs/diagnostics.md` documents every one.

use std::fmt;

use serde::Serialize;

/// Where a problem is: a file and, when known, a line/column (1-based) and a YAML path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
pub struct Location {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted path into the document (`spec.actions[2].copySecret.from`), when the parser gives no position.
    pub path: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(path) = &self.path
            && self.line.is_none()
        {
            write!(f, " ({path})")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// The stable codes. Adding one means documenting it in `docs/diagnostics.md`
/// (a test checks that every code appears there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// The file could not be read (missing, permissions, not UTF-8).
    UnreadableFile,
    /// The YAML or JSON does not parse.
    InvalidYaml,
    /// `apiVersion`/`kind` missing or not one remedy knows.
    UnknownKind,
    /// A field remedy does not know (typo or wrong level).
    UnknownField,
    /// A value of the wrong type, a missing required field, or a bad enum value.
    InvalidValue,
    /// Two rules or symptoms share an id.
    DuplicateId,
    /// `supersedes` names a bundled rule that `--no-bundled` leaves out (a warning).
    SupersedesNotLoaded,
    /// A regex that does not compile.
    InvalidRegex,
    /// A template or condition that does not parse.
    InvalidTemplate,
    /// A template or condition that uses a variable nothing defines.
    UndefinedVariable,
    /// A reference to a symptom that does not exist.
    UnknownSymptom,
    /// A probe name used twice, or shadowing a built-in variable.
    InvalidProbe,
    /// A matcher, probe or action that sets none or more than one of its alternatives.
    AmbiguousSpec,
    /// A category not in the failure-category vocabulary.
    UnknownCategory,
    /// A snapshot object without `kind`/`metadata.name`, or of a shape remedy cannot read.
    InvalidObject,
    /// A path given on the command line that does not exist.
    MissingPath,
    /// A rule file override note (a user rule replaced a bundled one).
    OverridesBundled,
    /// A symbolic link that leads back to a directory being walked.
    SymlinkLoop,
    /// An input with nothing in it: an empty rule file or directory, a snapshot without objects.
    EmptyInput,
    /// Rules that supersede each other (or themselves).
    SupersedesCycle,
    /// A template or condition that uses a filter or test minijinja and remedy do not define.
    UnknownFilter,
    /// A template that could build a value of unbounded size (`set`, a long concatenation, ...).
    UnboundedTemplate,
    /// An input over its size limit (snapshot file, archive, rule file, `--set-file`).
    InputTooLarge,
    /// A directory entry that is not a regular file (FIFO, device, socket): skipped.
    NotRegularFile,
    /// A snapshot object remedy cannot use (an event about no named object): skipped.
    SkippedObject,
    /// One object in two snapshot files: the newer is kept.
    DuplicateObject,
    /// A snapshot file left out of a partial plan because it has errors.
    SkippedFile,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnreadableFile => "unreadable-file",
            Code::InvalidYaml => "invalid-yaml",
            Code::UnknownKind => "unknown-kind",
            Code::UnknownField => "unknown-field",
            Code::InvalidValue => "invalid-value",
            Code::DuplicateId => "duplicate-id",
            Code::SupersedesNotLoaded => "supersedes-not-loaded",
            Code::InvalidRegex => "invalid-regex",
            Code::InvalidTemplate => "invalid-template",
            Code::UndefinedVariable => "undefined-variable",
            Code::UnknownSymptom => "unknown-symptom",
            Code::InvalidProbe => "invalid-probe",
            Code::AmbiguousSpec => "ambiguous-spec",
            Code::UnknownCategory => "unknown-category",
            Code::InvalidObject => "invalid-object",
            Code::MissingPath => "missing-path",
            Code::OverridesBundled => "overrides-bundled",
            Code::SymlinkLoop => "symlink-loop",
            Code::EmptyInput => "empty-input",
            Code::SupersedesCycle => "supersedes-cycle",
            Code::UnknownFilter => "unknown-filter",
            Code::UnboundedTemplate => "unbounded-template",
            Code::InputTooLarge => "input-too-large",
            Code::NotRegularFile => "not-a-regular-file",
            Code::SkippedObject => "skipped-object",
            Code::DuplicateObject => "duplicate-object",
            Code::SkippedFile => "skipped-file",
        }
    }

    pub const ALL: &'static [Code] = &[
        Code::UnreadableFile,
        Code::InvalidYaml,
        Code::UnknownKind,
        Code::UnknownField,
        Code::InvalidValue,
        Code::DuplicateId,
        Code::SupersedesNotLoaded,
        Code::InvalidRegex,
        Code::InvalidTemplate,
        Code::UndefinedVariable,
        Code::UnknownSymptom,
        Code::InvalidProbe,
        Code::AmbiguousSpec,
        Code::UnknownCategory,
        Code::InvalidObject,
        Code::MissingPath,
        Code::OverridesBundled,
        Code::SymlinkLoop,
        Code::EmptyInput,
        Code::SupersedesCycle,
        Code::UnknownFilter,
        Code::UnboundedTemplate,
        Code::InputTooLarge,
        Code::NotRegularFile,
        Code::SkippedObject,
        Code::DuplicateObject,
        Code::SkippedFile,
    ];
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    pub location: Location,
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            location,
            severity: Severity::Error,
            code,
            message: message.into(),
            help: None,
        }
    }

    pub fn warning(code: Code, location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, location, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}]: {}\n  --> {}", self.code, self.message, self.location)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics; callers keep going after an error so that one run shows every problem.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// Sorted by file, line and column so output is stable.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort();
        self.items.dedup();
        self.items
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }
    /// For filling in positions after the fact (snapshot files index positions only on error).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Diagnostic> {
        self.items.iter_mut()
    }
}

/// The closest candidate by edit distance, for "did you mean" help lines.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 3) && *d < c.len().max(word.len()))
        .min()
        .map(|(_, c)| c)
}
