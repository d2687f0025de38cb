//! Rule templates cannot build values of unbounded size: constructs that could are refused at
//! load with `unbounded-template` and their place, and the two filters that amplify (`replace`,
//! `join`) are capped when they run. Before, forty `{% set b = a ~ a %}` lines took remedy past
//! any memory in well under a second of steps.

mod common;
use common::*;

const HEAD: &str = "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata:\n  name: hostile\n  title: t\n  category: auth\n  severity: low\n";

fn rule(explain: &str) -> String {
    format!(
        "{HEAD}spec:\n  match:\n    symptom: registry-auth\n  explain: {explain:?}\n  actions:\n    - manual: {{ title: x, steps: [y] }}\n"
    )
}

fn check(text: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rule.yaml");
    std::fs::write(&path, text).unwrap();
    let p = path.display().to_string();
    let r = remedy(&["rules", "check", "--rules", &p]);
    // `plan` refuses it the same way, before planning anything.
    let plan = remedy(&["plan", "--rules", &p, "--snapshot", &example("seed-004-marketplace")]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(plan.stdout.is_empty(), "no plan from refused rules");
    r
}

fn expect_refused(explain: &str, words: &str) {
    let r = check(&rule(explain));
    assert_eq!(r.code, 1, "{explain}: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(
        r.stderr.contains("error[unbounded-template]"),
        "{explain}: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("rule.yaml:11:"),
        "{explain}: the field's line: {}",
        r.stderr
    );
    assert!(r.stderr.contains(words), "{explain}: `{words}` expected: {}", r.stderr);
    assert!(r.stderr.contains("help:"), "{}", r.stderr);
}

#[test]
fn doubling_by_assignment_is_refused_at_load() {
    let mut t = String::from("{% set a0 = failure.message %}");
    for i in 0..40 {
        t.push_str(&format!("{{% set a{} = a{i} ~ a{i} %}}", i + 1));
    }
    t.push_str("{{ a40 | length }}");
    expect_refused(&t, "`{% set %}` is not available in rule templates");
}

#[test]
fn every_binding_statement_is_refused() {
    for (t, words) in [
        ("{% with a = failure.message %}{{ a }}{% endwith %}", "`{% with %}`"),
        (
            "{% macro d(x) %}{{ x ~ x }}{% endmacro %}{{ d(failure.message) }}",
            "`{% macro %}`",
        ),
        (
            "{% filter upper %}{{ failure.message }}{% endfilter %}",
            "`{% filter %}`",
        ),
        ("{% set n = namespace(s='x') %}{{ n.s }}", "`{% set %}`"),
    ] {
        expect_refused(t, words);
    }
}

#[test]
fn repetition_sizes_and_long_combinations_are_refused() {
    for (t, words) in [
        ("{{ failure.message * 100000000 }}", "more than 32 values"),
        (
            "{{ failure.message * (failure.messages | length) }}",
            "`*` needs a number written in the template",
        ),
        (
            "{{ failure.message | batch(1000000000, 'x') | list }}",
            "filter `batch` is not available",
        ),
        (
            "{{ failure.message | indent(1000000000) }}",
            "filter `indent` is not available",
        ),
        ("{{ cycler(failure.message) }}", "calling `cycler()` is not available"),
    ] {
        expect_refused(t, words);
    }
    let long = vec!["failure.message"; 33].join(" ~ ");
    expect_refused(&format!("{{{{ {long} }}}}"), "more than 32 values");
    // A loop variable weighs what it iterates over: nesting cannot multiply.
    let inner = vec!["x"; 17].join(" ~ ");
    expect_refused(
        &format!("{{% for x in [failure.message ~ failure.message] %}}{{{{ {inner} }}}}{{% endfor %}}"),
        "more than 32 values",
    );
}

#[test]
fn ordinary_templates_are_accepted() {
    let t = "{{ failure.namespace }}/{{ failure.registry | replace('.', '-') }} {{ ['a', 'b'] | join(', ') }} {% for e in failure.messages %}{{ e ~ ' ' ~ loop.index }}{% endfor %} {{ '-' * 20 }} {{ range(3) | list | length }}";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rule.yaml");
    std::fs::write(&path, rule(t)).unwrap();
    let r = remedy(&["rules", "check", "--rules", &path.display().to_string()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Statically fine, but squaring the message twice at run time: refused when it runs, with the
/// rule named in the plan's errors, and the other rules still planned.
#[test]
fn an_amplifying_replace_is_capped_when_it_runs() {
    let t = "{{ failure.message | replace('', failure.message) | replace('', failure.message) | length }}";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rule.yaml");
    std::fs::write(&path, rule(t)).unwrap();
    let p = path.display().to_string();
    let r = remedy(&["rules", "check", "--rules", &p]);
    assert_eq!(r.code, 0, "allowed at load: {}", r.stderr);
    let r = remedy(&[
        "plan",
        "--rules",
        &p,
        "--snapshot",
        &example("seed-004-marketplace"),
        "-o",
        "json",
    ]);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let errors = plan["errors"].to_string();
    assert!(errors.contains("filter `replace` would build a value of"), "{errors}");
    assert!(errors.contains("over its bound of 1 MiB"), "{errors}");
    assert!(
        plan["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "pull-secret-not-propagated"),
        "the bundled rules are planned as before"
    );
}
