//! Durable file writes: temp file in the same directory, fsync, rename, fsync of the
//! directory — so a reader never sees a half-written stats, state or snapshot file.
//! The two halves are separable ([`prepare_atomic`], [`PreparedWrite::commit`]) so that
//! several files can be made durable first and then switched in back to back.

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file written and synced under a temporary name, not yet in place. Dropping it
/// without [`PreparedWrite::commit`] removes the temporary file.
#[derive(Debug)]
pub struct PreparedWrite {
    tmp: PathBuf,
    path: PathBuf,
    dir: PathBuf,
    done: bool,
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// The directory of `path` and the temporary name a write of `path` goes through.
fn temp_path(path: &Path) -> (PathBuf, PathBuf) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    (dir, tmp)
}

/// Check, before any work starts, that `path` can be written the way [`write_atomic`]
/// writes it: `path` is not a directory, and its directory exists and accepts a new
/// file. The check creates the temporary file the write would use and removes it at
/// once, so it leaves nothing behind.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() || path.file_name().is_none() {
        return Err(write_err(path)(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    let (_, tmp) = temp_path(path);
    File::create(&tmp).map_err(write_err(path))?;
    fs::remove_file(&tmp).map_err(write_err(path))
}

/// Write `bytes` to a synced temporary file next to `path`.
pub fn prepare_atomic(path: &Path, bytes: &[u8]) -> Result<PreparedWrite> {
    let (dir, tmp) = temp_path(path);
    let prepared = PreparedWrite {
        tmp,
        path: path.to_path_buf(),
        dir,
        done: false,
    };
    (|| {
        let mut f = File::create(&prepared.tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })()
    .map_err(write_err(path))?;
    Ok(prepared)
}

impl PreparedWrite {
    /// Rename the temporary file over the target and sync the directory.
    pub fn commit(self) -> Result<()> {
        let dir = self.switch()?;
        sync_dir(&dir);
        Ok(())
    }

    /// Rename the temporary file over the target without syncing the directory (the new
    /// content is visible at once; call [`sync_dir`] on the returned directory to make the
    /// rename itself survive a power loss).
    pub fn switch(mut self) -> Result<PathBuf> {
        fs::rename(&self.tmp, &self.path).map_err(write_err(&self.path))?;
        self.done = true;
        Ok(std::mem::take(&mut self.dir))
    }
}

/// Sync a directory's entries (best effort: not every filesystem supports it).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl Drop for PreparedWrite {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Replace `path` with `bytes` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    prepare_atomic(path, bytes)?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writability_is_checked_without_leaving_files() {
        let dir = tempfile::Builder::new()
            .prefix("ts-fsutil-")
            .tempdir()
            .expect("dir");
        let d = dir.path();
        fs::write(d.join("plain"), "x").expect("write");
        assert!(check_writable(&d.join("new.json")).is_ok());
        assert!(check_writable(&d.join("plain")).is_ok());
        for bad in [
            d.to_path_buf(),
            d.join("missing").join("x.json"),
            d.join("plain").join("x.json"),
            PathBuf::from("/proc/nope/b.json"),
        ] {
            let e = check_writable(&bad).expect_err("not writable");
            assert!(e.to_string().contains(&*bad.to_string_lossy()), "{e}");
        }
        let mut left: Vec<_> = fs::read_dir(d)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        left.sort();
        assert_eq!(left, ["plain"]);
        assert_eq!(fs::read(d.join("plain")).expect("read"), b"x");
    }
}
