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
pub(super) struct Out<'w> {
    pub(super) text: String,
    /// Lines written so far, including those already passed on.
    pub(super) lines: usize,
    /// The page width in columns.
    pub(super) width: usize,
    /// Every subject and finding in full (`--expand`, `-o wide`).
    pub(super) expand: bool,
    to: To<'w>,
}

/// Where an `Out`'s text goes.
enum To<'w> {
    /// Kept in `text`.
    Kept,
    /// Dropped: only the lines are counted.
    Counted,
    /// Passed on a block at a time: one finding of the full listing can hold an action per
    /// failing container. The first error ends the writing and is kept for `finish`.
    Written(&'w mut dyn std::io::Write, Option<std::io::Error>),
}

/// Text gathered before it is passed on.
const BLOCK: usize = 64 * 1024;

impl<'w> Out<'w> {
    pub(super) fn new(width: usize, expand: bool) -> Self {
        Out {
            text: String::new(),
            lines: 0,
            width,
            expand,
            to: To::Kept,
        }
    }

    /// Lines counted, none kept.
    pub(super) fn counting(width: usize, expand: bool) -> Self {
        Out {
            to: To::Counted,
            ..Out::new(width, expand)
        }
    }

    /// Text written to `w` as it comes.
    pub(super) fn writing(width: usize, expand: bool, w: &'w mut dyn std::io::Write) -> Self {
        Out {
            to: To::Written(w, None),
            ..Out::new(width, expand)
        }
    }

    pub(super) fn line(&mut self, s: &str) {
        let s = s.trim_end();
        self.lines += 1 + s.matches('\n').count();
        let _ = writeln!(self.text, "{s}");
        if self.text.len() >= BLOCK {
            self.pass_on();
        }
    }

    fn pass_on(&mut self) {
        match &mut self.to {
            To::Kept => return,
            To::Counted => {}
            To::Written(w, err) => {
                if err.is_none()
                    && let Err(e) = w.write_all(self.text.as_bytes())
                {
                    *err = Some(e);
                }
            }
        }
        self.text.clear();
    }

    /// Pass on what is left; the first write error, if any.
    pub(super) fn finish(mut self) -> std::io::Result<()> {
        self.pass_on();
        match self.to {
            To::Written(_, Some(e)) => Err(e),
            _ => Ok(()),
        }
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

    /// Records the size of each write; fails from the `fail_at`th on.
    struct Writes {
        sizes: Vec<usize>,
        bytes: Vec<u8>,
        fail_at: usize,
    }

    impl std::io::Write for Writes {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.sizes.len() + 1 >= self.fail_at {
                return Err(std::io::Error::other("disk full"));
            }
            self.sizes.push(b.len());
            self.bytes.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn text_is_written_a_block_at_a_time_counted_or_kept() {
        let line = "x".repeat(99);
        let mut w = Writes {
            sizes: Vec::new(),
            bytes: Vec::new(),
            fail_at: usize::MAX,
        };
        let mut out = Out::writing(100, false, &mut w);
        for _ in 0..2_000 {
            out.line(&line);
        }
        assert!(out.text.len() < BLOCK, "never more than a block is held");
        out.finish().unwrap();
        assert_eq!(w.bytes.len(), 200_000);
        assert!(
            w.sizes.len() >= 3 && w.sizes.iter().all(|&n| n <= BLOCK + 100),
            "{:?}",
            w.sizes
        );

        let mut count = Out::counting(100, false);
        for _ in 0..2_000 {
            count.line("a\nb");
        }
        assert_eq!(count.lines, 4_000);
        assert!(count.text.len() < BLOCK);

        let mut kept = Out::new(100, false);
        for _ in 0..2_000 {
            kept.line(&line);
        }
        assert_eq!(kept.text.len(), 200_000);
    }

    #[test]
    fn the_first_write_error_is_kept_and_nothing_after_it_is_written() {
        let mut w = Writes {
            sizes: Vec::new(),
            bytes: Vec::new(),
            fail_at: 2,
        };
        let mut out = Out::writing(100, false, &mut w);
        for _ in 0..3_000 {
            out.line(&"y".repeat(99));
        }
        let err = out.finish().unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(w.sizes.len(), 1, "one block went out before the error, none after");
    }

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
