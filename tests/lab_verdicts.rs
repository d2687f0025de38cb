//! The bundled rules that let the `registry` probe decide what the cluster state cannot, run
//! against the lab's real registries: once the pull error has expired from the events, plain
//! HTTP versus a private CA versus an expired or wrong-host certificate; and, on a real skopeo
//! denial, credentials missing (the registry asks for them) rather than rejected.

mod common;
mod registry_lab;

use serde_json::{Value, json};

use base64::Engine as _;
use registry_lab::clients::{Pull, kubelet_wrap, skopeo};
use registry_lab::{Kind, Lab, PASSWORD, REPO, USER, finding};

/// A wrong password a pod's pull secret holds: it must never appear in any output.
const WRONG: &str = "PLANTED-SECRET-wrong-7Hd";

/// A pod whose container waits in `reason` with `message`, owned by a StatefulSet.
fn pod(ns: &str, image: &str, reason: &str, message: &str) -> Value {
    json!({"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":"app-0","namespace":ns,"uid":format!("uid-{ns}"),"creationTimestamp":"2025-01-01T00:00:00Z",
            "ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"app","controller":true,"uid":format!("o-{ns}")}]},
        "spec":{"serviceAccountName":"default","containers":[{"name":"app","image":image}]},
        "status":{"phase":"Pending","containerStatuses":[{"name":"app","image":image,"ready":false,"restartCount":0,
            "state":{"waiting":{"reason":reason,"message":message}}}]}})
}

fn sa(ns: &str) -> Value {
    json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":ns}})
}

struct Snapshot {
    _dir: tempfile::TempDir,
    path: String,
}

impl Snapshot {
    fn new(objects: Vec<Value>) -> Snapshot {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("all.json"),
            json!({"apiVersion":"v1","kind":"List","items":objects}).to_string(),
        )
        .unwrap();
        let path = dir.path().display().to_string();
        Snapshot { _dir: dir, path }
    }

    fn plan(&self, extra: &[&str]) -> Value {
        let mut args = vec!["plan", "--snapshot", self.path.as_str(), "-o", "json"];
        args.extend_from_slice(extra);
        let r = common::remedy(&args);
        assert!(r.code != 1 && r.code != 101, "plan failed ({}): {}", r.code, r.stderr);
        for secret in [PASSWORD, WRONG] {
            assert!(
                !r.stdout.contains(secret) && !r.stderr.contains(secret),
                "a credential leaked"
            );
        }
        serde_json::from_str(&r.stdout).unwrap()
    }
}

/// The rules of the findings about the pod in `ns`, sorted.
fn rules_in(plan: &Value, ns: &str) -> Vec<String> {
    let mut out: Vec<String> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subjects"].as_array().unwrap().iter().any(|s| s["namespace"] == ns))
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// The first action of a finding.
fn action_of<'a>(plan: &'a Value, f: &Value) -> &'a Value {
    let id = &f["actions"][0];
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == *id)
        .unwrap_or_else(|| panic!("no action {id}: {f:#}"))
}

fn explanation(f: &Value) -> &str {
    f["explanation"].as_str().unwrap()
}

/// Pods whose pull errors have expired (only `Back-off pulling image` is left), one per lab
/// registry, on OpenShift, with the lab CA trusted for the expired and wrong-host registries
/// (so that the certificate's other fault shows) and not for the TLS one.
#[test]
fn expired_errors_get_the_registrys_own_verdict() {
    if !registry_lab::require(&["docker-registry", "skopeo", "htpasswd", "openssl"]) {
        return;
    }
    let lab = Lab::start();
    let ca = std::fs::read_to_string(&lab.pki.ca).unwrap();
    let backoff = |k: Kind| {
        let image = lab.registry(k).image(REPO, "1.0");
        let msg = format!("Back-off pulling image \"{image}\"");
        (image, msg)
    };
    let cases = [
        ("plain", Kind::Plain),
        ("private-ca", Kind::Tls),
        ("expired", Kind::Expired),
        ("wrong-host", Kind::WrongHost),
    ];
    let mut objects = vec![
        json!({"apiVersion":"config.openshift.io/v1","kind":"ClusterVersion","metadata":{"name":"version"},
            "status":{"desired":{"version":"4.16.3"}}}),
        json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"},
            "spec":{"additionalTrustedCA":{"name":"registry-cas"}}}),
        json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"registry-cas","namespace":"openshift-config"},
        "data":{
            lab.registry(Kind::Expired).host().replace(':', ".."): ca.clone(),
            lab.registry(Kind::WrongHost).host().replace(':', ".."): ca,
        }}),
    ];
    for (ns, kind) in cases {
        let (image, msg) = backoff(kind);
        objects.push(sa(ns));
        objects.push(pod(ns, &image, "ImagePullBackOff", &msg));
    }
    let snap = Snapshot::new(objects);

    // Without the flag the state cannot tell plain HTTP from a private CA: both candidates
    // stand where no CA is trusted, each saying the flag would decide; the certificate's dates
    // and names are unknown, so no finding claims them.
    let without = snap.plan(&[]);
    for ns in ["plain", "private-ca"] {
        assert_eq!(
            rules_in(&without, ns),
            ["registry-ca-untrusted-inferred", "registry-plain-http-inferred"],
            "{ns}: {:#}",
            without["findings"]
        );
        for rule in ["registry-ca-untrusted-inferred", "registry-plain-http-inferred"] {
            let f = finding(&without, rule, ns);
            assert!(explanation(&f).contains("--probe-registries"), "{f:#}");
            assert_eq!(f["evidence"]["probes"]["registry"]["probed"], false, "{f:#}");
        }
    }
    for ns in ["expired", "wrong-host"] {
        assert!(rules_in(&without, ns).is_empty(), "{ns}: {:#}", without["findings"]);
    }

    // With it, one finding per pod, the registry's own verdict, in the documented shape.
    let with = snap.plan(&["--probe-registries"]);
    let plain = lab.registry(Kind::Plain).host();
    let private = lab.registry(Kind::Tls).host();
    let want = [
        (
            "plain",
            "registry-plain-http-inferred",
            "insecure-http",
            "none",
            "answers plain HTTP",
            format!("confirm whether {plain} serves plain HTTP"),
        ),
        (
            "private-ca",
            "registry-ca-untrusted-inferred",
            "tls-unknown-ca",
            "unknown-ca",
            "signed by a CA that neither",
            format!("confirm whether {private}'s certificate comes from a private CA"),
        ),
        (
            "expired",
            "registry-certificate-expired-inferred",
            "tls-expired",
            "expired",
            "expired or not yet valid",
            format!("renew the certificate of {}", lab.registry(Kind::Expired).host()),
        ),
        (
            "wrong-host",
            "registry-certificate-wrong-host-inferred",
            "tls-hostname",
            "wrong-host",
            "does not name 127.0.0.1",
            "issue a certificate for 127.0.0.1".to_string(),
        ),
    ];
    for (ns, rule, category, tls, says, step) in want {
        assert_eq!(rules_in(&with, ns), [rule], "{ns}: {:#}", with["findings"]);
        let f = finding(&with, rule, ns);
        assert_eq!(f["category"], category, "{f:#}");
        let r = &f["evidence"]["probes"]["registry"];
        assert_eq!(
            (&r["probed"], &r["reachable"], &r["tls"]),
            (&json!(true), &json!(true), &json!(tls)),
            "{r:#}"
        );
        assert!(explanation(&f).contains(says), "{ns}: {f:#}");
        assert!(!explanation(&f).contains("--probe-registries"), "{ns}: {f:#}");
        assert_eq!(
            action_of(&with, &f)["description"],
            json!(step),
            "{ns}: {:#}",
            with["actions"]
        );
    }
}

/// A real skopeo denial from the htpasswd registry for a pod with no pull secret: the rule
/// for missing credentials fires, and the registry confirms it asks for credentials (a
/// missing secret is fixed by creating one; rejected credentials would need new ones).
#[test]
fn missing_credentials_are_confirmed_by_the_registry() {
    if !registry_lab::require(&["docker-registry", "skopeo", "htpasswd", "openssl"]) {
        return;
    }
    let lab = Lab::start();
    let basic = lab.registry(Kind::Basic);
    let image = basic.image(REPO, "1.0");
    let denied = skopeo(
        &lab,
        &image,
        &Pull {
            trust_lab_ca: true,
            ..Default::default()
        },
    )
    .expect_err("no credentials");
    // The same through token auth: no pull secret, and one with the wrong password.
    let token = lab.registry(Kind::Token);
    let token_image = token.image(REPO, "1.0");
    let over_http = Pull {
        plain: true,
        ..Default::default()
    };
    let token_none = skopeo(&lab, &token_image, &over_http).expect_err("no credentials");
    let token_wrong = skopeo(
        &lab,
        &token_image,
        &Pull {
            creds: Some((USER.to_string(), WRONG.to_string())),
            ..over_http.clone()
        },
    )
    .expect_err("wrong credentials");
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let ca = std::fs::read_to_string(&lab.pki.ca).unwrap();
    let mut wrong_pod = pod(
        "token-wrong",
        &token_image,
        "ErrImagePull",
        &kubelet_wrap(&token_image, &token_wrong),
    );
    wrong_pod["spec"]["imagePullSecrets"] = json!([{"name": "robot"}]);
    let snap = Snapshot::new(vec![
        sa("token-none"),
        pod(
            "token-none",
            &token_image,
            "ErrImagePull",
            &kubelet_wrap(&token_image, &token_none),
        ),
        sa("token-wrong"),
        json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"robot","namespace":"token-wrong"},
            "type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson": b64(&json!({"auths":{
                token.host(): {"username": USER, "password": WRONG}}}).to_string())}}),
        wrong_pod,
        // The lab CA is trusted through OpenShift's additionalTrustedCA, which the probe
        // reads, so that it gets past TLS to the credentials.
        json!({"apiVersion":"config.openshift.io/v1","kind":"ClusterVersion","metadata":{"name":"version"},
            "status":{"desired":{"version":"4.16.3"}}}),
        json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"},
            "spec":{"additionalTrustedCA":{"name":"registry-cas"}}}),
        json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"registry-cas","namespace":"openshift-config"},
            "data":{basic.host().replace(':', ".."): ca}}),
        sa("creds"),
        pod("creds", &image, "ErrImagePull", &kubelet_wrap(&image, &denied)),
    ]);
    let without = snap.plan(&[]);
    let f = finding(&without, "registry-credentials-missing", "creds");
    assert!(explanation(&f).contains("--probe-registries"), "{f:#}");

    let with = snap.plan(&["--probe-registries"]);
    assert!(
        !rules_in(&with, "creds").contains(&"credentials-rejected".to_string()),
        "{:#}",
        with["findings"]
    );
    let f = finding(&with, "registry-credentials-missing", "creds");
    let r = &f["evidence"]["probes"]["registry"];
    assert_eq!(
        (&r["scheme"], &r["tls"], &r["credentials"]),
        (&json!("https"), &json!("ok"), &json!("missing")),
        "{r:#}"
    );
    assert!(
        explanation(&f).contains("The registry confirms: it asks for credentials"),
        "{f:#}"
    );

    // Token auth: none sent (the token endpoint's anonymous token grants nothing), and wrong
    // ones (the token endpoint refuses them): two findings, two fixes.
    let f = finding(&with, "registry-credentials-missing", "token-none");
    let r = &f["evidence"]["probes"]["registry"];
    assert_eq!(
        (&r["scheme"], &r["credentials"]),
        (&json!("http"), &json!("missing")),
        "{r:#}"
    );
    assert!(explanation(&f).contains("it asks for credentials"), "{f:#}");
    assert_eq!(
        rules_in(&with, "token-wrong"),
        ["credentials-rejected"],
        "{:#}",
        with["findings"]
    );
    let f = finding(&with, "credentials-rejected", "token-wrong");
    assert_eq!(f["evidence"]["probes"]["registry"]["credentials"], "rejected", "{f:#}");
    assert!(explanation(&f).contains("confirms it rejects them"), "{f:#}");
    assert!(
        !serde_json::to_string(&with).unwrap().contains(WRONG),
        "a credential leaked"
    );
}
