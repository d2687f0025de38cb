//! Recorded plans (`recordPlan: true`): the whole plan of a case as YAML under `__snapshots__/`
//! next to the test file, compared on every run and rewritten only with `--accept`.

use std::path::PathBuf;

use super::TestFile;
use crate::plan::Plan;
use crate::report::{self, Format};

pub enum Outcome {
    Same,
    Written,
    Missing(String),
    Changed { path: String, diff: String },
}

/// A file-name-safe form of a case name.
fn slug(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    s.trim_matches('-').chars().take(80).collect()
}

pub fn path_for(tf: &TestFile, case: &str) -> PathBuf {
    let stem = tf
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().trim_end_matches(".test").to_string())
        .unwrap_or_default();
    tf.dir()
        .join("__snapshots__")
        .join(stem)
        .join(format!("{}.yaml", slug(case)))
}

pub fn check(tf: &TestFile, case: &str, plan: &Plan, accept: bool) -> Result<Outcome, String> {
    let text = report::plan_text(plan, Format::Yaml, &report::View::default()).map_err(|e| e.to_string())?;
    let path = path_for(tf, case);
    let shown = path.display().to_string();
    let old = std::fs::read_to_string(&path).ok();
    if old.as_deref() == Some(text.as_str()) {
        return Ok(Outcome::Same);
    }
    if accept {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, &text).map_err(|e| format!("writing {shown}: {e}"))?;
        return Ok(Outcome::Written);
    }
    Ok(match old {
        None => Outcome::Missing(shown),
        Some(old) => {
            let diff = similar::TextDiff::from_lines(&old, &text)
                .unified_diff()
                .context_radius(3)
                .header("recorded", "now")
                .to_string();
            Outcome::Changed { path: shown, diff }
        }
    })
}
