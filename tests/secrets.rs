//! Secrets never leak: every credential in the examples carries `PLANTED-SECRET-`, and no
//! output, log or error may contain it, nor any Secret's raw base64 data.

mod common;
use common::*;
use std::path::Path;

const MARKER: &str = "PLANTED-SECRET";

/// Every value under `data` of every Secret in the examples, as written (base64).
fn secret_data_values(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            secret_data_values(&p, out);
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let docs: Vec<serde_json::Value> = match p.extension().and_then(|x| x.to_str()) {
            Some("json") => vec![serde_json::from_str(&text).unwrap()],
            Some("yaml" | "yml") => serde_yaml::Deserializer::from_str(&text)
                .filter_map(|d| serde::Deserialize::deserialize(d).ok())
                .collect(),
            _ => vec![],
        };
        for d in docs {
            collect(&d, out);
        }
    }
}

fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
    if v["kind"] == "Secret" {
        for (_, val) in v["data"].as_object().into_iter().flatten() {
            if let Some(s) = val.as_str().filter(|s| s.len() >= 16) {
                out.push(s.to_string());
            }
        }
    }
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| collect(x, out)),
        _ => {}
    }
}

fn assert_clean(what: &str, text: &str, data: &[String]) {
    assert!(!text.contains(MARKER), "{what} leaks a planted secret");
    for d in data {
        assert!(!text.contains(d.as_str()), "{what} leaks raw Secret data");
        // Chunks of it, too (a prefix is already a leak).
        assert!(!text.contains(&d[..16]), "{what} leaks part of a Secret's data");
    }
}

#[test]
fn the_examples_really_hold_planted_secrets() {
    let mut data = Vec::new();
    secret_data_values(&root().join("examples"), &mut data);
    assert!(data.len() >= 10, "the leak test needs secrets to find: {}", data.len());
    let mut raw = String::new();
    for ex in std::fs::read_dir(root().join("examples")).unwrap() {
        let p = ex.unwrap().path();
        if p.is_dir() {
            raw.push_str(
                &std::process::Command::new("grep")
                    .args(["-r", MARKER])
                    .arg(&p)
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default(),
            );
        }
    }
    assert!(raw.contains(MARKER), "plain-text planted secrets (annotations) exist");
}

#[test]
fn no_output_format_or_log_level_leaks_a_secret() {
    let mut data = Vec::new();
    secret_data_values(&root().join("examples"), &mut data);
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    // A planted credential given as input, in a real docker config.json.
    std::fs::write(
        &auth,
        r#"{"auths":{"registry.oss2.fu.igotit.co.kr:5000":{"username":"u","password":"PLANTED-SECRET-input-1","auth":"dTpQTEFOVEVELVNFQ1JFVC1pbnB1dC0x"}}}"#,
    )
    .unwrap();
    let set_file = format!("registry_auth={}", auth.display());
    for ex in [
        "seed-000-global-pull-secret",
        "seed-001-plain-http",
        "seed-002-untrusted-ca",
        "seed-003-icr-namespace",
        "seed-004-marketplace",
        "healthy",
    ] {
        let path = example(ex);
        for format in ["human", "json", "yaml"] {
            for verbosity in ["", "-vv"] {
                let mut args = vec!["plan", "--snapshot", &path, "-o", format, "--set-file", &set_file];
                if verbosity == "-vv" {
                    args.push("-vv");
                }
                let r = remedy(&args);
                assert!(r.code == 0 || r.code == 2 || r.code == 3, "{ex}: {}", r.stderr);
                assert_clean(&format!("{ex} -o {format} {verbosity} stdout"), &r.stdout, &data);
                assert_clean(&format!("{ex} -o {format} {verbosity} stderr"), &r.stderr, &data);
            }
        }
    }
}

#[test]
fn a_bad_input_file_is_reported_without_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    std::fs::write(&auth, "password=PLANTED-SECRET-not-json").unwrap();
    let set_file = format!("registry_auth={}", auth.display());
    let r = remedy(&[
        "plan",
        "--snapshot",
        &example("seed-000-global-pull-secret"),
        "-o",
        "json",
        "--set-file",
        &set_file,
    ]);
    assert_eq!(r.code, 3);
    assert!(r.stdout.contains("is not a docker config.json"), "{}", r.stdout);
    assert!(!r.stdout.contains(MARKER) && !r.stderr.contains(MARKER));
}

#[test]
fn debug_output_of_inputs_hides_values() {
    let mut inputs = remedy::inputs::Inputs::default();
    inputs.insert("registry_auth", "PLANTED-SECRET-debug", "auth.json");
    let shown = format!("{inputs:?}");
    assert!(!shown.contains(MARKER), "{shown}");
    assert!(shown.contains("auth.json"));
}
