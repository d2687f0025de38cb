//! What a plan asks of its reader: the exit code, and the line that says so when no action is
//! pending. Both read the same facts, so the text never contradicts the code.

use super::types::{Plan, Status};

/// Exit codes, in the spirit of `terraform plan -detailed-exitcode`. Documented in `docs/exit-codes.md`.
pub mod exit {
    /// Nothing is failing, or everything is already fixed.
    pub const CLEAN: u8 = 0;
    /// An error: bad rules, an unreadable snapshot, bad flags, an API failure.
    pub const ERROR: u8 = 1;
    /// Findings with pending actions: `remedy apply` would change the cluster.
    pub const PENDING: u8 = 2;
    /// Findings that need a person: only manual, needs-input or blocked actions, or failures no rule explains.
    pub const ATTENTION: u8 = 3;
    /// A plan made from part of the snapshot: some files had errors and were left out
    /// (`source.partial`); `--strict` makes this an error (1) instead.
    pub const PARTIAL: u8 = 4;
}

impl Plan {
    pub fn exit_code(&self) -> u8 {
        let action = |id: &String| self.action(id);
        // A finding is settled when it has fixes and every one is already in place (an
        // alternative way to the same end does not count); a diagnosis-only finding (no
        // actions) always needs a person.
        let settled = self.findings.iter().all(|f| {
            // Read back one at a time: a finding can have an action per failing container.
            let mut main = f
                .actions
                .iter()
                .filter_map(action)
                .filter(|a| !a.alternative)
                .peekable();
            main.peek().is_some() && main.all(|a| a.status == Status::Satisfied)
        });
        if self.summary.pending > 0 {
            exit::PENDING
        } else if settled
            && self.unexplained.is_empty()
            && self.errors.is_empty()
            && self.unseen_namespaces().is_empty()
        {
            exit::CLEAN
        } else {
            exit::ATTENTION
        }
    }
}

impl Plan {
    /// Findings with no fix of their own (diagnosis only, or only alternatives): they need a
    /// person even when no action is pending.
    pub fn diagnosis_only(&self) -> Vec<&str> {
        self.findings
            .iter()
            .filter(|f| {
                !f.actions
                    .iter()
                    .any(|id| self.actions.iter().any(|a| &a.id == id && !a.alternative))
            })
            .map(|f| f.id.as_str())
            .collect()
    }

    /// Namespaces of failing pods the snapshot does not hold, and whose disappearance it does
    /// not show either: their failures cannot be diagnosed, so they need a person.
    pub fn unseen_namespaces(&self) -> Vec<&str> {
        let mut ns: Vec<&str> = self
            .orphans
            .iter()
            .filter(|o| o.gone == Some(false))
            .map(|o| o.namespace.as_str())
            .collect();
        ns.dedup();
        ns.sort_unstable();
        ns.dedup();
        ns
    }

    /// The closing line when nothing is pending, manual, blocked or waiting for input: it
    /// matches the exit code (only exit 0 says "nothing to do").
    pub fn settled_line(&self) -> String {
        let diagnosis = self.diagnosis_only();
        if !diagnosis.is_empty() {
            let n = diagnosis.len();
            return format!(
                "read {} ({}): remedy has no fix to plan for {}; act on its \"why\"",
                if n == 1 { "the finding" } else { "the findings" },
                diagnosis.join(", "),
                if n == 1 { "it" } else { "them" },
            );
        }
        let unseen = self.unseen_namespaces();
        if !unseen.is_empty() {
            let ns = unseen.join(", ");
            return format!(
                "the snapshot holds no pods of {ns}: capture them too (kubectl get pods -n NAMESPACE -o yaml), then plan again"
            );
        }
        if !self.errors.is_empty() {
            return "fix the playbooks that failed (marked !), then plan again".to_string();
        }
        if self.exit_code() != exit::CLEAN {
            return "look at the findings above: remedy cannot tell whether they are fixed".to_string();
        }
        if self.findings.is_empty() && self.unexplained.is_empty() {
            "nothing to do".to_string()
        } else {
            "nothing to do: every fix is already in place".to_string()
        }
    }
}
