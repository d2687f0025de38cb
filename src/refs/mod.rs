//! Image references, pull-secret decoding and the registry-key matching rules kubelet and OpenShift apply.
pub mod cakey;
pub mod dockercfg;
pub mod image;
pub mod keyring;

/// `s` without a leading `https://` or `http://` (any case). Byte offsets are checked with
/// `get`, so a key holding multi-byte characters cannot split one.
pub(crate) fn strip_scheme(s: &str) -> &str {
    for scheme in ["https://", "http://"] {
        if s.get(..scheme.len()).is_some_and(|p| p.eq_ignore_ascii_case(scheme)) {
            return &s[scheme.len()..];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn strip_scheme_is_safe_on_multibyte_keys() {
        assert_eq!(super::strip_scheme("HTTPS://quay.io"), "quay.io");
        assert_eq!(super::strip_scheme("http://x"), "x");
        // 'abcdef€' puts a 3-byte character across byte 7 and 8.
        assert_eq!(super::strip_scheme("abcdef€x.io"), "abcdef€x.io");
        assert_eq!(super::strip_scheme("€"), "€");
    }
}
