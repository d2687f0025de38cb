//! Directory walks shared by the rule loader and the snapshot reader.

use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Diagnostics, Location};

/// What a directory walk has seen, by canonical path: each real directory and file is read
/// once, however many links or arguments lead to it, and a link back to an ancestor (a loop)
/// is reported instead of followed.
#[derive(Debug, Default)]
struct Visited {
    dirs: std::collections::HashSet<PathBuf>,
    files: std::collections::HashSet<PathBuf>,
    ancestors: Vec<PathBuf>,
}

/// What `Visited::enter_dir` decided.
enum DirVisit {
    /// New: walk it, then call `leave_dir`.
    Walk,
    /// Already walked through another path: skip quietly.
    Seen,
    /// A link back to a directory being walked: skip, with this warning.
    Loop(Diagnostic),
}

impl Visited {
    fn enter_dir(&mut self, path: &Path) -> DirVisit {
        let Ok(real) = std::fs::canonicalize(path) else {
            // Unresolvable: let the caller's read report it.
            return DirVisit::Walk;
        };
        if self.ancestors.contains(&real) {
            let loc = Location {
                file: path.display().to_string(),
                ..Location::default()
            };
            return DirVisit::Loop(
                Diagnostic::warning(
                    Code::SymlinkLoop,
                    loc,
                    format!("a symbolic link loops back to {}: not followed", real.display()),
                )
                .with_help("each directory is read once; remove the link or give the real directory"),
            );
        }
        if !self.dirs.insert(real.clone()) {
            return DirVisit::Seen;
        }
        self.ancestors.push(real);
        DirVisit::Walk
    }

    fn leave_dir(&mut self) {
        self.ancestors.pop();
    }

    /// False when the file was already taken through another path or argument.
    fn first_visit_of_file(&mut self, path: &Path) -> bool {
        match std::fs::canonicalize(path) {
            Ok(real) => self.files.insert(real),
            Err(_) => true,
        }
    }
}

/// Collects the files of several paths given with one flag (`--rules`, `--snapshot`), each
/// real file once across all of them.
pub struct Walker {
    visited: Visited,
    flag: &'static str,
    wanted: fn(&Path) -> bool,
    skipped: usize,
}

impl Walker {
    /// `wanted` picks the files to take from directories; a file given directly is taken.
    pub fn new(flag: &'static str, wanted: fn(&Path) -> bool) -> Self {
        Walker {
            visited: Visited::default(),
            flag,
            wanted,
            skipped: 0,
        }
    }

    /// The files under a path the user gave (or the path itself), in sorted order, and how
    /// many were passed over as already seen or looping. A missing path is `missing-path`.
    pub fn collect(&mut self, path: &Path, diags: &mut Diagnostics) -> (Vec<PathBuf>, usize) {
        let mut out = Vec::new();
        self.skipped = 0;
        self.walk(path, true, &mut out, diags);
        (out, self.skipped)
    }

    fn walk(&mut self, path: &Path, explicit: bool, out: &mut Vec<PathBuf>, diags: &mut Diagnostics) {
        let loc = || Location {
            file: path.display().to_string(),
            ..Location::default()
        };
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                let code = if explicit {
                    Code::MissingPath
                } else {
                    Code::UnreadableFile
                };
                diags.push(
                    Diagnostic::error(code, loc(), format!("cannot read: {e}"))
                        .with_help(format!("check the path given to {}", self.flag)),
                );
                return;
            }
        };
        if !meta.is_dir() {
            // A FIFO, device or socket found inside a directory is never opened: a FIFO
            // would block and `/dev/zero` would never end. Given by name, it is read (capped),
            // so `--snapshot <(kubectl get ...)` works.
            if !explicit && !meta.is_file() {
                self.skipped += 1;
                diags.push(
                    Diagnostic::warning(
                        Code::NotRegularFile,
                        loc(),
                        "not a regular file (a FIFO, device or socket): skipped",
                    )
                    .with_help(format!(
                        "only regular files are read inside a directory; give it to {} by name to read it",
                        self.flag
                    )),
                );
                return;
            }
            if self.visited.first_visit_of_file(path) {
                out.push(path.to_path_buf());
            } else {
                self.skipped += 1;
            }
            return;
        }
        match self.visited.enter_dir(path) {
            DirVisit::Walk => {}
            DirVisit::Seen => {
                self.skipped += 1;
                return;
            }
            DirVisit::Loop(d) => {
                self.skipped += 1;
                diags.push(d);
                return;
            }
        }
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                children.sort();
                for child in children {
                    if child.is_dir() || (self.wanted)(&child) {
                        self.walk(&child, false, out, diags);
                    }
                }
            }
            Err(e) => diags.push(
                Diagnostic::error(Code::UnreadableFile, loc(), format!("cannot list directory: {e}"))
                    .with_help("the directory must be readable"),
            ),
        }
        self.visited.leave_dir();
    }
}
