//! `-A` (every namespace) and `-n` (only these) together ask for two things: a usage error,
//! not one of them silently winning.

mod common;
use common::*;

#[test]
fn all_namespaces_with_namespace_is_a_usage_error() {
    let ex = example("seed-003-icr-namespace");
    let r = remedy(&["plan", "--snapshot", &ex, "-A", "-n", "shop"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("-A/--all-namespaces and -n/--namespace shop contradict each other"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "nothing planned: {}", r.stdout);
    // Each alone is fine.
    assert_eq!(remedy(&["plan", "--snapshot", &ex, "-A"]).code, 2);
    assert_eq!(remedy(&["plan", "--snapshot", &ex, "-n", "shop"]).code, 2);
    // explain is about one pod in one namespace: -A is refused there, with or without -n.
    for args in [&["-A"][..], &["-A", "-n", "shop"][..]] {
        let mut a = vec!["explain", "pod/frontend-7c9d6b5f48-2xkqp", "--snapshot", &ex];
        a.extend_from_slice(args);
        let r = remedy(&a);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("not -A/--all-namespaces"), "{}", r.stderr);
    }
    // apply takes -n as plan does, and refuses it with -A before connecting anywhere.
    let r = remedy(&["apply", "-A", "-n", "shop", "--dry-run"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("-A/--all-namespaces and -n/--namespace shop contradict each other"),
        "{}",
        r.stderr
    );
}
