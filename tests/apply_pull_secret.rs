//! Do no harm: merging registries into an existing pull secret keeps everything remedy does
//! not model (`credHelpers`, `credsStore`, unknown keys, unknown fields of entries), and no
//! value ever reaches an output.

mod common;
mod support;

use base64::Engine as _;
use serde_json::{Value, json};
use support::fake_api::Builder;
use support::fake_api::http::{HttpFront, TOKEN};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const NS: &str = "openshift-marketplace";

fn config_of(secret: &Value) -> Value {
    let data = secret["data"][".dockerconfigjson"].as_str().unwrap();
    serde_json::from_slice(&B64.decode(data).unwrap()).unwrap()
}

fn with_config(mut secret: Value, config: &Value) -> Value {
    secret["data"][".dockerconfigjson"] = json!(B64.encode(config.to_string()));
    secret
}

/// What the existing target secret holds before apply.
fn planted() -> Value {
    json!({
        "auths": {"mirror.local:5000": {
            "auth": B64.encode("robot:PLANTED-MIRROR-PASSWORD"),
            "identitytoken": "PLANTED-IDENTITY-TOKEN",
            "x-unknown": {"deep": [1, 2.5, "PLANTED-DEEP"]},
        }},
        "credHelpers": {"gcr.io": "gcloud", "123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"},
        "credsStore": "secretservice",
        "x-top": {"k": "PLANTED-TOP"},
    })
}

#[test]
fn a_merge_into_an_existing_pull_secret_keeps_every_field_it_does_not_model() {
    let mut objects = support::fake_api::seed::load(&common::root().join("examples/seed-004-marketplace")).unwrap();
    // The global secret's entries carry a field remedy does not model: copied as they are.
    let global = objects
        .iter_mut()
        .find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == "pull-secret")
        .unwrap();
    let mut source = config_of(global);
    source["auths"]["registry.redhat.io"]["x-src-field"] = json!("PLANTED-SRC-FIELD");
    *global = with_config(global.clone(), &source);
    let target = with_config(
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "pull-secret", "namespace": NS}, "data": {}}),
        &planted(),
    );
    objects.push(target);
    let f = HttpFront::start(Builder::default().objects(objects).token(TOKEN).openshift());
    let kc = f.kubeconfig().display().to_string();

    let plan = common::remedy(&["plan", "--kubeconfig", &kc, "-o", "json"]);
    let p: Value = serde_json::from_str(&plan.stdout).unwrap();
    let copy = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "copySecret")
        .expect("a copy into the existing secret");
    assert_eq!(copy["status"], "pending", "{copy}");
    let human = common::remedy(&["plan", "--kubeconfig", &kc]);

    let report = f.dir().join("report.json");
    let r = common::remedy(&[
        "apply",
        "--kubeconfig",
        &kc,
        "--yes",
        "--report",
        &report.display().to_string(),
        "--backup-dir",
        &f.dir().join("b").display().to_string(),
    ]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let rep: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let merged_write = rep["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "copySecret")
        .unwrap();
    assert_eq!(merged_write["result"], "applied");
    assert_eq!(merged_write["writes"][0]["verb"], "json-patch", "a merge, not a create");

    let after = f.block_on(f.api.get("v1", "Secret", Some(NS), "pull-secret")).unwrap();
    let now = config_of(&after);
    let before = planted();
    for key in ["credHelpers", "credsStore", "x-top"] {
        assert_eq!(now[key], before[key], "{key} kept");
    }
    assert_eq!(
        now["auths"]["mirror.local:5000"], before["auths"]["mirror.local:5000"],
        "the existing entry kept whole"
    );
    for registry in source["auths"].as_object().unwrap().keys() {
        assert_eq!(
            now["auths"][registry], source["auths"][registry],
            "{registry} copied as the source writes it"
        );
    }
    assert_eq!(
        now.as_object().unwrap().len(),
        before.as_object().unwrap().len(),
        "no key added or dropped at the top: {:?}",
        now.as_object().unwrap().keys().collect::<Vec<_>>()
    );

    let data = after["data"][".dockerconfigjson"].as_str().unwrap().to_string();
    let rep_text = std::fs::read_to_string(&report).unwrap();
    for (what, text) in [
        ("plan", &plan.stdout),
        ("plan stderr", &plan.stderr),
        ("human plan", &human.stdout),
        ("apply", &r.stdout),
        ("apply stderr", &r.stderr),
        ("report", &rep_text),
    ] {
        assert!(!text.contains("PLANTED"), "a value leaked into the {what}");
        assert!(!text.contains(&data[..40]), "secret data leaked into the {what}");
    }
    // Re-running changes nothing.
    f.api.clear_log();
    let r = common::remedy(&["apply", "--kubeconfig", &kc, "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(f.api.writes(), 0);
}
