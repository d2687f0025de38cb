//! `remedy rules lint`: each lint fires on a rule written to trigger it, with its code, place,
//! help and docs page; warnings and errors have their own exit codes.

mod common;
use common::*;

/// A playbook with `body` as its spec (indented two spaces), in category `cat`.
fn playbook(name: &str, cat: &str, body: &str) -> String {
    format!(
        "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata:\n  name: {name}\n  title: t\n  category: {cat}\nspec:\n{body}"
    )
}

const EXAMPLES: &str = "  examples:\n    match: ['teapot refused the pull']\n";
const MANUAL: &str = "  actions:\n    - manual: {title: look}\n";

/// Lint one file; (exit code, parsed JSON).
fn lint(text: &str, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("rule.yaml");
    std::fs::write(&f, text).unwrap();
    let p = f.display().to_string();
    let mut args = vec!["rules", "lint", p.as_str(), "-o", "json"];
    args.extend_from_slice(extra);
    let r = remedy(&args);
    let v = serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("json: {} {}", r.stdout, r.stderr));
    let human = remedy(&["rules", "lint", p.as_str()]).stdout;
    (r.code, v, human.replace(&p, "rule.yaml"))
}

fn codes(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn the<'a>(v: &'a serde_json::Value, code: &str) -> &'a serde_json::Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code}: {v:#}"))
}

#[test]
fn a_clean_rule_lints_clean() {
    let (code, v, human) = lint(
        &playbook(
            "teapot",
            "other",
            &format!("  match:\n    message: {{contains: teapot}}\n{MANUAL}{EXAMPLES}"),
        ),
        &[],
    );
    assert_eq!(codes(&v), Vec::<String>::new());
    assert_eq!(code, 0);
    assert!(human.contains("no problems"), "{human}");
}

#[test]
fn never_matches_an_anchor_in_the_middle_and_a_contradicting_all_of() {
    let (code, v, human) = lint(
        &playbook(
            "teapot",
            "other",
            &format!("  match:\n    message: {{regex: 'refused$ the pull'}}\n{MANUAL}{EXAMPLES}"),
        ),
        &[],
    );
    assert_eq!(code, 1, "never-matches is an error");
    let f = the(&v, "never-matches");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["location"]["line"], 9);
    assert_eq!(f["location"]["column"], 15);
    assert_eq!(f["docs"], "docs/lints/never-matches.md");
    assert!(f["message"].as_str().unwrap().contains("after `$`"));
    assert!(
        human.contains("error[never-matches]") && human.contains("--> rule.yaml:9:15"),
        "{human}"
    );
    assert!(human.contains("help: ") && human.contains("docs: docs/lints/never-matches.md"));
    let (_, v, _) = lint(
        &playbook(
            "teapot",
            "other",
            &format!(
                "  match:\n    message: {{contains: teapot}}\n    allOf:\n      - eventType: {{equals: Normal}}\n      - eventType: {{equals: Warning}}\n{MANUAL}{EXAMPLES}"
            ),
        ),
        &[],
    );
    assert!(
        the(&v, "never-matches")["message"]
            .as_str()
            .unwrap()
            .contains("`normal` and `warning`"),
        "{v:#}"
    );
}

#[test]
fn corpus_other_category_and_overlaps_bundled() {
    // Filed under `other`, but it matches the corpus's x509 messages (tls-unknown-ca), and the
    // bundled untrusted-CA rules match them too.
    let (code, v, _) = lint(
        &playbook(
            "my-x509",
            "other",
            &format!(
                "  match:\n    message: {{contains: 'x509: certificate signed by unknown authority'}}\n{MANUAL}  examples:\n    match: ['x509: certificate signed by unknown authority']\n"
            ),
        ),
        &[],
    );
    assert_eq!(code, 4, "warnings only: exit 4");
    let c = the(&v, "corpus-other-category");
    assert_eq!(c["severity"], "warning");
    assert!(c["message"].as_str().unwrap().contains("(tls-unknown-ca)"), "{c:#}");
    let o = the(&v, "overlaps-bundled");
    assert!(o["message"].as_str().unwrap().contains("bundled `"), "{o:#}");
    assert!(o["help"].as_str().unwrap().contains("supersedes"));
    // Without the bundled playbooks there is nothing to overlap.
    let (_, v, _) = lint(
        &playbook(
            "my-x509",
            "other",
            &format!(
                "  match:\n    message: {{contains: 'x509: certificate signed by unknown authority'}}\n{MANUAL}  examples:\n    match: ['x509: certificate signed by unknown authority']\n"
            ),
        ),
        &["--no-bundled"],
    );
    assert!(!codes(&v).contains(&"overlaps-bundled".to_string()));
}

#[test]
fn incomparable_state_an_append_patch() {
    let (_, v, _) = lint(
        &playbook(
            "teapot",
            "other",
            &format!(
                "  match:\n    message: {{contains: teapot}}\n  actions:\n    - patch:\n        target: {{apiVersion: v1, kind: ServiceAccount, namespace: x, name: default}}\n        jsonPatch:\n          - {{op: add, path: /imagePullSecrets/-, value: {{name: s}}}}\n{EXAMPLES}"
            ),
        ),
        &[],
    );
    let f = the(&v, "incomparable-state");
    assert_eq!(f["location"]["line"], 14);
    assert!(f["help"].as_str().unwrap().contains("ensureListItem"));
}

#[test]
fn unguarded_probe_an_object_read_without_a_condition() {
    let body = "  match:\n    message: {contains: teapot}\n  probes:\n    - name: cm\n      object: {apiVersion: v1, kind: ConfigMap, namespace: x, name: y}\n  explain: 'the key is {{ cm.data.key }}'\n  actions:\n    - manual: {title: look}\n  examples:\n    match: ['teapot refused the pull']\n";
    let (_, v, _) = lint(&playbook("teapot", "other", body), &[]);
    let f = the(&v, "unguarded-probe");
    assert_eq!(f["location"]["path"], "spec.explain");
    // A condition on the probe guards it.
    let guarded = body.replace("  explain:", "  when: ['cm']\n  explain:");
    let (_, v, _) = lint(&playbook("teapot", "other", &guarded), &[]);
    assert!(!codes(&v).contains(&"unguarded-probe".to_string()), "{v:#}");
}

#[test]
fn disruptive_unmarked_a_registry_sources_change() {
    let body = "  match:\n    message: {contains: teapot}\n  actions:\n    - ensureListItem:\n        target: {apiVersion: config.openshift.io/v1, kind: Image, name: cluster}\n        path: spec.registrySources.insecureRegistries\n        item: '{{ failure.registry }}'\n  examples:\n    match: ['teapot refused the pull']\n";
    let (_, v, _) = lint(&playbook("teapot", "other", body), &[]);
    let f = the(&v, "disruptive-unmarked");
    assert_eq!(f["location"]["line"], 11);
    let marked = body.replace("    - ensureListItem:", "    - disruptive: true\n      ensureListItem:");
    let (_, v, _) = lint(&playbook("teapot", "other", &marked), &[]);
    assert!(!codes(&v).contains(&"disruptive-unmarked".to_string()), "{v:#}");
}

#[test]
fn no_examples_unless_a_rule_test_covers_it() {
    let text = playbook(
        "teapot",
        "other",
        &format!("  match:\n    message: {{contains: teapot}}\n{MANUAL}"),
    );
    let (code, v, _) = lint(&text, &[]);
    assert_eq!(code, 4);
    assert_eq!(the(&v, "no-examples")["location"]["line"], 4);
    // A rule test next to it counts.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("teapot.yaml"), &text).unwrap();
    std::fs::write(
        dir.path().join("teapot.test.yaml"),
        "apiVersion: remedy.dev/v1alpha1\nkind: RuleTest\nmetadata: {name: t}\nspec:\n  rule: teapot\n  cases:\n    - {name: fires, message: teapot}\n",
    )
    .unwrap();
    let r = remedy(&["rules", "lint", &dir.path().display().to_string()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn load_diagnostics_are_lints_too_category_and_supersedes() {
    let (code, v, _) = lint(
        &playbook(
            "teapot",
            "teapots",
            &format!("  match:\n    message: {{contains: teapot}}\n{MANUAL}{EXAMPLES}"),
        ),
        &[],
    );
    assert_eq!(code, 1);
    let f = &v["findings"][0];
    assert!(f["message"].as_str().unwrap().contains("teapots"), "{v:#}");
    assert!(f["docs"].as_str().unwrap().starts_with("docs/diagnostics.md#"));
    // `supersedes` naming a bundled rule: fine with them, a warning without them.
    let text = playbook(
        "teapot",
        "auth",
        &format!(
            "  match:\n    message: {{contains: teapot}}\n  supersedes: [credentials-rejected]\n{MANUAL}{EXAMPLES}"
        ),
    );
    let (_, v, _) = lint(&text, &[]);
    assert!(!codes(&v).contains(&"supersedes-not-loaded".to_string()), "{v:#}");
    let (code, v, _) = lint(&text, &["--no-bundled"]);
    assert_eq!(the(&v, "supersedes-not-loaded")["severity"], "warning");
    assert_eq!(code, 4);
    let (code, v, _) = lint(&text.replace("credentials-rejected", "no-such-rule"), &[]);
    assert_eq!(code, 1, "an unknown rule is an error: {v:#}");
}

#[test]
fn every_lint_code_has_a_docs_page() {
    for code in remedy::lint::LintCode::ALL {
        let page = root().join(format!("docs/lints/{}.md", code.as_str()));
        let text = std::fs::read_to_string(&page).unwrap_or_else(|_| panic!("{} is missing", page.display()));
        assert!(text.contains(&format!("`{}`", code.as_str())), "{}", page.display());
    }
}

#[test]
fn the_bundled_rules_lint_clean() {
    // Not even warnings: exit code 4 would mean some.
    let r = remedy(&["rules", "lint", "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(codes(&v), Vec::<String>::new(), "{v:#}");
}

#[test]
fn template_errors_come_with_the_structural_ones_in_one_pass() {
    let text = "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata:\n  name: teapot\n  title: t\n  category: other\n  severty: high\nspec:\n  match:\n    message: {contains: teapot}\n  when: ['failure.pod ==']\n  explain: '{{ failure.pod | nosuch }}'\n  actions:\n    - manual: {title: '{{ failure.pod'}\n";
    let (code, v, _) = lint(text, &[]);
    assert_eq!(code, 1);
    let mut got: Vec<(String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    for want in [
        ("unknown-field", 7),
        ("invalid-template", 11),
        ("unknown-filter", 12),
        ("invalid-template", 14),
    ] {
        assert!(got.contains(&(want.0.to_string(), want.1)), "{want:?} in {got:?}");
    }
}

#[test]
fn render_errors_name_the_filter_and_the_value_type() {
    let dir = tempfile::tempdir().unwrap();
    let rule = playbook(
        "teapot",
        "other",
        "  match:\n    message: {contains: teapot}\n  explain: 'pod {{ failure.labels | round }}'\n  actions:\n    - manual: {title: look}\n",
    );
    std::fs::write(dir.path().join("teapot.yaml"), rule).unwrap();
    std::fs::write(
        dir.path().join("teapot.test.yaml"),
        "apiVersion: remedy.dev/v1alpha1\nkind: RuleTest\nmetadata: {name: t}\nspec:\n  cases:\n    - {name: errs, message: teapot refused, recordPlan: true}\n",
    )
    .unwrap();
    let d = dir.path().display().to_string();
    assert_eq!(remedy(&["rules", "test", &d, "--accept"]).code, 0);
    let plan = std::fs::read_to_string(dir.path().join("__snapshots__/teapot/errs.yaml")).unwrap();
    assert!(
        plan.contains("filter `round` given `failure.labels` (a map value)"),
        "{plan}"
    );
    assert!(plan.contains("teapot.yaml:10:3 (spec.explain)"), "{plan}");
}

/// A document with a structural problem is still checked for template errors: one run
/// reports both, each with its code and place.
#[test]
fn undefined_variables_are_reported_with_structural_errors_in_one_pass() {
    let text = "apiVersion: remedy.dev/v1alpha1
kind: Playbook
metadata:
  name: broken-and-undefined
  title: both kinds of problem
  category: auth
  severty: high
spec:
  match:
    message: { regex: 'denied: (?P<why>\\w+)' }
  probes:
    - name: podSecrets
      pullSecrets:
        pod: \"{{ failure.namespace }}/{{ failure.pod }}\"
        registry: \"{{ failure.registry }}\"
  when:
    - not podSecrets.covres
  explain: \"{{ failure.namspace }} {{ captures.why }} {{ captures.nope }}\"
  actions:
    - manual: { title: \"x {{ failure.image | bogus }}\" }
";
    let (code, v, human) = lint(text, &[]);
    assert_eq!(code, 1, "{human}");
    let at = |code: &str, needle: &str| -> (u64, u64) {
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code && f["message"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no {code} about {needle}: {v:#}"));
        (
            f["location"]["line"].as_u64().unwrap(),
            f["location"]["column"].as_u64().unwrap(),
        )
    };
    assert_eq!(at("unknown-field", "severty"), (7, 3));
    assert_eq!(at("undefined-variable", "podSecrets.covres"), (17, 7));
    assert_eq!(at("undefined-variable", "failure.namspace"), (18, 3));
    assert_eq!(at("undefined-variable", "captures.nope"), (18, 3));
    assert_eq!(at("unknown-filter", "bogus"), (20, 46));
    // What the document does define is not reported: its probe, its capture group.
    let messages: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("captures.why") || m.contains("`podSecrets`")),
        "{messages:?}"
    );
    assert!(
        human.contains("error[undefined-variable]: template uses undefined variable `failure.namspace`"),
        "{human}"
    );
    assert!(human.contains("rule.yaml:18:3"), "{human}");
    assert!(human.contains("error[unknown-field]"), "{human}");
    assert!(human.contains("did you mean `covers`?"), "{human}");
}
