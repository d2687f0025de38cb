//! `cargo bench --bench plan`: wall time and peak memory of `remedy plan` on a synthetic
//! snapshot, next to `jq empty` (which only parses the file) on the same file.
//!
//! Sizes come from the environment so a smaller run is one variable away:
//! `REMEDY_BENCH_PODS` (10000), `REMEDY_BENCH_EVENTS` (100000), `REMEDY_BENCH_NAMESPACES` (1000),
//! `REMEDY_BENCH_RUNS` (5). Each command runs in its own process under `/usr/bin/time`, so the
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

fn run() -> Result<(), String> {
    let remedy = env!("CARGO_BIN_EXE_remedy");
    let (pods, events, namespaces) = (
        env_num("REMEDY_BENCH_PODS", 10_000),
        env_num("REMEDY_BENCH_EVENTS", 100_000),
        env_num("REMEDY_BENCH_NAMESPACES", 1_000),
    );
    let runs = env_num("REMEDY_BENCH_RUNS", 5).max(1);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let snap = dir.join(format!("bench-{pods}p-{events}e-{namespaces}n.json"));
    let snap_s = snap.to_str().ok_or("target dir is not UTF-8")?;
    let gen_status = Command::new(remedy)
        .args(["gen-snapshot", "--out", snap_s])
        .args(["--pods", &pods.to_string(), "--events", &events.to_string()])
        .args(["--namespaces", &namespaces.to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    if !gen_status.success() {
        return Err("gen-snapshot failed".into());
    }
    let size_mib = std::fs::metadata(&snap).map_err(|e| e.to_string())?.len() as f64 / (1024.0 * 1024.0);
    // `remedy plan` exits 2 or 3 on this snapshot: it has findings.
    let plan = series(&[remedy, "plan", "--snapshot", snap_s, "-o", "json"], &[0, 2, 3], runs)?;
    let jq = series(&["jq", "empty", snap_s], &[0], runs);

    println!("snapshot   {pods} pods, {events} events, {namespaces} namespaces: {size_mib:.1} MiB ({snap_s})");
    println!("runs       {runs} each, after one warm-up run");
    println!("| command | median wall | min wall | peak RSS | peak RSS / snapshot size |");
    println!("|---|---|---|---|---|");
    let row = |name: &str, s: &Summary| {
        println!(
            "| {name} | {:.2} s | {:.2} s | {:.0} MiB | {:.2}x |",
            s.median_s,
            s.min_s,
            s.peak_mib,
            s.peak_mib / size_mib
        );
    };
    row("remedy plan -o json", &plan);
    match &jq {
        Ok(jq) => {
            row("jq empty (parse only)", jq);
            let faster = plan.median_s < jq.median_s;
            println!(
                "target     faster than jq: {} ({:.2}x jq's time)",
                if faster { "met" } else { "MISSED" },
                plan.median_s / jq.median_s
            );
        }
        Err(e) => println!("jq         not measured: {e}"),
    }
    let ratio = plan.peak_mib / size_mib;
    println!(
        "target     peak memory under 3x the snapshot: {} ({ratio:.2}x)",
        if ratio < 3.0 { "met" } else { "MISSED" }
    );
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
