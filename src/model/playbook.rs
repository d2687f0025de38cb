use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ActionSpec, MatchSpec, ProbeSpec, TextMatcher};

/// The failure-category vocabulary shared by every report and metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Auth,
    InsecureHttp,
    TlsUnknownCa,
    TlsHostname,
    TlsExpired,
    NotFound,
    RateLimit,
    Dns,
    NetworkTimeout,
    ConnectionRefused,
    Proxy,
    PlatformMismatch,
    PolicyRejected,
    InvalidImageName,
    NeverPull,
    DiskFull,
    Other,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Auth => "auth",
            Category::InsecureHttp => "insecure-http",
            Category::TlsUnknownCa => "tls-unknown-ca",
            Category::TlsHostname => "tls-hostname",
            Category::TlsExpired => "tls-expired",
            Category::NotFound => "not-found",
            Category::RateLimit => "rate-limit",
            Category::Dns => "dns",
            Category::NetworkTimeout => "network-timeout",
            Category::ConnectionRefused => "connection-refused",
            Category::Proxy => "proxy",
            Category::PlatformMismatch => "platform-mismatch",
            Category::PolicyRejected => "policy-rejected",
            Category::InvalidImageName => "invalid-image-name",
            Category::NeverPull => "never-pull",
            Category::DiskFull => "disk-full",
            Category::Other => "other",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum RuleSeverity {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

/// A playbook: one cause of failing image pulls, how to recognise it and how to fix it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlaybookSpec {
    /// Always `remedy.dev/v1alpha1`.
    pub api_version: String,
    /// Always `Playbook`.
    pub kind: String,
    /// The rule id, title, category and references.
    pub metadata: PlaybookMetadata,
    /// How to recognise the cause, confirm it and fix it.
    pub spec: PlaybookBody,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlaybookMetadata {
    /// The rule id: kebab-case, unique. A user rule with the id of a bundled rule replaces it.
    pub name: String,
    /// One line saying what the cause is.
    pub title: String,
    /// The failure category from the shared vocabulary.
    pub category: Category,
    /// How bad the cause is: `low`, `medium` (the default), `high` or `critical`.
    #[serde(default)]
    pub severity: RuleSeverity,
    /// Longer explanation, shown with `remedy rules show`.
    #[serde(default)]
    pub description: Option<String>,
    /// Links to documentation, issues or write-ups that describe the cause.
    #[serde(default)]
    pub references: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlaybookBody {
    /// Which failures this playbook looks at.
    #[serde(rename = "match")]
    pub matcher: MatchSpec,
    /// Reads of cluster state, evaluated in order; each result is a template variable named after the probe.
    #[serde(default)]
    pub probes: Vec<ProbeSpec>,
    /// Conditions (minijinja expressions) that must all hold for the cause to be confirmed.
    #[serde(default)]
    pub when: Vec<String>,
    /// Template for the "why" line of a finding.
    #[serde(default)]
    pub explain: Option<String>,
    /// Template for the key that groups failures into one finding.
    /// Default: `{{ failure.namespace }} {{ failure.registry }}`.
    #[serde(default)]
    pub group_by: Option<String>,
    /// Rule ids this one replaces when both confirm the same failure (a more precise diagnosis).
    #[serde(default)]
    pub supersedes: Vec<String>,
    /// The desired state that fixes the cause, in order.
    #[serde(default)]
    pub actions: Vec<ActionSpec>,
    /// Message examples that must (`match`) and must not (`noMatch`) select this playbook.
    #[serde(default)]
    pub examples: Option<Examples>,
}

/// A symptom: a reusable, named definition of one kind of failure message, across every
/// runtime's and registry's wording. Playbooks refer to it with `match.symptom`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SymptomSpec {
    /// Always `remedy.dev/v1alpha1`.
    pub api_version: String,
    /// Always `Symptom`.
    pub kind: String,
    /// The symptom id and its category.
    pub metadata: SymptomMetadata,
    /// The wording of the message, its priority and examples.
    pub spec: SymptomBody,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SymptomMetadata {
    /// The symptom id: kebab-case, unique among symptoms.
    pub name: String,
    /// The category a message with this symptom falls into.
    pub category: Category,
    /// One line describing the message, for reports.
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SymptomBody {
    /// When several symptoms match one message, the highest priority decides its category.
    #[serde(default)]
    pub priority: i32,
    /// The wording, across runtimes and registries.
    pub message: TextMatcher,
    /// Messages that must and must not match; checked by `remedy rules test` and the test suite.
    #[serde(default)]
    pub examples: Option<Examples>,
}

/// Rule tests as data.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Examples {
    /// Messages that must select this playbook or symptom.
    #[serde(default, rename = "match")]
    pub matching: Vec<String>,
    /// Messages that must not select it.
    #[serde(default)]
    pub no_match: Vec<String>,
}
