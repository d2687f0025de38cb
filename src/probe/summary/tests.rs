use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::cluster::Object;

fn obj(v: Value) -> Object {
    Object::from_value(v).unwrap()
}

#[test]
fn source_entries() {
    assert!(source_entry_matches("quay.io", "quay.io"));
    assert!(source_entry_matches("quay.io/openshift-release-dev", "quay.io"));
    assert!(source_entry_matches("*.example.com", "reg.example.com"));
    assert!(!source_entry_matches("*.example.com", "example.com"));
    assert!(!source_entry_matches("reg:5000", "reg:5001"));
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A Secret holding credentials for `keys` under `key`, of type `ty`.
fn secret(name: &str, ty: &str, key: &str, keys: &[&str]) -> Object {
    let auths: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| (k.to_string(), json!({"username": "u", "password": "PLANTED-SECRET-x"})))
        .collect();
    let cfg = if key == ".dockercfg" {
        Value::Object(auths).to_string()
    } else {
        json!({ "auths": auths }).to_string()
    };
    obj(
        json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":name,"namespace":"apps"},
               "type": ty, "data": { key: b64(&cfg) }}),
    )
}

fn pull(name: &str, keys: &[&str]) -> Object {
    secret(name, "kubernetes.io/dockerconfigjson", ".dockerconfigjson", keys)
}

fn pod_with(secrets: &[&str], owner: Option<(&str, &str)>) -> Object {
    let mut v = json!({"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":"web-1","namespace":"apps","labels":{"pod-template-hash":"5f8b7d9c6"}},
        "spec":{"serviceAccountName":"builder","containers":[{"name":"web","image":"quay.io/team/app:1"}]}});
    if !secrets.is_empty() {
        v["spec"]["imagePullSecrets"] = json!(secrets.iter().map(|n| json!({"name": n})).collect::<Vec<_>>());
    }
    if let Some((kind, name)) = owner {
        v["metadata"]["ownerReferences"] = json!([{"apiVersion":"apps/v1","kind":kind,"name":name,"controller":true}]);
    }
    obj(v)
}

fn sa_with(secrets: &[&str]) -> Object {
    obj(
        json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"builder","namespace":"apps"},
               "imagePullSecrets": secrets.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()}),
    )
}

fn probe(pod: &Object, sa: Option<&Object>, secrets: &[&Object], template: Option<&[String]>) -> Value {
    let mut map: BTreeMap<String, Option<&Object>> = BTreeMap::new();
    for n in pod_pull_secret_names(pod)
        .into_iter()
        .chain(sa.map(sa_pull_secret_names).unwrap_or_default())
    {
        map.insert(n.clone(), secrets.iter().copied().find(|s| s.name == n));
    }
    pull_secrets(pod, sa, &map, "quay.io", Some("quay.io/team/app:1"), template)
}

#[test]
fn pod_secrets_decide_and_path_keys_count() {
    let team = pull("team", &["quay.io/team"]);
    let other = pull("other", &["quay.io/other"]);
    let pod = pod_with(&["team"], None);
    let sa = sa_with(&["team"]);
    let v = probe(&pod, Some(&sa), &[&team], None);
    assert_eq!(v["covers"], true, "{v:#}");
    assert_eq!(v["covering"], json!(["team"]));
    assert_eq!(v["lookup"], "quay.io/team/app");
    assert_eq!(v["needsRecreate"], false);
    assert_eq!(v["ownPullSecrets"], false);
    // The same key does not cover another repository of the registry.
    let pod = pod_with(&["other"], None);
    let v = probe(&pod, Some(&sa_with(&["other"])), &[&other], None);
    assert_eq!(v["covers"], false);
    assert_eq!(v["secrets"][0]["registries"], json!(["quay.io/other"]));
    // Without an image only keys without a path count.
    let mut map = BTreeMap::new();
    map.insert("team".to_string(), Some(&team));
    let v = pull_secrets(&pod_with(&["team"], None), None, &map, "quay.io", None, None);
    assert_eq!(v["covers"], false);
    assert_eq!(v["lookup"], "quay.io");
}

#[test]
fn service_account_secret_linked_after_the_pod_was_created() {
    let base = pull("base", &["gcr.io"]);
    let team = pull("team", &["quay.io"]);
    // The pod got `base` from its service account; `team` was linked later.
    let pod = pod_with(&["base"], None);
    let sa = sa_with(&["base", "team"]);
    let v = probe(&pod, Some(&sa), &[&base, &team], None);
    assert_eq!(v["covers"], false);
    assert_eq!(v["serviceAccountCovers"], true);
    assert_eq!(v["serviceAccountCovering"], json!(["team"]));
    assert_eq!(v["ownPullSecrets"], false);
    assert_eq!(v["needsRecreate"], true);
    // A pod with no pull secret at all, same account.
    let v = probe(&pod_with(&[], None), Some(&sa), &[&base, &team], None);
    assert_eq!(v["needsRecreate"], true);
    assert_eq!(v["fromPod"], json!([]));
}

#[test]
fn a_pod_with_its_own_list_never_gets_the_accounts() {
    let quay = pull("quay-old", &["gcr.io"]);
    let team = pull("team", &["quay.io"]);
    let sa = sa_with(&["team"]);
    // No template known: the pod lists a secret its account does not.
    let pod = pod_with(&["quay-old"], Some(("ReplicaSet", "web-5f8b7d9c6")));
    let v = probe(&pod, Some(&sa), &[&quay, &team], None);
    assert_eq!(v["ownPullSecrets"], true);
    assert_eq!(v["ownPullSecretsFrom"], "pod");
    assert_eq!(v["serviceAccountCovers"], true);
    assert_eq!(v["needsRecreate"], false, "recreating it would not help");
    // The template decides when it is known.
    let tmpl = vec!["quay-old".to_string()];
    let v = probe(&pod, Some(&sa), &[&quay, &team], Some(&tmpl));
    assert_eq!(v["ownPullSecretsFrom"], "template");
    assert_eq!(v["needsRecreate"], false);
    // A template without pull secrets: whatever the pod has came from admission.
    let v = probe(&pod, Some(&sa), &[&quay, &team], Some(&[]));
    assert_eq!(v["ownPullSecrets"], false);
    assert_eq!(v["needsRecreate"], true);
    assert_eq!(
        OwnSecrets::of(&["a".into()], &["a".into(), "b".into()], None),
        OwnSecrets::No
    );
}

#[test]
fn only_pull_secret_types_count() {
    let opaque = secret("regcred", "Opaque", ".dockerconfigjson", &["quay.io"]);
    let mixed = secret("mixed", "kubernetes.io/dockercfg", ".dockerconfigjson", &["quay.io"]);
    let legacy = secret("legacy", "kubernetes.io/dockercfg", ".dockercfg", &["quay.io"]);
    assert!(docker_config(&opaque).is_none());
    assert!(docker_config(&mixed).is_none());
    assert!(docker_config(&legacy).is_some());
    assert!(misfiled_config(&opaque).is_some());
    assert!(misfiled_config(&legacy).is_none());
    let pod = pod_with(&["regcred", "mixed"], None);
    let v = probe(&pod, None, &[&opaque, &mixed], None);
    assert_eq!(v["covers"], false);
    assert_eq!(v["wrongType"], json!(["mixed", "regcred"]));
    assert_eq!(v["secrets"][1]["kubeletReads"], false);
    assert_eq!(v["secrets"][1]["wrongType"], true);
    assert_eq!(v["secrets"][1]["registries"], json!([]));
    let v = probe(&pod_with(&["legacy"], None), None, &[&legacy], None);
    assert_eq!(v["covers"], true);
    assert_eq!(v["wrongType"], json!([]));
    // Redacted views never show values, whatever the type.
    let shown = redacted(&opaque).to_string();
    assert!(!shown.contains("PLANTED-SECRET-"), "{shown}");
}

#[test]
fn missing_secrets_are_listed() {
    let v = probe(&pod_with(&["gone"], None), None, &[], None);
    assert_eq!(v["missing"], json!(["gone"]));
    assert_eq!(v["secrets"][0]["exists"], false);
}

fn owned(kind: &str, name: &str, owner: Option<(&str, &str, bool)>, extra: Value) -> Object {
    let mut v = json!({"apiVersion":"apps/v1","kind":kind,"metadata":{"name":name,"namespace":"apps"}});
    if let Some((k, n, c)) = owner {
        v["metadata"]["ownerReferences"] = json!([{"apiVersion":"apps/v1","kind":k,"name":n,"controller":c}]);
    }
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    obj(v)
}

#[test]
fn owners_restartable() {
    let rs = pod_with(&[], Some(("ReplicaSet", "a-1")));
    assert_eq!(owner(&rs, &[])["restartable"], true);
    let cat = obj(
        json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n",
        "ownerReferences":[{"apiVersion":"operators.coreos.com/v1alpha1","kind":"CatalogSource","name":"c","controller":false}]}}),
    );
    let o = owner(&cat, &[]);
    assert_eq!(o["restartable"], true);
    assert_eq!(o["olmManaged"], true);
    let bare = obj(json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n"}}));
    assert_eq!(owner(&bare, &[])["restartable"], false);
    assert_eq!(owner(&bare, &[])["top"], Value::Null);
    let stat = obj(
        json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n",
        "annotations":{"kubernetes.io/config.mirror":"x"},
        "ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","controller":true}]}}),
    );
    assert_eq!(owner(&stat, &[])["restartable"], false);
}

#[test]
fn top_controller_through_the_chain() {
    let pod = pod_with(&[], Some(("ReplicaSet", "web-5f8b7d9c6")));
    let tmpl = json!({"spec":{"template":{"spec":{"imagePullSecrets":[{"name":"quay"}]}}}});
    let rs = owned(
        "ReplicaSet",
        "web-5f8b7d9c6",
        Some(("Deployment", "web", true)),
        tmpl.clone(),
    );
    let dep = owned("Deployment", "web", None, tmpl.clone());
    let o = owner(&pod, &[&rs, &dep]);
    assert_eq!(o["kind"], "ReplicaSet");
    assert_eq!(o["top"]["kind"], "Deployment");
    assert_eq!(o["top"]["name"], "web");
    assert_eq!(o["top"]["found"], true);
    assert_eq!(o["chain"], json!(["ReplicaSet/web-5f8b7d9c6", "Deployment/web"]));
    assert_eq!(o["templatePullSecrets"], json!(["quay"]));
    assert_eq!(o["templatePath"], "spec.template.spec.imagePullSecrets");
    assert_eq!(o["templateEditable"], true);
    // Neither object captured: the Deployment is inferred from pod-template-hash.
    let o = owner(&pod, &[]);
    assert_eq!(o["top"]["kind"], "Deployment");
    assert_eq!(o["top"]["found"], false);
    assert_eq!(o["top"]["inferred"], true);
    assert_eq!(o["templatePullSecrets"], Value::Null);
    assert_eq!(o["templateEditable"], false);
    // A bare ReplicaSet is its own top.
    let lone = owned("ReplicaSet", "web-5f8b7d9c6", None, tmpl.clone());
    let o = owner(&pod, &[&lone]);
    assert_eq!(o["top"]["kind"], "ReplicaSet");
    assert_eq!(o["templateEditable"], true);
    // OLM owns the Deployment (a ClusterServiceVersion reference, not a controller).
    let olm_dep = owned(
        "Deployment",
        "web",
        Some(("ClusterServiceVersion", "web.v1", false)),
        tmpl.clone(),
    );
    let o = owner(&pod, &[&rs, &olm_dep]);
    assert_eq!(o["top"]["kind"], "Deployment", "a CSV is not a controller");
    assert_eq!(o["olmManaged"], true);
    assert_eq!(o["templateEditable"], false);
    // A Job's template cannot change; a CronJob's can, at another path.
    let job_pod = pod_with(&[], Some(("Job", "nightly-290")));
    let job = owned("Job", "nightly-290", Some(("CronJob", "nightly", true)), tmpl.clone());
    let cron = owned(
        "CronJob",
        "nightly",
        None,
        json!({"spec":{"jobTemplate":{"spec":{"template":{"spec":{}}}}}}),
    );
    let o = owner(&job_pod, &[&job, &cron]);
    assert_eq!(o["top"]["kind"], "CronJob");
    assert_eq!(
        o["templatePath"],
        "spec.jobTemplate.spec.template.spec.imagePullSecrets"
    );
    assert_eq!(o["templatePullSecrets"], json!(["quay"]), "the Job made the pod");
    assert_eq!(template_pull_secrets(&cron), Some(vec![]));
    let o = owner(&job_pod, &[&owned("Job", "nightly-290", None, tmpl)]);
    assert_eq!(o["top"]["kind"], "Job");
    assert_eq!(o["templateEditable"], false);
}

#[test]
fn openshift_signs() {
    let ns = obj(json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"apps",
        "annotations":{"openshift.io/sa.scc.mcs":"s0:c26,c5","openshift.io/description":""}}}));
    assert!(openshift_sign(&ns).unwrap().contains("openshift.io/sa.scc.mcs"));
    let plain_ns = obj(json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"apps",
        "annotations":{"scheduler.alpha.kubernetes.io/node-selector":""}}}));
    assert_eq!(openshift_sign(&plain_ns), None);
    assert!(!plain_ns.is_parsed(), "no `openshift.io/` in its text: never parsed");
    let pod = obj(
        json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a",
        "annotations":{"openshift.io/scc":"anyuid"}}}),
    );
    assert!(openshift_sign(&pod).is_some());
    let dockercfg = obj(
        json!({"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/dockercfg",
        "metadata":{"name":"default-dockercfg-fh6pn","namespace":"openshift-marketplace",
        "annotations":{"openshift.io/internal-registry-auth-token.binding":"bound"}}}),
    );
    assert!(
        openshift_sign(&dockercfg)
            .unwrap()
            .contains("internal-registry-auth-token")
    );
    let legacy = obj(
        json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"default-dockercfg-x7k2n",
        "namespace":"test","annotations":{"openshift.io/token-secret.name":"default-token-abcde"}}}),
    );
    assert!(openshift_sign(&legacy).is_some());
    // A pull secret merely named like OpenShift's is no sign.
    let lookalike = obj(
        json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"app-dockercfg-12345",
        "namespace":"apps","annotations":{"kubernetes.io/service-account.name":"app"}}}),
    );
    assert_eq!(openshift_sign(&lookalike), None);
    let global = obj(
        json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"pull-secret","namespace":"openshift-config"}}),
    );
    assert!(openshift_sign(&global).is_some());
    let cat = obj(
        json!({"apiVersion":"operators.coreos.com/v1alpha1","kind":"CatalogSource",
        "metadata":{"name":"redhat-operators","namespace":"openshift-marketplace"}}),
    );
    assert!(openshift_sign(&cat).is_some());
    // OLM on plain Kubernetes keeps its catalogs in `olm`.
    let olm = obj(
        json!({"apiVersion":"operators.coreos.com/v1alpha1","kind":"CatalogSource",
        "metadata":{"name":"operatorhubio-catalog","namespace":"olm"}}),
    );
    assert_eq!(openshift_sign(&olm), None);
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

fn sorted(fields: &[&'static str]) -> Vec<&'static str> {
    let mut f = fields.to_vec();
    f.sort();
    f
}

#[test]
fn declared_fields_match_every_variant() {
    let pod = obj(
        json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n",
        "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"a-1","controller":true}]}}),
    );
    let bare = obj(json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"n"}}));
    assert_eq!(keys(&owner(&pod, &[])), sorted(OWNER_FIELDS));
    assert_eq!(keys(&owner(&bare, &[])), sorted(OWNER_FIELDS));
    let cfg = obj(json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"}}));
    // The probe adds the MachineConfigPools to every image-config summary.
    let probed = |cfg: Option<&Object>| {
        let mut v = image_config(cfg, "r");
        add_pools(&mut v, &[]);
        v
    };
    assert_eq!(keys(&probed(Some(&cfg))), sorted(IMAGE_CONFIG_FIELDS));
    assert_eq!(keys(&probed(None)), sorted(IMAGE_CONFIG_FIELDS));
    assert_eq!(keys(&trusted_ca(Some(&cfg), None, "r")), sorted(TRUSTED_CA_FIELDS));
    assert_eq!(keys(&trusted_ca(None, None, "r")), sorted(TRUSTED_CA_FIELDS));
    assert_eq!(
        keys(&pull_secrets(&bare, None, &BTreeMap::new(), "r", None, None)),
        sorted(PULL_SECRETS_FIELDS)
    );
    let secret = obj(json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"n"},"data":{}}));
    assert_eq!(keys(&redacted(&secret)), sorted(SECRET_FIELDS));
}

#[test]
fn image_config_allow_list() {
    let cfg = obj(
        json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"},
        "spec":{"registrySources":{"allowedRegistries":["quay.io"],"insecureRegistries":["reg:5000"]}}}),
    );
    let s = image_config(Some(&cfg), "reg:5000");
    assert_eq!(s["registryInsecure"], true);
    assert_eq!(s["registryAllowed"], false);
    let s = image_config(None, "reg:5000");
    assert_eq!(s["registryAllowed"], true);
}

#[test]
fn degraded_pools() {
    let pool = |name: &str, degraded: &str| {
        std::sync::Arc::new(obj(
            json!({"apiVersion":"machineconfiguration.openshift.io/v1","kind":"MachineConfigPool",
            "metadata":{"name":name},"status":{"machineCount":3,"degradedMachineCount":2,"conditions":[
            {"type":"NodeDegraded","status":degraded,"message":"Node w1 is reporting: \"failed to drain node\""},
            {"type":"Degraded","status":degraded,"message":""}]}}),
        ))
    };
    let mut v = json!({});
    add_pools(&mut v, &[pool("worker", "True"), pool("master", "False")]);
    assert_eq!(v["degradedPools"], json!(["worker"]));
    assert_eq!(v["machineConfigPools"][1]["name"], "worker");
    assert!(
        v["machineConfigPools"][1]["message"]
            .as_str()
            .unwrap()
            .contains("failed to drain")
    );
    assert_eq!(v["machineConfigPools"][0]["degraded"], false);
}
