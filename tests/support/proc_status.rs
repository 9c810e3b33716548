//! `/proc/PID/status` for the memory bounds of the behaviour tests (included with
//! `#[path]` by `tests/hostile.rs` and `tests/follow.rs`).

/// A `kB` field of a live process's `/proc/PID/status` (`RssAnon`, `VmHWM`, …) in bytes;
/// `None` once the process has exited.
pub fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
