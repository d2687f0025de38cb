//! A 10k-pod, 1,000-namespace cluster reads on one screen or two: findings that share a cause
//! across namespaces are one, a table of categories opens the plan, and every detail is one
//! flag away (`--expand`, `-o wide`); the JSON keeps every subject.

mod common;
use common::*;

fn run_in(dir: &std::path::Path, args: &[&str]) -> Run {
    let out = assert_cmd::Command::cargo_bin("remedy")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_10k_pod_plan_fits_and_expands() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), &["gen-snapshot", "--out", "large.json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let json = run_in(dir.path(), &["plan", "--snapshot", "large.json", "-o", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let findings = plan["findings"].as_array().unwrap();
    let mut categories: Vec<&str> = findings.iter().map(|f| f["category"].as_str().unwrap()).collect();
    categories.sort();
    categories.dedup();
    assert!(categories.len() >= 4, "{categories:?}");
    let subjects: usize = findings.iter().map(|f| f["subjects"].as_array().unwrap().len()).sum();
    assert_eq!(
        subjects as u64,
        plan["summary"]["failingPods"].as_u64().unwrap(),
        "the JSON keeps every subject"
    );

    let human = run_in(dir.path(), &["plan", "--snapshot", "large.json"]);
    assert_eq!(human.code, json.code);
    let lines = human.stdout.lines().count();
    assert!(lines < 150, "{lines} lines:\n{}", human.stdout);
    for c in &categories {
        assert!(
            human.stdout.lines().any(|l| l.starts_with(&format!("  {c} "))),
            "the table names {c}"
        );
        assert!(human.stdout.contains(&format!("✗ {c} · ")), "a finding of {c} is shown");
    }
    assert!(human.stdout.contains("CATEGORY"), "a long plan opens with the table");
    assert!(human.stdout.contains("namespaces"), "grouped across namespaces");
    insta::assert_snapshot!("plan-10k-grouped", human.stdout);

    let expanded = run_in(dir.path(), &["plan", "--snapshot", "large.json", "--expand"]);
    let wide = run_in(dir.path(), &["plan", "--snapshot", "large.json", "-o", "wide"]);
    assert_eq!(expanded.stdout, wide.stdout, "-o wide is --expand");
    assert!(expanded.stdout.lines().count() > 5 * lines, "full detail");
    for f in findings {
        let pod = f["subjects"][0]["name"].as_str().unwrap();
        assert!(expanded.stdout.contains(pod), "--expand names {pod}");
    }
    insta::assert_snapshot!("plan-10k-expanded", expanded.stdout);
}
