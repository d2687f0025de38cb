//! Broken rule files, snapshots and flags: a clear diagnostic naming the file and place,
//! exit code 1, never a panic, and every problem of a run reported together.

mod common;
use common::*;
use std::path::Path;

const HEAD: &str =
    "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata:\n  name: my-rule\n  title: t\n  category: auth\n";

fn playbook(spec: &str) -> String {
    format!("{HEAD}spec:\n{spec}")
}

/// Run `remedy` in `dir` (so paths in messages are relative and stable).
fn run_in(dir: &Path, args: &[&str]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_remedy"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn expect_rule_error(name: &str, text: &str, code: &str, location: &str, also: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rule.yaml"), text).unwrap();
    let r = run_in(dir.path(), &["rules", "check", "--rules", "rule.yaml"]);
    assert_eq!(r.code, 1, "{name}: exit code 1 expected, got {}\n{}", r.code, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{name}: panic\n{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("[{code}]")),
        "{name}: code {code} expected\n{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("--> {location}")),
        "{name}: location {location} expected\n{}",
        r.stderr
    );
    assert!(r.stderr.contains(also), "{name}: `{also}` expected\n{}", r.stderr);
    assert!(r.stderr.contains("help:"), "{name}: a help line\n{}", r.stderr);
    // The same problem stops `plan` before anything is planned.
    let snap = example("healthy");
    let r = run_in(dir.path(), &["plan", "--rules", "rule.yaml", "--snapshot", &snap]);
    assert_eq!(r.code, 1, "{name}: plan must fail too");
    assert!(r.stdout.is_empty(), "{name}: no partial plan on stdout");
}

#[test]
fn malformed_yaml() {
    expect_rule_error(
        "syntax",
        &format!("{HEAD}spec:\n  match: {{ symptom: registry-auth\n"),
        "invalid-yaml",
        "rule.yaml:",
        "invalid",
    );
}

#[test]
fn unknown_field_with_suggestion() {
    expect_rule_error(
        "typo",
        &playbook("  match:\n    symtpom: registry-auth\n"),
        "unknown-field",
        "rule.yaml:9:5",
        "did you mean `symptom`?",
    );
}

#[test]
fn invalid_regex() {
    expect_rule_error(
        "regex",
        &playbook("  match:\n    message:\n      regex: 'unauthorized: (auth'\n"),
        "invalid-regex",
        "rule.yaml:10:7",
        "invalid regex",
    );
}

#[test]
fn undefined_template_variable() {
    let spec = "  match: { symptom: registry-auth }\n  actions:\n    - restartPod: { pod: \"{{ failure.namespce }}/{{ failure.pod }}\" }\n";
    expect_rule_error(
        "undefined var",
        &playbook(spec),
        "undefined-variable",
        "rule.yaml:10:",
        "did you mean `namespace`?",
    );
}

#[test]
fn probe_used_before_it_is_defined() {
    let spec = "  match: { symptom: registry-auth }\n  probes:\n    - name: first\n      owner: { pod: \"{{ later.x }}\" }\n    - name: later\n      owner: { pod: \"a/b\" }\n";
    expect_rule_error(
        "probe order",
        &playbook(spec),
        "undefined-variable",
        "rule.yaml:11:",
        "`later`",
    );
}

#[test]
fn unknown_symptom() {
    expect_rule_error(
        "symptom",
        &playbook("  match: { symptom: registry-autth }\n"),
        "unknown-symptom",
        "rule.yaml:8:",
        "did you mean `registry-auth`?",
    );
}

#[test]
fn type_error() {
    expect_rule_error(
        "type",
        &playbook("  match: { symptom: registry-auth }\n  when: true\n"),
        "invalid-value",
        "rule.yaml:9:",
        "invalid type",
    );
}

#[test]
fn unknown_category() {
    let text = "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata:\n  name: x\n  title: t\n  category: authh\nspec:\n  match: {}\n";
    expect_rule_error(
        "category",
        text,
        "unknown-category",
        "rule.yaml:6:",
        "did you mean `auth`?",
    );
}

#[test]
fn template_syntax_error() {
    let spec = "  match: { symptom: registry-auth }\n  explain: \"{{ failure.pod \"\n";
    expect_rule_error(
        "template",
        &playbook(spec),
        "invalid-template",
        "rule.yaml:9:",
        "template does not parse",
    );
}

#[test]
fn bad_condition() {
    let spec = "  match: { symptom: registry-auth }\n  when: [\"failure.pod ==\"]\n";
    expect_rule_error(
        "condition",
        &playbook(spec),
        "invalid-template",
        "rule.yaml:9:",
        "template does not parse",
    );
}

#[test]
fn wrong_api_version() {
    let text =
        "apiVersion: remedy.dev/v2\nkind: Playbook\nmetadata: {name: x, title: t, category: auth}\nspec: {match: {}}\n";
    expect_rule_error(
        "apiVersion",
        text,
        "unknown-kind",
        "rule.yaml:1:",
        "remedy.dev/v1alpha1",
    );
}

#[test]
fn unknown_document_kind() {
    let text = "apiVersion: remedy.dev/v1alpha1\nkind: Playbok\nmetadata: {name: x}\n";
    expect_rule_error("kind", text, "unknown-kind", "rule.yaml:2:", "did you mean `Playbook`?");
}

#[test]
fn action_with_two_types() {
    let spec =
        "  match: { symptom: registry-auth }\n  actions:\n    - restartPod: { pod: a/b }\n      manual: { title: x }\n";
    expect_rule_error(
        "two types",
        &playbook(spec),
        "ambiguous-spec",
        "rule.yaml:10:",
        "exactly one action type",
    );
}

#[test]
fn matcher_with_no_test() {
    expect_rule_error(
        "empty matcher",
        &playbook("  match:\n    message: {}\n"),
        "ambiguous-spec",
        "rule.yaml:9:",
        "sets no test",
    );
}

#[test]
fn probe_shadowing_a_builtin() {
    let spec = "  match: { symptom: registry-auth }\n  probes:\n    - name: failure\n      owner: { pod: a/b }\n";
    expect_rule_error(
        "probe name",
        &playbook(spec),
        "invalid-probe",
        "rule.yaml:10:",
        "already defined",
    );
}

#[test]
fn missing_required_field() {
    let text =
        "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata:\n  name: x\n  category: auth\nspec: {match: {}}\n";
    expect_rule_error("missing", text, "invalid-value", "rule.yaml:", "missing field `title`");
}

#[test]
fn supersedes_unknown_rule() {
    let spec = "  match: { symptom: registry-auth }\n  supersedes: [pull-secret-not-propagatd]\n";
    expect_rule_error(
        "supersedes",
        &playbook(spec),
        "invalid-value",
        "rule.yaml:9:",
        "did you mean `pull-secret-not-propagated`?",
    );
}

#[test]
fn bad_json_path() {
    let spec = "  match: { symptom: registry-auth }\n  probes:\n    - name: p\n      jsonPath: { object: { apiVersion: v1, kind: Pod, name: x }, path: '$.[[' }\n";
    expect_rule_error(
        "jsonpath",
        &playbook(spec),
        "invalid-value",
        "rule.yaml:11:",
        "invalid JSONPath",
    );
}

#[test]
fn non_identifier_input_name() {
    let spec = "  match: { symptom: registry-auth }\n  actions:\n    - mergeDockerAuths: { secret: a/b, registry: r, input: registry-auth }\n";
    expect_rule_error(
        "input",
        &playbook(spec),
        "invalid-value",
        "rule.yaml:10:",
        "not an identifier",
    );
}

#[test]
fn duplicate_ids_across_user_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = playbook("  match: { symptom: registry-auth }\n");
    std::fs::write(dir.path().join("a.yaml"), &text).unwrap();
    std::fs::write(dir.path().join("b.yaml"), &text).unwrap();
    let r = run_in(
        dir.path(),
        &["rules", "check", "--rules", "a.yaml", "--rules", "b.yaml"],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("[duplicate-id]")
            && r.stderr.contains("--> b.yaml:4:3")
            && r.stderr.contains("first defined at a.yaml:4:3"),
        "{}",
        r.stderr
    );
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}---\n{}---\n{}",
        playbook("  match:\n    message: {regex: '('}\n"),
        playbook("  match: { symptom: nope }\n").replace("my-rule", "second"),
        playbook("  match: { symptom: registry-auth }\n  explain: \"{{ nothing }}\"\n").replace("my-rule", "third"),
    );
    std::fs::write(dir.path().join("rules.yaml"), text).unwrap();
    let r = run_in(dir.path(), &["rules", "check", "--rules", "rules.yaml"]);
    assert_eq!(r.code, 1);
    for code in ["[invalid-regex]", "[unknown-symptom]", "[undefined-variable]"] {
        assert!(r.stderr.contains(code), "{code} missing:\n{}", r.stderr);
    }
    assert!(r.stderr.contains("3 errors, 0 warnings"), "{}", r.stderr);
    insta::assert_snapshot!("diagnostics-three-problems", r.stderr);
}

#[test]
fn missing_rules_path() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), &["rules", "check", "--rules", "nope/"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("[missing-path]") && r.stderr.contains("--> nope/"),
        "{}",
        r.stderr
    );
}

fn expect_snapshot_error(name: &str, file: &str, content: &[u8], code: &str, location: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("snap")).unwrap();
    std::fs::write(dir.path().join("snap").join(file), content).unwrap();
    let r = run_in(dir.path(), &["plan", "--snapshot", "snap"]);
    assert_eq!(r.code, 1, "{name}: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{name}: panic\n{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("[{code}]")),
        "{name}: {code} expected\n{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("--> {location}")),
        "{name}: location {location} expected\n{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "{name}: nothing planned");
}

#[test]
fn snapshot_malformed_yaml() {
    expect_snapshot_error(
        "yaml",
        "pods.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: [x\n",
        "invalid-yaml",
        "snap/pods.yaml:",
    );
}

#[test]
fn snapshot_truncated_json() {
    expect_snapshot_error("json", "all.json", b"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}},\n{\"kind\":", "invalid-yaml", "snap/all.json:3:");
}

#[test]
fn snapshot_object_without_kind() {
    expect_snapshot_error(
        "kind",
        "x.yaml",
        b"apiVersion: v1\nmetadata:\n  name: a\n",
        "invalid-object",
        "snap/x.yaml",
    );
}

#[test]
fn snapshot_list_item_without_name() {
    expect_snapshot_error(
        "name",
        "x.yaml",
        b"apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {}\n",
        "invalid-object",
        "snap/x.yaml:4:3",
    );
}

#[test]
fn snapshot_document_that_is_not_an_object() {
    expect_snapshot_error("scalar", "x.yaml", b"just a string\n", "invalid-object", "snap/x.yaml");
}

#[test]
fn snapshot_not_utf8() {
    expect_snapshot_error(
        "utf8",
        "x.yaml",
        &[0x6b, 0x69, 0x6e, 0x64, 0x3a, 0x20, 0xff, 0xfe, 0x0a],
        "unreadable-file",
        "snap/x.yaml",
    );
}

#[test]
fn snapshot_path_missing() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), &["plan", "--snapshot", "does-not-exist"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("[missing-path]") && r.stderr.contains("--> does-not-exist"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_flags_are_errors_not_findings() {
    let snap = example("healthy");
    for args in [
        vec!["plan", "--snapshot", snap.as_str(), "--set", "novalue"],
        vec!["plan", "--snapshot", snap.as_str(), "--set-file", "x=/does/not/exist"],
        vec!["plan", "--snapshot", snap.as_str(), "--output", "xml"],
        vec!["plan", "--snapshott", snap.as_str()],
        vec!["plan"],
        vec!["plan", "--snapshot", snap.as_str(), "--no-bundled"],
    ] {
        let r = remedy(&args);
        assert_eq!(
            r.code, 1,
            "{args:?} must exit 1 (never 2, which means pending actions): {}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"));
        assert!(!r.stderr.is_empty());
    }
    let r = remedy(&["plan", "--snapshott", "x"]);
    assert!(
        r.stderr.contains("--snapshot"),
        "clap suggests the right flag: {}",
        r.stderr
    );
}

#[test]
fn help_and_version_exit_zero() {
    for args in [
        vec!["--help"],
        vec!["plan", "--help"],
        vec!["--version"],
        vec!["rules", "match", "--help"],
    ] {
        let r = remedy(&args);
        assert_eq!(r.code, 0, "{args:?}");
    }
    assert!(remedy(&["--help"]).stdout.contains("Exit codes"));
}

const OK_RULE: &str = "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: my-rule, title: t, category: auth}\nspec:\n  match: {symptom: registry-auth}\n";

/// A failing pod and one pull event about it, as separate documents.
const FAILING_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns, uid: u1}\nspec: {containers: [{name: c, image: 'quay.io/a/b:1'}]}\nstatus: {containerStatuses: [{name: c, state: {waiting: {reason: ImagePullBackOff}}}]}\n";
const PULL_EVENT: &str = "apiVersion: v1\nkind: Event\nmetadata: {name: p.1, namespace: ns, uid: e1}\ninvolvedObject: {kind: Pod, name: p, namespace: ns, uid: u1, fieldPath: 'spec.containers{c}'}\nreason: Failed\ntype: Warning\ncount: 3\nmessage: 'Failed to pull image \"quay.io/a/b:1\": unauthorized: authentication required'\n";

#[cfg(unix)]
#[test]
fn symlink_loops_end_and_are_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("ok.yaml"), OK_RULE).unwrap();
    std::os::unix::fs::symlink(".", d.join("a")).unwrap();
    std::os::unix::fs::symlink(".", d.join("b")).unwrap();
    let r = run_in(dir.path(), &["rules", "check", "--rules", "d"]);
    assert_eq!(r.code, 0, "a loop is not fatal: every file is read once\n{}", r.stderr);
    assert!(!r.stderr.contains("duplicate-id"), "{}", r.stderr);
    assert_eq!(r.stderr.matches("[symlink-loop]").count(), 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--> d/a") && r.stderr.contains("help:"),
        "{}",
        r.stderr
    );

    // The snapshot walker, too; and one file reached by two paths counts once.
    let s = dir.path().join("s");
    std::fs::create_dir(&s).unwrap();
    std::fs::write(s.join("pod.yaml"), FAILING_POD).unwrap();
    std::fs::write(s.join("events.yaml"), PULL_EVENT).unwrap();
    std::os::unix::fs::symlink(".", s.join("loop")).unwrap();
    std::os::unix::fs::symlink("events.yaml", s.join("again.yaml")).unwrap();
    let r = run_in(dir.path(), &["plan", "--snapshot", "s", "-o", "json"]);
    assert!(r.stderr.contains("[symlink-loop]"), "{}", r.stderr);
    // The message and the finding's totals both say 3.
    assert_eq!(
        r.stdout.matches("\"count\": 3").count(),
        2,
        "event counted once:\n{}",
        r.stdout
    );
    assert!(!r.stdout.contains("\"count\": 6"), "{}", r.stdout);
}

#[test]
fn the_same_event_twice_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("s")).unwrap();
    std::fs::write(dir.path().join("s/pod.yaml"), FAILING_POD).unwrap();
    std::fs::write(dir.path().join("s/events-1.yaml"), PULL_EVENT).unwrap();
    std::fs::write(dir.path().join("s/events-2.yaml"), PULL_EVENT).unwrap();
    for args in [
        vec!["plan", "--snapshot", "s", "-o", "json"],
        vec!["plan", "--snapshot", "s", "--snapshot", "s", "-o", "json"],
    ] {
        let r = run_in(dir.path(), &args);
        assert!(r.code != 1, "{args:?}: {}", r.stderr);
        let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let text = plan.to_string();
        assert!(
            text.contains("\"count\":3") && !text.contains("\"count\":6"),
            "{args:?}: {text}"
        );
    }
}

#[test]
fn empty_snapshots_are_errors_not_a_clean_bill_of_health() {
    let dir = tempfile::tempdir().unwrap();
    for (name, files) in [
        ("emptydir", vec![]),
        ("onlytxt", vec![("notes.txt", "kind: Pod\n")]),
        ("commentsonly", vec![("x.yaml", "# nothing\n---\n")]),
        ("emptylist", vec![("x.json", "{\"kind\":\"List\",\"items\":[]}")]),
    ] {
        let d = dir.path().join(name);
        std::fs::create_dir(&d).unwrap();
        for (f, text) in files {
            std::fs::write(d.join(f), text).unwrap();
        }
        let r = run_in(dir.path(), &["plan", "--snapshot", name]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{name}: nothing planned\n{}", r.stdout);
        assert!(
            r.stderr.contains("[empty-input]") && r.stderr.contains(&format!("--> {name}")),
            "{name}: {}",
            r.stderr
        );
    }
    // Upper-case extensions are snapshot files too.
    let d = dir.path().join("upper");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("POD.YAML"), FAILING_POD).unwrap();
    std::fs::write(
        d.join("EVENTS.JSON"),
        serde_json::to_string(&serde_yaml::from_str::<serde_json::Value>(PULL_EVENT).unwrap()).unwrap(),
    )
    .unwrap();
    let r = run_in(dir.path(), &["plan", "--snapshot", "upper", "-o", "json"]);
    assert!(
        r.code == 2 || r.code == 3,
        "the failing pod is found: {} {}",
        r.code,
        r.stderr
    );
    assert!(
        r.stdout.contains("unauthorized"),
        "the JSON event is read: {}",
        r.stdout
    );
}

#[test]
fn empty_rule_inputs_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("none")).unwrap();
    std::fs::write(dir.path().join("none/readme.txt"), "not a rule").unwrap();
    std::fs::write(dir.path().join("empty.yaml"), "").unwrap();
    std::fs::write(dir.path().join("comments.yaml"), "# just a comment\n---\n").unwrap();
    let r = run_in(
        dir.path(),
        &[
            "rules",
            "check",
            "--rules",
            "none",
            "--rules",
            "empty.yaml",
            "--rules",
            "comments.yaml",
        ],
    );
    assert_eq!(r.code, 0, "warnings only: the bundled rules still run\n{}", r.stderr);
    for loc in ["--> none", "--> empty.yaml", "--> comments.yaml"] {
        assert!(r.stderr.contains(loc), "{loc}: {}", r.stderr);
    }
    assert_eq!(r.stderr.matches("warning[empty-input]").count(), 3, "{}", r.stderr);
    // Without the bundled playbooks nothing would be checked at all: an error.
    let r = run_in(dir.path(), &["rules", "check", "--no-bundled", "--rules", "none"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("error[empty-input]") && r.stderr.contains("no playbooks loaded"),
        "{}",
        r.stderr
    );
    // Upper-case extensions are rule files.
    std::fs::create_dir(dir.path().join("upper")).unwrap();
    std::fs::write(dir.path().join("upper/RULE.YML"), OK_RULE).unwrap();
    let r = run_in(dir.path(), &["rules", "list", "--no-bundled", "--rules", "upper"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("my-rule"), "{}", r.stdout);
}

#[test]
fn snapshot_pod_with_a_wrong_typed_field() {
    let pod = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec: {containers: \"oops\"}\nstatus: {containerStatuses: [{name: c, state: {waiting: {reason: ErrImagePull}}}]}\n";
    expect_snapshot_error("pod", "pod.yaml", pod, "invalid-object", "snap/pod.yaml:4:8");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("snap")).unwrap();
    std::fs::write(dir.path().join("snap/pod.yaml"), pod).unwrap();
    let r = run_in(dir.path(), &["plan", "--snapshot", "snap"]);
    assert!(
        r.stderr.contains("Pod ns/p") && r.stderr.contains("`spec.containers`"),
        "names the object and the field: {}",
        r.stderr
    );
    // The same in a JSON list: the item's field is located too.
    let json = br#"{"kind":"PodList","apiVersion":"v1","items":[
{"metadata":{"name":"ok","namespace":"ns"}},
{"metadata":{"name":"p","namespace":"ns"},
 "status":{"containerStatuses":[{"name":"c","image":5}]}}]}"#;
    expect_snapshot_error("json pod", "pods.json", json, "invalid-object", "snap/pods.json:4:");
}

#[test]
fn snapshot_event_with_a_wrong_typed_field() {
    let ev = b"apiVersion: v1\nkind: Event\nmetadata: {name: e, namespace: ns}\ninvolvedObject: {kind: Pod, name: p}\nreason: Failed\ncount: -5\nmessage: 'Failed to pull image \"x\": unauthorized'\n";
    expect_snapshot_error("event", "ev.yaml", ev, "invalid-object", "snap/ev.yaml:6:1");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("snap")).unwrap();
    std::fs::write(dir.path().join("snap/ev.yaml"), ev).unwrap();
    let r = run_in(dir.path(), &["plan", "--snapshot", "snap"]);
    assert!(r.stderr.contains("`count`"), "names the field: {}", r.stderr);
}

#[test]
fn duplicate_key_is_reported_at_its_own_line() {
    let text = "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata:\n  name: x\n  title: t\n  title: u\n  category: auth\nspec: {match: {symptom: registry-auth}}\n";
    expect_rule_error(
        "dup key",
        text,
        "invalid-yaml",
        "rule.yaml:6:3",
        "duplicate key `title`",
    );
}

#[test]
fn document_without_api_version_has_a_line() {
    let text = "kind: Playbook\nmetadata: {name: x}\n";
    expect_rule_error(
        "no apiVersion",
        text,
        "unknown-kind",
        "rule.yaml:1:1",
        "missing `apiVersion`",
    );
}

#[test]
fn invalid_yaml_names_its_position_once() {
    let text =
        "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: x, title: t, category: auth\nspec: {}\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rule.yaml"), text).unwrap();
    let r = run_in(dir.path(), &["rules", "check", "--rules", "rule.yaml"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--> rule.yaml:4:5"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("line 4 column 5"),
        "the location is not repeated in the message: {}",
        r.stderr
    );
}

#[test]
fn regex_that_escapes_its_case_folding_wrapper() {
    // Wrapped as `(?i:...)` this would read `(?i:zzz)|(?-i:.)` and match every message.
    expect_rule_error(
        "wrapper injection",
        &playbook("  match:\n    message: {regex: 'zzz)|(?-i:.'}\n"),
        "invalid-regex",
        "rule.yaml:9:",
        "unopened group",
    );
}

#[test]
fn patterns_that_fit_alone_fit_together() {
    // Each compiles to a few MiB; together they passed the regex crate's 10 MiB default.
    let text = "apiVersion: remedy.dev/v1alpha1\nkind: Symptom\nmetadata: { name: mid-re, category: auth }\nspec:\n  message: { anyOf: [ {regex: '\\w{150}a'}, {regex: '\\w{150}b'}, {regex: '\\w{150}c'} ] }\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rule.yaml"), text).unwrap();
    let r = run_in(dir.path(), &["rules", "check", "--rules", "rule.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn supersedes_cycles() {
    let text = "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: cyc-a, title: A, category: auth}\nspec:\n  match: {symptom: registry-auth}\n  supersedes: [cyc-b]\n---\napiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: cyc-b, title: B, category: auth}\nspec:\n  match: {symptom: registry-auth}\n  supersedes: [cyc-a]\n";
    expect_rule_error(
        "cycle",
        text,
        "supersedes-cycle",
        "rule.yaml:6:16",
        "cyc-a → cyc-b → cyc-a",
    );
    expect_rule_error(
        "self",
        &playbook("  match: {symptom: registry-auth}\n  supersedes: [my-rule]\n"),
        "supersedes-cycle",
        "rule.yaml:9:",
        "supersedes itself",
    );
}

#[test]
fn supersedes_unknown_rule_without_a_close_match_has_help() {
    expect_rule_error(
        "far",
        &playbook("  match: {symptom: registry-auth}\n  supersedes: [zzzzzzzzzzzzzzzzzzzz]\n"),
        "invalid-value",
        "rule.yaml:9:",
        "remedy rules list",
    );
}

#[test]
fn typo_in_a_probe_result_field() {
    let spec = "  match: { symptom: registry-auth }\n  probes:\n    - name: ps\n      pullSecrets: { pod: \"{{ failure.namespace }}/{{ failure.pod }}\", registry: \"{{ failure.registry }}\" }\n  when: [\"not ps.covrs\"]\n";
    expect_rule_error(
        "probe field",
        &playbook(spec),
        "undefined-variable",
        "rule.yaml:12:",
        "did you mean `covers`?",
    );
    for (kind, typo, fix) in [
        ("imageConfig: { registry: r }", "registryInsecur", "registryInsecure"),
        ("trustedCa: { registry: r }", "hasKy", "hasKey"),
        ("owner: { pod: a/b }", "restartble", "restartable"),
        ("firstCovering: { registry: r, candidates: [a/b] }", "refs", "ref"),
    ] {
        let spec = format!(
            "  match: {{ symptom: registry-auth }}\n  probes:\n    - name: p\n      {kind}\n  explain: \"{{{{ p.{typo} }}}}\"\n"
        );
        expect_rule_error(
            kind,
            &playbook(&spec),
            "undefined-variable",
            "rule.yaml:12:",
            &format!("`{fix}`"),
        );
    }
}

#[test]
fn generic_probe_results_stay_unchecked() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "  match: { symptom: registry-auth }\n  probes:\n    - name: cfg\n      object: { apiVersion: v1, kind: ConfigMap, namespace: a, name: b }\n  when: [\"cfg.data.anything is defined\"]\n";
    std::fs::write(dir.path().join("rule.yaml"), playbook(spec)).unwrap();
    let r = run_in(dir.path(), &["rules", "check", "--rules", "rule.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn capture_that_no_pattern_defines() {
    let spec = "  match:\n    message: { regex: 'reading manifest (?P<tag>\\S+) in' }\n  explain: \"{{ captures.tga }} {{ captures.nosuch }}\"\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rule.yaml"), playbook(spec)).unwrap();
    let r = run_in(dir.path(), &["rules", "check", "--rules", "rule.yaml"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("`captures.tga`") && r.stderr.contains("did you mean `tag`?"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("`captures.nosuch`") && r.stderr.contains("--> rule.yaml:10:"),
        "{}",
        r.stderr
    );
    // A group under `not` never captures anything.
    expect_rule_error(
        "not",
        &playbook("  match:\n    message: { not: { regex: '(?P<x>a)' } }\n  explain: \"{{ captures.x }}\"\n"),
        "undefined-variable",
        "rule.yaml:10:",
        "name no groups",
    );
}

#[test]
fn unknown_filter_and_test_are_caught_at_load_time() {
    let spec = "  match: { symptom: registry-auth }\n  when: [\"failure.pod is nosuchtest\"]\n  explain: \"{{ failure.namespace | lowr }}\"\n";
    expect_rule_error(
        "filter",
        &playbook(spec),
        "unknown-filter",
        "rule.yaml:10:36",
        "did you mean `lower`?",
    );
    expect_rule_error(
        "test",
        &playbook(spec),
        "unknown-filter",
        "rule.yaml:9:26",
        "unknown test `nosuchtest`",
    );
    // In a block scalar the filter is found on its own line.
    let spec = "  match: { symptom: registry-auth }\n  explain: >-\n    first {{ failure.pod }}\n    then {{ failure.image | nosuch }}\n";
    expect_rule_error(
        "block",
        &playbook(spec),
        "unknown-filter",
        "rule.yaml:11:29",
        "unknown filter `nosuch`",
    );
    // Global functions are not undefined variables.
    let dir = tempfile::tempdir().unwrap();
    let spec = "  match: { symptom: registry-auth }\n  explain: \"{{ range(2) | join(',') }} {{ failure.pod | registry_host | default('x') }}\"\n";
    std::fs::write(dir.path().join("rule.yaml"), playbook(spec)).unwrap();
    let r = run_in(dir.path(), &["rules", "check", "--rules", "rule.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn render_errors_name_the_rule_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("s")).unwrap();
    std::fs::write(dir.path().join("s/pod.yaml"), FAILING_POD).unwrap();
    std::fs::write(dir.path().join("s/events.yaml"), PULL_EVENT).unwrap();
    let spec = "  match: { symptom: registry-auth }\n  explain: \"{{ failure.pod | round }}\"\n";
    std::fs::write(dir.path().join("rule.yaml"), playbook(spec)).unwrap();
    let r = run_in(
        dir.path(),
        &[
            "plan",
            "--no-bundled",
            "--rules",
            "rule.yaml",
            "--snapshot",
            "s",
            "-o",
            "json",
        ],
    );
    assert!(r.code != 1, "{}", r.stderr);
    assert!(r.stdout.contains("in rule.yaml:9:3 (spec.explain)"), "{}", r.stdout);
    assert!(
        !r.stdout.contains(":spec.explain:"),
        "no internal template name: {}",
        r.stdout
    );
}

#[test]
fn every_shape_problem_of_a_document_is_reported() {
    let text = "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata:\n  name: multi\n  title: t\n  category: auth\n  severty: high\nspec:\n  match:\n    symtpom: registry-auth\n    message: { contians: x }\n  probes:\n    - name: p\n      objekt: {}\n  actions:\n    - manual: { title: 5, steps: \"notalist\" }\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rule.yaml"), text).unwrap();
    let r = run_in(dir.path(), &["rules", "check", "--rules", "rule.yaml"]);
    assert_eq!(r.code, 1);
    for (loc, what) in [
        ("rule.yaml:7:3", "did you mean `severity`?"),
        ("rule.yaml:10:5", "did you mean `symptom`?"),
        ("rule.yaml:11:16", "did you mean `contains`?"),
        ("rule.yaml:14:7", "did you mean `object`?"),
        ("rule.yaml:16:17", "invalid type: number `5`, expected a string"),
        ("rule.yaml:16:27", "invalid type: string \"notalist\", expected a list"),
    ] {
        assert!(r.stderr.contains(&format!("--> {loc}")), "{loc}: {}", r.stderr);
        assert!(r.stderr.contains(what), "{what}: {}", r.stderr);
    }
    assert!(r.stderr.contains("6 errors"), "{}", r.stderr);
}
