//! Events, reduced to what failure detection reads (`EventRecord`), and the typed form
//! core/v1 and events.k8s.io/v1 events are both read through (`EventRaw`).

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::object::MetaHead;
use super::wrong_field::FieldError;
use crate::intern::Names;

/// An event, reduced to what failure detection reads. Events are the bulk of a large
/// snapshot, so they are not kept as whole objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EventRecord {
    // All but the container and the message repeat across events: each is kept once per file
    // read (`intern::Names`).
    pub namespace: Arc<str>,
    pub involved_kind: Arc<str>,
    pub involved_name: Arc<str>,
    pub involved_uid: Option<Arc<str>>,
    /// `spec.containers{name}` / `spec.initContainers{name}`.
    pub field_path: Option<String>,
    pub reason: Arc<str>,
    pub event_type: Arc<str>,
    /// Shared with the evidence of the failures it is about.
    pub message: Arc<str>,
    pub count: u64,
    pub first_timestamp: Option<Arc<str>>,
    pub last_timestamp: Option<Arc<str>>,
    pub component: Option<Arc<str>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct RefRaw {
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    #[serde(rename = "fieldPath")]
    field_path: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct SeriesRaw {
    count: Option<u64>,
    #[serde(rename = "lastObservedTime")]
    last_observed_time: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct SourceRaw {
    component: Option<String>,
}

/// core/v1 and events.k8s.io/v1 events: every field remedy reads, typed.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventRaw {
    metadata: Option<MetaHead>,
    involved_object: Option<RefRaw>,
    regarding: Option<RefRaw>,
    reason: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    message: Option<String>,
    note: Option<String>,
    count: Option<u64>,
    deprecated_count: Option<u64>,
    series: Option<SeriesRaw>,
    first_timestamp: Option<String>,
    last_timestamp: Option<String>,
    deprecated_first_timestamp: Option<String>,
    deprecated_last_timestamp: Option<String>,
    event_time: Option<String>,
    source: Option<SourceRaw>,
    reporting_controller: Option<String>,
}

impl EventRaw {
    /// Parse an event from JSON text; a field of the wrong type is named in the error.
    pub fn from_json(text: &str) -> Result<EventRaw, FieldError> {
        serde_json::from_str(text).map_err(|e| match serde_json::from_str::<Value>(text) {
            Ok(v) => FieldError::of::<EventRaw>(&v, "the event"),
            Err(_) => FieldError {
                path: String::new(),
                message: format!("the event is not valid JSON: {e}"),
            },
        })
    }

    /// Parse an event from a decoded document; a field of the wrong type is named in the error.
    pub fn from_value(v: &Value) -> Result<EventRaw, FieldError> {
        serde::Deserialize::deserialize(v).map_err(|_| FieldError::of::<EventRaw>(v, "the event"))
    }

    /// What makes two copies of one event the same event: its uid, else its namespace and name
    /// (unique per namespace). `None` when it has neither (then it cannot be told apart).
    pub fn identity(&self) -> Option<String> {
        let m = self.metadata.as_ref()?;
        m.uid.clone().or_else(|| {
            let name = m.name.as_deref()?;
            Some(format!("{}/{name}", m.namespace.as_deref().unwrap_or("")))
        })
    }

    /// The record; an event about no named object (OpenShift's bootstrap events name only a
    /// namespace) has an empty `involved_name`: legal, and never about a pod's pull.
    pub fn into_record(self, names: &mut Names) -> Result<EventRecord, &'static str> {
        let r = self.involved_object.or(self.regarding).unwrap_or_default();
        let namespace = r
            .namespace
            .or_else(|| self.metadata.and_then(|m| m.namespace))
            .unwrap_or_default();
        let series_count = self.series.as_ref().and_then(|s| s.count);
        let series_last = self.series.and_then(|s| s.last_observed_time);
        Ok(EventRecord {
            namespace: names.get(&namespace),
            involved_kind: names.get(r.kind.as_deref().unwrap_or_default()),
            involved_name: names.get(r.name.as_deref().unwrap_or_default()),
            involved_uid: r.uid.map(|u| names.get(&u)),
            field_path: r.field_path,
            reason: names.get(self.reason.as_deref().unwrap_or_default()),
            event_type: names.get(self.event_type.as_deref().unwrap_or("Normal")),
            message: self.message.or(self.note).unwrap_or_default().into(),
            count: self.count.or(self.deprecated_count).or(series_count).unwrap_or(1),
            first_timestamp: once(
                names,
                self.first_timestamp
                    .or(self.deprecated_first_timestamp)
                    .or_else(|| self.event_time.clone()),
            ),
            last_timestamp: once(
                names,
                self.last_timestamp
                    .or(self.deprecated_last_timestamp)
                    .or(series_last)
                    .or(self.event_time),
            ),
            component: once(
                names,
                self.source.and_then(|s| s.component).or(self.reporting_controller),
            ),
        })
    }
}

fn once(names: &mut Names, s: Option<String>) -> Option<Arc<str>> {
    s.map(|s| names.get(&s))
}

impl EventRecord {
    /// Whether the event is kubelet's word on a failed image pull (the only events detection
    /// reads, so the only ones a backend needs to keep).
    /// False only for an event's JSON text that `is_about_image_pull` would certainly refuse:
    /// every reason it accepts contains one of these words (and `\u` escapes could hide one).
    pub fn may_be_about_image_pull(json: &str) -> bool {
        ["Fail", "BackOff", "InvalidImageName", "ErrImage", "\\u"]
            .iter()
            .any(|w| json.contains(w))
    }

    pub fn is_about_image_pull(&self) -> bool {
        let e = self;
        if &*e.involved_kind != "Pod" {
            return false;
        }
        let m = &*e.message;
        match &*e.reason {
            "Failed" => {
                m.starts_with("Failed to pull image")
                    || m.starts_with("Error: ErrImagePull")
                    || m.starts_with("Error: ImagePullBackOff")
                    || m.starts_with("Error: InvalidImageName")
                    || m.starts_with("Error: ErrImageNeverPull")
                    || m.starts_with("Failed to apply default image tag")
                    || m.contains("is not present with pull policy of Never")
                    || m.contains("image pull failed")
            }
            "BackOff" => m.starts_with("Back-off pulling image"),
            "InspectFailed" | "ErrImageNeverPull" | "InvalidImageName" | "ErrImagePull" | "ImagePullBackOff"
            | "PullImageFailed" | "FailedToPullImage" => true,
            _ => false,
        }
    }

    /// From a core/v1 `Event` or an `events.k8s.io/v1` one.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        Self::from_value_in(v, &mut Names::default())
    }

    /// As `from_value`, its repeated strings shared with the other events read with `names`.
    pub fn from_value_in(v: &Value, names: &mut Names) -> Result<Self, FieldError> {
        EventRaw::from_value(v).and_then(|e| e.into_record(names).map_err(FieldError::from))
    }
}
