//! The real binary against the test API over HTTP, as a pipeline runs it:
//! `remedy plan --kubeconfig K -o json --out plan.json`, `remedy apply plan.json --yes`,
//! confirmation, drift, dry runs, the report, and the shell step of docs/pipelines.md.

mod common;
mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::fake_api::Builder;
use support::fake_api::http::{HttpFront, TOKEN};

fn front(example: &str) -> HttpFront {
    let objects = support::fake_api::seed::load(&common::root().join("examples").join(example)).unwrap();
    HttpFront::start(Builder::default().objects(objects).token(TOKEN).openshift())
}

fn k(front: &HttpFront) -> String {
    front.kubeconfig().display().to_string()
}

fn run(args: &[&str]) -> common::Run {
    common::remedy(args)
}

fn sa_secrets(front: &HttpFront, name: &str) -> Vec<String> {
    let v = front
        .block_on(
            front
                .api
                .get("v1", "ServiceAccount", Some("openshift-marketplace"), name),
        )
        .unwrap();
    v["imagePullSecrets"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn saved_plan_applied_then_nothing_left_and_a_second_apply_writes_nothing() {
    let f = front("seed-004-marketplace");
    let dir = f.dir();
    let plan = dir.join("plan.json").display().to_string();
    let report = dir.join("report.json");
    let backups = dir.join("backups");
    let r = run(&["plan", "--kubeconfig", &k(&f), "-o", "json", "--out", &plan]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let objects = saved["objects"].as_array().unwrap();
    assert!(
        objects
            .iter()
            .all(|o| o["exists"] == false || o["resourceVersion"].is_string()),
        "{objects:?}"
    );
    assert!(
        objects
            .iter()
            .any(|o| o["writtenBy"].as_array().is_some_and(|w| !w.is_empty()))
    );

    f.api.clear_log();
    let r = run(&[
        "apply",
        &plan,
        "--kubeconfig",
        &k(&f),
        "--yes",
        "--report",
        &report.display().to_string(),
        "--backup-dir",
        &backups.display().to_string(),
    ]);
    assert_eq!(r.code, 2, "all applied: {}\n{}", r.stdout, r.stderr);
    assert_eq!(f.api.writes(), 9, "{:?}", f.api.log());
    assert!(r.stdout.contains("9 actions: 9 applied"), "{}", r.stdout);
    assert!(sa_secrets(&f, "certified-operators").contains(&"pull-secret".to_string()));
    let rep_text = std::fs::read_to_string(&report).unwrap();
    // No secret value anywhere but in the backups: not the planted marker, not the data.
    let secret = f
        .block_on(f.api.get("v1", "Secret", Some("openshift-config"), "pull-secret"))
        .unwrap();
    let data = secret["data"][".dockerconfigjson"].as_str().unwrap().to_string();
    for text in [&rep_text, &r.stdout, &r.stderr] {
        assert!(
            !text.contains("PLANTED-SECRET") && !text.contains(&data[..40]),
            "a secret leaked"
        );
    }
    let rep: Value = serde_json::from_str(&rep_text).unwrap();
    assert_eq!(rep["exitCode"], 2);
    assert_eq!(rep["summary"]["writes"], 9);
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(common::root().join("schemas/report.schema.json")).unwrap())
            .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(&rep).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    // Backups: a private directory, private files, the prior state of each patched object.
    use std::os::unix::fs::PermissionsExt;
    let run_dir = std::fs::read_dir(&backups).unwrap().next().unwrap().unwrap().path();
    assert_eq!(std::fs::metadata(&run_dir).unwrap().permissions().mode() & 0o777, 0o700);
    let files: Vec<_> = std::fs::read_dir(&run_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 8, "4 service accounts and 4 pods: {files:?}");
    for file in &files {
        assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // The pods were deleted (their controllers would recreate them): nothing is failing now.
    let r = run(&["plan", "--kubeconfig", &k(&f), "-o", "json"]);
    let again: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(again["summary"]["pending"], 0, "{}", r.stdout);
    f.api.clear_log();
    let r = run(&["apply", "--kubeconfig", &k(&f), "--yes"]);
    assert_eq!(r.code, 0, "nothing to do: {}\n{}", r.stdout, r.stderr);
    assert_eq!(f.api.writes(), 0, "{:?}", f.api.log());
    // The same saved plan is now stale: refused, nothing written.
    let r = run(&["apply", &plan, "--kubeconfig", &k(&f), "--yes"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("is stale") && r.stderr.contains("re-plan"),
        "{}",
        r.stderr
    );
    assert_eq!(f.api.writes(), 0);
}

#[test]
fn a_saved_plan_refuses_when_an_object_changed_since() {
    let f = front("seed-004-marketplace");
    let plan = f.dir().join("plan.json").display().to_string();
    assert_eq!(
        run(&["plan", "--kubeconfig", &k(&f), "-o", "json", "--out", &plan]).code,
        2
    );
    // Someone edits a service account after the plan was made.
    let mut sa = f
        .block_on(f.api.get(
            "v1",
            "ServiceAccount",
            Some("openshift-marketplace"),
            "community-operators",
        ))
        .unwrap();
    sa["metadata"]["labels"] = json!({"edited": "yes"});
    f.block_on(f.api.put(sa)).unwrap();
    f.api.clear_log();
    let r = run(&["apply", &plan, "--kubeconfig", &k(&f), "--yes"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("ServiceAccount openshift-marketplace/community-operators changed (resourceVersion"),
        "{}",
        r.stderr
    );
    assert_eq!(f.api.writes(), 0);
}

#[test]
fn without_a_terminal_and_without_yes_apply_refuses() {
    let f = front("seed-004-marketplace");
    f.api.clear_log();
    let r = run(&["apply", "--kubeconfig", &k(&f)]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("pass --yes") && r.stderr.contains("fake"),
        "{}",
        r.stderr
    );
    assert_eq!(f.api.writes(), 0);
}

#[test]
fn a_dry_run_is_sent_as_such_and_changes_nothing() {
    let f = front("seed-004-marketplace");
    f.api.clear_log();
    let r = run(&["apply", "--kubeconfig", &k(&f), "--yes", "--dry-run"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("dry run: nothing changed"), "{}", r.stdout);
    let writes: Vec<_> = f.api.log().into_iter().filter(|l| l.is_write()).collect();
    assert_eq!(writes.len(), 9);
    assert!(writes.iter().all(|l| l.dry_run), "{writes:?}");
    assert!(!sa_secrets(&f, "certified-operators").contains(&"pull-secret".to_string()));
}

#[test]
fn only_and_snapshot_are_honoured() {
    let f = front("seed-004-marketplace");
    f.api.clear_log();
    let r = run(&["apply", "--kubeconfig", &k(&f), "--yes", "--only", "no-such-rule"]);
    assert_eq!(r.code, 3, "all skipped: {}", r.stdout);
    assert!(r.stdout.contains("not selected"), "{}", r.stdout);
    assert_eq!(f.api.writes(), 0);
    let r = run(&["apply", "--snapshot", "examples/healthy"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("snapshot cannot be changed"), "{}", r.stderr);
}

/// The shell step of docs/pipelines.md, run as written (only the wait shortened: no
/// controller recreates the deleted pods in the test API, so verification runs to its end).
#[test]
fn the_documented_shell_step_runs_and_re_runs() {
    let doc = std::fs::read_to_string(common::root().join("docs/pipelines.md")).unwrap();
    let start = doc.find("```sh\n#!/bin/sh").expect("the shell step") + 6;
    let script = &doc[start..start + doc[start..].find("```").unwrap()];
    assert!(script.contains("remedy apply --yes --wait=10m"));
    let script = script.replace("--wait=10m", "--wait=1s");
    let f = front("seed-004-marketplace");
    let bin = assert_cmd::cargo::cargo_bin("remedy");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let step = |dir: &Path| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(dir)
            .env("KUBECONFIG", f.kubeconfig())
            .env("PATH", &path)
            .env("HOME", dir)
            .env_remove("XDG_STATE_HOME")
            .output()
            .unwrap()
    };
    let out = step(f.dir());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(f.dir().join("remedy-report.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["applied"], 9);
    // The restarted pods never come back here: verification cannot say they are fixed.
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["verification"] == "unknown")
    );
    assert!(stdout.contains("a person must finish"), "{stdout}");
    assert!(
        f.dir().join(".local/state/remedy/backups").is_dir(),
        "the documented default"
    );
    f.api.clear_log();
    let out = step(f.dir());
    assert!(out.status.success());
    assert_eq!(f.api.writes(), 0, "re-runnable: the second run writes nothing");
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing left to fix"));
}

/// `remedy rbac` derives the role; the test API then answers 403 to everything else, and
/// plan and apply still succeed.
#[test]
fn plan_and_apply_succeed_with_exactly_the_printed_cluster_role() {
    let f = front("seed-004-marketplace");
    let role_of = |purpose: &str| {
        let r = run(&["rbac", "--for", purpose]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let role: serde_yaml::Value = serde_yaml::from_str(&r.stdout).unwrap();
        assert_eq!(role["kind"], "ClusterRole");
        let mut rules = Vec::new();
        for rule in role["rules"].as_sequence().unwrap() {
            let strs = |k: &str| -> Vec<String> {
                rule[k]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect()
            };
            let verbs = strs("verbs");
            let verbs: Vec<&str> = verbs.iter().map(String::as_str).collect();
            for g in strs("apiGroups") {
                for res in strs("resources") {
                    rules.push(support::fake_api::Rule::new(&verbs, &g, &res, None));
                }
            }
        }
        rules
    };
    f.api.allow_only(role_of("plan"));
    let r = run(&["plan", "--kubeconfig", &k(&f), "-o", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let forbidden: Vec<_> = f.api.log().into_iter().filter(|l| l.status == 403).collect();
    assert!(forbidden.is_empty(), "the plan role covers every read: {forbidden:?}");
    // The plan role cannot apply: writes are refused (and reported), nothing is changed.
    let r = run(&["apply", "--kubeconfig", &k(&f), "--yes"]);
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("forbidden"), "{}", r.stdout);
    f.api.clear_log();
    f.api.allow_only(role_of("apply"));
    let r = run(&["apply", "--kubeconfig", &k(&f), "--yes"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let forbidden: Vec<_> = f.api.log().into_iter().filter(|l| l.status == 403).collect();
    assert!(
        forbidden.is_empty(),
        "the apply role covers every request: {forbidden:?}"
    );
    assert!(sa_secrets(&f, "certified-operators").contains(&"pull-secret".to_string()));
}

/// The Ansible play of docs/pipelines.md, run by `ansible-playbook` (ansible-core from PyPI,
/// installed by .ci/run); skipped, saying so, where it is not installed.
#[test]
fn the_documented_ansible_play_runs_and_re_runs() {
    let ansible = std::process::Command::new("ansible-playbook").arg("--version").output();
    if !ansible.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: ansible-playbook is not installed (.ci/run installs ansible-core)");
        return;
    }
    let doc = std::fs::read_to_string(common::root().join("docs/pipelines.md")).unwrap();
    let start = doc
        .find("```yaml\n- name: Fix image pulls after install")
        .expect("the Ansible play")
        + 8;
    let play = doc[start..start + doc[start..].find("```").unwrap()].replace("--wait=10m", "--wait=1s");
    let f = front("seed-004-marketplace");
    let file = f.dir().join("play.yml");
    std::fs::write(&file, &play).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("remedy");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let play_run = || {
        let out = std::process::Command::new("ansible-playbook")
            .args(["-i", "localhost,", "-c", "local"])
            .arg(&file)
            .arg("-e")
            .arg(format!("kubeconfig={}", f.kubeconfig().display()))
            .current_dir(f.dir())
            .env("PATH", &path)
            .env("HOME", f.dir())
            .env("LC_ALL", "C.UTF-8")
            .env("ANSIBLE_NOCOLOR", "1")
            // The python3 on PATH runs the modules (interpreter discovery can pick a broken one).
            .env("ANSIBLE_PYTHON_INTERPRETER", "python3")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (
            out.status.code(),
            text,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = play_run();
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("changed=1") && out.contains("failed=0"), "{out}");
    assert!(
        out.contains("a manual step") || out.contains("Show what is left"),
        "{out}"
    );
    f.api.clear_log();
    let (code, out, err) = play_run();
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(
        out.contains("changed=0") && out.contains("failed=0"),
        "re-runnable: {out}"
    );
    assert_eq!(f.api.writes(), 0);
}

#[test]
fn undo_from_the_report_restores_the_service_accounts_and_removes_the_copy() {
    let f = front("seed-004-marketplace");
    let before = sa_secrets(&f, "certified-operators");
    let report = f.dir().join("report.json").display().to_string();
    let backups = f.dir().join("b").display().to_string();
    let r = run(&[
        "apply",
        "--kubeconfig",
        &k(&f),
        "--yes",
        "--report",
        &report,
        "--backup-dir",
        &backups,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(&["undo", &report, "--kubeconfig", &k(&f)]);
    assert_eq!(r.code, 1, "no --yes and no terminal: refused");
    assert!(r.stderr.contains("pass --yes"), "{}", r.stderr);
    let r = run(&["undo", &report, "--kubeconfig", &k(&f), "--yes"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("restored  ServiceAccount openshift-marketplace/certified-operators"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("deleted   Secret openshift-marketplace/pull-secret"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("a restart is not undone"), "{}", r.stdout);
    assert_eq!(sa_secrets(&f, "certified-operators"), before);
    assert!(
        f.block_on(f.api.get("v1", "Secret", Some("openshift-marketplace"), "pull-secret"))
            .is_none()
    );
}
