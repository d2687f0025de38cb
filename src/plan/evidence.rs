//! What a finding says about its failures: subjects, quoted messages, totals, and the
//! explanation they share. Each works on borrowed text and copies only what the plan shows: a
//! finding can have any number of failures.

use std::collections::{HashMap, HashSet};

use super::{EvidenceTotals, MessageEvidence, Subject, Unexplained, group};
use crate::detect::{EvidenceSource, Failure};
use crate::engine::Evaluation;
use crate::model::Category;

/// How many distinct messages a finding quotes as evidence.
const MAX_MESSAGES: usize = 5;

pub(super) fn subject(f: &Failure) -> Subject {
    let k = SubjectKey::of(f);
    Subject {
        kind: k.kind.into(),
        namespace: k.namespace.into(),
        name: k.name.into(),
        container: k.container.map(str::to_string),
        tag: k.tag.map(str::to_string),
        image: k.image.into(),
        explanation: None,
    }
}

pub(super) fn unexplained(f: &Failure, category: Option<Category>) -> Unexplained {
    Unexplained {
        kind: f.kind.clone(),
        namespace: f.namespace.clone(),
        pod: f.pod.clone(),
        container: f.container.clone(),
        image: f.image.clone(),
        category: category.unwrap_or(Category::Other),
        message: f.headline().map(|e| e.message.clone()),
        count: f.total_count(),
        gone: None,
    }
}

/// Messages of a group of failures, deduplicated, counts summed, most frequent first. Counted
/// on borrowed text, and only the ones shown are copied: a group can have any number.
pub(super) fn messages(failures: &[&Failure]) -> Vec<MessageEvidence> {
    #[derive(Default)]
    struct Tally<'a> {
        count: u64,
        first_seen: Option<&'a str>,
        last_seen: Option<&'a str>,
        pods: usize,
        image_streams: usize,
    }
    let mut by: HashMap<(&str, &str, &str), Tally> = HashMap::new();
    // Which pods and which image streams showed each message.
    let mut seen: HashSet<(&str, &str, &str, bool, &str, &str)> = HashSet::new();
    for f in failures {
        for e in &f.evidence {
            let source = match e.source {
                EvidenceSource::Event => "event",
                EvidenceSource::ContainerStatus => "containerStatus",
                EvidenceSource::ImportStatus => "importStatus",
            };
            let key = (source, e.reason.as_str(), e.message.as_str());
            let m = by.entry(key).or_default();
            m.count = m.count.saturating_add(e.count);
            m.first_seen = [m.first_seen, e.first_seen.as_deref()].into_iter().flatten().min();
            m.last_seen = [m.last_seen, e.last_seen.as_deref()].into_iter().flatten().max();
            let stream = f.kind == "ImageStream";
            if seen.insert((key.0, key.1, key.2, stream, &f.namespace, &f.pod)) {
                if stream {
                    m.image_streams += 1;
                } else {
                    m.pods += 1;
                }
            }
        }
    }
    let mut out: Vec<((&str, &str, &str), Tally)> = by.into_iter().collect();
    // Messages that name a cause first, then by frequency.
    out.sort_by(|(a, ta), (b, tb)| {
        crate::detect::is_generic(a.2)
            .cmp(&crate::detect::is_generic(b.2))
            .then(tb.count.cmp(&ta.count))
            .then_with(|| a.2.cmp(b.2))
            .then_with(|| (a.0, a.1).cmp(&(b.0, b.1)))
    });
    out.truncate(MAX_MESSAGES);
    out.into_iter()
        .map(|((source, reason, message), t)| MessageEvidence {
            source: source.into(),
            reason: reason.into(),
            message: message.into(),
            count: t.count,
            pods: t.pods,
            image_streams: t.image_streams,
            first_seen: t.first_seen.map(str::to_string),
            last_seen: t.last_seen.map(str::to_string),
        })
        .collect()
}

/// The finding's explanation: the one its subjects share, or theirs merged with the differing
/// words in place; each subject keeps its own when they differ.
pub(super) fn group_explanation(ev: &Evaluation, members: &[usize], subjects: &mut [Subject]) -> Option<String> {
    let first = ev.evaluated[members[0]].explanation.as_deref();
    // Each subject's explanation (the first member's, when several share one subject), looked
    // up by the subject's fields without copying them: a finding can have any number.
    let mut own: HashMap<SubjectKey, &str> = HashMap::new();
    for &m in members {
        let e = &ev.evaluated[m];
        if let Some(text) = &e.explanation {
            own.entry(SubjectKey::of(&ev.failures[e.failure])).or_insert(text);
        }
    }
    let texts: Vec<&str> = subjects
        .iter()
        .filter_map(|s| own.get(&SubjectKey::subject(s)).copied())
        .collect();
    if texts.iter().all(|t| Some(*t) == first) {
        return first.map(str::to_string);
    }
    let merged = group::merge_explanations(&texts);
    for s in subjects.iter_mut() {
        s.explanation = own.get(&SubjectKey::subject(s)).map(|t| t.to_string());
    }
    merged.or(first.map(str::to_string))
}

/// A subject's fields, borrowed: an ImageStream's failure names a tag where a pod's names a
/// container.
#[derive(PartialEq, Eq, Hash)]
struct SubjectKey<'a> {
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
    container: Option<&'a str>,
    tag: Option<&'a str>,
    image: &'a str,
}

impl<'a> SubjectKey<'a> {
    /// Also what `subject` copies.
    fn of(f: &'a Failure) -> Self {
        let stream = f.kind == "ImageStream";
        SubjectKey {
            kind: &f.kind,
            namespace: &f.namespace,
            name: &f.pod,
            container: if stream { None } else { f.container.as_deref() },
            tag: if stream { f.container.as_deref() } else { None },
            image: &f.image,
        }
    }

    fn subject(s: &'a Subject) -> Self {
        SubjectKey {
            kind: &s.kind,
            namespace: &s.namespace,
            name: &s.name,
            container: s.container.as_deref(),
            tag: s.tag.as_deref(),
            image: &s.image,
        }
    }
}

pub(super) fn totals(failures: &[&Failure], subjects: usize) -> EvidenceTotals {
    let mut t = EvidenceTotals {
        subjects,
        ..EvidenceTotals::default()
    };
    for f in failures {
        if let Some(h) = f.headline() {
            t.count = t.count.saturating_add(h.count);
        }
        for e in &f.evidence {
            t.first_seen = [t.first_seen.take(), e.first_seen.clone()].into_iter().flatten().min();
            t.last_seen = [t.last_seen.take(), e.last_seen.clone()].into_iter().flatten().max();
        }
    }
    t
}
