//! The plan as people and files receive it: hostile characters from the cluster, `--out`
//! in shared directories.

mod common;
use common::*;
use serde_json::json;

const HOSTILE: &str = "\x1b]0;owned\x07\x1b[2J\r✓ nothing to do\u{202e}txt.exe\u{9b}";

fn hostile_snapshot(dir: &std::path::Path) -> String {
    let image = "mirror.corp.example:5000/apps/web:3";
    let msg = format!(
        "Failed to pull image \"{image}\": rpc error: code = Unknown desc = pinging container registry \
         mirror.corp.example:5000: Get \"https://mirror.corp.example:5000/v2/\": x509: certificate signed by unknown authority {HOSTILE}"
    );
    let pod = json!({"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":"web-1","namespace":"apps","uid":"u1","creationTimestamp":"2025-01-01T00:00:00Z"},
        "spec":{"serviceAccountName":"default","containers":[{"name":"web","image":image}]},
        "status":{"phase":"Pending","containerStatuses":[{"name":"web","image":image,"ready":false,"restartCount":0,
            "state":{"waiting":{"reason":"ErrImagePull","message":msg}}}]}});
    let event = json!({"apiVersion":"v1","kind":"Event","metadata":{"name":"e1","namespace":"apps"},
        "involvedObject":{"kind":"Pod","name":"web-1","namespace":"apps","uid":"u1"},
        "reason":"Failed","type":"Warning","count":2,"message":msg,
        "firstTimestamp":"2025-01-01T00:00:00Z","lastTimestamp":"2025-01-01T00:10:00Z"});
    let path = dir.join("hostile.json");
    std::fs::write(
        &path,
        json!({"apiVersion":"v1","kind":"List","items":[pod, event]}).to_string(),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn control_and_bidi_characters_are_escaped_for_people_and_kept_for_machines() {
    let dir = tempfile::tempdir().unwrap();
    let snap = hostile_snapshot(dir.path());
    let r = remedy(&["plan", "--snapshot", &snap]);
    assert!(matches!(r.code, 2 | 3), "{}", r.stderr);
    for c in ['\x1b', '\x07', '\r', '\u{202e}', '\u{9b}'] {
        assert!(!r.stdout.contains(c), "{c:?} reached the terminal:\n{}", r.stdout);
    }
    assert!(r.stdout.contains("\\x1b]0;owned\\x07"), "shown escaped:\n{}", r.stdout);
    assert!(r.stdout.contains("\\u{202e}"), "{}", r.stdout);
    // No forged line: the fake "nothing to do" never starts a line.
    assert!(!r.stdout.lines().any(|l| l.starts_with('✓')), "{}", r.stdout);
    // JSON and YAML keep the message exactly.
    let (_, plan) = {
        let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
        (r.code, serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap())
    };
    assert!(plan.to_string().contains("owned"));
    let messages: Vec<&str> = plan["findings"][0]["evidence"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert!(messages.iter().any(|m| m.contains(HOSTILE)), "{messages:?}");
    let r = remedy(&["plan", "--snapshot", &snap, "-o", "yaml"]);
    let yaml: serde_json::Value = serde_yaml::from_str(&r.stdout).unwrap();
    assert!(
        yaml.to_string()
            .contains(&serde_json::to_string(HOSTILE).unwrap()[1..20])
    );
}

#[test]
fn out_never_follows_a_planted_symlink_and_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let shared = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let planted = shared.path().join("plan.json");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    // A planted name for the old predictable temporary file, too.
    let pid_guess = shared.path().join(".plan.json.remedy-1.tmp");
    std::os::unix::fs::symlink(&victim, &pid_guess).unwrap();
    let o = planted.display().to_string();
    let r = remedy(&[
        "plan",
        "--snapshot",
        &example("seed-004-marketplace"),
        "-o",
        "json",
        "--out",
        &o,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious",
        "the link target is untouched"
    );
    let meta = std::fs::symlink_metadata(&planted).unwrap();
    assert!(meta.file_type().is_file(), "the plan replaced the link");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "plan files are private");
    assert!(
        std::fs::read_to_string(&planted)
            .unwrap()
            .contains("\"kind\": \"Plan\"")
    );
    // A fresh file is private as well.
    let fresh = shared.path().join("fresh.json");
    let o = fresh.display().to_string();
    remedy(&["plan", "--snapshot", &example("healthy"), "-o", "json", "--out", &o]);
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A directory is an error, and nothing is written.
    let d = shared.path().display().to_string();
    let r = remedy(&["plan", "--snapshot", &example("healthy"), "--out", &d]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
}

#[test]
fn input_flags_for_no_rule_or_without_a_value_are_refused() {
    let snap = example("seed-000-global-pull-secret");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "\n").unwrap();
    let auth = dir.path().join("auth.json");
    std::fs::write(&auth, r#"{"auths":{}}"#).unwrap();
    let empty_file = format!("registry_auth={}", empty.display());
    let typo = format!("registy_auth={}", auth.display());
    for (args, expected) in [
        (vec!["--set", "bogus=1"], "no rule asks for an input `bogus`"),
        (vec!["--set-file", typo.as_str()], "did you mean `registry_auth`?"),
        (vec!["--set", "samples_registry="], "the value is empty"),
        (vec!["--set", "=v"], "the input name is empty"),
        (vec!["--set-file", empty_file.as_str()], "is empty"),
        (
            vec!["--set", "registry_auth=x"],
            "give it with --set-file registry_auth=PATH",
        ),
    ] {
        let mut all = vec!["plan", "--snapshot", snap.as_str()];
        all.extend(&args);
        let r = remedy(&all);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(expected), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "no plan is printed: {}", r.stdout);
    }
    let ok = format!("registry_auth={}", auth.display());
    let r = remedy(&[
        "plan",
        "--snapshot",
        &snap,
        "--set-file",
        &ok,
        "--set",
        "samples_registry=m:5000",
    ]);
    assert!(matches!(r.code, 2 | 3), "known inputs are accepted: {}", r.stderr);
}

/// Runs remedy on a pseudo-terminal `cols` wide (util-linux `script`), with `env` added.
fn on_terminal(args: &str, cols: usize, env: &[(&str, &str)]) -> String {
    let bin = assert_cmd::cargo::cargo_bin("remedy");
    let cmd = format!("stty cols {cols}; {} {args}", bin.display());
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .env_remove("RUST_LOG")
        .env("TERM", "xterm");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("util-linux `script` runs");
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}

fn strip_ansi(s: &str) -> String {
    regex::Regex::new("\x1b\\[[0-9;]*m")
        .unwrap()
        .replace_all(s, "")
        .into_owned()
}

#[test]
fn colour_follows_the_terminal_and_its_conventions() {
    let snap = example("seed-004-marketplace");
    let args = format!("plan --snapshot {snap}");
    assert!(on_terminal(&args, 100, &[]).contains("\x1b["), "a terminal gets colour");
    for (env, why) in [
        (vec![("TERM", "dumb")], "TERM=dumb"),
        (vec![("NO_COLOR", "1")], "NO_COLOR"),
    ] {
        assert!(!on_terminal(&args, 100, &env).contains('\x1b'), "{why} means no colour");
    }
    assert!(!on_terminal(&format!("{args} --color=never"), 100, &[]).contains('\x1b'));
    assert!(!on_terminal(&format!("{args} --no-color"), 100, &[]).contains('\x1b'));
    // Not a terminal: no colour, unless asked for; the logs follow the same choice.
    let r = remedy(&["plan", "--snapshot", &snap, "-vv"]);
    assert!(!r.stdout.contains('\x1b') && !r.stderr.contains('\x1b'), "{}", r.stderr);
    assert!(
        r.stderr.contains("DEBUG") || r.stderr.contains("INFO"),
        "logs were written: {}",
        r.stderr
    );
    let r = remedy(&["plan", "--snapshot", &snap, "-vv", "--color=always"]);
    assert!(r.stdout.contains("\x1b[") && r.stderr.contains("\x1b["));
    let r = remedy(&["plan", "--snapshot", &snap, "-vv", "--color=always", "--no-color"]);
    assert!(!r.stdout.contains('\x1b') && !r.stderr.contains('\x1b'));
}

#[test]
fn the_page_follows_the_terminal_width_with_a_minimum() {
    let snap = example("seed-004-marketplace");
    let args = format!("plan --snapshot {snap} --no-color");
    let widest = |text: &str| text.lines().map(|l| strip_ansi(l).chars().count()).max().unwrap_or(0);
    let narrow = on_terminal(&args, 72, &[]);
    assert!(widest(&narrow) <= 72 && widest(&narrow) > 60, "{narrow}");
    let wide = on_terminal(&args, 160, &[]);
    assert!(widest(&wide) > 100, "a wide terminal gets wide lines:\n{wide}");
    // COLUMNS wins, and a tiny width is raised to the minimum.
    let r = remedy_env(&["plan", "--snapshot", &snap], &[("COLUMNS", "80")]);
    assert!(widest(&r) <= 80 && widest(&r) > 70, "{r}");
    let tiny = remedy_env(&["plan", "--snapshot", &snap], &[("COLUMNS", "10")]);
    let minimum = remedy_env(&["plan", "--snapshot", &snap], &[("COLUMNS", "60")]);
    assert_eq!(tiny, minimum, "a tiny width is raised to the minimum");
    assert_ne!(minimum, remedy_env(&["plan", "--snapshot", &snap], &[]));
}

fn remedy_env(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = assert_cmd::Command::cargo_bin("remedy").unwrap();
    c.args(args).env("NO_COLOR", "1").env_remove("RUST_LOG");
    for (k, v) in env {
        c.env(k, v);
    }
    String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
}
