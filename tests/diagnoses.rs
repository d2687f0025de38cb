//! Diagnoses that captures of real clusters got wrong: a pull secret the pod names but the
//! namespace lacks (with its error live and expired), bare pods, events whose pods the capture
//! does not hold, and a closing line that agrees with the exit code.

mod common;
use common::*;

fn capture(name: &str) -> String {
    root().join("tests/data/captures").join(name).display().to_string()
}

fn plan(snapshot: &str, format: &str) -> Run {
    let r = remedy(&["plan", "--snapshot", snapshot, "-o", format]);
    assert!(r.code != 1 && r.code != 101, "plan failed ({}): {}", r.code, r.stderr);
    r
}

fn json(snapshot: &str) -> (i32, serde_json::Value) {
    let r = plan(snapshot, "json");
    (r.code, serde_json::from_str(&r.stdout).unwrap())
}

/// Every step, command, summary and title of a plan, as one text.
fn action_text(plan: &serde_json::Value) -> String {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{} {} {} {}",
                a["description"], a["change"]["summary"], a["steps"], a["commands"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_missing_pull_secret_is_created_under_the_name_the_pod_uses() {
    let (code, p) = json(&capture("missing-pull-secret"));
    assert_eq!(code, 3, "a step only a person can take");
    let f = finding(&p, "pull-secret-missing");
    assert_eq!(pods(f), ["team/app", "team/worker"]);
    let why = f["explanation"].as_str().unwrap();
    assert!(why.contains("regcred, which does not exist in team"), "{why}");
    assert!(!why.contains("holds no credentials"), "{why}");
    let text = action_text(&p);
    assert!(text.contains("create secret generic regcred"), "{text}");
    assert!(
        !text.contains("registry-example-com"),
        "no secret under another name: {text}"
    );
    // One step for the namespace and secret, shared by both pods; nothing to restart.
    let actions = p["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{actions:#?}");
    assert_eq!(actions[0]["description"], "create pull secret team/regcred");
    assert!(
        p["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"] == "pull-secret-missing")
    );
}

#[test]
fn a_missing_pull_secret_is_copied_when_a_covering_one_exists() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["team.yaml", "events.yaml"] {
        std::fs::copy(
            root().join("tests/data/captures/missing-pull-secret").join(f),
            dir.path().join(f),
        )
        .unwrap();
    }
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let cfg = b64(&format!(
        r#"{{"auths":{{"registry.example.com":{{"auth":"{}"}}}}}}"#,
        b64("robot:PLANTED-VALUE")
    ));
    std::fs::write(
        dir.path().join("default.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: registry-example-com, namespace: default}}\n\
             type: kubernetes.io/dockerconfigjson\ndata: {{.dockerconfigjson: {cfg}}}\n"
        ),
    )
    .unwrap();
    let (code, p) = json(&dir.path().display().to_string());
    assert_eq!(code, 2, "the copy is pending");
    let f = finding(&p, "pull-secret-missing");
    let a = actions_of(&p, f);
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(a[0]["type"], "copySecret");
    assert_eq!(a[0]["target"]["namespace"], "team");
    assert_eq!(a[0]["target"]["name"], "regcred", "the name the pods use");
}

#[test]
fn a_missing_pull_secret_is_still_the_cause_after_the_error_expired() {
    // quay.io serves public images: without the secret in view this read as an anonymous pull.
    let (_, p) = json(&capture("missing-pull-secret-expired"));
    let f = finding(&p, "pull-secret-missing");
    assert_eq!(f["inferred"], true);
    let why = f["explanation"].as_str().unwrap();
    assert!(why.contains("regcred, which does not exist in team"), "{why}");
    assert!(!why.contains("how public images are pulled"), "{why}");
    assert!(
        !p["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "public-image-pull-failed-inferred")
    );
}

#[test]
fn bare_pods_get_steps_that_fit_them() {
    let (_, p) = json(&capture("bare-pods-no-credentials"));
    let f = finding(&p, "registry-credentials-missing");
    assert_eq!(pods(f), ["team/app", "team/worker"]);
    let text = action_text(&p);
    assert!(!text.contains("deployment"), "no pod here has an owner: {text}");
    assert!(!text.contains("NAME"), "{text}");
    let actions = p["actions"].as_array().unwrap();
    let creates: Vec<_> = actions
        .iter()
        .filter(|a| a["description"].as_str().unwrap().starts_with("create pull secret"))
        .collect();
    assert_eq!(creates.len(), 1, "one secret, one step: {creates:#?}");
    // The service account has no imagePullSecrets: the patch creates the list.
    let patch = actions
        .iter()
        .flat_map(|a| a["commands"].as_array().unwrap())
        .find_map(|c| c.as_str().filter(|c| c.contains("patch serviceaccount")))
        .expect("a command links the secret to the service account");
    assert!(
        patch.contains(r#""path":"/imagePullSecrets","value":[{"name":"registry-example-com"}]"#),
        "{patch}"
    );
    // worker lists its own secrets and has no owner: recreating it with the secret is the step;
    // app is restarted by hand, and the plan never says a controller would do it.
    assert!(
        text.contains("recreate pod team/worker with registry-example-com"),
        "{text}"
    );
    let restarts: Vec<_> = actions.iter().filter(|a| a["type"] == "restartPod").collect();
    assert_eq!(restarts.len(), 1, "{restarts:#?}");
    assert_eq!(restarts[0]["target"]["name"], "app");
    let human = plan(&capture("bare-pods-no-credentials"), "human").stdout;
    assert!(!human.contains("owned by"), "{human}");
    assert!(!human.contains("controllers recreate"), "{human}");
}

#[test]
fn events_without_their_pods_are_not_said_to_be_gone() {
    let snap = capture("events-only");
    let (code, p) = json(&snap);
    assert_eq!(code, 3, "failing pulls the capture cannot explain need a person");
    let orphans = p["orphans"].as_array().unwrap();
    assert_eq!(orphans.len(), 2);
    assert!(orphans.iter().all(|o| o["gone"] == false), "{orphans:#?}");
    let human = plan(&snap, "human").stdout;
    assert!(human.contains("events for pods not in the snapshot:"), "{human}");
    assert!(!human.contains("no longer exist"), "{human}");
    assert!(!human.contains("no failing image pulls found"), "{human}");
    assert!(!human.contains("nothing to do"), "{human}");
    assert!(human.contains("the snapshot holds no pods of team"), "{human}");

    // With other pods of the namespace captured, the capture shows these are gone.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("tests/data/captures/events-only/events.yaml"),
        dir.path().join("events.yaml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pods.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: other, namespace: team}\n\
         spec: {containers: [{name: c, image: quay.io/acme/other:1}]}\n\
         status: {containerStatuses: [{name: c, image: quay.io/acme/other:1, ready: true, state: {running: {}}}]}\n",
    )
    .unwrap();
    let snap = dir.path().display().to_string();
    let (code, p) = json(&snap);
    assert!(p["orphans"].as_array().unwrap().iter().all(|o| o["gone"] == true));
    assert_eq!(code, 0);
    let human = plan(&snap, "human").stdout;
    assert!(human.contains("events for pods that no longer exist:"), "{human}");
}

#[test]
fn a_diagnosis_only_finding_never_says_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("snap.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: apps}\n\
         spec: {containers: [{name: web, image: \"quay.io/acme/web:1\"}]}\n\
         status: {containerStatuses: [{name: web, image: quay.io/acme/web:1, state: {waiting: {reason: ErrImagePull, message: zz-diag-only}}}]}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("rule.yaml"),
        "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata: {name: diag-only, title: t, category: other}\n\
         spec:\n  match:\n    message: { contains: zz-diag-only }\n",
    )
    .unwrap();
    let snap = dir.path().join("snap.yaml").display().to_string();
    let rules = dir.path().join("rule.yaml").display().to_string();
    let r = remedy(&["plan", "--snapshot", &snap, "--rules", &rules, "--no-bundled"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let next: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("next")).collect();
    assert_eq!(next.len(), 1, "{}", r.stdout);
    assert!(!next[0].contains("nothing to do"), "{}", r.stdout);
    assert!(next[0].contains("(f1)"), "names the finding: {}", r.stdout);
}

#[test]
fn a_grouped_finding_names_every_pods_details_and_totals() {
    let (_, p) = plan_json("seed-004-marketplace", &[]);
    let f = finding(&p, "pull-secret-not-propagated");
    let why = f["explanation"].as_str().unwrap();
    for sa in [
        "certified-operators",
        "community-operators",
        "redhat-marketplace",
        "redhat-operators",
    ] {
        assert!(why.contains(&format!("{sa}-dockercfg-")), "{sa}'s secret: {why}");
        assert!(why.contains("service account"), "{why}");
    }
    assert!(why.contains("(per pod)"), "{why}");
    // The shared cause reads once.
    assert_eq!(why.matches("openshift-config/pull-secret covers").count(), 1, "{why}");
    // Each pod keeps its own explanation in the JSON.
    let subjects = f["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 4);
    for s in subjects {
        let own = s["explanation"].as_str().unwrap();
        let sa = s["name"].as_str().unwrap().rsplit_once('-').unwrap().0;
        assert!(own.ends_with(&format!("service account {sa}.")), "{own}");
    }
    // Totals over the four pods, not the first one's count.
    let totals = &f["evidence"]["totals"];
    assert_eq!(totals["subjects"], 4);
    let per_pod: u64 = f["evidence"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["reason"] == "Failed")
        .map(|m| m["count"].as_u64().unwrap())
        .sum();
    assert_eq!(totals["count"], per_pod);
    assert_eq!(per_pod, 182 + 181 + 180 + 179);
    let human = remedy(&["plan", "--snapshot", &example("seed-004-marketplace")]).stdout;
    let flat = human.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("(182×; 722× from 4 pods over 15h)"), "{human}");
}
