//! One finding for several pods: the explanation they share, with the words that differ from
//! pod to pod listed in place, and totals over every pod (not the first one's).

/// How many of the values that differ are named in place before "and N more".
const MAX_LISTED: usize = 4;

/// Trailing punctuation a differing word carries from the sentence around it.
fn split_punct(word: &str) -> (&str, &str) {
    let core = word.trim_end_matches([',', ';', '.', ':', ')']);
    (core, &word[core.len()..])
}

/// The explanations of a group's subjects, merged: identical ones are one; ones that differ
/// only in some words (names of secrets, service accounts, images) read once, with each
/// differing run of words replaced by its values in subject order ("a, b or c (per pod)").
/// `None` when they differ in shape: then each subject keeps its own (see `Subject::explanation`).
pub fn merge_explanations(texts: &[&str]) -> Option<String> {
    let first = *texts.first()?;
    if texts.iter().all(|t| *t == first) {
        return Some(first.to_string());
    }
    let words: Vec<Vec<&str>> = texts.iter().map(|t| t.split_whitespace().collect()).collect();
    let n = words[0].len();
    if words.iter().any(|w| w.len() != n) {
        return None;
    }
    let differs = |i: usize| words.iter().any(|w| split_punct(w[i]).0 != split_punct(words[0][i]).0);
    let mut out: Vec<String> = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        if !differs(i) {
            out.push(words[0][i].to_string());
            i += 1;
            continue;
        }
        let start = i;
        while i < n && differs(i) {
            i += 1;
        }
        // The run's punctuation is the first subject's (the same words around it).
        let (_, punct) = split_punct(words[0][i - 1]);
        let mut values: Vec<String> = Vec::new();
        // Distinct values in first-seen order; a set keeps that linear for many subjects.
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for w in &words {
            let mut run: Vec<&str> = w[start..i].to_vec();
            if let Some(last) = run.last_mut() {
                *last = split_punct(last).0;
            }
            let v = run.join(" ");
            if seen.insert(v.clone()) {
                values.push(v);
            }
        }
        let listed = if values.len() <= MAX_LISTED {
            let (last, rest) = values.split_last().expect("a run has values");
            format!("{} or {last}", rest.join(", "))
        } else {
            format!(
                "{}, and {} more",
                values[..MAX_LISTED - 1].join(", "),
                values.len() - (MAX_LISTED - 1)
            )
        };
        out.push(format!("{listed} (per pod){punct}"));
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
    }
}
