//! Scalars and mapping keys written on one line, for the fast reader: each function takes
//! only the forms whose meaning is certain and says `None` for the rest, so the general
//! parser reads the document instead.

use super::super::yaml::push_json_str;

/// `key: rest` or `key:` at the end: the key's text and what follows the colon.
pub(super) fn key_split(text: &str) -> Option<(&str, &str)> {
    if text.starts_with(['\'', '"']) {
        let q = text.as_bytes()[0] as char;
        let close = text[1..].find(q)? + 1;
        let after = &text[close + 1..];
        if let Some(rest) = after.strip_prefix(':')
            && (rest.is_empty() || rest.starts_with(' '))
        {
            return Some((&text[..=close], rest));
        }
        return None;
    }
    let at = match text.find(": ") {
        Some(i) => i,
        None if text.ends_with(':') => text.len() - 1,
        None => return None,
    };
    Some((&text[..at], &text[at + 1..]))
}

/// A mapping key this reader takes as it is written: a plain key that is a string (not a
/// number, boolean or null, which the general parser renders differently), or a simply
/// quoted one.
pub(super) fn plain_key(k: &str) -> Option<&str> {
    if let Some(inner) = k.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return (!inner.contains('\'')).then_some(inner);
    }
    if let Some(inner) = k.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return (!inner.contains(['\\', '"'])).then_some(inner);
    }
    let first = k.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_' || first == '/') || k.contains(" #") || k.ends_with(' ') {
        return None;
    }
    if resolves_specially(k) {
        return None;
    }
    Some(k)
}

/// Words a YAML parser reads as null or booleans, plus YAML 1.1's, to stay on the safe side.
fn resolves_specially(s: &str) -> bool {
    matches!(
        s,
        "null"
            | "Null"
            | "NULL"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "y"
            | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

pub(super) fn plain_scalar(v: &str, out: &mut String) -> Option<()> {
    let first = v.chars().next()?;
    if v.contains(" #") || v.contains(": ") || v.ends_with(':') || v.ends_with(' ') {
        return None;
    }
    match v {
        "~" | "null" | "Null" | "NULL" => {
            out.push_str("null");
            return Some(());
        }
        "true" | "True" | "TRUE" => {
            out.push_str("true");
            return Some(());
        }
        "false" | "False" | "FALSE" => {
            out.push_str("false");
            return Some(());
        }
        _ => {}
    }
    if first.is_ascii_alphabetic() || first == '/' || first == '_' {
        if resolves_specially(v) {
            return None;
        }
        push_json_str(out, v);
        return Some(());
    }
    if first.is_ascii_digit() || first == '-' {
        let digits = v.strip_prefix('-').unwrap_or(v);
        let plain_int = !digits.is_empty()
            && digits.len() <= 18
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if plain_int && v != "-0" {
            out.push_str(v);
            return Some(());
        }
        // Anything with a character no number has is a string (timestamps, `1Gi`, `100m`);
        // the rest (IP addresses, versions, floats) is left to the general parser's rules.
        if v.bytes().any(|b| !(b.is_ascii_hexdigit() || b"xXoO._+-".contains(&b))) && !v.starts_with("-.") {
            push_json_str(out, v);
            return Some(());
        }
        let parsed: serde_json::Value = serde_yaml::from_str(v).ok()?;
        match parsed {
            serde_json::Value::String(s) => push_json_str(out, &s),
            serde_json::Value::Number(n) => out.push_str(&n.to_string()),
            _ => return None,
        }
        return Some(());
    }
    None
}

pub(super) fn single_quoted(inner: &str) -> Option<String> {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.next() != Some('\'') {
                return None;
            }
            out.push('\'');
        } else {
            out.push(c);
        }
    }
    Some(out)
}

pub(super) fn double_quoted(inner: &str) -> Option<String> {
    if !inner.contains(['\\', '"']) {
        return Some(inner.to_string());
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => out.push(match chars.next()? {
                '"' => '"',
                '\\' => '\\',
                '/' => '/',
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                'u' => {
                    let hex: String = (0..4).map(|_| chars.next()).collect::<Option<String>>()?;
                    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                }
                _ => return None,
            }),
            c => out.push(c),
        }
    }
    Some(out)
}
