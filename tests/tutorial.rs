//! docs/rule-authoring.md: the commands it shows work as it says, on the files it includes.

mod common;
use common::*;

const XRAY: &str = "failed to pull and unpack image \"artifactory.corp.example/docker-remote/library/nginx:1.25\": failed to copy: httpReadSeeker: failed open: unexpected status code https://artifactory.corp.example/v2/docker-remote/library/nginx/blobs/sha256:4f1c: 403 Forbidden - Server message: unknown: Artifact download request rejected: docker-remote:library/nginx/1.25 was not downloaded due to the download blocking policy configured in Xray for docker-remote.";
const PHRASE: &str = "Artifact download request rejected: docker-remote:library/nginx/1.25 was not downloaded due to the download blocking policy configured in Xray for docker-remote.";

#[test]
fn the_tutorial_includes_the_real_files() {
    let doc = std::fs::read_to_string(root().join("docs/rule-authoring.md")).unwrap();
    for f in ["artifactory-xray-blocked.yaml", "artifactory-xray-blocked.test.yaml"] {
        let text = std::fs::read_to_string(root().join("docs/tutorial").join(f)).unwrap();
        assert!(
            doc.contains(&text),
            "docs/rule-authoring.md includes docs/tutorial/{f} verbatim"
        );
    }
    assert!(doc.contains(XRAY), "the message shown is the one tested");
}

#[test]
fn step_1_the_bundled_rules_misfile_the_failure() {
    let r = remedy(&["rules", "match", XRAY]);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["category"], "auth", "{v}");
}

#[test]
fn step_2_the_scaffold_lints_clean_and_passes_its_test() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("my-rules");
    std::fs::create_dir(&d).unwrap();
    let ds = d.display().to_string();
    let r = remedy(&[
        "rules",
        "new",
        "artifactory-xray-blocked",
        "--category",
        "policy-rejected",
        "--dir",
        &ds,
        "--message",
        PHRASE,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = remedy(&["rules", "lint", &ds]);
    assert_eq!(r.code, 0, "the scaffold lints clean: {}", r.stdout);
    let r = remedy(&["rules", "test", &ds]);
    assert_eq!(r.code, 0, "the scaffold's test passes: {}", r.stdout);
    assert!(r.stdout.contains("2 cases in 1 files"), "{}", r.stdout);
    // The scaffold validates against the schemas its modelines name, written beside it.
    for (file, schema) in [
        ("artifactory-xray-blocked.yaml", "playbook.schema.json"),
        ("artifactory-xray-blocked.test.yaml", "test.schema.json"),
    ] {
        let text = std::fs::read_to_string(d.join(file)).unwrap();
        assert!(
            text.starts_with(&format!("# yaml-language-server: $schema={schema}")),
            "{file}"
        );
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join(schema)).unwrap()).unwrap();
        let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        let v = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
    // Never overwrites.
    let again = remedy(&["rules", "new", "artifactory-xray-blocked", "--dir", &ds]);
    assert_eq!(again.code, 1);
    // A broken regex in it is a diagnostic with its code and file.
    let rule = d.join("artifactory-xray-blocked.yaml");
    let text = std::fs::read_to_string(&rule).unwrap();
    std::fs::write(&rule, text.replace("contains: 'Artifact", "regex: '(Artifact")).unwrap();
    let r = remedy(&["rules", "lint", &ds]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("error[invalid-regex]"), "{}", r.stdout);
    assert!(r.stdout.contains("artifactory-xray-blocked.yaml:"), "{}", r.stdout);
}

#[test]
fn steps_3_and_4_the_finished_rule_lints_clean_and_passes() {
    let dir = root().join("docs/tutorial").display().to_string();
    let r = remedy(&["rules", "lint", &dir]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = remedy(&["rules", "test", &dir]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("2 cases in 1 files"), "{}", r.stdout);
    // Without `supersedes`, lint names the overlapping bundled rules.
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("docs/tutorial/artifactory-xray-blocked.yaml")).unwrap();
    let start = text.find("  supersedes:").unwrap();
    let end = text.find("  groupBy:").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]);
    std::fs::write(tmp.path().join("r.yaml"), without).unwrap();
    let r = remedy(&["rules", "lint", &tmp.path().display().to_string()]);
    assert_eq!(r.code, 4, "{}", r.stdout);
    assert!(r.stdout.contains("warning[overlaps-bundled]"), "{}", r.stdout);
}

#[test]
fn rules_explain_tells_a_rule_in_prose() {
    let dir = root().join("docs/tutorial").display().to_string();
    let r = remedy(&["rules", "explain", "artifactory-xray-blocked", "--rules", &dir]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for want in [
        "artifactory-xray-blocked (policy-rejected, high severity)",
        "It matches a failing pull when:\n  - the message contains \"download blocking policy configured in Xray\"",
        "It fires when:\n  - always, once it matches\n  and then the other rules step aside: credentials-rejected,",
        "It would:\n  1. ask a person to: unblock {{ failure.image }} in Xray, or use a fixed image (2 steps)",
        "Risk: none: every step is manual",
    ] {
        assert!(r.stdout.contains(want), "missing {want:?} in:\n{}", r.stdout);
    }
    let r = remedy(&["rules", "explain", "plain-http-registry-openshift"]);
    assert!(
        r.stdout.contains("the message shows symptom `plain-http-registry`"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("`imageCfg` reads image.config.openshift.io/cluster"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("  - not imageCfg.registryInsecure"), "{}", r.stdout);
    // Marked `disruptive: true` in the rule (the engine would infer it from registrySources too).
    assert!(r.stdout.contains("lists {{ failure.registry }}; blocked unless not imageCfg.degradedPools; DISRUPTIVE (drains and reboots nodes)"), "{}", r.stdout);
    assert!(r.stdout.contains("of them can drain and reboot nodes"), "{}", r.stdout);
    let r = remedy(&["rules", "explain", "plain-http-registry-openshfit"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("did you mean `plain-http-registry-openshift`"),
        "{}",
        r.stderr
    );
}
