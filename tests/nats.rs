//! `ship` → `worker` → `tail-anomalies` end to end against real nats-server processes
//! (JetStream, each test its own server on a free loopback port with a scratch store):
//! for JSON lines with timestamps from 50 sources, the anomalies two workers publish equal,
//! per source and in order, what `watch --jsonl --format json` prints — none missing, none
//! repeated — in steady state, when a worker is SIGKILLed mid-stream and the other takes
//! its partitions over after the lease TTL, when both are stopped with SIGTERM and
//! restarted (also with `--templates`, against `watch --templates`), and when the shipper
//! is killed and restarted. Plus the worker's `--metrics-addr` and the commands' errors.
//!
//! `nats-server` is Debian's package (`.ci/run` installs it; `NATS_SERVER` names another
//! binary). Without it the tests fail where apt-get could install it, and are skipped
//! with a notice elsewhere.

#[path = "support/prometheus.rs"]
mod prometheus;
#[path = "support/scratch.rs"]
mod scratch;

use prometheus::{free_port, http_get, promtool_bin, promtool_check};
use scratch::scratch;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_trace-sentinel");
/// Lease TTL of the workers under test, in ms.
const TTL_MS: u64 = 2000;
/// Longest wait for the anomaly stream to be complete.
const COMPLETE: Duration = Duration::from_secs(120);

/// `nats-server`, if it can be had (see the module comment). Debian installs it in
/// /usr/sbin, which a non-root PATH may lack.
fn nats_server(test: &str) -> Option<PathBuf> {
    let sbin = Path::new("/usr/sbin/nats-server");
    if std::env::var_os("NATS_SERVER").is_none() && sbin.is_file() {
        return Some(sbin.to_path_buf());
    }
    prometheus::tool("NATS_SERVER", &["nats-server"], "nats-server", test)
}

/// A nats-server with JetStream on a loopback port, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(bin: &Path, dir: &Path) -> Server {
        let port = free_port();
        let log = std::fs::File::create(dir.join("nats-server.log")).unwrap();
        let child = Command::new(bin)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.join("jetstream"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start nats-server");
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            child,
            url: format!("nats://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One trace-sentinel process, its stderr in a file; killed when dropped.
struct Proc {
    child: Child,
    err: PathBuf,
    name: String,
}

impl Proc {
    fn spawn(dir: &Path, name: &str, args: &[&str]) -> Proc {
        let err = dir.join(format!("{name}.err"));
        let child = Command::new(BIN)
            .current_dir(dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("spawn trace-sentinel");
        Proc {
            child,
            err,
            name: name.to_string(),
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Send `sig` (`-TERM`, `-KILL`) and wait for the exit.
    fn signal(&mut self, sig: &str) -> ExitStatus {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        self.wait(Duration::from_secs(30))
    }

    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                t0.elapsed() < limit,
                "{} did not exit; stderr:\n{}",
                self.name,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM: a clean stop, exit 0 and a last `stopped —` line.
    fn term(&mut self) {
        let status = self.signal("-TERM");
        let err = self.stderr();
        assert_eq!(
            status.code(),
            Some(0),
            "{} on SIGTERM; stderr:\n{err}",
            self.name
        );
        assert!(
            err.lines().last().unwrap_or("").starts_with("stopped — "),
            "{}: {err}",
            self.name
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// JSON lines with timestamps from 50 sources, `per_source` lines each, interleaved;
/// every source has its own rhythm and a few spikes (long messages, latencies, gaps).
fn input(per_source: usize) -> Vec<String> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = |n: u64| trace_sentinel_testrand::xorshift64(&mut x) % n;
    let mut clock = [0u64; 50];
    let mut out = Vec::new();
    for i in 0..per_source * 50 {
        let s = (i * 7 + i / 50) % 50;
        let spike = rnd(97);
        clock[s] += 1_000 + rnd(400) + if spike == 1 { 90_000 } else { 0 };
        let ms = 1_700_000_000_000u64 + clock[s] * 50 + s as u64;
        let message = if spike == 2 {
            format!(
                "ERROR worker crashed: {}",
                "stack frame ".repeat(20 + rnd(20) as usize)
            )
        } else {
            format!("GET /api/v{}/items/{} 200", s % 3, rnd(10_000))
        };
        let latency = if spike == 3 {
            900 + rnd(100)
        } else {
            20 + rnd(10)
        };
        out.push(format!(
            "{{\"timestamp\": {}.{:03}, \"source\": \"svc-{s}.prod\", \"message\": \"{message}\", \"latency_ms\": {latency}}}",
            ms / 1000,
            ms % 1000
        ));
    }
    out
}

fn write_lines(path: &Path, lines: &[String], append: bool) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(append)
        .write(true)
        .truncate(!append)
        .open(path)
        .unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    f.sync_all().unwrap();
}

type BySource = BTreeMap<String, Vec<String>>;

fn by_source(lines: &str) -> BySource {
    let mut m = BySource::new();
    for l in lines.lines().filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_str(l).expect("a JSON anomaly");
        let s = v["source"].as_str().expect("source").to_string();
        m.entry(s).or_default().push(l.to_string());
    }
    m
}

/// What `watch --jsonl --format json` (with `extra` flags) prints for the file.
fn expected(path: &Path, extra: &[&str]) -> (BySource, usize) {
    let out = Command::new(BIN)
        .args(["watch", "--jsonl", "--format", "json"])
        .args(extra)
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    (by_source(&text), text.lines().count())
}

/// The anomaly stream as `tail-anomalies --format json` prints it.
fn published(url: &str) -> String {
    published_on(url, "anomalies")
}

/// The anomalies published under `subject` (`--anomalies`).
fn published_on(url: &str, subject: &str) -> String {
    let out = Command::new(BIN)
        .args(["tail-anomalies", "--nats", url, "--format", "json"])
        .args(["--anomalies", subject])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tail-anomalies: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Wait until the anomaly stream holds at least `n` anomalies.
fn wait_published(url: &str, n: usize, procs: &[&Proc]) -> String {
    wait_published_on(url, "anomalies", n, procs)
}

/// Wait until at least `n` anomalies are published under `subject`.
fn wait_published_on(url: &str, subject: &str, n: usize, procs: &[&Proc]) -> String {
    let t0 = Instant::now();
    loop {
        let text = published_on(url, subject);
        if text.lines().count() >= n {
            return text;
        }
        if t0.elapsed() > COMPLETE {
            let logs: Vec<String> = procs
                .iter()
                .map(|p| format!("--- {}:\n{}", p.name, p.stderr()))
                .collect();
            panic!(
                "{} of {n} anomalies after {COMPLETE:?}\n{}",
                text.lines().count(),
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn assert_same(want: &BySource, got: &BySource) {
    let sources: std::collections::BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    for s in sources {
        let (w, g) = (
            want.get(s).map_or(&[][..], |v| v),
            got.get(s).map_or(&[][..], |v| v),
        );
        if w != g {
            let at = w
                .iter()
                .zip(g)
                .position(|(a, b)| a != b)
                .unwrap_or(w.len().min(g.len()));
            panic!(
                "source {s}: {} anomalies from watch, {} published; first difference at #{at}:\n watch:     {:?}\n published: {:?}",
                w.len(),
                g.len(),
                w.get(at),
                g.get(at)
            );
        }
    }
}

fn worker(dir: &Path, url: &str, name: &str) -> Proc {
    worker_every(dir, url, name, 200, &[])
}

/// A worker checkpointing every `checkpoint_ms`, with `extra` flags.
fn worker_every(dir: &Path, url: &str, name: &str, checkpoint_ms: u64, extra: &[&str]) -> Proc {
    let ttl = TTL_MS.to_string();
    let every = checkpoint_ms.to_string();
    let stats = format!("{name}.json");
    let mut args = vec![
        "worker",
        "--nats",
        url,
        "--jsonl",
        "--lease-ttl",
        &ttl,
        "--checkpoint-interval",
        &every,
        "--stats-json",
        &stats,
        "--worker-id",
        name,
    ];
    args.extend_from_slice(extra);
    Proc::spawn(dir, name, &args)
}

fn stats(dir: &Path, name: &str) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}

/// Wait until `pred` holds for a worker's statistics.
fn wait_stats(dir: &Path, p: &Proc, pred: impl Fn(&Value) -> bool) -> Value {
    let t0 = Instant::now();
    loop {
        if let Some(v) = stats(dir, &p.name) {
            if pred(&v) {
                return v;
            }
        }
        assert!(
            t0.elapsed() < COMPLETE,
            "{}: stats never matched: {:?}\n{}",
            p.name,
            stats(dir, &p.name),
            p.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn owned(v: &Value) -> usize {
    v["worker"]["partitions"].as_array().map_or(0, Vec::len)
}

fn lines_seen(v: &Value) -> u64 {
    v["worker"]["lines"].as_u64().unwrap_or(0)
}

/// `ship --follow --from-start --state DIR` over `path`.
fn follow_shipper(dir: &Path, url: &str, path: &Path, name: &str) -> Proc {
    follow_shipper_to(dir, url, path, name, "ship-state", &[])
}

/// `ship --follow --from-start --state STATE` over `path`, with `extra` flags.
fn follow_shipper_to(
    dir: &Path,
    url: &str,
    path: &Path,
    name: &str,
    state: &str,
    extra: &[&str],
) -> Proc {
    let path = path.to_str().unwrap();
    let mut args = vec![
        "ship",
        "--nats",
        url,
        "--jsonl",
        "--follow",
        "--from-start",
        "--state",
        state,
        "--checkpoint-interval",
        "50",
        "--poll-interval",
        "20",
    ];
    args.extend_from_slice(extra);
    args.push(path);
    Proc::spawn(dir, name, &args)
}

struct Setup {
    dir: TempDir,
    server: Server,
    file: PathBuf,
    lines: Vec<String>,
    want: BySource,
    total: usize,
}

/// A server, the input and what `watch` (with `flags`) prints for it; `None` when the
/// test is skipped for want of nats-server.
fn setup(tag: &str, test: &str, flags: &[&str]) -> Option<Setup> {
    let bin = nats_server(test)?;
    let dir = scratch(tag);
    let server = Server::start(&bin, dir.path());
    let lines = input(240);
    let file = dir.path().join("events.jsonl");
    write_lines(&file, &lines, false);
    let (want, total) = expected(&file, flags);
    // Every one of the 50 sources has anomalies (the template layer reports fewer).
    let (sources, least) = if flags.is_empty() {
        (50, 150)
    } else {
        (40, 100)
    };
    assert!(
        want.len() >= sources && total > least,
        "{} sources, {total} anomalies",
        want.len()
    );
    // The scenarios write the file again in parts.
    std::fs::write(&file, "").unwrap();
    Some(Setup {
        dir,
        server,
        file,
        lines,
        want,
        total,
    })
}

/// The address `--metrics-addr 127.0.0.1:0` picked, from the process's stderr.
fn metrics_addr(p: &Proc) -> String {
    let t0 = Instant::now();
    loop {
        let err = p.stderr();
        if let Some(rest) = err.split("metrics on http://").nth(1) {
            if let Some(addr) = rest.split("/metrics").next() {
                return addr.to_string();
            }
        }
        assert!(
            t0.elapsed() < COMPLETE,
            "{}: no metrics address: {err}",
            p.name
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Samples of an exposition: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

#[test]
fn steady_state_two_workers_publish_what_watch_prints() {
    let test = "steady_state_two_workers_publish_what_watch_prints";
    let Some(s) = setup("nats-steady", test, &[]) else {
        return;
    };
    let d = s.dir.path();
    let url = &s.server.url;
    write_lines(&s.file, &s.lines, false);
    let out = Command::new(BIN)
        .args(["ship", "--nats", url, "--jsonl"])
        .arg(&s.file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "— {} line(s) shipped to stream LOGS ({} stored, 0 already there)",
            s.lines.len(),
            s.lines.len()
        )),
        "{err}"
    );
    let mut a = worker_every(d, url, "a", 200, &["--metrics-addr", "127.0.0.1:0"]);
    let mut b = worker(d, url, "b");
    let text = wait_published(url, s.total, &[&a, &b]);
    assert_same(&s.want, &by_source(&text));
    // The worker's metrics: follow mode's names for what the engines and checkpoints
    // did, the worker's own for its partitions; they agree with --stats-json.
    let addr = metrics_addr(&a);
    let t0 = Instant::now();
    let (body, sa) = loop {
        let before = stats(d, "a");
        let (status, body) = http_get(&addr, "/metrics").expect("scrape the worker");
        assert_eq!(status, 200);
        let m = samples(&body);
        let events = before.as_ref().and_then(|v| v["events"].as_f64());
        if events.is_some() && m.get("trace_sentinel_events_total").copied() == events {
            break (body, before.unwrap());
        }
        assert!(t0.elapsed() < COMPLETE, "metrics never settled:\n{body}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let m = samples(&body);
    let anomalies: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("trace_sentinel_anomalies_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(Some(anomalies), sa["anomalies"]["total"].as_f64(), "{body}");
    for name in [
        "trace_sentinel_read_bytes_total",
        "trace_sentinel_sources",
        "trace_sentinel_checkpoints_total",
        "trace_sentinel_stage_duration_seconds_count{stage=\"detect\"}",
        "trace_sentinel_worker_info{worker=\"a\"}",
        "trace_sentinel_worker_lines_total",
        "trace_sentinel_worker_anomalies_total{result=\"stored\"}",
        "trace_sentinel_worker_partition_changes_total{change=\"claimed\"}",
        "trace_sentinel_worker_partitions_owned",
    ] {
        assert!(m.contains_key(name), "{name} in\n{body}");
    }
    assert_eq!(
        m["trace_sentinel_worker_partitions_owned"] as usize,
        owned(&sa),
        "{body}"
    );
    if let Some(promtool) = promtool_bin(test) {
        promtool_check(&promtool, &body).unwrap();
    }
    a.term();
    b.term();
    let (sa, sb) = (stats(d, "a").unwrap(), stats(d, "b").unwrap());
    let stored = |v: &Value| v["worker"]["published"].as_u64().unwrap();
    assert_eq!(stored(&sa) + stored(&sb), s.total as u64);
    assert!(
        lines_seen(&sa) > 0 && lines_seen(&sb) > 0,
        "both workers worked: {sa} {sb}"
    );
    // Shipping the file again stores nothing: every line's id is known.
    let out = Command::new(BIN)
        .args(["ship", "--nats", url, "--jsonl"])
        .arg(&s.file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("(0 stored,"), "{err}");
    assert_same(&s.want, &by_source(&published(url)));
}

#[test]
fn a_killed_worker_is_replaced_after_the_lease_ttl() {
    let test = "a_killed_worker_is_replaced_after_the_lease_ttl";
    let Some(s) = setup("nats-kill", test, &[]) else {
        return;
    };
    let d = s.dir.path();
    let url = &s.server.url;
    let third = s.lines.len() / 3;
    write_lines(&s.file, &s.lines[..third], true);
    let mut ship = follow_shipper(d, url, &s.file, "ship");
    // `a` checkpoints only when it hands a partition over: what it publishes after its
    // last checkpoint is published again by `b`, and must be dropped as duplicates.
    let mut a = worker_every(d, url, "a", 600_000, &[]);
    let mut b = worker(d, url, "b");
    // Both own partitions (one may have read every line so far before the other came).
    wait_stats(d, &a, |v| owned(v) > 0);
    let before = wait_stats(d, &b, |v| owned(v) > 0);
    wait_published(url, 1, &[&a, &b]);
    // `a` reads on and publishes anomalies it never checkpoints; then it dies.
    write_lines(&s.file, &s.lines[third..2 * third], true);
    wait_stats(d, &a, |v| v["anomalies"]["total"].as_u64() > Some(0));
    let killed_at = Instant::now();
    let status = a.signal("-KILL");
    assert!(!status.success());
    write_lines(&s.file, &s.lines[2 * third..], true);
    let text = wait_published(url, s.total, &[&ship, &b]);
    assert_same(&s.want, &by_source(&text));
    // b claimed a's partitions once their leases expired, read them again from their
    // last checkpoints (or their start), and published nothing twice.
    let after = wait_stats(d, &b, |v| owned(v) == 16);
    assert!(killed_at.elapsed() >= Duration::from_millis(TTL_MS));
    let claimed = |v: &Value| v["worker"]["claimed"].as_u64().unwrap();
    assert!(claimed(&after) > claimed(&before), "{before} {after}");
    assert!(
        after["worker"]["duplicates"].as_u64().unwrap() > 0,
        "{after}"
    );
    b.term();
    ship.term();
    assert_same(&s.want, &by_source(&published(url)));
}

/// Two workers (with `flags`) stopped with SIGTERM mid-stream and restarted publish
/// what `watch` with the same flags prints; the restarted ones resume from the
/// checkpoints and replay nothing.
fn sigterm_and_restart(tag: &str, test: &str, flags: &[&str]) {
    let Some(s) = setup(tag, test, flags) else {
        return;
    };
    let d = s.dir.path();
    let url = &s.server.url;
    let half = s.lines.len() / 2;
    write_lines(&s.file, &s.lines[..half], true);
    let mut ship = follow_shipper(d, url, &s.file, "ship");
    let mut a = worker_every(d, url, "a", 200, flags);
    let mut b = worker_every(d, url, "b", 200, flags);
    wait_stats(d, &a, |v| owned(v) > 0);
    wait_stats(d, &b, |v| owned(v) > 0);
    wait_published(url, 1, &[&a, &b]);
    a.term();
    b.term();
    assert!(!published(url).is_empty());
    write_lines(&s.file, &s.lines[half..], true);
    let _ = std::fs::remove_file(d.join("a.json"));
    let mut a = worker_every(d, url, "a", 200, flags);
    let mut b = worker_every(d, url, "b", 200, flags);
    let text = wait_published(url, s.total, &[&ship, &a, &b]);
    assert_same(&s.want, &by_source(&text));
    let va = wait_stats(d, &a, |v| v["worker"]["resumed"].as_u64() > Some(0));
    assert!(
        va["worker"]["duplicates"].as_u64() == Some(0),
        "a clean stop replays nothing: {va}"
    );
    a.term();
    b.term();
    ship.term();
    assert_same(&s.want, &by_source(&published(url)));
}

#[test]
fn workers_stopped_with_sigterm_resume_from_their_checkpoints() {
    sigterm_and_restart(
        "nats-term",
        "workers_stopped_with_sigterm_resume_from_their_checkpoints",
        &[],
    );
}

#[test]
fn template_workers_resume_exactly_what_watch_templates_prints() {
    sigterm_and_restart(
        "nats-term-templates",
        "template_workers_resume_exactly_what_watch_templates_prints",
        &["--templates"],
    );
}

#[test]
fn a_killed_shipper_resumes_from_its_state() {
    let test = "a_killed_shipper_resumes_from_its_state";
    let Some(s) = setup("nats-ship", test, &[]) else {
        return;
    };
    let d = s.dir.path();
    let url = &s.server.url;
    // Workers first: they wait for the first shipper to create the stream.
    let mut a = worker(d, url, "a");
    let mut b = worker(d, url, "b");
    let third = s.lines.len() / 3;
    write_lines(&s.file, &s.lines[..third], true);
    let mut ship = follow_shipper(d, url, &s.file, "ship");
    wait_published(url, 1, &[&ship, &a, &b]);
    // Killed while it ships the second third: some of it is stored, some is not, and its
    // state is at most 50 ms old.
    write_lines(&s.file, &s.lines[third..2 * third], true);
    std::thread::sleep(Duration::from_millis(40));
    let status = ship.signal("-KILL");
    assert!(!status.success());
    let mut ship = follow_shipper(d, url, &s.file, "ship2");
    write_lines(&s.file, &s.lines[2 * third..], true);
    let text = wait_published(url, s.total, &[&ship, &a, &b]);
    assert_same(&s.want, &by_source(&text));
    assert!(
        ship.stderr().contains("(from its checkpoint)"),
        "{}",
        ship.stderr()
    );
    ship.term();
    a.term();
    b.term();
    assert_same(&s.want, &by_source(&published(url)));
}

/// `scripts/cluster-demo.sh`: a three-node cluster with replicated streams loses the node
/// leading the log stream mid-run, and the anomaly stream still equals `watch`. About a
/// minute on two cores, so not part of the default run:
/// `cargo test --test nats -- --ignored`.
#[test]
#[ignore = "a minute-long three-node cluster; run with --ignored"]
fn cluster_demo_survives_a_killed_node() {
    let Some(server) = nats_server("cluster_demo_survives_a_killed_node") else {
        return;
    };
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/cluster-demo.sh"
        ))
        .args(["--lines", "12000"])
        .env("TRACE_SENTINEL", BIN)
        .env("NATS_SERVER", server)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.contains("\nPASS: "), "{said}");
}

#[test]
fn nats_commands_refuse_bad_flags_and_name_what_failed() {
    let d = scratch("nats-cli");
    std::fs::write(d.path().join("x.log"), "a\n").unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .current_dir(d.path())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let port = free_port().to_string();
    let dead = format!("nats://127.0.0.1:{port}");
    let cases: &[(&[&str], &str)] = &[
        (
            &["ship", "--nats", &dead, "x.log"],
            "cannot connect to NATS at",
        ),
        (
            &["ship", "--nats", &dead, "--partitions", "0", "x.log"],
            "--partitions: 0 (must be 1 to 1024)",
        ),
        (
            &["ship", "--nats", &dead, "--stream", "a.b", "x.log"],
            "--stream",
        ),
        (
            &["ship", "--nats", &dead, "--subject", "a.*", "x.log"],
            "--subject",
        ),
        (&["ship", "--nats", &dead, "missing.log"], "missing.log"),
        (
            &["worker", "--nats", &dead, "--format", "json"],
            "tail-anomalies",
        ),
        (
            &[
                "worker",
                "--nats",
                &dead,
                "--alertmanager",
                "http://127.0.0.1:9093",
            ],
            "--alertmanager: not supported by the worker",
        ),
        (
            &["worker", "--nats", &dead, "--metrics-addr", "nonsense"],
            "--metrics-addr",
        ),
        (
            &["worker", "--nats", &dead, "--lease-ttl", "100"],
            "--lease-ttl: 100 (must be 1000 to 60000)",
        ),
        (
            &["worker", "--nats", &dead, "--anomalies", "x..y"],
            "--anomalies",
        ),
        (&["worker", "--nats", &dead], "cannot connect to NATS at"),
        (
            &["tail-anomalies", "--nats", &dead],
            "cannot connect to NATS at",
        ),
        (&["tail-anomalies", "--nats", ""], "--nats"),
    ];
    for (args, want) in cases {
        let (code, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(
            err.starts_with("trace-sentinel: error: ") && err.contains(want),
            "{args:?}: {err}"
        );
    }
    let Some(bin) = nats_server("nats_commands_refuse_bad_flags_and_name_what_failed") else {
        return;
    };
    let server = Server::start(&bin, d.path());
    // Nothing published yet: nothing to print, exit 0.
    let (code, err) = run(&["tail-anomalies", "--nats", &server.url]);
    assert_eq!(code, Some(0), "{err}");
    // A stream's layout is fixed: another partition count is refused.
    let (code, err) = run(&["ship", "--nats", &server.url, "--partitions", "4", "x.log"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(&["ship", "--nats", &server.url, "--partitions", "8", "x.log"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("stream LOGS: it has 4 partitions, not 8"),
        "{err}"
    );
    let (code, err) = run(&["worker", "--nats", &server.url, "--shard-by", "none"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--shard-by"), "{err}");
}
