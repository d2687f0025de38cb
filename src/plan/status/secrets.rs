//! Pull secrets: copies, service-account links and merged credentials.

use serde_json::{Value, json};

use super::{Assessed, Observed, diff, get, needs_input};
use crate::desired::Target;
use crate::inputs::Inputs;
use crate::plan::types::Status;
use crate::probe::summary;
use crate::refs::dockercfg::DockerConfig;

pub(super) fn copy_secret(from: &Target, to: &Target, observed: &Observed) -> Assessed {
    let Some(src) = get(observed, from) else {
        return Assessed::new(
            Status::Blocked,
            format!("copy of {}/{}", from.namespace.as_deref().unwrap_or(""), from.name),
        )
        .because(format!("the source {} does not exist", from.display()));
    };
    let src_regs = summary::docker_config(src)
        .map(|c| summary::registries_with_credentials(&c))
        .unwrap_or_default();
    let from_ref = format!("{}/{}", src.namespace.as_deref().unwrap_or(""), src.name);
    match get(observed, to) {
        None => Assessed::new(
            Status::Pending,
            format!(
                "copy of {from_ref} ({} {}, values hidden)",
                src_regs.len(),
                plural(src_regs.len(), "registry", "registries")
            ),
        )
        .because(format!("{} does not exist", to.display())),
        Some(dst) => {
            let have = summary::docker_config(dst)
                .map(|c| summary::registries_with_credentials(&c))
                .unwrap_or_default();
            let missing: Vec<&String> = src_regs.iter().filter(|r| !have.contains(r)).collect();
            if missing.is_empty() {
                Assessed::new(
                    Status::Satisfied,
                    format!("{} already holds every registry of {from_ref}", to.display()),
                )
            } else {
                let names = missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                Assessed::new(
                    Status::Pending,
                    format!("auths += {names} (from {from_ref}; existing entries kept, values hidden)"),
                )
                .because(format!("{} exists but lacks {names}", to.display()))
            }
        }
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

pub(super) fn link(sa: &Target, secret: &str, observed: &Observed) -> Assessed {
    let Some(obj) = get(observed, sa) else {
        return Assessed::new(Status::Blocked, format!("imagePullSecrets += {secret}"))
            .because(format!("{} does not exist", sa.display()));
    };
    let current = obj.field("imagePullSecrets").cloned().unwrap_or(Value::Null);
    let names = summary::sa_pull_secret_names(obj);
    if names.iter().any(|n| n == secret) {
        return Assessed::new(Status::Satisfied, format!("imagePullSecrets already has {secret}"));
    }
    let entry = json!({"name": secret});
    // The list is atomic: never replace it; append to it, guarded so a concurrent change fails the patch.
    let patch = if current.is_array() {
        json!([{"op": "test", "path": "/imagePullSecrets", "value": current}, {"op": "add", "path": "/imagePullSecrets/-", "value": entry}])
    } else {
        json!([{"op": "add", "path": "/imagePullSecrets", "value": [entry]}])
    };
    let mut after = current.as_array().cloned().unwrap_or_default();
    after.push(json!({"name": secret}));
    let kept = if names.is_empty() {
        String::new()
    } else {
        format!(" (keeps {})", names.join(", "))
    };
    Assessed {
        patch: Some(patch),
        diff: Some(diff(
            &sa.display(),
            &json!({"imagePullSecrets": current}),
            &json!({"imagePullSecrets": after}),
        )),
        ..Assessed::new(Status::Pending, format!("imagePullSecrets += {secret}{kept}"))
    }
}

pub(super) fn merge_auths(
    secret: &Target,
    registry: &str,
    input: &str,
    observed: &Observed,
    inputs: &Inputs,
) -> Assessed {
    let summary_line = format!("auths += {registry} (other entries kept, values hidden)");
    let Some(obj) = get(observed, secret) else {
        return Assessed::new(Status::Blocked, summary_line).because(format!("{} does not exist", secret.display()));
    };
    if summary::docker_config(obj).is_some_and(|c| summary::covers(&c, registry)) {
        return Assessed::new(
            Status::Satisfied,
            format!("{} already has credentials for {registry}", secret.display()),
        );
    }
    let Some(given) = inputs.get(input) else {
        return Assessed {
            needs_input: Some(needs_input(input, &format!("a docker config.json holding credentials for {registry}; `podman login --authfile auth.json {registry}` writes one"))),
            ..Assessed::new(Status::NeedsInput, summary_line)
        }
        .because(format!("only you have the credentials for {registry}"));
    };
    match DockerConfig::from_json(&given.text) {
        Ok(cfg) if summary::covers(&cfg, registry) => Assessed::new(Status::Pending, summary_line)
            .because(format!("{} has no credentials for {registry}", secret.display())),
        Ok(_) => Assessed::new(Status::Blocked, summary_line).because(format!(
            "the file given for `{input}` ({}) has no credentials for {registry}",
            given.origin
        )),
        // The parse error text never includes the input's content.
        Err(_) => Assessed::new(Status::Blocked, summary_line).because(format!(
            "the file given for `{input}` ({}) is not a docker config.json",
            given.origin
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{obs, sa, t};
    use super::*;
    use crate::desired::Change;
    use crate::plan::status::assess;

    #[test]
    fn link_keeps_existing_entries() {
        let o = obs(vec![sa(json!([{"name": "builder-dockercfg-x7k2p"}]))]);
        let a = assess(
            &Change::LinkPullSecret {
                service_account: t("ServiceAccount", "apps", "builder"),
                secret: "pull-secret".into(),
            },
            &o,
            &Inputs::default(),
        );
        assert_eq!(a.status, Status::Pending);
        assert!(a.summary.contains("keeps builder-dockercfg-x7k2p"), "{}", a.summary);
        let ops = a.patch.unwrap();
        assert_eq!(ops[0]["op"], "test");
        assert_eq!(ops[1]["path"], "/imagePullSecrets/-");
        let o = obs(vec![sa(
            json!([{"name": "builder-dockercfg-x7k2p"}, {"name": "pull-secret"}]),
        )]);
        let a = assess(
            &Change::LinkPullSecret {
                service_account: t("ServiceAccount", "apps", "builder"),
                secret: "pull-secret".into(),
            },
            &o,
            &Inputs::default(),
        );
        assert_eq!(a.status, Status::Satisfied);
    }

    #[test]
    fn link_to_missing_service_account_is_blocked() {
        let a = assess(
            &Change::LinkPullSecret {
                service_account: t("ServiceAccount", "apps", "nope"),
                secret: "s".into(),
            },
            &Observed::new(),
            &Inputs::default(),
        );
        assert_eq!(a.status, Status::Blocked);
    }

    #[test]
    fn merge_auths_needs_input_then_checks_it() {
        use base64::Engine;
        let cfg = base64::engine::general_purpose::STANDARD.encode(r#"{"auths":{"quay.io":{"auth":"dTpQTEFOVEVE"}}}"#);
        let o = obs(vec![
            json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"pull-secret","namespace":"openshift-config"},
            "type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson": cfg}}),
        ]);
        let ch = Change::MergeDockerAuths {
            secret: t("Secret", "openshift-config", "pull-secret"),
            registry: "mirror:5000".into(),
            input: "registry_auth".into(),
        };
        let a = assess(&ch, &o, &Inputs::default());
        assert_eq!(a.status, Status::NeedsInput);
        assert_eq!(a.needs_input.unwrap().flag, "--set-file registry_auth=PATH");
        let mut inputs = Inputs::default();
        inputs.insert(
            "registry_auth",
            r#"{"auths":{"other:5000":{"auth":"eDp5"}}}"#,
            "auth.json",
        );
        assert_eq!(assess(&ch, &o, &inputs).status, Status::Blocked);
        inputs.insert(
            "registry_auth",
            r#"{"auths":{"mirror:5000":{"auth":"eDp5"}}}"#,
            "auth.json",
        );
        assert_eq!(assess(&ch, &o, &inputs).status, Status::Pending);
        let ch = Change::MergeDockerAuths {
            secret: t("Secret", "openshift-config", "pull-secret"),
            registry: "quay.io".into(),
            input: "registry_auth".into(),
        };
        assert_eq!(assess(&ch, &o, &Inputs::default()).status, Status::Satisfied);
    }
}
