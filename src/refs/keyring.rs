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

mod glob;
use glob::glob_match;

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

#[cfg(test)]
mod tests;
