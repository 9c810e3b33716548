//! The detect stage's driver: a [`ShardSet`] routes events to shards in input order —
//! with `ShardBy::Source` each source gets its own shard (up to `max_sources`, then one
//! shared overflow shard), with `ShardBy::None` one shard sees everything, like the
//! reference — and holds the template new shards start from (priming, pooled
//! baselines). [`ShardSet::observe_chunk`] is the ordered hot loop every driver runs
//! over the records a worker extracted from a chunk. It sees neither threads nor files
//! nor formats.

use crate::anomaly::Anomaly;
use crate::config::{Config, ShardBy};
use crate::detect::detector::ScorerFactory;
use crate::detect::shard::{Counters, Shard, TemplateContext};
use crate::detect::template::{TemplateContinuation, TemplateSummary};
use crate::features::{ChunkFeatures, TextAt};
use crate::record::Attrs;
use crate::record::{EventRecord, LineCursor};
use crate::semantic::{BucketMask, CountsRef, SemInput, SparseRef};
use crate::sink::Sink;
use ahash::AHashMap;
use std::io;
use std::sync::Arc;

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
    counters: Counters,
    /// The template layer's scratch and shared budget.
    tctx: TemplateContext,
}

/// Which shard of a [`ShardSet`] observed an event (see [`ShardSet::observe_routed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShardId(u32);

/// Name of the shard that holds sources past `max_sources`.
pub const OVERFLOW_SHARD: &str = "(overflow)";
/// Name of the single shard under `ShardBy::None`.
pub const SHARED_SHARD: &str = "(all)";

impl ShardSet {
    /// A detect stage for `cfg`, with no shards yet (the configuration is trusted: the
    /// `Sentinel` builder and the CLI validate it first).
    pub fn new(cfg: Config) -> Self {
        ShardSet {
            tctx: TemplateContext::new(&cfg),
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
    pub(crate) fn set_scorer_factory(&mut self, factory: Option<ScorerFactory>) {
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

    /// What happened so far: events, anomalies, what the caps dropped.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The shard `id` names.
    pub fn shard(&self, id: ShardId) -> Option<&Shard> {
        self.shards.get(id.0 as usize)
    }

    /// Shards with their names (source, or the shared/overflow names).
    pub fn shards(&self) -> impl Iterator<Item = (&str, &Shard)> {
        self.names.iter().map(|n| &**n).zip(self.shards.iter())
    }

    /// What the template layer holds beyond its saved form, for a partition checkpoint
    /// (`None` without `--templates`).
    pub(crate) fn template_continuation(&self) -> Option<TemplateContinuation> {
        if !self.cfg.templates {
            return None;
        }
        let extras = |s: &Shard| s.templates.as_deref().map(|t| t.extras());
        Some(TemplateContinuation {
            shards: self.shards.iter().map(extras).collect(),
            template: self.template.as_ref().and_then(extras),
            budget: self.tctx.budget.clone(),
        })
    }

    /// Put back [`Self::template_continuation`] of the set this one was restored from
    /// (same shards, same order). Refuses one that does not fit, naming what.
    pub(crate) fn apply_template_continuation(
        &mut self,
        c: TemplateContinuation,
    ) -> Result<(), String> {
        if c.shards.len() != self.shards.len() {
            return Err(format!(
                "template continuation describes {} shards, not {}",
                c.shards.len(),
                self.shards.len()
            ));
        }
        if self.template.is_none() && c.template.is_some() {
            return Err("template continuation describes a priming template".into());
        }
        let pairs = self
            .shards
            .iter_mut()
            .zip(c.shards)
            .chain(self.template.as_mut().map(|t| (t, c.template)));
        for (shard, extras) in pairs {
            match (shard.templates.as_deref_mut(), extras) {
                (Some(layer), Some(x)) => layer.apply_extras(x)?,
                (None, None) => {}
                _ => return Err("template continuation does not match the shards".into()),
            }
        }
        self.tctx.budget = c.budget;
        Ok(())
    }

    /// Set the state that every new shard starts from (priming, pooled baselines).
    pub(crate) fn set_template(&mut self, template: Shard) {
        self.template = Some(template);
    }

    /// The template new shards start from, if any.
    pub(crate) fn template(&self) -> Option<&Shard> {
        self.template.as_ref()
    }

    /// Whether the `i`-th shard of [`Self::shards`] is the overflow shard (by position:
    /// a real source may be called `(overflow)` too).
    pub(crate) fn is_overflow(&self, i: usize) -> bool {
        self.overflow.is_some_and(|o| o as usize == i)
    }

    /// Insert a source's shard, or the shared one under `ShardBy::None` (restoring a
    /// snapshot).
    pub(crate) fn insert_shard(&mut self, name: &str, shard: Shard) {
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
    pub(crate) fn insert_overflow_shard(&mut self, name: &str, shard: Shard) {
        if self.cfg.shard_by == ShardBy::None {
            return self.insert_shard(name, shard);
        }
        self.overflow = Some(self.push_restored(name, shard, false));
    }

    fn push_restored(&mut self, name: &str, mut shard: Shard, own_source: bool) -> u32 {
        shard.reindex();
        if let Some(layer) = shard.templates.as_deref_mut() {
            layer.fit(&self.cfg, &mut self.tctx.budget);
        }
        shard.factory = self.factory.clone();
        self.last_route = None;
        self.push_named(name, shard, own_source)
    }

    fn fresh_shard(&mut self) -> Shard {
        match &self.template {
            Some(t) => {
                let mut s = t.clone();
                s.events = 0;
                s.reindex();
                s.factory = self.factory.clone();
                if let Some(layer) = s.templates.as_deref_mut() {
                    layer.fit(&self.cfg, &mut self.tctx.budget);
                }
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
                        let shard = self.fresh_shard();
                        let i = self.push_named(OVERFLOW_SHARD, shard, false);
                        self.overflow = Some(i);
                        i
                    }
                }
            }
            None => {
                let own_source = self.cfg.shard_by == ShardBy::Source;
                let shard = self.fresh_shard();
                let i = self.push_named(key, shard, own_source);
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
    #[inline]
    pub fn observe<S: Sink + ?Sized>(
        &mut self,
        ev: &EventRecord<'_>,
        sink: &mut S,
    ) -> io::Result<()> {
        self.observe_routed(ev, sink).map(|_| ())
    }

    /// [`Self::observe`], returning which shard observed the event (to read its live
    /// scores through [`Self::shard`]).
    #[inline]
    pub fn observe_routed<S: Sink + ?Sized>(
        &mut self,
        ev: &EventRecord<'_>,
        sink: &mut S,
    ) -> io::Result<ShardId> {
        let idx = self.route(ev.source);
        self.observe_in(idx, ev, sink)?;
        Ok(ShardId(idx))
    }

    /// Observe `ev` in shard `idx` (already routed).
    #[inline]
    fn observe_in<S: Sink + ?Sized>(
        &mut self,
        idx: u32,
        ev: &EventRecord<'_>,
        sink: &mut S,
    ) -> io::Result<()> {
        self.counters.events += 1;
        let mut ts = ev.timestamp;
        let ShardSet {
            cfg,
            shards,
            counters,
            tctx,
            ..
        } = self;
        shards[idx as usize].observe(cfg, ev, &mut ts, counters, sink, true, tctx)
    }

    /// Observe every record of a chunk in order; `bytes` are the chunk's bytes, `source`
    /// the input's default source label and `cursor` where the input stands (its line
    /// numbers), moved past the chunk.
    pub fn observe_chunk<S: Sink + ?Sized>(
        &mut self,
        features: &ChunkFeatures,
        bytes: &[u8],
        source: &str,
        cursor: &mut LineCursor,
        sink: &mut S,
    ) -> io::Result<()> {
        let base = cursor.base(bytes);
        cursor.advance(bytes, features.breaks);
        let semantic = self.config().semantic;
        let f = features;
        let shape = |k: usize| f.shapes.get(k).copied();
        if f.ascii_text {
            // Every line of a text chunk has the input's source: route once (and count
            // each line an overflow event if the source overflowed).
            let idx = self.route(source);
            if self.overflow == Some(idx) {
                self.counters.overflow_events += f.spans.len().saturating_sub(1) as u64;
            }
            let mut sem_start = 0usize;
            let no_mask: BucketMask = Default::default();
            for (k, s) in f.spans.iter().enumerate() {
                let start = s.start as usize;
                let len = s.len as usize;
                let message = bytes
                    .get(start..start + len.min(f.max_line))
                    .unwrap_or_default();
                let semvec = if semantic {
                    let end = f.sem_ends.get(k).map_or(sem_start, |e| *e as usize);
                    let r = sem_start..end;
                    sem_start = end;
                    Some(SemInput::Counts(CountsRef {
                        mask: f.sem_masks.get(k).unwrap_or(&no_mask),
                        cnt: f.sem_counts.get(r).unwrap_or_default(),
                        norm: f.sem_norms.get(k).copied().unwrap_or(0.0),
                    }))
                } else {
                    None
                };
                self.observe_in(
                    idx,
                    &EventRecord {
                        message,
                        source,
                        timestamp: None,
                        attrs: Attrs::EMPTY,
                        length: len as f64,
                        tokens: f64::from(s.tokens),
                        semvec,
                        extra: Attrs::EMPTY,
                        shape: shape(k),
                        line: LineCursor::number(base, f.lines.get(k).copied().unwrap_or(0)),
                    },
                    sink,
                )?;
            }
            return Ok(());
        }
        for (k, r) in f.records.iter().enumerate() {
            let message: &[u8] = match r.message {
                TextAt::Chunk(s, e) => bytes.get(s..e).unwrap_or_default(),
                TextAt::Arena(s, e) => f.messages.get(s..e).unwrap_or_default(),
            };
            let src = match r.source {
                None => source,
                Some((s, e)) => f.arena.get(s..e).unwrap_or_default(),
            };
            self.observe(
                &EventRecord {
                    message,
                    source: src,
                    timestamp: r.timestamp,
                    attrs: Attrs {
                        keys: &f.arena,
                        items: &f.attrs[r.attrs.clone()],
                    },
                    length: r.length,
                    tokens: r.tokens,
                    semvec: semantic.then(|| {
                        SemInput::Sparse(SparseRef {
                            idx: &f.sem.idx[r.sem.clone()],
                            val: &f.sem.val[r.sem.clone()],
                        })
                    }),
                    extra: Attrs::EMPTY,
                    shape: shape(k),
                    line: LineCursor::number(base, f.lines.get(k).copied().unwrap_or(0)),
                },
                sink,
            )?;
        }
        Ok(())
    }

    /// Warm baselines with benign events without reporting (the reference's `prime`).
    /// Under `ShardBy::Source` the events train the template every new shard starts from.
    pub(crate) fn prime<'a>(&mut self, events: impl IntoIterator<Item = EventRecord<'a>>) -> u64 {
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
            let _ = target.observe(
                &self.cfg,
                &ev,
                &mut ts,
                &mut counters,
                &mut sink,
                false,
                &mut self.tctx,
            );
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

    /// The template layer's counts and its `n` templates with the most anomalies (`None`
    /// without the layer).
    pub fn template_summary(&self, n: usize) -> Option<TemplateSummary> {
        if !self.cfg.templates {
            return None;
        }
        let mut out = TemplateSummary::default();
        for (name, shard) in self.shards() {
            if let Some(layer) = &shard.templates {
                layer.summarize(name, n, &mut out);
            }
        }
        Some(out)
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
    use crate::anomaly::Anomaly;
    use crate::record::Attrs;
    use trace_sentinel_pycompat::timestamp::Timestamp;

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
            shape: None,
            line: None,
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
