//! One open file of a followed path: its read position, unfinished line (or an over-long
//! line being measured), and the loop that reads appended bytes and hands out blocks of
//! complete lines within a per-round budget.

use crate::checkpoint::FileCheckpoint;
use crate::identity::{file_id, fingerprint_of, read_at, verify_fingerprint, FileId, Fingerprint};
use std::fs::File;
use std::io;
use std::path::Path;
use std::time::Instant;
use trace_sentinel_core::extract::LineMeter;
use trace_sentinel_core::input::Piece;
use trace_sentinel_core::LineCursor;
use trace_sentinel_kernels::split;

/// Smallest read into the shared buffer.
pub(crate) const MIN_READ: usize = 256 * 1024;

/// Bytes read from one file per poll round before the others get their turn (and the
/// driver a chance to checkpoint or stop).
pub(crate) const ROUND_BUDGET: u64 = 8 << 20;

/// Bytes searched backwards for the last line break when starting at the end.
pub(crate) const TAIL_SCAN: u64 = 64 * 1024;

/// One open file of a followed path.
#[derive(Debug)]
pub(crate) struct OpenFile {
    pub(crate) file: File,
    pub(crate) id: FileId,
    pub(crate) fp: Fingerprint,
    /// Next byte to read.
    pub(crate) read_pos: u64,
    /// The unfinished last line (bytes before `read_pos`), at most the line cap.
    pub(crate) pending: Vec<u8>,
    /// An unfinished line that outgrew the cap (then `pending` is empty).
    pub(crate) long: Option<LongLine>,
    /// When data last arrived (or the file was retired).
    pub(crate) last_data: Instant,
    /// Where the lines handed out so far end: the next line's number.
    pub(crate) cursor: LineCursor,
    /// An over-long line ended at a `\r` that was the last byte read: a `\n` read next
    /// completes that line break.
    pub(crate) skip_lf: bool,
}

impl OpenFile {
    pub(crate) fn open(path: &Path) -> io::Result<OpenFile> {
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
            cursor: LineCursor::default(),
            skip_lf: false,
        })
    }

    /// The committed offset: everything before it was handed out as complete lines.
    /// (After a copytruncate the unfinished line may predate the new start: 0 then.)
    pub(crate) fn committed(&self) -> u64 {
        let unfinished = self.pending.len() as u64 + self.long.as_ref().map_or(0, |l| l.read);
        self.read_pos.saturating_sub(unfinished)
    }

    pub(crate) fn checkpoint(&self) -> FileCheckpoint {
        FileCheckpoint {
            dev: self.id.dev,
            ino: self.id.ino,
            offset: self.committed(),
            fingerprint_len: self.fp.len,
            fingerprint: format!("{:016x}", self.fp.hash),
            line: self.cursor.next_line(),
        }
    }

    /// Whether this is the file a checkpoint describes.
    pub(crate) fn matches(&self, cp: &FileCheckpoint) -> bool {
        self.id == cp.id()
            && cp
                .fingerprint()
                .is_some_and(|fp| verify_fingerprint(&self.file, fp).ok().flatten().is_some())
    }
}

/// Start position after the last line break of the last `TAIL_SCAN` bytes, so a line
/// being written when following starts is read whole.
pub(crate) fn end_of_last_line(f: &File, size: u64) -> u64 {
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

/// Counting lines before a start position further than this into a file would delay
/// following it: such a file's lines get no numbers.
pub(crate) const COUNT_LINES_UP_TO: u64 = 1 << 30;

/// Where a file followed from `pos` stands: the lines before `pos` counted, when `pos`
/// is near enough to the start to read them at once.
pub fn lines_before(f: &File, pos: u64) -> LineCursor {
    if pos > COUNT_LINES_UP_TO {
        return LineCursor::UNKNOWN;
    }
    let mut cursor = LineCursor::default();
    let mut buf = vec![0u8; MIN_READ.max(1 << 20)];
    let mut at = 0u64;
    while at < pos {
        let want = ((pos - at) as usize).min(buf.len());
        match read_at(f, &mut buf[..want], at) {
            Ok(0) | Err(_) => return LineCursor::UNKNOWN,
            Ok(n) => {
                cursor.advance_over(&buf[..n]);
                at += n as u64;
            }
        }
    }
    cursor
}

/// An unfinished line longer than the line cap: its first `max_line_bytes` bytes, the
/// measure of all its bytes so far, and how many that is.
#[derive(Debug)]
pub(crate) struct LongLine {
    pub(crate) prefix: Vec<u8>,
    pub(crate) meter: LineMeter,
    pub(crate) read: u64,
}

impl LongLine {
    /// The line is complete: hand out its prefix and measure.
    pub(crate) fn hand_out(
        &mut self,
        source: &str,
        cursor: &mut LineCursor,
        f: &mut dyn FnMut(Piece<'_>, &str, LineCursor) -> io::Result<()>,
    ) -> io::Result<()> {
        let (chars, words) = self.meter.finish();
        let at = *cursor;
        cursor.advance_line();
        f(
            Piece::Long {
                prefix: &self.prefix,
                chars,
                words,
            },
            source,
            at,
        )
    }
}

/// Hand out a block of complete lines, moving the file's line cursor past it.
fn hand_out_block(
    block: &[u8],
    source: &str,
    cursor: &mut LineCursor,
    f: &mut dyn FnMut(Piece<'_>, &str, LineCursor) -> io::Result<()>,
) -> io::Result<()> {
    let at = *cursor;
    cursor.advance_over(block);
    f(Piece::Block(block), source, at)
}

pub(crate) fn flush_pending(
    of: &mut OpenFile,
    source: &str,
    f: &mut dyn FnMut(Piece<'_>, &str, LineCursor) -> io::Result<()>,
) -> io::Result<()> {
    if let Some(mut long) = of.long.take() {
        long.hand_out(source, &mut of.cursor, f)?;
    }
    if !of.pending.is_empty() {
        hand_out_block(&of.pending, source, &mut of.cursor, f)?;
        of.pending.clear();
    }
    Ok(())
}

/// Read `of` from its position to the end (or the round budget), handing out complete
/// lines. An unfinished line longer than `max_line` is measured as it streams; only its
/// prefix stays in memory. Returns whether the budget stopped it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn drain(
    of: &mut OpenFile,
    source: &str,
    max_line: usize,
    buf: &mut Vec<u8>,
    bytes: &mut u64,
    now: Instant,
    f: &mut dyn FnMut(Piece<'_>, &str, LineCursor) -> io::Result<()>,
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
        if std::mem::take(&mut of.skip_lf) && p == 0 && buf[0] == b'\n' {
            start = 1;
        }
        if let Some(long) = of.long.as_mut() {
            match memchr::memchr2(b'\n', b'\r', &buf[..filled]) {
                None => {
                    long.meter.feed(&buf[..filled]);
                    long.read += filled as u64;
                    start = filled;
                }
                Some(i) => {
                    long.meter.feed(&buf[start..i]);
                    long.hand_out(source, &mut of.cursor, f)?;
                    of.long = None;
                    start = match buf[i] {
                        b'\r' if i + 1 == filled => {
                            of.skip_lf = true;
                            filled
                        }
                        b'\r' if buf[i + 1] == b'\n' => i + 2,
                        _ => i + 1,
                    };
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
                hand_out_block(&buf[start..done], source, &mut of.cursor, f)?;
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
