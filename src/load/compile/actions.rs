//! Compiling probes and actions: one type per entry, templated fields, input names.

use std::collections::BTreeSet;

use super::{Compiler, is_ident};
use crate::diag::{Code, Diagnostic};
use crate::model::{ActionSpec, ProbeSpec};
use crate::rules::{ActionKind, ActionTemplate, ProbeKind};

impl Compiler<'_> {
    pub(super) fn probe(
        &mut self,
        p: &ProbeSpec,
        si: usize,
        di: usize,
        path: &str,
        vars: &BTreeSet<String>,
    ) -> Option<ProbeKind> {
        let n = [
            p.object.is_some(),
            p.pull_secrets.is_some(),
            p.first_covering.is_some(),
            p.image_config.is_some(),
            p.trusted_ca.is_some(),
            p.owner.is_some(),
            p.json_path.is_some(),
            p.registry.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if n != 1 {
            self.diags.push(
                Diagnostic::error(
                    Code::AmbiguousSpec,
                    self.loc(si, di, path),
                    format!("probe `{}` must set exactly one probe type (it sets {n})", p.name),
                )
                .with_help(
                    "one of: object, pullSecrets, firstCovering, imageConfig, trustedCa, owner, jsonPath, registry",
                ),
            );
            return None;
        }
        let t = |this: &mut Self, s: &str, key: &str| this.tmpl(s, si, di, &format!("{path}.{key}"), vars);
        Some(if let Some(o) = &p.object {
            ProbeKind::Object(self.obj_ref(o, si, di, &format!("{path}.object"), vars))
        } else if let Some(x) = &p.pull_secrets {
            ProbeKind::PullSecrets {
                pod: t(self, &x.pod, "pullSecrets.pod"),
                registry: t(self, &x.registry, "pullSecrets.registry"),
                image: x.image.as_ref().map(|i| t(self, i, "pullSecrets.image")),
            }
        } else if let Some(x) = &p.first_covering {
            ProbeKind::FirstCovering {
                registry: t(self, &x.registry, "firstCovering.registry"),
                image: x.image.as_ref().map(|i| t(self, i, "firstCovering.image")),
                candidates: x
                    .candidates
                    .iter()
                    .enumerate()
                    .map(|(i, c)| t(self, c, &format!("firstCovering.candidates[{i}]")))
                    .collect(),
            }
        } else if let Some(x) = &p.image_config {
            ProbeKind::ImageConfig {
                registry: t(self, &x.registry, "imageConfig.registry"),
            }
        } else if let Some(x) = &p.trusted_ca {
            ProbeKind::TrustedCa {
                registry: t(self, &x.registry, "trustedCa.registry"),
            }
        } else if let Some(x) = &p.owner {
            ProbeKind::Owner {
                pod: t(self, &x.pod, "owner.pod"),
            }
        } else if let Some(x) = &p.registry {
            ProbeKind::Registry {
                pod: t(self, &x.pod, "registry.pod"),
                image: t(self, &x.image, "registry.image"),
            }
        } else {
            let x = p.json_path.as_ref().expect("counted above");
            if let Err(e) = jsonpath_rust::parser::parse_json_path(&x.path) {
                self.diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        self.loc(si, di, &format!("{path}.jsonPath.path")),
                        format!("invalid JSONPath: {e}"),
                    )
                    .with_help("for example `$.spec.registrySources.insecureRegistries[*]`"),
                );
            }
            ProbeKind::JsonPath {
                object: self.obj_ref(&x.object, si, di, &format!("{path}.jsonPath.object"), vars),
                path: x.path.clone(),
            }
        })
    }

    pub(super) fn action(
        &mut self,
        a: &ActionSpec,
        si: usize,
        di: usize,
        path: &str,
        vars: &BTreeSet<String>,
    ) -> Option<ActionTemplate> {
        let n = [
            a.copy_secret.is_some(),
            a.link_pull_secret.is_some(),
            a.merge_docker_auths.is_some(),
            a.ensure_list_item.is_some(),
            a.set_config_map_key.is_some(),
            a.patch.is_some(),
            a.ensure_object.is_some(),
            a.restart_pod.is_some(),
            a.manual.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if n != 1 {
            self.diags.push(
                Diagnostic::error(Code::AmbiguousSpec, self.loc(si, di, path), format!("an action must set exactly one action type (this one sets {n})"))
                    .with_help("one of: copySecret, linkPullSecret, mergeDockerAuths, ensureListItem, setConfigMapKey, patch, ensureObject, restartPod, manual"),
            );
            return None;
        }
        let t = |this: &mut Self, s: &str, key: &str| this.tmpl(s, si, di, &format!("{path}.{key}"), vars);
        let input = |this: &mut Self, s: &str, key: &str| {
            if !is_ident(s) {
                this.diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        this.loc(si, di, &format!("{path}.{key}")),
                        format!("input name `{s}` is not an identifier"),
                    )
                    .with_help(
                        "use letters, digits and `_`, e.g. `registry_auth`; users give it with --set-file NAME=PATH",
                    ),
                );
            }
            s.to_string()
        };
        let kind = if let Some(x) = &a.copy_secret {
            ActionKind::CopySecret {
                from: t(self, &x.from, "copySecret.from"),
                to: t(self, &x.to, "copySecret.to"),
            }
        } else if let Some(x) = &a.link_pull_secret {
            ActionKind::LinkPullSecret {
                service_account: t(self, &x.service_account, "linkPullSecret.serviceAccount"),
                secret: t(self, &x.secret, "linkPullSecret.secret"),
            }
        } else if let Some(x) = &a.merge_docker_auths {
            ActionKind::MergeDockerAuths {
                secret: t(self, &x.secret, "mergeDockerAuths.secret"),
                registry: t(self, &x.registry, "mergeDockerAuths.registry"),
                input: input(self, &x.input, "mergeDockerAuths.input"),
            }
        } else if let Some(x) = &a.ensure_list_item {
            ActionKind::EnsureListItem {
                target: self.obj_ref(&x.target, si, di, &format!("{path}.ensureListItem.target"), vars),
                path: x.path.clone(),
                item: t(self, &x.item, "ensureListItem.item"),
                only_if_list_exists: x.only_if_list_exists,
                item_key: x.item_key.clone(),
            }
        } else if let Some(x) = &a.set_config_map_key {
            ActionKind::SetConfigMapKey {
                config_map: t(self, &x.config_map, "setConfigMapKey.configMap"),
                key: t(self, &x.key, "setConfigMapKey.key"),
                input: input(self, &x.input, "setConfigMapKey.input"),
                copy_from: x.copy_from.as_ref().map(|k| t(self, k, "setConfigMapKey.copyFrom")),
                remove_keys: x
                    .remove_keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| t(self, k, &format!("setConfigMapKey.removeKeys[{i}]")))
                    .collect(),
            }
        } else if let Some(x) = &a.patch {
            if x.merge_patch.is_some() == x.json_patch.is_some() {
                self.diags.push(
                    Diagnostic::error(
                        Code::AmbiguousSpec,
                        self.loc(si, di, &format!("{path}.patch")),
                        "a patch sets exactly one of `mergePatch` and `jsonPatch`",
                    )
                    .with_help(
                        "mergePatch for JSON merge patches (RFC 7386), jsonPatch for operation lists (RFC 6902)",
                    ),
                );
            }
            ActionKind::Patch {
                target: self.obj_ref(&x.target, si, di, &format!("{path}.patch.target"), vars),
                merge_patch: x
                    .merge_patch
                    .as_ref()
                    .map(|v| self.tmpl_value(v, si, di, &format!("{path}.patch.mergePatch"), vars)),
                json_patch: x.json_patch.as_ref().map(|v| {
                    self.tmpl_value(
                        &serde_json::Value::Array(v.clone()),
                        si,
                        di,
                        &format!("{path}.patch.jsonPatch"),
                        vars,
                    )
                }),
            }
        } else if let Some(x) = &a.ensure_object {
            let ok = x.manifest.get("apiVersion").is_some()
                && x.manifest.get("kind").is_some()
                && x.manifest.pointer("/metadata/name").is_some();
            if !ok {
                self.diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        self.loc(si, di, &format!("{path}.ensureObject.manifest")),
                        "the manifest needs `apiVersion`, `kind` and `metadata.name`",
                    )
                    .with_help("write the object as `kubectl apply` would take it"),
                );
            }
            ActionKind::EnsureObject {
                manifest: self.tmpl_value(&x.manifest, si, di, &format!("{path}.ensureObject.manifest"), vars),
            }
        } else if let Some(x) = &a.restart_pod {
            ActionKind::RestartPod {
                pod: t(self, &x.pod, "restartPod.pod"),
            }
        } else {
            let x = a.manual.as_ref().expect("counted above");
            ActionKind::Manual {
                title: t(self, &x.title, "manual.title"),
                steps: x
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| t(self, s, &format!("manual.steps[{i}]")))
                    .collect(),
                commands: x
                    .commands
                    .iter()
                    .enumerate()
                    .map(|(i, s)| t(self, s, &format!("manual.commands[{i}]")))
                    .collect(),
            }
        };
        Some(ActionTemplate {
            description: a.description.as_ref().map(|s| t(self, s, "description")),
            when: a
                .when
                .as_ref()
                .map(|s| self.condition(s, si, di, &format!("{path}.when"), vars)),
            only_if: a
                .only_if
                .as_ref()
                .map(|s| self.condition(s, si, di, &format!("{path}.onlyIf"), vars)),
            requires: a
                .requires
                .iter()
                .enumerate()
                .map(|(i, r)| input(self, r, &format!("requires[{i}]")))
                .collect(),
            blocked_reason: a.blocked_reason.as_ref().map(|s| t(self, s, "blockedReason")),
            disruptive: a.disruptive,
            alternative: a.alternative,
            disruptive_when: a
                .disruptive_when
                .as_ref()
                .map(|s| self.condition(s, si, di, &format!("{path}.disruptiveWhen"), vars)),
            kind,
        })
    }
}
