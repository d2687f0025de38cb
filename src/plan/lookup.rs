//! Actions and findings by id. Ids are numbered in order (`a1` is `actions[0]`, `f1` is
//! `findings[0]`), so a lookup is by number; a scan is left only for a plan whose lists were
//! filtered. Looking up every finding's actions by scanning was quadratic on a large plan.

use super::{Action, Finding, Plan};

fn by_number<'a, T>(items: &'a [T], id: &str, prefix: char, id_of: impl Fn(&T) -> &str) -> Option<&'a T> {
    id.strip_prefix(prefix)
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| items.get(n.checked_sub(1)?))
        .filter(|x| id_of(x) == id)
        .or_else(|| items.iter().find(|x| id_of(x) == id))
}

impl Plan {
    pub fn action(&self, id: &str) -> Option<&Action> {
        by_number(&self.actions, id, 'a', |a| a.id.as_str())
    }

    pub fn finding(&self, id: &str) -> Option<&Finding> {
        by_number(&self.findings, id, 'f', |f| f.id.as_str())
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
