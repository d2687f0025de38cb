//! Text helpers for the human plan: counting words, truncation, word wrap, shell-safe
//! command wrap, and the line writer that knows the page width.

use std::fmt::Write;

use crate::report::Style;

pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(super) fn truncate(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// Word-wrap `text` into lines of at most `width` characters.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Split a shell command into words at spaces outside quotes.
pub(super) fn shell_words(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in cmd.chars() {
        match (quote, c) {
            (None, ' ') => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
                continue;
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Wrap a shell command so that it still runs when pasted: breaks only between words (never
/// inside quotes), each broken line ending in ` \`.
pub(super) fn wrap_command(cmd: &str, width: usize) -> Vec<String> {
    if cmd.chars().count() <= width {
        return vec![cmd.to_string()];
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in shell_words(cmd) {
        let indent = if lines.is_empty() { 0 } else { 4 };
        if !line.is_empty() && indent + line.chars().count() + 1 + word.chars().count() + 2 > width {
            lines.push(format!("{}{line} \\", " ".repeat(indent)));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        let indent = if lines.is_empty() { 0 } else { 4 };
        lines.push(format!("{}{line}", " ".repeat(indent)));
    }
    lines
}

/// Lines of output, each written without trailing whitespace.
pub(super) struct Out {
    pub(super) text: String,
    /// The page width in columns.
    pub(super) width: usize,
    /// Every subject and finding in full (`--expand`, `-o wide`).
    pub(super) expand: bool,
}

impl Out {
    pub(super) fn line(&mut self, s: &str) {
        let _ = writeln!(self.text, "{}", s.trim_end());
    }

    /// `text` wrapped to the page, after a label of `label_width` visible characters; the
    /// following lines are indented to the same column.
    pub(super) fn para(&mut self, label: &str, label_width: usize, text: &str) {
        let lines = wrap(text, self.width.saturating_sub(label_width).max(20));
        if lines.is_empty() {
            self.line(label);
        }
        for (i, l) in lines.iter().enumerate() {
            if i == 0 {
                self.line(&format!("{label}{l}"));
            } else {
                self.line(&format!("{}{l}", " ".repeat(label_width)));
            }
        }
    }
}

/// Findings' labels (`why`, `pods`, ...) and their text column.
pub(super) const LABEL: usize = 11;

pub(super) fn label(style: Style, name: &str) -> String {
    format!("  {}{}", style.bold(name), " ".repeat(LABEL - 2 - name.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_is_char_safe() {
        assert_eq!(truncate("ab  cd", 10), "ab cd");
        assert_eq!(truncate("éééééé", 4), "ééé…");
    }
    #[test]
    fn commands_wrap_between_words_outside_quotes() {
        let cmd = r#"oc patch configs.samples.operator.openshift.io/cluster --type=merge -p '{"spec": {"managementState": "Removed"}}'"#;
        let lines = wrap_command(cmd, 60);
        assert!(lines.len() > 1, "{lines:?}");
        // Every line but the last continues with a backslash; the quoted JSON stays whole.
        for l in &lines[..lines.len() - 1] {
            assert!(l.ends_with(" \\"), "{l:?}");
        }
        assert!(
            lines
                .iter()
                .any(|l| l.contains(r#"'{"spec": {"managementState": "Removed"}}'"#))
        );
        let rejoined: Vec<String> = lines
            .iter()
            .map(|l| l.trim().trim_end_matches('\\').trim().to_string())
            .collect();
        assert_eq!(rejoined.join(" "), cmd);
        assert_eq!(wrap_command("sleep 20", 60), ["sleep 20"]);
    }
}
