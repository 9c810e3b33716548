//! Finding files again after rotation: a checkpointed file renamed while we were stopped,
//! the copy a copytruncate left next to the file, and recovering the unread bytes of a
//! truncated file from that copy.

use crate::checkpoint::FileCheckpoint;
use crate::identity::{
    file_id, fingerprint_of, verify_fingerprint, FileId, Fingerprint, FINGERPRINT_BYTES,
};
use crate::open_file::{drain, OpenFile};
use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trace_sentinel_core::input::Piece;
use trace_sentinel_core::LineCursor;

pub(crate) fn is_compressed(name: &str) -> bool {
    [".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Files in `dir` (not compressed, not in `skip`) that satisfy `pred`, newest first.
pub(crate) fn find_in_dir(
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

pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The file a checkpoint describes, looked up by identity in `dir` (it may have been
/// renamed by a rotation while we were stopped).
pub(crate) fn reopen(dir: &Path, cp: &FileCheckpoint, skip: &[FileId]) -> Option<OpenFile> {
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
        cursor: cp.line.map_or(LineCursor::UNKNOWN, LineCursor::at),
        skip_lf: false,
    })
}

/// A copy of a truncated file (copytruncate): same first bytes, another inode, at least
/// `len` bytes long.
pub(crate) fn find_copy(dir: &Path, fp: Fingerprint, len: u64, skip: &[FileId]) -> Option<File> {
    if fp.len == 0 {
        return None;
    }
    find_in_dir(dir, skip, |meta, file| {
        meta.len() >= len && verify_fingerprint(file, fp).ok().flatten().is_some()
    })
    .map(|(_, f)| f)
}

/// Detect copytruncate (or in-place replacement) of the current file: the size fell below
/// our position, or its first bytes changed. The bytes we had not read yet are recovered
/// from a copy next to the file when there is one; then reading restarts at 0. The
/// unfinished line is kept: a writer continues it at the start of the truncated file.
/// Returns whether the file was truncated.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_truncation(
    cur: &mut OpenFile,
    path: &Path,
    source: &str,
    max_line: usize,
    retiring: &[OpenFile],
    buf: &mut Vec<u8>,
    bytes: &mut u64,
    now: Instant,
    f: &mut dyn FnMut(Piece<'_>, &str, LineCursor) -> io::Result<()>,
) -> io::Result<bool> {
    let Ok(meta) = cur.file.metadata() else {
        return Ok(false);
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
        return Ok(false);
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
            cursor: cur.cursor,
            skip_lf: false,
        };
        // The copy is complete (it was made before the truncation): read it to its end.
        while let Ok(true) = drain(&mut from_copy, source, max_line, buf, bytes, now, f)? {}
        cur.pending = from_copy.pending;
        cur.long = from_copy.long;
    }
    cur.read_pos = 0;
    cur.cursor = LineCursor::default();
    cur.fp = fingerprint_of(&cur.file).unwrap_or_default();
    Ok(true)
}
