//! The flags of a `plan` run, in the words that reproduce it (`plan::rerun`).

use super::PlanArgs;
use crate::plan::rerun::Rerun;

/// Every flag that changes the plan; output flags (`-o`, `--out`) and logging are left out, the
/// hint adds its own.
pub fn of(args: &PlanArgs) -> Rerun {
    let mut r = Rerun::new();
    for s in &args.snapshot {
        r = r.flag("--snapshot", &s.display().to_string());
    }
    for p in &args.rules.rules {
        r = r.flag("--rules", &p.display().to_string());
    }
    if args.rules.no_bundled {
        r = r.switch("--no-bundled");
    }
    for s in &args.set {
        let (name, value) = s.split_once('=').unwrap_or((s, ""));
        r = r.set(name, value);
    }
    for s in &args.set_file {
        let (name, path) = s.split_once('=').unwrap_or((s, ""));
        r = r.set_file(name, path);
    }
    for ns in &args.scope.namespace {
        r = r.flag("-n", ns);
    }
    if let Some(sel) = &args.scope.selector {
        r = r.flag("-l", sel);
    }
    for c in &args.scope.category {
        r = r.flag("--category", c);
    }
    for id in &args.scope.rule {
        r = r.flag("--rule", id);
    }
    r
}
