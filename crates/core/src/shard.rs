//! Detect stage: per-source detector shards and the [`ShardSet`] that routes events to them.
//!
//! A [`Shard`] is the state the reference keeps in one `Sentinel`: one detector per metric (created on
//! first sight, capped), the optional semantic detector, and the inter-arrival clock per
//! source. Within a shard everything is strictly sequential in input order and every value
//! is scored before it updates its baseline. The [`ShardSet`] owns the shards: with
//! `ShardBy::Source` each source gets its own (up to `max_sources`, then one shared
//! overflow shard); with `ShardBy::None` one shard sees everything, like the reference.
//! This module sees neither threads nor files nor formats.

use crate::anomaly::{Anomaly, Severity};
use crate::detect::{Custom, Detector, DetectorKind, ScorerFactory};
use crate::semantic::{SemInput, SemanticDetector, SEMANTIC_METRIC};
use crate::sink::Sink;
use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use std::io;
use std::sync::Arc;
use trace_sentinel_pycompat::timestamp::Timestamp;

/// Metric name of the message length (Unicode scalars).
pub const LENGTH_METRIC: &str = "message.length";
/// Metric name of the `\w+` token count.
pub const TOKENS_METRIC: &str = "message.tokens";
/// Metric name of the per-source inter-arrival time.
pub const INTERARRIVAL_METRIC: &str = "event.interarrival_s";
/// Prefix of numeric-attribute metrics.
pub const ATTR_PREFIX: &str = "attr.";

/// How events are assigned to detector shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardBy {
    /// One shard per event source (bounded by `max_sources`).
    Source,
    /// One shared shard, exactly like the reference.
    None,
}

/// Everything that decides detection results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Sigma magnitude at which a deviation is reported (> 0).
    pub threshold: f64,
    /// Observations a fresh baseline learns before it may alert.
    pub warmup: u64,
    /// Detector used for every metric.
    pub detector: DetectorKind,
    /// Whether the semantic-novelty layer runs.
    pub semantic: bool,
    /// Whether the inter-arrival metric is computed (JSON lines and follow mode).
    pub timed: bool,
    /// Shard assignment.
    pub shard_by: ShardBy,
    /// Bound on per-source shards and on tracked inter-arrival sources per shard.
    pub max_sources: usize,
    /// Bound on distinct metrics per shard.
    pub max_metrics: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            threshold: 3.0,
            warmup: 30,
            detector: DetectorKind::Zscore,
            semantic: false,
            timed: false,
            shard_by: ShardBy::Source,
            max_sources: 10_000,
            max_metrics: 4096,
        }
    }
}

/// Numeric attributes of one event: `(key range in keys, value)` pairs in dict order.
#[derive(Debug, Clone, Copy)]
pub struct Attrs<'a> {
    /// Concatenated keys.
    pub keys: &'a str,
    /// Ranges into `keys` with their finite values.
    pub items: &'a [(std::ops::Range<usize>, f64)],
}

impl<'a> Attrs<'a> {
    /// No attributes.
    pub const EMPTY: Attrs<'static> = Attrs {
        keys: "",
        items: &[],
    };

    /// Iterate `(key, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, f64)> + 'a {
        let keys = self.keys;
        self.items
            .iter()
            .map(move |(r, v)| (keys.get(r.clone()).unwrap_or(""), *v))
    }
}

/// One event as the detect stage sees it: borrowed fields plus its extracted features.
#[derive(Debug, Clone, Copy)]
pub struct EventRecord<'a> {
    /// Message text as UTF-8 bytes. The parse stage produced it from a `&str`; it is
    /// re-validated only when an anomaly is reported (a memory-mapped file may change
    /// underneath, so the detect stage never assumes), with lossy replacement.
    pub message: &'a [u8],
    /// Source label.
    pub source: &'a str,
    /// Event time; `None` means "now" (resolved when first needed).
    pub timestamp: Option<Timestamp>,
    /// Numeric attributes.
    pub attrs: Attrs<'a>,
    /// `message.length`.
    pub length: f64,
    /// `message.tokens`.
    pub tokens: f64,
    /// Semantic vector (when the semantic layer is on).
    pub semvec: Option<SemInput<'a>>,
    /// Extra metrics from user extractors, `(metric name, value)`, scored after the
    /// built-in ones in this order.
    pub extra: Attrs<'a>,
}

/// One metric's detector with its last score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSlot {
    /// Metric name.
    pub name: String,
    /// Detector state (its last score is kept inside it).
    pub detector: Detector,
}

/// Metric slots by name without a second copy of the name: a keyed 64-bit hash of the
/// name maps to a slot, and the slot's stored name (from byte `skip` on) confirms the
/// match. A name whose hash another name already holds goes to a spill map. With
/// millions of attribute baselines the copies were a third of the detect stage's memory.
#[derive(Debug, Clone, Default)]
struct SlotIndex {
    hasher: ahash::RandomState,
    by_hash: AHashMap<u64, u32>,
    spill: AHashMap<String, u32>,
}

impl SlotIndex {
    fn get(&self, key: &str, slots: &[MetricSlot], skip: usize) -> Option<u32> {
        let h = self.hasher.hash_one(key);
        if let Some(&i) = self.by_hash.get(&h) {
            let name = slots.get(i as usize).and_then(|s| s.name.get(skip..));
            if name == Some(key) {
                return Some(i);
            }
        }
        if self.spill.is_empty() {
            return None;
        }
        self.spill.get(key).copied()
    }

    /// Index `slot` under `key` (not indexed yet).
    fn insert(&mut self, key: &str, slot: u32) {
        let h = self.hasher.hash_one(key);
        if self.by_hash.contains_key(&h) {
            self.spill.insert(key.to_string(), slot);
        } else {
            self.by_hash.insert(h, slot);
        }
    }

    fn clear(&mut self) {
        self.by_hash.clear();
        self.spill.clear();
    }
}

/// Derived from the slots (and rebuilt from them): two indexes of equal slots are equal.
impl PartialEq for SlotIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The state the reference keeps in one `Sentinel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shard {
    /// Detectors in creation order.
    pub metrics: Vec<MetricSlot>,
    #[serde(skip)]
    by_attr: SlotIndex,
    #[serde(skip)]
    fixed: [Option<u32>; 3],
    #[serde(skip)]
    by_name: SlotIndex,
    /// Semantic detector (when on).
    pub semantic: Option<SemanticDetector>,
    /// Last semantic score.
    pub semantic_last: f64,
    /// Last event time per source (epoch seconds), for inter-arrival. A shard of one
    /// source keys it by the [`ShardSet`]'s copy of the name (one copy of a long name).
    pub last_ts: AHashMap<Arc<str>, f64>,
    /// The source this shard was created for (under `ShardBy::Source`), shared with
    /// the [`ShardSet`]'s index.
    #[serde(skip)]
    source_name: Option<Arc<str>>,
    /// Events observed by this shard.
    pub events: u64,
    /// Builds user scorers for new metrics (library only; see [`ShardSet::set_scorer_factory`]).
    #[serde(skip)]
    pub factory: Option<ScorerFactory>,
}

/// Counters of what the engine did and what it had to drop.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Events observed.
    pub events: u64,
    /// Anomalies emitted.
    pub anomalies: u64,
    /// Anomalies by severity (warning, high, critical).
    pub by_severity: [u64; 3],
    /// Events routed to the overflow shard because `max_sources` shards existed.
    pub overflow_events: u64,
    /// Metric values ignored because a shard had `max_metrics` metrics.
    pub metrics_dropped: u64,
    /// Inter-arrival values not computed because the source table was full.
    pub interarrival_untracked: u64,
}

impl Shard {
    /// An empty shard for `cfg`.
    pub fn new(cfg: &Config) -> Self {
        Shard {
            metrics: Vec::new(),
            by_attr: SlotIndex::default(),
            fixed: [None; 3],
            by_name: SlotIndex::default(),
            semantic: cfg.semantic.then(|| SemanticDetector::new(cfg.warmup)),
            semantic_last: 0.0,
            last_ts: AHashMap::new(),
            source_name: None,
            events: 0,
            factory: None,
        }
    }

    /// Rebuild lookup indexes (after deserialisation).
    pub fn reindex(&mut self) {
        self.by_attr.clear();
        self.by_name.clear();
        self.fixed = [None; 3];
        for i in 0..self.metrics.len() {
            match self.metrics[i].name.as_str() {
                LENGTH_METRIC => self.fixed[0] = Some(i as u32),
                TOKENS_METRIC => self.fixed[1] = Some(i as u32),
                INTERARRIVAL_METRIC => self.fixed[2] = Some(i as u32),
                name => {
                    if let Some(key) = name.strip_prefix(ATTR_PREFIX) {
                        self.by_attr.insert(key, i as u32);
                    } else {
                        self.by_name.insert(name, i as u32);
                    }
                }
            }
            if let crate::detect::Baseline::Mad(w) = &mut self.metrics[i].detector.baseline {
                w.rebuild();
            }
        }
    }

    fn new_slot(&mut self, cfg: &Config, name: String, counters: &mut Counters) -> Option<u32> {
        if self.metrics.len() >= cfg.max_metrics {
            counters.metrics_dropped += 1;
            return None;
        }
        let mut detector = Detector::new(cfg.detector, cfg.warmup);
        if let Some(f) = &self.factory {
            detector.custom = (f.0)(&name).map(Custom);
        }
        self.metrics.push(MetricSlot { name, detector });
        Some((self.metrics.len() - 1) as u32)
    }

    fn fixed_slot(&mut self, cfg: &Config, which: usize, counters: &mut Counters) -> Option<u32> {
        if let Some(i) = self.fixed[which] {
            return Some(i);
        }
        let name = [LENGTH_METRIC, TOKENS_METRIC, INTERARRIVAL_METRIC][which].to_string();
        let slot = self.new_slot(cfg, name, counters);
        self.fixed[which] = slot;
        slot
    }

    fn attr_slot(&mut self, cfg: &Config, key: &str, counters: &mut Counters) -> Option<u32> {
        if let Some(i) = self.by_attr.get(key, &self.metrics, ATTR_PREFIX.len()) {
            return Some(i);
        }
        let slot = self.new_slot(cfg, format!("{ATTR_PREFIX}{key}"), counters)?;
        self.by_attr.insert(key, slot);
        Some(slot)
    }

    /// The detector slot of a metric given by its full name (user extractors).
    fn named_slot(&mut self, cfg: &Config, name: &str, counters: &mut Counters) -> Option<u32> {
        match name {
            LENGTH_METRIC => return self.fixed_slot(cfg, 0, counters),
            TOKENS_METRIC => return self.fixed_slot(cfg, 1, counters),
            INTERARRIVAL_METRIC => return self.fixed_slot(cfg, 2, counters),
            _ => {}
        }
        if let Some(key) = name.strip_prefix(ATTR_PREFIX) {
            return self.attr_slot(cfg, key, counters);
        }
        if let Some(i) = self.by_name.get(name, &self.metrics, 0) {
            return Some(i);
        }
        let slot = self.new_slot(cfg, name.to_string(), counters)?;
        self.by_name.insert(name, slot);
        Some(slot)
    }

    /// Inter-arrival for `source` at `ts` (epoch seconds); updates the clock.
    fn interarrival(
        &mut self,
        cfg: &Config,
        source: &str,
        ts: f64,
        c: &mut Counters,
    ) -> Option<f64> {
        if let Some(prev) = self.last_ts.get_mut(source) {
            let d = ts - *prev;
            *prev = ts;
            return Some(if d > 0.0 { d } else { 0.0 });
        }
        if self.last_ts.len() >= cfg.max_sources {
            c.interarrival_untracked += 1;
        } else {
            let key = match &self.source_name {
                Some(name) if **name == *source => Arc::clone(name),
                _ => Arc::from(source),
            };
            self.last_ts.insert(key, ts);
        }
        None
    }

    /// Observe one event: score every metric before updating it; emit what crosses the
    /// threshold. With `emit == false` this is the reference's `prime` (baselines learn,
    /// nothing is reported).
    fn observe<S: Sink + ?Sized>(
        &mut self,
        cfg: &Config,
        ev: &EventRecord<'_>,
        ts: &mut Option<Timestamp>,
        counters: &mut Counters,
        sink: &mut S,
        emit: bool,
    ) -> io::Result<()> {
        self.events += emit as u64;
        let length = self.fixed_slot(cfg, 0, counters);
        let tokens = self.fixed_slot(cfg, 1, counters);
        for (slot, value) in [(length, ev.length), (tokens, ev.tokens)] {
            if let Some(slot) = slot {
                self.score_metric(cfg, slot, value, ev, ts, counters, sink, emit)?;
            }
        }
        for (key, value) in ev.attrs.iter() {
            if let Some(slot) = self.attr_slot(cfg, key, counters) {
                self.score_metric(cfg, slot, value, ev, ts, counters, sink, emit)?;
            }
        }
        if cfg.timed {
            let t = *ts.get_or_insert_with(Timestamp::now_utc);
            if let Some(d) = self.interarrival(cfg, ev.source, t.epoch_seconds(), counters) {
                if let Some(slot) = self.fixed_slot(cfg, 2, counters) {
                    self.score_metric(cfg, slot, d, ev, ts, counters, sink, emit)?;
                }
            }
        }
        for (name, value) in ev.extra.iter() {
            if let Some(slot) = self.named_slot(cfg, name, counters) {
                self.score_metric(cfg, slot, value, ev, ts, counters, sink, emit)?;
            }
        }
        let Some(sem) = self.semantic.as_mut() else {
            return Ok(());
        };
        let ready = sem.ready();
        let score = match ev.semvec {
            Some(SemInput::Sparse(v)) => sem.score_with_threshold(v, cfg.threshold),
            Some(SemInput::Counts(v)) => sem.score_counts(v, cfg.threshold),
            Some(SemInput::Dense(v)) => sem.score_then_update_dense(v),
            None => return Ok(()),
        };
        if emit {
            self.semantic_last = score;
            if ready && score.abs() >= cfg.threshold {
                let t = *ts.get_or_insert_with(Timestamp::now_utc);
                report(
                    cfg,
                    SEMANTIC_METRIC,
                    score,
                    score,
                    true,
                    t,
                    ev,
                    counters,
                    sink,
                )?;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn score_metric<S: Sink + ?Sized>(
        &mut self,
        cfg: &Config,
        slot: u32,
        value: f64,
        ev: &EventRecord<'_>,
        ts: &mut Option<Timestamp>,
        counters: &mut Counters,
        sink: &mut S,
        emit: bool,
    ) -> io::Result<()> {
        let m = &mut self.metrics[slot as usize];
        if let Some(score) = m.detector.observe(value, cfg.threshold) {
            if emit {
                let t = *ts.get_or_insert_with(Timestamp::now_utc);
                report(cfg, &m.name, value, score, false, t, ev, counters, sink)?;
            }
        }
        Ok(())
    }

    /// Per-metric `(name, last sigma, ready)` including the semantic layer.
    pub fn metric_states(&self) -> Vec<(String, f64, bool)> {
        let mut out: Vec<_> = self
            .metrics
            .iter()
            .map(|m| (m.name.clone(), m.detector.last_score(), m.detector.ready()))
            .collect();
        if let Some(sem) = &self.semantic {
            out.push((SEMANTIC_METRIC.to_string(), self.semantic_last, sem.ready()));
        }
        out
    }
}

#[allow(clippy::too_many_arguments)]
fn report<S: Sink + ?Sized>(
    cfg: &Config,
    metric: &str,
    value: f64,
    score: f64,
    semantic: bool,
    timestamp: Timestamp,
    ev: &EventRecord<'_>,
    counters: &mut Counters,
    sink: &mut S,
) -> io::Result<()> {
    let severity = Severity::from_score(score, cfg.threshold);
    let mut scratch = String::new();
    let message = trace_sentinel_pycompat::decode::decode_lossy(ev.message, &mut scratch);
    // Bytes that are not UTF-8 here are WTF-8 from JSON lone-surrogate escapes (or a
    // mapped file that changed underneath): keep them for the exact JSON rendering.
    let message_wtf8 = (message.len() != ev.message.len() || message.as_bytes() != ev.message)
        .then_some(ev.message);
    counters.anomalies += 1;
    counters.by_severity[severity as usize] += 1;
    sink.emit(&Anomaly {
        metric,
        value,
        score,
        severity,
        threshold: cfg.threshold,
        semantic,
        timestamp,
        source: ev.source,
        message,
        message_wtf8,
    })
}

/// The detect stage: routes events to shards in input order.
#[derive(Debug, Clone)]
pub struct ShardSet {
    cfg: Config,
    shards: Vec<Shard>,
    /// Shard names; under `ShardBy::Source` the same allocation keys `by_source`, the
    /// route cache and the shard's own inter-arrival clock.
    names: Vec<Arc<str>>,
    by_source: AHashMap<Arc<str>, u32>,
    overflow: Option<u32>,
    /// Primed or loaded state that new shards start from.
    template: Option<Shard>,
    last_route: Option<(Arc<str>, u32)>,
    factory: Option<ScorerFactory>,
    /// What happened so far.
    pub counters: Counters,
}

/// Name of the shard that holds sources past `max_sources`.
pub const OVERFLOW_SHARD: &str = "(overflow)";
/// Name of the single shard under `ShardBy::None`.
pub const SHARED_SHARD: &str = "(all)";

impl ShardSet {
    /// A sentinel with no shards yet.
    pub fn new(cfg: Config) -> Self {
        ShardSet {
            cfg,
            shards: Vec::new(),
            names: Vec::new(),
            by_source: AHashMap::new(),
            overflow: None,
            template: None,
            last_route: None,
            factory: None,
            counters: Counters::default(),
        }
    }

    /// Score the metrics `factory` accepts with user scorers, in every shard from now on
    /// (metrics that already have a detector keep it).
    pub fn set_scorer_factory(&mut self, factory: Option<ScorerFactory>) {
        for s in self.shards.iter_mut().chain(self.template.as_mut()) {
            s.factory = factory.clone();
        }
        self.factory = factory;
    }

    /// An empty shard with the user scorer factory.
    fn empty_shard(&self) -> Shard {
        let mut s = Shard::new(&self.cfg);
        s.factory = self.factory.clone();
        s
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Shards with their names (source, or the shared/overflow names).
    pub fn shards(&self) -> impl Iterator<Item = (&str, &Shard)> {
        self.names.iter().map(|n| &**n).zip(self.shards.iter())
    }

    /// Set the state that every new shard starts from (priming, pooled baselines).
    pub fn set_template(&mut self, template: Shard) {
        self.template = Some(template);
    }

    /// The template new shards start from, if any.
    pub fn template(&self) -> Option<&Shard> {
        self.template.as_ref()
    }

    /// Whether the `i`-th shard of [`Self::shards`] is the overflow shard (by position:
    /// a real source may be called `(overflow)` too).
    pub fn is_overflow(&self, i: usize) -> bool {
        self.overflow.is_some_and(|o| o as usize == i)
    }

    /// Insert a source's shard, or the shared one under `ShardBy::None` (restoring a
    /// snapshot).
    pub fn insert_shard(&mut self, name: &str, shard: Shard) {
        let own_source = self.cfg.shard_by == ShardBy::Source;
        let idx = self.push_restored(name, shard, own_source);
        let key = if own_source {
            Arc::clone(&self.names[idx as usize])
        } else {
            SHARED_SHARD.into()
        };
        self.by_source.insert(key, idx);
    }

    /// Insert the overflow shard (restoring a snapshot); under `ShardBy::None` it is the
    /// shared shard.
    pub fn insert_overflow_shard(&mut self, name: &str, shard: Shard) {
        if self.cfg.shard_by == ShardBy::None {
            return self.insert_shard(name, shard);
        }
        self.overflow = Some(self.push_restored(name, shard, false));
    }

    fn push_restored(&mut self, name: &str, mut shard: Shard, own_source: bool) -> u32 {
        shard.reindex();
        shard.factory = self.factory.clone();
        self.last_route = None;
        self.push_named(name, shard, own_source)
    }

    fn fresh_shard(&self) -> Shard {
        match &self.template {
            Some(t) => {
                let mut s = t.clone();
                s.events = 0;
                s.reindex();
                s.factory = self.factory.clone();
                s
            }
            None => self.empty_shard(),
        }
    }

    /// Append `shard` named `name` and return its index. A source's own shard
    /// (`own_source`: under `ShardBy::Source`, not the overflow shard) keeps the name for
    /// its inter-arrival clock.
    fn push_named(&mut self, name: &str, mut shard: Shard, own_source: bool) -> u32 {
        let name: Arc<str> = Arc::from(name);
        shard.source_name = own_source.then(|| Arc::clone(&name));
        self.shards.push(shard);
        self.names.push(name);
        (self.shards.len() - 1) as u32
    }

    fn route(&mut self, source: &str) -> u32 {
        if let Some((name, idx)) = &self.last_route {
            // Under `ShardBy::None` every source has the one shared shard.
            if self.cfg.shard_by == ShardBy::None || **name == *source {
                return *idx;
            }
        }
        let key = match self.cfg.shard_by {
            ShardBy::None => SHARED_SHARD,
            ShardBy::Source => source,
        };
        let idx = match self.by_source.get(key) {
            Some(i) => *i,
            None if self.cfg.shard_by == ShardBy::Source
                && self.by_source.len() >= self.cfg.max_sources =>
            {
                self.counters.overflow_events += 1;
                match self.overflow {
                    Some(i) => i,
                    None => {
                        let i = self.push_named(OVERFLOW_SHARD, self.fresh_shard(), false);
                        self.overflow = Some(i);
                        i
                    }
                }
            }
            None => {
                let own_source = self.cfg.shard_by == ShardBy::Source;
                let i = self.push_named(key, self.fresh_shard(), own_source);
                self.by_source
                    .insert(Arc::clone(&self.names[i as usize]), i);
                i
            }
        };
        if self.overflow != Some(idx) {
            // The cached name is the shard's own (no copy): `source` itself under
            // `ShardBy::Source`, the shared name (never compared) under `ShardBy::None`.
            self.last_route = Some((Arc::clone(&self.names[idx as usize]), idx));
        }
        idx
    }

    /// Observe one event, pushing any anomalies into `sink`.
    pub fn observe<S: Sink + ?Sized>(
        &mut self,
        ev: &EventRecord<'_>,
        sink: &mut S,
    ) -> io::Result<()> {
        self.counters.events += 1;
        let idx = self.route(ev.source) as usize;
        let mut ts = ev.timestamp;
        let ShardSet {
            cfg,
            shards,
            counters,
            ..
        } = self;
        shards[idx].observe(cfg, ev, &mut ts, counters, sink, true)
    }

    /// Warm baselines with benign events without reporting (the reference's `prime`).
    /// Under `ShardBy::Source` the events train the template every new shard starts from.
    pub fn prime<'a>(&mut self, events: impl IntoIterator<Item = EventRecord<'a>>) -> u64 {
        let mut sink = crate::sink::CallbackSink(|_: &Anomaly<'_>| {});
        let mut counters = Counters::default();
        let mut n = 0;
        let mut target = match self.cfg.shard_by {
            ShardBy::Source => self.template.take().unwrap_or_else(|| self.empty_shard()),
            ShardBy::None => {
                let i = self.route(SHARED_SHARD) as usize;
                std::mem::replace(&mut self.shards[i], Shard::new(&self.cfg))
            }
        };
        for ev in events {
            let mut ts = ev.timestamp;
            // The sink never fails.
            let _ = target.observe(&self.cfg, &ev, &mut ts, &mut counters, &mut sink, false);
            n += 1;
        }
        match self.cfg.shard_by {
            ShardBy::Source => self.template = Some(target),
            ShardBy::None => {
                let i = self.route(SHARED_SHARD) as usize;
                self.shards[i] = target;
            }
        }
        n
    }

    /// Names of all metrics with a baseline, sorted and deduplicated across shards.
    pub fn metrics(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .shards
            .iter()
            .flat_map(|s| s.metrics.iter().map(|m| m.name.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(name: &str) -> MetricSlot {
        MetricSlot {
            name: name.to_string(),
            detector: Detector::new(DetectorKind::Zscore, 1),
        }
    }

    #[test]
    fn slot_index_confirms_names_and_spills_colliding_hashes() {
        let slots = vec![slot("attr.a"), slot("attr.b"), slot("attr.c")];
        let mut ix = SlotIndex::default();
        ix.insert("a", 0);
        assert_eq!(ix.get("a", &slots, ATTR_PREFIX.len()), Some(0));
        assert_eq!(ix.get("b", &slots, ATTR_PREFIX.len()), None);
        // Pretend "b" hashes like "a" already indexed under slot 0: its own insert spills.
        let hb = ix.hasher.hash_one("b");
        ix.by_hash.insert(hb, 0);
        assert_eq!(
            ix.get("b", &slots, ATTR_PREFIX.len()),
            None,
            "slot 0 is not b"
        );
        ix.insert("b", 1);
        assert_eq!(ix.spill.len(), 1);
        assert_eq!(ix.get("b", &slots, ATTR_PREFIX.len()), Some(1));
        assert_eq!(ix.get("a", &slots, ATTR_PREFIX.len()), Some(0));
        ix.insert("c", 2);
        assert_eq!(ix.get("c", &slots, ATTR_PREFIX.len()), Some(2));
        // A slot index past the slots, or a name shorter than the skip, never matches.
        assert_eq!(ix.get("c", &slots[..2], ATTR_PREFIX.len()), None);
        assert_eq!(ix.get("c", &slots, 50), None);
        ix.clear();
        assert_eq!(ix.get("a", &slots, ATTR_PREFIX.len()), None);
    }

    fn event(source: &str, t: f64) -> EventRecord<'_> {
        EventRecord {
            message: b"hello",
            source,
            timestamp: Timestamp::from_epoch_seconds(t),
            attrs: Attrs::EMPTY,
            length: 5.0,
            tokens: 1.0,
            semvec: None,
            extra: Attrs::EMPTY,
        }
    }

    #[test]
    fn a_source_name_is_held_once_per_shard_set() {
        let mut set = ShardSet::new(Config {
            timed: true,
            ..Config::default()
        });
        let mut sink = crate::sink::CallbackSink(|_: &Anomaly<'_>| {});
        let long = "s".repeat(10_000);
        for (k, source) in [long.as_str(), "b", long.as_str(), "b"].iter().enumerate() {
            set.observe(&event(source, k as f64), &mut sink).unwrap();
        }
        assert_eq!(set.names.len(), 2);
        for (i, name) in set.names.iter().enumerate() {
            // The index key, the shard's clock key and the name: one allocation.
            let (key, _) = set.by_source.get_key_value(&**name).unwrap();
            assert!(Arc::ptr_eq(key, name));
            let (clock, t) = set.shards[i].last_ts.iter().next().unwrap();
            assert!(Arc::ptr_eq(clock, name), "shard {i}");
            assert_eq!(*t, i as f64 + 2.0, "the clock advanced for shard {i}");
        }
        let (cached, _) = set.last_route.as_ref().unwrap();
        assert!(Arc::ptr_eq(cached, &set.names[1]));
    }

    #[test]
    fn one_shared_shard_clocks_each_source() {
        let cfg = Config {
            shard_by: ShardBy::None,
            timed: true,
            ..Config::default()
        };
        let mut set = ShardSet::new(cfg);
        let mut sink = crate::sink::CallbackSink(|_: &Anomaly<'_>| {});
        for (k, source) in ["a", "b", "a", "c"].iter().enumerate() {
            set.observe(&event(source, k as f64), &mut sink).unwrap();
        }
        assert_eq!(set.names.len(), 1);
        let mut clocks: Vec<(&str, f64)> = set.shards[0]
            .last_ts
            .iter()
            .map(|(k, v)| (&**k, *v))
            .collect();
        clocks.sort_by(|x, y| x.0.cmp(y.0));
        assert_eq!(clocks, [("a", 2.0), ("b", 1.0), ("c", 3.0)]);
    }
}
