//! Requests per plan do not grow with the cluster: the same lists for 10 and 1,000
//! namespaces. The numbers are recorded in docs/performance.md (run with `--nocapture`).

mod support;

use std::collections::BTreeMap;

use remedy::inputs::Inputs;
use serde_json::Value;
use support::fake_api::FakeApi;

fn state(pods: usize, events: usize, namespaces: usize) -> Vec<Value> {
    let mut out = Vec::new();
    remedy::bench::generate(
        &mut out,
        &remedy::bench::GenOptions {
            pods,
            events,
            namespaces,
            failing_percent: 10,
        },
    )
    .unwrap();
    let list: Value = serde_json::from_slice(&out).unwrap();
    list["items"].as_array().unwrap().clone()
}

/// Requests of one plan, by verb, and the number of failing pods found.
async fn plan_requests(namespaces: usize) -> (BTreeMap<String, usize>, Vec<String>, usize) {
    let api = FakeApi::builder()
        .openshift()
        .objects(state(2_000, 2_000, namespaces))
        .build()
        .await;
    let live = api.live().await;
    let (rules, diags) = remedy::load::load(&remedy::load::LoadOptions {
        paths: vec![],
        bundled: true,
    });
    assert!(!diags.has_errors());
    let ev = remedy::engine::evaluate(&rules, &live, &Inputs::default())
        .await
        .unwrap();
    let mut by_verb = BTreeMap::new();
    for l in api.log() {
        *by_verb.entry(l.verb.clone()).or_insert(0) += 1;
    }
    // First pages only: later pages of a list are that list, not another one.
    let lists: Vec<String> = api
        .log()
        .iter()
        .filter(|l| l.verb == "list" && l.param("continue").is_none())
        .map(|l| l.path.clone())
        .collect();
    assert_eq!(api.writes(), 0);
    (by_verb, lists, ev.failures.len())
}

#[tokio::test]
async fn the_lists_of_a_plan_do_not_grow_with_namespaces() {
    let (small, small_lists, small_failures) = plan_requests(10).await;
    let (large, large_lists, large_failures) = plan_requests(1_000).await;
    println!("10 namespaces: {small:?}, {small_failures} failures; lists: {small_lists:?}");
    println!("1000 namespaces: {large:?}, {large_failures} failures; lists: {large_lists:?}");
    assert_eq!(small_lists, large_lists, "the same collections are listed");
    // More objects can take more pages (500 items each): 1,000 service accounts are two.
    assert!(large["list"] - small["list"] <= 2, "{small:?} {large:?}");
    assert_eq!(small.get("discovery"), large.get("discovery"));
    assert!(small_lists.iter().all(|p| !p.contains("/namespaces/")));
    assert_eq!(small_failures, large_failures);
}
