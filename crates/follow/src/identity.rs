//! A file's identity: device and inode, and a fingerprint (BLAKE2b-64) of its first
//! bytes that recognises a file whose inode was reused or whose content was replaced in
//! place; positioned reads.

use std::fs::{File, Metadata};
use std::io;

/// Bytes at the start of a file hashed into its fingerprint.
pub const FINGERPRINT_BYTES: usize = 256;

/// Device and inode of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileId {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
}

#[cfg(unix)]
pub(crate) fn file_id(m: &Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId {
        dev: m.dev(),
        ino: m.ino(),
    }
}

#[cfg(not(unix))]
pub(crate) fn file_id(_: &Metadata) -> FileId {
    FileId::default()
}

#[cfg(unix)]
pub(crate) fn read_at(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    loop {
        match f.read_at(buf, off) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

#[cfg(windows)]
pub(crate) fn read_at(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    use std::os::windows::fs::FileExt;
    f.seek_read(buf, off)
}

/// A hash of a file's first `len` bytes (`len <= FINGERPRINT_BYTES`): recognises a file
/// whose inode was reused or whose content was replaced in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Fingerprint {
    pub(crate) len: u32,
    pub(crate) hash: u64,
}

pub(crate) fn hash_bytes(b: &[u8]) -> u64 {
    let h = blake2b_simd::Params::new().hash_length(8).hash(b);
    let mut out = [0u8; 8];
    out.copy_from_slice(h.as_bytes());
    u64::from_le_bytes(out)
}

/// Read up to `FINGERPRINT_BYTES` from the start of `f`.
pub(crate) fn read_head(f: &File, out: &mut [u8; FINGERPRINT_BYTES]) -> io::Result<usize> {
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

pub(crate) fn fingerprint_of(f: &File) -> io::Result<Fingerprint> {
    let mut head = [0u8; FINGERPRINT_BYTES];
    let n = read_head(f, &mut head)?;
    Ok(Fingerprint {
        len: n as u32,
        hash: hash_bytes(&head[..n]),
    })
}

/// Whether `f` still starts with the bytes `fp` was taken from; `Ok(Some(longer))` when it
/// does and a longer fingerprint is now available.
pub(crate) fn verify_fingerprint(f: &File, fp: Fingerprint) -> io::Result<Option<Fingerprint>> {
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
