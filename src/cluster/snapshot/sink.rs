//! What one snapshot file (or archive entry) yields: objects, pull events and diagnostics.
//! Files are read in parallel, each into its own `Sink`; they are merged in a fixed order.

use std::collections::HashMap;

use serde_json::Value;

use super::super::event::EventRaw;
use super::super::object::ObjectHead;
use super::super::{EventRecord, FieldError, Object};
use crate::diag::{Code, Diagnostic, Diagnostics, Location};

/// Everything read from one file.
#[derive(Default)]
pub struct Sink {
    pub objects: Vec<Object>,
    /// Pull events with their identity (uid, else namespace/name), when they have one.
    pub events: Vec<(Option<String>, EventRecord)>,
    /// Documents taken (objects, list items, events of any reason), valid or not.
    pub documents: usize,
    /// Pull events about no named object, skipped (one warning per file says how many).
    pub nameless_events: usize,
    pub diags: Diagnostics,
    /// The strings events repeat, kept once (see `EventRecord`).
    pub names: crate::intern::Names,
    /// Objects from here on have plain text, this much of it (see `seal`).
    plain_from: usize,
    plain_bytes: usize,
}

/// `loc` narrowed to a field of the object it points at.
pub fn at_field(loc: &Location, field: &str) -> Location {
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

/// A typed list (`PodList`) as the API returns it: its items carry no `kind`/`apiVersion`.
pub fn list_item_defaults(kind: Option<&str>, api: Option<&str>) -> Option<(String, String)> {
    let kind = kind?.strip_suffix("List")?;
    (!kind.is_empty()).then(|| (kind.to_string(), api.unwrap_or("v1").to_string()))
}

fn fill_defaults(item: &mut Value, defaults: Option<&(String, String)>) {
    if let (Some((kind, api)), Value::Object(m)) = (defaults, item) {
        m.entry("kind").or_insert_with(|| Value::String(kind.clone()));
        m.entry("apiVersion").or_insert_with(|| Value::String(api.clone()));
    }
}

impl Sink {
    /// Only events about image pulls are kept: they are the only ones detection reads, and
    /// the bulk of a large snapshot's events are not.
    fn keep_event(&mut self, raw: EventRaw) -> Result<(), FieldError> {
        let id = raw.identity();
        let e = raw.into_record(&mut self.names).map_err(FieldError::from)?;
        if !e.is_about_image_pull() {
            return Ok(());
        }
        if e.involved_name.is_empty() {
            self.nameless_events += 1;
            return Ok(());
        }
        self.events.push((id, e));
        Ok(())
    }

    /// Keep an object; a Pod or ImageStream whose fields detection reads have the wrong type
    /// is an error (read as empty, it would pass for healthy).
    fn keep_object(&mut self, o: Object) -> Result<(), FieldError> {
        let shape = match (o.group_kind().group.as_str(), o.kind.as_str()) {
            ("", "Pod") => crate::detect::pod_shape_error(&o.raw()),
            ("image.openshift.io", "ImageStream") => crate::detect::imagestream_shape_error(&o.raw()),
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
        self.plain_bytes += o.raw_len();
        self.objects.push(o);
        if self.plain_bytes >= crate::cluster::raw::BLOCK {
            self.seal();
        }
        Ok(())
    }

    /// Compress the text of the objects kept since the last call (see `cluster::raw`): done
    /// as the file is read, on the thread that reads it, so that a file's objects are never
    /// all plain at once.
    pub fn seal(&mut self) {
        let from = self.plain_from.min(self.objects.len());
        crate::cluster::raw::pack(self.objects[from..].iter_mut().map(Object::raw_mut));
        self.plain_from = self.objects.len();
        self.plain_bytes = 0;
    }

    /// Take one decoded document: a list (`items`), a bare sequence, an event, or any other
    /// object.
    pub fn take(&mut self, value: Value, loc: &Location) {
        match value {
            Value::Array(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    self.take(item, &at_field(loc, &format!("[{i}]")));
                }
            }
            Value::Object(mut map) if matches!(map.get("items"), Some(Value::Array(_))) => {
                let defaults = list_item_defaults(
                    map.get("kind").and_then(Value::as_str),
                    map.get("apiVersion").and_then(Value::as_str),
                );
                let Some(Value::Array(items)) = map.remove("items") else {
                    return;
                };
                for (i, mut item) in items.into_iter().enumerate() {
                    let loc = at_field(loc, &format!("items[{i}]"));
                    fill_defaults(&mut item, defaults.as_ref());
                    self.take(item, &loc);
                }
            }
            other => self.take_object(other, loc, None),
        }
    }

    /// One JSON item as text: events and plain objects are read without building a `Value`.
    /// `defaults` is the (kind, apiVersion) of a typed list, for items that carry neither;
    /// `managed` the newest managedFields time when the reader already dropped them. `at`
    /// makes the item's location, for diagnostics only (most items have none, and a large list
    /// has many items).
    pub fn take_raw(
        &mut self,
        text: &str,
        at: &dyn Fn() -> Location,
        defaults: Option<&(String, String)>,
        managed: Option<String>,
    ) {
        // Nine events in ten are not about pulls, and events are most of a capture: one that
        // names itself an Event and has none of the words a pull event's reason holds is passed
        // over before its header is parsed. (Another kind's object would have to hold a nested
        // `"kind":"Event"` to be mistaken for one; escaped JSON inside a string cannot.)
        // (`Event"` first: one scan tells most other objects apart.)
        if text.contains("Event\"")
            && (text.contains("\"kind\":\"Event\"") || text.contains("\"kind\": \"Event\""))
            && !EventRecord::may_be_about_image_pull(text)
        {
            self.documents += 1;
            return;
        }
        let head: Result<ObjectHead, _> = serde_json::from_str(text);
        if let Err(e) = &head
            && e.to_string().starts_with("duplicate field")
        {
            let msg = e.to_string().replacen("duplicate field", "duplicate key", 1);
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            self.documents += 1;
            self.diags.push(
                Diagnostic::error(Code::InvalidYaml, at(), format!("{msg} in one mapping"))
                    .with_help("a repeated key is ambiguous (parsers keep the last); keep one"),
            );
            return;
        }
        let Ok(head) = head else {
            // Not a mapping, or a mapping whose header fields have the wrong type (or repeat):
            // the slow path names the problem.
            let loc = &at();
            match serde_json::from_str::<Value>(text) {
                Ok(v) if v.is_object() => self.take_object(v, loc, managed),
                Ok(mut v) => {
                    fill_defaults(&mut v, defaults);
                    self.take(v, loc)
                }
                Err(e) => self.diags.push(invalid(loc, FieldError::from(format!("{e}").as_str()))),
            }
            return;
        };
        let needs_cleaning = text.contains("\"managedFields\"") || text.contains("last-applied-configuration");
        let kindless = head.kind.is_none() && defaults.is_some();
        let result = if head.items.is_some() || needs_cleaning || kindless {
            match serde_json::from_str::<Value>(text) {
                Ok(mut v) => {
                    fill_defaults(&mut v, defaults);
                    if head.items.is_some() {
                        self.take(v, &at());
                    } else {
                        self.take_object(v, &at(), managed);
                    }
                    return;
                }
                Err(_) => Err(FieldError::from("the item is not valid JSON")),
            }
        } else {
            self.documents += 1;
            if head.kind.as_deref() == Some("Event") {
                // Most events of a capture are not about pulls (`Started`, `Scheduled`, ...):
                // a scan of their text is enough to pass them over without parsing them.
                if !EventRecord::may_be_about_image_pull(text) {
                    return;
                }
                EventRaw::from_json(text).and_then(|e| self.keep_event(e))
            } else {
                Object::from_raw(&head, text)
                    .map_err(FieldError::from)
                    .and_then(|mut o| {
                        o.set_managed_time(managed);
                        self.keep_object(o)
                    })
            }
        };
        if let Err(e) = result {
            self.diags.push(invalid(&at(), e));
        }
    }

    fn take_object(&mut self, value: Value, loc: &Location, managed: Option<String>) {
        self.documents += 1;
        if !value.is_object() {
            self.diags.push(
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
            Object::from_value(value).map_err(FieldError::from).and_then(|mut o| {
                o.set_managed_time(managed);
                self.keep_object(o)
            })
        };
        if let Err(e) = result {
            self.diags.push(invalid(loc, e));
        }
    }

    /// Append another sink's findings (pieces of one file read in parallel, in order).
    pub fn append(&mut self, mut other: Sink) {
        other.seal();
        self.seal();
        self.objects.extend(other.objects);
        self.plain_from = self.objects.len();
        self.events.extend(other.events);
        self.documents += other.documents;
        self.nameless_events += other.nameless_events;
        self.diags.extend(other.diags);
    }
}

/// Pull events of all files, one per identity: of two copies of one event, the one seen more
/// often (then later) is kept, whatever the order the files were read in.
pub fn merge_events(all: impl IntoIterator<Item = (Option<String>, EventRecord)>) -> Vec<EventRecord> {
    let mut out: Vec<EventRecord> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (id, e) in all {
        let Some(id) = id else {
            out.push(e);
            continue;
        };
        match by_id.get(&id) {
            Some(&i) => {
                let old = &out[i];
                if (e.count, &e.last_timestamp, &e) > (old.count, &old.last_timestamp, old) {
                    out[i] = e;
                }
            }
            None => {
                by_id.insert(id, out.len());
                out.push(e);
            }
        }
    }
    // Kept for the whole run: no spare room.
    out.shrink_to_fit();
    out
}
