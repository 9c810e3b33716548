//! A minimal Chrome DevTools Protocol client for the HUD browser test: starts headless
//! Chromium on a loopback debugging port, attaches to its page over a hand-rolled
//! WebSocket (RFC 6455 client framing, no extensions), and offers navigate / evaluate /
//! screenshot / viewport calls. Only `std` and `serde_json`.

use serde_json::{json, Value};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Headless flags that work as root in a container, without network side traffic.
const HEADLESS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// How long a Chromium asked to quit may take before it is killed (it takes ~0.2 s).
const QUIT_GRACE: Duration = Duration::from_secs(5);

/// A running headless Chromium with one attached page.
pub struct Browser {
    child: Child,
    ws: TcpStream,
    next_id: u64,
    /// The profile, also Chromium's `TMPDIR`. A field, so it is removed only after
    /// `Drop` has shut Chromium down.
    _profile: TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // `Browser.close` shuts down cleanly: child processes gone, lock files and the
        // singleton socket dir removed. A bare SIGKILL left those behind, and children
        // still writing into the profile while it was being removed.
        self.next_id += 1;
        let close = json!({"id": self.next_id, "method": "Browser.close"}).to_string();
        if self.send_text(&close).is_err() {
            terminate(&self.child);
        }
        reap(&mut self.child, QUIT_GRACE);
    }
}

/// A scratch dir for a Chromium profile. Chromium is also given it as `TMPDIR`: it
/// keeps its own temporary files there (`org.chromium.Chromium.*`), so they go with
/// the profile even if Chromium has to be killed.
fn profile_dir() -> io::Result<TempDir> {
    tempfile::Builder::new()
        .prefix("ts-hud-chromium-")
        .tempdir()
}

/// Ask `child` to quit with SIGTERM.
fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Wait up to `grace` for `child` to exit, then kill it; it is reaped either way.
fn reap(child: &mut Child, grace: Duration) {
    let end = Instant::now() + grace;
    while Instant::now() < end {
        match child.try_wait() {
            Ok(Some(_)) => return,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn read_port(profile: &Path, child: &mut Child) -> io::Result<u16> {
    let file = profile.join("DevToolsActivePort");
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            if let Some(port) = text.lines().next().and_then(|l| l.trim().parse().ok()) {
                return Ok(port);
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(io::Error::other(format!("chromium exited: {status}")));
        }
        if Instant::now() > end {
            return Err(io::Error::other("chromium did not open its debugging port"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn http_get(port: u16, path: &str) -> io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    // Read the head, then exactly Content-Length bytes (the server may keep the socket).
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b)?;
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

impl Browser {
    /// Start `binary` headless with a `width`×`height` window.
    pub fn launch(binary: &Path, width: u32, height: u32) -> io::Result<Browser> {
        let profile = profile_dir()?;
        let mut child = Command::new(binary)
            .args(HEADLESS)
            .args([
                "--no-default-browser-check",
                "--disable-extensions",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .env("TMPDIR", profile.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        match Self::attach(profile.path(), &mut child) {
            Ok(ws) => Ok(Browser {
                child,
                ws,
                next_id: 0,
                _profile: profile,
            }),
            Err(e) => {
                terminate(&child);
                reap(&mut child, QUIT_GRACE);
                Err(e)
            }
        }
    }

    /// Find the debugging port and the page target, and open the page's WebSocket.
    fn attach(profile: &Path, child: &mut Child) -> io::Result<TcpStream> {
        let port = read_port(profile, child)?;
        // Find the page target and open its WebSocket.
        let end = Instant::now() + Duration::from_secs(20);
        let ws_url = loop {
            let list: Value =
                serde_json::from_str(&http_get(port, "/json/list")?).unwrap_or(Value::Null);
            let url = list.as_array().and_then(|targets| {
                targets
                    .iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_string))
            });
            if let Some(u) = url {
                break u;
            }
            if Instant::now() > end {
                return Err(io::Error::other("no page target"));
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let path = ws_url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
            .ok_or_else(|| io::Error::other(format!("bad ws url {ws_url}")))?;
        let mut ws = TcpStream::connect(("127.0.0.1", port))?;
        ws.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            ws,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )?;
        // Read the handshake response byte by byte so no frame bytes are swallowed.
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            ws.read_exact(&mut b)?;
            head.push(b[0]);
        }
        let head = String::from_utf8_lossy(&head);
        if !head.starts_with("HTTP/1.1 101") {
            return Err(io::Error::other(format!("websocket refused: {head}")));
        }
        Ok(ws)
    }

    fn send_text(&mut self, text: &str) -> io::Result<()> {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        let mask_bit = 0x80u8;
        match payload.len() {
            n if n < 126 => frame.push(mask_bit | n as u8),
            n if n <= 0xffff => {
                frame.push(mask_bit | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(mask_bit | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let key = [0x37u8, 0xfa, 0x21, 0x3d];
        frame.extend_from_slice(&key);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        self.ws.write_all(&frame)
    }

    fn read_message(&mut self) -> io::Result<String> {
        let mut message = Vec::new();
        loop {
            let mut h = [0u8; 2];
            self.ws.read_exact(&mut h)?;
            let (fin, opcode) = (h[0] & 0x80 != 0, h[0] & 0x0f);
            let mut len = (h[1] & 0x7f) as u64;
            if len == 126 {
                let mut e = [0u8; 2];
                self.ws.read_exact(&mut e)?;
                len = u16::from_be_bytes(e) as u64;
            } else if len == 127 {
                let mut e = [0u8; 8];
                self.ws.read_exact(&mut e)?;
                len = u64::from_be_bytes(e);
            }
            let mut mask = None;
            if h[1] & 0x80 != 0 {
                let mut m = [0u8; 4];
                self.ws.read_exact(&mut m)?;
                mask = Some(m);
            }
            let mut payload = vec![0u8; len as usize];
            self.ws.read_exact(&mut payload)?;
            if let Some(m) = mask {
                for (i, b) in payload.iter_mut().enumerate() {
                    *b ^= m[i % 4];
                }
            }
            match opcode {
                0x8 => return Err(io::Error::other("websocket closed")),
                0x9 | 0xA => continue,
                _ => message.extend_from_slice(&payload),
            }
            if fin {
                return Ok(String::from_utf8_lossy(&message).into_owned());
            }
        }
    }

    /// Call `method` and return its `result`.
    pub fn call(&mut self, method: &str, params: Value) -> io::Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        self.send_text(&json!({"id": id, "method": method, "params": params}).to_string())?;
        loop {
            let msg: Value = serde_json::from_str(&self.read_message()?)
                .map_err(|e| io::Error::other(format!("bad CDP message: {e}")))?;
            if msg["id"] == id {
                if let Some(err) = msg.get("error") {
                    return Err(io::Error::other(format!("{method}: {err}")));
                }
                return Ok(msg["result"].clone());
            }
        }
    }

    /// Evaluate `expr` in the page and return its value.
    pub fn eval(&mut self, expr: &str) -> io::Result<Value> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(io::Error::other(format!("{expr}: {ex}")));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Present `ua` as the user agent (e.g. a desktop Chrome's, so the page takes the path
    /// real browsers take rather than its headless fallback).
    pub fn user_agent(&mut self, ua: &str) -> io::Result<()> {
        self.call("Emulation.setUserAgentOverride", json!({ "userAgent": ua }))?;
        Ok(())
    }

    /// Navigate to `url`.
    pub fn navigate(&mut self, url: &str) -> io::Result<()> {
        self.call("Page.enable", json!({}))?;
        self.call("Page.navigate", json!({ "url": url }))?;
        Ok(())
    }

    /// Poll `expr` until it evaluates to `true` (exceptions, e.g. while the page is still
    /// loading, count as "not yet").
    pub fn wait_true(&mut self, expr: &str, timeout: Duration) -> io::Result<()> {
        let end = Instant::now() + timeout;
        loop {
            let last = match self.eval(expr) {
                Ok(Value::Bool(true)) => return Ok(()),
                Ok(v) => v.to_string(),
                Err(e) => e.to_string(),
            };
            if Instant::now() > end {
                return Err(io::Error::other(format!(
                    "timed out waiting for {expr} (last: {last})"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Emulate a `width`×`height` viewport (`mobile` for phone layout rules).
    pub fn viewport(&mut self, width: u32, height: u32, mobile: bool) -> io::Result<()> {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )?;
        Ok(())
    }

    /// A PNG screenshot of the viewport.
    pub fn screenshot(&mut self) -> io::Result<Vec<u8>> {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}))?;
        let data = r["data"]
            .as_str()
            .ok_or_else(|| io::Error::other("no screenshot data"))?;
        base64_decode(data).ok_or_else(|| io::Error::other("bad base64"))
    }
}

/// `binary --headless --dump-dom` of `url` with a virtual-time budget, the way a quick
/// check would load the page; fails if it does not finish within `timeout`.
pub fn dump_dom(binary: &Path, url: &str, budget_ms: u32, timeout: Duration) -> io::Result<String> {
    let profile = profile_dir()?;
    let mut child = Command::new(binary)
        .args(HEADLESS)
        .args([
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--virtual-time-budget={budget_ms}"),
            "--dump-dom",
            url,
        ])
        .env("TMPDIR", profile.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut out = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let end = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if Instant::now() > end {
            terminate(&child);
            reap(&mut child, QUIT_GRACE);
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = reader.join().unwrap_or_default();
    match status {
        Some(_) => Ok(dom),
        None => Err(io::Error::other(format!(
            "--dump-dom with --virtual-time-budget={budget_ms} did not finish in {timeout:?}"
        ))),
    }
}

/// Standard base64 (with padding) to bytes.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let pad = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = if i >= chunk.len() - pad { 0 } else { val(c)? };
            acc |= v << (18 - 6 * i);
        }
        let n = 3usize
            .saturating_sub(pad)
            .min(chunk.len().saturating_sub(1));
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}

#[test]
fn base64_roundtrip_samples() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
    assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
    assert_eq!(base64_decode("").unwrap(), b"");
    assert!(base64_decode("a$==").is_none());
}
