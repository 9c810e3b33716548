//! `scan` prints exactly what `watch` prints, whatever the thread count and chunking.
//!
//! Every golden case, and generated inputs whose chunk boundaries (forced tiny with the
//! hidden `--chunk-size`) fall inside CRLF pairs, multi-byte characters, invalid UTF-8
//! and over-long lines, is run through `watch` and through `scan --threads 1, 2, 3, 7`;
//! standard output must match line for line. Anomalies of events without a timestamp
//! are stamped with the wall clock, so those timestamps are only checked to be "now".

#[path = "support/scratch.rs"]
mod scratch;
use scratch::scratch;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

const THREADS: [&str; 4] = ["1", "2", "3", "7"];

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_trace-sentinel")
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Epoch seconds of `YYYY-MM-DDTHH:MM:SS...` (UTC), or `None` if it is not that shape.
fn epoch_of(ts: &str) -> Option<i64> {
    let b = ts.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Stdout lines with every wall-clock timestamp (within the run's window) replaced by
/// `<now>`; a JSON line starts with its timestamp field.
fn normalise(stdout: &[u8], started: i64, ended: i64) -> Vec<String> {
    const KEY: &str = "{\"timestamp\": \"";
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| {
            let Some(rest) = line.strip_prefix(KEY) else {
                return line.to_string();
            };
            let Some(end) = rest.find('"') else {
                return line.to_string();
            };
            match epoch_of(&rest[..end]) {
                Some(t) if (started - 2..=ended + 2).contains(&t) => {
                    format!("{KEY}<now>{}", &rest[end..])
                }
                _ => line.to_string(),
            }
        })
        .collect()
}

struct Run {
    code: Option<i32>,
    lines: Vec<String>,
    stderr: String,
}

fn run(dir: &Path, args: &[String], stdin: Option<&[u8]>) -> Run {
    let started = unix_now();
    let mut cmd = Command::new(bin());
    cmd.current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin()));
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(data).expect("write stdin");
    }
    let out: Output = child.wait_with_output().expect("wait");
    Run {
        code: out.status.code(),
        lines: normalise(&out.stdout, started, unix_now()),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run `watch ARGS` once and `scan ARGS --threads T --chunk-size C` for every T and C;
/// each scan must equal the watch run.
fn assert_scan_equals_watch(dir: &Path, what: &str, args: &[String], chunks: &[usize]) {
    let mut watch_args = vec!["watch".to_string()];
    watch_args.extend_from_slice(args);
    let expected = run(dir, &watch_args, None);
    assert_eq!(
        expected.code,
        Some(0),
        "{what}: watch failed: {}",
        expected.stderr
    );
    for threads in THREADS {
        for chunk in chunks {
            let mut scan_args = vec!["scan".to_string()];
            scan_args.extend_from_slice(args);
            scan_args.extend(
                ["--threads", threads, "--chunk-size", &chunk.to_string()].map(String::from),
            );
            scan_args.extend(["--progress", "never"].map(String::from));
            let got = run(dir, &scan_args, None);
            assert_eq!(got.code, Some(0), "{what}: {scan_args:?}: {}", got.stderr);
            if got.lines != expected.lines {
                let first = got
                    .lines
                    .iter()
                    .zip(&expected.lines)
                    .position(|(a, b)| a != b)
                    .unwrap_or(got.lines.len().min(expected.lines.len()));
                panic!(
                    "{what}: scan {scan_args:?} differs from watch at line {first} \
                     ({} vs {} lines)\n  scan:  {:?}\n  watch: {:?}",
                    got.lines.len(),
                    expected.lines.len(),
                    got.lines.get(first).map(|l| excerpt(l)),
                    expected.lines.get(first).map(|l| excerpt(l))
                );
            }
        }
    }
}

/// The start of a long line, for readable failures.
fn excerpt(line: &str) -> String {
    match line.char_indices().nth(400) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// Assert equal output lines, reporting only the first difference.
fn assert_same_lines(got: &[String], expected: &[String], what: &str) {
    if let Some(i) = (0..got.len().max(expected.len())).find(|&i| got.get(i) != expected.get(i)) {
        panic!(
            "{what}: first difference at line {i} ({} vs {} lines)\n  got:      {:?} … {:?}\n  expected: {:?} … {:?}",
            got.len(),
            expected.len(),
            got.get(i).map(|l| excerpt(l)),
            got.get(i).map(|l| tail_of(l)),
            expected.get(i).map(|l| excerpt(l)),
            expected.get(i).map(|l| tail_of(l))
        );
    }
}

/// The end of a long line (where the `line` key is), for readable failures.
fn tail_of(line: &str) -> &str {
    let n = line.chars().count();
    match line.char_indices().nth(n.saturating_sub(80)) {
        Some((i, _)) => &line[i..],
        None => line,
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
}

#[test]
fn scan_equals_watch_on_every_golden_case() {
    let dir = golden_dir();
    let mut cases = 0;
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/golden exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "args"))
        .collect();
    names.sort();
    for args_path in names {
        let name = args_path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("case name")
            .to_string();
        let input = ["log", "jsonl"]
            .iter()
            .map(|ext| format!("{name}.{ext}"))
            .find(|f| dir.join(f).is_file())
            .unwrap_or_else(|| panic!("case {name}: no input"));
        let extra = std::fs::read_to_string(&args_path).expect("args file");
        let mut args = vec![input, "--format".into(), "json".into()];
        args.extend(extra.split_whitespace().map(String::from));
        assert_scan_equals_watch(&dir, &name, &args, &[1, 97, 1 << 20]);
        cases += 1;
    }
    assert!(cases >= 20, "only {cases} golden cases found");
}

/// Deterministic xorshift generator for the awkward inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const ENDINGS: [&[u8]; 4] = [b"\n", b"\r\n", b"\r", b"\n\n"];

/// Plain text with every awkward case: CRLF and lone CR endings, blank and
/// whitespace-only lines, uppercase, control bytes, multi-byte characters, invalid UTF-8,
/// lines longer than the chunk and the line cap, spikes, and no final newline.
fn awkward_text(seed: u64, ascii_only: bool) -> Vec<u8> {
    let mut rng = Rng(seed);
    let words: &[&[u8]] = if ascii_only {
        &[
            b"GET",
            b"user=bob",
            b"status=200",
            b"\t",
            b"ERROR",
            b"db-01",
            b"x_y",
            b"\x7f",
        ]
    } else {
        &[
            b"GET",
            b"caf\xc3\xa9",
            b"\xe6\x97\xa5\xe6\x9c\xac",
            b"\xf0\x9f\x98\x80",
            b"\xff\xfe",
            b"status=200",
            b"\xc3",
            b"ERROR",
        ]
    };
    let mut out = Vec::new();
    for i in 0..600 {
        let n = match i % 97 {
            13 => 400,  // a spike
            50 => 3000, // longer than the 2 KiB line cap
            _ => 3 + rng.below(8) as usize,
        };
        for w in 0..n {
            if w > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(words[rng.below(words.len() as u64) as usize]);
            if rng.below(5) == 0 {
                out.extend_from_slice(rng.below(100_000).to_string().as_bytes());
            }
        }
        if i % 41 == 7 {
            out.extend_from_slice(b"   ");
        }
        out.extend_from_slice(ENDINGS[rng.below(ENDINGS.len() as u64) as usize]);
    }
    out.extend_from_slice(b"last line without a newline");
    out
}

/// JSON lines with sources, timestamps, numeric attributes, escapes, multi-byte text and
/// CRLF endings. Every event carries its timestamp: an event without one (or a line that
/// is not JSON) is stamped with the wall clock, which makes inter-arrival times differ
/// from run to run.
fn awkward_jsonl(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for i in 0..500u64 {
        let src = ["api", "db", "caf\u{e9}", "\u{65e5}"][rng.below(4) as usize];
        let latency = if i % 83 == 60 {
            9000
        } else {
            100 + rng.below(20)
        };
        let msg = match rng.below(4) {
            0 => "request done \\\"quoted\\\" caf\u{e9}".to_string(),
            1 => format!("user {} logged in \\u00e9\\ud83d\\ude00", rng.below(50)),
            2 => "x".repeat(1 + rng.below(1500) as usize),
            _ => "ERROR \u{1F600} disk".to_string(),
        };
        let line = {
            format!(
                "{{\"timestamp\": \"2024-03-0{}T10:{:02}:{:02}Z\", \"source\": \"{src}\", \
                 \"message\": \"{msg}\", \"latency_ms\": {latency}, \"bytes\": {}}}",
                1 + i / 400,
                (i / 60) % 60,
                i % 60,
                rng.below(5000)
            )
        };
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(ENDINGS[rng.below(3) as usize]);
    }
    out
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn scan_equals_watch_with_boundaries_inside_awkward_bytes() {
    let tmp = scratch("scan-awkward");
    let dir = tmp.path();
    std::fs::write(dir.join("ascii.log"), awkward_text(7, true)).expect("write");
    std::fs::write(dir.join("mixed.log"), awkward_text(11, false)).expect("write");
    std::fs::write(dir.join("events.jsonl"), awkward_jsonl(13)).expect("write");
    let chunks = [1, 2, 3, 7, 64, 1000];
    for file in ["ascii.log", "mixed.log"] {
        for extra in [&[][..], &["--semantic"][..], &["--detector", "mad"][..]] {
            let mut args = strings(&[file, "--format", "json", "--warmup", "5"]);
            args.extend(strings(&["--max-line-bytes", "2048"]));
            args.extend(strings(extra));
            assert_scan_equals_watch(dir, file, &args, &chunks);
        }
    }
    for extra in [&[][..], &["--semantic", "--shard-by", "source"][..]] {
        let mut args = strings(&["events.jsonl", "--jsonl", "--format", "json"]);
        args.extend(strings(&["--warmup", "5", "--max-line-bytes", "2048"]));
        args.extend(strings(extra));
        assert_scan_equals_watch(dir, "events.jsonl", &args, &chunks);
    }
}

/// Lines of one to six bytes (and some empty ones, CRLF and lone CR endings, and with
/// `non_ascii` now and then a non-ASCII line): a 1 MiB chunk of them holds several times
/// the per-chunk line cap, which the extractor enforces by handing back the rest of the
/// chunk as a next piece — after counting line breaks, or (all ASCII) inside the span
/// kernel.
fn tiny_lines(seed: u64, lines: usize, non_ascii: bool) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for _ in 0..lines {
        let r = rng.next();
        match r % 50 {
            0 if non_ascii => out.extend_from_slice("é".as_bytes()),
            1 => {}
            _ => {
                let len = 1 + (r >> 8) % 6;
                for k in 0..len {
                    out.push(b"ab9 x=1z"[((r >> (12 + 3 * k)) % 8) as usize]);
                }
            }
        }
        out.extend_from_slice(match (r >> 40) % 10 {
            0 => b"\r\n",
            1 => b"\r",
            _ => b"\n",
        });
    }
    out
}

#[test]
fn scan_equals_watch_when_a_chunk_holds_more_lines_than_the_cap() {
    let tmp = scratch("scan-tiny");
    let dir = tmp.path();
    for non_ascii in [true, false] {
        let bytes = tiny_lines(0x2545_f491_4f6c_dd1d, 230_000, non_ascii);
        assert!(bytes.len() < 1 << 20, "one default chunk holds them all");
        assert_eq!(bytes.is_ascii(), !non_ascii);
        std::fs::write(dir.join("tiny.log"), &bytes).expect("write");
        for extra in [&[][..], &["--semantic"][..]] {
            let mut args = strings(&["tiny.log", "--format", "json", "--warmup", "5"]);
            args.extend(strings(extra));
            assert_scan_equals_watch(dir, "tiny.log", &args, &[1 << 20, 300_000]);
        }
    }
}

/// `bytes` gzip-compressed.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use flate2::{write::GzEncoder, Compression};
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

/// `lines` with the source label `from` replaced by `a.log`.
fn relabel(lines: &[String], from: &str) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.replace(&format!("\"source\": \"{from}\""), "\"source\": \"a.log\""))
        .collect()
}

#[test]
fn streamed_inputs_equal_watch_on_the_same_bytes() {
    let tmp = scratch("scan-streams");
    let dir = tmp.path();
    let text = awkward_text(17, false);
    std::fs::write(dir.join("a.log"), &text).expect("write");
    std::fs::write(dir.join("a.log.gz"), gzip(&text)).expect("write");
    // A line cap below the chunk size: the end of a stream holds many lines longer in
    // total than the cap, which must not be mistaken for one over-long line.
    let cap = ["--max-line-bytes", "2048"];
    let mut watch_args = strings(&["watch", "a.log", "--format", "json", "--semantic"]);
    watch_args.extend(strings(&cap));
    let watch = run(dir, &watch_args, None);
    assert_eq!(watch.code, Some(0), "{}", watch.stderr);
    assert!(watch.lines.len() > 5, "the input should raise anomalies");
    // watch reads stdin through its own streaming reader: same answer.
    let mut watch_stdin = strings(&["watch", "-", "--format", "json", "--semantic"]);
    watch_stdin.extend(strings(&cap));
    let piped_watch = run(dir, &watch_stdin, Some(&text));
    assert_eq!(piped_watch.code, Some(0), "{}", piped_watch.stderr);
    assert_same_lines(
        &relabel(&piped_watch.lines, "<stdin>"),
        &watch.lines,
        "watch -",
    );
    for threads in THREADS {
        for chunk in ["3", "4096", "1048576"] {
            let common = [
                "--format",
                "json",
                "--semantic",
                "--progress",
                "never",
                cap[0],
                cap[1],
            ];
            let knobs = ["--threads", threads, "--chunk-size", chunk];
            // gzip is streamed; its source label is the path, like watch's.
            let mut gz_args = strings(&["scan", "a.log.gz"]);
            gz_args.extend(strings(&common));
            gz_args.extend(strings(&knobs));
            let gz_run = run(dir, &gz_args, None);
            assert_eq!(gz_run.code, Some(0), "{}", gz_run.stderr);
            assert_same_lines(
                &relabel(&gz_run.lines, "a.log.gz"),
                &watch.lines,
                &format!("gz {knobs:?}"),
            );
            let mut stdin_args = strings(&["scan", "-"]);
            stdin_args.extend(strings(&common));
            stdin_args.extend(strings(&knobs));
            let piped = run(dir, &stdin_args, Some(&text));
            assert_eq!(piped.code, Some(0), "{}", piped.stderr);
            assert_same_lines(
                &relabel(&piped.lines, "<stdin>"),
                &watch.lines,
                &format!("stdin {knobs:?}"),
            );
        }
    }
}

#[test]
fn gzip_without_the_extension_and_on_stdin_reads_as_text() {
    let tmp = scratch("scan-gzip-sniff");
    let dir = tmp.path();
    let text = awkward_text(29, false);
    std::fs::write(dir.join("a.log"), &text).expect("write");
    let gz = gzip(&text);
    // A rotated archive without the `.gz` extension.
    std::fs::write(dir.join("a.log.1"), &gz).expect("write");
    let flags = ["--format", "json", "--semantic"];
    let with = |head: &[&str]| -> Vec<String> {
        let mut v = strings(head);
        v.extend(strings(&flags));
        if head[0] == "scan" {
            v.extend(strings(&["--progress", "never"]));
        }
        v
    };
    let plain = run(dir, &with(&["scan", "a.log", "--threads", "2"]), None);
    assert_eq!(plain.code, Some(0), "{}", plain.stderr);
    assert!(plain.lines.len() > 5, "the input should raise anomalies");
    for cmd in [
        &["scan", "a.log.1", "--threads", "1"][..],
        &["scan", "a.log.1", "--threads", "2"],
        &["watch", "a.log.1"],
    ] {
        let r = run(dir, &with(cmd), None);
        assert_eq!(r.code, Some(0), "{cmd:?}: {}", r.stderr);
        assert_same_lines(
            &relabel(&r.lines, "a.log.1"),
            &plain.lines,
            &format!("{cmd:?}"),
        );
    }
    for cmd in [&["scan", "-", "--threads", "2"][..], &["watch", "-"]] {
        let r = run(dir, &with(cmd), Some(&gz));
        assert_eq!(r.code, Some(0), "{cmd:?}: {}", r.stderr);
        assert_same_lines(
            &relabel(&r.lines, "<stdin>"),
            &plain.lines,
            &format!("{cmd:?} < gzip"),
        );
    }
    // A FIFO carrying gzip (process substitution, a named pipe) is sniffed the same way.
    #[cfg(unix)]
    for cmd in [&["scan", "fifo", "--threads", "2"][..], &["watch", "fifo"]] {
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let bytes = gz.clone();
        let writer = std::thread::spawn(move || std::fs::write(&fifo, bytes).expect("fifo"));
        let r = run(dir, &with(cmd), None);
        writer.join().expect("writer");
        assert_eq!(r.code, Some(0), "{cmd:?}: {}", r.stderr);
        assert_same_lines(
            &relabel(&r.lines, "fifo"),
            &plain.lines,
            &format!("{cmd:?} fifo"),
        );
    }
    // Corrupt gzip: a one-line error naming the input, exit 2.
    let bad = run(dir, &with(&["scan", "-"]), Some(b"\x1f\x8bnot gzip"));
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("'-'"), "{}", bad.stderr);
    assert_eq!(bad.stderr.trim_end().lines().count(), 1, "{}", bad.stderr);
}

#[test]
fn several_paths_are_one_stream_in_command_line_order() {
    let tmp = scratch("scan-paths");
    let dir = tmp.path();
    let (a, b, c) = (
        awkward_text(21, true),
        awkward_text(22, false),
        awkward_text(23, true),
    );
    std::fs::write(dir.join("a.log"), &a).expect("write");
    std::fs::write(dir.join("b.log.gz"), gzip(&b)).expect("write");
    std::fs::write(dir.join("c.log"), &c).expect("write");
    // One file holding the three, each ending its last line.
    let mut all = Vec::new();
    for part in [&a, &b, &c] {
        all.extend_from_slice(part);
        all.push(b'\n');
    }
    std::fs::write(dir.join("all.log"), &all).expect("write");
    let common = ["--format", "json", "--warmup", "5", "--progress", "never"];
    for threads in ["1", "2", "7"] {
        // Per-source shards (the default): each file is its own source, so the run is
        // the three single-file runs one after the other.
        let mut args = strings(&["scan", "a.log", "b.log.gz", "c.log", "--threads", threads]);
        args.extend(strings(&common));
        let got = run(dir, &args, None);
        assert_eq!(got.code, Some(0), "{}", got.stderr);
        let mut expected = Vec::new();
        for file in ["a.log", "b.log.gz", "c.log"] {
            let one = run(
                dir,
                &strings(&["watch", file, "--format", "json", "--warmup", "5"]),
                None,
            );
            assert_eq!(one.code, Some(0), "{}", one.stderr);
            expected.extend(one.lines);
        }
        assert!(expected.len() > 10, "the inputs should raise anomalies");
        assert_same_lines(
            &got.lines,
            &expected,
            &format!("three paths, threads {threads}"),
        );
        // One shared shard: the same as one file holding the three, up to the labels.
        args.extend(strings(&["--shard-by", "none"]));
        let shared = run(dir, &args, None);
        assert_eq!(shared.code, Some(0), "{}", shared.stderr);
        let mut whole = strings(&["watch", "all.log", "--shard-by", "none"]);
        whole.extend(strings(&["--format", "json", "--warmup", "5"]));
        let whole = run(dir, &whole, None);
        // (Line numbers restart with each file of the three: the run above checks them.)
        let unlabel = |lines: &[String]| -> Vec<String> {
            lines
                .iter()
                .map(|l| {
                    let l = match l.rfind(", \"line\": ") {
                        Some(i) => format!("{}}}", &l[..i]),
                        None => l.clone(),
                    };
                    ["a.log", "b.log.gz", "c.log", "all.log"]
                        .iter()
                        .fold(l, |l, f| {
                            l.replace(&format!("\"source\": \"{f}\""), "\"source\": \"*\"")
                        })
                })
                .collect()
        };
        assert_same_lines(
            &unlabel(&shared.lines),
            &unlabel(&whole.lines),
            &format!("--shard-by none, threads {threads}"),
        );
    }
}

#[test]
fn progress_bar_only_when_asked_or_on_a_terminal() {
    let tmp = scratch("scan-progress");
    let dir = tmp.path();
    std::fs::write(dir.join("a.log"), awkward_text(31, true)).expect("write");
    let bar_marks = ["lines/s", "ETA", "\u{1b}[2K"];
    for (mode, shown) in [("always", true), ("auto", false), ("never", false)] {
        let args = strings(&["scan", "a.log", "--format", "json", "--progress", mode]);
        let got = run(dir, &args, None);
        assert_eq!(got.code, Some(0), "{}", got.stderr);
        let has_bar = bar_marks.iter().any(|m| got.stderr.contains(m));
        // Test stderr is a pipe, not a terminal: `auto` must stay quiet.
        assert_eq!(
            has_bar,
            shown,
            "--progress {mode}: stderr {:?}",
            excerpt(&got.stderr)
        );
        // The bar never reaches stdout.
        assert!(
            got.lines.iter().all(|l| l.starts_with('{')),
            "--progress {mode}"
        );
    }
}

#[test]
fn stats_json_describes_the_scan() {
    let tmp = scratch("scan-stats");
    let dir = tmp.path();
    let text = awkward_text(41, true);
    std::fs::write(dir.join("a.log"), &text).expect("write");
    for threads in ["1", "3"] {
        let args = strings(&[
            "scan",
            "a.log",
            "--format",
            "json",
            "--progress",
            "never",
            "--threads",
            threads,
            "--stats-json",
            "s.json",
            "--chunk-size",
            "4096",
        ]);
        let got = run(dir, &args, None);
        assert_eq!(got.code, Some(0), "{}", got.stderr);
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("s.json")).expect("stats written"))
                .expect("stats are JSON");
        let lines = text
            .split(|b| *b == b'\n' || *b == b'\r')
            .filter(|l| !l.is_empty())
            .count() as u64;
        assert_eq!(doc["events"].as_u64(), Some(lines), "events");
        assert_eq!(doc["bytes"].as_u64(), Some(text.len() as u64), "bytes");
        assert_eq!(doc["threads"].as_u64(), threads.parse().ok(), "threads");
        let total = doc["anomalies"]["total"].as_u64().expect("anomalies.total");
        assert_eq!(total, got.lines.len() as u64, "one anomaly per output line");
        let by_sev: u64 = ["warning", "high", "critical"]
            .iter()
            .map(|k| doc["anomalies"]["by_severity"][k].as_u64().unwrap_or(0))
            .sum();
        let by_metric: u64 = doc["anomalies"]["by_metric"]
            .as_object()
            .expect("by_metric")
            .values()
            .filter_map(|v| v.as_u64())
            .sum();
        assert_eq!((by_sev, by_metric), (total, total));
        assert!(doc["elapsed_s"].as_f64().is_some_and(|s| s > 0.0));
        assert!(doc["throughput_mb_s"].as_f64().is_some_and(|s| s > 0.0));
        for stage in ["read", "parse_extract", "detect"] {
            let h = &doc["stages"][stage];
            let q: Vec<u64> = ["p50_us", "p90_us", "p99_us", "max_us"]
                .iter()
                .map(|k| h[k].as_u64().unwrap_or_else(|| panic!("{stage}.{k}")))
                .collect();
            assert!(q.windows(2).all(|w| w[0] <= w[1]), "{stage}: {q:?}");
            assert!(
                h["count"].as_u64().is_some_and(|n| n > 1),
                "{stage}: chunks"
            );
        }
    }
}

/// `scan` of a file another process truncates while it is mapped: no SIGBUS. The run
/// stops reading that file, says so in one line naming it, goes on with the next input,
/// writes its stats and exits 2; every anomaly printed before is a real line of the file.
///
/// The consumer is held still by a full stdout pipe (nobody reads it) while the file is
/// cut to 4 KiB, so the truncation lands while most of the map is still unread.
#[test]
fn a_file_truncated_while_mapped_is_a_one_line_error_not_sigbus() {
    use std::io::Read;
    let d = scratch("scan-truncated");
    let big = d.path().join("big.log");
    let mut text = String::new();
    let mut i = 0usize;
    while text.len() < 8 << 20 {
        if i % 40 == 39 {
            text.push_str(&format!("spike {i} {}\n", "x".repeat(300 + i % 7)));
        } else {
            text.push_str(&format!("request {i} served in {} ms ok\n", i % 9));
        }
        i += 1;
    }
    std::fs::write(&big, &text).unwrap();
    let after = d.path().join("after.log");
    let mut tail = String::new();
    for i in 0..60 {
        tail.push_str(&format!("after {i} fine\n"));
    }
    tail.push_str(&format!("after spike {}\n", "y".repeat(900)));
    std::fs::write(&after, &tail).unwrap();
    let stats = d.path().join("stats.json");
    let mut child = Command::new(bin())
        .args([
            "scan",
            "--threads",
            "2",
            "--chunk-size",
            "65536",
            "--format",
            "json",
        ])
        .arg("--stats-json")
        .arg(&stats)
        .arg(&big)
        .arg(&after)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the pipe is full and the run is blocked on it.
    let pid = child.id();
    let wchar = || -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/io"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("wchar: ").map(|v| v.trim().parse().ok()))
            })
            .flatten()
            .unwrap_or(0)
    };
    let t0 = std::time::Instant::now();
    let mut last = (wchar(), std::time::Instant::now());
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = wchar();
        if now != last.0 {
            last = (now, std::time::Instant::now());
        } else if now > 0 && last.1.elapsed() > std::time::Duration::from_millis(500) {
            break;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(60),
            "the run never blocked on its output"
        );
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{status:?}; stderr: {stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("trace-sentinel: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains(&*big.to_string_lossy()) && errors[0].contains("truncated"),
        "{stderr}"
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(
        lines.len() > 100,
        "anomalies before the cut: {}",
        lines.len()
    );
    let from_big: Vec<&str> = lines
        .iter()
        .filter(|v| v["source"] == "big.log")
        .map(|v| v["message"].as_str().unwrap())
        .collect();
    for m in &from_big {
        assert!(
            text.lines().any(|l| l == *m),
            "an anomaly whose message is not a line of the file: {m:?}"
        );
    }
    assert!(
        lines.iter().any(|v| v["source"] == "after.log"),
        "the next input is still scanned"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(v["anomalies"]["total"].as_u64(), Some(lines.len() as u64));
}
