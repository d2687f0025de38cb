//! Loading rules: read files, parse every document, validate, and compile into a `RuleSet`.
//! Every problem becomes a diagnostic; loading goes on so one run reports them all.

mod compile;
mod position;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use compile::{BUILTIN_VARS, CLUSTER_FIELDS, FAILURE_FIELDS, probe_result_fields};
pub use position::PositionIndex;
use validate::Problem;

use crate::diag::{Code, Diagnostic, Diagnostics, Location, did_you_mean};
use crate::model::{API_VERSION, PlaybookSpec, SymptomSpec};
use crate::rules::RuleSet;
use crate::walk::Walker;

/// The bundled rules, embedded at build time from `rules/`.
pub const BUNDLED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/bundled_rules.rs"));

/// One rule file's text and where it came from.
#[derive(Debug, Clone)]
pub struct RuleSource {
    pub name: String,
    pub text: String,
    pub bundled: bool,
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// User rule files and directories (walked recursively for `.yaml`/`.yml`).
    pub paths: Vec<PathBuf>,
    /// Include the bundled playbooks (the default). User rules with the same id replace them.
    /// Bundled symptoms are always loaded: they are the shared vocabulary user rules build on.
    pub bundled: bool,
}

/// A parsed document with where it came from.
pub(crate) struct Doc<T> {
    pub spec: T,
    pub source: usize,
    pub doc: usize,
}

pub(crate) struct Parsed {
    pub sources: Vec<RuleSource>,
    pub positions: Vec<PositionIndex>,
    pub playbooks: Vec<Doc<PlaybookSpec>>,
    pub symptoms: Vec<Doc<SymptomSpec>>,
    /// Playbook documents that do not deserialise, as data: their templates are still
    /// checked (syntax, filters, variables), so one run reports them with the structural
    /// problems.
    pub broken: Vec<Doc<serde_json::Value>>,
}

impl Parsed {
    pub fn loc(&self, source: usize, doc: usize, path: &str) -> Location {
        let pos = self.positions[source].find(doc, path);
        Location {
            file: self.sources[source].name.clone(),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            path: (!path.is_empty()).then(|| path.to_string()),
        }
    }
}

pub fn bundled_sources() -> Vec<RuleSource> {
    BUNDLED
        .iter()
        .map(|(name, text)| RuleSource {
            name: format!("bundled:{name}"),
            text: text.to_string(),
            bundled: true,
        })
        .collect()
}

/// Whether a file name has a rule-file extension (`.yaml`/`.yml`, any case).
pub fn is_rule_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// Read user rule files; unreadable paths are diagnostics.
pub fn read_sources(paths: &[PathBuf], diags: &mut Diagnostics) -> Vec<RuleSource> {
    let mut out = Vec::new();
    let mut walker = Walker::new("--rules", is_rule_file);
    for path in paths {
        let before = out.len();
        let (files, skipped) = walker.collect(path, diags);
        read_rule_files(&files, &mut out, diags);
        if path.is_dir() && out.len() == before && skipped == 0 {
            // Not an error: bundled rules still run, and an optional rules directory (a
            // mounted ConfigMap, say) may be empty. `--no-bundled` with no playbooks is one.
            diags.push(
                Diagnostic::warning(
                    Code::EmptyInput,
                    Location {
                        file: path.display().to_string(),
                        ..Location::default()
                    },
                    "no rule files (`.yaml`, `.yml`) in this directory",
                )
                .with_help("check the path given to --rules"),
            );
        }
    }
    out
}

/// Read each collected rule file; an unreadable one is a diagnostic.
fn read_rule_files(files: &[PathBuf], out: &mut Vec<RuleSource>, diags: &mut Diagnostics) {
    for path in files {
        match crate::limits::read_text(path, crate::limits::MAX_RULE_FILE_SIZE, "a fixed limit for rule files") {
            Ok(text) => out.push(RuleSource {
                name: path.display().to_string(),
                text,
                bundled: false,
            }),
            Err(e) => diags.push(
                Diagnostic::error(
                    match e {
                        crate::limits::ReadError::TooLarge { .. } => Code::InputTooLarge,
                        crate::limits::ReadError::Io(_) => Code::UnreadableFile,
                    },
                    Location {
                        file: path.display().to_string(),
                        ..Location::default()
                    },
                    format!("cannot read rule file: {e}"),
                )
                .with_help("rule files must be readable UTF-8 YAML"),
            ),
        }
    }
}

/// Load rules as the CLI does: bundled (unless disabled) plus user paths.
pub fn load(opts: &LoadOptions) -> (RuleSet, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut sources = bundled_sources();
    sources.extend(read_sources(&opts.paths, &mut diags));
    let (rules, more, _) = load_filtered(sources, opts.bundled);
    diags.extend(more);
    if !opts.bundled && rules.rules.is_empty() && !diags.has_errors() {
        // Planning with no playbook at all would report a healthy cluster whatever its state.
        let file = opts
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        diags.push(
            Diagnostic::error(
                Code::EmptyInput,
                Location {
                    file,
                    ..Location::default()
                },
                "no playbooks loaded: `--no-bundled` leaves out the bundled ones and these paths define none",
            )
            .with_help("give --rules a file or directory with `kind: Playbook` documents, or drop --no-bundled"),
        );
    }
    (rules, diags)
}

/// Parse, validate and compile rule sources.
pub fn load_sources(sources: Vec<RuleSource>) -> (RuleSet, Diagnostics) {
    let (rules, diags, _) = load_filtered(sources, true);
    (rules, diags)
}

/// Load as `load` does, and keep the parsed documents (for `remedy rules lint`, which looks at
/// what was written as well as what it compiled to).
pub(crate) fn load_parsed(opts: &LoadOptions) -> (RuleSet, Diagnostics, Parsed) {
    let mut diags = Diagnostics::default();
    let mut sources = bundled_sources();
    sources.extend(read_sources(&opts.paths, &mut diags));
    let (rules, more, parsed) = load_filtered(sources, opts.bundled);
    diags.extend(more);
    (rules, diags, parsed)
}

fn load_filtered(sources: Vec<RuleSource>, bundled_playbooks: bool) -> (RuleSet, Diagnostics, Parsed) {
    let mut diags = Diagnostics::default();
    let mut parsed = parse_all(sources, &mut diags);
    // Bundled playbooks left out by `--no-bundled`: a `supersedes` naming one is a warning.
    let mut left_out = std::collections::BTreeSet::new();
    if !bundled_playbooks {
        let sources = &parsed.sources;
        for d in parsed.playbooks.iter().filter(|d| sources[d.source].bundled) {
            left_out.insert(d.spec.metadata.name.clone());
        }
        parsed.playbooks.retain(|d| !sources[d.source].bundled);
    }
    let rules = compile::compile(&parsed, &left_out, &mut diags);
    (rules, diags, parsed)
}

#[derive(Deserialize)]
struct Header {
    #[serde(rename = "apiVersion")]
    api_version: Option<serde_yaml::Value>,
    kind: Option<serde_yaml::Value>,
}

fn parse_all(sources: Vec<RuleSource>, diags: &mut Diagnostics) -> Parsed {
    let positions = sources.iter().map(|s| PositionIndex::build(&s.text)).collect();
    let mut parsed = Parsed {
        sources,
        positions,
        playbooks: Vec::new(),
        symptoms: Vec::new(),
        broken: Vec::new(),
    };
    for si in 0..parsed.sources.len() {
        let text = parsed.sources[si].text.clone();
        // First pass: the header of each document, to know what to parse it as.
        let mut headers = Vec::new();
        let mut broken = false;
        for (di, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            match serde_yaml::Value::deserialize(doc) {
                Ok(serde_yaml::Value::Null) => headers.push(None),
                Ok(v) => headers.push(Some((serde_yaml::from_value::<Header>(v.clone()).ok(), v))),
                Err(e) => {
                    let dups: Vec<(String, (usize, usize))> = parsed.positions[si]
                        .duplicates(di)
                        .map(|(p, pos)| (p.to_string(), pos))
                        .collect();
                    if e.to_string().contains("duplicate entry") && !dups.is_empty() {
                        // serde_yaml points at the mapping; each repeated key has its own line.
                        for (path, (line, column)) in dups {
                            let first = parsed.loc(si, di, &path);
                            let key = path.rsplit('.').next().unwrap_or(&path);
                            diags.push(
                                Diagnostic::error(
                                    Code::InvalidYaml,
                                    Location {
                                        file: parsed.sources[si].name.clone(),
                                        line: Some(line),
                                        column: Some(column),
                                        path: Some(path.clone()),
                                    },
                                    format!("duplicate key `{key}`"),
                                )
                                .with_help(format!(
                                    "a key appears once per mapping; the first `{key}` is at line {}",
                                    first.line.unwrap_or(0)
                                )),
                            );
                        }
                    } else {
                        diags.push(yaml_error(&parsed, si, di, &e, Code::InvalidYaml));
                    }
                    broken = true;
                    break;
                }
            }
        }
        if !broken && !parsed.sources[si].bundled && headers.iter().all(Option::is_none) {
            // A warning, not an error: nothing in the file is wrong, there is just nothing in it.
            diags.push(
                Diagnostic::warning(
                    Code::EmptyInput,
                    Location {
                        file: parsed.sources[si].name.clone(),
                        ..Location::default()
                    },
                    "the file holds no rule documents",
                )
                .with_help("a rule file holds documents of `kind: Playbook` or `kind: Symptom`; comments and `---` alone define nothing"),
            );
        }
        // Second pass: typed parse, so errors carry the deserialiser's own positions.
        for (di, doc) in serde_yaml::Deserializer::from_str(&text)
            .enumerate()
            .take(headers.len())
        {
            let Some((header, value)) = &headers[di] else { continue };
            let loc = parsed.loc(si, di, "");
            let Some(Header { api_version, kind }) = header else {
                diags.push(
                    Diagnostic::error(Code::InvalidYaml, loc, "a rule document must be a mapping").with_help(
                        "start it with `apiVersion: remedy.dev/v1alpha1` and `kind: Playbook` or `kind: Symptom`",
                    ),
                );
                continue;
            };
            let api = api_version.as_ref().and_then(|v| v.as_str());
            if api != Some(API_VERSION) {
                let msg = match api {
                    Some(a) => format!("unsupported apiVersion `{a}`"),
                    None => "missing `apiVersion`".to_string(),
                };
                diags.push(
                    Diagnostic::error(Code::UnknownKind, parsed.loc(si, di, "apiVersion"), msg)
                        .with_help(format!("use `apiVersion: {API_VERSION}`")),
                );
                continue;
            }
            match kind.as_ref().and_then(|v| v.as_str()) {
                Some("Playbook") => match PlaybookSpec::deserialize(doc) {
                    Ok(spec) => parsed.playbooks.push(Doc {
                        spec,
                        source: si,
                        doc: di,
                    }),
                    Err(e) => {
                        shape_errors(&parsed, si, di, value, true, &e, diags);
                        if let Ok(spec) = serde_json::to_value(value) {
                            parsed.broken.push(Doc {
                                spec,
                                source: si,
                                doc: di,
                            });
                        }
                    }
                },
                Some("Symptom") => match SymptomSpec::deserialize(doc) {
                    Ok(spec) => parsed.symptoms.push(Doc {
                        spec,
                        source: si,
                        doc: di,
                    }),
                    Err(e) => shape_errors(&parsed, si, di, value, false, &e, diags),
                },
                // A rule test next to its rule is not a rule: `remedy rules test` reads it.
                Some("RuleTest") => {}
                other => {
                    let kind = other.unwrap_or("");
                    let mut d = Diagnostic::error(
                        Code::UnknownKind,
                        parsed.loc(si, di, "kind"),
                        format!("unknown kind `{kind}`"),
                    );
                    d = match did_you_mean(kind, ["Playbook", "Symptom"]) {
                        Some(s) if !kind.is_empty() => d.with_help(format!("did you mean `{s}`?")),
                        _ => d.with_help("a rule file holds documents of kind `Playbook` or `Symptom`"),
                    };
                    diags.push(d);
                }
            }
        }
    }
    parsed
}

/// serde stops at a document's first problem: the schema check then finds all of them (every
/// unknown field, missing field, wrong type, bad enum value). serde's own error is the
/// fallback for what the schema cannot say (a number out of range).
fn shape_errors(
    parsed: &Parsed,
    si: usize,
    di: usize,
    value: &serde_yaml::Value,
    playbook: bool,
    e: &serde_yaml::Error,
    diags: &mut Diagnostics,
) {
    let problems = validate::problems(value, playbook);
    if problems.is_empty() {
        diags.push(yaml_error(parsed, si, di, e, Code::InvalidValue));
        return;
    }
    let quoted = |v: &[String]| v.iter().map(|x| format!("`{x}`")).collect::<Vec<_>>().join(", ");
    for p in problems {
        let d = match p {
            Problem::UnknownField { path, field, allowed } => {
                let d = Diagnostic::error(
                    Code::UnknownField,
                    parsed.loc(si, di, &path),
                    format!("unknown field `{field}`, expected one of {}", quoted(&allowed)),
                );
                match did_you_mean(&field, allowed.iter().map(String::as_str)) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("allowed here: {}", allowed.join(", "))),
                }
            }
            Problem::MissingField { path, field } => Diagnostic::error(
                Code::InvalidValue,
                parsed.loc(si, di, &path),
                format!("missing field `{field}`"),
            )
            .with_help("add the field; `docs/playbooks.md` lists what each part needs"),
            Problem::InvalidType { path, found, expected } => Diagnostic::error(
                Code::InvalidValue,
                parsed.loc(si, di, &path),
                format!("invalid type: {found}, expected {expected}"),
            )
            .with_help("the value has the wrong type; see schemas/playbook.schema.json"),
            Problem::UnknownVariant { path, found, allowed } => {
                let code = if path.ends_with("category") {
                    Code::UnknownCategory
                } else {
                    Code::InvalidValue
                };
                let d = Diagnostic::error(
                    code,
                    parsed.loc(si, di, &path),
                    format!("unknown variant `{found}`, expected one of {}", quoted(&allowed)),
                );
                match did_you_mean(&found, allowed.iter().map(String::as_str)) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(format!("one of: {}", allowed.join(", "))),
                }
            }
        };
        diags.push(d);
    }
}

/// A serde_yaml error's message without the position of the error itself (diagnostics show
/// it as their location); other positions it names (where a flow mapping started) are kept.
pub fn yaml_message(e: &serde_yaml::Error) -> String {
    let full = e.to_string();
    let Some(l) = e.location() else { return full };
    let here = format!(" at line {} column {}", l.line(), l.column());
    // libyaml's message names the position and serde_yaml appends it again.
    full.replace(&here, "")
}

/// Turn a serde_yaml error into a diagnostic with a code, a position and a helpful line.
fn yaml_error(parsed: &Parsed, si: usize, di: usize, e: &serde_yaml::Error, default: Code) -> Diagnostic {
    let msg = yaml_message(e);
    let mut loc = Location {
        file: parsed.sources[si].name.clone(),
        ..Location::default()
    };
    if let Some(l) = e.location() {
        loc.line = Some(l.line());
        loc.column = Some(l.column());
    } else {
        loc = parsed.loc(si, di, "");
    }
    let (path, rest) = match msg.split_once(": ") {
        Some((p, r)) if !p.contains(' ') => (Some(p.to_string()), r.to_string()),
        _ => (None, msg.clone()),
    };
    loc.path = path.clone();
    if let Some(field) = between(&rest, "unknown field `", "`") {
        let expected: Vec<&str> = rest.split('`').skip(3).step_by(2).collect();
        let mut d = Diagnostic::error(Code::UnknownField, loc, rest.clone());
        if let Some(s) = did_you_mean(field, expected.iter().copied()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else {
            d = d.with_help(format!("allowed here: {}", expected.join(", ")));
        }
        return d;
    }
    if let Some(variant) = between(&rest, "unknown variant `", "`") {
        let expected: Vec<&str> = rest.split('`').skip(3).step_by(2).collect();
        let code = if path.as_deref().is_some_and(|p| p.ends_with("category")) {
            Code::UnknownCategory
        } else {
            Code::InvalidValue
        };
        let help = match did_you_mean(variant, expected.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("one of: {}", expected.join(", ")),
        };
        return Diagnostic::error(code, loc, rest.clone()).with_help(help);
    }
    let help = if rest.starts_with("missing field") {
        "add the field; `docs/playbooks.md` lists what each part needs".to_string()
    } else if rest.starts_with("invalid type") {
        "the value has the wrong type; see schemas/playbook.schema.json".to_string()
    } else if default == Code::InvalidYaml {
        "fix the YAML syntax (indentation, quotes, a `:` inside an unquoted string)".to_string()
    } else {
        "see docs/playbooks.md".to_string()
    };
    Diagnostic::error(default, loc, rest).with_help(help)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

/// Rule ids by file, for `remedy rules list`.
pub fn rule_files(rules: &RuleSet) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &rules.rules {
        out.entry(r.origin.file.clone()).or_default().push(r.id.clone());
    }
    out
}
