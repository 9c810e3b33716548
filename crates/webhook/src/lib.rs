//! Webhook sink: anomalies POSTed as JSON arrays to an HTTP(S) endpoint.
//!
//! Each anomaly is rendered once, on the detecting thread, with [`Anomaly::write_json`]
//! (the very bytes `--format json` prints) and pushed into a bounded queue. A background
//! thread drains the queue into batches (by count, bytes and age), POSTs each batch as
//! a JSON array, and retries transport errors, timeouts, 408, 429 and 5xx answers with
//! exponential backoff. Detection never waits on the network: when the queue is full the
//! anomaly is dropped and counted. [`WebhookSink::finish`] (also run on drop) closes the
//! queue, lets the worker deliver what is left and waits for it at most
//! [`WebhookOptions::flush_timeout`]; whatever is still undelivered then counts as failed.
//!
//! TLS is rustls with the webpki root set: no system OpenSSL is needed. Proxies come from
//! the usual `HTTP(S)_PROXY`/`NO_PROXY` variables, except for loopback endpoints, which
//! are always reached directly.
//!
//! Delivery is at least once: a batch whose answer is lost (a timeout after the receiver
//! processed it) is sent again. Every request carries an `X-Trace-Sentinel-Batch` header,
//! unique per batch within a run and identical across its retries, so a receiver can
//! drop duplicates.
//!
//! ```no_run
//! use trace_sentinel_webhook::{WebhookOptions, WebhookSink};
//!
//! let mut opts = WebhookOptions::new("https://alerts.example.com/hook");
//! opts.headers.push(("Authorization".into(), "Bearer TOKEN".into()));
//! let sink = WebhookSink::new(opts)?;
//! // ... hand `sink` to an engine or a `Sentinel` ...
//! let counts = sink.finish();
//! println!("{} delivered, {} dropped", counts.delivered, counts.dropped);
//! # Ok::<(), trace_sentinel_core::Error>(())
//! ```

#![deny(missing_docs)]

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use trace_sentinel_core::sink::Sink;
use trace_sentinel_core::Anomaly;
use trace_sentinel_core::Error;

/// Name of the header that identifies a batch (stable across its retries).
pub const BATCH_HEADER: &str = "X-Trace-Sentinel-Batch";

/// Settings of a [`WebhookSink`]; [`WebhookOptions::new`] gives the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookOptions {
    /// Endpoint, `http://` or `https://`.
    pub url: String,
    /// Extra request headers (`Authorization`, API keys, ...), sent with every request.
    pub headers: Vec<(String, String)>,
    /// Anomalies per request at most (>= 1). Default 100.
    pub batch_size: usize,
    /// Request body bytes at most; a single larger anomaly is still sent, alone.
    /// Default 4 MiB.
    pub batch_bytes: usize,
    /// Longest an anomaly waits for its batch to fill before the batch is sent.
    /// Default 1 s.
    pub batch_delay: Duration,
    /// Anomalies the queue holds at most before new ones are dropped (>= 1).
    /// Default 100 000.
    pub queue_capacity: usize,
    /// Rendered bytes the queue holds at most before new anomalies are dropped.
    /// Default 64 MiB.
    pub queue_bytes: usize,
    /// Time limit of one request, connect to last response byte. Default 10 s.
    pub timeout: Duration,
    /// Retries of a failed batch before it is given up (counted as failed). Default 5.
    pub max_retries: u32,
    /// Wait before the first retry; doubles with every further retry. Default 250 ms.
    pub backoff: Duration,
    /// Cap on the wait between retries. Default 8 s.
    pub max_backoff: Duration,
    /// How long [`WebhookSink::finish`] waits for the queue to drain. Default 15 s.
    pub flush_timeout: Duration,
    /// Hold anomalies back until the next [`Sink::flush`] instead of queueing them at
    /// once. Follow mode with `--state` flushes only after the checkpoint that makes the
    /// anomalies' lines durable, so a crash cannot make them be sent twice. Default off.
    pub hold_until_flush: bool,
}

impl WebhookOptions {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookOptions {
            url: url.into(),
            headers: Vec::new(),
            batch_size: 100,
            batch_bytes: 4 << 20,
            batch_delay: Duration::from_secs(1),
            queue_capacity: 100_000,
            queue_bytes: 64 << 20,
            timeout: Duration::from_secs(10),
            max_retries: 5,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            flush_timeout: Duration::from_secs(15),
            hold_until_flush: false,
        }
    }
}

/// Parse a `--webhook-header` value, `Name: value`, into a validated pair.
///
/// ```
/// use trace_sentinel_webhook::parse_header;
/// assert_eq!(
///     parse_header("Authorization: Bearer abc").unwrap(),
///     ("Authorization".to_string(), "Bearer abc".to_string())
/// );
/// assert!(parse_header("no colon").is_err());
/// ```
pub fn parse_header(spec: &str) -> Result<(String, String), Error> {
    let Some((name, value)) = spec.split_once(':') else {
        return Err(config_error("expected 'Name: value'".to_string()));
    };
    let (name, value) = (name.trim(), value.trim());
    check_header(name, value)?;
    Ok((name.to_string(), value.to_string()))
}

fn config_error(reason: String) -> Error {
    Error::Config {
        flag: "--webhook-header",
        reason,
    }
}

/// Validate one header; the value is never quoted back (it is usually a secret).
fn check_header(name: &str, value: &str) -> Result<(), Error> {
    if ureq::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(config_error(format!("'{name}' is not a valid header name")));
    }
    if ureq::http::HeaderValue::from_str(value).is_err() {
        return Err(config_error(format!(
            "the value of header '{name}' has characters a header cannot carry"
        )));
    }
    Ok(())
}

fn url_error(reason: impl Into<String>) -> Error {
    Error::Config {
        flag: "--webhook",
        reason: reason.into(),
    }
}

/// Validate the endpoint; returns whether its host is a loopback address.
fn check_url(url: &str) -> Result<bool, Error> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| url_error(format!("'{url}' is not a valid URL ({e})")))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => {
            return Err(url_error(format!(
                "'{url}' must start with http:// or https://"
            )))
        }
    }
    let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
        return Err(url_error(format!("'{url}' has no host")));
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    Ok(loopback)
}

/// Why a request did not deliver its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureReason {
    /// The endpoint refused the connection (nothing listens there).
    Refused,
    /// No answer within [`WebhookOptions::timeout`].
    Timeout,
    /// The host name did not resolve.
    HostNotFound,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The endpoint answered with this non-2xx HTTP status.
    Status(u16),
    /// Another transport failure (a reset connection, a malformed answer).
    Transport,
    /// The batch was still undelivered when the final flush gave up.
    FlushTimeout,
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailureReason::Refused => f.write_str("connection refused"),
            FailureReason::Timeout => f.write_str("timeout"),
            FailureReason::HostNotFound => f.write_str("host not found"),
            FailureReason::Tls => f.write_str("TLS failure"),
            FailureReason::Status(code) => write!(f, "HTTP {code}"),
            FailureReason::Transport => f.write_str("transport error"),
            FailureReason::FlushTimeout => {
                f.write_str("still undelivered when the exit flush ended")
            }
        }
    }
}

impl FailureReason {
    /// The reason a transport error stands for.
    fn of(e: &ureq::Error) -> Self {
        match e {
            ureq::Error::Timeout(_) => FailureReason::Timeout,
            ureq::Error::HostNotFound => FailureReason::HostNotFound,
            ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::TlsRequired => {
                FailureReason::Tls
            }
            ureq::Error::Io(io) => match io.kind() {
                io::ErrorKind::ConnectionRefused => FailureReason::Refused,
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => FailureReason::Timeout,
                _ => FailureReason::Transport,
            },
            _ => FailureReason::Transport,
        }
    }
}

/// What a [`WebhookSink`] did, in anomalies (requests where named).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookCounts {
    /// Anomalies accepted into the queue.
    pub queued: u64,
    /// Anomalies the endpoint acknowledged with a 2xx answer.
    pub delivered: u64,
    /// Anomalies dropped because the queue was full (or its worker had stopped).
    pub dropped: u64,
    /// Anomalies given up: retries exhausted, a non-retryable answer, or still
    /// undelivered when the final flush timed out.
    pub failed: u64,
    /// HTTP requests attempted.
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Why the most recent request that did not deliver failed (`None` while every
    /// request delivered).
    pub last_failure: Option<FailureReason>,
}

impl WebhookCounts {
    /// Anomalies neither delivered nor given up yet.
    pub fn pending(&self) -> u64 {
        self.queued.saturating_sub(self.delivered + self.failed)
    }

    /// One-line human summary; failures name the last reason
    /// (`2 failed (connection refused)`).
    pub fn summary(&self) -> String {
        let reason = match (self.failed, self.last_failure) {
            (1.., Some(why)) => format!(" ({why})"),
            _ => String::new(),
        };
        format!(
            "webhook: {} delivered, {} dropped (queue full), {} failed{reason}, in {} requests ({} retries)",
            self.delivered, self.dropped, self.failed, self.requests, self.retries
        )
    }
}

/// Worker-side counters, under one lock with the abort flag so the final tally is exact.
#[derive(Debug, Default)]
struct WorkerState {
    delivered: u64,
    failed: u64,
    requests: u64,
    retries: u64,
    last_failure: Option<FailureReason>,
    /// Set by `finish` when the flush deadline passed: the worker stops at once and
    /// updates nothing any more.
    aborted: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<WorkerState>,
    wake: Condvar,
    /// Bytes rendered into the queue and not yet taken by the worker.
    queued_bytes: AtomicUsize,
    queued: AtomicU64,
    dropped: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, WorkerState> {
        // A poisoned lock only means the worker panicked mid-update; counts stay usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What [`WebhookSink::on_loss`] calls: the final counts of a run that dropped or failed
/// to deliver anomalies.
pub type LossReport = Box<dyn FnOnce(&WebhookCounts) + Send>;

/// A [`Sink`] that POSTs anomalies to a webhook in batches (see the module docs).
pub struct WebhookSink {
    tx: Option<SyncSender<String>>,
    shared: Arc<Shared>,
    done: Option<Receiver<()>>,
    worker: Option<JoinHandle<()>>,
    queue_bytes: usize,
    flush_timeout: Duration,
    /// Called once at the end when anything was dropped or failed.
    on_loss: Option<LossReport>,
    /// Rendered anomalies waiting for `flush` (with `hold_until_flush`).
    held: Option<Vec<String>>,
    scratch: String,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// Validate `opts` and start the delivery thread.
    pub fn new(opts: WebhookOptions) -> Result<Self, Error> {
        let loopback = check_url(&opts.url)?;
        for (name, value) in &opts.headers {
            check_header(name, value)?;
        }
        if opts.batch_size == 0 || opts.queue_capacity == 0 {
            return Err(url_error("batch size and queue capacity must be >= 1"));
        }
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(opts.timeout))
            .user_agent(concat!("trace-sentinel/", env!("CARGO_PKG_VERSION")));
        if loopback {
            config = config.proxy(None);
        }
        let agent: ureq::Agent = config.build().into();
        let (tx, rx) = mpsc::sync_channel::<String>(opts.queue_capacity);
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let shared = Arc::new(Shared::default());
        let worker = Worker {
            agent,
            shared: Arc::clone(&shared),
            run_id: run_id(),
            seq: 0,
            pending: None,
            body: Vec::new(),
            opts: opts.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("webhook".into())
            .spawn(move || {
                worker.run(rx);
                drop(done_tx);
            })
            .map_err(|e| url_error(format!("cannot start the delivery thread: {e}")))?;
        Ok(WebhookSink {
            tx: Some(tx),
            shared,
            done: Some(done_rx),
            worker: Some(handle),
            queue_bytes: opts.queue_bytes,
            flush_timeout: opts.flush_timeout,
            on_loss: None,
            held: opts.hold_until_flush.then(Vec::new),
            scratch: String::new(),
        })
    }

    /// Call `report` with the final counts when the sink finishes (or is dropped) having
    /// dropped or failed to deliver anomalies — the CLI prints a one-line summary; a
    /// library user may read [`WebhookSink::counts`] instead. The sink never prints.
    pub fn on_loss(mut self, report: impl FnOnce(&WebhookCounts) + Send + 'static) -> Self {
        self.on_loss = Some(Box::new(report));
        self
    }

    /// Queue one already-rendered JSON object (no trailing newline). Never blocks;
    /// returns whether it was queued (false: dropped and counted).
    pub fn push_json(&mut self, json: String) -> bool {
        let len = json.len();
        let queued_bytes = self.shared.queued_bytes.load(Ordering::Relaxed);
        let accepted = match &self.tx {
            Some(tx) if queued_bytes.saturating_add(len) <= self.queue_bytes => {
                self.shared.queued_bytes.fetch_add(len, Ordering::Relaxed);
                match tx.try_send(json) {
                    Ok(()) => true,
                    Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                        self.shared.queued_bytes.fetch_sub(len, Ordering::Relaxed);
                        false
                    }
                }
            }
            _ => false,
        };
        let counter = if accepted {
            &self.shared.queued
        } else {
            &self.shared.dropped
        };
        counter.fetch_add(1, Ordering::Relaxed);
        accepted
    }

    /// Queue everything held back by `hold_until_flush`.
    fn release(&mut self) {
        let Some(held) = self.held.as_mut() else {
            return;
        };
        let batch = std::mem::take(held);
        for json in batch {
            self.push_json(json);
        }
    }

    /// Counts so far (the worker may still be delivering).
    pub fn counts(&self) -> WebhookCounts {
        let s = self.shared.lock();
        WebhookCounts {
            queued: self.shared.queued.load(Ordering::Relaxed),
            delivered: s.delivered,
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            failed: s.failed,
            requests: s.requests,
            retries: s.retries,
            last_failure: s.last_failure,
        }
    }

    /// Close the queue, deliver what is left (waiting at most the flush timeout) and
    /// return the final counts. Anything still undelivered after the wait counts as
    /// failed. Also runs on drop.
    pub fn finish(mut self) -> WebhookCounts {
        self.shutdown()
    }

    fn shutdown(&mut self) -> WebhookCounts {
        // Whatever was held back goes out with the final flush.
        self.release();
        let Some(done) = self.done.take() else {
            return self.counts();
        };
        self.tx = None; // the worker drains the queue, then sees the disconnect
        let finished = matches!(
            done.recv_timeout(self.flush_timeout),
            Err(RecvTimeoutError::Disconnected) | Ok(())
        );
        if finished {
            if let Some(h) = self.worker.take() {
                let _ = h.join();
            }
        } else {
            // Give up: stop the worker where it stands and count the rest as failed.
            let queued = self.shared.queued.load(Ordering::Relaxed);
            let mut s = self.shared.lock();
            s.aborted = true;
            s.failed = queued.saturating_sub(s.delivered);
            if s.last_failure.is_none() && s.failed > 0 {
                s.last_failure = Some(FailureReason::FlushTimeout);
            }
            drop(s);
            self.shared.wake.notify_all();
        }
        let counts = self.counts();
        if counts.dropped > 0 || counts.failed > 0 {
            if let Some(report) = self.on_loss.take() {
                report(&counts);
            }
        }
        counts
    }
}

impl Sink for WebhookSink {
    fn emit(&mut self, anomaly: &Anomaly<'_>) -> io::Result<()> {
        let mut json = String::with_capacity(256 + anomaly.message.len());
        anomaly.write_json(&mut json, &mut self.scratch);
        match &mut self.held {
            Some(held) => held.push(json),
            None => {
                self.push_json(json);
            }
        }
        Ok(())
    }

    /// Queue the anomalies held back (with `hold_until_flush`); never blocks.
    fn flush(&mut self) -> io::Result<()> {
        self.release();
        Ok(())
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A run identifier for batch ids: process id and start time, hex.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!("{:x}-{:x}", std::process::id(), nanos)
}

/// How one request ended.
enum Attempt {
    Delivered,
    Retry(FailureReason),
    GiveUp(FailureReason),
}

struct Worker {
    agent: ureq::Agent,
    shared: Arc<Shared>,
    opts: WebhookOptions,
    run_id: String,
    seq: u64,
    /// An object taken from the queue that did not fit the previous batch.
    pending: Option<String>,
    body: Vec<u8>,
}

impl Worker {
    fn run(mut self, rx: Receiver<String>) {
        let mut batch: Vec<String> = Vec::new();
        loop {
            if self.shared.lock().aborted {
                return;
            }
            let first = match self.pending.take() {
                Some(s) => s,
                None => match rx.recv() {
                    Ok(s) => self.take(s),
                    Err(_) => return, // closed and drained
                },
            };
            let mut bytes = first.len();
            batch.push(first);
            let deadline = Instant::now() + self.opts.batch_delay;
            while batch.len() < self.opts.batch_size {
                let wait = deadline.saturating_duration_since(Instant::now());
                let next = match rx.try_recv() {
                    Ok(s) => s,
                    Err(mpsc::TryRecvError::Disconnected) => break,
                    Err(mpsc::TryRecvError::Empty) if wait.is_zero() => break,
                    Err(mpsc::TryRecvError::Empty) => match rx.recv_timeout(wait) {
                        Ok(s) => s,
                        Err(_) => break,
                    },
                };
                let next = self.take(next);
                if bytes + next.len() + 1 > self.opts.batch_bytes {
                    self.pending = Some(next);
                    break;
                }
                bytes += next.len() + 1;
                batch.push(next);
            }
            self.deliver(&batch);
            batch.clear();
        }
    }

    /// Account for an object leaving the queue.
    fn take(&self, s: String) -> String {
        self.shared
            .queued_bytes
            .fetch_sub(s.len(), Ordering::Relaxed);
        s
    }

    fn deliver(&mut self, batch: &[String]) {
        self.body.clear();
        self.body.push(b'[');
        for (i, obj) in batch.iter().enumerate() {
            if i > 0 {
                self.body.push(b',');
            }
            self.body.extend_from_slice(obj.as_bytes());
        }
        self.body.push(b']');
        self.seq += 1;
        let batch_id = format!("{}-{}", self.run_id, self.seq);
        let n = batch.len() as u64;
        let mut backoff = self.opts.backoff;
        for attempt in 0..=self.opts.max_retries {
            {
                let mut s = self.shared.lock();
                if s.aborted {
                    return;
                }
                s.requests += 1;
                s.retries += (attempt > 0) as u64;
            }
            let outcome = self.post(&batch_id);
            let mut s = self.shared.lock();
            if s.aborted {
                return;
            }
            match outcome {
                Attempt::Delivered => {
                    s.delivered += n;
                    return;
                }
                Attempt::GiveUp(why) => {
                    s.last_failure = Some(why);
                    s.failed += n;
                    return;
                }
                Attempt::Retry(why) if attempt == self.opts.max_retries => {
                    s.last_failure = Some(why);
                    s.failed += n;
                    return;
                }
                Attempt::Retry(why) => {
                    s.last_failure = Some(why);
                    // Sleep, waking early only to abort.
                    let (s, _) = self
                        .shared
                        .wake
                        .wait_timeout_while(s, backoff, |s| !s.aborted)
                        .unwrap_or_else(|e| e.into_inner());
                    if s.aborted {
                        return;
                    }
                    backoff = (backoff * 2).min(self.opts.max_backoff);
                }
            }
        }
    }

    fn post(&self, batch_id: &str) -> Attempt {
        let mut req = self
            .agent
            .post(&self.opts.url)
            .header(BATCH_HEADER, batch_id);
        let mut has_type = false;
        for (name, value) in &self.opts.headers {
            has_type |= name.eq_ignore_ascii_case("content-type");
            req = req.header(name.as_str(), value.as_str());
        }
        if !has_type {
            req = req.header("Content-Type", "application/json");
        }
        match req.send(&self.body[..]) {
            Ok(mut resp) => {
                let outcome = match resp.status().as_u16() {
                    200..=299 => Attempt::Delivered,
                    code @ (408 | 429 | 500..=599) => Attempt::Retry(FailureReason::Status(code)),
                    code => Attempt::GiveUp(FailureReason::Status(code)),
                };
                // The status decides. Drain a small answer of known length so the
                // connection can be reused; never wait for a body delimited by the
                // server closing the connection (a receiver that keeps it open would
                // stall delivery until the timeout).
                let small = resp
                    .headers()
                    .get("content-length")
                    .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                    .is_some_and(|n| n <= 64 << 10);
                if small {
                    let _ = resp.body_mut().with_config().limit(64 << 10).read_to_vec();
                }
                outcome
            }
            // Transport errors, timeouts, refused connections, TLS failures: the
            // endpoint may come back.
            Err(e) => Attempt::Retry(FailureReason::of(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(check_url("http://127.0.0.1:9/hook").unwrap());
        assert!(check_url("http://[::1]:9/").unwrap());
        assert!(check_url("https://LOCALHOST/x").unwrap());
        assert!(!check_url("https://alerts.example.com/x").unwrap());
        for bad in ["ftp://x/", "127.0.0.1:80/hook", "http://", "not a url", ""] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_values_are_not_echoed() {
        let err = parse_header("X-Token: sec\u{7f}ret")
            .unwrap_err()
            .to_string();
        assert!(err.contains("X-Token"), "{err}");
        assert!(!err.contains("sec"), "{err}");
        assert!(parse_header("Bad Name: v").is_err());
        assert_eq!(
            parse_header("  X-A :  b : c ").unwrap(),
            ("X-A".to_string(), "b : c".to_string())
        );
    }

    #[test]
    fn pending_and_summary() {
        let c = WebhookCounts {
            queued: 10,
            delivered: 6,
            dropped: 2,
            failed: 1,
            requests: 3,
            retries: 1,
            last_failure: Some(FailureReason::Status(503)),
        };
        assert_eq!(c.pending(), 3);
        assert_eq!(
            c.summary(),
            "webhook: 6 delivered, 2 dropped (queue full), 1 failed (HTTP 503), in 3 requests (1 retries)"
        );
        let none = WebhookCounts { failed: 0, ..c };
        assert_eq!(
            none.summary(),
            "webhook: 6 delivered, 2 dropped (queue full), 0 failed, in 3 requests (1 retries)"
        );
    }
}
