//! Detect stage: per-source detector shards, in input order.
//!
//! * `detector`: the online baselines ([`RunningStats`], [`Ewma`], [`RollingWindow`])
//!   and the single-metric [`Detector`] that scores a value *before* the value updates
//!   its baseline; the [`Scorer`] trait for user-supplied scorers.
//! * `shard`: a [`Shard`], the state the reference keeps in one `Sentinel` — one
//!   detector per metric, the semantic novelty detector, the inter-arrival clock.
//! * `shard_set`: the [`ShardSet`] that routes events to shards (per source, with an
//!   overflow shard past the cap), primes new ones from a template, and runs the ordered
//!   hot loop over a chunk's records ([`ShardSet::observe_chunk`]).
//!
//! A layer that needs history across events of a shard (say, message templates) belongs
//! here, as state of a [`Shard`] fed from [`ShardSet::observe`]; a per-line,
//! history-free feature belongs to the extract stage instead. Nothing here sees threads,
//! files or formats.

pub(crate) mod detector;
pub(crate) mod shard;
pub(crate) mod shard_set;
pub(crate) mod template;

pub use detector::{
    Detector, DetectorKind, Ewma, RollingWindow, RunningStats, Scorer, ScorerClone,
};
pub use shard::{Counters, MetricReading, Shard};
pub use shard_set::{ShardId, ShardSet, OVERFLOW_SHARD, SHARED_SHARD};
pub use template::{TemplateCount, TemplateSummary};
