//! Finding the cluster as kubectl does: `--kubeconfig`, the files of `KUBECONFIG` merged,
//! `~/.kube/config`, and `--context`.

mod common;
mod support;

use std::path::Path;

use serde_json::Value;
use support::fake_api::FakeApi;
use support::fake_api::http::{HttpFront, TOKEN};

struct Run {
    code: i32,
    plan: Value,
    stderr: String,
}

/// `remedy plan -o json ARGS` with only the given environment for finding a kubeconfig.
fn plan(args: &[&str], kubeconfig_env: Option<&str>, home: &Path) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("remedy").unwrap();
    cmd.arg("plan").args(args).args(["-o", "json"]);
    cmd.env_remove("RUST_LOG").env_remove("KUBECONFIG").env("HOME", home);
    cmd.env_remove("KUBERNETES_SERVICE_HOST");
    if let Some(k) = kubeconfig_env {
        cmd.env("KUBECONFIG", k);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        plan: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn source(r: &Run) -> String {
    assert!(r.plan.is_object(), "no plan: {}", r.stderr);
    assert_eq!(r.plan["source"]["kind"], "live");
    r.plan["source"]["name"].as_str().unwrap().to_string()
}

#[test]
fn kubeconfig_files_merge_and_context_selects() {
    let a = HttpFront::start(FakeApi::builder().token(TOKEN));
    let b = HttpFront::start(FakeApi::builder().token(TOKEN));
    let file_a = a.kubeconfig().display().to_string();
    let file_b = b.write_kubeconfig("b.yaml", "two", TOKEN).display().to_string();
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("missing").display().to_string();
    let list = std::env::join_paths([&file_a, &missing, &file_b])
        .unwrap()
        .into_string()
        .unwrap();

    // The first file's current context wins; a missing file in the list is skipped.
    let r = plan(&[], Some(&list), home.path());
    assert_eq!(source(&r), format!("fake ({})", a.url()));
    assert!(a.api.log().iter().any(|l| l.verb == "list"));
    // A context from the second file.
    let r = plan(&["--context", "two"], Some(&list), home.path());
    assert_eq!(source(&r), format!("two ({})", b.url()));
    // --kubeconfig uses that file only, whatever KUBECONFIG says.
    let r = plan(&["--kubeconfig", &file_b], Some(&file_a), home.path());
    assert_eq!(source(&r), format!("two ({})", b.url()));
    // A context no file has.
    let r = plan(&["--context", "nope"], Some(&list), home.path());
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("context `nope`") && r.stderr.contains("fake, two"),
        "{}",
        r.stderr
    );
}

#[test]
fn without_kubeconfig_the_home_config_is_used() {
    let b = HttpFront::start(FakeApi::builder().token(TOKEN));
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".kube")).unwrap();
    std::fs::copy(b.kubeconfig(), home.path().join(".kube/config")).unwrap();
    let r = plan(&[], None, home.path());
    assert_eq!(source(&r), format!("fake ({})", b.url()));
}

#[test]
fn no_kubeconfig_and_no_cluster_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let r = plan(&[], None, home.path());
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("no kubeconfig"), "{}", r.stderr);
    let r = plan(&["--kubeconfig", "/nonexistent/kubeconfig"], None, home.path());
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("/nonexistent/kubeconfig"), "{}", r.stderr);
}
