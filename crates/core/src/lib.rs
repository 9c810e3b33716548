//! trace-sentinel's engine as a library: passive anomaly detection over log lines and
//! events.
//!
//! Every line (plain text or JSON lines) becomes metrics — message length, token count,
//! numeric attributes, inter-arrival time and optionally a semantic-novelty score — each
//! scored against an online baseline (z-score, EWMA or MAD) *before* the value updates
//! it. One implementation per stage, shared by every driver:
//!
//! ```text
//! input ──► split ──► parse ──► extract ──► detect (shards) ──► sinks
//! ```
//!
//! * The facade: [`Sentinel`] (built with [`SentinelBuilder`]) takes owned [`Event`]s
//!   and returns [`AnomalyRecord`]s; [`Extractor`], [`Embedder`], [`Scorer`] and
//!   [`Sink`] are its extension points.
//! * The drivers' toolkit, for raw byte streams at volume: [`input`] (files, `.gz`,
//!   stdin, the block reader), [`engine`] (parse + extract per worker, the sequential
//!   engine), [`detect`] (shards and the ordered hot loop), [`scan`] (the parallel
//!   driver), [`snapshot`] (saved baselines), [`state_journal`] (follow state as a
//!   base and deltas), [`sink`], [`stats`], [`fsutil`].
//!
//! This crate never prints and never panics on input; errors are [`Error`]. Python
//! semantics come from `trace-sentinel-pycompat`, byte kernels from
//! `trace-sentinel-kernels`. See `docs/library.md` and `docs/architecture.md`.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod anomaly;
mod config;
pub mod detect;
pub mod engine;
mod error;
pub mod extract;
mod features;
pub mod fsutil;
pub mod input;
mod mapguard;
pub mod metric;
mod parse;
mod record;
pub mod scan;
mod seed;
mod semantic;
mod sentinel;
pub mod sink;
pub mod snapshot;
pub mod state_journal;
pub mod stats;

pub use anomaly::{Anomaly, LineContext, Rarity, Severity, TemplateRef};
pub use config::{Config, ShardBy};
pub use detect::{Detector, DetectorKind, Scorer};
pub use engine::{Engine, InputFormat};
pub use error::{Error, Result};
pub use record::{Attrs, EventRecord, LineCursor, NumberedLines};
pub use sentinel::{
    AnomalyRecord, Embedder, Event, Extractor, HashingEmbedder, MessageLength, MetricState,
    Metrics, Sentinel, SentinelBuilder, TokenCount, Watch, DEFAULT_SOURCE,
};
pub use sink::Sink;
pub use trace_sentinel_kernels::shape::Level;
pub use trace_sentinel_pycompat::timestamp::Timestamp;
