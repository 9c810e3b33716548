//! Durable positions: per followed path, the file at the path and the rotated-away files
//! still being drained, each by identity, fingerprint and the offset just past the last
//! complete line handed out.

use crate::identity::{FileId, Fingerprint, FINGERPRINT_BYTES};
use serde::{Deserialize, Serialize};
use std::path::Path;

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
    /// The number of the line at `offset` (absent when not known: a checkpoint from
    /// before line numbers, or a file first followed from a far-away end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
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
    pub(crate) fn id(&self) -> FileId {
        FileId {
            dev: self.dev,
            ino: self.ino,
        }
    }

    pub(crate) fn fingerprint(&self) -> Option<Fingerprint> {
        let hash = u64::from_str_radix(&self.fingerprint, 16).ok()?;
        ((self.fingerprint_len as usize) <= FINGERPRINT_BYTES).then_some(Fingerprint {
            len: self.fingerprint_len,
            hash,
        })
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
