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

/// A pod failing in `n` containers (status only: each gets its own manual step), and another
/// pod of one container that fails the same way.
fn many_containers(n: usize) -> tempfile::NamedTempFile {
    let pod = |name: &str, containers: Vec<String>| {
        let status: Vec<_> = containers
            .iter()
            .map(|c| {
                serde_json::json!({"name": c, "image": format!("quay.io/acme/{c}:1"),
                "state": {"waiting": {"reason": "ImagePullBackOff"}}})
            })
            .collect();
        let spec: Vec<_> = containers
            .iter()
            .map(|c| serde_json::json!({"name": c, "image": format!("quay.io/acme/{c}:1")}))
            .collect();
        serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "apps", "uid": format!("u-{name}")},
            "spec": {"containers": spec},
            "status": {"phase": "Pending", "containerStatuses": status}})
    };
    let items = vec![
        pod("big", (0..n).map(|i| format!("c{i:02}")).collect()),
        pod("small", vec!["other".to_string()]),
    ];
    let f = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::fs::write(
        f.path(),
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string(),
    )
    .unwrap();
    f
}

// Each explained container lists its own actions only (they were every action of the finding,
// other pods' too: output that grew with the square of the containers), the first 20 are
// explained and the rest named, and `--container` picks one.
#[test]
fn a_pod_of_many_failing_containers_is_explained_container_by_container() {
    let snap = many_containers(30);
    let path = snap.path().to_str().unwrap();
    let j = remedy(&["explain", "pod/big", "-n", "apps", "--snapshot", path, "-o", "json"]);
    assert_eq!(j.code, 0, "{}", j.stderr);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    let failures = v["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 20);
    let more: Vec<&str> = v["moreContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(more, (20..30).map(|i| format!("c{i}")).collect::<Vec<_>>());
    let mut ids = Vec::new();
    for f in failures {
        let container = f["container"].as_str().unwrap();
        let confirmed: Vec<&serde_json::Value> = f["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["outcome"] == "confirmed")
            .collect();
        assert_eq!(confirmed.len(), 1, "{container}");
        let actions = confirmed[0]["actions"].as_array().unwrap();
        assert_eq!(actions.len(), 1, "{container}: {actions:?}");
        assert!(
            actions[0]["reason"]
                .as_str()
                .unwrap()
                .contains(&format!("quay.io/acme/{container}:1")),
            "{container}: {actions:?}"
        );
        ids.push(actions[0]["id"].as_str().unwrap().to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20, "one action of its own each");
    // The ids are the plan's.
    let plan = remedy(&["plan", "--snapshot", path, "-o", "json"]);
    let p: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let a = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == ids[0].as_str())
        .unwrap();
    assert!(a["description"].as_str().unwrap().contains("quay.io/acme/c"), "{a}");

    let h = remedy(&["explain", "pod/big", "-n", "apps", "--snapshot", path]);
    assert!(
        h.stdout
            .contains("10 more failing containers not explained here: c20, c21")
            && h.stdout.contains("`--container NAME` explains one"),
        "{}",
        h.stdout
    );
    assert_eq!(h.stdout.matches("· container ").count(), 20);

    let one = remedy(&[
        "explain",
        "pod/big",
        "-n",
        "apps",
        "--snapshot",
        path,
        "--container",
        "c25",
    ]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_eq!(one.stdout.matches("· container ").count(), 1);
    assert!(
        one.stdout.contains("pod apps/big · container c25 · quay.io/acme/c25:1"),
        "{}",
        one.stdout
    );
    assert!(!one.stdout.contains("more failing container"));
    let none = remedy(&["explain", "pod/big", "-n", "apps", "--snapshot", path, "-c", "nope"]);
    assert_eq!(none.code, 1);
    assert!(
        none.stderr
            .contains("container nope of pod apps/big has no failing image pull"),
        "{}",
        none.stderr
    );
}
