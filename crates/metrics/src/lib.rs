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

mod error;
pub mod exposition;
pub mod run;
pub mod server;

pub use error::MetricsError;
pub use exposition::Exposition;
pub use server::{parse_addr, MetricsServer};
