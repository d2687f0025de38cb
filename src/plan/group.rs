//! One finding for several pods: the explanation they share, with the words that differ from
//! pod to pod listed in place, and totals over every pod (not the first one's).

/// How many of the values that differ are named in place before "and N more".
const MAX_LISTED: usize = 4;

/// Trailing punctuation a differing word carries from the sentence around it.
fn split_punct(word: &str) -> (&str, &str) {
    let core = word.trim_end_matches([',', ';', '.', ':', ')']);
    (core, &word[core.len()..])
}

/// A run of words of one explanation, borrowed from it: compared and hashed word by word
/// (whitespace between words does not count), its last word without trailing punctuation.
#[derive(Clone, Copy)]
struct Run<'a>(&'a str);

impl<'a> Run<'a> {
    fn words(self) -> impl Iterator<Item = &'a str> {
        let mut it = self.0.split_whitespace().peekable();
        std::iter::from_fn(move || {
            let w = it.next()?;
            Some(if it.peek().is_none() { split_punct(w).0 } else { w })
        })
    }

    fn joined(self) -> String {
        self.words().collect::<Vec<_>>().join(" ")
    }
}

impl Run<'_> {
    /// Of its words (whitespace between them does not count). Two different values that
    /// collide would be counted once: with 64 bits and keys drawn per run (no name can be
    /// chosen to collide), not in any real finding.
    fn hash(self, keys: &std::collections::hash_map::RandomState) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = keys.build_hasher();
        self.words().for_each(|w| w.hash(&mut h));
        h.finish()
    }
}

/// Where `word` (a slice of `text`) starts in it.
fn offset(text: &str, word: &str) -> usize {
    word.as_ptr() as usize - text.as_ptr() as usize
}

/// The explanations of a group's subjects, merged: identical ones are one; ones that differ
/// only in some words (names of secrets, service accounts, images) read once, with each
/// differing run of words replaced by its values in subject order ("a, b or c (per pod)").
/// `None` when they differ in shape: then each subject keeps its own (see `Subject::explanation`).
#[cfg(test)]
pub fn merge_explanations(texts: &[&str]) -> Option<String> {
    merge_with(texts.len(), |i| std::borrow::Cow::Borrowed(texts[i]))
}

/// As `merge_explanations`, the `n` texts given one at a time by `text` (they are kept as
/// what differs from the first: see `crate::near`). Only the first is split into words; the
/// others are walked against it, and a differing run's values are counted by a hash of their
/// words: a finding can have any number of subjects.
pub fn merge_with<'t>(n_texts: usize, text: impl Fn(usize) -> std::borrow::Cow<'t, str>) -> Option<String> {
    if n_texts == 0 {
        return None;
    }
    let first = text(0);
    if (1..n_texts).all(|i| text(i) == first) {
        return Some(first.to_string());
    }
    let base: Vec<&str> = first.split_whitespace().collect();
    let n = base.len();
    let mut differs = vec![false; n];
    for t in (1..n_texts).map(&text) {
        let mut count = 0;
        for (i, w) in t.split_whitespace().enumerate() {
            let b = base.get(i)?;
            differs[i] |= split_punct(w).0 != split_punct(b).0;
            count = i + 1;
        }
        if count != n {
            return None;
        }
    }
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < n {
        if differs[i] {
            let start = i;
            while i < n && differs[i] {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    // Per run: distinct values in first-seen order, the first few kept as text.
    let mut seen: Vec<std::collections::HashSet<u64>> = vec![Default::default(); runs.len()];
    let mut listed: Vec<Vec<String>> = vec![Vec::new(); runs.len()];
    let keys = std::collections::hash_map::RandomState::new();
    for t in (0..n_texts).map(&text) {
        let t: &str = &t;
        let mut r = 0;
        let mut from = 0;
        for (i, w) in t.split_whitespace().enumerate() {
            let Some(&(start, end)) = runs.get(r) else {
                break;
            };
            if i == start {
                from = offset(t, w);
            }
            if i + 1 == end {
                let run = Run(&t[from..offset(t, w) + w.len()]);
                if seen[r].insert(run.hash(&keys)) && listed[r].len() < MAX_LISTED {
                    listed[r].push(run.joined());
                }
                r += 1;
            }
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(n);
    let mut i = 0;
    let mut r = 0;
    while i < n {
        let Some(&(_, end)) = runs.get(r).filter(|(start, _)| *start == i) else {
            out.push(base[i].to_string());
            i += 1;
            continue;
        };
        // The run's punctuation is the first subject's (the same words around it).
        let (_, punct) = split_punct(base[end - 1]);
        let values = &listed[r];
        let count = seen[r].len();
        let text = if count <= MAX_LISTED {
            let (last, rest) = values.split_last().expect("a run has values");
            format!("{} or {last}", rest.join(", "))
        } else {
            format!(
                "{}, and {} more",
                values[..MAX_LISTED - 1].join(", "),
                count - (MAX_LISTED - 1)
            )
        };
        out.push(format!("{text} (per pod){punct}"));
        i = end;
        r += 1;
    }
    Some(out.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_explanations_are_one() {
        assert_eq!(merge_explanations(&["a b.", "a b."]).unwrap(), "a b.");
    }

    #[test]
    fn differing_words_are_listed_in_place() {
        let got = merge_explanations(&[
            "the pod pulls with c-dockercfg-1, which holds nothing for r/c-index; link it to service account c.",
            "the pod pulls with d-dockercfg-2, which holds nothing for r/d-index; link it to service account d.",
            "the pod pulls with c-dockercfg-1, which holds nothing for r/e-index; link it to service account e.",
        ])
        .unwrap();
        assert_eq!(
            got,
            "the pod pulls with c-dockercfg-1 or d-dockercfg-2 (per pod), which holds nothing for \
             r/c-index, r/d-index or r/e-index (per pod); link it to service account c, d or e (per pod)."
        );
    }

    #[test]
    fn many_values_are_counted_and_other_shapes_stay_apart() {
        let texts: Vec<String> = (1..=6).map(|i| format!("secret s{i} is missing")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        assert_eq!(
            merge_explanations(&refs).unwrap(),
            "secret s1, s2, s3, and 3 more (per pod) is missing"
        );
        assert_eq!(merge_explanations(&["a b", "a b c"]), None);
        assert_eq!(merge_explanations(&["a b c", "a b"]), None);
    }

    #[test]
    fn values_compare_by_words_and_runs_keep_their_punctuation() {
        // The same value with other whitespace is one value; a run of two words keeps the
        // first subject's punctuation after it.
        let got = merge_explanations(&[
            "pulls x/a  1, from quay.io.",
            "pulls x/b 2, from quay.io.",
            "pulls x/a 1, from quay.io.",
            "pulls x/c 3; from quay.io.",
        ])
        .unwrap();
        assert_eq!(got, "pulls x/a 1, x/b 2 or x/c 3 (per pod), from quay.io.");
    }
}
