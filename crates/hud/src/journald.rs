//! The journald source: runs `journalctl -o json -f` as a child process and maps each
//! journal entry to the JSON-lines shape the engine parses (`message`, `source`,
//! `timestamp`, attributes).
//!
//! Mapping: `MESSAGE` → message (a byte-array `MESSAGE` is decoded lossily, a missing or
//! null one is empty); `SYSLOG_IDENTIFIER`, else `_SYSTEMD_UNIT`, else `_COMM`, else
//! `journald` → source; `__REALTIME_TIMESTAMP` (µs since the epoch) → timestamp;
//! `PRIORITY` → the numeric attribute `priority` (so a burst of errors among info lines
//! deviates as `attr.priority`); `_SYSTEMD_UNIT`, `_PID`, `_HOSTNAME` and `_TRANSPORT`
//! → string attributes `unit`, `pid`, `host`, `transport`. Lines that are not JSON
//! objects are skipped and counted.

use crate::error::HudError;
use serde_json::{Map, Value};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use trace_sentinel_pycompat::timestamp::{Timestamp, EPOCH_LOCAL_US};

/// The program the source runs.
pub const JOURNALCTL: &str = "journalctl";
/// Largest valid `__REALTIME_TIMESTAMP`: 9999-12-31T23:59:59.999999Z in µs.
const MAX_REALTIME_US: u64 = 253_402_300_799_999_999;

/// Find `program` on `PATH` (the first executable match).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The `journalctl` arguments for a follow that first shows the last `backfill` entries.
pub fn journalctl_args(backfill: usize) -> Vec<String> {
    vec![
        "--output=json".into(),
        "--follow".into(),
        "--no-pager".into(),
        format!("--lines={backfill}"),
    ]
}

/// A running `journalctl` child.
#[derive(Debug)]
pub struct Journal {
    child: Child,
    status: Option<std::process::ExitStatus>,
}

impl Journal {
    /// Start `journalctl` (found on `PATH`) following the journal after the last
    /// `backfill` entries.
    pub fn spawn(backfill: usize) -> Result<Self, HudError> {
        let program = find_program(JOURNALCTL).ok_or(HudError::JournalctlMissing)?;
        let child = Command::new(program)
            .args(journalctl_args(backfill))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => HudError::JournalctlMissing,
                _ => HudError::Journalctl(e.to_string()),
            })?;
        Ok(Journal {
            child,
            status: None,
        })
    }

    /// Take the child's stdout (once).
    pub fn stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Kill the child (idempotent).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// After stdout ended: `Ok` when `journalctl` exited successfully, else its first
    /// line of stderr (or exit status) as the error.
    pub fn finish(&mut self) -> Result<(), HudError> {
        let status = self
            .child
            .wait()
            .map_err(|e| HudError::Journalctl(e.to_string()))?;
        self.status = Some(status);
        if status.success() {
            return Ok(());
        }
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = io::Read::read_to_string(&mut e, &mut err);
        }
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        Err(HudError::Journalctl(if first.is_empty() {
            format!("journalctl exited with {status}")
        } else {
            format!("journalctl exited with {status}: {}", first.trim())
        }))
    }
}

impl Journal {
    /// Whether `journalctl` ended by a signal that stops a whole service (SIGHUP,
    /// SIGINT, SIGTERM): sent to the process group, it reaches the child before the
    /// HUD's own stop request does.
    pub fn stopped_by_signal(&self) -> bool {
        use std::os::unix::process::ExitStatusExt;
        const STOP_SIGNALS: [i32; 3] = [1, 2, 15];
        self.status
            .and_then(|s| s.signal())
            .is_some_and(|sig| STOP_SIGNALS.contains(&sig))
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Convert one `journalctl -o json` line into an engine JSON line appended to `out`
/// (with a trailing newline). Returns `false` (and appends nothing) for lines that are
/// not JSON objects.
pub fn map_entry(line: &[u8], out: &mut Vec<u8>) -> bool {
    let Ok(Value::Object(entry)) = serde_json::from_slice::<Value>(line) else {
        return false;
    };
    let text = |k: &str| field_text(entry.get(k));
    let mut obj = Map::new();
    obj.insert(
        "message".into(),
        Value::String(text("MESSAGE").unwrap_or_default()),
    );
    let source = ["SYSLOG_IDENTIFIER", "_SYSTEMD_UNIT", "_COMM"]
        .iter()
        .find_map(|k| text(k).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "journald".to_string());
    obj.insert("source".into(), Value::String(source));
    if let Some(ts) = text("__REALTIME_TIMESTAMP").and_then(|s| realtime_iso(&s)) {
        obj.insert("timestamp".into(), Value::String(ts));
    }
    if let Some(p) = text("PRIORITY").and_then(|s| s.trim().parse::<u8>().ok()) {
        obj.insert("priority".into(), Value::from(p));
    }
    for (key, field) in [
        ("unit", "_SYSTEMD_UNIT"),
        ("pid", "_PID"),
        ("host", "_HOSTNAME"),
        ("transport", "_TRANSPORT"),
    ] {
        if let Some(v) = text(field) {
            obj.insert(key.into(), Value::String(v));
        }
    }
    // Serialising a map of strings and small integers cannot fail.
    if serde_json::to_writer(&mut *out, &Value::Object(obj)).is_err() {
        return false;
    }
    out.push(b'\n');
    true
}

/// A journal field as text: strings as they are, byte arrays decoded lossily, numbers
/// printed; `None` for missing, null and other shapes.
fn field_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|b| b.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `__REALTIME_TIMESTAMP` (decimal µs since the epoch) as an ISO 8601 UTC string.
fn realtime_iso(us: &str) -> Option<String> {
    let us: u64 = us.trim().parse().ok()?;
    if us > MAX_REALTIME_US {
        return None;
    }
    let ts = Timestamp {
        local_us: EPOCH_LOCAL_US + i64::try_from(us).ok()?,
        offset_us: Some(0),
    };
    let mut s = String::new();
    ts.write_isoformat(&mut s);
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(line: &str) -> Option<Value> {
        let mut out = Vec::new();
        map_entry(line.as_bytes(), &mut out).then(|| {
            assert_eq!(out.last(), Some(&b'\n'));
            serde_json::from_slice(&out).unwrap()
        })
    }

    #[test]
    fn maps_the_usual_fields() {
        let v = mapped(
            r#"{"__REALTIME_TIMESTAMP":"1700000000123456","MESSAGE":"Accepted publickey for bob","PRIORITY":"6","SYSLOG_IDENTIFIER":"sshd","_SYSTEMD_UNIT":"ssh.service","_PID":"812","_HOSTNAME":"box","_TRANSPORT":"syslog","_COMM":"sshd"}"#,
        )
        .unwrap();
        assert_eq!(v["message"], "Accepted publickey for bob");
        assert_eq!(v["source"], "sshd");
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20.123456+00:00");
        assert_eq!(v["priority"], 6);
        assert_eq!(v["unit"], "ssh.service");
        assert_eq!(v["pid"], "812");
        assert_eq!(v["host"], "box");
    }

    #[test]
    fn odd_shapes() {
        // Binary message as a byte array, no identifier: falls back to the unit, then comm.
        let v = mapped(r#"{"MESSAGE":[104,105,255],"_COMM":"kworker"}"#).unwrap();
        assert_eq!(v["message"], "hi\u{FFFD}");
        assert_eq!(v["source"], "kworker");
        assert!(v.get("timestamp").is_none());
        let v = mapped(
            r#"{"MESSAGE":null,"PRIORITY":"x","__REALTIME_TIMESTAMP":"99999999999999999999"}"#,
        )
        .unwrap();
        assert_eq!(v["message"], "");
        assert_eq!(v["source"], "journald");
        assert!(v.get("priority").is_none());
        assert!(v.get("timestamp").is_none());
        assert!(mapped("[1,2]").is_none());
        assert!(mapped("not json").is_none());
        assert!(mapped("").is_none());
    }

    #[test]
    fn args_follow_with_backfill() {
        let a = journalctl_args(25);
        assert!(a.contains(&"--follow".to_string()));
        assert!(a.contains(&"--output=json".to_string()));
        assert!(a.contains(&"--lines=25".to_string()));
    }
}
