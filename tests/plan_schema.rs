//! Real plans satisfy their published schema (`schemas/plan.schema.json`), checked by a JSON
//! Schema validator: every example's plan in JSON and YAML, and the plan of a large generated
//! snapshot.

mod common;
use common::*;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schemas/plan.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the plan schema is a valid JSON Schema")
}

fn assert_valid(v: &jsonschema::Validator, what: &str, plan: &serde_json::Value) {
    let errors: Vec<String> = v
        .iter_errors(plan)
        .take(20)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} breaks the plan schema:\n{}",
        errors.join("\n")
    );
}

fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_example_plan_validates_in_json_and_yaml() {
    let v = validator();
    let names = examples();
    assert!(names.len() >= 6, "{names:?}");
    for ex in names {
        let path = example(&ex);
        let r = remedy(&["plan", "--snapshot", &path, "-o", "json"]);
        assert!(matches!(r.code, 0 | 2 | 3), "{ex}: {}", r.stderr);
        let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_valid(&v, &format!("{ex} -o json"), &plan);
        let r = remedy(&["plan", "--snapshot", &path, "-o", "yaml"]);
        let plan: serde_json::Value = serde_yaml::from_str(&r.stdout).unwrap();
        assert_valid(&v, &format!("{ex} -o yaml"), &plan);
    }
}

/// The validator is not a rubber stamp: a plan with a wrong type in a nullable field fails.
#[test]
fn the_validator_rejects_a_broken_plan() {
    let v = validator();
    let (_, mut plan) = plan_json("seed-004-marketplace", &[]);
    assert_valid(&v, "seed-004", &plan);
    plan["actions"][0]["change"]["diff"] = serde_json::json!(42);
    assert!(v.iter_errors(&plan).next().is_some(), "a numeric diff must fail");
    plan["actions"][0]["change"]["diff"] = serde_json::Value::Null;
    assert_valid(&v, "a null diff", &plan);
    plan["findings"][0].as_object_mut().unwrap().remove("explanation");
    assert!(
        v.iter_errors(&plan).next().is_some(),
        "a missing required field must fail"
    );
}

#[test]
fn the_large_generated_snapshot_plan_validates() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("large.json");
    let s = snap.display().to_string();
    let r = remedy(&["gen-snapshot", "--out", &s, "--pods", "10000", "--events", "20000"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = remedy(&["plan", "--snapshot", &s, "-o", "json"]);
    assert!(matches!(r.code, 2 | 3), "{}", r.stderr);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(plan["findings"].as_array().unwrap().len() > 50, "a large plan");
    assert_valid(&validator(), "the 10k-pod plan", &plan);
}
