use std::collections::BTreeMap;
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerCfgError { #[error("secret has no `{0}` key")] MissingKey(&'static str), #[error("`{key}` is not valid base64")] Base64 { key: &'static str }, #[error("`{key}` is not valid JSON: {reason}")] Json { key: &'static str, reason: String }, #[error("secret type `{0}` is not a pull secret")] NotPullSecret(String) }
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DockerConfig { pub entries: BTreeMap<String, AuthEntry> }
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthEntry { pub username: Option<String>, pub password: Option<String>, pub auth: Option<String>, pub identity_token: Option<String>, pub email: Option<String> }
impl AuthEntry { pub fn has_credentials(&self) -> bool { self.auth.is_some() || self.password.is_some() } }
impl DockerConfig {
    pub fn from_secret_data(secret_type: &str, data: &BTreeMap<String, String>) -> Result<Self, DockerCfgError> {
        use base64::Engine;
        let key: &'static str = if secret_type == "kubernetes.io/dockercfg" { ".dockercfg" } else { ".dockerconfigjson" };
        let raw = data.get(key).ok_or(DockerCfgError::MissingKey(key))?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(raw).map_err(|_| DockerCfgError::Base64 { key })?;
        Self::from_json(&String::from_utf8_lossy(&bytes))
    }
    pub fn from_json(json: &str) -> Result<Self, DockerCfgError> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| DockerCfgError::Json { key: ".dockerconfigjson", reason: e.to_string() })?;
        let auths = v.get("auths").cloned().unwrap_or(v);
        let mut entries = BTreeMap::new();
        if let Some(m) = auths.as_object() { for (k, e) in m { entries.insert(k.clone(), AuthEntry { auth: e.get("auth").and_then(|x| x.as_str()).map(String::from), password: e.get("password").and_then(|x| x.as_str()).map(String::from), ..Default::default() }); } }
        Ok(DockerConfig { entries })
    }
    pub fn registries(&self) -> Vec<String> { self.entries.keys().cloned().collect() }
    pub fn merge_from(&mut self, other: &DockerConfig) -> Vec<String> { let mut added = vec![]; for (k, v) in &other.entries { if !self.entries.contains_key(k) { self.entries.insert(k.clone(), v.clone()); added.push(k.clone()); } } added }
    pub fn to_json(&self) -> String { String::new() }
}
