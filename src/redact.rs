//! Credentials that ride inside text from the cluster: runtimes and registries put them in
//! URLs (`https://user:password@host/`, `?token=...`, `X-Amz-Signature=...`) and headers
//! (`Authorization: Bearer ...`), and event messages repeat them verbatim. Everything the plan
//! prints passes through [`redact`]; registry keys of a docker config pass through
//! [`registry_key`].

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What stands where a credential was.
pub const REDACTED: &str = "<redacted>";

/// `scheme://userinfo@`: any userinfo of a URL.
static URL_USERINFO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@"'<>]+@"#).expect("valid regex"));

/// `user:password@host` without a scheme, as image references can carry it. The user part
/// holds no `/`, so `registry:5000/app@sha256:...` is not taken for one.
static BARE_USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(^|[\s"'(\[=,])[^\s/@"'<>:(\[=,]+:[^\s/@"'<>]+@([a-zA-Z0-9.-]+)"#).expect("valid regex")
});

/// `name=value` where the name says it is a credential (query parameters, form fields,
/// `key=value` logs): `token`, `access_token`, `password`, `secret`, `sig`, `X-Amz-Signature`,
/// `X-Amz-Credential`, `client_secret`, `api_key`, ...
static CREDENTIAL_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(^|[?&;\s"',{(])([a-z0-9_.-]*(?:token|passwd|password|secret|sig|signature|credential|api[_-]?key))=("?)([^&\s"',;)}]+)"#,
    )
    .expect("valid regex")
});

/// Credential-bearing headers: `Authorization: Bearer x`, `Proxy-Authorization: Basic x`,
/// `X-Registry-Auth: x`, `Cookie: x`.
static CREDENTIAL_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b((?:proxy-)?authorization|x-registry-auth|x-auth-token|x-amz-security-token|cookie|set-cookie)(\s*[:=]\s*)(?:(bearer|basic|token|negotiate)\s+)?[^\s"',;]+"#,
    )
    .expect("valid regex")
});

/// A bare `Bearer <token>` (as in `WWW-Authenticate` echoes).
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})"#).expect("valid regex"));

fn may_hold_credential(s: &str) -> bool {
    s.contains('@') || s.contains('=') || s.contains(':') || s.contains(' ')
}

/// A value that stands for one the user fills in (`PASSWORD`, `$TOKEN`, `<redacted>`), as
/// printed commands and flag hints carry them: never a credential, and needed for pasting.
fn is_placeholder(v: &str) -> bool {
    let upper = v.len() >= 3 && v.chars().all(|c| c.is_ascii_uppercase() || c == '_');
    upper || v.starts_with('$') || v == REDACTED
}

/// `s` with every credential the patterns above know replaced by [`REDACTED`].
pub fn redact(s: &str) -> Cow<'_, str> {
    if !may_hold_credential(s) {
        return Cow::Borrowed(s);
    }
    let mut out = Cow::Borrowed(s);
    let mut apply = |re: &Regex, rep: &dyn Fn(&regex::Captures) -> String| {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, |c: &regex::Captures| rep(c)).into_owned());
        }
    };
    apply(&URL_USERINFO, &|c| format!("{}{REDACTED}@", &c[1]));
    apply(&BARE_USERINFO, &|c| {
        // `app:1@sha256:...` is a tag and a digest, not userinfo.
        if c[2].starts_with("sha256") || c[2].starts_with("sha512") {
            c[0].to_string()
        } else {
            format!("{}{REDACTED}@{}", &c[1], &c[2])
        }
    });
    apply(&CREDENTIAL_HEADER, &|c| {
        let scheme = c.get(3).map(|m| format!("{} ", m.as_str())).unwrap_or_default();
        format!("{}{}{scheme}{REDACTED}", &c[1], &c[2])
    });
    apply(&BEARER, &|c| {
        // A token has digits or punctuation; `Basic authentication` is words.
        let token = &c[2];
        if token.chars().any(|ch| !ch.is_ascii_alphabetic()) && token != REDACTED {
            format!("{} {REDACTED}", &c[1])
        } else {
            c[0].to_string()
        }
    });
    apply(&CREDENTIAL_PARAM, &|c| {
        if is_placeholder(&c[4]) {
            c[0].to_string()
        } else {
            format!("{}{}={}{REDACTED}", &c[1], &c[2], &c[3])
        }
    });
    out
}

/// Redact a string in place (no allocation when nothing matches).
pub fn redact_in_place(s: &mut String) {
    if let Cow::Owned(r) = redact(s) {
        *s = r;
    }
}

/// Redact every string of a JSON value, keys included.
pub fn redact_value(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => redact_in_place(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_value),
        serde_json::Value::Object(m) => {
            if m.keys().any(|k| matches!(redact(k), Cow::Owned(_))) {
                let old = std::mem::take(m);
                for (k, mut x) in old {
                    redact_value(&mut x);
                    m.insert(redact(&k).into_owned(), x);
                }
            } else {
                m.values_mut().for_each(redact_value);
            }
        }
        _ => {}
    }
}

/// A docker config `auths` key as a registry name: `host[:port][/path]` only. Keys may be
/// full URLs (`https://index.docker.io/v1/`) and may carry userinfo or a query, which never
/// print.
pub fn registry_key(key: &str) -> String {
    let mut k = key.trim();
    if let Some(i) = k.find("://") {
        k = &k[i + 3..];
    }
    let end = k.find(['?', '#']).unwrap_or(k.len());
    k = &k[..end];
    // Userinfo ends at the last `@` before the path.
    let host_end = k.find('/').unwrap_or(k.len());
    if let Some(at) = k[..host_end].rfind('@') {
        k = &k[at + 1..];
    }
    k.trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_userinfo_is_redacted() {
        assert_eq!(
            redact("Get \"https://bob:hunter2@registry.example/v2/\": unauthorized"),
            "Get \"https://<redacted>@registry.example/v2/\": unauthorized"
        );
        assert_eq!(redact("https://TOKEN123@host/x"), "https://<redacted>@host/x");
    }

    #[test]
    fn image_userinfo_is_redacted_but_digests_stay() {
        assert_eq!(
            redact("pulling image \"bob:hunter2@quay.io/org/app:1\""),
            "pulling image \"<redacted>@quay.io/org/app:1\""
        );
        let digest = "registry:5000/app@sha256:0123456789abcdef";
        assert_eq!(redact(digest), digest);
        for kept in ["quay.io/org/app@sha256:0123", "nginx:1.25@sha256:0123"] {
            assert_eq!(redact(kept), kept);
        }
    }

    #[test]
    fn credential_parameters_are_redacted() {
        let m = "Get https://s3.example/blob?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA/x&X-Amz-Signature=deadbeef&token=abc&access_token=xyz&sig=s1g";
        let r = redact(m);
        for leaked in ["AKIA", "deadbeef", "=abc", "xyz", "s1g"] {
            assert!(!r.contains(leaked), "{leaked} in {r}");
        }
        assert!(r.contains("X-Amz-Algorithm=AWS4"), "harmless parameters stay: {r}");
        assert_eq!(redact("login password=PW1 user=u"), "login password=<redacted> user=u");
        assert_eq!(redact("password=Hunter2"), "password=<redacted>");
        assert_eq!(redact("secret=\"abc\""), "secret=\"<redacted>\"");
        // Placeholders in printed commands and flag hints stay, so they paste.
        for kept in [
            "--docker-password=PASSWORD",
            "--set-file registry_password=PATH",
            "token=$TOKEN",
        ] {
            assert_eq!(redact(kept), kept);
        }
    }

    #[test]
    fn credential_headers_are_redacted() {
        assert_eq!(
            redact("sent Authorization: Bearer eyJhbGciOi.x.y to host"),
            "sent Authorization: Bearer <redacted> to host"
        );
        assert_eq!(
            redact("Proxy-Authorization: Basic dXNlcjpwdw=="),
            "Proxy-Authorization: Basic <redacted>"
        );
        assert_eq!(
            redact("www-authenticate Bearer abcdefgh12345"),
            "www-authenticate Bearer <redacted>"
        );
        assert_eq!(redact("basic authentication required"), "basic authentication required");
    }

    #[test]
    fn ordinary_messages_are_untouched() {
        for m in [
            "unable to retrieve auth token: invalid username/password: unauthorized: Please login",
            "pinging container registry r:5000: Get \"https://r:5000/v2/\": http: server gave HTTP response to HTTPS client",
            "x509: certificate signed by unknown authority",
            "Back-off pulling image \"quay.io/org/app:1\"",
            "manifest unknown: manifest unknown",
        ] {
            assert_eq!(redact(m), m);
        }
    }

    #[test]
    fn values_are_redacted_throughout() {
        let mut v = serde_json::json!({"a": ["https://u:p@h/"], "https://u:p@k/": {"token=t1": 1}});
        redact_value(&mut v);
        let s = v.to_string();
        assert!(!s.contains("u:p") && !s.contains("t1"), "{s}");
    }

    #[test]
    fn registry_keys_show_host_port_and_path_only() {
        assert_eq!(registry_key("https://index.docker.io/v1/"), "index.docker.io/v1");
        assert_eq!(registry_key("https://bob:pw@quay.io/org"), "quay.io/org");
        assert_eq!(registry_key("bob:pw@registry:5000"), "registry:5000");
        assert_eq!(registry_key("registry:5000/x?token=abc"), "registry:5000/x");
        assert_eq!(registry_key("quay.io"), "quay.io");
    }
}
