//! GET requests to the API server with a timeout each and bounded retries: 429, 5xx and
//! transport errors are retried with exponential backoff (honouring `Retry-After`), anything
//! else is answered at once. Lists are read in pages (`limit`/`continue`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::BodyExt;
use serde_json::Value;

use super::super::ClusterError;
use super::connect::one_line;

/// How a list whose continue token expired (410 Gone) fails.
pub const EXPIRED: &str = "the server answered 410";

/// Items per page of a list (kubectl's chunk size).
pub const PAGE_SIZE: usize = 500;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry; doubled for each further one.
    pub base: Duration,
    /// The longest wait between tries, `Retry-After` included.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
        }
    }
}

/// What a read is of, to word its errors (`get secrets in openshift-config`).
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub verb: &'static str,
    /// `secrets`, `images.config.openshift.io`.
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
}

pub struct Transport {
    client: kube::Client,
    pub server: String,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    requests: AtomicUsize,
}

enum Attempt {
    Done(Result<Option<Value>, ClusterError>),
    Retry { why: String, after: Option<Duration> },
}

impl Transport {
    pub fn new(client: kube::Client, server: String, request_timeout: Duration) -> Self {
        Transport {
            client,
            server,
            request_timeout,
            retry: RetryPolicy::default(),
            requests: AtomicUsize::new(0),
        }
    }

    /// Requests sent so far (retries included).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// GET a path (with its query); `None` on 404.
    pub async fn get(&self, uri: &str, what: &Target<'_>) -> Result<Option<Value>, ClusterError> {
        let mut last = String::new();
        for n in 0..self.retry.attempts {
            match self.attempt(uri, what).await {
                Attempt::Done(r) => return r,
                Attempt::Retry { why, after } => {
                    tracing::debug!(uri, attempt = n + 1, %why, "retrying");
                    last = why;
                    if n + 1 < self.retry.attempts {
                        let backoff = self.retry.base.saturating_mul(1 << n.min(16));
                        tokio::time::sleep(after.unwrap_or(backoff).min(self.retry.cap)).await;
                    }
                }
            }
        }
        Err(ClusterError::Unavailable {
            server: self.server.clone(),
            message: format!("{last} (after {} tries)", self.retry.attempts),
        })
    }

    async fn attempt(&self, uri: &str, what: &Target<'_>) -> Attempt {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let req = match http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::empty())
        {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Done(Err(ClusterError::Read {
                    kind: what.resource.to_string(),
                    message: format!("bad request URI {uri}: {e}"),
                }));
            }
        };
        let exchange = async {
            let resp = self.client.send(req).await.map_err(|e| one_line(&e))?;
            let (parts, body) = resp.into_parts();
            let bytes = body.collect().await.map_err(|e| one_line(&e))?.to_bytes();
            Ok::<_, String>((parts, bytes))
        };
        let (parts, bytes) = match tokio::time::timeout(self.request_timeout, exchange).await {
            Err(_) => {
                return Attempt::Retry {
                    why: format!("no answer within {}s", self.request_timeout.as_secs_f32()),
                    after: None,
                };
            }
            Ok(Err(e)) => {
                return Attempt::Retry {
                    why: format!("cannot reach {}: {e}", self.server),
                    after: None,
                };
            }
            Ok(Ok(x)) => x,
        };
        let code = parts.status.as_u16();
        let message = || {
            serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(200).collect())
        };
        match code {
            200..=299 => Attempt::Done(
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| ClusterError::Read {
                        kind: what.resource.to_string(),
                        message: format!("the answer is not JSON: {e}"),
                    }),
            ),
            404 => Attempt::Done(Ok(None)),
            401 => Attempt::Done(Err(ClusterError::Unauthorized {
                server: self.server.clone(),
            })),
            403 => Attempt::Done(Err(ClusterError::Forbidden {
                verb: what.verb.to_string(),
                resource: what.resource.to_string(),
                namespace: what.namespace.map(str::to_string),
            })),
            429 | 500 | 502 | 503 | 504 => Attempt::Retry {
                why: format!("the server answered {code}: {}", message()),
                after: parts
                    .headers
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs),
            },
            _ => Attempt::Done(Err(ClusterError::Read {
                kind: what.resource.to_string(),
                message: format!("the server answered {code}: {}", message()),
            })),
        }
    }

    /// Every item of a list, page by page, each handed to `take` (items carry no `kind` or
    /// `apiVersion`). An expired continue token is a `Read` error whose message starts with
    /// [`EXPIRED`].
    pub async fn list(
        &self,
        path: &str,
        field_selector: Option<&str>,
        what: &Target<'_>,
        take: &mut dyn FnMut(Value),
    ) -> Result<(), ClusterError> {
        self.list_once(path, field_selector, what, take).await
    }

    async fn list_once(
        &self,
        path: &str,
        field_selector: Option<&str>,
        what: &Target<'_>,
        take: &mut dyn FnMut(Value),
    ) -> Result<(), ClusterError> {
        let mut token: Option<String> = None;
        // A server that keeps handing out tokens cannot make remedy loop forever.
        for _ in 0..1_000_000 {
            let mut uri = format!("{path}?limit={PAGE_SIZE}");
            if let Some(fs) = field_selector {
                uri.push_str(&format!("&fieldSelector={}", encode(fs)));
            }
            if let Some(t) = &token {
                uri.push_str(&format!("&continue={}", encode(t)));
            }
            let Some(mut page) = self.get(&uri, what).await? else {
                // The resource is gone (its CRD removed while reading): nothing to list.
                return Ok(());
            };
            if let Some(Value::Array(items)) = page.get_mut("items").map(Value::take) {
                items.into_iter().for_each(&mut *take);
            }
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(());
            }
        }
        Err(ClusterError::Read {
            kind: what.resource.to_string(),
            message: "the list did not end after a million pages".into(),
        })
    }
}

/// Percent-encode a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
