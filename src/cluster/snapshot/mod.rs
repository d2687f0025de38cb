//! The snapshot backend: files or directories of objects as `kubectl get -o yaml|json` or an
//! OpenShift must-gather write them, a must-gather archive (`.tar`, `.tar.gz`), or standard
//! input (`-`).
//!
//! A file with errors is left out whole and named in `skipped_files`, so the plan can still be
//! made from the rest (marked partial); objects remedy cannot use are skipped with a warning.
//! Every read is capped (`docs/limits.md`).

mod archive;
mod dedupe;
mod doc;
mod fast;
mod json;
mod pool;
mod sink;
mod yaml;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ClusterError, ClusterSource, EventRecord, GroupKind, Object, ObjectKey, SourceInfo};
use crate::diag::{Code, Diagnostic, Diagnostics, Location};
use crate::limits::{self, ReadError};
use crate::walk::Walker;
use sink::Sink;

/// Captured cluster state, indexed for the lookups probes make.
#[derive(Debug, Default)]
pub struct Snapshot {
    name: String,
    /// Each kind's objects sorted by namespace and name: lists read them in that order, and
    /// lookups find one by binary search (a second map keyed by copies of every object's
    /// kind, namespace and name cost more than many small objects' text).
    by_kind: HashMap<GroupKind, Vec<Arc<Object>>>,
    groups: BTreeSet<String>,
    /// Shared with each `pull_events`, or handed over by the first (see `hand_over_events`):
    /// `None` once handed over.
    events: std::sync::Mutex<Option<Arc<Vec<EventRecord>>>>,
    events_once: bool,
    skipped: Vec<SkippedFile>,
    /// Files (and archive entries) read without error.
    files_read: usize,
    /// An error that is not about one file (a missing path, an empty input): no plan.
    fatal: bool,
}

/// A file left out because it has errors (its diagnostics say which).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    pub file: String,
    /// The first error's message.
    pub reason: String,
}

/// Limits and knobs for loading.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Cap on one file, archive entry or standard input (`--max-file-size`).
    pub max_file_size: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_file_size: limits::DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// What one file (or archive entry, or standard input) gave.
pub(super) struct FileResult {
    name: String,
    sink: Sink,
}

fn file_loc(name: &str) -> Location {
    Location {
        file: name.to_string(),
        ..Location::default()
    }
}

fn read_error(name: &str, e: ReadError) -> Diagnostic {
    match e {
        ReadError::TooLarge { .. } => Diagnostic::error(Code::InputTooLarge, file_loc(name), format!("{e}"))
            .with_help("raise the limit with --max-file-size (or REMEDY_MAX_FILE_SIZE), e.g. --max-file-size 4GiB"),
        ReadError::Io(e) => Diagnostic::error(Code::UnreadableFile, file_loc(name), format!("cannot read: {e}"))
            .with_help("snapshot files must be UTF-8 YAML or JSON"),
    }
}

/// Parse one file's text; `json` picks the reader, `threads` how many cores a large list
/// may be split over.
pub(super) fn load_text(name: &str, text: &str, json: bool, threads: usize) -> Sink {
    let mut sink = Sink::default();
    let loc = file_loc(name);
    if json {
        json::load(text, &loc, &mut sink, threads);
    } else {
        yaml::load(text, &loc, &mut sink, threads);
    }
    sink.seal();
    sink
}

/// Bytes read from somewhere, as a file result.
pub(super) fn load_bytes<B: std::ops::Deref<Target = [u8]>>(
    name: String,
    bytes: Result<B, ReadError>,
    json: bool,
    threads: usize,
) -> FileResult {
    let mut sink = Sink::default();
    let text_error = |e: std::str::Utf8Error| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (invalid byte at offset {})", e.valid_up_to()),
        ))
    };
    match bytes {
        Ok(b) => match limits::as_text(&b) {
            Ok(text) => sink = load_text(&name, text, json, threads),
            Err(e) => sink.diags.push(read_error(&name, text_error(e))),
        },
        Err(e) => sink.diags.push(read_error(&name, e)),
    }
    FileResult { name, sink }
}

fn extension_is(path: &Path, wanted: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| wanted.iter().any(|w| e.eq_ignore_ascii_case(w)))
}

fn is_snapshot_file(path: &Path) -> bool {
    extension_is(path, &["yaml", "yml", "json"])
}

/// Text that starts like JSON (standard input has no extension to tell).
fn looks_like_json(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    matches!(b.iter().find(|c| !c.is_ascii_whitespace()), Some(b'{' | b'['))
}

impl Snapshot {
    /// Load with the default limits.
    pub fn load(paths: &[PathBuf]) -> (Snapshot, Diagnostics) {
        Self::load_with(paths, &LoadOptions::default())
    }

    /// Load files and directories (walked recursively; only `.yaml`, `.yml` and `.json` files,
    /// in any case, inside directories), `.tar`/`.tar.gz`/`.tgz` must-gathers, and `-` for
    /// standard input. Problems are diagnostics, never panics.
    pub fn load_with(paths: &[PathBuf], opts: &LoadOptions) -> (Snapshot, Diagnostics) {
        let mut diags = Diagnostics::default();
        let mut walker = Walker::new("--snapshot", is_snapshot_file);
        let threads = pool::threads();
        let mut results: Vec<FileResult> = Vec::new();
        let mut fatal = false;
        for path in paths {
            let mut path_fatal = false;
            let (batch, walked) = if path.as_os_str() == "-" {
                (vec![read_stdin(opts, threads)], None)
            } else if archive::is_archive(path) && path.is_file() {
                (archive::load(path, opts, threads), None)
            } else {
                let errors_before = diags.iter().filter(|d| d.is_error()).count();
                let (files, skipped) = walker.collect(path, &mut diags);
                path_fatal = diags.iter().filter(|d| d.is_error()).count() > errors_before;
                let split = if files.len() == 1 { threads } else { 1 };
                let batch = pool::map(&files, threads, |file| {
                    let bytes = limits::read_file_mapped(file, opts.max_file_size, "--max-file-size");
                    load_bytes(file.display().to_string(), bytes, extension_is(file, &["json"]), split)
                });
                (batch, Some((files.len(), skipped)))
            };
            let documents: usize = batch.iter().map(|r| r.sink.documents).sum();
            let errors = batch.iter().any(|r| r.sink.diags.has_errors());
            let nothing_walked = walked.is_some_and(|(files, skipped)| files == 0 && skipped > 0);
            // Nothing read and nothing wrong would plan on an empty cluster: a false all-clear.
            if documents == 0 && !errors && !nothing_walked && !path_fatal {
                let what = if walked.is_some_and(|(files, _)| files == 0) {
                    "no snapshot files (`.yaml`, `.yml`, `.json`) found"
                } else {
                    "no Kubernetes objects found"
                };
                path_fatal = true;
                diags.push(
                    Diagnostic::error(
                        Code::EmptyInput,
                        file_loc(&path.display().to_string()),
                        format!("{what} in {}", path.display()),
                    )
                    .with_help(
                        "give --snapshot the output of `kubectl get -o yaml|json`, an OpenShift must-gather directory or its .tar.gz",
                    ),
                );
            }
            fatal |= path_fatal;
            results.extend(batch);
        }
        let name = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut snapshot = Self::merge(name, results, &mut diags);
        snapshot.fatal |= fatal;
        (snapshot, diags)
    }

    /// Files with errors are left out whole; duplicates across the rest keep the newer copy.
    fn merge(name: String, results: Vec<FileResult>, diags: &mut Diagnostics) -> Snapshot {
        let mut skipped = Vec::new();
        let mut kept = dedupe::Kept::default();
        let mut events = Vec::new();
        let mut names = Vec::new();
        for (fi, r) in results.into_iter().enumerate() {
            names.push(r.name.clone());
            let FileResult { name, sink } = r;
            let first_error = sink.diags.iter().find(|d| d.is_error()).map(|d| d.message.clone());
            if let Some(reason) = first_error {
                skipped.push(SkippedFile { file: name, reason });
                diags.extend(sink.diags);
                continue;
            }
            diags.extend(sink.diags);
            if sink.nameless_events > 0 {
                diags.push(
                    Diagnostic::warning(
                        Code::SkippedObject,
                        file_loc(&name),
                        format!(
                            "{} pull event(s) name no object (`involvedObject.name` is empty): skipped, as no pod can be matched to them",
                            sink.nameless_events
                        ),
                    )
                    .with_help("nothing to fix: the other objects of the file are read"),
                );
            }
            events.extend(sink.events);
            for o in sink.objects {
                kept.add(o, fi, &names, diags);
            }
        }
        let files_read = names.len() - skipped.len();
        let mut snapshot = Snapshot::from_keyed(name, kept.into_keyed(), sink::merge_events(events));
        snapshot.skipped = skipped;
        snapshot.files_read = files_read;
        snapshot
    }

    /// Build from objects already in memory (tests, generated snapshots). Of two copies of
    /// one object, the newer is kept (see `Object::newer_than`).
    pub fn from_parts(name: String, objects: Vec<Object>, events: Vec<EventRecord>) -> Snapshot {
        Self::from_keyed(name, objects.into_iter().map(|o| (o.key(), o)), events)
    }

    /// `from_parts` for objects whose keys are known (the loader has made them already).
    fn from_keyed(
        name: String,
        objects: impl Iterator<Item = (ObjectKey, Object)>,
        mut events: Vec<EventRecord>,
    ) -> Snapshot {
        let mut index: HashMap<ObjectKey, Arc<Object>> = HashMap::with_capacity(objects.size_hint().0);
        let mut groups = BTreeSet::new();
        for (key, obj) in objects {
            if !groups.contains(&key.kind.group) {
                groups.insert(key.kind.group.clone());
            }
            match index.entry(key) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    if obj.newer_than(e.get()) {
                        e.insert(Arc::new(obj));
                    }
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(Arc::new(obj));
                }
            }
        }
        let mut by_kind: HashMap<GroupKind, Vec<Arc<Object>>> = HashMap::new();
        for (key, obj) in index {
            match by_kind.get_mut(&key.kind) {
                Some(list) => list.push(obj),
                None => {
                    by_kind.insert(key.kind, vec![obj]);
                }
            }
        }
        // One object per kind, namespace and name: an unstable sort gives the one order.
        for list in by_kind.values_mut() {
            list.sort_unstable_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
            list.shrink_to_fit();
            // Each object is held by its list only, here.
            crate::cluster::raw::repack(list.iter_mut().filter_map(Arc::get_mut).map(Object::raw_mut).collect());
        }
        events.sort();
        Snapshot {
            name,
            by_kind,
            groups,
            events: std::sync::Mutex::new(Some(Arc::new(events))),
            ..Snapshot::default()
        }
    }

    /// The next `pull_events` hands the events over instead of sharing them, and any later
    /// one fails: for a run that reads them once (`plan`), so that they are freed
    /// as soon as detection is done with them (with every container failing, the records are
    /// about a tenth of the memory).
    pub fn hand_over_events(&mut self) {
        self.events_once = true;
    }

    /// Files left out because they have errors: the plan made from the rest is partial.
    pub fn skipped_files(&self) -> &[SkippedFile] {
        &self.skipped
    }

    /// Whether a plan can be made from what loaded: no error beyond single files, and at
    /// least one file read.
    pub fn usable(&self) -> bool {
        !self.fatal && self.files_read > 0
    }

    fn lookup(&self, kind: &GroupKind, namespace: Option<&str>, name: &str) -> Option<Arc<Object>> {
        let list = self.by_kind.get(kind)?;
        let namespace = if kind.is_cluster_scoped() { None } else { namespace };
        let find = |ns: Option<&str>| {
            list.binary_search_by(|o| (o.namespace.as_deref(), o.name.as_str()).cmp(&(ns, name)))
                .ok()
                .map(|i| list[i].clone())
        };
        // Unknown kinds may be cluster-scoped without remedy knowing it.
        find(namespace).or_else(|| namespace.and_then(|_| find(None)))
    }
}

/// `--snapshot -`: standard input, capped, as YAML, JSON or a must-gather archive.
fn read_stdin(opts: &LoadOptions, threads: usize) -> FileResult {
    let name = "<stdin>".to_string();
    let bytes = limits::read_capped(std::io::stdin().lock(), opts.max_file_size, "--max-file-size");
    match bytes {
        Ok(b) if archive::looks_like_archive(&b) => {
            let mut all = archive::load_reader(&name, std::io::Cursor::new(b), opts, threads);
            if all.len() == 1 {
                return all.remove(0);
            }
            // Several entries: one result holding them all keeps the caller simple.
            let mut sink = Sink::default();
            for r in all {
                sink.append(r.sink);
            }
            FileResult { name, sink }
        }
        Ok(b) => {
            let json = looks_like_json(&b);
            load_bytes(name, Ok(b), json, threads)
        }
        Err(e) => load_bytes::<Vec<u8>>(name, Err(e), false, threads),
    }
}

impl ClusterSource for Snapshot {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            kind: "snapshot",
            name: self.name.clone(),
        }
    }

    async fn list(&self, kind: &GroupKind, namespace: Option<&str>) -> Result<Vec<Arc<Object>>, ClusterError> {
        let all = self.by_kind.get(kind).map(Vec::as_slice).unwrap_or_default();
        Ok(super::in_namespace(all, namespace))
    }

    async fn get(
        &self,
        kind: &GroupKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Arc<Object>>, ClusterError> {
        Ok(self.lookup(kind, namespace, name))
    }

    async fn pull_events(&self) -> Result<Arc<Vec<EventRecord>>, ClusterError> {
        let gone = || ClusterError::Read {
            kind: "events".into(),
            message: "the snapshot's events were handed over to the run that read them first".into(),
        };
        let mut events = self.events.lock().map_err(|_| gone())?;
        if self.events_once {
            events.take().ok_or_else(gone)
        } else {
            Ok(events.clone().unwrap_or_default())
        }
    }

    async fn has_api_group(&self, group: &str) -> Result<bool, ClusterError> {
        Ok(self.groups.contains(group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: serde_json::Value) -> Object {
        Object::from_value(v).unwrap()
    }

    /// Objects are found in their kind's sorted list: by namespace and name among many,
    /// a cluster-scoped kind whatever namespace is asked, and an unknown kind's object without
    /// a namespace when one is asked (it may be cluster-scoped without remedy knowing it).
    #[tokio::test]
    async fn objects_are_found_by_kind_namespace_and_name() {
        let mut objects: Vec<Object> = (0..50)
            .rev()
            .map(|i| obj(serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": format!("ns{}", i % 7), "name": format!("p{i}")}})))
            .collect();
        objects.push(obj(
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns3"}}),
        ));
        objects.push(obj(
            serde_json::json!({"apiVersion": "x.io/v1", "kind": "Widget", "metadata": {"name": "w"}}),
        ));
        let s = Snapshot::from_parts("t".into(), objects, Vec::new());
        let pod = GroupKind::core("Pod");
        for i in 0..50 {
            let ns = format!("ns{}", i % 7);
            let got = s.get(&pod, Some(&ns), &format!("p{i}")).await.unwrap().unwrap();
            assert_eq!(
                (got.namespace.as_deref(), got.name.as_str()),
                (Some(ns.as_str()), format!("p{i}").as_str())
            );
            let other = format!("ns{}", (i + 1) % 7);
            assert!(s.get(&pod, Some(&other), &format!("p{i}")).await.unwrap().is_none());
        }
        assert!(s.get(&pod, Some("ns0"), "p50").await.unwrap().is_none());
        let names: Vec<String> = s
            .list(&pod, None)
            .await
            .unwrap()
            .iter()
            .map(|o| o.name.clone())
            .collect();
        assert_eq!(names.len(), 50);
        let namespace = GroupKind::core("Namespace");
        assert_eq!(
            s.get(&namespace, Some("elsewhere"), "ns3").await.unwrap().unwrap().name,
            "ns3"
        );
        let widget = GroupKind::new("x.io", "Widget");
        assert_eq!(s.get(&widget, Some("apps"), "w").await.unwrap().unwrap().name, "w");
        assert!(s.get(&widget, Some("apps"), "v").await.unwrap().is_none());
        assert!(
            s.get(&GroupKind::core("Secret"), Some("ns0"), "p0")
                .await
                .unwrap()
                .is_none()
        );
    }

    /// A file's objects are kept compressed, read back as written, in blocks that a walk of
    /// a list meets once each, whatever order the file had them in.
    #[tokio::test]
    async fn objects_are_kept_packed_in_the_order_lists_read_them() {
        let item = |i: usize| {
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i}"), "namespace": format!("ns-{}", i % 37)},
                "data": {"pad": "p".repeat(300 + i % 50)}})
            .to_string()
        };
        let texts: std::collections::BTreeMap<String, String> =
            (0..3000).map(|i| (format!("cm-{i}"), item(i))).collect();
        let items: Vec<String> = (0..3000).map(item).collect();
        let text = format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{}]}}",
            items.join(",")
        );
        let sink = load_text("cms.json", &text, true, 2);
        let mut diags = Diagnostics::default();
        let snap = Snapshot::merge(
            "t".into(),
            vec![FileResult {
                name: "cms.json".into(),
                sink,
            }],
            &mut diags,
        );
        assert!(!diags.has_errors());
        let listed = snap.list(&GroupKind::core("ConfigMap"), None).await.unwrap();
        assert_eq!(listed.len(), 3000);
        let blocks: Vec<u64> = listed.iter().map(|o| o.block_id().expect("packed")).collect();
        let distinct: BTreeSet<u64> = blocks.iter().copied().collect();
        let changes = 1 + blocks.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(changes, distinct.len(), "each block met once");
        let total: usize = items.iter().map(String::len).sum();
        assert!(
            distinct.len() <= total / crate::cluster::raw::BLOCK + 2,
            "{} blocks",
            distinct.len()
        );
        for o in &listed {
            assert_eq!(*o.raw(), *texts[&o.name], "{}", o.name);
        }
    }

    #[test]
    fn events_of_one_file_keep_their_repeated_strings_once() {
        let event = |i: usize| {
            serde_json::json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": format!("e{i}"), "namespace": "apps"},
                "involvedObject": {"kind": "Pod", "name": "web", "namespace": "apps", "uid": "u1",
                                   "fieldPath": format!("spec.containers{{c{i}}}")},
                "reason": "Failed", "type": "Warning", "count": 1,
                "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
                "source": {"component": "kubelet"},
                "message": format!("Failed to pull image \"quay.io/a/c{i}:1\": unauthorized")})
        };
        let text = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [event(0), event(1)]}).to_string();
        let sink = load_text("events.json", &text, true, 1);
        let [(_, a), (_, b)] = &sink.events[..] else {
            panic!("{:?}", sink.events)
        };
        let same = |x: &Arc<str>, y: &Arc<str>| Arc::ptr_eq(x, y);
        assert_eq!(
            (&*a.namespace, &*a.involved_name, &*a.reason),
            ("apps", "web", "Failed")
        );
        assert!(same(&a.namespace, &b.namespace) && same(&a.involved_kind, &b.involved_kind));
        assert!(same(&a.involved_name, &b.involved_name) && same(&a.reason, &b.reason));
        assert!(same(&a.event_type, &b.event_type));
        for (x, y) in [
            (&a.involved_uid, &b.involved_uid),
            (&a.first_timestamp, &b.first_timestamp),
            (&a.last_timestamp, &b.last_timestamp),
            (&a.component, &b.component),
        ] {
            assert!(same(x.as_ref().unwrap(), y.as_ref().unwrap()));
        }
        // What tells them apart is their own.
        assert_ne!(a.field_path, b.field_path);
        assert_ne!(a.message, b.message);
    }

    #[test]
    fn events_are_shared_or_handed_over_once() {
        let event = EventRecord {
            namespace: "apps".into(),
            involved_kind: "Pod".into(),
            involved_name: "web".into(),
            involved_uid: None,
            field_path: None,
            reason: "Failed".into(),
            event_type: "Warning".into(),
            message: "Failed to pull image \"x\": unauthorized".into(),
            count: 1,
            first_timestamp: None,
            last_timestamp: None,
            component: None,
        };
        let read = |s: &Snapshot| futures::executor::block_on(s.pull_events());
        let shared = Snapshot::from_parts("s".into(), Vec::new(), vec![event.clone()]);
        let (a, b) = (read(&shared).unwrap(), read(&shared).unwrap());
        assert!(Arc::ptr_eq(&a, &b) && a.len() == 1, "shared by every read");
        let mut once = Snapshot::from_parts("s".into(), Vec::new(), vec![event]);
        once.hand_over_events();
        let handed = read(&once).unwrap();
        assert_eq!(Arc::strong_count(&handed), 1, "the snapshot keeps no reference");
        assert_eq!(handed.len(), 1);
        let again = read(&once).unwrap_err().to_string();
        assert!(again.contains("handed over"), "{again}");
    }
}
