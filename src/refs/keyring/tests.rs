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
