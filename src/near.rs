//! Text rendered from one template for many failures: explanations that differ from the first
//! one in a name or two. Each is kept as the stretch that differs between the start and the
//! end it shares with the first, so a finding of 100,000 pods does not hold 100,000 copies of
//! the same sentences.

use std::borrow::Cow;
use std::sync::Arc;

/// Below this many shared bytes a text is kept whole: the reference would cost as much.
const WORTH_SHARING: usize = 48;

/// A text, whole or as the part that differs from a shared one.
#[derive(Clone)]
pub enum Text {
    Own(Box<str>),
    /// `base[..head]`, then `mid`, then the last `tail` bytes of `base`.
    Near {
        base: Arc<str>,
        head: u32,
        tail: u32,
        mid: Box<str>,
    },
}

impl Text {
    /// `text`, sharing what it has in common with `base` at its start and its end.
    pub fn near(text: &str, base: &Arc<str>) -> Text {
        let (a, b) = (text.as_bytes(), base.as_bytes());
        let mut head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        // Equal bytes up to `head`: a char boundary in one is one in the other.
        while !text.is_char_boundary(head) {
            head -= 1;
        }
        let room = a.len().min(b.len()) - head;
        let mut tail = a
            .iter()
            .rev()
            .zip(b.iter().rev())
            .take(room)
            .take_while(|(x, y)| x == y)
            .count();
        while !text.is_char_boundary(a.len() - tail) {
            tail -= 1;
        }
        let (Ok(h), Ok(t)) = (u32::try_from(head), u32::try_from(tail)) else {
            return Text::Own(text.into());
        };
        if head + tail < WORTH_SHARING {
            return Text::Own(text.into());
        }
        Text::Near {
            base: base.clone(),
            head: h,
            tail: t,
            mid: text[head..a.len() - tail].into(),
        }
    }

    pub fn as_cow(&self) -> Cow<'_, str> {
        match self {
            Text::Own(s) => Cow::Borrowed(s),
            Text::Near { base, head, tail, mid } => {
                let (head, tail) = (*head as usize, *tail as usize);
                if mid.is_empty() && head + tail == base.len() {
                    return Cow::Borrowed(base);
                }
                let mut s = String::with_capacity(head + mid.len() + tail);
                s.push_str(&base[..head]);
                s.push_str(mid);
                s.push_str(&base[base.len() - tail..]);
                Cow::Owned(s)
            }
        }
    }

    /// Let `f` change the text (redaction, escaping): kept whole when it did.
    pub fn visit(&mut self, f: &mut dyn FnMut(&mut String)) {
        let before = self.as_cow();
        let mut s = before.to_string();
        f(&mut s);
        if *s != *before {
            *self = Text::Own(s.into());
        }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::Own(s.into())
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_cow())
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.as_cow(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_cow() == other.as_cow()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_cow().cmp(&other.as_cow())
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_cow())
    }
}

// Read back whole: what it shared is not known any more.
impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Text::Own(String::deserialize(d)?.into_boxed_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_near_the_base_keep_only_what_differs_and_read_back_whole() {
        let base: Arc<str> =
            "the pod pulls acme/c0 from quay.io without credentials, which is how public images are pulled".into();
        // (text, kept as what differs): a text that differs at both ends shares too little.
        for (text, near) in [
            (
                "the pod pulls acme/c0 from quay.io without credentials, which is how public images are pulled",
                true,
            ),
            (
                "the pod pulls acme/c12345 from quay.io without credentials, which is how public images are pulled",
                true,
            ),
            (
                "the pod pulls acme/c from quay.io without credentials, which is how public images are pulled",
                true,
            ),
            (
                "the pod pulls acme/cé0 from quay.io without credentials, which is how public images are pulled",
                true,
            ),
            (
                "a pod pulls acme/cé0 from quay.io without credentials, which is how public images are pulled!",
                false,
            ),
            ("the pod pulls", false),
            ("", false),
            ("something else entirely", false),
        ] {
            let t = Text::near(text, &base);
            assert_eq!(t.as_cow(), text);
            assert_eq!(t.to_string(), text);
            match &t {
                Text::Near { mid, .. } => assert!(near && mid.len() <= 6, "{text}: {mid:?}"),
                Text::Own(_) => assert!(!near, "{text}: kept whole"),
            }
        }
        assert!(matches!(Text::near("something else entirely", &base), Text::Own(_)));
    }

    #[test]
    fn multibyte_characters_are_never_split() {
        let base: Arc<str> = "ééééééééééééééééééééééééééééééééééééééééééééééééééé aé".into();
        let text = "ééééééééééééééééééééééééééééééééééééééééééééééééééé aè";
        let t = Text::near(text, &base);
        assert_eq!(t.as_cow(), text);
    }

    #[test]
    fn a_visit_that_changes_the_text_keeps_it_whole() {
        let base: Arc<str> = "pull from https://user:hunter2@quay.io/v2/ failed for the pod p0 in apps".into();
        let mut t = Text::near(
            "pull from https://user:hunter2@quay.io/v2/ failed for the pod p1 in apps",
            &base,
        );
        t.visit(&mut |s| *s = s.replace("hunter2", "***"));
        assert!(matches!(t, Text::Own(_)));
        assert_eq!(
            t.as_cow(),
            "pull from https://user:***@quay.io/v2/ failed for the pod p1 in apps"
        );
        let mut same = Text::near(&base, &base);
        same.visit(&mut |_| {});
        assert!(matches!(same, Text::Near { .. }));
    }
}
