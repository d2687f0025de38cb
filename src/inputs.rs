//! Values only the user has (`--set key=value`, `--set-file key=path`). They may be
//! credentials, so they never print: `Debug` shows only where each came from.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Default)]
pub struct Inputs {
    values: BTreeMap<String, InputValue>,
    /// `plan --probe-registries`: the `registry` probe may contact registries.
    pub probe_registries: bool,
}

#[derive(Clone)]
pub struct InputValue {
    /// Given with `--set` (a plain value templates may read as `params.NAME`), not a file.
    pub plain: bool,
    pub text: String,
    /// `--set` or the file path, for messages.
    pub origin: String,
}

impl fmt::Debug for Inputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.values
                    .iter()
                    .map(|(k, v)| (k, format!("<hidden, from {}>", v.origin))),
            )
            .finish()
    }
}

impl Inputs {
    pub fn insert(&mut self, name: impl Into<String>, text: impl Into<String>, origin: impl Into<String>) {
        self.values.insert(
            name.into(),
            InputValue {
                plain: false,
                text: text.into(),
                origin: origin.into(),
            },
        );
    }

    /// A plain value from `--set`: visible to templates as `params.NAME`.
    pub fn insert_plain(&mut self, name: impl Into<String>, text: impl Into<String>) {
        let name = name.into();
        self.insert(name.clone(), text, "--set");
        if let Some(v) = self.values.get_mut(&name) {
            v.plain = true;
        }
    }

    /// What templates see as `params`: only `--set` values, never file contents.
    pub fn params(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.values
                .iter()
                .filter(|(_, v)| v.plain)
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.text.clone())))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&InputValue> {
        self.values.get(name)
    }

    /// What templates see: which inputs were given, never their values.
    pub fn presence(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.values
                .keys()
                .map(|k| (k.clone(), serde_json::Value::Bool(true)))
                .collect(),
        )
    }
}

/// Why an input flag was refused.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{flag} `{arg}`: expected {flag} NAME={what}")]
    Shape { flag: String, arg: String, what: String },
    #[error("{flag} {arg}: the input name is empty")]
    EmptyName { flag: String, arg: String },
    #[error("{flag} {name}=: the value is empty")]
    EmptyValue { flag: String, name: String },
    #[error("{flag} {name}: no rule asks for an input `{name}`{hint}")]
    Unknown { flag: String, name: String, hint: String },
    #[error("{given} {name}: `{name}` is {what}; give it with {want} {name}={placeholder}")]
    WrongFlag {
        given: String,
        name: String,
        what: String,
        want: String,
        placeholder: String,
    },
}

/// The inputs the loaded rules ask for: plain values (`--set`) and files (`--set-file`).
#[derive(Debug, Clone, Default)]
pub struct KnownInputs {
    pub plain: std::collections::BTreeSet<String>,
    pub files: std::collections::BTreeSet<String>,
}

impl KnownInputs {
    pub fn of(rules: &crate::rules::RuleSet) -> Self {
        use crate::rules::ActionKind;
        let mut k = KnownInputs::default();
        for a in rules.rules.iter().flat_map(|r| &r.actions) {
            k.plain.extend(a.requires.iter().cloned());
            match &a.kind {
                ActionKind::MergeDockerAuths { input, .. } | ActionKind::SetConfigMapKey { input, .. } => {
                    k.files.insert(input.clone());
                }
                _ => {}
            }
        }
        k
    }

    /// The closest known name, for "did you mean".
    fn suggestion(&self, name: &str) -> String {
        self.plain
            .iter()
            .chain(&self.files)
            .map(|k| (strsim::jaro_winkler(name, k), k))
            .filter(|(score, _)| *score > 0.7)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| format!(" (did you mean `{k}`?)"))
            .unwrap_or_else(|| {
                let all: Vec<&str> = self.plain.iter().chain(&self.files).map(String::as_str).collect();
                if all.is_empty() {
                    "; the loaded rules ask for none".to_string()
                } else {
                    format!("; known inputs: {}", all.join(", "))
                }
            })
    }

    /// Split and check one `--set NAME=VALUE` (`file: false`) or `--set-file NAME=PATH`.
    pub fn parse<'a>(&self, arg: &'a str, file: bool) -> Result<(&'a str, &'a str), InputError> {
        let (flag, what) = if file {
            ("--set-file", "PATH")
        } else {
            ("--set", "VALUE")
        };
        let (name, value) = arg.split_once('=').ok_or_else(|| InputError::Shape {
            flag: flag.into(),
            arg: arg.into(),
            what: what.into(),
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(InputError::EmptyName {
                flag: flag.into(),
                arg: arg.into(),
            });
        }
        if value.trim().is_empty() {
            return Err(InputError::EmptyValue {
                flag: flag.into(),
                name: name.into(),
            });
        }
        let (mine, other) = if file {
            (&self.files, &self.plain)
        } else {
            (&self.plain, &self.files)
        };
        if !mine.contains(name) {
            if other.contains(name) {
                return Err(InputError::WrongFlag {
                    given: flag.into(),
                    name: name.into(),
                    what: if file { "a plain value" } else { "read from a file" }.into(),
                    want: if file { "--set" } else { "--set-file" }.into(),
                    placeholder: if file { "VALUE" } else { "PATH" }.into(),
                });
            }
            return Err(InputError::Unknown {
                flag: flag.into(),
                name: name.into(),
                hint: self.suggestion(name),
            });
        }
        Ok((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> KnownInputs {
        KnownInputs {
            plain: ["samples_registry".to_string()].into(),
            files: ["registry_auth".to_string(), "ca_file".to_string()].into(),
        }
    }

    #[test]
    fn input_flags_are_checked() {
        let k = known();
        assert_eq!(
            k.parse("samples_registry=m:5000", false).unwrap(),
            ("samples_registry", "m:5000")
        );
        assert_eq!(k.parse("ca_file=/x=y.pem", true).unwrap(), ("ca_file", "/x=y.pem"));
        let err = |arg: &str, file: bool| k.parse(arg, file).unwrap_err().to_string();
        assert!(err("registy_auth=a.json", true).contains("did you mean `registry_auth`?"));
        assert!(err("bogus=1", false).contains("no rule asks for an input `bogus`"));
        assert!(err("samples_registry=", false).contains("the value is empty"));
        assert!(err("samples_registry=  ", false).contains("the value is empty"));
        assert!(err("=v", false).contains("the input name is empty"));
        assert!(err("novalue", false).contains("expected --set NAME=VALUE"));
        assert!(err("registry_auth=x", false).contains("give it with --set-file registry_auth=PATH"));
        assert!(err("samples_registry=f", true).contains("give it with --set samples_registry=VALUE"));
    }
}
