//! kubelet's credential matching: which pull-secret keys apply to an image
//! (after pkg/credentialprovider keyring.go `URLsMatch`).

use super::strip_scheme;

use crate::refs::dockercfg::DockerConfig;
use crate::refs::image::ImageRef;

/// Docker Hub spellings; all are treated as `docker.io`.
const HUB_HOSTS: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];

fn is_hub(host: &str) -> bool {
    HUB_HOSTS.contains(&host)
}

/// A config key or image location broken into the parts kubelet compares.
#[derive(Debug, PartialEq, Eq)]
struct Location {
    /// Lowercased dot-separated host labels (glob patterns for keys).
    labels: Vec<String>,
    port: Option<String>,
    /// Non-empty path segments.
    path: Vec<String>,
}

/// Parses `[scheme://]host[:port][/path]` the way kubelet normalises a key:
/// scheme dropped, a leading `/v1/` or `/v2/` treated as no path.
fn parse_location(raw: &str) -> Option<Location> {
    let s = raw.trim();
    let s = strip_scheme(s);
    // Query strings and fragments never name a repository.
    let s = s.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match s.find('/') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    // url.Parse would treat `user@` as userinfo, not as part of the host.
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = split_host_port(authority)?;
    if host.is_empty() {
        return None;
    }
    let path = ["/v1/", "/v2/"]
        .iter()
        .find_map(|p| path.strip_prefix(p).map(|rest| rest.to_string()))
        .unwrap_or_else(|| path.to_string());
    let host = host.to_ascii_lowercase();
    let host = if is_hub(&host) { "docker.io".to_string() } else { host };
    Some(Location {
        labels: host.split('.').map(str::to_string).collect(),
        port,
        path: path
            .split('/')
            .filter(|seg| !seg.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// Go's `net.SplitHostPort`, falling back to "no port" like kubelet's
/// `splitURL` does when it fails. An empty port counts as none.
fn split_host_port(authority: &str) -> Option<(&str, Option<String>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        (addr, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            // A second colon would be an unbracketed IPv6 address: no port.
            Some((_, p)) if p.contains(':') => (authority, None),
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = port.filter(|p| !p.is_empty()).map(str::to_string);
    Some((host, port))
}

/// kubelet's rules (pkg/credentialprovider keyring): a config key matches an image when
/// - the key's scheme (http://, https://) is ignored; key may carry a path prefix (`registry.io/team`), which must be a path-segment prefix of the image's repository path;
/// - hosts compare case-insensitively; a port in the key must equal the image's port, and a key without port matches only an image without port;
/// - `*.example.com` in the key matches exactly one label (`a.example.com`, not `a.b.example.com`, not `example.com`); wildcards allowed per label as kubelet's URLsMatch does with filepath.Match per dot-separated part;
/// - Docker Hub: keys `https://index.docker.io/v1/`, `index.docker.io`, `docker.io`, `registry-1.docker.io` all mean docker.io, and match images on docker.io.
///
/// Keys are read as URLs like kubelet does, so a `?` or `#` in a key starts a
/// query or fragment (never a wildcard), and a leading `/v1/` or `/v2/` path is no path.
pub fn key_matches(key: &str, image: &ImageRef) -> bool {
    let (Some(k), Some(img)) = (parse_location(key), parse_location(&image.registry)) else {
        return false;
    };
    let repo: Vec<&str> = image.repository.split('/').collect();
    hosts_match(&k, &img) && k.path.len() <= repo.len() && k.path.iter().zip(&repo).all(|(a, b)| a == b)
}

/// The matching keys of a config, best (most specific) first, only those with credentials.
///
/// Most specific: longer path prefix first, then keys without wildcards,
/// then by key text so the order is stable.
pub fn covering_keys(cfg: &DockerConfig, image: &ImageRef) -> Vec<String> {
    let mut keys: Vec<(usize, bool, &String)> = cfg
        .entries
        .iter()
        .filter(|(key, entry)| entry.has_credentials() && key_matches(key, image))
        .filter_map(|(key, _)| {
            let loc = parse_location(key)?;
            let wildcard = loc.labels.iter().any(|l| l.contains(['*', '?', '[']));
            Some((loc.path.len(), wildcard, key))
        })
        .collect();
    keys.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(b.2)));
    keys.into_iter().map(|(_, _, k)| k.clone()).collect()
}

/// Host-only variant used when only a registry host[:port] is known (no repository path): path-prefixed keys do not count.
pub fn key_matches_host(key: &str, registry: &str) -> bool {
    let (Some(k), Some(reg)) = (parse_location(key), parse_location(registry)) else {
        return false;
    };
    k.path.is_empty() && hosts_match(&k, &reg)
}

fn hosts_match(key: &Location, target: &Location) -> bool {
    key.port == target.port
        && key.labels.len() == target.labels.len()
        && key
            .labels
            .iter()
            .zip(&target.labels)
            .all(|(pattern, label)| glob_match(pattern, label).unwrap_or(false))
}

/// One element of a `filepath.Match` pattern.
enum Token {
    Literal(char),
    AnyChar,
    Star,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

/// Go's `filepath.Match` for a single host label (no `/` inside).
/// `None` is Go's `ErrBadPattern`, which kubelet treats as no match.
fn glob_match(pattern: &str, text: &str) -> Option<bool> {
    let tokens = tokenize(pattern)?;
    let text: Vec<char> = text.chars().collect();
    Some(match_tokens(&tokens, &text))
}

fn tokenize(pattern: &str) -> Option<Vec<Token>> {
    let mut chars = pattern.chars().peekable();
    let mut out = Vec::new();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Token::Star,
            '?' => Token::AnyChar,
            '\\' => Token::Literal(chars.next()?),
            '[' => {
                let negated = chars.next_if_eq(&'^').is_some();
                let mut ranges = Vec::new();
                loop {
                    if chars.peek() == Some(&']') && !ranges.is_empty() {
                        chars.next();
                        break;
                    }
                    let lo = class_char(&mut chars)?;
                    let hi = if chars.next_if_eq(&'-').is_some() {
                        class_char(&mut chars)?
                    } else {
                        lo
                    };
                    ranges.push((lo, hi));
                }
                Token::Class { negated, ranges }
            }
            c => Token::Literal(c),
        });
    }
    Some(out)
}

/// Go's `getEsc`: an unescaped `-` or `]` here, or running out, is a bad pattern.
fn class_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    match chars.next()? {
        '-' | ']' => None,
        '\\' => chars.next(),
        c => Some(c),
    }
}

fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    match tokens.split_first() {
        None => text.is_empty(),
        Some((Token::Star, rest)) => (0..=text.len()).any(|i| match_tokens(rest, &text[i..])),
        Some((tok, rest)) => match text.split_first() {
            None => false,
            Some((&c, tail)) => {
                let hit = match tok {
                    Token::Literal(l) => *l == c,
                    Token::AnyChar => true,
                    Token::Class { negated, ranges } => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated,
                    Token::Star => unreachable!("handled above"),
                };
                hit && match_tokens(rest, tail)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refs::dockercfg::AuthEntry;

    fn img(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    fn m(key: &str, image: &str) -> bool {
        key_matches(key, &img(image))
    }

    #[test]
    fn plain_host() {
        assert!(m("quay.io", "quay.io/org/app:1"));
        assert!(!m("quay.io", "gcr.io/org/app"));
        assert!(!m("quay.io", "nginx"));
    }

    #[test]
    fn port_must_match_exactly() {
        assert!(m("registry.example.com:5000", "registry.example.com:5000/app"));
        assert!(!m("registry.example.com:5000", "registry.example.com/app"));
        assert!(!m("registry.example.com", "registry.example.com:5000/app"));
        assert!(!m("registry.example.com:5001", "registry.example.com:5000/app"));
    }

    #[test]
    fn scheme_is_ignored() {
        assert!(m("https://quay.io", "quay.io/a/b"));
        assert!(m("http://registry.example.com:5000", "registry.example.com:5000/a"));
        assert!(m("HTTPS://quay.io/", "quay.io/a/b"));
        assert!(m("https://quay.io/v2/", "quay.io/a/b"));
    }

    #[test]
    fn path_prefix_is_segment_based() {
        assert!(m("quay.io/myorg", "quay.io/myorg/app"));
        assert!(m("quay.io/myorg", "quay.io/myorg"));
        assert!(m("quay.io/myorg/", "quay.io/myorg/app"));
        assert!(!m("quay.io/myorgx", "quay.io/myorg/app"));
        assert!(!m("quay.io/myorg", "quay.io/myorgx/app"));
        assert!(!m("quay.io/myorg/app", "quay.io/myorg"));
        assert!(m("https://quay.io/v1/myorg", "quay.io/myorg/app"));
    }

    #[test]
    fn host_case_is_ignored() {
        assert!(m("Quay.IO", "quay.io/a/b"));
        assert!(m("quay.io", "QUAY.io/a/b"));
    }

    #[test]
    fn wildcard_matches_exactly_one_label() {
        assert!(m("*.azurecr.io", "myacr.azurecr.io/x"));
        assert!(!m("*.azurecr.io", "azurecr.io/x"));
        assert!(m("*.icr.io", "us.icr.io/ns/app"));
        assert!(!m("*.icr.io", "icr.io/ns/app"));
        assert!(!m("*.icr.io", "a.b.icr.io/ns/app"));
        assert!(!m("*.icr.io", "us.icr.io:443/ns/app"));
    }

    #[test]
    fn glob_per_label() {
        assert!(m("*.*.amazonaws.com", "1234.dkr.amazonaws.com/a"));
        assert!(m("us-*.pkg.dev", "us-west2.pkg.dev/p/r/i"));
        assert!(!m("us-*.pkg.dev", "europe-west1.pkg.dev/p/r/i"));
        // kubelet parses keys as URLs, so `?` starts a query and never acts
        // as a wildcard in a key; the matcher itself supports it.
        assert!(!m("reg?.example.com", "reg1.example.com/a"));
        assert_eq!(glob_match("reg?", "reg1"), Some(true));
        assert_eq!(glob_match("reg?", "reg12"), Some(false));
        assert!(m("reg[0-9].example.com", "reg7.example.com/a"));
        assert!(!m("reg[^0-9].example.com", "reg7.example.com/a"));
        assert!(m("reg[^0-9].example.com", "regx.example.com/a"));
        // Bad patterns never match, as kubelet ignores the error.
        assert!(!m("reg[a.example.com", "rega.example.com/a"));
        assert!(!m("reg[]a].example.com", "rega.example.com/a"));
        assert!(!key_matches_host("reg[.example.com", "reg[.example.com"));
    }

    #[test]
    fn glob_matcher_edge_cases() {
        assert_eq!(glob_match("*", ""), Some(true));
        assert_eq!(glob_match("a*b*c", "axxbyyc"), Some(true));
        assert_eq!(glob_match("a*b*c", "axxbyy"), Some(false));
        assert_eq!(glob_match("\\*", "*"), Some(true));
        assert_eq!(glob_match("\\*", "x"), Some(false));
        assert_eq!(glob_match("[a-", "a"), None);
        // Go accepts a reversed range; it simply never matches.
        assert_eq!(glob_match("[z-a]", "m"), Some(false));
        assert_eq!(glob_match("[-a]", "a"), None);
        assert_eq!(glob_match("x\\", "x"), None);
    }

    #[test]
    fn docker_hub_keys() {
        for key in [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
            "https://registry-1.docker.io/v2/",
        ] {
            assert!(m(key, "nginx"), "{key} vs nginx");
            assert!(m(key, "bitnami/redis:7"), "{key} vs bitnami/redis");
            assert!(!m(key, "quay.io/nginx"), "{key} vs quay.io");
        }
        assert!(m("docker.io/bitnami", "bitnami/redis"));
        assert!(!m("docker.io/bitnami", "nginx"));
        assert!(m("docker.io/library", "nginx"));
        assert!(
            !m("*.docker.io", "nginx"),
            "wildcard cannot match the two-label docker.io"
        );
    }

    #[test]
    fn ip_and_port_keys() {
        assert!(m("192.168.2.11:5001", "192.168.2.11:5001/test/test:latest"));
        assert!(!m("192.168.2.11", "192.168.2.11:5001/test/test"));
        assert!(!m("192.168.2.11:5000", "192.168.2.11:5001/test/test"));
        assert!(m("https://192.168.2.11:5001/v2/", "192.168.2.11:5001/test/test"));
        assert!(m("[::1]:5000", "[::1]:5000/x"));
        assert!(!m("[::1]", "[::1]:5000/x"));
    }

    #[test]
    fn garbage_keys_never_match() {
        assert!(!m("", "nginx"));
        assert!(!m("https://", "nginx"));
        assert!(!m("[::1", "[::1]:5000/x"));
    }

    #[test]
    fn host_only_variant() {
        assert!(key_matches_host("quay.io", "quay.io"));
        assert!(key_matches_host("https://quay.io/v1/", "quay.io"));
        assert!(!key_matches_host("quay.io/myorg", "quay.io"));
        assert!(!key_matches_host("quay.io", "quay.io:443"));
        assert!(key_matches_host("*.azurecr.io", "myacr.azurecr.io"));
        assert!(!key_matches_host("*.azurecr.io", "a.b.azurecr.io"));
        assert!(key_matches_host("https://index.docker.io/v1/", "docker.io"));
        assert!(key_matches_host("docker.io", "registry-1.docker.io"));
        assert!(key_matches_host("localhost:5000", "localhost:5000"));
        assert!(!key_matches_host("localhost", "localhost:5000"));
    }

    fn creds() -> AuthEntry {
        AuthEntry {
            username: Some("u".into()),
            password: Some("p".into()),
            ..Default::default()
        }
    }

    #[test]
    fn covering_keys_orders_by_specificity_and_skips_empty_entries() {
        let mut cfg = DockerConfig::default();
        for key in [
            "quay.io",
            "*.io",
            "quay.io/myorg",
            "https://quay.io",
            "gcr.io",
            "quay.io/myorg/app",
        ] {
            cfg.entries.insert(key.into(), creds());
        }
        cfg.entries.insert("quay.io/myorg/app/sub".into(), creds());
        // An entry with no credentials is never "covering".
        cfg.entries.insert("quay.io/myorg/empty".into(), AuthEntry::default());
        let got = covering_keys(&cfg, &img("quay.io/myorg/app:1"));
        assert_eq!(
            got,
            [
                "quay.io/myorg/app",
                "quay.io/myorg",
                "https://quay.io",
                "quay.io",
                "*.io"
            ]
        );
    }

    #[test]
    fn covering_keys_for_hub_image_and_no_match() {
        let mut cfg = DockerConfig::default();
        cfg.entries.insert("https://index.docker.io/v1/".into(), creds());
        cfg.entries.insert("quay.io".into(), creds());
        assert_eq!(covering_keys(&cfg, &img("nginx")), ["https://index.docker.io/v1/"]);
        assert!(covering_keys(&cfg, &img("gcr.io/x/y")).is_empty());
    }
}
