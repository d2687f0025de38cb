//! Filter and test names: the ones minijinja and remedy define, and those a template uses
//! that nothing defines (found when it is compiled, since minijinja only finds out when it
//! renders them).

use minijinja::ErrorKind;
use minijinja::machinery::{self, Instruction};

use super::{Templates, bound};

/// Filters remedy adds to minijinja's built-ins.
pub const OWN_FILTERS: &[&str] = &["ca_key", "registry_host", "host", "port"];

/// minijinja's built-in filter and test names, for "did you mean" help and the reference
/// (docs/reference.md documents each, tests/docs.rs renders its example): whether a name
/// exists is asked of the environment itself.
pub const BUILTIN_FILTERS: &[&str] = &[
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "chain",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "format",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "zip",
];
pub const BUILTIN_TESTS: &[&str] = &[
    "boolean",
    "defined",
    "divisibleby",
    "endingwith",
    "eq",
    "equalto",
    "escaped",
    "even",
    "false",
    "filter",
    "float",
    "ge",
    "greaterthan",
    "gt",
    "in",
    "int",
    "integer",
    "iterable",
    "le",
    "lessthan",
    "lower",
    "lt",
    "mapping",
    "ne",
    "none",
    "number",
    "odd",
    "safe",
    "sameas",
    "sequence",
    "startingwith",
    "string",
    "test",
    "true",
    "undefined",
    "upper",
];

/// A filter or test a template uses that the environment does not define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// `filter` or `test`.
    pub what: &'static str,
    pub name: String,
    /// 1-based line and column in the template source.
    pub line: usize,
    pub column: usize,
    /// The closest known name, for help.
    pub suggestion: Option<&'static str>,
}

impl Templates {
    /// Whether the environment defines a filter or test: asked by evaluating one, since
    /// minijinja resolves names only when it runs them.
    fn defines(&self, what: &'static str, name: &str) -> bool {
        let key = (what, name.to_string());
        if let Some(&known) = self.known.lock().ok().and_then(|k| k.get(&key).copied()).as_ref() {
            return known;
        }
        let expr = match what {
            "filter" => format!("none | {name}"),
            _ => format!("none is {name}"),
        };
        let unknown_kind = if what == "filter" {
            ErrorKind::UnknownFilter
        } else {
            ErrorKind::UnknownTest
        };
        let known = match self.env.compile_expression(&expr) {
            Ok(e) => !matches!(e.eval(()), Err(err) if err.kind() == unknown_kind),
            Err(_) => true,
        };
        if let Ok(mut k) = self.known.lock() {
            k.insert(key, known);
        }
        known
    }

    /// Every filter and test the compiled template applies that nothing defines, with its
    /// position in `source` (less `skip` leading characters of wrapper).
    pub(super) fn unknown_names(&self, tmpl: &minijinja::Template, source: &str, skip: usize) -> Vec<UnknownName> {
        let compiled = machinery::get_compiled_template(tmpl);
        let mut out = Vec::new();
        for instrs in std::iter::once(&compiled.instructions).chain(compiled.blocks.values()) {
            let mut idx = 0;
            while let Some(ins) = instrs.get(idx) {
                let found = match ins {
                    Instruction::ApplyFilter(name, ..) => Some(("filter", *name)),
                    Instruction::PerformTest(name, ..) => Some(("test", *name)),
                    _ => None,
                };
                if let Some((what, name)) = found
                    && !(what == "filter" && bound::REFUSED_FILTERS.contains(&name))
                    && !self.defines(what, name)
                    && !out.iter().any(|u: &UnknownName| u.what == what && u.name == name)
                {
                    // The span covers the filtered expression; the name is after it.
                    let from = instrs.get_span(idx).map_or(0, |s| s.start_offset as usize);
                    let at = source
                        .get(from..)
                        .and_then(|rest| rest.find(name))
                        .map_or(from, |i| from + i);
                    let (line, column) = line_col(source, at, skip);
                    let candidates = if what == "filter" {
                        BUILTIN_FILTERS.iter().chain(OWN_FILTERS)
                    } else {
                        BUILTIN_TESTS.iter().chain(&[])
                    };
                    out.push(UnknownName {
                        what,
                        name: name.to_string(),
                        line,
                        column,
                        suggestion: crate::diag::did_you_mean(name, candidates.copied()),
                    });
                }
                idx += 1;
            }
        }
        out
    }
}

/// 1-based line and column of byte `at` in `source`, ignoring `skip` leading bytes on the
/// first line (a wrapper around what the author wrote).
fn line_col(source: &str, at: usize, skip: usize) -> (usize, usize) {
    let before = &source[..at.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let mut col = before[line_start..].chars().count() + 1;
    if line == 1 {
        col = col.saturating_sub(skip).max(1);
    }
    (line, col)
}
