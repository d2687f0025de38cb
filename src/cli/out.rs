//! `--out FILE`: the plan reaches the file whole or not at all, and never through a link
//! someone planted in a shared directory.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, bail};

/// A character device reached through a symlink is written only when it is one a user means
/// (`/dev/stdout` → a terminal, `/dev/null`); anything else behind a link could be `/dev/mem`.
fn harmless_device(path: &Path) -> bool {
    let named = path.starts_with("/dev") || path.starts_with("/proc/self/fd");
    let real = std::fs::canonicalize(path).unwrap_or_default();
    named || real == Path::new("/dev/null") || real.starts_with("/dev/pts") || real.starts_with("/dev/tty")
}

/// Write `text` to `path`, as `write_plan_with`.
pub fn write_plan_file(path: &Path, text: &str) -> anyhow::Result<()> {
    write_plan_with(path, |w| Ok(w.write_all(text.as_bytes())?))
}

/// Write to `path` what `write` writes.
///
/// A FIFO or a terminal-like device gets the plan in place (renaming over it would replace it
/// with a file). Anything else gets a new file: created exclusively under a random name in the
/// same directory (so never through a planted link), readable only by its owner (0600), and
/// renamed over `path`. A symlink at `path` is replaced by that file; its target is never
/// written.
pub fn write_plan_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if let Ok(meta) = std::fs::metadata(path) {
        let ft = meta.file_type();
        if ft.is_dir() {
            bail!("--out {}: is a directory", path.display());
        }
        if ft.is_fifo() || (ft.is_char_device() && (!is_link || harmless_device(path))) {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            return write(&mut f).with_context(|| format!("writing {}", path.display()));
        }
        if !ft.is_file() && !is_link {
            bail!("--out {}: not a regular file, FIFO or terminal", path.display());
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".remedy-plan-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    write(tmp.as_file_mut())
        .and_then(|()| Ok(tmp.as_file().sync_all()?))
        .with_context(|| format!("writing {}", tmp.path().display()))?;
    // On error the temporary file is removed when `tmp` drops.
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}
