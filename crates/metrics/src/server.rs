//! The scrape endpoint of `--metrics-addr`: a blocking HTTP/1.1 server on a thread of its
//! own. `GET /metrics` answers with what the render callback returns (called per scrape,
//! so the values are those of that moment); `/` and `/healthz` answer briefly; anything
//! else is 404 (405 for other methods). One request per connection, at most
//! [`MAX_CONNECTIONS`] at once, each with a short I/O timeout, so a slow or hostile
//! client cannot hold the endpoint. The server stops when dropped.

use crate::error::MetricsError;
use crate::exposition::CONTENT_TYPE;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 8;
/// Read and write timeout of a connection.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest request head read.
const MAX_HEAD: u64 = 16 << 10;

/// Renders the exposition for one scrape.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Parse a listening address: `HOST:PORT` (an IP or `localhost`), `[IPv6]:PORT`, or
/// `:PORT` for every interface. Port 0 picks a free port.
///
/// ```
/// use trace_sentinel_metrics::parse_addr;
/// assert_eq!(parse_addr("127.0.0.1:9787").unwrap().to_string(), "127.0.0.1:9787");
/// assert_eq!(parse_addr("localhost:0").unwrap().to_string(), "127.0.0.1:0");
/// assert_eq!(parse_addr(":9787").unwrap().to_string(), "0.0.0.0:9787");
/// assert_eq!(parse_addr("[::1]:9787").unwrap().to_string(), "[::1]:9787");
/// assert!(parse_addr("9787").is_err() && parse_addr("example.com:80").is_err());
/// ```
pub fn parse_addr(spec: &str) -> Result<SocketAddr, MetricsError> {
    let bad = || MetricsError::BadAddress(spec.to_string());
    let (host, port) = spec.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let ip = match host {
        "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        h if h.eq_ignore_ascii_case("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
        h => h
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(h)
            .parse()
            .map_err(|_| bad())?,
    };
    Ok(SocketAddr::new(ip, port))
}

/// A running scrape endpoint; stops when dropped.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MetricsServer {
    /// Listen on `addr` and serve `render`'s output at `/metrics`.
    pub fn start(addr: SocketAddr, render: Render) -> Result<MetricsServer, MetricsError> {
        let bind = |source| MetricsError::Bind { addr, source };
        let listener = TcpListener::bind(addr).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("metrics".into())
                .spawn(move || accept_loop(&listener, &stop, &render))
                .map_err(bind)?
        };
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address actually bound (the port chosen for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The scrape URL, for messages (`http://127.0.0.1:9787/metrics`; an unspecified
    /// address is shown as loopback).
    pub fn url(&self) -> String {
        let host = match self.addr.ip() {
            ip if ip.is_unspecified() => "127.0.0.1".to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
            ip => ip.to_string(),
        };
        format!("http://{host}:{}/metrics", self.addr.port())
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            });
        }
        if TcpStream::connect_timeout(&wake, Duration::from_secs(1)).is_ok() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

fn accept_loop(listener: &TcpListener, stop: &AtomicBool, render: &Render) {
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(conn) = conn else {
            // Out of descriptors, say: do not spin.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            continue; // dropped: closed at once
        }
        let render = Arc::clone(render);
        let active_conn = Arc::clone(&active);
        let spawned = std::thread::Builder::new()
            .name("metrics-conn".into())
            .spawn(move || {
                let _ = serve(conn, &render);
                active_conn.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Answer one request.
fn serve(conn: TcpStream, render: &Render) -> std::io::Result<()> {
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new((&conn).take(MAX_HEAD));
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The rest of the head (headers are not needed); none after a blank request line.
    let mut line = String::new();
    while !request.trim().is_empty() {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
    }
    let mut parts = request.split_ascii_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, kind, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => ("200 OK", CONTENT_TYPE, render()),
        ("GET" | "HEAD", "/healthz") => ("200 OK", "text/plain", "ok\n".to_string()),
        ("GET" | "HEAD", "/") => (
            "200 OK",
            "text/plain",
            "trace-sentinel metrics: /metrics\n".to_string(),
        ),
        ("GET" | "HEAD", _) => ("404 Not Found", "text/plain", "not found\n".to_string()),
        ("", _) => ("400 Bad Request", "text/plain", "bad request\n".to_string()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "method not allowed\n".to_string(),
        ),
    };
    let mut out = &conn;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        out.write_all(body.as_bytes())?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn serves_metrics_and_stops_when_dropped() {
        let n = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&n);
        let server = MetricsServer::start(
            parse_addr("127.0.0.1:0").unwrap(),
            Arc::new(move || format!("x_total {}\n", counter.fetch_add(1, Ordering::SeqCst))),
        )
        .unwrap();
        let addr = server.local_addr();
        assert!(server.url().ends_with(&format!(":{}/metrics", addr.port())));
        let r = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("Content-Type: text/plain; version=0.0.4"), "{r}");
        assert!(r.ends_with("\r\n\r\nx_total 0\n"), "{r}");
        let r = get(addr, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
        assert!(r.ends_with("x_total 1\n"), "{r}");
        let r = get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(r.ends_with("\r\n\r\n"), "{r}");
        assert!(get(addr, "GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(get(addr, "\r\n").starts_with("HTTP/1.1 400"));
        assert!(get(addr, "GET /healthz HTTP/1.1\r\n\r\n").ends_with("ok\n"));
        drop(server);
        assert!(TcpStream::connect(addr).is_err(), "still listening");
    }

    #[test]
    fn a_port_in_use_is_an_error() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let e = MetricsServer::start(l.local_addr().unwrap(), Arc::new(String::new))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot listen on 127.0.0.1:"), "{e}");
    }
}
