//! Rule tests as data (`remedy rules test`): the bundled rules' tests pass, every bundled
//! playbook has one, and failures, recorded plans, filters and schemas behave as documented.

mod common;
use std::path::PathBuf;

use common::*;
use remedy::diag::Diagnostics;
use remedy::ruletest::{self, Options, Verdict};

fn bundled_report() -> ruletest::Report {
    let mut diags = Diagnostics::default();
    let report = ruletest::run(
        &Options {
            paths: vec![root().join("tests/rules")],
            ..Options::default()
        },
        &mut diags,
    );
    assert!(!diags.has_errors(), "{:?}", diags.into_sorted());
    report
}

#[test]
fn the_bundled_rules_pass_their_tests() {
    let report = bundled_report();
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Passed)
        .map(|c| {
            format!(
                "{}: {}: {:?}\n{}",
                c.place(),
                c.case,
                c.problems,
                c.diff.clone().unwrap_or_default()
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "failing rule tests (if a plan change is intended: `remedy rules test tests/rules --accept`):\n{}",
        failed.join("\n")
    );
    assert!(
        report.files >= 5 && report.cases.len() >= 40,
        "{} cases",
        report.cases.len()
    );
}

#[test]
fn every_bundled_playbook_has_a_case_where_it_fires() {
    let report = bundled_report();
    let (rules, _) = remedy::load::load(&remedy::load::LoadOptions {
        paths: vec![],
        bundled: true,
    });
    let mut diags = Diagnostics::default();
    let (tests, _) = ruletest::discover(&[root().join("tests/rules")], &mut diags);
    let mut firing = std::collections::BTreeSet::new();
    for t in &tests {
        let tf = ruletest::read_test_file(t, &mut diags).expect("test file reads");
        for c in &tf.spec.cases {
            if let Some(r) = c.rule.as_ref().or(tf.spec.rule.as_ref())
                && !c.valid
            {
                firing.insert(r.clone());
            }
        }
    }
    let missing: Vec<&str> = rules
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !firing.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "bundled playbooks without a firing rule test: {missing:?}"
    );
    assert!(
        report.cases.iter().any(|c| c.case.contains("does not fire")),
        "valid cases exist"
    );
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const DNS: &str = "failed to do request: Head \"https://reg.invalid/v2/a/manifests/1\": dial tcp: lookup reg.invalid on 10.96.0.10:53: no such host";

#[test]
fn a_failing_case_names_its_file_line_and_case_with_expected_and_actual() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "apiVersion: remedy.dev/v1alpha1\nkind: RuleTest\nmetadata: {{name: t}}\nspec:\n  rule: registry-dns-failure\n  cases:\n    - name: fires\n      message: '{DNS}'\n      expect:\n        findings: [{{rule: registry-dns-failure, category: dns, subjects: [default/test-pod]}}]\n    - name: wrong status\n      message: '{DNS}'\n      expect:\n        actions: [{{type: manual, status: pending}}]\n"
    );
    let file = write(dir.path(), "dns.test.yaml", &text);
    let r = remedy(&["rules", "test", &file.display().to_string()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let place = format!("{}:11: case `wrong status`", file.display());
    assert!(r.stdout.contains(&place), "{}", r.stdout);
    assert!(
        !r.stdout.contains("case `fires`"),
        "the passing case is quiet: {}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("expected, not in the plan: {\"type\":\"manual\",\"status\":\"pending\"}"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("in the plan, not expected: {\"type\":\"manual\",\"status\":\"manual\"}"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("1 failed"), "{}", r.stdout);
    // A valid case fails when the rule fires, and says what fired.
    let valid = text.replace(
        "      expect:\n        actions: [{type: manual, status: pending}]\n",
        "      valid: true\n",
    );
    write(dir.path(), "dns.test.yaml", &valid);
    let r = remedy(&["rules", "test", &file.display().to_string()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("`registry-dns-failure` must not fire (valid case)"),
        "{}",
        r.stdout
    );
}

#[test]
fn recorded_plans_show_a_diff_and_change_only_with_accept() {
    let dir = tempfile::tempdir().unwrap();
    let case = |msg: &str| {
        format!(
            "apiVersion: remedy.dev/v1alpha1\nkind: RuleTest\nmetadata: {{name: t}}\nspec:\n  cases:\n    - name: Whole plan\n      message: '{msg}'\n      recordPlan: true\n"
        )
    };
    let file = write(dir.path(), "rec.test.yaml", &case(DNS));
    let f = file.display().to_string();
    let r = remedy(&["rules", "test", &f]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("no recorded plan at") && r.stdout.contains("--accept"),
        "{}",
        r.stdout
    );
    let recorded = dir.path().join("__snapshots__/rec/whole-plan.yaml");
    assert!(!recorded.exists(), "nothing is written without --accept");
    let r = remedy(&["rules", "test", &f, "--accept"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("plan recorded"));
    let first = std::fs::read_to_string(&recorded).unwrap();
    assert!(first.contains("rule: registry-dns-failure"), "{first}");
    assert_eq!(remedy(&["rules", "test", &f]).code, 0, "unchanged plan passes");
    // Another failure: the plan changes; the diff shows both sides, the file stays.
    write(
        dir.path(),
        "rec.test.yaml",
        &case("Error response from daemon: toomanyrequests: Rate exceeded"),
    );
    let r = remedy(&["rules", "test", &f]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("the plan differs from the one recorded"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("-  rule: registry-dns-failure"), "{}", r.stdout);
    assert!(r.stdout.contains("+  rule: registry-rate-limited"), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(&recorded).unwrap(), first);
    assert_eq!(remedy(&["rules", "test", &f, "--accept"]).code, 0);
    assert!(
        std::fs::read_to_string(&recorded)
            .unwrap()
            .contains("rule: registry-rate-limited")
    );
}

#[test]
fn json_output_and_the_rule_filter() {
    let dir = root().join("tests/rules").display().to_string();
    let r = remedy(&["rules", "test", &dir, "--rule", "image-not-found", "-o", "json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    assert!(cases.iter().all(|c| c["verdict"] == "passed"), "{cases:#?}");
    let all = bundled_report().cases.len();
    assert!(cases.len() < all, "the filter selects: {} of {all}", cases.len());
    assert!(cases.iter().any(|c| c["rule"] == "image-not-found"));
    assert!(cases[0]["file"].as_str().unwrap().ends_with(".test.yaml") && cases[0]["line"].is_u64());
    assert_eq!(v["failed"], 0);
}

#[test]
fn a_malformed_test_file_is_a_diagnostic_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.test.yaml",
        "apiVersion: remedy.dev/v1alpha1\nkind: RuleTest\nmetadata: {name: t}\nspec:\n  cases:\n    - name: x\n      mesage: hi\n",
    );
    let r = remedy(&["rules", "test", &file.display().to_string()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("bad.test.yaml:7"), "{}", r.stderr);
    assert!(r.stderr.contains("mesage"), "{}", r.stderr);
}

#[test]
fn the_test_schema_is_current_and_every_rule_test_validates() {
    let path = root().join("schemas/test.schema.json");
    let generated = ruletest::spec::schema();
    if std::env::var_os("REMEDY_UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        generated,
        "schemas/test.schema.json is out of date: REMEDY_UPDATE_SCHEMAS=1 cargo test --test rule_tests"
    );
    let schema: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let mut diags = Diagnostics::default();
    let (tests, _) = ruletest::discover(&[root().join("tests/rules")], &mut diags);
    assert!(tests.len() >= 5);
    for t in tests {
        let text = std::fs::read_to_string(&t).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../../schemas/test.schema.json"),
            "{}",
            t.display()
        );
        let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", t.display());
    }
    // It rejects what the loader rejects.
    let bad: serde_json::Value = serde_json::json!({"apiVersion": "remedy.dev/v1alpha1", "kind": "RuleTest",
        "metadata": {"name": "x"}, "spec": {"cases": [{"name": "c", "mesage": "m"}]}});
    assert!(!v.is_valid(&bad));
}

#[test]
fn every_bundled_rule_file_validates_against_the_playbook_schema() {
    let schema: serde_json::Value = serde_json::from_str(&remedy::schema::playbook_schema()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let mut n = 0;
    for (name, text) in remedy::load::BUNDLED {
        assert!(
            text.starts_with("# yaml-language-server: $schema=../../schemas/playbook.schema.json"),
            "{name} carries the modeline"
        );
        for doc in serde_yaml::Deserializer::from_str(text) {
            let doc: serde_json::Value = serde::Deserialize::deserialize(doc).unwrap();
            let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{name}: {errors:?}");
            n += 1;
        }
    }
    assert!(n >= 40, "{n} documents");
}
