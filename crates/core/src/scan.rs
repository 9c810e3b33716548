//! The parallel batch driver behind `scan`.
//!
//! Input is cut into chunks at line breaks (memory-mapped regular files; compressed files
//! and stdin are streamed into owned chunks; inputs that look binary are skipped unless
//! [`ScanOptions::binary`]). Extraction — the shared [`LineParser`]: decode, parse,
//! measure, trigram hashing — runs on `threads - 1` rayon workers *and* on the calling
//! thread, which also consumes the finished chunks strictly in input order and feeds them
//! to the [`ShardSet`]. Whenever the next chunk in order is not ready, the calling thread
//! takes the oldest chunk nobody has started instead of waiting, so `--threads 1` is a
//! plain sequential loop and every extra thread adds one extractor. Detection — score
//! before update, shard by shard — is exactly what the sequential `watch` path does,
//! whatever the thread count. At most `in_flight` chunks exist at once, so memory stays
//! flat; a chunk holds about 65,536 lines at most. For a mapped file the
//! extractor that takes a chunk enforces that cap (off the consuming thread; for ASCII
//! text inside the span kernel's own pass): it extracts the first lines only and hands
//! the rest back, and the consumer queues that rest as the next piece of the same chunk
//! once it has consumed the first.

use crate::config::Config;
use crate::detect::shard_set::ShardSet;
use crate::error::{Error, Result};
use crate::features::ChunkFeatures;
use crate::input;
use crate::mapguard::GuardedMap;
use crate::parse::{InputFormat, LineParser};
use crate::record::LineCursor;
use crate::sink::Sink;
use crate::stats::StageHistogram;
use memmap2::Mmap;
use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;
use trace_sentinel_kernels::split;

/// Tuning of the parallel driver.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Threads (>= 1): `threads - 1` pool workers plus the calling thread.
    pub threads: usize,
    /// Target chunk size in bytes (chunks end at the first line break after it).
    pub chunk_size: usize,
    /// Chunks in flight at once (bounds memory); 0 picks [`default_in_flight`].
    pub in_flight: usize,
    /// Line cap (`--max-line-bytes`): longer lines keep only this prefix as the message.
    pub max_line_bytes: usize,
    /// Read inputs that look binary (a NUL byte in their first block) as text instead of
    /// skipping them (`--binary`).
    pub binary: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        ScanOptions {
            threads,
            chunk_size: 1 << 20,
            in_flight: 0,
            max_line_bytes: crate::input::DEFAULT_MAX_LINE_BYTES,
            binary: false,
        }
    }
}

/// One input of a scan.
#[derive(Debug, Clone)]
pub struct ScanInput {
    /// Path (`-` for stdin).
    pub path: PathBuf,
    /// Source label of its plain-text lines.
    pub source: String,
}

/// Bytes of one chunk: a slice of a shared map, or an owned buffer.
enum ChunkBytes {
    Mapped(Arc<GuardedMap>, Range<usize>),
    Owned(Vec<u8>),
}

impl ChunkBytes {
    /// The map of a mapped chunk.
    fn map(&self) -> Option<&GuardedMap> {
        match self {
            ChunkBytes::Mapped(m, _) => Some(m),
            ChunkBytes::Owned(_) => None,
        }
    }

    /// The first `at` bytes, and the rest when there is any (a mapped rest shares the
    /// map; an owned one is split off into its own buffer).
    fn split_at(self, at: usize) -> (ChunkBytes, Option<ChunkBytes>) {
        match self {
            ChunkBytes::Mapped(map, r) => {
                let mid = r.start + at;
                let rest = (mid < r.end).then(|| ChunkBytes::Mapped(Arc::clone(&map), mid..r.end));
                (ChunkBytes::Mapped(map, r.start..mid), rest)
            }
            ChunkBytes::Owned(mut bytes) => {
                let rest = (at < bytes.len()).then(|| ChunkBytes::Owned(bytes.split_off(at)));
                (ChunkBytes::Owned(bytes), rest)
            }
        }
    }
}

impl std::ops::Deref for ChunkBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ChunkBytes::Mapped(m, r) => &m[r.clone()],
            ChunkBytes::Owned(v) => v,
        }
    }
}

/// Where a chunk's records go in the stream: chunk number, then piece number within the
/// chunk (pieces exist only when an extractor capped a mapped chunk's lines).
type Order = (u64, u32);

struct ChunkJob {
    seq: Order,
    input: usize,
    bytes: ChunkBytes,
    /// `Some((chars, words))` when `bytes` is the kept prefix of one over-long line.
    long: Option<(u64, u64)>,
}

struct ChunkDone {
    seq: Order,
    input: usize,
    bytes: ChunkBytes,
    /// The bytes after the line cap, not extracted yet: the chunk's next piece.
    rest: Option<ChunkBytes>,
    features: ChunkFeatures,
    extract_us: u64,
}

/// What a scan reports while it runs.
#[derive(Debug)]
pub enum ScanEvent<'a> {
    /// After every chunk detected: what the scan measured so far (bytes, stage
    /// latencies) and the detect stage (events, sources, counters).
    Progress {
        /// The measurements so far.
        report: &'a ScanReport,
        /// The detect stage.
        shards: &'a ShardSet,
    },
    /// An input was skipped ([`Error::Binary`]: it looks binary); the scan goes on with
    /// the next one.
    Skipped(&'a Error),
    /// An input failed part-way ([`Error::Truncated`]: it shrank while mapped); what was
    /// reported from it stands, the rest of it is not read, and the scan goes on with
    /// the next input. The error is also in [`ScanReport::failed`].
    Failed(&'a Error),
}

/// Where a scan reports [`ScanEvent`]s.
pub type Progress<'a> = &'a mut dyn FnMut(ScanEvent<'_>);

/// What the scan measured.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Input bytes consumed.
    pub bytes: u64,
    /// Per-chunk parse+extract time.
    pub extract: StageHistogram,
    /// Per-chunk detect time.
    pub detect: StageHistogram,
    /// Per-chunk read/map time.
    pub read: StageHistogram,
    /// Whether the scan stopped early on the interrupt flag.
    pub interrupted: bool,
    /// Inputs that failed part-way (see [`ScanEvent::Failed`]), in input order.
    pub failed: Vec<Error>,
}

/// Scratch shared by everyone who extracts: the pending jobs (oldest first), idle
/// parsers and reusable feature buffers.
struct Shared {
    queue: Mutex<VecDeque<ChunkJob>>,
    parsers: Mutex<Vec<LineParser>>,
    frozen_pool: Mutex<Vec<ChunkFeatures>>,
    format: InputFormat,
    semantic: bool,
    templates: bool,
    max_line: usize,
}

impl Shared {
    /// Parse and extract one chunk with a pooled parser.
    fn run(&self, job: ChunkJob) -> ChunkDone {
        let t0 = Instant::now();
        let mut parser = lock(&self.parsers).pop().unwrap_or_else(|| {
            let mut p = LineParser::new(self.format, self.semantic).with_templates(self.templates);
            p.set_max_line_bytes(self.max_line);
            p
        });
        let mut features = lock(&self.frozen_pool).pop().unwrap_or_default();
        let (bytes, rest) = match (job.long, job.bytes) {
            (Some((chars, words)), bytes) => {
                parser.extract_oversized(&bytes, chars, words, &mut features);
                (bytes, None)
            }
            // A mapped chunk is cut by size only: the extractor takes its first
            // MAX_CHUNK_LINES lines. Streams were capped at that many line breaks as
            // they were read (no second count). Either may stop sooner, at the feature
            // budget; the rest, if any, is handed back.
            (None, bytes) => {
                let cap = match bytes {
                    ChunkBytes::Mapped(..) => MAX_CHUNK_LINES,
                    ChunkBytes::Owned(_) => usize::MAX,
                };
                let taken = parser.extract_chunk_upto(&bytes, &mut features, cap);
                bytes.split_at(taken)
            }
        };
        lock(&self.parsers).push(parser);
        ChunkDone {
            seq: job.seq,
            input: job.input,
            bytes,
            rest,
            features,
            extract_us: t0.elapsed().as_micros() as u64,
        }
    }

    /// Take the oldest job nobody has started.
    fn take(&self) -> Option<ChunkJob> {
        lock(&self.queue).pop_front()
    }
}

/// Runs scans: `threads - 1` pool workers extract chunks while the calling thread
/// consumes them in order and, whenever the next chunk is not ready, extracts the oldest
/// unstarted chunk itself. `--threads 1` is therefore fully sequential, and every extra
/// thread adds one extractor.
pub struct Scanner {
    pool: Option<rayon::ThreadPool>,
    opts: ScanOptions,
    shared: Arc<Shared>,
}

impl Scanner {
    /// A scanner for `format` whose workers extract what `cfg` needs (the semantic
    /// vector, template shapes).
    pub fn new(mut opts: ScanOptions, format: InputFormat, cfg: &Config) -> Result<Self> {
        opts.threads = opts.threads.max(1);
        opts.chunk_size = opts.chunk_size.max(1);
        if opts.in_flight == 0 {
            opts.in_flight = default_in_flight(opts.threads);
        }
        let pool = if opts.threads > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(opts.threads - 1)
                    .thread_name(|i| format!("scan-worker-{i}"))
                    .build()
                    .map_err(|e| Error::WorkerPool(e.to_string()))?,
            )
        } else {
            None
        };
        let shared = Arc::new(Shared {
            queue: Mutex::default(),
            parsers: Mutex::default(),
            frozen_pool: Mutex::default(),
            format,
            semantic: cfg.semantic,
            templates: cfg.templates,
            max_line: opts.max_line_bytes,
        });
        Ok(Scanner { pool, opts, shared })
    }

    /// Scan `inputs` in order as one stream into the detect stage, anomalies into `sink`.
    pub fn run(
        &self,
        inputs: &[ScanInput],
        shards: &mut ShardSet,
        sink: &mut dyn Sink,
        stop: &AtomicBool,
        progress: Progress<'_>,
    ) -> Result<ScanReport> {
        let (tx, rx) = mpsc::channel::<ChunkDone>();
        let mut st = Ordered {
            rx,
            tx: tx.clone(),
            pool: self.pool.as_ref(),
            pending: BTreeMap::new(),
            next: (0, 0),
            capped: None,
            in_flight: 0,
            report: ScanReport::default(),
            inputs,
            shared: Arc::clone(&self.shared),
            cursor: (0, LineCursor::default()),
        };
        let mut seq = 0u64;
        'inputs: for (i, inp) in inputs.iter().enumerate() {
            let mut chunks = match ChunkSource::open(inp, &self.opts) {
                Ok(chunks) => chunks,
                Err(e @ Error::Binary(_)) => {
                    progress(ScanEvent::Skipped(&e));
                    continue;
                }
                Err(e @ Error::Truncated(_)) => {
                    progress(ScanEvent::Failed(&e));
                    st.report.failed.push(e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            loop {
                if stop.load(Ordering::Relaxed) {
                    st.report.interrupted = true;
                    break 'inputs;
                }
                while st.in_flight >= self.opts.in_flight {
                    st.wait_one(shards, sink, progress)?;
                }
                if let Some((input, bytes)) = st.capped.take() {
                    if input == i {
                        chunks.shrink_to(bytes);
                    }
                }
                let t0 = Instant::now();
                let Some((bytes, long)) = chunks.next_chunk().map_err(|e| Error::Input {
                    path: inp.path.clone(),
                    source: e,
                })?
                else {
                    break;
                };
                st.report.read.record(t0.elapsed());
                dispatch(
                    &self.shared,
                    self.pool.as_ref(),
                    ChunkJob {
                        seq: (seq, 0),
                        input: i,
                        bytes,
                        long,
                    },
                    &tx,
                    false,
                );
                seq += 1;
                st.in_flight += 1;
                st.drain_ready(shards, sink, progress)?;
            }
        }
        while st.in_flight > 0 {
            st.wait_one(shards, sink, progress)?;
        }
        sink.flush().map_err(Error::Output)?;
        Ok(st.report)
    }

    /// Over-long lines the extractors have seen so far (`--max-line-bytes`).
    pub fn oversized_lines(&self) -> u64 {
        lock(&self.shared.parsers)
            .iter()
            .map(LineParser::oversized_lines)
            .sum()
    }
}

/// Queue a job (at the front when `first`: the next piece of the chunk being consumed);
/// a pool worker (if any) takes the oldest queued job when it runs.
fn dispatch(
    shared: &Arc<Shared>,
    pool: Option<&rayon::ThreadPool>,
    job: ChunkJob,
    tx: &mpsc::Sender<ChunkDone>,
    first: bool,
) {
    {
        let mut queue = lock(&shared.queue);
        if first {
            queue.push_front(job);
        } else {
            queue.push_back(job);
        }
    }
    if let Some(pool) = pool {
        let shared = Arc::clone(shared);
        let tx = tx.clone();
        pool.spawn(move || {
            if let Some(job) = shared.take() {
                let _ = tx.send(shared.run(job));
            }
        });
    }
}

/// Chunks in flight for `threads` threads: four per thread, at most 16.
///
/// The calling thread is the only one that consumes chunks in order, and it also
/// extracts whenever the next chunk is not ready; while it does, the pool workers keep
/// busy only if enough later chunks are queued, so each thread gets several. The cap
/// bounds the memory of many threads.
pub fn default_in_flight(threads: usize) -> usize {
    (threads * 4).clamp(2, 16)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The ordered consumer state.
struct Ordered<'a> {
    rx: mpsc::Receiver<ChunkDone>,
    /// For queueing the rest of a capped chunk.
    tx: mpsc::Sender<ChunkDone>,
    pool: Option<&'a rayon::ThreadPool>,
    pending: BTreeMap<Order, ChunkDone>,
    next: Order,
    /// The last capped piece seen: its input, and how many bytes held the line cap.
    capped: Option<(usize, usize)>,
    in_flight: usize,
    report: ScanReport,
    inputs: &'a [ScanInput],
    shared: Arc<Shared>,
    /// The input being consumed and where it stands (line numbers).
    cursor: (usize, LineCursor),
}

impl Ordered<'_> {
    /// Move every chunk the workers have finished into `pending`.
    fn collect_finished(&mut self) {
        while let Ok(done) = self.rx.try_recv() {
            self.pending.insert(done.seq, done);
        }
    }

    /// Make progress on the oldest chunk: consume it when ready, otherwise extract the
    /// oldest unstarted chunk here, otherwise wait for a worker.
    fn wait_one(
        &mut self,
        shards: &mut ShardSet,
        sink: &mut dyn Sink,
        progress: Progress<'_>,
    ) -> Result<()> {
        self.collect_finished();
        if !self.pending.contains_key(&self.next) {
            if let Some(job) = self.shared.take() {
                let done = self.shared.run(job);
                self.pending.insert(done.seq, done);
            } else {
                match self.rx.recv() {
                    Ok(done) => {
                        self.pending.insert(done.seq, done);
                    }
                    Err(_) => {
                        return Err(Error::WorkerPool("the workers stopped".into()));
                    }
                }
            }
        }
        self.drain_ready(shards, sink, progress)
    }

    fn drain_ready(
        &mut self,
        shards: &mut ShardSet,
        sink: &mut dyn Sink,
        progress: Progress<'_>,
    ) -> Result<()> {
        self.collect_finished();
        while let Some(mut done) = self.pending.remove(&self.next) {
            let (seq, piece) = self.next;
            // A chunk of a map that was truncated may hold zeros instead of the file's
            // bytes: it is not observed, nor is the rest of it.
            let truncated = done.bytes.map().is_some_and(GuardedMap::truncated);
            if truncated {
                done.rest = None;
            }
            match done.rest.take() {
                // The rest of a capped chunk takes the chunk's place in flight (so
                // memory stays bounded) and goes first in the queue: nothing after it
                // can be consumed before it. A worker can start on it while this piece
                // is being consumed.
                Some(rest) => {
                    self.capped = Some((done.input, done.bytes.len()));
                    self.next = (seq, piece + 1);
                    dispatch(
                        &self.shared,
                        self.pool,
                        ChunkJob {
                            seq: self.next,
                            input: done.input,
                            bytes: rest,
                            long: None,
                        },
                        &self.tx,
                        true,
                    );
                }
                None => {
                    self.next = (seq + 1, 0);
                    self.in_flight -= 1;
                }
            }
            self.report.extract.record_us(done.extract_us);
            if truncated {
                self.fail_truncated(done.input, progress);
                lock(&self.shared.frozen_pool).push(done.features);
                continue;
            }
            let t0 = Instant::now();
            let source = self.inputs[done.input].source.as_str();
            if self.cursor.0 != done.input {
                self.cursor = (done.input, LineCursor::default());
            }
            let observed = match done.bytes.map() {
                Some(map) => {
                    let mut guarded = TruncationGuard { map, inner: sink };
                    shards.observe_chunk(
                        &done.features,
                        &done.bytes,
                        source,
                        &mut self.cursor.1,
                        &mut guarded,
                    )
                }
                None => shards.observe_chunk(
                    &done.features,
                    &done.bytes,
                    source,
                    &mut self.cursor.1,
                    sink,
                ),
            };
            match observed {
                Ok(()) => {}
                Err(e) if e.get_ref().is_some_and(|r| r.is::<TruncatedMark>()) => {
                    self.fail_truncated(done.input, progress);
                }
                Err(e) => return Err(Error::Output(e)),
            }
            lock(&self.shared.frozen_pool).push(done.features);
            self.report.detect.record(t0.elapsed());
            self.report.bytes += done.bytes.len() as u64;
            progress(ScanEvent::Progress {
                report: &self.report,
                shards,
            });
        }
        Ok(())
    }
}

impl Ordered<'_> {
    /// Record, once per input, that `input` was truncated while mapped.
    fn fail_truncated(&mut self, input: usize, progress: Progress<'_>) {
        let path = &self.inputs[input].path;
        let known = self
            .report
            .failed
            .iter()
            .any(|e| matches!(e, Error::Truncated(p) if p == path));
        if !known {
            let e = Error::Truncated(path.clone());
            progress(ScanEvent::Failed(&e));
            self.report.failed.push(e);
        }
    }
}

/// What a [`TruncationGuard`] returns to stop a chunk whose map was truncated.
#[derive(Debug)]
struct TruncatedMark;

impl std::fmt::Display for TruncatedMark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("input truncated while mapped")
    }
}

impl std::error::Error for TruncatedMark {}

/// Passes a mapped chunk's anomalies on while its map is intact; once a read has hit the
/// truncated part (the message bytes an anomaly borrows may be zeros), it stops the
/// chunk instead.
struct TruncationGuard<'a> {
    map: &'a GuardedMap,
    inner: &'a mut dyn Sink,
}

impl Sink for TruncationGuard<'_> {
    fn emit(&mut self, anomaly: &crate::anomaly::Anomaly<'_>) -> std::io::Result<()> {
        if self.map.truncated() {
            return Err(std::io::Error::other(TruncatedMark));
        }
        self.inner.emit(anomaly)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Most lines in one chunk (or piece of a mapped chunk): a chunk of tiny lines would
/// otherwise hold hundreds of thousands of records (120 bytes each outside the ASCII
/// fast path), and up to `in_flight` chunks exist at once.
///
/// Streams are capped at this many line breaks as they are read (their bytes are copied
/// into the chunk anyway). Mapped chunks are cut by size alone and capped by the
/// extractor that takes them ([`LineParser::extract_chunk_upto`]): an ASCII text chunk
/// at this many spans (up to 64 more) in the span kernel's own pass, any other after
/// this many line breaks, counted first. Counting there, on a worker, keeps a pass over
/// every byte of the map off the consuming thread, which runs the ordered detectors.
const MAX_CHUNK_LINES: usize = 1 << 16;

/// Produces the chunks of one input.
enum ChunkSource {
    Mapped {
        map: Arc<GuardedMap>,
        pos: usize,
        chunk: usize,
    },
    Stream {
        reader: Box<dyn Read + Send>,
        carry: Vec<u8>,
        chunk: usize,
        eof: bool,
        max_line: usize,
    },
    Empty,
}

impl ChunkSource {
    /// A streamed input (stdin, gzip, FIFOs): read in owned chunks.
    fn stream(reader: Box<dyn Read + Send>, chunk: usize, max_line: usize) -> Self {
        ChunkSource::Stream {
            reader,
            carry: Vec::new(),
            chunk,
            eof: false,
            max_line,
        }
    }

    fn open(inp: &ScanInput, opts: &ScanOptions) -> Result<Self> {
        let (chunk, max_line, binary) = (opts.chunk_size, opts.max_line_bytes, opts.binary);
        if input::is_stdin(&inp.path) || input::is_compressed_name(&inp.path) {
            return Ok(Self::stream(
                input::open_stream(&inp.path, binary)?,
                chunk,
                max_line,
            ));
        }
        let file = input::open_file(&inp.path)?;
        let meta = file.metadata().map_err(|e| Error::Input {
            path: inp.path.clone(),
            source: e,
        })?;
        if !meta.is_file() {
            // FIFOs, character devices: stream them (decompressed when compressed).
            let reader = input::checked_stream(&inp.path, Box::new(file), binary)?;
            return Ok(Self::stream(reader, chunk, max_line));
        }
        if meta.len() == 0 {
            return Ok(ChunkSource::Empty);
        }
        // SAFETY: the map is read-only and never assumed to be valid UTF-8 or stable:
        // every byte is validated where it is interpreted. A concurrent truncation of the
        // file raises SIGBUS on the pages past its new end; the guard turns those into
        // zero pages and marks the map, which the consumer checks before it trusts a
        // chunk (`mapguard`; follow mode never maps).
        let map = GuardedMap::new(unsafe { Mmap::map(&file) }.map_err(|e| Error::Input {
            path: inp.path.clone(),
            source: e,
        })?);
        if input::Compression::of_magic(&map).is_some() {
            // Compressed under another name (a rotated `app.log.1`): streamed and
            // decompressed from the file already open (mapping it did not move its
            // position).
            drop(map);
            let reader = input::checked_stream(&inp.path, Box::new(file), binary)?;
            return Ok(Self::stream(reader, chunk, max_line));
        }
        if !binary && input::looks_binary(&map) && !map.truncated() {
            return Err(Error::Binary(inp.path.clone()));
        }
        if map.truncated() {
            return Err(Error::Truncated(inp.path.clone()));
        }
        #[cfg(unix)]
        let _ = map.map().advise(memmap2::Advice::Sequential);
        Ok(ChunkSource::Mapped {
            map: Arc::new(map),
            pos: 0,
            chunk,
        })
    }

    /// Cut later chunks of a mapped input at most `bytes` long: a piece of that size just
    /// reached the line cap, so the input's lines are short, and chunks that each hold
    /// several capped pieces would be extracted piece after piece (each rest is queued
    /// only once its first part is consumed), mostly by the consuming thread. Streams
    /// are capped as they are read and ignore this.
    fn shrink_to(&mut self, bytes: usize) {
        if let ChunkSource::Mapped { chunk, .. } = self {
            *chunk = (*chunk).min(bytes.max(1));
        }
    }

    /// The next chunk, with `Some((chars, words))` when it is the kept prefix of one
    /// over-long line of a stream (measured as it was read; see `LineMeter`).
    fn next_chunk(&mut self) -> std::io::Result<Option<NextChunk>> {
        match self {
            ChunkSource::Empty => Ok(None),
            ChunkSource::Mapped { map, pos, chunk } => {
                let len = map.len();
                // Past a truncation the map holds zeros: nothing more to read.
                if *pos >= len || map.truncated() {
                    return Ok(None);
                }
                let target = pos.saturating_add(*chunk);
                // Cut by size only: the extractor enforces the line cap.
                let end = if target >= len {
                    len
                } else {
                    split::next_line_start(map, target).unwrap_or(len)
                };
                let r = *pos..end;
                *pos = end;
                Ok(Some((ChunkBytes::Mapped(Arc::clone(map), r), None)))
            }
            ChunkSource::Stream {
                reader,
                carry,
                chunk,
                eof,
                max_line,
            } => {
                if *eof && carry.is_empty() {
                    return Ok(None);
                }
                let mut buf = std::mem::take(carry);
                // A carry that already holds a chunk's worth of lines (left by the line
                // cap below) is handed out before reading more, so it never grows.
                if let Some(cut) = split::cut_after_lines(&buf, MAX_CHUNK_LINES) {
                    keep_rest(&mut buf, cut, carry);
                    return Ok(Some((ChunkBytes::Owned(buf), None)));
                }
                if *eof {
                    return Ok(Some((ChunkBytes::Owned(buf), None)));
                }
                let want = (*chunk).max(buf.len() + 1);
                loop {
                    let filled = buf.len();
                    if filled >= want {
                        let done = capped_len(&buf[..split::complete_prefix_len(&buf)]);
                        if done > 0 {
                            keep_rest(&mut buf, done, carry);
                            return Ok(Some((ChunkBytes::Owned(buf), None)));
                        }
                        if filled > *max_line {
                            // One line already longer than the cap: keep its prefix and
                            // measure the rest as it streams, in bounded memory.
                            return read_long_line(reader, buf, *max_line, carry, eof).map(Some);
                        }
                    }
                    let grow = want.max(filled * 2).max(filled + 64 * 1024) - filled;
                    buf.resize(filled + grow, 0);
                    let n = loop {
                        match reader.read(&mut buf[filled..]) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            Err(e) => return Err(e),
                        }
                    };
                    buf.truncate(filled + n);
                    if n == 0 {
                        *eof = true;
                        // Only a buffer that is one unfinished line is an over-long line
                        // to measure; complete lines (and a long last line after them,
                        // already in memory) go to the extractors as a chunk.
                        if buf.len() > *max_line && split::complete_prefix_len(&buf) == 0 {
                            return read_long_line(reader, buf, *max_line, carry, eof).map(Some);
                        }
                        let cut = capped_len(&buf);
                        keep_rest(&mut buf, cut, carry);
                        return Ok(if buf.is_empty() {
                            None
                        } else {
                            Some((ChunkBytes::Owned(buf), None))
                        });
                    }
                }
            }
        }
    }
}

/// Length of the prefix of `buf` that a chunk (or piece) may hold: all of it, or up to
/// the [`MAX_CHUNK_LINES`]-th line break.
fn capped_len(buf: &[u8]) -> usize {
    split::cut_after_lines(buf, MAX_CHUNK_LINES).unwrap_or(buf.len())
}

/// Cut `buf` at `at`, moving what follows into `carry` (the next chunk's start).
fn keep_rest(buf: &mut Vec<u8>, at: usize, carry: &mut Vec<u8>) {
    carry.extend_from_slice(&buf[at..]);
    buf.truncate(at);
}

/// One read of `reader` into `buf`, retried when interrupted; marks `eof` at the end.
fn read_some(
    reader: &mut Box<dyn Read + Send>,
    buf: &mut [u8],
    eof: &mut bool,
) -> std::io::Result<usize> {
    loop {
        match reader.read(buf) {
            Ok(0) => {
                *eof = true;
                return Ok(0);
            }
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A chunk and, for the kept prefix of an over-long streamed line, its `(chars, words)`.
type NextChunk = (ChunkBytes, Option<(u64, u64)>);

/// Finish an over-long line whose first `buf.len()` bytes (no line break among them) are
/// in hand: measure everything up to the next line break (or end of stream), keep the
/// first `max_line` bytes, and leave what follows the break in `carry`.
fn read_long_line(
    reader: &mut Box<dyn Read + Send>,
    mut buf: Vec<u8>,
    max_line: usize,
    carry: &mut Vec<u8>,
    eof: &mut bool,
) -> std::io::Result<NextChunk> {
    let mut meter = crate::extract::LineMeter::new();
    meter.feed(&buf);
    buf.truncate(max_line);
    let mut piece = vec![0u8; 1 << 16];
    if !*eof {
        loop {
            let n = match reader.read(&mut piece) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                *eof = true;
                break;
            }
            match piece[..n].iter().position(|b| split::is_line_break(*b)) {
                Some(i) => {
                    meter.feed(&piece[..i]);
                    let mut rest = &piece[i + 1..n];
                    if piece[i] == b'\r' {
                        // `\r\n` is one line break: drop the `\n`, reading on for it
                        // when the `\r` was the last byte read.
                        let mut more = [0u8; 1 << 12];
                        let m = if rest.is_empty() {
                            read_some(reader, &mut more, eof)?
                        } else {
                            0
                        };
                        let next: &[u8] = if rest.is_empty() { &more[..m] } else { rest };
                        rest = next.strip_prefix(b"\n").unwrap_or(next);
                        carry.extend_from_slice(rest);
                        break;
                    }
                    carry.extend_from_slice(rest);
                    break;
                }
                None => meter.feed(&piece[..n]),
            }
        }
    }
    let (chars, words) = meter.finish();
    Ok((ChunkBytes::Owned(buf), Some((chars, words))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_grows_with_threads_up_to_the_cap() {
        assert_eq!(default_in_flight(1), 4);
        assert_eq!(default_in_flight(2), 8);
        assert_eq!(default_in_flight(3), 12);
        assert_eq!(default_in_flight(4), 16);
        assert_eq!(default_in_flight(64), 16);
    }
}
