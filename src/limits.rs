//! Bounded reads of everything remedy takes from outside: snapshot files, rule files,
//! `--set-file` values, standard input. Each read stops at a limit (`/dev/zero` is an
//! error, not an out-of-memory abort), and opening a FIFO never waits for a writer.
//! The limits are documented in `docs/limits.md`.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Default cap on one snapshot file (or archive entry, or standard input): `--max-file-size`.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 30;
/// Cap on one rule file: rule files are hand-written, never near this.
pub const MAX_RULE_FILE_SIZE: u64 = 16 << 20;
/// Cap on one `--set-file` value (a CA bundle, a docker `config.json`).
pub const MAX_SET_FILE_SIZE: u64 = 16 << 20;
/// An archive's entries together may hold this many times `--max-file-size` (a gzip bomb
/// stops here).
pub const ARCHIVE_FACTOR: u64 = 4;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// More than `limit` bytes; `knob` says how to raise it (or that it is fixed).
    #[error("larger than the {} limit ({knob})", human_size(*limit))]
    TooLarge { limit: u64, knob: &'static str },
}

/// `1073741824` → `1 GiB`.
pub fn human_size(n: u64) -> String {
    const UNITS: &[(&str, u64)] = &[("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if n >= *size && n.is_multiple_of(*size) {
            return format!("{} {unit}", n / size);
        }
    }
    format!("{n} bytes")
}

/// `512MiB`, `2G`, `1000000`, `64k`: binary units, case-insensitive, optional `B`/`iB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 512MiB, 2GiB)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("`{s}`: unknown unit (use KiB, MiB, GiB)")),
    };
    n.checked_mul(1 << shift).ok_or_else(|| format!("`{s}` is too large"))
}

/// Open for reading without ever blocking on a FIFO that has no writer: opened non-blocking
/// (a FIFO without writers then reads as empty), then switched back to blocking reads so a
/// pipe with a slow writer (`<(kubectl get ...)`) is read whole.
pub fn open(path: &Path) -> std::io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        // SAFETY: fcntl on a descriptor this function owns; no memory is passed.
        unsafe {
            let fd = file.as_raw_fd();
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        File::open(path)
    }
}

/// Read all of `r`, failing once it holds more than `limit` bytes.
pub fn read_capped(mut r: impl Read, limit: u64, knob: &'static str) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::new();
    (&mut r).take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit, knob });
    }
    Ok(buf)
}

/// Read a file (regular or not) up to `limit` bytes, presized for regular files.
pub fn read_file(path: &Path, limit: u64, knob: &'static str) -> Result<Vec<u8>, ReadError> {
    let file = open(path)?;
    if let Ok(meta) = file.metadata()
        && meta.is_file()
        && meta.len() > limit
    {
        return Err(ReadError::TooLarge { limit, knob });
    }
    let hint = file.metadata().map(|m| m.len()).unwrap_or(0).min(limit);
    let mut buf = Vec::with_capacity(hint as usize + 1);
    file.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit, knob });
    }
    Ok(buf)
}

/// Bytes as UTF-8 text, without a leading byte-order mark (some editors on Windows write one).
pub fn into_text(mut bytes: Vec<u8>) -> Result<String, std::string::FromUtf8Error> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes)
}

/// A file as UTF-8 text (BOM removed), capped.
pub fn read_text(path: &Path, limit: u64, knob: &'static str) -> Result<String, ReadError> {
    let bytes = read_file(path, limit, knob)?;
    into_text(bytes).map_err(|e| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_zero_stops_at_the_limit() {
        let e = read_file(Path::new("/dev/zero"), 1 << 20, "--max-file-size").unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { limit, .. } if limit == 1 << 20));
        assert_eq!(e.to_string(), "larger than the 1 MiB limit (--max-file-size)");
    }

    #[test]
    fn fifo_without_writer_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f.yaml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(read_file(&fifo, 100, "x").unwrap(), b"");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert_eq!(human_size(3 << 30), "3 GiB");
        assert_eq!(human_size(1000), "1000 bytes");
    }

    #[test]
    fn bom_is_removed() {
        assert_eq!(into_text(b"\xEF\xBB\xBFkind: Pod".to_vec()).unwrap(), "kind: Pod");
    }
}
