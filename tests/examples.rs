//! Every example in `examples/` builds and runs on the bundled data sets, and prints what
//! it promises.

use std::path::PathBuf;
use std::process::Command;

/// Build (if needed) and run `cargo run --example NAME -- ARGS`; returns (stdout, stderr).
fn run_example(name: &str, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", name, "--"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "example {name} failed:\n{stderr}");
    (stdout, stderr)
}

fn dataset(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn quickstart_matches_the_cli() {
    let (stdout, _) = run_example("quickstart", &[]);
    // `trace-sentinel watch datasets/demo.log --semantic` reports 37 anomalies.
    let cli = Command::new(env!("CARGO_BIN_EXE_trace-sentinel"))
        .args([
            "watch",
            &dataset("demo.log"),
            "--semantic",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let n = String::from_utf8_lossy(&cli.stdout).lines().count();
    assert!(n > 0);
    assert!(
        stdout.contains(&format!("{n} anomalies in 5000 events")),
        "{stdout}"
    );
}

#[test]
fn custom_extractor_scores_the_user_metric() {
    let (stdout, _) = run_example("custom_extractor", &[]);
    assert!(stdout.contains("http.status_class = 5 is"), "{stdout}");
    assert!(stdout.contains("\"http.status_class\""), "{stdout}");
}

#[test]
fn custom_embedder_drives_the_semantic_layer() {
    let (stdout, _) = run_example("custom_embedder", &[]);
    let last = stdout.lines().last().unwrap_or("");
    let n: usize = last
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        n > 0 && last.ends_with("semantically novel lines"),
        "{stdout}"
    );
}

#[test]
fn callback_sink_routes_every_anomaly() {
    let (stdout, stderr) = run_example("callback_sink", &[&dataset("demo.jsonl")]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines.is_empty());
    for l in &lines {
        assert!(l.starts_with("{\"timestamp\": "), "{l}");
    }
    // The callback saw exactly what the JSON sink wrote.
    let counts: Vec<usize> = stderr
        .lines()
        .find(|l| l.starts_with("warning "))
        .unwrap()
        .split(", ")
        .map(|part| part.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), lines.len(), "{stderr}");
    assert!(stderr.contains("PAGE: "), "{stderr}");
}
