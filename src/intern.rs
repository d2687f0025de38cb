//! One copy of each repeated string: a run's namespaces, kinds, reasons, registries and times
//! recur across thousands of events and failures, and each copy is at least a small allocation.

use std::collections::HashSet;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Names(HashSet<Arc<str>>);

impl Names {
    /// The one copy of `s`, made on first use.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(have) = self.0.get(s) {
            return have.clone();
        }
        let new: Arc<str> = Arc::from(s);
        self.0.insert(new.clone());
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_string_is_kept_once() {
        let mut names = Names::default();
        let a = names.get("apps");
        let b = names.get(&String::from("apps"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*names.get("web"), "web");
        assert!(!Arc::ptr_eq(&a, &names.get("web")));
    }
}
