//! `execute` through the `kube` client against the stateful test API: every example applied,
//! re-planned (everything satisfied) and applied again with zero write requests; and each
//! injected fault gives a truthful report, no half-written object, and a re-run that converges.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use remedy::cluster::{ClusterSource, EventRecord, Object, Snapshot};
use remedy::desired::Target;
use remedy::execute::api::KubeWriter;
use remedy::execute::{self, Options, Outcome, Report, Write, WriteError, Writer, exit};
use remedy::inputs::Inputs;
use remedy::plan::{Plan, Status};
use serde_json::{Value, json};
use support::fake_api::{Builder, FakeApi, Fault};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

async fn api_for(name: &str) -> FakeApi {
    let b = Builder::default().snapshot(example(name));
    // Seed 003 is IBM Cloud Kubernetes; the others are OpenShift.
    let b = if name.contains("003") || name == "healthy" {
        b
    } else {
        b.openshift()
    };
    b.build().await
}

/// The test API's state as a snapshot: what a plan reads.
async fn state(api: &FakeApi) -> Snapshot {
    let mut objects = Vec::new();
    let mut events = Vec::new();
    for v in api.all_objects().await {
        if v["kind"] == "Event" {
            if let Ok(e) = EventRecord::from_value(&v)
                && e.is_about_image_pull()
            {
                events.push(e);
            }
        } else if let Ok(o) = Object::from_value(v) {
            objects.push(o);
        }
    }
    Snapshot::from_parts("test API".into(), objects, events)
}

fn rules() -> remedy::rules::RuleSet {
    remedy::load::load(&remedy::load::LoadOptions {
        paths: vec![],
        bundled: true,
    })
    .0
}

async fn plan(api: &FakeApi, inputs: &Inputs) -> Plan {
    let snap = state(api).await;
    let rules = rules();
    let ev = remedy::engine::evaluate(&rules, &snap, inputs).await.unwrap();
    remedy::plan::build(&rules, &ev, inputs, &snap.info())
}

fn writer(api: &FakeApi) -> KubeWriter {
    let mut w = KubeWriter::new(api.client(), Duration::from_secs(2));
    w.backoff = Duration::from_millis(5);
    w
}

fn opts() -> Options {
    Options {
        attempts: 3,
        allow_disruptive: true,
        ..Options::default()
    }
}

fn inputs_for(name: &str) -> Inputs {
    let mut inputs = Inputs::default();
    if name.contains("000") {
        inputs.insert(
            "registry_auth",
            r#"{"auths":{"registry.oss2.fu.igotit.co.kr:5000":{"auth":"dXNlcjpQTEFOVEVELVNFQ1JFVC14"}}}"#,
            "auth.json",
        );
    }
    inputs
}

fn results(r: &Report) -> Vec<(String, Outcome)> {
    r.actions.iter().map(|a| (a.id.clone(), a.result)).collect()
}

#[tokio::test]
async fn every_example_applies_converges_and_a_second_apply_writes_nothing() {
    for name in [
        "healthy",
        "seed-000-global-pull-secret",
        "seed-001-plain-http",
        "seed-002-untrusted-ca",
        "seed-003-icr-namespace",
        "seed-004-marketplace",
    ] {
        let api = api_for(name).await;
        let inputs = inputs_for(name);
        let first = plan(&api, &inputs).await;
        // The API holds what the snapshot holds: the same actions with the same statuses.
        let (snap, _) = Snapshot::load(&[example(name)]);
        let rules = rules();
        let ev = remedy::engine::evaluate(&rules, &snap, &inputs).await.unwrap();
        let from_snapshot = remedy::plan::build(&rules, &ev, &inputs, &snap.info());
        let summary = |p: &Plan| {
            p.actions
                .iter()
                .map(|a| (a.id.clone(), a.action_type.clone(), a.status))
                .collect::<Vec<_>>()
        };
        assert_eq!(summary(&first), summary(&from_snapshot), "{name}");

        let pending = first.summary.pending;
        api.clear_log();
        let report = execute::execute(&first, &inputs, &writer(&api), &opts()).await;
        assert!(
            report.actions.iter().all(|a| a.result != Outcome::Failed),
            "{name}: {:#?}",
            report.actions
        );
        let applied = report.actions.iter().filter(|a| a.result == Outcome::Applied).count();
        assert_eq!(
            applied,
            pending,
            "{name}: every pending action applied: {:?}",
            results(&report)
        );
        assert_eq!(
            api.writes(),
            report.summary.writes,
            "{name}: the report counts what was sent"
        );

        let again = plan(&api, &inputs).await;
        assert_eq!(again.summary.pending, 0, "{name}: {:#?}", again.actions);
        api.clear_log();
        let second = execute::execute(&again, &inputs, &writer(&api), &opts()).await;
        assert_eq!(
            api.writes(),
            0,
            "{name}: a second apply sends no write: {:?}",
            api.log()
        );
        assert_eq!(second.summary.writes, 0);
        assert!(second.actions.iter().all(|a| a.result != Outcome::Applied), "{name}");
        assert_ne!(second.exit_code, exit::APPLIED, "{name}");
        assert_ne!(second.exit_code, exit::FAILED, "{name}");
    }
}

const NS: &str = "openshift-marketplace";

fn sa_path(name: &str) -> String {
    format!("/api/v1/namespaces/{NS}/serviceaccounts/{name}")
}

async fn pull_secret_names(api: &FakeApi, sa: &str) -> Vec<String> {
    let v = api.get("v1", "ServiceAccount", Some(NS), sa).await.unwrap();
    v["imagePullSecrets"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Re-plan and apply until nothing is pending: converges in one more run.
async fn converges(api: &FakeApi) {
    let p = plan(api, &Inputs::default()).await;
    let r = execute::execute(&p, &Inputs::default(), &writer(api), &opts()).await;
    assert!(
        r.actions.iter().all(|a| a.result != Outcome::Failed),
        "{:#?}",
        r.actions
    );
    let after = plan(api, &Inputs::default()).await;
    assert_eq!(after.summary.pending, 0, "{:#?}", after.actions);
}

#[tokio::test]
async fn a_409_is_re_read_and_retried() {
    let api = api_for("seed-004-marketplace").await;
    let p = plan(&api, &Inputs::default()).await;
    api.fault(Fault::on("PATCH", &sa_path("certified-operators")).status(409));
    let r = execute::execute(&p, &Inputs::default(), &writer(&api), &opts()).await;
    let a = r
        .actions
        .iter()
        .find(|a| a.target.as_ref().is_some_and(|t| t.name == "certified-operators"))
        .unwrap();
    assert_eq!(a.result, Outcome::Applied);
    assert_eq!(a.attempts, 2);
    assert_eq!(r.exit_code, exit::APPLIED);
    assert_eq!(
        pull_secret_names(&api, "certified-operators")
            .await
            .iter()
            .filter(|n| *n == "pull-secret")
            .count(),
        1
    );
}

/// Another writer's edit lands between apply's read and its write.
struct Racing<'a> {
    inner: KubeWriter,
    api: &'a FakeApi,
    done: std::cell::Cell<bool>,
}

impl Writer for Racing<'_> {
    async fn read(&self, t: &Target) -> Result<Option<std::sync::Arc<Object>>, WriteError> {
        self.inner.read(t).await
    }
    async fn write(&self, w: &Write, dry_run: bool) -> Result<Option<Object>, WriteError> {
        if w.target().kind == "ServiceAccount" && !self.done.replace(true) {
            let mut sa = self
                .api
                .get("v1", "ServiceAccount", Some(NS), &w.target().name)
                .await
                .unwrap();
            sa["imagePullSecrets"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "theirs"}));
            self.api.put(sa).await.unwrap();
        }
        self.inner.write(w, dry_run).await
    }
}

#[tokio::test]
async fn a_concurrent_edit_between_read_and_write_is_never_lost() {
    let api = api_for("seed-004-marketplace").await;
    let p = plan(&api, &Inputs::default()).await;
    let racing = Racing {
        inner: writer(&api),
        api: &api,
        done: false.into(),
    };
    let r = execute::execute(&p, &Inputs::default(), &racing, &opts()).await;
    assert!(
        r.actions.iter().all(|a| a.result == Outcome::Applied),
        "{:#?}",
        r.actions
    );
    let raced = r.actions.iter().find(|a| a.action_type == "linkPullSecret").unwrap();
    assert_eq!(raced.attempts, 2, "the failed `test` made apply re-read");
    let sa = raced.target.as_ref().unwrap().name.clone();
    let names = pull_secret_names(&api, &sa).await;
    assert!(
        names.contains(&"theirs".to_string()) && names.contains(&"pull-secret".to_string()),
        "{names:?}"
    );
    let failed_tests = api
        .log()
        .iter()
        .filter(|l| l.verb == "patch" && l.status == 422)
        .count();
    assert_eq!(failed_tests, 1, "{:?}", api.log());
}

#[tokio::test]
async fn a_403_on_write_fails_those_actions_truthfully_and_a_re_run_converges() {
    let api = api_for("seed-004-marketplace").await;
    let p = plan(&api, &Inputs::default()).await;
    api.forbid("patch", "", "serviceaccounts", None);
    let r = execute::execute(&p, &Inputs::default(), &writer(&api), &opts()).await;
    let links: Vec<_> = r.actions.iter().filter(|a| a.action_type == "linkPullSecret").collect();
    assert!(links.iter().all(|a| a.result == Outcome::Failed), "{:#?}", r.actions);
    assert!(
        links[0].error.as_deref().unwrap().contains("forbidden"),
        "{:?}",
        links[0].error
    );
    assert_eq!(r.actions[0].result, Outcome::Applied, "the copy is not affected");
    assert!(
        r.actions
            .iter()
            .filter(|a| a.action_type == "restartPod")
            .all(|a| a.result == Outcome::NotRun)
    );
    assert_eq!(r.exit_code, exit::FAILED);
    // Nothing half-written: the service accounts are as they were.
    assert!(
        !pull_secret_names(&api, "certified-operators")
            .await
            .contains(&"pull-secret".to_string())
    );
    // With the permission back (a new API with the same objects), a re-run converges.
    let fresh = Builder::default()
        .openshift()
        .objects(api.all_objects().await)
        .build()
        .await;
    converges(&fresh).await;
}

#[tokio::test]
async fn a_403_on_read_fails_the_action_with_what_it_needs() {
    let api = api_for("seed-004-marketplace").await;
    let p = plan(&api, &Inputs::default()).await;
    api.forbid("get", "", "secrets", Some("openshift-config"));
    let r = execute::execute(&p, &Inputs::default(), &writer(&api), &opts()).await;
    assert_eq!(r.actions[0].result, Outcome::Failed);
    let e = r.actions[0].error.as_deref().unwrap();
    assert!(
        e.contains("reading Secret openshift-config/pull-secret") && e.contains("forbidden"),
        "{e}"
    );
    assert_eq!(
        api.log()
            .iter()
            .filter(|l| l.is_write() && l.path.contains("/secrets"))
            .count(),
        0
    );
}

#[tokio::test]
async fn an_object_deleted_between_plan_and_apply_is_not_recreated() {
    let api = api_for("seed-004-marketplace").await;
    let p = plan(&api, &Inputs::default()).await;
    assert!(
        api.delete("v1", "ServiceAccount", Some(NS), "certified-operators")
            .await
    );
    let r = execute::execute(&p, &Inputs::default(), &writer(&api), &opts()).await;
    let a = r
        .actions
        .iter()
        .find(|a| a.target.as_ref().is_some_and(|t| t.name == "certified-operators"))
        .unwrap();
    assert_eq!(a.result, Outcome::NotRun);
    assert!(a.reason.as_deref().unwrap().contains("does not exist"), "{a:?}");
    assert!(
        api.get("v1", "ServiceAccount", Some(NS), "certified-operators")
            .await
            .is_none()
    );
    assert_eq!(r.exit_code, exit::PARTIAL);
}

#[tokio::test]
async fn transient_5xx_slow_answers_and_a_dropped_connection_are_retried() {
    let api = api_for("seed-004-marketplace").await;
    let p = plan(&api, &Inputs::default()).await;
    api.fault(Fault::on("PATCH", &sa_path("certified-operators")).status(500));
    api.fault(Fault::on("PATCH", &sa_path("community-operators")).status(503).times(2));
    api.fault(Fault::on("PATCH", &sa_path("redhat-marketplace")).delay(Duration::from_secs(5)));
    api.fault(Fault::on("PATCH", &sa_path("redhat-operators")).close());
    let mut w = writer(&api);
    w.request_timeout = Duration::from_millis(300);
    let r = execute::execute(&p, &Inputs::default(), &w, &opts()).await;
    assert!(
        r.actions.iter().all(|a| a.result == Outcome::Applied),
        "{:#?}",
        r.actions
    );
    for sa in [
        "certified-operators",
        "community-operators",
        "redhat-marketplace",
        "redhat-operators",
    ] {
        let names = pull_secret_names(&api, sa).await;
        assert_eq!(
            names.iter().filter(|n| *n == "pull-secret").count(),
            1,
            "{sa}: once, even after retries: {names:?}"
        );
    }
}

#[tokio::test]
async fn a_failure_halfway_leaves_the_rest_truthful_and_a_re_run_converges() {
    let api = api_for("seed-004-marketplace").await;
    let p = plan(&api, &Inputs::default()).await;
    api.fault(Fault::on("PATCH", &sa_path("redhat-marketplace")).status(503).always());
    let mut w = writer(&api);
    w.attempts = 2;
    let r = execute::execute(&p, &Inputs::default(), &w, &opts()).await;
    let by_name = |n: &str, ty: &str| {
        r.actions
            .iter()
            .find(|a| a.action_type == ty && a.target.as_ref().is_some_and(|t| t.name.starts_with(n)))
            .unwrap()
            .clone()
    };
    let failed = by_name("redhat-marketplace", "linkPullSecret");
    assert_eq!(failed.result, Outcome::Failed);
    assert!(failed.error.as_deref().unwrap().contains("503"), "{:?}", failed.error);
    assert_eq!(
        by_name("certified-operators", "linkPullSecret").result,
        Outcome::Applied
    );
    assert_eq!(r.exit_code, exit::FAILED);
    assert_eq!(r.summary.failed, 1);
    assert!(r.summary.applied >= 4, "{:?}", r.summary);
    assert!(
        !pull_secret_names(&api, "redhat-marketplace")
            .await
            .contains(&"pull-secret".to_string())
    );
    api.clear_faults();
    converges(&api).await;
}

#[tokio::test]
async fn a_dry_run_sends_every_write_with_dry_run_and_changes_nothing() {
    let api = api_for("seed-004-marketplace").await;
    let p = plan(&api, &Inputs::default()).await;
    let before = api.all_objects().await;
    api.clear_log();
    let o = Options {
        dry_run: true,
        ..opts()
    };
    let r = execute::execute(&p, &Inputs::default(), &writer(&api), &o).await;
    assert!(r.dry_run);
    assert_eq!(r.summary.applied, 9, "{:#?}", r.actions);
    let writes: Vec<_> = api.log().into_iter().filter(|l| l.is_write()).collect();
    assert_eq!(writes.len(), 9);
    assert!(writes.iter().all(|l| l.dry_run), "{writes:?}");
    let strip = |v: Vec<Value>| {
        let mut v: Vec<String> = v.iter().map(|o| o.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(strip(api.all_objects().await), strip(before), "nothing changed");
    assert_eq!(p.actions.iter().filter(|a| a.status == Status::Pending).count(), 9);
}

#[tokio::test]
async fn undo_restores_what_apply_changed_unless_it_changed_again() {
    let api = api_for("seed-004-marketplace").await;
    let before_links = pull_secret_names(&api, "community-operators").await;
    let p = plan(&api, &Inputs::default()).await;
    let tmp = tempfile::tempdir().unwrap();
    let o = Options {
        backups: Some(execute::backup::Backups::create(tmp.path(), "t").unwrap()),
        ..opts()
    };
    let report = execute::execute(&p, &Inputs::default(), &writer(&api), &o).await;
    assert_eq!(report.summary.applied, 9);
    // Someone edits one service account after the apply: undo must leave it.
    let mut sa = api
        .get("v1", "ServiceAccount", Some(NS), "redhat-operators")
        .await
        .unwrap();
    sa["metadata"]["labels"] = json!({"edited": "yes"});
    api.put(sa).await.unwrap();

    let undone = execute::undo::undo(&report, &writer(&api)).await.unwrap();
    let of = |t: &str| undone.iter().find(|u| u.target == t).unwrap().clone();
    assert_eq!(of("Secret openshift-marketplace/pull-secret").result, "deleted");
    assert!(api.get("v1", "Secret", Some(NS), "pull-secret").await.is_none());
    assert_eq!(
        of("ServiceAccount openshift-marketplace/community-operators").result,
        "restored"
    );
    assert_eq!(pull_secret_names(&api, "community-operators").await, before_links);
    let left = of("ServiceAccount openshift-marketplace/redhat-operators");
    assert_eq!(left.result, "left");
    assert!(left.reason.as_deref().unwrap().contains("changed since"), "{left:?}");
    assert!(
        pull_secret_names(&api, "redhat-operators")
            .await
            .contains(&"pull-secret".to_string())
    );
    assert!(
        undone
            .iter()
            .filter(|u| u.target.starts_with("Pod "))
            .all(|u| u.result == "left")
    );
}

/// What a controller does after a restart: a new pod with the same owner. `status` is its
/// first container's state.
fn replacement(old: &Value, name: &str, container: &str, state: Value) -> Value {
    let mut p = old.clone();
    let m = p["metadata"].as_object_mut().unwrap();
    m.insert("name".into(), json!(name));
    m.remove("uid");
    m.remove("resourceVersion");
    p["status"] = json!({"phase": "Pending", "initContainerStatuses": [{"name": container, "state": state, "imageID": "", "image": "", "ready": false, "restartCount": 0}]});
    p
}

/// The container of a finding's subject (for catalog pods, the init container that pulls the index).
fn container_of(p: &Plan, pod: &str) -> String {
    p.findings[0]
        .subjects
        .iter()
        .find(|s| &*s.name == pod)
        .unwrap()
        .container
        .as_deref()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn wait_reads_replacements_through_their_owner() {
    let api = api_for("seed-004-marketplace").await;
    let p = plan(&api, &Inputs::default()).await;
    let w = writer(&api);
    let before = execute::verify::pods_before(&p, &w).await;
    assert_eq!(before.len(), 4);
    let report = execute::execute(&p, &Inputs::default(), &w, &opts()).await;
    assert_eq!(report.summary.applied, 9);
    // The catalog pods are gone; OLM makes new ones: three pull, one still fails.
    for (i, ((_, name), old)) in before.iter().enumerate() {
        let state = if i == 0 {
            json!({"waiting": {"reason": "ErrImagePull", "message": "manifest unknown: the next cause"}})
        } else {
            json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}})
        };
        api.create(replacement(
            old.value(),
            &format!("{name}-new"),
            &container_of(&p, name),
            state,
        ))
        .await
        .unwrap();
    }
    let listed = w.pods(NS).await.unwrap();
    let new: Vec<&std::sync::Arc<Object>> = listed.iter().filter(|p| p.name.ends_with("-new")).collect();
    assert_eq!(
        new.len(),
        4,
        "{:?}",
        listed.iter().map(|p| p.name.clone()).collect::<Vec<_>>()
    );
    assert!(
        new[0].field("status.initContainerStatuses").is_some(),
        "the store keeps the status: {}",
        new[0].raw()
    );
    let mut lines = Vec::new();
    let found = execute::verify::wait(
        &p,
        &before,
        &w,
        Duration::from_millis(200),
        Duration::from_millis(50),
        &mut |l| lines.push(l.to_string()),
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].verification, execute::Verification::StillFailing);
    assert_eq!(found[0].message.as_deref(), Some("manifest unknown: the next cause"));
    assert!(
        !lines.is_empty() && lines[0].contains("0/1 findings fixed"),
        "{lines:?}"
    );
    // The failing one recovers: fixed.
    let first = before.keys().next().unwrap().1.clone();
    api.delete("v1", "Pod", Some(NS), &format!("{first}-new")).await;
    let old = before.values().next().unwrap();
    api.create(replacement(
        old.value(),
        &format!("{first}-newer"),
        &container_of(&p, &first),
        json!({"running": {}}),
    ))
    .await
    .unwrap();
    let found = execute::verify::wait(
        &p,
        &before,
        &w,
        Duration::from_secs(2),
        Duration::from_millis(50),
        &mut |_| {},
    )
    .await;
    assert_eq!(found[0].verification, execute::Verification::Fixed);
}

#[tokio::test]
async fn disruptive_actions_are_skipped_by_policy_unless_allowed() {
    // Seed 000 on OpenShift 4.6: merging into the global pull secret rolls out to the nodes.
    let api = api_for("seed-000-global-pull-secret").await;
    let inputs = inputs_for("seed-000-global-pull-secret");
    let p = plan(&api, &inputs).await;
    let first = p.actions.get(0).unwrap();
    assert!(first.disruptive, "{first:#?}");
    api.clear_log();
    let o = Options {
        allow_disruptive: false,
        ..opts()
    };
    let r = execute::execute(&p, &inputs, &writer(&api), &o).await;
    assert_eq!(r.actions[0].result, Outcome::Skipped);
    assert!(
        r.actions[0].reason.as_deref().unwrap().contains("--allow-disruptive"),
        "{:?}",
        r.actions[0]
    );
    assert!(
        r.actions[1..].iter().all(|a| a.result == Outcome::NotRun),
        "{:#?}",
        r.actions
    );
    assert_eq!(api.writes(), 0);
    assert_eq!(r.exit_code, exit::PARTIAL);
    let r = execute::execute(&p, &inputs, &writer(&api), &opts()).await;
    assert!(
        r.actions.iter().all(|a| a.result == Outcome::Applied),
        "{:#?}",
        r.actions
    );
}
