//! The snapshot backend: files or directories of objects as `kubectl get -o yaml|json` or an
//! OpenShift must-gather write them.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;

use super::object::{EventRaw, ObjectHead};
use super::{ClusterError, ClusterSource, EventRecord, GroupKind, Object, ObjectKey, SourceInfo};
use crate::diag::{Code, Diagnostic, Diagnostics, Location};

/// Captured cluster state, indexed for the lookups probes make.
#[derive(Debug, Default)]
pub struct Snapshot {
    name: String,
    objects: HashMap<ObjectKey, Arc<Object>>,
    by_kind: HashMap<GroupKind, Vec<Arc<Object>>>,
    groups: BTreeSet<String>,
    events: Arc<Vec<EventRecord>>,
}

/// Everything read from the files before indexing.
#[derive(Default)]
struct Sink {
    objects: Vec<Object>,
    events: Vec<EventRecord>,
}

impl Sink {
    /// Only events about image pulls are kept: they are the only ones detection reads, and
    /// the bulk of a large snapshot's events are not.
    fn keep_event(&mut self, e: EventRecord) {
        if e.is_about_image_pull() {
            self.events.push(e);
        }
    }

    /// Take one decoded document: a list (`items`), an event, or any other object.
    fn take(&mut self, value: Value, loc: &Location, diags: &mut Diagnostics) {
        let Value::Object(mut map) = value else {
            self.take_object(value, loc, diags);
            return;
        };
        if !matches!(map.get("items"), Some(Value::Array(_))) {
            self.take_object(Value::Object(map), loc, diags);
            return;
        }
        let defaults = list_item_defaults(&map);
        let Some(Value::Array(items)) = map.remove("items") else {
            return;
        };
        for (i, mut item) in items.into_iter().enumerate() {
            let loc = Location {
                path: Some(format!(
                    "{}items[{i}]",
                    loc.path.as_deref().map(|p| format!("{p}.")).unwrap_or_default()
                )),
                ..loc.clone()
            };
            fill_defaults(&mut item, &defaults);
            self.take(item, &loc, diags);
        }
    }

    /// One JSON item as text: events and plain objects are read without building a `Value`.
    /// `defaults` is the (kind, apiVersion) of a typed list, for items that carry neither.
    fn take_raw(
        &mut self,
        raw: &RawValue,
        loc: &Location,
        defaults: Option<&(String, String)>,
        diags: &mut Diagnostics,
    ) {
        let text = raw.get();
        let head: ObjectHead = serde_json::from_str(text).unwrap_or_default();
        let needs_cleaning = text.contains("\"managedFields\"") || text.contains("last-applied-configuration");
        let kindless = head.kind.is_none() && defaults.is_some();
        let result = if head.items.is_some() || needs_cleaning || kindless || !text.starts_with('{') {
            match serde_json::from_str::<Value>(text) {
                Ok(mut v) => {
                    fill_defaults(&mut v, &defaults.cloned());
                    self.take(v, loc, diags);
                    return;
                }
                Err(_) => Err("the item is not valid JSON"),
            }
        } else if head.kind.as_deref() == Some("Event") {
            serde_json::from_str::<EventRaw>(text)
                .map_err(|_| "the event has fields of the wrong type")
                .and_then(EventRaw::into_record)
                .map(|e| self.keep_event(e))
        } else {
            Object::from_raw(&head, text).map(|o| self.objects.push(o))
        };
        if let Err(why) = result {
            diags.push(
                Diagnostic::error(Code::InvalidObject, loc.clone(), why)
                    .with_help("every object needs `kind` and `metadata.name`; was the file cut short?"),
            );
        }
    }

    fn take_object(&mut self, value: Value, loc: &Location, diags: &mut Diagnostics) {
        if !value.is_object() {
            diags.push(
                Diagnostic::error(
                    Code::InvalidObject,
                    loc.clone(),
                    "a document that is not a Kubernetes object (expected a mapping)",
                )
                .with_help("snapshot files hold objects as `kubectl get -o yaml|json` writes them"),
            );
            return;
        }
        let is_event = value.get("kind").and_then(Value::as_str) == Some("Event");
        let result = if is_event {
            EventRecord::from_value(&value).map(|e| self.keep_event(e))
        } else {
            Object::from_value(value).map(|o| self.objects.push(o))
        };
        if let Err(why) = result {
            diags.push(
                Diagnostic::error(Code::InvalidObject, loc.clone(), why)
                    .with_help("every object needs `kind` and `metadata.name`; was the file cut short?"),
            );
        }
    }
}

impl Snapshot {
    /// Load files and directories (walked recursively; only `.yaml`, `.yml` and `.json` files
    /// inside directories). Problems are diagnostics, never panics.
    pub fn load(paths: &[PathBuf]) -> (Snapshot, Diagnostics) {
        let mut diags = Diagnostics::default();
        let mut sink = Sink::default();
        for path in paths {
            let mut files = Vec::new();
            collect_files(path, true, &mut files, &mut diags);
            for file in files {
                load_file(&file, &mut sink, &mut diags);
            }
        }
        let name = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        (Snapshot::from_parts(name, sink.objects, sink.events), diags)
    }

    /// Build from objects already in memory (tests, generated snapshots).
    pub fn from_parts(name: String, objects: Vec<Object>, mut events: Vec<EventRecord>) -> Snapshot {
        let mut index = HashMap::with_capacity(objects.len());
        let mut groups = BTreeSet::new();
        for obj in objects {
            let gk = obj.group_kind();
            groups.insert(gk.group.clone());
            // The last file read wins for duplicates (files are read in sorted order).
            index.insert(obj.key(), Arc::new(obj));
        }
        let mut by_kind: HashMap<GroupKind, Vec<Arc<Object>>> = HashMap::new();
        for obj in index.values() {
            by_kind.entry(obj.group_kind()).or_default().push(obj.clone());
        }
        for list in by_kind.values_mut() {
            list.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        }
        events.sort();
        Snapshot {
            name,
            objects: index,
            by_kind,
            groups,
            events: Arc::new(events),
        }
    }

    pub fn object_count(&self) -> usize {
        self.objects.len()
    }

    /// Events kept: those about image pulls.
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    fn lookup(&self, kind: &GroupKind, namespace: Option<&str>, name: &str) -> Option<Arc<Object>> {
        let namespace = if kind.is_cluster_scoped() { None } else { namespace };
        let key = ObjectKey {
            kind: kind.clone(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        };
        self.objects.get(&key).cloned().or_else(|| {
            // Unknown kinds may be cluster-scoped without remedy knowing it.
            (namespace.is_some() && !kind.is_cluster_scoped())
                .then(|| self.objects.get(&ObjectKey { namespace: None, ..key }).cloned())
                .flatten()
        })
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
        Ok(match namespace {
            None => all.to_vec(),
            Some(ns) => all
                .iter()
                .filter(|o| o.namespace.as_deref() == Some(ns))
                .cloned()
                .collect(),
        })
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
        Ok(self.events.clone())
    }

    async fn has_api_group(&self, group: &str) -> Result<bool, ClusterError> {
        Ok(self.groups.contains(group))
    }
}

/// A typed list (`PodList`) as the API returns it: its items carry no `kind`/`apiVersion`.
fn list_item_defaults(list: &serde_json::Map<String, Value>) -> Option<(String, String)> {
    let kind = list.get("kind")?.as_str()?.strip_suffix("List")?;
    let api = list.get("apiVersion").and_then(Value::as_str).unwrap_or("v1");
    (!kind.is_empty()).then(|| (kind.to_string(), api.to_string()))
}

fn fill_defaults(item: &mut Value, defaults: &Option<(String, String)>) {
    if let (Some((kind, api)), Value::Object(m)) = (defaults, item) {
        m.entry("kind").or_insert_with(|| Value::String(kind.clone()));
        m.entry("apiVersion").or_insert_with(|| Value::String(api.clone()));
    }
}

fn is_snapshot_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
}

fn collect_files(path: &Path, explicit: bool, out: &mut Vec<PathBuf>, diags: &mut Diagnostics) {
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
                    .with_help("check the path given to --snapshot"),
            );
            return;
        }
    };
    if meta.is_dir() {
        let entries = match std::fs::read_dir(path) {
            Ok(e) => e,
            Err(e) => {
                diags.push(Diagnostic::error(
                    Code::UnreadableFile,
                    loc(),
                    format!("cannot list directory: {e}"),
                ));
                return;
            }
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for child in children {
            if child.is_dir() || is_snapshot_file(&child) {
                collect_files(&child, false, out, diags);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
}

fn load_file(path: &Path, sink: &mut Sink, diags: &mut Diagnostics) {
    let file_loc = Location {
        file: path.display().to_string(),
        ..Location::default()
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            diags.push(Diagnostic::error(
                Code::UnreadableFile,
                file_loc,
                format!("cannot open: {e}"),
            ));
            return;
        }
    };
    drop(file);
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        load_json(path, &file_loc, sink, diags);
    } else {
        load_yaml(path, &file_loc, sink, diags);
    }
}

/// The top of a JSON file: a list's header and its items, borrowed from the file's text.
#[derive(serde::Deserialize)]
struct JsonTop<'a> {
    kind: Option<String>,
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    #[serde(borrow)]
    items: Option<Vec<&'a RawValue>>,
}

/// JSON is read whole and its items borrowed as raw text: each item is then read into a
/// typed event or kept as text, never expanded into a `Value` tree (a `Value` costs about
/// ten times its text). The file's bytes are freed when loading ends.
fn load_json(path: &Path, loc: &Location, sink: &mut Sink, diags: &mut Diagnostics) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(Code::UnreadableFile, loc.clone(), format!("cannot read: {e}"))
                    .with_help("snapshot files must be UTF-8 YAML or JSON"),
            );
            return;
        }
    };
    let json_error = |e: serde_json::Error, diags: &mut Diagnostics| {
        diags.push(
            Diagnostic::error(
                Code::InvalidYaml,
                Location {
                    line: Some(e.line()),
                    column: Some(e.column()),
                    ..loc.clone()
                },
                format!("invalid JSON: {e}"),
            )
            .with_help("the file must hold JSON objects as `kubectl get -o json` writes them"),
        );
    };
    if text.trim_start().starts_with('[') {
        match serde_json::from_str::<Vec<&RawValue>>(&text) {
            Ok(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, raw)| sink.take_raw(raw, &item_loc(loc, i), None, diags)),
            Err(e) => json_error(e, diags),
        }
        return;
    }
    match serde_json::from_str::<JsonTop>(&text) {
        Ok(JsonTop {
            items: Some(items),
            kind,
            api_version,
        }) => {
            let defaults = kind
                .as_deref()
                .and_then(|k| k.strip_suffix("List"))
                .filter(|k| !k.is_empty())
                .map(|k| (k.to_string(), api_version.unwrap_or_else(|| "v1".into())));
            for (i, raw) in items.iter().enumerate() {
                sink.take_raw(raw, &item_loc(loc, i), defaults.as_ref(), diags);
            }
        }
        Ok(_) => match serde_json::from_str::<&RawValue>(&text) {
            Ok(raw) => sink.take_raw(raw, loc, None, diags),
            Err(e) => json_error(e, diags),
        },
        Err(e) => json_error(e, diags),
    }
}

fn item_loc(loc: &Location, i: usize) -> Location {
    Location {
        path: Some(format!("items[{i}]")),
        ..loc.clone()
    }
}

fn load_yaml(path: &Path, loc: &Location, sink: &mut Sink, diags: &mut Diagnostics) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(Code::UnreadableFile, loc.clone(), format!("cannot read: {e}"))
                    .with_help("snapshot files must be UTF-8 YAML or JSON"),
            );
            return;
        }
    };
    for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        match serde::Deserialize::deserialize(doc) {
            Ok(Value::Null) => {}
            Ok(value) => {
                let loc = Location {
                    path: (i > 0).then(|| format!("document {}", i + 1)),
                    ..loc.clone()
                };
                sink.take(value, &loc, diags);
            }
            Err(e) => {
                let (line, column) = e
                    .location()
                    .map(|l| (Some(l.line()), Some(l.column())))
                    .unwrap_or((None, None));
                diags.push(
                    Diagnostic::error(
                        Code::InvalidYaml,
                        Location {
                            line,
                            column,
                            ..loc.clone()
                        },
                        format!("invalid YAML: {e}"),
                    )
                    .with_help("the file must hold objects as `kubectl get -o yaml` writes them"),
                );
                // A syntax error leaves the rest of the stream unreadable.
                break;
            }
        }
    }
}
