//! Durable file writes: temp file in the same directory, fsync, rename, fsync of the
//! directory — so a reader never sees a half-written stats, state or snapshot file.
//! The two halves are separable ([`prepare_atomic`], [`PreparedWrite::commit`]) so that
//! several files can be made durable first and then switched in back to back.
//! Temporaries a killed process left behind are found by the process id in their name
//! ([`remove_stale_temporaries`]).

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

/// The process id in the name of a temporary file of a write whose target's name starts
/// with `prefix` (`.{prefix}….tmp.{pid}`), if `name` is one.
fn temporary_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_prefix(prefix)?;
    let (_, pid) = rest.rsplit_once(".tmp.")?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` exists (on Unix: `kill(pid, 0)` succeeds or is refused for lack
/// of permission). Elsewhere every process counts as alive, so nothing is removed.
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        if pid <= 0 {
            return false;
        }
        // SAFETY: signal 0 only checks that the process exists and may be signalled; it
        // sends nothing and touches no memory of ours.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Remove the temporary files that writes of files in `dir` whose names start with
/// `prefix` left behind when their process died mid-write (SIGKILL, power loss):
/// `.{prefix}….tmp.{pid}` where `pid` is no running process, or is this process (which
/// has not written yet when this runs at start; its pid was reused). A temporary of a
/// live process is left alone: it may be a write in progress. Returns what was removed;
/// a file that cannot be removed is skipped (the next start tries again).
pub fn remove_stale_temporaries(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| temporary_pid(n, prefix)) else {
            continue;
        };
        if pid != me && process_alive(pid) {
            continue;
        }
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed.sort();
    removed
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

/// Write a synced temporary file next to `path` through `fill`, which gets a buffered
/// writer (so a large file is never held in memory whole); returns the prepared write
/// and the bytes written.
pub fn prepare_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(PreparedWrite, u64)> {
    let (dir, tmp) = temp_path(path);
    let prepared = PreparedWrite {
        tmp,
        path: path.to_path_buf(),
        dir,
        done: false,
    };
    let bytes = (|| {
        let f = File::create(&prepared.tmp)?;
        let mut w = CountingWriter {
            inner: std::io::BufWriter::with_capacity(1 << 16, f),
            bytes: 0,
        };
        fill(&mut w)?;
        let f = w.inner.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(w.bytes)
    })()
    .map_err(write_err(path))?;
    Ok((prepared, bytes))
}

/// Counts the bytes written through it.
struct CountingWriter<W: Write> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
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

    #[test]
    fn temporary_names_are_recognised() {
        let p = "follow-state";
        for (name, want) in [
            (".follow-state.json.tmp.123", Some(123)),
            (".follow-state.delta-2-7.json.tmp.9", Some(9)),
            ("follow-state.json.tmp.123", None),
            (".follow-state.json.tmp.", None),
            (".follow-state.json.tmp.12a", None),
            (".follow-state.json.tmp.-1", None),
            (".follow-state.json", None),
            (".other.json.tmp.123", None),
            ("", None),
            (".follow-state.json.tmp.99999999999", None),
        ] {
            assert_eq!(temporary_pid(name, p), want, "{name:?}");
        }
    }

    #[test]
    fn stale_temporaries_are_removed_and_live_ones_kept() {
        let dir = tempfile::Builder::new()
            .prefix("ts-fsutil-")
            .tempdir()
            .expect("dir");
        let d = dir.path();
        // A process that has exited: its pid is free (until reused, which a test this
        // short does not see).
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let dead = child.id();
        child.wait().expect("wait");
        let live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn");
        let names = [
            format!(".follow-state.json.tmp.{dead}"),
            format!(".follow-state.json.tmp.{}", live.id()),
            format!(".follow-state.json.tmp.{}", std::process::id()),
            format!(".stats.json.tmp.{dead}"),
            "follow-state.json".to_string(),
        ];
        for n in &names {
            fs::write(d.join(n), "x").expect("write");
        }
        let removed = remove_stale_temporaries(d, "follow-state");
        let mut live = live;
        let _ = live.kill();
        let _ = live.wait();
        let mut want = vec![d.join(&names[0]), d.join(&names[2])];
        want.sort();
        assert_eq!(removed, want);
        let mut left: Vec<String> = fs::read_dir(d)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut keep = vec![names[1].clone(), names[3].clone(), names[4].clone()];
        keep.sort();
        assert_eq!(left, keep);
        assert!(remove_stale_temporaries(&d.join("missing"), "x").is_empty());
    }
}
