//! Input stage: where bytes come from — files, `.gz` files (streamed), stdin — and the
//! rolling-buffer block reader every non-mmap path shares. It hands out blocks that hold
//! only complete lines (plus the unterminated tail at EOF) and knows nothing of what a
//! line means.

use crate::error::{Error, Result};
use crate::split;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Read buffer size of the block reader.
pub const BLOCK_SIZE: usize = 1 << 20;

/// Whether `path` names stdin.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Whether `path` is gzip-compressed (by extension).
pub fn is_gzip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
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
        if !is_stdin(p) {
            open_file(p)?;
        }
    }
    Ok(())
}

/// A streaming reader for `path`: stdin, a decompressing reader for `.gz`, or the file.
pub fn open_stream(path: &Path) -> Result<Box<dyn Read + Send>> {
    if is_stdin(path) {
        return Ok(Box::new(io::stdin()));
    }
    let file = open_file(path)?;
    if is_gzip(path) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(1 << 16, file),
        )))
    } else {
        Ok(Box::new(file))
    }
}

/// Reads a stream into one reused buffer and hands out blocks of complete lines; the
/// unfinished last line is rolled to the front of the buffer for the next read.
#[derive(Debug)]
pub struct BlockReader {
    buf: Vec<u8>,
    /// Bytes of `buf` holding data.
    filled: usize,
}

impl Default for BlockReader {
    fn default() -> Self {
        Self::new()
    }
}

impl BlockReader {
    /// A reader with the default block size.
    pub fn new() -> Self {
        BlockReader {
            buf: vec![0; BLOCK_SIZE],
            filled: 0,
        }
    }

    /// Read `reader` to the end, calling `f` with each block of complete lines (the last
    /// block may end without a line break). `f` returns `false` to stop early.
    pub fn for_each_block<R: Read + ?Sized>(
        &mut self,
        reader: &mut R,
        mut f: impl FnMut(&[u8]) -> io::Result<bool>,
    ) -> io::Result<()> {
        self.filled = 0;
        loop {
            if self.filled == self.buf.len() {
                // One line fills the buffer: grow (bounded by memory, see SECURITY.md).
                let new_len = self.buf.len() * 2;
                self.buf.resize(new_len, 0);
            }
            let n = match reader.read(&mut self.buf[self.filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                if self.filled > 0 && !f(&self.buf[..self.filled])? {
                    return Ok(());
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
            if !f(&self.buf[..done])? {
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
}
