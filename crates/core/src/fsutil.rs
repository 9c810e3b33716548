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

/// Write `bytes` to a synced temporary file next to `path`.
pub fn prepare_atomic(path: &Path, bytes: &[u8]) -> Result<PreparedWrite> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
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
