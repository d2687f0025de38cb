//! Real pull failures, produced at test time: skopeo (containers/image, as in CRI-O) and ctr
//! (containerd) against the lab's registries. Each message, as the client printed it and as
//! kubelet wraps it, must get its category from `remedy rules match`, and a plan on a
//! snapshot of a pod failing with it must diagnose it.

mod common;
mod registry_lab;

use common::*;
use registry_lab::clients::{self, Containerd, Pull};
use registry_lab::net::{self, Dns, DnsMode, Stall};
use registry_lab::{Kind, Lab, PASSWORD, REPO, USER};
use serde_json::{Value, json};

struct Scenario {
    name: &'static str,
    image: String,
    pull: Pull,
    want: &'static str,
}

fn creds(user: &str, pass: &str) -> Option<(String, String)> {
    Some((user.to_string(), pass.to_string()))
}

/// Every failure mode of the lab, each with the category its message must get.
fn scenarios(lab: &Lab, stall: &Stall, dns: Option<(&Dns, &Dns)>) -> Vec<Scenario> {
    let trusted = Pull {
        trust_lab_ca: true,
        ..Pull::default()
    };
    let tls = lab.registry(Kind::Tls);
    let basic = lab.registry(Kind::Basic);
    let plain = lab.registry(Kind::Plain);
    let token = lab.registry(Kind::Token);
    let over_http = Pull {
        plain: true,
        ..Pull::default()
    };
    let mut v = vec![
        Scenario {
            name: "no credentials",
            image: basic.image(REPO, "1.0"),
            pull: trusted.clone(),
            want: "auth",
        },
        Scenario {
            name: "wrong credentials",
            image: basic.image(REPO, "1.0"),
            pull: Pull {
                creds: creds(USER, "not-the-password"),
                ..trusted.clone()
            },
            want: "auth",
        },
        Scenario {
            name: "HTTPS against plain HTTP",
            image: plain.image(REPO, "1.0"),
            pull: trusted.clone(),
            want: "insecure-http",
        },
        Scenario {
            name: "unknown CA",
            image: tls.image(REPO, "1.0"),
            pull: Pull::default(),
            want: "tls-unknown-ca",
        },
        Scenario {
            name: "expired certificate",
            image: lab.registry(Kind::Expired).image(REPO, "1.0"),
            pull: trusted.clone(),
            want: "tls-expired",
        },
        Scenario {
            name: "wrong host",
            image: lab.registry(Kind::WrongHost).image(REPO, "1.0"),
            pull: trusted.clone(),
            want: "tls-hostname",
        },
        Scenario {
            name: "missing tag",
            image: tls.image(REPO, "9.9"),
            pull: trusted.clone(),
            want: "not-found",
        },
        Scenario {
            name: "missing repository",
            image: tls.image("team/nope", "1.0"),
            pull: trusted.clone(),
            want: "not-found",
        },
        Scenario {
            name: "missing tag behind basic auth",
            image: basic.image(REPO, "9.9"),
            pull: Pull {
                creds: creds(USER, PASSWORD),
                ..trusted.clone()
            },
            want: "not-found",
        },
        // Token auth (plain HTTP, the token endpoint on the registry's address).
        Scenario {
            name: "token auth, no credentials",
            image: token.image(REPO, "1.0"),
            pull: over_http.clone(),
            want: "auth",
        },
        Scenario {
            name: "token auth, wrong credentials",
            image: token.image(REPO, "1.0"),
            pull: Pull {
                creds: creds(USER, "not-the-password"),
                ..over_http.clone()
            },
            want: "auth",
        },
        Scenario {
            name: "token auth, missing tag",
            image: token.image(REPO, "9.9"),
            pull: Pull {
                creds: creds(USER, PASSWORD),
                ..over_http.clone()
            },
            want: "not-found",
        },
        Scenario {
            name: "closed port",
            image: format!("127.0.0.1:{}/{REPO}:1.0", registry_lab::free_port()),
            pull: trusted.clone(),
            want: "connection-refused",
        },
        Scenario {
            name: "stalling registry",
            image: format!("127.0.0.1:{}/{REPO}:1.0", stall.port),
            pull: trusted.clone(),
            want: "network-timeout",
        },
    ];
    if let Some((nx, silent)) = dns {
        v.push(Scenario {
            name: ".invalid name",
            image: format!("registry.lab.invalid/{REPO}:1.0"),
            pull: Pull {
                resolv: Some(nx.resolv_conf.clone()),
                ..trusted.clone()
            },
            want: "dns",
        });
        v.push(Scenario {
            name: "DNS server not answering",
            image: format!("registry.lab.invalid/{REPO}:1.0"),
            pull: Pull {
                resolv: Some(silent.resolv_conf.clone()),
                ..trusted.clone()
            },
            want: "dns",
        });
    }
    v
}

struct Captured {
    client: &'static str,
    scenario: &'static str,
    image: String,
    /// The message in each form kubelet may report it.
    forms: Vec<String>,
    want: &'static str,
}

fn capture_all() -> Option<(Vec<Captured>, Vec<String>)> {
    if !registry_lab::require(&["docker-registry", "skopeo", "containerd", "ctr", "htpasswd", "openssl"]) {
        return None;
    }
    let lab = Lab::start();
    let stall = Stall::start();
    let dns = net::private_resolv_supported().then(|| {
        (
            Dns::start(lab.dir.path(), DnsMode::NxDomain),
            Dns::start(lab.dir.path(), DnsMode::Silent),
        )
    });
    if dns.is_none() {
        eprintln!("DNS scenarios skipped: no private mount namespace for /etc/resolv.conf (unshare -m)");
    }
    let ctd = Containerd::start(&lab);
    let list = scenarios(&lab, &stall, dns.as_ref().map(|(a, b)| (a, b)));

    // The lab works: good pulls succeed with both clients.
    let good = lab.registry(Kind::Basic).image(REPO, "1.1");
    let ok = Pull {
        creds: creds(USER, PASSWORD),
        trust_lab_ca: true,
        ..Pull::default()
    };
    clients::skopeo(&lab, &good, &ok).expect("skopeo pulls a pushed image with the right credentials");
    ctd.pull(&lab, &good, &ok)
        .expect("ctr pulls a pushed image with the right credentials");
    // Through the token endpoint too: the registry accepts the lab's signed tokens.
    let good = lab.registry(Kind::Token).image(REPO, "1.1");
    let ok = Pull {
        creds: creds(USER, PASSWORD),
        plain: true,
        ..Pull::default()
    };
    clients::skopeo(&lab, &good, &ok).expect("skopeo pulls through token auth with the right credentials");
    ctd.pull(&lab, &good, &ok)
        .expect("ctr pulls through token auth with the right credentials");

    let mut out = Vec::new();
    let mut raw = Vec::new();
    for s in &list {
        let m = clients::skopeo(&lab, &s.image, &s.pull).expect_err(&format!("skopeo: {} should fail", s.name));
        raw.push(m.clone());
        out.push(Captured {
            client: "skopeo",
            scenario: s.name,
            image: s.image.clone(),
            forms: vec![m.clone(), clients::kubelet_wrap(&s.image, &m)],
            want: s.want,
        });
        let m = ctd
            .pull(&lab, &s.image, &s.pull)
            .expect_err(&format!("ctr: {} should fail", s.name));
        raw.push(m.clone());
        let cri = clients::containerd_cri(&s.image, &m);
        out.push(Captured {
            client: "ctr",
            scenario: s.name,
            image: s.image.clone(),
            forms: vec![
                m.clone(),
                clients::kubelet_wrap(&s.image, &cri),
                format!("Failed to pull image \"{}\": {cri}", s.image),
            ],
            want: s.want,
        });
    }
    Some((out, raw))
}

fn pod(ns: &str, image: &str, message: &str) -> Value {
    json!({"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":"app-0","namespace":ns,"uid":format!("uid-{ns}"),"creationTimestamp":"2025-01-01T00:00:00Z",
            "ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"app","controller":true,"uid":"o1"}]},
        "spec":{"serviceAccountName":"default","containers":[{"name":"app","image":image}]},
        "status":{"phase":"Pending","containerStatuses":[{"name":"app","image":image,"ready":false,"restartCount":0,
            "state":{"waiting":{"reason":"ErrImagePull","message":message}}}]}})
}

fn event(ns: &str, message: &str) -> Value {
    json!({"apiVersion":"v1","kind":"Event","metadata":{"name":format!("app-0.{ns}"),"namespace":ns},
        "involvedObject":{"kind":"Pod","name":"app-0","namespace":ns,"uid":format!("uid-{ns}")},
        "reason":"Failed","type":"Warning","message":message,"count":3,
        "firstTimestamp":"2025-01-01T00:00:10Z","lastTimestamp":"2025-01-01T00:05:00Z"})
}

#[test]
fn real_client_messages_are_classified_and_diagnosed() {
    let Some((captured, raw)) = capture_all() else { return };
    for c in captured.iter() {
        eprintln!("{:6} {:32} {}", c.client, c.scenario, c.forms[0]);
    }
    for m in &raw {
        assert!(!m.contains(PASSWORD), "a client printed the password: {m}");
    }

    // `remedy rules match`, every form of every message at once.
    let rows: Vec<(&Captured, &String)> = captured
        .iter()
        .flat_map(|c| c.forms.iter().map(move |f| (c, f)))
        .collect();
    let mut args = vec!["rules", "match", "--"];
    args.extend(rows.iter().map(|(_, f)| f.as_str()));
    let r = remedy(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<Value> = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), rows.len());
    let mut wrong = Vec::new();
    for ((c, form), got) in rows.iter().zip(&lines) {
        if got["category"] != c.want {
            wrong.push(format!(
                "{} / {}: want {}, got {}: {form}",
                c.client, c.scenario, c.want, got["category"]
            ));
        }
    }

    // A plan on one snapshot: a pod per message (the kubelet-wrapped form), each in its own
    // namespace, with its event.
    let mut objects = Vec::new();
    for (i, c) in captured.iter().enumerate() {
        let ns = format!("lab-{i}");
        objects.push(json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":ns}}));
        objects.push(json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":ns}}));
        objects.push(pod(&ns, &c.image, &c.forms[1]));
        objects.push(event(&ns, &c.forms[1]));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("all.json"),
        json!({"apiVersion":"v1","kind":"List","items":objects}).to_string(),
    )
    .unwrap();
    let snap = dir.path().display().to_string();
    let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
    assert!(r.code != 1 && r.code != 101, "plan failed ({}): {}", r.code, r.stderr);
    assert!(!r.stdout.contains(PASSWORD));
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    for (i, c) in captured.iter().enumerate() {
        let ns = format!("lab-{i}");
        let found: Vec<&Value> = plan["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["subjects"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|s| s["kind"] == "Pod" && s["namespace"] == ns.as_str()))
            })
            .collect();
        if !found.iter().any(|f| f["category"] == c.want) {
            let got: Vec<String> = found
                .iter()
                .map(|f| format!("{} ({})", f["rule"], f["category"]))
                .collect();
            wrong.push(format!(
                "plan, {} / {}: want a {} finding, got [{}]: {}",
                c.client,
                c.scenario,
                c.want,
                got.join(", "),
                c.forms[1]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong of {} messages:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
    eprintln!(
        "{} real messages, {} forms, all classified and diagnosed",
        raw.len(),
        rows.len()
    );
}
