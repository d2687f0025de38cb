//! The runtime's message, trimmed to the words that say what went wrong.

use super::text::truncate;

/// The runtime's own words: kubelet's `Failed to pull image "x": ` and gRPC's
/// `rpc error: code = Unknown desc = ` wrappers say nothing a reader needs.
pub(super) fn core_message(m: &str) -> &str {
    let mut s = m.trim();
    if let Some(rest) = s.strip_prefix("Failed to pull image \"")
        && let Some(i) = rest.find("\": ")
    {
        s = &rest[i + 3..];
    }
    loop {
        let before = s;
        for p in [
            "rpc error: code = Unknown desc = ",
            "rpc error: code = NotFound desc = ",
            "rpc error: code = DeadlineExceeded desc = ",
        ] {
            if let Some(rest) = s.strip_prefix(p) {
                s = rest;
            }
        }
        if s == before {
            return s;
        }
    }
}

/// Fit a wrapped Go error into `max` characters by dropping its outermost wrappers
/// (`failed to pull and unpack image "x": `), where the least specific words are.
pub(super) fn cause_fit(m: &str, max: usize) -> String {
    let mut s = m.trim();
    let mut cut = false;
    while s.chars().count() > max {
        match s.find(": ") {
            Some(i) if i + 2 < s.len() => {
                s = &s[i + 2..];
                cut = true;
            }
            _ => break,
        }
    }
    let s = truncate(s, max);
    if cut { format!("…{s}") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_keep_their_cause() {
        let m = "failed to pull and unpack image \"a:1\": failed to resolve reference \"a:1\": failed to authorize: 401 Unauthorized";
        assert_eq!(cause_fit(m, 40), "…failed to authorize: 401 Unauthorized");
        assert_eq!(cause_fit("short", 40), "short");
    }

    #[test]
    fn kubelet_wrappers_are_stripped() {
        assert_eq!(
            core_message("Failed to pull image \"a:1\": rpc error: code = Unknown desc = unauthorized"),
            "unauthorized"
        );
        assert_eq!(core_message("x509: bad"), "x509: bad");
    }
}
