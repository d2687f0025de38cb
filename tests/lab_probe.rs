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

#[test]
fn every_verdict_against_the_lab_registries() {
    if !registry_lab::require(&["docker-registry", "skopeo", "htpasswd", "openssl"]) {
        return;
    }
    let lab = Lab::start();
    let p = Probe {
        rt: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap(),
        ca: std::fs::read_to_string(&lab.pki.ca).unwrap(),
    };
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
