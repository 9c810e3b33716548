//! The native pipelines behind `Sentinel.scan` and `Sentinel.watch_file`: the engine's
//! parallel `Scanner`, the sequential `Engine` over a file (what `watch` runs) and the
//! rotation-proof `Follower` (what `watch --follow` runs), each on its own thread with
//! the GIL released. Anomalies cross to Python in batches over a bounded channel (a slow
//! consumer pauses the pipeline instead of growing memory) and come out of an
//! `AnomalyStream` iterator as the package's `Anomaly` objects (with their line numbers
//! and templates). Waiting for them releases the GIL and wakes regularly for signals;
//! `poll(timeout)` waits a bounded time. Closing the stream (from any thread) or dropping
//! it stops the pipeline. Notices (a skipped binary file, a missing followed path) are
//! collected in `AnomalyStream.notes`, never printed.

use crate::event::Event;
use crate::sentinel::{registry, severity_member};
use crate::time;
use pyo3::exceptions::{PyOSError, PyStopIteration, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::{PyDict, PyString, PyTuple};
use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use trace_sentinel_core::engine::{Engine, InputFormat};
use trace_sentinel_core::input::{self, BlockReader};
use trace_sentinel_core::scan::{ScanEvent, ScanInput, ScanOptions, Scanner};
use trace_sentinel_core::sink::Sink;
use trace_sentinel_core::{Anomaly, AnomalyRecord, Config, DetectorKind, Error, ShardBy};
use trace_sentinel_follow::{FollowOptions, FollowSpec, Follower, Waker};

/// Anomalies per message on the channel.
const BATCH: usize = 256;
/// Batches in flight before the pipeline waits for Python.
const IN_FLIGHT: usize = 16;
/// Longest wait of a follower between checks of the stop flag (closing also wakes it).
const STOP_CHECK: Duration = Duration::from_millis(100);
/// Longest wait of a consumer without the GIL before it checks for signals and `close()`.
const TICK: Duration = Duration::from_millis(50);

enum Msg {
    Batch(Vec<AnomalyRecord>),
    Note(String),
    End(Result<(), Error>),
}

/// A sink that ships owned records to the Python side in batches.
struct ChannelSink {
    tx: SyncSender<Msg>,
    batch: Vec<AnomalyRecord>,
}

impl ChannelSink {
    fn send(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.tx
            .send(Msg::Batch(batch))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the stream was closed"))
    }
}

impl Sink for ChannelSink {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        self.batch.push(AnomalyRecord::from_view(a));
        if self.batch.len() >= BATCH {
            self.send()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Detection settings shared by the pipelines (built by `trace_sentinel.Sentinel`).
#[derive(Clone)]
struct Settings {
    cfg: Config,
    format: InputFormat,
    max_line_bytes: usize,
    binary: bool,
}

#[allow(clippy::too_many_arguments)]
fn settings(
    threshold: f64,
    warmup: u64,
    detector: &str,
    alpha: f64,
    window: usize,
    semantic: bool,
    jsonl: bool,
    timed: bool,
    shard_by: &str,
    max_sources: usize,
    max_metrics: usize,
    templates: bool,
    max_templates: usize,
    max_line_bytes: usize,
    binary: bool,
) -> PyResult<Settings> {
    let detector = match detector {
        "zscore" => DetectorKind::Zscore,
        "ewma" => DetectorKind::Ewma { alpha },
        "mad" => DetectorKind::Mad { window },
        other => {
            return Err(PyValueError::new_err(format!(
                "detector must be 'zscore', 'ewma' or 'mad', not {other:?}"
            )))
        }
    };
    let shard_by = match shard_by {
        "source" => ShardBy::Source,
        "none" => ShardBy::None,
        other => {
            return Err(PyValueError::new_err(format!(
                "shard_by must be 'source' or 'none', not {other:?}"
            )))
        }
    };
    if max_line_bytes == 0 {
        return Err(PyValueError::new_err("max_line_bytes must be >= 1"));
    }
    let cfg = Config {
        threshold,
        warmup,
        detector,
        semantic,
        timed: timed || jsonl,
        shard_by,
        max_sources,
        max_metrics,
        templates,
        max_templates,
        ..Config::default()
    };
    cfg.validate().map_err(to_py)?;
    Ok(Settings {
        cfg,
        format: if jsonl {
            InputFormat::JsonLines
        } else {
            InputFormat::Text
        },
        max_line_bytes,
        binary,
    })
}

/// A library error as a Python exception: bad settings are `ValueError`, the rest
/// (unreadable, binary or mislabelled inputs, output failures) `OSError`.
fn to_py(e: Error) -> PyErr {
    match e {
        Error::Config { .. } => PyValueError::new_err(e.to_string()),
        e => PyOSError::new_err(e.to_string()),
    }
}

/// What the consumer side of a stream holds: the channel, the pipeline thread, records
/// received but not yet handed out, and the notices so far.
struct StreamState {
    /// `None` once the pipeline has ended or the stream was closed.
    rx: Option<Receiver<Msg>>,
    worker: Option<JoinHandle<()>>,
    queue: VecDeque<AnomalyRecord>,
    notes: Vec<String>,
    /// How the pipeline failed, raised once the anomalies before it are handed out.
    failed: Option<Error>,
}

impl StreamState {
    /// Wait up to `timeout` for one message, with the GIL released (the caller holds the
    /// state's lock, so no other consumer sees the receiver missing meanwhile).
    fn receive(&mut self, py: Python<'_>, timeout: Duration) -> Received {
        let Some(rx) = self.rx.take() else {
            return Received::Ended(Ok(()));
        };
        // The receiver travels into the detached closure and back (it is not `Sync`).
        let (rx, msg) = py.detach(move || {
            let msg = rx.recv_timeout(timeout);
            (rx, msg)
        });
        self.rx = Some(rx);
        self.take(msg)
    }

    /// A message that is already waiting, without blocking.
    fn try_receive(&mut self) -> Received {
        match self.rx.as_ref() {
            None => Received::Ended(Ok(())),
            Some(rx) => {
                let msg = rx.try_recv().map_err(|e| match e {
                    TryRecvError::Empty => RecvTimeoutError::Timeout,
                    TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                });
                self.take(msg)
            }
        }
    }

    fn take(&mut self, msg: Result<Msg, RecvTimeoutError>) -> Received {
        match msg {
            Ok(Msg::Batch(b)) => {
                self.queue.extend(b);
                Received::Some
            }
            Ok(Msg::Note(n)) => {
                self.notes.push(n);
                Received::Some
            }
            Ok(Msg::End(result)) => Received::Ended(result),
            Err(RecvTimeoutError::Timeout) => Received::Nothing,
            // The worker always sends `End` before it goes; this is a worker that died.
            Err(RecvTimeoutError::Disconnected) => Received::Ended(Ok(())),
        }
    }

    /// The pipeline ended with `result`: shut down, keeping a failure for [`fill`].
    ///
    /// [`fill`]: AnomalyStream::fill
    fn finish(&mut self, py: Python<'_>, result: Result<(), Error>) {
        self.shut(py);
        if let Err(e) = result {
            self.failed = Some(e);
        }
    }

    /// Forget the channel and wait for the pipeline thread (GIL released). The stop flag
    /// must be set first: a worker blocked on a full channel sees it closed, a follower
    /// is woken, a scan stops at its next chunk.
    fn shut(&mut self, py: Python<'_>) {
        self.rx = None;
        if let Some(worker) = self.worker.take() {
            py.detach(move || {
                let _ = worker.join();
            });
        }
    }
}

/// What one wait on the channel brought.
enum Received {
    /// A batch or a notice.
    Some,
    /// Nothing within the wait.
    Nothing,
    /// The pipeline ended, with its result.
    Ended(Result<(), Error>),
}

/// Iterator over the anomalies of a native pipeline running on its own thread.
///
/// Waiting for the next anomaly releases the GIL and wakes every [`TICK`] to let
/// signals (Ctrl-C) through and to notice [`AnomalyStream::close`] from another thread.
/// The class is frozen: its state sits behind a mutex taken with the GIL released, so
/// `close()` from another thread is never refused as a concurrent borrow.
#[pyclass(module = "trace_sentinel._native", frozen)]
pub struct AnomalyStream {
    stop: Arc<AtomicBool>,
    /// Wakes a follower's wait when the stream closes.
    waker: Option<Waker>,
    state: Mutex<StreamState>,
}

impl AnomalyStream {
    fn start<F>(waker: Option<Waker>, run: F) -> PyResult<Self>
    where
        F: FnOnce(&mut ChannelSink, &AtomicBool) -> Result<(), Error> + Send + 'static,
    {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let worker = std::thread::Builder::new()
            .name("trace-sentinel-stream".into())
            .spawn(move || {
                let mut sink = ChannelSink {
                    tx: tx.clone(),
                    batch: Vec::with_capacity(BATCH),
                };
                let mut result = run(&mut sink, &flag);
                if result.is_ok() {
                    result = sink.flush().map_err(Error::Output);
                }
                // A closed stream is not an error.
                if let Err(Error::Output(e)) = &result {
                    if e.kind() == io::ErrorKind::BrokenPipe {
                        result = Ok(());
                    }
                }
                let _ = tx.send(Msg::End(result));
            })
            .map_err(|e| PyOSError::new_err(format!("cannot start the pipeline thread: {e}")))?;
        Ok(AnomalyStream {
            stop,
            waker,
            state: Mutex::new(StreamState {
                rx: Some(rx),
                worker: Some(worker),
                queue: VecDeque::new(),
                notes: Vec::new(),
                failed: None,
            }),
        })
    }

    /// The state, locked with the GIL released while waiting for the lock. A panic
    /// cannot happen while it is held; a poisoned lock is used as it is.
    fn lock<'a>(&'a self, py: Python<'_>) -> MutexGuard<'a, StreamState> {
        self.state
            .lock_py_attached(py)
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn signal_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(w) = &self.waker {
            w.wake();
        }
    }

    /// Wait until a record is queued (true), `deadline` passes or the stream ends
    /// (false); `None` waits as long as it takes. A failed pipeline's error is raised
    /// here once the queue is empty.
    fn fill(
        &self,
        py: Python<'_>,
        st: &mut StreamState,
        deadline: Option<Instant>,
    ) -> PyResult<bool> {
        while st.queue.is_empty() {
            if let Some(e) = st.failed.take() {
                return Err(to_py(e));
            }
            if st.rx.is_none() {
                return Ok(false);
            }
            if self.stop.load(Ordering::Relaxed) {
                st.shut(py);
                return Ok(false);
            }
            let wait = match deadline {
                None => TICK,
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(TICK),
                    _ => match st.try_receive() {
                        Received::Some => continue,
                        Received::Nothing => return Ok(false),
                        Received::Ended(result) => {
                            st.finish(py, result);
                            continue;
                        }
                    },
                },
            };
            match st.receive(py, wait) {
                Received::Some => {}
                Received::Nothing => py.check_signals()?,
                Received::Ended(result) => st.finish(py, result),
            }
        }
        Ok(true)
    }
}

impl Drop for AnomalyStream {
    fn drop(&mut self) {
        self.signal_stop();
        // Without the GIL to wait for the thread: dropping the receiver is enough, the
        // worker sees the closed channel or the flag and ends by itself.
        if let Ok(st) = self.state.get_mut() {
            st.rx = None;
            st.worker = None;
        }
    }
}

#[pymethods]
impl AnomalyStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut st = self.lock(py);
        if !self.fill(py, &mut st, None)? {
            return Err(PyStopIteration::new_err(()));
        }
        let r = st.queue.pop_front();
        drop(st);
        match r {
            Some(r) => to_anomaly(py, &r),
            None => Err(PyStopIteration::new_err(())),
        }
    }

    /// The anomalies available now, after waiting up to `timeout` seconds for the first
    /// one; `[]` if none came in time or the stream has ended (see `done`).
    #[pyo3(signature = (timeout=0.0))]
    fn poll<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Vec<Bound<'py, PyAny>>> {
        if timeout.is_nan() || timeout < 0.0 {
            return Err(PyValueError::new_err("timeout must be >= 0 seconds"));
        }
        let wait = Duration::try_from_secs_f64(timeout).unwrap_or(Duration::MAX);
        let deadline = Instant::now().checked_add(wait);
        let mut st = self.lock(py);
        self.fill(py, &mut st, deadline)?;
        // Whatever else has arrived comes along.
        while st.rx.is_some() {
            match st.try_receive() {
                Received::Some => {}
                Received::Nothing => break,
                // A failure is raised by the next call, after these anomalies.
                Received::Ended(result) => st.finish(py, result),
            }
        }
        let records: Vec<AnomalyRecord> = st.queue.drain(..).collect();
        drop(st);
        records.iter().map(|r| to_anomaly(py, r)).collect()
    }

    /// Whether the stream has ended (the pipeline finished or the stream was closed)
    /// and every anomaly was handed out.
    #[getter]
    fn done(&self, py: Python<'_>) -> bool {
        let st = self.lock(py);
        st.rx.is_none() && st.queue.is_empty()
    }

    /// Stop the pipeline and end the stream; safe to call from any thread, also while
    /// another thread waits in `next()` (which then raises StopIteration).
    fn close(&self, py: Python<'_>) {
        self.signal_stop();
        let mut st = self.lock(py);
        st.shut(py);
        st.queue.clear();
        st.failed = None;
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> bool {
        self.close(py);
        false
    }

    /// Notices from the pipeline so far (skipped binary inputs, missing followed paths).
    #[getter]
    fn notes(&self, py: Python<'_>) -> Vec<String> {
        self.lock(py).notes.clone()
    }
}

/// The package's `Anomaly` of a record, with its line number and template where known.
fn to_anomaly<'py>(py: Python<'py>, r: &AnomalyRecord) -> PyResult<Bound<'py, PyAny>> {
    let reg = registry(py)?;
    let event = Event::build(
        py,
        PyString::new(py, &r.message).into_any(),
        Some(time::to_datetime(py, &r.timestamp)?),
        Some(PyString::new(py, &r.source).into_any()),
        None,
    )?;
    let event = Bound::new(py, event)?;
    let args = (
        r.metric.as_str(),
        r.value,
        r.score,
        severity_member(reg, r.severity).bind(py),
        event,
        r.explanation(),
    );
    let anomaly = reg.anomaly.bind(py);
    if r.line.is_none() && r.template.is_none() {
        return anomaly.call1(args);
    }
    let kwargs = PyDict::new(py);
    if let Some(line) = r.line {
        kwargs.set_item(intern!(py, "line"), line)?;
    }
    if let Some((id, text)) = &r.template {
        kwargs.set_item(intern!(py, "template_id"), id)?;
        kwargs.set_item(intern!(py, "template"), text)?;
        kwargs.set_item(intern!(py, "level"), r.level.map(|l| l.name()))?;
    }
    anomaly.call(args, Some(&kwargs))
}

/// Run the engine's parallel `scan` over `paths` (`sources[i]` names the lines of
/// `paths[i]`) and stream its anomalies.
#[pyfunction]
#[pyo3(signature = (paths, sources, *, threads, chunk_size, threshold, warmup, detector, alpha, window, semantic, jsonl, shard_by, max_sources, max_metrics, templates, max_templates, max_line_bytes, binary))]
#[allow(clippy::too_many_arguments)]
pub fn scan(
    paths: Vec<PathBuf>,
    sources: Vec<String>,
    threads: Option<usize>,
    chunk_size: usize,
    threshold: f64,
    warmup: u64,
    detector: &str,
    alpha: f64,
    window: usize,
    semantic: bool,
    jsonl: bool,
    shard_by: &str,
    max_sources: usize,
    max_metrics: usize,
    templates: bool,
    max_templates: usize,
    max_line_bytes: usize,
    binary: bool,
) -> PyResult<AnomalyStream> {
    let s = settings(
        threshold,
        warmup,
        detector,
        alpha,
        window,
        semantic,
        jsonl,
        false,
        shard_by,
        max_sources,
        max_metrics,
        templates,
        max_templates,
        max_line_bytes,
        binary,
    )?;
    let threads = match threads {
        None => ScanOptions::default().threads,
        Some(n) if (1..=1024).contains(&n) => n,
        Some(n) => {
            return Err(PyValueError::new_err(format!(
                "threads must be in 1..=1024, not {n}"
            )))
        }
    };
    input::check_paths(&paths).map_err(to_py)?;
    let inputs: Vec<ScanInput> = paths
        .into_iter()
        .zip(sources)
        .map(|(path, source)| ScanInput { path, source })
        .collect();
    let opts = ScanOptions {
        threads,
        chunk_size: chunk_size.max(1),
        in_flight: 0,
        max_line_bytes: s.max_line_bytes,
        binary: s.binary,
    };
    let scanner = Scanner::new(opts, s.format, &s.cfg).map_err(to_py)?;
    AnomalyStream::start(None, move |sink, stop| {
        let mut engine = Engine::new(s.cfg.clone(), s.format);
        let tx = sink.tx.clone();
        let mut progress = |event: ScanEvent<'_>| {
            if let ScanEvent::Skipped(e) = event {
                let _ = tx.send(Msg::Note(e.to_string()));
            }
        };
        scanner.run(&inputs, engine.shards_mut(), sink, stop, &mut progress)?;
        Ok(())
    })
}

/// Read `path` once through the sequential engine (`watch`), or with `follow` tail it
/// through rotation and truncation (`watch --follow`) until the stream is closed.
#[pyfunction]
#[pyo3(signature = (path, source, *, follow, from_start, poll_interval, threshold, warmup, detector, alpha, window, semantic, jsonl, shard_by, max_sources, max_metrics, templates, max_templates, max_line_bytes, binary))]
#[allow(clippy::too_many_arguments)]
pub fn watch_file(
    path: PathBuf,
    source: String,
    follow: bool,
    from_start: bool,
    poll_interval: f64,
    threshold: f64,
    warmup: u64,
    detector: &str,
    alpha: f64,
    window: usize,
    semantic: bool,
    jsonl: bool,
    shard_by: &str,
    max_sources: usize,
    max_metrics: usize,
    templates: bool,
    max_templates: usize,
    max_line_bytes: usize,
    binary: bool,
) -> PyResult<AnomalyStream> {
    let s = settings(
        threshold,
        warmup,
        detector,
        alpha,
        window,
        semantic,
        jsonl,
        follow,
        shard_by,
        max_sources,
        max_metrics,
        templates,
        max_templates,
        max_line_bytes,
        binary,
    )?;
    if !follow {
        input::check_paths(std::slice::from_ref(&path)).map_err(to_py)?;
        return AnomalyStream::start(None, move |sink, stop| {
            let mut engine = Engine::new(s.cfg.clone(), s.format);
            engine.set_max_line_bytes(s.max_line_bytes);
            let mut stream = input::open_stream(&path, s.binary)?;
            let mut reader = BlockReader::with_max_line(s.max_line_bytes);
            engine.begin_input();
            let mut failed = None;
            reader
                .for_each_piece(&mut stream, |piece| {
                    if stop.load(Ordering::Relaxed) {
                        return Ok(false);
                    }
                    if let Err(e) = engine.feed_piece(piece, &source, sink) {
                        failed = Some(e);
                        return Ok(false);
                    }
                    Ok(true)
                })
                .map_err(|e| Error::Input {
                    path: path.clone(),
                    source: e,
                })?;
            match failed {
                Some(e) => Err(Error::Output(e)),
                None => Ok(()),
            }
        });
    }
    if path.is_dir() {
        return Err(to_py(Error::IsDirectory(path)));
    }
    if !(poll_interval.is_finite() && poll_interval > 0.0) {
        return Err(PyValueError::new_err("poll_interval must be > 0 seconds"));
    }
    let opts = FollowOptions {
        from_start,
        poll_interval: Duration::from_secs_f64(poll_interval.min(3600.0)),
        max_line_bytes: s.max_line_bytes,
        ..FollowOptions::default()
    };
    // Opened here, before the call returns: lines appended after `watch_file` returns
    // are read even if the thread starts late.
    let mut follower = Follower::new(&[FollowSpec { path, source }], &[], opts);
    let waker = follower.waker();
    AnomalyStream::start(Some(waker), move |sink, stop| {
        let mut engine = Engine::new(s.cfg.clone(), s.format);
        engine.set_max_line_bytes(s.max_line_bytes);
        let tx = sink.tx.clone();
        while !stop.load(Ordering::Relaxed) {
            let more = follower
                .poll(&mut |piece, source, line| {
                    engine.set_line_cursor(line);
                    engine.feed_piece(piece, source, sink)
                })
                .map_err(Error::Output)?;
            sink.flush().map_err(Error::Output)?;
            for n in follower.take_notices() {
                let _ = tx.send(Msg::Note(n));
            }
            if !more {
                follower.wait(follower.next_timeout().min(STOP_CHECK));
            }
        }
        Ok(())
    })
}
