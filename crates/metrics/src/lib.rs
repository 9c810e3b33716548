//! trace-sentinel's Prometheus metrics: the one place where metric names, types and help
//! texts are defined and where run statistics become the text exposition format (0.0.4).
//!
//! - [`exposition`]: the text format writer (families, samples, histograms, escaping).
//! - [`run`]: the families of a [`RunStats`](trace_sentinel_core::stats::RunStats) —
//!   what `--stats-json` reports — under Prometheus names (`trace_sentinel_` prefix,
//!   `_total` counters, base units). `--metrics-addr` serves all of them; the HUD's
//!   `/metrics` serves the engine and delivery families the same way, plus its own.
//! - [`server`]: a small blocking HTTP endpoint (`GET /metrics`) on a thread of its
//!   own, for `watch` and `scan`; no async runtime.
//!
//! The crate never prints; errors are [`MetricsError`].

#![deny(missing_docs)]

pub mod exposition;
pub mod run;
pub mod server;

pub use exposition::Exposition;
pub use server::{parse_addr, MetricsServer};

/// What can go wrong starting the metrics endpoint.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Not `HOST:PORT`, `[IPv6]:PORT` or `:PORT`.
    #[error("'{0}' is not an address to listen on (use HOST:PORT, e.g. 127.0.0.1:9787, [::1]:9787 or :9787)")]
    BadAddress(String),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
