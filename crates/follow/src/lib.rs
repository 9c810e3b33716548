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
#![deny(unsafe_op_in_unsafe_fn)]

mod checkpoint;
mod identity;
mod open_file;
mod options;
mod rotation;
mod tail;

pub use checkpoint::{path_key, FileCheckpoint, PathCheckpoint};
pub use identity::{FileId, FINGERPRINT_BYTES};
pub use open_file::lines_before;
pub use options::{FollowOptions, FollowSpec, StartPoint};

use crate::open_file::{flush_pending, OpenFile};
use crate::rotation::parent_dir;
use crate::tail::{Tail, TailCounts};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use trace_sentinel_core::input::Piece;
use trace_sentinel_core::stats::FollowFileStats;
use trace_sentinel_core::LineCursor;

/// Safety re-poll while filesystem events are being delivered.
const EVENT_SAFETY_POLL: Duration = Duration::from_secs(1);

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
                    start: StartPoint::Missing,
                    missing: None,
                    counts: TailCounts::default(),
                };
                match cp {
                    Some(cp) => t.resume(cp, &mut notices),
                    None => t.start(opts.from_start),
                }
                t.start = match (&t.current, cp, opts.from_start) {
                    (None, _, _) if t.retiring.is_empty() => StartPoint::Missing,
                    (_, Some(_), _) => StartPoint::Checkpoint,
                    (_, None, true) => StartPoint::Start,
                    (_, None, false) => StartPoint::End,
                };
                t.counts.seen_file = t.start != StartPoint::Missing;
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

    /// Where each followed path was read from when following started, in the order of
    /// the specs.
    pub fn start_points(&self) -> Vec<(&std::path::Path, StartPoint)> {
        self.tails
            .iter()
            .map(|t| (t.path.as_path(), t.start))
            .collect()
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Per followed path, in the order given: unread bytes and for how long there have
    /// been some, bytes read, rotations and truncations seen. The lag is sampled here
    /// (each open file's size is read): a path is behind from the first call that finds
    /// unread bytes until one finds none.
    pub fn file_stats(&mut self) -> Vec<FollowFileStats> {
        let now = Instant::now();
        self.tails
            .iter_mut()
            .map(|t| {
                let lag_bytes = t.lag_bytes();
                let since = match (lag_bytes, t.counts.behind_since) {
                    (0, _) => None,
                    (_, Some(since)) => Some(since),
                    (_, None) => Some(now),
                };
                t.counts.behind_since = since;
                FollowFileStats {
                    path: t.path.display().to_string(),
                    lag_bytes,
                    lag_seconds: since.map_or(0.0, |s| now.duration_since(s).as_secs_f64()),
                    read_bytes: t.counts.read_bytes,
                    rotations: t.counts.rotations,
                    truncations: t.counts.truncations,
                }
            })
            .collect()
    }

    /// Things worth telling the operator (lost rotated files, no file events, a path that
    /// does not exist yet — again every [`FollowOptions::missing_notice_every`] while it is
    /// missing), drained. The follower never prints: the caller shows them.
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
        f: &mut dyn FnMut(Piece<'_>, &str, LineCursor) -> io::Result<()>,
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

    /// How long [`Self::wait`] may sleep: until the next poll is due, a rotated file's
    /// grace period ends or a missing path is due to be reported again.
    pub fn next_timeout(&self) -> Duration {
        let all_watched = self.watcher.is_some() && self.tails.iter().all(|t| t.watched);
        let mut d = if all_watched {
            EVENT_SAFETY_POLL.max(self.opts.poll_interval)
        } else {
            self.opts.poll_interval
        };
        for t in &self.tails {
            if let Some(left) = t.next_missing_notice(self.opts.missing_notice_every) {
                d = d.min(left + Duration::from_millis(1));
            }
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
        f: &mut dyn FnMut(Piece<'_>, &str, LineCursor) -> io::Result<()>,
    ) -> io::Result<()> {
        for t in &mut self.tails {
            for r in t.retiring.iter_mut().chain(t.current.as_mut()) {
                flush_pending(r, &t.source, f)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open_file::MIN_READ;
    use std::io::Write;
    use std::path::Path;
    use trace_sentinel_core::extract::LineMeter;
    use trace_sentinel_kernels::split;

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
            missing_notice_every: Duration::from_millis(30),
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
        fw.poll(&mut |piece, src, _| {
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
                fw.poll(&mut |piece, _, _| {
                    collect(piece, "f", &mut got);
                    Ok(())
                })
                .unwrap();
                // Memory: never more than the cap of an unfinished line.
                let of = fw.tails[0].current.as_ref().unwrap();
                assert!(of.pending.len() <= max_line, "round {round}");
                assert!(of.long.as_ref().is_none_or(|l| l.prefix.len() == max_line));
            }
            fw.finish(&mut |piece, _, _| {
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
            .poll(&mut |piece, src, _| {
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
        fw.finish(&mut |piece, src, _| {
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
    fn a_missing_path_is_reported_at_start_and_again_while_missing() {
        let d = scratch("missing");
        let a = d.path().join("a.log");
        let b = d.path().join("b.log");
        append(&a, "old\n");
        let mut fw = follower(&[&a, &b], &[], opts());
        assert_eq!(
            fw.start_points(),
            [
                (a.as_path(), StartPoint::End),
                (b.as_path(), StartPoint::Missing)
            ]
        );
        let missing = |fw: &mut Follower| {
            fw.take_notices()
                .iter()
                .filter(|n| n.contains("b.log") && n.contains("does not exist"))
                .count()
        };
        assert!(lines(&mut fw).is_empty());
        assert_eq!(missing(&mut fw), 1, "reported at the first poll");
        assert!(lines(&mut fw).is_empty());
        assert_eq!(missing(&mut fw), 0, "not again before the interval");
        std::thread::sleep(Duration::from_millis(40));
        assert!(lines(&mut fw).is_empty());
        assert_eq!(missing(&mut fw), 1, "again after the interval");
        append(&b, "b1\n");
        assert_eq!(lines(&mut fw), ["b.log:b1"]);
        let notices = fw.take_notices();
        assert!(
            notices
                .iter()
                .any(|n| n.contains("b.log") && n.contains("now exists")),
            "{notices:?}"
        );
        std::thread::sleep(Duration::from_millis(40));
        assert!(lines(&mut fw).is_empty());
        assert_eq!(missing(&mut fw), 0);
        let cps = fw.checkpoints();
        let fw = follower(
            &[&a, &b],
            &cps,
            FollowOptions {
                from_start: true,
                ..opts()
            },
        );
        assert_eq!(
            fw.start_points(),
            [
                (a.as_path(), StartPoint::Checkpoint),
                (b.as_path(), StartPoint::Checkpoint)
            ]
        );
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
    fn file_stats_count_reads_rotations_truncations_and_lag() {
        let d = scratch("stats");
        let p = d.path().join("app.log");
        let missing = d.path().join("later.log");
        append(&p, "");
        let mut fw = follower(&[&p, &missing], &[], opts());
        let stats = fw.file_stats();
        assert_eq!(stats.len(), 2);
        assert_eq!(stats[0].path, p.display().to_string());
        assert_eq!((stats[0].lag_bytes, stats[0].read_bytes), (0, 0));
        // Unread bytes: behind, and for longer at the next sample.
        append(&p, "one\ntwo\n");
        let s1 = fw.file_stats();
        assert_eq!((s1[0].lag_bytes, s1[0].lag_seconds), (8, 0.0));
        std::thread::sleep(Duration::from_millis(30));
        assert!(fw.file_stats()[0].lag_seconds >= 0.03);
        assert_eq!(lines(&mut fw).len(), 2);
        let s2 = fw.file_stats();
        assert_eq!(
            (s2[0].lag_bytes, s2[0].lag_seconds, s2[0].read_bytes),
            (0, 0.0, 8)
        );
        // Rename rotation, then copytruncate, then delete and re-create.
        std::fs::rename(&p, d.path().join("app.log.1")).unwrap();
        append(&p, "three\n");
        assert_eq!(lines(&mut fw), ["app.log:three"]);
        append(&p, "four\n");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&p, "5\n");
        assert_eq!(lines(&mut fw), ["app.log:5"]);
        std::fs::remove_file(&p).unwrap();
        assert!(lines(&mut fw).is_empty());
        append(&p, "six\n");
        assert_eq!(lines(&mut fw), ["app.log:six"]);
        // A path that appears for the first time is no rotation.
        append(&missing, "x\n");
        assert_eq!(lines(&mut fw), ["later.log:x"]);
        let s3 = fw.file_stats();
        assert_eq!(
            (s3[0].rotations, s3[0].truncations, s3[0].read_bytes),
            (2, 1, 8 + 6 + 2 + 4)
        );
        assert_eq!((s3[1].rotations, s3[1].read_bytes), (0, 2));
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
