//! Keys of OpenShift's `additionalTrustedCA` ConfigMap: one key per registry,
//! with `host:port` written as `host..port` because ConfigMap keys cannot
//! contain `:`.

use super::strip_scheme;

/// Result of looking a registry up among a CA ConfigMap's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaKeyLookup {
    /// The key the node will use, exactly as expected.
    Correct(String),
    /// The registry written with a colon (`reg.example.com:5000`) instead of `..`.
    ColonForm(String),
    /// A key that clearly means this registry but will not be used for it:
    /// the port appended twice (`reg.example.com:5000..5000`), a scheme or
    /// trailing `/`, different letter case, or the host without the port
    /// the image uses.
    Malformed(String),
    Missing,
}

/// `"reg.example.com:5000"` -> `"reg.example.com..5000"`; without a port the
/// registry is returned unchanged.
pub fn ca_key(registry: &str) -> String {
    match split_port(registry) {
        (host, Some(port)) => format!("{host}..{port}"),
        (_, None) => registry.to_string(),
    }
}

/// Inverse of [`ca_key`]: `"reg.example.com..5000"` -> `"reg.example.com:5000"`.
/// Keys without a `..<digits>` suffix are returned unchanged.
pub fn registry_of_ca_key(key: &str) -> String {
    match key.rsplit_once("..") {
        Some((host, port)) if !host.is_empty() && is_port(port) => format!("{host}:{port}"),
        _ => key.to_string(),
    }
}

/// True for a key written `host:port` (with a colon), the mistake seen in
/// real incidents. Keys that also contain `..` are not this form.
pub fn is_colon_form(key: &str) -> bool {
    !key.contains("..") && split_port(key).1.is_some()
}

/// Finds the key for `registry` (`host[:port]`) among `keys`.
///
/// An exact [`ca_key`] match wins; otherwise a colon-form key, then a
/// malformed one, is reported (the smallest such key, so results are stable).
pub fn find_ca_key<'a>(keys: impl IntoIterator<Item = &'a str>, registry: &str) -> CaKeyLookup {
    let correct = ca_key(registry);
    let (host, port) = split_port(registry);
    let registry_lc = registry.to_ascii_lowercase();
    let correct_lc = correct.to_ascii_lowercase();
    let host_lc = host.to_ascii_lowercase();

    let mut colon: Option<&str> = None;
    let mut malformed: Option<&str> = None;
    let keep_min = |slot: &mut Option<&'a str>, k: &'a str| {
        if slot.is_none_or(|cur| k < cur) {
            *slot = Some(k);
        }
    };
    for key in keys {
        if key == correct {
            return CaKeyLookup::Correct(key.to_string());
        }
        if port.is_some() && key == registry {
            keep_min(&mut colon, key);
            continue;
        }
        // Compare loosely for the wrong forms: they are hints, not matches.
        let loose = strip_scheme(key.trim()).trim_end_matches('/').to_ascii_lowercase();
        let wrong = loose == correct_lc
            || (port.is_some()
                && (loose == registry_lc || loose == host_lc || loose.starts_with(&format!("{registry_lc}.."))));
        if wrong {
            keep_min(&mut malformed, key);
        }
    }
    match (colon, malformed) {
        (Some(k), _) => CaKeyLookup::ColonForm(k.to_string()),
        (None, Some(k)) => CaKeyLookup::Malformed(k.to_string()),
        (None, None) => CaKeyLookup::Missing,
    }
}

/// Splits a trailing `:digits` port, keeping `[ipv6]` addresses intact.
fn split_port(registry: &str) -> (&str, Option<&str>) {
    let colon = if registry.starts_with('[') {
        // Only a colon after the closing bracket can start a port.
        registry
            .find(']')
            .and_then(|end| registry[end..].starts_with("]:").then_some(end + 1))
    } else {
        registry.rfind(':')
    };
    match colon {
        Some(i) if i > 0 && is_port(&registry[i + 1..]) => (&registry[..i], Some(&registry[i + 1..])),
        _ => (registry, None),
    }
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REG: &str = "registry.example.com:5000";

    #[test]
    fn ca_key_forms() {
        assert_eq!(ca_key(REG), "registry.example.com..5000");
        assert_eq!(ca_key("quay.io"), "quay.io");
        assert_eq!(ca_key("192.168.2.11:5001"), "192.168.2.11..5001");
        assert_eq!(ca_key("[::1]:5000"), "[::1]..5000");
        assert_eq!(ca_key("[::1]"), "[::1]");
    }

    #[test]
    fn inverse_round_trips() {
        for reg in [REG, "quay.io", "192.168.2.11:5001", "localhost:5000", "[::1]:5000"] {
            assert_eq!(registry_of_ca_key(&ca_key(reg)), reg);
        }
        // Not a port suffix: left alone.
        assert_eq!(registry_of_ca_key("a..b"), "a..b");
        assert_eq!(registry_of_ca_key("..5000"), "..5000");
    }

    #[test]
    fn colon_form_detection() {
        assert!(is_colon_form(REG));
        assert!(is_colon_form("[::1]:5000"));
        assert!(!is_colon_form("registry.example.com..5000"));
        assert!(!is_colon_form("registry.example.com"));
        assert!(!is_colon_form("[::1]"));
        assert!(!is_colon_form("registry.example.com:5000..5000"));
    }

    #[test]
    fn finds_the_correct_key_even_among_wrong_ones() {
        let keys = [REG, "registry.example.com..5000", "quay.io"];
        assert_eq!(
            find_ca_key(keys, REG),
            CaKeyLookup::Correct("registry.example.com..5000".into())
        );
        assert_eq!(
            find_ca_key(["quay.io"], "quay.io"),
            CaKeyLookup::Correct("quay.io".into())
        );
    }

    #[test]
    fn reports_colon_form() {
        assert_eq!(find_ca_key(["quay.io", REG], REG), CaKeyLookup::ColonForm(REG.into()));
    }

    #[test]
    fn reports_port_appended_twice() {
        // The real incident: the host already carried the port.
        let k = "registry.example.com:5000..5000";
        assert_eq!(find_ca_key([k], REG), CaKeyLookup::Malformed(k.into()));
    }

    #[test]
    fn reports_other_wrong_forms() {
        for k in [
            "https://registry.example.com..5000",
            "registry.example.com..5000/",
            "Registry.Example.com..5000",
            "https://registry.example.com:5000",
            "registry.example.com",
        ] {
            assert_eq!(find_ca_key([k], REG), CaKeyLookup::Malformed(k.into()), "{k}");
        }
        // Colon form beats a malformed key.
        assert_eq!(
            find_ca_key(["registry.example.com", REG], REG),
            CaKeyLookup::ColonForm(REG.into())
        );
    }

    #[test]
    fn missing_when_nothing_refers_to_the_registry() {
        assert_eq!(find_ca_key([], REG), CaKeyLookup::Missing);
        assert_eq!(
            find_ca_key(["quay.io", "registry.example.com..5001"], REG),
            CaKeyLookup::Missing
        );
        // A port key does not stand in for the portless registry.
        assert_eq!(find_ca_key(["quay.io..443"], "quay.io"), CaKeyLookup::Missing);
        assert_eq!(
            find_ca_key(["other.example.com"], "registry.example.com"),
            CaKeyLookup::Missing
        );
    }

    #[test]
    fn stable_choice_among_several_wrong_keys() {
        let keys = ["registry.example.com:5000..5000", "registry.example.com"];
        assert_eq!(
            find_ca_key(keys, REG),
            CaKeyLookup::Malformed("registry.example.com".into())
        );
        let reversed = ["registry.example.com", "registry.example.com:5000..5000"];
        assert_eq!(find_ca_key(reversed, REG), find_ca_key(keys, REG));
    }

    #[test]
    fn accepts_owned_key_collections() {
        let keys: std::collections::BTreeMap<String, String> =
            [("registry.example.com..5000".to_string(), "pem".to_string())].into();
        assert!(matches!(
            find_ca_key(keys.keys().map(String::as_str), REG),
            CaKeyLookup::Correct(_)
        ));
    }
}
