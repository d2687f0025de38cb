//! Snapshot forms real captures come in, and input an attacker would write: each test here
//! failed before remedy read it right.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{Run, remedy, remedy_stdin, root};
use remedy::cluster::{ClusterSource, GroupKind, Snapshot};

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: shop
  uid: 7d1c
spec:
  containers:
  - name: web
    image: registry.example.com/shop/web:1.0
status:
  phase: Pending
  containerStatuses:
  - name: web
    image: registry.example.com/shop/web:1.0
    ready: false
    restartCount: 0
    state:
      waiting:
        reason: ImagePullBackOff
        message: 'Back-off pulling image \"registry.example.com/shop/web:1.0\"'
";

const EVENT: &str = "apiVersion: v1
kind: Event
metadata:
  name: web-1.1
  namespace: shop
involvedObject:
  kind: Pod
  name: web-1
  namespace: shop
  fieldPath: spec.containers{web}
reason: Failed
type: Warning
count: 3
message: 'Failed to pull image \"registry.example.com/shop/web:1.0\": rpc error: code = Unknown desc = unauthorized: authentication required'
";

/// OpenShift's own bootstrap event: an `involvedObject` with a namespace and no name.
const BOOTSTRAP_EVENT: &str = "apiVersion: v1
kind: Event
metadata:
  name: bootstrap.187c0f6f2c6f9a11
  namespace: kube-system
involvedObject:
  namespace: kube-system
reason: BootstrapStarted
message: cluster-bootstrap is starting the bootstrap control plane
source:
  component: cluster-bootstrap
type: Normal
";

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, content).unwrap();
    p
}

fn plan(paths: &[&Path], extra: &[&str]) -> Run {
    let mut args = vec!["plan".to_string()];
    for p in paths {
        args.push("--snapshot".into());
        args.push(p.display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    remedy(&args)
}

fn json_of(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\nstdout: {}\nstderr: {}", r.stdout, r.stderr))
}

/// The failing pod was found (a plan, not an error).
fn sees_the_failing_pod(r: &Run) {
    assert!(matches!(r.code, 2 | 3), "exit {}\n{}", r.code, r.stderr);
    let v = json_of(r);
    assert_eq!(v["summary"]["failingPods"], 1, "{}", r.stdout);
}

fn to_json(yaml: &str) -> String {
    let v: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
    serde_json::to_string(&v).unwrap()
}

#[test]
fn bootstrap_events_without_a_name_load() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "all.yaml",
        format!("{POD}---\n{EVENT}---\n{BOOTSTRAP_EVENT}").as_bytes(),
    );
    let r = plan(&[&f], &["-o", "json"]);
    sees_the_failing_pod(&r);
    assert!(!r.stderr.contains("metadata.name"), "{}", r.stderr);
}

#[test]
fn a_pull_event_about_no_named_object_is_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let nameless = EVENT.replace(
        "  name: web-1\n  namespace: shop\n  fieldPath",
        "  namespace: shop\n  fieldPath",
    );
    assert_ne!(nameless, EVENT);
    let f = write(
        dir.path(),
        "all.yaml",
        format!("{POD}---\n{EVENT}---\n{nameless}").as_bytes(),
    );
    let r = plan(&[&f], &["-o", "json"]);
    sees_the_failing_pod(&r);
    assert!(r.stderr.contains("warning[skipped-object]"), "{}", r.stderr);
    assert!(r.stderr.contains("1 pull event(s) name no object"), "{}", r.stderr);
}

#[test]
fn bare_yaml_sequence_of_objects() {
    let dir = tempfile::tempdir().unwrap();
    let indent = |s: &str| {
        s.lines()
            .enumerate()
            .map(|(i, l)| if i == 0 { format!("- {l}\n") } else { format!("  {l}\n") })
            .collect::<String>()
    };
    let f = write(
        dir.path(),
        "seq.yaml",
        format!("{}{}", indent(POD), indent(EVENT)).as_bytes(),
    );
    sees_the_failing_pod(&plan(&[&f], &["-o", "json"]));
}

#[test]
fn concatenated_json_documents() {
    let dir = tempfile::tempdir().unwrap();
    // What `kubectl get -o json --watch` writes: one object after another.
    let text = format!("{}\n{}\n", to_json(POD), to_json(EVENT));
    let f = write(dir.path(), "watch.json", text.as_bytes());
    sees_the_failing_pod(&plan(&[&f], &["-o", "json"]));
    // An error in the second document names it, with its line.
    let f = write(
        dir.path(),
        "bad.json",
        format!("{}\n{{\"kind\": 5}}\n", to_json(POD)).as_bytes(),
    );
    let r = plan(&[&f], &["-o", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("bad.json:2:1"), "{}", r.stderr);
}

#[test]
fn snapshot_from_standard_input() {
    let yaml = format!("{POD}---\n{EVENT}");
    let r = remedy_stdin(&["plan", "--snapshot", "-", "-o", "json"], &yaml);
    sees_the_failing_pod(&r);
    let json = format!("{}{}", to_json(POD), to_json(EVENT));
    let r = remedy_stdin(&["plan", "--snapshot", "-", "-o", "json"], &json);
    sees_the_failing_pod(&r);
    let r = remedy_stdin(&["plan", "--snapshot", "-"], "");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("error[empty-input]"), "{}", r.stderr);
}

fn tar_of(files: &[(&str, &[u8])], gzip: bool) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        builder.append_data(&mut h, name, *data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    if !gzip {
        return tar;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn tar_and_tar_gz_are_read_without_unpacking() {
    let dir = tempfile::tempdir().unwrap();
    let files: &[(&str, &[u8])] = &[
        ("mg/namespaces/shop/core/pods.yaml", POD.as_bytes()),
        ("mg/namespaces/shop/core/events.yaml", EVENT.as_bytes()),
        ("mg/timestamp", b"2026-11-30 09:12:01 +0000 UTC\n"),
    ];
    for (name, gzip) in [("mg.tar", false), ("mg.tar.gz", true), ("mg.tgz", true)] {
        let f = write(dir.path(), name, &tar_of(files, gzip));
        let r = plan(&[&f], &["-o", "json"]);
        sees_the_failing_pod(&r);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing unpacked");
        std::fs::remove_file(&f).unwrap();
    }
    // Piped in, too.
    let gz = tar_of(files, true);
    let out = assert_cmd::Command::cargo_bin("remedy")
        .unwrap()
        .args(["plan", "--snapshot", "-", "-o", "json"])
        .write_stdin(gz)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(2 | 3)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["failingPods"], 1);
    // A broken entry is named inside its archive.
    let f = write(
        dir.path(),
        "broken.tar.gz",
        &tar_of(&[("mg/a.yaml", POD.as_bytes()), ("mg/b.yaml", b"kind: [")], true),
    );
    let r = plan(&[&f], &["-o", "json"]);
    assert!(r.stderr.contains("broken.tar.gz:mg/b.yaml:"), "{}", r.stderr);
}

#[test]
fn byte_order_mark_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let y = write(dir.path(), "a.yaml", format!("\u{feff}{POD}---\n{EVENT}").as_bytes());
    sees_the_failing_pod(&plan(&[&y], &["-o", "json"]));
    let j = write(
        dir.path(),
        "b.json",
        format!(
            "\u{feff}{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{},{}]}}",
            to_json(POD),
            to_json(EVENT)
        )
        .as_bytes(),
    );
    sees_the_failing_pod(&plan(&[&j], &["-o", "json"]));
}

#[test]
fn empty_json_file_is_like_an_empty_yaml_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.json", b"");
    write(dir.path(), "blank.json", b"  \n");
    write(dir.path(), "empty.yaml", b"");
    write(dir.path(), "pod.yaml", format!("{POD}---\n{EVENT}").as_bytes());
    let r = plan(&[dir.path()], &["-o", "json"]);
    sees_the_failing_pod(&r);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn one_bad_file_among_several_gives_a_partial_plan() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a-pod.yaml", format!("{POD}---\n{EVENT}").as_bytes());
    write(dir.path(), "b-broken.yaml", b"kind: Pod\nmetadata: [\n");
    let r = plan(&[dir.path()], &["-o", "json"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    let v = json_of(&r);
    assert_eq!(v["summary"]["failingPods"], 1);
    assert_eq!(v["source"]["partial"], true);
    let skipped = v["source"]["skippedFiles"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0]["file"].as_str().unwrap().ends_with("b-broken.yaml"));
    assert!(r.stderr.contains("error[invalid-yaml]"), "{}", r.stderr);
    assert!(r.stderr.contains("warning[skipped-file]"), "{}", r.stderr);
    // The human plan says so too.
    let human = plan(&[dir.path()], &[]);
    assert_eq!(human.code, 4);
    assert!(
        human.stdout.contains("partial plan: 1 file left out"),
        "{}",
        human.stdout
    );
    // All or nothing on request.
    let strict = plan(&[dir.path()], &["--strict"]);
    assert_eq!(strict.code, 1, "{}", strict.stderr);
    assert!(strict.stdout.is_empty());
    // A complete snapshot has neither field.
    let whole = plan(&[&dir.path().join("a-pod.yaml")], &["-o", "json"]);
    let v = json_of(&whole);
    assert!(v["source"].get("partial").is_none() && v["source"].get("skippedFiles").is_none());
}

const SA_OLD: &str = "apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: shop
  resourceVersion: \"99\"
imagePullSecrets:
- name: old-secret
";

fn service_account_secret(snapshot: &Snapshot) -> String {
    let sa = futures::executor::block_on(snapshot.get(&GroupKind::core("ServiceAccount"), Some("shop"), "default"))
        .unwrap()
        .unwrap();
    sa.field("imagePullSecrets").unwrap()[0]["name"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn duplicates_keep_the_newer_copy_whatever_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let new = SA_OLD.replace("\"99\"", "\"100\"").replace("old-secret", "new-secret");
    let a = write(dir.path(), "a.yaml", new.as_bytes());
    let b = write(dir.path(), "b.yaml", SA_OLD.as_bytes());
    for order in [[&a, &b], [&b, &a]] {
        let (snap, diags) = Snapshot::load(&[order[0].clone(), order[1].clone()]);
        assert_eq!(service_account_secret(&snap), "new-secret");
        let warning = diags
            .iter()
            .find(|d| d.code.as_str() == "duplicate-object")
            .expect("a warning");
        assert!(
            warning.message.contains("resourceVersion 100 is newer than 99"),
            "{}",
            warning.message
        );
    }
    // Same resourceVersion: the later managedFields time wins (YAML and JSON alike).
    let with_time = |secret: &str, time: &str| {
        SA_OLD.replace("old-secret", secret).replace(
            "  resourceVersion: \"99\"\n",
            &format!("  resourceVersion: \"99\"\n  managedFields:\n  - manager: x\n    time: \"{time}\"\n"),
        )
    };
    let c = write(
        dir.path(),
        "c.yaml",
        with_time("later", "2026-11-30T10:00:00Z").as_bytes(),
    );
    let d = write(
        dir.path(),
        "d.json",
        to_json(&with_time("earlier", "2026-11-30T09:00:00Z")).as_bytes(),
    );
    for order in [[&c, &d], [&d, &c]] {
        let (snap, _) = Snapshot::load(&[order[0].clone(), order[1].clone()]);
        assert_eq!(service_account_secret(&snap), "later");
    }
    // Identical copies (a must-gather's per-pod file repeats the pod) say nothing.
    let e = write(dir.path(), "e.yaml", SA_OLD.as_bytes());
    let (_, diags) = Snapshot::load(&[b.clone(), e]);
    assert!(diags.is_empty(), "{diags:?}");
}

/// One uid under two names is one object: the newer copy is kept, whatever the order and
/// whether the copies are YAML or JSON.
#[test]
fn one_uid_under_two_names_keeps_the_newer_copy() {
    let dir = tempfile::tempdir().unwrap();
    let with_uid = SA_OLD.replace(
        "  resourceVersion: \"99\"\n",
        "  resourceVersion: \"99\"\n  uid: 7d1c9a52-0f1e-4c63-9d0a-2b8e5f0c1a11\n",
    );
    let renamed = with_uid
        .replace("name: default", "name: builder")
        .replace("\"99\"", "\"100\"");
    let old = write(dir.path(), "old.yaml", with_uid.as_bytes());
    let new = write(dir.path(), "new.json", to_json(&renamed).as_bytes());
    for order in [[&old, &new], [&new, &old]] {
        let (snap, diags) = Snapshot::load(&[order[0].clone(), order[1].clone()]);
        let sa = |name: &str| {
            futures::executor::block_on(snap.get(&GroupKind::core("ServiceAccount"), Some("shop"), name)).unwrap()
        };
        assert!(sa("builder").is_some(), "the newer copy is kept");
        assert!(sa("default").is_none(), "the older copy is dropped");
        let warnings: Vec<_> = diags.iter().filter(|d| d.code.as_str() == "duplicate-object").collect();
        assert_eq!(warnings.len(), 1, "{diags:?}");
        let w = &warnings[0];
        assert!(w.message.contains("one object under two names"), "{}", w.message);
        assert!(
            w.message.contains("resourceVersion 100 is newer than 99"),
            "{}",
            w.message
        );
        assert!(w.location.to_string().contains("old.yaml"), "{}", w.location);
    }
}

#[test]
fn duplicate_keys_in_a_yaml_mapping_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "dup.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  namespace: shop\nkind: Secret\n",
    );
    let r = plan(&[&f], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("error[invalid-yaml]: duplicate key `kind`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("dup.yaml:6:1"), "{}", r.stderr);
    // In JSON, too.
    let f = write(
        dir.path(),
        "dup.json",
        br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"kind":"Secret"}"#,
    );
    let r = plan(&[&f], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("duplicate key `kind`"), "{}", r.stderr);
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn fifos_in_directories_are_skipped_and_never_block() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "snap/pod.yaml", format!("{POD}---\n{EVENT}").as_bytes());
    mkfifo(&dir.path().join("snap/fifo.yaml"));
    let r = plan(&[&dir.path().join("snap")], &["-o", "json"]);
    sees_the_failing_pod(&r);
    assert!(r.stderr.contains("warning[not-a-regular-file]"), "{}", r.stderr);
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    mkfifo(&dir.path().join("rules/fifo.yaml"));
    let rules = dir.path().join("rules").display().to_string();
    let r = remedy(&["rules", "check", "--rules", &rules]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("warning[not-a-regular-file]"), "{}", r.stderr);
    // Given by name with no writer, a FIFO reads as empty instead of waiting.
    let fifo = dir.path().join("alone.fifo");
    mkfifo(&fifo);
    let r = plan(&[&fifo], &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("error[empty-input]"), "{}", r.stderr);
    let snap = dir.path().join("snap").display().to_string();
    let set = format!("ca_file={}", fifo.display());
    // --set-file on a FIFO without a writer returns at once; its empty value is refused.
    let r = remedy(&["plan", "--snapshot", &snap, "--set-file", &set, "-o", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("is empty"), "{}", r.stderr);
}

#[test]
fn every_read_is_capped() {
    let r = remedy(&["plan", "--snapshot", "/dev/zero", "--max-file-size", "1MiB"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("error[input-too-large]"), "{}", r.stderr);
    assert!(
        r.stderr.contains("larger than the 1 MiB limit (--max-file-size)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--max-file-size 4GiB"), "{}", r.stderr);
    // A regular file over the limit is refused before it is read.
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "pod.yaml", format!("{POD}---\n{EVENT}").as_bytes());
    let r = plan(&[&f], &["--max-file-size", "100"]);
    assert!(r.stderr.contains("larger than the 100 bytes limit"), "{}", r.stderr);
    let r = remedy(&["rules", "check", "--rules", "/dev/zero"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("larger than the 16 MiB limit (a fixed limit for rule files)"),
        "{}",
        r.stderr
    );
    let snap = f.display().to_string();
    let r = remedy(&["plan", "--snapshot", &snap, "--set-file", "ca_file=/dev/zero"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("larger than the 16 MiB limit (a fixed limit for --set-file)"),
        "{}",
        r.stderr
    );
    // In an archive, a gzip bomb stops at the limit too.
    let zeros = vec![b' '; 3 << 20];
    let f = write(dir.path(), "bomb.tar.gz", &tar_of(&[("a.yaml", &zeros)], true));
    let r = plan(&[&f], &["--max-file-size", "1MiB"]);
    assert!(r.stderr.contains("error[input-too-large]"), "{}", r.stderr);
}

fn must_gather() -> PathBuf {
    root().join("tests/data/must-gather")
}

/// The plan of the must-gather fixture, whatever form it came in.
fn must_gather_plan(path: &Path) -> serde_json::Value {
    let r = plan(&[path], &["-o", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains("error"), "{}", r.stderr);
    let mut v = json_of(&r);
    v["source"]["name"] = serde_json::Value::Null;
    v
}

#[test]
fn must_gather_loads_and_plans_as_a_directory_and_as_a_tar_gz() {
    let dir_plan = must_gather_plan(&must_gather());
    assert_eq!(dir_plan["cluster"]["openshift"], true);
    assert_eq!(dir_plan["summary"]["failingPods"], 4, "{dir_plan}");
    let findings: Vec<&str> = dir_plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or(""))
        .collect();
    assert!(findings.contains(&"pull-secret-not-propagated"), "{findings:?}");

    // Packed as `tar czf must-gather.tar.gz must-gather/` would.
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("must-gather.tar.gz");
    let file = std::fs::File::create(&archive).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all("must-gather", must_gather()).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    assert_eq!(must_gather_plan(&archive), dir_plan);
}
