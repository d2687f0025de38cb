use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// A test on one string. Set exactly one of `contains`, `regex`, `equals`, `anyOf`, `allOf`, `not`.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TextMatcher {
    /// Substring, case-insensitive unless `caseSensitive: true`.
    #[serde(default)]
    pub contains: Option<String>,
    /// Rust regex syntax; named groups (`(?P<name>...)`) become `captures.name` in templates.
    /// Case-insensitive unless `caseSensitive: true`.
    #[serde(default)]
    pub regex: Option<String>,
    /// Whole-string equality, case-sensitive.
    #[serde(default)]
    pub equals: Option<String>,
    /// At least one of these tests holds.
    #[serde(default)]
    pub any_of: Option<Vec<TextMatcher>>,
    /// All of these tests hold.
    #[serde(default)]
    pub all_of: Option<Vec<TextMatcher>>,
    /// This test does not hold (its named groups capture nothing).
    #[serde(default)]
    pub not: Option<Box<TextMatcher>>,
    /// Applies to `contains` and `regex` of this matcher.
    #[serde(default)]
    pub case_sensitive: Option<bool>,
}

/// Which failures a playbook looks at. Every field that is set must hold.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MatchSpec {
    /// A symptom id: the failure's message must show it.
    #[serde(default)]
    pub symptom: Option<String>,
    /// Symptom ids: the failure's message must show at least one.
    #[serde(default)]
    pub symptoms: Vec<String>,
    /// Any message of the failure (event messages and the container's waiting message).
    #[serde(default)]
    pub message: Option<TextMatcher>,
    /// The `reason` of any of the failure's events (`Failed`, `BackOff`, `InspectFailed`, ...).
    #[serde(default)]
    pub event_reason: Option<TextMatcher>,
    /// The `type` of any of the failure's events (`Warning`, `Normal`).
    #[serde(default)]
    pub event_type: Option<TextMatcher>,
    /// The kind of the failing object: `Pod`, or `ImageStream` for failed imports.
    #[serde(default)]
    pub involved_kind: Option<TextMatcher>,
    /// The container status `state.waiting.reason` (`ErrImagePull`, `ImagePullBackOff`, ...).
    #[serde(default)]
    pub waiting_reason: Option<TextMatcher>,
    /// The container status `state.waiting.message`.
    #[serde(default)]
    pub waiting_message: Option<TextMatcher>,
    /// The image as written in the pod spec.
    #[serde(default)]
    pub image: Option<TextMatcher>,
    /// The registry host[:port] of the image, after Docker's normalisation.
    #[serde(default)]
    pub registry: Option<TextMatcher>,
    /// Namespaces to look at or skip, with `*` wildcards.
    #[serde(default)]
    pub namespaces: Option<NamespaceFilter>,
    /// A Kubernetes label selector on the failing pod's labels.
    #[serde(default)]
    pub pod_selector: Option<LabelSelectorSpec>,
    /// Also look at failures whose surviving messages name no cause (events expire after an
    /// hour, leaving only `Back-off pulling image`): the message-level tests (`symptom`,
    /// `symptoms`, `message`, `waitingMessage`) then count as passed, and the probes decide.
    #[serde(default)]
    pub inferred: bool,
    /// At least one of these nested matchers holds.
    #[serde(default)]
    pub any_of: Vec<MatchSpec>,
    /// All of these nested matchers hold.
    #[serde(default)]
    pub all_of: Vec<MatchSpec>,
    /// This nested matcher does not hold (its named groups capture nothing).
    #[serde(default)]
    pub not: Option<Box<MatchSpec>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceFilter {
    /// Namespaces to look at (all when empty). `*` wildcards allowed.
    #[serde(default)]
    pub include: Vec<String>,
    /// Namespaces to skip. `*` wildcards allowed.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// A Kubernetes label selector on the failing pod.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelSelectorSpec {
    /// Labels the pod must have, with these values.
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements on the pod's labels; all must hold.
    #[serde(default)]
    pub match_expressions: Vec<LabelExpressionSpec>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelExpressionSpec {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: LabelOperator,
    /// The values for `In` and `NotIn`; empty for `Exists` and `DoesNotExist`.
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum LabelOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}
