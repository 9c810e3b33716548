//! Input stage: where bytes come from — files, compressed files (gzip, xz, zstd, bzip2;
//! streamed), stdin — and the rolling-buffer block reader every non-mmap path shares. It
//! recognises compression by magic bytes (a name that claims a compression the content
//! does not have is an error) and binary content by a NUL byte in the first
//! [`BINARY_SNIFF_BYTES`] (as grep does). It hands out blocks that hold only complete
//! lines (plus the unterminated tail at EOF) and knows nothing of what a line means.

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

/// A compression format the input stage decompresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip (RFC 1952), `.gz`; concatenated members are read in turn.
    Gzip,
    /// xz, `.xz`; concatenated streams are read in turn.
    Xz,
    /// Zstandard, `.zst`; concatenated frames are read in turn.
    Zstd,
    /// bzip2, `.bz2`; concatenated streams are read in turn.
    Bzip2,
}

/// Bytes of an input's start that decide its compression.
const MAGIC_LEN: usize = 6;

impl Compression {
    const ALL: [Compression; 4] = [
        Compression::Gzip,
        Compression::Xz,
        Compression::Zstd,
        Compression::Bzip2,
    ];

    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
        }
    }

    /// The file-name extension that claims the format.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Gzip => "gz",
            Compression::Xz => "xz",
            Compression::Zstd => "zst",
            Compression::Bzip2 => "bz2",
        }
    }

    /// The format `head` (an input's first bytes) starts with, if any. No text log
    /// starts like one: every magic holds a byte that cannot begin a line of UTF-8 text
    /// (0x8b, 0xfd, 0xb5) or, for bzip2, `BZh` and a block-size digit.
    pub fn of_magic(head: &[u8]) -> Option<Compression> {
        match head {
            [0x1f, 0x8b, ..] => Some(Compression::Gzip),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Some(Compression::Xz),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Compression::Zstd),
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Some(Compression::Bzip2),
            _ => None,
        }
    }

    /// The format `path`'s extension claims, if any.
    pub fn of_name(path: &Path) -> Option<Compression> {
        let ext = path.extension()?;
        Self::ALL
            .into_iter()
            .find(|c| ext.eq_ignore_ascii_case(c.extension()))
    }

    /// A reader decompressing `raw`.
    fn decoder(self, raw: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
        let buffered = io::BufReader::with_capacity(1 << 16, raw);
        Ok(match self {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
            Compression::Xz => Box::new(lzma_rust2::XzReader::new(buffered, true)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(buffered)),
        })
    }
}

/// Whether `path` names a compressed file (`.gz`, `.xz`, `.zst`, `.bz2`).
pub fn is_compressed_name(path: &Path) -> bool {
    Compression::of_name(path).is_some()
}

/// Whether the input at `path` is read through a decompressor: a compressed file's name,
/// or a regular file of another name (a rotated `app.log.1`, say) that starts with a
/// compression format's magic bytes. Stdin and FIFOs are sniffed as they are read
/// ([`open_stream`]); an unreadable file is left to the open that reports it.
pub fn is_compressed_input(path: &Path) -> bool {
    if is_stdin(path) {
        return false;
    }
    if is_compressed_name(path) {
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
    matches!(read_head(file, MAGIC_LEN), Ok((head, _)) if Compression::of_magic(&head).is_some())
}

/// Bytes of an input's (decompressed) start searched for a NUL byte: one there marks the
/// input as binary, as grep decides.
pub const BINARY_SNIFF_BYTES: usize = 32 << 10;

/// Whether `head`, an input's first bytes, looks binary: a NUL byte among its first
/// [`BINARY_SNIFF_BYTES`].
pub fn looks_binary(head: &[u8]) -> bool {
    head[..head.len().min(BINARY_SNIFF_BYTES)].contains(&0)
}

/// Read up to `n` bytes from `r` (fewer only at its end) and return them with the reader.
fn read_head<R: Read>(mut r: R, n: usize) -> io::Result<(Vec<u8>, R)> {
    let mut head = vec![0u8; n];
    let mut got = 0;
    while got < head.len() {
        match r.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(got);
    Ok((head, r))
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

/// A streaming reader for `path` (stdin or a file), decompressed when its first bytes are
/// a compression format's magic (see [`decoded_stream`]). With `binary` false, an input
/// whose decompressed start holds a NUL byte is refused with [`Error::Binary`].
pub fn open_stream(path: &Path, binary: bool) -> Result<Box<dyn Read + Send>> {
    let raw: Box<dyn Read + Send> = if is_stdin(path) {
        Box::new(io::stdin())
    } else {
        Box::new(open_file(path)?)
    };
    checked_stream(path, raw, binary)
}

/// `raw`, the opened input `path`, decompressed ([`decoded_stream`]) and, unless
/// `binary`, refused with [`Error::Binary`] when its decompressed start holds a NUL byte.
pub fn checked_stream(
    path: &Path,
    raw: Box<dyn Read + Send>,
    binary: bool,
) -> Result<Box<dyn Read + Send>> {
    let stream = decoded_stream(path, raw)?;
    if binary {
        return Ok(stream);
    }
    let (head, rest) = read_head(stream, BINARY_SNIFF_BYTES).map_err(|e| input_err(path, e))?;
    if looks_binary(&head) {
        return Err(Error::Binary(path.to_path_buf()));
    }
    Ok(Box::new(io::Cursor::new(head).chain(rest)))
}

/// `raw`, the opened input `path` (a file, FIFO or stdin), decompressed when its first
/// bytes are a compression format's magic — whatever its name, so `zcat`-less pipes and
/// rotated archives without the extension read as text too. A name that claims a
/// format (`.gz`, `.xz`, `.zst`, `.bz2`) the content does not have is
/// [`Error::NotCompressed`]; an empty input is empty whatever its name.
pub fn decoded_stream(path: &Path, raw: Box<dyn Read + Send>) -> Result<Box<dyn Read + Send>> {
    // The first bytes decide, then are read again as the stream's start.
    let (head, raw) = read_head(raw, MAGIC_LEN).map_err(|e| input_err(path, e))?;
    let found = Compression::of_magic(&head);
    if let Some(claimed) = Compression::of_name(path) {
        if found != Some(claimed) && !head.is_empty() {
            return Err(Error::NotCompressed {
                path: path.to_path_buf(),
                format: claimed.name(),
            });
        }
    }
    let whole: Box<dyn Read + Send> = Box::new(io::Cursor::new(head).chain(raw));
    match found {
        Some(c) => c.decoder(whole).map_err(|e| input_err(path, e)),
        None => Ok(whole),
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
        // An over-long line ended at a `\r` that was the last byte read: a `\n` that
        // comes next completes that line break (one `\r\n`), not a line of its own.
        let mut skip_lf = false;
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
            let mut n = match reader.read(&mut self.buf[self.filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if std::mem::take(&mut skip_lf) && n > 0 && self.buf[self.filled] == b'\n' {
                let at = self.filled;
                self.buf.copy_within(at + 1..at + n, at);
                n -= 1;
                if n == 0 {
                    continue;
                }
            }
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
                let rest = match brk {
                    Some(i) if self.buf[i] == b'\r' && i + 1 == n => {
                        skip_lf = true;
                        n
                    }
                    Some(i) if self.buf[i] == b'\r' && self.buf[i + 1] == b'\n' => i + 2,
                    Some(i) => i + 1,
                    None => n,
                };
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
    use flate2::write::GzEncoder;
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
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
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
        let (head, mut rest) = read_head(Stutter(b"\x1f\x8bxyz", false), 2).expect("read");
        assert_eq!(head, b"\x1f\x8b");
        let mut tail = Vec::new();
        rest.read_to_end(&mut tail).expect("read");
        assert_eq!(tail, b"xyz");
        assert_eq!(read_head(Stutter(b"a", false), 2).expect("read").0, b"a");
        assert!(read_head(Stutter(b"", false), 2)
            .expect("read")
            .0
            .is_empty());
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
            assert_eq!(is_compressed_input(&path), *is_gz, "{name}");
            let mut got = Vec::new();
            open_stream(&path, false)
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
        assert!(!is_compressed_input(Path::new("-")));
        assert!(!is_compressed_input(&dir.path().join("missing.log")));
    }

    #[test]
    fn magic_bytes_name_the_format() {
        let cases: [(&[u8], Option<Compression>); 9] = [
            (b"\x1f\x8b\x08", Some(Compression::Gzip)),
            (b"\xfd7zXZ\x00\x00", Some(Compression::Xz)),
            (b"\x28\xb5\x2f\xfd\x00", Some(Compression::Zstd)),
            (b"BZh91AY&SY", Some(Compression::Bzip2)),
            (b"BZh0", None),
            (b"BZhello", None),
            (b"\xfd7zXZ", None),
            (b"plain text\n", None),
            (b"", None),
        ];
        for (head, want) in cases {
            assert_eq!(Compression::of_magic(head), want, "{head:?}");
        }
        assert_eq!(
            Compression::of_name(Path::new("a.log.ZST")),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::of_name(Path::new("a.bz2")),
            Some(Compression::Bzip2)
        );
        assert_eq!(Compression::of_name(Path::new("a.log")), None);
    }

    #[test]
    fn binary_is_a_nul_in_the_first_block_and_named_formats_must_match() {
        let dir = tempfile::Builder::new()
            .prefix("ts-binary-sniff-")
            .tempdir()
            .expect("dir");
        let mut late_nul = vec![b'a'; BINARY_SNIFF_BYTES];
        late_nul.extend_from_slice(b"\x00 after the first block\n");
        let cases: [(&str, Vec<u8>, &str); 6] = [
            ("text.log", b"just text\n".to_vec(), "ok"),
            ("nul.log", b"text\x00more\n".to_vec(), "binary"),
            ("nul.log.gz", gz(b"text\x00more\n"), "binary"),
            ("late.log", late_nul, "ok"),
            ("fake.gz", b"not gzip at all\n".to_vec(), "not gzip"),
            ("empty.gz", Vec::new(), "ok"),
        ];
        for (name, bytes, want) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).expect("write");
            let got = match open_stream(&path, false) {
                Ok(_) => "ok".to_string(),
                Err(Error::Binary(p)) => {
                    assert_eq!(p, path);
                    "binary".to_string()
                }
                Err(e @ Error::NotCompressed { .. }) => {
                    let text = e.to_string();
                    assert!(text.contains(name), "{text}");
                    "not gzip".to_string()
                }
                Err(e) => e.to_string(),
            };
            assert_eq!(got, want, "{name}");
            // --binary reads it as it is.
            if want == "binary" {
                let mut all = Vec::new();
                open_stream(&path, true)
                    .expect("open")
                    .read_to_end(&mut all)
                    .expect("read");
                assert_eq!(all, b"text\x00more\n");
            }
        }
    }
}
