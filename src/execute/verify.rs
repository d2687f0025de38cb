//! Verification after apply (`--wait`): the pods of each finding, or their replacements
//! (pods of the same controller, found through the owner reference), re-read until their
//! images pull or time runs out.

use std::collections::BTreeMap;
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

fn container_state(pod: &Object, container: Option<&str>) -> PodState {
    let statuses = ["status.containerStatuses", "status.initContainerStatuses"]
        .iter()
        .filter_map(|p| pod.field(p).and_then(Value::as_array))
        .flatten()
        .filter(|s| container.is_none_or(|c| s["name"] == c))
        .collect::<Vec<_>>();
    if statuses.is_empty() {
        return PodState::Pending;
    }
    for s in &statuses {
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
    now: &[Arc<Object>],
) -> PodState {
    let uid = before.and_then(|b| b.str_field("metadata.uid"));
    if let Some(p) = now.iter().find(|p| {
        p.namespace.as_deref() == Some(ns) && p.name == name && (uid.is_none() || p.str_field("metadata.uid") == uid)
    }) {
        return container_state(p, container);
    }
    let Some(owner) = before.and_then(controller_uid) else {
        return PodState::Missing;
    };
    let replacements: Vec<&Arc<Object>> = now
        .iter()
        .filter(|p| p.namespace.as_deref() == Some(ns) && controller_uid(p).as_deref() == Some(owner.as_str()))
        .filter(|p| p.str_field("metadata.uid") != uid)
        .collect();
    if replacements.is_empty() {
        return PodState::Pending;
    }
    let states: Vec<PodState> = replacements.iter().map(|p| container_state(p, container)).collect();
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
        .flat_map(|f| &f.subjects)
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
    let namespaces: std::collections::BTreeSet<&str> = plan
        .findings
        .iter()
        .flat_map(|f| &f.subjects)
        .filter(|s| s.kind == "Pod")
        .map(|s| &*s.namespace)
        .collect();
    loop {
        let mut pods = Vec::new();
        for ns in &namespaces {
            pods.extend(w.pods(ns).await.unwrap_or_default());
        }
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
                            &pods,
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
            subject_state(Some(&old), "a", "web-1", Some("c"), &now),
            PodState::Pulled
        );
        let now = vec![pod(
            "web-2",
            "u2",
            "rs1",
            json!({"waiting": {"reason": "ErrImagePull", "message": "x509: unknown authority"}}),
        )];
        assert_eq!(
            subject_state(Some(&old), "a", "web-1", Some("c"), &now),
            PodState::Failing("x509: unknown authority".into())
        );
        assert_eq!(
            subject_state(Some(&old), "a", "web-1", Some("c"), &[]),
            PodState::Pending,
            "not recreated yet"
        );
        // The same pod, still there, still failing.
        let now = vec![old.clone()];
        assert_eq!(
            subject_state(Some(&old), "a", "web-1", Some("c"), &now),
            PodState::Failing("back-off".into())
        );
        let creating = vec![pod(
            "web-2",
            "u2",
            "rs1",
            json!({"waiting": {"reason": "ContainerCreating"}}),
        )];
        assert_eq!(
            subject_state(Some(&old), "a", "web-1", Some("c"), &creating),
            PodState::Pending
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
