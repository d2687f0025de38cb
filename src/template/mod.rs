//! Templates and conditions (minijinja). Rules are data: templates can read the context
//! and call the pure helpers registered here, and nothing else (no I/O, no shell).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use minijinja::machinery;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};

use crate::refs::{cakey, image::ImageRef};

mod bound;
mod capped;
mod names;

pub use bound::{MAX_WEIGHT, Unbounded};
pub use names::{BUILTIN_FILTERS, BUILTIN_TESTS, OWN_FILTERS, UnknownName};

/// What compiling a template found out.
#[derive(Debug, Default)]
pub struct Compiled {
    /// Variables it reads, top-level and dotted (`failure.namespace`).
    pub vars: HashSet<String>,
    /// Filters and tests nothing defines (minijinja only finds out when it renders them).
    pub unknown: Vec<UnknownName>,
    /// Constructs that could build a value of unbounded size (`bound.rs`): the template is
    /// refused.
    pub unbounded: Vec<Unbounded>,
}

/// All templates of all loaded rules, compiled once.
pub struct Templates {
    env: Environment<'static>,
    /// Where each template was written (`file:line:col (path)`), for errors at render time:
    /// the internal template name means nothing to a rule author.
    labels: HashMap<String, String>,
    known: Mutex<HashMap<(&'static str, String), bool>>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// Steps (VM instructions) one rendering may take: templates describe a few fields, so this
/// is far above any real use, and a loop such as `range(100000)` nested twice stops here.
pub const FUEL: u64 = 1_000_000;
/// Bytes one rendering may write: far above any real field, far below what exhausts memory.
pub const MAX_OUTPUT: usize = 1 << 20;

/// A writer that refuses to grow past `MAX_OUTPUT`.
struct Capped {
    buf: Vec<u8>,
    exceeded: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT {
            self.exceeded = true;
            return Err(std::io::Error::other("template output bound"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A condition is compiled as this template around its expression.
const CONDITION_PREFIX: &str = "{% if (";

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        // Typos are caught at load time (variables, captures, probe fields, filters); at run
        // time an undefined value is legitimately absent data (an object's missing field, a
        // capture of an alternative that did not match, a `params` value not given yet) and
        // renders as empty instead of aborting the whole rule.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        // Rules come from files anyone may hand over: rendering is bounded in steps and in
        // output (`docs/limits.md`).
        env.set_fuel(Some(FUEL));
        env.add_filter("replace", capped::replace);
        env.add_filter("join", capped::join);
        for f in bound::REFUSED_FILTERS {
            env.remove_filter(f);
        }
        env.remove_global("namespace");
        env.add_filter("ca_key", |registry: &str| cakey::ca_key(registry));
        env.add_filter("registry_host", |image: &str| {
            ImageRef::parse(image)
                .map(|r| r.registry_host().to_string())
                .unwrap_or_default()
        });
        env.add_filter("host", |registry: &str| split_host_port(registry).0.to_string());
        env.add_filter("port", |registry: &str| {
            split_host_port(registry).1.unwrap_or("").to_string()
        });
        // `cluster.version is version_lt("4.7")`: false when the version is missing or unreadable.
        env.add_test("version_lt", |v: &Value, than: &str| {
            compare_versions(v, than).is_some_and(|o| o.is_lt())
        });
        env.add_test("version_ge", |v: &Value, than: &str| {
            compare_versions(v, than).is_some_and(|o| o.is_ge())
        });
        env.add_test("public_registry", |v: &Value| {
            v.as_str().is_some_and(crate::refs::image::serves_anonymous_pulls)
        });
        Templates {
            env,
            labels: HashMap::new(),
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Names of minijinja's global functions (`range`, `dict`, `namespace`): defined in every
    /// template without being variables of the context.
    pub fn global_names(&self) -> Vec<String> {
        self.env.globals().map(|(name, _)| name.to_string()).collect()
    }

    /// Compile a template; `label` says where it was written, for render-time errors.
    pub fn add(&mut self, name: &str, source: &str, label: &str) -> Result<Compiled, Error> {
        self.env.add_template_owned(name.to_string(), source.to_string())?;
        self.labels.insert(name.to_string(), label.to_string());
        let tmpl = self.env.get_template(name)?;
        Ok(Compiled {
            vars: tmpl.undeclared_variables(true),
            unknown: self.unknown_names(&tmpl, source, 0),
            unbounded: unbounded(source, 0),
        })
    }

    /// Compile a condition: a minijinja expression that must be truthy. Positions in the
    /// result are in the expression as written.
    pub fn add_condition(&mut self, name: &str, expr: &str, label: &str) -> Result<Compiled, Error> {
        // Parse it as an expression first so a statement or a stray `}}` is rejected.
        self.env.compile_expression(expr)?;
        let source = format!("{CONDITION_PREFIX}{expr}) %}}true{{% endif %}}");
        self.env.add_template_owned(name.to_string(), source.clone())?;
        self.labels.insert(name.to_string(), label.to_string());
        let tmpl = self.env.get_template(name)?;
        Ok(Compiled {
            vars: tmpl.undeclared_variables(true),
            unknown: self.unknown_names(&tmpl, &source, CONDITION_PREFIX.len()),
            unbounded: unbounded(&source, CONDITION_PREFIX.len()),
        })
    }

    /// Render; an error names where the template was written, not its internal name.
    pub fn render(&self, name: &str, ctx: &Value) -> Result<String, Error> {
        capped::reset_budget();
        let mut out = Capped {
            buf: Vec::new(),
            exceeded: false,
        };
        let result = self
            .env
            .get_template(name)
            .and_then(|t| t.render_captured_to(ctx, &mut out).map(drop));
        match result {
            Ok(_) => Ok(String::from_utf8(out.buf).unwrap_or_default()),
            Err(_) if out.exceeded => Err(self.located_in(
                name,
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!(
                        "the template's output passed its bound of {} (a loop or repetition too large?)",
                        crate::limits::human_size(MAX_OUTPUT as u64)
                    ),
                ),
            )),
            Err(e) if e.kind() == ErrorKind::OutOfFuel => Err(self.located_in(
                name,
                Error::new(
                    ErrorKind::OutOfFuel,
                    format!("the template took more than {FUEL} steps (a loop too large?)"),
                ),
            )),
            Err(e) => Err(self.located(name, e, ctx)),
        }
    }

    /// What failed, from the error's span: the filter and the type of the value it was given,
    /// or the expression and the type of its value ("value is not a string" alone says neither).
    fn culprit(&self, name: &str, e: &Error, ctx: &Value) -> Option<String> {
        let t = self.env.get_template(name).ok()?;
        let source = t.source();
        let range = e.range()?;
        let snippet = source.get(range.clone())?.trim();
        let snippet = snippet.trim_start_matches("{{").trim_end_matches("}}").trim();
        if snippet.is_empty() || snippet.contains("{%") {
            return None;
        }
        let kind = |expr: &str| {
            let k = match self.env.compile_expression(expr).and_then(|x| x.eval(ctx)) {
                Ok(v) => v.kind().to_string(),
                Err(_) => "unreadable".to_string(),
            };
            let article = if k.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            format!("{article} {k} value")
        };
        // The span of a failing filter covers its name only: its input is what precedes the
        // `|`, back to the start of the tag (or an opening parenthesis).
        let before = source.get(..range.start)?.trim_end();
        if let Some(left) = before.strip_suffix('|') {
            let start = ["{{", "{%", "("]
                .iter()
                .filter_map(|m| left.rfind(m).map(|i| i + m.len()))
                .max()
                .unwrap_or(0);
            let input = left[start..].trim();
            let f = &snippet[..snippet
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(snippet.len())];
            return Some(format!("filter `{f}` given `{input}` ({})", kind(input)));
        }
        Some(match snippet.rsplit_once('|') {
            Some((left, filter)) => {
                let f = filter.trim();
                let f = &f[..f.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(f.len())];
                format!("filter `{f}` given `{}` ({})", left.trim(), kind(left.trim()))
            }
            None => format!("`{snippet}` ({})", kind(snippet)),
        })
    }

    fn located(&self, name: &str, e: Error, ctx: &Value) -> Error {
        let what = self.culprit(name, &e, ctx);
        self.labelled(name, e, what)
    }

    /// A bound that was passed names no expression: only where the template was written.
    fn located_in(&self, name: &str, e: Error) -> Error {
        self.labelled(name, e, None)
    }

    fn labelled(&self, name: &str, e: Error, what: Option<String>) -> Error {
        let Some(label) = self.labels.get(name) else { return e };
        let mut msg = e.detail().unwrap_or("failed").to_string();
        if let Some(what) = what {
            msg = format!("{what}: {msg}");
        }
        msg.push_str("; in ");
        msg.push_str(label);
        let multi_line = self.env.get_template(name).is_ok_and(|t| t.source().contains('\n'));
        if let Some(line) = e.line()
            && multi_line
        {
            msg.push_str(&format!(", line {line} of the template"));
        }
        // A new error: the original names the template by its internal name.
        Error::new(e.kind(), msg)
    }

    pub fn check(&self, name: &str, ctx: &Value) -> Result<bool, Error> {
        Ok(self.render(name, ctx)? == "true")
    }

    /// Render a standalone string (used for `rules match` captures and tests).
    pub fn render_str(&self, source: &str, ctx: &Value) -> Result<String, Error> {
        capped::reset_budget();
        self.env.render_str(source, ctx)
    }
}

/// What `bound::check` refuses in a template that compiled (so it parses).
fn unbounded(source: &str, skip: usize) -> Vec<Unbounded> {
    match machinery::parse(source, "<rule>", Default::default()) {
        Ok(ast) => bound::check(&ast, skip),
        Err(_) => Vec::new(),
    }
}

/// `host:port` → (`host`, Some(`port`)), IPv6-aware.
pub fn split_host_port(registry: &str) -> (&str, Option<&str>) {
    if let Some(rest) = registry.strip_prefix('[') {
        if let Some((host, port)) = rest.split_once("]:") {
            return (host, Some(port));
        }
        return (rest.trim_end_matches(']'), None);
    }
    match registry.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => (host, Some(port)),
        _ => (registry, None),
    }
}

/// `major.minor.patch...` of a version string: a leading `v` and everything from the first
/// `-` or `+` are ignored (OKD names its releases `4.14.0-0.okd-2023-12-01-225814`, and a
/// release candidate of 4.7 already behaves like 4.7).
pub fn version_numbers(v: &str) -> Option<Vec<u64>> {
    let v = v.trim();
    let v = v.strip_prefix('v').unwrap_or(v);
    let core = v.split(['-', '+']).next()?;
    if core.is_empty() {
        return None;
    }
    core.split('.').map(|p| p.parse::<u64>().ok()).collect()
}

/// Compares a template value (a version string) with `other`, numerically and component by
/// component (missing components are 0); `None` when either is not a version.
fn compare_versions(v: &Value, other: &str) -> Option<std::cmp::Ordering> {
    let a = version_numbers(v.as_str()?)?;
    let b = version_numbers(other)?;
    let n = a.len().max(b.len());
    let at = |x: &[u64], i: usize| x.get(i).copied().unwrap_or(0);
    Some(
        (0..n)
            .map(|i| at(&a, i).cmp(&at(&b, i)))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal),
    )
}

/// An error raised from a template, for callers that want one type.
pub fn error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

#[cfg(test)]
mod tests;
