//! Follow mode's input stage: tail several paths like `tail -F`, surviving rotation, and
//! hand out blocks of *complete* lines.
//!
//! For every followed path a [`Follower`] owns the open file's identity (device, inode and
//! a fingerprint of its first bytes), its read offset and its unfinished last line. It
//! handles rename/create rotation (the renamed file keeps being read until it has been
//! quiet for a grace period, so late writes are not lost), copytruncate (the size shrinks
//! or the first bytes change: the bytes not yet read are recovered from the copy when one
//! is found next to the file, then reading restarts at 0), delete and re-create, and paths
//! that do not exist yet. Wake-ups come from filesystem events (the `notify` crate:
//! inotify on Linux) with a polling fallback. Files are read with positioned reads into
//! one reused buffer, never memory-mapped (a truncation would be a SIGBUS).
//!
//! It knows nothing of what a line means: a callback gets each block with the path's
//! source label. A line longer than the line cap is measured as it arrives and only its
//! prefix is kept (a [`Piece::Long`]), so memory stays bounded by the cap however long a
//! line a writer leaves unfinished. [`Follower::checkpoints`] gives the durable positions
//! (only bytes of complete lines already handed out count), from which [`Follower::new`]
//! resumes.

#![deny(missing_docs)]

use serde::{Deserialize, Serialize};
use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trace_sentinel_core::extract::LineMeter;
use trace_sentinel_core::input::Piece;
use trace_sentinel_kernels::split;

/// Bytes at the start of a file hashed into its fingerprint.
pub const FINGERPRINT_BYTES: usize = 256;
/// Smallest read into the shared buffer.
const MIN_READ: usize = 256 * 1024;
/// Bytes read from one file per poll round before the others get their turn (and the
/// driver a chance to checkpoint or stop).
const ROUND_BUDGET: u64 = 8 << 20;
/// Bytes searched backwards for the last line break when starting at the end.
const TAIL_SCAN: u64 = 64 * 1024;
/// Safety re-poll while filesystem events are being delivered.
const EVENT_SAFETY_POLL: Duration = Duration::from_secs(1);

/// Tuning of the follower.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Read files that have no checkpoint from their start instead of their end.
    pub from_start: bool,
    /// Re-check interval when no filesystem events are available.
    pub poll_interval: Duration,
    /// How long a rotated-away (renamed or deleted) file must be quiet before it is closed.
    pub rotate_wait: Duration,
    /// Use filesystem events (inotify); `false` polls only.
    pub use_events: bool,
    /// Line cap (`--max-line-bytes`): a longer line keeps only this prefix in memory.
    pub max_line_bytes: usize,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            from_start: false,
            poll_interval: Duration::from_millis(250),
            rotate_wait: Duration::from_secs(5),
            use_events: true,
            max_line_bytes: trace_sentinel_core::input::DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// One path to follow.
#[derive(Debug, Clone)]
pub struct FollowSpec {
    /// The path (need not exist yet).
    pub path: PathBuf,
    /// Source label of its lines.
    pub source: String,
}

/// Device and inode of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileId {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
}

#[cfg(unix)]
fn file_id(m: &Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId {
        dev: m.dev(),
        ino: m.ino(),
    }
}

#[cfg(not(unix))]
fn file_id(_: &Metadata) -> FileId {
    FileId::default()
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    loop {
        match f.read_at(buf, off) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

#[cfg(windows)]
fn read_at(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    use std::os::windows::fs::FileExt;
    f.seek_read(buf, off)
}

/// A hash of a file's first `len` bytes (`len <= FINGERPRINT_BYTES`): recognises a file
/// whose inode was reused or whose content was replaced in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Fingerprint {
    len: u32,
    hash: u64,
}

fn hash_bytes(b: &[u8]) -> u64 {
    let h = blake2b_simd::Params::new().hash_length(8).hash(b);
    let mut out = [0u8; 8];
    out.copy_from_slice(h.as_bytes());
    u64::from_le_bytes(out)
}

/// Read up to `FINGERPRINT_BYTES` from the start of `f`.
fn read_head(f: &File, out: &mut [u8; FINGERPRINT_BYTES]) -> io::Result<usize> {
    let mut got = 0;
    while got < out.len() {
        let n = read_at(f, &mut out[got..], got as u64)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

fn fingerprint_of(f: &File) -> io::Result<Fingerprint> {
    let mut head = [0u8; FINGERPRINT_BYTES];
    let n = read_head(f, &mut head)?;
    Ok(Fingerprint {
        len: n as u32,
        hash: hash_bytes(&head[..n]),
    })
}

/// Whether `f` still starts with the bytes `fp` was taken from; `Ok(Some(longer))` when it
/// does and a longer fingerprint is now available.
fn verify_fingerprint(f: &File, fp: Fingerprint) -> io::Result<Option<Fingerprint>> {
    let mut head = [0u8; FINGERPRINT_BYTES];
    let n = read_head(f, &mut head)?;
    let len = fp.len as usize;
    if n < len || hash_bytes(&head[..len]) != fp.hash {
        return Ok(None);
    }
    Ok(Some(if n > len {
        Fingerprint {
            len: n as u32,
            hash: hash_bytes(&head[..n]),
        }
    } else {
        fp
    }))
}

/// Durable position in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheckpoint {
    /// Device of the file.
    pub dev: u64,
    /// Inode of the file.
    pub ino: u64,
    /// Bytes of complete lines already handed out.
    pub offset: u64,
    /// Bytes of the file's start covered by `fingerprint`.
    pub fingerprint_len: u32,
    /// Hash (BLAKE2b-64, hex) of the first `fingerprint_len` bytes.
    pub fingerprint: String,
}

/// Durable state of one followed path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathCheckpoint {
    /// The followed path, made absolute.
    pub path: String,
    /// The file currently at the path.
    pub current: Option<FileCheckpoint>,
    /// Rotated-away files still being drained.
    pub retiring: Vec<FileCheckpoint>,
}

impl FileCheckpoint {
    fn id(&self) -> FileId {
        FileId {
            dev: self.dev,
            ino: self.ino,
        }
    }

    fn fingerprint(&self) -> Option<Fingerprint> {
        let hash = u64::from_str_radix(&self.fingerprint, 16).ok()?;
        ((self.fingerprint_len as usize) <= FINGERPRINT_BYTES).then_some(Fingerprint {
            len: self.fingerprint_len,
            hash,
        })
    }
}

/// One open file of a followed path.
#[derive(Debug)]
struct OpenFile {
    file: File,
    id: FileId,
    fp: Fingerprint,
    /// Next byte to read.
    read_pos: u64,
    /// The unfinished last line (bytes before `read_pos`), at most the line cap.
    pending: Vec<u8>,
    /// An unfinished line that outgrew the cap (then `pending` is empty).
    long: Option<LongLine>,
    /// When data last arrived (or the file was retired).
    last_data: Instant,
}

impl OpenFile {
    fn open(path: &Path) -> io::Result<OpenFile> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        let fp = fingerprint_of(&file)?;
        Ok(OpenFile {
            file,
            id: file_id(&meta),
            fp,
            read_pos: 0,
            pending: Vec::new(),
            long: None,
            last_data: Instant::now(),
        })
    }

    /// The committed offset: everything before it was handed out as complete lines.
    /// (After a copytruncate the unfinished line may predate the new start: 0 then.)
    fn committed(&self) -> u64 {
        let unfinished = self.pending.len() as u64 + self.long.as_ref().map_or(0, |l| l.read);
        self.read_pos.saturating_sub(unfinished)
    }

    fn checkpoint(&self) -> FileCheckpoint {
        FileCheckpoint {
            dev: self.id.dev,
            ino: self.id.ino,
            offset: self.committed(),
            fingerprint_len: self.fp.len,
            fingerprint: format!("{:016x}", self.fp.hash),
        }
    }

    /// Whether this is the file a checkpoint describes.
    fn matches(&self, cp: &FileCheckpoint) -> bool {
        self.id == cp.id()
            && cp
                .fingerprint()
                .is_some_and(|fp| verify_fingerprint(&self.file, fp).ok().flatten().is_some())
    }
}

/// Start position after the last line break of the last `TAIL_SCAN` bytes, so a line
/// being written when following starts is read whole.
fn end_of_last_line(f: &File, size: u64) -> u64 {
    let from = size.saturating_sub(TAIL_SCAN);
    let mut buf = vec![0u8; (size - from) as usize];
    let mut got = 0;
    while got < buf.len() {
        match read_at(f, &mut buf[got..], from + got as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    match split::complete_prefix_len(&buf[..got]) {
        0 if from > 0 || got < buf.len() => size,
        n => from + n as u64,
    }
}

fn is_compressed(name: &str) -> bool {
    [".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Files in `dir` (not compressed, not in `skip`) that satisfy `pred`, newest first.
fn find_in_dir(
    dir: &Path,
    skip: &[FileId],
    mut pred: impl FnMut(&Metadata, &File) -> bool,
) -> Option<(PathBuf, File)> {
    let mut best: Option<(std::time::SystemTime, PathBuf, File)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name();
        if is_compressed(&name.to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() || skip.contains(&file_id(&meta)) {
            continue;
        }
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if !pred(&meta, &file) {
            continue;
        }
        let mtime = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        if best.as_ref().is_none_or(|(t, _, _)| mtime > *t) {
            best = Some((mtime, path, file));
        }
    }
    best.map(|(_, p, f)| (p, f))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The file a checkpoint describes, looked up by identity in `dir` (it may have been
/// renamed by a rotation while we were stopped).
fn reopen(dir: &Path, cp: &FileCheckpoint, skip: &[FileId]) -> Option<OpenFile> {
    let fp = cp.fingerprint()?;
    let (_, file) = find_in_dir(dir, skip, |meta, file| {
        file_id(meta) == cp.id()
            && meta.len() >= cp.offset
            && verify_fingerprint(file, fp).ok().flatten().is_some()
    })?;
    let meta = file.metadata().ok()?;
    Some(OpenFile {
        fp: fingerprint_of(&file).unwrap_or(fp),
        file,
        id: file_id(&meta),
        read_pos: cp.offset,
        pending: Vec::new(),
        long: None,
        last_data: Instant::now(),
    })
}

/// An unfinished line longer than the line cap: its first `max_line_bytes` bytes, the
/// measure of all its bytes so far, and how many that is.
#[derive(Debug)]
struct LongLine {
    prefix: Vec<u8>,
    meter: LineMeter,
    read: u64,
}

impl LongLine {
    /// The line is complete: hand out its prefix and measure.
    fn hand_out(
        &mut self,
        source: &str,
        f: &mut dyn FnMut(Piece<'_>, &str) -> io::Result<()>,
    ) -> io::Result<()> {
        let (chars, words) = self.meter.finish();
        f(
            Piece::Long {
                prefix: &self.prefix,
                chars,
                words,
            },
            source,
        )
    }
}

/// A copy of a truncated file (copytruncate): same first bytes, another inode, at least
/// `len` bytes long.
fn find_copy(dir: &Path, fp: Fingerprint, len: u64, skip: &[FileId]) -> Option<File> {
    if fp.len == 0 {
        return None;
    }
    find_in_dir(dir, skip, |meta, file| {
        meta.len() >= len && verify_fingerprint(file, fp).ok().flatten().is_some()
    })
    .map(|(_, f)| f)
}

/// One followed path.
#[derive(Debug)]
struct Tail {
    path: PathBuf,
    key: String,
    source: String,
    current: Option<OpenFile>,
    /// Rotated-away files, oldest first, drained until quiet.
    retiring: Vec<OpenFile>,
    dirs: Vec<PathBuf>,
    watched: bool,
}

/// Wakes a waiting [`Follower`] from another thread (filesystem events, signals).
#[derive(Debug, Clone)]
pub struct Waker {
    tx: Sender<()>,
    flag: Arc<AtomicBool>,
}

impl Waker {
    /// Wake the follower (cheap; repeated wake-ups before it runs coalesce).
    pub fn wake(&self) {
        if !self.flag.swap(true, Ordering::AcqRel) {
            let _ = self.tx.send(());
        }
    }
}

/// Follows several paths; see the module docs.
pub struct Follower {
    tails: Vec<Tail>,
    opts: FollowOptions,
    buf: Vec<u8>,
    rx: Receiver<()>,
    waker: Waker,
    watcher: Option<notify::RecommendedWatcher>,
    watched_dirs: Vec<PathBuf>,
    bytes: u64,
    notices: Vec<String>,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("tails", &self.tails)
            .field("events", &self.watcher.is_some())
            .finish()
    }
}

/// The key a path's checkpoint is stored under: the path made absolute (not resolved, so
/// a symlink that is re-pointed is still the same followed path).
pub fn path_key(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

impl Follower {
    /// Follow `specs`, resuming each path from its entry in `checkpoints` when there is
    /// one (by [`path_key`]); other paths start at their end (or start, with
    /// `from_start`), and paths that do not exist yet are read from 0 once created.
    pub fn new(specs: &[FollowSpec], checkpoints: &[PathCheckpoint], opts: FollowOptions) -> Self {
        let (tx, rx) = mpsc::channel();
        let waker = Waker {
            tx,
            flag: Arc::new(AtomicBool::new(false)),
        };
        let mut notices = Vec::new();
        let tails = specs
            .iter()
            .map(|spec| {
                let key = path_key(&spec.path);
                let cp = checkpoints.iter().find(|c| c.path == key);
                let mut dirs = vec![parent_dir(&spec.path)];
                if let Ok(real) = std::fs::canonicalize(&spec.path) {
                    let d = parent_dir(&real);
                    if !dirs.contains(&d) {
                        dirs.push(d);
                    }
                }
                let mut t = Tail {
                    path: spec.path.clone(),
                    key,
                    source: spec.source.clone(),
                    current: None,
                    retiring: Vec::new(),
                    dirs,
                    watched: false,
                };
                match cp {
                    Some(cp) => t.resume(cp, &mut notices),
                    None => t.start(opts.from_start),
                }
                t
            })
            .collect();
        let mut f = Follower {
            tails,
            opts,
            buf: Vec::new(),
            rx,
            waker,
            watcher: None,
            watched_dirs: Vec::new(),
            bytes: 0,
            notices,
        };
        if f.opts.use_events {
            let w = f.waker.clone();
            match notify::recommended_watcher(move |_: notify::Result<notify::Event>| w.wake()) {
                Ok(watcher) => f.watcher = Some(watcher),
                Err(e) => f
                    .notices
                    .push(format!("file events unavailable ({e}); polling")),
            }
            f.watch_dirs();
        }
        f
    }

    /// A handle that wakes [`Self::wait`] from another thread.
    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Whether filesystem events are in use.
    pub fn uses_events(&self) -> bool {
        self.watcher.is_some()
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Things worth telling the operator (lost rotated files, no file events), drained.
    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    fn watch_dirs(&mut self) {
        use notify::Watcher;
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        for t in &mut self.tails {
            if t.watched {
                continue;
            }
            let mut all = true;
            for d in &t.dirs {
                if self.watched_dirs.contains(d) {
                    continue;
                }
                if watcher
                    .watch(d, notify::RecursiveMode::NonRecursive)
                    .is_ok()
                {
                    self.watched_dirs.push(d.clone());
                } else {
                    all = false;
                }
            }
            t.watched = all;
        }
    }

    /// Durable positions of every followed path.
    pub fn checkpoints(&self) -> Vec<PathCheckpoint> {
        self.tails
            .iter()
            .map(|t| PathCheckpoint {
                path: t.key.clone(),
                current: t.current.as_ref().map(OpenFile::checkpoint),
                retiring: t.retiring.iter().map(OpenFile::checkpoint).collect(),
            })
            .collect()
    }

    /// Read everything available now, calling `f(block, source)` with blocks of complete
    /// lines. Returns whether more data is waiting (a file hit its per-round budget), in
    /// which case call again without waiting. Read errors of a file become notices; only
    /// `f`'s errors are returned.
    pub fn poll(
        &mut self,
        f: &mut dyn FnMut(Piece<'_>, &str) -> io::Result<()>,
    ) -> io::Result<bool> {
        if self.watcher.is_some() && self.tails.iter().any(|t| !t.watched) {
            self.watch_dirs();
        }
        let mut more = false;
        let now = Instant::now();
        let Follower {
            tails,
            opts,
            buf,
            bytes,
            notices,
            ..
        } = self;
        for t in tails.iter_mut() {
            more |= t.poll(opts, buf, bytes, notices, now, f)?;
        }
        Ok(more)
    }

    /// How long [`Self::wait`] may sleep: until the next poll is due or a rotated file's
    /// grace period ends.
    pub fn next_timeout(&self) -> Duration {
        let all_watched = self.watcher.is_some() && self.tails.iter().all(|t| t.watched);
        let mut d = if all_watched {
            EVENT_SAFETY_POLL.max(self.opts.poll_interval)
        } else {
            self.opts.poll_interval
        };
        for t in &self.tails {
            if !t.retiring.is_empty() {
                // Files rotated elsewhere get no events: poll while any is retiring.
                d = d.min(self.opts.poll_interval);
            }
            for r in &t.retiring {
                let left =
                    (r.last_data + self.opts.rotate_wait).saturating_duration_since(Instant::now());
                d = d.min(left + Duration::from_millis(1));
            }
        }
        d
    }

    /// Sleep until a filesystem event, a [`Waker::wake`], or `timeout`.
    pub fn wait(&mut self, timeout: Duration) {
        match self.rx.recv_timeout(timeout) {
            Ok(()) => while self.rx.try_recv().is_ok() {},
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
        }
        self.waker.flag.store(false, Ordering::Release);
    }

    /// Hand out the unfinished last lines of every file (no more data will come) — for
    /// tests and one-shot readers; a follower that stops keeps them for its checkpoint.
    pub fn finish(
        &mut self,
        f: &mut dyn FnMut(Piece<'_>, &str) -> io::Result<()>,
    ) -> io::Result<()> {
        for t in &mut self.tails {
            for r in t.retiring.iter_mut().chain(t.current.as_mut()) {
                flush_pending(r, &t.source, f)?;
            }
        }
        Ok(())
    }
}

fn flush_pending(
    of: &mut OpenFile,
    source: &str,
    f: &mut dyn FnMut(Piece<'_>, &str) -> io::Result<()>,
) -> io::Result<()> {
    if let Some(mut long) = of.long.take() {
        long.hand_out(source, f)?;
    }
    if !of.pending.is_empty() {
        f(Piece::Block(&of.pending), source)?;
        of.pending.clear();
    }
    Ok(())
}

/// Read `of` from its position to the end (or the round budget), handing out complete
/// lines. An unfinished line longer than `max_line` is measured as it streams; only its
/// prefix stays in memory. Returns whether the budget stopped it.
#[allow(clippy::too_many_arguments)]
fn drain(
    of: &mut OpenFile,
    source: &str,
    max_line: usize,
    buf: &mut Vec<u8>,
    bytes: &mut u64,
    now: Instant,
    f: &mut dyn FnMut(Piece<'_>, &str) -> io::Result<()>,
) -> io::Result<Result<bool, io::Error>> {
    let max_line = max_line.max(1);
    let mut budget = ROUND_BUDGET;
    loop {
        // `pending` holds no line break and at most `max_line` bytes.
        let p = of.pending.len();
        let want = p + MIN_READ.max(p);
        if buf.len() < want {
            buf.resize(want, 0);
        }
        buf[..p].copy_from_slice(&of.pending);
        let n = match read_at(&of.file, &mut buf[p..want], of.read_pos) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        if n == 0 {
            return Ok(Ok(false));
        }
        of.read_pos += n as u64;
        of.last_data = now;
        *bytes += n as u64;
        let filled = p + n;
        let mut start = 0;
        if let Some(long) = of.long.as_mut() {
            match memchr::memchr2(b'\n', b'\r', &buf[..filled]) {
                None => {
                    long.meter.feed(&buf[..filled]);
                    long.read += filled as u64;
                    start = filled;
                }
                Some(i) => {
                    long.meter.feed(&buf[..i]);
                    long.hand_out(source, f)?;
                    of.long = None;
                    start = i + 1;
                }
            }
        }
        if of.long.is_none() {
            // Only the new bytes can hold a break.
            let done = match split::complete_prefix_len(&buf[p.max(start)..filled]) {
                0 => start,
                d => p.max(start) + d,
            };
            if done > start {
                f(Piece::Block(&buf[start..done]), source)?;
            }
            of.pending.clear();
            if filled - done > max_line {
                let mut meter = LineMeter::new();
                meter.feed(&buf[done..filled]);
                of.long = Some(LongLine {
                    prefix: buf[done..done + max_line].to_vec(),
                    meter,
                    read: (filled - done) as u64,
                });
            } else {
                of.pending.extend_from_slice(&buf[done..filled]);
            }
        }
        budget = budget.saturating_sub(n as u64);
        if budget == 0 {
            return Ok(Ok(true));
        }
        if filled < want {
            // A short read: the end of the file for now.
            return Ok(Ok(false));
        }
    }
}

impl Tail {
    /// Open the path for the first time without a checkpoint.
    fn start(&mut self, from_start: bool) {
        if let Ok(mut of) = OpenFile::open(&self.path) {
            if !from_start {
                let size = of.file.metadata().map(|m| m.len()).unwrap_or(0);
                of.read_pos = end_of_last_line(&of.file, size);
            }
            self.current = Some(of);
        }
    }

    fn ids(&self) -> Vec<FileId> {
        self.retiring
            .iter()
            .chain(self.current.as_ref())
            .map(|o| o.id)
            .collect()
    }

    /// Resume from a checkpoint: the files it names are found by identity (at the path or
    /// renamed next to it); a file at the path that the checkpoint does not know is new
    /// and read from 0.
    fn resume(&mut self, cp: &PathCheckpoint, notices: &mut Vec<String>) {
        let dir = parent_dir(&self.path);
        let at_path = OpenFile::open(&self.path).ok();
        let mut at_path_known = false;
        if let Some(c) = &cp.current {
            match &at_path {
                Some(of) if of.matches(c) => {
                    at_path_known = true;
                    let size = of.file.metadata().map(|m| m.len()).unwrap_or(0);
                    if size < c.offset {
                        at_path_known = false;
                    }
                }
                _ => {}
            }
            if !at_path_known {
                let skip: Vec<FileId> = at_path.iter().map(|o| o.id).collect();
                match reopen(&dir, c, &skip) {
                    Some(of) => self.retiring.push(of),
                    None => {
                        // Truncated while stopped: the copy may hold the rest.
                        let copy = c
                            .fingerprint()
                            .and_then(|fp| find_copy(&dir, fp, c.offset, &skip));
                        match copy.and_then(|file| {
                            let meta = file.metadata().ok()?;
                            Some(OpenFile {
                                fp: fingerprint_of(&file).ok()?,
                                id: file_id(&meta),
                                file,
                                read_pos: c.offset,
                                pending: Vec::new(),
                                long: None,
                                last_data: Instant::now(),
                            })
                        }) {
                            Some(of) => self.retiring.push(of),
                            None => notices.push(format!(
                                "{}: the file followed before the restart is gone; lines after \
                                 its checkpoint may be lost",
                                self.path.display()
                            )),
                        }
                    }
                }
            }
        }
        for r in &cp.retiring {
            let skip = self.ids();
            let skip: Vec<FileId> = skip
                .into_iter()
                .chain(at_path.iter().map(|o| o.id))
                .collect();
            match reopen(&dir, r, &skip) {
                Some(of) => self.retiring.push(of),
                None => notices.push(format!(
                    "{}: a rotated file being drained before the restart is gone",
                    self.path.display()
                )),
            }
        }
        if let Some(mut of) = at_path {
            if at_path_known {
                of.read_pos = cp.current.as_ref().map_or(0, |c| c.offset);
            }
            self.current = Some(of);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn poll(
        &mut self,
        opts: &FollowOptions,
        buf: &mut Vec<u8>,
        bytes: &mut u64,
        notices: &mut Vec<String>,
        now: Instant,
        f: &mut dyn FnMut(Piece<'_>, &str) -> io::Result<()>,
    ) -> io::Result<bool> {
        let mut more = false;
        let Tail {
            path,
            source,
            current,
            retiring,
            ..
        } = self;
        // 1. Rotated-away files first: their lines are older.
        for r in retiring.iter_mut() {
            match drain(r, source, opts.max_line_bytes, buf, bytes, now, f)? {
                Ok(m) => more |= m,
                Err(e) => {
                    notices.push(format!(
                        "{}: read error on a rotated file: {e}",
                        path.display()
                    ));
                    r.last_data = now - opts.rotate_wait;
                }
            }
        }
        // 2. The current file: truncated or replaced in place? Then read on.
        if let Some(cur) = current.as_mut() {
            check_truncation(
                cur,
                path,
                source,
                opts.max_line_bytes,
                retiring,
                buf,
                bytes,
                now,
                f,
            )?;
            match drain(cur, source, opts.max_line_bytes, buf, bytes, now, f)? {
                Ok(m) => more |= m,
                Err(e) => notices.push(format!("{}: read error: {e}", path.display())),
            }
        }
        // 3. Is the path still the same file?
        let rotated = match std::fs::metadata(&*path) {
            Ok(meta) if meta.is_dir() => false,
            Ok(meta) => current.as_ref().is_none_or(|c| c.id != file_id(&meta)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(mut old) = current.take() {
                    old.last_data = now;
                    retiring.push(old);
                }
                false
            }
            Err(_) => false,
        };
        if rotated {
            if let Ok(mut of) = OpenFile::open(path) {
                if let Some(mut old) = current.take() {
                    old.last_data = now;
                    retiring.push(old);
                }
                match drain(&mut of, source, opts.max_line_bytes, buf, bytes, now, f)? {
                    Ok(m) => more |= m,
                    Err(e) => notices.push(format!("{}: read error: {e}", path.display())),
                }
                *current = Some(of);
            }
        }
        // 4. Close rotated files that stayed quiet for the grace period.
        let mut i = 0;
        while i < retiring.len() {
            if now.saturating_duration_since(retiring[i].last_data) >= opts.rotate_wait {
                let mut old = retiring.remove(i);
                flush_pending(&mut old, source, f)?;
            } else {
                i += 1;
            }
        }
        Ok(more)
    }
}

/// Detect copytruncate (or in-place replacement) of the current file: the size fell below
/// our position, or its first bytes changed. The bytes we had not read yet are recovered
/// from a copy next to the file when there is one; then reading restarts at 0. The
/// unfinished line is kept: a writer continues it at the start of the truncated file.
#[allow(clippy::too_many_arguments)]
fn check_truncation(
    cur: &mut OpenFile,
    path: &Path,
    source: &str,
    max_line: usize,
    retiring: &[OpenFile],
    buf: &mut Vec<u8>,
    bytes: &mut u64,
    now: Instant,
    f: &mut dyn FnMut(Piece<'_>, &str) -> io::Result<()>,
) -> io::Result<()> {
    let Ok(meta) = cur.file.metadata() else {
        return Ok(());
    };
    let size = meta.len();
    let truncated = if size < cur.read_pos {
        true
    } else if size > cur.read_pos || (cur.fp.len as usize) < FINGERPRINT_BYTES.min(size as usize) {
        match verify_fingerprint(&cur.file, cur.fp) {
            Ok(Some(fp)) => {
                cur.fp = fp;
                false
            }
            Ok(None) => true,
            Err(_) => false,
        }
    } else {
        false
    };
    if !truncated {
        return Ok(());
    }
    let mut skip: Vec<FileId> = retiring.iter().map(|r| r.id).collect();
    skip.push(cur.id);
    if let Some(copy) = find_copy(&parent_dir(path), cur.fp, cur.read_pos, &skip) {
        let mut from_copy = OpenFile {
            file: copy,
            id: cur.id,
            fp: cur.fp,
            read_pos: cur.read_pos,
            pending: std::mem::take(&mut cur.pending),
            long: cur.long.take(),
            last_data: now,
        };
        // The copy is complete (it was made before the truncation): read it to its end.
        while let Ok(true) = drain(&mut from_copy, source, max_line, buf, bytes, now, f)? {}
        cur.pending = from_copy.pending;
        cur.long = from_copy.long;
    }
    cur.read_pos = 0;
    cur.fp = fingerprint_of(&cur.file).unwrap_or_default();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// An empty directory for one test, removed when dropped.
    fn scratch(tag: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("ts-follow-{tag}-"))
            .tempdir()
            .unwrap()
    }

    fn append(p: &Path, s: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap();
        f.write_all(s.as_bytes()).unwrap();
    }

    fn opts() -> FollowOptions {
        FollowOptions {
            from_start: false,
            poll_interval: Duration::from_millis(10),
            rotate_wait: Duration::from_millis(50),
            use_events: false,
            max_line_bytes: 1 << 20,
        }
    }

    fn follower(paths: &[&Path], cps: &[PathCheckpoint], o: FollowOptions) -> Follower {
        let specs: Vec<FollowSpec> = paths
            .iter()
            .map(|p| FollowSpec {
                path: p.to_path_buf(),
                source: p.file_name().unwrap().to_string_lossy().into_owned(),
            })
            .collect();
        Follower::new(&specs, cps, o)
    }

    fn lines(fw: &mut Follower) -> Vec<String> {
        let mut out = Vec::new();
        fw.poll(&mut |piece, src| {
            collect(piece, src, &mut out);
            Ok(())
        })
        .unwrap();
        out
    }

    /// Lines as `source:text`; an over-long line as `source:LONG chars words prefix`.
    fn collect(piece: Piece<'_>, src: &str, out: &mut Vec<String>) {
        match piece {
            Piece::Block(b) => {
                for l in split::Lines::new(b) {
                    out.push(format!("{src}:{}", String::from_utf8_lossy(l)));
                }
            }
            Piece::Long {
                prefix,
                chars,
                words,
            } => out.push(format!(
                "{src}:LONG {chars} {words} {}",
                String::from_utf8_lossy(prefix)
            )),
        }
    }

    /// Lines (or over-long lines, as `LONG chars words prefix`) of `text` read at once,
    /// each line longer than `max_line` in its capped, measured form.
    fn whole_file_lines(text: &[u8], max_line: usize) -> Vec<String> {
        let mut out = Vec::new();
        for line in split::Lines::new(text) {
            if line.len() > max_line {
                let mut m = LineMeter::new();
                m.feed(line);
                let (chars, words) = m.finish();
                let prefix = String::from_utf8_lossy(&line[..max_line]);
                out.push(format!("f:LONG {chars} {words} {prefix}"));
            } else {
                out.push(format!("f:{}", String::from_utf8_lossy(line)));
            }
        }
        out
    }

    #[test]
    fn any_split_of_appends_gives_the_lines_of_the_whole_file() {
        // Random text (short and over-long lines, CR, LF, CRLF, multi-byte characters)
        // appended in random pieces with a poll after each: the follower hands out what
        // reading the finished file at once gives, over-long lines capped the same way.
        let alphabet: [&str; 9] = ["a", "b ", "é", "\n", "\r", "\r\n", "xyz", "  ", "\u{1F600}"];
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut rnd = |n: u64| {
            trace_sentinel_testrand::xorshift64(&mut x);
            x % n
        };
        for round in 0..60 {
            let d = scratch("splits");
            let p = d.path().join("f");
            append(&p, "");
            let max_line = 1 + rnd(40) as usize;
            let mut fw = follower(
                &[&p],
                &[],
                FollowOptions {
                    max_line_bytes: max_line,
                    ..opts()
                },
            );
            let mut text = String::new();
            for _ in 0..rnd(400) {
                let pick = rnd(alphabet.len() as u64 + 2) as usize;
                match alphabet.get(pick) {
                    Some(s) => text.push_str(s),
                    // Now and then a run long enough to cross the cap several times.
                    None => text.push_str(&"w".repeat(rnd(200) as usize)),
                }
            }
            let mut got = Vec::new();
            let mut at = 0;
            while at < text.len() {
                let mut end = (at + 1 + rnd(60) as usize).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                append(&p, &text[at..end]);
                at = end;
                fw.poll(&mut |piece, _| {
                    collect(piece, "f", &mut got);
                    Ok(())
                })
                .unwrap();
                // Memory: never more than the cap of an unfinished line.
                let of = fw.tails[0].current.as_ref().unwrap();
                assert!(of.pending.len() <= max_line, "round {round}");
                assert!(of.long.as_ref().is_none_or(|l| l.prefix.len() == max_line));
            }
            fw.finish(&mut |piece, _| {
                collect(piece, "f", &mut got);
                Ok(())
            })
            .unwrap();
            // Complete lines longer than the cap arrive inside blocks (the parse stage
            // caps them): bring them to the capped form too.
            let got: Vec<String> = got
                .into_iter()
                .flat_map(|l| match l.strip_prefix("f:") {
                    Some(line) if !line.starts_with("LONG ") && line.len() > max_line => {
                        whole_file_lines(line.as_bytes(), max_line)
                    }
                    _ => vec![l],
                })
                .collect();
            assert_eq!(
                got,
                whole_file_lines(text.as_bytes(), max_line),
                "round {round}, cap {max_line}, text {text:?}"
            );
        }
    }

    #[test]
    fn an_unfinished_long_line_keeps_only_its_prefix() {
        let d = scratch("long");
        let p = d.path().join("app.log");
        append(&p, "first line\n");
        let mut fw = follower(
            &[&p],
            &[],
            FollowOptions {
                from_start: true,
                max_line_bytes: 16,
                ..opts()
            },
        );
        // 2 MiB of a line nobody finishes yet, written in pieces.
        let piece = "word ".repeat(1 << 16);
        for _ in 0..(2 << 20) / piece.len() {
            append(&p, &piece);
        }
        let mut got = Vec::new();
        while fw
            .poll(&mut |piece, src| {
                collect(piece, src, &mut got);
                Ok(())
            })
            .unwrap()
        {}
        assert_eq!(got, ["app.log:first line"]);
        let of = fw.tails[0].current.as_ref().unwrap();
        assert!(of.pending.is_empty());
        assert_eq!(of.long.as_ref().map(|l| l.prefix.len()), Some(16));
        assert!(fw.buf.len() <= 2 * MIN_READ, "read buffer {}", fw.buf.len());
        // The checkpoint stays at the line's start: a restart reads it again.
        let cps = fw.checkpoints();
        assert_eq!(cps[0].current.as_ref().unwrap().offset, 11);
        // The writer finishes it (CRLF: the LF makes no line), and goes on.
        append(&p, "tail\r\nnext\n");
        let n = (2 << 20) / piece.len() * (1 << 16);
        assert_eq!(
            lines(&mut fw),
            [
                format!("app.log:LONG {} {} word word word w", 5 * n + 4, n + 1),
                "app.log:next".to_string()
            ]
        );
        let size = std::fs::metadata(&p).unwrap().len();
        assert_eq!(fw.checkpoints()[0].current.as_ref().unwrap().offset, size);
        // An over-long last line still unfinished when reading stops is handed out too.
        append(&p, &"x".repeat(100));
        assert!(lines(&mut fw).is_empty());
        let mut rest = Vec::new();
        fw.finish(&mut |piece, src| {
            collect(piece, src, &mut rest);
            Ok(())
        })
        .unwrap();
        assert_eq!(rest, [format!("app.log:LONG 100 1 {}", "x".repeat(16))]);
    }

    #[test]
    fn starts_at_the_end_and_waits_for_newlines() {
        let d = scratch("end");
        let p = d.path().join("app.log");
        append(&p, "old 1\nold 2\npart");
        let mut fw = follower(&[&p], &[], opts());
        assert!(lines(&mut fw).is_empty());
        append(&p, "ial\nnew ");
        assert_eq!(lines(&mut fw), vec!["app.log:partial"]);
        append(&p, "line\r");
        append(&p, "\n");
        assert_eq!(lines(&mut fw), vec!["app.log:new line"]);
        let cp = fw.checkpoints();
        assert_eq!(cp[0].current.as_ref().unwrap().offset, 30);
    }

    #[test]
    fn from_start_and_files_created_later() {
        let d = scratch("later");
        let a = d.path().join("a.log");
        let b = d.path().join("b.log");
        append(&a, "a1\n");
        let mut fw = follower(
            &[&a, &b],
            &[],
            FollowOptions {
                from_start: true,
                ..opts()
            },
        );
        assert_eq!(lines(&mut fw), vec!["a.log:a1"]);
        append(&b, "b1\nb2\n");
        assert_eq!(lines(&mut fw), vec!["b.log:b1", "b.log:b2"]);
    }

    #[test]
    fn rename_rotation_keeps_late_writes() {
        let d = scratch("rename");
        let p = d.path().join("app.log");
        append(&p, "");
        let mut fw = follower(&[&p], &[], opts());
        append(&p, "one\n");
        assert_eq!(lines(&mut fw), vec!["app.log:one"]);
        let mut old = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        std::fs::rename(&p, d.path().join("app.log.1")).unwrap();
        append(&p, "two\n");
        old.write_all(b"late\n").unwrap();
        let got = lines(&mut fw);
        assert_eq!(got, vec!["app.log:late", "app.log:two"]);
        old.write_all(b"later\nunfinished").unwrap();
        assert_eq!(lines(&mut fw), vec!["app.log:later"]);
        assert_eq!(fw.checkpoints()[0].retiring.len(), 1);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(lines(&mut fw), vec!["app.log:unfinished"]);
        assert!(fw.checkpoints()[0].retiring.is_empty());
    }

    #[test]
    fn copytruncate_recovers_unread_lines_from_the_copy() {
        let d = scratch("copytrunc");
        let p = d.path().join("app.log");
        append(&p, "");
        let mut fw = follower(&[&p], &[], opts());
        append(&p, "line one\n");
        assert_eq!(lines(&mut fw), vec!["app.log:line one"]);
        append(&p, "line two\n");
        std::fs::copy(&p, d.path().join("app.log.1")).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&p, "after\n");
        assert_eq!(lines(&mut fw), vec!["app.log:line two", "app.log:after"]);
        // Truncated and regrown past our position with other content.
        append(&p, &"x".repeat(100));
        append(&p, "\n");
        assert_eq!(lines(&mut fw).len(), 1);
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        append(&p, &format!("{}\n", "y".repeat(300)));
        assert_eq!(lines(&mut fw), vec![format!("app.log:{}", "y".repeat(300))]);
        // Truncated (no copy left) while a line is unfinished: the writer continues it
        // in the new file, and the committed offset is 0, not an underflow.
        std::fs::remove_file(d.path().join("app.log.1")).unwrap();
        append(&p, "unfinished ");
        assert!(lines(&mut fw).is_empty());
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        append(&p, "z");
        assert!(lines(&mut fw).is_empty());
        assert_eq!(fw.checkpoints()[0].current.as_ref().unwrap().offset, 0);
        append(&p, "\n");
        assert_eq!(lines(&mut fw), vec!["app.log:unfinished z"]);
    }

    #[test]
    fn delete_and_recreate() {
        let d = scratch("delete");
        let p = d.path().join("app.log");
        append(&p, "");
        let mut fw = follower(&[&p], &[], opts());
        append(&p, "a\n");
        assert_eq!(lines(&mut fw), vec!["app.log:a"]);
        std::fs::remove_file(&p).unwrap();
        assert!(lines(&mut fw).is_empty());
        append(&p, "b\n");
        assert_eq!(lines(&mut fw), vec!["app.log:b"]);
    }

    #[test]
    fn resumes_from_checkpoints_even_after_rotation_while_stopped() {
        let d = scratch("resume");
        let p = d.path().join("app.log");
        append(&p, "");
        let mut fw = follower(&[&p], &[], opts());
        append(&p, "a\nb\npart");
        assert_eq!(lines(&mut fw).len(), 2);
        let cps = fw.checkpoints();
        drop(fw);
        append(&p, "ial\nc\n");
        let mut fw = follower(&[&p], &cps, opts());
        assert_eq!(lines(&mut fw), vec!["app.log:partial", "app.log:c"]);
        let cps = fw.checkpoints();
        drop(fw);
        append(&p, "d\n");
        std::fs::rename(&p, d.path().join("app.log.1")).unwrap();
        append(&p, "e\n");
        let mut fw = follower(&[&p], &cps, opts());
        assert_eq!(lines(&mut fw), vec!["app.log:d", "app.log:e"]);
    }

    #[test]
    fn a_huge_line_is_handed_out_whole() {
        let d = scratch("huge");
        let p = d.path().join("big.log");
        append(&p, "");
        let mut fw = follower(&[&p], &[], opts());
        let big = "z".repeat(3 * MIN_READ + 17);
        for chunk in big.as_bytes().chunks(MIN_READ / 2 + 3) {
            append(&p, std::str::from_utf8(chunk).unwrap());
            assert!(lines(&mut fw).is_empty());
        }
        append(&p, "\n");
        let got = lines(&mut fw);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].len(), "big.log:".len() + big.len());
    }
}
