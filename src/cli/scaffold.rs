//! `remedy rules new ID`: a commented playbook and its rule test, which lint clean and pass as
//! written, for the author to change one step at a time.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use crate::model::Category;
use crate::plan::exit;

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The rule id (kebab-case, e.g. `artifactory-xray-blocked`).
    id: String,
    /// Directory to write `ID.yaml` and `ID.test.yaml` into.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// The failure's category (`remedy rules schema playbook` lists the vocabulary).
    #[arg(long, default_value = "other")]
    category: String,
    /// A real failure message the rule is for; the scaffold matches a phrase of it.
    #[arg(long)]
    message: Option<String>,
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A YAML single-quoted scalar.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub fn playbook(id: &str, category: &str, message: &str) -> String {
    let m = quote(message);
    format!(
        r#"# yaml-language-server: $schema=playbook.schema.json
# A playbook: what a failure looks like (match), what to read from the cluster (probes), when the
# rule is the cause (when), and what would fix it (actions). `remedy rules schema playbook` prints
# the format; docs/rule-authoring.md walks through it.
apiVersion: remedy.dev/v1alpha1
kind: Playbook
metadata:
  name: {id}
  # One line, shown as the finding's headline.
  title: "{id}: replace with what is wrong, in a few words"
  # The failure-category vocabulary (auth, tls-unknown-ca, policy-rejected, ...).
  category: {category}
  severity: medium
spec:
  # Matchers test what the cluster reports. `contains` is a case-insensitive substring; `regex`
  # is Rust regex syntax; combine with anyOf/allOf/not, or reuse a bundled symptom (`symptom:`).
  match:
    message: {{ contains: {m} }}
  # Probes read cluster state: pullSecrets, firstCovering, imageConfig, trustedCa, owner,
  # object, jsonPath. Each result is a variable for `when`, `explain` and actions.
  probes: []
  # Conditions (all must hold) on failure, cluster, captures, inputs and probe results.
  when: []
  # Why, in prose, with the failure's own values.
  explain: "{{{{ failure.registry }}}} refused {{{{ failure.image }}}}: replace with the cause and its evidence."
  # What would fix it: copySecret, linkPullSecret, mergeDockerAuths, ensureListItem,
  # setConfigMapKey, patch, ensureObject, restartPod, or manual steps.
  actions:
    - manual:
        title: "replace with the fix for {{{{ failure.namespace }}}}/{{{{ failure.pod }}}}"
        steps:
          - "replace with the first step"
  # Messages the rule must (match) and must not (noMatch) match; `remedy rules test` runs them.
  examples:
    match:
      - {m}
    noMatch:
      - 'x509: certificate signed by unknown authority'
"#
    )
}

pub fn rule_test(id: &str, category: &str, message: &str) -> String {
    let m = quote(message);
    format!(
        r#"# yaml-language-server: $schema=test.schema.json
# Rule tests: each case builds a cluster state (a snapshot path, inline `objects`, or one event
# `message`), plans on it, and checks the plan. Run: remedy rules test {id}.yaml {id}.test.yaml
apiVersion: remedy.dev/v1alpha1
kind: RuleTest
metadata:
  name: {id}
spec:
  rule: {id}
  cases:
    - name: fires on its failure message
      message: {m}
      expect:
        findings:
          - rule: {id}
            category: {category}
            subjects: [default/test-pod]
        actions:
          - type: manual
            status: manual
    - name: leaves other failures alone
      message: 'x509: certificate signed by unknown authority'
      valid: true
"#
    )
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {} (an existing file is never overwritten)", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

pub fn run(args: &NewArgs) -> anyhow::Result<u8> {
    if !is_kebab(&args.id) {
        bail!(
            "rule id `{}` is not kebab-case: use lowercase letters, digits and `-`",
            args.id
        );
    }
    let category: Category =
        serde_json::from_value(serde_json::Value::String(args.category.clone())).map_err(|_| {
            anyhow::anyhow!(
                "unknown category `{}`: `remedy rules schema playbook` lists them",
                args.category
            )
        })?;
    let message = args
        .message
        .clone()
        .unwrap_or_else(|| format!("{} example failure: replace with the real message", args.id));
    let rule = args.dir.join(format!("{}.yaml", args.id));
    let test = args.dir.join(format!("{}.test.yaml", args.id));
    for p in [&rule, &test] {
        if p.exists() {
            bail!("{} exists; remedy rules new never overwrites a file", p.display());
        }
    }
    write_new(&rule, &playbook(&args.id, category.as_str(), &message))?;
    write_new(&test, &rule_test(&args.id, category.as_str(), &message))?;
    let mut out = std::io::stdout().lock();
    // The schemas the modelines name, for editors; kept if already there (another scaffold).
    for (name, text) in [
        ("playbook.schema.json", crate::schema::playbook_schema()),
        ("test.schema.json", crate::ruletest::spec::schema()),
    ] {
        let p = args.dir.join(name);
        if !p.exists() {
            write_new(&p, &text)?;
            writeln!(
                out,
                "wrote {} (for editors: the files' yaml-language-server modeline names it)",
                p.display()
            )?;
        }
    }
    writeln!(out, "wrote {} and {}", rule.display(), test.display())?;
    writeln!(
        out,
        "next  remedy rules lint {0}\n      remedy rules test {0} {1}",
        rule.display(),
        test.display()
    )?;
    Ok(exit::CLEAN)
}
