use super::*;

#[test]
fn render_errors_name_the_filter_or_expression_and_the_value_type() {
    let mut t = Templates::new();
    t.add("a", "pod {{ failure.pod | round }} here", "r.yaml:3:5 (spec.explain)")
        .unwrap();
    t.add("b", "{{ failure.pod | ca_key }}", "r.yaml:4:5 (spec.groupBy)")
        .unwrap();
    t.add("c", "{{ failure.pod + 1 }}", "r.yaml:5:5 (spec.explain)")
        .unwrap();
    let ctx = Value::from(minijinja::value::Serde(
        serde_json::json!({"failure": {"pod": ["a", "b"]}}),
    ));
    let msg = |n: &str| t.render(n, &ctx).unwrap_err().to_string();
    let a = msg("a");
    assert!(
        a.contains("filter `round` given `failure.pod` (a sequence value)"),
        "{a}"
    );
    assert!(a.contains("in r.yaml:3:5 (spec.explain)"), "{a}");
    let b = msg("b");
    assert!(
        b.contains("filter `ca_key` given `failure.pod` (a sequence value)"),
        "{b}"
    );
    let c = msg("c");
    assert!(c.contains("`failure.pod + 1`") || c.contains("failure.pod"), "{c}");
}

#[test]
fn conditions_and_undeclared_variables() {
    let mut t = Templates::new();
    let vars = t
        .add_condition("c", "not podSecrets.covers and source is not none", "r.yaml:1:1")
        .unwrap()
        .vars;
    assert!(vars.contains("podSecrets.covers"), "{vars:?}");
    assert!(vars.contains("source"), "{vars:?}");
    let ctx = minijinja::context! { podSecrets => minijinja::context!{ covers => false }, source => "x" };
    assert!(t.check("c", &ctx).unwrap());
    let ctx = minijinja::context! { podSecrets => minijinja::context!{ covers => true }, source => "x" };
    assert!(!t.check("c", &ctx).unwrap());
}

#[test]
fn rendering_is_bounded_in_steps_and_output() {
    let mut t = Templates::new();
    let label = "rules/x.yaml:12:5 (spec.explain)";
    t.add(
        "loops",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        label,
    )
    .unwrap();
    let e = t.render("loops", &Value::from(())).unwrap_err().to_string();
    assert!(e.contains("more than 1000000 steps") && e.contains(label), "{e}");
    t.add(
        "repeat",
        "{% for i in range(1000) %}{{ 'x' * 100000 }}{% endfor %}",
        label,
    )
    .unwrap();
    let e = t.render("repeat", &Value::from(())).unwrap_err().to_string();
    assert!(
        e.contains("output passed its bound of 1 MiB") && e.contains(label),
        "{e}"
    );
    t.add("concat", "{% set s = 'y' * 600000 %}{{ s ~ s }}", label).unwrap();
    let e = t.render("concat", &Value::from(())).unwrap_err().to_string();
    assert!(e.contains("output passed its bound"), "{e}");
    // Ordinary templates are far from either bound.
    t.add("ok", "{% for i in range(1000) %}{{ i }}{% endfor %}", label)
        .unwrap();
    assert_eq!(t.render("ok", &Value::from(())).unwrap().len(), 2890);
}

#[test]
fn bad_condition_is_an_error() {
    let mut t = Templates::new();
    assert!(t.add_condition("c", "a ==", "").is_err());
    assert!(t.add_condition("d", "a }} b", "").is_err());
}

#[test]
fn filters() {
    let t = Templates::new();
    let ctx = minijinja::context! { r => "reg.example.com:5000" };
    assert_eq!(t.render_str("{{ r | ca_key }}", &ctx).unwrap(), "reg.example.com..5000");
    assert_eq!(
        t.render_str("{{ r | host }}/{{ r | port }}", &ctx).unwrap(),
        "reg.example.com/5000"
    );
    assert_eq!(split_host_port("[::1]:5000"), ("::1", Some("5000")));
    assert_eq!(split_host_port("quay.io"), ("quay.io", None));
}

#[test]
fn version_tests() {
    let mut t = Templates::new();
    t.add_condition("lt", "cluster.version is version_lt('4.7')", "test")
        .unwrap();
    t.add_condition("ge", "cluster.version is version_ge('4.7')", "test")
        .unwrap();
    let check = |name: &str, v: Option<&str>| {
        let ctx = minijinja::context! { cluster => minijinja::context! { version => v } };
        t.check(name, &ctx).unwrap()
    };
    assert!(check("lt", Some("4.6.48")));
    assert!(!check("ge", Some("4.6.48")));
    // Numeric, not lexicographic: 4.14 and 4.20 are later than 4.7.
    assert!(!check("lt", Some("4.14.0-0.okd-2023-12-01-225814")));
    assert!(check("ge", Some("4.14.0-0.okd-2023-12-01-225814")));
    assert!(!check("lt", Some("4.20.3")));
    assert!(check("ge", Some("4.20.3")));
    assert!(!check("lt", Some("4.7.0")));
    assert!(check("ge", Some("4.7.0-rc.1")));
    // Missing or unreadable: neither test holds; rules decide what unknown means.
    assert!(!check("lt", None));
    assert!(!check("ge", None));
    assert!(!check("lt", Some("latest")));
    assert_eq!(version_numbers("v1.31.2+k3s1"), Some(vec![1, 31, 2]));
    assert_eq!(version_numbers("4.14.0-0.okd-2023-12-01-225814"), Some(vec![4, 14, 0]));
    assert_eq!(version_numbers(""), None);
    assert_eq!(version_numbers("4..1"), None);
}

#[test]
fn public_registry_test() {
    let t = Templates::new();
    let ctx = minijinja::context! { a => "docker.io", b => "registry.redhat.io", c => "mirror:5000" };
    assert_eq!(
        t.render_str(
            "{{ a is public_registry }} {{ b is public_registry }} {{ c is public_registry }}",
            &ctx
        )
        .unwrap(),
        "True False False"
    );
}
