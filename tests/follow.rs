//! Behaviour tests of `watch --follow`, `--state`, `--baseline`/`--save-baseline` and
//! `--source`: the real binary on temp files. Tests synchronise on the live
//! `--stats-json` file (rewritten at every checkpoint) and on anomaly output, never on
//! long sleeps.

#[path = "support/logs.rs"]
mod logs;
#[path = "support/scratch.rs"]
mod scratch;
use logs::{append, truncate};
use scratch::scratch;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};
use tempfile::TempDir;

#[path = "support/proc_status.rs"]
mod proc_status;

const TIMEOUT: Duration = Duration::from_secs(20);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_trace-sentinel")
}

/// `n` ordinary lines (their lengths and token counts vary a little).
fn normal(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| {
            let tail = " ok".repeat(i % 3);
            format!(
                "GET /api/items/{} 200 served in {} ms{tail}\n",
                i % 13,
                10 + i % 7
            )
        })
        .collect()
}

/// A line far longer than [`normal`] ones, tagged so its report can be found.
fn spike(tag: &str) -> String {
    format!("SPIKE-{tag} {}\n", "x".repeat(600))
}

/// A running `watch --follow` with JSON output collected from a reader thread.
struct Follow {
    child: Child,
    out: Receiver<String>,
    seen: Vec<Value>,
    stats: PathBuf,
}

impl Follow {
    fn start(dir: &TempDir, stats: &str, args: &[&str]) -> Follow {
        let stats = dir.path().join(stats);
        let _ = std::fs::remove_file(&stats);
        let mut child = Command::new(bin())
            .current_dir(dir.path())
            .args(["watch", "--follow", "--format", "json", "--warmup", "5"])
            .args(["--checkpoint-interval", "20", "--poll-interval", "20"])
            .arg("--stats-json")
            .arg(&stats)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn trace-sentinel");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let f = Follow {
            child,
            out: rx,
            seen: Vec::new(),
            stats,
        };
        // The first checkpoint is written once every file is open.
        f.wait_stats(|_| true);
        f
    }

    fn read_stats(&self) -> Option<Value> {
        let text = std::fs::read_to_string(&self.stats).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn wait_stats(&self, pred: impl Fn(&Value) -> bool) -> Value {
        let t0 = Instant::now();
        loop {
            if let Some(v) = self.read_stats() {
                if pred(&v) {
                    return v;
                }
            }
            assert!(
                t0.elapsed() < TIMEOUT,
                "stats never matched; last: {:?}",
                self.read_stats()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_events(&self, n: u64) -> Value {
        self.wait_stats(|v| v["events"].as_u64() == Some(n))
    }

    fn drain(&mut self) {
        while let Ok(line) = self.out.try_recv() {
            self.seen
                .push(serde_json::from_str(&line).expect("JSON output"));
        }
    }

    /// Wait for a length anomaly whose message starts with `prefix`.
    fn wait_spike(&mut self, prefix: &str) -> Value {
        let t0 = Instant::now();
        loop {
            self.drain();
            if let Some(v) = self
                .spikes()
                .into_iter()
                .find(|v| msg(v).starts_with(prefix))
            {
                return v;
            }
            assert!(
                t0.elapsed() < TIMEOUT,
                "no anomaly for {prefix}: {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Length anomalies seen so far (other metrics, e.g. inter-arrival, are noise here).
    fn spikes(&self) -> Vec<Value> {
        self.seen
            .iter()
            .filter(|v| v["metric"] == "message.length")
            .cloned()
            .collect()
    }

    fn signal(&mut self, sig: &str) -> (ExitStatus, String) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        self.finish()
    }

    fn finish(&mut self) -> (ExitStatus, String) {
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut err).unwrap();
        // The reader thread ends with the pipe.
        let t0 = Instant::now();
        while let Ok(line) = self.out.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(serde_json::from_str(&line).unwrap());
            assert!(t0.elapsed() < TIMEOUT);
        }
        (status, err)
    }

    fn term(&mut self) -> Value {
        let (status, err) = self.signal("-TERM");
        assert_eq!(status.code(), Some(0), "SIGTERM exits 0; stderr: {err}");
        self.read_stats().expect("stats written at exit")
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn msg(v: &Value) -> &str {
    v["message"].as_str().unwrap_or("")
}

fn count_spikes(seen: &[Value], prefix: &str) -> usize {
    seen.iter()
        .filter(|v| v["metric"] == "message.length" && msg(v).starts_with(prefix))
        .count()
}

#[test]
fn append_starts_at_the_end() {
    let d = scratch("follow-append");
    let log = d.path().join("app.log");
    append(&log, &normal(0, 7));
    append(&log, &spike("OLD"));
    let mut f = Follow::start(&d, "stats.json", &["app.log"]);
    append(&log, &normal(0, 20));
    f.wait_events(20);
    append(&log, &spike("A"));
    let a = f.wait_spike("SPIKE-A");
    assert_eq!(a["source"], "app.log");
    let stats = f.term();
    assert_eq!(stats["events"], 21);
    assert_eq!(count_spikes(&f.seen, "SPIKE-OLD"), 0);
    assert_eq!(count_spikes(&f.seen, "SPIKE-A"), 1);
}

#[test]
fn from_start_reads_existing_lines_and_matches_watch() {
    let d = scratch("follow-fromstart");
    let log = d.path().join("app.log");
    let mut text = normal(0, 40);
    text.push_str(&spike("S1"));
    text.push_str(&normal(40, 30));
    text.push_str("tiny\n");
    append(&log, &text);
    let mut f = Follow::start(&d, "stats.json", &["--from-start", "app.log"]);
    f.wait_events(72);
    f.term();
    let watch = Command::new(bin())
        .current_dir(d.path())
        .args(["watch", "app.log", "--format", "json", "--warmup", "5"])
        .output()
        .unwrap();
    let key = |v: &Value| format!("{} {} {}", v["metric"], v["score"], v["message"]);
    let want: Vec<String> = String::from_utf8_lossy(&watch.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| key(&v))
        .collect();
    let got: Vec<String> = f
        .seen
        .iter()
        .filter(|v| v["metric"] != "event.interarrival_s")
        .map(key)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want, "follow and watch share one engine");
}

/// An empty `app.log` in `d` followed with `args` (stats to `stats`), once the follower
/// has seen 30 normal lines appended to it.
fn warm_follow(d: &TempDir, stats: &str, args: &[&str]) -> (PathBuf, Follow) {
    let log = d.path().join("app.log");
    append(&log, "");
    let f = Follow::start(d, stats, args);
    append(&log, &normal(0, 30));
    f.wait_events(30);
    (log, f)
}

#[test]
fn rename_rotation_keeps_late_writes_to_the_old_file() {
    let d = scratch("follow-rename");
    let (log, mut f) = warm_follow(&d, "stats.json", &["app.log", "--rotate-wait", "300"]);
    // The writer still holds the old file when it is renamed away.
    let mut old = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::fs::rename(&log, d.path().join("app.log.1")).unwrap();
    append(&log, &normal(30, 10));
    old.write_all(normal(100, 5).as_bytes()).unwrap();
    old.write_all(spike("LATE").as_bytes()).unwrap();
    append(&log, &spike("NEW"));
    f.wait_spike("SPIKE-LATE");
    f.wait_spike("SPIKE-NEW");
    f.wait_events(47);
    let stats = f.term();
    assert_eq!(stats["events"], 47);
    assert_eq!(count_spikes(&f.seen, "SPIKE-LATE"), 1);
    assert_eq!(count_spikes(&f.seen, "SPIKE-NEW"), 1);
}

#[test]
fn copytruncate_restarts_at_zero() {
    let d = scratch("follow-copytrunc");
    let (log, mut f) = warm_follow(&d, "stats.json", &["app.log"]);
    std::fs::copy(&log, d.path().join("app.log.1")).unwrap();
    truncate(&log);
    append(&log, &normal(30, 3));
    append(&log, &spike("AFTER"));
    f.wait_spike("SPIKE-AFTER");
    f.wait_events(34);
    // Lines written just before a copytruncate the follower had not read yet are
    // recovered from the copy.
    append(&log, &normal(40, 6));
    std::fs::copy(&log, d.path().join("app.log.1")).unwrap();
    truncate(&log);
    append(&log, "short\n");
    let stats = f.wait_events(41);
    assert_eq!(stats["events"], 41);
    assert_eq!(f.term()["events"], 41);
}

#[test]
fn delete_and_recreate() {
    let d = scratch("follow-delete");
    let (log, mut f) = warm_follow(&d, "stats.json", &["app.log", "--rotate-wait", "50"]);
    std::fs::remove_file(&log).unwrap();
    append(&log, &normal(30, 5));
    append(&log, &spike("RECREATED"));
    f.wait_spike("SPIKE-RECREATED");
    assert_eq!(f.term()["events"], 36);
}

#[test]
fn partial_line_waits_for_its_newline() {
    let d = scratch("follow-partial");
    let (log, mut f) = warm_follow(&d, "stats.json", &["app.log"]);
    let size = std::fs::metadata(&log).unwrap().len();
    let line = spike("SPLIT");
    let (a, b) = line.split_at(300);
    append(&log, a);
    // The follower has read the first piece but observed nothing.
    let s = f.wait_stats(|v| v["bytes"].as_u64() == Some(size + 300));
    assert_eq!(s["events"], 30);
    append(&log, b);
    let v = f.wait_spike("SPIKE-SPLIT");
    assert_eq!(msg(&v), line.trim_end());
    assert_eq!(f.term()["events"], 31);
}

#[test]
fn files_created_after_start_and_several_files() {
    let d = scratch("follow-several");
    let a = d.path().join("a.log");
    append(&a, &normal(0, 3));
    let mut f = Follow::start(&d, "stats.json", &["a.log", "b.log", "sub/c.log"]);
    append(&a, &normal(0, 10));
    append(&d.path().join("b.log"), &normal(0, 10));
    std::fs::create_dir(d.path().join("sub")).unwrap();
    append(&d.path().join("sub/c.log"), &normal(0, 10));
    f.wait_events(30);
    append(&a, &spike("A"));
    append(&d.path().join("b.log"), &spike("B"));
    append(&d.path().join("sub/c.log"), &spike("C"));
    assert_eq!(f.wait_spike("SPIKE-A")["source"], "a.log");
    assert_eq!(f.wait_spike("SPIKE-B")["source"], "b.log");
    assert_eq!(f.wait_spike("SPIKE-C")["source"], "c.log");
    assert_eq!(f.term()["events"], 33);
}

#[test]
fn sigterm_then_resume_observes_lines_written_while_down() {
    let d = scratch("follow-resume");
    let log = d.path().join("app.log");
    append(&log, &normal(0, 3));
    let state = ["--state", "st"];
    let mut f = Follow::start(&d, "s1.json", &[&state[..], &["app.log"]].concat());
    append(&log, &normal(0, 20));
    f.wait_events(20);
    append(&log, "half a li");
    f.wait_stats(|v| v["bytes"].as_u64() == Some(normal(0, 20).len() as u64 + 9));
    assert_eq!(f.term()["events"], 20);
    // While stopped: the half line is finished and more lines arrive.
    append(&log, "ne\n");
    append(&log, &spike("DOWN"));
    append(&log, &normal(20, 9));
    let mut g = Follow::start(&d, "s2.json", &[&state[..], &["app.log"]].concat());
    // Baselines were restored: the spike is flagged although this run saw < warmup lines.
    g.wait_spike("SPIKE-DOWN");
    g.wait_events(11);
    let half = g.seen.iter().any(|v| msg(v) == "ne");
    assert!(!half, "the split line is observed whole");
    assert_eq!(g.term()["events"], 11);
    assert_eq!(count_spikes(&f.seen, "SPIKE-DOWN"), 0);
}

#[test]
fn sigkill_loses_no_line() {
    let d = scratch("follow-kill");
    let args = ["--state", "st", "app.log"];
    let (log, mut f) = warm_follow(&d, "s1.json", &args);
    append(&log, &normal(30, 10));
    append(&log, &spike("K1"));
    f.wait_spike("SPIKE-K1");
    append(&log, &normal(50, 7));
    f.child.kill().unwrap();
    f.finish();
    let before = f.read_stats().unwrap()["events"].as_u64().unwrap();
    eprintln!("killed run observed {before}");
    append(&log, &normal(60, 5));
    let mut g = Follow::start(&d, "s2.json", &args);
    let after = g.wait_stats(|v| v["events"].as_u64().unwrap() + before >= 53);
    assert_eq!(
        after["events"].as_u64().unwrap() + before,
        53,
        "each line counted once"
    );
    let stats = g.term();
    assert_eq!(stats["events"].as_u64().unwrap() + before, 53);
    // The reported spike was made durable before it was printed: not reported again.
    assert_eq!(
        count_spikes(&f.seen, "SPIKE-K1") + count_spikes(&g.seen, "SPIKE-K1"),
        1
    );
}

#[test]
fn sigint_exits_130_and_follow_refuses_stdin() {
    let d = scratch("follow-sigint");
    append(&d.path().join("app.log"), "");
    let mut f = Follow::start(&d, "stats.json", &["app.log"]);
    let (status, err) = f.signal("-INT");
    assert_eq!(status.code(), Some(130), "{err}");
    let out = Command::new(bin())
        .args(["watch", "-f", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
}

fn gz(path: &Path, text: &str) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
}

fn run(dir: &TempDir, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .current_dir(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn baseline_from_gz_archives_flags_the_first_line() {
    let d = scratch("follow-baseline");
    append(&d.path().join("a.log"), &normal(0, 40));
    gz(&d.path().join("b.log.gz"), &normal(40, 40));
    let out = run(
        &d,
        &[
            "scan",
            "a.log",
            "b.log.gz",
            "--semantic",
            "--warmup",
            "5",
            "--save-baseline",
            "base.json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    append(
        &d.path().join("new.log"),
        "kernel: segfault at 0000 ip 7f3a error 4 in libc.so.6\n",
    );
    let out = run(
        &d,
        &[
            "watch",
            "new.log",
            "--semantic",
            "--warmup",
            "5",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let got = json_lines(&out);
    assert!(
        got.iter()
            .any(|v| v["metric"] == "message.semantic_novelty"),
        "{got:?}"
    );
    // The same through follow mode, on a file created after start.
    let mut f = Follow::start(
        &d,
        "stats.json",
        &["--semantic", "--baseline", "base.json", "live.log"],
    );
    append(&d.path().join("live.log"), &spike("FIRST"));
    f.wait_spike("SPIKE-FIRST");
    f.term();
}

#[test]
fn source_label_seeds_the_shard_watch_uses() {
    let d = scratch("follow-source");
    append(&d.path().join("app.log.1"), &normal(0, 30));
    gz(&d.path().join("app.log.2.gz"), &normal(30, 30));
    let out = run(
        &d,
        &[
            "scan",
            "app.log.1",
            "app.log.2.gz",
            "--source",
            "app.log",
            "--save-baseline",
            "b.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let snap: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("b.json")).unwrap()).unwrap();
    let names: Vec<&str> = snap["detectors"]["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["app.log"]);
    assert_eq!(snap["detectors"]["shards"][0]["shard"]["events"], 60);
    append(&d.path().join("app.log"), &spike("ONE"));
    let out = run(
        &d,
        &[
            "watch",
            "app.log",
            "--baseline",
            "b.json",
            "--format",
            "json",
        ],
    );
    let got = json_lines(&out);
    assert!(
        got.iter().any(|v| v["metric"] == "message.length"),
        "{got:?}"
    );
    assert!(got.iter().all(|v| v["source"] == "app.log"));
    // A baseline saved by watch loads in scan too.
    let out = run(&d, &["watch", "app.log.1", "--save-baseline", "w.json"]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(
        &d,
        &[
            "scan",
            "app.log",
            "--baseline",
            "w.json",
            "--source",
            "app.log.1",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn bad_snapshots_exit_2_with_one_line() {
    let d = scratch("follow-badsnap");
    append(&d.path().join("a.log"), &normal(0, 20));
    let out = run(&d, &["scan", "a.log", "--save-baseline", "good.json"]);
    assert_eq!(out.status.code(), Some(0));
    let good = std::fs::read_to_string(d.path().join("good.json")).unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("truncated", good[..good.len() / 2].to_string()),
        ("garbage", "\u{0}\u{1}not json".into()),
        ("empty", String::new()),
        ("future", good.replace("\"version\":1", "\"version\":2")),
        (
            "wrongkind",
            good.replace("\"kind\":\"baseline\"", "\"kind\":\"follow-state\""),
        ),
        ("stats", "{\"events\": 3}".into()),
    ];
    for (name, text) in &cases {
        std::fs::write(d.path().join(name), text).unwrap();
        for cmd in ["watch", "scan"] {
            let out = run(&d, &[cmd, "a.log", "--baseline", name]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} {name}: {err}");
            assert_eq!(err.lines().count(), 1, "{cmd} {name}: {err}");
            assert!(err.contains(name), "{err}");
        }
    }
    let out = run(&d, &["watch", "a.log", "--baseline", "missing.json"]);
    assert_eq!(out.status.code(), Some(2));
    for flags in [
        &["--detector", "mad"][..],
        &["--semantic"],
        &["--warmup", "7"],
    ] {
        let out = run(
            &d,
            &[&["watch", "a.log", "--baseline", "good.json"], flags].concat(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        assert!(err.contains("different detector flags"), "{err}");
    }
    // A corrupt or foreign state file is refused the same way.
    std::fs::create_dir(d.path().join("st")).unwrap();
    for text in [&good[..good.len() / 3], good.as_str()] {
        std::fs::write(d.path().join("st/follow-state.json"), text).unwrap();
        let out = run(&d, &["watch", "-f", "a.log", "--state", "st"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn restart_during_rotation_still_drains_the_renamed_file() {
    let d = scratch("follow-rotrestart");
    let args = ["--state", "st", "--rotate-wait", "10000", "app.log"];
    let (log, mut f) = warm_follow(&d, "s1.json", &args);
    let mut old = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::fs::rename(&log, d.path().join("app.log.1")).unwrap();
    append(&log, &normal(30, 5));
    f.wait_events(35);
    assert_eq!(f.term()["events"], 35);
    // While stopped: late writes to the renamed file and new lines in the new one.
    old.write_all(normal(100, 4).as_bytes()).unwrap();
    append(&log, &normal(40, 3));
    let mut g = Follow::start(&d, "s2.json", &args);
    g.wait_events(7);
    assert_eq!(g.term()["events"], 7);
}

#[test]
fn an_over_long_line_is_measured_whole_and_kept_short() {
    let d = scratch("follow-longline");
    let (log, mut f) = warm_follow(&d, "stats.json", &["--max-line-bytes", "64", "app.log"]);
    // 64 MiB of one line that stays unfinished for a while: only the cap is kept.
    let head = "SPIKE-LONG ".to_string();
    append(&log, &head);
    let piece = "abcdefgh ".repeat(1 << 16);
    let pieces = (64 << 20) / piece.len();
    for _ in 0..pieces {
        append(&log, &piece);
    }
    let size = std::fs::metadata(&log).unwrap().len();
    let s = f.wait_stats(|v| v["bytes"].as_u64() == Some(size));
    assert_eq!(s["events"], 30, "the line is not finished yet");
    let peak = proc_status::status_bytes(f.child.id(), "VmHWM").expect("VmHWM of a live process");
    assert!(
        peak < 40 << 20,
        "peak RSS {} KiB while holding a 64 MiB line",
        peak >> 10
    );
    append(&log, "END\n");
    let v = f.wait_spike("SPIKE-LONG");
    let whole = head.len() + pieces * piece.len() + 3;
    assert_eq!(v["value"].as_f64(), Some(whole as f64));
    assert_eq!(msg(&v).len(), 64);
    let (status, err) = f.signal("-TERM");
    assert_eq!(status.code(), Some(0));
    assert!(
        err.contains("note: 1 line(s) longer than --max-line-bytes 64"),
        "{err}"
    );
    // `watch` on the finished file reports the same line the same way.
    let watch = run(
        &d,
        &[
            "watch",
            "app.log",
            "--format",
            "json",
            "--warmup",
            "5",
            "--max-line-bytes",
            "64",
        ],
    );
    let want: Vec<Value> = json_lines(&watch)
        .into_iter()
        .filter(|w| w["metric"] == "message.length" && msg(w).starts_with("SPIKE-LONG"))
        .collect();
    assert_eq!(want.len(), 1);
    assert_eq!(want[0]["value"], v["value"]);
    assert_eq!(want[0]["message"], v["message"]);
}

/// `watch -f` on a path that does not exist yet says so at once and again while it is
/// missing, after one start line naming what is followed, from where, and the state.
#[test]
fn following_a_missing_path_says_so_and_keeps_saying_it() {
    let dir = scratch("follow-missing");
    let state = dir.path().join("st");
    let mut child = Command::new(bin())
        .current_dir(dir.path())
        .args(["watch", "-f", "later.log", "--warmup", "5", "--state"])
        .arg(&state)
        .args(["--missing-notice-interval", "150", "--poll-interval", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trace-sentinel");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| -> String {
        rx.recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("no stderr line: waiting for {what}"))
    };
    let start = next("the start line");
    assert_eq!(
        start,
        format!(
            "trace-sentinel: following later.log (not there yet, read from its start once created); state in {}",
            state.display()
        )
    );
    for i in 0..3 {
        let line = next("a missing-path notice");
        assert_eq!(
            line,
            "trace-sentinel: note: later.log: does not exist (yet); waiting for it to be created",
            "notice {i}"
        );
    }
    append(&dir.path().join("later.log"), "first line\n");
    loop {
        let line = next("the path's appearance");
        if line.contains("now exists") {
            assert_eq!(
                line,
                "trace-sentinel: note: later.log: now exists; reading it"
            );
            break;
        }
        assert!(line.contains("does not exist"), "{line}");
    }
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// A run killed while writing a checkpoint leaves `.follow-state.json.tmp.<pid>` behind,
/// as large as the state: the next start removes every such file whose process is gone
/// and says so, and keeps the one of a process that is still running.
#[test]
fn stale_checkpoint_temporaries_are_removed_on_start() {
    let d = scratch("follow-stale-tmp");
    let st = d.path().join("st");
    std::fs::create_dir_all(&st).unwrap();
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let mut live = Command::new("sleep").arg("60").spawn().unwrap();
    let stale = st.join(format!(".follow-state.json.tmp.{dead}"));
    let busy = st.join(format!(".follow-state.json.tmp.{}", live.id()));
    std::fs::write(&stale, "x".repeat(4096)).unwrap();
    std::fs::write(&busy, "y").unwrap();
    let log = d.path().join("app.log");
    append(&log, &normal(0, 3));
    let mut f = Follow::start(&d, "s1.json", &["--state", "st", "app.log"]);
    let (status, err) = f.signal("-TERM");
    let _ = live.kill();
    let _ = live.wait();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!stale.exists(), "the dead run's temporary is removed");
    assert!(busy.exists(), "a live process's temporary is kept");
    assert!(
        err.lines()
            .any(|l| l.starts_with("trace-sentinel: note: removed ")
                && l.contains(&format!(".follow-state.json.tmp.{dead}"))),
        "{err}"
    );
    let left: Vec<String> = std::fs::read_dir(&st)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

/// Files of the state directory whose names start with `prefix`, with their sizes.
fn state_files(dir: &Path, prefix: &str) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            (e.file_name().to_string_lossy().into_owned(), len)
        })
        .filter(|(n, _)| n.starts_with(prefix))
        .collect();
    v.sort();
    v
}

/// A checkpoint costs what changed since the one before: with 300 sources in the state,
/// a line of one source writes a delta of that shard and the positions, not the whole
/// state; a SIGKILL then loses nothing (the base and its deltas reload), and a clean stop
/// leaves one compacted file.
#[test]
fn checkpoints_write_what_changed_not_the_whole_state() {
    let d = scratch("follow-delta");
    let log = d.path().join("events.jsonl");
    let line = |s: usize, i: usize| {
        let attrs: String = (0..6)
            .map(|k| format!(", \"k{k}\": {}", 10 + (i + k) % 3))
            .collect();
        format!("{{\"source\": \"svc{s}\", \"message\": \"tick {i}\"{attrs}}}\n")
    };
    let mut text = String::new();
    for s in 0..300 {
        for i in 0..3 {
            text.push_str(&line(s, i));
        }
    }
    append(&log, &text);
    let args = ["--jsonl", "--from-start", "--state", "st", "events.jsonl"];
    let mut f = Follow::start(&d, "s1.json", &args);
    f.wait_events(900);
    let st = d.path().join("st");
    for i in 0..3 {
        append(&log, &line(7, 10 + i));
        f.wait_events(901 + i as u64);
    }
    // The stats are switched in with the state: once they count a line, its delta is there.
    let deltas = state_files(&st, "follow-state.delta-");
    assert!(!deltas.is_empty(), "no delta: {:?}", state_files(&st, ""));
    // The base the deltas apply to holds all 300 shards.
    let base = state_files(&st, "follow-state.json")[0].1;
    let biggest = deltas.iter().map(|(_, n)| *n).max().unwrap();
    assert!(
        biggest * 30 < base,
        "a one-line delta of {biggest} bytes against a base of {base}: {deltas:?}"
    );
    f.child.kill().unwrap();
    f.finish();
    let before = f.read_stats().unwrap()["events"].as_u64().unwrap();
    assert_eq!(before, 903);
    append(&log, &line(8, 20));
    let mut g = Follow::start(&d, "s2.json", &["--jsonl", "--state", "st", "events.jsonl"]);
    g.wait_events(1);
    assert_eq!(g.term()["events"], 1, "each line once across the kill");
    assert_eq!(
        state_files(&st, "follow-state")
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>(),
        ["follow-state.json"],
        "a clean stop compacts"
    );
}
