//! `cargo bench --bench plan`: wall time and peak memory of `remedy plan` on one synthetic
//! cluster written three ways (a JSON List, the same List in YAML, a must-gather tree of YAML
//! files), next to `jq empty` (which only parses the file) on the JSON file.
//!
//! Sizes come from the environment so a smaller run is one variable away:
//! `REMEDY_BENCH_PODS` (10000), `REMEDY_BENCH_EVENTS` (100000), `REMEDY_BENCH_NAMESPACES` (1000),
//! `REMEDY_BENCH_RUNS` (5); `REMEDY_BENCH_SHAPES=0` leaves out the runs on up to
//! 100 000 failing containers (`REMEDY_BENCH_SHAPE_RUNS`, default 3, runs each). Each command runs in its own process under `/usr/bin/time`, so the
//! peak resident set is that process's alone. The figures are recorded in `docs/performance.md`.

use std::path::Path;
use std::process::{Command, ExitCode};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Sample {
    seconds: f64,
    peak_kib: u64,
}

/// One run of `cmd` under `/usr/bin/time`; `ok` says which exit codes are a success.
fn measure(cmd: &[&str], ok: &[i32]) -> Result<Sample, String> {
    let out_file = std::env::temp_dir().join(format!("remedy-bench-time-{}", std::process::id()));
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", "-o"])
        .arg(&out_file)
        .args(cmd)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("/usr/bin/time: {e} (install the `time` package)"))?;
    let code = status.code().unwrap_or(-1);
    if !ok.contains(&code) {
        return Err(format!("{} exited {code}", cmd.join(" ")));
    }
    let text = std::fs::read_to_string(&out_file).map_err(|e| e.to_string())?;
    let last = text.lines().last().unwrap_or_default();
    let mut parts = last.split_whitespace();
    let seconds = parts.next().and_then(|s| s.parse().ok());
    let peak_kib = parts.next().and_then(|s| s.parse().ok());
    match (seconds, peak_kib) {
        (Some(seconds), Some(peak_kib)) => Ok(Sample { seconds, peak_kib }),
        _ => Err(format!("cannot read /usr/bin/time output: {last:?}")),
    }
}

struct Summary {
    median_s: f64,
    min_s: f64,
    peak_mib: f64,
}

fn series(cmd: &[&str], ok: &[i32], runs: usize) -> Result<Summary, String> {
    measure(cmd, ok)?; // warm the page cache; not counted
    let mut samples = (0..runs).map(|_| measure(cmd, ok)).collect::<Result<Vec<_>, _>>()?;
    samples.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    Ok(Summary {
        median_s: samples[samples.len() / 2].seconds,
        min_s: samples[0].seconds,
        peak_mib: samples.iter().map(|s| s.peak_kib).max().unwrap_or(0) as f64 / 1024.0,
    })
}

/// Total size of a file, or of the files under a directory.
fn size_of(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|d| d.filter_map(Result::ok).map(|e| size_of(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

fn generate(remedy: &str, out: &Path, format: &str, sizes: (usize, usize, usize)) -> Result<f64, String> {
    let (pods, events, namespaces) = sizes;
    if !out.exists() {
        let status = Command::new(remedy)
            .args(["gen-snapshot", "--format", format, "--out"])
            .arg(out)
            .args(["--pods", &pods.to_string(), "--events", &events.to_string()])
            .args(["--namespaces", &namespaces.to_string()])
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("gen-snapshot --format {format} failed"));
        }
    }
    Ok(size_of(out) as f64 / (1024.0 * 1024.0))
}

/// The shapes of all-failing input the bench plans at 25k, 50k and 100k failures (namespaces:
/// 2.5k, 5k and 10k).
#[derive(Clone, Copy)]
enum Shape {
    /// One pod, each container with its own message and event (the shape that was quadratic:
    /// lookups inside a pod scanned every container).
    Events,
    /// One pod, each container only `ImagePullBackOff` in its status, no message (the densest
    /// input: a few bytes per failure, and every failure still gets its own subject and action).
    Bare,
    /// As many pods, each with one container failing as in `Bare` (a registry that is down
    /// for a whole cluster, after its events expired).
    Pods,
    /// As many namespaces, each with one pod that names a pull secret the namespace lacks,
    /// its service account and kubelet's two events (a secret that never reached them): a
    /// finding of its own per namespace, each with its probes and ruled-out rules. Planned at
    /// a tenth of the other shapes' sizes.
    Namespaces,
}

/// Namespace `i` of `Shape::Namespaces`: its pod, service account and events.
fn namespace_items(i: usize) -> Vec<serde_json::Value> {
    let ns = format!("ns{i}");
    let image = format!("registry.example.com/team/app{i}:1");
    vec![
        serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("web-{i}"), "namespace": ns, "uid": format!("u{i}"),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("web-{i}-rs"),
                    "uid": format!("rs{i}"), "controller": true}]},
            "spec": {"serviceAccountName": "default", "imagePullSecrets": [{"name": "regcred"}],
                "containers": [{"name": "app", "image": image}]},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "app", "image": image,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}}}]}}),
        serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": ns, "uid": format!("sa{i}")}}),
        serde_json::json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("e{i}"), "namespace": ns},
            "involvedObject": {"kind": "Pod", "name": format!("web-{i}"), "namespace": ns, "uid": format!("u{i}"),
                "fieldPath": "spec.containers{app}"},
            "reason": "Failed", "type": "Warning", "count": 3,
            "message": format!("Failed to pull image \"{image}\": rpc error: code = Unknown desc = failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized")}),
        serde_json::json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("s{i}"), "namespace": ns},
            "involvedObject": {"kind": "Pod", "name": format!("web-{i}"), "namespace": ns, "uid": format!("u{i}")},
            "reason": "FailedToRetrieveImagePullSecret", "type": "Warning", "count": 5,
            "message": "Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed."}),
    ]
}

/// A pending pod whose containers `(name, image index)` all wait with `waiting(index)`.
fn pending_pod(
    name: &str,
    uid: &str,
    containers: impl Iterator<Item = (String, usize)> + Clone,
    waiting: impl Fn(usize) -> serde_json::Value,
) -> serde_json::Value {
    let image = |i: usize| format!("quay.io/acme/c{i}:1");
    let specs: Vec<_> = containers
        .clone()
        .map(|(c, i)| serde_json::json!({"name": c, "image": image(i)}))
        .collect();
    let statuses: Vec<_> = containers
        .map(|(c, i)| serde_json::json!({"name": c, "image": image(i), "state": {"waiting": waiting(i)}}))
        .collect();
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "apps", "uid": uid},
        "spec": {"containers": specs},
        "status": {"phase": "Pending", "containerStatuses": statuses}
    })
}

fn big_pod(dir: &Path, n: usize, shape: Shape) -> Result<String, String> {
    let name = match shape {
        Shape::Events => "containers",
        Shape::Bare => "bare-containers",
        Shape::Pods => "bare-pods",
        Shape::Namespaces => "namespaces",
    };
    let path = dir.join(format!("bench-pod-{n}-{name}.json"));
    let path_str = path
        .to_str()
        .map(str::to_string)
        .ok_or("target dir is not UTF-8".to_string())?;
    if path.exists() {
        return Ok(path_str);
    }
    let bare = |_: usize| serde_json::json!({"reason": "ImagePullBackOff"});
    let items: Vec<serde_json::Value> = match shape {
        Shape::Pods => (0..n)
            .map(|i| {
                pending_pod(
                    &format!("p{i}"),
                    &format!("u{i}"),
                    std::iter::once(("c".to_string(), i)),
                    bare,
                )
            })
            .collect(),
        Shape::Bare => vec![pending_pod("big", "u-big", (0..n).map(|i| (format!("c{i}"), i)), bare)],
        Shape::Namespaces => (0..n).flat_map(namespace_items).collect(),
        Shape::Events => {
            let waiting = |i: usize| {
                serde_json::json!({"reason": "ErrImagePull",
                    "message": format!("rpc error: code = Unknown desc = failed to pull and unpack image \"quay.io/acme/c{i}:1\": unexpected status code 401 Unauthorized")})
            };
            let pod = pending_pod("big", "u-big", (0..n).map(|i| (format!("c{i}"), i)), waiting);
            std::iter::once(pod)
                .chain((0..n).map(|i| serde_json::json!({
                    "apiVersion": "v1", "kind": "Event",
                    "metadata": {"name": format!("big.{i}"), "namespace": "apps"},
                    "involvedObject": {"kind": "Pod", "name": "big", "namespace": "apps", "uid": "u-big",
                        "fieldPath": format!("spec.containers{{c{i}}}")},
                    "reason": "Failed", "type": "Warning", "count": 1,
                    "message": format!("Failed to pull image \"quay.io/acme/c{i}:1\": unauthorized: authentication required")
                })))
                .collect()
        }
    };
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    std::fs::write(&path, list.to_string()).map_err(|e| e.to_string())?;
    Ok(path_str)
}

/// `remedy plan` on 25 000, 50 000 and 100 000 failures, in each shape (see `Shape`):
/// linear when doubling the containers doubles the time. Memory is shown above the run on a
/// healthy example (the binary, the bundled rules: the constant), per input byte.
fn shapes(remedy: &str, dir: &Path, runs: usize) -> Result<(), String> {
    let healthy = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/healthy");
    let base = series(&[remedy, "plan", "--snapshot", healthy, "-o", "json"], &[0, 2, 3], runs)?;
    println!();
    println!(
        "constant   peak RSS planning examples/healthy: {:.0} MiB",
        base.peak_mib
    );
    println!("| N failures | input | median wall | peak RSS | (RSS - constant) / input | time / previous row |");
    println!("|---|---|---|---|---|---|");
    // The human plan too, on the shape with the most actions to one finding: one manual step
    // per container, which it groups.
    for (shape, format) in [
        (Shape::Events, "json"),
        (Shape::Bare, "json"),
        (Shape::Pods, "json"),
        (Shape::Bare, "human"),
        (Shape::Namespaces, "json"),
    ] {
        let mut previous: Option<f64> = None;
        let sizes = match shape {
            Shape::Namespaces => [2_500, 5_000, 10_000],
            _ => [25_000, 50_000, 100_000],
        };
        for n in sizes {
            let snap = big_pod(dir, n, shape)?;
            let mib = size_of(Path::new(&snap)) as f64 / (1024.0 * 1024.0);
            let s = series(&[remedy, "plan", "--snapshot", &snap, "-o", format], &[0, 2, 3], runs)?;
            let ratio = previous.map_or("".to_string(), |p| format!("{:.2}x", s.median_s / p));
            let what = match (shape, format) {
                (Shape::Bare, "human") => "one pod, status only, the human plan",
                (Shape::Events, _) => "one pod, a message and an event each",
                (Shape::Bare, _) => "one pod, status only",
                (Shape::Pods, _) => "N pods of one container, status only",
                (Shape::Namespaces, _) => "N namespaces, a pull secret missing in each",
            };
            println!(
                "| N = {n}, {what} | {mib:.1} MiB | {:.2} s | {:.0} MiB | {:.1}x | {ratio} |",
                s.median_s,
                s.peak_mib,
                (s.peak_mib - base.peak_mib) / mib
            );
            previous = Some(s.median_s);
        }
    }
    Ok(())
}

fn run() -> Result<(), String> {
    let remedy = env!("CARGO_BIN_EXE_remedy");
    let sizes = (
        env_num("REMEDY_BENCH_PODS", 10_000),
        env_num("REMEDY_BENCH_EVENTS", 100_000),
        env_num("REMEDY_BENCH_NAMESPACES", 1_000),
    );
    let (pods, events, namespaces) = sizes;
    let runs = env_num("REMEDY_BENCH_RUNS", 5).max(1);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let stem = format!("bench-{pods}p-{events}e-{namespaces}n");
    let json = dir.join(format!("{stem}.json"));
    let yaml = dir.join(format!("{stem}.yaml"));
    let tree = dir.join(format!("{stem}-must-gather"));
    let json_mib = generate(remedy, &json, "json", sizes)?;
    let yaml_mib = generate(remedy, &yaml, "yaml", sizes)?;
    let tree_mib = generate(remedy, &tree, "must-gather", sizes)?;
    let path = |p: &Path| {
        p.to_str()
            .map(str::to_string)
            .ok_or("target dir is not UTF-8".to_string())
    };
    let (json_s, yaml_s, tree_s) = (path(&json)?, path(&yaml)?, path(&tree)?);

    // `remedy plan` exits 2 or 3 on these snapshots: they have findings.
    let plan = |snap: &str| series(&[remedy, "plan", "--snapshot", snap, "-o", "json"], &[0, 2, 3], runs);
    let on_json = plan(&json_s)?;
    let on_yaml = plan(&yaml_s)?;
    let on_tree = plan(&tree_s)?;
    let jq = series(&["jq", "empty", &json_s], &[0], runs);

    println!("snapshot   {pods} pods, {events} events, {namespaces} namespaces");
    println!("           JSON {json_mib:.1} MiB, YAML {yaml_mib:.1} MiB, must-gather tree {tree_mib:.1} MiB");
    println!("runs       {runs} each, after one warm-up run");
    println!("| command | median wall | min wall | peak RSS | peak RSS / input size |");
    println!("|---|---|---|---|---|");
    let row = |name: &str, s: &Summary, size: f64| {
        println!(
            "| {name} | {:.2} s | {:.2} s | {:.0} MiB | {:.2}x |",
            s.median_s,
            s.min_s,
            s.peak_mib,
            s.peak_mib / size
        );
    };
    row("remedy plan, JSON file", &on_json, json_mib);
    row("remedy plan, YAML file", &on_yaml, yaml_mib);
    row("remedy plan, must-gather tree (YAML)", &on_tree, tree_mib);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    match &jq {
        Ok(jq) => {
            row("jq empty, JSON file (parse only)", jq, json_mib);
            println!(
                "target     JSON at least 3x faster than jq: {} ({:.2}x jq's time)",
                verdict(on_json.median_s * 3.0 <= jq.median_s),
                on_json.median_s / jq.median_s
            );
        }
        Err(e) => println!("jq         not measured: {e}"),
    }
    for (name, s, size) in [
        ("YAML file", &on_yaml, yaml_mib),
        ("must-gather tree", &on_tree, tree_mib),
        ("JSON file", &on_json, json_mib),
    ] {
        let ratio = s.peak_mib / size;
        println!(
            "target     {name}: at most 1.5 s: {} ({:.2} s); peak memory at most 3x the input: {} ({ratio:.2}x)",
            verdict(s.median_s <= 1.5),
            s.median_s,
            verdict(ratio <= 3.0)
        );
    }
    if env_num("REMEDY_BENCH_SHAPES", 1) != 0 {
        shapes(remedy, dir, env_num("REMEDY_BENCH_SHAPE_RUNS", 3).max(1))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing. Both run it.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
