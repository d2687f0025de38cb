//! The `registry` probe against the lab's real registries: every verdict (scheme, TLS,
//! credentials, repository, tag, nearest tags), the time bound on a stalling registry, and
//! that it contacts nothing but loopback.

mod registry_lab;

use std::time::{Duration, Instant};

use registry_lab::net::Stall;
use registry_lab::{Kind, Lab, PASSWORD, REPO, USER};
use remedy::probe::registry::{Credentials, Creds, Options, Presence, Report, Scheme, Target, Tls, probe};

fn target(host: &str, repo: &str, reference: &str) -> Target {
    Target {
        host: host.to_string(),
        repository: repo.to_string(),
        reference: reference.to_string(),
    }
}

struct Probe {
    rt: tokio::runtime::Runtime,
    ca: String,
}

impl Probe {
    fn run(&self, t: Target, trust_ca: bool, creds: Option<(&str, &str)>) -> Report {
        let opts = Options {
            creds: creds.map(|(u, p)| Creds {
                username: u.to_string(),
                password: p.to_string(),
            }),
            extra_ca_pem: if trust_ca { vec![self.ca.clone()] } else { vec![] },
            system_roots: true,
            request_timeout: Duration::from_secs(2),
            total_timeout: Duration::from_secs(8),
        };
        let report = self.rt.block_on(probe(&t, &opts)).unwrap();
        assert!(!report.contacted.is_empty(), "{t:?}: contacted nothing");
        for a in &report.contacted {
            assert!(a.ip().is_loopback(), "{t:?}: contacted {a}, not loopback");
        }
        let shown = format!("{report:?} {}", serde_json::to_string(&report.verdict).unwrap());
        assert!(!shown.contains(PASSWORD), "the password leaked: {shown}");
        report
    }
}

/// The lab and a probe runner, or None when the lab's binaries are missing.
fn start() -> Option<(Lab, Probe)> {
    if !registry_lab::require(&["docker-registry", "skopeo", "htpasswd", "openssl"]) {
        return None;
    }
    let lab = Lab::start();
    let p = Probe {
        rt: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap(),
        ca: std::fs::read_to_string(&lab.pki.ca).unwrap(),
    };
    Some((lab, p))
}

#[test]
fn every_verdict_against_the_lab_registries() {
    let Some((lab, p)) = start() else { return };
    let host = |k: Kind| lab.registry(k).host();

    // Plain HTTP: found by the TLS handshake failing on a non-TLS answer.
    let v = p.run(target(&host(Kind::Plain), REPO, "1.0"), true, None).verdict;
    assert_eq!(
        (v.reachable, v.scheme, v.tls, v.credentials, v.repository, v.tag),
        (
            true,
            Some(Scheme::Http),
            Some(Tls::None),
            Some(Credentials::NotNeeded),
            Presence::Exists,
            Presence::Exists
        ),
        "{v:?}"
    );

    // TLS from the lab CA, trusted; and the same registry without it.
    let v = p.run(target(&host(Kind::Tls), REPO, "2.0"), true, None).verdict;
    assert_eq!(
        (v.scheme, v.tls, v.tag),
        (Some(Scheme::Https), Some(Tls::Ok), Presence::Exists),
        "{v:?}"
    );
    assert_eq!(v.credentials, Some(Credentials::NotNeeded));
    let v = p.run(target(&host(Kind::Tls), REPO, "2.0"), false, None).verdict;
    assert_eq!(
        (v.reachable, v.tls, v.credentials),
        (true, Some(Tls::UnknownCa), None),
        "{v:?}"
    );
    assert_eq!(v.tag, Presence::Unknown);

    let v = p.run(target(&host(Kind::Expired), REPO, "1.0"), true, None).verdict;
    assert_eq!(v.tls, Some(Tls::Expired), "{v:?}");
    let v = p.run(target(&host(Kind::WrongHost), REPO, "1.0"), true, None).verdict;
    assert_eq!(v.tls, Some(Tls::WrongHost), "{v:?}");

    // Basic auth: none, wrong, right.
    let basic = host(Kind::Basic);
    let v = p.run(target(&basic, REPO, "1.0"), true, None).verdict;
    assert_eq!(v.credentials, Some(Credentials::Missing), "{v:?}");
    assert_eq!(v.tag, Presence::Unknown);
    let v = p
        .run(target(&basic, REPO, "1.0"), true, Some((USER, "not-the-password")))
        .verdict;
    assert_eq!(v.credentials, Some(Credentials::Rejected), "{v:?}");
    let v = p.run(target(&basic, REPO, "1.1"), true, Some((USER, PASSWORD))).verdict;
    assert_eq!(
        (v.credentials, v.repository, v.tag),
        (Some(Credentials::Accepted), Presence::Exists, Presence::Exists),
        "{v:?}"
    );

    // A missing tag behind the right credentials: the repository exists, with its nearest tags.
    let v = p
        .run(target(&basic, REPO, "1.01"), true, Some((USER, PASSWORD)))
        .verdict;
    assert_eq!((v.repository, v.tag), (Presence::Exists, Presence::Missing), "{v:?}");
    assert!(!v.nearest_tags.is_empty() && v.nearest_tags.len() <= 5, "{v:?}");
    assert!(v.nearest_tags[..2].contains(&"1.0".to_string()), "{v:?}");
    for t in &v.nearest_tags {
        assert!(registry_lab::TAGS.contains(&t.as_str()), "{t} was never pushed");
    }

    // A missing repository.
    let v = p.run(target(&host(Kind::Tls), "team/nope", "1.0"), true, None).verdict;
    assert_eq!((v.repository, v.tag), (Presence::Missing, Presence::Missing), "{v:?}");
    assert!(v.nearest_tags.is_empty());

    // Nothing listening.
    let closed = format!("127.0.0.1:{}", registry_lab::free_port());
    let v = p.run(target(&closed, REPO, "1.0"), true, None).verdict;
    assert_eq!(
        (v.reachable, v.scheme, v.tls, v.credentials),
        (false, None, None, None),
        "{v:?}"
    );

    // A registry that accepts the connection and never answers: bounded by the timeouts.
    let stall = Stall::start();
    let start = Instant::now();
    let v = p
        .run(target(&format!("127.0.0.1:{}", stall.port), REPO, "1.0"), true, None)
        .verdict;
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    assert_eq!((v.reachable, v.tls), (false, None), "{v:?}");
}

/// The distribution spec's token flow against a real token-auth registry: 401 with a Bearer
/// challenge, the token endpoint (credentials checked there), then the manifest with the token.
#[test]
fn token_auth_credentials_accepted_rejected_missing() {
    let Some((lab, p)) = start() else { return };
    let reg = lab.registry(Kind::Token);
    let issued = &reg.front.as_ref().unwrap().issued;
    let count = |i: usize| issued[i].load(std::sync::atomic::Ordering::Relaxed);
    let host = reg.host();

    // None: an anonymous token that grants nothing; the registry refuses the manifest.
    let v = p.run(target(&host, REPO, "1.0"), false, None).verdict;
    assert_eq!(
        (v.reachable, v.scheme, v.tls, v.credentials, v.tag),
        (
            true,
            Some(Scheme::Http),
            Some(Tls::None),
            Some(Credentials::Missing),
            Presence::Unknown
        ),
        "{v:?}"
    );
    assert_eq!(
        (count(0), count(1), count(2)),
        (0, 0, 1),
        "the token endpoint was asked anonymously"
    );

    // Wrong: the token endpoint refuses them.
    let v = p
        .run(target(&host, REPO, "1.0"), false, Some((USER, "not-the-password")))
        .verdict;
    assert_eq!(v.credentials, Some(Credentials::Rejected), "{v:?}");
    assert_eq!(count(1), 1);

    // Right: a token, then the manifest.
    let v = p.run(target(&host, REPO, "2.0"), false, Some((USER, PASSWORD))).verdict;
    assert_eq!(
        (v.credentials, v.repository, v.tag),
        (Some(Credentials::Accepted), Presence::Exists, Presence::Exists),
        "{v:?}"
    );
    // And a missing tag behind it, with the nearest ones from the tag list the token reads.
    let v = p.run(target(&host, REPO, "2.1"), false, Some((USER, PASSWORD))).verdict;
    assert_eq!(
        (v.credentials, v.repository, v.tag),
        (Some(Credentials::Accepted), Presence::Exists, Presence::Missing),
        "{v:?}"
    );
    assert!(v.nearest_tags[..2].contains(&"2.0".to_string()), "{v:?}");
    assert!(count(0) >= 2, "the right credentials went to the token endpoint");
}

mod common;

/// `remedy plan` on a snapshot around real failures: without `--probe-registries` the probe
/// decides nothing and the plan says the flag would; with it, the bundled rules show the
/// registry's verdicts (a missing tag with its nearest tags; credentials the registry rejects,
/// over TLS from a CA the cluster trusts through OpenShift's additionalTrustedCA).
#[test]
fn plan_shows_the_registry_verdicts_only_with_the_flag() {
    use base64::Engine as _;
    use serde_json::{Value, json};
    if !registry_lab::require(&["docker-registry", "skopeo", "htpasswd", "openssl"]) {
        return;
    }
    const WRONG: &str = "PLANTED-SECRET-wrong-9Zq";
    let lab = Lab::start();
    let plain = lab.registry(Kind::Plain);
    let basic = lab.registry(Kind::Basic);
    let trusted = registry_lab::clients::Pull {
        trust_lab_ca: true,
        ..Default::default()
    };
    let missing_image = plain.image(REPO, "1.01");
    let missing_msg = registry_lab::clients::skopeo(
        &lab,
        &missing_image,
        &registry_lab::clients::Pull {
            plain: true,
            ..Default::default()
        },
    )
    .expect_err("the tag is missing");
    let expired = lab.registry(Kind::Expired);
    let expired_image = expired.image(REPO, "1.0");
    let expired_msg =
        registry_lab::clients::skopeo(&lab, &expired_image, &trusted).expect_err("the certificate expired");
    let denied_image = basic.image(REPO, "1.0");
    let denied_msg = registry_lab::clients::skopeo(
        &lab,
        &denied_image,
        &registry_lab::clients::Pull {
            creds: Some((USER.to_string(), WRONG.to_string())),
            ..trusted.clone()
        },
    )
    .expect_err("the credentials are wrong");

    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let pod = |ns: &str, image: &str, msg: &str, secrets: &[&str]| {
        json!({"apiVersion":"v1","kind":"Pod",
            "metadata":{"name":"app-0","namespace":ns,"uid":format!("uid-{ns}"),"creationTimestamp":"2025-01-01T00:00:00Z",
                "ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"app","controller":true,"uid":"o1"}]},
            "spec":{"serviceAccountName":"default","containers":[{"name":"app","image":image}],
                "imagePullSecrets": secrets.iter().map(|s| json!({"name": s})).collect::<Vec<_>>()},
            "status":{"phase":"Pending","containerStatuses":[{"name":"app","image":image,"ready":false,"restartCount":0,
                "state":{"waiting":{"reason":"ErrImagePull","message":
                    registry_lab::clients::kubelet_wrap(image, msg)}}}]}})
    };
    let ca = std::fs::read_to_string(&lab.pki.ca).unwrap();
    let ca_key = basic.host().replace(':', "..");
    let expired_key = expired.host().replace(':', "..");
    let objects = vec![
        json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":"tags"}}),
        pod("tags", &missing_image, &missing_msg, &[]),
        json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":"creds"}}),
        json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"robot","namespace":"creds"},
            "type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson": b64(&json!({"auths":{
                basic.host(): {"username": USER, "password": WRONG}}}).to_string())}}),
        pod("creds", &denied_image, &denied_msg, &["robot"]),
        json!({"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"},
            "spec":{"additionalTrustedCA":{"name":"registry-cas"}}}),
        json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"registry-cas","namespace":"openshift-config"},
            "data":{ca_key: ca.clone(), expired_key: ca}}),
        json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":"tls"}}),
        pod("tls", &expired_image, &expired_msg, &[]),
    ];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("all.json"),
        json!({"apiVersion":"v1","kind":"List","items":objects}).to_string(),
    )
    .unwrap();
    let snap = dir.path().display().to_string();
    let plan = |extra: &[&str]| -> Value {
        let mut args = vec!["plan", "--snapshot", snap.as_str(), "-o", "json"];
        args.extend_from_slice(extra);
        let r = common::remedy(&args);
        assert!(r.code != 1 && r.code != 101, "plan failed ({}): {}", r.code, r.stderr);
        assert!(
            !r.stdout.contains(WRONG) && !r.stderr.contains(WRONG),
            "a credential leaked"
        );
        serde_json::from_str(&r.stdout).unwrap()
    };
    let finding = registry_lab::finding;

    let without = plan(&[]);
    let f = finding(&without, "image-not-found", "tags");
    assert_eq!(f["evidence"]["probes"]["registry"]["probed"], false, "{f:#}");
    assert_eq!(f["evidence"]["probes"]["registry"]["tag"], "unknown");
    assert!(
        f["explanation"].as_str().unwrap().contains("--probe-registries"),
        "{f:#}"
    );

    let with = plan(&["--probe-registries"]);
    let f = finding(&with, "image-not-found", "tags");
    let r = &f["evidence"]["probes"]["registry"];
    assert_eq!(
        (&r["probed"], &r["scheme"], &r["tls"], &r["repository"], &r["tag"]),
        (
            &json!(true),
            &json!("http"),
            &json!("none"),
            &json!("exists"),
            &json!("missing")
        ),
        "{r:#}"
    );
    assert!(r["nearestTags"].as_array().unwrap().contains(&json!("1.0")), "{r:#}");
    assert!(f["explanation"].as_str().unwrap().contains("closest tags: "), "{f:#}");

    let f = finding(&with, "credentials-rejected", "creds");
    let r = &f["evidence"]["probes"]["registry"];
    assert_eq!(
        (&r["scheme"], &r["tls"], &r["credentials"]),
        (&json!("https"), &json!("ok"), &json!("rejected")),
        "the cluster's trusted CA is used, and the pod's credentials: {r:#}"
    );
    assert!(
        f["explanation"].as_str().unwrap().contains("confirms it rejects them"),
        "{f:#}"
    );

    // The TLS verdict now, whatever the age of the event.
    let f = finding(&without, "tls-certificate-expired", "tls");
    assert!(
        f["explanation"].as_str().unwrap().contains("--probe-registries"),
        "{f:#}"
    );
    let f = finding(&with, "tls-certificate-expired", "tls");
    assert_eq!(f["evidence"]["probes"]["registry"]["tls"], "expired", "{f:#}");
    assert!(
        f["explanation"]
            .as_str()
            .unwrap()
            .contains("still presents an expired certificate"),
        "{f:#}"
    );
}
