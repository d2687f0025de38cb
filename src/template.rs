//! Templates and conditions (minijinja). Rules are data: templates can read the context
//! and call the pure helpers registered here, and nothing else (no I/O, no shell).

use std::collections::HashSet;

use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};

use crate::refs::{cakey, image::ImageRef};

/// All templates of all loaded rules, compiled once.
pub struct Templates {
    env: Environment<'static>,
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

impl Templates {
    pub fn new() -> Self {
        let mut env = Environment::new();
        // Typos are caught at load time; at run time a missing attribute (a probe that found
        // nothing) renders as empty instead of aborting the whole rule.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
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
        Templates { env }
    }

    /// Compile a template; returns the top-level-and-nested variable names it reads.
    pub fn add(&mut self, name: &str, source: &str) -> Result<HashSet<String>, Error> {
        self.env.add_template_owned(name.to_string(), source.to_string())?;
        Ok(self.env.get_template(name)?.undeclared_variables(true))
    }

    /// Compile a condition: a minijinja expression that must be truthy.
    pub fn add_condition(&mut self, name: &str, expr: &str) -> Result<HashSet<String>, Error> {
        // Parse it as an expression first so a statement or a stray `}}` is rejected.
        self.env.compile_expression(expr)?;
        self.add(name, &format!("{{% if ({expr}) %}}true{{% endif %}}"))
    }

    pub fn render(&self, name: &str, ctx: &Value) -> Result<String, Error> {
        self.env.get_template(name)?.render(ctx)
    }

    pub fn check(&self, name: &str, ctx: &Value) -> Result<bool, Error> {
        Ok(self.render(name, ctx)? == "true")
    }

    /// Render a standalone string (used for `rules match` captures and tests).
    pub fn render_str(&self, source: &str, ctx: &Value) -> Result<String, Error> {
        self.env.render_str(source, ctx)
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
mod tests {
    use super::*;

    #[test]
    fn conditions_and_undeclared_variables() {
        let mut t = Templates::new();
        let vars = t
            .add_condition("c", "not podSecrets.covers and source is not none")
            .unwrap();
        assert!(vars.contains("podSecrets.covers"), "{vars:?}");
        assert!(vars.contains("source"), "{vars:?}");
        let ctx = minijinja::context! { podSecrets => minijinja::context!{ covers => false }, source => "x" };
        assert!(t.check("c", &ctx).unwrap());
        let ctx = minijinja::context! { podSecrets => minijinja::context!{ covers => true }, source => "x" };
        assert!(!t.check("c", &ctx).unwrap());
    }

    #[test]
    fn bad_condition_is_an_error() {
        let mut t = Templates::new();
        assert!(t.add_condition("c", "a ==").is_err());
        assert!(t.add_condition("d", "a }} b").is_err());
    }

    #[test]
    fn filters() {
        let t = Templates::new();
        let ctx = minijinja::context! { r => "reg.example.com:5000" };
        assert_eq!(t.render_str("{{ r | ca_key }}", &ctx).unwrap(), "reg.example.com..5000");
        assert_eq!(
            t.render_str("{{ r | host }}/{{ r | port }}", &ctx).unwrap(),
            "reg.example.com/5000"
        );
        assert_eq!(split_host_port("[::1]:5000"), ("::1", Some("5000")));
        assert_eq!(split_host_port("quay.io"), ("quay.io", None));
    }

    #[test]
    fn version_tests() {
        let mut t = Templates::new();
        t.add_condition("lt", "cluster.version is version_lt('4.7')").unwrap();
        t.add_condition("ge", "cluster.version is version_ge('4.7')").unwrap();
        let check = |name: &str, v: Option<&str>| {
            let ctx = minijinja::context! { cluster => minijinja::context! { version => v } };
            t.check(name, &ctx).unwrap()
        };
        assert!(check("lt", Some("4.6.48")));
        assert!(!check("ge", Some("4.6.48")));
        // Numeric, not lexicographic: 4.14 and 4.20 are later than 4.7.
        assert!(!check("lt", Some("4.14.0-0.okd-2023-12-01-225814")));
        assert!(check("ge", Some("4.14.0-0.okd-2023-12-01-225814")));
        assert!(!check("lt", Some("4.20.3")));
        assert!(check("ge", Some("4.20.3")));
        assert!(!check("lt", Some("4.7.0")));
        assert!(check("ge", Some("4.7.0-rc.1")));
        // Missing or unreadable: neither test holds; rules decide what unknown means.
        assert!(!check("lt", None));
        assert!(!check("ge", None));
        assert!(!check("lt", Some("latest")));
        assert_eq!(version_numbers("v1.31.2+k3s1"), Some(vec![1, 31, 2]));
        assert_eq!(version_numbers("4.14.0-0.okd-2023-12-01-225814"), Some(vec![4, 14, 0]));
        assert_eq!(version_numbers(""), None);
        assert_eq!(version_numbers("4..1"), None);
    }

    #[test]
    fn public_registry_test() {
        let t = Templates::new();
        let ctx = minijinja::context! { a => "docker.io", b => "registry.redhat.io", c => "mirror:5000" };
        assert_eq!(
            t.render_str(
                "{{ a is public_registry }} {{ b is public_registry }} {{ c is public_registry }}",
                &ctx
            )
            .unwrap(),
            "True False False"
        );
    }
}
