//! The native pipelines behind `Sentinel.scan` and `Sentinel.watch_file`: the engine's
//! parallel `Scanner`, the sequential `Engine` over a file (what `watch` runs) and the
//! rotation-proof `Follower` (what `watch --follow` runs), each on its own thread with
//! the GIL released. Anomalies cross to Python in batches over a bounded channel (a slow
//! consumer pauses the pipeline instead of growing memory) and come out of an
//! `AnomalyStream` iterator as the package's `Anomaly` objects. Closing or dropping the
//! stream stops the pipeline. Notices (a skipped binary file, a missing followed path)
//! are collected in `AnomalyStream.notes`, never printed.

use crate::event::Event;
use crate::exclusive::Exclusive;
use crate::sentinel::{registry, severity_member};
use crate::time;
use pyo3::exceptions::{PyOSError, PyStopIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use trace_sentinel_core::engine::{Engine, InputFormat};
use trace_sentinel_core::input::{self, BlockReader};
use trace_sentinel_core::scan::{ScanEvent, ScanInput, ScanOptions, Scanner};
use trace_sentinel_core::sink::Sink;
use trace_sentinel_core::{Anomaly, AnomalyRecord, Config, DetectorKind, Error, ShardBy};
use trace_sentinel_follow::{FollowOptions, FollowSpec, Follower};

/// Anomalies per message on the channel.
const BATCH: usize = 256;
/// Batches in flight before the pipeline waits for Python.
const IN_FLIGHT: usize = 16;
/// Longest wait of a follower between checks of the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(100);

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

/// Iterator over the anomalies of a native pipeline running on its own thread.
#[pyclass(module = "trace_sentinel._native")]
pub struct AnomalyStream {
    rx: Exclusive<Option<Receiver<Msg>>>,
    stop: Arc<AtomicBool>,
    worker: Exclusive<Option<JoinHandle<()>>>,
    queue: VecDeque<AnomalyRecord>,
    notes: Vec<String>,
}

impl AnomalyStream {
    fn start<F>(run: F) -> PyResult<Self>
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
            rx: Exclusive::new(Some(rx)),
            stop,
            worker: Exclusive::new(Some(worker)),
            queue: VecDeque::new(),
            notes: Vec::new(),
        })
    }

    fn stop_worker(&mut self, py: Python<'_>) {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the receiver unblocks a worker waiting to send.
        *self.rx.get_mut() = None;
        if let Some(worker) = self.worker.get_mut().take() {
            py.detach(|| {
                let _ = worker.join();
            });
        }
    }

    fn to_anomaly<'py>(&self, py: Python<'py>, r: &AnomalyRecord) -> PyResult<Bound<'py, PyAny>> {
        let reg = registry(py)?;
        let event = Event::build(
            py,
            PyString::new(py, &r.message).into_any(),
            Some(time::to_datetime(py, &r.timestamp)?),
            Some(PyString::new(py, &r.source).into_any()),
            None,
        )?;
        let event = Bound::new(py, event)?;
        reg.anomaly.bind(py).call1((
            r.metric.as_str(),
            r.value,
            r.score,
            severity_member(reg, r.severity).bind(py),
            event,
            r.explanation(),
        ))
    }
}

impl Drop for AnomalyStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        *self.rx.get_mut() = None;
        // The worker sees the closed channel or the flag and ends by itself.
        self.worker.get_mut().take();
    }
}

#[pymethods]
impl AnomalyStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        loop {
            if let Some(r) = self.queue.pop_front() {
                return self.to_anomaly(py, &r);
            }
            let Some(rx) = self.rx.get_mut().take() else {
                return Err(PyStopIteration::new_err(()));
            };
            // The receiver travels into the detached closure and back (it is not `Sync`).
            let (rx, msg) = py.detach(move || {
                let msg = rx.recv();
                (rx, msg)
            });
            *self.rx.get_mut() = Some(rx);
            match msg {
                Ok(Msg::Batch(b)) => self.queue.extend(b),
                Ok(Msg::Note(n)) => self.notes.push(n),
                Ok(Msg::End(result)) => {
                    self.stop_worker(py);
                    result.map_err(to_py)?;
                    return Err(PyStopIteration::new_err(()));
                }
                Err(_) => {
                    self.stop_worker(py);
                    return Err(PyStopIteration::new_err(()));
                }
            }
            // Let Ctrl-C and other signals through between batches.
            py.check_signals()?;
        }
    }

    /// Stop the pipeline (a follower stops within 0.1 s); later iteration ends.
    fn close(&mut self, py: Python<'_>) {
        self.stop_worker(py);
        self.queue.clear();
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&mut self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }

    /// Notices from the pipeline so far (skipped binary inputs, missing followed paths).
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
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
    AnomalyStream::start(move |sink, stop| {
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
        return AnomalyStream::start(move |sink, stop| {
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
    AnomalyStream::start(move |sink, stop| {
        let mut engine = Engine::new(s.cfg.clone(), s.format);
        engine.set_max_line_bytes(s.max_line_bytes);
        let specs = [FollowSpec { path, source }];
        let mut follower = Follower::new(&specs, &[], opts);
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
