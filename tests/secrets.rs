//! Secrets never leak: every credential in the examples carries `PLANTED-SECRET-`, and no
//! output, log or error may contain it, nor any Secret's raw base64 data.

mod common;
use common::*;
use std::path::Path;

const MARKER: &str = "PLANTED-SECRET";

/// Every value under `data` of every Secret in the examples, as written (base64).
fn secret_data_values(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            secret_data_values(&p, out);
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let docs: Vec<serde_json::Value> = match p.extension().and_then(|x| x.to_str()) {
            Some("json") => vec![serde_json::from_str(&text).unwrap()],
            Some("yaml" | "yml") => serde_yaml::Deserializer::from_str(&text)
                .filter_map(|d| serde::Deserialize::deserialize(d).ok())
                .collect(),
            _ => vec![],
        };
        for d in docs {
            collect(&d, out);
        }
    }
}

fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
    if v["kind"] == "Secret" {
        for (_, val) in v["data"].as_object().into_iter().flatten() {
            if let Some(s) = val.as_str().filter(|s| s.len() >= 16) {
                out.push(s.to_string());
            }
        }
    }
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| collect(x, out)),
        _ => {}
    }
}

fn assert_clean(what: &str, text: &str, data: &[String]) {
    assert!(!text.contains(MARKER), "{what} leaks a planted secret");
    for d in data {
        assert!(!text.contains(d.as_str()), "{what} leaks raw Secret data");
        // Chunks of it, too (a prefix is already a leak).
        assert!(!text.contains(&d[..16]), "{what} leaks part of a Secret's data");
    }
}

#[test]
fn the_examples_really_hold_planted_secrets() {
    let mut data = Vec::new();
    secret_data_values(&root().join("examples"), &mut data);
    assert!(data.len() >= 10, "the leak test needs secrets to find: {}", data.len());
    let mut raw = String::new();
    for ex in std::fs::read_dir(root().join("examples")).unwrap() {
        let p = ex.unwrap().path();
        if p.is_dir() {
            raw.push_str(
                &std::process::Command::new("grep")
                    .args(["-r", MARKER])
                    .arg(&p)
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default(),
            );
        }
    }
    assert!(raw.contains(MARKER), "plain-text planted secrets (annotations) exist");
}

#[test]
fn no_output_format_or_log_level_leaks_a_secret() {
    let mut data = Vec::new();
    secret_data_values(&root().join("examples"), &mut data);
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    // A planted credential given as input, in a real docker config.json.
    std::fs::write(
        &auth,
        r#"{"auths":{"registry.oss2.fu.igotit.co.kr:5000":{"username":"u","password":"PLANTED-SECRET-input-1","auth":"dTpQTEFOVEVELVNFQ1JFVC1pbnB1dC0x"}}}"#,
    )
    .unwrap();
    let set_file = format!("registry_auth={}", auth.display());
    for ex in [
        "seed-000-global-pull-secret",
        "seed-001-plain-http",
        "seed-002-untrusted-ca",
        "seed-003-icr-namespace",
        "seed-004-marketplace",
        "healthy",
    ] {
        let path = example(ex);
        for format in ["human", "json", "yaml"] {
            for verbosity in ["", "-vv"] {
                let mut args = vec!["plan", "--snapshot", &path, "-o", format, "--set-file", &set_file];
                if verbosity == "-vv" {
                    args.push("-vv");
                }
                let r = remedy(&args);
                assert!(r.code == 0 || r.code == 2 || r.code == 3, "{ex}: {}", r.stderr);
                assert_clean(&format!("{ex} -o {format} {verbosity} stdout"), &r.stdout, &data);
                assert_clean(&format!("{ex} -o {format} {verbosity} stderr"), &r.stderr, &data);
            }
        }
    }
}

#[test]
fn a_bad_input_file_is_reported_without_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth.json");
    std::fs::write(&auth, "password=PLANTED-SECRET-not-json").unwrap();
    let set_file = format!("registry_auth={}", auth.display());
    let r = remedy(&[
        "plan",
        "--snapshot",
        &example("seed-000-global-pull-secret"),
        "-o",
        "json",
        "--set-file",
        &set_file,
    ]);
    assert_eq!(r.code, 3);
    assert!(r.stdout.contains("is not a docker config.json"), "{}", r.stdout);
    assert!(!r.stdout.contains(MARKER) && !r.stderr.contains(MARKER));
}

#[test]
fn debug_output_of_inputs_hides_values() {
    let mut inputs = remedy::inputs::Inputs::default();
    inputs.insert("registry_auth", "PLANTED-SECRET-debug", "auth.json");
    let shown = format!("{inputs:?}");
    assert!(!shown.contains(MARKER), "{shown}");
    assert!(shown.contains("auth.json"));
}

/// A snapshot whose every credential-bearing place holds a planted value: URLs with userinfo,
/// query tokens and headers in event, container-status and import messages, image userinfo,
/// an `auths` key with userinfo, pod env/args/command and annotations in the template a fix
/// patches, and Secret data.
fn planted_snapshot(dir: &Path) -> String {
    use base64::Engine as _;
    use serde_json::json;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let pull_secret = |name: &str, key: &str| {
        let cfg = json!({"auths": {key: {"username": "robot", "password": "PLANTED-SECRET-pw",
            "auth": b64("robot:PLANTED-SECRET-pw")}}});
        json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":name,"namespace":"apps",
            "annotations":{"note":"PLANTED-SECRET-secret-annotation"}},
            "type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson": b64(&cfg.to_string()),
            "extra": b64("PLANTED-SECRET-extra-data")}})
    };
    let image = "us.icr.io/x/y:1";
    let url_msg = format!(
        "Failed to pull image \"{image}\": rpc error: code = Unknown desc = failed to pull and unpack image \"{image}\": \
         failed to resolve reference \"{image}\": unexpected status from GET request to \
         https://bob:PLANTED-SECRET-url@us.icr.io/v2/x/y/manifests/1?token=PLANTED-SECRET-query&X-Amz-Signature=PLANTED-SECRET-sig&access_token=PLANTED-SECRET-at \
         (Authorization: Bearer PLANTED-SECRET-bearer): 401 Unauthorized"
    );
    let container = json!({"name":"web","image":image,
        "env":[{"name":"TOKEN","value":"PLANTED-SECRET-env"}],
        "args":["--token=PLANTED-SECRET-args"],"command":["sh","-c","echo PLANTED-SECRET-command"]});
    let template = json!({"metadata":{"labels":{"app":"web"},"annotations":{"cred":"PLANTED-SECRET-annotation"}},
        "spec":{"imagePullSecrets":[{"name":"quay"}],"containers":[container]}});
    let pod = |name: &str, image: &str, msg: &str| {
        json!({"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":name,"namespace":"apps","uid":format!("uid-{name}"),"creationTimestamp":"2025-01-01T00:00:00Z",
            "annotations":{"cred":"PLANTED-SECRET-pod-annotation"},
            "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-abc","controller":true,"uid":"rs1"}]},
        "spec":{"serviceAccountName":"default","imagePullSecrets":[{"name":"quay"}],
            "containers":[{"name":"web","image":image,"env":[{"name":"TOKEN","value":"PLANTED-SECRET-env"}],
            "args":["--token=PLANTED-SECRET-args"],"command":["PLANTED-SECRET-command"]}]},
        "status":{"phase":"Pending","containerStatuses":[{"name":"web","image":image,"ready":false,"restartCount":0,
            "state":{"waiting":{"reason":"ErrImagePull","message":msg}}}]}})
    };
    let objects = vec![
        json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace":"apps"},
            "imagePullSecrets":[{"name":"icr"}]}),
        pull_secret("icr", "https://robot:PLANTED-SECRET-key@us.icr.io"),
        pull_secret("quay", "quay.io"),
        pod("p1", image, &url_msg),
        pod(
            "p2",
            "bob:PLANTED-SECRET-image@quay.io/x/z:1",
            "Failed to pull image \"bob:PLANTED-SECRET-image@quay.io/x/z:1\": invalid reference format",
        ),
        json!({"apiVersion":"v1","kind":"Event","metadata":{"name":"p1.1","namespace":"apps"},
            "involvedObject":{"kind":"Pod","name":"p1","namespace":"apps","uid":"uid-p1"},
            "reason":"Failed","type":"Warning","count":3,"message":url_msg,
            "firstTimestamp":"2025-01-01T00:00:00Z","lastTimestamp":"2025-01-01T01:00:00Z"}),
        json!({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-abc","namespace":"apps","uid":"rs1",
            "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"web","controller":true}]},
            "spec":{"replicas":1,"template":template.clone()}}),
        json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"apps",
            "annotations":{"cred":"PLANTED-SECRET-deploy-annotation"}},"spec":{"template":template}}),
        json!({"apiVersion":"image.openshift.io/v1","kind":"ImageStream","metadata":{"name":"tools","namespace":"apps"},
            "spec":{"tags":[{"name":"1","from":{"kind":"DockerImage","name":"quay.io/x/tools:1"}}]},
            "status":{"tags":[{"tag":"1","items":null,"conditions":[{"type":"ImportSuccess","status":"False",
                "reason":"InternalError","lastTransitionTime":"2025-01-01T00:00:00Z",
                "message":"Internal error occurred: Get \"https://bob:PLANTED-SECRET-is@quay.io/v2/?sig=PLANTED-SECRET-is-sig\": unauthorized"}]}]}}),
    ];
    let path = dir.join("planted.json");
    std::fs::write(
        &path,
        json!({"apiVersion":"v1","kind":"List","items":objects}).to_string(),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn planted_credentials_in_every_place_never_print() {
    let dir = tempfile::tempdir().unwrap();
    let snap = planted_snapshot(dir.path());
    let mut redactions = 0;
    for format in ["human", "json", "yaml"] {
        for verbosity in [None, Some("-v"), Some("-vv")] {
            let mut args = vec!["plan", "--snapshot", &snap, "-o", format];
            args.extend(verbosity);
            let r = remedy(&args);
            let what = format!("-o {format} {}", verbosity.unwrap_or(""));
            assert!(matches!(r.code, 2 | 3), "{what}: {}", r.stderr);
            assert_clean(&format!("{what} stdout"), &r.stdout, &[]);
            assert_clean(&format!("{what} stderr"), &r.stderr, &[]);
            redactions += r.stdout.matches("<redacted>").count();
        }
    }
    assert!(redactions > 0, "the planted messages were shown, redacted");
    // The plan is about the planted objects: the messages, the image, the template fix.
    let r = remedy(&["plan", "--snapshot", &snap, "-o", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let text = plan.to_string();
    assert!(
        text.contains("https://<redacted>@us.icr.io/v2/x/y/manifests/1?token=<redacted>"),
        "{text}"
    );
    assert!(text.contains("<redacted>@quay.io/x/z:1"), "image userinfo: {text}");
    assert!(
        text.contains("https://<redacted>@quay.io/v2/?sig=<redacted>"),
        "import message: {text}"
    );
    assert!(
        text.contains("\"us.icr.io\""),
        "the auths key shows as its host: {text}"
    );
    let diffs: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["change"]["diff"].as_str())
        .collect();
    assert!(
        diffs.iter().any(|d| d.contains("imagePullSecrets")),
        "a template diff is in the plan: {diffs:?}"
    );
}

/// A rule's explanation that quotes each failure's message: the subjects' own explanations
/// differ, so each is printed with its subject, and each is redacted like the finding's.
#[test]
fn a_subject_explanation_quoting_a_message_is_redacted() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let pod = |name: &str| {
        let msg = format!(
            "Failed to pull image \"quay.io/x/{name}:1\": failed to resolve reference: unexpected status from GET request to \
             https://bob:PLANTED-SECRET-{name}@quay.io/v2/x/{name}/manifests/1: 401 Unauthorized"
        );
        json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":name,"namespace":"apps","uid":format!("uid-{name}")},
            "spec":{"containers":[{"name":"c","image":format!("quay.io/x/{name}:1")}]},
            "status":{"phase":"Pending","containerStatuses":[{"name":"c","image":format!("quay.io/x/{name}:1"),
                "state":{"waiting":{"reason":"ErrImagePull","message":msg}}}]}})
    };
    let snap = dir.path().join("snap.json");
    std::fs::write(
        &snap,
        json!({"apiVersion":"v1","kind":"List","items":[pod("a"), pod("b")]}).to_string(),
    )
    .unwrap();
    let rule = dir.path().join("quote.yaml");
    std::fs::write(
        &rule,
        "apiVersion: remedy.dev/v1alpha1\nkind: Playbook\nmetadata:\n  name: quote-message\n  title: Quotes the message\n  \
         category: auth\n  severity: low\nspec:\n  match:\n    message: { contains: \"401 Unauthorized\" }\n  \
         groupBy: \"one\"\n  explain: \"kubelet said: {{ failure.messages | last }}\"\n",
    )
    .unwrap();
    let (snap, rule) = (snap.display().to_string(), rule.display().to_string());
    for format in ["json", "yaml", "human", "wide"] {
        let r = remedy(&[
            "plan",
            "--snapshot",
            &snap,
            "--no-bundled",
            "--rules",
            &rule,
            "-o",
            format,
        ]);
        assert!(matches!(r.code, 2 | 3), "-o {format}: {}", r.stderr);
        assert_clean(&format!("-o {format} stdout"), &r.stdout, &[]);
        assert_clean(&format!("-o {format} stderr"), &r.stderr, &[]);
        if format == "json" {
            let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            let own: Vec<&str> = plan["findings"][0]["subjects"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|s| s["explanation"].as_str())
                .collect();
            assert_eq!(own.len(), 2, "each subject keeps its own explanation: {}", r.stdout);
            assert!(own.iter().all(|e| e.contains("https://<redacted>@quay.io")), "{own:?}");
        }
    }
}
