//! One detector shard: the state the reference keeps in one `Sentinel` — a detector per
//! metric (created on first sight, capped), the optional semantic detector, and the
//! inter-arrival clock per source. Within a shard everything is strictly sequential in
//! input order and every value is scored before it updates its baseline.

use crate::anomaly::{Anomaly, LineContext, Rarity, Severity, TemplateRef};
use crate::config::Config;
use crate::detect::detector::{Custom, Detector, ScorerFactory};
use crate::detect::template::baselines::{log_gap, log_scale, FLOOR, LOG_FLOOR};
use crate::detect::template::category::Verdict;
use crate::detect::template::{tail, Budget, Scratch, TemplateLayer};
use crate::metric::{ATTR_PREFIX, INTERARRIVAL, LENGTH, SEMANTIC, TEMPLATE_NOVELTY, TOKENS};
use crate::record::EventRecord;
use crate::semantic::{SemInput, SemanticDetector};
use crate::sink::Sink;
use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use std::io;
use std::sync::Arc;
use trace_sentinel_pycompat::timestamp::Timestamp;

/// One metric's detector with its last score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MetricSlot {
    /// Metric name.
    pub(crate) name: String,
    /// Detector state (its last score is kept inside it).
    pub(crate) detector: Detector,
}

/// Metric slots by name without a second copy of the name: a keyed 64-bit hash of the
/// name maps to a slot, and the slot's stored name (from byte `skip` on) confirms the
/// match. A name whose hash another name already holds goes to a spill map. With
/// millions of attribute baselines, a second copy of every name would be a large part
/// of the detect stage's memory.
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

/// The state the reference keeps in one `Sentinel`. Read it through
/// [`Shard::reading`] and [`Shard::metric_states`]; its slots and their indexes change
/// only together, inside this crate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shard {
    /// Detectors in creation order; `by_attr`, `fixed` and `by_name` index them and are
    /// rebuilt from them by [`Shard::reindex`].
    pub(crate) metrics: Vec<MetricSlot>,
    #[serde(skip)]
    by_attr: SlotIndex,
    #[serde(skip)]
    fixed: [Option<u32>; 3],
    #[serde(skip)]
    by_name: SlotIndex,
    /// Semantic detector (when on).
    pub(crate) semantic: Option<SemanticDetector>,
    /// Last semantic score.
    pub(crate) semantic_last: f64,
    /// Last event time per source (epoch seconds), for inter-arrival. A shard of one
    /// source keys it by the shard set's copy of the name (one copy of a long name).
    pub(crate) last_ts: AHashMap<Arc<str>, f64>,
    /// The source this shard was created for (under `ShardBy::Source`), shared with
    /// the shard set's index.
    #[serde(skip)]
    pub(crate) source_name: Option<Arc<str>>,
    /// Events observed by this shard.
    pub(crate) events: u64,
    /// Builds user scorers for new metrics (the `Sentinel` facade's `detector_for`).
    #[serde(skip)]
    pub(crate) factory: Option<ScorerFactory>,
    /// The template layer (with `--templates`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) templates: Option<Box<TemplateLayer>>,
}

/// A score of the template layer, waiting to be reported with the line's template.
#[derive(Debug, Clone, Copy)]
struct Finding<'m> {
    metric: &'m str,
    value: f64,
    score: f64,
    rarity: Option<Rarity>,
}

/// The detect stage's shared state for the template layer: scratch for shaping lines,
/// and what all shards together may still hold.
#[derive(Debug, Clone)]
pub(crate) struct TemplateContext {
    pub(crate) scratch: Scratch,
    pub(crate) budget: Budget,
}

impl TemplateContext {
    /// The context of `cfg`.
    pub(crate) fn new(cfg: &Config) -> Self {
        TemplateContext {
            scratch: Scratch::default(),
            budget: Budget::of(cfg),
        }
    }
}

/// The live score of one metric in one shard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricReading {
    /// The last score in sigma (0 before the first scored value).
    pub sigma: f64,
    /// Whether the metric's warmup is over.
    pub ready: bool,
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
    pub(crate) fn new(cfg: &Config) -> Self {
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
            templates: cfg.templates.then(|| Box::new(TemplateLayer::new(cfg))),
        }
    }

    /// Rebuild lookup indexes (after deserialisation).
    pub(crate) fn reindex(&mut self) {
        self.by_attr.clear();
        self.by_name.clear();
        self.fixed = [None; 3];
        for i in 0..self.metrics.len() {
            match self.metrics[i].name.as_str() {
                LENGTH => self.fixed[0] = Some(i as u32),
                TOKENS => self.fixed[1] = Some(i as u32),
                INTERARRIVAL => self.fixed[2] = Some(i as u32),
                name => {
                    if let Some(key) = name.strip_prefix(ATTR_PREFIX) {
                        self.by_attr.insert(key, i as u32);
                    } else {
                        self.by_name.insert(name, i as u32);
                    }
                }
            }
            self.metrics[i].detector.rebuild();
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
        let name = [LENGTH, TOKENS, INTERARRIVAL][which].to_string();
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
            LENGTH => return self.fixed_slot(cfg, 0, counters),
            TOKENS => return self.fixed_slot(cfg, 1, counters),
            INTERARRIVAL => return self.fixed_slot(cfg, 2, counters),
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
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn observe<S: Sink + ?Sized>(
        &mut self,
        cfg: &Config,
        ev: &EventRecord<'_>,
        ts: &mut Option<Timestamp>,
        counters: &mut Counters,
        sink: &mut S,
        emit: bool,
        tctx: &mut TemplateContext,
    ) -> io::Result<()> {
        self.events += emit as u64;
        if let (Some(_), Some(shape)) = (&self.templates, ev.shape) {
            self.observe_templated(cfg, ev, &shape, ts, counters, sink, emit, tctx)?;
            return self.observe_shared(cfg, ev, ts, counters, sink, emit);
        }
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
        self.observe_shared(cfg, ev, ts, counters, sink, emit)
    }

    /// The metrics scored the same way with or without the template layer:
    /// inter-arrival, user metrics and semantic novelty.
    fn observe_shared<S: Sink + ?Sized>(
        &mut self,
        cfg: &Config,
        ev: &EventRecord<'_>,
        ts: &mut Option<Timestamp>,
        counters: &mut Counters,
        sink: &mut S,
        emit: bool,
    ) -> io::Result<()> {
        if cfg.timed {
            let t = *ts.get_or_insert_with(Timestamp::now_utc);
            if let Some(d) = self.interarrival(cfg, ev.source, t.epoch_seconds(), counters) {
                if let Some(slot) = self.fixed_slot(cfg, 2, counters) {
                    if self.templates.is_some() {
                        self.score_gap(cfg, slot, d, ev, ts, counters, sink, emit)?;
                    } else {
                        self.score_metric(cfg, slot, d, ev, ts, counters, sink, emit)?;
                    }
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
                let context = LineContext::default();
                report(
                    cfg, SEMANTIC, score, score, true, t, ev, context, counters, sink,
                )?;
            }
        }
        Ok(())
    }

    /// The template layer's part of an event: its template's novelty, then length,
    /// tokens and attributes against lines of the same template (categorical attributes
    /// by the rarity of their value).
    #[allow(clippy::too_many_arguments)]
    fn observe_templated<S: Sink + ?Sized>(
        &mut self,
        cfg: &Config,
        ev: &EventRecord<'_>,
        shape: &trace_sentinel_kernels::shape::Shape,
        ts: &mut Option<Timestamp>,
        counters: &mut Counters,
        sink: &mut S,
        emit: bool,
        tctx: &mut TemplateContext,
    ) -> io::Result<()> {
        let Some(layer) = self.templates.as_deref_mut() else {
            return Ok(());
        };
        let seen = layer.observe(cfg, shape, ev.message, &mut tctx.scratch, &mut tctx.budget);
        // Score first (scoring updates the baselines), then report each with the template.
        let mut found: [Option<Finding>; 3] = [None; 3];
        if let Some(sigma) = seen.alert {
            found[0] = Some(Finding {
                metric: TEMPLATE_NOVELTY,
                value: seen.count_before as f64,
                score: sigma,
                rarity: Some(Rarity {
                    seen: seen.count_before,
                    out_of: seen.lines_before,
                }),
            });
        }
        let b = &mut layer.template_mut(seen.slot).baselines;
        for (i, (d, metric, value)) in [
            (&mut b.length, LENGTH, ev.length),
            (&mut b.tokens, TOKENS, ev.tokens),
        ]
        .into_iter()
        .enumerate()
        {
            let score = d
                .as_mut()
                .and_then(|d| d.observe_floored(value, cfg.threshold, FLOOR));
            found[i + 1] = score.map(|score| Finding {
                metric,
                value,
                score,
                rarity: None,
            });
        }
        if emit {
            for f in found.into_iter().flatten() {
                self.report_templated(cfg, &f, seen.slot, shape, ev, ts, counters, sink)?;
            }
        }
        let mut name = String::new();
        for (key, value) in ev.attrs.iter() {
            let layer = self.templates.as_deref_mut().expect("the layer is on");
            let verdict = layer.categories.observe(key, value, cfg.warmup);
            let fresh = || Detector::new(cfg.detector, cfg.warmup);
            let baseline =
                layer
                    .template_mut(seen.slot)
                    .baselines
                    .attr(key, fresh, &mut tctx.budget.attrs);
            // A continuous value is scored against its template's baseline once that has
            // learned, before then against the source's (both on the log scale).
            let (by_template, template_ready) = match (verdict, baseline) {
                (Verdict::Category { p, seen: n, total }, _) => {
                    let sigma = tail::sigma_of_tail(p);
                    let rarity = Rarity {
                        seen: n,
                        out_of: total,
                    };
                    (
                        (sigma >= cfg.threshold).then_some((sigma, Some(rarity))),
                        true,
                    )
                }
                (Verdict::Learning, Some(d)) => {
                    let _ = d.observe_floored(log_scale(value), f64::INFINITY, LOG_FLOOR);
                    (None, true)
                }
                (Verdict::Continuous, Some(d)) => {
                    let ready = d.ready();
                    let score = d.observe_floored(log_scale(value), cfg.threshold, LOG_FLOOR);
                    (score.map(|score| (score, None)), ready)
                }
                (Verdict::Learning | Verdict::Continuous, None) => (None, false),
            };
            let by_source = match (verdict, self.attr_slot(cfg, key, counters)) {
                (Verdict::Category { .. }, _) | (_, None) => None,
                (_, Some(slot)) => {
                    let cut = if template_ready || verdict == Verdict::Learning {
                        f64::INFINITY
                    } else {
                        cfg.threshold
                    };
                    self.metrics[slot as usize]
                        .detector
                        .observe_floored(log_scale(value), cut, LOG_FLOOR)
                        .map(|score| (score, None))
                }
            };
            if let (true, Some((score, rarity))) = (emit, by_template.or(by_source)) {
                name.clear();
                name.push_str(ATTR_PREFIX);
                name.push_str(key);
                let f = Finding {
                    metric: &name,
                    value,
                    score,
                    rarity,
                };
                self.report_templated(cfg, &f, seen.slot, shape, ev, ts, counters, sink)?;
            }
        }
        Ok(())
    }

    /// Report a finding of the template layer, naming the line's template; the template
    /// counts it.
    #[allow(clippy::too_many_arguments)]
    fn report_templated<S: Sink + ?Sized>(
        &mut self,
        cfg: &Config,
        f: &Finding<'_>,
        slot: u32,
        shape: &trace_sentinel_kernels::shape::Shape,
        ev: &EventRecord<'_>,
        ts: &mut Option<Timestamp>,
        counters: &mut Counters,
        sink: &mut S,
    ) -> io::Result<()> {
        let Some(layer) = self.templates.as_deref_mut() else {
            return Ok(());
        };
        layer.template_mut(slot).anomalies += 1;
        let template = layer.template(slot);
        let context = LineContext {
            template: Some(TemplateRef {
                id: template.id,
                text: &template.text,
            }),
            level: shape.level(),
            rarity: f.rarity,
            ..LineContext::default()
        };
        let t = *ts.get_or_insert_with(Timestamp::now_utc);
        report(
            cfg, f.metric, f.value, f.score, false, t, ev, context, counters, sink,
        )
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
                let context = LineContext::default();
                report(
                    cfg, &m.name, value, score, false, t, ev, context, counters, sink,
                )?;
            }
        }
        Ok(())
    }

    /// Inter-arrival with the template layer: on the [`log_gap`] scale, upwards only.
    #[allow(clippy::too_many_arguments)]
    fn score_gap<S: Sink + ?Sized>(
        &mut self,
        cfg: &Config,
        slot: u32,
        gap: f64,
        ev: &EventRecord<'_>,
        ts: &mut Option<Timestamp>,
        counters: &mut Counters,
        sink: &mut S,
        emit: bool,
    ) -> io::Result<()> {
        let m = &mut self.metrics[slot as usize];
        let score = m
            .detector
            .observe_floored(log_gap(gap), cfg.threshold, LOG_FLOOR);
        if let (Some(score), true) = (score.filter(|s| *s > 0.0), emit) {
            let t = *ts.get_or_insert_with(Timestamp::now_utc);
            let context = LineContext::default();
            report(
                cfg, &m.name, gap, score, false, t, ev, context, counters, sink,
            )?;
        }
        Ok(())
    }

    /// Events this shard observed.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The live score of `metric` (a full name: `message.length`, `attr.<key>`,
    /// `message.semantic_novelty`, a user metric), if this shard has seen it.
    pub fn reading(&self, metric: &str) -> Option<MetricReading> {
        if metric == TEMPLATE_NOVELTY {
            return self.templates.as_deref().map(|t| MetricReading {
                sigma: t.last_sigma(),
                ready: t.store.lines > 0,
            });
        }
        if metric == SEMANTIC {
            return self.semantic.as_ref().map(|sem| MetricReading {
                sigma: self.semantic_last,
                ready: sem.ready(),
            });
        }
        let slot = match metric {
            LENGTH => self.fixed[0],
            TOKENS => self.fixed[1],
            INTERARRIVAL => self.fixed[2],
            _ => match metric.strip_prefix(ATTR_PREFIX) {
                Some(key) => self.by_attr.get(key, &self.metrics, ATTR_PREFIX.len()),
                None => self.by_name.get(metric, &self.metrics, 0),
            },
        }?;
        let d = &self.metrics.get(slot as usize)?.detector;
        Some(MetricReading {
            sigma: d.last_score(),
            ready: d.ready(),
        })
    }

    /// Per-metric `(name, last sigma, ready)` including the semantic layer.
    pub fn metric_states(&self) -> Vec<(String, f64, bool)> {
        let mut out: Vec<_> = self
            .metrics
            .iter()
            .map(|m| (m.name.clone(), m.detector.last_score(), m.detector.ready()))
            .collect();
        if let Some(sem) = &self.semantic {
            out.push((SEMANTIC.to_string(), self.semantic_last, sem.ready()));
        }
        if let Some(t) = &self.templates {
            out.push((
                TEMPLATE_NOVELTY.to_string(),
                t.last_sigma(),
                t.store.lines > 0,
            ));
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
    context: LineContext<'_>,
    counters: &mut Counters,
    sink: &mut S,
) -> io::Result<()> {
    let severity = Severity::from_score(score, cfg.threshold);
    let context = LineContext {
        line: ev.line,
        timed: cfg.timed || ev.timestamp.is_some(),
        ..context
    };
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
        context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::detect::detector::DetectorKind;

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
}
