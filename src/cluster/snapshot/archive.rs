//! Must-gathers as they are usually handed over: a `.tar.gz` (or `.tar`), read as a stream,
//! never unpacked to disk. Entries are decompressed on this thread and parsed on the others.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{FileResult, LoadOptions, extension_is, file_loc, is_snapshot_file, load_bytes, pool};
use crate::diag::{Code, Diagnostic};
use crate::limits::{self, ReadError};

/// `.tar`, `.tar.gz`, `.tgz`, in any case.
pub fn is_archive(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase());
    name.is_some_and(|n| n.ends_with(".tar") || n.ends_with(".tar.gz") || n.ends_with(".tgz"))
}

/// Gzip data, or a tar (its `ustar` magic at byte 257).
pub fn looks_like_archive(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b]) || bytes.get(257..262) == Some(b"ustar")
}

pub fn load(path: &Path, opts: &LoadOptions, threads: usize) -> Vec<FileResult> {
    let name = path.display().to_string();
    match limits::open(path) {
        Ok(file) => load_reader(&name, file, opts, threads),
        Err(e) => vec![load_bytes::<Vec<u8>>(name, Err(ReadError::Io(e)), false, 1)],
    }
}

/// Every snapshot file inside, as `ARCHIVE:PATH/IN/ARCHIVE`; a broken archive is an error
/// of its own, after the entries read before the break.
pub fn load_reader(name: &str, reader: impl Read, opts: &LoadOptions, threads: usize) -> Vec<FileResult> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let gz = reader.fill_buf().is_ok_and(|b| b.starts_with(&[0x1f, 0x8b]));
    let inner: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut archive = tar::Archive::new(inner);
    let max = opts.max_file_size;
    let total_cap = max.saturating_mul(limits::ARCHIVE_FACTOR);
    let mut broken: Option<Diagnostic> = None;
    let mut results = pool::stream(
        threads,
        |emit| {
            let entries = match archive.entries() {
                Ok(e) => e,
                Err(e) => {
                    broken = Some(archive_error(name, &e.to_string()));
                    return;
                }
            };
            let mut total: u64 = 0;
            for entry in entries {
                let mut entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        broken = Some(archive_error(name, &e.to_string()));
                        break;
                    }
                };
                // Links, directories, FIFOs and devices are only headers in a tar: skipped.
                if !matches!(
                    entry.header().entry_type(),
                    tar::EntryType::Regular | tar::EntryType::Continuous
                ) {
                    continue;
                }
                let Ok(path) = entry.path().map(|p| p.into_owned()) else {
                    continue;
                };
                if !is_snapshot_file(&path) {
                    continue;
                }
                let size = entry.header().size().unwrap_or(0);
                total = total.saturating_add(size.min(max));
                if total > total_cap {
                    broken = Some(
                        Diagnostic::error(
                            Code::InputTooLarge,
                            file_loc(name),
                            format!(
                                "the archive's snapshot files add up to more than {} ({}× --max-file-size): stopped reading it",
                                limits::human_size(total_cap),
                                limits::ARCHIVE_FACTOR
                            ),
                        )
                        .with_help("raise --max-file-size, or unpack the archive and give the directories you need"),
                    );
                    break;
                }
                let bytes = if size > max {
                    Err(ReadError::TooLarge {
                        limit: max,
                        knob: "--max-file-size",
                    })
                } else {
                    limits::read_capped(&mut entry, max, "--max-file-size")
                };
                emit((
                    format!("{name}:{}", path.display()),
                    bytes,
                    extension_is(&path, &["json"]),
                ));
            }
        },
        |(entry_name, bytes, json)| load_bytes(entry_name, bytes, json, 1),
    );
    if let Some(d) = broken {
        let mut r = load_bytes(name.to_string(), Ok(Vec::new()), false, 1);
        r.sink.diags.push(d);
        results.push(r);
    }
    results
}

fn archive_error(name: &str, e: &str) -> Diagnostic {
    Diagnostic::error(
        Code::UnreadableFile,
        file_loc(name),
        format!("the archive is broken: {e}"),
    )
    .with_help("the files read before the break are used; fetch the archive again for the rest")
}
