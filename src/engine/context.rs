//! The template context of a failure: what `failure`, `cluster`, `inputs` and `params` hold
//! (`captures` are per rule: see `render::evaluate_rule`).

use serde_json::{Value, json};

use super::Classified;
use crate::detect::Failure;
use crate::inputs::Inputs;
use crate::rules::RuleSet;

pub fn failure_context(
    rules: &RuleSet,
    f: &Failure,
    c: &Classified,
    cluster: &Value,
    inputs: &Inputs,
) -> serde_json::Map<String, Value> {
    let r = f.image_ref();
    let r = r.as_ref();
    let failure = json!({
        "kind": f.kind,
        "name": f.pod,
        "namespace": f.namespace,
        "pod": f.pod,
        "container": f.container,
        "initContainer": f.init_container,
        "image": f.image,
        "registry": f.registry,
        "repository": r.map(|r| r.repository.clone()),
        "tag": r.and_then(|r| r.tag.clone()),
        "digest": r.and_then(|r| r.digest.clone()),
        "message": f.headline().map(|e| e.message.clone()).unwrap_or_default(),
        "messages": f.evidence.iter().map(|e| e.message.clone()).collect::<Vec<_>>(),
        "reason": f.waiting_reason,
        "serviceAccount": f.service_account,
        "podExists": f.pod_exists,
        "inferred": f.unexplained(),
        "category": c.category.map(|c| c.as_str()).unwrap_or("other"),
        "symptoms": c.symptoms.iter().map(|&i| rules.symptoms[i].id.clone()).collect::<Vec<_>>(),
        "labels": f.labels,
        "nodeName": f.node_name,
    });
    let mut ctx = serde_json::Map::new();
    ctx.insert("failure".into(), failure);
    ctx.insert("cluster".into(), cluster.clone());
    ctx.insert("inputs".into(), inputs.presence());
    ctx.insert("params".into(), inputs.params());
    ctx
}
