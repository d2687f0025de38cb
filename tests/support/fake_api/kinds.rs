//! The resources the test API serves, for discovery and URL routing.
//!
//! The store only routes custom kinds registered through a type implementing kube 4's
//! `Resource`, and treats every one of them as namespaced; the types below exist only for
//! that registration. Which custom groups are *served* is decided per test API (see
//! `Builder::group`), as a real cluster decides by its installed CRDs.

use std::borrow::Cow;

use k8s_openapi_028::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube_fake_client::ClientBuilder;

/// One resource as discovery lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    /// Built in (always served) or custom (served when its group is enabled).
    pub builtin: bool,
}

impl ResourceInfo {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

const fn builtin(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> ResourceInfo {
    ResourceInfo {
        group,
        version,
        kind,
        plural,
        namespaced,
        builtin: true,
    }
}

/// Built-in resources the store knows and the test API serves.
pub const BUILTIN: &[ResourceInfo] = &[
    builtin("", "v1", "Pod", "pods", true),
    builtin("", "v1", "Event", "events", true),
    builtin("", "v1", "Secret", "secrets", true),
    builtin("", "v1", "ServiceAccount", "serviceaccounts", true),
    builtin("", "v1", "ConfigMap", "configmaps", true),
    builtin("", "v1", "Namespace", "namespaces", false),
    builtin("", "v1", "Node", "nodes", false),
    builtin("", "v1", "ReplicationController", "replicationcontrollers", true),
    builtin("apps", "v1", "Deployment", "deployments", true),
    builtin("apps", "v1", "ReplicaSet", "replicasets", true),
    builtin("apps", "v1", "StatefulSet", "statefulsets", true),
    builtin("apps", "v1", "DaemonSet", "daemonsets", true),
    builtin("batch", "v1", "Job", "jobs", true),
    builtin("batch", "v1", "CronJob", "cronjobs", true),
    builtin("events.k8s.io", "v1", "Event", "events", true),
];

macro_rules! custom_kinds {
    ($($ty:ident: $group:literal, $version:literal, $kind:literal, $plural:literal, $namespaced:literal;)*) => {
        $(
            #[derive(Clone, Debug, Default, serde::Serialize)]
            pub struct $ty {
                metadata: ObjectMeta,
            }

            impl kube4::Resource for $ty {
                type DynamicType = ();
                type Scope = k8s_openapi_028::NamespaceResourceScope;
                fn kind(_: &()) -> Cow<'_, str> { $kind.into() }
                fn group(_: &()) -> Cow<'_, str> { $group.into() }
                fn version(_: &()) -> Cow<'_, str> { $version.into() }
                fn plural(_: &()) -> Cow<'_, str> { $plural.into() }
                fn meta(&self) -> &ObjectMeta { &self.metadata }
                fn meta_mut(&mut self) -> &mut ObjectMeta { &mut self.metadata }
            }
        )*

        /// Custom (OpenShift, OLM) resources the test API can serve.
        pub const CUSTOM: &[ResourceInfo] = &[
            $(ResourceInfo { group: $group, version: $version, kind: $kind, plural: $plural, namespaced: $namespaced, builtin: false },)*
        ];

        /// Register every custom kind with the store, so it routes their URLs.
        pub fn register_all(b: ClientBuilder) -> ClientBuilder {
            b $(.with_resource::<$ty>())*
        }
    };
}

custom_kinds! {
    ClusterVersion: "config.openshift.io", "v1", "ClusterVersion", "clusterversions", false;
    ImageConfig: "config.openshift.io", "v1", "Image", "images", false;
    ClusterOperator: "config.openshift.io", "v1", "ClusterOperator", "clusteroperators", false;
    OperatorHub: "config.openshift.io", "v1", "OperatorHub", "operatorhubs", false;
    Proxy: "config.openshift.io", "v1", "Proxy", "proxies", false;
    MachineConfigPool: "machineconfiguration.openshift.io", "v1", "MachineConfigPool", "machineconfigpools", false;
    MachineConfig: "machineconfiguration.openshift.io", "v1", "MachineConfig", "machineconfigs", false;
    ImageStream: "image.openshift.io", "v1", "ImageStream", "imagestreams", true;
    SamplesConfig: "samples.operator.openshift.io", "v1", "Config", "configs", false;
    CatalogSource: "operators.coreos.com", "v1alpha1", "CatalogSource", "catalogsources", true;
    Subscription: "operators.coreos.com", "v1alpha1", "Subscription", "subscriptions", true;
}

/// The groups an OpenShift cluster serves (of those above).
pub const OPENSHIFT_GROUPS: &[&str] = &[
    "config.openshift.io",
    "machineconfiguration.openshift.io",
    "image.openshift.io",
    "samples.operator.openshift.io",
    "operators.coreos.com",
];

pub fn all() -> impl Iterator<Item = &'static ResourceInfo> {
    BUILTIN.iter().chain(CUSTOM.iter())
}

/// The resource of a kind (`apiVersion` + `kind`).
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceInfo> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    all().find(|r| r.group == group && r.version == version && r.kind == kind)
}

/// The resource a URL names (`group`, `version`, plural).
pub fn by_plural(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    all().find(|r| r.group == group && r.version == version && r.plural == plural)
}
