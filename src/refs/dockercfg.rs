//! Decoding image pull secrets (`kubernetes.io/dockerconfigjson` and the
//! legacy `kubernetes.io/dockercfg`) the way kubelet reads them.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT as B64;
use serde_json::{Map, Value};

pub const TYPE_DOCKERCONFIGJSON: &str = "kubernetes.io/dockerconfigjson";
pub const TYPE_DOCKERCFG: &str = "kubernetes.io/dockercfg";
pub const KEY_DOCKERCONFIGJSON: &str = ".dockerconfigjson";
pub const KEY_DOCKERCFG: &str = ".dockercfg";
/// Label used in errors from [`DockerConfig::from_json`], where no secret key is known.
const KEY_CONFIG_JSON: &str = "config.json";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerCfgError {
    #[error("secret has no `{0}` key")]
    MissingKey(&'static str),
    #[error("`{key}` is not valid base64")]
    Base64 { key: &'static str },
    #[error("`{key}` is not valid JSON: {reason}")]
    Json { key: &'static str, reason: String },
    #[error("secret type `{0}` is not a pull secret")]
    NotPullSecret(String),
}

/// Only registry keys and whether an entry carries credentials: never values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DockerConfig {
    /// Keyed by the registry key exactly as written in the secret.
    pub entries: BTreeMap<String, AuthEntry>,
}

/// One registry's credentials. Empty strings are stored as `None`, matching
/// Go's `omitempty` view of the same JSON.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct AuthEntry {
    pub username: Option<String>,
    pub password: Option<String>,
    /// base64 of `username:password`.
    pub auth: Option<String>,
    pub identity_token: Option<String>,
    pub email: Option<String>,
}

// Hand-written so that logging a config can never leak a secret value.
impl fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = |v: &Option<String>| v.as_ref().map(|_| Redacted);
        f.debug_struct("AuthEntry")
            .field("username", &r(&self.username))
            .field("password", &r(&self.password))
            .field("auth", &r(&self.auth))
            .field("identity_token", &r(&self.identity_token))
            .field("email", &r(&self.email))
            .finish()
    }
}

struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl AuthEntry {
    /// True when kubelet would send something: a non-empty `auth`, a
    /// username plus password, or an identity token.
    pub fn has_credentials(&self) -> bool {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        set(&self.auth) || (set(&self.username) && set(&self.password)) || set(&self.identity_token)
    }

    /// True when kubelet would send credentials from a pod's pull secret: it reads only
    /// `auth` (which it decodes into username and password) or `username` and `password`;
    /// an identity token alone is ignored there (pkg/credentialprovider config.go).
    pub fn kubelet_credentials(&self) -> bool {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        set(&self.auth) || (set(&self.username) && set(&self.password))
    }
}

/// How the top-level JSON object is laid out.
#[derive(Clone, Copy)]
enum Layout {
    /// `{"auths": {...}}`; a missing `auths` means no entries, as for kubelet.
    Wrapped,
    /// The registry map itself (legacy `.dockercfg`).
    Bare,
    /// Decide from the content (`from_json`).
    Detect,
}

impl DockerConfig {
    /// Reads a Secret's `type` and `data` map (base64 values, as the API
    /// returns them).
    ///
    /// Like kubelet, a `.dockerconfigjson` without an `auths` object yields
    /// no entries rather than an error, and an `auth` value that is not
    /// base64 of `user:password` fails the whole secret.
    pub fn from_secret_data(secret_type: &str, data: &BTreeMap<String, String>) -> Result<Self, DockerCfgError> {
        let (key, layout) = match secret_type {
            TYPE_DOCKERCONFIGJSON => (KEY_DOCKERCONFIGJSON, Layout::Wrapped),
            TYPE_DOCKERCFG => (KEY_DOCKERCFG, Layout::Bare),
            other => return Err(DockerCfgError::NotPullSecret(other.to_string())),
        };
        let encoded = data.get(key).ok_or(DockerCfgError::MissingKey(key))?;
        let bytes = B64.decode(encoded.trim()).map_err(|_| DockerCfgError::Base64 { key })?;
        let text = String::from_utf8(bytes).map_err(|_| DockerCfgError::Json {
            key,
            reason: "decoded value is not UTF-8".to_string(),
        })?;
        parse(&text, key, layout)
    }

    /// Reads already-decoded JSON (`stringData`, a docker `config.json`):
    /// either `{"auths": {...}}` or a bare legacy registry map.
    pub fn from_json(json: &str) -> Result<Self, DockerCfgError> {
        parse(json, KEY_CONFIG_JSON, Layout::Detect)
    }

    /// Registry keys, sorted.
    pub fn registries(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// Adds entries whose key is absent here; existing entries are never
    /// overwritten (keys compare exactly). Returns the added keys, sorted.
    pub fn merge_from(&mut self, other: &DockerConfig) -> Vec<String> {
        let mut added = Vec::new();
        for (key, entry) in &other.entries {
            if !self.entries.contains_key(key) {
                self.entries.insert(key.clone(), entry.clone());
                added.push(key.clone());
            }
        }
        added
    }

    /// `{"auths": {...}}`, ready to write back into `.dockerconfigjson`.
    pub fn to_json(&self) -> String {
        let mut auths = Map::new();
        for (key, e) in &self.entries {
            let mut obj = Map::new();
            // Alphabetical insertion keeps output identical whether or not
            // serde_json's `preserve_order` is enabled elsewhere in the build.
            let fields = [
                ("auth", &e.auth),
                ("email", &e.email),
                ("identitytoken", &e.identity_token),
                ("password", &e.password),
                ("username", &e.username),
            ];
            for (name, value) in fields {
                if let Some(v) = value {
                    obj.insert(name.to_string(), Value::String(v.clone()));
                }
            }
            auths.insert(key.clone(), Value::Object(obj));
        }
        let mut root = Map::new();
        root.insert("auths".to_string(), Value::Object(auths));
        Value::Object(root).to_string()
    }
}

fn parse(text: &str, key: &'static str, layout: Layout) -> Result<DockerConfig, DockerCfgError> {
    let json_err = |reason: String| DockerCfgError::Json { key, reason };
    if text.trim().is_empty() {
        return Err(json_err("value is empty".to_string()));
    }
    // serde_json's syntax errors carry positions only, never input text.
    let root: Value = serde_json::from_str(text).map_err(|e| json_err(e.to_string()))?;
    let Value::Object(root) = root else {
        return Err(json_err("top level is not an object".to_string()));
    };
    let wrapped = match layout {
        Layout::Wrapped => true,
        Layout::Bare => false,
        // config.json files may carry only a credential helper setup.
        Layout::Detect => ["auths", "credsStore", "credHelpers"]
            .iter()
            .any(|f| field(&root, f).is_some()),
    };
    let map = if wrapped {
        match field(&root, "auths") {
            None | Some(Value::Null) => return Ok(DockerConfig::default()),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(json_err("`auths` is not an object".to_string())),
        }
    } else {
        &root
    };

    let mut entries = BTreeMap::new();
    for (registry, value) in map {
        let entry = parse_entry(registry, value).map_err(json_err)?;
        entries.insert(registry.clone(), entry);
    }
    Ok(DockerConfig { entries })
}

/// Go's encoding/json matches field names case-insensitively, preferring an
/// exact match; kubelet and docker inherit that, so `"Auths"` works there.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name)
        .or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// Error strings name the registry and field, never the value.
fn parse_entry(registry: &str, value: &Value) -> Result<AuthEntry, String> {
    let obj = match value {
        Value::Object(o) => o,
        // Go leaves the zero value for null.
        Value::Null => return Ok(AuthEntry::default()),
        _ => return Err(format!("entry `{registry}` is not an object")),
    };
    let string_field = |name: &str| -> Result<Option<String>, String> {
        match field(obj, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("entry `{registry}`: `{name}` is not a string")),
        }
    };
    let auth = string_field("auth")?;
    if let Some(a) = &auth {
        // kubelet decodes `auth` eagerly and rejects the secret when it is
        // not base64 of `user:password`.
        let decoded = B64
            .decode(a.trim())
            .map_err(|_| format!("entry `{registry}`: `auth` is not base64 of `username:password`"))?;
        if !decoded.contains(&b':') {
            return Err(format!(
                "entry `{registry}`: decoded `auth` has no `:` between username and password"
            ));
        }
    }
    Ok(AuthEntry {
        username: string_field("username")?,
        password: string_field("password")?,
        auth,
        // kubelet ignores this field, so a wrong type must not fail the secret.
        identity_token: string_field("identitytoken").ok().flatten(),
        email: string_field("email")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLANTED: &str = "S3CRET-PLANTED-1234";

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn data(key: &str, value: String) -> BTreeMap<String, String> {
        BTreeMap::from([(key.to_string(), value)])
    }

    fn user_pass_auth() -> String {
        b64(&format!("robot:{PLANTED}"))
    }

    #[test]
    fn dockerconfigjson_secret() {
        let json = format!(
            r#"{{"auths":{{"quay.io":{{"auth":"{}"}},"registry.example.com:5000":{{"username":"u","password":"{PLANTED}"}},"empty.io":{{}}}}}}"#,
            user_pass_auth()
        );
        let cfg =
            DockerConfig::from_secret_data(TYPE_DOCKERCONFIGJSON, &data(KEY_DOCKERCONFIGJSON, b64(&json))).unwrap();
        assert_eq!(cfg.registries(), ["empty.io", "quay.io", "registry.example.com:5000"]);
        assert!(cfg.entries["quay.io"].has_credentials());
        assert!(cfg.entries["registry.example.com:5000"].has_credentials());
        assert!(!cfg.entries["empty.io"].has_credentials());
    }

    #[test]
    fn legacy_dockercfg_secret_has_no_wrapper() {
        let json = format!(
            r#"{{"https://index.docker.io/v1/":{{"auth":"{}","email":"a@b.c"}}}}"#,
            user_pass_auth()
        );
        let cfg = DockerConfig::from_secret_data(TYPE_DOCKERCFG, &data(KEY_DOCKERCFG, b64(&json))).unwrap();
        assert_eq!(cfg.registries(), ["https://index.docker.io/v1/"]);
        let e = &cfg.entries["https://index.docker.io/v1/"];
        assert!(e.has_credentials());
        assert_eq!(e.email.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn dockerconfigjson_without_auths_has_no_entries() {
        // A bare map put into .dockerconfigjson: kubelet sees no credentials.
        let json = format!(r#"{{"quay.io":{{"auth":"{}"}}}}"#, user_pass_auth());
        let cfg =
            DockerConfig::from_secret_data(TYPE_DOCKERCONFIGJSON, &data(KEY_DOCKERCONFIGJSON, b64(&json))).unwrap();
        assert!(cfg.entries.is_empty());
    }

    #[test]
    fn wrong_secret_type() {
        let err = DockerConfig::from_secret_data("Opaque", &BTreeMap::new()).unwrap_err();
        assert_eq!(err, DockerCfgError::NotPullSecret("Opaque".into()));
        assert_eq!(err.to_string(), "secret type `Opaque` is not a pull secret");
    }

    #[test]
    fn missing_key() {
        // The legacy key under the new type is still "missing".
        let err = DockerConfig::from_secret_data(TYPE_DOCKERCONFIGJSON, &data(KEY_DOCKERCFG, b64("{}"))).unwrap_err();
        assert_eq!(err, DockerCfgError::MissingKey(KEY_DOCKERCONFIGJSON));
        assert_eq!(err.to_string(), "secret has no `.dockerconfigjson` key");
    }

    #[test]
    fn bad_base64() {
        let err = DockerConfig::from_secret_data(
            TYPE_DOCKERCONFIGJSON,
            &data(KEY_DOCKERCONFIGJSON, "!!not base64!!".into()),
        )
        .unwrap_err();
        assert_eq!(
            err,
            DockerCfgError::Base64 {
                key: KEY_DOCKERCONFIGJSON
            }
        );
    }

    #[test]
    fn bad_json() {
        let err = DockerConfig::from_secret_data(
            TYPE_DOCKERCFG,
            &data(KEY_DOCKERCFG, b64(&format!(r#"{{"quay.io": {{"auth": "{PLANTED}""#))),
        )
        .unwrap_err();
        let DockerCfgError::Json { key, reason } = &err else {
            panic!("expected Json, got {err:?}");
        };
        assert_eq!(*key, KEY_DOCKERCFG);
        assert!(!reason.contains(PLANTED), "{reason}");
        assert!(err.to_string().starts_with("`.dockercfg` is not valid JSON: "));
    }

    #[test]
    fn json_that_is_not_an_object_or_empty() {
        for bad in ["[]", "\"x\"", "", "   "] {
            assert!(
                matches!(DockerConfig::from_json(bad), Err(DockerCfgError::Json { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            DockerConfig::from_json(r#"{"auths": []}"#),
            Err(DockerCfgError::Json { .. })
        ));
        assert!(matches!(
            DockerConfig::from_json(r#"{"quay.io": "nope"}"#),
            Err(DockerCfgError::Json { .. })
        ));
    }

    #[test]
    fn wrong_field_type_does_not_echo_the_value() {
        let err = DockerConfig::from_json(r#"{"auths":{"q.io":{"password":12345678}}}"#).unwrap_err();
        let DockerCfgError::Json { reason, .. } = err else {
            panic!()
        };
        assert!(reason.contains("password") && !reason.contains("12345678"), "{reason}");
    }

    #[test]
    fn auth_must_be_base64_user_colon_password() {
        let no_colon = b64("justatoken");
        let err = DockerConfig::from_json(&format!(r#"{{"auths":{{"q.io":{{"auth":"{no_colon}"}}}}}}"#)).unwrap_err();
        let DockerCfgError::Json { reason, .. } = err else {
            panic!()
        };
        assert!(reason.contains("q.io") && !reason.contains(&no_colon), "{reason}");

        let err = DockerConfig::from_json(&format!(r#"{{"auths":{{"q.io":{{"auth":"{PLANTED}!"}}}}}}"#)).unwrap_err();
        let DockerCfgError::Json { reason, .. } = err else {
            panic!()
        };
        assert!(!reason.contains(PLANTED), "{reason}");

        // Unpadded base64 is accepted, as kubelet does.
        let unpadded = b64("u:p1").trim_end_matches('=').to_string();
        assert!(DockerConfig::from_json(&format!(r#"{{"auths":{{"q.io":{{"auth":"{unpadded}"}}}}}}"#)).is_ok());
    }

    #[test]
    fn from_json_detects_both_layouts() {
        let wrapped = DockerConfig::from_json(r#"{"auths":{"a.io":{"username":"u","password":"p"}}}"#).unwrap();
        let bare = DockerConfig::from_json(r#"{"a.io":{"username":"u","password":"p"}}"#).unwrap();
        assert_eq!(wrapped, bare);
        assert_eq!(wrapped.registries(), ["a.io"]);
        // A config.json using a credential helper only has no inline entries.
        let helper = DockerConfig::from_json(r#"{"credsStore":"desktop"}"#).unwrap();
        assert!(helper.entries.is_empty());
    }

    #[test]
    fn go_style_case_insensitive_field_names() {
        let cfg = DockerConfig::from_json(r#"{"Auths":{"a.io":{"Username":"u","PASSWORD":"p"}}}"#).unwrap();
        assert!(cfg.entries["a.io"].has_credentials());
    }

    #[test]
    fn credential_combinations() {
        let s = |v: &str| Some(v.to_string());
        assert!(!AuthEntry::default().has_credentials());
        assert!(
            !AuthEntry {
                username: s("u"),
                ..Default::default()
            }
            .has_credentials()
        );
        assert!(
            !AuthEntry {
                password: s("p"),
                ..Default::default()
            }
            .has_credentials()
        );
        assert!(
            !AuthEntry {
                email: s("e"),
                ..Default::default()
            }
            .has_credentials()
        );
        assert!(
            !AuthEntry {
                auth: s(""),
                ..Default::default()
            }
            .has_credentials()
        );
        assert!(
            AuthEntry {
                username: s("u"),
                password: s("p"),
                ..Default::default()
            }
            .has_credentials()
        );
        assert!(
            AuthEntry {
                auth: s("dTpw"),
                ..Default::default()
            }
            .has_credentials()
        );
        assert!(
            AuthEntry {
                identity_token: s("t"),
                ..Default::default()
            }
            .has_credentials()
        );
    }

    #[test]
    fn empty_strings_count_as_absent() {
        let cfg = DockerConfig::from_json(r#"{"auths":{"a.io":{"username":"u","password":"","auth":""}}}"#).unwrap();
        let e = &cfg.entries["a.io"];
        assert_eq!(e.password, None);
        assert_eq!(e.auth, None);
        assert!(!e.has_credentials());
    }

    #[test]
    fn identity_token_is_read() {
        let cfg =
            DockerConfig::from_json(&format!(r#"{{"auths":{{"acr.io":{{"identitytoken":"{PLANTED}"}}}}}}"#)).unwrap();
        assert_eq!(cfg.entries["acr.io"].identity_token.as_deref(), Some(PLANTED));
        assert!(cfg.entries["acr.io"].has_credentials());
        // kubelet's keyring keeps only username, password and email.
        assert!(!cfg.entries["acr.io"].kubelet_credentials());
        let both = DockerConfig::from_json(&format!(
            r#"{{"auths":{{"acr.io":{{"identitytoken":"{PLANTED}","username":"u","password":"p"}}}}}}"#
        ))
        .unwrap();
        assert!(both.entries["acr.io"].kubelet_credentials());
    }

    #[test]
    fn debug_never_shows_values() {
        let e = AuthEntry {
            username: Some(PLANTED.into()),
            password: Some(PLANTED.into()),
            auth: Some(PLANTED.into()),
            identity_token: Some(PLANTED.into()),
            email: None,
        };
        let mut cfg = DockerConfig::default();
        cfg.entries.insert("quay.io".into(), e.clone());
        for out in [
            format!("{e:?}"),
            format!("{e:#?}"),
            format!("{cfg:?}"),
            format!("{cfg:#?}"),
        ] {
            assert!(!out.contains(PLANTED), "{out}");
        }
        let out = format!("{e:?}");
        assert_eq!(out.matches("<redacted>").count(), 4, "{out}");
        assert!(out.contains("email: None"), "{out}");
        // Registry keys are not secret and stay visible.
        assert!(format!("{cfg:?}").contains("quay.io"));
    }

    #[test]
    fn debug_of_parsed_secret_hides_decoded_auth() {
        let json = format!(
            r#"{{"auths":{{"q.io":{{"auth":"{}","password":"{PLANTED}"}}}}}}"#,
            user_pass_auth()
        );
        let cfg = DockerConfig::from_json(&json).unwrap();
        let out = format!("{cfg:?}");
        assert!(!out.contains(PLANTED) && !out.contains(&user_pass_auth()), "{out}");
    }

    #[test]
    fn merge_keeps_existing_and_reports_added() {
        let mut mine = DockerConfig::from_json(r#"{"auths":{"a.io":{"username":"mine","password":"p"}}}"#).unwrap();
        let theirs = DockerConfig::from_json(
            r#"{"auths":{"a.io":{"username":"theirs","password":"q"},"c.io":{"username":"c","password":"p"},"b.io":{}}}"#,
        )
        .unwrap();
        let added = mine.merge_from(&theirs);
        assert_eq!(added, ["b.io", "c.io"]);
        assert_eq!(mine.entries["a.io"].username.as_deref(), Some("mine"));
        assert_eq!(mine.registries(), ["a.io", "b.io", "c.io"]);
        // Merging again adds nothing.
        assert!(mine.merge_from(&theirs).is_empty());
    }

    #[test]
    fn to_json_round_trips() {
        let json = format!(
            r#"{{"auths":{{"q.io":{{"auth":"{}","email":"e@x"}},"r.io":{{"username":"u","password":"p","identitytoken":"t"}},"s.io":{{}}}}}}"#,
            user_pass_auth()
        );
        let cfg = DockerConfig::from_json(&json).unwrap();
        let out = cfg.to_json();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["auths"]["q.io"]["email"], "e@x");
        assert_eq!(v["auths"]["r.io"]["identitytoken"], "t");
        assert_eq!(v["auths"]["s.io"], serde_json::json!({}));
        assert_eq!(DockerConfig::from_json(&out).unwrap(), cfg);
        // Written back as a secret, it reads the same.
        let back =
            DockerConfig::from_secret_data(TYPE_DOCKERCONFIGJSON, &data(KEY_DOCKERCONFIGJSON, b64(&out))).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn empty_config_to_json() {
        let v: Value = serde_json::from_str(&DockerConfig::default().to_json()).unwrap();
        assert_eq!(v, serde_json::json!({"auths": {}}));
    }
}
