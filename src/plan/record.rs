//! What a saved plan read (uid and resourceVersion of each object its actions read or
//! change), and drift: whether those objects changed since, as a stale Terraform plan would.

use std::collections::HashMap;

use super::types::{Action, ObjectRecord, Status};
use crate::cluster::{GroupKind, ObjectKey};
use crate::desired::Target;

/// What the actions read, as it was (uid and resourceVersion), and which pending actions
/// change each object: what a saved plan is checked against before it is applied.
pub fn records(observed: &super::status::Observed, actions: impl Iterator<Item = Action>) -> Vec<ObjectRecord> {
    // One pass over the actions, then a lookup per object: a plan can read an object and
    // list an action per failing pod.
    let mut written: HashMap<ObjectKey, Vec<String>> = HashMap::new();
    // The apiVersion the first action naming an object gives it, by kind and name.
    let mut api_versions: HashMap<(GroupKind, String), String> = HashMap::new();
    for a in actions {
        let Some(t) = a.target.as_deref() else { continue };
        api_versions
            .entry((GroupKind::from_api_version(&t.api_version, &t.kind), t.name.clone()))
            .or_insert_with(|| t.api_version.clone());
        if a.status == Status::Pending {
            let key = Target {
                api_version: t.api_version.clone(),
                kind: t.kind.clone(),
                namespace: t.namespace.clone(),
                name: t.name.clone(),
            }
            .key();
            written.entry(key).or_default().push(a.id);
        }
    }
    observed
        .iter()
        .map(|(key, obj)| {
            let meta = |f: &str| obj.as_ref().and_then(|o| o.str_field(f)).map(str::to_string);
            ObjectRecord {
                api_version: obj
                    .as_ref()
                    .map(|o| o.api_version.clone())
                    .or_else(|| api_versions.get(&(key.kind.clone(), key.name.clone())).cloned())
                    .unwrap_or_else(|| default_api_version(key)),
                kind: key.kind.kind.clone(),
                namespace: key.namespace.clone(),
                name: key.name.clone(),
                exists: obj.is_some(),
                uid: meta("metadata.uid"),
                resource_version: meta("metadata.resourceVersion"),
                written_by: written.remove(key).unwrap_or_default(),
            }
        })
        .collect()
}

/// The apiVersion of an object no action names the version of.
fn default_api_version(key: &ObjectKey) -> String {
    if key.kind.group.is_empty() {
        "v1".into()
    } else {
        format!("{}/v1", key.kind.group)
    }
}

impl ObjectRecord {
    pub fn key(&self) -> ObjectKey {
        self.target().key()
    }

    fn target(&self) -> Target {
        Target {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// The parts of a saved plan (`remedy plan -o json`) that apply checks; other fields are ignored.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedPlan {
    pub api_version: String,
    pub kind: String,
    pub source: SavedSource,
    pub objects: Vec<ObjectRecord>,
    #[serde(default)]
    pub inputs: Vec<String>,
    pub actions: Vec<SavedAction>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct SavedSource {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedAction {
    pub id: String,
    #[serde(rename = "type")]
    pub action_type: String,
    pub status: Status,
    pub target: Option<super::types::ActionTarget>,
}

/// How one recorded object differs from the same object as recorded now; `None` when it has
/// not changed. Pods are compared by uid only: kubelet rewrites a failing pod's status every
/// few seconds, and what matters for a restart is that it is the same pod, not a replacement.
pub fn object_drift(rec: &ObjectRecord, now: &ObjectRecord) -> Option<String> {
    let name = rec.target().display();
    match (rec.exists, now.exists) {
        (false, false) => None,
        (false, true) => Some(format!("{name} was created since")),
        (true, false) => Some(format!("{name} was deleted since")),
        (true, true) if now.uid != rec.uid => Some(format!(
            "{name} was replaced (uid {} → {})",
            rec.uid.as_deref().unwrap_or("none"),
            now.uid.as_deref().unwrap_or("none")
        )),
        (true, true) => (rec.kind != "Pod" && now.resource_version != rec.resource_version).then(|| {
            format!(
                "{name} changed (resourceVersion {} → {})",
                rec.resource_version.as_deref().unwrap_or("none"),
                now.resource_version.as_deref().unwrap_or("none")
            )
        }),
    }
}

/// Everything that makes a saved plan stale against a fresh one made from the cluster now:
/// objects that changed, and actions that differ. Empty: the saved plan is exactly what would
/// be applied.
pub fn drift(saved: &SavedPlan, fresh: &super::Plan) -> Vec<String> {
    let mut out = Vec::new();
    for rec in &saved.objects {
        match fresh.objects.iter().find(|f| f.key() == rec.key()) {
            Some(now) => out.extend(object_drift(rec, now)),
            None => out.push(format!("{} is no longer part of the plan", rec.target().display())),
        }
    }
    let fresh_actions: Vec<SavedAction> = fresh
        .actions
        .iter()
        .map(|a| SavedAction {
            id: a.id.clone(),
            action_type: a.action_type.to_string(),
            status: a.status,
            target: a.target.as_deref().cloned(),
        })
        .collect();
    for a in &saved.actions {
        match fresh_actions.iter().find(|f| f.id == a.id) {
            Some(f) if f == a => {}
            Some(f) if f.action_type == a.action_type && f.target == a.target => out.push(format!(
                "{} was {} and is now {}",
                a.id,
                a.status.as_str(),
                f.status.as_str()
            )),
            Some(_) => out.push(format!("{} is now a different action", a.id)),
            None => out.push(format!("{} is no longer in the plan", a.id)),
        }
    }
    for f in fresh_actions.iter().skip(saved.actions.len()) {
        out.push(format!("{} is new ({} {})", f.id, f.action_type, f.status.as_str()));
    }
    out
}

/// Inputs the saved plan was made with that are not given now (names only).
pub fn missing_inputs<'a>(saved: &'a SavedPlan, given: &crate::inputs::Inputs) -> Vec<&'a str> {
    saved
        .inputs
        .iter()
        .filter(|n| given.get(n).is_none())
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn rec(kind: &str, exists: bool, rv: &str, uid: &str) -> ObjectRecord {
        ObjectRecord {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: Some("apps".into()),
            name: "b".into(),
            exists,
            uid: exists.then(|| uid.to_string()),
            resource_version: exists.then(|| rv.to_string()),
            written_by: vec![],
        }
    }

    #[test]
    fn objects_drift_by_existence_uid_and_resource_version() {
        let r = rec("ServiceAccount", true, "5", "u1");
        assert_eq!(object_drift(&r, &rec("ServiceAccount", true, "5", "u1")), None);
        assert_eq!(
            object_drift(&r, &rec("ServiceAccount", true, "6", "u1")).unwrap(),
            "ServiceAccount apps/b changed (resourceVersion 5 → 6)"
        );
        assert!(
            object_drift(&r, &rec("ServiceAccount", true, "5", "u2"))
                .unwrap()
                .contains("replaced (uid u1 → u2)")
        );
        assert_eq!(
            object_drift(&r, &rec("ServiceAccount", false, "", "")).unwrap(),
            "ServiceAccount apps/b was deleted since"
        );
        let absent = rec("ServiceAccount", false, "", "");
        assert_eq!(object_drift(&absent, &absent), None);
        assert!(
            object_drift(&absent, &rec("ServiceAccount", true, "1", "u"))
                .unwrap()
                .contains("created since")
        );
    }

    // Each object's writers and version are found by lookup: a plan can read thousands of
    // objects and list an action per failing pod (it scanned every action per object).
    #[test]
    fn records_name_each_objects_pending_writers_and_version() {
        use crate::cluster::Object;
        use crate::plan::ActionTarget;
        let target = |api: &str, kind: &str, name: &str| ActionTarget {
            api_version: api.into(),
            kind: kind.into(),
            namespace: Some("apps".into()),
            name: name.into(),
        };
        let pod = |n: usize| {
            let v = json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("p{n}"), "namespace": "apps", "uid": format!("u{n}"), "resourceVersion": "7"}});
            Arc::new(Object::from_value(v).unwrap())
        };
        let mut observed = crate::plan::status::Observed::new();
        let mut actions = Vec::new();
        for n in 0..2_000 {
            observed.insert(
                ObjectKey::new(&GroupKind::core("Pod"), Some("apps"), &format!("p{n}")),
                Some(pod(n)),
            );
            let status = if n % 2 == 0 { Status::Pending } else { Status::Manual };
            let t = target("v1", "Pod", &format!("p{n}"));
            actions.push(Action::for_test(&format!("a{}", n + 1), "restartPod", status, Some(t)));
        }
        // A second writer of p0, and an object that does not exist yet, named by two actions.
        actions.push(Action::for_test(
            "a2001",
            "patch",
            Status::Pending,
            Some(target("v1", "Pod", "p0")),
        ));
        let route = GroupKind::new("route.openshift.io", "Route");
        observed.insert(ObjectKey::new(&route, Some("apps"), "r"), None);
        for (id, api) in [("a2002", "route.openshift.io/v1"), ("a2003", "route.openshift.io/v2")] {
            actions.push(Action::for_test(
                id,
                "ensureObject",
                Status::Blocked,
                Some(target(api, "Route", "r")),
            ));
        }
        let secret = ObjectKey::new(&GroupKind::new("example.com", "Thing"), Some("apps"), "s");
        observed.insert(secret, None);

        let records = records(&observed, actions.into_iter());
        let by_name = |name: &str| records.iter().find(|r| r.name == name).unwrap();
        assert_eq!(records.len(), 2_002);
        assert_eq!(by_name("p0").written_by, ["a1", "a2001"]);
        assert_eq!(by_name("p0").uid.as_deref(), Some("u0"));
        assert!(by_name("p1").written_by.is_empty(), "a manual action writes nothing");
        assert_eq!(by_name("p1998").written_by, ["a1999"]);
        let r = by_name("r");
        assert!(!r.exists && r.written_by.is_empty());
        assert_eq!(
            r.api_version, "route.openshift.io/v1",
            "the first action naming it gives the version"
        );
        assert_eq!(by_name("s").api_version, "example.com/v1");
    }

    #[test]
    fn pods_drift_only_when_replaced() {
        let r = rec("Pod", true, "5", "u1");
        assert_eq!(
            object_drift(&r, &rec("Pod", true, "99", "u1")),
            None,
            "status updates are not drift"
        );
        assert!(object_drift(&r, &rec("Pod", true, "99", "u2")).is_some());
    }

    #[test]
    fn saved_plans_parse_and_compare() {
        let saved: SavedPlan = serde_json::from_value(json!({
            "apiVersion": "remedy.dev/v1alpha1", "kind": "Plan", "source": {"kind": "live", "name": "ctx"},
            "objects": [{"apiVersion":"v1","kind":"ServiceAccount","namespace":"apps","name":"b","exists":true,"uid":"u1","resourceVersion":"5","writtenBy":["a1"]}],
            "inputs": ["ca_file"],
            "actions": [{"id":"a1","type":"linkPullSecret","status":"pending","target":{"apiVersion":"v1","kind":"ServiceAccount","namespace":"apps","name":"b"}, "extra": 1}],
            "findings": []
        }))
        .unwrap();
        let mut inputs = crate::inputs::Inputs::default();
        assert_eq!(missing_inputs(&saved, &inputs), ["ca_file"]);
        inputs.insert("ca_file", "PEM", "ca.pem");
        assert!(missing_inputs(&saved, &inputs).is_empty());
        let text = r#"{"apiVersion":"remedy.dev/v1alpha1","kind":"Plan","source":{"kind":"live","name":"ctx"},
            "cluster":{"openshift":false,"version":null,"podsScanned":0},"objects":[],"inputs":[],"actions":[]}"#;
        let empty: SavedPlan = serde_json::from_str(text).unwrap();
        assert!(empty.actions.is_empty());
        let mut fresh_objects = saved.objects.clone();
        fresh_objects[0].resource_version = Some("7".into());
        let d = drift_of(&saved, fresh_objects, vec![]);
        assert_eq!(
            d,
            [
                "ServiceAccount apps/b changed (resourceVersion 5 → 7)",
                "a1 is no longer in the plan"
            ]
        );
        assert!(drift_of(&saved, saved.objects.clone(), saved.actions.clone()).is_empty());
        let mut done = saved.actions.clone();
        done[0].status = Status::Satisfied;
        assert_eq!(
            drift_of(&saved, saved.objects.clone(), done),
            ["a1 was pending and is now satisfied"]
        );
    }

    fn drift_of(saved: &SavedPlan, objects: Vec<ObjectRecord>, actions: Vec<SavedAction>) -> Vec<String> {
        let plan = crate::plan::Plan {
            api_version: "remedy.dev/v1alpha1".into(),
            kind: "Plan".into(),
            source: crate::plan::PlanSource {
                kind: "live".into(),
                name: "ctx".into(),
                partial: false,
                skipped_files: vec![],
                context: None,
                server: None,
                scope: None,
            },
            cluster: crate::plan::ClusterInfo {
                openshift: false,
                version: None,
                pods_scanned: 0,
            },
            rules: crate::plan::RulesInfo {
                playbooks: 0,
                symptoms: 0,
                overridden: vec![],
                skipped: vec![],
            },
            summary: Default::default(),
            findings: vec![],
            actions: actions
                .into_iter()
                .map(|a| crate::plan::Action::for_test(&a.id, &a.action_type, a.status, a.target))
                .collect(),
            unexplained: vec![],
            orphans: vec![],
            errors: vec![],
            objects,
            inputs: vec![],
            desired: Default::default(),
            rerun: None,
        };
        drift(saved, &plan)
    }
}
