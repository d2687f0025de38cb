//! The actions of a plan while it is built: one entry per distinct change, with the findings
//! that need it and the actions it follows, then put in the order they run.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{Change, Desired};
use crate::desired::Actions;

pub(super) struct PendingAction {
    /// An alternative: nothing depends on it.
    pub(super) alternative: bool,
    /// Indices of the findings that need it, ascending (findings are walked in order): a
    /// plan can have an action per failing pod, and a set's node per action adds up.
    pub(super) findings: Vec<usize>,
    /// Actions this one follows (their first appearance).
    pub(super) after: BTreeSet<usize>,
    /// Execution phase (data, references, restarts); a manual step takes the phase of the action
    /// declared before it.
    pub(super) phase: u8,
    /// Index of first appearance.
    seen: usize,
}

/// Actions that are one action in the plan: same change, same reason to block it, same role.
pub(super) fn same_action(a: &Desired, b: &Desired) -> bool {
    a.change == b.change && a.blocked == b.blocked && a.alternative == b.alternative
}

/// A hash of what `same_action` compares.
pub(super) fn action_hash(d: &Desired) -> u64 {
    crate::desired::json_hash(&(&d.change, &d.blocked, d.alternative))
}

/// The actions met so far, by first appearance, found by `action_hash` then `same_action`.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) list: Vec<PendingAction>,
    /// Each action's change as first met, at the same index as in `list` (packed: a plan can
    /// have an action per failing container).
    pub(super) desired: Actions,
}

impl Pending {
    /// The index of `d`'s action, added (with `phase`) when new.
    pub(super) fn index(&mut self, d: &Desired, phase: u8) -> usize {
        let (id, new) = self.desired.intern_by(d, action_hash(d), same_action);
        let i = id as usize;
        if new {
            self.list.push(PendingAction {
                alternative: d.alternative,
                findings: Vec::new(),
                after: BTreeSet::new(),
                phase,
                seen: i,
            });
        }
        i
    }

    /// Record that finding `fi` needs action `i`; findings come in ascending order.
    pub(super) fn needed_by(&mut self, i: usize, fi: usize) {
        let findings = &mut self.list[i].findings;
        if findings.last() != Some(&fi) {
            findings.push(fi);
        }
    }
}

/// Several `ensureListItem` actions of one rule on one object become one change: one patch
/// (and, for `image.config.openshift.io/cluster`, one MachineConfig rollout instead of one per
/// list, so a rollout cut short cannot leave the nodes with half of it).
pub(super) fn coalesce(actions: &[Arc<Desired>]) -> Vec<Arc<Desired>> {
    let mut out: Vec<Arc<Desired>> = Vec::new();
    for d in actions {
        if let Change::EnsureListItem { target, items } = &d.change {
            let same = out.iter_mut().find(|o| {
                matches!(&o.change, Change::EnsureListItem { target: t, .. } if t == target)
                    && o.blocked == d.blocked
                    && o.requires == d.requires
                    && o.alternative == d.alternative
            });
            if let Some(o) = same {
                let o = Arc::make_mut(o);
                if let Change::EnsureListItem { items: have, .. } = &mut o.change {
                    for i in items {
                        if !have.contains(i) {
                            have.push(i.clone());
                        }
                    }
                }
                o.disruptive = match (o.disruptive, d.disruptive) {
                    (Some(a), Some(b)) => Some(a || b),
                    (a, b) => a.or(b),
                };
                if o.description.is_none() {
                    o.description = d.description.clone();
                }
                continue;
            }
        }
        out.push(d.clone());
    }
    out
}

/// The order actions run and are numbered in: the order the plan lists them (finding by
/// finding; within one, alternatives first, then data, references and restarts, each in the
/// order rules declare them), never before an action they depend on.
/// Listing order: (first finding, not an alternative, phase, first appearance).
type Priority = (usize, bool, u8, usize);

pub(super) fn execution_order(actions: &[PendingAction]) -> Vec<usize> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let priority = |pa: &PendingAction| -> Priority {
        (
            pa.findings.first().copied().unwrap_or(usize::MAX),
            !pa.alternative,
            pa.phase,
            pa.seen,
        )
    };
    let mut waiting: Vec<usize> = vec![0; actions.len()];
    let mut followers: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
    for (k, pa) in actions.iter().enumerate() {
        for &d in pa.after.iter().filter(|&&d| d < actions.len()) {
            waiting[k] += 1;
            followers[d].push(k);
        }
    }
    let mut ready: BinaryHeap<Reverse<(Priority, usize)>> = (0..actions.len())
        .filter(|&k| waiting[k] == 0)
        .map(|k| Reverse((priority(&actions[k]), k)))
        .collect();
    let mut out: Vec<usize> = Vec::with_capacity(actions.len());
    let mut done = vec![false; actions.len()];
    // Those not listed yet, in priority order: a cycle is broken at the first of them.
    let mut left: BTreeSet<(Priority, usize)> = (0..actions.len()).map(|k| (priority(&actions[k]), k)).collect();
    while out.len() < actions.len() {
        let next = match ready.pop() {
            Some(Reverse((_, k))) => k,
            // A cycle (rules that declare two actions in opposite orders): break it at the
            // action that would come first. Found in the ordered set, not by a scan: a rule's
            // cycle repeats once per failure.
            None => match left.first() {
                Some(&(_, k)) => k,
                None => break,
            },
        };
        if std::mem::replace(&mut done[next], true) {
            continue;
        }
        left.remove(&(priority(&actions[next]), next));
        out.push(next);
        for &f in &followers[next] {
            waiting[f] = waiting[f].saturating_sub(1);
            if waiting[f] == 0 && !done[f] {
                ready.push(Reverse((priority(&actions[f]), f)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(finding: usize, seen: usize, after: &[usize]) -> PendingAction {
        PendingAction {
            alternative: false,
            findings: vec![finding],
            after: after.iter().copied().collect(),
            phase: 1,
            seen,
        }
    }

    // A rule pair that declares two actions in opposite orders makes a cycle per failure: each
    // is broken at the action that would come first, found without scanning what is left.
    #[test]
    fn cycles_break_at_the_first_action_each_time() {
        let n = 5_000;
        let mut actions = Vec::new();
        for k in 0..n {
            // Finding k: a pair that waits for each other, then one that follows both.
            let base = 3 * k;
            actions.push(action(k, base, &[base + 1]));
            actions.push(action(k, base + 1, &[base]));
            actions.push(action(k, base + 2, &[base, base + 1]));
        }
        let order = execution_order(&actions);
        assert_eq!(order.len(), 3 * n);
        for k in 0..n {
            assert_eq!(&order[3 * k..3 * k + 3], &[3 * k, 3 * k + 1, 3 * k + 2], "finding {k}");
        }
        // A dependency outside the list holds nothing back.
        let order = execution_order(&[action(0, 1, &[7]), action(0, 0, &[])]);
        assert_eq!(order, [1, 0]);
    }
}
