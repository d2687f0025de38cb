//! Every `kubectl`/`oc` command a plan prints works when pasted: each is run client-side with a
//! real kubectl, for every example and capture. `patch` runs with `--local` against the object
//! from the snapshot (so a JSON patch that does not apply fails), `create` with
//! `--dry-run=client`; other verbs run against a kubeconfig whose server is a closed loopback
//! port, so kubectl parses every flag and fails only when it tries to connect.
//! `oc` commands are checked with kubectl: `oc patch`/`oc get` take the same arguments.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\n\
clusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}}]\n\
users: [{name: u, user: {token: not-a-token}}]\n\
contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]\n\
current-context: c\n";

/// Words of a shell command line, split into simple commands at `|`, `&&`, `||` and `;`
/// (outside quotes); redirections (`> file`) are dropped.
fn simple_commands(line: &str) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let mut redirect = false;
    let end_word = |cur: &mut String, in_word: &mut bool, out: &mut Vec<Vec<String>>, redirect: &mut bool| {
        if *in_word {
            let w = std::mem::take(cur);
            if *redirect {
                *redirect = false;
            } else {
                out.last_mut().unwrap().push(w);
            }
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => end_word(&mut cur, &mut in_word, &mut out, &mut redirect),
            '\'' | '"' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    cur.push(q);
                }
            }
            '|' | '&' | ';' => {
                end_word(&mut cur, &mut in_word, &mut out, &mut redirect);
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                out.push(Vec::new());
            }
            '>' | '<' => {
                end_word(&mut cur, &mut in_word, &mut out, &mut redirect);
                redirect = true;
            }
            '#' if !in_word => break,
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    end_word(&mut cur, &mut in_word, &mut out, &mut redirect);
    out.retain(|c| !c.is_empty());
    out
}

/// Every object of a snapshot directory (multi-document YAML and JSON, `List`s flattened).
fn objects(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
                files.push(p);
            }
        }
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let Ok(v) = <Value as serde::Deserialize>::deserialize(doc) else {
                continue;
            };
            match v.get("items").and_then(Value::as_array) {
                Some(items) if v["kind"].as_str().is_some_and(|k| k.ends_with("List")) => {
                    out.extend(items.iter().cloned())
                }
                _ if v.is_object() => out.push(v),
                _ => {}
            }
        }
    }
    out
}

/// The object a `kubectl patch` resource argument names: `kind name`, `kind/name`, with a
/// resource (`serviceaccount`, `deployments`, `configs.samples.operator.openshift.io`).
fn find<'a>(objs: &'a [Value], resource: &str, name: &str, ns: Option<&str>) -> Option<&'a Value> {
    let (res, group) = resource.split_once('.').unwrap_or((resource, ""));
    let res = res.to_lowercase();
    objs.iter().find(|o| {
        let kind = o["kind"].as_str().unwrap_or("").to_lowercase();
        let api = o["apiVersion"].as_str().unwrap_or("");
        let o_group = api.rsplit_once('/').map_or("", |(g, _)| g);
        let kind_ok = res == kind || res == format!("{kind}s") || res == format!("{kind}es");
        let short = matches!(
            (res.as_str(), kind.as_str()),
            ("sa", "serviceaccount") | ("cm", "configmap")
        );
        (kind_ok || short)
            && (group.is_empty() || group == o_group)
            && o["metadata"]["name"] == name
            && (ns.is_none() || o["metadata"]["namespace"].as_str() == ns)
    })
}

struct Checked {
    ran: usize,
}

fn kubectl(args: &[String], cwd: &Path, kubeconfig: &Path) -> std::process::Output {
    Command::new("kubectl")
        .args(args)
        .current_dir(cwd)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("kubectl runs (.ci/run installs Debian's kubernetes-client where kubectl is missing)")
}

/// Run one printed command client-side; panic with the command and kubectl's words if it fails.
fn check(line: &str, objs: &[Value], work: &Path, kubeconfig: &Path, checked: &mut Checked) {
    for words in simple_commands(line) {
        if !matches!(words[0].as_str(), "kubectl" | "oc") {
            continue;
        }
        let mut ns: Option<String> = None;
        let mut rest: Vec<String> = Vec::new();
        let mut it = words[1..].iter();
        while let Some(w) = it.next() {
            if w == "-n" || w == "--namespace" {
                ns = it.next().cloned();
            } else if let Some(v) = w.strip_prefix("--namespace=").or_else(|| w.strip_prefix("-n=")) {
                ns = Some(v.to_string());
            } else {
                rest.push(w.clone());
            }
        }
        let verb = rest.first().cloned().unwrap_or_default();
        let mut args: Vec<String> = Vec::new();
        match verb.as_str() {
            "patch" => {
                let target = rest.get(1).cloned().unwrap_or_default();
                let (resource, name, skip) = match target.split_once('/') {
                    Some((r, n)) => (r.to_string(), n.to_string(), 2),
                    None => (target.clone(), rest.get(2).cloned().unwrap_or_default(), 3),
                };
                let obj = find(objs, &resource, &name, ns.as_deref())
                    .unwrap_or_else(|| panic!("`{line}` patches {resource} {name}, which the snapshot does not hold"));
                let file = work.join(format!("object-{}.json", checked.ran));
                std::fs::write(&file, serde_json::to_string(obj).unwrap()).unwrap();
                args.extend([
                    "patch".into(),
                    "-f".into(),
                    file.display().to_string(),
                    "--local".into(),
                ]);
                args.extend(["-o".into(), "json".into()]);
                args.extend(rest[skip.min(rest.len())..].iter().cloned());
            }
            "create" => {
                // Files the command reads (`--from-file=key=./path`) exist when the person runs it.
                for w in &rest {
                    if let Some(spec) = w.strip_prefix("--from-file=") {
                        let path = spec.rsplit_once('=').map_or(spec, |(_, p)| p);
                        std::fs::write(work.join(path), "{\"auths\":{}}").unwrap();
                    }
                }
                if let Some(ns) = &ns {
                    args.extend(["-n".into(), ns.clone()]);
                }
                args.extend(rest.iter().cloned());
                args.extend(["--dry-run=client".into(), "-o".into(), "yaml".into()]);
            }
            _ => {
                if let Some(ns) = &ns {
                    args.extend(["-n".into(), ns.clone()]);
                }
                args.extend(rest.iter().cloned());
                args.push("--request-timeout=2s".into());
            }
        }
        let out = kubectl(&args, work, kubeconfig);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let offline = stderr.contains("127.0.0.1:1") && !stderr.contains("unknown flag");
        let local = matches!(verb.as_str(), "patch" | "create");
        assert!(
            out.status.success() || (!local && offline),
            "printed command fails when pasted:\n  {line}\nkubectl {}\n{stderr}",
            args.join(" ")
        );
        checked.ran += 1;
    }
}

#[test]
fn every_printed_kubectl_command_runs() {
    let version = Command::new("kubectl").args(["version", "--client"]).output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "kubectl is needed: .ci/run installs Debian's kubernetes-client"
    );
    let work = tempfile::tempdir().unwrap();
    let kubeconfig = work.path().join("kubeconfig");
    std::fs::write(&kubeconfig, KUBECONFIG).unwrap();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for parent in ["examples", "tests/data/captures"] {
        for e in std::fs::read_dir(root().join(parent)).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            }
        }
    }
    dirs.sort();
    let mut checked = Checked { ran: 0 };
    let mut seen = 0;
    for dir in &dirs {
        let snap = dir.display().to_string();
        let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
        assert!(r.code != 1 && r.code != 101, "{snap}: {}", r.stderr);
        let plan: Value = serde_json::from_str(&r.stdout).unwrap();
        let objs = objects(dir);
        for a in plan["actions"].as_array().unwrap() {
            for c in a["commands"].as_array().into_iter().flatten() {
                seen += 1;
                check(c.as_str().unwrap(), &objs, work.path(), &kubeconfig, &mut checked);
            }
        }
    }
    // The examples and captures print these kinds of commands: patch (JSON and merge), create.
    assert!(seen >= 17, "commands seen: {seen}");
    assert!(checked.ran >= 13, "kubectl/oc commands run: {}", checked.ran);
}

#[test]
fn the_check_catches_a_patch_that_does_not_apply() {
    // What the service-account link printed before: `add /imagePullSecrets/-` on an account
    // without the list.
    let work = tempfile::tempdir().unwrap();
    let kubeconfig = work.path().join("kubeconfig");
    std::fs::write(&kubeconfig, KUBECONFIG).unwrap();
    let objs = vec![serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "default", "namespace": "team"}})];
    let bad = r#"kubectl -n team patch serviceaccount default --type=json -p '[{"op":"add","path":"/imagePullSecrets/-","value":{"name":"x"}}]'"#;
    let result = std::panic::catch_unwind(|| check(bad, &objs, work.path(), &kubeconfig, &mut Checked { ran: 0 }));
    assert!(result.is_err(), "the broken patch is caught");
    let good = bad.replace(
        r#""/imagePullSecrets/-","value":{"name":"x"}"#,
        r#""/imagePullSecrets","value":[{"name":"x"}]"#,
    );
    check(&good, &objs, work.path(), &kubeconfig, &mut Checked { ran: 0 });
    let flag = "kubectl -n team get events --no-such-flag";
    let result = std::panic::catch_unwind(|| check(flag, &objs, work.path(), &kubeconfig, &mut Checked { ran: 0 }));
    assert!(result.is_err(), "an unknown flag is caught");
}
