//! The apply report (`remedy apply --report FILE`): a public contract, documented by
//! `schemas/report.schema.json` (generated from these types; every field is always present,
//! `null` when it does not apply). It never holds a secret value.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::ActionTarget;

pub const REPORT_KIND: &str = "ApplyReport";

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `remedy.dev/v1alpha1`.
    pub api_version: String,
    /// `ApplyReport`.
    pub kind: String,
    /// Where the plan came from (`live` and the context, or a snapshot).
    pub source: ReportSource,
    /// Writes were sent with `dryRun=All`: the API server checked them and changed nothing.
    pub dry_run: bool,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC.
    pub finished_at: String,
    /// Where the prior state of changed objects was saved (null for a dry run).
    pub backup_dir: Option<String>,
    pub summary: ReportSummary,
    /// Every action of the plan, in plan order, with what became of it.
    pub actions: Vec<ActionReport>,
    /// Per finding: whether its pods recovered (`unknown` without `--wait`).
    pub findings: Vec<FindingReport>,
    /// The exit code `remedy apply` returned (see docs/exit-codes.md).
    pub exit_code: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ReportSource {
    /// `snapshot` or `live`.
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportSummary {
    pub applied: usize,
    pub already_satisfied: usize,
    pub skipped: usize,
    pub failed: usize,
    pub not_run: usize,
    /// Write requests sent (each action sends at most one per attempt).
    pub writes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The change was made (or, in a dry run, accepted by the API server).
    Applied,
    /// Nothing to do: the desired state already held when re-read.
    AlreadySatisfied,
    /// Left out on purpose: not selected by `--only`, or disruptive without `--allow-disruptive`.
    Skipped,
    /// The API server refused it or it could not be made; `error` says why.
    Failed,
    /// Could not run: a manual step, a missing input, something blocked, or an action it
    /// depends on did not succeed.
    NotRun,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::AlreadySatisfied => "already-satisfied",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::NotRun => "not-run",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionReport {
    /// The plan's action id (`a1`, ...).
    pub id: String,
    /// The plan's action type (`copySecret`, `restartPod`, ...).
    #[serde(rename = "type")]
    pub action_type: String,
    /// The object changed; null for a manual step.
    pub target: Option<ActionTarget>,
    pub result: Outcome,
    /// Why it was skipped, not run or already satisfied.
    pub reason: Option<String>,
    /// What went wrong, for `failed` (the API server's words; never a value).
    pub error: Option<String>,
    /// How many times it was read and tried (a conflict re-reads and tries again).
    pub attempts: u32,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC.
    pub finished_at: String,
    /// The requests that changed objects, for `remedy undo`.
    pub writes: Vec<WriteReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WriteReport {
    /// `apply` (server-side apply), `json-patch`, `merge-patch` or `delete`.
    pub verb: String,
    pub target: ActionTarget,
    /// The object did not exist before: undo deletes it.
    pub created: bool,
    /// The file holding the object as it was before (null when it did not exist or for a dry run).
    pub backup: Option<String>,
    /// The object's uid and resourceVersion right after the write: undo leaves it alone if
    /// they changed since.
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    /// Every pod of the finding (or its replacement) pulled its image.
    Fixed,
    /// A pod still fails to pull; `message` is its current message (it may name the next cause).
    StillFailing,
    /// Not checked (no `--wait`), or the pods could not be found or read in time.
    Unknown,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FindingReport {
    /// The plan's finding id.
    pub id: String,
    /// The playbook id.
    pub rule: String,
    pub verification: Verification,
    /// The current pull message of a pod that still fails.
    pub message: Option<String>,
}
