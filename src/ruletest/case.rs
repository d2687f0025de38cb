//! One case: build its cluster state, plan, and compare the plan with what the case expects.

use serde_json::{Value, json};

use super::spec::{CaseSpec, ExpectAction, ExpectFinding};
use super::{CaseResult, TestFile, Verdict, record};
use crate::cluster::{ClusterSource, Snapshot};
use crate::inputs::Inputs;
use crate::plan::{self, Plan};
use crate::rules::RuleSet;

const DEFAULT_IMAGE: &str = "registry.example.com/team/app:1.0";

/// The pod, service account, namespace and event of a `message` case.
fn message_objects(c: &CaseSpec, message: &str) -> Vec<Value> {
    let ns = c.namespace.as_deref().unwrap_or("default");
    let image = c.image.as_deref().unwrap_or(DEFAULT_IMAGE);
    let mut out = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}),
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "test-pod", "namespace": ns, "uid": "00000000-0000-0000-0000-000000000001",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"serviceAccountName": "default", "containers": [{"name": "app", "image": image}]},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": "app", "image": image, "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ErrImagePull", "message": message}}}]}
        }),
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "test-pod.1", "namespace": ns},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "test-pod", "namespace": ns,
                               "fieldPath": "spec.containers{app}"},
            "reason": "Failed", "type": "Warning", "message": message, "count": 1,
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z"
        }),
    ];
    if c.openshift {
        out.push(json!({
            "apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion", "metadata": {"name": "version"},
            "status": {"desired": {"version": "4.16.0"}, "history": [{"state": "Completed", "version": "4.16.0"}]}
        }));
    }
    out
}

/// `Kind namespace/name`, or `Kind name` for a cluster-scoped object.
pub fn target_label(t: &crate::plan::ActionTarget) -> String {
    match &t.namespace {
        Some(ns) => format!("{} {ns}/{}", t.kind, t.name),
        None => format!("{} {}", t.kind, t.name),
    }
}

fn actual_findings(plan: &Plan) -> Vec<ExpectFinding> {
    plan.findings
        .iter()
        .map(|f| {
            let mut subjects: Vec<String> = f
                .subjects
                .iter()
                .map(|s| format!("{}/{}", s.namespace, s.name))
                .collect();
            subjects.sort();
            subjects.dedup();
            ExpectFinding {
                rule: f.rule.clone(),
                category: Some(f.category),
                subjects: Some(subjects),
            }
        })
        .collect()
}

fn actual_actions(plan: &Plan) -> Vec<ExpectAction> {
    plan.actions
        .iter()
        .map(|a| ExpectAction {
            action_type: a.action_type.to_string(),
            target: a.target.as_deref().map(target_label),
            status: Some(a.status.as_str().to_string()),
        })
        .collect()
}

fn finding_fits(want: &ExpectFinding, got: &ExpectFinding) -> bool {
    want.rule == got.rule
        && want.category.is_none_or(|c| Some(c) == got.category)
        && want.subjects.as_ref().is_none_or(|s| {
            let mut s = s.clone();
            s.sort();
            Some(s) == got.subjects
        })
}

fn action_fits(want: &ExpectAction, got: &ExpectAction) -> bool {
    want.action_type == got.action_type
        && (want.target.is_none() || want.target == got.target)
        && (want.status.is_none() || want.status == got.status)
}

/// Pair each expected item with a distinct actual one; the unpaired on either side are reported.
fn compare<T: serde::Serialize>(what: &str, want: &[T], got: &[T], fits: fn(&T, &T) -> bool, out: &mut Vec<String>) {
    let mut used = vec![false; got.len()];
    let mut missing = Vec::new();
    for w in want {
        match (0..got.len()).find(|&i| !used[i] && fits(w, &got[i])) {
            Some(i) => used[i] = true,
            None => missing.push(w),
        }
    }
    let extra: Vec<&T> = got.iter().zip(&used).filter(|(_, u)| !**u).map(|(g, _)| g).collect();
    if missing.is_empty() && extra.is_empty() {
        return;
    }
    let line = |v: &T| serde_json::to_string(v).unwrap_or_default();
    let mut msg = format!("{what} differ");
    for m in missing {
        msg.push_str(&format!("\n  expected, not in the plan: {}", line(m)));
    }
    for e in extra {
        msg.push_str(&format!("\n  in the plan, not expected: {}", line(e)));
    }
    msg.push_str(&format!(
        "\n  expected: {}\n  actual:   {}",
        serde_json::to_string(want).unwrap_or_default(),
        serde_json::to_string(got).unwrap_or_default()
    ));
    out.push(msg);
}

/// A case's cluster state and inputs, as `plan_case` plans them. The snapshot's files may be
/// in `tmp`, which must outlive its use.
pub struct CaseState {
    /// The files the snapshot was read from, in order.
    pub paths: Vec<std::path::PathBuf>,
    pub snapshot: Snapshot,
    pub inputs: Inputs,
    pub tmp: tempfile::TempDir,
}

/// Load the case's state (snapshot paths, inline objects, the pod made for `message`) and
/// its inputs; problems are returned as text.
pub fn case_state(tf: &TestFile, c: &CaseSpec) -> Result<CaseState, String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("creating a temporary directory: {e}"))?;
    let mut paths = Vec::new();
    for s in c.snapshot.iter().flat_map(|s| s.paths()) {
        paths.push(tf.dir().join(s));
    }
    let mut objects = c.objects.clone();
    if let Some(m) = &c.message {
        objects.extend(message_objects(c, m));
    }
    if !objects.is_empty() {
        let file = tmp.path().join("objects.json");
        let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
        std::fs::write(&file, list.to_string()).map_err(|e| format!("writing {}: {e}", file.display()))?;
        paths.push(file);
    }
    let (snapshot, diags) = Snapshot::load(&paths);
    let paths_read = paths.clone();
    if diags.has_errors() {
        let lines: Vec<String> = diags
            .into_sorted()
            .into_iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}: {}", d.location, d.message))
            .collect();
        return Err(format!(
            "the case's cluster state does not load:\n  {}",
            lines.join("\n  ")
        ));
    }
    let mut inputs = Inputs::default();
    for (k, v) in &c.inputs {
        inputs.insert_plain(k, v);
    }
    for (k, p) in &c.input_files {
        let path = tf.dir().join(p);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("input {k}: cannot read {}: {e}", path.display()))?;
        inputs.insert(k, text, p);
    }
    Ok(CaseState {
        paths: paths_read,
        snapshot,
        inputs,
        tmp,
    })
}

/// Plan the case's state with `rules`; problems are returned as text.
pub fn plan_case(rules: &RuleSet, tf: &TestFile, c: &CaseSpec) -> Result<Plan, String> {
    let CaseState {
        snapshot,
        inputs,
        tmp: _tmp,
        ..
    } = case_state(tf, c)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    let evaluation = runtime
        .block_on(crate::engine::evaluate(rules, &snapshot, &inputs))
        .map_err(|e| format!("planning failed: {e}"))?;
    let mut plan = plan::build_owned(rules, evaluation, &inputs, &snapshot.info());
    // The temporary directory's name changes every run; the case's own words do not.
    plan.source.name = match &c.snapshot {
        Some(s) => s.paths().join(", "),
        None => "inline".to_string(),
    };
    Ok(plan)
}

pub fn run(rules: &RuleSet, tf: &TestFile, i: usize, accept: bool, result: &mut CaseResult) {
    let c = &tf.spec.cases[i];
    let plan = match plan_case(rules, tf, c) {
        Ok(p) => p,
        Err(e) => {
            result.problems.push(e);
            return;
        }
    };
    let got = actual_findings(&plan);
    let rule = c.rule.as_ref().or(tf.spec.rule.as_ref());
    if let Some(r) = rule {
        if !rules.rules.iter().any(|x| &x.id == r) {
            result.problems.push(format!("rule `{r}` is not loaded"));
        }
        let fired = got.iter().any(|f| &f.rule == r);
        if c.valid && fired {
            result.problems.push(format!(
                "`{r}` must not fire (valid case), but the plan has: {}",
                serde_json::to_string(&got).unwrap_or_default()
            ));
        }
        let checks_findings = c.expect.as_ref().is_some_and(|e| e.findings.is_some());
        if !c.valid && !checks_findings && !fired {
            result.problems.push(format!(
                "`{r}` must fire, but the plan's findings are: {}",
                serde_json::to_string(&got).unwrap_or_default()
            ));
        }
    }
    if let Some(e) = &c.expect {
        if let Some(want) = &e.findings {
            compare("findings", want, &got, finding_fits, &mut result.problems);
        }
        if let Some(want) = &e.actions {
            compare(
                "actions",
                want,
                &actual_actions(&plan),
                action_fits,
                &mut result.problems,
            );
        }
    }
    if c.record_plan {
        match record::check(tf, &c.name, &plan, accept) {
            Ok(record::Outcome::Same) => {}
            Ok(record::Outcome::Written) => result.verdict = Verdict::Accepted,
            Ok(record::Outcome::Missing(path)) => result.problems.push(format!(
                "no recorded plan at {path}: review the plan and run with --accept to record it"
            )),
            Ok(record::Outcome::Changed { path, diff }) => {
                result.problems.push(format!(
                    "the plan differs from the one recorded at {path} (diff below); run with --accept if the change is right"
                ));
                result.diff = Some(diff);
            }
            Err(e) => result.problems.push(e),
        }
    }
}
