//! `remedy explain` on a live cluster, as a user runs it (`--kubeconfig`, `-n`): the real
//! binary against the test API over HTTP, compared with the explain of a snapshot of the same
//! objects.

mod common;
mod support;

use common::*;
use serde_json::Value;

/// Each failing pod of a plan, once.
fn failing_pods(plan: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["subjects"].as_array().unwrap().iter())
        .filter(|s| s["kind"] == "Pod")
        .map(|s| {
            (
                s["namespace"].as_str().unwrap().to_string(),
                s["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn explain_live_equals_explain_of_a_snapshot_of_the_same_objects() {
    let mut compared = 0;
    for seed in [
        "seed-000-global-pull-secret",
        "seed-001-plain-http",
        "seed-002-untrusted-ca",
        "seed-003-icr-namespace",
        "seed-004-marketplace",
    ] {
        let front = support::front_for(&root().join("examples").join(seed));
        let kubeconfig = front.kubeconfig().display().to_string();
        let dump = support::dump_state(&front).display().to_string();
        let plan = remedy(&["plan", "--snapshot", &dump, "-o", "json"]);
        let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
        let pods = failing_pods(&plan);
        assert!(!pods.is_empty(), "{seed}: no failing pod");
        // The first and the last failing pod: enough to cover each seed's findings.
        for (ns, pod) in [pods.first().unwrap(), pods.last().unwrap()] {
            let target = format!("pod/{pod}");
            let live = remedy(&["explain", &target, "-n", ns, "--kubeconfig", &kubeconfig]);
            let snap = remedy(&["explain", &target, "-n", ns, "--snapshot", &dump]);
            assert_eq!(live.code, 0, "{seed} {ns}/{pod}: {}", live.stderr);
            assert_eq!(snap.code, 0, "{seed} {ns}/{pod}: {}", snap.stderr);
            let live_json = remedy(&["explain", &target, "-n", ns, "--kubeconfig", &kubeconfig, "-o", "json"]);
            let live_json: Value = serde_json::from_str(&live_json.stdout).unwrap();
            let skipped: Vec<&Value> = live_json["failures"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|f| f["rules"].as_array().unwrap().iter())
                .filter(|r| r["outcome"] == "skipped")
                .collect();
            if skipped.is_empty() {
                assert_eq!(
                    live.stdout, snap.stdout,
                    "{seed} {ns}/{pod}: live and snapshot explain differ"
                );
            } else {
                // A rule whose API the cluster does not serve is skipped live, as `plan` skips
                // it, and says why; every other line is the same.
                for r in &skipped {
                    assert!(
                        r["detail"].as_str().unwrap().contains("does not serve the API group"),
                        "{seed}: {r}"
                    );
                }
                let ids: Vec<String> = skipped
                    .iter()
                    .map(|r| format!("{} (", r["rule"].as_str().unwrap()))
                    .collect();
                let keep = |text: &str| -> String {
                    let mut out = String::new();
                    let mut dropping = false;
                    for line in text.lines() {
                        if !line.starts_with(' ') && !line.is_empty() {
                            dropping = ids
                                .iter()
                                .any(|id| line[line.find(' ').map_or(0, |i| i + 1)..].starts_with(id.as_str()));
                        }
                        if !dropping {
                            out.push_str(line);
                            out.push('\n');
                        }
                    }
                    out
                };
                assert_eq!(keep(&live.stdout), keep(&snap.stdout), "{seed} {ns}/{pod}");
            }
            assert!(live.stdout.contains(&format!("pod {ns}/{pod}")), "{}", live.stdout);
            compared += 1;
        }
    }
    assert_eq!(compared, 10);
}

#[test]
fn explain_live_names_a_pod_without_failing_pulls_and_refuses_all_namespaces() {
    let front = support::front_for(&root().join("examples/seed-003-icr-namespace"));
    let kubeconfig = front.kubeconfig().display().to_string();
    let r = remedy(&["explain", "pod/nosuch", "-n", "shop", "--kubeconfig", &kubeconfig]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("pod shop/nosuch has no failing image pull in the cluster (fake)"),
        "{}",
        r.stderr
    );
    let r = remedy(&["explain", "pod/x", "-A", "--kubeconfig", &kubeconfig]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not -A/--all-namespaces"), "{}", r.stderr);
    // Without -n, the kubeconfig context's namespace, as kubectl takes it.
    let in_shop = front.dir().join("shop-kubeconfig");
    std::fs::write(
        &in_shop,
        support::fake_api::http::kubeconfig_text(&front.url(), "fake", support::fake_api::http::TOKEN)
            .replace("namespace: default", "namespace: shop"),
    )
    .unwrap();
    let target = "pod/frontend-7c9d6b5f48-2xkqp";
    let r = remedy(&["explain", target, "--kubeconfig", &in_shop.display().to_string()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("pod shop/frontend-7c9d6b5f48-2xkqp"),
        "{}",
        r.stdout
    );
    let r = remedy(&["explain", target, "--kubeconfig", &kubeconfig]);
    assert_eq!(r.code, 1, "the context's namespace is `default`: {}", r.stdout);
    assert!(
        r.stderr
            .contains("pod default/frontend-7c9d6b5f48-2xkqp has no failing image pull"),
        "{}",
        r.stderr
    );
    // A snapshot and a kubeconfig are two sources: clap refuses the pair.
    let ex = example("seed-003-icr-namespace");
    let r = remedy(&["explain", "pod/x", "--snapshot", &ex, "--kubeconfig", &kubeconfig]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("cannot be used with"), "{}", r.stderr);
}
