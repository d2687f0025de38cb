//! What the registry probe takes from the cluster: the image's registry, repository and
//! reference; the credentials kubelet would send for it (from the pod's own pull secrets, as
//! kubelet reads them); the CA the cluster trusts for the registry. Pure: the reader fetches.

use base64::Engine as _;
use serde_json::{Value, json};

use super::{Creds, Target, Verdict};
use crate::cluster::Object;
use crate::probe::summary;
use crate::refs::cakey::{self, CaKeyLookup};
use crate::refs::image::ImageRef;
use crate::refs::keyring;

/// Fields of the `registry` probe's result.
pub const FIELDS: &[&str] = &[
    "probed",
    "reason",
    "host",
    "reachable",
    "scheme",
    "tls",
    "credentials",
    "repository",
    "tag",
    "nearestTags",
];

/// The target of a pull: Docker Hub's API lives at `registry-1.docker.io`.
pub fn target_of(image: &ImageRef) -> Target {
    let host = if image.registry == "docker.io" {
        "registry-1.docker.io".to_string()
    } else {
        image.registry.clone()
    };
    Target {
        host,
        repository: image.repository.clone(),
        reference: image
            .digest
            .clone()
            .or_else(|| image.tag.clone())
            .unwrap_or_else(|| "latest".to_string()),
    }
}

/// The credentials kubelet would send for `image` from these pull secrets (the first covering
/// entry, in kubelet's order), decoded; `None` when none cover it.
pub fn credentials(secrets: &[&Object], image: &ImageRef) -> Option<Creds> {
    let configs: Vec<_> = secrets.iter().filter_map(|s| summary::docker_config(s)).collect();
    let refs: Vec<_> = configs.iter().collect();
    let (i, key) = keyring::covering(&refs, &keyring::lookup_name(image))
        .into_iter()
        .next()?;
    let entry = &configs[i].entries[key];
    let set = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    if let (Some(username), Some(password)) = (set(&entry.username), set(&entry.password)) {
        return Some(Creds { username, password });
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(set(&entry.auth)?.trim())
        .ok()?;
    let (username, password) = String::from_utf8(raw)
        .ok()?
        .split_once(':')
        .map(|(u, p)| (u.to_string(), p.to_string()))?;
    Some(Creds { username, password })
}

/// The PEM the cluster trusts for `registry` (OpenShift's `additionalTrustedCA` ConfigMap,
/// keyed by `host..port`).
pub fn trusted_ca(config_map: Option<&Object>, registry: &str) -> Option<String> {
    let data = config_map?.field("data")?.as_object()?;
    match cakey::find_ca_key(data.keys().map(String::as_str), registry) {
        CaKeyLookup::Correct(k) => data.get(&k)?.as_str().map(str::to_string),
        _ => None,
    }
}

/// The result when the registry was not asked, and why.
pub fn not_probed(host: &str, reason: &str) -> Value {
    json!({"probed": false, "reason": reason, "host": host, "reachable": null, "scheme": null, "tls": null,
           "credentials": null, "repository": "unknown", "tag": "unknown", "nearestTags": []})
}

pub fn probed(v: &Verdict) -> Value {
    let mut out = serde_json::to_value(v).unwrap_or(Value::Null);
    if let Some(m) = out.as_object_mut() {
        m.insert("probed".into(), json!(true));
        m.insert("reason".into(), Value::Null);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn secret(cfg: Value) -> Object {
        Object::from_value(
            json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"n"},
            "type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson": b64(&cfg.to_string())}}),
        )
        .unwrap()
    }

    #[test]
    fn targets_and_credentials() {
        let img = ImageRef::parse("nginx").unwrap();
        let t = target_of(&img);
        assert_eq!(
            (t.host.as_str(), t.repository.as_str(), t.reference.as_str()),
            ("registry-1.docker.io", "library/nginx", "latest")
        );
        let img = ImageRef::parse("127.0.0.1:5000/team/app:1.0").unwrap();
        assert_eq!(target_of(&img).host, "127.0.0.1:5000");

        let by_auth = secret(json!({"auths":{"127.0.0.1:5000":{"auth": b64("robot:PLANTED-1")}}}));
        let c = credentials(&[&by_auth], &img).unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("robot", "PLANTED-1"));
        let by_fields = secret(json!({"auths":{"127.0.0.1:5000/team":{"username":"u","password":"PLANTED-2"}}}));
        assert_eq!(credentials(&[&by_fields], &img).unwrap().password, "PLANTED-2");
        let other = secret(json!({"auths":{"quay.io":{"username":"u","password":"p"}}}));
        assert!(credentials(&[&other], &img).is_none());
    }

    #[test]
    fn without_the_flag_nothing_is_decided() {
        let v = not_probed("reg", "why");
        for f in FIELDS {
            assert!(v.get(f).is_some(), "{f}");
        }
        assert_eq!(v["probed"], false);
        assert_eq!(v["tag"], "unknown");
    }
}
