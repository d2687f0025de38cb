//! `-n`, `-l`, `--category` and `--rule` narrow the plan before planning: findings, actions
//! and the exit code are only about what was asked.

mod common;
use common::*;

fn rules_and_pods(plan: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), pods(f)))
        .collect()
}

#[test]
fn namespaces_narrow_the_plan() {
    let (code, all) = plan_json("seed-002-untrusted-ca", &[]);
    let f = &all["findings"][0];
    assert!(
        f["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["namespace"] == "openshift")
    );
    let (_, only_apps) = plan_json("seed-002-untrusted-ca", &["-n", "apps"]);
    let subjects = only_apps["findings"][0]["subjects"].as_array().unwrap();
    assert!(
        !subjects.is_empty() && subjects.iter().all(|s| s["namespace"] == "apps"),
        "{subjects:?}"
    );
    let (_, both) = plan_json("seed-002-untrusted-ca", &["-n", "apps", "--namespace", "openshift"]);
    assert_eq!(both["findings"][0]["subjects"], f["subjects"], "repeatable");
    let (none_code, none) = plan_json("seed-002-untrusted-ca", &["-n", "elsewhere"]);
    assert_eq!(none["findings"].as_array().unwrap().len(), 0);
    assert_eq!(none["actions"].as_array().unwrap().len(), 0);
    assert_eq!((code != 0, none_code), (true, 0), "nothing asked about fails: exit 0");
}

#[test]
fn selectors_categories_and_rules_narrow_the_plan() {
    let (_, all) = plan_json("seed-003-icr-namespace", &[]);
    let all = rules_and_pods(&all);
    assert_eq!(all.len(), 2, "{all:?}");
    let (_, front) = plan_json("seed-003-icr-namespace", &["-l", "app.kubernetes.io/name=frontend"]);
    let front = rules_and_pods(&front);
    assert_eq!(front.len(), 1, "{front:?}");
    assert!(front[0].1.iter().all(|p| p.starts_with("shop/frontend-")), "{front:?}");
    let (_, not_front) = plan_json("seed-003-icr-namespace", &["-l", "app.kubernetes.io/name!=frontend"]);
    assert!(
        rules_and_pods(&not_front)
            .iter()
            .all(|(_, p)| p.iter().all(|p| !p.contains("frontend")))
    );

    let (_, auth) = plan_json("seed-003-icr-namespace", &["--category", "auth"]);
    assert_eq!(
        rules_and_pods(&auth)
            .iter()
            .map(|(r, _)| r.as_str())
            .collect::<Vec<_>>(),
        ["pull-secret-not-propagated"]
    );
    let (_, nf) = plan_json("seed-003-icr-namespace", &["--rule", "image-not-found"]);
    let nf_rules: Vec<String> = rules_and_pods(&nf).into_iter().map(|(r, _)| r).collect();
    assert_eq!(nf_rules, ["image-not-found"]);
    assert!(
        nf["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["findings"][0] == nf["findings"][0]["id"]),
        "only that finding's actions"
    );
}

#[test]
fn bad_scopes_are_errors_with_suggestions() {
    let snap = example("healthy");
    for (args, expected) in [
        (vec!["--rule", "image-not-fund"], "did you mean `image-not-found`?"),
        (vec!["--category", "tls-unknown"], "did you mean `tls-unknown-ca`?"),
        (vec!["-l", "a in b"], "--selector `a in b`"),
        (vec!["-n", ""], "--namespace: the name is empty"),
    ] {
        let mut all = vec!["plan", "--snapshot", snap.as_str()];
        all.extend(&args);
        let r = remedy(&all);
        assert_eq!(r.code, 1, "{args:?}");
        assert!(r.stderr.contains(expected), "{args:?}: {}", r.stderr);
    }
}
