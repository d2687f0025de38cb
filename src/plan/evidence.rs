//! What a finding says about its failures: subjects, quoted messages, totals, and the
//! explanation they share. Each works on borrowed text and copies only what the plan shows: a
//! finding can have any number of failures.

use std::sync::Arc;

use super::{EvidenceTotals, MessageEvidence, Subject, Unexplained, group};
use crate::detect::{Evidence, EvidenceSource, Failure};
use crate::engine::Evaluated;
use crate::model::Category;
use crate::near::Text;
use crate::packed::Packed;

/// How many distinct messages a finding quotes as evidence.
const MAX_MESSAGES: usize = 5;

/// Shares the failure's names.
pub(super) fn subject(f: &Failure) -> Subject {
    let (container, tag) = container_or_tag(f);
    Subject {
        kind: f.kind.into(),
        namespace: f.namespace.clone(),
        name: f.pod.clone(),
        container: container.cloned(),
        tag: tag.cloned(),
        image: f.image.clone(),
        explanation: None,
    }
}

/// (container, tag): an ImageStream's failure names a tag where a pod's names a container
/// (both are kept as the failure's `container`).
fn container_or_tag(f: &Failure) -> (Option<&Arc<str>>, Option<&Arc<str>>) {
    if f.kind == "ImageStream" {
        (None, f.container.as_ref())
    } else {
        (f.container.as_ref(), None)
    }
}

pub(super) fn unexplained(f: &Failure, category: Option<Category>) -> Unexplained {
    Unexplained {
        kind: f.kind.to_string(),
        namespace: f.namespace.to_string(),
        pod: f.pod.to_string(),
        container: f.container.as_deref().map(str::to_string),
        image: f.image.to_string(),
        category: category.unwrap_or(Category::Other),
        message: f.headline().map(|e| e.message.to_string()),
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
        /// The evidence with the earliest `first_seen` and the one with the latest `last_seen`.
        first_seen: Option<&'a Evidence>,
        last_seen: Option<&'a Evidence>,
        pods: u32,
        image_streams: u32,
    }
    fn source_name(s: EvidenceSource) -> &'static str {
        match s {
            EvidenceSource::Event => "event",
            EvidenceSource::ContainerStatus => "containerStatus",
            EvidenceSource::ImportStatus => "importStatus",
        }
    }
    // What tells messages apart: source, reason and text.
    fn said(e: &Evidence) -> (EvidenceSource, &str, &str) {
        (e.source, &e.reason, &e.message)
    }
    // Every evidence with its pod or image stream (its place in visiting order, and whether
    // it is a stream), sorted so that each message's sightings are one run, pod after pod: a
    // finding can have a distinct message per container, and 16 bytes per sighting is less
    // than a map entry per message.
    let mut ordered: Vec<&Failure> = failures.to_vec();
    ordered.sort_by_key(|f| (f.kind == "ImageStream", &*f.namespace, &*f.pod));
    let mut sightings: Vec<(&Evidence, u32, bool)> = Vec::with_capacity(ordered.iter().map(|f| f.evidence.len()).sum());
    let mut owner = 0u32;
    let mut previous: Option<(bool, &str, &str)> = None;
    for f in ordered {
        let stream = f.kind == "ImageStream";
        let this = Some((stream, &*f.namespace, &*f.pod));
        if this != previous {
            previous = this;
            owner = owner.saturating_add(1);
        }
        sightings.extend(f.evidence.iter().map(|e| (e, owner, stream)));
    }
    // In place: what a run adds up does not depend on the order of equal sightings.
    sightings.sort_unstable_by(|a, b| said(a.0).cmp(&said(b.0)).then(a.1.cmp(&b.1)));
    let by = sightings.chunk_by(|a, b| said(a.0) == said(b.0)).map(|run| {
        let mut m = Tally::default();
        let mut last = 0u32;
        for &(e, owner, stream) in run {
            m.count = m.count.saturating_add(e.count);
            if e.first_seen.is_some() && m.first_seen.is_none_or(|x| e.first_seen < x.first_seen) {
                m.first_seen = Some(e);
            }
            if e.last_seen.is_some() && m.last_seen.is_none_or(|x| e.last_seen > x.last_seen) {
                m.last_seen = Some(e);
            }
            // Counted once per pod: a run lists a pod's sightings together.
            if last != owner {
                last = owner;
                if stream {
                    m.image_streams = m.image_streams.saturating_add(1);
                } else {
                    m.pods = m.pods.saturating_add(1);
                }
            }
        }
        (run[0].0, m)
    });
    // Messages that name a cause first, then by frequency.
    let order = |(a, ta): &(&Evidence, Tally), (b, tb): &(&Evidence, Tally)| {
        crate::detect::is_generic(&a.message)
            .cmp(&crate::detect::is_generic(&b.message))
            .then(tb.count.cmp(&ta.count))
            .then_with(|| a.message.cmp(&b.message))
            .then_with(|| (source_name(a.source), &a.reason).cmp(&(source_name(b.source), &b.reason)))
    };
    // The first few in that order, picked as the counts are read: no second list of them all.
    let mut out: Vec<(&Evidence, Tally)> = Vec::with_capacity(MAX_MESSAGES + 1);
    for item in by {
        let at = out.partition_point(|o| order(o, &item).is_lt());
        if at < MAX_MESSAGES {
            out.insert(at, item);
            out.truncate(MAX_MESSAGES);
        }
    }
    out.into_iter()
        .map(|(e, t)| MessageEvidence {
            source: source_name(e.source).into(),
            reason: e.reason.to_string(),
            message: e.message.to_string(),
            count: t.count,
            pods: t.pods as usize,
            image_streams: t.image_streams as usize,
            first_seen: t.first_seen.and_then(|x| x.first_seen.as_deref().map(str::to_string)),
            last_seen: t.last_seen.and_then(|x| x.last_seen.as_deref().map(str::to_string)),
        })
        .collect()
}

/// The finding's subjects, sorted and each once, and its explanation: the one its subjects
/// share, or theirs merged with the differing words in place; each subject then takes its
/// own (moved out of its evaluation, not copied). The subjects are made one at a time into
/// their packed list: a finding can have one per failing container, and the list of them as
/// values was the largest part of memory while the plan was built.
pub(super) fn subjects_and_explanation(
    failures: &[Failure],
    evaluated: &mut [Evaluated],
    members: &[usize],
) -> (Packed<Subject>, Option<String>) {
    let key = |ev: &[Evaluated], at: u32| SubjectKey::of(&failures[ev[members[at as usize]].failure]);
    // Members by subject, then in order: the first of each subject stands for it, and the
    // first with an explanation gives it its own.
    let mut order: Vec<u32> = (0..members.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| key(evaluated, a).cmp(&key(evaluated, b)).then(a.cmp(&b)));
    // (the subject's member, the member whose explanation it takes)
    let mut owners: Vec<(usize, Option<usize>)> = Vec::new();
    let mut previous: Option<u32> = None;
    for &at in &order {
        let m = members[at as usize];
        let has = evaluated[m].explanation.is_some();
        let same = previous.is_some_and(|p| key(evaluated, p) == key(evaluated, at));
        match owners.last_mut() {
            Some((_, owner)) if same => {
                if owner.is_none() && has {
                    *owner = Some(m);
                }
            }
            _ => owners.push((m, has.then_some(m))),
        }
        previous = Some(at);
    }
    drop(order);
    owners.shrink_to_fit();
    let first = evaluated[members[0]].explanation.as_ref().map(|t| t.to_string());
    let texts: Vec<&Text> = owners
        .iter()
        .filter_map(|&(_, o)| evaluated[o?].explanation.as_ref())
        .collect();
    let shared = texts.iter().all(|t| Some(&*t.as_cow()) == first.as_deref());
    // Read one at a time: most share their text with the first, and are kept that way.
    let merged = (!shared).then(|| group::merge_with(texts.len(), |i| texts[i].as_cow()));
    let subjects = owners
        .into_iter()
        .map(|(m, owner)| {
            let mut s = subject(&failures[evaluated[m].failure]);
            if !shared {
                s.explanation = owner.and_then(|o| evaluated[o].explanation.take());
            }
            s
        })
        .collect();
    (subjects, merged.flatten().or(first))
}

/// A subject's fields, borrowed: an ImageStream's failure names a tag where a pod's names a
/// container. Ordered as `Subject` is, by the same fields in the same order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct SubjectKey<'a> {
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
    container: Option<&'a str>,
    tag: Option<&'a str>,
    image: &'a str,
}

impl<'a> SubjectKey<'a> {
    /// What `subject` shares, borrowed.
    fn of(f: &'a Failure) -> Self {
        let (container, tag) = container_or_tag(f);
        SubjectKey {
            kind: f.kind,
            namespace: &f.namespace,
            name: &f.pod,
            container: container.map(|c| &**c),
            tag: tag.map(|t| &**t),
            image: &f.image,
        }
    }
}

pub(super) fn totals(failures: &[&Failure], subjects: usize) -> EvidenceTotals {
    let mut t = EvidenceTotals {
        subjects,
        ..EvidenceTotals::default()
    };
    // Compared borrowed; only the two kept are copied.
    let (mut first, mut last): (Option<&str>, Option<&str>) = (None, None);
    for f in failures {
        if let Some(h) = f.headline() {
            t.count = t.count.saturating_add(h.count);
        }
        for e in &f.evidence {
            first = first.into_iter().chain(e.first_seen.as_deref()).min();
            last = last.into_iter().chain(e.last_seen.as_deref()).max();
        }
    }
    t.first_seen = first.map(str::to_string);
    t.last_seen = last.map(str::to_string);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Evidence;
    use std::sync::Arc;

    fn failure(pod: &str, container: &str, message: &str) -> Failure {
        Failure {
            kind: "Pod",
            namespace: "apps".into(),
            pod: pod.into(),
            pod_exists: true,
            gone_uid: None,
            container: Some(container.into()),
            init_container: false,
            image: "quay.io/x/y:1".into(),
            registry: "quay.io".into(),
            waiting_reason: None,
            waiting_message: None,
            evidence: vec![Evidence {
                source: EvidenceSource::Event,
                reason: "Failed".into(),
                message: message.into(),
                event_type: Some("Warning".into()),
                count: 2,
                first_seen: None,
                last_seen: None,
            }],
            service_account: None,
            node_name: None,
            labels: Default::default(),
            created: None,
        }
    }

    #[test]
    fn a_message_counts_each_pod_once_in_any_order() {
        // Containers of two pods, interleaved: the pods are counted, not the containers.
        let fs = [
            failure("p1", "a", "unauthorized"),
            failure("p2", "a", "unauthorized"),
            failure("p1", "b", "unauthorized"),
            failure("p2", "b", "not found"),
        ];
        let refs: Vec<&Failure> = fs.iter().collect();
        let m = messages(&refs);
        let unauthorized = m.iter().find(|m| m.message == "unauthorized").unwrap();
        assert_eq!((unauthorized.pods, unauthorized.count), (2, 6));
        let not_found = m.iter().find(|m| m.message == "not found").unwrap();
        assert_eq!((not_found.pods, not_found.count), (1, 2));
    }

    /// One message's span runs from its earliest first sighting to its latest last one;
    /// the same text from another source or with another reason is another message, and of
    /// equal counts the source and reason order them.
    #[test]
    fn a_message_spans_its_sightings_and_differs_by_source_and_reason() {
        let seen = |f: &mut Failure, first: Option<&str>, last: Option<&str>| {
            f.evidence[0].first_seen = first.map(Arc::from);
            f.evidence[0].last_seen = last.map(Arc::from);
        };
        let mut fs = [
            failure("p1", "a", "unauthorized"),
            failure("p2", "a", "unauthorized"),
            failure("p3", "a", "unauthorized"),
            failure("p4", "a", "unauthorized"),
        ];
        seen(&mut fs[0], Some("2026-01-02T00:00:00Z"), Some("2026-01-03T00:00:00Z"));
        seen(&mut fs[1], Some("2026-01-01T00:00:00Z"), None);
        seen(&mut fs[2], None, Some("2026-01-05T00:00:00Z"));
        fs[3].evidence[0].source = EvidenceSource::ContainerStatus;
        fs[3].evidence[0].count = 6;
        let refs: Vec<&Failure> = fs.iter().collect();
        let m = messages(&refs);
        let keys: Vec<(&str, &str, u64)> = m
            .iter()
            .map(|m| (m.source.as_str(), m.reason.as_str(), m.count))
            .collect();
        assert_eq!(keys, [("containerStatus", "Failed", 6), ("event", "Failed", 6)]);
        assert_eq!(m[1].first_seen.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(m[1].last_seen.as_deref(), Some("2026-01-05T00:00:00Z"));
        assert_eq!((m[0].first_seen.as_deref(), m[0].last_seen.as_deref()), (None, None));
        fs[3].evidence[0].source = EvidenceSource::Event;
        fs[3].evidence[0].reason = "BackOff".into();
        let refs: Vec<&Failure> = fs.iter().collect();
        let m = messages(&refs);
        let keys: Vec<(&str, &str, usize)> = m
            .iter()
            .map(|m| (m.source.as_str(), m.reason.as_str(), m.pods))
            .collect();
        assert_eq!(keys, [("event", "BackOff", 1), ("event", "Failed", 3)]);
    }

    #[test]
    fn a_subject_shares_its_failures_names() {
        let f = failure("web-1", "web", "unauthorized");
        let s = subject(&f);
        assert_eq!(
            (&*s.name, s.container.as_deref(), s.tag.as_deref()),
            ("web-1", Some("web"), None)
        );
        assert!(Arc::ptr_eq(&s.namespace, &f.namespace) && Arc::ptr_eq(&s.name, &f.pod));
        assert!(Arc::ptr_eq(&s.image, &f.image));
        assert!(Arc::ptr_eq(
            s.container.as_ref().unwrap(),
            f.container.as_ref().unwrap()
        ));
        // An ImageStream's failure names a tag where a pod's names a container.
        let stream = Failure {
            kind: "ImageStream",
            ..f.clone()
        };
        let s = subject(&stream);
        assert_eq!((s.container.as_deref(), s.tag.as_deref()), (None, Some("web")));
    }

    #[test]
    fn subjects_are_sorted_each_once_and_take_their_first_explanation() {
        // Failures out of order, one subject twice: its first evaluation explains nothing, its
        // second does.
        let failures = [
            failure("p2", "c", "m"),
            failure("p1", "c", "m"),
            failure("p2", "c", "m"),
            failure("p3", "c", "m"),
        ];
        let explained = |failure: usize, text: Option<&str>| Evaluated {
            rule: 0,
            failure,
            outcome: crate::engine::Outcome::Confirmed,
            group: "g".into(),
            probes: Default::default(),
            explanation: text.map(|t| Text::from(t.to_string())),
            actions: Box::default(),
            notes: Vec::new(),
        };
        let mut evaluated = vec![
            explained(0, None),
            explained(1, Some("p1 fails")),
            explained(2, Some("p2 fails")),
            explained(3, Some("p3 fails")),
        ];
        let (subjects, why) = subjects_and_explanation(&failures, &mut evaluated, &[0, 1, 2, 3]);
        let got: Vec<(String, Option<String>)> = subjects
            .iter()
            .map(|s| (s.name.to_string(), s.explanation.map(|t| t.to_string())))
            .collect();
        assert_eq!(
            got,
            [
                ("p1".to_string(), Some("p1 fails".to_string())),
                ("p2".to_string(), Some("p2 fails".to_string())),
                ("p3".to_string(), Some("p3 fails".to_string())),
            ]
        );
        // The first member has none: the merged text stands for the finding.
        assert!(why.is_some_and(|w| w.contains("fails")));
        // Each explanation was moved into its subject, not copied.
        assert!(evaluated[1].explanation.is_none() && evaluated[2].explanation.is_none());
        // Alike explanations stay with the finding only.
        let mut evaluated: Vec<Evaluated> = (0..4).map(|f| explained(f, Some("all fail"))).collect();
        let (subjects, why) = subjects_and_explanation(&failures, &mut evaluated, &[0, 1, 2, 3]);
        assert_eq!(subjects.len(), 3);
        assert!(subjects.iter().all(|s| s.explanation.is_none()));
        assert_eq!(why.as_deref(), Some("all fail"));
    }
}
