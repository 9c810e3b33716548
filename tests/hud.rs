//! End-to-end tests of `trace-sentinel hud`: the binary is started on an ephemeral
//! loopback port (`--port 0`, address read from stderr) over small generated inputs, and
//! `/api/state`, `/healthz`, `/metrics`, the SSE stream, the page, the journald and stdin
//! sources and flag validation are checked over real HTTP. The browser test drives
//! headless Chromium over the DevTools protocol when it is installed (see
//! `scripts/browser-test.sh`).

#[path = "hud/cdp.rs"]
mod cdp;
#[path = "hud/http.rs"]
mod http;
#[path = "support/prometheus.rs"]
mod prometheus;
#[path = "support/scratch.rs"]
mod scratch;
use http::Sse;
use scratch::scratch_in_target;
use serde_json::Value;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_trace-sentinel");

/// Ordinary access-log lines with a little length variety.
fn normal_lines(n: usize, offset: usize) -> String {
    let paths = ["/", "/login", "/api/v1/items", "/static/app.js", "/health"];
    let mut s = String::new();
    for i in offset..offset + n {
        s.push_str(&format!(
            "10.0.{}.{} - - \"GET {} HTTP/1.1\" 200 {} \"-\" \"curl/8.5.0\"\n",
            i % 4,
            10 + i % 90,
            paths[i % paths.len()],
            200 + (i * 37) % 700
        ));
    }
    s
}

/// One line far longer than normal: a message-length anomaly carrying `tag`.
fn spike(tag: &str) -> String {
    format!(
        "ERROR payment-gateway {tag} upstream reset {}\n",
        "timeout;".repeat(60)
    )
}

/// A hostile message (markup and ANSI escapes) that is also a length anomaly.
fn hostile(tag: &str) -> String {
    format!(
        "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\"> \
         \x1b[31m{tag}\x1b[0m \x1b]0;title\x07 {}\n",
        "<b>bold</b>".repeat(40)
    )
}

struct Hud {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
    /// The scratch dir of the HUD's input ([`start_on`]). A field, so it is removed
    /// only after `Drop` has killed and reaped the child that reads from it.
    scratch: Option<TempDir>,
}

impl Hud {
    fn start(args: &[&str]) -> Hud {
        Hud::start_with(args, Stdio::null(), &[])
    }

    fn start_with(args: &[&str], stdin: Stdio, env: &[(&str, OsString)]) -> Hud {
        let mut cmd = Command::new(BIN);
        cmd.arg("hud")
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        // Its own process group, so a test can signal it as a service manager does.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().expect("start hud");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(url) = line.split("listening on http://").nth(1) {
                        let _ = tx.send(url.trim_end_matches('/').to_string());
                    }
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(200));
                panic!("hud did not start; stderr:\n{}", log.lock().unwrap());
            }
        };
        Hud {
            child,
            addr,
            log,
            scratch: None,
        }
    }

    fn stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().expect("piped stdin")
    }

    fn get(&self, path: &str) -> http::Response {
        http::get(&self.addr, path).expect("GET")
    }

    fn state(&self) -> Value {
        self.get("/api/state").json()
    }

    /// Poll `/api/state` until `pred` holds.
    fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let st = self.state();
            if pred(&st) {
                return st;
            }
            if Instant::now() > end {
                panic!(
                    "timed out waiting for {what}; state: {st}\nstderr:\n{}",
                    self.log.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then wait (killing after a timeout).
    fn stop(self) -> (ExitStatus, String) {
        self.signal("-TERM")
    }

    /// Send `sig` (a `kill` option), then wait (killing after a timeout).
    fn signal(self, sig: &str) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        self.signal_as(&[sig, &pid])
    }

    /// Run `kill` with `args`, then wait (killing after a timeout).
    fn signal_as(mut self, args: &[&str]) -> (ExitStatus, String) {
        let _ = Command::new("kill").args(args).status();
        let end = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                break s;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                break self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(100));
        let log = self.log.lock().unwrap().clone();
        (status, log)
    }
}

impl Drop for Hud {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The feed item whose message contains `tag`.
fn feed_item(st: &Value, tag: &str) -> Value {
    st["feed"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|i| i["message"].as_str().is_some_and(|m| m.contains(tag)))
        })
        .cloned()
        .unwrap_or_else(|| panic!("{tag} is not in the feed: {st}"))
}

/// A scratch dir `name` holding `file` with `text`, and a HUD started on that file with
/// `args` and an ephemeral port. The HUD owns the dir: the path is valid while it lives.
fn start_on(name: &str, file: &str, text: &str, args: &[&str]) -> (PathBuf, Hud) {
    let dir = scratch_in_target(&format!("hud-{name}"));
    let path = dir.path().join(file);
    std::fs::write(&path, text).unwrap();
    let mut all = vec![path.to_str().unwrap(), "--port", "0"];
    all.extend_from_slice(args);
    let mut hud = Hud::start(&all);
    hud.scratch = Some(dir);
    (path, hud)
}

fn done(st: &Value) -> bool {
    st["running"] == false && st["seeding"] == false
}

/// The anomalies of `watch --format json` on `path` with `args`, as comparable keys.
fn watch_keys(path: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new(BIN)
        .arg("watch")
        .arg(path)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut keys: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| anomaly_key(&serde_json::from_str(l).unwrap()))
        .collect();
    keys.sort();
    keys
}

fn anomaly_key(v: &Value) -> String {
    format!(
        "{} {} {} {}",
        v["metric"], v["score"], v["severity"], v["message"]
    )
}

fn feed_keys(st: &Value) -> Vec<String> {
    let mut keys: Vec<String> = st["feed"]
        .as_array()
        .unwrap()
        .iter()
        .map(anomaly_key)
        .collect();
    keys.sort();
    keys
}

/// With no flags, a replay seeds nothing, reads the file once, scores exactly like
/// `watch`, and then says it finished (not running, `finished`, badge FINISHED).
#[test]
fn default_replay_scores_like_watch_reads_once_and_finishes() {
    let text = normal_lines(200, 0) + &spike("ONCE-A") + &normal_lines(40, 200) + &spike("ONCE-B");
    let (log, hud) = start_on("defaults", "app.log", &text, &[]);
    let st = hud.wait_for("replay end", |s| s["finished"] == true);
    assert_eq!(st["running"], false, "{st}");
    assert_eq!(st["seeded"], 0, "no synthetic seeding by default");
    assert_eq!(st["events"], 242);
    assert!(st["anomalies"].as_u64().unwrap() >= 2);
    assert_eq!(feed_keys(&st), watch_keys(&log, &[]));
    // Read once: nothing more arrives after the end.
    std::thread::sleep(Duration::from_millis(1200));
    let later = hud.state();
    assert_eq!(later["events"], 242);
    assert_eq!(later["finished"], true);
    assert!(hud
        .get("/metrics")
        .text()
        .contains("trace_sentinel_running 0"));
    let page = include_str!("../crates/hud/src/page/app.js");
    assert!(page.contains("data.finished") && page.contains("\"FINISHED\""));
    let (status, log) = hud.stop();
    assert_eq!(status.code(), Some(0), "{log}");
}

/// With `--templates` the state holds the template panel (newest templates, those with
/// the most anomalies) and every feed item names its line and template, as `watch
/// --templates` does.
#[test]
fn templates_panel_and_feed_lines_agree_with_watch() {
    let loghub = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/loghub/Linux_2k.log");
    let text = std::fs::read_to_string(&loghub).unwrap();
    let (log, hud) = start_on("templates", "Linux_2k.log", &text, &["--templates"]);
    let st = hud.wait_for("replay end", |s| s["finished"] == true);
    let out = Command::new(BIN)
        .arg("watch")
        .arg(&log)
        .args(["--format", "json", "--templates"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let key = |v: &Value| {
        format!(
            "{} {} {} {} {}",
            v["line"], v["metric"], v["score"], v["template_id"], v["template"]
        )
    };
    let mut want: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| key(&serde_json::from_str(l).unwrap()))
        .collect();
    let mut got: Vec<String> = st["feed"].as_array().unwrap().iter().map(key).collect();
    want.sort();
    got.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    assert!(st["feed"][0]["line"].as_u64().unwrap() > 0, "{st}");
    let t = &st["templates"];
    assert!(t["held"].as_u64().unwrap() > 50, "{t}");
    assert_eq!(t["held"], t["learned"], "{t}");
    let newest = t["newest"].as_array().unwrap();
    assert_eq!(newest.len(), 8, "{t}");
    // Newest first: the last template learned has the highest id (one source).
    let ids: Vec<u64> = newest.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    assert_eq!(ids[0], t["learned"].as_u64().unwrap(), "ids count from 1");
    let top = t["top"].as_array().unwrap();
    assert!(!top.is_empty(), "{t}");
    let most = top[0]["anomalies"].as_u64().unwrap();
    let on_it = st["feed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["template_id"] == top[0]["id"])
        .count() as u64;
    assert_eq!(most, on_it, "{t}");
    // Without the flag there is no panel.
    let (_, plain) = start_on("templates-off", "Linux_2k.log", &text, &[]);
    let st = plain.wait_for("replay end", |s| s["finished"] == true);
    assert!(st["templates"].is_null(), "{}", st["templates"]);
    assert!(st["feed"][0].get("template").is_none());
}

/// `--loop` replays again and again and is running throughout, pauses included.
#[test]
fn loop_replays_again_and_stays_running() {
    let text = normal_lines(50, 0);
    let (_, hud) = start_on("loop", "app.log", &text, &["--loop"]);
    for _ in 0..3 {
        let st = hud.state();
        assert!(st["running"] == true || st["seeding"] == true, "{st}");
        assert_eq!(st["finished"], false, "{st}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let st = hud.wait_for("a second pass", |s| s["events"].as_u64() > Some(50));
    assert_eq!(st["running"], true, "{st}");
}

/// `hud FILE --follow` with its defaults: no seeding, and the backfill scored as `watch`
/// scores those lines (inter-arrival aside: followed lines are timed as they are read).
#[test]
fn default_follow_backfill_agrees_with_watch() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/demo.log");
    let text = std::fs::read_to_string(&demo).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len() - 600..].join("\n") + "\n";
    let (log, hud) = start_on("follow-defaults", "demo.log", &text, &["--follow"]);
    let st = hud.wait_for("backfill", |s| s["events"] == 600);
    assert_eq!(st["seeded"], 0);
    assert_eq!(st["running"], true);
    let tail_path = log.with_file_name("tail.log");
    std::fs::write(&tail_path, tail).unwrap();
    let got: Vec<String> = feed_keys(&st)
        .into_iter()
        .filter(|k| !k.starts_with("\"event.interarrival_s\""))
        .collect();
    let want: Vec<String> = watch_keys(&tail_path, &[]);
    assert_eq!(got, want, "{st}");
}

/// SIGTERM to the whole process group (what a service manager sends) stops the journald
/// HUD cleanly: `journalctl` dying of it first is no source error.
#[test]
fn journald_group_stop_is_clean() {
    let tmp = scratch_in_target("hud-journald-stop");
    let dir = tmp.path();
    let path = fake_journalctl(dir, &[journal_entry(0, "hello", 6)], 0);
    // Stay in the follow like the real one, as the process itself (exec), and say who
    // that is.
    let script = dir.join("bin").join("journalctl");
    let pid_file = dir.join("journalctl.pid");
    let body = std::fs::read_to_string(&script).unwrap().replace(
        "\nexit 0\n",
        &format!("\necho $$ > '{}'\nexec sleep 60\n", pid_file.display()),
    );
    std::fs::write(&script, body).unwrap();
    let hud = Hud::start_with(
        &["--source", "journald", "--port", "0"],
        Stdio::null(),
        &[("PATH", path)],
    );
    hud.wait_for("the entry", |s| s["events"] == 1);
    // The group's signal reaches `journalctl` first, the HUD a moment later.
    // The script writes its pid after printing the entry: wait for it.
    let end = Instant::now() + Duration::from_secs(10);
    let child = loop {
        match std::fs::read_to_string(&pid_file) {
            Ok(pid) if pid.ends_with('\n') => break pid,
            _ if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
            other => panic!("journalctl never wrote its pid: {other:?}"),
        }
    };
    let _ = Command::new("kill").args(["-TERM", child.trim()]).status();
    std::thread::sleep(Duration::from_millis(300));
    let pgid = format!("-{}", hud.child.id());
    let (status, log) = hud.signal_as(&["-TERM", "--", &pgid]);
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(!log.contains("exited with"), "{log}");
    assert!(log.contains("stopped — 0 anomalies surfaced"), "{log}");
}

/// `--bind 0.0.0.0` says where it really listens.
#[test]
fn unspecified_bind_prints_the_real_address() {
    let tmp = scratch_in_target("hud-bind");
    let log = tmp.path().join("a.log");
    std::fs::write(&log, normal_lines(10, 0)).unwrap();
    let hud = Hud::start(&[log.to_str().unwrap(), "--bind", "0.0.0.0", "--port", "0"]);
    assert!(hud.addr.starts_with("0.0.0.0:"), "{}", hud.addr);
    // The exposure warning follows the listening line.
    let end = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = hud.log.lock().unwrap().clone();
        if text.contains("anyone who can reach it") || Instant::now() > end {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!text.contains("listening on http://127.0.0.1"), "{text}");
    assert!(text.contains("anyone who can reach it"), "{text}");
}

#[test]
fn api_state_healthz_and_metrics_over_a_replayed_file() {
    let text = normal_lines(120, 0) + &spike("INJECTED-API") + &normal_lines(20, 120);
    let (log, hud) = start_on(
        "api",
        "app.log",
        &text,
        // `--no-open` is the reference's spelling of the default.
        &["--once", "--no-seed", "--warmup", "20", "--no-open"],
    );
    assert!(hud.addr.starts_with("127.0.0.1:"), "{}", hud.addr);
    let st = hud.wait_for("replay end", |s| done(s) && s["events"] == 141);

    // The reference's fields, with their types.
    assert_eq!(st["threshold"], 3.0);
    assert_eq!(st["warmup"], 20);
    assert_eq!(st["mode"], "REPLAY · app.log");
    assert_eq!(st["seeded"], 0);
    assert!(st["peak_sigma"].as_f64().unwrap() > 3.0);
    let threat = st["threat"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&threat));
    assert_eq!(st["wave"].as_array().unwrap().len(), 64);
    assert_eq!(st["series"].as_array().unwrap().len(), 180);
    for m in ["message.length", "message.tokens"] {
        assert_eq!(st["metrics"][m]["ready"], true, "{m}");
        assert!(st["metrics"][m]["sigma"].is_number());
    }
    // Plain-text replay carries no arrival times: no inter-arrival metric.
    assert!(st["metrics"].get("event.interarrival_s").is_none());
    let anomalies = st["anomalies"].as_u64().unwrap();
    assert!(anomalies >= 1);
    let feed = st["feed"].as_array().unwrap();
    assert_eq!(feed.len() as u64, anomalies.min(60));
    // The same engine as `watch`: the same anomalies for the same input and flags.
    let watch = Command::new(BIN)
        .args([
            "watch",
            log.to_str().unwrap(),
            "--warmup",
            "20",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let key = |v: &Value| {
        format!(
            "{} {} {} {}",
            v["metric"], v["score"], v["severity"], v["message"]
        )
    };
    let mut want: Vec<String> = String::from_utf8_lossy(&watch.stdout)
        .lines()
        .map(|l| key(&serde_json::from_str(l).unwrap()))
        .collect();
    let mut got: Vec<String> = feed.iter().map(key).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let item = feed_item(&st, "INJECTED-API");
    for k in [
        "seq",
        "timestamp",
        "source",
        "metric",
        "value",
        "score",
        "severity",
        "explanation",
        "message",
    ] {
        assert!(item.get(k).is_some(), "feed item lacks {k}");
    }
    assert_eq!(item["source"], "app.log");
    assert!(item["score"].as_f64().unwrap() >= 3.0);
    // Newest first.
    let seqs: Vec<u64> = feed.iter().map(|i| i["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");

    let health = hud.get("/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.text(), "ok");

    let m = hud.get("/metrics");
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let body = m.text();
    assert!(body.contains("trace_sentinel_events_total 141\n"), "{body}");
    // Anomalies by metric and severity add up to the total (zero samples are left out).
    let by_metric_severity: u64 = body
        .lines()
        .filter(|l| l.starts_with("trace_sentinel_anomalies_total{metric="))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(by_metric_severity, anomalies);
    assert!(body.contains("trace_sentinel_anomalies_total{metric=\"message.length\",severity="));
    // The same names as --metrics-addr, and valid for Prometheus.
    if let Some(promtool) = prometheus::promtool_bin("api_state_healthz_and_metrics") {
        prometheus::promtool_check(&promtool, &body).unwrap();
    }
    for family in [
        "trace_sentinel_lines_per_second ",
        "trace_sentinel_lag_seconds ",
        "trace_sentinel_running 0",
        "trace_sentinel_metric_sigma{metric=\"message.length\"} ",
    ] {
        assert!(body.contains(family), "{family} missing:\n{body}");
    }

    let page = hud.get("/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert!(page.text().contains("/app.js"));
    assert_eq!(hud.get("/app.js").status, 200);
    assert_eq!(hud.get("/app.css").status, 200);
    assert_eq!(hud.get("/nope").status, 404);
    assert!(hud
        .get("/api/state")
        .header("access-control-allow-origin")
        .is_none());

    // DNS-rebinding guard: a foreign Host name is refused on a loopback bind.
    let foreign = http::get_as(&hud.addr, "/api/state", "evil.example").unwrap();
    assert_eq!(foreign.status, 421);
    let local = http::get_as(&hud.addr, "/api/state", "localhost:1234").unwrap();
    assert_eq!(local.status, 200);

    // SIGTERM is a clean stop for a service.
    let (status, log) = hud.stop();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("anomalies surfaced"), "{log}");
}

#[test]
fn sse_pushes_every_change() {
    // Paced replay: events arrive over time, each one a state change.
    let (_, hud) = start_on(
        "sse",
        "paced.log",
        &normal_lines(60, 0),
        &["--pace", "0.01", "--seed-count", "300"],
    );
    let mut sse = Sse::open(&hud.addr, "/api/stream").unwrap();
    let ct = sse
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let (id, data) = sse.next_event().unwrap();
    let first: Value = serde_json::from_str(&data).unwrap();
    assert!(first.get("feed").is_some() && first.get("metrics").is_some());
    assert_eq!(id.unwrap(), first["version"].to_string());
    let mut last_version = first["version"].as_u64().unwrap();
    let mut last_events = first["events"].as_u64().unwrap();
    let mut pushes = 0;
    let end = Instant::now() + Duration::from_secs(20);
    while pushes < 5 && Instant::now() < end {
        let (_, data) = sse.next_event().unwrap();
        let st: Value = serde_json::from_str(&data).unwrap();
        let v = st["version"].as_u64().unwrap();
        assert!(v > last_version, "versions increase");
        assert!(st["events"].as_u64().unwrap() >= last_events);
        assert_eq!(st["seeded"], 300);
        last_version = v;
        last_events = st["events"].as_u64().unwrap();
        pushes += 1;
    }
    assert_eq!(pushes, 5, "the stream keeps pushing while events arrive");
    // SIGINT interrupts, even with a stream client connected.
    let (status, log) = hud.signal("-INT");
    assert_eq!(status.code(), Some(130), "{log}");
}

#[test]
fn jsonl_files_are_timed_and_hostile_text_is_only_data() {
    let mut text = String::new();
    for i in 0..80 {
        text.push_str(&format!(
            "{{\"timestamp\": {}, \"source\": \"api\", \"message\": \"GET /x {i}\", \"latency_ms\": {}}}\n",
            1_700_000_000 + i,
            40 + i % 7
        ));
    }
    let evil = hostile("JSONL-EVIL");
    text.push_str(&serde_json::json!({
        "timestamp": 1_700_000_100, "source": "api", "message": evil.trim_end(), "latency_ms": 9000
    }).to_string());
    text.push('\n');
    let (_, hud) = start_on("jsonl", "events.jsonl", &text, &["--once", "--no-seed"]);
    let st = hud.wait_for("replay end", |s| done(s) && s["events"] == 81);
    assert!(st["metrics"].get("event.interarrival_s").is_some());
    assert_eq!(st["metrics"]["attr.latency_ms"]["ready"], true);
    let item = feed_item(&st, "JSONL-EVIL");
    // The API carries the text unchanged (JSON-escaped); the page renders it as text.
    assert_eq!(item["message"], evil.trim_end());
    let raw = hud.get("/api/state").text();
    assert!(
        !raw.contains('\x1b'),
        "control characters are escaped in JSON"
    );
}

#[test]
fn stdin_source() {
    let mut hud = Hud::start_with(
        &[
            "--source",
            "stdin",
            "--port",
            "0",
            "--no-seed",
            "--warmup",
            "10",
        ],
        Stdio::piped(),
        &[],
    );
    let mut input = hud.stdin();
    input.write_all(normal_lines(40, 0).as_bytes()).unwrap();
    input.flush().unwrap();
    let st = hud.wait_for("stdin lines", |s| s["events"] == 40);
    assert_eq!(st["mode"], "STDIN");
    assert_eq!(st["running"], true);
    input.write_all(spike("STDIN-SPIKE").as_bytes()).unwrap();
    drop(input);
    let st = hud.wait_for("stdin end", |s| done(s) && s["events"] == 41);
    feed_item(&st, "STDIN-SPIKE");
    assert!(st["error"].is_null());
}

/// Write an executable fake `journalctl` into `dir` that records its arguments and
/// prints `entries`.
fn fake_journalctl(dir: &Path, entries: &[Value], exit: i32) -> OsString {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let data = dir.join("entries.json");
    let mut lines = String::new();
    for e in entries {
        lines.push_str(&e.to_string());
        lines.push('\n');
    }
    lines.push_str("garbage line that is not json\n");
    std::fs::write(&data, lines).unwrap();
    let script = bin.join("journalctl");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > '{args}'\ncat '{data}'\n[ {exit} -ne 0 ] && echo 'Failed to open journal: permission denied' >&2\nexit {exit}\n",
            args = dir.join("args").display(),
            data = data.display(),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut path = OsString::from(bin.as_os_str());
    path.push(":/usr/bin:/bin");
    path
}

fn journal_entry(i: u64, message: &str, priority: u8) -> Value {
    serde_json::json!({
        "__REALTIME_TIMESTAMP": (1_700_000_000_000_000u64 + i * 1_500_000).to_string(),
        "MESSAGE": message,
        "PRIORITY": priority.to_string(),
        "SYSLOG_IDENTIFIER": "sshd",
        "_SYSTEMD_UNIT": "ssh.service",
        "_PID": "812",
        "_HOSTNAME": "box",
    })
}

#[test]
fn journald_source_maps_entries() {
    let tmp = scratch_in_target("hud-journald");
    let dir = tmp.path();
    let mut entries: Vec<Value> = (0..60)
        .map(|i| {
            let user = ["al", "bobby", "carol", "dan", "eve-admin"][i as usize % 5];
            let msg = format!(
                "Accepted publickey for {user} from 10.0.0.{} port {}",
                i % 250,
                40000 + i * 7
            );
            journal_entry(i, &msg, 6)
        })
        .collect();
    entries.push(journal_entry(60, &spike("JOURNAL-SPIKE"), 2));
    let path = fake_journalctl(dir, &entries, 0);
    let hud = Hud::start_with(
        &[
            "--source",
            "journald",
            "--port",
            "0",
            "--no-seed",
            "--backfill",
            "42",
        ],
        Stdio::null(),
        &[("PATH", path)],
    );
    let st = hud.wait_for("journal end", |s| done(s) && s["events"] == 61);
    assert_eq!(st["mode"], "LIVE · JOURNALD");
    assert!(st["error"].is_null(), "{st}");
    assert!(st["metrics"].get("attr.priority").is_some());
    assert!(st["metrics"].get("event.interarrival_s").is_some());
    let item = feed_item(&st, "JOURNAL-SPIKE");
    assert_eq!(item["source"], "sshd");
    assert!(item["timestamp"]
        .as_str()
        .unwrap()
        .starts_with("2023-11-14T22:14:"));
    let args = std::fs::read_to_string(dir.join("args")).unwrap();
    for a in ["--output=json", "--follow", "--lines=42"] {
        assert!(args.contains(a), "{args}");
    }
}

/// Log `message` to the journal under `tag` with `systemd-cat`.
fn journal_write(tag: &str, message: &str, priority: &str) -> bool {
    let Ok(mut child) = Command::new("systemd-cat")
        .args(["-t", tag, "-p", priority])
        .stdin(Stdio::piped())
        .spawn()
    else {
        return false;
    };
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(message.as_bytes());
    }
    child.wait().is_ok_and(|s| s.success())
}

/// Whether a journal is running here that `systemd-cat` writes to and `journalctl`
/// reads back (not in most containers or CI).
fn journal_available(tag: &str) -> bool {
    let marker = format!("hud-probe-{tag}");
    if !journal_write(tag, &marker, "info") {
        return false;
    }
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        let out = Command::new("journalctl")
            .args(["-o", "json", "-n", "50", "--no-pager", "-t", tag])
            .output();
        if out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&marker)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn journald_real_journal_when_available() {
    let tag = format!("hudtest{}", std::process::id());
    if !journal_available(&tag) {
        eprintln!("skipping: no readable systemd journal here (journald not running)");
        return;
    }
    let hud = Hud::start(&[
        "--source",
        "journald",
        "--port",
        "0",
        "--no-seed",
        "--warmup",
        "5",
        "--backfill",
        "0",
    ]);
    hud.wait_for("journalctl running", |s| {
        s["running"] == true && s["seeding"] == false
    });
    // Give journalctl a moment to reach the journal's end before writing.
    std::thread::sleep(Duration::from_millis(500));
    for i in 0..20 {
        assert!(journal_write(
            &tag,
            &format!("routine entry {i} ok{}", "!".repeat(i % 4)),
            "info"
        ));
    }
    assert!(journal_write(&tag, &spike("REAL-JOURNAL-SPIKE"), "err"));
    let st = hud.wait_for("journal spike", |s| {
        s["feed"].as_array().is_some_and(|f| {
            f.iter().any(|i| {
                i["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("REAL-JOURNAL-SPIKE"))
            })
        })
    });
    let item = feed_item(&st, "REAL-JOURNAL-SPIKE");
    assert_eq!(item["source"], tag.as_str());
    assert!(st["metrics"].get("attr.priority").is_some());
    assert!(st["error"].is_null());
}

#[test]
fn journald_failure_is_reported_in_state() {
    let tmp = scratch_in_target("hud-journald-fail");
    let dir = tmp.path();
    let path = fake_journalctl(dir, &[journal_entry(0, "hello", 6)], 1);
    let hud = Hud::start_with(
        &["--source", "journald", "--port", "0", "--no-seed"],
        Stdio::null(),
        &[("PATH", path)],
    );
    let st = hud.wait_for("journal error", |s| !s["error"].is_null());
    assert_eq!(st["running"], false);
    assert!(
        st["error"].as_str().unwrap().contains("permission denied"),
        "{st}"
    );
    assert!(hud
        .get("/metrics")
        .text()
        .contains("trace_sentinel_source_error 1"));
}

#[test]
fn journald_missing_is_a_clear_error() {
    let tmp = scratch_in_target("hud-nojournal");
    let dir = tmp.path();
    let out = Command::new(BIN)
        .args(["hud", "--port", "0"])
        .env("PATH", dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("journalctl not found"), "{err}");
}

#[test]
fn flag_errors_exit_2() {
    let tmp = scratch_in_target("hud-flags");
    let dir = tmp.path();
    let log = dir.join("a.log");
    std::fs::write(&log, "x\n").unwrap();
    let l = log.to_str().unwrap();
    for (args, needle) in [
        (vec![l, "--pace", "-1"], "--pace"),
        (vec![l, "--seed-count", "-5"], "--seed-count"),
        (vec![l, "--seed-count", "5", "--no-seed"], "--no-seed"),
        (vec![l, "--backfill", "-1"], "--backfill"),
        (vec![l, "--threshold", "0"], "--threshold"),
        (vec![l, "--bind", "not-an-ip"], "--bind"),
        (vec![l, "--source", "journald"], "--source"),
        (vec!["--source", "file"], "--source"),
        (vec![l, "--seed", "10"], "--seed-count"),
        (vec!["/definitely/missing.log"], "missing.log"),
    ] {
        let out = Command::new(BIN)
            .arg("hud")
            .args(&args)
            .args(["--port", "0"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            !err.contains("listening"),
            "{args:?} must fail before serving"
        );
    }
}

#[test]
fn port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let tmp = scratch_in_target("hud-port");
    let dir = tmp.path();
    let log = dir.join("a.log");
    std::fs::write(&log, "x\n").unwrap();
    let out = Command::new(BIN)
        .args(["hud", log.to_str().unwrap(), "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen on 127.0.0.1:"), "{err}");
}

#[test]
fn help_lists_the_issue_flags() {
    let out = Command::new(BIN).args(["hud", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--source",
        "--jsonl",
        "--follow",
        "--threshold",
        "--warmup",
        "--semantic",
        "--seed-count",
        "--no-seed",
        "--backfill",
        "--pace",
        "--loop",
        "--bind",
        "--port",
        "--open",
    ] {
        assert!(help.contains(flag), "{flag} missing from help:\n{help}");
    }
    assert!(!help.contains("--seed <"), "--seed is hidden for hud");
}

/// Append `text` to the file at `path` (like a logger would).
fn append_to(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.flush().unwrap();
}

#[test]
fn follow_backfills_then_streams_appends_through_rotation() {
    let (log, hud) = start_on(
        "follow",
        "app.log",
        &normal_lines(100, 0),
        &["-f", "--backfill", "50", "--no-seed", "--warmup", "20"],
    );
    let dir = log.parent().unwrap().to_path_buf();
    // The last 50 lines are replayed through the feed first.
    let st = hud.wait_for("backfill", |s| s["events"] == 50 && s["seeding"] == false);
    assert_eq!(st["mode"], "FOLLOW · app.log");
    assert_eq!(st["running"], true);

    append_to(&log, &(normal_lines(30, 100) + &spike("FOLLOW-SPIKE")));
    let st = hud.wait_for("appended lines", |s| s["events"] == 81);
    feed_item(&st, "FOLLOW-SPIKE");
    // Follow mode times events by arrival.
    assert!(st["metrics"].get("event.interarrival_s").is_some());

    // A partial line waits for its end.
    append_to(&log, "half a li");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(hud.state()["events"], 81);
    append_to(&log, "ne\n");
    hud.wait_for("completed line", |s| s["events"] == 82);

    // Rename-and-create rotation: the new file is read from its start.
    std::fs::rename(&log, dir.join("app.log.1")).unwrap();
    std::fs::write(&log, normal_lines(10, 200) + &spike("ROTATED-SPIKE")).unwrap();
    let st = hud.wait_for("rotated file", |s| s["events"] == 93);
    feed_item(&st, "ROTATED-SPIKE");
    assert!(st["error"].is_null());
}

/// A one-shot-per-connection HTTP receiver on loopback: records POST bodies, answers
/// 200 (keep-alive, Content-Length bodies).
fn webhook_receiver() -> (String, mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { break };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut w = conn;
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = l.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0u8; len];
                    if std::io::Read::read_exact(&mut r, &mut body).is_err() {
                        return;
                    }
                    let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
                    let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                }
            });
        }
    });
    (addr, rx)
}

#[test]
fn webhook_receives_what_the_feed_shows() {
    let (hook, bodies) = webhook_receiver();
    let url = format!("http://{hook}/hook");
    let text = normal_lines(80, 0) + &spike("HOOKED-SPIKE");
    let (_, hud) = start_on(
        "webhook",
        "app.log",
        &text,
        &["--once", "--no-seed", "--webhook", &url],
    );
    let st = hud.wait_for("replay end", |s| done(s) && s["events"] == 81);
    let body = bodies
        .recv_timeout(Duration::from_secs(10))
        .expect("a webhook POST");
    let posted: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(posted.len() as u64, st["anomalies"].as_u64().unwrap());
    assert!(posted
        .iter()
        .any(|a| a["message"].as_str().unwrap().contains("HOOKED-SPIKE")));
    let (status, _) = hud.stop();
    assert_eq!(status.code(), Some(0));
}

/// Find a Chromium binary: `$CHROMIUM`, else the usual names on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
    .find(|p| p.is_file())
}

#[test]
fn browser_shows_live_anomalies_as_text() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("HUD_BROWSER_REQUIRED").is_none(),
            "HUD_BROWSER_REQUIRED is set but no chromium was found"
        );
        eprintln!(
            "skipping browser test: chromium not found (scripts/browser-test.sh installs it)"
        );
        return;
    };
    browser_test(&browser);
}

/// With `--templates` the page shows the template panel and each feed entry's line
/// number and template; a template made from hostile text stays text.
#[test]
fn browser_shows_templates_and_line_numbers() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("HUD_BROWSER_REQUIRED").is_none(),
            "HUD_BROWSER_REQUIRED is set but no chromium was found"
        );
        eprintln!("skipping browser test: chromium not found");
        return;
    };
    let loghub = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/loghub/Linux_2k.log");
    let mut text = std::fs::read_to_string(&loghub).unwrap();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("Jul 27 14:42:00 combo kernel: <img src=x onerror=window.__pwned=1> probe\n");
    let (_, hud) = start_on("browser-templates", "Linux_2k.log", &text, &["--templates"]);
    hud.wait_for("replay end", |s| s["finished"] == true);
    let mut b = cdp::Browser::launch(&browser, 1280, 900).expect("launch chromium");
    b.user_agent(DESKTOP_UA).unwrap();
    b.navigate(&format!("http://{}/", hud.addr)).unwrap();
    let t = Duration::from_secs(20);
    b.wait_true(
        "!document.getElementById('templates-panel').hidden \
         && document.querySelectorAll('#tpl-new li').length === 8 \
         && document.querySelectorAll('#tpl-top li:not(.empty)').length > 0",
        t,
    )
    .unwrap();
    b.wait_true(
        "[...document.querySelectorAll('#feed .src')].every(e => /^Linux_2k\\.log:\\d+$/.test(e.textContent)) \
         && [...document.querySelectorAll('#feed .tmpl')].some(e => e.textContent.startsWith('template #'))",
        t,
    )
    .unwrap();
    let newest = b
        .eval("document.querySelector('#tpl-new li .t').textContent")
        .unwrap();
    assert!(
        newest
            .as_str()
            .unwrap()
            .ends_with("kernel: <img src=x onerror=window.__pwned=<*>> probe"),
        "{newest}"
    );
    assert_eq!(b.eval("typeof window.__pwned").unwrap(), "undefined");
    assert_eq!(
        b.eval("document.querySelectorAll('#templates-panel img').length")
            .unwrap(),
        0
    );
    drop(b);
    let (status, _) = hud.stop();
    assert_eq!(status.code(), Some(0));
}

/// A desktop Chrome user agent (what a person's browser sends).
const DESKTOP_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/// Where the browser test writes its laptop screenshot: `$HUD_SCREENSHOT`, else under
/// the target dir (the script points it at `docs/img/hud.png`).
fn screenshot_path() -> PathBuf {
    std::env::var_os("HUD_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("hud-browser/hud.png"))
}

/// Feed lines to a running HUD while the page is open, wait for the injected anomalies in
/// the page's feed, check hostile text stayed text, take screenshots, check the phone
/// layout.
fn browser_test(browser: &Path) {
    let (log, hud) = start_on(
        "browser",
        "app.log",
        &normal_lines(150, 0),
        &["--follow", "--backfill", "150", "--seed-count", "3000"],
    );
    let append = |text: &str| append_to(&log, text);
    hud.wait_for("history", |s| s["events"] == 150);

    let mut b = cdp::Browser::launch(browser, 1280, 900).expect("launch chromium");
    // A desktop browser's user agent: the page must use the push stream.
    b.user_agent(DESKTOP_UA).unwrap();
    b.navigate(&format!("http://{}/", hud.addr)).unwrap();
    let t = Duration::from_secs(20);
    b.wait_true(
        "document.getElementById('status').textContent === 'LIVE'",
        t,
    )
    .unwrap();
    b.wait_true("document.querySelectorAll('#meters .meter').length >= 3", t)
        .unwrap();
    b.wait_true(
        "document.getElementById('link').textContent === 'link: live (SSE)'",
        t,
    )
    .unwrap();

    // Appended while the page is open: the page must update by itself (SSE).
    append(&normal_lines(30, 150));
    append(&hostile("HOSTILE-BROWSER"));
    append(&normal_lines(20, 180));
    append(&spike("INJECTED-BROWSER"));
    append(&normal_lines(40, 200));
    let in_feed = |tag: &str| {
        format!(
            "[...document.querySelectorAll('#feed li .msg')].some(e => e.textContent.includes('{tag}'))"
        )
    };
    b.wait_true(&in_feed("INJECTED-BROWSER"), t).unwrap();
    b.wait_true(&in_feed("HOSTILE-BROWSER"), t).unwrap();

    // Hostile text is shown as text: nothing ran, no element was created from it.
    assert_eq!(b.eval("typeof window.__pwned").unwrap(), "undefined");
    assert_eq!(
        b.eval("document.querySelectorAll('#feed script, #feed img, #feed b').length")
            .unwrap(),
        0
    );
    let shown = b
        .eval(
            "[...document.querySelectorAll('#feed li .msg')].map(e => e.textContent)\
             .find(t => t.includes('HOSTILE-BROWSER'))",
        )
        .unwrap();
    let shown = shown.as_str().unwrap();
    assert!(
        shown.contains("<script>window.__pwned=1</script>"),
        "{shown}"
    );
    assert!(
        shown.contains("\u{241b}[31mHOSTILE-BROWSER"),
        "ESC shown as ␛: {shown}"
    );
    assert!(!shown.contains('\x1b'));
    assert_eq!(
        b.eval("document.getElementById('banner').hidden").unwrap(),
        true
    );
    // No --templates: no template panel.
    assert_eq!(
        b.eval("document.getElementById('templates-panel').hidden")
            .unwrap(),
        true
    );
    b.wait_true(
        "document.getElementById('s-events').textContent === '242'",
        t,
    )
    .unwrap();

    b.viewport(1280, 900, false).unwrap();
    let shot = screenshot_path();
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    // Let the last push and the entry animation settle.
    std::thread::sleep(Duration::from_millis(600));
    let png = b.screenshot().unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    std::fs::write(&shot, &png).unwrap();
    eprintln!("screenshot: {}", shot.display());

    // A phone: single column, nothing wider than the screen.
    b.viewport(390, 844, true).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let overflow = b
        .eval("document.documentElement.scrollWidth - window.innerWidth")
        .unwrap();
    assert!(
        overflow.as_f64().unwrap() <= 0.0,
        "horizontal overflow {overflow}"
    );
    let phone = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hud-browser/hud-phone.png");
    std::fs::create_dir_all(phone.parent().unwrap()).unwrap();
    std::fs::write(&phone, b.screenshot().unwrap()).unwrap();
    drop(b);

    // A one-shot load as a quick check does it: --dump-dom with a virtual-time budget
    // must finish (headless polls, a stream would stall virtual time) and show the feed,
    // with the hostile message as escaped text.
    let dom = cdp::dump_dom(
        browser,
        &format!("http://{}/", hud.addr),
        5000,
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(dom.contains("INJECTED-BROWSER"), "{dom}");
    assert!(
        dom.contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;"),
        "{dom}"
    );
    assert!(dom.contains(r#"id="s-events">242<"#), "{dom}");
    assert!(dom.contains("link: polling"), "{dom}");
    let (status, _) = hud.stop();
    assert_eq!(status.code(), Some(0));
}
