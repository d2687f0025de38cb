//! The `next` hint of the human plan reproduces the run: pasted, it gives the same plan.

mod common;
mod support;
use common::*;

/// The commands under the `next` lines (continuation lines joined).
fn hint_commands(human: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in human.lines() {
        let starts = line.starts_with("      remedy ");
        let continues = cur.is_some() && line.starts_with("          ");
        if starts || continues {
            let rest = line.trim();
            let (text, more) = match rest.strip_suffix(" \\") {
                Some(t) => (t, true),
                None => (rest, false),
            };
            let c = cur.get_or_insert_with(String::new);
            if !c.is_empty() {
                c.push(' ');
            }
            c.push_str(text);
            if !more {
                out.push(cur.take().unwrap());
            }
            continue;
        }
        if let Some(c) = cur.take() {
            out.push(c);
        }
    }
    out
}

/// Words as a POSIX shell splits them (single and double quotes, `'\''`), up to a redirect.
fn shell_split(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '>' if !in_word => break,
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Run `remedy plan ARGS`, take the first hint, run it as JSON and compare with the run's JSON.
fn hint_reproduces(args: &[&str], substitute: &[(&str, &str)]) -> String {
    let human = remedy(&[&["plan"], args].concat());
    assert!(matches!(human.code, 2..=4), "{}", human.stderr);
    let mut json_args = vec!["plan"];
    json_args.extend_from_slice(args);
    json_args.extend_from_slice(&["-o", "json"]);
    let first = remedy(&json_args);
    let hints = hint_commands(&human.stdout);
    let hint = hints
        .first()
        .unwrap_or_else(|| panic!("a command under next: {}", human.stdout))
        .clone();
    let mut words = shell_split(&hint);
    assert_eq!(&words[..2], ["remedy", "plan"], "{hint}");
    for w in words.iter_mut() {
        for (placeholder, value) in substitute {
            *w = w.replace(placeholder, value);
        }
    }
    // The pending hint saves JSON already; others get it added.
    if !words.iter().any(|w| w == "-o") {
        words.extend(["-o".to_string(), "json".to_string()]);
    }
    let again = remedy(&words[1..].iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(again.code, first.code, "{hint}: {}", again.stderr);
    assert_eq!(again.stdout, first.stdout, "pasting `{hint}` gives another plan");
    hint
}

#[test]
fn the_hint_keeps_set_file() {
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    std::fs::write(
        &auth,
        r#"{"auths":{"registry.oss2.fu.igotit.co.kr:5000":{"auth":"dTpQTEFOVEVE"}}}"#,
    )
    .unwrap();
    let snap = example("seed-000-global-pull-secret");
    let file = format!("registry_auth={}", auth.display());
    let hint = hint_reproduces(&["--snapshot", &snap, "--set-file", &file], &[]);
    assert!(hint.contains("--set-file registry_auth="), "{hint}");
    assert!(!hint.contains("dTpQTEFOVEVE"), "never a file's content: {hint}");
}

#[test]
fn the_hint_keeps_rules_no_bundled_and_set_with_every_value_a_placeholder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("snap.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: apps}\n\
         spec: {containers: [{name: web, image: \"quay.io/acme/web:1\"}]}\n\
         status: {containerStatuses: [{name: web, image: quay.io/acme/web:1, state: {waiting: {reason: ErrImagePull, message: zz-hint}}}]}\n",
    )
    .unwrap();
    // The ConfigMap's value comes from --set, so a plan without it differs.
    std::fs::write(
        dir.path().join("my rules.yaml"),
        "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: hint-test, title: t, category: other}\n\
         spec:\n  match:\n    message: { contains: zz-hint }\n  actions:\n    - ensureObject:\n        manifest:\n\
         \x20         {apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, namespace: apps}, data: {mirror: \"{{ params.mirror }}\"}}\n\
         \x20     requires: [mirror, api_token]\n",
    )
    .unwrap();
    let snap = dir.path().join("snap.yaml").display().to_string();
    let rules = dir.path().join("my rules.yaml").display().to_string();
    let hint = hint_reproduces(
        &[
            "--snapshot",
            &snap,
            "--rules",
            &rules,
            "--no-bundled",
            "--set",
            "mirror=mirror.example:5000",
            "--set",
            "api_token=PLANTED-HINT",
        ],
        &[
            ("api_token=VALUE", "api_token=PLANTED-HINT"),
            ("mirror=VALUE", "mirror=mirror.example:5000"),
        ],
    );
    assert!(hint.contains("--no-bundled"), "{hint}");
    // No --set value is ever printed, whether or not its name looks like a credential's.
    assert!(hint.contains("--set mirror=VALUE"), "{hint}");
    assert!(hint.contains("--set api_token=VALUE"), "{hint}");
    assert!(!hint.contains("PLANTED") && !hint.contains("mirror.example"), "{hint}");
}

/// A rule whose plan has a pending action (so the hint has a command) and whose explanation
/// says whether the registry was asked: a hint without `--probe-registries` plans otherwise.
const PROBE_RULE: &str = "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\n\
metadata: {name: hint-probe, title: t, category: other}\n\
spec:\n  match:\n    message: { contains: zz-hint }\n  probes:\n    - name: registry\n\
\x20     registry: { pod: \"{{ failure.namespace }}/{{ failure.pod }}\", image: \"{{ failure.image }}\" }\n\
\x20 explain: \"asked the registry: {{ registry.probed }}\"\n  actions:\n    - ensureObject:\n        manifest:\n\
\x20         {apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, namespace: \"{{ failure.namespace }}\"}, data: {a: b}}\n";

/// A failing pod whose image is on a loopback port nothing listens on: the registry probe
/// contacts only 127.0.0.1.
fn probe_pod(ns: &str) -> serde_json::Value {
    serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": ns, "uid": format!("u-{ns}")},
        "spec": {"containers": [{"name": "web", "image": "127.0.0.1:1/acme/web:1"}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "web", "image": "127.0.0.1:1/acme/web:1",
            "state": {"waiting": {"reason": "ErrImagePull", "message": "zz-hint"}}}]}})
}

#[test]
fn the_hint_keeps_strict_max_file_size_and_probe_registries() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rule.yaml");
    std::fs::write(&rules, PROBE_RULE).unwrap();
    let snap = dir.path().join("snap");
    std::fs::create_dir(&snap).unwrap();
    std::fs::write(snap.join("a.json"), probe_pod("apps").to_string()).unwrap();
    // Over the size given below: left out with it, read without it.
    let mut big = probe_pod("big");
    big["metadata"]["annotations"] = serde_json::json!({"pad": "x".repeat(8 << 10)});
    std::fs::write(snap.join("big.json"), big.to_string()).unwrap();
    let (snap, rules) = (snap.display().to_string(), rules.display().to_string());
    let common = ["--snapshot", &snap, "--rules", &rules, "--no-bundled"];
    let hint = hint_reproduces(
        &[&common[..], &["--max-file-size", "4KiB", "--probe-registries"]].concat(),
        &[],
    );
    assert!(
        hint.contains("--max-file-size 4KiB") && hint.contains("--probe-registries"),
        "{hint}"
    );
    // The flags matter: without them the plan differs (so the comparison above could fail).
    let with = remedy(
        &[
            &["plan"],
            &common[..],
            &["--max-file-size", "4KiB", "--probe-registries", "-o", "json"],
        ]
        .concat(),
    );
    let without = remedy(&[&["plan"], &common[..], &["-o", "json"]].concat());
    assert_ne!(with.stdout, without.stdout);
    assert!(with.stdout.contains("asked the registry: True"), "{}", with.stdout);

    std::fs::remove_file(dir.path().join("snap/big.json")).unwrap();
    let hint = hint_reproduces(&[&common[..], &["--strict"]].concat(), &[]);
    assert!(hint.contains("--strict"), "{hint}");
}

#[test]
fn the_hint_of_a_live_plan_keeps_kubeconfig_and_context() {
    use support::fake_api::Builder;
    use support::fake_api::http::HttpFront;
    let f = HttpFront::start(Builder::default().objects([probe_pod("apps")]).token("t-hint"));
    // Two contexts in one file; the current one points at a server that does not exist, so a
    // hint without --context fails.
    let kc = f.dir().join("kubeconfig-two");
    std::fs::write(&kc, two_contexts(&f.url(), "t-hint")).unwrap();
    let rules = f.dir().join("rule.yaml");
    std::fs::write(&rules, PROBE_RULE).unwrap();
    let (kc, rules) = (kc.display().to_string(), rules.display().to_string());
    let hint = hint_reproduces(
        &[
            "--kubeconfig",
            &kc,
            "--context",
            "good",
            "--rules",
            &rules,
            "--no-bundled",
        ],
        &[],
    );
    assert!(
        hint.contains(&format!("--kubeconfig {kc}")) && hint.contains("--context good"),
        "{hint}"
    );
}

/// A kubeconfig with context `good` (the test API) and `bad` (current; a closed loopback port).
fn two_contexts(url: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: good\n  cluster:\n    server: {url}\n\
- name: bad\n  cluster:\n    server: http://127.0.0.1:1\n\
contexts:\n- name: good\n  context: {{cluster: good, user: u}}\n- name: bad\n  context: {{cluster: bad, user: u}}\n\
current-context: bad\nusers:\n- name: u\n  user:\n    token: {token}\n"
    )
}
