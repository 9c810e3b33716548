//! Webhook sink against a real HTTP server on a loopback ephemeral port: normal delivery,
//! a slow server, timeouts, 5xx then recovery, a non-retryable answer, a server that is
//! down, and the CLI end to end (`--webhook` receives exactly what `--format json`
//! prints). Every test asserts exact delivered/dropped/failed counts.

#[path = "support/scratch.rs"]
mod scratch;
use scratch::scratch;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use trace_sentinel_core::Timestamp;
use trace_sentinel_core::{Anomaly, Severity, Sink};
use trace_sentinel_webhook::{
    FailureReason, WebhookCounts, WebhookOptions, WebhookSink, BATCH_HEADER,
};

/// How the test server answers one request (by arrival index).
#[derive(Debug, Clone, Copy)]
enum Reply {
    /// 200 at once.
    Ok,
    /// This status at once.
    Status(u16),
    /// This status at once, with this `Retry-After` header.
    RetryAfter(u16, &'static str),
    /// Sleep, then 200: the client has timed out by then (not acknowledged).
    Stall(Duration),
    /// Wait until the gate opens, then 200.
    Hold,
    /// 200 without Content-Length, connection left open (body delimited by a close
    /// that never comes).
    NoLength,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    /// Whether the server answered 2xx in time (the client counts it delivered).
    acknowledged: bool,
    /// When it arrived.
    at: Instant,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Plan = Arc<dyn Fn(usize) -> Reply + Send + Sync>;

struct Shared {
    seen: Mutex<Vec<Seen>>,
    gate: (Mutex<bool>, Condvar),
    plan: Plan,
    arrived: Mutex<Sender<usize>>,
}

/// A tiny HTTP/1.1 server: one thread per connection, keep-alive, Content-Length bodies.
struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    arrived: Receiver<usize>,
}

impl Server {
    fn start(plan: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            seen: Mutex::new(Vec::new()),
            gate: (Mutex::new(false), Condvar::new()),
            plan: Arc::new(plan),
            arrived: Mutex::new(tx),
        });
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let s = Arc::clone(&s);
                std::thread::spawn(move || serve(conn, &s));
            }
        });
        Server {
            addr,
            shared,
            arrived: rx,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn open_gate(&self) {
        let (m, cv) = &self.shared.gate;
        *m.lock().unwrap() = true;
        cv.notify_all();
    }

    fn wait_arrivals(&self, n: usize) {
        for _ in 0..n {
            self.arrived
                .recv_timeout(Duration::from_secs(20))
                .expect("request never arrived");
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// The objects of every acknowledged batch, in order, as raw JSON texts.
    fn delivered_objects(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in self.seen().iter().filter(|s| s.acknowledged) {
            let v: serde_json::Value = serde_json::from_str(&s.body).expect("body is JSON");
            for obj in v.as_array().expect("body is an array") {
                out.push(obj.to_string());
            }
        }
        out
    }

    /// The inner texts of acknowledged bodies joined with ',' (byte comparison).
    fn delivered_raw(&self) -> String {
        self.seen()
            .iter()
            .filter(|s| s.acknowledged)
            .map(|s| {
                let b = s.body.as_str();
                assert!(b.starts_with('[') && b.ends_with(']'), "{b}");
                b[1..b.len() - 1].to_string()
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn serve(conn: TcpStream, s: &Shared) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let index = {
            let mut seen = s.seen.lock().unwrap();
            seen.push(Seen {
                path,
                headers,
                body: String::from_utf8(body).unwrap(),
                acknowledged: false,
                at: Instant::now(),
            });
            seen.len() - 1
        };
        let _ = s.arrived.lock().unwrap().send(index);
        let reply = (s.plan)(index);
        let mut retry_after = None;
        let status = match reply {
            Reply::Ok => 200,
            Reply::Status(code) => code,
            Reply::RetryAfter(code, after) => {
                retry_after = Some(after);
                code
            }
            Reply::Stall(d) => {
                std::thread::sleep(d);
                let _ = respond(&mut conn, 200, None);
                return; // the client gave up on this connection
            }
            Reply::NoLength => {
                s.seen.lock().unwrap()[index].acknowledged = true;
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nok");
                let _ = conn.flush();
                continue;
            }
            Reply::Hold => {
                let (m, cv) = &s.gate;
                let mut open = m.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
                200
            }
        };
        if (200..300).contains(&status) {
            s.seen.lock().unwrap()[index].acknowledged = true;
        }
        if respond(&mut conn, status, retry_after).is_err() {
            return;
        }
    }
}

fn respond(conn: &mut TcpStream, status: u16, retry_after: Option<&str>) -> std::io::Result<()> {
    let body = "ok";
    let extra = retry_after.map_or(String::new(), |v| format!("Retry-After: {v}\r\n"));
    write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n{extra}\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

/// Options for fast tests: short delays, small backoff.
fn opts(url: String) -> WebhookOptions {
    let mut o = WebhookOptions::new(url);
    o.delivery.batch_size = 10;
    o.delivery.batch_delay = Duration::from_millis(50);
    o.delivery.backoff = Duration::from_millis(10);
    o.delivery.max_backoff = Duration::from_millis(40);
    o.delivery.timeout = Duration::from_secs(5);
    o.delivery.flush_timeout = Duration::from_secs(20);
    o
}

/// Call `f` with the `i`-th test anomaly and return its `--format json` rendering.
fn with_anomaly(i: usize, f: impl FnOnce(&Anomaly<'_>)) -> String {
    let ts = Timestamp::from_epoch_seconds(1_700_000_000.25).unwrap();
    let message = format!("line {i} with \"quotes\", commas, σ and \u{1}");
    let a = Anomaly {
        metric: "message.length",
        value: i as f64 * 1.5,
        score: 4.0 + i as f64,
        severity: Severity::Critical,
        threshold: 3.0,
        semantic: false,
        timestamp: ts,
        source: "web-01",
        message: &message,
        message_wtf8: None,
        context: Default::default(),
    };
    f(&a);
    let (mut json, mut scratch) = (String::new(), String::new());
    a.write_json(&mut json, &mut scratch);
    json
}

/// Emit anomalies `from..from + n`; returns their `--format json` renderings.
fn emit(sink: &mut WebhookSink, from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| with_anomaly(i, |a| sink.emit(a).unwrap()))
        .collect()
}

/// The counts compared by the tests (the failure reason is checked where it matters).
type Numbers = (u64, u64, u64, u64, u64, u64);

fn counts(
    queued: u64,
    delivered: u64,
    dropped: u64,
    failed: u64,
    requests: u64,
    retries: u64,
) -> Numbers {
    (queued, delivered, dropped, failed, requests, retries)
}

fn numbers(c: WebhookCounts) -> Numbers {
    (
        c.queued,
        c.delivered,
        c.dropped,
        c.failed,
        c.requests,
        c.retries,
    )
}

#[test]
fn normal_delivery_sends_each_object_once_byte_identical() {
    let server = Server::start(|_| Reply::Ok);
    let mut o = opts(server.url());
    o.headers
        .push(("Authorization".to_string(), "Bearer t0ken".to_string()));
    let mut sink = WebhookSink::new(o).unwrap();
    let sent = emit(&mut sink, 0, 25);
    let c = sink.finish();
    assert_eq!(c.queued, 25);
    assert_eq!((c.delivered, c.dropped, c.failed, c.retries), (25, 0, 0, 0));
    assert_eq!(server.delivered_raw(), sent.join(","));
    let seen = server.seen();
    assert_eq!(c.requests, seen.len() as u64);
    assert!(seen.len() >= 3, "batches of at most 10");
    let mut ids = Vec::new();
    for s in &seen {
        assert_eq!(s.path, "/hook");
        assert_eq!(s.header("authorization"), Some("Bearer t0ken"));
        assert_eq!(s.header("content-type"), Some("application/json"));
        ids.push(s.header(BATCH_HEADER).unwrap().to_string());
        let n = serde_json::from_str::<serde_json::Value>(&s.body).unwrap();
        assert!(n.as_array().unwrap().len() <= 10);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), seen.len(), "batch ids are unique");
}

#[test]
fn batch_delay_sends_a_partial_batch_without_waiting_for_more() {
    let server = Server::start(|_| Reply::Ok);
    let mut o = opts(server.url());
    o.delivery.batch_size = 1000;
    let mut sink = WebhookSink::new(o).unwrap();
    let sent = emit(&mut sink, 0, 3);
    server.wait_arrivals(1); // sent after batch_delay, while the sink stays open
    let deadline = Instant::now() + Duration::from_secs(20);
    while sink.counts().delivered < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(numbers(sink.counts()), counts(3, 3, 0, 0, 1, 0));
    drop(sink); // drop flushes too
    assert_eq!(server.delivered_raw(), sent.join(","));
}

#[test]
fn slow_server_never_stalls_detection_and_overflow_is_counted() {
    // The first request hangs until the gate opens; the queue holds 4.
    let server = Server::start(|i| if i == 0 { Reply::Hold } else { Reply::Ok });
    let mut o = opts(server.url());
    o.delivery.batch_size = 2;
    o.delivery.batch_delay = Duration::from_secs(5);
    o.delivery.queue_capacity = 4;
    let mut sink = WebhookSink::new(o).unwrap();
    let first = emit(&mut sink, 0, 2);
    server.wait_arrivals(1); // the worker holds batch 1 in flight, the queue is empty
    let start = Instant::now();
    let queued = emit(&mut sink, 2, 4);
    let _dropped = emit(&mut sink, 6, 5);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "emit must not wait for the endpoint"
    );
    assert_eq!(numbers(sink.counts()), counts(6, 0, 5, 0, 1, 0));
    server.open_gate();
    let c = sink.finish();
    assert_eq!(numbers(c), counts(6, 6, 5, 0, 3, 0));
    let expected: Vec<String> = first.into_iter().chain(queued).collect();
    assert_eq!(server.delivered_raw(), expected.join(","));
}

#[test]
fn byte_bound_on_the_queue_drops_oversized_backlog() {
    let server = Server::start(|i| if i == 0 { Reply::Hold } else { Reply::Ok });
    let mut o = opts(server.url());
    o.delivery.batch_size = 1;
    // Room for two and a half objects: exactly 2 of the next 5 fit.
    o.delivery.queue_bytes = with_anomaly(3, |_| {}).len() * 5 / 2;
    let mut sink = WebhookSink::new(o).unwrap();
    emit(&mut sink, 0, 1);
    server.wait_arrivals(1); // in flight, no longer queued
    emit(&mut sink, 1, 5);
    assert_eq!(numbers(sink.counts()), counts(3, 0, 3, 0, 1, 0));
    server.open_gate();
    assert_eq!(numbers(sink.finish()), counts(3, 3, 3, 0, 3, 0));
}

#[test]
fn server_errors_are_retried_until_recovery() {
    let server = Server::start(|i| match i {
        0 => Reply::Status(500),
        1 => Reply::Status(503),
        2 => Reply::Status(429),
        _ => Reply::Ok,
    });
    let mut sink = WebhookSink::new(opts(server.url())).unwrap();
    let sent = emit(&mut sink, 0, 5);
    let c = sink.finish();
    assert_eq!(numbers(c), counts(5, 5, 0, 0, 4, 3));
    assert_eq!(server.delivered_objects().len(), 5);
    assert_eq!(server.delivered_raw(), sent.join(","));
    let seen = server.seen();
    let ids: Vec<_> = seen.iter().map(|s| s.header(BATCH_HEADER)).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "retries keep the batch id"
    );
}

#[test]
fn retry_after_is_honoured() {
    let server = Server::start(|i| match i {
        0 => Reply::RetryAfter(503, "1"),
        _ => Reply::Ok,
    });
    // The backoff alone would retry after at most 10 ms.
    let mut sink = WebhookSink::new(opts(server.url())).unwrap();
    let sent = emit(&mut sink, 0, 3);
    assert_eq!(numbers(sink.finish()), counts(3, 3, 0, 0, 2, 1));
    assert_eq!(server.delivered_raw(), sent.join(","));
    let seen = server.seen();
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
}

#[test]
fn retry_after_is_capped() {
    let server = Server::start(|i| match i {
        0 => Reply::RetryAfter(429, "3600"),
        1 => Reply::RetryAfter(429, "Fri, 31 Dec 9999 23:59:59 GMT"),
        _ => Reply::Ok,
    });
    let mut o = opts(server.url());
    o.delivery.max_retry_after = Duration::from_millis(100);
    let mut sink = WebhookSink::new(o).unwrap();
    let start = Instant::now();
    emit(&mut sink, 0, 2);
    assert_eq!(numbers(sink.finish()), counts(2, 2, 0, 0, 3, 2));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let seen = server.seen();
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(100));
}

/// While running, the first failed request is reported with its cause, the next ones
/// within the warning interval are not, and recovery is reported once.
#[test]
fn failures_and_recovery_are_reported_while_running() {
    let server = Server::start(|i| match i {
        0 | 1 => Reply::Status(503),
        _ => Reply::Ok,
    });
    let notices = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&notices);
    let sink = WebhookSink::new(opts(server.url()))
        .unwrap()
        .on_warning(move |t| seen.lock().unwrap().push(t.to_string()));
    let mut sink = sink;
    emit(&mut sink, 0, 2);
    let target = format!("http://{}", server.addr);
    let deadline = Instant::now() + Duration::from_secs(20);
    while notices.lock().unwrap().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        *notices.lock().unwrap(),
        [
            format!("webhook {target}: request failed (HTTP 503); retrying"),
            format!("webhook {target}: delivering again after 2 failed requests"),
        ]
    );
    assert_eq!(numbers(sink.finish()), counts(2, 2, 0, 0, 3, 2));
}

#[test]
fn timeouts_are_retried() {
    let server = Server::start(|i| {
        if i == 0 {
            Reply::Stall(Duration::from_millis(1500))
        } else {
            Reply::Ok
        }
    });
    let mut o = opts(server.url());
    o.delivery.timeout = Duration::from_millis(300);
    let mut sink = WebhookSink::new(o).unwrap();
    let sent = emit(&mut sink, 0, 3);
    let c = sink.finish();
    assert_eq!(numbers(c), counts(3, 3, 0, 0, 2, 1));
    assert_eq!(c.last_failure, Some(FailureReason::Timeout));
    assert_eq!(server.delivered_raw(), sent.join(","));
}

#[test]
fn answers_without_length_do_not_stall_delivery() {
    let server = Server::start(|_| Reply::NoLength);
    let mut o = opts(server.url());
    o.delivery.batch_size = 2;
    o.delivery.timeout = Duration::from_secs(5);
    let mut sink = WebhookSink::new(o).unwrap();
    let start = Instant::now();
    let sent = emit(&mut sink, 0, 6);
    let c = sink.finish();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(numbers(c), counts(6, 6, 0, 0, 3, 0));
    assert_eq!(server.delivered_raw(), sent.join(","));
}

#[test]
fn held_anomalies_leave_only_on_flush() {
    let server = Server::start(|_| Reply::Ok);
    let mut o = opts(server.url());
    o.delivery.hold_until_flush = true;
    let mut sink = WebhookSink::new(o).unwrap();
    let first = emit(&mut sink, 0, 3);
    std::thread::sleep(Duration::from_millis(300)); // 6x the batch delay
    assert_eq!(numbers(sink.counts()), counts(0, 0, 0, 0, 0, 0));
    assert!(server.seen().is_empty());
    sink.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sink.counts().delivered < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(numbers(sink.counts()), counts(3, 3, 0, 0, 1, 0));
    // Held but never flushed: finish sends them too.
    let second = emit(&mut sink, 3, 2);
    assert_eq!(numbers(sink.finish()), counts(5, 5, 0, 0, 2, 0));
    let all: Vec<String> = first.into_iter().chain(second).collect();
    assert_eq!(server.delivered_raw(), all.join(","));
}

#[test]
fn client_errors_are_not_retried() {
    let server = Server::start(|_| Reply::Status(400));
    let mut sink = WebhookSink::new(opts(server.url())).unwrap();
    emit(&mut sink, 0, 4);
    let c = sink.finish();
    assert_eq!(numbers(c), counts(4, 0, 0, 4, 1, 0));
    assert!(
        c.summary().contains("4 failed (HTTP 400)"),
        "{}",
        c.summary()
    );
}

/// A loopback URL nothing listens on.
fn dead_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/hook")
}

#[test]
fn server_down_gives_up_after_retries() {
    let mut o = opts(dead_url());
    o.delivery.max_retries = 2;
    let mut sink = WebhookSink::new(o).unwrap();
    emit(&mut sink, 0, 7);
    let c = sink.finish();
    assert_eq!(numbers(c), counts(7, 0, 0, 7, 3, 2));
    assert_eq!(c.last_failure, Some(FailureReason::Refused));
    assert!(
        c.summary().contains("7 failed (connection refused)"),
        "{}",
        c.summary()
    );
}

#[test]
fn server_down_final_flush_is_bounded() {
    let mut o = opts(dead_url());
    o.delivery.max_retries = 1000;
    o.delivery.backoff = Duration::from_millis(50);
    o.delivery.max_backoff = Duration::from_millis(50);
    o.delivery.flush_timeout = Duration::from_millis(300);
    let mut sink = WebhookSink::new(o).unwrap();
    emit(&mut sink, 0, 25);
    let start = Instant::now();
    let c = sink.finish();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!((c.queued, c.delivered, c.dropped, c.failed), (25, 0, 0, 25));
}

#[test]
fn invalid_configuration_is_a_typed_error() {
    for url in ["ftp://example.com/", "example.com/hook", "http://"] {
        let err = WebhookSink::new(WebhookOptions::new(url)).unwrap_err();
        assert!(
            matches!(
                err,
                trace_sentinel_core::Error::Config {
                    flag: "--webhook",
                    ..
                }
            ),
            "{err}"
        );
    }
    let mut o = WebhookOptions::new("http://127.0.0.1:9/");
    o.headers.push(("bad name".into(), "v".into()));
    assert!(WebhookSink::new(o).is_err());
}

// ----- CLI end to end -----

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_trace-sentinel")
}

fn dataset(name: &str) -> String {
    format!("{}/datasets/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Run the binary with `--format json --webhook URL`; return stdout lines and stderr.
fn run_cli(args: &[&str], url: &str) -> (Vec<String>, String) {
    let out = Command::new(bin())
        .args(args)
        .args(["--format", "json", "--webhook", url])
        .args(["--webhook-header", "X-Api-Key: k3y"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines = stdout.lines().map(str::to_string).collect();
    (lines, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_same_as_stdout(server: &Server, lines: &[String], stderr: &str) {
    assert_received_stdout(server, lines, stderr);
    assert_eq!(server.delivered_objects().len(), lines.len());
    assert!(server
        .seen()
        .iter()
        .all(|s| s.header("x-api-key") == Some("k3y")));
}

/// Byte-identical objects, same order, each exactly once, nothing reported lost.
fn assert_received_stdout(server: &Server, lines: &[String], stderr: &str) {
    assert!(!lines.is_empty());
    assert_eq!(server.delivered_raw(), lines.join(","));
    assert!(!stderr.contains("trace-sentinel: webhook"), "{stderr}");
}

#[test]
fn cli_watch_semantic_webhook_receives_exactly_stdout() {
    let server = Server::start(|_| Reply::Ok);
    let (lines, stderr) = run_cli(
        &["watch", &dataset("demo.log"), "--semantic"],
        &server.url(),
    );
    assert_same_as_stdout(&server, &lines, &stderr);
}

#[test]
fn cli_watch_jsonl_many_batches() {
    let server = Server::start(|_| Reply::Ok);
    let (lines, stderr) = run_cli(
        &["watch", &dataset("demo.jsonl"), "--jsonl", "--semantic"],
        &server.url(),
    );
    assert!(lines.len() > 100, "several batches: {}", lines.len());
    assert_same_as_stdout(&server, &lines, &stderr);
}

#[test]
fn cli_scan_webhook_receives_exactly_stdout() {
    let server = Server::start(|i| {
        if i == 0 {
            Reply::Status(502)
        } else {
            Reply::Ok
        }
    });
    let (lines, stderr) = run_cli(
        &["scan", &dataset("loghub/BGL_2k.log"), "--semantic"],
        &server.url(),
    );
    assert_same_as_stdout(&server, &lines, &stderr);
    // The failed first request and the recovery were reported while running.
    let target = format!("http://{}", server.addr);
    assert!(
        stderr.contains(&format!(
            "trace-sentinel: warning: webhook {target}: request failed (HTTP 502); retrying"
        )) && stderr.contains(&format!(
            "trace-sentinel: warning: webhook {target}: delivering again after 1 failed requests"
        )),
        "{stderr}"
    );
}

#[test]
fn cli_reports_undeliverable_anomalies_on_stderr() {
    let url = dead_url();
    let target = url.trim_end_matches("/hook");
    let out = Command::new(bin())
        .args(["watch", &dataset("demo.log"), "--format", "json"])
        .args(["--webhook", &url])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let n = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(
        stderr.contains(&format!(
            "trace-sentinel: webhook {target}: 0 delivered, 0 dropped (queue full), {n} failed (connection refused)"
        )),
        "{stderr}"
    );
    // While running: the first failure, with its cause, once (rate-limited).
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("trace-sentinel: warning: webhook"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0]
            == format!(
                "trace-sentinel: warning: webhook {target}: request failed (connection refused); retrying"
            ),
        "{stderr}"
    );
}

#[test]
fn cli_rejects_bad_webhook_flags() {
    for args in [
        vec!["--webhook", "ftp://x/"],
        vec![
            "--webhook",
            "http://127.0.0.1:9/",
            "--webhook-header",
            "nocolon",
        ],
        vec!["--webhook-header", "A: b"],
    ] {
        let out = Command::new(bin())
            .args(["watch", &dataset("demo.log")])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
}

/// `watch --follow --state` with a webhook: anomalies are held until the checkpoint that
/// makes their lines durable, then delivered; the receiver gets exactly stdout.
#[test]
fn cli_follow_with_state_delivers_exactly_stdout() {
    let server = Server::start(|_| Reply::Ok);
    let tmp = scratch("webhook-follow");
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let log = dir.join("app.log");
    std::fs::copy(dataset("demo.log"), &log).unwrap();
    let stats = dir.join("stats.json");
    let mut child = Command::new(bin())
        .args([
            "watch",
            "-f",
            "--from-start",
            "--semantic",
            "--format",
            "json",
        ])
        .arg(&log)
        .arg("--state")
        .arg(dir.join("state"))
        .arg("--stats-json")
        .arg(&stats)
        .args(["--checkpoint-interval", "100", "--webhook", &server.url()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = std::fs::read_to_string(&stats)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["events"].as_u64())
            .unwrap_or(0);
        if events >= 5000 {
            break;
        }
        if Instant::now() >= deadline {
            // Reaped before the scratch dir it writes into is removed.
            let _ = child.kill();
            let _ = child.wait();
            panic!("follower never read the file");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    assert_received_stdout(&server, &lines, &String::from_utf8_lossy(&out.stderr));
}

/// A follower's `--stats-json` follows a failing webhook while no line arrives: the
/// delivery counts in the file keep moving after the input is read (they are not only
/// written with the next line or at exit).
#[test]
fn cli_follow_stats_show_delivery_trouble_while_no_line_arrives() {
    let tmp = scratch("webhook-follow-stats");
    let dir = tmp.path();
    let log = dir.join("app.log");
    std::fs::copy(dataset("demo.log"), &log).unwrap();
    let lines = std::fs::read_to_string(&log).unwrap().lines().count() as u64;
    let stats = dir.join("stats.json");
    let mut child = Command::new(bin())
        .args(["watch", "-f", "--from-start", "--format", "json"])
        .arg(&log)
        .arg("--stats-json")
        .arg(&stats)
        .args(["--checkpoint-interval", "100", "--webhook", &dead_url()])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("err.txt")).unwrap())
        .spawn()
        .unwrap();
    // The webhook's requests in the statistics file, once every line was read.
    let requests = || {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&stats).ok()?).ok()?;
        let d = &v["delivery"][0];
        assert_eq!(d["sink"], "webhook", "{v}");
        (v["events"].as_u64() == Some(lines)).then(|| d["requests"].as_u64().unwrap_or(0))
    };
    let wait_for = |what: &str, ok: &dyn Fn(u64) -> bool, child: &mut std::process::Child| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(n) = requests().filter(|&n| ok(n)) {
                return n;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what}: {:?}", std::fs::read_to_string(&stats));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let first = wait_for("the input read and a request made", &|n| n > 0, &mut child);
    let later = wait_for("more requests after the input", &|n| n > first, &mut child);
    assert!(later > first);
    assert!(child.try_wait().unwrap().is_none(), "still following");
    let _ = child.kill();
    let _ = child.wait();
    let err = std::fs::read_to_string(dir.join("err.txt")).unwrap();
    assert!(err.contains("(connection refused); retrying"), "{err}");
}
