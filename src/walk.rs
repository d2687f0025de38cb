//! Directory walks shared by the rule loader and the snapshot reader.

use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Location};

/// What a directory walk has seen, by canonical path: each real directory and file is read
/// once, however many links or arguments lead to it, and a link back to an ancestor (a loop)
/// is reported instead of followed.
#[derive(Debug, Default)]
pub struct Visited {
    dirs: std::collections::HashSet<PathBuf>,
    files: std::collections::HashSet<PathBuf>,
    ancestors: Vec<PathBuf>,
}

/// What `Visited::enter_dir` decided.
pub enum DirVisit {
    /// New: walk it, then call `leave_dir`.
    Walk,
    /// Already walked through another path: skip quietly.
    Seen,
    /// A link back to a directory being walked: skip, with this warning.
    Loop(Diagnostic),
}

impl Visited {
    pub fn enter_dir(&mut self, path: &Path) -> DirVisit {
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

    pub fn leave_dir(&mut self) {
        self.ancestors.pop();
    }

    /// False when the file was already taken through another path or argument.
    pub fn first_visit_of_file(&mut self, path: &Path) -> bool {
        match std::fs::canonicalize(path) {
            Ok(real) => self.files.insert(real),
            Err(_) => true,
        }
    }
}
