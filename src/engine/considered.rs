//! What each rule made of the failures a confirmed rule groups together: the plan lists it
//! as a finding's candidates. Gathered failure by failure, as each is evaluated, so a run need
//! not keep every rule's outcome on every failure (most are ruled out, and a cluster can have
//! any number of failures).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{Evaluated, Outcome};
use crate::near::Text;

/// (confirmed rule, its group key) → rule → outcome: a confirmation on any of the group's
/// failures wins, otherwise the first outcome met.
#[derive(Debug, Clone, Default)]
pub struct Considered {
    by: HashMap<(usize, std::sync::Arc<str>), BTreeMap<usize, Outcome>>,
}

impl Considered {
    /// Fold in the evaluations of one failure (every rule that matched it).
    pub(super) fn add(&mut self, evaluations: &[Evaluated]) {
        for c in evaluations.iter().filter(|e| e.outcome == Outcome::Confirmed) {
            let key = (c.rule, c.group.clone());
            let slot = self.by.entry(key).or_default();
            for e in evaluations {
                match slot.get_mut(&e.rule) {
                    None => {
                        slot.insert(e.rule, e.outcome.clone());
                    }
                    Some(o) if e.outcome == Outcome::Confirmed => *o = Outcome::Confirmed,
                    Some(_) => {}
                }
            }
        }
    }

    /// Fold in evaluations listed failure by failure (as the engine lists them).
    pub(super) fn add_all(&mut self, evaluated: &[Evaluated]) {
        for run in evaluated.chunk_by(|a, b| a.failure == b.failure) {
            self.add(run);
        }
    }

    /// The outcomes of every rule on the failures `rule` confirmed with `group`.
    pub fn of(&self, rule: usize, group: &str) -> impl Iterator<Item = (usize, &Outcome)> {
        self.by
            .get(&(rule, group.into()))
            .into_iter()
            .flatten()
            .map(|(r, o)| (*r, o))
    }
}

/// The first explanation rendered for each (rule, group key): the ones after it, rendered from
/// the same template, keep only what differs from it.
#[derive(Default)]
pub(super) struct Firsts {
    by: HashMap<(usize, String), Arc<str>>,
}

impl Firsts {
    pub(super) fn near(&mut self, rule: usize, group: &str, text: &Text) -> Text {
        let text = text.as_cow();
        let base = self
            .by
            .entry((rule, group.to_string()))
            .or_insert_with(|| Arc::from(&*text));
        Text::near(&text, base)
    }
}
