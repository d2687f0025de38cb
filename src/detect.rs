//! Failure detection (pure): kubelet events and container statuses, joined per pod,
//! container and image, deduplicated, with counts and timestamps kept as evidence.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;

use serde::Serialize;

use crate::cluster::{EventRecord, Object};
use crate::refs::image::ImageRef;

mod make;
mod view;
use make::{Names, PodFacts, new_failure, orphan, registry_of, set_registry};
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
    /// The uid of an earlier pod of this name that is gone, for an event about it (the pod of
    /// that name now is another): part of what tells failures apart.
    #[serde(skip)]
    pub gone_uid: Option<Arc<str>>,
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

/// A failure's key: (namespace, pod, container, uid of an earlier pod of that name that is
/// gone), read from the failure itself.
type Key<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>);

fn key_of(f: &Failure) -> Key<'_> {
    (&f.namespace, &f.pod, f.container.as_deref(), f.gone_uid.as_deref())
}

/// Failures in the order they are found, each found again by its key, and sorted by key at
/// the end (the order a map gives) in place. The index holds only each failure's place (its
/// key is read from the failure): no map node and no copy of a key per failure.
#[derive(Default)]
struct Found {
    list: Vec<Failure>,
    at: hashbrown::HashTable<u32>,
    hasher: std::hash::RandomState,
}

impl Found {
    /// Add a failure, or replace the one of its key; its place.
    fn put(&mut self, f: Failure) -> usize {
        let Found { list, at, hasher } = self;
        let hash = hasher.hash_one(key_of(&f));
        let entry = at.entry(
            hash,
            |&i| key_of(&list[i as usize]) == key_of(&f),
            |&i| hasher.hash_one(key_of(&list[i as usize])),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(o) => {
                let i = *o.get() as usize;
                list[i] = f;
                i
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(list.len() as u32);
                list.push(f);
                list.len() - 1
            }
        }
    }

    /// The place of the failure of that key, if there is one.
    fn find(&self, key: Key) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        self.at
            .find(hash, |&i| key_of(&self.list[i as usize]) == key)
            .map(|&i| i as usize)
    }

    fn into_sorted(self) -> Vec<Failure> {
        let Found { mut list, at, .. } = self;
        drop(at);
        // Keys are unique: an unstable sort gives the one order, without a buffer.
        list.sort_unstable_by(|a, b| key_of(a).cmp(&key_of(b)));
        list
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
        if let Some(&i) = by_name.get(&(&*e.namespace, &*e.involved_name)) {
            named[i] = true;
        }
    }
    // The views borrow their pods' texts, which are read back from compressed blocks.
    let texts: Vec<Option<crate::cluster::RawText>> =
        pods.iter().zip(&named).map(|(p, &n)| n.then(|| p.raw())).collect();
    // Boxed: a view is some hundred bytes, and most pods have none.
    let views: Vec<Option<Box<PodView>>> = texts
        .iter()
        .map(|t| t.as_ref().map(|t| Box::new(PodView::of(t))))
        .collect();
    let indexes: Vec<Option<Box<PodIndex>>> = views.iter().map(|v| v.as_ref().map(|v| Box::new(v.index()))).collect();
    let pod_at = |i: usize| -> Option<(&Object, &PodView, &PodIndex)> {
        Some((pods[i].as_ref(), views[i].as_ref()?, indexes[i].as_ref()?))
    };

    for (i, pod) in pods.iter().enumerate() {
        let own_text;
        let own_view;
        let own_index;
        let (view, index) = match pod_at(i) {
            Some((_, v, x)) => (v, x),
            None if !named[i] => {
                own_text = pod.raw();
                if !PodView::may_wait(&own_text) {
                    continue;
                }
                own_view = PodView::of(&own_text);
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
            failures.put(f);
        }
    }

    // Where each (failure, reason, message) sits in its failure's evidence: one failure may
    // gather any number of distinct messages, and scanning them per event is quadratic. Each
    // entry is the pair of places (failure, evidence); the key is read from the evidence.
    let mut evidence_index: hashbrown::HashTable<(u32, u32)> = hashbrown::HashTable::new();
    let hasher = std::hash::RandomState::new();
    for e in pull_events {
        let found = by_name
            .get(&(&*e.namespace, &*e.involved_name))
            .and_then(|&i| Some((i, pod_at(i)?)));
        let pod = found.map(|(_, p)| p);
        // A pod of the same name but another uid (a StatefulSet pod, recreated): the event is
        // about the old pod, which no longer exists. It is an orphan of its own; the new pod's
        // status is the witness for the new one.
        let gone_uid = match (pod, &e.involved_uid) {
            (Some((_, v, _)), Some(a)) if v.metadata.uid.as_ref().is_some_and(|b| **a != *b.as_str()) => Some(&**a),
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
        let key = (&*e.namespace, &*e.involved_name, container, gone_uid);
        let (at, f) = match failures.find(key) {
            Some(at) => (at, &mut failures.list[at]),
            None => {
                let init = from_path.as_ref().is_some_and(|(_, i)| *i);
                let image = container
                    .and_then(|c| pod.and_then(|(_, _, x)| x.image_of(c)))
                    .or_else(|| msg_image.map(str::to_string))
                    .unwrap_or_default();
                let made = match (pod, found) {
                    (Some((p, v, _)), Some((i, _))) => {
                        let shared = facts
                            .entry(i)
                            .or_insert_with(|| PodFacts::of(p, v, &e.namespace, &mut names));
                        new_failure(shared, container, init, &image, &mut names)
                    }
                    _ => orphan(e, container, gone_uid, &image, &mut names),
                };
                let at = failures.put(made);
                (at, &mut failures.list[at])
            }
        };
        if f.image.is_empty()
            && let Some(img) = msg_image
        {
            f.image = names.get(img);
            set_registry(f, &mut names);
        }
        let hash = hasher.hash_one((at, said_of(e)));
        let list = &failures.list;
        let found = evidence_index
            .find(hash, |&(fi, ei)| {
                fi as usize == at && said(&list[at].evidence[ei as usize]) == said_of(e)
            })
            .map(|&(_, ei)| ei as usize);
        let f = &mut failures.list[at];
        match found {
            Some(ei) => merge_evidence(f, e, Some(ei)),
            None => {
                merge_evidence(f, e, None);
                let ei = f.evidence.len() - 1;
                let list = &failures.list;
                evidence_index.insert_unique(hash, (at as u32, ei as u32), |&(fi, ei)| {
                    hasher.hash_one((fi as usize, said(&list[fi as usize].evidence[ei as usize])))
                });
            }
        }
    }

    // The lookups are done with: freed before the list is sorted and shrunk.
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
/// What tells an event's evidence apart within its failure: reason and message.
fn said_of(e: &EventRecord) -> (&str, &str) {
    (&e.reason, &e.message)
}

/// The same of a failure's evidence.
fn said(ev: &Evidence) -> (&str, &str) {
    (&ev.reason, &ev.message)
}

fn merge_evidence(f: &mut Failure, e: &EventRecord, existing: Option<usize>) {
    if let Some(ev) = existing.and_then(|i| f.evidence.get_mut(i)) {
        ev.count = ev.count.saturating_add(e.count);
        keep_edge(&mut ev.first_seen, &e.first_timestamp, Ordering::Less);
        keep_edge(&mut ev.last_seen, &e.last_timestamp, Ordering::Greater);
        return;
    }
    f.evidence.reserve_exact(1);
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

/// Keep the earliest (`Less`) or the latest (`Greater`) of a sighting's time and an event's:
/// either when only one is known.
fn keep_edge(kept: &mut Option<Arc<str>>, seen: &Option<Arc<str>>, edge: Ordering) {
    let Some(seen) = seen else { return };
    if kept.as_deref().is_none_or(|k| (**seen).cmp(k) == edge) {
        *kept = Some(seen.clone());
    }
}

/// Failed imports of OpenShift ImageStream tags (the samples operator's symptom).
pub fn detect_imagestreams(streams: &[Arc<Object>]) -> Vec<Failure> {
    let mut out = Vec::new();
    let mut names = Names::default();
    for is in streams {
        // A stream of the wrong shape was reported by the loader (`imagestream_shape_error`).
        let text = is.raw();
        let Ok(view) = serde_json::from_str::<StreamView>(&text) else {
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
            let f = Failure {
                kind: "ImageStream",
                namespace: names.get(is.namespace.as_deref().unwrap_or_default()),
                pod: Arc::from(is.name.as_str()),
                pod_exists: true,
                gone_uid: None,
                container: Some(names.get(name)),
                init_container: false,
                image: names.get(&image),
                registry: registry_of(&image, &mut names),
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
