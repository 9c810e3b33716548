//! The binary running in the background with its output collected line by line as it
//! comes (included with `#[path]` by the Alertmanager and metrics tests). Killed and
//! reaped when dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Lines = Arc<Mutex<Vec<(Instant, String)>>>;

/// A running `trace-sentinel`.
pub struct Running {
    pub child: Child,
    stdout: Lines,
    stderr: Lines,
}

fn collect(r: Box<dyn Read + Send>) -> Lines {
    let lines: Lines = Arc::default();
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push((Instant::now(), line));
        }
    });
    lines
}

impl Running {
    /// Start the binary with `args`.
    pub fn start(args: &[&str], stdin: Stdio) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trace-sentinel"))
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// Stdout so far, one entry per line.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// Stderr so far.
    pub fn stderr_text(&self) -> String {
        let lines = self.stderr.lock().unwrap();
        lines.iter().map(|(_, l)| format!("{l}\n")).collect()
    }

    /// Wait until a stdout line satisfies `pred`; when it was read.
    pub fn wait_stdout(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some((t, _)) = self.stdout.lock().unwrap().iter().find(|(_, l)| pred(l)) {
                return Some(*t);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Wait (at most 30 s) for a stderr line containing `marker`; what follows it.
    pub fn stderr_after(&self, marker: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some((_, l)) = self
                .stderr
                .lock()
                .unwrap()
                .iter()
                .find(|(_, l)| l.contains(marker))
            {
                return l.split(marker).nth(1).unwrap().trim().to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no '{marker}' on stderr:\n{}",
                self.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The `host:port` of `--metrics-addr`, as printed on stderr.
    pub fn metrics_addr(&self) -> String {
        let url = self.stderr_after("metrics on http://");
        url.trim_end_matches("/metrics").to_string()
    }

    /// SIGTERM, then the exit code (the readers get a moment for the last lines).
    pub fn stop(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let code = self.child.wait().unwrap().code();
        std::thread::sleep(Duration::from_millis(100));
        code
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
