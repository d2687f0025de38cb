//! The writer on the Kubernetes API (through a `kube::Client`): one request per write, each
//! with a timeout; 429, 5xx and transport errors are retried with backoff (every write is
//! guarded by preconditions, so a repeated one cannot apply twice), anything else is answered
//! at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::BodyExt;
use serde_json::{Value, json};

use super::rbac::plural;
use super::writes::{FIELD_MANAGER, Write};
use super::{WriteError, Writer};
use crate::cluster::Object;
use crate::desired::Target;

pub struct KubeWriter {
    client: kube::Client,
    pub request_timeout: Duration,
    /// Tries per request, the first included.
    pub attempts: u32,
    /// The wait before the first retry, doubled for each further one (at most 5 s).
    pub backoff: Duration,
    requests: AtomicUsize,
    writes: AtomicUsize,
}

/// The URL path of one object (`/api/v1/namespaces/NS/serviceaccounts/NAME`).
pub fn object_path(t: &Target) -> String {
    let key = t.key();
    let base = if t.api_version.contains('/') {
        format!("/apis/{}", t.api_version)
    } else {
        format!("/api/{}", t.api_version)
    };
    let resource = plural(&t.kind);
    match key.namespace {
        Some(ns) => format!("{base}/namespaces/{}/{resource}/{}", enc(&ns), enc(&t.name)),
        None => format!("{base}/{resource}/{}", enc(&t.name)),
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// What a write sends: method, query, content type and body.
pub fn request_parts(w: &Write, dry_run: bool) -> (http::Method, String, &'static str, Vec<u8>) {
    let dry = if dry_run { "&dryRun=All" } else { "" };
    let q = format!("?fieldManager={FIELD_MANAGER}{dry}");
    match w {
        // No `force`: a field another manager owns is a conflict, reported, never taken over.
        Write::Apply { body, .. } => (
            http::Method::PATCH,
            q,
            "application/apply-patch+yaml",
            body.to_string().into_bytes(),
        ),
        Write::JsonPatch { ops, .. } => (
            http::Method::PATCH,
            q,
            "application/json-patch+json",
            ops.to_string().into_bytes(),
        ),
        Write::MergePatch { body, .. } => (
            http::Method::PATCH,
            q,
            "application/merge-patch+json",
            body.to_string().into_bytes(),
        ),
        Write::Replace { body, .. } => (http::Method::PUT, q, "application/json", body.to_string().into_bytes()),
        Write::Delete { uid, .. } => {
            let mut opts = json!({"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": uid}});
            if dry_run {
                opts["dryRun"] = json!(["All"]);
            }
            (
                http::Method::DELETE,
                if dry_run { "?dryRun=All".into() } else { String::new() },
                "application/json",
                opts.to_string().into_bytes(),
            )
        }
    }
}

enum Answer {
    Done(Result<Option<Value>, WriteError>),
    Retry(String),
}

impl KubeWriter {
    pub fn new(client: kube::Client, request_timeout: Duration) -> Self {
        KubeWriter {
            client,
            request_timeout,
            attempts: 4,
            backoff: Duration::from_millis(200),
            requests: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
        }
    }

    /// Requests sent (retries included) and, of those, writes.
    pub fn requests(&self) -> (usize, usize) {
        (
            self.requests.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }

    async fn send(
        &self,
        method: http::Method,
        uri: &str,
        content_type: &str,
        body: Vec<u8>,
        what: &str,
        is_apply: bool,
    ) -> Result<Option<Value>, WriteError> {
        let mut last = String::new();
        for n in 0..self.attempts.max(1) {
            if n > 0 {
                tokio::time::sleep(
                    self.backoff
                        .saturating_mul(1 << (n - 1).min(8))
                        .min(Duration::from_secs(5)),
                )
                .await;
            }
            match self
                .once(method.clone(), uri, content_type, body.clone(), what, is_apply)
                .await
            {
                Answer::Done(r) => return r,
                Answer::Retry(why) => {
                    tracing::debug!(uri, attempt = n + 1, %why, "retrying");
                    last = why;
                }
            }
        }
        Err(WriteError::Other(format!(
            "{what}: {last} (after {} tries)",
            self.attempts.max(1)
        )))
    }

    async fn once(
        &self,
        method: http::Method,
        uri: &str,
        content_type: &str,
        body: Vec<u8>,
        what: &str,
        is_apply: bool,
    ) -> Answer {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if method != http::Method::GET {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        let req = match http::Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_TYPE, content_type)
            .body(kube::client::Body::from(body))
        {
            Ok(r) => r,
            Err(e) => return Answer::Done(Err(WriteError::Other(format!("bad request {uri}: {e}")))),
        };
        let exchange = async {
            let resp = self.client.send(req).await.map_err(|e| e.to_string())?;
            let (parts, body) = resp.into_parts();
            let bytes = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok::<_, String>((parts, bytes))
        };
        let (parts, bytes) = match tokio::time::timeout(self.request_timeout, exchange).await {
            Err(_) => return Answer::Retry(format!("no answer within {}s", self.request_timeout.as_secs_f32())),
            Ok(Err(e)) => return Answer::Retry(format!("transport error: {e}")),
            Ok(Ok(x)) => x,
        };
        let code = parts.status.as_u16();
        // The server's message (a Status); never the request body, which may hold secret data.
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {code}"));
        let patch = method == http::Method::PATCH;
        Answer::Done(match code {
            200..=299 => Ok(serde_json::from_slice(&bytes).ok()),
            404 if method == http::Method::GET => Ok(None),
            404 => Err(WriteError::NotFound(format!("{what}: {message}"))),
            409 if is_apply => Err(WriteError::FieldConflict(format!(
                "{what}: {}",
                field_conflicts(&bytes).unwrap_or(message)
            ))),
            409 => Err(WriteError::Conflict(format!("{what}: {message}"))),
            // A failed JSON-patch `test` (the value changed since it was read).
            422 if patch && !is_apply => Err(WriteError::Conflict(format!("{what}: {message}"))),
            403 => Err(WriteError::Forbidden(format!("{what}: {message}"))),
            401 => Err(WriteError::Other(format!(
                "{what}: the API server refused the credentials (401 Unauthorized)"
            ))),
            429 | 500 | 502 | 503 | 504 => return Answer::Retry(format!("the server answered {code}: {message}")),
            _ => Err(WriteError::Other(format!(
                "{what}: the server answered {code}: {message}"
            ))),
        })
    }
}

/// Who owns which field, from a server-side apply conflict's `details.causes`
/// (`.data.key owned by "kubectl-edit"`); `None` when the answer names no field.
fn field_conflicts(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let fields: Vec<String> = v
        .pointer("/details/causes")?
        .as_array()?
        .iter()
        .filter(|c| c["reason"] == "FieldManagerConflict")
        .filter_map(|c| {
            let field = c["field"].as_str()?;
            // `conflict with "M" using v1` (or `conflict with "M" with subresource "status" using v1`).
            let msg = c["message"].as_str().unwrap_or("");
            let manager = msg.split('"').nth(1).unwrap_or("another manager");
            Some(format!("{field} owned by \"{manager}\""))
        })
        .collect();
    (!fields.is_empty()).then(|| format!("{} (never forced: settle it with that manager)", fields.join(", ")))
}

impl KubeWriter {
    /// Every pod of a namespace (for verification), in pages.
    pub async fn pods(&self, namespace: &str) -> Result<Vec<Arc<Object>>, WriteError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        // A server that keeps handing out tokens cannot make this loop forever.
        for _ in 0..10_000 {
            let mut uri = format!("/api/v1/namespaces/{}/pods?limit=500", enc(namespace));
            if let Some(t) = &token {
                uri.push_str(&format!("&continue={}", enc(t)));
            }
            let what = format!("list pods in {namespace}");
            let Some(page) = self
                .send(http::Method::GET, &uri, "application/json", Vec::new(), &what, false)
                .await?
            else {
                break;
            };
            for mut item in page["items"].as_array().cloned().unwrap_or_default() {
                item["apiVersion"] = json!("v1");
                item["kind"] = json!("Pod");
                if let Ok(o) = Object::from_value(item) {
                    out.push(Arc::new(o));
                }
            }
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

impl Writer for KubeWriter {
    async fn read(&self, target: &Target) -> Result<Option<Arc<Object>>, WriteError> {
        let what = format!("get {}", target.display());
        let v = self
            .send(
                http::Method::GET,
                &object_path(target),
                "application/json",
                Vec::new(),
                &what,
                false,
            )
            .await?;
        v.map(|v| {
            Object::from_value(v)
                .map(Arc::new)
                .map_err(|e| WriteError::Other(format!("{what}: {e}")))
        })
        .transpose()
    }

    async fn write(&self, w: &Write, dry_run: bool) -> Result<Option<Object>, WriteError> {
        let (method, query, ct, body) = request_parts(w, dry_run);
        let uri = format!("{}{query}", object_path(w.target()));
        let what = format!("{} {}", w.verb(), w.target().display());
        let v = self
            .send(method, &uri, ct, body, &what, matches!(w, Write::Apply { .. }))
            .await?;
        if matches!(w, Write::Delete { .. }) {
            return Ok(None);
        }
        Ok(v.and_then(|v| Object::from_value(v).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(api: &str, kind: &str, ns: Option<&str>, name: &str) -> Target {
        Target {
            api_version: api.into(),
            kind: kind.into(),
            namespace: ns.map(str::to_string),
            name: name.into(),
        }
    }

    #[test]
    fn paths() {
        assert_eq!(
            object_path(&t("v1", "ServiceAccount", Some("apps"), "b")),
            "/api/v1/namespaces/apps/serviceaccounts/b"
        );
        assert_eq!(
            object_path(&t("config.openshift.io/v1", "Image", Some("ignored"), "cluster")),
            "/apis/config.openshift.io/v1/images/cluster"
        );
    }

    #[test]
    fn field_conflicts_name_the_field_and_its_manager() {
        let body = json!({"kind": "Status", "code": 409, "reason": "Conflict",
        "message": "Apply failed with 2 conflicts: ...",
        "details": {"causes": [
            {"reason": "FieldManagerConflict", "message": "conflict with \"kubectl-edit\" using v1", "field": ".data.key"},
            {"reason": "FieldManagerConflict", "message": "conflict with \"helm\" with subresource \"status\" using v1", "field": ".status.x"},
            {"reason": "Other", "message": "m", "field": ".no"},
        ]}});
        let text = field_conflicts(body.to_string().as_bytes()).unwrap();
        assert_eq!(
            text,
            ".data.key owned by \"kubectl-edit\", .status.x owned by \"helm\" (never forced: settle it with that manager)"
        );
        assert_eq!(field_conflicts(br#"{"message": "Apply failed"}"#), None);
    }

    #[test]
    fn requests_never_force_and_carry_dry_run() {
        let w = Write::Apply {
            target: t("v1", "Secret", Some("a"), "s"),
            body: json!({}),
        };
        let (m, q, ct, _) = request_parts(&w, true);
        assert_eq!(m, http::Method::PATCH);
        assert_eq!(q, "?fieldManager=remedy&dryRun=All");
        assert!(!q.contains("force"));
        assert_eq!(ct, "application/apply-patch+yaml");
        let d = Write::Delete {
            target: t("v1", "Pod", Some("a"), "p"),
            uid: "u".into(),
        };
        let (m, _, _, body) = request_parts(&d, false);
        assert_eq!(m, http::Method::DELETE);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["preconditions"]["uid"], "u");
    }
}
