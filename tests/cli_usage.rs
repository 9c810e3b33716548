//! What a newcomer meets in the first minutes: the usage without arguments, one-line
//! errors with a hint to `--help`, help text that states each default once, output paths
//! checked before any input is read, the singular summary, and the quickstart's
//! `jq` example printing what the page shows.

#[path = "support/scratch.rs"]
mod scratch;
use scratch::scratch;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_trace-sentinel")
}

fn dataset(name: &str) -> String {
    format!("{}/datasets/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("spawn")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn no_arguments_prints_the_usage_and_the_commands() {
    let out = run(&[], Path::new("."));
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(text.contains("Usage: trace-sentinel <COMMAND>"), "{text}");
    for cmd in ["watch", "scan", "hud"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(cmd)),
            "{cmd} missing from {text}"
        );
    }
    assert!(!text.contains("error:"), "{text}");
}

#[test]
fn flag_errors_are_one_line_ending_with_a_help_hint() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["watch", "--folow", "x.log"],
            "'trace-sentinel watch --help'",
        ),
        (
            &["scan", "--progress", "sometimes", "x.log"],
            "'trace-sentinel scan --help'",
        ),
        (
            &["watch", "x.log", "--format", "yaml"],
            "'trace-sentinel watch --help'",
        ),
        (&["frob"], "'trace-sentinel --help'"),
        (&["watch"], "'trace-sentinel watch --help'"),
        // The binary's own flag checks end the same way.
        (
            &["watch", "--threshold", "-1", "x.log"],
            "'trace-sentinel watch --help'",
        ),
    ];
    for (args, hint) in cases {
        let out = run(args, Path::new("."));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let text = stderr(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {text:?}");
        assert!(lines[0].starts_with("trace-sentinel: error: "), "{text:?}");
        assert!(
            lines[0].ends_with(&format!("; see {hint}")),
            "{args:?}: {text:?}"
        );
    }
    let out = run(&["watch", "--folow", "x.log"], Path::new("."));
    assert!(
        stderr(&out).contains("(tip: a similar argument exists: '--follow')"),
        "{}",
        stderr(&out)
    );
}

/// The option blocks of a `--help` text: each starts at a line declaring a flag.
fn option_blocks(help: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    for line in help.lines() {
        let t = line.trim_start();
        let declares =
            line.starts_with("  ") && !line.starts_with("          ") && t.starts_with('-');
        if declares || blocks.is_empty() {
            blocks.push(String::new());
        }
        if let Some(b) = blocks.last_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    blocks
}

#[test]
fn help_states_each_default_once() {
    for cmd in ["watch", "scan", "hud"] {
        let out = run(&[cmd, "--help"], Path::new("."));
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        for block in option_blocks(&help) {
            assert!(
                block.matches("[default:").count() <= 1,
                "{cmd} --help states a default twice:\n{block}"
            );
        }
        assert!(help.contains("[default: 3.0]"), "{cmd}: threshold default");
    }
    let out = run(&["scan", "--help"], Path::new("."));
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let threads = option_blocks(&help)
        .into_iter()
        .find(|b| b.contains("--threads"))
        .expect("--threads");
    assert!(threads.contains("1 to 1024"), "{threads}");
    assert!(threads.contains("detection"), "{threads}");
}

#[test]
fn one_anomaly_is_reported_in_the_singular() {
    let tmp = scratch("singular");
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&"a".repeat(5 + i % 3));
        text.push('\n');
    }
    text.push_str(&"b".repeat(400));
    text.push('\n');
    std::fs::write(tmp.path().join("one.log"), text).expect("write");
    let out = run(&["watch", "one.log", "--warmup", "5"], tmp.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).ends_with("done — 1 anomaly surfaced\n"),
        "{}",
        stderr(&out)
    );
}

/// An output path that cannot be written stops the run before the input is read: at
/// once, with one line naming the path, and no file left behind.
#[test]
fn unwritable_output_paths_fail_before_reading_input() {
    let tmp = scratch("outputs");
    let dir = tmp.path();
    std::fs::write(dir.join("plainfile"), "x").expect("write");
    // A FIFO nobody writes to: reading it would block forever, so a run that reads its
    // input before checking its outputs hangs instead of failing.
    let fifo = dir.join("input.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let cases: [&[&str]; 6] = [
        &[
            "watch",
            "input.fifo",
            "--save-baseline",
            "/proc/nope/b.json",
        ],
        &["watch", "input.fifo", "--stats-json", "missing-dir/s.json"],
        &["scan", "input.fifo", "--stats-json", "plainfile/s.json"],
        &["scan", "input.fifo", "--save-baseline", "."],
        &["watch", "-f", "input.fifo", "--state", "plainfile"],
        &[
            "watch",
            "-f",
            "input.fifo",
            "--stats-json",
            "/proc/nope/s.json",
        ],
    ];
    for args in cases {
        let started = Instant::now();
        let mut child = Command::new(bin())
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{args:?}: still running: the input was read before the output check");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
            .expect("read");
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err:?}");
        let target = args[args.len() - 1];
        assert!(
            lines[0].contains(&format!("'{target}")),
            "{args:?}: {err:?}"
        );
    }
    let mut left: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["input.fifo", "plainfile"]);
}

/// The quickstart's `jq` example shows exactly what the command prints.
#[test]
fn quickstart_jq_example_matches_the_output() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/quickstart.md"))
        .expect("quickstart");
    let command = "trace-sentinel watch datasets/demo.log --semantic --format json | jq -r .metric | sort | uniq -c";
    let at = doc.find(command).expect("the jq example is on the page");
    let rest = &doc[at..];
    let block = rest
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("its output block");
    let out = Command::new(bin())
        .args([
            "watch",
            &dataset("demo.log"),
            "--semantic",
            "--format",
            "json",
        ])
        .output()
        .expect("spawn");
    assert!(out.status.success());
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        *counts
            .entry(v["metric"].as_str().expect("metric").to_string())
            .or_default() += 1;
    }
    // `uniq -c`: the count right-aligned in seven columns, a space, the line.
    let want: String = counts
        .iter()
        .map(|(m, n)| format!("{n:>7} {m}\n"))
        .collect();
    assert_eq!(block, want);
}

/// Every counter of the `--stats-json` document is documented in docs/cli.md, and
/// `oversized_lines` counts the lines over `--max-line-bytes` in `watch` as in `scan`.
#[test]
fn stats_counters_are_documented() {
    let tmp = scratch("stats-counters");
    let dir = tmp.path();
    let text = format!("short\n{}\nshort again\n", "long ".repeat(40));
    std::fs::write(dir.join("a.log"), text).expect("write");
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md"))
        .expect("cli.md");
    for cmd in ["watch", "scan"] {
        let out = run(
            &[
                cmd,
                "a.log",
                "--max-line-bytes",
                "20",
                "--stats-json",
                "s.json",
            ],
            dir,
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let stats: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("s.json")).expect("stats"))
                .expect("json");
        let counters = stats["counters"].as_object().expect("counters");
        assert_eq!(counters["oversized_lines"], 1, "{cmd}: {stats}");
        for key in counters.keys() {
            assert!(
                doc.contains(&format!("| `{key}` |")),
                "docs/cli.md does not document counters.{key}"
            );
        }
    }
}
