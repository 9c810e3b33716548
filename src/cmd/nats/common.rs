//! Plumbing the NATS commands share: errors of the bus layers as the binary's errors,
//! millisecond flags, the host's name, connecting, and patience with a cluster that is
//! electing a leader.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use trace_sentinel_bus::BusError;
use trace_sentinel_core::Error;
use trace_sentinel_nats::{Nats, NatsError};

/// A bus-layer error as the binary's error (exit 2, one line).
pub fn bus(e: BusError) -> Error {
    match e {
        BusError::Engine(e) => e,
        other => Error::Bus(Box::new(other)),
    }
}

/// A NATS error as the binary's error.
pub fn nats(e: NatsError) -> Error {
    Error::Bus(Box::new(e))
}

/// A millisecond flag within `min..=max`.
pub fn millis(
    flag: &'static str,
    v: i64,
    min: i64,
    max: i64,
) -> Result<std::time::Duration, Error> {
    if v < min || v > max {
        let range = if max == i64::MAX {
            format!(">= {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(Error::Config {
            flag,
            reason: format!("{v} (must be {range})"),
        });
    }
    Ok(std::time::Duration::from_millis(v as u64))
}

/// This host's name (empty when unknown).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Connect to `url` as `name`.
pub fn connect(url: &str, name: &str) -> Result<Nats, Error> {
    Nats::connect(url, name).map_err(nats)
}

/// How long a startup step keeps retrying a transient failure before the command gives
/// up (as long as a publication is retried).
pub const STARTUP_PATIENCE: Duration = trace_sentinel_nats::publish::RETRY_FOR;

/// Run a startup step (creating or reading a stream, a bucket, a key) until it succeeds.
/// A transient failure — a timeout, no leader yet, as while a cluster elects one — is
/// said once on stderr and retried every half second for up to [`STARTUP_PATIENCE`];
/// any other failure, or a transient one past that, ends the command. `None` when `stop`
/// was raised (SIGINT/SIGTERM) meanwhile.
pub fn patiently<T>(
    stop: &AtomicBool,
    mut step: impl FnMut() -> Result<T, NatsError>,
) -> Result<Option<T>, Error> {
    let t0 = Instant::now();
    let mut said: Option<String> = None;
    loop {
        match step() {
            Ok(v) => return Ok(Some(v)),
            Err(e) if e.is_transient() && t0.elapsed() < STARTUP_PATIENCE => {
                let msg = e.to_string();
                if said.as_deref() != Some(msg.as_str()) {
                    say!("trace-sentinel: warning: {msg} (retrying)");
                    said = Some(msg);
                }
            }
            Err(e) => return Err(nats(e)),
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
