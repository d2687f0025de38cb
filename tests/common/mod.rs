//! Running the real binary.
#![allow(dead_code)]

use std::path::PathBuf;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn example(name: &str) -> String {
    root().join("examples").join(name).display().to_string()
}

pub fn remedy(args: &[&str]) -> Run {
    remedy_stdin(args, "")
}

pub fn remedy_stdin(args: &[&str], stdin: &str) -> Run {
    let out = assert_cmd::Command::cargo_bin("remedy")
        .unwrap()
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("COLUMNS")
        .env("NO_COLOR", "1")
        .write_stdin(stdin.to_string())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `remedy plan -o json` on an example, parsed.
pub fn plan_json(example_name: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let ex = example(example_name);
    let mut args = vec!["plan", "--snapshot", ex.as_str(), "-o", "json"];
    args.extend_from_slice(extra);
    let r = remedy(&args);
    assert!(r.code != 1 && r.code != 101, "plan failed ({}): {}", r.code, r.stderr);
    (r.code, serde_json::from_str(&r.stdout).expect("plan output is JSON"))
}

pub fn finding<'a>(plan: &'a serde_json::Value, rule: &str) -> &'a serde_json::Value {
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no finding of rule {rule}: {:#}", plan["findings"]))
}

pub fn actions_of<'a>(plan: &'a serde_json::Value, finding: &serde_json::Value) -> Vec<&'a serde_json::Value> {
    let ids: Vec<&str> = finding["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| ids.contains(&a["id"].as_str().unwrap()))
        .collect()
}

pub fn pods(finding: &serde_json::Value) -> Vec<String> {
    finding["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "Pod")
        .map(|s| format!("{}/{}", s["namespace"].as_str().unwrap(), s["name"].as_str().unwrap()))
        .collect()
}
