//! `remedy rules ...`: rule examples, overrides, determinism (the corpus is tests/corpus.rs).

mod common;
use common::*;

#[test]
fn match_reads_stdin_one_message_per_line() {
    let r = remedy_stdin(
        &["rules", "match"],
        "x509: certificate signed by unknown authority\n\nsomething else entirely\n",
    );
    let lines: Vec<serde_json::Value> = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "blank lines are skipped");
    assert_eq!(lines[0]["category"], "tls-unknown-ca");
    assert!(
        lines[0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "untrusted-ca-openshift")
    );
    assert_eq!(lines[1]["category"], "other");
    assert_eq!(lines[1]["rules"], serde_json::json!([]));
}

#[test]
fn bundled_rule_examples_pass() {
    let r = remedy(&["rules", "test"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains(" passed, 0 failed"));
}

#[test]
fn a_failing_example_fails_the_rule_test() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "apiVersion: remedy.dev/v1alpha1\nkind: Symptom\nmetadata: {name: teapot, category: other}\nspec:\n  message: {contains: teapot}\n  examples:\n    match: ['I am a teapot', 'I am a kettle']\n    noMatch: ['coffee']\n";
    std::fs::write(dir.path().join("r.yaml"), rule).unwrap();
    let p = dir.path().join("r.yaml").display().to_string();
    let r = remedy(&["rules", "test", "--rules", &p]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("should match: I am a kettle"), "{}", r.stdout);
    assert!(r.stdout.contains("1 failed"));
}

#[test]
fn a_user_rule_overrides_the_bundled_one_with_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    let rule = r#"apiVersion: remedy.dev/v1alpha1
kind: Playbook
metadata:
  name: image-not-found
  title: Our own not-found rule
  category: not-found
spec:
  match: { symptom: image-not-found }
  explain: "ask the release team about {{ failure.image }}"
  actions:
    - manual: { title: "open a ticket for {{ failure.image }}" }
"#;
    std::fs::write(dir.path().join("r.yaml"), rule).unwrap();
    let p = dir.path().join("r.yaml").display().to_string();
    let (_, plan) = plan_json("seed-003-icr-namespace", &["--rules", &p]);
    let f = finding(&plan, "image-not-found");
    assert_eq!(f["title"], "Our own not-found rule");
    assert!(f["explanation"].as_str().unwrap().starts_with("ask the release team"));
    assert_eq!(plan["rules"]["overridden"], serde_json::json!(["image-not-found"]));
    let bundled: usize = remedy(&["rules", "list"])
        .stdout
        .lines()
        .filter(|l| l.starts_with("playbook"))
        .count();
    assert_eq!(
        plan["rules"]["playbooks"].as_u64().unwrap() as usize,
        bundled,
        "replaced, not added"
    );
    // --no-bundled: only the user's rules.
    let (_, plan) = plan_json("seed-003-icr-namespace", &["--rules", &p, "--no-bundled"]);
    assert_eq!(plan["rules"]["playbooks"], 1);
}

#[test]
fn plans_are_byte_identical_across_runs() {
    for ex in ["seed-002-untrusted-ca", "seed-004-marketplace", "seed-001-plain-http"] {
        let path = example(ex);
        for format in ["json", "yaml", "human"] {
            let a = remedy(&["plan", "--snapshot", &path, "-o", format]);
            let b = remedy(&["plan", "--snapshot", &path, "-o", format]);
            assert_eq!(a.stdout, b.stdout, "{ex} -o {format}");
            assert!(!a.stdout.is_empty());
        }
    }
}

#[test]
fn plan_out_writes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let o = out.display().to_string();
    let r = remedy(&[
        "plan",
        "--snapshot",
        &example("seed-004-marketplace"),
        "-o",
        "json",
        "--out",
        &o,
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    let plan: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(plan["kind"], "Plan");
}

/// `--out` must never replace a FIFO with a file (as `/dev/null` must stay a device), and
/// never write through a symlink.
#[test]
fn plan_out_writes_through_fifos_never_through_symlinks() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = example("seed-004-marketplace");
    let plan_to = |out: &std::path::Path| {
        let o = out.display().to_string();
        remedy(&["plan", "--snapshot", &snapshot, "-o", "json", "--out", &o])
    };

    let fifo = dir.path().join("plan.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    assert_eq!(plan_to(&fifo).code, 2);
    // Checked before joining: had the FIFO been replaced, the reader would wait forever.
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    let read = reader.join().unwrap();
    assert!(
        read.contains("\"kind\": \"Plan\""),
        "the reader got the plan: {read:.80}"
    );

    let target = dir.path().join("real.json");
    let link = dir.path().join("link.json");
    std::fs::write(&target, "old").unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(plan_to(&link).code, 2);
    // A link is never followed (it may be planted): it is replaced, its target untouched.
    assert!(
        std::fs::symlink_metadata(&link).unwrap().file_type().is_file(),
        "the link is replaced by the plan file"
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
    assert!(std::fs::read_to_string(&link).unwrap().contains("\"kind\": \"Plan\""));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left: {leftovers:?}");
}

#[test]
fn schema_command_prints_the_committed_schemas() {
    for which in ["playbook", "plan"] {
        let r = remedy(&["rules", "schema", which]);
        let committed = std::fs::read_to_string(root().join(format!("schemas/{which}.schema.json"))).unwrap();
        assert_eq!(r.stdout, committed);
    }
}

#[test]
fn every_diagnostic_code_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/diagnostics.md")).expect("docs/diagnostics.md");
    for code in remedy::diag::Code::ALL {
        assert!(
            doc.contains(&format!("`{}`", code.as_str())),
            "docs/diagnostics.md lacks `{}`",
            code.as_str()
        );
    }
}
