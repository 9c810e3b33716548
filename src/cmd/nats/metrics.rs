//! `worker --metrics-addr`: a minimal Prometheus endpoint. One thread accepts
//! connections and answers `GET /metrics` with the text the worker loop last published
//! (rendered there at most every second); anything else gets 404. No detection or
//! worker logic lives here.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trace_sentinel_core::Error;

/// The endpoint and the text it serves.
pub struct MetricsEndpoint {
    text: Arc<Mutex<String>>,
    addr: SocketAddr,
}

impl MetricsEndpoint {
    /// Listen on `spec` (`HOST:PORT`; port 0 picks one).
    pub fn start(spec: &str) -> Result<MetricsEndpoint, Error> {
        let bad = |reason: String| Error::Config {
            flag: "--metrics-addr",
            reason,
        };
        let listener =
            TcpListener::bind(spec).map_err(|e| bad(format!("cannot listen on '{spec}': {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| bad(format!("'{spec}': {e}")))?;
        let text = Arc::new(Mutex::new(String::new()));
        let served = Arc::clone(&text);
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for conn in listener.incoming().flatten() {
                    serve(conn, &served);
                }
            })
            .map_err(|e| bad(format!("cannot start its thread: {e}")))?;
        Ok(MetricsEndpoint { text, addr })
    }

    /// The URL of the metrics.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// Serve `text` from now on.
    pub fn publish(&self, text: String) {
        *self.text.lock().unwrap_or_else(|e| e.into_inner()) = text;
    }
}

fn serve(mut conn: TcpStream, text: &Mutex<String>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
    let mut req = [0u8; 2048];
    let mut n = 0;
    while n < req.len() {
        match conn.read(&mut req[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                n += k;
                if req[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    let head = String::from_utf8_lossy(&req[..n]);
    let mut parts = head.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = if method == "GET" && (path == "/metrics" || path.starts_with("/metrics?"))
    {
        (
            "200 OK",
            text.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        )
    } else {
        ("404 Not Found", "not found; try /metrics\n".to_string())
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Escape a label value for the exposition format.
pub fn label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn labels_are_escaped() {
        assert_eq!(super::label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
