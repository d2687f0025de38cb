//! `remedy explain pod/NAME`: every rule considered for one pod, snapshot-tested on each seed.

mod common;
use common::*;

const SEEDS: &[&str] = &[
    "seed-000-global-pull-secret",
    "seed-001-plain-http",
    "seed-002-untrusted-ca",
    "seed-003-icr-namespace",
    "seed-004-marketplace",
];

/// The first failing pod of the seed's plan.
fn first_pod(seed: &str) -> (String, String) {
    let (_, plan) = plan_json(seed, &[]);
    let s = plan["findings"][0]["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "Pod")
        .unwrap()
        .clone();
    (
        s["namespace"].as_str().unwrap().into(),
        s["name"].as_str().unwrap().into(),
    )
}

#[test]
fn explain_output_for_each_seed() {
    // Every bundled playbook, however many there are.
    let list: serde_json::Value = serde_json::from_str(&remedy(&["rules", "list", "-o", "json"]).stdout).unwrap();
    let playbooks = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "Playbook")
        .count();
    assert!(playbooks >= 29);
    for seed in SEEDS {
        let (ns, pod) = first_pod(seed);
        let ex = example(seed);
        let target = format!("pod/{pod}");
        let r = remedy(&["explain", &target, "-n", &ns, "--snapshot", &ex]);
        assert_eq!(r.code, 0, "{seed}: {}", r.stderr);
        assert!(!r.stdout.contains("PLANTED"), "{seed}: a secret value leaked");
        let stdout = r.stdout.replace(&ex, "EXAMPLE");
        insta::assert_snapshot!(format!("explain-{seed}"), stdout);
        // Every bundled playbook is accounted for, matched or not.
        let j = remedy(&["explain", &target, "-n", &ns, "--snapshot", &ex, "-o", "json"]);
        assert!(!j.stdout.contains("PLANTED"));
        let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
        let rules = v["failures"][0]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), playbooks, "{seed}");
        assert!(rules.iter().any(|r| r["outcome"] == "confirmed"), "{seed}");
        assert!(
            rules
                .iter()
                .filter(|r| r["matched"] == false)
                .all(|r| !r["whyNot"].as_array().unwrap().is_empty()),
            "{seed}: every unmatched rule says why"
        );
    }
}

#[test]
fn explain_names_conditions_and_action_reasons() {
    let ex = example("seed-003-icr-namespace");
    let r = remedy(&[
        "explain",
        "pod/frontend-7c9d6b5f48-2xkqp",
        "-n",
        "shop",
        "--snapshot",
        &ex,
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let rules = v["failures"][0]["rules"].as_array().unwrap();
    let by = |id: &str| rules.iter().find(|r| r["rule"] == id).unwrap();
    let confirmed = by("pull-secret-not-propagated");
    assert!(
        confirmed["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["value"] == "true")
    );
    let a = &confirmed["actions"][0];
    assert_eq!(
        (a["type"].as_str(), a["status"].as_str()),
        (Some("copySecret"), Some("satisfied"))
    );
    assert!(a["reason"].as_str().unwrap().contains("already holds"), "{a}");
    let ruled = by("pod-predates-pull-secret-link");
    assert_eq!(ruled["outcome"], "ruled-out");
    assert_eq!(ruled["conditions"][0]["value"], "false");
    assert_eq!(ruled["conditions"][1]["value"], "not evaluated");
    assert!(ruled["probes"]["podSecrets"].is_object());
    let unmatched = by("registry-dns-failure");
    assert_eq!(unmatched["matched"], false);
    assert!(
        unmatched["whyNot"][0]
            .as_str()
            .unwrap()
            .contains("needs symptom dns-failure"),
        "{unmatched}"
    );
}

#[test]
fn explain_rejects_a_pod_without_a_failure() {
    let ex = example("seed-003-icr-namespace");
    let r = remedy(&["explain", "pod/nope", "-n", "shop", "--snapshot", &ex]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("pod shop/nope has no failing image pull"),
        "{}",
        r.stderr
    );
    let r = remedy(&["explain", "deployment/x", "--snapshot", &ex]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("`pod/NAME`"), "{}", r.stderr);
}

#[test]
fn the_human_plan_says_why_a_rule_was_ruled_out_and_points_to_explain() {
    let ex = example("seed-003-icr-namespace");
    let r = remedy(&["plan", "--snapshot", &ex]);
    let flat = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("pod-predates-pull-secret-link (ruled out: podSecrets.needsRecreate is false)"),
        "{}",
        r.stdout
    );
    assert!(
        flat.contains("why: remedy explain pod/frontend-7c9d6b5f48-2xkqp -n shop"),
        "{}",
        r.stdout
    );
}
