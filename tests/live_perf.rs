//! Wall time and peak memory of a live plan on a large synthetic state served by the test API
//! over HTTP, next to the snapshot plan of the same state. Ignored by default (it takes
//! minutes); run with
//!
//! `REMEDY_PERF_BIN=target/release/remedy cargo test --test live_perf -- --ignored --nocapture`
//!
//! Sizes: `REMEDY_BENCH_PODS` (10000), `REMEDY_BENCH_EVENTS` (100000), `REMEDY_BENCH_NAMESPACES`
//! (1000), `REMEDY_BENCH_RUNS` (3). The figures are recorded in docs/performance.md.

mod support;

use std::process::Command;

use serde_json::Value;
use support::fake_api::Builder;
use support::fake_api::http::{HttpFront, TOKEN};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// (wall seconds, remedy's own CPU seconds, peak resident KiB) of one run.
fn measure(bin: &str, args: &[&str]) -> (f64, f64, u64) {
    let out = tempfile::NamedTempFile::new().unwrap();
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%e %U %S %M", "-o"])
        .arg(out.path())
        .arg(bin)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("/usr/bin/time (the `time` package)");
    assert!(matches!(status.code(), Some(0 | 2 | 3)), "{args:?}: {status}");
    let text = std::fs::read_to_string(out.path()).unwrap();
    let f: Vec<f64> = text
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    (f[0], f[1] + f[2], f[3] as u64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[test]
#[ignore = "minutes long: run on demand, see the module docs"]
fn live_plan_at_scale() {
    let bin = std::env::var("REMEDY_PERF_BIN")
        .unwrap_or_else(|_| assert_cmd::cargo::cargo_bin("remedy").display().to_string());
    let (pods, events, namespaces) = (
        env_num("REMEDY_BENCH_PODS", 10_000),
        env_num("REMEDY_BENCH_EVENTS", 100_000),
        env_num("REMEDY_BENCH_NAMESPACES", 1_000),
    );
    let runs = env_num("REMEDY_BENCH_RUNS", 3);
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("state.json");
    let mut f = std::fs::File::create(&snapshot).unwrap();
    remedy::bench::generate(
        &mut f,
        &remedy::bench::GenOptions {
            pods,
            events,
            namespaces,
            failing_percent: 10,
        },
    )
    .unwrap();
    drop(f);
    let list: Value = serde_json::from_str(&std::fs::read_to_string(&snapshot).unwrap()).unwrap();
    let items = list["items"].as_array().unwrap().clone();
    drop(list);
    let t = std::time::Instant::now();
    let front = HttpFront::start(Builder::default().openshift().objects(items).token(TOKEN));
    println!(
        "seeded {pods} pods, {events} events, {namespaces} namespaces in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let kc = front.kubeconfig().display().to_string();
    let snap = snapshot.display().to_string();
    let mut live = Vec::new();
    let mut from_file = Vec::new();
    for _ in 0..runs {
        front.api.clear_log();
        live.push(measure(
            &bin,
            &[
                "plan",
                "--kubeconfig",
                &kc,
                "-o",
                "json",
                "--timeout",
                "20m",
                "--request-timeout",
                "10m",
            ],
        ));
        from_file.push(measure(&bin, &["plan", "--snapshot", &snap, "-o", "json"]));
    }
    let log = front.api.log();
    let count = |verb: &str| log.iter().filter(|l| l.verb == verb).count();
    println!(
        "requests of one live plan: {} in all: {} discovery, {} list pages, {} gets",
        log.len(),
        count("discovery"),
        count("list"),
        count("get")
    );
    for (name, r) in [("live (--kubeconfig)", &live), ("snapshot (--snapshot)", &from_file)] {
        println!(
            "{name}: wall {:.2}s, remedy CPU {:.2}s, peak RSS {} MiB (median of {runs})",
            median(r.iter().map(|x| x.0).collect()),
            median(r.iter().map(|x| x.1).collect()),
            median(r.iter().map(|x| x.2 as f64).collect()) as u64 / 1024
        );
    }
}
