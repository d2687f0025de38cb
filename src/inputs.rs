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
