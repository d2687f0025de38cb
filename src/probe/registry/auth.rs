//! The distribution spec's authentication: the `WWW-Authenticate` challenge of `/v2/`, Basic
//! credentials, and the Bearer token endpoint.

use base64::Engine as _;

use super::conn::Connector;
use super::{Creds, Scheme};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer { realm: String, service: Option<String> },
}

impl Challenge {
    /// `Basic realm="x"` or `Bearer realm="https://auth/token",service="reg",scope="..."`.
    pub fn parse(header: &str) -> Option<Challenge> {
        let (kind, params) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        match kind.to_ascii_lowercase().as_str() {
            "basic" => Some(Challenge::Basic),
            "bearer" => {
                let p = params_of(params);
                let realm = p.iter().find(|(k, _)| k == "realm")?.1.clone();
                let service = p.iter().find(|(k, _)| k == "service").map(|(_, v)| v.clone());
                Some(Challenge::Bearer { realm, service })
            }
            _ => None,
        }
    }
}

/// `k="v",k2="v2"` (values may contain commas inside quotes).
fn params_of(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            match q.split_once('"') {
                Some((v, t)) => (v.to_string(), t),
                None => (q.to_string(), ""),
            }
        } else {
            match after.split_once(',') {
                Some((v, t)) => (v.trim().to_string(), t),
                None => (after.trim().to_string(), ""),
            }
        };
        out.push((key, value));
        rest = tail.trim_start().trim_start_matches(',');
    }
    out
}

pub fn basic(c: &Creds) -> String {
    let raw = format!("{}:{}", c.username, c.password);
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
}

pub enum TokenResult {
    Token(String),
    /// The token endpoint refused (401/403): the credentials, or their absence.
    Refused,
    Failed,
}

/// Fetches a pull token. Credentials go with it only when the token endpoint is on the
/// registry's own host, and over plain HTTP only when the registry itself is plain HTTP.
pub async fn token(
    connector: &Connector,
    registry_host: &str,
    registry_scheme: Scheme,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    creds: Option<&Creds>,
) -> TokenResult {
    let Ok(url) = http::Uri::try_from(realm) else {
        return TokenResult::Failed;
    };
    let scheme = match url.scheme_str() {
        Some("https") => Scheme::Https,
        Some("http") => Scheme::Http,
        _ => return TokenResult::Failed,
    };
    let Some(authority) = url.authority().map(|a| a.as_str().to_string()) else {
        return TokenResult::Failed;
    };
    let same_host = authority.eq_ignore_ascii_case(registry_host);
    let clear_text_ok = scheme == Scheme::Https || registry_scheme == Scheme::Http;
    let authorization = creds.filter(|_| same_host && clear_text_ok).map(basic);
    let mut query = format!("scope={}", encode(scope));
    if let Some(s) = service {
        query = format!("service={}&{query}", encode(s));
    }
    let path = url.path();
    let path_and_query = match url.query() {
        Some(q) => format!("{path}?{q}&{query}"),
        None => format!("{path}?{query}"),
    };
    match connector
        .request(
            scheme,
            &authority,
            "GET",
            &path_and_query,
            authorization.as_deref(),
            false,
        )
        .await
    {
        Ok(r) if r.status == 200 => {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            match v
                .get("token")
                .or_else(|| v.get("access_token"))
                .and_then(|t| t.as_str())
            {
                Some(t) if !t.is_empty() => TokenResult::Token(t.to_string()),
                _ => TokenResult::Failed,
            }
        }
        Ok(r) if r.status == 401 || r.status == 403 => TokenResult::Refused,
        _ => TokenResult::Failed,
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `tags` of a `/v2/<name>/tags/list` answer.
pub fn tag_list(body: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    v.get("tags")
        .and_then(|t| t.as_array())
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse() {
        assert_eq!(Challenge::parse("Basic realm=\"lab\""), Some(Challenge::Basic));
        assert_eq!(
            Challenge::parse(
                "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/a:pull,push\""
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            })
        );
        assert_eq!(
            Challenge::parse("Bearer realm=https://q/v2/auth"),
            Some(Challenge::Bearer {
                realm: "https://q/v2/auth".into(),
                service: None
            })
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
        assert_eq!(Challenge::parse("Bearer service=\"x\""), None);
    }

    #[test]
    fn tag_lists_and_encoding() {
        assert_eq!(tag_list(br#"{"name":"a","tags":["1","2"]}"#), vec!["1", "2"]);
        assert!(tag_list(b"not json").is_empty());
        assert_eq!(encode("repository:team/app:pull"), "repository%3Ateam%2Fapp%3Apull");
    }
}
