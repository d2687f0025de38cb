//! The command line that reproduces a run, for the plan's `next` hint: every flag that changes
//! the plan, shell-quoted, with values that may be secrets shown as placeholders.

/// Words of `remedy plan ...`, built flag by flag in the order the user gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rerun {
    words: Vec<String>,
    /// Placeholders used, with what each stands for (`VALUE` → "the value you gave").
    placeholders: Vec<String>,
}

/// Input names whose values look like credentials: shown as a placeholder, never verbatim.
const SECRET_WORDS: &[&str] = &["pass", "secret", "token", "auth", "cred", "key", "cert"];

/// Whether a `--set` value must not be printed: its name suggests a credential, or it carries
/// URL userinfo (`user:password@host`) or a credential-bearing query parameter.
pub fn looks_secret(name: &str, value: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if SECRET_WORDS.iter().any(|w| name.contains(w)) {
        return true;
    }
    let v = value.to_ascii_lowercase();
    let userinfo = v
        .split_once("://")
        .is_some_and(|(_, rest)| rest.split(['/', '?', '#']).next().is_some_and(|h| h.contains('@')));
    userinfo
        || ["token=", "password=", "secret=", "sig=", "signature="]
            .iter()
            .any(|p| v.contains(p))
}

/// A word as a POSIX shell reads it back: bare when it holds only safe characters, otherwise
/// in single quotes (a quote inside is written `'\''`).
pub fn quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl Rerun {
    pub fn new() -> Self {
        Rerun {
            words: vec!["remedy".into(), "plan".into()],
            placeholders: Vec::new(),
        }
    }

    /// `--flag value`, the value shown as given.
    pub fn flag(mut self, flag: &str, value: &str) -> Self {
        self.words.push(flag.to_string());
        self.words.push(quote(value));
        self
    }

    /// A flag without a value (`--no-bundled`).
    pub fn switch(mut self, flag: &str) -> Self {
        self.words.push(flag.to_string());
        self
    }

    /// `--set NAME=VALUE`: the value as given, or `NAME=VALUE` when it may be a secret.
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.words.push("--set".into());
        if looks_secret(name, value) {
            self.words.push(format!("{}=VALUE", quote(name)));
            if !self.placeholders.iter().any(|p| p == "VALUE") {
                self.placeholders.push("VALUE".into());
            }
        } else {
            self.words.push(quote(&format!("{name}={value}")));
        }
        self
    }

    /// `--set-file NAME=PATH`: the path as given (a path, never the file's content).
    pub fn set_file(self, name: &str, path: &str) -> Self {
        self.flag("--set-file", &format!("{name}={path}"))
    }

    /// The command, ready to paste (placeholders aside).
    pub fn command(&self) -> String {
        self.words.join(" ")
    }

    /// Placeholders the command holds instead of values (`VALUE`).
    pub fn placeholders(&self) -> &[String] {
        &self.placeholders
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(quote("examples/seed-000"), "examples/seed-000");
        assert_eq!(quote("my dir/x"), "'my dir/x'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }

    #[test]
    fn every_flag_is_kept_in_order_and_secrets_are_placeholders() {
        let r = Rerun::new()
            .flag("--snapshot", "snap dir")
            .flag("--rules", "r.yaml")
            .switch("--no-bundled")
            .set("mirror", "mirror:5000")
            .set("proxy", "http://u:PLANTED@proxy:3128")
            .set("api_token", "PLANTED2")
            .set_file("registry_auth", "./auth.json");
        assert_eq!(
            r.command(),
            "remedy plan --snapshot 'snap dir' --rules r.yaml --no-bundled --set mirror=mirror:5000 \
             --set proxy=VALUE --set api_token=VALUE --set-file registry_auth=./auth.json"
        );
        assert!(!r.command().contains("PLANTED"));
        assert_eq!(r.placeholders(), ["VALUE"]);
    }
}
