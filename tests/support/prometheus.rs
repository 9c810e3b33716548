//! The real Prometheus tools the tests run (included with `#[path]`): Debian's
//! `prometheus-alertmanager`, started on a free loopback port with a configuration in a
//! scratch directory, and `promtool check metrics`.
//!
//! A missing tool fails the test when `apt-get` exists (`.ci/run` installs the packages
//! `prometheus-alertmanager` and `prometheus`); only where apt itself is unavailable is
//! the test skipped, with a notice on stderr.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The tool at `$env_var`, or the first of `names` on `PATH`; `None` (after a notice)
/// only when apt is unavailable to install `package`.
pub fn tool(env_var: &str, names: &[&str], package: &str, test: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_var) {
        return Some(PathBuf::from(p));
    }
    if let Some(p) = names.iter().find_map(|n| on_path(n)) {
        return Some(p);
    }
    if on_path("apt-get").is_some() {
        panic!(
            "{test}: {} not found; install it with `apt-get install {package}` (.ci/run does)",
            names[0]
        );
    }
    eprintln!(
        "note: {test} skipped: {} is not installed and apt-get is unavailable to install {package}",
        names[0]
    );
    None
}

/// `prometheus-alertmanager`, if it can be had.
pub fn alertmanager_bin(test: &str) -> Option<PathBuf> {
    tool(
        "ALERTMANAGER",
        &["prometheus-alertmanager", "alertmanager"],
        "prometheus-alertmanager",
        test,
    )
}

/// `promtool`, if it can be had.
pub fn promtool_bin(test: &str) -> Option<PathBuf> {
    tool("PROMTOOL", &["promtool"], "prometheus", test)
}

/// `promtool check metrics` on `text`: Ok, or its complaints.
pub fn promtool_check(promtool: &Path, text: &str) -> Result<(), String> {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("promtool ({}): {said}", out.status))
    }
}

/// A free loopback port (released again: a small race that the callers retry).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A plain HTTP/1.1 GET against a loopback address: (status, body).
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok((status, if chunked { dechunk(body) } else { body.into() }))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A running Alertmanager with its own scratch directory, stopped when dropped.
pub struct Alertmanager {
    bin: PathBuf,
    dir: TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl Alertmanager {
    /// Start one on a free loopback port; `None` where the test must be skipped.
    pub fn start(test: &str) -> Option<Alertmanager> {
        let bin = alertmanager_bin(test)?;
        let dir = tempfile::Builder::new()
            .prefix("ts-alertmanager-")
            .tempdir()
            .unwrap();
        std::fs::write(
            dir.path().join("alertmanager.yml"),
            "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n",
        )
        .unwrap();
        let mut am = Alertmanager {
            bin,
            dir,
            port: 0,
            child: None,
        };
        // The free port may be taken before Alertmanager binds it: try another.
        for _ in 0..5 {
            am.port = free_port();
            if am.run() {
                return Some(am);
            }
        }
        panic!("{test}: Alertmanager did not start:\n{}", am.log());
    }

    /// Start the process on `self.port` and wait until it is ready; false if it exits.
    fn run(&mut self) -> bool {
        let d = self.dir.path();
        let log = std::fs::File::create(d.join("alertmanager.log")).unwrap();
        let child = Command::new(&self.bin)
            .arg(format!(
                "--config.file={}",
                d.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", d.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            // No HA gossip: a single instance, nothing bound but the API.
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus-alertmanager");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return false;
            }
            if matches!(http_get(&self.addr(), "/-/ready"), Ok((200, _))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The base URL `--alertmanager` takes.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The active alerts (`GET /api/v2/alerts`).
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        let (status, body) = http_get(&self.addr(), "/api/v2/alerts").expect("alerts");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body)
            .expect("alerts JSON")
            .as_array()
            .expect("an array")
            .clone()
    }

    /// Wait until `done(alerts)` holds (or `timeout`); the alerts then.
    pub fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let alerts = self.alerts();
            if done(&alerts) || Instant::now() >= deadline {
                return alerts;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stop the process (SIGTERM, then SIGKILL after 10 s) and wait for it.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Start it again on the same port (its alerts are in memory: they are gone).
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.run() {
            assert!(
                Instant::now() < deadline,
                "Alertmanager did not restart on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Its log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.stop();
    }
}
