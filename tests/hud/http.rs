//! A tiny blocking HTTP/1.1 client for the HUD tests (GET only, `Connection: close`,
//! chunked bodies decoded) plus a Server-Sent-Events reader. Loopback only.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

fn connect(addr: &str) -> io::Result<TcpStream> {
    let s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    Ok(s)
}

fn read_head<R: BufRead>(r: &mut R) -> io::Result<(u16, Vec<(String, String)>)> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok((status, headers))
}

/// Decodes `Transfer-Encoding: chunked`.
pub struct Chunked<R: BufRead> {
    inner: R,
    left: usize,
    done: bool,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            loop {
                line.clear();
                if self.inner.read_line(&mut line)? == 0 {
                    self.done = true;
                    return Ok(0);
                }
                if !line.trim().is_empty() {
                    break;
                }
            }
            let size = line.trim().split(';').next().unwrap_or("0");
            self.left = usize::from_str_radix(size, 16).map_err(io::Error::other)?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let n = out.len().min(self.left);
        let n = self.inner.read(&mut out[..n])?;
        if n == 0 {
            self.done = true;
        }
        self.left -= n;
        Ok(n)
    }
}

/// GET `path` from `addr` (`host:port`) with `Host: host`.
pub fn get_as(addr: &str, path: &str, host: &str) -> io::Result<Response> {
    let mut s = connect(addr)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: */*\r\n\r\n"
    )?;
    let mut r = BufReader::new(s);
    let (status, headers) = read_head(&mut r)?;
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let mut body = Vec::new();
    if chunked {
        Chunked {
            inner: r,
            left: 0,
            done: false,
        }
        .read_to_end(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// GET `path` from `addr` with a matching `Host`.
pub fn get(addr: &str, path: &str) -> io::Result<Response> {
    get_as(addr, path, addr)
}

/// A Server-Sent-Events subscription.
pub struct Sse {
    pub headers: Vec<(String, String)>,
    body: BufReader<Chunked<BufReader<TcpStream>>>,
}

impl Sse {
    /// Subscribe to `path` on `addr`.
    pub fn open(addr: &str, path: &str) -> io::Result<Sse> {
        let mut s = connect(addr)?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )?;
        let mut r = BufReader::new(s);
        let (status, headers) = read_head(&mut r)?;
        if status != 200 {
            return Err(io::Error::other(format!("status {status}")));
        }
        Ok(Sse {
            headers,
            body: BufReader::new(Chunked {
                inner: r,
                left: 0,
                done: false,
            }),
        })
    }

    /// The next event's `(id, data)`; comments (keep-alives) are skipped.
    pub fn next_event(&mut self) -> io::Result<(Option<String>, String)> {
        let mut id = None;
        let mut data = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            if self.body.read_line(&mut line)? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stream ended"));
            }
            let l = line.trim_end_matches(['\r', '\n']);
            if l.is_empty() {
                if !data.is_empty() {
                    return Ok((id, data));
                }
                continue;
            }
            if let Some(v) = l.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
            } else if let Some(v) = l.strip_prefix("id:") {
                id = Some(v.trim().to_string());
            }
        }
    }
}
