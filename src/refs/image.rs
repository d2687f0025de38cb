//! Docker image reference parsing, normalised the way Docker and containerd
//! read a pod's `image:` field (distribution/reference `ParseNormalizedNamed`
//! grammar, plus go-digest validation of the digest).

use serde::Serialize;

/// Docker Hub's canonical name; bare names like `nginx` live here.
const DEFAULT_REGISTRY: &str = "docker.io";
/// distribution/reference's `legacyDefaultDomain`: the only other name it rewrites to
/// `docker.io`. (`registry-1.docker.io` is Hub's real endpoint, but references naming it
/// stay as written, and kubelet does not treat them as Docker Hub.)
const HUB_ALIASES: [&str; 1] = ["index.docker.io"];
/// Single-component Hub repositories are official images under `library/`.
const OFFICIAL_PREFIX: &str = "library/";
const DEFAULT_TAG: &str = "latest";
/// distribution/reference caps `registry/repository` at 255 characters.
const NAME_TOTAL_MAX: usize = 255;
/// Tags are `[\w][\w.-]{0,127}`.
const TAG_MAX: usize = 128;

/// A parsed, normalised image reference.
///
/// `tag` is `Some("latest")` when the input had neither tag nor digest, as
/// the runtime pulls that; with a digest and no tag it stays `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// Registry host with optional port, e.g. `docker.io`, `localhost:5000`, `[::1]:5000`.
    pub registry: String,
    /// Repository path without registry, e.g. `library/nginx`.
    pub repository: String,
    pub tag: Option<String>,
    /// `algorithm:hex`, e.g. `sha256:…`.
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    #[error("empty image reference")]
    Empty,
    #[error("invalid reference format: {0}")]
    Invalid(String),
    #[error("invalid reference format: repository name must be lowercase")]
    Uppercase,
}

fn invalid(reason: impl Into<String>) -> ImageRefError {
    ImageRefError::Invalid(reason.into())
}

impl ImageRef {
    /// Parses `s` as Docker does for `docker pull s` / a pod's `image:`.
    ///
    /// A string that is empty or only whitespace is `Empty`; anything else
    /// containing whitespace is `Invalid`.
    pub fn parse(s: &str) -> Result<Self, ImageRefError> {
        if s.trim().is_empty() {
            return Err(ImageRefError::Empty);
        }
        // Cheap, specific diagnoses for the template mistakes seen in real
        // manifests, before the generic grammar errors would hide them.
        if s.chars().any(char::is_whitespace) {
            return Err(invalid(format!("`{s}` contains whitespace")));
        }
        if s.contains('$') {
            return Err(invalid(format!("`{s}` contains `$`: an unexpanded variable?")));
        }
        if s.contains('<') || s.contains('>') {
            return Err(invalid(format!("`{s}` contains `<`/`>`: an unfilled placeholder?")));
        }
        if s.starts_with('/') {
            return Err(invalid(format!("`{s}` starts with `/`")));
        }
        // Docker refuses a bare 64-hex string: it is an image ID, not a name.
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid(format!(
                "`{s}` is a 64-byte hexadecimal ID, not a repository name"
            )));
        }

        let (name_and_tag, digest) = match s.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (s, None),
        };
        let (registry, remainder) = split_registry(name_and_tag);
        // Repository paths cannot contain ':', so the first one starts the tag.
        let (path, tag) = match remainder.split_once(':') {
            Some((p, t)) => (p, Some(t)),
            None => (remainder.as_str(), None),
        };
        // Docker reports case before any other grammar problem.
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(ImageRefError::Uppercase);
        }
        validate_registry(&registry)?;
        validate_path(path)?;
        if let Some(t) = tag {
            validate_tag(t)?;
        }
        if let Some(d) = digest {
            validate_digest(d)?;
        }
        if registry.len() + 1 + path.len() > NAME_TOTAL_MAX {
            return Err(invalid(format!(
                "repository name must not be more than {NAME_TOTAL_MAX} characters"
            )));
        }

        let tag = match (tag, digest) {
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (t, _) => t.map(str::to_string),
        };
        Ok(ImageRef {
            registry,
            repository: path.to_string(),
            tag,
            digest: digest.map(str::to_string),
        })
    }

    /// Registry host with optional port (`docker.io`, `localhost:5000`).
    pub fn registry_host(&self) -> &str {
        &self.registry
    }

    /// Fully qualified name, e.g. `docker.io/library/nginx:latest` or
    /// `quay.io/a/b:v1@sha256:…`.
    pub fn normalized(&self) -> String {
        let mut out = format!("{}/{}", self.registry, self.repository);
        if let Some(t) = &self.tag {
            out.push(':');
            out.push_str(t);
        }
        if let Some(d) = &self.digest {
            out.push('@');
            out.push_str(d);
        }
        out
    }
}

/// Registries that serve public images to anonymous clients: pulling from them without
/// credentials is normal, so a missing pull secret is no evidence of an authentication
/// failure there. (They host private repositories too; then the registry's own message says
/// so, and rules that see it do not need this list.)
pub const ANONYMOUS_PULL_REGISTRIES: &[&str] = &[
    "docker.io",
    "quay.io",
    "ghcr.io",
    "gcr.io",
    "registry.k8s.io",
    "k8s.gcr.io",
    "mcr.microsoft.com",
    "public.ecr.aws",
    "registry.access.redhat.com",
    "registry.gitlab.com",
    "docker.elastic.co",
];

/// Whether `registry` (`host[:port]`, as in [`ImageRef::registry`]) is one of
/// [`ANONYMOUS_PULL_REGISTRIES`].
pub fn serves_anonymous_pulls(registry: &str) -> bool {
    ANONYMOUS_PULL_REGISTRIES.contains(&registry)
}

/// Registry host of an image string, `None` when it does not parse.
pub fn registry_of(image: &str) -> Option<String> {
    ImageRef::parse(image).ok().map(|r| r.registry)
}

/// Docker's `splitDockerDomain`: the first component is a registry when it
/// has a `.` or `:`, is `localhost`, or has uppercase (a lowercase-only
/// repository component could never contain it). Returns the registry and
/// the remainder (path plus optional `:tag`), with Hub normalisation applied.
fn split_registry(name: &str) -> (String, String) {
    let (registry, remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DEFAULT_REGISTRY, name),
    };
    let registry = if HUB_ALIASES.contains(&registry) {
        DEFAULT_REGISTRY
    } else {
        registry
    };
    let remainder = if registry == DEFAULT_REGISTRY && !remainder.contains('/') {
        format!("{OFFICIAL_PREFIX}{remainder}")
    } else {
        remainder.to_string()
    };
    (registry.to_string(), remainder)
}

/// `host[:port]` where host is a DNS-ish name, an IPv4 address or `[ipv6]`.
fn validate_registry(registry: &str) -> Result<(), ImageRefError> {
    let bad = || invalid(format!("registry `{registry}` is not a valid host[:port]"));
    let (host_ok, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (addr, after) = rest.split_once(']').ok_or_else(bad)?;
        let addr_ok = !addr.is_empty() && addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(bad)?),
        };
        (addr_ok, port)
    } else {
        let (host, port) = match registry.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (registry, None),
        };
        (host.split('.').all(is_domain_component), port)
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if host_ok && port_ok { Ok(()) } else { Err(bad()) }
}

/// `[a-zA-Z0-9]` or `[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn is_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
}

/// Path components separated by `/`, each `[a-z0-9]+` joined by `.`, `_`,
/// `__` or a run of `-`.
fn validate_path(path: &str) -> Result<(), ImageRefError> {
    for component in path.split('/') {
        if !is_path_component(component) {
            return Err(invalid(if component.is_empty() {
                format!("repository `{path}` has an empty path component")
            } else {
                format!("repository path component `{component}` is invalid")
            }));
        }
    }
    Ok(())
}

fn is_path_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    // Every maximal run of non-alphanumerics must be one allowed separator.
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn validate_tag(tag: &str) -> Result<(), ImageRefError> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = tag.as_bytes();
    let ok =
        !b.is_empty() && b.len() <= TAG_MAX && word(b[0]) && b[1..].iter().all(|&x| word(x) || x == b'.' || x == b'-');
    if ok {
        Ok(())
    } else if tag.is_empty() {
        Err(invalid("empty tag after `:`"))
    } else {
        Err(invalid(format!("tag `{tag}` is invalid")))
    }
}

/// go-digest rules: `algo:hex`; the registered algorithms need lowercase
/// hex of their exact length, anything else is unsupported by the runtime.
fn validate_digest(digest: &str) -> Result<(), ImageRefError> {
    let bad = |why: &str| invalid(format!("digest `{digest}` {why}"));
    let (algo, hex) = digest.split_once(':').ok_or_else(|| bad("must be `algorithm:hex`"))?;
    let expected_len = match algo {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(bad("uses an unsupported algorithm")),
    };
    if hex.len() == expected_len && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(bad(&format!(
            "must have {expected_len} lowercase hex characters after `{algo}:`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn ok(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn parts(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r = ok(s);
        (r.registry, r.repository, r.tag, r.digest)
    }

    fn is_invalid(s: &str) -> bool {
        matches!(ImageRef::parse(s), Err(ImageRefError::Invalid(_)))
    }

    #[test]
    fn bare_name_gets_hub_library_and_latest() {
        assert_eq!(ok("nginx").normalized(), "docker.io/library/nginx:latest");
        assert_eq!(ok("nginx").tag.as_deref(), Some("latest"));
    }

    #[test]
    fn tag_is_kept() {
        assert_eq!(ok("nginx:1.25").normalized(), "docker.io/library/nginx:1.25");
    }

    #[test]
    fn hub_spellings_normalise_to_the_same_reference() {
        let want = "docker.io/library/nginx:latest";
        for s in [
            "library/nginx",
            "docker.io/nginx",
            "docker.io/library/nginx",
            "index.docker.io/library/nginx",
            "index.docker.io/nginx",
        ] {
            assert_eq!(ok(s).normalized(), want, "{s}");
        }
        // ParseNormalizedNamed rewrites only `index.docker.io`.
        let r = ok("registry-1.docker.io/nginx");
        assert_eq!(r.registry, "registry-1.docker.io");
        assert_eq!(r.repository, "nginx");
    }

    #[test]
    fn hub_user_repo_has_no_library_prefix() {
        assert_eq!(ok("bitnami/redis:7").normalized(), "docker.io/bitnami/redis:7");
    }

    #[test]
    fn localhost_is_a_registry_without_library_prefix() {
        assert_eq!(
            parts("localhost/foo"),
            ("localhost".into(), "foo".into(), Some("latest".into()), None)
        );
        assert_eq!(
            parts("localhost:5000/foo:tag"),
            ("localhost:5000".into(), "foo".into(), Some("tag".into()), None)
        );
    }

    #[test]
    fn dotted_registries() {
        let r = ok("registry.redhat.io/redhat/redhat-operator-index:v4.20");
        assert_eq!(r.registry_host(), "registry.redhat.io");
        assert_eq!(r.repository, "redhat/redhat-operator-index");
        assert_eq!(r.tag.as_deref(), Some("v4.20"));

        let r = ok("us-west2-docker.pkg.dev/proj/repo/img:v1");
        assert_eq!(r.registry, "us-west2-docker.pkg.dev");
        assert_eq!(r.repository, "proj/repo/img");

        let r = ok("myacr.azurecr.io/x");
        assert_eq!(r.normalized(), "myacr.azurecr.io/x:latest");
    }

    #[test]
    fn ipv4_with_port() {
        assert_eq!(
            parts("192.168.2.11:5001/test/test:latest"),
            (
                "192.168.2.11:5001".into(),
                "test/test".into(),
                Some("latest".into()),
                None
            )
        );
    }

    #[test]
    fn ipv6_registry() {
        let r = ok("[::1]:5000/x");
        assert_eq!(r.registry, "[::1]:5000");
        assert_eq!(r.repository, "x");
        assert_eq!(ok("[fe80::1]/a/b:1").registry, "[fe80::1]");
        assert!(is_invalid("[::1/x"), "unclosed bracket");
        assert!(is_invalid("[]:5000/x"), "empty address");
        assert!(is_invalid("[::1]5000/x"), "port without colon");
    }

    #[test]
    fn digest_only_has_no_default_tag() {
        let r = ok(&format!("quay.io/a/b@sha256:{HEX}"));
        assert_eq!(r.registry, "quay.io");
        assert_eq!(r.repository, "a/b");
        assert_eq!(r.tag, None);
        assert_eq!(r.digest, Some(format!("sha256:{HEX}")));
        assert_eq!(r.normalized(), format!("quay.io/a/b@sha256:{HEX}"));
    }

    #[test]
    fn tag_and_digest_are_both_kept() {
        let r = ok(&format!("a/b:tag@sha256:{HEX}"));
        assert_eq!(r.normalized(), format!("docker.io/a/b:tag@sha256:{HEX}"));
        let r = ok(&format!("localhost:5000/repo:v2@sha256:{HEX}"));
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.tag.as_deref(), Some("v2"));
        assert!(r.digest.is_some());
    }

    #[test]
    fn other_registered_digest_algorithms() {
        assert!(ImageRef::parse(&format!("a@sha512:{HEX}{HEX}")).is_ok());
        assert!(ImageRef::parse(&format!("a@sha384:{}", &format!("{HEX}{HEX}")[..96])).is_ok());
    }

    #[test]
    fn invalid_digests() {
        assert!(is_invalid("a@sha256:abc"), "too short");
        assert!(is_invalid(&format!("a@sha256:{HEX}0")), "too long");
        assert!(is_invalid(&format!("a@sha256:{}", HEX.to_uppercase())), "uppercase hex");
        assert!(is_invalid(&format!("a@md5:{HEX}")), "unsupported algorithm");
        assert!(is_invalid(&format!("a@{HEX}")), "no algorithm");
        assert!(is_invalid("a@"), "empty digest");
        let g = HEX.replacen('0', "g", 1);
        assert!(is_invalid(&format!("a@sha256:{g}")), "non-hex");
    }

    #[test]
    fn uppercase_repository_is_rejected() {
        assert_eq!(
            ImageRef::parse("docker.pkg.github.com/CodeForPhilly/chime/penn-chime:1.1.0-rc.1"),
            Err(ImageRefError::Uppercase)
        );
        assert_eq!(ImageRef::parse("Nginx"), Err(ImageRefError::Uppercase));
        assert_eq!(ImageRef::parse("quay.io/a/B"), Err(ImageRefError::Uppercase));
    }

    #[test]
    fn uppercase_elsewhere_is_allowed() {
        // Tags may contain uppercase.
        assert_eq!(ok("nginx:Latest").tag.as_deref(), Some("Latest"));
        // Docker treats an uppercase first component as a registry host.
        let r = ok("Registry.Example.com/app");
        assert_eq!(r.registry, "Registry.Example.com");
        let r = ok("MyHost/app");
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("MyHost", "app"));
    }

    #[test]
    fn leading_slash_rejected() {
        assert!(is_invalid("/cloudfoundry/x:y"));
    }

    #[test]
    fn template_leftovers_rejected_with_a_hint() {
        let Err(ImageRefError::Invalid(msg)) = ImageRef::parse("${PHP_FPM_IMAGE}") else {
            panic!("expected Invalid");
        };
        assert!(msg.contains("variable"), "{msg}");
        let Err(ImageRefError::Invalid(msg)) = ImageRef::parse("<s1-helper-image>:<s1-helper-tag>") else {
            panic!("expected Invalid");
        };
        assert!(msg.contains("placeholder"), "{msg}");
        assert!(is_invalid("repo/$IMAGE"));
    }

    #[test]
    fn empty_and_whitespace() {
        assert_eq!(ImageRef::parse(""), Err(ImageRefError::Empty));
        assert_eq!(ImageRef::parse("  \t"), Err(ImageRefError::Empty));
        assert!(is_invalid(" nginx"));
        assert!(is_invalid("nginx:1.25 "));
        assert!(is_invalid("ngi nx"));
    }

    #[test]
    fn empty_tag_rejected() {
        assert!(is_invalid("foo:"));
        assert!(is_invalid("quay.io/a/b:"));
    }

    #[test]
    fn registry_with_port_but_no_slash_is_a_hub_repo_with_a_tag() {
        assert_eq!(
            parts("registry:5000"),
            ("docker.io".into(), "library/registry".into(), Some("5000".into()), None)
        );
        assert_eq!(ok("localhost:5000").normalized(), "docker.io/library/localhost:5000");
    }

    #[test]
    fn bad_tags() {
        assert!(is_invalid("nginx:.hidden"), "tag cannot start with a dot");
        assert!(is_invalid("nginx:-x"), "tag cannot start with a dash");
        assert!(is_invalid("nginx:a:b"), "second colon");
        assert!(is_invalid(&format!("nginx:{}", "a".repeat(129))), "too long");
        assert!(ImageRef::parse(&format!("nginx:{}", "a".repeat(128))).is_ok());
        assert!(ImageRef::parse("nginx:_private.v1-2").is_ok());
    }

    #[test]
    fn path_component_separators() {
        for good in ["a/b__c", "a/b-c", "a/b---c", "a/b.c", "a/b_c", "a/0x"] {
            assert!(ImageRef::parse(good).is_ok(), "{good}");
        }
        for bad in ["a/b___c", "a/b..c", "a/-b", "a/b-", "a/.b", "a//b", "a/b/", "a/b_.c"] {
            assert!(is_invalid(bad), "{bad}");
        }
    }

    #[test]
    fn bad_registry_hosts() {
        assert!(is_invalid("foo:bar/baz"), "non-numeric port");
        assert!(is_invalid("host:/x"), "empty port");
        assert!(is_invalid("-bad.io/x"), "leading dash in label");
        assert!(is_invalid("a..io/x"), "empty label");
        assert!(is_invalid("a_b.io/x"), "underscore in host");
    }

    #[test]
    fn bare_image_id_rejected() {
        assert!(is_invalid(HEX));
        // 63 hex characters is an ordinary (odd) repository name.
        assert!(ImageRef::parse(&HEX[..63]).is_ok());
    }

    #[test]
    fn name_length_limit() {
        let long = format!("quay.io/{}", "a".repeat(255 - "quay.io/".len()));
        assert!(ImageRef::parse(&long).is_ok());
        assert!(is_invalid(&format!("{long}a")));
    }

    #[test]
    fn registry_of_helper() {
        assert_eq!(registry_of("nginx").as_deref(), Some("docker.io"));
        assert_eq!(registry_of("localhost:5000/foo:tag").as_deref(), Some("localhost:5000"));
        assert_eq!(registry_of("${IMG}"), None);
        assert_eq!(registry_of(""), None);
    }

    #[test]
    fn error_messages() {
        assert_eq!(ImageRefError::Empty.to_string(), "empty image reference");
        assert_eq!(
            ImageRefError::Uppercase.to_string(),
            "invalid reference format: repository name must be lowercase"
        );
        let e = ImageRef::parse("foo:").unwrap_err().to_string();
        assert!(e.starts_with("invalid reference format: "), "{e}");
    }

    #[test]
    fn serializes_fields() {
        let v = serde_json::to_value(ok("quay.io/a/b:1")).unwrap();
        assert_eq!(v["registry"], "quay.io");
        assert_eq!(v["repository"], "a/b");
        assert_eq!(v["tag"], "1");
        assert!(v["digest"].is_null());
    }
}
