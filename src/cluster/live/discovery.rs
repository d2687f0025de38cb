//! Which APIs the cluster serves: the group list (`/apis`) is read when connecting, and each
//! group-version's resources (`/api/v1`, `/apis/G/V`) the first time a kind of it is needed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::Value;

use super::super::{ClusterError, GroupKind};
use super::transport::{Target, Transport};

/// A resource as discovery describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The plural, as in URLs (`pods`).
    pub plural: String,
    pub namespaced: bool,
}

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `secrets`, `images.config.openshift.io`: as RBAC and kubectl name it.
    pub fn display_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The collection's path, cluster-wide or in one namespace.
    pub fn path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace.filter(|_| self.namespaced) {
            Some(ns) => format!("{base}/namespaces/{ns}/{}", self.plural),
            None => format!("{base}/{}", self.plural),
        }
    }
}

pub struct Discovery {
    /// Group → versions, the preferred one first. The core group is `""` → `["v1"]`.
    groups: BTreeMap<String, Vec<String>>,
    /// Group-version → its resources, read on first use.
    resources: Mutex<HashMap<String, Vec<Resource>>>,
}

impl Discovery {
    /// Read the group list.
    pub async fn read(t: &Transport) -> Result<Discovery, ClusterError> {
        let what = Target {
            verb: "get",
            resource: "API groups (/apis)",
            namespace: None,
        };
        let doc = t.get("/apis", &what).await?.unwrap_or(Value::Null);
        let mut groups = BTreeMap::new();
        groups.insert(String::new(), vec!["v1".to_string()]);
        for g in doc.get("groups").and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = g.get("name").and_then(Value::as_str) else {
                continue;
            };
            let preferred = g.pointer("/preferredVersion/version").and_then(Value::as_str);
            let mut versions: Vec<String> = g
                .get("versions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.get("version").and_then(Value::as_str).map(str::to_string))
                .collect();
            if let Some(p) = preferred
                && let Some(i) = versions.iter().position(|v| v == p)
            {
                let p = versions.remove(i);
                versions.insert(0, p);
            }
            groups.insert(name.to_string(), versions);
        }
        Ok(Discovery {
            groups,
            resources: Mutex::new(HashMap::new()),
        })
    }

    pub fn has_group(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }

    /// The resource of a kind, in the group's preferred version that serves it; `None` when
    /// the cluster does not serve the kind.
    pub async fn resource(&self, t: &Transport, gk: &GroupKind) -> Result<Option<Resource>, ClusterError> {
        let Some(versions) = self.groups.get(&gk.group) else {
            return Ok(None);
        };
        for v in versions {
            let gv = if gk.group.is_empty() {
                v.clone()
            } else {
                format!("{}/{v}", gk.group)
            };
            let known = self.resources.lock().map(|m| m.get(&gv).cloned()).unwrap_or_default();
            let list = match known {
                Some(l) => l,
                None => {
                    let l = self.read_group_version(t, &gk.group, v).await?;
                    if let Ok(mut m) = self.resources.lock() {
                        m.insert(gv.clone(), l.clone());
                    }
                    l
                }
            };
            if let Some(r) = list.into_iter().find(|r| r.kind == gk.kind) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    async fn read_group_version(
        &self,
        t: &Transport,
        group: &str,
        version: &str,
    ) -> Result<Vec<Resource>, ClusterError> {
        let path = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let what = Target {
            verb: "get",
            resource: &path,
            namespace: None,
        };
        let doc = t.get(&path, &what).await?.unwrap_or(Value::Null);
        Ok(doc
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| {
                let plural = r.get("name").and_then(Value::as_str)?;
                // Subresources (`pods/status`) are not kinds of their own.
                if plural.contains('/') {
                    return None;
                }
                Some(Resource {
                    group: group.to_string(),
                    version: version.to_string(),
                    kind: r.get("kind").and_then(Value::as_str)?.to_string(),
                    plural: plural.to_string(),
                    namespaced: r.get("namespaced").and_then(Value::as_bool).unwrap_or(true),
                })
            })
            .collect())
    }
}
