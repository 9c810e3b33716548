//! Follow-mode latency benchmark (run by `scripts/bench-follow.sh`).
//!
//! A writer appends `--rate` lines/s to a log file for `--secs` seconds (a batch every
//! millisecond) while `trace-sentinel watch --follow` follows it. Every 1000th line is a
//! spike carrying its write time; the reader of the follower's JSON output records, per
//! spike, the time from write to its `message.length` anomaly (hdrhistogram). Then the
//! follower idles and its CPU use is measured from `/proc/PID/stat`. The answer is
//! checked: the follower's `events` must equal the lines written, and every spike must be
//! reported exactly once.
//!
//! `cargo run --release --example bench_follow -- --bin target/release/trace-sentinel`

use hdrhistogram::Histogram;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SPIKE_EVERY: u64 = 1000;

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

/// utime + stime of `pid` in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn wait_for(path: &Path, timeout: Duration) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(t0.elapsed() < timeout, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bin = arg(&args, "--bin", "target/release/trace-sentinel");
    let bin = std::fs::canonicalize(&bin).unwrap_or_else(|_| PathBuf::from(&bin));
    let rate: u64 = arg(&args, "--rate", "50000").parse().expect("--rate N");
    let secs: u64 = arg(&args, "--secs", "30").parse().expect("--secs N");
    let idle_secs: u64 = arg(&args, "--idle-secs", "10")
        .parse()
        .expect("--idle-secs N");
    let extra = arg(&args, "--extra", "");
    let dir = PathBuf::from(arg(&args, "--dir", "/tmp/ts-bench-follow"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("app.log");
    let stats = dir.join("stats.json");
    std::fs::File::create(&log).unwrap();

    let mut child = Command::new(&bin)
        .current_dir(&dir)
        .args([
            "watch", "--follow", "app.log", "--format", "json", "--warmup", "100",
        ])
        .arg("--stats-json")
        .arg(&stats)
        .args(extra.split_whitespace())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the follower");
    let pid = child.id();
    wait_for(&stats, Duration::from_secs(10));

    let hist = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap(),
    ));
    let reported = Arc::new(Mutex::new(std::collections::HashMap::<u64, u32>::new()));
    let stdout = child.stdout.take().unwrap();
    let reader = {
        let (hist, reported) = (Arc::clone(&hist), Arc::clone(&reported));
        std::thread::spawn(move || {
            let mut anomalies = 0u64;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                anomalies += 1;
                // Only spikes' length anomalies: cheap prefilter before parsing.
                if !line.contains("BENCH-SPIKE") || !line.contains("\"message.length\"") {
                    continue;
                }
                let t = now_ns();
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                let msg = v["message"].as_str().unwrap_or("");
                let mut it = msg.split_whitespace().skip(1);
                let seq: u64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let sent: u64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(t);
                let us = (t.saturating_sub(sent) / 1000).max(1);
                let _ = hist.lock().unwrap().record(us);
                *reported.lock().unwrap().entry(seq).or_default() += 1;
            }
            anomalies
        })
    };

    // Writer: a batch every millisecond, keeping the cumulative count on schedule.
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let cpu0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let total = rate * secs;
    let mut written = 0u64;
    let mut spikes = 0u64;
    let mut buf = String::with_capacity(1 << 16);
    while written < total {
        let due = ((t0.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        buf.clear();
        while written < due {
            if written % SPIKE_EVERY == SPIKE_EVERY - 1 {
                use std::fmt::Write as _;
                let _ = writeln!(
                    buf,
                    "BENCH-SPIKE {spikes} {} {}",
                    now_ns(),
                    "payload ".repeat(250)
                );
                spikes += 1;
            } else {
                use std::fmt::Write as _;
                let _ = writeln!(
                    buf,
                    "2026-01-01T00:00:00Z INFO req={} user=u{} path=/api/v1/items/{} status=200 dur={}ms",
                    written,
                    written % 97,
                    written % 1013,
                    written % 250
                );
            }
            written += 1;
        }
        if !buf.is_empty() {
            file.write_all(buf.as_bytes()).unwrap();
        }
        std::thread::sleep(Duration::from_micros(1000));
    }
    let write_secs = t0.elapsed().as_secs_f64();
    let cpu_busy = cpu_ticks(pid) - cpu0;

    // Let the follower catch up, then measure it idle.
    let t_catch = Instant::now();
    loop {
        let text = std::fs::read_to_string(&stats).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if v["events"].as_u64() == Some(written) || t_catch.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let idle0 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(idle_secs));
    let idle_ticks = cpu_ticks(pid) - idle0;

    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = child.wait().unwrap();
    let anomalies = reader.join().unwrap();
    let text = std::fs::read_to_string(&stats).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let events = v["events"].as_u64().unwrap_or(0);

    let tck = clk_tck();
    let h = hist.lock().unwrap();
    let reported = reported.lock().unwrap();
    let once = reported.values().filter(|n| **n == 1).count() as u64;
    println!("follower exit: {status}");
    println!(
        "lines written: {written} in {write_secs:.1} s ({:.0} lines/s)",
        written as f64 / write_secs
    );
    println!("events observed: {events} (expected {written})");
    println!(
        "spikes: {spikes} written, {once} reported exactly once, {} reported",
        reported.len()
    );
    println!("anomaly lines on stdout: {anomalies}");
    println!(
        "latency write -> anomaly: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        h.value_at_quantile(0.50) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.value_at_quantile(0.999) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    );
    println!(
        "CPU while following: {:.1}% of one core",
        cpu_busy as f64 / tck / write_secs * 100.0
    );
    println!(
        "CPU while idle: {:.2}% of one core ({idle_ticks} ticks in {idle_secs} s)",
        idle_ticks as f64 / tck / idle_secs as f64 * 100.0
    );
    let ok = events == written && once == spikes;
    println!("answer check: {}", if ok { "ok" } else { "FAILED" });
    if !ok {
        std::process::exit(1);
    }
}
