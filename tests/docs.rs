//! `docs/bundled-rules.md` shows the real rule files, not copies that drift: it is generated
//! from `rules/`, and this test fails when it is out of date.
//! Regenerate with: REMEDY_UPDATE_DOCS=1 cargo test --test docs

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

fn rule_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rule_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

#[derive(Deserialize)]
struct Doc {
    kind: String,
    metadata: Meta,
}

#[derive(Deserialize)]
struct Meta {
    name: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

fn generate(root: &Path) -> String {
    let mut files = Vec::new();
    rule_files(&root.join("rules"), &mut files);
    let mut index = String::new();
    let mut bodies = String::new();
    for f in &files {
        let rel = f.strip_prefix(root).unwrap().display().to_string();
        let text = std::fs::read_to_string(f).unwrap();
        for de in serde_yaml::Deserializer::from_str(&text) {
            let Ok(doc) = Doc::deserialize(de) else { continue };
            let _ = writeln!(
                index,
                "| `{}` | {} | {} | {} | [{rel}](#{}) |",
                doc.metadata.name,
                doc.kind,
                doc.metadata.category.as_deref().unwrap_or(""),
                doc.metadata.title.as_deref().unwrap_or("").replace('|', "\\|"),
                anchor(&rel),
            );
        }
        let _ = write!(bodies, "\n## {rel}\n\n```yaml\n{}", text);
        if !text.ends_with('\n') {
            bodies.push('\n');
        }
        bodies.push_str("```\n");
    }
    format!(
        "# Bundled rules\n\n\
         <!-- Generated from rules/ by tests/docs.rs: do not edit. \
         Regenerate with `REMEDY_UPDATE_DOCS=1 cargo test --test docs`. -->\n\n\
         These are the rule files embedded in the `remedy` binary, in full. \
         `docs/playbooks.md` explains the format.\n\n\
         | id | kind | category | title | file |\n|---|---|---|---|---|\n{index}{bodies}"
    )
}

/// GitHub's heading anchor: lower case, spaces to dashes, punctuation other than `-`/`_` dropped.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn bundled_rules_doc_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = generate(root);
    let path = root.join("docs/bundled-rules.md");
    if std::env::var_os("REMEDY_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/bundled-rules.md is out of date with rules/: run `REMEDY_UPDATE_DOCS=1 cargo test --test docs`"
    );
}

#[test]
fn bundled_rules_doc_lists_every_rule_file_in_full() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = generate(root);
    let mut files = Vec::new();
    rule_files(&root.join("rules"), &mut files);
    assert!(files.len() >= 5, "rules/ holds the bundled rules");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(doc.contains(&text), "{} is shown verbatim", f.display());
    }
    assert!(doc.contains("| `pull-secret-not-propagated` | Playbook | auth |"));
}

/// The README's tour is the real output of its main command, not a copy that drifts.
#[test]
fn readme_tour_is_the_real_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = "$ remedy plan --snapshot examples/seed-004-marketplace\n";
    let i = readme.find(start).expect("the README shows the main command's output") + start.len();
    let shown = &readme[i..i + readme[i..].find("```").expect("the block ends")];
    let out = assert_cmd::Command::cargo_bin("remedy")
        .unwrap()
        .current_dir(root)
        .args(["plan", "--snapshot", "examples/seed-004-marketplace"])
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "pending actions");
    assert_eq!(
        shown,
        String::from_utf8_lossy(&out.stdout),
        "README.md's tour differs from the output: paste the new output in"
    );
}
