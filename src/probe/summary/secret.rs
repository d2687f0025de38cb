//! Secrets as templates see them: keys and covered registries, never values.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::PULL_SECRET_TYPES;
use crate::cluster::Object;
use crate::refs::dockercfg::{self, DockerConfig};
use crate::refs::image::ImageRef;
use crate::refs::keyring;

/// Fields of `redacted` for a Secret (also the `firstCovering` probe's result).
pub const SECRET_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "type",
    "keys",
    "registries",
    "name",
    "namespace",
    "ref",
];

fn secret_data(secret: &Object) -> Option<BTreeMap<String, String>> {
    Some(
        secret
            .field("data")
            .and_then(Value::as_object)?
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
    )
}

/// The pull-secret config kubelet reads from a Secret, if it reads one: only type
/// `kubernetes.io/dockerconfigjson` with a `.dockerconfigjson` key, or
/// `kubernetes.io/dockercfg` with `.dockercfg` (kubelet's `MakeDockerKeyring`). An Opaque
/// secret holding a `.dockerconfigjson` key is ignored by kubelet, so it is `None` here.
pub fn docker_config(secret: &Object) -> Option<DockerConfig> {
    let ty = secret.str_field("type").unwrap_or("Opaque");
    if !PULL_SECRET_TYPES.contains(&ty) {
        return None;
    }
    DockerConfig::from_secret_data(ty, &secret_data(secret)?).ok()
}

/// A config under a pull-secret key of a Secret whose type kubelet does not read it with
/// (an Opaque secret with `.dockerconfigjson`, or the key of the other pull-secret type).
pub fn misfiled_config(secret: &Object) -> Option<DockerConfig> {
    if docker_config(secret).is_some() {
        return None;
    }
    let data = secret_data(secret)?;
    [
        (dockercfg::KEY_DOCKERCONFIGJSON, dockercfg::TYPE_DOCKERCONFIGJSON),
        (dockercfg::KEY_DOCKERCFG, dockercfg::TYPE_DOCKERCFG),
    ]
    .into_iter()
    .filter(|(key, _)| data.contains_key(*key))
    .find_map(|(_, ty)| DockerConfig::from_secret_data(ty, &data).ok())
}

/// Registries a secret holds credentials for (sorted), as `host[:port][/path]`: a key can
/// carry userinfo or a query, which never print.
pub fn registries_with_credentials(cfg: &DockerConfig) -> Vec<String> {
    let mut keys: Vec<String> = cfg
        .entries
        .iter()
        .filter(|(_, e)| e.has_credentials())
        .map(|(k, _)| crate::redact::registry_key(k))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// What kubelet looks credentials up for: the image's repository name
/// (`quay.io/org/app`) when the image parses, else the bare registry `host[:port]`.
pub fn lookup_target(registry: &str, image: Option<&str>) -> String {
    image
        .filter(|i| !i.is_empty())
        .and_then(|i| ImageRef::parse(i).ok())
        .map(|r| keyring::lookup_name(&r))
        .unwrap_or_else(|| registry.to_string())
}

/// Whether kubelet would send credentials from this config for `target` (a repository name
/// or a bare registry, see [`lookup_target`]).
pub fn covers(cfg: &DockerConfig, target: &str) -> bool {
    keyring::config_covers(cfg, target)
}

/// An object as templates see it; Secrets lose their values.
pub fn redacted(obj: &Object) -> Value {
    if obj.kind != "Secret" {
        return obj.value().clone();
    }
    let keys: Vec<&String> = obj
        .field("data")
        .and_then(Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    let registries = docker_config(obj)
        .map(|c| registries_with_credentials(&c))
        .unwrap_or_default();
    json!({
        "apiVersion": obj.api_version,
        "kind": obj.kind,
        "metadata": {
            "name": obj.name,
            "namespace": obj.namespace,
            "labels": obj.field("metadata.labels"),
        },
        "type": obj.str_field("type"),
        "keys": keys,
        "registries": registries,
        "name": obj.name,
        "namespace": obj.namespace,
        "ref": format!("{}/{}", obj.namespace.as_deref().unwrap_or(""), obj.name),
    })
}
