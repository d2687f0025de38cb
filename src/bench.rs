//! Synthetic snapshots for benchmarks: many namespaces, pods and events, some of them failing
//! in the ways the bundled rules know. Written as one `kubectl get -o json|yaml` List, streamed, or as a must-gather tree.

use std::io::{self, Write};

use serde_json::json;

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub pods: usize,
    pub events: usize,
    pub namespaces: usize,
    pub failing_percent: usize,
}

#[derive(Debug, Clone, Default)]
pub struct GenStats {
    pub pods: usize,
    pub events: usize,
    pub namespaces: usize,
    pub failing: usize,
}

const FAILURES: &[(&str, &str)] = &[
    (
        "registry.redhat.io/redhat/redhat-operator-index:v4.20",
        "rpc error: code = Unknown desc = unable to retrieve auth token: invalid username/password: unauthorized: Please login to the Red Hat Registry using your Customer Portal credentials.",
    ),
    (
        "registry.lab.internal:5000/apps/api:1.2",
        "rpc error: code = Unknown desc = pinging container registry registry.lab.internal:5000: Get \"https://registry.lab.internal:5000/v2/\": http: server gave HTTP response to HTTPS client",
    ),
    (
        "mirror.corp.example:5000/apps/web:3",
        "rpc error: code = Unknown desc = pinging container registry mirror.corp.example:5000: Get \"https://mirror.corp.example:5000/v2/\": x509: certificate signed by unknown authority",
    ),
    (
        "docker.io/library/nginx:1.99",
        "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nginx:1.99\": failed to resolve reference \"docker.io/library/nginx:1.99\": docker.io/library/nginx:1.99: not found",
    ),
    (
        "docker.io/library/redis:7",
        "rpc error: code = Unknown desc = failed to pull and unpack image \"docker.io/library/redis:7\": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/redis/manifests/7: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.",
    ),
];

/// Write the JSON List to `w`.
pub fn generate(w: &mut dyn Write, o: &GenOptions) -> io::Result<GenStats> {
    w.write_all(b"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n")?;
    let mut first = true;
    let stats = items(o, &mut |_, _, v| {
        if !first {
            w.write_all(b",\n")?;
        }
        first = false;
        serde_json::to_writer(&mut *w, &v).map_err(io::Error::other)
    })?;
    w.write_all(b"\n]}\n")?;
    Ok(stats)
}

/// One item as a `- ` entry of a YAML sequence, as kubectl writes list items.
fn yaml_item(v: &serde_json::Value) -> io::Result<String> {
    serde_yaml::to_string(&[v]).map_err(io::Error::other)
}

/// Write the List as YAML to `w`.
pub fn generate_yaml(w: &mut dyn Write, o: &GenOptions) -> io::Result<GenStats> {
    w.write_all(b"apiVersion: v1\nitems:\n")?;
    let stats = items(o, &mut |_, _, v| w.write_all(yaml_item(&v)?.as_bytes()))?;
    w.write_all(b"kind: List\nmetadata:\n  resourceVersion: \"\"\n")?;
    Ok(stats)
}

/// Write a must-gather tree under `dir`.
pub fn generate_must_gather(dir: &std::path::Path, o: &GenOptions) -> io::Result<GenStats> {
    use std::collections::BTreeMap;
    let mut files: BTreeMap<(String, &'static str), String> = BTreeMap::new();
    let stats = items(o, &mut |ns, kind, v| {
        let text = yaml_item(&v)?;
        files.entry((ns.to_string(), kind)).or_default().push_str(&text);
        Ok(())
    })?;
    let base = dir.join("quay-io-openshift-release-dev-ocp-v4-0-art-dev-sha256-bench");
    let cluster = base.join("cluster-scoped-resources/core");
    std::fs::create_dir_all(&cluster)?;
    std::fs::write(
        cluster.join("nodes.yaml"),
        "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata:\n    name: node-0\nkind: NodeList\nmetadata:\n  resourceVersion: \"1\"\n",
    )?;
    for ((ns, kind), body) in files {
        let ns_dir = base.join("namespaces").join(&ns);
        let (path, list) = match kind {
            "Namespace" => (ns_dir.join(format!("{ns}.yaml")), None),
            "Pod" => (ns_dir.join("core/pods.yaml"), Some("PodList")),
            "Event" => (ns_dir.join("core/events.yaml"), Some("EventList")),
            _ => (ns_dir.join("core/serviceaccounts.yaml"), Some("ServiceAccountList")),
        };
        std::fs::create_dir_all(path.parent().unwrap_or(&ns_dir))?;
        let text = match list {
            // A single object, as must-gathers write namespaces (`---` and the object).
            None => format!("---\n{}", body.replacen("- ", "", 1).replace("\n  ", "\n")),
            Some(list) => format!("apiVersion: v1\nitems:\n{body}kind: {list}\nmetadata:\n  resourceVersion: \"1\"\n"),
        };
        std::fs::write(path, text)?;
    }
    Ok(stats)
}

/// Every object of the snapshot, in order, with its namespace and kind.
type Emit<'a> = dyn FnMut(&str, &'static str, serde_json::Value) -> io::Result<()> + 'a;

fn items(o: &GenOptions, emit: &mut Emit<'_>) -> io::Result<GenStats> {
    let ns_count = o.namespaces.max(1);
    let mut stats = GenStats {
        namespaces: ns_count,
        ..GenStats::default()
    };
    for n in 0..ns_count {
        let ns = format!("team-{n:04}");
        emit(
            &ns,
            "Namespace",
            json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name": ns, "uid": format!("ns-{n}")}}),
        )?;
        emit(
            &ns,
            "ServiceAccount",
            json!({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default","namespace": ns},"imagePullSecrets":[{"name":"default-dockercfg-abcde"}]}),
        )?;
    }
    let failing_every = if o.failing_percent == 0 {
        usize::MAX
    } else {
        (100 / o.failing_percent.min(100)).max(1)
    };
    for p in 0..o.pods {
        let ns = format!("team-{:04}", p % ns_count);
        let name = format!("app-{p:06}-7d9c8b6f5d-x{:04}", p % 10_000);
        let failing = p.is_multiple_of(failing_every);
        let (image, waiting) = if failing {
            stats.failing += 1;
            let (img, msg) = FAILURES[(p / failing_every) % FAILURES.len()];
            (
                img.to_string(),
                json!({"waiting": {"reason": "ErrImagePull", "message": msg}}),
            )
        } else {
            (
                format!("quay.io/acme/app-{}:1.0", p % 50),
                json!({"running": {"startedAt": "2026-11-20T10:00:00Z"}}),
            )
        };
        emit(
            &ns,
            "Pod",
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": ns, "uid": format!("pod-{p}"), "labels": {"app": format!("app-{p}")},
                             "creationTimestamp": "2026-11-20T09:59:00Z",
                             "ownerReferences": [{"apiVersion":"apps/v1","kind":"ReplicaSet","name": format!("app-{p:06}-7d9c8b6f5d"),"uid": format!("rs-{p}"),"controller":true}]},
                "spec": {"serviceAccountName": "default", "nodeName": format!("node-{}", p % 20),
                         "imagePullSecrets": [{"name":"default-dockercfg-abcde"}],
                         "containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080}],
                                         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]},
                "status": {"phase": if failing { "Pending" } else { "Running" }, "podIP": format!("10.128.{}.{}", p / 250 % 250, p % 250),
                           "containerStatuses": [{"name": "app", "image": image, "ready": !failing, "restartCount": 0, "state": waiting}]}
            }),
        )?;
        stats.pods += 1;
    }
    for e in 0..o.events {
        let p = e % o.pods.max(1);
        let ns = format!("team-{:04}", p % ns_count);
        let name = format!("app-{p:06}-7d9c8b6f5d-x{:04}", p % 10_000);
        let failing = p.is_multiple_of(failing_every);
        let (reason, ty, message) = if failing && e % 3 == 0 {
            let (img, msg) = FAILURES[(p / failing_every) % FAILURES.len()];
            ("Failed", "Warning", format!("Failed to pull image \"{img}\": {msg}"))
        } else if failing && e % 3 == 1 {
            let (img, _) = FAILURES[(p / failing_every) % FAILURES.len()];
            ("BackOff", "Normal", format!("Back-off pulling image \"{img}\""))
        } else {
            ("Started", "Normal", "Started container app".to_string())
        };
        emit(
            &ns,
            "Event",
            json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": format!("{name}.{e:x}"), "namespace": ns, "uid": format!("ev-{e}")},
                "involvedObject": {"kind": "Pod", "namespace": ns, "name": name, "uid": format!("pod-{p}"), "fieldPath": "spec.containers{app}"},
                "reason": reason, "type": ty, "message": message, "count": 1 + e % 40,
                "firstTimestamp": "2026-11-20T10:00:00Z", "lastTimestamp": "2026-11-20T11:00:00Z",
                "source": {"component": "kubelet", "host": format!("node-{}", p % 20)}
            }),
        )?;
        stats.events += 1;
    }
    Ok(stats)
}
