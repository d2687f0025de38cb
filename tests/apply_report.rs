//! Real apply reports validate against the committed `schemas/report.schema.json`, hold no
//! secret value, and say truthfully what happened.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;

use remedy::cluster::{ClusterSource, Object, Snapshot};
use remedy::desired::Target;
use remedy::execute::{self, Options, Outcome, Write, WriteError, Writer, writes::simulate};
use remedy::inputs::Inputs;

/// Reads from a snapshot; accepts every write whose preconditions hold on it; can refuse one kind.
struct Accepting {
    snap: Snapshot,
    refuse: Option<&'static str>,
    writes: Cell<usize>,
}

impl Writer for Accepting {
    async fn read(&self, t: &Target) -> Result<Option<Arc<Object>>, WriteError> {
        let k = t.key();
        Ok(self.snap.get(&k.kind, k.namespace.as_deref(), &k.name).await.unwrap())
    }
    async fn write(&self, w: &Write, _dry_run: bool) -> Result<Option<Object>, WriteError> {
        self.writes.set(self.writes.get() + 1);
        if Some(w.target().kind.as_str()) == self.refuse {
            return Err(WriteError::Forbidden(format!(
                "{} is forbidden: cannot patch resource",
                w.target().display()
            )));
        }
        let now = self.read(w.target()).await?;
        let after = simulate(w, now.as_ref().map(|o| o.value())).map_err(WriteError::Conflict)?;
        Ok(after.map(|mut v| {
            v["metadata"]["resourceVersion"] = "2".into();
            v["metadata"]["uid"] = v["metadata"]["uid"].as_str().unwrap_or("new").into();
            Object::from_value(v).unwrap()
        }))
    }
}

fn report_for(example: &str, refuse: Option<&'static str>) -> (execute::Report, usize) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(example);
    let (snap, diags) = Snapshot::load(&[path]);
    assert!(!diags.has_errors());
    let (rules, _) = remedy::load::load(&remedy::load::LoadOptions {
        paths: vec![],
        bundled: true,
    });
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let inputs = Inputs::default();
    let ev = rt.block_on(remedy::engine::evaluate(&rules, &snap, &inputs)).unwrap();
    let plan = remedy::plan::build(&rules, &ev, &inputs, &snap.info());
    let w = Accepting {
        snap,
        refuse,
        writes: Cell::new(0),
    };
    let opts = Options {
        attempts: 3,
        ..Options::default()
    };
    let report = rt.block_on(execute::execute(&plan, &inputs, &w, &opts));
    (report, w.writes.get())
}

fn schema() -> serde_json::Value {
    let text =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/report.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn reports_of_every_example_validate_against_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    for ex in [
        "healthy",
        "seed-000-global-pull-secret",
        "seed-001-plain-http",
        "seed-002-untrusted-ca",
        "seed-003-icr-namespace",
        "seed-004-marketplace",
    ] {
        let (report, _) = report_for(ex, None);
        let v = serde_json::to_value(&report).unwrap();
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{ex}: {errors:?}");
        for a in v["actions"].as_array().unwrap() {
            for field in [
                "id",
                "type",
                "target",
                "result",
                "reason",
                "error",
                "startedAt",
                "finishedAt",
            ] {
                assert!(a.get(field).is_some(), "{ex}: action without {field}: {a}");
            }
        }
    }
    // A report that is not one fails validation: the schema is not vacuous.
    let bad = serde_json::json!({"actions": [{"id": "a1", "result": "done"}]});
    assert!(!validator.is_valid(&bad));
}

#[test]
fn a_refused_write_is_reported_failed_with_the_servers_words() {
    let (report, writes) = report_for("seed-004-marketplace", Some("ServiceAccount"));
    let failed: Vec<&execute::ActionReport> = report.actions.iter().filter(|a| a.result == Outcome::Failed).collect();
    assert_eq!(failed.len(), 4, "{:#?}", report.actions);
    assert!(
        failed[0].error.as_deref().unwrap().contains("forbidden"),
        "{:?}",
        failed[0].error
    );
    assert_eq!(report.actions[0].result, Outcome::Applied, "the copy went through");
    assert!(report.actions[5..].iter().all(|a| a.result == Outcome::NotRun));
    assert_eq!(report.exit_code, execute::exit::FAILED);
    assert_eq!(writes, 5, "one copy, four refused links, no restart");
    assert_eq!(report.summary.writes, 5);
}

#[test]
fn reports_hold_no_secret_value() {
    let (report, _) = report_for("seed-004-marketplace", None);
    let text = serde_json::to_string(&report).unwrap();
    // The example's pull secret data (base64 of the docker config) and its decoded auth.
    let snap = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/seed-004-marketplace/openshift-config/secrets.yaml"),
    )
    .unwrap();
    let values: Vec<&str> = snap
        .lines()
        .filter(|l| l.contains(".dockerconfigjson:"))
        .map(|l| l.split(':').nth(1).unwrap().trim())
        .collect();
    assert_eq!(values.len(), 1, "the example's pull secret is where this test looks");
    assert!(
        !text.contains(values[0]) && !text.contains(&values[0][..24]),
        "secret data in the report"
    );
    assert!(!text.contains("\"auth\""));
}
