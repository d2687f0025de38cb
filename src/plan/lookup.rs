//! Actions and findings by id. Ids are numbered in order (`a1` is `actions[0]`, `f1` is
//! `findings[0]`), so a lookup is by number; a scan is left only for a plan whose lists were
//! filtered. Looking up every finding's actions by scanning was quadratic on a large plan.

use std::collections::HashMap;
use std::sync::Arc;

use super::pending::{action_hash, coalesce, same_action};
use super::{Action, Desired, Finding, Plan};

fn by_number<'a, T>(items: &'a [T], id: &str, prefix: char, id_of: impl Fn(&T) -> &str) -> Option<&'a T> {
    id.strip_prefix(prefix)
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| items.get(n.checked_sub(1)?))
        .filter(|x| id_of(x) == id)
        .or_else(|| items.iter().find(|x| id_of(x) == id))
}

impl Plan {
    /// The action of this id, read back from the packed list.
    pub fn action(&self, id: &str) -> Option<Action> {
        id.strip_prefix('a')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| self.actions.get(n.checked_sub(1)?))
            .filter(|a| a.id == id)
            .or_else(|| self.actions.iter().find(|a| a.id == id))
    }

    pub fn finding(&self, id: &str) -> Option<&Finding> {
        by_number(&self.findings, id, 'f', |f| f.id.as_str())
    }
}

/// A plan's actions by their change, to find which of them a failure's rendered actions
/// became (for `explain`): the plan merges them across findings and numbers them anew.
pub struct ByChange<'p> {
    plan: &'p Plan,
    /// `action_hash` → the actions of that hash, by index (their changes stay packed).
    index: HashMap<u64, Vec<usize>>,
}

impl Plan {
    pub fn by_change(&self) -> ByChange<'_> {
        let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
        for i in 0..self.desired.len() {
            if let Some(d) = self.desired.get(i) {
                index.entry(action_hash(&d)).or_default().push(i);
            }
        }
        ByChange { plan: self, index }
    }
}

impl<'p> ByChange<'p> {
    /// The plan's actions for what one failure's evaluation rendered, in its order: merged as
    /// the plan merges them (`coalesce`), then found by change.
    pub fn actions_for(&self, rendered: &[Arc<Desired>]) -> Vec<Action> {
        let mut out: Vec<Action> = Vec::new();
        for d in coalesce(rendered) {
            let found = self
                .index
                .get(&action_hash(&d))
                .and_then(|at| {
                    at.iter()
                        .find(|&&i| self.plan.desired.get(i).is_some_and(|have| same_action(&have, &d)))
                })
                .and_then(|&i| self.plan.actions.get(i));
            if let Some(a) = found
                && !out.iter().any(|o| o.id == a.id)
            {
                out.push(a);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_number_then_by_scan() {
        #[derive(Debug, PartialEq)]
        struct X(String);
        let items: Vec<X> = ["a1", "a2", "a3"].iter().map(|s| X(s.to_string())).collect();
        assert_eq!(by_number(&items, "a2", 'a', |x| &x.0), Some(&items[1]));
        assert_eq!(by_number(&items, "a4", 'a', |x| &x.0), None);
        assert_eq!(by_number(&items, "a0", 'a', |x| &x.0), None);
        assert_eq!(by_number(&items, "b", 'a', |x| &x.0), None);
        // A filtered list: `a3` is not at index 2 any more, and is still found.
        let filtered: Vec<X> = ["a1", "a3"].iter().map(|s| X(s.to_string())).collect();
        assert_eq!(by_number(&filtered, "a3", 'a', |x| &x.0), Some(&filtered[1]));
    }
}
