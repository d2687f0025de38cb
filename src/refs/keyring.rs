//! kubelet's credential matching for pull secrets, reproduced from
//! pkg/credentialprovider keyring.go: `BasicDockerKeyring.Add` (how a config key is stored),
//! `Lookup` (which keys apply to an image, with the Docker Hub fallback),
//! `ParseSchemelessURL`, `SplitURL`, `URLsMatch` and `isDefaultRegistryMatch`.
//!
//! What kubelet does, and so what this module does:
//! - a key is read as a URL: `https://` is put in front unless it starts with `https://` or
//!   `http://` (case-sensitively, so `HTTPS://quay.io` is *not* a scheme and never matches);
//!   a leading `/v1/` or `/v2/` of its path is dropped; query, fragment and `user@` are dropped;
//! - hosts are compared label by label with Go's `filepath.Match`: case-sensitive, `*`, `?`
//!   and `[...]` are globs within one label, and the label counts must be equal;
//! - the port must be equal (a key without port matches only an image without port);
//! - the key's path must be a plain string prefix of the image's repository path
//!   (`quay.io/myorg` covers `quay.io/myorg/app` and also `quay.io/myorgx/app`);
//! - Docker Hub images (`docker.io/...` after normalisation) match the key `docker.io`
//!   directly, and the key `index.docker.io` (or `https://index.docker.io/v1/`) only as a
//!   fallback when no key matched at all. `registry-1.docker.io` is not Docker Hub for kubelet.

use std::collections::BTreeSet;

use crate::refs::dockercfg::DockerConfig;
use crate::refs::image::ImageRef;

/// kubelet's `defaultRegistryHost`: the stored key used for Docker Hub when nothing else matched.
const DEFAULT_REGISTRY_KEY: &str = "index.docker.io";

/// What Go's `url.Parse` yields that the keyring reads (host with port, decoded path).
#[derive(Debug, PartialEq, Eq)]
struct GoUrl {
    host: String,
    path: String,
}

/// Go's `url.Parse` of a URL that starts with `http://` or `https://` (the only form the
/// keyring parses). `None` where Go returns an error. Invalid UTF-8 produced by
/// percent-decoding is replaced (Go would keep the raw bytes): no registry name has it.
fn go_url_parse(raw: &str) -> Option<GoUrl> {
    // Control characters are rejected before anything else.
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return None;
    }
    let (without_fragment, fragment) = match raw.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (raw, None),
    };
    if let Some(f) = fragment {
        percent_decode(f)?;
    }
    let rest = without_fragment
        .strip_prefix("https://")
        .or_else(|| without_fragment.strip_prefix("http://"))?;
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = match authority.rfind('@') {
        Some(i) => {
            if !valid_userinfo(&authority[..i]) {
                return None;
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    Some(GoUrl {
        host: parse_host(host)?,
        path: percent_decode(path)?,
    })
}

/// Go's `validUserinfo`, plus the check that its escapes decode.
fn valid_userinfo(s: &str) -> bool {
    s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || b >= 0x80
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b':'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
                    | b'@'
            )
    }) && percent_decode(s).is_some()
}

/// Go's `parseHost`: the port after the last colon (or after `]`) must be digits, and the
/// host may hold only the characters `url.Parse` accepts there.
fn parse_host(host: &str) -> Option<String> {
    let colon_port = if host.starts_with('[') {
        let i = host.rfind(']')?;
        &host[i + 1..]
    } else {
        host.rfind(':').map_or("", |i| &host[i..])
    };
    if !valid_optional_port(colon_port) {
        return None;
    }
    let b = host.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let (hi, lo) = (hex(*b.get(i + 1)?)?, hex(*b.get(i + 2)?)?);
            // Hosts may not percent-encode ASCII, except `%25` (an IPv6 zone's `%`).
            if hi < 8 && &host[i..i + 3] != "%25" {
                return None;
            }
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        let allowed = c >= 0x80 || c.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:[]<>\"".contains(&c);
        if !allowed {
            return None;
        }
        out.push(c);
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `validOptionalPort`: empty, or `:` followed by digits only.
fn valid_optional_port(p: &str) -> bool {
    p.is_empty()
        || p.strip_prefix(':')
            .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Go's `unescape` in path mode: every `%` needs two hex digits.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(hex(*b.get(i + 1)?)? << 4 | hex(*b.get(i + 2)?)?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The key under which `BasicDockerKeyring.Add` stores a config entry; `None` when kubelet
/// logs the entry as invalid and ignores it.
pub fn normalize_key(loc: &str) -> Option<String> {
    let value = if loc.starts_with("https://") || loc.starts_with("http://") {
        loc.to_string()
    } else {
        format!("https://{loc}")
    };
    let parsed = go_url_parse(&value)?;
    let mut path = parsed.path.as_str();
    if path.starts_with("/v2/") || path.starts_with("/v1/") {
        path = &path[3..];
    }
    Some(if !path.is_empty() && path != "/" {
        format!("{}{path}", parsed.host)
    } else {
        parsed.host
    })
}

/// `ParseSchemelessURL`: `https://` in front, then `url.Parse`.
fn parse_schemeless(s: &str) -> Option<GoUrl> {
    go_url_parse(&format!("https://{s}"))
}

/// `SplitURL`: host labels and port, via `net.SplitHostPort`; when that fails, the whole
/// host with no port.
fn split_url(host: &str) -> (Vec<&str>, &str) {
    let (h, port) = split_host_port(host).unwrap_or((host, ""));
    (h.split('.').collect(), port)
}

/// Go's `net.SplitHostPort`.
fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
    let i = hostport.rfind(':')?;
    let (host, j, k) = if hostport.starts_with('[') {
        let end = hostport.find(']')?;
        if end + 1 != i {
            return None;
        }
        (&hostport[1..end], 1, end + 1)
    } else {
        let host = &hostport[..i];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hostport[j..].contains('[') || hostport[k..].contains(']') {
        return None;
    }
    Some((host, &hostport[i + 1..]))
}

/// `URLsMatchStr(glob, target)`; an error (a key or pattern Go cannot parse) is no match,
/// as `Lookup` ignores it.
pub fn urls_match(glob: &str, target: &str) -> bool {
    let (Some(g), Some(t)) = (parse_schemeless(glob), parse_schemeless(target)) else {
        return false;
    };
    let (g_parts, g_port) = split_url(&g.host);
    let (t_parts, t_port) = split_url(&t.host);
    g_port == t_port
        && g_parts.len() == t_parts.len()
        && t.path.starts_with(&g.path)
        && g_parts
            .iter()
            .zip(&t_parts)
            .all(|(p, l)| glob_match(p, l).unwrap_or(false))
}

/// `isDefaultRegistryMatch`: whether kubelet treats a repository name as Docker Hub's.
pub fn is_default_registry_match(image: &str) -> bool {
    let mut parts = image.splitn(2, '/');
    let first = parts.next().unwrap_or_default();
    if first.is_empty() {
        return false;
    }
    if parts.next().is_none() {
        return true;
    }
    if first == "docker.io" || first == "index.docker.io" {
        return true;
    }
    !first.contains(['.', ':'])
}

/// The name kubelet looks credentials up by: the image's repository, normalised
/// (`docker.io/library/nginx` for `nginx:1.27`), without tag or digest.
pub fn lookup_name(image: &ImageRef) -> String {
    format!("{}/{}", image.registry, image.repository)
}

/// `BasicDockerKeyring.Lookup`: the positions in `keys` (config keys as written in the
/// secrets) whose credentials kubelet would try for `target`, in kubelet's order (most
/// specific stored key first). `target` is a repository name (`quay.io/org/app`, see
/// [`lookup_name`]) or a bare `host[:port]`, which only keys without a path match.
pub fn lookup(keys: &[&str], target: &str) -> Vec<usize> {
    let stored: Vec<Option<String>> = keys.iter().map(|k| normalize_key(k)).collect();
    // The index is deduplicated, sorted and reversed, so longer paths come first.
    let index: BTreeSet<&str> = stored.iter().flatten().map(String::as_str).collect();
    let positions = |n: &str| -> Vec<usize> { (0..keys.len()).filter(|&i| stored[i].as_deref() == Some(n)).collect() };
    let mut out = Vec::new();
    for n in index.into_iter().rev() {
        if urls_match(n, target) {
            out.extend(positions(n));
        }
    }
    if out.is_empty() && is_default_registry_match(target) {
        out = positions(DEFAULT_REGISTRY_KEY);
    }
    out
}

/// The keys of several configs (a pod's pull secrets form one keyring) whose credentials
/// kubelet would send for `target`: `(config index, key)`, in kubelet's order. Entries that
/// match but hold no credentials kubelet sends (see `AuthEntry::kubelet_credentials`) are
/// left out: with them kubelet pulls anonymously.
pub fn covering<'c>(configs: &[&'c DockerConfig], target: &str) -> Vec<(usize, &'c str)> {
    let all: Vec<(usize, &'c str)> = configs
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.entries.keys().map(move |k| (i, k.as_str())))
        .collect();
    let keys: Vec<&str> = all.iter().map(|(_, k)| *k).collect();
    lookup(&keys, target)
        .into_iter()
        .map(|p| all[p])
        .filter(|(i, k)| configs[*i].entries[*k].kubelet_credentials())
        .collect()
}

/// Whether one config alone gives kubelet credentials for `target` (see [`lookup`]).
pub fn config_covers(cfg: &DockerConfig, target: &str) -> bool {
    !covering(&[cfg], target).is_empty()
}

/// The keys of one config kubelet would use for an image, best first.
pub fn covering_keys(cfg: &DockerConfig, image: &ImageRef) -> Vec<String> {
    covering(&[cfg], &lookup_name(image))
        .into_iter()
        .map(|(_, k)| k.to_string())
        .collect()
}

/// One element of a `filepath.Match` pattern.
enum Token {
    Literal(char),
    AnyChar,
    Star,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

/// Go's `filepath.Match` for a single host label (no `/` inside), case-sensitive.
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

/// Glob matching in O(tokens × text) time: on a mismatch only the most recent `*` is
/// retried one character further, which is enough because a `*` matches any run. (The
/// recursive form retried every `*` and was exponential: a pull-secret key with many `*`
/// against a long host name, which anyone who can create a Secret can write, took minutes.)
fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    let (mut t, mut i) = (0, 0);
    // Where the last `*` was and how much text it has taken so far.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = tokens.get(t) {
            if matches!(tok, Token::Star) {
                star = Some((t, i));
                t += 1;
                continue;
            }
            if let Some(&c) = text.get(i) {
                let hit = match tok {
                    Token::Literal(l) => *l == c,
                    Token::AnyChar => true,
                    Token::Class { negated, ranges } => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated,
                    Token::Star => false,
                };
                if hit {
                    t += 1;
                    i += 1;
                    continue;
                }
            }
        } else if i == text.len() {
            return true;
        }
        match star {
            Some((st, si)) if si < text.len() => {
                star = Some((st, si + 1));
                t = st + 1;
                i = si + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refs::dockercfg::AuthEntry;

    fn img(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    /// Whether a config holding only `key` gives kubelet credentials for `image`.
    fn m(key: &str, image: &str) -> bool {
        let mut cfg = DockerConfig::default();
        cfg.entries.insert(key.into(), creds());
        config_covers(&cfg, &lookup_name(&img(image)))
    }

    fn creds() -> AuthEntry {
        AuthEntry {
            username: Some("u".into()),
            password: Some("p".into()),
            ..Default::default()
        }
    }

    #[test]
    fn keys_are_stored_as_kubelet_adds_them() {
        assert_eq!(normalize_key("quay.io").as_deref(), Some("quay.io"));
        assert_eq!(normalize_key("https://quay.io/").as_deref(), Some("quay.io"));
        assert_eq!(normalize_key("http://quay.io/v2/").as_deref(), Some("quay.io"));
        assert_eq!(
            normalize_key("https://index.docker.io/v1/").as_deref(),
            Some("index.docker.io")
        );
        assert_eq!(normalize_key("quay.io/v1/myorg").as_deref(), Some("quay.io/myorg"));
        // Only `/v1/` and `/v2/` with the slash are dropped.
        assert_eq!(normalize_key("quay.io/v2").as_deref(), Some("quay.io/v2"));
        assert_eq!(normalize_key("quay.io/myorg/").as_deref(), Some("quay.io/myorg/"));
        assert_eq!(normalize_key("robot@quay.io/org").as_deref(), Some("quay.io/org"));
        assert_eq!(normalize_key("quay.io/org?x=1#y").as_deref(), Some("quay.io/org"));
        // The scheme check is case-sensitive: `HTTPS:` becomes a host with an empty port.
        assert_eq!(normalize_key("HTTPS://quay.io").as_deref(), Some("HTTPS://quay.io"));
        // Errors of url.Parse: the entry is ignored.
        assert_eq!(normalize_key("quay.io:abc"), None);
        assert_eq!(normalize_key("[::1"), None);
        assert_eq!(normalize_key("bad host.io"), None);
        assert_eq!(normalize_key("quay.io/%zz"), None);
        assert_eq!(normalize_key("quay.io\u{7f}"), None);
    }

    #[test]
    fn urls_match_as_in_kubelets_tests() {
        // TestUrlsMatch of pkg/credentialprovider.
        for (glob, target, want) in [
            ("*.kubernetes.io", "prefix.kubernetes.io", true),
            ("prefix.*.io", "prefix.kubernetes.io", true),
            ("prefix.kubernetes.*", "prefix.kubernetes.io", true),
            ("*-good.kubernetes.io", "prefix-good.kubernetes.io", true),
            ("*.kubernetes.io/blah", "prefix.kubernetes.io/blah", true),
            ("prefix.*.io/foo", "prefix.kubernetes.io/foo/bar", true),
            ("*.kubernetes.io:1111/blah", "prefix.kubernetes.io:1111/blah", true),
            ("prefix.*.io:1111/foo", "prefix.kubernetes.io:1111/foo/bar", true),
            ("*.kubernetes.io", "kubernetes.io", false),
            ("*.*.kubernetes.io", "prefix.kubernetes.io", false),
            ("*.*.kubernetes.io", "kubernetes.io", false),
            ("kubernetes.io", "kubernetes.com", false),
            ("k*.io", "quay.io", false),
            ("*.kubernetes.io:1234/blah", "prefix.kubernetes.io:1111/blah", false),
            ("prefix.*.io/foo", "prefix.kubernetes.io:1111/foo/bar", false),
        ] {
            assert_eq!(urls_match(glob, target), want, "{glob} vs {target}");
        }
    }

    #[test]
    fn lookups_as_in_kubelets_tests() {
        // TestDockerKeyringForGlob: each key is found for target + "/foo/bar".
        for (key, target) in [
            ("https://hello.kubernetes.io", "hello.kubernetes.io"),
            ("https://*.docker.io", "prefix.docker.io"),
            ("https://prefix.*.io", "prefix.docker.io"),
            ("https://prefix.docker.*", "prefix.docker.io"),
            ("https://*.docker.io/path", "prefix.docker.io/path"),
            ("https://prefix.*.io/path", "prefix.docker.io/path/subpath"),
            ("https://*.docker.io:8888", "prefix.docker.io:8888"),
            ("https://*.docker.io/path:1111", "prefix.docker.io/path:1111"),
            ("https://*.docker.io/v1/", "prefix.docker.io/path:1111"),
            ("https://*.docker.io/v2/", "prefix.docker.io/path:1111"),
            ("prefix.docker.io:1111", "prefix.docker.io:1111/path"),
            ("*.docker.io:1111", "prefix.docker.io:1111/path"),
        ] {
            assert_eq!(lookup(&[key], &format!("{target}/foo/bar")), [0], "{key} vs {target}");
        }
        // TestKeyringMiss.
        for (key, target) in [
            ("https://hello.kubernetes.io", "world.mesos.org/foo/bar"),
            ("https://*.docker.com", "prefix.docker.io"),
            ("https://suffix.*.io", "prefix.docker.io"),
            ("https://prefix.docker.c*", "prefix.docker.io"),
            ("https://prefix.*.io/path:1111", "prefix.docker.io/path/subpath:1111"),
            ("suffix.*.io", "prefix.docker.io"),
            ("https://index.docker.io/v1/", "world.mesos.org"),
        ] {
            assert!(
                lookup(&[key], &format!("{target}/foo/bar")).is_empty(),
                "{key} vs {target}"
            );
        }
    }

    #[test]
    fn default_registry_match() {
        // TestIsDefaultRegistryMatch.
        for (image, want) in [
            ("foo/bar", true),
            ("docker.io/foo/bar", true),
            ("index.docker.io/foo/bar", true),
            ("foo", true),
            ("", false),
            ("registry.tld/foo/bar", false),
            ("registry:5000/foo/bar", false),
            ("myhostdocker.io/foo/bar", false),
            ("registry-1.docker.io/foo/bar", false),
        ] {
            assert_eq!(is_default_registry_match(image), want, "{image}");
        }
    }

    #[test]
    fn plain_host_and_port() {
        assert!(m("quay.io", "quay.io/org/app:1"));
        assert!(!m("quay.io", "gcr.io/org/app"));
        assert!(!m("quay.io", "nginx"));
        assert!(m("registry.example.com:5000", "registry.example.com:5000/app"));
        assert!(!m("registry.example.com:5000", "registry.example.com/app"));
        assert!(!m("registry.example.com", "registry.example.com:5000/app"));
        assert!(!m("registry.example.com:5001", "registry.example.com:5000/app"));
        assert!(!m("quay.io", "quay.io:443/a/b"));
    }

    #[test]
    fn scheme_only_in_lowercase() {
        assert!(m("https://quay.io", "quay.io/a/b"));
        assert!(m("http://registry.example.com:5000", "registry.example.com:5000/a"));
        assert!(m("https://quay.io/v2/", "quay.io/a/b"));
        // kubelet prefixes `https://` to `HTTPS://quay.io/`, so its host is `HTTPS:`.
        assert!(!m("HTTPS://quay.io/", "quay.io/a/b"));
        assert!(!m("Https://quay.io", "quay.io/a/b"));
    }

    #[test]
    fn path_is_a_plain_string_prefix() {
        assert!(m("quay.io/myorg", "quay.io/myorg/app"));
        assert!(m("quay.io/myorg", "quay.io/myorg"));
        assert!(m("https://quay.io/v1/myorg", "quay.io/myorg/app"));
        assert!(m("quay.io/myorg/app", "quay.io/myorg/app:2"));
        // Not segment-based: kubelet's strings.HasPrefix.
        assert!(m("quay.io/myorg", "quay.io/myorgx/app"));
        assert!(m("quay.io/my", "quay.io/myorg/app"));
        // A trailing slash stays part of the prefix.
        assert!(m("quay.io/myorg/", "quay.io/myorg/app"));
        assert!(!m("quay.io/myorg/", "quay.io/myorg"));
        assert!(!m("quay.io/myorgx", "quay.io/myorg/app"));
        assert!(!m("quay.io/myorg/app", "quay.io/myorg"));
        assert!(!m("quay.io/other", "quay.io/myorg/app"));
        // A host-only lookup (no repository) is covered only by keys without a path.
        let mut cfg = DockerConfig::default();
        cfg.entries.insert("quay.io/myorg".into(), creds());
        assert!(!config_covers(&cfg, "quay.io"));
    }

    #[test]
    fn host_case_matters() {
        // filepath.Match is case-sensitive and url.Parse keeps the host's case.
        assert!(!m("Quay.IO", "quay.io/a/b"));
        assert!(!m("quay.io", "QUAY.io/a/b"));
        assert!(m("QUAY.io", "QUAY.io/a/b"));
    }

    #[test]
    fn wildcards_match_one_label() {
        assert!(m("*.azurecr.io", "myacr.azurecr.io/x"));
        assert!(!m("*.azurecr.io", "azurecr.io/x"));
        assert!(m("*.icr.io", "us.icr.io/ns/app"));
        assert!(!m("*.icr.io", "icr.io/ns/app"));
        assert!(!m("*.icr.io", "a.b.icr.io/ns/app"));
        assert!(!m("*.icr.io", "us.icr.io:443/ns/app"));
        assert!(m("*.*.amazonaws.com", "1234.dkr.amazonaws.com/a"));
        assert!(m("us-*.pkg.dev", "us-west2.pkg.dev/p/r/i"));
        assert!(!m("us-*.pkg.dev", "europe-west1.pkg.dev/p/r/i"));
        assert!(m("reg[0-9].example.com", "reg7.example.com/a"));
        // url.Parse rejects `^` in a host, so kubelet ignores such a key altogether.
        assert!(!m("reg[^0-9].example.com", "regx.example.com/a"));
        assert_eq!(normalize_key("reg[^0-9].example.com"), None);
        assert_eq!(glob_match("reg[^0-9]", "regx"), Some(true));
        assert_eq!(glob_match("reg[^0-9]", "reg7"), Some(false));
        // `?` starts a query in a URL: the key's host is `reg`.
        assert!(!m("reg?.example.com", "reg1.example.com/a"));
        // Bad patterns never match: kubelet ignores the error.
        assert!(!m("reg[a.example.com", "rega.example.com/a"));
        assert!(!m("reg[]a].example.com", "rega.example.com/a"));
        // `[` breaks net.SplitHostPort, so the port stays part of the last label.
        assert!(!m("reg[0-9].example.com:5000", "reg1.example.com:5000/a"));
    }

    #[test]
    fn glob_matcher_edge_cases() {
        assert_eq!(glob_match("reg?", "reg1"), Some(true));
        assert_eq!(glob_match("reg?", "reg12"), Some(false));
        assert_eq!(glob_match("*", ""), Some(true));
        assert_eq!(glob_match("a*b*c", "axxbyyc"), Some(true));
        assert_eq!(glob_match("a*b*c", "axxbyy"), Some(false));
        assert_eq!(glob_match("\\*", "*"), Some(true));
        assert_eq!(glob_match("\\*", "x"), Some(false));
        assert_eq!(glob_match("[a-", "a"), None);
        assert_eq!(glob_match("[z-a]", "m"), Some(false));
        assert_eq!(glob_match("[-a]", "a"), None);
        assert_eq!(glob_match("x\\", "x"), None);
        assert_eq!(glob_match("Q", "q"), Some(false));
        assert_eq!(glob_match("*a", "ba"), Some(true));
        assert_eq!(glob_match("a*", "a"), Some(true));
        assert_eq!(glob_match("*?", ""), Some(false));
        assert_eq!(glob_match("**b", "ab"), Some(true));
    }

    /// Many `*` against a long label that does not match: exponential backtracking never
    /// finished here; the linear matcher answers at once.
    #[test]
    fn many_wildcards_do_not_backtrack_exponentially() {
        let key = format!("{}b", "*a".repeat(40));
        let host = "a".repeat(5000);
        assert_eq!(glob_match(&key, &host), Some(false));
        assert!(!urls_match(
            &format!("{key}.example.com"),
            &format!("{host}.example.com")
        ));
        assert_eq!(glob_match(&format!("{}*", "*a".repeat(40)), &host), Some(true));
    }

    #[test]
    fn docker_hub() {
        // `docker.io` matches normalised Hub names directly.
        assert!(m("docker.io", "nginx"));
        assert!(m("https://docker.io", "bitnami/redis:7"));
        assert!(m("docker.io/bitnami", "bitnami/redis"));
        assert!(!m("docker.io/bitnami", "nginx"));
        assert!(m("docker.io/library", "nginx"));
        // `index.docker.io` only through the default-registry fallback.
        for key in ["https://index.docker.io/v1/", "index.docker.io", "index.docker.io/v1/"] {
            assert!(m(key, "nginx"), "{key} vs nginx");
            assert!(m(key, "docker.io/bitnami/redis:7"), "{key} vs bitnami/redis");
            assert!(!m(key, "quay.io/nginx"), "{key} vs quay.io");
        }
        // The fallback needs exactly the stored key `index.docker.io`.
        assert!(!m("index.docker.io/v1", "nginx"));
        assert!(!m("index.docker.io/library", "nginx"));
        // registry-1.docker.io is not Docker Hub for kubelet: three labels, no fallback.
        assert!(!m("registry-1.docker.io", "nginx"));
        assert!(!m("https://registry-1.docker.io/v2/", "nginx"));
        assert!(!m("*.docker.io", "nginx"));
    }

    #[test]
    fn hub_fallback_only_when_nothing_matched() {
        let keys = ["https://index.docker.io/v1/", "docker.io/other"];
        assert_eq!(lookup(&keys, "docker.io/library/nginx"), [0]);
        let keys = ["https://index.docker.io/v1/", "docker.io/library"];
        assert_eq!(lookup(&keys, "docker.io/library/nginx"), [1]);
        // A matching entry without credentials still stops the fallback.
        let mut cfg = DockerConfig::default();
        cfg.entries.insert("docker.io".into(), AuthEntry::default());
        cfg.entries.insert("index.docker.io".into(), creds());
        assert!(!config_covers(&cfg, "docker.io/library/nginx"));
    }

    #[test]
    fn ip_and_ipv6_keys() {
        assert!(m("192.168.2.11:5001", "192.168.2.11:5001/test/test:latest"));
        assert!(!m("192.168.2.11", "192.168.2.11:5001/test/test"));
        assert!(m("https://192.168.2.11:5001/v2/", "192.168.2.11:5001/test/test"));
        assert!(m("[::1]:5000", "[::1]:5000/x"));
        assert!(!m("[::1]", "[::1]:5000/x"));
        assert!(m("localhost:5000", "localhost:5000/x"));
        assert!(!m("localhost", "localhost:5000/x"));
    }

    #[test]
    fn garbage_keys_never_match() {
        assert!(!m("", "nginx"));
        assert!(!m("https://", "nginx"));
        assert!(!m("[::1", "[::1]:5000/x"));
        assert!(!m("quay.io:abc", "quay.io/x"));
    }

    #[test]
    fn keyring_order_and_empty_entries() {
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
        // An entry without credentials is never covering.
        cfg.entries.insert("quay.io/myorg/empty".into(), AuthEntry::default());
        // kubelet's index is reverse-sorted: `quay.io/myorg/app` before `quay.io/myorg`
        // before `quay.io` (`https://quay.io` is stored as `quay.io` too) before `*.io`.
        assert_eq!(
            covering_keys(&cfg, &img("quay.io/myorg/app:1")),
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
    fn union_of_several_secrets() {
        let mut a = DockerConfig::default();
        a.entries.insert("quay.io/team".into(), creds());
        let mut b = DockerConfig::default();
        b.entries.insert("gcr.io".into(), creds());
        let mut c = DockerConfig::default();
        c.entries.insert("quay.io".into(), creds());
        assert_eq!(
            covering(&[&a, &b, &c], "quay.io/team/app"),
            [(0, "quay.io/team"), (2, "quay.io")]
        );
        assert_eq!(covering(&[&a, &b], "quay.io/other/app"), []);
    }
}
