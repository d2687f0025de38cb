//! The snapshot backend: files or directories of objects as `kubectl get -o yaml|json` or an
//! OpenShift must-gather write them.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;

use super::object::{EventRaw, FieldError, ObjectHead};
use super::{ClusterError, ClusterSource, EventRecord, GroupKind, Object, ObjectKey, SourceInfo};
use crate::diag::{Code, Diagnostic, Diagnostics, Location};
use crate::load::PositionIndex;
use crate::walk::Walker;

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
    /// Where each kept event sits in `events`, by identity: one event read twice (two files,
    /// or one path given twice) counts once, like objects do.
    event_ids: HashMap<String, usize>,
    /// Documents taken (objects, list items, events of any reason), valid or not.
    documents: usize,
}

/// `loc` narrowed to a field of the object it points at.
fn at_field(loc: &Location, field: &str) -> Location {
    if field.is_empty() {
        return loc.clone();
    }
    Location {
        path: Some(match &loc.path {
            Some(p) => format!("{p}.{field}"),
            None => field.to_string(),
        }),
        ..loc.clone()
    }
}

fn invalid(loc: &Location, e: FieldError) -> Diagnostic {
    let help = if e.path.is_empty() {
        "every object needs `kind` and `metadata.name`; was the file cut short?"
    } else {
        "fix the field's type (compare with `kubectl get -o yaml` output); remedy does not guess at objects it cannot read"
    };
    Diagnostic::error(Code::InvalidObject, at_field(loc, &e.path), e.message).with_help(help)
}

impl Sink {
    /// Only events about image pulls are kept: they are the only ones detection reads, and
    /// the bulk of a large snapshot's events are not.
    fn keep_event(&mut self, raw: EventRaw) -> Result<(), FieldError> {
        let id = raw.identity();
        let e = raw.into_record().map_err(FieldError::from)?;
        if !e.is_about_image_pull() {
            return Ok(());
        }
        match id {
            // The last copy read wins, as for objects.
            Some(id) => match self.event_ids.get(&id) {
                Some(&i) => self.events[i] = e,
                None => {
                    self.event_ids.insert(id, self.events.len());
                    self.events.push(e);
                }
            },
            None => self.events.push(e),
        }
        Ok(())
    }

    /// Keep an object; a Pod or ImageStream whose fields detection reads have the wrong type
    /// is an error (read as empty, it would pass for healthy).
    fn keep_object(&mut self, o: Object) -> Result<(), FieldError> {
        let shape = match (o.group_kind().group.as_str(), o.kind.as_str()) {
            ("", "Pod") => crate::detect::pod_shape_error(o.raw()),
            ("image.openshift.io", "ImageStream") => crate::detect::imagestream_shape_error(o.raw()),
            _ => None,
        };
        if let Some((path, msg)) = shape {
            let name = match &o.namespace {
                Some(ns) => format!("{ns}/{}", o.name),
                None => o.name.clone(),
            };
            return Err(FieldError {
                message: format!("{} {name}: `{path}` has the wrong type: {msg}", o.kind),
                path,
            });
        }
        self.objects.push(o);
        Ok(())
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
            let loc = at_field(loc, &format!("items[{i}]"));
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
                Err(_) => Err(FieldError::from("the item is not valid JSON")),
            }
        } else {
            self.documents += 1;
            if head.kind.as_deref() == Some("Event") {
                EventRaw::from_json(text).and_then(|e| self.keep_event(e))
            } else {
                Object::from_raw(&head, text)
                    .map_err(FieldError::from)
                    .and_then(|o| self.keep_object(o))
            }
        };
        if let Err(e) = result {
            diags.push(invalid(loc, e));
        }
    }

    fn take_object(&mut self, value: Value, loc: &Location, diags: &mut Diagnostics) {
        self.documents += 1;
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
            EventRaw::from_value(&value).and_then(|e| self.keep_event(e))
        } else {
            Object::from_value(value)
                .map_err(FieldError::from)
                .and_then(|o| self.keep_object(o))
        };
        if let Err(e) = result {
            diags.push(invalid(loc, e));
        }
    }
}

impl Snapshot {
    /// Load files and directories (walked recursively; only `.yaml`, `.yml` and `.json` files,
    /// in any case, inside directories). Problems are diagnostics, never panics.
    pub fn load(paths: &[PathBuf]) -> (Snapshot, Diagnostics) {
        let mut diags = Diagnostics::default();
        let mut sink = Sink::default();
        let mut walker = Walker::new("--snapshot", is_snapshot_file);
        for path in paths {
            let before = sink.documents;
            let errors_before = diags.iter().filter(|d| d.is_error()).count();
            let (files, skipped) = walker.collect(path, &mut diags);
            for file in &files {
                load_file(file, &mut sink, &mut diags);
            }
            let errors_after = diags.iter().filter(|d| d.is_error()).count();
            // Nothing read and nothing wrong would plan on an empty cluster: a false all-clear.
            if sink.documents == before && errors_after == errors_before && (skipped == 0 || !files.is_empty()) {
                let what = if files.is_empty() {
                    "no snapshot files (`.yaml`, `.yml`, `.json`) found"
                } else {
                    "no Kubernetes objects found"
                };
                diags.push(
                    Diagnostic::error(
                        Code::EmptyInput,
                        Location {
                            file: path.display().to_string(),
                            ..Location::default()
                        },
                        format!("{what} in {}", path.display()),
                    )
                    .with_help(
                        "give --snapshot the output of `kubectl get -o yaml|json` or an OpenShift must-gather directory",
                    ),
                );
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

fn extension_is(path: &Path, wanted: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| wanted.iter().any(|w| e.eq_ignore_ascii_case(w)))
}

fn is_snapshot_file(path: &Path) -> bool {
    extension_is(path, &["yaml", "yml", "json"])
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
    if extension_is(path, &["json"]) {
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
    let mut local = Diagnostics::default();
    load_json_text(&text, loc, sink, &mut local);
    for d in local.iter_mut().filter(|d| d.location.line.is_none()) {
        if let Some((line, column)) = d.location.path.as_deref().and_then(|p| json_position(&text, p)) {
            d.location.line = Some(line);
            d.location.column = Some(column);
        }
    }
    diags.extend(local);
}

/// Line and column (1-based) of `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Where a diagnostic's path (`items[3].spec.containers`) is in a JSON file: the item is found
/// exactly, its fields by searching for their keys in order. Only runs for diagnostics.
fn json_position(text: &str, path: &str) -> Option<(usize, usize)> {
    let mut parts = path.split(['.', '[']).filter(|p| !p.is_empty());
    let base = text.as_ptr() as usize;
    let (start, end, rest): (usize, usize, Vec<&str>) = match path.strip_prefix("items[") {
        Some(after) => {
            let i: usize = after.split(']').next()?.parse().ok()?;
            let items: Vec<&RawValue> = if text.trim_start().starts_with('[') {
                serde_json::from_str(text).ok()?
            } else {
                serde_json::from_str::<JsonTop>(text).ok()?.items?
            };
            let raw = items.get(i)?.get();
            let start = raw.as_ptr() as usize - base;
            parts.next();
            (start, start + raw.len(), parts.collect())
        }
        None => {
            let start = text.len() - text.trim_start().len();
            (start, text.len(), parts.collect())
        }
    };
    let mut at = start;
    for key in rest {
        if key.ends_with(']') {
            continue;
        }
        let needle = format!("\"{key}\"");
        match text[at..end].find(&needle) {
            Some(i) => at += i,
            None => break,
        }
    }
    Some(line_col(text, at))
}

fn load_json_text(text: &str, loc: &Location, sink: &mut Sink, diags: &mut Diagnostics) {
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
        match serde_json::from_str::<Vec<&RawValue>>(text) {
            Ok(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, raw)| sink.take_raw(raw, &item_loc(loc, i), None, diags)),
            Err(e) => json_error(e, diags),
        }
        return;
    }
    match serde_json::from_str::<JsonTop>(text) {
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
        Ok(_) => match serde_json::from_str::<&RawValue>(text) {
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
    let mut local = Diagnostics::default();
    for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        match serde::Deserialize::deserialize(doc) {
            Ok(Value::Null) => {}
            Ok(value) => {
                let loc = Location {
                    path: (i > 0).then(|| format!("document {}", i + 1)),
                    ..loc.clone()
                };
                sink.take(value, &loc, &mut local);
            }
            Err(e) => {
                let (line, column) = e
                    .location()
                    .map(|l| (Some(l.line()), Some(l.column())))
                    .unwrap_or((None, None));
                local.push(
                    Diagnostic::error(
                        Code::InvalidYaml,
                        Location {
                            line,
                            column,
                            ..loc.clone()
                        },
                        format!("invalid YAML: {}", crate::load::yaml_message(&e)),
                    )
                    .with_help("the file must hold objects as `kubectl get -o yaml` writes them"),
                );
                // A syntax error leaves the rest of the stream unreadable.
                break;
            }
        }
    }
    // Positions are indexed only when something needs one: most snapshots have no problems.
    let mut index = None;
    for d in local.iter_mut().filter(|d| d.location.line.is_none()) {
        let path = d.location.path.as_deref().unwrap_or("");
        let (doc, rest) = match path.strip_prefix("document ") {
            Some(after) => {
                let (n, rest) = after.split_once('.').unwrap_or((after, ""));
                match n.parse::<usize>() {
                    Ok(n) if n > 0 => (n - 1, rest),
                    _ => continue,
                }
            }
            None => (0, path),
        };
        let index = index.get_or_insert_with(|| PositionIndex::build(&text));
        if let Some((line, column)) = index.find(doc, rest) {
            d.location.line = Some(line);
            d.location.column = Some(column);
        }
    }
    diags.extend(local);
}
