//! Two copies of one object in a capture (the same kind/namespace/name, or the same uid under
//! another name): the newer is kept whatever the order of files, and the user is warned.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::file_loc;
use crate::cluster::{Object, ObjectKey};
use crate::diag::{Code, Diagnostic, Diagnostics};

/// The objects kept so far, by key and by uid.
#[derive(Default)]
pub(super) struct Kept {
    by_key: HashMap<ObjectKey, (Object, usize)>,
    by_uid: HashMap<Box<str>, ObjectKey>,
}

impl Kept {
    /// Add `o`, read from file number `file` (an index into `names`).
    pub(super) fn add(&mut self, o: Object, file: usize, names: &[String], diags: &mut Diagnostics) {
        let key = o.key();
        if let Some(uid) = o.version().uid.clone() {
            match self.by_uid.get(&uid) {
                // One uid under another key: the same object renamed or moved between captures.
                Some(other) if *other != key => {
                    let other = other.clone();
                    if let Some((old, old_file)) = self.by_key.get(&other)
                        && old.version().uid.as_deref() == Some(&*uid)
                    {
                        let newer = o.newer_than(old);
                        warn(diags, names, (&o, file), (old, *old_file), newer, Some(&uid));
                        if !newer {
                            return;
                        }
                        self.by_key.remove(&other);
                    }
                }
                _ => {}
            }
            self.by_uid.insert(uid, key.clone());
        }
        match self.by_key.entry(key) {
            Entry::Vacant(e) => {
                e.insert((o, file));
            }
            Entry::Occupied(mut e) => {
                let (old, old_file) = e.get();
                if *old.raw() == *o.raw() {
                    return;
                }
                let newer = o.newer_than(old);
                warn(diags, names, (&o, file), (old, *old_file), newer, None);
                if newer {
                    e.insert((o, file));
                }
            }
        }
    }

    /// The objects kept, with their keys (one object per key).
    pub(super) fn into_keyed(self) -> impl ExactSizeIterator<Item = (ObjectKey, Object)> {
        self.by_key.into_iter().map(|(k, (o, _))| (k, o))
    }
}

fn describe(o: &Object) -> String {
    match &o.namespace {
        Some(ns) => format!("{} {ns}/{}", o.kind, o.name),
        None => format!("{} {}", o.kind, o.name),
    }
}

/// One warning on the file whose copy was dropped, saying which was kept and why.
fn warn(
    diags: &mut Diagnostics,
    names: &[String],
    new: (&Object, usize),
    old: (&Object, usize),
    new_wins: bool,
    same_uid: Option<&str>,
) {
    let ((win, win_file), (lose, lose_file)) = if new_wins { (new, old) } else { (old, new) };
    let why = match (&win.version().resource_version, &lose.version().resource_version) {
        (Some(a), Some(b)) if a != b => format!("resourceVersion {a} is newer than {b}"),
        (Some(a), None) => format!("only it has a resourceVersion ({a})"),
        _ if win.version().managed_time != lose.version().managed_time => format!(
            "same resourceVersion; its last managedFields change ({}) is later",
            win.version().managed_time.as_deref().unwrap_or("")
        ),
        _ => "same version: the choice is made by content, so it does not depend on the order of files".into(),
    };
    let other_file = if lose_file == win_file {
        "this file"
    } else {
        &names[win_file]
    };
    let message = match same_uid {
        None => format!(
            "{} is also in {other_file}, and the copies differ: kept the one from {} ({why})",
            describe(lose),
            names[win_file]
        ),
        Some(uid) => format!(
            "{} has uid {uid}, as {} in {other_file} does: one object under two names; kept {} from {} ({why})",
            describe(lose),
            describe(win),
            describe(win),
            names[win_file]
        ),
    };
    diags.push(
        Diagnostic::warning(Code::DuplicateObject, file_loc(&names[lose_file]), message)
            .with_help("give each object once, or the capture taken last"),
    );
}
