//! The flags of a `plan` run, in the words that reproduce it (`plan::rerun`).

use super::PlanArgs;
use crate::plan::rerun::Rerun;

/// `--max-file-size`'s default (`1GiB`).
const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 30;

/// A size as `--max-file-size` reads it back, in the largest exact unit.
fn size(n: u64) -> String {
    match n {
        0 => "0".into(),
        n if n % (1 << 30) == 0 => format!("{}GiB", n >> 30),
        n if n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        n if n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        n => n.to_string(),
    }
}

/// Every flag that changes the plan; output flags (`-o`, `--out`), logging and the time limits
/// (`--timeout`, `--request-timeout`: they decide whether a plan is made, not what it says)
/// are left out, the hint adds its own.
pub fn of(args: &PlanArgs) -> Rerun {
    let mut r = Rerun::new();
    for s in &args.snapshot {
        r = r.flag("--snapshot", &s.display().to_string());
    }
    if let Some(k) = &args.connect.kubeconfig {
        r = r.flag("--kubeconfig", &k.display().to_string());
    }
    if let Some(c) = &args.connect.context {
        r = r.flag("--context", c);
    }
    if args.strict {
        r = r.switch("--strict");
    }
    // Given by flag or by REMEDY_MAX_FILE_SIZE: either way it decides which files are read.
    if args.max_file_size != DEFAULT_MAX_FILE_SIZE {
        r = r.flag("--max-file-size", &size(args.max_file_size));
    }
    if args.probe_registries {
        r = r.switch("--probe-registries");
    }
    for p in &args.rules.rules {
        r = r.flag("--rules", &p.display().to_string());
    }
    if args.rules.no_bundled {
        r = r.switch("--no-bundled");
    }
    // Never a value: any may be a credential, whatever its name says. `VALUE` stands for it.
    for s in &args.set {
        let (name, _) = s.split_once('=').unwrap_or((s, ""));
        r = r.flag("--set", &format!("{name}=VALUE"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_back_the_same() {
        for n in [1 << 30, 3 << 30, 512 << 20, 5 << 10, 1000, 0] {
            assert_eq!(crate::limits::parse_size(&size(n)).unwrap(), n, "{}", size(n));
        }
        assert_eq!(size(512 << 20), "512MiB");
    }
}
