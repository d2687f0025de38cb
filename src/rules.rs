//! Runtime rule types: what `load` compiles playbooks and symptoms into. Every value here
//! has been validated; templates are compiled and referenced by name.

use serde_json::Value;

use crate::matcher::{MatchTree, PatternSet, TextTest};
use crate::model::{Category, Examples, RuleSeverity};
use crate::template::Templates;

/// A string field: a literal, or a compiled template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tmpl {
    /// Shared: a literal renders to the same text for every failure.
    Literal(std::sync::Arc<str>),
    Template(String),
}

impl Tmpl {
    pub fn render(&self, t: &Templates, ctx: &minijinja::Value) -> Result<String, minijinja::Error> {
        match self {
            Tmpl::Literal(s) => Ok(s.to_string()),
            Tmpl::Template(name) => t.render(name, ctx),
        }
    }

    /// As `render`, shared: a literal is not copied for each failure it renders for.
    pub fn render_shared(
        &self,
        t: &Templates,
        ctx: &minijinja::Value,
    ) -> Result<std::sync::Arc<str>, minijinja::Error> {
        match self {
            Tmpl::Literal(s) => Ok(s.clone()),
            Tmpl::Template(name) => t.render(name, ctx).map(Into::into),
        }
    }
}

/// A JSON value whose string leaves are templates named `<base><json pointer>`.
#[derive(Debug, Clone)]
pub struct TmplValue {
    pub base: String,
    pub value: Value,
}

impl TmplValue {
    pub fn render(&self, t: &Templates, ctx: &minijinja::Value) -> Result<Value, minijinja::Error> {
        fn walk(
            v: &Value,
            ptr: &mut String,
            base: &str,
            t: &Templates,
            ctx: &minijinja::Value,
        ) -> Result<Value, minijinja::Error> {
            Ok(match v {
                Value::String(s) if s.contains("{{") || s.contains("{%") => {
                    Value::String(t.render(&format!("{base}{ptr}"), ctx)?)
                }
                Value::Array(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        let len = ptr.len();
                        ptr.push_str(&format!("/{i}"));
                        out.push(walk(item, ptr, base, t, ctx)?);
                        ptr.truncate(len);
                    }
                    Value::Array(out)
                }
                Value::Object(map) => {
                    let mut out = serde_json::Map::new();
                    for (k, item) in map {
                        let len = ptr.len();
                        ptr.push('/');
                        ptr.push_str(k);
                        out.insert(k.clone(), walk(item, ptr, base, t, ctx)?);
                        ptr.truncate(len);
                    }
                    Value::Object(out)
                }
                other => other.clone(),
            })
        }
        walk(&self.value, &mut String::new(), &self.base, t, ctx)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file as the user named it, or `bundled:rules/<file>`.
    pub file: String,
    pub line: Option<usize>,
    pub bundled: bool,
}

#[derive(Debug, Clone)]
pub struct Symptom {
    pub id: String,
    pub category: Category,
    pub title: Option<String>,
    pub priority: i32,
    pub test: TextTest,
    pub examples: Examples,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct ObjRefT {
    pub api_version: Tmpl,
    pub kind: Tmpl,
    pub namespace: Option<Tmpl>,
    pub name: Tmpl,
}

#[derive(Debug, Clone)]
pub enum ProbeKind {
    Object(ObjRefT),
    PullSecrets {
        pod: Tmpl,
        registry: Tmpl,
        image: Option<Tmpl>,
    },
    FirstCovering {
        registry: Tmpl,
        image: Option<Tmpl>,
        candidates: Vec<Tmpl>,
    },
    ImageConfig {
        registry: Tmpl,
    },
    TrustedCa {
        registry: Tmpl,
    },
    Owner {
        pod: Tmpl,
    },
    JsonPath {
        object: ObjRefT,
        path: String,
    },
    Registry {
        pod: Tmpl,
        image: Tmpl,
    },
}

#[derive(Debug, Clone)]
pub struct Probe {
    pub name: String,
    pub kind: ProbeKind,
}

#[derive(Debug, Clone)]
pub enum ActionKind {
    CopySecret {
        from: Tmpl,
        to: Tmpl,
    },
    LinkPullSecret {
        service_account: Tmpl,
        secret: Tmpl,
    },
    MergeDockerAuths {
        secret: Tmpl,
        registry: Tmpl,
        input: String,
    },
    EnsureListItem {
        target: ObjRefT,
        path: String,
        item: Tmpl,
        only_if_list_exists: bool,
        item_key: Option<String>,
    },
    SetConfigMapKey {
        config_map: Tmpl,
        key: Tmpl,
        input: String,
        remove_keys: Vec<Tmpl>,
        copy_from: Option<Tmpl>,
    },
    Patch {
        target: ObjRefT,
        merge_patch: Option<TmplValue>,
        json_patch: Option<TmplValue>,
    },
    EnsureObject {
        manifest: TmplValue,
    },
    RestartPod {
        pod: Tmpl,
    },
    Manual {
        title: Tmpl,
        steps: Vec<Tmpl>,
        commands: Vec<Tmpl>,
    },
}

#[derive(Debug, Clone)]
pub struct ActionTemplate {
    pub description: Option<Tmpl>,
    /// Condition template name; false means blocked.
    pub when: Option<String>,
    pub blocked_reason: Option<Tmpl>,
    /// Condition template name; false means the action is left out.
    pub only_if: Option<String>,
    pub requires: Vec<String>,
    pub disruptive: Option<bool>,
    /// Another way to the same end: nothing depends on it.
    pub alternative: bool,
    /// Condition template name; true makes the action disruptive.
    pub disruptive_when: Option<String>,
    pub kind: ActionKind,
}

#[derive(Debug, Clone)]
pub struct Condition {
    /// Template name of the compiled condition.
    pub name: String,
    /// The expression as written, for evidence.
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub category: Category,
    pub severity: RuleSeverity,
    pub description: Option<String>,
    pub references: Vec<String>,
    pub matcher: MatchTree,
    pub probes: Vec<Probe>,
    pub conditions: Vec<Condition>,
    pub explain: Option<Tmpl>,
    pub group_by: Tmpl,
    pub supersedes: Vec<String>,
    pub actions: Vec<ActionTemplate>,
    pub examples: Examples,
    pub origin: Origin,
}

/// Everything loaded: symptoms, rules, the shared pattern sets and templates.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub symptoms: Vec<Symptom>,
    pub rules: Vec<Rule>,
    /// Message patterns of every symptom and rule (`message`, `waitingMessage`).
    pub messages: PatternSet,
    /// Patterns on other fields (reasons, image, registry).
    pub fields: PatternSet,
    pub templates: Templates,
    /// `(rule id, user file)` for each bundled rule a user rule replaced.
    pub overridden: Vec<(String, String)>,
}

impl RuleSet {
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}
