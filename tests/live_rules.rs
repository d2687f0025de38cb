//! Every bundled rule end to end on the test API: each case of `tests/rules/*.test.yaml` in
//! which its rule fires is seeded into the store and planned through the live backend (the
//! same findings and actions as the snapshot plan of the case), applied (nothing fails), planned
//! again (nothing left to apply), and applied again (no write request).

mod support;

use std::time::Duration;

use remedy::cluster::ClusterSource;
use remedy::diag::Diagnostics;
use remedy::execute::api::KubeWriter;
use remedy::execute::{self, Options, Outcome};
use remedy::plan::{Plan, Status};
use support::fake_api::FakeApi;

fn rules() -> remedy::rules::RuleSet {
    remedy::load::load(&remedy::load::LoadOptions {
        paths: vec![],
        bundled: true,
    })
    .0
}

async fn live_plan(api: &FakeApi, rules: &remedy::rules::RuleSet, inputs: &remedy::inputs::Inputs) -> Plan {
    let live = api.live().await;
    let ev = remedy::engine::evaluate(rules, &live, inputs).await.unwrap();
    remedy::plan::build(rules, &ev, inputs, &live.info())
}

/// What the comparison looks at: findings (rule, subjects) and actions (type, target, status).
fn shape(p: &Plan) -> (Vec<String>, Vec<String>) {
    let findings = p
        .findings
        .iter()
        .map(|f| format!("{} {}", f.rule, serde_json::to_string(&f.subjects).unwrap()))
        .collect();
    let actions = p
        .actions
        .iter()
        .map(|a| {
            format!(
                "{} {} {:?}",
                a.action_type,
                serde_json::to_string(&a.target).unwrap(),
                a.status
            )
        })
        .collect();
    (findings, actions)
}

#[tokio::test]
async fn every_bundled_rule_plans_live_as_from_a_snapshot_applies_and_converges() {
    let rules = rules();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".test.yaml"))
        .collect();
    files.sort();
    let mut fired = std::collections::BTreeSet::new();
    let (mut cases, mut compared) = (0, 0);
    for path in files {
        let mut diags = Diagnostics::default();
        let tf = remedy::ruletest::read_test_file(&path, &mut diags).expect("a rule test file");
        for c in tf.spec.cases.iter().filter(|c| !c.valid) {
            let place = format!("{}: {}", path.display(), c.name);
            let state = remedy::ruletest::case_state(&tf, c).unwrap();
            let ev = remedy::engine::evaluate(&rules, &state.snapshot, &state.inputs)
                .await
                .unwrap();
            let from_snapshot = remedy::plan::build(&rules, &ev, &state.inputs, &state.snapshot.info());
            let mut b = FakeApi::builder();
            for p in &state.paths {
                b = b.snapshot(p);
            }
            let api = b.build().await;
            let first = live_plan(&api, &rules, &state.inputs).await;
            assert_eq!(
                shape(&first),
                shape(&from_snapshot),
                "{place}: live and snapshot plans differ"
            );
            fired.extend(first.findings.iter().map(|f| f.rule.clone()));
            compared += 1;
            if first.summary.pending == 0 {
                continue;
            }

            let mut w = KubeWriter::new(api.client(), Duration::from_secs(5));
            w.backoff = Duration::from_millis(5);
            let opts = Options {
                attempts: 3,
                allow_disruptive: true,
                ..Options::default()
            };
            let report = execute::execute(&first, &state.inputs, &w, &opts).await;
            assert!(
                report.actions.iter().all(|a| a.result != Outcome::Failed),
                "{place}: {:#?}",
                report.actions
            );
            let again = live_plan(&api, &rules, &state.inputs).await;
            assert!(
                again.actions.iter().all(|a| a.status != Status::Pending),
                "{place}: still pending after apply: {:#?}",
                again.actions
            );
            api.clear_log();
            execute::execute(&again, &state.inputs, &w, &opts).await;
            assert_eq!(api.writes(), 0, "{place}: a second apply writes: {:?}", api.log());
            cases += 1;
        }
    }
    println!("{compared} cases planned live, {cases} applied; rules fired: {fired:?}");
    // Every bundled playbook fires live on at least one case, as it does on its snapshot.
    let unfired: Vec<&str> = rules
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !fired.contains(*id))
        .collect();
    // These two fire only on the registry's own TLS verdict (`--probe-registries`, which
    // needs a registry to ask): tests/lab_verdicts.rs covers them against the lab registries.
    assert_eq!(
        unfired,
        [
            "registry-certificate-expired-inferred",
            "registry-certificate-wrong-host-inferred"
        ],
        "every other bundled playbook fires live on one of its cases"
    );
    assert!(cases >= 5, "only {cases} cases had something to apply");
}
