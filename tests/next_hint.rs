//! The `next` hint of the human plan reproduces the run: pasted, it gives the same plan.

mod common;
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
    assert!(human.code == 2 || human.code == 3, "{}", human.stderr);
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
fn the_hint_keeps_rules_no_bundled_and_set_with_secrets_as_placeholders() {
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
        &[("api_token=VALUE", "api_token=PLANTED-HINT")],
    );
    assert!(hint.contains("--no-bundled"), "{hint}");
    assert!(hint.contains("--set mirror=mirror.example:5000"), "{hint}");
    assert!(hint.contains("--set api_token=VALUE"), "{hint}");
    assert!(!hint.contains("PLANTED"), "{hint}");
}
