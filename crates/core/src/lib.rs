//! trace-sentinel: a passive log anomaly engine.
//!
//! Every line (plain text or JSON lines) becomes metrics — message length, token count,
//! numeric attributes, inter-arrival time and optionally a semantic-novelty score — each
//! scored against an online baseline (z-score, EWMA or MAD) *before* the value updates it.
//!
//! Data flow, one implementation per stage shared by every driver:
//! `input → split → decode/parse → extract → detect (shards) → sinks`.
//! See `docs/architecture.md` for the module map.

#![deny(missing_docs)]

pub mod anomaly;
pub mod detect;
pub mod engine;
pub mod error;
pub mod extract;
pub mod fsutil;
pub mod input;
pub mod parse;
pub mod scan;
pub mod seed;
pub mod semantic;
pub mod sentinel;
pub mod shard;
pub mod sink;
pub mod snapshot;
pub mod stats;

pub use anomaly::{Anomaly, Severity};
pub use detect::DetectorKind;
pub use engine::{Engine, InputFormat, LineParser};
pub use error::{Error, Result};
pub use sentinel::{AnomalyRecord, Event, Sentinel};
pub use shard::{Config, EventRecord, ShardBy, ShardSet};
pub use sink::Sink;
pub use trace_sentinel_pycompat::timestamp::Timestamp;
