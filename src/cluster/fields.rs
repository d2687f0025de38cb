//! Fields of an object's JSON text, read by path without parsing the whole object: a pod with
//! thousands of containers is read for `spec.serviceAccountName` many times, and a `Value`
//! of the whole pod costs about eight times its text. The value at a path is found by walking
//! the text once and kept; only the paths read are kept (a handful per object, named in the
//! code), so a snapshot of many small objects does not pay for maps of their members.

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::OnceLock;

use serde_json::Value;
use serde_json::value::RawValue;

/// The values read so far, by path: a list that only grows, so a reader can hold a value
/// while another path is added.
#[derive(Debug, Clone, Default)]
pub(crate) struct Paths {
    head: OnceLock<Box<Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    path: Box<str>,
    /// `None`: nothing at that path.
    value: Option<Value>,
    next: OnceLock<Box<Entry>>,
}

/// Up to this size an object's text is walked again for a path it does not hold rather than
/// keeping the answer: most paths read are absent from most objects (a bare pod has no
/// `ownerReferences`), and a snapshot can hold any number of objects. Walking so few bytes
/// costs a constant; a larger object keeps every answer, so it is walked at most once per path.
const WALKED_AGAIN: usize = 8 * 1024;

impl Paths {
    /// The value at a dotted path (`spec.serviceAccountName`) of `text`: read only when the
    /// answer is not kept (an object's text may have to be decompressed).
    pub(crate) fn field<'p, T: Deref<Target = str>>(
        &'p self,
        text: impl FnOnce() -> T,
        path: &str,
    ) -> Option<&'p Value> {
        if let Some(kept) = self.kept(path) {
            return kept;
        }
        let text = text();
        let value = read(&text, path);
        if value.is_none() && text.len() <= WALKED_AGAIN {
            return None;
        }
        self.keep(path, value)
    }

    /// As `field`, for a list read once per failure (owner references, pull secrets): a small
    /// object's is read again each time rather than kept, as a `Value` of a list of maps is
    /// about ten times its text (a kilobyte per pod, kept for the whole run otherwise).
    pub(crate) fn list<'p, T: Deref<Target = str>>(
        &'p self,
        text: impl FnOnce() -> T,
        path: &str,
    ) -> Option<Cow<'p, Value>> {
        if let Some(kept) = self.kept(path) {
            return kept.map(Cow::Borrowed);
        }
        let text = text();
        let value = read(&text, path);
        if text.len() <= WALKED_AGAIN {
            return value.map(Cow::Owned);
        }
        self.keep(path, value).map(Cow::Borrowed)
    }

    /// The value kept for `path` (`Some(None)`: kept as absent), if it is kept.
    fn kept(&self, path: &str) -> Option<Option<&Value>> {
        let mut slot = &self.head;
        while let Some(e) = slot.get() {
            if &*e.path == path {
                return Some(e.value.as_ref());
            }
            slot = &e.next;
        }
        None
    }

    fn keep(&self, path: &str, value: Option<Value>) -> Option<&Value> {
        let mut slot = &self.head;
        let mut value = Some(value);
        loop {
            // Another thread may fill the slot first, with this path or another: then look
            // further on.
            let e = slot.get_or_init(|| {
                Box::new(Entry {
                    path: path.into(),
                    value: value.take().flatten(),
                    next: OnceLock::new(),
                })
            });
            if &*e.path == path {
                return e.value.as_ref();
            }
            slot = &e.next;
        }
    }
}

#[cfg(test)]
impl Paths {
    /// How many paths are kept.
    fn kept_count(&self) -> usize {
        std::iter::successors(self.head.get(), |e| e.next.get()).count()
    }
}

/// The value at `path`, walking the text: each object on the way is scanned for its member
/// (a repeated key: the last one counts, as when the text is parsed into a `Value`).
fn read(text: &str, path: &str) -> Option<Value> {
    let mut own = text;
    for part in path.split('.') {
        if !own.trim_start().starts_with('{') {
            return None;
        }
        let members = serde_json::from_str::<MemberList>(own).ok()?.0;
        own = members.into_iter().rev().find(|(k, _)| k == part)?.1.get();
    }
    serde_json::from_str(own).ok()
}

/// An object's members in order, each value left as text.
struct MemberList<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for MemberList<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = MemberList<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(MemberList(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(text: &str, path: &str) {
        let whole: Value = serde_json::from_str(text).unwrap();
        let expect = path.split('.').try_fold(&whole, |v, p| v.get(p));
        let paths = Paths::default();
        assert_eq!(paths.field(|| text, path), expect, "{path} in {text}");
        // Read twice: the kept value answers the second time.
        assert_eq!(paths.field(|| text, path), expect, "{path} again");
    }

    #[test]
    fn paths_read_as_a_parsed_value_reads_them() {
        let text = r#"{"metadata":{"name":"p","labels":{"a":"1"}},"spec":{"serviceAccountName":"sa","containers":[{"name":"c"}],"n":3,"x":null},"status":{}}"#;
        for path in [
            "metadata.name",
            "metadata.labels",
            "metadata.labels.a",
            "spec.serviceAccountName",
            "spec.containers",
            "spec.n",
            "spec.x",
            "spec.missing",
            "spec.containers.name",
            "metadata.name.deeper",
            "status",
            "nope",
        ] {
            same(text, path);
        }
    }

    #[test]
    fn escaped_and_repeated_keys_read_as_a_parsed_value_reads_them() {
        let text = r#"{"spec":{"service\u0041ccountName":"escaped","serviceAccountName":"first","serviceAccountName":"last"},"sp\"ec":{"a":1}}"#;
        same(text, "spec.serviceAccountName");
        same(text, "spec.serviceAAccountName");
        same(text, "sp\"ec.a");
    }

    #[test]
    fn only_the_paths_read_are_kept_once_each_from_any_thread() {
        let text = r#"{"metadata":{"name":"p","labels":{"a":"1"}},"spec":{"serviceAccountName":"sa","containers":[{"name":"c"}]}}"#;
        let paths = Paths::default();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for path in [
                        "spec.serviceAccountName",
                        "metadata.labels",
                        "spec.serviceAccountName",
                        "nope",
                    ] {
                        paths.field(|| text, path);
                    }
                });
            }
        });
        // A small object keeps what it holds, not what it lacks.
        assert_eq!(paths.kept_count(), 2);
        assert_eq!(
            paths.field(|| text, "spec.serviceAccountName"),
            Some(&Value::from("sa"))
        );
        assert_eq!(paths.field(|| text, "nope"), None);
        assert_eq!(paths.kept_count(), 2);
    }

    #[test]
    fn a_small_objects_lists_are_read_again_a_large_ones_kept() {
        let text = r#"{"metadata":{"ownerReferences":[{"kind":"ReplicaSet","name":"rs"}]},"spec":{"imagePullSecrets":[{"name":"a"}]}}"#;
        let whole: Value = serde_json::from_str(text).unwrap();
        let paths = Paths::default();
        for _ in 0..2 {
            let refs = paths.list(|| text, "metadata.ownerReferences");
            assert!(matches!(refs, Some(Cow::Owned(_))), "{refs:?}");
            assert_eq!(refs.as_deref(), whole.pointer("/metadata/ownerReferences"));
            assert_eq!(paths.list(|| text, "spec.missing"), None);
        }
        assert_eq!(paths.kept_count(), 0);
        // A path read as a field is kept, and then a list borrows it.
        assert!(paths.field(|| text, "spec.imagePullSecrets").is_some());
        let kept = paths.list(|| text, "spec.imagePullSecrets");
        assert!(matches!(kept, Some(Cow::Borrowed(_))), "{kept:?}");
        let big = format!(
            r#"{{"metadata":{{"note":"{}","ownerReferences":[{{"name":"rs"}}]}}}}"#,
            "x".repeat(WALKED_AGAIN)
        );
        let paths = Paths::default();
        assert!(matches!(
            paths.list(|| big.as_str(), "metadata.ownerReferences"),
            Some(Cow::Borrowed(_))
        ));
        assert_eq!(paths.kept_count(), 1);
    }

    #[test]
    fn a_large_object_keeps_what_it_lacks_too() {
        let big = format!(
            r#"{{"metadata":{{"name":"p","note":"{}"}},"spec":{{}}}}"#,
            "x".repeat(WALKED_AGAIN)
        );
        let paths = Paths::default();
        for _ in 0..3 {
            assert_eq!(paths.field(|| big.as_str(), "spec.serviceAccountName"), None);
            assert_eq!(paths.field(|| big.as_str(), "metadata.name"), Some(&Value::from("p")));
        }
        assert_eq!(paths.kept_count(), 2);
    }

    #[test]
    fn a_value_that_is_not_an_object_has_no_members() {
        for text in [r#"[1,2]"#, r#""s""#, "3", "null", r#"{"a":[{"b":1}]}"#] {
            same(text, "a");
            same(text, "a.b");
        }
    }
}

#[cfg(test)]
mod object_tests {
    use crate::cluster::Object;

    #[test]
    fn reading_fields_of_a_large_pod_never_parses_the_whole_pod() {
        let containers: Vec<_> = (0..2000)
            .map(|i| serde_json::json!({"name": format!("c{i}"), "image": format!("quay.io/a/c{i}:1")}))
            .collect();
        let pod = Object::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "big", "namespace": "a", "labels": {"app": "x"}},
            "spec": {"serviceAccountName": "builder", "containers": containers,
                     "imagePullSecrets": [{"name": "s"}]}
        }))
        .unwrap();
        assert_eq!(pod.str_field("spec.serviceAccountName"), Some("builder"));
        assert_eq!(pod.field("spec.imagePullSecrets").unwrap()[0]["name"], "s");
        assert_eq!(pod.labels().collect::<Vec<_>>(), vec![("app", "x")]);
        assert!(!pod.is_parsed(), "field reads must not parse the whole pod");
        // Once parsed whole, reads agree.
        let whole = pod.value().clone();
        assert!(pod.is_parsed());
        assert_eq!(
            pod.field("spec.serviceAccountName"),
            whole.pointer("/spec/serviceAccountName")
        );
    }
}
