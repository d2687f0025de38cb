//! The executor against an in-memory store that behaves like the API server where apply
//! relies on it: resourceVersions bump on writes, JSON-patch `test`s and stale
//! resourceVersions and uid preconditions conflict. (The stateful test API in `tests/` proves
//! the same against the `kube` client.)

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::cluster::{ClusterError, ClusterSource, EventRecord, GroupKind, Object, ObjectKey, Snapshot, SourceInfo};
use crate::execute::writes::simulate;
use crate::execute::{ANNOTATION, Outcome, Write, WriteError, Writer, exit};

type Hook = Box<dyn FnOnce(&Store)>;

struct Store {
    base: Snapshot,
    overlay: RefCell<BTreeMap<ObjectKey, Option<Arc<Object>>>>,
    writes: Cell<usize>,
    rv: Cell<u64>,
    before_write: RefCell<Option<Hook>>,
}

impl Store {
    fn new(example: &str) -> Store {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(example);
        let (base, diags) = Snapshot::load(&[path]);
        assert!(!diags.has_errors());
        Store {
            base,
            overlay: RefCell::new(BTreeMap::new()),
            writes: Cell::new(0),
            rv: Cell::new(900_000),
            before_write: RefCell::new(None),
        }
    }

    fn current(&self, key: &ObjectKey) -> Option<Arc<Object>> {
        if let Some(o) = self.overlay.borrow().get(key) {
            return o.clone();
        }
        // The snapshot answers at once.
        futures::FutureExt::now_or_never(self.base.get(&key.kind, key.namespace.as_deref(), &key.name))
            .expect("snapshots answer at once")
            .unwrap()
    }

    fn put(&self, key: ObjectKey, mut v: Value) -> Object {
        self.rv.set(self.rv.get() + 1);
        v["metadata"]["resourceVersion"] = json!(self.rv.get().to_string());
        if v["metadata"]["uid"].is_null() {
            v["metadata"]["uid"] = json!(format!("uid-{}", self.rv.get()));
        }
        let o = Object::from_value(v).unwrap();
        self.overlay.borrow_mut().insert(key, Some(Arc::new(o.clone())));
        o
    }
}

impl ClusterSource for Store {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            kind: "snapshot",
            name: "store".into(),
        }
    }
    async fn list(&self, kind: &GroupKind, namespace: Option<&str>) -> Result<Vec<Arc<Object>>, ClusterError> {
        let base = self.base.list(kind, namespace).await?;
        let overlay = self.overlay.borrow();
        let mut out: Vec<Arc<Object>> = base.into_iter().filter(|o| !overlay.contains_key(&o.key())).collect();
        out.extend(
            overlay
                .iter()
                .filter(|(k, _)| &k.kind == kind && (namespace.is_none() || k.namespace.as_deref() == namespace))
                .filter_map(|(_, o)| o.clone()),
        );
        out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(out)
    }
    async fn get(
        &self,
        kind: &GroupKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Arc<Object>>, ClusterError> {
        let key = ObjectKey::new(kind, namespace, name);
        Ok(self.current(&key))
    }
    async fn pull_events(&self) -> Result<Arc<Vec<EventRecord>>, ClusterError> {
        self.base.pull_events().await
    }
    async fn has_api_group(&self, group: &str) -> Result<bool, ClusterError> {
        self.base.has_api_group(group).await
    }
}

impl Writer for Store {
    async fn read(&self, target: &crate::desired::Target) -> Result<Option<Arc<Object>>, WriteError> {
        Ok(self.current(&target.key()))
    }
    async fn write(&self, w: &Write, dry_run: bool) -> Result<Option<Object>, WriteError> {
        if let Some(hook) = self.before_write.borrow_mut().take() {
            hook(self);
        }
        self.writes.set(self.writes.get() + 1);
        let key = w.target().key();
        let now = self.current(&key);
        let now_v = now.as_ref().map(|o| o.value().clone());
        if let Write::MergePatch { body, .. } = w
            && body["metadata"]["resourceVersion"]
                != now_v
                    .as_ref()
                    .map_or(Value::Null, |v| v["metadata"]["resourceVersion"].clone())
        {
            return Err(WriteError::Conflict("the object has been modified".into()));
        }
        if let Write::Delete { uid, .. } = w {
            let have = now_v
                .as_ref()
                .and_then(|v| v["metadata"]["uid"].as_str().map(str::to_string));
            if have.as_deref() != Some(uid.as_str()) {
                return Err(WriteError::Conflict("uid precondition failed".into()));
            }
        }
        let after = simulate(w, now_v.as_ref()).map_err(WriteError::Conflict)?;
        if dry_run {
            return Ok(after.map(|v| Object::from_value(v).unwrap()));
        }
        match after {
            Some(v) => Ok(Some(self.put(key, v))),
            None => {
                self.overlay.borrow_mut().insert(key, None);
                Ok(None)
            }
        }
    }
}

fn plan_of(store: &Store, inputs: &Inputs) -> crate::plan::Plan {
    let (rules, _) = crate::load::load(&crate::load::LoadOptions {
        paths: vec![],
        bundled: true,
    });
    let ev = futures::executor::block_on(crate::engine::evaluate(&rules, store, inputs)).unwrap();
    crate::plan::build(&rules, &ev, inputs, &store.info())
}

fn opts() -> Options {
    Options {
        attempts: 3,
        ..Options::default()
    }
}

fn results(r: &Report) -> Vec<(&str, &str, Outcome)> {
    r.actions
        .iter()
        .map(|a| (a.id.as_str(), a.action_type.as_str(), a.result))
        .collect()
}

/// The service account seed 004's fixes write to.
fn certified_operators_sa() -> ObjectKey {
    ObjectKey::new(
        &GroupKind::core("ServiceAccount"),
        Some("openshift-marketplace"),
        "certified-operators",
    )
}

#[test]
fn seed_004_applies_then_a_second_run_writes_nothing() {
    let store = Store::new("seed-004-marketplace");
    let plan = plan_of(&store, &Inputs::default());
    assert_eq!(plan.summary.pending, 9);
    let report = futures::executor::block_on(execute(&plan, &Inputs::default(), &store, &opts()));
    assert!(
        report.actions.iter().all(|a| a.result == Outcome::Applied),
        "{:#?}",
        report.actions
    );
    assert_eq!(report.summary.writes, 9);
    assert_eq!(store.writes.get(), 9);
    assert_eq!(report.exit_code, exit::APPLIED);
    let sa = store.current(&certified_operators_sa()).unwrap();
    let names: Vec<&str> = sa.value()["imagePullSecrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.last(), Some(&"pull-secret"));
    assert!(names.len() > 1, "existing entries kept: {names:?}");
    assert!(
        sa.value()["metadata"]["annotations"][ANNOTATION]
            .as_str()
            .unwrap()
            .contains("pull-secret-not-propagated")
    );

    // Again: the pods are gone (their controllers would recreate them), nothing is pending.
    let again = plan_of(&store, &Inputs::default());
    assert_eq!(again.summary.pending, 0, "{:#?}", again.actions);
    let before = store.writes.get();
    let report = futures::executor::block_on(execute(&again, &Inputs::default(), &store, &opts()));
    assert_eq!(store.writes.get(), before, "a second apply sends no write");
    assert_eq!(report.summary.writes, 0);
    assert_eq!(report.exit_code, exit::NOTHING_TO_DO);
}

#[test]
fn a_concurrent_edit_between_read_and_write_is_kept() {
    let store = Store::new("seed-004-marketplace");
    let plan = plan_of(&store, &Inputs::default());
    let sa_key = certified_operators_sa();
    // Another writer adds an entry to the service account the moment apply first writes.
    let k = sa_key.clone();
    *store.before_write.borrow_mut() = Some(Box::new(move |s: &Store| {
        let mut v = s.current(&k).unwrap().value().clone();
        v["imagePullSecrets"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "theirs"}));
        s.put(k.clone(), v);
    }));
    let report = futures::executor::block_on(execute(&plan, &Inputs::default(), &store, &opts()));
    assert!(
        report.actions.iter().all(|a| a.result == Outcome::Applied),
        "{:#?}",
        report.actions
    );
    let sa = store.current(&sa_key).unwrap();
    let names: Vec<&str> = sa.value()["imagePullSecrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"theirs") && names.contains(&"pull-secret"), "{names:?}");
}

#[test]
fn a_conflict_that_persists_fails_the_action_and_what_depends_on_it_does_not_run() {
    let store = Store::new("seed-004-marketplace");
    let plan = plan_of(&store, &Inputs::default());
    let key = ObjectKey {
        kind: GroupKind::core("Secret"),
        namespace: Some("openshift-marketplace".into()),
        name: "pull-secret".into(),
    };
    // The copied secret appears (from someone else, without the registries) between read and write, every time.
    struct Racing<'a>(&'a Store, ObjectKey);
    impl Writer for Racing<'_> {
        async fn read(&self, t: &crate::desired::Target) -> Result<Option<Arc<Object>>, WriteError> {
            self.0.read(t).await
        }
        async fn write(&self, w: &Write, dry_run: bool) -> Result<Option<Object>, WriteError> {
            if w.target().key() == self.1 {
                self.0.writes.set(self.0.writes.get() + 1);
                return Err(WriteError::Conflict(
                    "Apply failed with 1 conflict: conflict with \"kubectl\"".into(),
                ));
            }
            self.0.write(w, dry_run).await
        }
    }
    let racing = Racing(&store, key);
    let report = futures::executor::block_on(execute(&plan, &Inputs::default(), &racing, &opts()));
    let r = results(&report);
    assert_eq!(r[0], ("a1", "copySecret", Outcome::Failed));
    assert_eq!(report.actions[0].attempts, 3, "bounded retries");
    assert!(
        report.actions[0]
            .error
            .as_deref()
            .unwrap()
            .contains("gave up after 3 attempts")
    );
    // The links name the copy and the restarts follow the links: none of them runs.
    assert!(r[1..].iter().all(|x| x.2 == Outcome::NotRun), "{r:?}");
    assert_eq!(report.actions[1].reason.as_deref(), Some("waits for a1 (failed)"));
    assert!(report.actions[5].reason.as_deref().unwrap().starts_with("waits for a"));
    assert_eq!(
        store.writes.get(),
        3,
        "one write per attempt, nothing after the failure"
    );
    assert_eq!(report.exit_code, exit::FAILED);
}

#[test]
fn an_object_deleted_since_the_plan_is_reported_not_written() {
    let store = Store::new("seed-004-marketplace");
    let plan = plan_of(&store, &Inputs::default());
    let sa = certified_operators_sa();
    store.overlay.borrow_mut().insert(sa, None);
    let report = futures::executor::block_on(execute(&plan, &Inputs::default(), &store, &opts()));
    let a = report
        .actions
        .iter()
        .find(|a| {
            a.target
                .as_ref()
                .is_some_and(|t| t.name == "certified-operators" && t.kind == "ServiceAccount")
        })
        .unwrap();
    assert_eq!(a.result, Outcome::NotRun);
    assert!(a.reason.as_deref().unwrap().contains("does not exist"), "{a:?}");
    assert_eq!(report.exit_code, exit::PARTIAL);
}

#[test]
fn only_dry_run_and_done() {
    let store = Store::new("seed-003-icr-namespace");
    let plan = plan_of(&store, &Inputs::default());
    // Manual a5 blocks nothing here; --only selects no rule of the plan: all skipped.
    let o = Options {
        only: vec!["no-such-rule".into()],
        ..opts()
    };
    let report = futures::executor::block_on(execute(&plan, &Inputs::default(), &store, &o));
    assert!(report.actions.iter().all(|a| a.result == Outcome::Skipped));
    assert_eq!(store.writes.get(), 0);
    // A dry run sends the writes and changes nothing.
    let o = Options {
        dry_run: true,
        ..opts()
    };
    let report = futures::executor::block_on(execute(&plan, &Inputs::default(), &store, &o));
    assert!(report.dry_run);
    assert!(report.summary.applied > 0);
    assert!(store.overlay.borrow().is_empty(), "nothing changed");
    let manual = report.actions.iter().find(|a| a.action_type == "manual").unwrap();
    assert_eq!(manual.result, Outcome::NotRun);
    assert!(manual.reason.as_deref().unwrap().contains("--done"));
    let o = Options {
        done: vec![manual.id.clone()],
        dry_run: true,
        ..opts()
    };
    let report = futures::executor::block_on(execute(&plan, &Inputs::default(), &store, &o));
    let manual = report.actions.iter().find(|a| a.action_type == "manual").unwrap();
    assert_eq!(manual.result, Outcome::AlreadySatisfied);
}

#[test]
fn backups_hold_the_prior_state_and_the_report_names_them() {
    let store = Store::new("seed-004-marketplace");
    let plan = plan_of(&store, &Inputs::default());
    let tmp = tempfile::tempdir().unwrap();
    let o = Options {
        backups: Some(super::super::backup::Backups::create(tmp.path(), "t").unwrap()),
        ..opts()
    };
    let report = futures::executor::block_on(execute(&plan, &Inputs::default(), &store, &o));
    let link = &report.actions[1].writes[0];
    let file = link.backup.as_deref().unwrap();
    let prior: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert!(
        !prior.to_string().contains("\"pull-secret\"}"),
        "the state before the link"
    );
    let copy = &report.actions[0].writes[0];
    assert!(copy.created && copy.backup.is_none());
    assert!(copy.uid.is_some() && copy.resource_version.is_some());
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("dockerconfigjson\":\""), "no secret data in the report");
}

#[test]
fn n_selects_by_the_failures_namespace_and_leaves_other_failing_namespaces_their_own_actions() {
    let store = Store::new("seed-004-marketplace");
    let mut plan = plan_of(&store, &Inputs::default());
    let ns = "openshift-marketplace";
    let all = |plan: &crate::plan::Plan, namespaces: &[&str]| -> Vec<Option<String>> {
        let n: Vec<String> = namespaces.iter().map(|s| s.to_string()).collect();
        let selection = Selection::new(plan, &[], &n);
        plan.actions.iter().map(|a| selection.not_selected(&a)).collect()
    };
    assert!(
        all(&plan, &[ns]).iter().all(Option::is_none),
        "every action fixes a failure there"
    );
    let elsewhere = all(&plan, &["apps"]);
    assert!(
        elsewhere
            .iter()
            .all(|r| r.as_deref() == Some("not selected: it fixes no failure in apps (-n)")),
        "{elsewhere:?}"
    );
    // One finding over two namespaces: -n apps takes none of the actions that write into the
    // other failing namespace.
    let mut extra = plan.findings[0].subjects.get(0).unwrap();
    extra.namespace = "apps".into();
    plan.findings[0].subjects.push(&extra);
    let apps = all(&plan, &["apps"]);
    assert!(
        apps.iter()
            .all(|r| r.as_deref() == Some("not selected: it changes namespace openshift-marketplace, not among -n")),
        "{apps:?}"
    );
    let o = Options {
        namespaces: vec!["apps".into()],
        ..opts()
    };
    let report = futures::executor::block_on(execute(&plan, &Inputs::default(), &store, &o));
    assert!(report.actions.iter().all(|a| a.result == Outcome::Skipped));
    assert_eq!(store.writes.get(), 0);
}
