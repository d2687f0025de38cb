//! The few fields of a pod that detection reads, as views borrowed from the pod's JSON text.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::PULL_REASONS;

/// A string of a view, borrowed from the object's text unless it holds escapes: most pods of
/// a snapshot are read once at load (their shape is checked) and never again, so their views
/// should cost no allocation per string. An unescaped copy is shared, so that a failure's
/// message can be the view's own (a kubelet message quotes its image: it always has escapes).
#[derive(Debug, Clone)]
pub(super) enum Str<'a> {
    Borrowed(&'a str),
    Shared(Arc<str>),
}

impl Default for Str<'_> {
    fn default() -> Self {
        Str::Borrowed("")
    }
}

// By text, as the `String`s these stand for compare (labels are a map keyed by them).
impl PartialEq for Str<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
impl Eq for Str<'_> {}
impl PartialOrd for Str<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Str<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl<'a> Str<'a> {
    pub(super) fn as_str(&self) -> &str {
        match self {
            Str::Borrowed(s) => s,
            Str::Shared(s) => s,
        }
    }

    /// As a shared string: the view's own where it holds one, else one copy.
    pub(super) fn to_shared(&self) -> Arc<str> {
        match self {
            Str::Borrowed(s) => Arc::from(*s),
            Str::Shared(s) => Arc::clone(s),
        }
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
                Ok(Str::Borrowed(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str::Shared(Arc::from(v)))
            }
        }
        d.deserialize_string(V)
    }
}

/// The few fields of a pod detection reads, parsed straight from its JSON text so that a
/// large snapshot's pods are never expanded into full `Value` trees.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct PodView<'a> {
    #[serde(borrow)]
    pub(super) metadata: MetaView<'a>,
    #[serde(borrow)]
    pub(super) spec: SpecView<'a>,
    #[serde(borrow)]
    pub(super) status: StatusView<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct MetaView<'a> {
    #[serde(borrow)]
    pub(super) uid: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) labels: BTreeMap<Str<'a>, Str<'a>>,
    #[serde(borrow)]
    pub(super) creation_timestamp: Option<Str<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct SpecView<'a> {
    #[serde(borrow)]
    pub(super) service_account_name: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) node_name: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) init_containers: Vec<ContainerView<'a>>,
    #[serde(borrow)]
    pub(super) containers: Vec<ContainerView<'a>>,
    #[serde(borrow)]
    pub(super) ephemeral_containers: Vec<ContainerView<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct ContainerView<'a> {
    #[serde(borrow)]
    pub(super) name: Str<'a>,
    #[serde(borrow)]
    pub(super) image: Str<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct StatusView<'a> {
    #[serde(borrow)]
    pub(super) init_container_statuses: Vec<StatusEntry<'a>>,
    #[serde(borrow)]
    pub(super) container_statuses: Vec<StatusEntry<'a>>,
    #[serde(borrow)]
    pub(super) ephemeral_container_statuses: Vec<StatusEntry<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct StatusEntry<'a> {
    #[serde(borrow)]
    pub(super) name: Str<'a>,
    #[serde(borrow)]
    pub(super) image: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) state: StateView<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct StateView<'a> {
    #[serde(borrow)]
    pub(super) waiting: Option<Waiting<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct Waiting<'a> {
    #[serde(borrow)]
    pub(super) reason: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) message: Option<Str<'a>>,
}

pub(super) fn owned(s: &Option<Str>) -> Option<String> {
    s.as_ref().map(|s| s.as_str().to_string())
}

impl<'a> PodView<'a> {
    /// The view of a pod's text (`Object::raw`, held by the caller as long as the view).
    pub(super) fn of(text: &'a str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// Whether the pod's text may hold a waiting state: only such pods can fail by their
    /// status (a `\u` escape could spell the key).
    pub(super) fn may_wait(raw: &str) -> bool {
        raw.contains("\"waiting\"") || raw.contains("\\u")
    }

    /// (name, image, init) of every container in the spec.
    pub(super) fn containers(&self) -> impl Iterator<Item = (&str, &str, bool)> {
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

    pub(super) fn statuses(&self) -> impl Iterator<Item = (&StatusEntry<'a>, bool)> {
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
    pub(super) fn index(&self) -> PodIndex<'_, 'a> {
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

    pub(super) fn waiting_reason<'s>(st: &'s StatusEntry<'a>) -> Option<&'s str> {
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
pub(super) struct PodIndex<'v, 'a> {
    pub(super) image: HashMap<&'v str, &'v str>,
    pub(super) by_image: HashMap<&'v str, &'v str>,
    pub(super) status: HashMap<&'v str, &'v StatusEntry<'a>>,
}

impl PodIndex<'_, '_> {
    pub(super) fn image_of(&self, container: &str) -> Option<String> {
        self.image.get(container).map(|i| i.to_string())
    }

    /// Whether the container has a status and it is not waiting on a pull.
    pub(super) fn recovered(&self, container: &str) -> bool {
        self.status
            .get(container)
            .is_some_and(|st| PodView::waiting_reason(st).is_none_or(|r| !PULL_REASONS.contains(&r)))
    }
}
