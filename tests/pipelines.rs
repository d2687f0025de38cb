//! remedy where pipelines and operators run it: as a kubectl plugin (`kubectl remedy ...`, a
//! `kubectl-remedy` link on PATH) and as the Tekton Task of docs/pipelines.md.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::fake_api::Builder;
use support::fake_api::http::{HttpFront, TOKEN};

fn front(example: &str) -> HttpFront {
    let objects = support::fake_api::seed::load(&common::root().join("examples").join(example)).unwrap();
    HttpFront::start(Builder::default().objects(objects).token(TOKEN).openshift())
}

/// A directory holding only `kubectl-remedy`, a link to the built binary, as the install
/// instructions say.
fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("remedy");
    std::os::unix::fs::symlink(&bin, dir.path().join("kubectl-remedy")).unwrap();
    dir
}

fn kubectl(plugins: &Path, args: &[&str]) -> std::process::Output {
    let path = format!("{}:{}", plugins.display(), std::env::var("PATH").unwrap_or_default());
    Command::new("kubectl")
        .args(args)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs (.ci/run installs Debian's kubernetes-client where kubectl is missing)")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn kubectl_finds_the_plugin_and_passes_every_argument() {
    let dir = plugin_dir();
    let list = kubectl(dir.path(), &["plugin", "list"]);
    assert!(
        text(&list.stdout).contains(&dir.path().join("kubectl-remedy").display().to_string()),
        "kubectl plugin list: {}\n{}",
        text(&list.stdout),
        text(&list.stderr)
    );

    // Offline: the same plan as the binary run directly.
    let ex = common::example("seed-004-marketplace");
    let via = kubectl(dir.path(), &["remedy", "plan", "--snapshot", &ex, "-o", "json"]);
    let direct = common::remedy(&["plan", "--snapshot", &ex, "-o", "json"]);
    assert_eq!(via.status.code(), Some(direct.code), "{}", text(&via.stderr));
    assert_eq!(text(&via.stdout), direct.stdout);

    // Against a cluster, with kubectl's own kubeconfig flag passed through to remedy.
    let f = front("seed-004-marketplace");
    let k = f.kubeconfig().display().to_string();
    let via = kubectl(dir.path(), &["remedy", "plan", "--kubeconfig", &k, "-o", "json"]);
    assert_eq!(via.status.code(), Some(2), "{}", text(&via.stderr));
    let plan: Value = serde_json::from_str(&text(&via.stdout)).unwrap();
    assert_eq!(plan["source"]["kind"], "live");
    assert!(!plan["actions"].as_array().unwrap().is_empty());

    // Help names the plugin form, so what it prints can be pasted.
    let help = kubectl(dir.path(), &["remedy", "--help"]);
    assert!(help.status.success(), "{}", text(&help.stderr));
    assert!(text(&help.stdout).contains("Usage:"), "{}", text(&help.stdout));
}

/// The Task of docs/pipelines.md, as Tekton would run it: its declarations are checked (every
/// `$(params.*)`, `$(workspaces.*)`, `$(results.*)` the script uses is declared), Tekton's
/// substitutions are made, and the script runs with `sh`. No Tekton controller runs here, and
/// the test API is reached through a kubeconfig where a pod would use its service account.
#[test]
fn the_documented_tekton_task_runs_and_re_runs() {
    let doc = std::fs::read_to_string(common::root().join("docs/pipelines.md")).unwrap();
    let start = doc.find("```yaml\napiVersion: tekton.dev/v1").expect("the Tekton Task") + 8;
    let task: serde_yaml::Value = serde_yaml::from_str(&doc[start..start + doc[start..].find("```").unwrap()]).unwrap();
    assert_eq!(task["kind"], "Task");
    let names = |key: &str| -> Vec<String> {
        task["spec"][key]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (params, workspaces, results) = (names("params"), names("workspaces"), names("results"));
    let steps = task["spec"]["steps"].as_sequence().unwrap();
    assert_eq!(steps.len(), 1);
    let script = steps[0]["script"].as_str().unwrap();

    let f = front("seed-004-marketplace");
    let out_dir = tempfile::tempdir().unwrap();
    let results_dir = tempfile::tempdir().unwrap();
    let substitute = |script: &str| -> String {
        let mut s = script.to_string();
        let mut refs = Vec::new();
        let mut rest = script;
        while let Some(i) = rest.find("$(") {
            let end = rest[i..].find(')').unwrap();
            refs.push(rest[i + 2..i + end].to_string());
            rest = &rest[i + end..];
        }
        for r in refs {
            let value: PathBuf = match r.split('.').collect::<Vec<_>>()[..] {
                ["params", p] => {
                    assert!(params.contains(&p.to_string()), "undeclared param {p}");
                    // The pipeline's value for `wait`: short, as no controller recreates pods here.
                    PathBuf::from("1s")
                }
                ["workspaces", w, "path"] => {
                    assert!(workspaces.contains(&w.to_string()), "undeclared workspace {w}");
                    out_dir.path().to_path_buf()
                }
                ["results", res, "path"] => {
                    assert!(results.contains(&res.to_string()), "undeclared result {res}");
                    results_dir.path().join(res)
                }
                _ => panic!("Tekton has no variable $({r})"),
            };
            s = s.replace(&format!("$({r})"), &value.display().to_string());
        }
        s
    };
    let script = substitute(script);
    let bin = assert_cmd::cargo::cargo_bin("remedy");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let step = || {
        Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(out_dir.path())
            .env("KUBECONFIG", f.kubeconfig())
            .env("PATH", &path)
            .env("HOME", out_dir.path())
            .env_remove("XDG_STATE_HOME")
            .output()
            .unwrap()
    };
    let result = || std::fs::read_to_string(results_dir.path().join("exit-code")).unwrap();

    let out = step();
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    // Applied, but the restarted pods never come back in the test API: a person must look (3).
    assert_eq!(result(), "3");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.path().join("remedy-report.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["applied"], 9, "{report:#}");

    f.api.clear_log();
    let out = step();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(result(), "0", "the second run finds nothing to do");
    assert_eq!(f.api.writes(), 0, "re-runnable: the second run writes nothing");
}
