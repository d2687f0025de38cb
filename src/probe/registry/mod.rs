//! The `registry` probe: asks the registry itself what the runtime's message cannot say
//! (credentials wrong versus none, a missing tag versus a missing repository, plain HTTP versus
//! HTTPS, an unknown CA versus an expired or wrong-host certificate).
//!
//! It follows the distribution spec: `GET /v2/`, the `WWW-Authenticate` challenge (Basic, or
//! Bearer with the token endpoint), then the manifest, then the repository's tag list. Every
//! request has a timeout and the whole probe a bound; redirects are never followed; credentials
//! go only to the registry's own host, and over plain HTTP only when the registry itself speaks
//! plain HTTP. Credentials never appear in the result, in errors or in `Debug` output.

mod auth;
mod cluster;
mod conn;

pub use cluster::{FIELDS, credentials, not_probed, probed, target_of, trusted_ca};

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use conn::{Connector, Response};

/// What the registry said, as `findings[].evidence.probes.registry` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub host: String,
    pub reachable: bool,
    pub scheme: Option<Scheme>,
    pub tls: Option<Tls>,
    /// `None` when the probe could not get as far as asking (unreachable, TLS refused).
    pub credentials: Option<Credentials>,
    pub repository: Presence,
    pub tag: Presence,
    pub nearest_tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    Https,
    Http,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tls {
    Ok,
    UnknownCa,
    Expired,
    WrongHost,
    /// The registry speaks plain HTTP.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Credentials {
    Accepted,
    Rejected,
    Missing,
    NotNeeded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    Exists,
    Missing,
    Unknown,
}

/// A user name and password (or token) for the registry, from the pod's pull secrets.
#[derive(Clone)]
pub struct Creds {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Creds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Creds(hidden)")
    }
}

/// What to ask about: `host[:port]`, the repository path and the tag or `sha256:` digest.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub repository: String,
    pub reference: String,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub creds: Option<Creds>,
    /// PEM certificates to trust besides the system roots (the cluster's trusted CAs).
    pub extra_ca_pem: Vec<String>,
    /// Whether to trust the system roots too.
    pub system_roots: bool,
    pub request_timeout: Duration,
    pub total_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            creds: None,
            extra_ca_pem: Vec::new(),
            system_roots: true,
            request_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("a trusted CA is not a PEM certificate: {0}")]
    BadCa(String),
    #[error("the TLS configuration cannot be built: {0}")]
    Tls(String),
}

/// The verdict and every address the probe connected to (so that callers and tests can see
/// where it went).
#[derive(Debug, Clone)]
pub struct Report {
    pub verdict: Verdict,
    pub contacted: Vec<SocketAddr>,
}

pub async fn probe(target: &Target, opts: &Options) -> Result<Report, Error> {
    let connector = Connector::new(opts)?;
    let mut verdict = Verdict {
        host: target.host.clone(),
        reachable: false,
        scheme: None,
        tls: None,
        credentials: None,
        repository: Presence::Unknown,
        tag: Presence::Unknown,
        nearest_tags: Vec::new(),
    };
    let run = ask(&connector, target, opts, &mut verdict);
    // The bound on the whole probe: whatever was learned before it expired stays.
    let _ = tokio::time::timeout(opts.total_timeout, run).await;
    Ok(Report {
        verdict,
        contacted: connector.contacted(),
    })
}

async fn ask(connector: &Connector, target: &Target, opts: &Options, v: &mut Verdict) {
    let Some((scheme, ping)) = reach(connector, &target.host, v).await else {
        return;
    };
    v.scheme = Some(scheme);
    let challenge = match ping.status {
        200 => None,
        401 => auth::Challenge::parse(ping.header("www-authenticate").unwrap_or_default()),
        _ => return,
    };
    // Credentials only to the registry itself, and in clear text only to a plain-HTTP registry.
    let creds = opts.creds.as_ref();
    let manifest_path = format!("/v2/{}/manifests/{}", target.repository, target.reference);
    let scope = format!("repository:{}:pull", target.repository);
    let authorization = match &challenge {
        None => None,
        Some(auth::Challenge::Basic) => creds.map(auth::basic),
        Some(auth::Challenge::Bearer { realm, service }) => {
            match auth::token(
                connector,
                &target.host,
                scheme,
                realm,
                service.as_deref(),
                &scope,
                creds,
            )
            .await
            {
                auth::TokenResult::Token(t) => Some(format!("Bearer {t}")),
                auth::TokenResult::Refused => {
                    v.credentials = Some(if creds.is_some() {
                        Credentials::Rejected
                    } else {
                        Credentials::Missing
                    });
                    return;
                }
                auth::TokenResult::Failed => return,
            }
        }
    };
    let manifest = connector
        .request(
            scheme,
            &target.host,
            "HEAD",
            &manifest_path,
            authorization.as_deref(),
            true,
        )
        .await;
    let Ok(manifest) = manifest else { return };
    match manifest.status {
        200 => {
            v.repository = Presence::Exists;
            v.tag = Presence::Exists;
            v.credentials = Some(credentials_after_success(&challenge, creds.is_some()));
        }
        401 | 403 => {
            v.credentials = Some(if creds.is_some() {
                Credentials::Rejected
            } else {
                Credentials::Missing
            });
        }
        404 => {
            v.credentials = Some(credentials_after_success(&challenge, creds.is_some()));
            v.tag = Presence::Missing;
            let tags_path = format!("/v2/{}/tags/list", target.repository);
            let Ok(tags) = connector
                .request(scheme, &target.host, "GET", &tags_path, authorization.as_deref(), false)
                .await
            else {
                return;
            };
            match tags.status {
                200 => {
                    v.repository = Presence::Exists;
                    v.nearest_tags = nearest(&target.reference, &auth::tag_list(&tags.body));
                }
                404 => v.repository = Presence::Missing,
                _ => {}
            }
        }
        _ => {}
    }
}

fn credentials_after_success(challenge: &Option<auth::Challenge>, sent: bool) -> Credentials {
    match (challenge, sent) {
        (None, _) => Credentials::NotNeeded,
        (Some(_), true) => Credentials::Accepted,
        // A Bearer registry can hand out anonymous tokens: then none were needed.
        (Some(_), false) => Credentials::NotNeeded,
    }
}

/// `GET /v2/` over HTTPS, and over plain HTTP when the server does not speak TLS.
async fn reach(connector: &Connector, host: &str, v: &mut Verdict) -> Option<(Scheme, Response)> {
    match connector.request(Scheme::Https, host, "GET", "/v2/", None, false).await {
        Ok(r) => {
            v.reachable = true;
            v.tls = Some(Tls::Ok);
            Some((Scheme::Https, r))
        }
        Err(conn::Failure::Unreachable) => None,
        Err(conn::Failure::Tls(t)) => {
            v.reachable = true;
            v.scheme = Some(Scheme::Https);
            v.tls = Some(t);
            None
        }
        Err(conn::Failure::NotTls) => {
            v.reachable = true;
            match connector.request(Scheme::Http, host, "GET", "/v2/", None, false).await {
                Ok(r) => {
                    v.tls = Some(Tls::None);
                    Some((Scheme::Http, r))
                }
                Err(_) => None,
            }
        }
        Err(conn::Failure::Protocol) => {
            v.reachable = true;
            None
        }
    }
}

/// Up to five tags closest to the missing one, closest first.
fn nearest(wanted: &str, tags: &[String]) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = tags
        .iter()
        .map(|t| (strsim::normalized_damerau_levenshtein(wanted, t), t))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.into_iter().take(5).map(|(_, t)| t.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_tags_are_the_closest_five() {
        let tags: Vec<String> = ["1.0", "1.1", "2.0", "latest", "1.10", "10.1", "0.9"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let n = nearest("1.01", &tags);
        assert_eq!(n.len(), 5);
        assert!(
            n[..2].contains(&"1.0".to_string()) || n[..2].contains(&"1.10".to_string()),
            "{n:?}"
        );
        assert!(!n.contains(&"latest".to_string()), "{n:?}");
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let c = Creds {
            username: "u".into(),
            password: "PLANTED-SECRET-dbg".into(),
        };
        let o = Options {
            creds: Some(c),
            ..Options::default()
        };
        assert!(!format!("{o:?}").contains("PLANTED"));
    }

    #[test]
    fn verdict_serializes_in_the_documented_shape() {
        let v = Verdict {
            host: "reg:5000".into(),
            reachable: true,
            scheme: Some(Scheme::Https),
            tls: Some(Tls::WrongHost),
            credentials: Some(Credentials::NotNeeded),
            repository: Presence::Exists,
            tag: Presence::Missing,
            nearest_tags: vec!["1.0".into()],
        };
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"host":"reg:5000","reachable":true,"scheme":"https","tls":"wrong-host",
                "credentials":"not-needed","repository":"exists","tag":"missing","nearestTags":["1.0"]})
        );
    }
}
