//! Input stage: where bytes come from — files, `.gz` files (streamed), stdin — and the
//! rolling-buffer block reader every non-mmap path shares. It hands out blocks that hold
//! only complete lines (plus the unterminated tail at EOF) and knows nothing of what a
//! line means.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use trace_sentinel_kernels::split;

/// Default `--max-line-bytes`: lines longer than this keep only their first this-many
/// bytes as the message (length and tokens still count the whole line).
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// Read buffer size of the block reader.
pub const BLOCK_SIZE: usize = 1 << 20;

/// Whether `path` names stdin.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Whether `path` is gzip-compressed by its name (a `.gz` extension).
pub fn is_gzip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// The two bytes every gzip member starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `head` (the first bytes of an input) starts a gzip stream. No text log does:
/// 0x8b cannot begin a UTF-8 character.
pub fn starts_gzip(head: &[u8]) -> bool {
    head.starts_with(&GZIP_MAGIC)
}

/// Whether the input at `path` is read through gzip: a `.gz` name, or a regular file of
/// another name (a rotated `app.log.1`, say) that starts with the gzip magic bytes.
/// Stdin and FIFOs are sniffed as they are read ([`open_stream`]); an unreadable file is
/// left to the open that reports it.
pub fn is_gzip_input(path: &Path) -> bool {
    if is_stdin(path) {
        return false;
    }
    if is_gzip(path) {
        return true;
    }
    // Only a regular file is sniffed ahead, and that is checked before opening: opening
    // a FIFO waits for its writer, and reading or closing it here would take bytes from,
    // or break the pipe of, the reader that follows.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let Ok(file) = open_file(path) else {
        return false;
    };
    matches!(read_head(file), Ok((head, _)) if starts_gzip(&head))
}

/// Read up to two bytes from `r` (fewer only at its end) and return them with the reader.
fn read_head<R: Read>(mut r: R) -> io::Result<(Vec<u8>, R)> {
    let mut head = [0u8; GZIP_MAGIC.len()];
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((head[..n].to_vec(), r))
}

/// The default source label of an input: its file name (`<stdin>` for stdin).
pub fn source_name(path: &Path) -> String {
    if is_stdin(path) {
        return "<stdin>".to_string();
    }
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}

fn input_err(path: &Path, source: io::Error) -> Error {
    Error::Input {
        path: path.to_path_buf(),
        source,
    }
}

/// Open a regular file for reading, refusing directories.
pub fn open_file(path: &Path) -> Result<File> {
    let file = File::open(path).map_err(|e| input_err(path, e))?;
    let meta = file.metadata().map_err(|e| input_err(path, e))?;
    if meta.is_dir() {
        return Err(Error::IsDirectory(path.to_path_buf()));
    }
    Ok(file)
}

/// Check that every path can be opened before any work starts.
pub fn check_paths(paths: &[PathBuf]) -> Result<()> {
    for p in paths {
        if is_stdin(p) {
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|e| input_err(p, e))?;
        if meta.is_dir() {
            return Err(Error::IsDirectory(p.to_path_buf()));
        }
        // A FIFO is not opened here: the open would wait for a writer, and closing it
        // again could leave that writer with a broken pipe before the real reader opens.
        if meta.is_file() {
            open_file(p)?;
        }
    }
    Ok(())
}

/// A streaming reader for `path` (stdin or a file), decompressing when the name ends in
/// `.gz` or the first bytes are gzip's magic, so `zcat`-less pipes and rotated archives
/// without the extension read as text too.
pub fn open_stream(path: &Path) -> Result<Box<dyn Read + Send>> {
    let raw: Box<dyn Read + Send> = if is_stdin(path) {
        Box::new(io::stdin())
    } else {
        Box::new(open_file(path)?)
    };
    decoded_stream(path, raw)
}

/// `raw`, the opened input `path` (a file, FIFO or stdin), decompressed when it is gzip
/// (see [`open_stream`]).
pub fn decoded_stream(path: &Path, raw: Box<dyn Read + Send>) -> Result<Box<dyn Read + Send>> {
    // The first bytes decide, then are read again as the stream's start.
    let (head, raw) = read_head(raw).map_err(|e| input_err(path, e))?;
    let gzip = is_gzip(path) || starts_gzip(&head);
    let whole = io::Cursor::new(head).chain(raw);
    if gzip {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(1 << 16, whole),
        )))
    } else {
        Ok(Box::new(whole))
    }
}

/// What a [`BlockReader`] hands out.
#[derive(Debug)]
pub enum Piece<'a> {
    /// Complete lines (the last block of a stream may end without a line break).
    Block(&'a [u8]),
    /// One line longer than the line cap: its first `max_line` bytes and the whole
    /// line's measurements.
    Long {
        /// The kept prefix.
        prefix: &'a [u8],
        /// Characters of the whole line (lossy UTF-8).
        chars: u64,
        /// `\w+` tokens of the whole line.
        words: u64,
    },
}

impl Piece<'_> {
    /// The bytes the piece keeps: the block, or the over-long line's prefix.
    pub fn kept(&self) -> &[u8] {
        match self {
            Piece::Block(b) => b,
            Piece::Long { prefix, .. } => prefix,
        }
    }
}

/// Reads a stream into one reused buffer and hands out blocks of complete lines; the
/// unfinished last line is rolled to the front of the buffer for the next read. A line
/// longer than the line cap is measured as it streams and only its prefix is kept, so
/// memory stays bounded by the cap, not by the input.
#[derive(Debug)]
pub struct BlockReader {
    buf: Vec<u8>,
    /// Bytes of `buf` holding data.
    filled: usize,
    max_line: usize,
    prefix: Vec<u8>,
    meter: crate::extract::LineMeter,
}

impl Default for BlockReader {
    fn default() -> Self {
        Self::new()
    }
}

impl BlockReader {
    /// A reader with the default block size and line cap.
    pub fn new() -> Self {
        Self::with_max_line(DEFAULT_MAX_LINE_BYTES)
    }

    /// A reader keeping at most `max_line` bytes of any one line.
    pub fn with_max_line(max_line: usize) -> Self {
        Self::with_sizes(BLOCK_SIZE, max_line)
    }

    /// A reader with an initial buffer of `block` bytes (it grows up to the line cap).
    /// Lines longer than the cap that fit in the buffer arrive inside blocks; the parse
    /// stage caps those (`LineParser`).
    pub fn with_sizes(block: usize, max_line: usize) -> Self {
        BlockReader {
            buf: vec![0; block.max(1)],
            filled: 0,
            max_line: max_line.max(1),
            prefix: Vec::new(),
            meter: crate::extract::LineMeter::new(),
        }
    }

    /// Read `reader` to the end, calling `f` with each block of complete lines; an
    /// over-long line arrives as a block holding just its prefix. `f` returns `false` to
    /// stop early.
    pub fn for_each_block<R: Read + ?Sized>(
        &mut self,
        reader: &mut R,
        mut f: impl FnMut(&[u8]) -> io::Result<bool>,
    ) -> io::Result<()> {
        self.for_each_piece(reader, |piece| f(piece.kept()))
    }

    /// Read `reader` to the end, calling `f` with each [`Piece`]. `f` returns `false` to
    /// stop early.
    pub fn for_each_piece<R: Read + ?Sized>(
        &mut self,
        reader: &mut R,
        mut f: impl FnMut(Piece<'_>) -> io::Result<bool>,
    ) -> io::Result<()> {
        self.filled = 0;
        let mut long = false;
        loop {
            if !long && self.filled == self.buf.len() {
                if self.filled > self.max_line {
                    // The pending line is over the cap: keep its prefix, measure the rest.
                    long = true;
                    self.prefix.clear();
                    self.prefix.extend_from_slice(&self.buf[..self.max_line]);
                    self.meter = crate::extract::LineMeter::new();
                    self.meter.feed(&self.buf[..self.filled]);
                    self.filled = 0;
                } else {
                    let new_len = (self.buf.len() * 2)
                        .min(self.max_line + 1)
                        .max(self.buf.len() + 1);
                    self.buf.resize(new_len, 0);
                }
            }
            let n = match reader.read(&mut self.buf[self.filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if long {
                let piece = &self.buf[..n];
                let brk = piece.iter().position(|b| split::is_line_break(*b));
                self.meter.feed(&piece[..brk.unwrap_or(n)]);
                if n > 0 && brk.is_none() {
                    continue;
                }
                long = false;
                let (chars, words) = self.meter.finish();
                if !f(Piece::Long {
                    prefix: &self.prefix,
                    chars,
                    words,
                })? {
                    return Ok(());
                }
                if n == 0 {
                    return Ok(());
                }
                let rest = brk.map_or(n, |i| i + 1);
                self.buf.copy_within(rest..n, 0);
                self.filled = n - rest;
                let done = split::complete_prefix_len(&self.buf[..self.filled]);
                if done > 0 {
                    if !f(Piece::Block(&self.buf[..done]))? {
                        return Ok(());
                    }
                    self.buf.copy_within(done..self.filled, 0);
                    self.filled -= done;
                }
                continue;
            }
            if n == 0 {
                if self.filled > self.max_line {
                    let (chars, words) = {
                        self.meter = crate::extract::LineMeter::new();
                        self.meter.feed(&self.buf[..self.filled]);
                        self.meter.finish()
                    };
                    f(Piece::Long {
                        prefix: &self.buf[..self.max_line],
                        chars,
                        words,
                    })?;
                } else if self.filled > 0 {
                    f(Piece::Block(&self.buf[..self.filled]))?;
                }
                self.filled = 0;
                return Ok(());
            }
            let start = self.filled;
            self.filled += n;
            let done = split::complete_prefix_len(&self.buf[start..self.filled]);
            if done == 0 {
                continue;
            }
            let done = start + done;
            if !f(Piece::Block(&self.buf[..done]))? {
                return Ok(());
            }
            self.buf.copy_within(done..self.filled, 0);
            self.filled -= done;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    /// A reader that returns at most `step` bytes per call.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn long_lines_keep_a_prefix_and_count_everything() {
        let long: String = "word ".repeat(100);
        let text = format!("short\n{long}\nafter\r\n{long}");
        for step in [1, 7, 64, 1000] {
            let mut r = BlockReader::with_sizes(16, 32);
            let mut got = Vec::new();
            r.for_each_piece(&mut Trickle(text.as_bytes(), step), |p| {
                match p {
                    Piece::Block(b) => got.extend(
                        split::Lines::new(b).map(|l| format!("B:{}", String::from_utf8_lossy(l))),
                    ),
                    Piece::Long {
                        prefix,
                        chars,
                        words,
                    } => got.push(format!(
                        "L:{}:{chars}:{words}",
                        String::from_utf8_lossy(prefix)
                    )),
                }
                Ok(true)
            })
            .unwrap();
            let pre = &long[..32];
            assert_eq!(
                got,
                vec![
                    "B:short".to_string(),
                    format!("L:{pre}:500:100"),
                    "B:after".into(),
                    format!("L:{pre}:500:100")
                ],
                "step {step}"
            );
            assert!(r.buf.len() <= 33, "buffer grew to {}", r.buf.len());
        }
    }

    #[test]
    fn blocks_hold_whole_lines_for_any_read_size() {
        let text = b"alpha\r\nbeta\rgamma\n\ndelta \xe2\x82\xac end";
        let want: Vec<&[u8]> = split::Lines::new(text).collect();
        for step in 1..text.len() + 2 {
            let mut got: Vec<Vec<u8>> = Vec::new();
            let mut r = BlockReader::new();
            r.for_each_block(&mut Trickle(text, step), |b| {
                got.extend(split::Lines::new(b).map(<[u8]>::to_vec));
                Ok(true)
            })
            .unwrap();
            assert_eq!(got, want, "step {step}");
        }
    }

    // gzip detection and streaming.

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).expect("gzip");
        e.finish().expect("gzip")
    }

    /// Returns one byte per call, and `Interrupted` before each.
    struct Stutter<'a>(&'a [u8], bool);

    impl Read for Stutter<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.1 = !self.1;
            if self.1 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = 1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn the_head_is_read_whole_across_short_and_interrupted_reads() {
        let (head, mut rest) = read_head(Stutter(b"\x1f\x8bxyz", false)).expect("read");
        assert_eq!(head, b"\x1f\x8b");
        let mut tail = Vec::new();
        rest.read_to_end(&mut tail).expect("read");
        assert_eq!(tail, b"xyz");
        assert_eq!(read_head(Stutter(b"a", false)).expect("read").0, b"a");
        assert!(read_head(Stutter(b"", false)).expect("read").0.is_empty());
    }

    #[test]
    fn gzip_is_recognised_by_name_or_by_its_first_bytes() {
        let dir = tempfile::Builder::new()
            .prefix("ts-gzip-sniff-")
            .tempdir()
            .expect("dir");
        let text = b"first line\nsecond line\n\x1f\x8b in the middle is text\n";
        let cases: [(&str, Vec<u8>, bool); 5] = [
            ("plain.log", text.to_vec(), false),
            ("rotated.log.1", gz(text), true),
            ("named.gz", gz(text), true),
            ("one.log", b"x".to_vec(), false),
            ("empty.log", Vec::new(), false),
        ];
        for (name, bytes, is_gz) in &cases {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            assert_eq!(is_gzip_input(&path), *is_gz, "{name}");
            let mut got = Vec::new();
            open_stream(&path)
                .expect("open")
                .read_to_end(&mut got)
                .expect("read");
            let want: &[u8] = match *name {
                "one.log" => b"x",
                "empty.log" => b"",
                _ => text,
            };
            assert_eq!(got, want, "{name}");
        }
        assert!(!is_gzip_input(Path::new("-")));
        assert!(!is_gzip_input(&dir.path().join("missing.log")));
    }
}
