//! Plumbing the NATS commands share: errors of the bus layers as the binary's errors,
//! millisecond flags, the host's name, connecting.

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
