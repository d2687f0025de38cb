//! Prior states of the objects apply changes, saved before each change for `remedy undo`.
//! Backups of Secrets hold secret data, so they live only here: the directory is 0700, each
//! file 0600, and nothing else (report, log, plan) ever holds a value.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::cluster::Object;
use crate::desired::Target;

/// The default base directory: `$XDG_STATE_HOME/remedy/backups`, else
/// `~/.local/state/remedy/backups`; `None` when neither variable is set.
pub fn default_base() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("remedy").join("backups"))
}

#[derive(Debug)]
pub struct Backups {
    dir: PathBuf,
}

fn private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)?;
    // An existing directory keeps its mode with `create`: tighten it.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

impl Backups {
    /// A fresh directory for one run under `base` (`<base>/<time>-<pid>`), mode 0700.
    pub fn create(base: &Path, time: &str) -> std::io::Result<Self> {
        private_dir(base)?;
        let dir = base.join(format!("{}-{}", time.replace(':', ""), std::process::id()));
        private_dir(&dir)?;
        Ok(Backups { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Save `prior` (the object before a change) as `<Kind>.<group>_<ns>_<name>.json`, mode
    /// 0600. Returns the file, or `None` when there was nothing (the change creates it).
    pub fn save(&self, target: &Target, prior: Option<&Object>) -> std::io::Result<Option<PathBuf>> {
        let Some(obj) = prior else {
            return Ok(None);
        };
        let key = target.key();
        let clean = |s: &str| {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        };
        let name = format!(
            "{}.{}_{}_{}.json",
            clean(&key.kind.kind),
            clean(if key.kind.group.is_empty() {
                "core"
            } else {
                &key.kind.group
            }),
            clean(key.namespace.as_deref().unwrap_or("-")),
            clean(&key.name)
        );
        let path = self.dir.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(obj.raw().as_bytes())?;
        f.sync_all()?;
        Ok(Some(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn backups_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        let b = Backups::create(&tmp.path().join("b"), "2026-01-01T00:00:00Z").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(b.dir()), 0o700);
        assert_eq!(mode(&tmp.path().join("b")), 0o700);
        let obj = Object::from_value(
            json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s/x","namespace":"a"},"data":{"k":"dg=="}}),
        )
        .unwrap();
        let t = Target {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: Some("a".into()),
            name: "s/x".into(),
        };
        let path = b.save(&t, Some(&obj)).unwrap().unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(path.file_name().unwrap().to_str().unwrap() == "Secret.core_a_s_x.json");
        let back: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back["data"]["k"], "dg==");
        assert_eq!(b.save(&t, None).unwrap(), None);
    }
}
