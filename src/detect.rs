//! Failure detection (pure): kubelet events and container statuses, joined per pod,
//! container and image, deduplicated, with counts and timestamps kept as evidence.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::cluster::{EventRecord, Object};
use crate::refs::image::ImageRef;

/// Waiting reasons that mean the image could not be pulled.
pub const PULL_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "RegistryUnavailable",
    "ImageInspectError",
    "SignatureValidationFailed",
    "ErrRegistryUnavailable",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EvidenceSource {
    Event,
    ContainerStatus,
    /// An ImageStream tag's `ImportSuccess: False` condition.
    ImportStatus,
}

/// One message seen about a failure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    pub source: EvidenceSource,
    pub reason: String,
    pub message: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

impl Evidence {
    /// Whether the message names a cause, rather than only saying that pulling failed
    /// (`Back-off pulling image`, `Error: ImagePullBackOff`, ...).
    pub fn names_cause(&self) -> bool {
        !is_generic(&self.message)
    }
}

/// Lines kubelet writes that say a pull failed without saying why.
pub fn is_generic(message: &str) -> bool {
    let m = message.trim();
    m.is_empty()
        || m.starts_with("Back-off pulling image")
        || m.starts_with("Pulling image")
        || m.starts_with("Error: ErrImagePull")
        || m.starts_with("Error: ImagePullBackOff")
        || m == "ErrImagePull"
        || m == "ImagePullBackOff"
}

/// A failing pull: one container of one pod (or, for orphan events, a pod that is gone).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// `Pod`, or `ImageStream` for an image import that failed.
    pub kind: String,
    pub namespace: String,
    pub pod: String,
    pub pod_exists: bool,
    pub container: Option<String>,
    pub init_container: bool,
    pub image: String,
    pub registry: String,
    #[serde(skip)]
    pub image_ref: Option<ImageRef>,
    pub waiting_reason: Option<String>,
    pub waiting_message: Option<String>,
    pub evidence: Vec<Evidence>,
    pub service_account: Option<String>,
    pub node_name: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub created: Option<String>,
}

impl Failure {
    /// Messages that name a cause; empty when only generic lines survived.
    pub fn cause_messages(&self) -> impl Iterator<Item = &str> {
        self.evidence
            .iter()
            .filter(|e| e.names_cause())
            .map(|e| e.message.as_str())
    }

    pub fn unexplained(&self) -> bool {
        self.cause_messages().next().is_none()
    }

    /// The most telling message: the most frequent one that names a cause.
    pub fn headline(&self) -> Option<&Evidence> {
        self.evidence
            .iter()
            .filter(|e| e.names_cause())
            .max_by(|a, b| a.count.cmp(&b.count).then_with(|| b.message.cmp(&a.message)))
    }

    pub fn total_count(&self) -> u64 {
        self.evidence
            .iter()
            .filter(|e| e.source == EvidenceSource::Event)
            .map(|e| e.count)
            .max()
            .unwrap_or(0)
    }
}

/// Whether an event is about an image pull failure.
pub fn is_pull_event(e: &EventRecord) -> bool {
    e.is_about_image_pull()
}

/// The first double-quoted string of a kubelet message: the image.
fn quoted_image(message: &str) -> Option<&str> {
    let start = message.find('"')? + 1;
    let len = message[start..].find('"')?;
    let s = &message[start..start + len];
    (!s.is_empty() && !s.contains(' ')).then_some(s)
}

/// `spec.containers{name}` → (`name`, init?).
fn container_of(field_path: &str) -> Option<(String, bool)> {
    let init = field_path.starts_with("spec.initContainers");
    // `spec.containers{name}`; anything else (a hand-edited or truncated path) names no container.
    let (_, rest) = field_path.split_once('{')?;
    let (name, _) = rest.rsplit_once('}')?;
    Some((name.to_string(), init))
}

/// (namespace, pod, container, uid of an earlier pod of that name that is gone).
type Key = (String, String, Option<String>, Option<String>);

/// A string of a view, borrowed from the object's text unless it holds escapes: most pods of
/// a snapshot are read once at load (their shape is checked) and never again, so their views
/// should cost no allocation per string.
#[derive(Debug, Default, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Str<'a>(Cow<'a, str>);

impl Str<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Str<'de>;
            // The wording of `String`'s own visitor, so that shape errors read as before.
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_string(V)
    }
}

/// The few fields of a pod detection reads, parsed straight from its JSON text so that a
/// large snapshot's pods are never expanded into full `Value` trees.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodView<'a> {
    #[serde(borrow)]
    metadata: MetaView<'a>,
    #[serde(borrow)]
    spec: SpecView<'a>,
    #[serde(borrow)]
    status: StatusView<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct MetaView<'a> {
    #[serde(borrow)]
    uid: Option<Str<'a>>,
    #[serde(borrow)]
    labels: BTreeMap<Str<'a>, Str<'a>>,
    #[serde(borrow)]
    creation_timestamp: Option<Str<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SpecView<'a> {
    #[serde(borrow)]
    service_account_name: Option<Str<'a>>,
    #[serde(borrow)]
    node_name: Option<Str<'a>>,
    #[serde(borrow)]
    init_containers: Vec<ContainerView<'a>>,
    #[serde(borrow)]
    containers: Vec<ContainerView<'a>>,
    #[serde(borrow)]
    ephemeral_containers: Vec<ContainerView<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ContainerView<'a> {
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow)]
    image: Str<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StatusView<'a> {
    #[serde(borrow)]
    init_container_statuses: Vec<StatusEntry<'a>>,
    #[serde(borrow)]
    container_statuses: Vec<StatusEntry<'a>>,
    #[serde(borrow)]
    ephemeral_container_statuses: Vec<StatusEntry<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct StatusEntry<'a> {
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow)]
    image: Option<Str<'a>>,
    #[serde(borrow)]
    state: StateView<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct StateView<'a> {
    #[serde(borrow)]
    waiting: Option<Waiting<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Waiting<'a> {
    #[serde(borrow)]
    reason: Option<Str<'a>>,
    #[serde(borrow)]
    message: Option<Str<'a>>,
}

fn owned(s: &Option<Str>) -> Option<String> {
    s.as_ref().map(|s| s.as_str().to_string())
}

impl<'a> PodView<'a> {
    fn of(pod: &'a Object) -> Self {
        serde_json::from_str(pod.raw()).unwrap_or_default()
    }

    /// Whether the pod's text may hold a waiting state: only such pods can fail by their
    /// status (a `\u` escape could spell the key).
    fn may_wait(raw: &str) -> bool {
        raw.contains("\"waiting\"") || raw.contains("\\u")
    }

    /// (name, image, init) of every container in the spec.
    fn containers(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        let s = &self.spec;
        s.init_containers
            .iter()
            .map(|c| (c.name.as_str(), c.image.as_str(), true))
            .chain(
                s.containers
                    .iter()
                    .chain(&s.ephemeral_containers)
                    .map(|c| (c.name.as_str(), c.image.as_str(), false)),
            )
    }

    fn statuses(&self) -> impl Iterator<Item = (&StatusEntry<'a>, bool)> {
        let s = &self.status;
        s.init_container_statuses.iter().map(|c| (c, true)).chain(
            s.container_statuses
                .iter()
                .chain(&s.ephemeral_container_statuses)
                .map(|c| (c, false)),
        )
    }

    /// Lookups by container name and image, in O(1): a pod may list any number of containers,
    /// and scanning them for each status and event would be quadratic in the pod's size.
    fn index(&self) -> PodIndex<'_, 'a> {
        let mut idx = PodIndex::default();
        for (name, image, _) in self.containers() {
            idx.image.entry(name).or_insert(image);
            idx.by_image.entry(image).or_insert(name);
        }
        for (st, _) in self.statuses() {
            idx.status.entry(st.name.as_str()).or_insert(st);
        }
        idx
    }

    fn waiting_reason<'s>(st: &'s StatusEntry<'a>) -> Option<&'s str> {
        st.state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.as_ref())
            .map(Str::as_str)
    }
}

/// A pod's containers by name and by image, and its statuses by name (first of each wins,
/// as a scan in order would find).
#[derive(Default)]
struct PodIndex<'v, 'a> {
    image: HashMap<&'v str, &'v str>,
    by_image: HashMap<&'v str, &'v str>,
    status: HashMap<&'v str, &'v StatusEntry<'a>>,
}

impl PodIndex<'_, '_> {
    fn image_of(&self, container: &str) -> Option<String> {
        self.image.get(container).map(|i| i.to_string())
    }

    /// Whether the container has a status and it is not waiting on a pull.
    fn recovered(&self, container: &str) -> bool {
        self.status
            .get(container)
            .is_some_and(|st| PodView::waiting_reason(st).is_none_or(|r| !PULL_REASONS.contains(&r)))
    }
}

/// Find every failing pull in the given pods and events.
pub fn detect(pods: &[Arc<Object>], events: &[EventRecord]) -> Vec<Failure> {
    let mut failures: BTreeMap<Key, Failure> = BTreeMap::new();
    let pull_events: Vec<&EventRecord> = events.iter().filter(|e| is_pull_event(e)).collect();
    // Of two pods of one name the later is the one events are joined to (as a map built in
    // order keeps it).
    let by_name: HashMap<(&str, &str), usize> = pods
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.namespace.as_deref().unwrap_or(""), p.name.as_str()), i))
        .collect();
    // Only pods that may be waiting, or that a pull event names, can be part of a failure:
    // the others (nine in ten of a large capture) are not parsed again.
    let mut needed: Vec<bool> = pods.iter().map(|p| PodView::may_wait(p.raw())).collect();
    for e in &pull_events {
        if let Some(&i) = by_name.get(&(e.namespace.as_str(), e.involved_name.as_str())) {
            needed[i] = true;
        }
    }
    let views: Vec<Option<PodView>> = pods
        .iter()
        .zip(&needed)
        .map(|(p, &n)| n.then(|| PodView::of(p)))
        .collect();
    let indexes: Vec<Option<PodIndex>> = views.iter().map(|v| v.as_ref().map(PodView::index)).collect();
    let pod_at = |i: usize| -> Option<(&Object, &PodView, &PodIndex)> {
        Some((pods[i].as_ref(), views[i].as_ref()?, indexes[i].as_ref()?))
    };

    for (i, pod) in pods.iter().enumerate() {
        let Some((_, view, index)) = pod_at(i) else { continue };
        let ns = pod.namespace.clone().unwrap_or_default();
        for (st, init) in view.statuses() {
            let Some(reason) = PodView::waiting_reason(st) else {
                continue;
            };
            if !PULL_REASONS.contains(&reason) {
                continue;
            }
            let name = st.name.as_str().to_string();
            let message = st.state.waiting.as_ref().and_then(|w| owned(&w.message));
            let image = index.image_of(&name).or_else(|| owned(&st.image)).unwrap_or_default();
            let mut f = new_failure(pod, view, &ns, Some(name.clone()), init, image);
            f.waiting_reason = Some(reason.to_string());
            f.waiting_message = message.clone();
            if let Some(m) = message {
                f.evidence.push(Evidence {
                    source: EvidenceSource::ContainerStatus,
                    reason: reason.to_string(),
                    message: m,
                    event_type: None,
                    count: 1,
                    first_seen: None,
                    last_seen: None,
                });
            }
            failures.insert((ns.clone(), pod.name.clone(), Some(name), None), f);
        }
    }

    // Where each (failure, reason, message) sits in its failure's evidence: one failure may
    // gather any number of distinct messages, and scanning them per event is quadratic.
    // Keyed by the failure's key with its strings borrowed from the event (reason, message).
    type EvidenceKey<'e> = (&'e str, &'e str, Option<String>, Option<String>, &'e str, &'e str);
    let mut evidence_index: HashMap<EvidenceKey, usize> = HashMap::new();
    for e in pull_events {
        let pod = by_name
            .get(&(e.namespace.as_str(), e.involved_name.as_str()))
            .and_then(|&i| pod_at(i));
        // A pod of the same name but another uid (a StatefulSet pod, recreated): the event is
        // about the old pod, which no longer exists. It is an orphan of its own; the new pod's
        // status is the witness for the new one.
        let gone_uid = match (pod, &e.involved_uid) {
            (Some((_, v, _)), Some(a)) if v.metadata.uid.as_ref().is_some_and(|b| a != b.as_str()) => Some(a.clone()),
            _ => None,
        };
        let pod = if gone_uid.is_some() { None } else { pod };
        let from_path = e.field_path.as_deref().and_then(container_of);
        // A pull that failed once and then succeeded: the container runs now, the event is history.
        if let (Some((_, _, x)), Some((c, _))) = (pod, &from_path)
            && x.recovered(c)
        {
            continue;
        }
        let msg_image = quoted_image(&e.message).map(str::to_string);
        let container = from_path.as_ref().map(|(c, _)| c.clone()).or_else(|| {
            let (_, _, x) = pod?;
            x.by_image.get(msg_image.as_deref()?).map(|c| c.to_string())
        });
        let evidence_key = (
            e.namespace.as_str(),
            e.involved_name.as_str(),
            container.clone(),
            gone_uid.clone(),
            e.reason.as_str(),
            e.message.as_str(),
        );
        let key = (
            e.namespace.clone(),
            e.involved_name.clone(),
            container.clone(),
            gone_uid,
        );
        let f = failures.entry(key).or_insert_with(|| {
            let init = from_path.as_ref().is_some_and(|(_, i)| *i);
            let image = container
                .as_deref()
                .and_then(|c| pod.and_then(|(_, _, x)| x.image_of(c)))
                .or_else(|| msg_image.clone())
                .unwrap_or_default();
            match pod {
                Some((p, v, _)) => new_failure(p, v, &e.namespace, container.clone(), init, image),
                None => orphan(e, container.clone(), image),
            }
        });
        if f.image.is_empty()
            && let Some(img) = &msg_image
        {
            f.image = img.clone();
            set_registry(f);
        }
        match evidence_index.entry(evidence_key) {
            std::collections::hash_map::Entry::Occupied(at) => merge_evidence(f, e, Some(*at.get())),
            std::collections::hash_map::Entry::Vacant(at) => {
                merge_evidence(f, e, None);
                at.insert(f.evidence.len() - 1);
            }
        }
    }

    let mut out: Vec<Failure> = failures.into_values().collect();
    for f in &mut out {
        f.evidence.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.cmp(b)));
        // Kept for the whole run, one per failing container: no spare room.
        f.evidence.shrink_to_fit();
    }
    out
}

/// Add an event to a failure's evidence, or to the entry at `existing` (the same reason and
/// message seen before).
fn merge_evidence(f: &mut Failure, e: &EventRecord, existing: Option<usize>) {
    if let Some(ev) = existing.and_then(|i| f.evidence.get_mut(i)) {
        ev.count = ev.count.saturating_add(e.count);
        ev.first_seen = min_opt(&ev.first_seen, &e.first_timestamp);
        ev.last_seen = max_opt(&ev.last_seen, &e.last_timestamp);
        return;
    }
    f.evidence.push(Evidence {
        source: EvidenceSource::Event,
        reason: e.reason.clone(),
        message: e.message.clone(),
        event_type: Some(e.event_type.clone()),
        count: e.count,
        first_seen: e.first_timestamp.clone(),
        last_seen: e.last_timestamp.clone(),
    });
}

fn min_opt(a: &Option<String>, b: &Option<String>) -> Option<String> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y).clone()),
        _ => a.clone().or_else(|| b.clone()),
    }
}

fn max_opt(a: &Option<String>, b: &Option<String>) -> Option<String> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y).clone()),
        _ => a.clone().or_else(|| b.clone()),
    }
}

fn set_registry(f: &mut Failure) {
    f.image_ref = ImageRef::parse(&f.image).ok();
    f.registry = f
        .image_ref
        .as_ref()
        .map(|r| r.registry_host().to_string())
        .unwrap_or_default();
}

fn new_failure(
    pod: &Object,
    view: &PodView,
    ns: &str,
    container: Option<String>,
    init: bool,
    image: String,
) -> Failure {
    let mut f = Failure {
        kind: "Pod".into(),
        namespace: ns.to_string(),
        pod: pod.name.clone(),
        pod_exists: true,
        container,
        init_container: init,
        image,
        registry: String::new(),
        image_ref: None,
        waiting_reason: None,
        waiting_message: None,
        evidence: Vec::new(),
        service_account: Some(owned(&view.spec.service_account_name).unwrap_or_else(|| "default".into())),
        node_name: owned(&view.spec.node_name),
        labels: view
            .metadata
            .labels
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
            .collect(),
        created: owned(&view.metadata.creation_timestamp),
    };
    set_registry(&mut f);
    f
}

fn orphan(e: &EventRecord, container: Option<String>, image: String) -> Failure {
    let mut f = Failure {
        kind: "Pod".into(),
        namespace: e.namespace.clone(),
        pod: e.involved_name.clone(),
        pod_exists: false,
        container,
        init_container: false,
        image,
        registry: String::new(),
        image_ref: None,
        waiting_reason: None,
        waiting_message: None,
        evidence: Vec::new(),
        service_account: None,
        node_name: None,
        labels: BTreeMap::new(),
        created: None,
    };
    set_registry(&mut f);
    f
}

/// Failed imports of OpenShift ImageStream tags (the samples operator's symptom).
pub fn detect_imagestreams(streams: &[Arc<Object>]) -> Vec<Failure> {
    let mut out = Vec::new();
    for is in streams {
        // A stream of the wrong shape was reported by the loader (`imagestream_shape_error`).
        let Ok(view) = serde_json::from_str::<StreamView>(is.raw()) else {
            continue;
        };
        for tag in &view.status.tags {
            let name = tag.tag.as_deref().unwrap_or_default();
            let Some(cond) = tag
                .conditions
                .iter()
                .find(|c| c.type_.as_deref() == Some("ImportSuccess") && c.status.as_deref() == Some("False"))
            else {
                continue;
            };
            let image = view
                .spec
                .tags
                .iter()
                .find(|t| t.name.as_deref() == Some(name))
                .and_then(|t| t.from.as_ref()?.name.clone())
                .unwrap_or_default();
            let mut f = Failure {
                kind: "ImageStream".into(),
                namespace: is.namespace.clone().unwrap_or_default(),
                pod: is.name.clone(),
                pod_exists: true,
                container: Some(name.to_string()),
                init_container: false,
                image,
                registry: String::new(),
                image_ref: None,
                waiting_reason: cond.reason.clone(),
                waiting_message: cond.message.clone(),
                evidence: vec![Evidence {
                    source: EvidenceSource::ImportStatus,
                    reason: cond.reason.clone().unwrap_or_else(|| "ImportFailed".into()),
                    message: cond.message.clone().unwrap_or_default(),
                    event_type: None,
                    count: 1,
                    first_seen: cond.last_transition_time.clone(),
                    last_seen: cond.last_transition_time.clone(),
                }],
                service_account: None,
                node_name: None,
                labels: view.metadata.labels.clone(),
                created: view.metadata.creation_timestamp.clone(),
            };
            set_registry(&mut f);
            out.push(f);
        }
    }
    out
}

/// The field of a Pod that detection cannot read (a wrong type), so the snapshot loader
/// reports it instead of detection taking the pod for healthy. Uses detection's own view.
pub fn pod_shape_error(raw: &str) -> Option<(String, String)> {
    serde_json::from_str::<PodView>(raw).err()?;
    crate::cluster::wrong_field_by(&serde_json::from_str(raw).ok()?, |v| {
        <PodView as serde::Deserialize>::deserialize(v).err()
    })
}

/// The fields of an ImageStream `detect_imagestreams` reads: detection reads streams through
/// it, and the loader checks their shape with it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct StreamView {
    metadata: StreamMeta,
    spec: StreamSpecView,
    status: StreamStatusView,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StreamMeta {
    labels: BTreeMap<String, String>,
    creation_timestamp: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct StreamSpecView {
    tags: Vec<StreamSpecTag>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct StreamSpecTag {
    name: Option<String>,
    from: Option<StreamFrom>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct StreamFrom {
    name: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct StreamStatusView {
    tags: Vec<StreamStatusTag>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StreamStatusTag {
    tag: Option<String>,
    conditions: Vec<StreamCondition>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct StreamCondition {
    #[serde(rename = "type")]
    type_: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    message: Option<String>,
    last_transition_time: Option<String>,
}

/// Like `pod_shape_error`, for the ImageStream fields `detect_imagestreams` reads.
pub fn imagestream_shape_error(raw: &str) -> Option<(String, String)> {
    serde_json::from_str::<StreamView>(raw).err()?;
    crate::cluster::wrong_field::<StreamView>(&serde_json::from_str(raw).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, reason: &str, message: Option<&str>) -> Arc<Object> {
        let mut waiting = json!({"reason": reason});
        if let Some(m) = message {
            waiting["message"] = json!(m);
        }
        Arc::new(
            Object::from_value(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "apps", "uid": "u1", "labels": {"app": "web"}},
                "spec": {"serviceAccountName": "builder", "containers": [{"name": "web", "image": "quay.io/acme/web:1"}],
                         "initContainers": [{"name": "init", "image": "busybox"}]},
                "status": {"containerStatuses": [{"name": "web", "image": "quay.io/acme/web:1", "state": {"waiting": waiting}}],
                           "initContainerStatuses": [{"name": "init", "state": {"terminated": {"reason": "Completed"}}}]}
            }))
            .unwrap(),
        )
    }

    fn event(pod: &str, reason: &str, message: &str, count: u64, uid: Option<&str>) -> EventRecord {
        EventRecord {
            namespace: "apps".into(),
            involved_kind: "Pod".into(),
            involved_name: pod.into(),
            involved_uid: uid.map(String::from),
            field_path: Some("spec.containers{web}".into()),
            reason: reason.into(),
            event_type: "Warning".into(),
            message: message.into(),
            count,
            first_timestamp: Some("2026-01-01T00:00:00Z".into()),
            last_timestamp: Some("2026-01-01T01:00:00Z".into()),
            component: Some("kubelet".into()),
        }
    }

    #[test]
    fn odd_field_paths_name_no_container_and_never_panic() {
        assert_eq!(container_of("spec.containers{web}"), Some(("web".into(), false)));
        assert_eq!(container_of("spec.initContainers{init}"), Some(("init".into(), true)));
        assert_eq!(container_of("a}b{c"), None);
        assert_eq!(container_of("spec.containers{"), None);
    }

    #[test]
    fn huge_event_counts_saturate() {
        let pods = vec![pod("web-1", "ErrImagePull", None)];
        let msg = "Failed to pull image \"quay.io/acme/web:1\": unauthorized";
        let events = vec![
            event("web-1", "Failed", msg, u64::MAX, Some("u1")),
            event("web-1", "Failed", msg, 5, Some("u1")),
        ];
        let fs = detect(&pods, &events);
        let ev = fs[0]
            .evidence
            .iter()
            .find(|e| e.message == msg)
            .expect("the event is evidence");
        assert_eq!(ev.count, u64::MAX);
    }

    #[test]
    fn joins_status_and_events_per_container() {
        let pods = vec![pod(
            "web-1",
            "ImagePullBackOff",
            Some("Back-off pulling image \"quay.io/acme/web:1\""),
        )];
        let events = vec![
            event(
                "web-1",
                "Failed",
                "Failed to pull image \"quay.io/acme/web:1\": unauthorized: access to the requested resource is not authorized",
                7,
                Some("u1"),
            ),
            event("web-1", "Failed", "Error: ErrImagePull", 7, Some("u1")),
            event(
                "web-1",
                "BackOff",
                "Back-off pulling image \"quay.io/acme/web:1\"",
                30,
                Some("u1"),
            ),
            event(
                "web-1",
                "Pulling",
                "Pulling image \"quay.io/acme/web:1\"",
                8,
                Some("u1"),
            ),
        ];
        let fs = detect(&pods, &events);
        assert_eq!(fs.len(), 1, "{fs:#?}");
        let f = &fs[0];
        assert_eq!(f.container.as_deref(), Some("web"));
        assert_eq!(f.registry, "quay.io");
        assert_eq!(f.service_account.as_deref(), Some("builder"));
        assert_eq!(
            f.evidence.len(),
            4,
            "3 pull events + the status; Pulling is not evidence"
        );
        assert!(!f.unexplained());
        assert!(f.headline().unwrap().message.contains("not authorized"));
        assert_eq!(f.total_count(), 30);
    }

    #[test]
    fn back_off_only_is_unexplained() {
        let pods = vec![pod(
            "web-1",
            "ImagePullBackOff",
            Some("Back-off pulling image \"quay.io/acme/web:1\""),
        )];
        let events = vec![event(
            "web-1",
            "BackOff",
            "Back-off pulling image \"quay.io/acme/web:1\"",
            4208,
            None,
        )];
        let fs = detect(&pods, &events);
        assert_eq!(fs.len(), 1);
        assert!(fs[0].unexplained());
    }

    #[test]
    fn events_of_vanished_pods_are_orphans() {
        let events = vec![event(
            "gone-1",
            "Failed",
            "Failed to pull image \"nginx:1.25\": not found",
            2,
            Some("u9"),
        )];
        let fs = detect(&[], &events);
        assert_eq!(fs.len(), 1);
        assert!(!fs[0].pod_exists);
        assert_eq!(fs[0].registry, "docker.io");
        // Same name, other uid: the pod was recreated; the event is about the old one, which
        // is gone: an orphan beside the new pod's own failure, never merged into it.
        let pods = vec![pod("gone-1", "ErrImagePull", Some("x"))];
        let fs = detect(&pods, &events);
        assert_eq!(fs.len(), 2, "{fs:#?}");
        let live: Vec<&Failure> = fs.iter().filter(|f| f.pod_exists).collect();
        let gone: Vec<&Failure> = fs.iter().filter(|f| !f.pod_exists).collect();
        assert_eq!((live.len(), gone.len()), (1, 1));
        assert!(
            live[0]
                .evidence
                .iter()
                .all(|e| e.message != "Failed to pull image \"nginx:1.25\": not found"),
            "{fs:#?}"
        );
        assert_eq!(gone[0].pod, "gone-1");
        assert_eq!(gone[0].container.as_deref(), Some("web"));
        assert_eq!(gone[0].image, "nginx:1.25", "the image named in the old pod's event");
        assert_eq!(gone[0].evidence[0].count, 2);
        // The same uid (or none recorded) is the live pod's own event.
        let same = vec![event(
            "gone-1",
            "Failed",
            "Failed to pull image \"nginx:1.25\": not found",
            2,
            Some("u1"),
        )];
        let fs = detect(&pods, &same);
        assert_eq!(fs.len(), 1);
        assert!(fs[0].pod_exists);
        let no_uid = vec![event(
            "gone-1",
            "Failed",
            "Failed to pull image \"nginx:1.25\": not found",
            2,
            None,
        )];
        assert_eq!(detect(&pods, &no_uid).len(), 1);
    }

    #[test]
    fn duplicate_events_are_merged_and_counts_summed() {
        let pods = vec![pod("web-1", "ErrImagePull", None)];
        let m = "Failed to pull image \"quay.io/acme/web:1\": x509: certificate signed by unknown authority";
        let events = vec![
            event("web-1", "Failed", m, 3, Some("u1")),
            event("web-1", "Failed", m, 4, Some("u1")),
        ];
        let fs = detect(&pods, &events);
        assert_eq!(fs[0].evidence.len(), 1);
        assert_eq!(fs[0].evidence[0].count, 7);
    }

    /// One pod with very many containers, all failing, each named by an event: every lookup
    /// inside the pod is hashed, so this is linear (it scanned every container for each
    /// status and event, quadratic: 100 000 containers took 84 s).
    #[test]
    fn a_pod_with_very_many_containers_is_linear() {
        let n = 30_000;
        let containers: Vec<_> = (0..n)
            .map(|i| json!({"name": format!("c{i}"), "image": format!("quay.io/acme/c{i}:1")}))
            .collect();
        let statuses: Vec<_> = (0..n)
            .map(|i| json!({"name": format!("c{i}"), "state": {"waiting": {"reason": "ImagePullBackOff"}}}))
            .collect();
        let big = Arc::new(
            Object::from_value(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "big", "namespace": "apps", "uid": "u1"},
                "spec": {"containers": containers},
                "status": {"containerStatuses": statuses}
            }))
            .unwrap(),
        );
        let events: Vec<EventRecord> = (0..n)
            .map(|i| {
                let mut e = event(
                    "big",
                    "Failed",
                    &format!("Failed to pull image \"quay.io/acme/c{i}:1\": denied"),
                    1,
                    Some("u1"),
                );
                e.field_path = None;
                e
            })
            .collect();
        let failures = detect(&[big], &events);
        assert_eq!(failures.len(), n);
        let last = failures
            .iter()
            .find(|f| f.container.as_deref() == Some("c29999"))
            .unwrap();
        assert_eq!(last.image, "quay.io/acme/c29999:1");
        // Joined by image: the event found the container its status names (else it would be
        // a failure of its own, with no container).
        assert_eq!(last.evidence.len(), 1);
        assert_eq!(last.waiting_reason.as_deref(), Some("ImagePullBackOff"));
        // Many distinct messages for one container are gathered in linear time too.
        let events: Vec<EventRecord> = (0..n)
            .map(|i| {
                event(
                    "big",
                    "Failed",
                    &format!("Failed to pull image \"x\": {i}"),
                    1,
                    Some("u1"),
                )
            })
            .collect();
        let f = detect(&[], &events);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence.len(), n);
    }

    #[test]
    fn a_pull_that_recovered_is_history() {
        let mut v = pod("web-1", "ErrImagePull", None).value().clone();
        v["status"]["containerStatuses"][0]["state"] = json!({"running": {"startedAt": "2026-01-01T01:00:00Z"}});
        let p = Object::from_value(v).unwrap();
        let events = vec![event(
            "web-1",
            "Failed",
            "Failed to pull image \"quay.io/acme/web:1\": 429 Too Many Requests",
            1,
            Some("u1"),
        )];
        assert!(detect(&[Arc::new(p)], &events).is_empty());
    }

    /// Pods are parsed again only when they may be waiting or an event names them: a key
    /// spelled with an escape (`w\u0061iting`) must still be found, as the parser reads it.
    #[test]
    fn an_escaped_waiting_key_is_still_read() {
        let text = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"apps"},"spec":{"containers":[{"name":"c","image":"quay.io/a/b:1"}]},"status":{"containerStatuses":[{"name":"c","state":{"w\u0061iting":{"reason":"ErrImagePull","message":"x"}}}]}}"#;
        let p = Object::from_json_text(text).unwrap();
        assert!(!p.raw().contains("\"waiting\""));
        let fs = detect(&[Arc::new(p)], &[]);
        assert_eq!(fs.len(), 1, "{fs:#?}");
        assert_eq!(fs[0].image, "quay.io/a/b:1");
        assert_eq!(fs[0].waiting_message.as_deref(), Some("x"));
    }

    /// A pod with no waiting state that only an event names is still joined to the event (its
    /// service account and labels come from the pod).
    #[test]
    fn a_pod_only_an_event_names_is_read() {
        let mut v = pod("web-1", "ErrImagePull", None).value().clone();
        v["status"] = json!({"phase": "Pending"});
        let p = Object::from_value(v).unwrap();
        assert!(!p.raw().contains("waiting"));
        let events = vec![event(
            "web-1",
            "Failed",
            "Failed to pull image \"quay.io/acme/web:1\": denied",
            1,
            Some("u1"),
        )];
        let fs = detect(&[Arc::new(p)], &events);
        assert_eq!(fs.len(), 1, "{fs:#?}");
        assert!(fs[0].pod_exists);
        assert_eq!(fs[0].service_account.as_deref(), Some("builder"));
        assert_eq!(fs[0].labels.get("app").map(String::as_str), Some("web"));
    }

    /// The shape check reads the same view detection does; strings borrowed or not, a wrong
    /// type is named with serde's wording.
    #[test]
    fn shape_errors_name_the_field() {
        let (path, msg) = pod_shape_error(r#"{"kind":"Pod","metadata":{"name":"p","labels":{"a":1}}}"#).unwrap();
        assert_eq!(path, "metadata.labels.a");
        assert!(msg.contains("expected a string"), "{msg}");
        let (path, _) =
            pod_shape_error(r#"{"kind":"Pod","spec":{"containers":[{"name":"c","image":["x"]}]}}"#).unwrap();
        assert!(path.starts_with("spec.containers[0].image"), "{path}");
        assert_eq!(
            pod_shape_error(r#"{"kind":"Pod","metadata":{"name":"p\u0041","labels":{"a":"\u00e9"}}}"#),
            None
        );
    }

    #[test]
    fn running_init_container_is_not_a_failure() {
        let fs = detect(&[pod("web-1", "ContainerCreating", None)], &[]);
        assert!(fs.is_empty());
    }
}
