//! Which field makes a document unreadable: an object of the wrong shape is reported by the
//! path of the field (`FieldError`), not only by serde's complaint.

use std::fmt;

use serde_json::Value;

/// The dotted path (`spec.containers`, `status.containerStatuses[0].image`) of the first
/// field that makes `v` fail to deserialise as `T`, with serde's complaint; `None` when `v`
/// deserialises.
///
/// Found by isolation: a document holding only one field (and the path to it) fails exactly
/// when that field is bad, since the views this is used with default every field. Only runs
/// on the error path.
pub fn wrong_field<T: serde::de::DeserializeOwned>(v: &Value) -> Option<(String, String)> {
    wrong_field_by(v, |v| serde_json::from_value::<T>(v.clone()).err())
}

/// `wrong_field` for any check: `error` says why a document does not deserialise (views
/// that borrow from their input are not `DeserializeOwned`).
pub fn wrong_field_by(v: &Value, error: impl Fn(&Value) -> Option<serde_json::Error>) -> Option<(String, String)> {
    let err = error(v)?.to_string();
    let fails = |path: &[PathPart], value: &Value| error(&only_at(path, value.clone()));
    let mut path: Vec<PathPart> = Vec::new();
    let mut msg = err;
    'descend: while let Some(here) = get_at(v, &path) {
        let children: Vec<(PathPart, &Value)> = match here {
            Value::Object(m) => m.iter().map(|(k, x)| (PathPart::Key(k.clone()), x)).collect(),
            Value::Array(a) => a.iter().enumerate().map(|(i, x)| (PathPart::Index(i), x)).collect(),
            _ => break,
        };
        for (child, value) in children {
            path.push(child);
            if let Some(e) = fails(&path, value) {
                msg = e.to_string();
                continue 'descend;
            }
            path.pop();
        }
        break;
    }
    let at = format_path(&path);
    let kind = v.get("kind").and_then(Value::as_str);
    let msg = super::hidden::type_error(kind, &at, get_at(v, &path), msg);
    Some((at, msg))
}

/// A snapshot object remedy cannot read: which field (a dotted path, empty for the whole
/// object) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    /// Why `v` does not deserialise as `T`, naming the field; `what` starts the message.
    pub fn of<T: serde::de::DeserializeOwned>(v: &Value, what: &str) -> FieldError {
        match wrong_field::<T>(v) {
            Some((path, msg)) if !path.is_empty() => FieldError {
                message: format!("{what} has a field of the wrong type: `{path}`: {msg}"),
                path,
            },
            Some((_, msg)) => FieldError {
                path: String::new(),
                message: format!("{what} has the wrong shape: {msg}"),
            },
            None => FieldError {
                path: String::new(),
                message: format!("{what} could not be read"),
            },
        }
    }
}

impl From<&str> for FieldError {
    fn from(message: &str) -> Self {
        FieldError {
            path: String::new(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, Clone)]
enum PathPart {
    Key(String),
    Index(usize),
}

fn format_path(path: &[PathPart]) -> String {
    let mut out = String::new();
    for p in path {
        match p {
            PathPart::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathPart::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn get_at<'v>(v: &'v Value, path: &[PathPart]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, p| match p {
        PathPart::Key(k) => v.get(k),
        PathPart::Index(i) => v.get(i),
    })
}

/// A document holding only the value at `path` (so serde's message is about that field).
fn only_at(path: &[PathPart], value: Value) -> Value {
    let mut out = value;
    for p in path.iter().rev() {
        out = match p {
            PathPart::Key(k) => {
                let mut m = serde_json::Map::new();
                m.insert(k.clone(), out);
                Value::Object(m)
            }
            PathPart::Index(_) => Value::Array(vec![out]),
        };
    }
    out
}
