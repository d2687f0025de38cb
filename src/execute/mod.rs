//! The only cluster writer: carries out a plan's pending actions, each re-read and
//! re-assessed just before its write, guarded against concurrent edits, with the prior state
//! backed up first. Pure parts (the requests, the report, the exit code, the ClusterRole) are
//! plain functions; only what talks to the API server is async.

pub mod api;
pub mod backup;
mod dockerjson;
pub mod rbac;
pub mod report;
mod run;
pub mod undo;
pub mod verify;
pub mod writes;

use std::future::Future;
use std::sync::Arc;

pub use report::{ActionReport, FindingReport, Outcome, Report, ReportSummary, Verification, WriteReport};
pub use run::{Options, Selection, execute};
pub use writes::{ANNOTATION, FIELD_MANAGER, Stamp, Write};

use crate::cluster::Object;
use crate::desired::Target;

#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The state does not allow the write (an object vanished, an input is missing).
    #[error("{0}")]
    Precondition(String),
    /// The object is in a state a write could not keep whole (re-reading will not help).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("backup: {0}")]
    Backup(String),
}

/// How a request failed, as far as apply cares.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// 409, or 422 from a failed JSON-patch `test`: someone changed the object since it was
    /// read. Apply re-reads, re-assesses and tries again.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Server-side apply found fields owned by another manager: never forced.
    #[error("field conflict with another manager: {0}")]
    FieldConflict(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// Anything else: a 5xx after retries, a timeout, a transport error, a rejected request.
    #[error("{0}")]
    Other(String),
}

/// The writes apply makes, and the reads it makes just before them. Implemented on the
/// Kubernetes API (the live backend) and by test doubles.
pub trait Writer {
    /// One object as it is now (`None`: it does not exist).
    fn read(&self, target: &Target) -> impl Future<Output = Result<Option<Arc<Object>>, WriteError>>;

    /// Send one write (with `dryRun=All` when `dry_run`); returns the object as the server
    /// left it (`None` after a delete).
    fn write(&self, w: &Write, dry_run: bool) -> impl Future<Output = Result<Option<Object>, WriteError>>;
}

/// Exit codes of `remedy apply` (documented in docs/exit-codes.md).
pub mod exit {
    /// Nothing to do: every action was already in place.
    pub const NOTHING_TO_DO: u8 = 0;
    /// An error before anything was applied: bad flags, a drifted saved plan, an unreachable API.
    pub const ERROR: u8 = 1;
    /// Every action that could run was applied (and, with `--wait`, every finding is fixed).
    pub const APPLIED: u8 = 2;
    /// Nothing failed, but something is left: skipped or not-run actions (manual steps,
    /// missing inputs, disruptive ones), or findings not verified fixed.
    pub const PARTIAL: u8 = 3;
    /// At least one action failed.
    pub const FAILED: u8 = 4;
}

/// The exit code a report stands for.
pub fn exit_code(r: &Report, verified: bool) -> u8 {
    let s = &r.summary;
    if s.failed > 0 {
        exit::FAILED
    } else if s.skipped > 0
        || s.not_run > 0
        || (verified && r.findings.iter().any(|f| f.verification != Verification::Fixed))
    {
        exit::PARTIAL
    } else if s.applied > 0 {
        exit::APPLIED
    } else {
        exit::NOTHING_TO_DO
    }
}

/// Now, as RFC 3339 in UTC (`2026-12-01T10:27:02Z`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the epoch as RFC 3339 (civil-from-days, proleptic Gregorian).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_121_222), "2026-12-01T10:33:42Z");
    }
}
