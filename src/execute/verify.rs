//! Verification after apply (`--wait`): the pods of each finding, or their replacements
//! (pods of the same controller, found through the owner reference), re-read until their
//! images pull or time runs out.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Verification;
use super::api::KubeWriter;
use super::report::FindingReport;
use crate::cluster::Object;
use crate::plan::Plan;

/// Waiting reasons that mean the pull still fails.
const PULL_FAILURES: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
];

/// Where one container of one pod stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodState {
    /// The image was pulled (the container runs, ran, or has an image id).
    Pulled,
    /// The pull fails, with the runtime's current message.
    Failing(String),
    /// Not decided yet (being created, no status yet).
    Pending,
    /// Neither the pod nor a replacement exists.
    Missing,
}

/// The uid of the pod's owner: its controller, else its first owner (OLM's catalog pods name
/// their CatalogSource with `controller: false`, and OLM recreates them all the same).
fn controller_uid(pod: &Object) -> Option<String> {
    let refs = pod.field("metadata.ownerReferences")?.as_array()?;
    refs.iter()
        .find(|r| r["controller"] == Value::Bool(true))
        .or_else(|| refs.first())
        .and_then(|r| r["uid"].as_str())
        .map(str::to_string)
}

/// The pods read on one poll, by namespace and name and by controller, each with its
/// container statuses by name: a finding can have a subject per failing container, and each
/// looked through every pod and every status.
pub struct PodsNow<'a> {
    by_name: HashMap<(&'a str, &'a str), Vec<usize>>,
    by_owner: HashMap<(&'a str, String), Vec<usize>>,
    pods: Vec<PodNow<'a>>,
}

struct PodNow<'a> {
    pod: &'a Object,
    statuses: Vec<&'a Value>,
    by_container: HashMap<&'a str, Vec<&'a Value>>,
}

impl<'a> PodsNow<'a> {
    pub fn new(now: &'a [Arc<Object>]) -> Self {
        let mut by_name: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        let mut by_owner: HashMap<(&str, String), Vec<usize>> = HashMap::new();
        let mut pods = Vec::with_capacity(now.len());
        for (i, p) in now.iter().enumerate() {
            let ns = p.namespace.as_deref().unwrap_or("");
            by_name.entry((ns, p.name.as_str())).or_default().push(i);
            if let Some(owner) = controller_uid(p) {
                by_owner.entry((ns, owner)).or_default().push(i);
            }
            let statuses: Vec<&Value> = ["status.containerStatuses", "status.initContainerStatuses"]
                .iter()
                .filter_map(|f| p.field(f).and_then(Value::as_array))
                .flatten()
                .collect();
            let mut by_container: HashMap<&str, Vec<&Value>> = HashMap::new();
            for s in &statuses {
                if let Some(name) = s["name"].as_str() {
                    by_container.entry(name).or_default().push(s);
                }
            }
            pods.push(PodNow {
                pod: p,
                statuses,
                by_container,
            });
        }
        PodsNow {
            by_name,
            by_owner,
            pods,
        }
    }

    fn state(&self, i: usize, container: Option<&str>) -> PodState {
        let p = &self.pods[i];
        match container {
            None => statuses_state(&p.statuses),
            Some(c) => statuses_state(p.by_container.get(c).map_or(&[][..], Vec::as_slice)),
        }
    }
}

fn statuses_state(statuses: &[&Value]) -> PodState {
    if statuses.is_empty() {
        return PodState::Pending;
    }
    for s in statuses {
        if let Some(w) = s.pointer("/state/waiting")
            && PULL_FAILURES.contains(&w["reason"].as_str().unwrap_or(""))
        {
            let msg = w["message"].as_str().or(w["reason"].as_str()).unwrap_or_default();
            return PodState::Failing(msg.to_string());
        }
    }
    let pulled = |s: &&Value| {
        s.pointer("/state/running").is_some()
            || s.pointer("/state/terminated").is_some()
            || s["imageID"].as_str().is_some_and(|i| !i.is_empty())
    };
    if statuses.iter().all(pulled) {
        PodState::Pulled
    } else {
        PodState::Pending
    }
}

/// The state of one subject: the pod itself if it is still the same pod (`before` holds it as
/// it was), else the replacements its controller made.
pub fn subject_state(
    before: Option<&Object>,
    ns: &str,
    name: &str,
    container: Option<&str>,
    now: &PodsNow,
) -> PodState {
    let uid = before.and_then(|b| b.str_field("metadata.uid"));
    let uid_of = |i: usize| now.pods[i].pod.str_field("metadata.uid");
    let same = now
        .by_name
        .get(&(ns, name))
        .and_then(|at| at.iter().copied().find(|&i| uid.is_none() || uid_of(i) == uid));
    if let Some(i) = same {
        return now.state(i, container);
    }
    let Some(owner) = before.and_then(controller_uid) else {
        return PodState::Missing;
    };
    let replacements: Vec<usize> = now
        .by_owner
        .get(&(ns, owner))
        .map(|at| at.iter().copied().filter(|&i| uid_of(i) != uid).collect())
        .unwrap_or_default();
    if replacements.is_empty() {
        return PodState::Pending;
    }
    let states: Vec<PodState> = replacements.iter().map(|&i| now.state(i, container)).collect();
    states
        .iter()
        .find(|s| matches!(s, PodState::Failing(_)))
        .or_else(|| states.iter().find(|s| **s == PodState::Pending))
        .cloned()
        .unwrap_or(PodState::Pulled)
}

/// A finding's verification from its subjects' states: fixed when every pod pulled, still
/// failing (with a message) when one fails, unknown otherwise (or with no pod subjects).
pub fn finding_verification(states: &[PodState]) -> (Verification, Option<String>) {
    if let Some(PodState::Failing(m)) = states.iter().find(|s| matches!(s, PodState::Failing(_))) {
        return (Verification::StillFailing, Some(m.clone()));
    }
    if !states.is_empty() && states.iter().all(|s| *s == PodState::Pulled) {
        return (Verification::Fixed, None);
    }
    (Verification::Unknown, None)
}

/// Pods of the plan's findings as they were before apply (for their uid and owner).
pub async fn pods_before(plan: &Plan, w: &KubeWriter) -> BTreeMap<(String, String), Arc<Object>> {
    let mut out = BTreeMap::new();
    for s in plan
        .findings
        .iter()
        .flat_map(|f| f.subjects.iter())
        .filter(|s| s.kind == "Pod")
    {
        let t = crate::desired::Target {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: Some(s.namespace.to_string()),
            name: s.name.to_string(),
        };
        if let Ok(Some(p)) = super::Writer::read(w, &t).await {
            out.insert((s.namespace.to_string(), s.name.to_string()), p);
        }
    }
    out
}

/// Re-read the findings' pods every `every` until each is decided or `timeout` passes; one
/// list of pods per namespace per round. `progress` hears a line per round.
pub async fn wait(
    plan: &Plan,
    before: &BTreeMap<(String, String), Arc<Object>>,
    w: &KubeWriter,
    timeout: Duration,
    every: Duration,
    progress: &mut dyn FnMut(&str),
) -> Vec<FindingReport> {
    let start = Instant::now();
    let namespaces: std::collections::BTreeSet<Arc<str>> = plan
        .findings
        .iter()
        .flat_map(|f| f.subjects.iter())
        .filter(|s| s.kind == "Pod")
        .map(|s| s.namespace)
        .collect();
    loop {
        let mut pods = Vec::new();
        for ns in &namespaces {
            pods.extend(w.pods(ns).await.unwrap_or_default());
        }
        let now = PodsNow::new(&pods);
        let reports: Vec<FindingReport> = plan
            .findings
            .iter()
            .map(|f| {
                let states: Vec<PodState> = f
                    .subjects
                    .iter()
                    .filter(|s| s.kind == "Pod")
                    .map(|s| {
                        let b = before.get(&(s.namespace.to_string(), s.name.to_string()));
                        subject_state(
                            b.map(|b| b.as_ref()),
                            &s.namespace,
                            &s.name,
                            s.container.as_deref(),
                            &now,
                        )
                    })
                    .collect();
                let (verification, message) = finding_verification(&states);
                FindingReport {
                    id: f.id.clone(),
                    rule: f.rule.clone(),
                    verification,
                    message,
                }
            })
            .collect();
        let fixed = reports.iter().filter(|r| r.verification == Verification::Fixed).count();
        progress(&format!(
            "waiting for pods: {fixed}/{} findings fixed ({}s)",
            reports.len(),
            start.elapsed().as_secs()
        ));
        let all_fixed = reports.iter().all(|r| r.verification == Verification::Fixed);
        if all_fixed || start.elapsed() + every > timeout {
            return reports;
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, uid: &str, owner: &str, state: Value) -> Arc<Object> {
        Arc::new(
            Object::from_value(json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":name,"namespace":"a","uid":uid,
                "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs","uid":owner,"controller":true}]},
                "status":{"containerStatuses":[{"name":"c","state":state,"imageID":""}]}}))
            .unwrap(),
        )
    }

    #[test]
    fn replacements_are_found_through_their_owner() {
        let old = pod(
            "web-1",
            "u1",
            "rs1",
            json!({"waiting": {"reason": "ImagePullBackOff", "message": "back-off"}}),
        );
        // The old pod is gone; its controller made web-2.
        let now = vec![
            pod("web-2", "u2", "rs1", json!({"running": {}})),
            pod(
                "other",
                "u3",
                "rs9",
                json!({"waiting": {"reason": "ErrImagePull", "message": "x"}}),
            ),
        ];
        assert_eq!(
            subject_state(Some(&old), "a", "web-1", Some("c"), &PodsNow::new(&now)),
            PodState::Pulled
        );
        let now = vec![pod(
            "web-2",
            "u2",
            "rs1",
            json!({"waiting": {"reason": "ErrImagePull", "message": "x509: unknown authority"}}),
        )];
        assert_eq!(
            subject_state(Some(&old), "a", "web-1", Some("c"), &PodsNow::new(&now)),
            PodState::Failing("x509: unknown authority".into())
        );
        assert_eq!(
            subject_state(Some(&old), "a", "web-1", Some("c"), &PodsNow::new(&[])),
            PodState::Pending,
            "not recreated yet"
        );
        // The same pod, still there, still failing.
        let now = vec![old.clone()];
        assert_eq!(
            subject_state(Some(&old), "a", "web-1", Some("c"), &PodsNow::new(&now)),
            PodState::Failing("back-off".into())
        );
        let creating = vec![pod(
            "web-2",
            "u2",
            "rs1",
            json!({"waiting": {"reason": "ContainerCreating"}}),
        )];
        assert_eq!(
            subject_state(Some(&old), "a", "web-1", Some("c"), &PodsNow::new(&creating)),
            PodState::Pending
        );
    }

    // One pod failing in many containers: each subject reads its own container's status
    // through the poll's index, not by scanning every pod and every status.
    #[test]
    fn each_container_of_a_large_pod_is_read_by_name() {
        let statuses: Vec<Value> = (0..3_000)
            .map(|i| match i % 3 {
                0 => json!({"name": format!("c{i}"), "state": {"running": {}}}),
                1 => json!({"name": format!("c{i}"), "state": {"waiting": {"reason": "ErrImagePull", "message": format!("m{i}")}}}),
                _ => json!({"name": format!("c{i}"), "state": {"waiting": {"reason": "ContainerCreating"}}, "imageID": ""}),
            })
            .collect();
        let big = Arc::new(
            Object::from_value(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "big", "namespace": "a", "uid": "u-big"},
                "status": {"containerStatuses": statuses}}))
            .unwrap(),
        );
        let now = vec![pod("web-2", "u2", "rs1", json!({"running": {}})), big.clone()];
        let index = PodsNow::new(&now);
        for i in [0, 1, 2, 2_998, 2_999] {
            let want = match i % 3 {
                0 => PodState::Pulled,
                1 => PodState::Failing(format!("m{i}")),
                _ => PodState::Pending,
            };
            let c = format!("c{i}");
            assert_eq!(subject_state(Some(&big), "a", "big", Some(&c), &index), want, "{c}");
        }
        assert_eq!(
            subject_state(Some(&big), "a", "big", Some("nope"), &index),
            PodState::Pending
        );
        // The whole pod: a failing container decides it.
        assert_eq!(
            subject_state(Some(&big), "a", "big", None, &index),
            PodState::Failing("m1".into())
        );
        assert_eq!(
            subject_state(None, "b", "big", None, &index),
            PodState::Missing,
            "another namespace"
        );
    }

    #[test]
    fn findings_are_fixed_only_when_every_pod_pulled() {
        assert_eq!(
            finding_verification(&[PodState::Pulled, PodState::Pulled]).0,
            Verification::Fixed
        );
        assert_eq!(
            finding_verification(&[PodState::Pulled, PodState::Pending]).0,
            Verification::Unknown
        );
        let (v, m) = finding_verification(&[PodState::Pulled, PodState::Failing("m".into())]);
        assert_eq!((v, m.as_deref()), (Verification::StillFailing, Some("m")));
        assert_eq!(finding_verification(&[]).0, Verification::Unknown);
        assert_eq!(finding_verification(&[PodState::Missing]).0, Verification::Unknown);
    }
}
