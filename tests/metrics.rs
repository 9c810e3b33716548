//! `--metrics-addr` end to end: a follower's endpoint after known input (events, bytes,
//! anomalies by metric and severity, lag, rotations, checkpoints, deliveries) holds the
//! exact values, and `promtool check metrics` accepts it; `scan` serves its stage
//! latencies while it reads.

#[path = "support/logs.rs"]
mod logs;
#[path = "support/prometheus.rs"]
mod prometheus;
#[path = "support/running.rs"]
mod running;
#[path = "support/scratch.rs"]
mod scratch;

use logs::{append, truncate};
use prometheus::{http_get, promtool_bin, promtool_check};
use running::Running;
use scratch::scratch;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_trace-sentinel");

fn normal_lines(n: usize, offset: usize) -> String {
    logs::normal_lines("web", n, offset)
}

fn spike(tag: &str) -> String {
    format!("ERROR {tag} upstream reset {}\n", "timeout; ".repeat(80))
}

/// A webhook receiver that acknowledges everything (keep-alive, Content-Length bodies).
fn accepting_receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line.trim_end().is_empty() {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    if conn
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}/hook")
}

/// Samples of an exposition: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

/// Scrape until `done(samples)` holds; the exposition then.
fn scrape_until(addr: &str, what: &str, done: impl Fn(&BTreeMap<String, f64>) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = http_get(addr, "/metrics").expect("scrape");
        assert_eq!(status, 200);
        if done(&samples(&body)) {
            return body;
        }
        assert!(Instant::now() < deadline, "never {what}:\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn get(s: &BTreeMap<String, f64>, key: &str) -> f64 {
    *s.get(key)
        .unwrap_or_else(|| panic!("no sample {key} in {s:#?}"))
}

#[test]
fn follow_metrics_hold_exact_counts_and_pass_promtool() {
    let promtool = promtool_bin("follow_metrics_hold_exact_counts_and_pass_promtool");
    let tmp = scratch("metrics-follow");
    let dir = tmp.path();
    let log = dir.join("app.log");
    append(&log, &normal_lines(400, 0));
    append(&log, &spike("one"));
    let path = log.to_str().unwrap().to_string();
    let hook = accepting_receiver();
    let run = Running::start(
        &[
            "watch",
            "-f",
            "--from-start",
            &path,
            "--format",
            "json",
            "--metrics-addr",
            "127.0.0.1:0",
            "--state",
            dir.join("state").to_str().unwrap(),
            "--checkpoint-interval",
            "50",
            "--webhook",
            &hook,
        ],
        Stdio::null(),
    );
    let addr = run.metrics_addr();
    let delivered = |s: &BTreeMap<String, f64>| {
        s.iter()
            .filter(|(k, _)| {
                k.starts_with("trace_sentinel_delivery_anomalies_total{")
                    && k.contains("outcome=\"delivered\"")
            })
            .map(|(_, v)| *v)
            .sum::<f64>()
    };
    let anomalies = |s: &BTreeMap<String, f64>| {
        s.iter()
            .filter(|(k, _)| k.starts_with("trace_sentinel_anomalies_total{"))
            .map(|(_, v)| *v)
            .sum::<f64>()
    };
    let body = scrape_until(&addr, "401 events, all delivered", |s| {
        s.get("trace_sentinel_events_total") == Some(&401.0)
            && anomalies(s) > 0.0
            && delivered(s) == anomalies(s)
    });
    let s = samples(&body);
    let size = std::fs::metadata(&log).unwrap().len() as f64;
    let p = format!("{{path=\"{path}\"}}");
    assert_eq!(get(&s, "trace_sentinel_read_bytes_total"), size);
    assert_eq!(
        get(&s, &format!("trace_sentinel_follow_read_bytes_total{p}")),
        size
    );
    assert_eq!(get(&s, &format!("trace_sentinel_follow_lag_bytes{p}")), 0.0);
    assert_eq!(
        get(&s, &format!("trace_sentinel_follow_lag_seconds{p}")),
        0.0
    );
    assert_eq!(get(&s, "trace_sentinel_sources"), 1.0);
    assert!(get(&s, "trace_sentinel_checkpoints_total") >= 1.0);
    assert!(get(&s, "trace_sentinel_checkpoint_last_bytes") > 0.0);
    assert_eq!(get(&s, "trace_sentinel_checkpoint_failures_total"), 0.0);
    assert!(
        get(
            &s,
            "trace_sentinel_stage_duration_seconds_count{stage=\"read_detect\"}"
        ) >= 1.0
    );
    // Anomalies by metric and severity are exactly those printed.
    let mut printed: BTreeMap<String, f64> = BTreeMap::new();
    for line in run.stdout_lines() {
        let a: serde_json::Value = serde_json::from_str(&line).unwrap();
        let key = format!(
            "trace_sentinel_anomalies_total{{metric=\"{}\",severity=\"{}\"}}",
            a["metric"].as_str().unwrap(),
            a["severity"].as_str().unwrap()
        );
        *printed.entry(key).or_default() += 1.0;
    }
    let served: BTreeMap<String, f64> = s
        .iter()
        .filter(|(k, _)| k.starts_with("trace_sentinel_anomalies_total{"))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(served, printed);
    assert!(printed.contains_key(
        "trace_sentinel_anomalies_total{metric=\"message.length\",severity=\"critical\"}"
    ));
    let target = hook.trim_end_matches("/hook");
    let d = |outcome: &str| {
        get(
            &s,
            &format!(
                "trace_sentinel_delivery_anomalies_total{{sink=\"webhook\",target=\"{target}\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!((d("dropped"), d("failed")), (0.0, 0.0));
    if let Some(pt) = &promtool {
        promtool_check(pt, &body).unwrap();
    }

    // Rename rotation, then copytruncate (no copy kept): both counted.
    std::fs::rename(&log, dir.join("app.log.1")).unwrap();
    append(&log, &normal_lines(10, 400));
    scrape_until(&addr, "the rotated file read", |s| {
        s.get("trace_sentinel_events_total") == Some(&411.0)
    });
    truncate(&log);
    append(&log, &normal_lines(5, 410));
    let body = scrape_until(&addr, "the truncated file read", |s| {
        s.get("trace_sentinel_events_total") == Some(&416.0)
    });
    let s = samples(&body);
    let kind = |k: &str| {
        get(
            &s,
            &format!("trace_sentinel_follow_rotations_total{{path=\"{path}\",kind=\"{k}\"}}"),
        )
    };
    assert_eq!((kind("replaced"), kind("truncated")), (1.0, 1.0));
    if let Some(pt) = &promtool {
        promtool_check(pt, &body).unwrap();
    }
    let stderr = run.stderr_text();
    assert_eq!(run.stop(), Some(0), "{stderr}");
}

#[test]
fn scan_serves_stage_latencies_while_it_reads() {
    let promtool = promtool_bin("scan_serves_stage_latencies_while_it_reads");
    let tmp = scratch("metrics-scan");
    let stats = tmp.path().join("stats.json");
    let mut run = Running::start(
        &[
            "scan",
            "-",
            "--threads",
            "2",
            "--chunk-size",
            "4096",
            "--progress",
            "never",
            "--metrics-addr",
            "localhost:0",
            "--stats-json",
            stats.to_str().unwrap(),
        ],
        Stdio::piped(),
    );
    let addr = run.metrics_addr();
    let mut stdin = run.child.stdin.take().unwrap();
    let lines = normal_lines(5000, 0);
    stdin.write_all(lines.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let body = scrape_until(&addr, "chunks detected", |s| {
        ["read", "parse_extract", "detect"].iter().all(|st| {
            s.get(&format!(
                "trace_sentinel_stage_duration_seconds_count{{stage=\"{st}\"}}"
            ))
            .is_some_and(|n| *n > 0.0)
        }) && s
            .get("trace_sentinel_events_total")
            .is_some_and(|n| *n > 0.0)
    });
    let s = samples(&body);
    assert!(get(&s, "trace_sentinel_read_bytes_total") > 0.0);
    assert_eq!(
        get(
            &s,
            "trace_sentinel_stage_duration_seconds_bucket{stage=\"detect\",le=\"+Inf\"}"
        ),
        get(
            &s,
            "trace_sentinel_stage_duration_seconds_count{stage=\"detect\"}"
        )
    );
    if let Some(pt) = &promtool {
        promtool_check(pt, &body).unwrap();
    }
    drop(stdin);
    let status = run.child.wait().unwrap();
    assert!(status.success(), "{}", run.stderr_text());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(doc["events"], 5000);
    assert_eq!(doc["bytes"], lines.len());
    assert_eq!(doc["delivery"], serde_json::json!([]));
}

#[test]
fn bad_metrics_addresses_exit_2() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    for (addr, says) in [
        ("9787", "is not an address to listen on"),
        ("example.com:9787", "is not an address to listen on"),
        (busy.as_str(), "cannot listen on"),
    ] {
        let out = Command::new(BIN)
            .args(["scan", "-", "--metrics-addr", addr])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{addr}: {stderr}");
        assert!(
            stderr.starts_with("trace-sentinel: error: invalid value for --metrics-addr: ")
                && stderr.contains(says)
                && stderr.lines().count() == 1,
            "{addr}: {stderr}"
        );
    }
}
