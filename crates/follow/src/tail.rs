//! One followed path: the file at the path, the rotated-away files still drained until
//! quiet, and the per-poll state machine that notices rotation, truncation, deletion and
//! re-creation.

use crate::checkpoint::PathCheckpoint;
use crate::identity::{file_id, fingerprint_of, FileId};
use crate::open_file::{drain, end_of_last_line, flush_pending, lines_before, OpenFile};
use crate::options::{FollowOptions, StartPoint};
use crate::rotation::{check_truncation, find_copy, parent_dir, reopen};
use std::io;
use std::path::PathBuf;
use std::time::Instant;
use trace_sentinel_core::input::Piece;
use trace_sentinel_core::LineCursor;

/// One followed path.
#[derive(Debug)]
pub(crate) struct Tail {
    pub(crate) path: PathBuf,
    pub(crate) key: String,
    pub(crate) source: String,
    pub(crate) current: Option<OpenFile>,
    /// Rotated-away files, oldest first, drained until quiet.
    pub(crate) retiring: Vec<OpenFile>,
    pub(crate) dirs: Vec<PathBuf>,
    pub(crate) watched: bool,
    /// Where reading started.
    pub(crate) start: StartPoint,
    /// While nothing is open at the path: when it went missing and when that was last
    /// reported (`None` before the first notice).
    pub(crate) missing: Option<Missing>,
    /// What happened to the path so far (see [`TailCounts`]).
    pub(crate) counts: TailCounts,
}

/// A path found missing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Missing {
    since: Instant,
    reported: Option<Instant>,
}

/// Counters of one followed path.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TailCounts {
    /// Bytes read from its files.
    pub(crate) read_bytes: u64,
    /// Times the path was found naming another file than the one being read.
    pub(crate) rotations: u64,
    /// Times the file at the path was truncated or rewritten in place.
    pub(crate) truncations: u64,
    /// Whether a file was ever open at the path (a file appearing later is a rotation
    /// only then).
    pub(crate) seen_file: bool,
    /// Since when the path has had unread bytes, as last sampled.
    pub(crate) behind_since: Option<Instant>,
}

impl Tail {
    /// Open the path for the first time without a checkpoint.
    pub(crate) fn start(&mut self, from_start: bool) {
        if let Ok(mut of) = OpenFile::open(&self.path) {
            if !from_start {
                let size = of.file.metadata().map(|m| m.len()).unwrap_or(0);
                of.read_pos = end_of_last_line(&of.file, size);
                of.cursor = lines_before(&of.file, of.read_pos);
            }
            self.current = Some(of);
        }
    }

    /// Unread bytes of the path's open files (the current one and those being drained).
    pub(crate) fn lag_bytes(&self) -> u64 {
        self.retiring
            .iter()
            .chain(self.current.as_ref())
            .map(|of| {
                let size = of.file.metadata().map_or(0, |m| m.len());
                size.saturating_sub(of.read_pos)
            })
            .sum()
    }

    pub(crate) fn ids(&self) -> Vec<FileId> {
        self.retiring
            .iter()
            .chain(self.current.as_ref())
            .map(|o| o.id)
            .collect()
    }

    /// Resume from a checkpoint: the files it names are found by identity (at the path or
    /// renamed next to it); a file at the path that the checkpoint does not know is new
    /// and read from 0.
    pub(crate) fn resume(&mut self, cp: &PathCheckpoint, notices: &mut Vec<String>) {
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
                                cursor: c.line.map_or(LineCursor::UNKNOWN, LineCursor::at),
                                skip_lf: false,
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
                of.cursor = cp
                    .current
                    .as_ref()
                    .and_then(|c| c.line)
                    .map_or(LineCursor::UNKNOWN, LineCursor::at);
            }
            self.current = Some(of);
        }
    }

    /// How long until a missing path is due to be reported again (`None` when it is not
    /// missing).
    pub(crate) fn next_missing_notice(
        &self,
        every: std::time::Duration,
    ) -> Option<std::time::Duration> {
        let m = self.missing.as_ref()?;
        let from = m.reported.unwrap_or(m.since);
        Some((from + every).saturating_duration_since(Instant::now()))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn poll(
        &mut self,
        opts: &FollowOptions,
        buf: &mut Vec<u8>,
        bytes: &mut u64,
        notices: &mut Vec<String>,
        now: Instant,
        f: &mut dyn FnMut(Piece<'_>, &str, LineCursor) -> io::Result<()>,
    ) -> io::Result<bool> {
        let mut more = false;
        let before = *bytes;
        let Tail {
            path,
            source,
            current,
            retiring,
            counts,
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
            if check_truncation(
                cur,
                path,
                source,
                opts.max_line_bytes,
                retiring,
                buf,
                bytes,
                now,
                f,
            )? {
                counts.truncations += 1;
            }
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
                if counts.seen_file {
                    counts.rotations += 1;
                }
                counts.seen_file = true;
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
        // 4. Say when the path does not exist (at the first poll when it never did, after
        // the notice interval when it went away), again every interval, and when it
        // appears.
        if current.is_none() && !path.exists() {
            let never_existed = self.start == StartPoint::Missing;
            let m = self.missing.get_or_insert(Missing {
                since: now,
                reported: None,
            });
            let due = match m.reported {
                None => {
                    never_existed
                        || now.saturating_duration_since(m.since) >= opts.missing_notice_every
                }
                Some(at) => now.saturating_duration_since(at) >= opts.missing_notice_every,
            };
            if due {
                m.reported = Some(now);
                notices.push(format!(
                    "{}: does not exist (yet); waiting for it to be created",
                    path.display()
                ));
            }
        } else if let Some(m) = self.missing.take() {
            if m.reported.is_some() {
                notices.push(format!("{}: now exists; reading it", path.display()));
            }
        }
        // 5. Close rotated files that stayed quiet for the grace period.
        let mut i = 0;
        while i < retiring.len() {
            if now.saturating_duration_since(retiring[i].last_data) >= opts.rotate_wait {
                let mut old = retiring.remove(i);
                flush_pending(&mut old, source, f)?;
            } else {
                i += 1;
            }
        }
        counts.read_bytes += *bytes - before;
        Ok(more)
    }
}
