//! One delivery endpoint: a bounded queue of rendered JSON objects and the thread that
//! drains it. The thread gathers batches (by count, bytes and age), POSTs each batch as
//! a JSON array, and retries transport errors, timeouts, 408, 429 and 5xx answers with
//! exponential backoff and jitter, waiting at least as long as a `Retry-After` answer
//! asks. Pushing never blocks: when the queue is full the object is dropped and counted.
//!
//! Both sinks of this crate (webhook, Alertmanager) deliver through this one
//! implementation; they differ only in what they render and where they send it. This
//! module never prints: failures, drops and recoveries go to a notice callback, at most
//! one failure and one drop notice per [`DeliveryOptions::warn_interval`].

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};
use trace_sentinel_core::stats::{DeliveryCounts, DeliveryProbe, DeliveryStats, FailureReason};
use trace_sentinel_core::Error;

/// Name of the header that identifies a batch (stable across its retries).
pub const BATCH_HEADER: &str = "X-Trace-Sentinel-Batch";

/// How anomalies are queued, batched and retried; shared by every delivery sink.
/// [`DeliveryOptions::default`] gives the webhook's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOptions {
    /// Anomalies per request at most (>= 1). Default 100.
    pub batch_size: usize,
    /// Request body bytes at most; a single larger anomaly is still sent, alone.
    /// Default 4 MiB.
    pub batch_bytes: usize,
    /// Longest an anomaly waits for its batch to fill before the batch is sent.
    /// Default 1 s.
    pub batch_delay: Duration,
    /// Anomalies each endpoint's queue holds at most before new ones are dropped (>= 1).
    /// Default 100 000.
    pub queue_capacity: usize,
    /// Rendered bytes each endpoint's queue holds at most before new anomalies are
    /// dropped. Default 64 MiB.
    pub queue_bytes: usize,
    /// Time limit of one request, connect to last response byte. Default 10 s.
    pub timeout: Duration,
    /// Retries of a failed batch before it is given up (counted as failed). Default 5.
    pub max_retries: u32,
    /// Wait before the first retry; doubles with every further retry. Each wait is
    /// drawn at random between half and all of it (jitter), so that many senders do not
    /// retry in step. Default 250 ms.
    pub backoff: Duration,
    /// Cap on the doubling wait between retries. Default 8 s.
    pub max_backoff: Duration,
    /// Cap on a wait asked for by a `Retry-After` answer (a longer one is shortened to
    /// this). Default 10 min.
    pub max_retry_after: Duration,
    /// How long finishing waits for the queues to drain. Default 15 s.
    pub flush_timeout: Duration,
    /// Hold anomalies back until the next [`Sink::flush`](trace_sentinel_core::Sink::flush)
    /// instead of queueing them at once. Follow mode with `--state` flushes only after
    /// the checkpoint that makes the anomalies' lines durable, so a crash cannot make
    /// them be sent twice. Default off.
    pub hold_until_flush: bool,
    /// Shortest gap between two notices of failing requests (and between two notices
    /// of a full queue); the first is given at once. Default 30 s.
    pub warn_interval: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            batch_size: 100,
            batch_bytes: 4 << 20,
            batch_delay: Duration::from_secs(1),
            queue_capacity: 100_000,
            queue_bytes: 64 << 20,
            timeout: Duration::from_secs(10),
            max_retries: 5,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(600),
            flush_timeout: Duration::from_secs(15),
            hold_until_flush: false,
            warn_interval: Duration::from_secs(30),
        }
    }
}

/// Where a sink hands its notices (one line each, without a prefix).
pub type Notice = Arc<dyn Fn(&str) + Send + Sync>;

pub(crate) fn config_error(flag: &'static str, reason: impl Into<String>) -> Error {
    Error::Config {
        flag,
        reason: reason.into(),
    }
}

/// Validate one header; the value is never quoted back (it is usually a secret).
pub(crate) fn check_header(flag: &'static str, name: &str, value: &str) -> Result<(), Error> {
    if ureq::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(config_error(
            flag,
            format!("'{name}' is not a valid header name"),
        ));
    }
    if ureq::http::HeaderValue::from_str(value).is_err() {
        return Err(config_error(
            flag,
            format!("the value of header '{name}' has characters a header cannot carry"),
        ));
    }
    Ok(())
}

/// A checked endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `scheme://host:port`, for messages and metrics: paths and queries may hold
    /// secrets (webhook tokens), credentials always do.
    pub(crate) display: String,
    /// Whether the host is a loopback address (reached without a proxy).
    pub(crate) loopback: bool,
}

/// Validate an endpoint for `flag`.
pub(crate) fn check_url(flag: &'static str, url: &str) -> Result<Target, Error> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| config_error(flag, format!("'{url}' is not a valid URL ({e})")))?;
    let scheme = match uri.scheme_str() {
        Some(s @ ("http" | "https")) => s,
        _ => {
            return Err(config_error(
                flag,
                format!("'{url}' must start with http:// or https://"),
            ))
        }
    };
    let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
        return Err(config_error(flag, format!("'{url}' has no host")));
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    Ok(Target {
        display: format!("{scheme}://{host}:{port}"),
        loopback,
    })
}

/// Worker-side counters, under one lock with the abort flag so the final tally is exact.
#[derive(Debug, Default)]
struct WorkerState {
    delivered: u64,
    failed: u64,
    requests: u64,
    retries: u64,
    last_failure: Option<FailureReason>,
    /// Set when the flush deadline passed: the worker stops at once and updates nothing
    /// any more.
    aborted: bool,
}

/// Rate-limited notices of one endpoint.
struct Warner {
    notice: Mutex<Option<Notice>>,
    label: String,
    interval: Duration,
    state: Mutex<WarnState>,
}

#[derive(Default)]
struct WarnState {
    last_failure_notice: Option<Instant>,
    /// Failed requests since the last failure notice.
    unreported: u64,
    /// Failed requests since the last success.
    streak: u64,
    last_drop_notice: Option<Instant>,
}

impl Warner {
    fn say(&self, text: &str) {
        let notice = lock(&self.notice).clone();
        if let Some(n) = notice {
            n(text);
        }
    }

    /// A request failed because of `why`; `gave_up` anomalies were given up with it.
    fn failed(&self, why: FailureReason, gave_up: u64) {
        let mut st = lock(&self.state);
        st.streak += 1;
        st.unreported += 1;
        let due = st
            .last_failure_notice
            .is_none_or(|t| t.elapsed() >= self.interval);
        if !due {
            return;
        }
        let mut text = format!("{}: request failed ({why})", self.label);
        if gave_up > 0 {
            text.push_str(&format!("; gave up {gave_up} anomalies"));
        } else {
            text.push_str("; retrying");
        }
        if st.unreported > 1 {
            text.push_str(&format!(
                " ({} failed requests since the last warning)",
                st.unreported
            ));
        }
        st.last_failure_notice = Some(Instant::now());
        st.unreported = 0;
        drop(st);
        self.say(&text);
    }

    /// A request succeeded.
    fn succeeded(&self) {
        let mut st = lock(&self.state);
        if st.streak == 0 {
            return;
        }
        let text = format!(
            "{}: delivering again after {} failed requests",
            self.label, st.streak
        );
        st.streak = 0;
        st.unreported = 0;
        st.last_failure_notice = None;
        drop(st);
        self.say(&text);
    }

    /// The queue was full; `dropped` anomalies were dropped so far.
    fn dropped(&self, dropped: u64) {
        let mut st = lock(&self.state);
        if st
            .last_drop_notice
            .is_some_and(|t| t.elapsed() < self.interval)
        {
            return;
        }
        st.last_drop_notice = Some(Instant::now());
        drop(st);
        self.say(&format!(
            "{}: queue full, dropping anomalies ({dropped} dropped so far)",
            self.label
        ));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a thread panicked mid-update; the data stays usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Shared {
    sink: &'static str,
    target: String,
    state: Mutex<WorkerState>,
    wake: Condvar,
    /// Bytes rendered into the queue and not yet taken by the worker.
    queued_bytes: AtomicUsize,
    queued: AtomicU64,
    dropped: AtomicU64,
    warner: Warner,
}

impl Shared {
    fn counts(&self) -> DeliveryCounts {
        let s = lock(&self.state);
        DeliveryCounts {
            queued: self.queued.load(Ordering::Relaxed),
            delivered: s.delivered,
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: s.failed,
            requests: s.requests,
            retries: s.retries,
            last_failure: s.last_failure,
        }
    }

    fn stats(&self) -> DeliveryStats {
        DeliveryStats {
            sink: self.sink,
            target: self.target.clone(),
            counts: self.counts(),
        }
    }
}

/// One endpoint: its queue and delivery thread.
pub(crate) struct Endpoint {
    tx: Option<SyncSender<Arc<str>>>,
    shared: Arc<Shared>,
    done: Option<Receiver<()>>,
    worker: Option<JoinHandle<()>>,
    queue_bytes: usize,
}

impl Endpoint {
    /// Validate `url` and `headers` (errors name `flag`) and start the delivery thread.
    pub(crate) fn start(
        sink: &'static str,
        flag: &'static str,
        url: &str,
        headers: &[(String, String)],
        opts: &DeliveryOptions,
    ) -> Result<Endpoint, Error> {
        let target = check_url(flag, url)?;
        for (name, value) in headers {
            check_header(flag, name, value)?;
        }
        if opts.batch_size == 0 || opts.queue_capacity == 0 {
            return Err(config_error(
                flag,
                "batch size and queue capacity must be >= 1",
            ));
        }
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(opts.timeout))
            .user_agent(concat!("trace-sentinel/", env!("CARGO_PKG_VERSION")));
        if target.loopback {
            config = config.proxy(None);
        }
        let agent: ureq::Agent = config.build().into();
        let (tx, rx) = mpsc::sync_channel::<Arc<str>>(opts.queue_capacity);
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let shared = Arc::new(Shared {
            sink,
            target: target.display.clone(),
            state: Mutex::default(),
            wake: Condvar::new(),
            queued_bytes: AtomicUsize::new(0),
            queued: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            warner: Warner {
                notice: Mutex::new(None),
                label: format!("{sink} {}", target.display),
                interval: opts.warn_interval,
                state: Mutex::default(),
            },
        });
        let worker = Worker {
            agent,
            shared: Arc::clone(&shared),
            url: url.to_string(),
            headers: headers.to_vec(),
            opts: opts.clone(),
            run_id: run_id(),
            seq: 0,
            pending: None,
            body: Vec::new(),
            jitter: Jitter::seeded(),
        };
        let handle = std::thread::Builder::new()
            .name(sink.into())
            .spawn(move || {
                worker.run(rx);
                drop(done_tx);
            })
            .map_err(|e| config_error(flag, format!("cannot start the delivery thread: {e}")))?;
        Ok(Endpoint {
            tx: Some(tx),
            shared,
            done: Some(done_rx),
            worker: Some(handle),
            queue_bytes: opts.queue_bytes,
        })
    }

    /// Hand notices to `notice` from now on.
    pub(crate) fn set_notice(&self, notice: Notice) {
        *lock(&self.shared.warner.notice) = Some(notice);
    }

    /// Queue one rendered object. Never blocks; returns whether it was queued (false:
    /// dropped and counted).
    pub(crate) fn push(&self, json: Arc<str>) -> bool {
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
        if accepted {
            self.shared.queued.fetch_add(1, Ordering::Relaxed);
        } else {
            let dropped = self.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            self.shared.warner.dropped(dropped);
        }
        accepted
    }

    /// Counts so far (the worker may still be delivering).
    pub(crate) fn counts(&self) -> DeliveryCounts {
        self.shared.counts()
    }

    /// Counts with the endpoint's name.
    pub(crate) fn stats(&self) -> DeliveryStats {
        self.shared.stats()
    }

    /// A handle that reads the live counts from any thread, also after the sink is gone.
    pub(crate) fn probe(&self) -> DeliveryProbe {
        let shared = Arc::clone(&self.shared);
        Arc::new(move || shared.stats())
    }

    /// Close the queue: the worker delivers what is left, then stops.
    pub(crate) fn close(&mut self) {
        self.tx = None;
    }

    /// Wait for the worker to finish (after [`Self::close`]) until `deadline`; then stop
    /// it where it stands and count what is left as failed. Returns the final counts.
    pub(crate) fn wait(&mut self, deadline: Instant) -> DeliveryStats {
        let Some(done) = self.done.take() else {
            return self.stats();
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        let finished = matches!(
            done.recv_timeout(wait),
            Err(RecvTimeoutError::Disconnected) | Ok(())
        );
        if finished {
            if let Some(h) = self.worker.take() {
                let _ = h.join();
            }
        } else {
            let queued = self.shared.queued.load(Ordering::Relaxed);
            let mut s = lock(&self.shared.state);
            s.aborted = true;
            s.failed = queued.saturating_sub(s.delivered);
            if s.last_failure.is_none() && s.failed > 0 {
                s.last_failure = Some(FailureReason::FlushTimeout);
            }
            drop(s);
            self.shared.wake.notify_all();
        }
        self.stats()
    }
}

/// A run identifier for batch ids: process id and start time, hex.
fn run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!("{:x}-{:x}", std::process::id(), nanos)
}

/// Randomness for backoff jitter (xorshift64*; not for anything secret).
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    /// Seeded from the clock, the process and a counter, so two sinks differ.
    pub(crate) fn seeded() -> Jitter {
        static SALT: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let salt = SALT.fetch_add(0x6a09_e667_f3bc_c909, Ordering::Relaxed);
        Jitter((nanos ^ salt ^ u64::from(std::process::id()).rotate_left(32)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A wait between half and all of `d`.
    pub(crate) fn spread(&mut self, d: Duration) -> Duration {
        let nanos = d.as_nanos().min(u128::from(u64::MAX)) as u64;
        let half = nanos / 2;
        let extra = if nanos - half == 0 {
            0
        } else {
            self.next() % (nanos - half + 1)
        };
        Duration::from_nanos(half + extra)
    }
}

/// The wait a `Retry-After` value asks for: delay-seconds, or an HTTP date (IMF-fixdate,
/// `Sun, 06 Nov 1994 08:49:37 GMT`) measured from `now`. `None` when it is neither.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(v.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An IMF-fixdate (RFC 9110 §5.6.7) as a time.
fn parse_http_date(v: &str) -> Option<SystemTime> {
    let mut parts = v.split_ascii_whitespace();
    let _weekday = parts.next()?.strip_suffix(',')?;
    let day: u32 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == month_name)? as u32
        + 1;
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT" || parts.next().is_some() || hms.next().is_some() {
        return None;
    }
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 || !(1970..=9999).contains(&year) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + m * 60 + s;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The reason a transport error stands for.
fn failure_of(e: &ureq::Error) -> FailureReason {
    match e {
        ureq::Error::Timeout(_) => FailureReason::Timeout,
        ureq::Error::HostNotFound => FailureReason::HostNotFound,
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::TlsRequired => {
            FailureReason::Tls
        }
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => FailureReason::Refused,
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => FailureReason::Timeout,
            _ => FailureReason::Transport,
        },
        _ => FailureReason::Transport,
    }
}

/// How one request ended.
enum Attempt {
    Delivered,
    Retry {
        why: FailureReason,
        retry_after: Option<Duration>,
    },
    GiveUp {
        why: FailureReason,
    },
}

struct Worker {
    agent: ureq::Agent,
    shared: Arc<Shared>,
    url: String,
    headers: Vec<(String, String)>,
    opts: DeliveryOptions,
    run_id: String,
    seq: u64,
    /// An object taken from the queue that did not fit the previous batch.
    pending: Option<Arc<str>>,
    body: Vec<u8>,
    jitter: Jitter,
}

impl Worker {
    fn run(mut self, rx: Receiver<Arc<str>>) {
        let mut batch: Vec<Arc<str>> = Vec::new();
        loop {
            if lock(&self.shared.state).aborted {
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
    fn take(&self, s: Arc<str>) -> Arc<str> {
        self.shared
            .queued_bytes
            .fetch_sub(s.len(), Ordering::Relaxed);
        s
    }

    fn deliver(&mut self, batch: &[Arc<str>]) {
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
                let mut s = lock(&self.shared.state);
                if s.aborted {
                    return;
                }
                s.requests += 1;
                s.retries += u64::from(attempt > 0);
            }
            let outcome = self.post(&batch_id);
            let mut s = lock(&self.shared.state);
            if s.aborted {
                return;
            }
            let (why, retry_after) = match outcome {
                Attempt::Delivered => {
                    s.delivered += n;
                    drop(s);
                    self.shared.warner.succeeded();
                    return;
                }
                Attempt::GiveUp { why } => {
                    s.last_failure = Some(why);
                    s.failed += n;
                    drop(s);
                    self.shared.warner.failed(why, n);
                    return;
                }
                Attempt::Retry { why, .. } if attempt == self.opts.max_retries => {
                    s.last_failure = Some(why);
                    s.failed += n;
                    drop(s);
                    self.shared.warner.failed(why, n);
                    return;
                }
                Attempt::Retry { why, retry_after } => (why, retry_after),
            };
            s.last_failure = Some(why);
            drop(s);
            self.shared.warner.failed(why, 0);
            let mut wait = self.jitter.spread(backoff);
            if let Some(asked) = retry_after {
                wait = wait.max(asked.min(self.opts.max_retry_after));
            }
            // Sleep, waking early only to abort.
            let s = lock(&self.shared.state);
            let (s, _) = self
                .shared
                .wake
                .wait_timeout_while(s, wait, |s| !s.aborted)
                .unwrap_or_else(|e| e.into_inner());
            if s.aborted {
                return;
            }
            backoff = (backoff * 2).min(self.opts.max_backoff);
        }
    }

    fn post(&self, batch_id: &str) -> Attempt {
        let mut req = self.agent.post(&self.url).header(BATCH_HEADER, batch_id);
        let mut has_type = false;
        for (name, value) in &self.headers {
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
                    code @ (408 | 429 | 500..=599) => Attempt::Retry {
                        why: FailureReason::Status(code),
                        retry_after: resp
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| parse_retry_after(v, SystemTime::now())),
                    },
                    code => Attempt::GiveUp {
                        why: FailureReason::Status(code),
                    },
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
            Err(e) => Attempt::Retry {
                why: failure_of(&e),
                retry_after: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let t = check_url("--webhook", "http://127.0.0.1:9/hook?token=s3cret").unwrap();
        assert_eq!(t.display, "http://127.0.0.1:9");
        assert!(t.loopback);
        assert!(check_url("--webhook", "http://[::1]:9/").unwrap().loopback);
        let t = check_url("--webhook", "https://LOCALHOST/x").unwrap();
        assert_eq!(
            (t.display.as_str(), t.loopback),
            ("https://LOCALHOST:443", true)
        );
        let t = check_url("--alertmanager", "https://user:pw@alerts.example.com/x").unwrap();
        assert_eq!(t.display, "https://alerts.example.com:443");
        assert!(!t.loopback);
        for bad in ["ftp://x/", "127.0.0.1:80/hook", "http://", "not a url", ""] {
            let e = check_url("--alertmanager", bad).unwrap_err().to_string();
            assert!(e.contains("--alertmanager"), "{bad}: {e}");
        }
    }

    #[test]
    fn jitter_stays_between_half_and_all() {
        let mut j = Jitter::seeded();
        let d = Duration::from_millis(800);
        let waits: Vec<Duration> = (0..200).map(|_| j.spread(d)).collect();
        assert!(waits.iter().all(|w| *w >= d / 2 && *w <= d), "{waits:?}");
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 150, "not spread: {}", distinct.len());
        assert!(waits.iter().any(|w| *w < d * 3 / 4) && waits.iter().any(|w| *w > d * 3 / 4));
        assert_eq!(j.spread(Duration::ZERO), Duration::ZERO);
        assert!(j.spread(Duration::from_nanos(1)) <= Duration::from_nanos(1));
        // Two sinks started together do not retry in step.
        let (mut a, mut b) = (Jitter::seeded(), Jitter::seeded());
        assert_ne!(
            (0..8).map(|_| a.spread(d)).collect::<Vec<_>>(),
            (0..8).map(|_| b.spread(d)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn retry_after_values() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06 08:49:37
        let cases: [(&str, Option<u64>); 10] = [
            ("120", Some(120)),
            (" 0 ", Some(0)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(0)),
            ("Sun, 06 Nov 1994 08:50:07 GMT", Some(30)),
            ("Mon, 07 Nov 1994 08:49:37 GMT", Some(86_400)),
            ("Sat, 05 Nov 1994 08:49:37 GMT", Some(0)), // in the past: at once
            ("Sunday, 06-Nov-94 08:49:37 GMT", None),   // obsolete formats are not honoured
            ("-5", None),
            ("1.5", None),
            ("", None),
        ];
        for (v, want) in cases {
            assert_eq!(
                parse_retry_after(v, now),
                want.map(Duration::from_secs),
                "{v:?}"
            );
        }
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", now),
            None
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", now),
            None
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 UTC", now),
            None
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn notices_are_rate_limited_and_name_the_cause() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let w = Warner {
            notice: Mutex::new(None),
            label: "alertmanager http://127.0.0.1:9".into(),
            interval: Duration::from_millis(200),
            state: Mutex::default(),
        };
        let sink = Arc::clone(&seen);
        *lock(&w.notice) = Some(Arc::new(move |t: &str| lock(&sink).push(t.to_string())));
        w.failed(FailureReason::Refused, 0);
        w.failed(FailureReason::Refused, 0);
        w.failed(FailureReason::Status(503), 4);
        w.dropped(1);
        w.dropped(2);
        std::thread::sleep(Duration::from_millis(250));
        w.failed(FailureReason::Status(503), 0);
        w.dropped(9);
        w.succeeded();
        w.succeeded();
        assert_eq!(
            *lock(&seen),
            [
                "alertmanager http://127.0.0.1:9: request failed (connection refused); retrying",
                "alertmanager http://127.0.0.1:9: queue full, dropping anomalies (1 dropped so far)",
                "alertmanager http://127.0.0.1:9: request failed (HTTP 503); \
                 retrying (3 failed requests since the last warning)",
                "alertmanager http://127.0.0.1:9: queue full, dropping anomalies (9 dropped so far)",
                "alertmanager http://127.0.0.1:9: delivering again after 4 failed requests",
            ]
        );
    }
}
