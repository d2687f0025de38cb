//! Fields of an object's JSON text, read by path without parsing the whole object: a pod with
//! thousands of containers is read for `spec.serviceAccountName` many times, and a `Value`
//! of the whole pod costs about eight times its text. Each object on a path is split into its
//! members (spans of the text) once, the value at the end of the path is parsed once, and both
//! are kept: later reads of the same path cost a few lookups.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;
use serde_json::value::RawValue;

/// A value inside the text, at `start..end`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    start: usize,
    end: usize,
    /// The members, when the value is an object (`None`: not an object).
    members: OnceLock<Option<HashMap<String, Node>>>,
    value: OnceLock<Value>,
}

impl Node {
    pub(crate) fn root(len: usize) -> Node {
        Node {
            start: 0,
            end: len,
            ..Node::default()
        }
    }

    fn member<'n>(&'n self, text: &str, key: &str) -> Option<&'n Node> {
        let members = self.members.get_or_init(|| {
            let own = text.get(self.start..self.end)?;
            if !own.trim_start().starts_with('{') {
                return None;
            }
            // A repeated key: the last one counts, as when the text is parsed into a `Value`.
            let map: Vec<(String, &RawValue)> = serde_json::from_str::<MemberList>(own).ok()?.0;
            let base = text.as_ptr() as usize;
            Some(
                map.into_iter()
                    .map(|(k, raw)| {
                        let start = raw.get().as_ptr() as usize - base;
                        (
                            k,
                            Node {
                                start,
                                end: start + raw.get().len(),
                                ..Node::default()
                            },
                        )
                    })
                    .collect(),
            )
        });
        members.as_ref()?.get(key)
    }

    fn value(&self, text: &str) -> &Value {
        self.value.get_or_init(|| {
            text.get(self.start..self.end)
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null)
        })
    }

    /// The value at a dotted path (`spec.serviceAccountName`) below this node.
    pub(crate) fn field<'n>(&'n self, text: &str, path: &str) -> Option<&'n Value> {
        let mut node = self;
        for part in path.split('.') {
            node = node.member(text, part)?;
        }
        Some(node.value(text))
    }
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
        let root = Node::root(text.len());
        assert_eq!(root.field(text, path), expect, "{path} in {text}");
        // Read twice: the kept value answers the second time.
        assert_eq!(root.field(text, path), expect, "{path} again");
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
