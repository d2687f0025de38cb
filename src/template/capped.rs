//! `replace` and `join` in place of minijinja's: the two filters whose result can be far
//! larger than what they are given (`x | replace('a', x)` squares it, `join` repeats its
//! separator once per item). Each result is capped at `MAX_VALUE`, and all their results in one
//! render together at `RENDER_BUDGET` (`map('replace', ...)` over a long list).

use std::cell::Cell;

use minijinja::value::{StringInput, ValueKind};
use minijinja::{Error, ErrorKind, Value};

/// The largest value one call may build: the same as a template's whole output.
pub const MAX_VALUE: usize = super::MAX_OUTPUT;
/// What all capped filters may build in one render.
pub const RENDER_BUDGET: usize = 4 * MAX_VALUE;

thread_local! {
    static LEFT: Cell<usize> = const { Cell::new(RENDER_BUDGET) };
}

/// Called before each render: the budget is per render.
pub fn reset_budget() {
    LEFT.with(|l| l.set(RENDER_BUDGET));
}

/// Refuse a result of `len` bytes before building it.
fn charge(filter: &str, len: usize) -> Result<(), Error> {
    if len > MAX_VALUE {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "filter `{filter}` would build a value of {}, over its bound of {}",
                crate::limits::human_size(len as u64),
                crate::limits::human_size(MAX_VALUE as u64)
            ),
        ));
    }
    LEFT.with(|l| {
        let left = l.get();
        if len > left {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "filters `replace` and `join` built more than {} in one template",
                    crate::limits::human_size(RENDER_BUDGET as u64)
                ),
            ));
        }
        l.set(left - len);
        Ok(())
    })
}

/// `s | replace(from, to)`: every occurrence, as minijinja's does.
pub fn replace(s: StringInput<'_>, from: StringInput<'_>, to: StringInput<'_>) -> Result<String, Error> {
    replace_str(s.as_str(), from.as_str(), to.as_str())
}

fn replace_str(s: &str, from: &str, to: &str) -> Result<String, Error> {
    let n = s.matches(from).count();
    let len = (s.len() - n * from.len()).saturating_add(n.saturating_mul(to.len()));
    charge("replace", len)?;
    Ok(s.replace(from, to))
}

/// `seq | join(sep[, attribute])`: items as text (a string joins its characters), as
/// minijinja's does.
pub fn join(v: &Value, sep: Option<StringInput<'_>>, attribute: Option<&str>) -> Result<String, Error> {
    join_values(v, sep.as_ref().map_or("", StringInput::as_str), attribute)
}

fn join_values(v: &Value, sep: &str, attribute: Option<&str>) -> Result<String, Error> {
    if v.is_undefined() || v.is_none() {
        return Ok(String::new());
    }
    let items: Vec<String> = match v.kind() {
        ValueKind::String => v.as_str().unwrap_or_default().chars().map(String::from).collect(),
        _ => v
            .try_iter()
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("cannot join a {} value", v.kind())))?
            .map(|item| match attribute {
                Some(path) => path
                    .split('.')
                    .try_fold(item, |v, part| v.get_attr(part).ok())
                    .unwrap_or(Value::UNDEFINED),
                None => item,
            })
            .map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_string))
            .collect(),
    };
    let len = items
        .iter()
        .map(String::len)
        .sum::<usize>()
        .saturating_add(sep.len().saturating_mul(items.len().saturating_sub(1)));
    charge("join", len)?;
    Ok(items.join(sep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_agree_with_the_usual_filters() {
        reset_budget();
        assert_eq!(replace_str("quay.io", ".", "-").unwrap(), "quay-io");
        assert_eq!(replace_str("ab", "", "-").unwrap(), "-a-b-");
        assert_eq!(join_values(&Value::from(vec!["a", "b"]), ", ", None).unwrap(), "a, b");
        assert_eq!(join_values(&Value::from("abc"), "-", None).unwrap(), "a-b-c");
        assert_eq!(join_values(&Value::from(vec![1, 2]), "", None).unwrap(), "12");
        assert_eq!(join_values(&Value::UNDEFINED, "", None).unwrap(), "");
    }

    #[test]
    fn an_amplifying_call_is_refused_before_it_builds() {
        reset_budget();
        let big = "a".repeat(2000);
        let e = replace_str(&big, "a", &big).unwrap_err();
        assert!(e.to_string().contains("over its bound"), "{e}");
        let items: Vec<&str> = vec!["x"; 2000];
        let e = join_values(&Value::from(items), &big, None).unwrap_err();
        assert!(e.to_string().contains("over its bound"), "{e}");
        // Many calls under the single bound still meet the budget of the render.
        let half = "b".repeat(MAX_VALUE / 2 + 1);
        let mut failed = None;
        for i in 0..16 {
            if let Err(e) = replace_str(&half, "c", "d") {
                failed = Some((i, e));
                break;
            }
        }
        let (i, e) = failed.expect("the render budget ends the calls");
        assert_eq!(i, RENDER_BUDGET / (MAX_VALUE / 2 + 1));
        assert!(e.to_string().contains("in one template"), "{e}");
        reset_budget();
        assert!(replace_str(&half, "c", "d").is_ok());
    }
}
