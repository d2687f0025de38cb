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

/// Regular files at least this large are mapped instead of read (smaller ones cost more to
/// map than to copy).
const MAP_MIN: u64 = 1 << 20;

/// A file's bytes: mapped into memory when it is a large regular file (a read would copy them
/// once more, and fault in a buffer as large as the file), else read.
#[derive(Debug)]
pub enum FileBytes {
    Read(Vec<u8>),
    #[cfg(unix)]
    Mapped(Mapping),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Read(v) => v,
            #[cfg(unix)]
            FileBytes::Mapped(m) => m.bytes(),
        }
    }
}

/// A read-only private mapping of a whole file, unmapped on drop.
#[cfg(unix)]
#[derive(Debug)]
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is read-only and owned: sharing or moving it between threads is as safe
// as sharing a `&[u8]`.
#[cfg(unix)]
unsafe impl Send for Mapping {}
#[cfg(unix)]
unsafe impl Sync for Mapping {}

#[cfg(unix)]
impl Mapping {
    /// Map `len` bytes of `file` (its size when it was opened); `None` when the system refuses.
    fn new(file: &File, len: u64) -> Option<Mapping> {
        use std::os::unix::io::AsRawFd;
        let len = usize::try_from(len).ok().filter(|&l| l > 0)?;
        // The pages are read in at once: the loader reads every byte, in order.
        #[cfg(target_os = "linux")]
        let flags = libc::MAP_PRIVATE | libc::MAP_POPULATE;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::MAP_PRIVATE;
        // SAFETY: a fresh read-only private mapping of an open descriptor; the pointer is
        // checked before use and unmapped once, on drop.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, flags, file.as_raw_fd(), 0) };
        (ptr != libc::MAP_FAILED).then_some(Mapping { ptr, len })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for as long as `self` lives. (A file cut
        // short by another process while it is read makes the system stop remedy with SIGBUS,
        // as it would any reader of a mapped file; snapshots are captures, not live files.)
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

#[cfg(unix)]
impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` made, once.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

/// `read_file`, mapping a large regular file instead of copying it; everything else (FIFOs,
/// devices, small files, a refused mapping) is read as `read_file` reads it.
pub fn read_file_mapped(path: &Path, limit: u64, knob: &'static str) -> Result<FileBytes, ReadError> {
    #[cfg(unix)]
    {
        let file = open(path)?;
        if let Ok(meta) = file.metadata()
            && meta.is_file()
        {
            if meta.len() > limit {
                return Err(ReadError::TooLarge { limit, knob });
            }
            if meta.len() >= MAP_MIN
                && let Some(m) = Mapping::new(&file, meta.len())
            {
                return Ok(FileBytes::Mapped(m));
            }
        }
    }
    read_file(path, limit, knob).map(FileBytes::Read)
}

/// Bytes as UTF-8 text, without a leading byte-order mark; the error's offset counts from
/// after the mark.
pub fn as_text(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
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

    /// A large regular file is mapped, and reads as the same bytes; the size cap holds, and
    /// a FIFO is still read (as empty, without waiting for a writer).
    #[test]
    fn large_files_are_mapped_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        let content: Vec<u8> = (0..(MAP_MIN as usize + 4097)).map(|i| b'a' + (i % 26) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let got = read_file_mapped(&path, 1 << 30, "--max-file-size").unwrap();
        assert!(matches!(got, FileBytes::Mapped(_)));
        assert_eq!(&*got, &content[..]);
        let e = read_file_mapped(&path, MAP_MIN, "--max-file-size").unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { .. }));
        let small = dir.path().join("small.json");
        std::fs::write(&small, b"{}").unwrap();
        assert!(matches!(read_file_mapped(&small, 100, "x").unwrap(), FileBytes::Read(ref v) if v == b"{}"));
        let fifo = dir.path().join("f.yaml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(&*read_file_mapped(&fifo, 100, "x").unwrap(), b"");
        let e = read_file_mapped(Path::new("/dev/zero"), 1 << 20, "--max-file-size").unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { .. }));
    }

    #[test]
    fn as_text_drops_the_bom_and_counts_from_after_it() {
        assert_eq!(as_text(b"\xEF\xBB\xBFkind: Pod").unwrap(), "kind: Pod");
        assert_eq!(as_text(b"\xEF\xBB\xBFab\xFF").unwrap_err().valid_up_to(), 2);
    }

    #[test]
    fn bom_is_removed() {
        assert_eq!(into_text(b"\xEF\xBB\xBFkind: Pod".to_vec()).unwrap(), "kind: Pod");
    }
}
