//! Text from the cluster is shown to people on terminals: an event message carrying ESC, BEL,
//! CR or a bidi override could retitle or clear the terminal or forge a line. Human output
//! shows such characters as visible escapes (`\x1b`, `\u{202e}`); JSON and YAML keep them exact.

use std::borrow::Cow;

/// Controls (C0 except tab and newline, DEL, C1) and the bidi and zero-width formatting
/// characters that reorder or hide text.
fn is_hostile(c: char) -> bool {
    match c {
        '\t' | '\n' => false,
        c if c.is_control() => true,
        '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' => true,
        _ => false,
    }
}

/// `s` with every hostile character replaced by a visible escape.
pub fn escape_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hostile) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_hostile(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

pub fn escape_in_place(s: &mut String) {
    if let Cow::Owned(e) = escape_terminal(s) {
        *s = e;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_become_visible() {
        assert_eq!(escape_terminal("a\x1b]0;owned\x07b"), "a\\x1b]0;owned\\x07b");
        assert_eq!(escape_terminal("x\r✓ nothing to do"), "x\\x0d✓ nothing to do");
        assert_eq!(escape_terminal("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape_terminal("\u{9b}2J"), "\\x9b2J");
        assert!(matches!(escape_terminal("plain ✓ text\n\tok"), Cow::Borrowed(_)));
    }
}
