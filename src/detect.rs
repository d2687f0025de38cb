//! Failure detection (pure): kubelet events and container statuses, joined per pod,
//! container and image, deduplicated, with counts and timestamps kept as evidence.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::cluster::{EventRecord, Object};
use crate::refs::image::ImageRef;

mod make;
mod view;
use make::{Names, PodFacts, new_failure, orphan, set_registry};
use view::{PodIndex, PodView, Str, owned};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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
    // Reasons, types and times repeat across a run's failures: each is kept once (`Names`).
    pub reason: Arc<str>,
    /// Shared with the event or status it was read from: a message is often the bulk of a
    /// failure, and each is kept once.
    pub message: Arc<str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<Arc<str>>,
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Arc<str>>,
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
    pub kind: &'static str,
    // What a pod's failures have in common is shared by them (one pod can fail in thousands
    // of containers), as is a registry's name and a waiting reason by a run's failures.
    pub namespace: Arc<str>,
    pub pod: Arc<str>,
    pub pod_exists: bool,
    pub container: Option<Arc<str>>,
    pub init_container: bool,
    pub image: Arc<str>,
    pub registry: Arc<str>,
    pub waiting_reason: Option<Arc<str>>,
    /// The container status's message: the same allocation as its evidence's.
    pub waiting_message: Option<Arc<str>>,
    pub evidence: Vec<Evidence>,
    pub service_account: Option<Arc<str>>,
    pub node_name: Option<Arc<str>>,
    pub labels: Arc<BTreeMap<String, String>>,
    pub created: Option<Arc<str>>,
}

impl Failure {
    /// The image, parsed: made when a template needs it rather than kept with every failure.
    pub fn image_ref(&self) -> Option<ImageRef> {
        ImageRef::parse(&self.image).ok()
    }

    /// Messages that name a cause; empty when only generic lines survived.
    pub fn cause_messages(&self) -> impl Iterator<Item = &str> {
        self.evidence.iter().filter(|e| e.names_cause()).map(|e| &*e.message)
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
fn container_of(field_path: &str) -> Option<(&str, bool)> {
    let init = field_path.starts_with("spec.initContainers");
    // `spec.containers{name}`; anything else (a hand-edited or truncated path) names no container.
    let (_, rest) = field_path.split_once('{')?;
    let (name, _) = rest.rsplit_once('}')?;
    Some((name, init))
}

/// A failure's key, borrowed from the pods and events: (namespace, pod, container, uid of an
/// earlier pod of that name that is gone). A container's name is copied only when the pod's
/// text spells it with escapes: the pod's view is not kept (see `detect`).
type Key<'a> = (&'a str, &'a str, Option<Cow<'a, str>>, Option<&'a str>);

/// Failures in the order they are found, each found again by its key, and sorted by key at
/// the end (the order a map gives) in place: no map node and no second list per failure.
#[derive(Default)]
struct Found<'a> {
    list: Vec<(Key<'a>, Failure)>,
    at: HashMap<Key<'a>, usize>,
}

impl<'a> Found<'a> {
    /// Add a failure, or replace the one of that key.
    fn insert(&mut self, key: Key<'a>, f: Failure) {
        match self.at.entry(key) {
            std::collections::hash_map::Entry::Occupied(at) => self.list[*at.get()].1 = f,
            std::collections::hash_map::Entry::Vacant(at) => {
                let key = at.key().clone();
                at.insert(self.list.len());
                self.list.push((key, f));
            }
        }
    }

    /// The failure of that key, made by `make` if there is none yet.
    /// The failure of that key (and its place), made by `make` if there is none yet.
    fn entry(&mut self, key: Key<'a>, make: impl FnOnce() -> Failure) -> (usize, &mut Failure) {
        let i = *self.at.entry(key.clone()).or_insert_with(|| {
            self.list.push((key, make()));
            self.list.len() - 1
        });
        (i, &mut self.list[i].1)
    }

    fn into_sorted(self) -> Vec<Failure> {
        let Found { mut list, at } = self;
        drop(at);
        // Keys are unique: an unstable sort gives the one order, without a buffer.
        list.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        list.into_iter().map(|(_, f)| f).collect()
    }
}

/// Find every failing pull in the given pods and events.
pub fn detect(pods: &[Arc<Object>], events: &[EventRecord]) -> Vec<Failure> {
    let mut failures = Found::default();
    let mut names = Names::default();
    // Each pod's shared facts, made with its first failure.
    let mut facts: HashMap<usize, PodFacts> = HashMap::new();
    let pull_events: Vec<&EventRecord> = events.iter().filter(|e| is_pull_event(e)).collect();
    // Of two pods of one name the later is the one events are joined to (as a map built in
    // order keeps it).
    let by_name: HashMap<(&str, &str), usize> = pods
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.namespace.as_deref().unwrap_or(""), p.name.as_str()), i))
        .collect();
    // The views of pods a pull event names are kept: events are joined to them after the
    // statuses. Any other pod that may be waiting is viewed for its statuses and the view
    // dropped (with its lookups, more than most pods' text); the rest (nine in ten of a large
    // capture) are not parsed again.
    let mut named: Vec<bool> = vec![false; pods.len()];
    for e in &pull_events {
        if let Some(&i) = by_name.get(&(e.namespace.as_str(), e.involved_name.as_str())) {
            named[i] = true;
        }
    }
    let views: Vec<Option<PodView>> = pods
        .iter()
        .zip(&named)
        .map(|(p, &n)| n.then(|| PodView::of(p)))
        .collect();
    let indexes: Vec<Option<PodIndex>> = views.iter().map(|v| v.as_ref().map(PodView::index)).collect();
    let pod_at = |i: usize| -> Option<(&Object, &PodView, &PodIndex)> {
        Some((pods[i].as_ref(), views[i].as_ref()?, indexes[i].as_ref()?))
    };

    for (i, pod) in pods.iter().enumerate() {
        let own_view;
        let own_index;
        let (view, index) = match pod_at(i) {
            Some((_, v, x)) => (v, x),
            None if !named[i] && PodView::may_wait(pod.raw()) => {
                own_view = PodView::of(pod);
                own_index = own_view.index();
                (&own_view, &own_index)
            }
            None => continue,
        };
        let ns = pod.namespace.as_deref().unwrap_or("");
        // One failure per waiting container: room for a pod's all at once, so that one pod of
        // many containers gets a list of exactly their number (not the next power of two).
        failures
            .list
            .reserve(view.statuses().filter(|(st, _)| pulling(st)).count());
        let mut own_facts: Option<PodFacts> = None;
        for (st, init) in view.statuses() {
            let Some(reason) = PodView::waiting_reason(st).filter(|r| PULL_REASONS.contains(r)) else {
                continue;
            };
            let name = st.name.as_str();
            let message = st
                .state
                .waiting
                .as_ref()
                .and_then(|w| w.message.as_ref())
                .map(Str::to_shared);
            let image = index.image_of(name).or_else(|| owned(&st.image)).unwrap_or_default();
            // Kept for the events only of pods they name.
            let shared = match &mut own_facts {
                Some(f) => &*f,
                None if named[i] => facts
                    .entry(i)
                    .or_insert_with(|| PodFacts::of(pod, view, ns, &mut names)),
                None => own_facts.insert(PodFacts::of(pod, view, ns, &mut names)),
            };
            let mut f = new_failure(shared, Some(name), init, &image, &mut names);
            f.waiting_reason = Some(names.get(reason));
            f.waiting_message = message.clone();
            if let Some(m) = message {
                // Kept for the whole run, one per failing container: no spare room.
                f.evidence.reserve_exact(1);
                f.evidence.push(Evidence {
                    source: EvidenceSource::ContainerStatus,
                    reason: names.get(reason),
                    message: m,
                    event_type: None,
                    count: 1,
                    first_seen: None,
                    last_seen: None,
                });
            }
            failures.insert((ns, pod.name.as_str(), Some(st.name.to_key()), None), f);
        }
    }

    // Where each (failure, reason, message) sits in its failure's evidence: one failure may
    // gather any number of distinct messages, and scanning them per event is quadratic.
    // Keyed by the failure's key with its strings borrowed from the event (reason, message).
    // The failure is named by its place in the list, not by a second copy of its key.
    type EvidenceKey<'e> = (usize, &'e str, &'e str);
    let mut evidence_index: HashMap<EvidenceKey, usize> = HashMap::new();
    for e in pull_events {
        let found = by_name
            .get(&(e.namespace.as_str(), e.involved_name.as_str()))
            .and_then(|&i| Some((i, pod_at(i)?)));
        let pod = found.map(|(_, p)| p);
        // A pod of the same name but another uid (a StatefulSet pod, recreated): the event is
        // about the old pod, which no longer exists. It is an orphan of its own; the new pod's
        // status is the witness for the new one.
        let gone_uid = match (pod, &e.involved_uid) {
            (Some((_, v, _)), Some(a)) if v.metadata.uid.as_ref().is_some_and(|b| a != b.as_str()) => Some(a.as_str()),
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
        let msg_image: Option<&str> = quoted_image(&e.message);
        let container: Option<&str> = from_path.map(|(c, _)| c).or_else(|| {
            let (_, _, x) = pod?;
            x.by_image.get(msg_image?).copied()
        });
        let key = (
            e.namespace.as_str(),
            e.involved_name.as_str(),
            container.map(Cow::Borrowed),
            gone_uid,
        );
        let (at, f) = failures.entry(key, || {
            let init = from_path.as_ref().is_some_and(|(_, i)| *i);
            let image = container
                .and_then(|c| pod.and_then(|(_, _, x)| x.image_of(c)))
                .or_else(|| msg_image.map(str::to_string))
                .unwrap_or_default();
            match (pod, found) {
                (Some((p, v, _)), Some((i, _))) => {
                    let shared = facts
                        .entry(i)
                        .or_insert_with(|| PodFacts::of(p, v, &e.namespace, &mut names));
                    new_failure(shared, container, init, &image, &mut names)
                }
                _ => orphan(e, container, &image, &mut names),
            }
        });
        if f.image.is_empty()
            && let Some(img) = msg_image
        {
            f.image = names.get(img);
            set_registry(f, &mut names);
        }
        match evidence_index.entry((at, e.reason.as_str(), &*e.message)) {
            std::collections::hash_map::Entry::Occupied(at) => merge_evidence(f, e, Some(*at.get()), &mut names),
            std::collections::hash_map::Entry::Vacant(at) => {
                merge_evidence(f, e, None, &mut names);
                at.insert(f.evidence.len() - 1);
            }
        }
    }

    // The lookups are done with: freed before the list is sorted and shrunk (the views stay:
    // keys may borrow a container name from them).
    drop(evidence_index);
    drop(facts);
    drop(indexes);
    let mut out: Vec<Failure> = failures.into_sorted();
    // Collected in place into the list of (key, failure): keep only the room it needs.
    out.shrink_to_fit();
    for f in &mut out {
        f.evidence.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.cmp(b)));
        // Kept for the whole run, one per failing container: no spare room.
        f.evidence.shrink_to_fit();
    }
    out
}

/// Whether a container status is waiting on a failed pull.
fn pulling(st: &view::StatusEntry) -> bool {
    PodView::waiting_reason(st).is_some_and(|r| PULL_REASONS.contains(&r))
}

/// Add an event to a failure's evidence, or to the entry at `existing` (the same reason and
/// message seen before).
fn merge_evidence(f: &mut Failure, e: &EventRecord, existing: Option<usize>, names: &mut Names) {
    if let Some(ev) = existing.and_then(|i| f.evidence.get_mut(i)) {
        ev.count = ev.count.saturating_add(e.count);
        keep_edge(&mut ev.first_seen, &e.first_timestamp, Ordering::Less, names);
        keep_edge(&mut ev.last_seen, &e.last_timestamp, Ordering::Greater, names);
        return;
    }
    f.evidence.reserve_exact(1);
    let time = |t: &Option<String>, names: &mut Names| t.as_deref().map(|t| names.get(t));
    f.evidence.push(Evidence {
        source: EvidenceSource::Event,
        reason: names.get(&e.reason),
        message: e.message.clone(),
        event_type: Some(names.get(&e.event_type)),
        count: e.count,
        first_seen: time(&e.first_timestamp, names),
        last_seen: time(&e.last_timestamp, names),
    });
}

/// Keep the earliest (`Less`) or the latest (`Greater`) of a sighting's time and an event's:
/// either when only one is known.
fn keep_edge(kept: &mut Option<Arc<str>>, seen: &Option<String>, edge: Ordering, names: &mut Names) {
    let Some(seen) = seen.as_deref() else { return };
    if kept.as_deref().is_none_or(|k| seen.cmp(k) == edge) {
        *kept = Some(names.get(seen));
    }
}

/// Failed imports of OpenShift ImageStream tags (the samples operator's symptom).
pub fn detect_imagestreams(streams: &[Arc<Object>]) -> Vec<Failure> {
    let mut out = Vec::new();
    let mut names = Names::default();
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
            let message: Option<Arc<str>> = cond.message.as_deref().map(Arc::from);
            let mut f = Failure {
                kind: "ImageStream",
                namespace: names.get(is.namespace.as_deref().unwrap_or_default()),
                pod: Arc::from(is.name.as_str()),
                pod_exists: true,
                container: Some(names.get(name)),
                init_container: false,
                image: names.get(&image),
                registry: names.get(""),
                waiting_reason: cond.reason.as_deref().map(|r| names.get(r)),
                waiting_message: message.clone(),
                evidence: vec![Evidence {
                    source: EvidenceSource::ImportStatus,
                    reason: names.get(cond.reason.as_deref().unwrap_or("ImportFailed")),
                    message: message.unwrap_or_default(),
                    event_type: None,
                    count: 1,
                    first_seen: cond.last_transition_time.as_deref().map(|t| names.get(t)),
                    last_seen: cond.last_transition_time.as_deref().map(|t| names.get(t)),
                }],
                service_account: None,
                node_name: None,
                labels: Arc::new(view.metadata.labels.clone()),
                created: view.metadata.creation_timestamp.as_deref().map(Arc::from),
            };
            set_registry(&mut f, &mut names);
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
mod tests;
