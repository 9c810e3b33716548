//! The library facade: the reference's `Sentinel` API over the crate's engine.
//!
//! [`Sentinel`] takes owned [`Event`]s one at a time ([`Sentinel::observe`]) or from an
//! iterator ([`Sentinel::watch`]) and returns owned [`AnomalyRecord`]s whose JSON is
//! exactly a `--format json` line. Underneath it is the same detect stage as the CLI
//! (a [`ShardSet`]): the same metrics, detectors, sharding and score-before-update, so a
//! `Sentinel` built with the CLI's settings reports what `trace-sentinel watch` reports.
//!
//! Extension points are traits:
//!
//! * [`Extractor`]: your own metrics, computed per event after the built-in ones and
//!   scored like them (closures `FnMut(&Event, &mut Metrics)` implement it);
//! * [`Embedder`]: your own embedding for the semantic layer in place of the hashing
//!   vectorizer (closures `FnMut(&str) -> Vec<f64>` implement it; [`HashingEmbedder`] is
//!   the built-in one behind the same trait);
//! * [`Scorer`]: the single-metric scorer the built-in
//!   [`Detector`](crate::Detector) implements; yours can score chosen
//!   metrics ([`SentinelBuilder::detector_for`]);
//! * [`Sink`]: where anomalies go ([`Sentinel::observe_into`] pushes borrowed views into
//!   any sink without copying).
//!
//! The built-in path stays monomorphic: built-in metrics, detectors and the default
//! embedder are computed directly (no trait objects); only user-supplied parts are
//! boxed.
//!
//! ```
//! use trace_sentinel_core::{Event, Sentinel};
//!
//! let mut sentinel = Sentinel::builder().warmup(10).build()?;
//! let mut events: Vec<Event> = (0..50)
//!     .map(|i| Event::new(format!("GET /item/{} 200", i * 37 % 1000)).source("web"))
//!     .collect();
//! events.push(Event::new("x".repeat(400)).source("web"));
//! let anomalies: Vec<_> = sentinel.watch(events).collect();
//! assert!(anomalies.iter().any(|a| a.metric == "message.length"));
//! println!("{}", anomalies[0].to_json());
//! # Ok::<(), trace_sentinel_core::Error>(())
//! ```

use crate::anomaly::{Anomaly, Severity};
use crate::anomaly::{LineContext, Rarity, TemplateRef};
use crate::config::{Config, ShardBy};
use crate::detect::detector::{DetectorKind, Scorer, ScorerFactory};
use crate::detect::shard::Counters;
use crate::detect::shard_set::ShardSet;
use crate::error::Result;
use crate::extract::BuiltinFeatures;
use crate::record::{Attrs, EventRecord};
use crate::semantic::{SemInput, SparseVec, Vectorizer, DIM};
use crate::sink::Sink;
use std::borrow::Borrow;
use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use trace_sentinel_kernels::shape::{Level, Shape, ShapeMemo};
use trace_sentinel_pycompat::timestamp::Timestamp;

/// Source label of events that do not name one (the reference's default).
pub const DEFAULT_SOURCE: &str = "unknown";

/// One observation: a message with its source, time and numeric attributes.
///
/// ```
/// use trace_sentinel_core::Event;
/// let ev = Event::new("payment failed").source("billing").attribute("amount", 129.5);
/// assert_eq!(ev.source, "billing");
/// assert_eq!(ev.attributes, vec![("amount".to_string(), 129.5)]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The free text the length, token and semantic metrics read.
    pub message: String,
    /// Where it came from; with [`ShardBy::Source`] each source has its own baselines.
    pub source: String,
    /// When it happened; `None` means "now" (resolved when the event is scored).
    pub timestamp: Option<Timestamp>,
    /// Numeric attributes, each scored as the metric `attr.<key>`; non-finite values
    /// are ignored. Keys should be unique ([`Event::attribute`] keeps them so).
    pub attributes: Vec<(String, f64)>,
}

impl Event {
    /// An event with `message`, source [`DEFAULT_SOURCE`], no timestamp, no attributes.
    pub fn new(message: impl Into<String>) -> Self {
        Event {
            message: message.into(),
            source: DEFAULT_SOURCE.to_string(),
            timestamp: None,
            attributes: Vec::new(),
        }
    }

    /// The reference's `Event.from_line`: the line without trailing `\n`s.
    pub fn from_line(line: &str, source: &str) -> Self {
        Event::new(line.trim_end_matches('\n')).source(source)
    }

    /// Parse one JSON line exactly like `--jsonl` (the reference's `iter_jsonl`):
    /// `message`, `source` (default `default_source`), `timestamp` (epoch seconds or
    /// ISO 8601) and every other finite numeric field as an attribute; a line that is not
    /// a JSON object becomes a plain message. `None` for a blank line (skipped).
    ///
    /// ```
    /// use trace_sentinel_core::Event;
    /// let ev = Event::from_json_line(
    ///     r#"{"message": "GET /", "source": "web", "latency_ms": 12.5, "ok": true}"#,
    ///     "app.jsonl",
    /// )
    /// .unwrap();
    /// assert_eq!((ev.message.as_str(), ev.source.as_str()), ("GET /", "web"));
    /// assert_eq!(ev.attributes, vec![("latency_ms".to_string(), 12.5)]);
    /// assert!(Event::from_json_line("   ", "x").is_none());
    /// ```
    pub fn from_json_line(line: &str, default_source: &str) -> Option<Self> {
        let mut fields = crate::parse::jsonl::JsonFields::default();
        if !crate::parse::jsonl::parse_jsonl_line(line, &mut fields) {
            return None;
        }
        Some(Event {
            source: if fields.has_source {
                fields.source.clone()
            } else {
                default_source.to_string()
            },
            timestamp: fields.timestamp,
            attributes: fields
                .attributes()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            message: fields.message,
        })
    }

    /// Set the source.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Set the timestamp.
    pub fn timestamp(mut self, timestamp: Timestamp) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Set attribute `key` (replacing an earlier value of the same key).
    pub fn attribute(mut self, key: impl Into<String>, value: f64) -> Self {
        let key = key.into();
        match self.attributes.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.attributes.push((key, value)),
        }
        self
    }
}

/// An owned anomaly: what [`Sentinel::observe`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyRecord {
    /// Metric name (`message.length`, `attr.<key>`, `message.semantic_novelty`, ...).
    pub metric: String,
    /// Observed value (the score itself for semantic novelty).
    pub value: f64,
    /// Deviation in sigma (signed).
    pub score: f64,
    /// Severity bucket.
    pub severity: Severity,
    /// Threshold in force.
    pub threshold: f64,
    /// Whether this is a semantic-novelty anomaly.
    pub semantic: bool,
    /// Event time.
    pub timestamp: Timestamp,
    /// Event source.
    pub source: String,
    /// Event message (lone surrogates from JSON escapes shown as U+FFFD).
    pub message: String,
    /// The message as WTF-8 when it holds lone surrogates (JSON-lines input through the
    /// engine), so [`Self::to_json`] escapes them exactly like `--format json`.
    pub message_wtf8: Option<Vec<u8>>,
    /// The line's 1-based number in its input, where known.
    pub line: Option<u64>,
    /// The line's template `(id, text)` (with the template layer).
    pub template: Option<(u64, String)>,
    /// The level the line names (with the template layer).
    pub level: Option<Level>,
    /// For scores by rarity: seen how often before, out of how many.
    pub rarity: Option<Rarity>,
}

impl AnomalyRecord {
    /// Copy a borrowed anomaly.
    pub fn from_view(a: &Anomaly<'_>) -> Self {
        AnomalyRecord {
            metric: a.metric.to_string(),
            value: a.value,
            score: a.score,
            severity: a.severity,
            threshold: a.threshold,
            semantic: a.semantic,
            timestamp: a.timestamp,
            source: a.source.to_string(),
            message: a.message.to_string(),
            message_wtf8: a.message_wtf8.map(<[u8]>::to_vec),
            line: a.context.line,
            template: a.context.template.map(|t| (t.id, t.text.to_string())),
            level: a.context.level,
            rarity: a.context.rarity,
        }
    }

    /// The borrowed view sinks take.
    pub fn as_view(&self) -> Anomaly<'_> {
        Anomaly {
            metric: &self.metric,
            value: self.value,
            score: self.score,
            severity: self.severity,
            threshold: self.threshold,
            semantic: self.semantic,
            timestamp: self.timestamp,
            source: &self.source,
            message: &self.message,
            message_wtf8: self.message_wtf8.as_deref(),
            context: LineContext {
                line: self.line,
                template: self
                    .template
                    .as_ref()
                    .map(|(id, text)| TemplateRef { id: *id, text }),
                level: self.level,
                rarity: self.rarity,
                timed: true,
            },
        }
    }

    /// The one-line human explanation (the reference's wording).
    pub fn explanation(&self) -> String {
        self.as_view().explanation()
    }

    /// The JSON object, byte-identical to a `--format json` line (without newline).
    pub fn to_json(&self) -> String {
        let (mut out, mut scratch) = (String::new(), String::new());
        self.as_view().write_json(&mut out, &mut scratch);
        out
    }
}

/// Named numbers an [`Extractor`] produces for one event (reused between events).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    keys: String,
    items: Vec<(Range<usize>, f64)>,
}

impl Metrics {
    /// Add metric `name` with `value` (non-finite values score 0 and are not learned).
    pub fn push(&mut self, name: &str, value: f64) {
        let start = self.keys.len();
        self.keys.push_str(name);
        self.items.push((start..self.keys.len(), value));
    }

    /// Number of metrics pushed.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether none was pushed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `(name, value)` in push order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.as_attrs().iter()
    }

    /// Remove everything, keeping capacity.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.items.clear();
    }

    fn as_attrs(&self) -> Attrs<'_> {
        Attrs {
            keys: &self.keys,
            items: &self.items,
        }
    }
}

/// Turns an event into extra named metrics (user metrics; see `docs/extractors.md`).
///
/// Runs once per event, after the built-in metrics, in registration order; every name
/// gets its own baseline per shard. Must not panic on odd input.
///
/// ```
/// use trace_sentinel_core::{Event, Extractor, Metrics};
///
/// /// 1 for lines that mention an error, else 0.
/// struct ErrorFlag;
/// impl Extractor for ErrorFlag {
///     fn extract(&mut self, event: &Event, out: &mut Metrics) {
///         let hit = event.message.to_ascii_lowercase().contains("error");
///         out.push("app.error", if hit { 1.0 } else { 0.0 });
///     }
/// }
/// let mut m = Metrics::default();
/// ErrorFlag.extract(&Event::new("disk ERROR"), &mut m);
/// assert_eq!(m.iter().collect::<Vec<_>>(), vec![("app.error", 1.0)]);
/// ```
pub trait Extractor {
    /// Push this event's metrics into `out`.
    fn extract(&mut self, event: &Event, out: &mut Metrics);
}

impl<F: FnMut(&Event, &mut Metrics)> Extractor for F {
    fn extract(&mut self, event: &Event, out: &mut Metrics) {
        self(event, out)
    }
}

/// The built-in `message.length` metric as an [`Extractor`] (for custom compositions;
/// a [`Sentinel`] always computes it itself).
#[derive(Debug, Clone, Copy, Default)]
pub struct MessageLength;

impl Extractor for MessageLength {
    fn extract(&mut self, event: &Event, out: &mut Metrics) {
        let (chars, _) = crate::extract::chars_and_words(&event.message);
        out.push(crate::metric::LENGTH, chars as f64);
    }
}

/// The built-in `message.tokens` metric (`\w+` runs) as an [`Extractor`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenCount;

impl Extractor for TokenCount {
    fn extract(&mut self, event: &Event, out: &mut Metrics) {
        let (_, words) = crate::extract::chars_and_words(&event.message);
        out.push(crate::metric::TOKENS, words as f64);
    }
}

/// Text → dense vector, for the semantic layer (see `docs/semantic.md`).
///
/// Every vector of one sentinel must have the same length (fixed by the first one;
/// others score 0 and are ignored). Vectors are used as given: L2-normalise them if your
/// model does not.
///
/// ```
/// use trace_sentinel_core::Embedder;
/// // Any `FnMut(&str) -> Vec<f64>` is an embedder.
/// let mut by_shape = |text: &str| {
///     let digits = text.chars().filter(char::is_ascii_digit).count() as f64;
///     let n = text.chars().count().max(1) as f64;
///     vec![digits / n, 1.0 - digits / n]
/// };
/// let mut v = Vec::new();
/// by_shape.embed("id 42", &mut v);
/// assert_eq!(v.len(), 2);
/// ```
pub trait Embedder {
    /// Write the embedding of `text` into `out` (cleared by the caller).
    fn embed(&mut self, text: &str, out: &mut Vec<f64>);
}

impl<F: FnMut(&str) -> Vec<f64>> Embedder for F {
    fn embed(&mut self, text: &str, out: &mut Vec<f64>) {
        out.extend(self(text));
    }
}

/// The default hashing vectorizer (character 3-grams, 256 dimensions, bit-identical to
/// the reference) behind the [`Embedder`] trait. A [`Sentinel`] without a custom embedder
/// uses the same vectorizer directly, on its faster sparse path.
#[derive(Debug, Default)]
pub struct HashingEmbedder {
    vectorizer: Vectorizer,
    sparse: SparseVec,
}

impl Embedder for HashingEmbedder {
    fn embed(&mut self, text: &str, out: &mut Vec<f64>) {
        self.vectorizer.embed(text, &mut self.sparse);
        out.resize(DIM, 0.0);
        for (i, v) in self.sparse.idx.iter().zip(&self.sparse.val) {
            out[*i as usize] = *v;
        }
    }
}

/// The last score and readiness of one metric in one shard.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricState {
    /// Shard name: the source, or `(all)` / `(overflow)`.
    pub shard: String,
    /// Metric name.
    pub metric: String,
    /// Last score in sigma (0 before the first scored value).
    pub sigma: f64,
    /// Whether its warmup is over.
    pub ready: bool,
}

/// Builds a [`Sentinel`]; defaults are the CLI's (`--threshold 3 --warmup 30`,
/// z-score, per-source shards, no semantic layer, no inter-arrival metric).
pub struct SentinelBuilder {
    cfg: Config,
    extractors: Vec<Box<dyn Extractor + Send>>,
    embedder: Option<Box<dyn Embedder + Send>>,
    scorers: Option<ScorerFactory>,
}

impl std::fmt::Debug for SentinelBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelBuilder")
            .field("cfg", &self.cfg)
            .field("extractors", &self.extractors.len())
            .field("embedder", &self.embedder.is_some())
            .finish()
    }
}

impl SentinelBuilder {
    /// Start from a full configuration.
    pub fn config(mut self, cfg: Config) -> Self {
        self.cfg = cfg;
        self
    }

    /// Sigma threshold (> 0).
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.cfg.threshold = threshold;
        self
    }

    /// Observations each baseline learns before it may alert.
    pub fn warmup(mut self, warmup: u64) -> Self {
        self.cfg.warmup = warmup;
        self
    }

    /// Detector kind for every metric.
    pub fn detector(mut self, kind: DetectorKind) -> Self {
        self.cfg.detector = kind;
        self
    }

    /// Turn the semantic layer on or off.
    pub fn semantic(mut self, on: bool) -> Self {
        self.cfg.semantic = on;
        self
    }

    /// Learn log templates: report events whose template is new or rare in their source
    /// (`template.novelty`, level-aware), and measure length, tokens and attributes per
    /// template (see `docs/detection.md`).
    pub fn templates(mut self, on: bool) -> Self {
        self.cfg.templates = on;
        self
    }

    /// Templates kept per source (the least recently used one is evicted past it).
    pub fn max_templates(mut self, n: usize) -> Self {
        self.cfg.max_templates = n;
        self
    }

    /// Score `event.interarrival_s` (meaningful when events carry real timestamps).
    pub fn interarrival(mut self, on: bool) -> Self {
        self.cfg.timed = on;
        self
    }

    /// Shard assignment.
    pub fn shard_by(mut self, shard_by: ShardBy) -> Self {
        self.cfg.shard_by = shard_by;
        self
    }

    /// Bound on per-source shards.
    pub fn max_sources(mut self, n: usize) -> Self {
        self.cfg.max_sources = n;
        self
    }

    /// Bound on distinct metrics per shard.
    pub fn max_metrics(mut self, n: usize) -> Self {
        self.cfg.max_metrics = n;
        self
    }

    /// Add a user extractor (runs after the built-ins and earlier extractors).
    pub fn extractor(mut self, extractor: impl Extractor + Send + 'static) -> Self {
        self.extractors.push(Box::new(extractor));
        self
    }

    /// Replace the hashing vectorizer with `embedder`; turns the semantic layer on.
    pub fn embedder(mut self, embedder: impl Embedder + Send + 'static) -> Self {
        self.embedder = Some(Box::new(embedder));
        self.cfg.semantic = true;
        self
    }

    /// Score the metrics `choose` returns a detector for with that detector (one per
    /// metric and shard, created when the metric is first seen); every other metric keeps
    /// the built-in kind. Custom detector state is not part of baseline snapshots.
    ///
    /// ```
    /// use trace_sentinel_core::{Event, Scorer, Sentinel};
    ///
    /// /// Alerts (10σ) on any message longer than 80 characters, from the first one.
    /// #[derive(Clone)]
    /// struct HardLimit(f64);
    /// impl Scorer for HardLimit {
    ///     fn score_then_update(&mut self, v: f64) -> f64 {
    ///         if v > self.0 { 10.0 } else { 0.0 }
    ///     }
    ///     fn ready(&self) -> bool {
    ///         true
    ///     }
    /// }
    /// let mut s = Sentinel::builder()
    ///     .detector_for(|metric| {
    ///         (metric == "message.length").then(|| Box::new(HardLimit(80.0)) as Box<dyn Scorer>)
    ///     })
    ///     .build()?;
    /// let found = s.observe(&Event::new("y".repeat(100)));
    /// assert_eq!((found[0].metric.as_str(), found[0].score), ("message.length", 10.0));
    /// # Ok::<(), trace_sentinel_core::Error>(())
    /// ```
    pub fn detector_for<F>(mut self, choose: F) -> Self
    where
        F: Fn(&str) -> Option<Box<dyn Scorer>> + Send + Sync + 'static,
    {
        self.scorers = Some(ScorerFactory(Arc::new(choose)));
        self
    }

    /// Validate and build.
    pub fn build(self) -> Result<Sentinel> {
        self.cfg.validate()?;
        let builtin_semantic = self.cfg.semantic && self.embedder.is_none();
        let mut shards = ShardSet::new(self.cfg);
        shards.set_scorer_factory(self.scorers.clone());
        let templates = shards.config().templates;
        Ok(Sentinel {
            features: BuiltinFeatures::new(builtin_semantic),
            shards,
            extractors: self.extractors,
            embedder: self.embedder,
            scorers: self.scorers,
            scratch: Scratch::default(),
            shapes: templates.then(Box::default),
        })
    }
}

/// Per-event buffers, reused.
#[derive(Debug, Default)]
struct Scratch {
    attrs: Metrics,
    extra: Metrics,
    semvec: SparseVec,
    dense: Vec<f64>,
    shape: Option<Shape>,
}

/// Features of one event, owned (for priming in batches).
struct Owned {
    length: f64,
    tokens: f64,
    scratch: Scratch,
}

/// Collects borrowed anomalies as owned records.
struct Collect<'a>(&'a mut Vec<AnomalyRecord>);

impl Sink for Collect<'_> {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        self.0.push(AnomalyRecord::from_view(a));
        Ok(())
    }
}

/// Passive anomaly detection over events: the reference's `Sentinel`.
///
/// ```
/// use trace_sentinel_core::{Event, Sentinel};
///
/// let mut s = Sentinel::builder().warmup(5).build()?;
/// for i in 0..20 {
///     // Lengths 6 and 7: a baseline with some spread.
///     assert!(s.observe(&Event::new(format!("tick {}", i * 7 % 20))).is_empty());
/// }
/// let found = s.observe(&Event::new("tick tick tick tick tick tick tick tick tick"));
/// assert_eq!(found[0].metric, "message.length");
/// assert_eq!(s.metrics(), ["message.length", "message.tokens"]);
/// # Ok::<(), trace_sentinel_core::Error>(())
/// ```
pub struct Sentinel {
    shards: ShardSet,
    features: BuiltinFeatures,
    extractors: Vec<Box<dyn Extractor + Send>>,
    embedder: Option<Box<dyn Embedder + Send>>,
    scorers: Option<ScorerFactory>,
    scratch: Scratch,
    /// Template shapes of messages (with the template layer).
    shapes: Option<Box<ShapeMemo>>,
}

impl std::fmt::Debug for Sentinel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sentinel")
            .field("config", self.shards.config())
            .field("counters", self.shards.counters())
            .field("extractors", &self.extractors.len())
            .field("custom_embedder", &self.embedder.is_some())
            .finish_non_exhaustive()
    }
}

impl Sentinel {
    /// A builder with the CLI's defaults.
    pub fn builder() -> SentinelBuilder {
        SentinelBuilder {
            cfg: Config::default(),
            extractors: Vec::new(),
            embedder: None,
            scorers: None,
        }
    }

    /// A sentinel for `cfg` with the built-in parts only.
    pub fn new(cfg: Config) -> Result<Self> {
        Sentinel::builder().config(cfg).build()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.shards.config()
    }

    /// Process one event; returns the anomalies it triggered, in metric order.
    pub fn observe(&mut self, event: &Event) -> Vec<AnomalyRecord> {
        let mut out = Vec::new();
        // Collecting cannot fail.
        let _ = self.observe_into(event, &mut Collect(&mut out));
        out
    }

    /// Process one event, pushing anomalies into `sink` (no copies); fails only when
    /// the sink does.
    pub fn observe_into<S: Sink + ?Sized>(
        &mut self,
        event: &Event,
        sink: &mut S,
    ) -> io::Result<()> {
        let (length, tokens) = self.featurize(event);
        let mode = self.sem_mode();
        let rec = record(event, length, tokens, &self.scratch, mode);
        self.shards.observe(&rec, sink)
    }

    /// Anomalies of a stream of events, lazily (owned or borrowed events).
    pub fn watch<I>(&mut self, events: I) -> Watch<'_, I::IntoIter>
    where
        I: IntoIterator,
        I::Item: Borrow<Event>,
    {
        Watch {
            sentinel: self,
            events: events.into_iter(),
            pending: VecDeque::new(),
        }
    }

    /// Learn from benign events without reporting (the reference's `prime`): baselines
    /// and the semantic centroid learn, nothing is emitted, counters and last scores stay.
    /// Under [`ShardBy::Source`] this trains the state every *new* source starts from.
    /// Returns the number of events consumed.
    pub fn prime<I>(&mut self, events: I) -> u64
    where
        I: IntoIterator,
        I::Item: Borrow<Event>,
    {
        const CHUNK: usize = 1024;
        let mut n = 0;
        let mut batch: Vec<(I::Item, Owned)> = Vec::with_capacity(CHUNK);
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            batch.clear();
            for ev in events.by_ref().take(CHUNK) {
                let (length, tokens) = self.featurize(ev.borrow());
                let scratch = std::mem::take(&mut self.scratch);
                batch.push((
                    ev,
                    Owned {
                        length,
                        tokens,
                        scratch,
                    },
                ));
            }
            let mode = self.sem_mode();
            n += self.shards.prime(
                batch
                    .iter()
                    .map(|(ev, o)| record(ev.borrow(), o.length, o.tokens, &o.scratch, mode)),
            );
        }
        n
    }

    /// Prime with `count` benign synthetic log events (the CLI's `--seed`).
    pub fn prime_benign(&mut self, count: usize) -> u64 {
        self.prime(crate::seed::benign_events(count).map(|b| Event {
            message: b.message,
            source: b.source.to_string(),
            timestamp: Some(b.timestamp),
            attributes: Vec::new(),
        }))
    }

    /// Names of all metrics with a baseline (sorted, across shards).
    pub fn metrics(&self) -> Vec<String> {
        self.shards.metrics()
    }

    /// Last score and readiness of every metric of every shard.
    pub fn metric_states(&self) -> Vec<MetricState> {
        self.shards
            .shards()
            .flat_map(|(name, shard)| {
                shard
                    .metric_states()
                    .into_iter()
                    .map(move |(metric, sigma, ready)| MetricState {
                        shard: name.to_string(),
                        metric,
                        sigma,
                        ready,
                    })
            })
            .collect()
    }

    /// What happened so far (events, anomalies by severity, dropped metrics, ...).
    pub fn counters(&self) -> &Counters {
        self.shards.counters()
    }

    /// The detect stage underneath (for snapshots and introspection).
    pub fn shards(&self) -> &ShardSet {
        &self.shards
    }

    /// Write all detector state to `path` (the CLI's `--save-baseline` format).
    pub fn save_baseline(&self, path: &Path) -> Result<()> {
        crate::snapshot::save_baseline(&self.shards, path)
    }

    /// Replace all detector state with a snapshot written by [`Self::save_baseline`] or
    /// `--save-baseline`; it must have been taken with this configuration.
    pub fn load_baseline(&mut self, path: &Path) -> Result<()> {
        self.shards = crate::snapshot::load_baseline(path, self.shards.config())?;
        self.shards.set_scorer_factory(self.scorers.clone());
        Ok(())
    }

    fn sem_mode(&self) -> SemMode {
        match (self.shards.config().semantic, self.embedder.is_some()) {
            (false, _) => SemMode::Off,
            (true, false) => SemMode::Sparse,
            (true, true) => SemMode::Dense,
        }
    }

    /// Compute built-in and user features of `event` into the scratch buffers.
    fn featurize(&mut self, event: &Event) -> (f64, f64) {
        let s = &mut self.scratch;
        let f = self.features.extract(&event.message, &mut s.semvec);
        s.attrs.clear();
        for (k, v) in &event.attributes {
            if v.is_finite() {
                s.attrs.push(k, *v);
            }
        }
        s.extra.clear();
        for x in &mut self.extractors {
            x.extract(event, &mut s.extra);
        }
        if let Some(e) = self.embedder.as_mut() {
            s.dense.clear();
            e.embed(&event.message, &mut s.dense);
        }
        s.shape = self
            .shapes
            .as_mut()
            .map(|m| m.shape(event.message.as_bytes()));
        (f.length, f.tokens)
    }
}

/// Which vector the semantic layer scores.
#[derive(Debug, Clone, Copy)]
enum SemMode {
    Off,
    Sparse,
    Dense,
}

/// The detect-stage record of `event` with features from `s`.
fn record<'a>(
    event: &'a Event,
    length: f64,
    tokens: f64,
    s: &'a Scratch,
    mode: SemMode,
) -> EventRecord<'a> {
    let semvec = match mode {
        SemMode::Off => None,
        SemMode::Sparse => Some(SemInput::Sparse(s.semvec.view())),
        SemMode::Dense => Some(SemInput::Dense(&s.dense)),
    };
    EventRecord {
        message: event.message.as_bytes(),
        source: &event.source,
        timestamp: event.timestamp,
        attrs: s.attrs.as_attrs(),
        length,
        tokens,
        semvec,
        extra: s.extra.as_attrs(),
        shape: s.shape,
        line: None,
    }
}

/// Iterator of [`Sentinel::watch`]: anomalies in event order.
pub struct Watch<'s, I> {
    sentinel: &'s mut Sentinel,
    events: I,
    pending: VecDeque<AnomalyRecord>,
}

impl<I> Iterator for Watch<'_, I>
where
    I: Iterator,
    I::Item: Borrow<Event>,
{
    type Item = AnomalyRecord;

    fn next(&mut self) -> Option<AnomalyRecord> {
        loop {
            if let Some(a) = self.pending.pop_front() {
                return Some(a);
            }
            let ev = self.events.next()?;
            self.pending.extend(self.sentinel.observe(ev.borrow()));
        }
    }
}

// `Sentinel` and its builder move between threads (a worker per input, a service's
// handler): checked at compile time.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Sentinel>();
    send::<SentinelBuilder>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, InputFormat};
    use crate::sink::CallbackSink;

    /// The facade reports exactly what the CLI engine reports for the same lines.
    #[test]
    fn matches_the_engine_on_a_dataset() {
        let text = include_str!("../../../datasets/loghub/Apache_2k.log");
        for semantic in [false, true] {
            let cfg = Config {
                semantic,
                ..Config::default()
            };
            let mut engine = Engine::new(cfg.clone(), InputFormat::Text);
            let mut expected = Vec::new();
            let mut scratch = String::new();
            let ts = Timestamp::from_epoch_seconds(1e9).unwrap();
            let mut got = Vec::new();
            let mut s = Sentinel::new(cfg).unwrap();
            for line in text.split('\n') {
                let line = line.strip_suffix('\r').unwrap_or(line);
                if line.is_empty() {
                    continue;
                }
                let mut sink = CallbackSink(|a: &Anomaly<'_>| {
                    let mut json = String::new();
                    let a = Anomaly {
                        context: Default::default(),
                        ..*a
                    };
                    a.write_json(&mut json, &mut scratch);
                    expected.push(json);
                });
                engine.feed_line(line.as_bytes(), "a", &mut sink).unwrap();
                let ev = Event::new(line).source("a").timestamp(ts);
                got.extend(s.observe(&ev));
            }
            assert!(!expected.is_empty());
            assert_eq!(got.len(), expected.len(), "semantic={semantic}");
            for (g, e) in got.iter().zip(&expected) {
                // Same anomaly; the engine stamps plain text with "now".
                let g = g.to_json();
                assert_eq!(
                    g.split_once(", \"source\"").unwrap().1,
                    e.split_once(", \"source\"").unwrap().1
                );
            }
        }
    }

    /// JSON lines through `Event::from_json_line` give the CLI's `--jsonl` results,
    /// timestamps included (they come from the events).
    #[test]
    fn json_lines_match_the_engine() {
        let text = include_str!("../../../datasets/demo.jsonl");
        let cfg = Config {
            semantic: true,
            timed: true,
            ..Config::default()
        };
        let mut engine = Engine::new(cfg.clone(), InputFormat::JsonLines);
        let (mut expected, mut scratch) = (Vec::new(), String::new());
        let mut s = Sentinel::new(cfg).unwrap();
        let mut got = Vec::new();
        for line in text.lines().take(2000) {
            let mut sink = CallbackSink(|a: &Anomaly<'_>| {
                let mut json = String::new();
                // Library events have no line numbers: compare the rest.
                let a = Anomaly {
                    context: Default::default(),
                    ..*a
                };
                a.write_json(&mut json, &mut scratch);
                expected.push(json);
            });
            engine
                .feed_line(line.as_bytes(), "demo.jsonl", &mut sink)
                .unwrap();
            if let Some(ev) = Event::from_json_line(line, "demo.jsonl") {
                got.extend(s.observe(&ev).iter().map(AnomalyRecord::to_json));
            }
        }
        assert!(expected.len() > 50);
        assert_eq!(got, expected);
    }

    /// The built-in vectorizer behind the `Embedder` trait (dense path) reports what the
    /// sparse fast path reports.
    #[test]
    fn hashing_embedder_matches_the_builtin_semantic_path() {
        let text = include_str!("../../../datasets/loghub/Apache_2k.log");
        let ts = Timestamp::from_epoch_seconds(1e9).unwrap();
        let mut builtin = Sentinel::builder().semantic(true).build().unwrap();
        let mut dense = Sentinel::builder()
            .embedder(HashingEmbedder::default())
            .build()
            .unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for line in text.lines().map(|l| l.trim_end_matches('\r')) {
            let ev = Event::new(line).timestamp(ts);
            a.extend(builtin.observe(&ev));
            b.extend(dense.observe(&ev));
        }
        let semantic = |v: &[AnomalyRecord]| v.iter().filter(|r| r.semantic).count();
        assert!(semantic(&a) > 0);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.metric, y.metric);
            assert!(
                (x.score - y.score).abs() <= 1e-9 * x.score.abs(),
                "{x:?} {y:?}"
            );
        }
    }

    /// Counts calls; scores 9 for values above its limit.
    #[derive(Clone)]
    struct Limit {
        limit: f64,
        seen: u64,
    }

    impl Scorer for Limit {
        fn score_then_update(&mut self, v: f64) -> f64 {
            self.seen += 1;
            if v > self.limit {
                9.0
            } else {
                0.0
            }
        }
        fn ready(&self) -> bool {
            self.seen >= 2
        }
    }

    #[test]
    fn custom_detectors_score_chosen_metrics_per_shard() {
        let mut s = Sentinel::builder()
            .warmup(1000)
            .extractor(|ev: &Event, out: &mut Metrics| out.push("app.len", ev.message.len() as f64))
            .detector_for(|m| {
                (m == "app.len").then(|| {
                    Box::new(Limit {
                        limit: 10.0,
                        seen: 0,
                    }) as Box<dyn Scorer>
                })
            })
            .build()
            .unwrap();
        // Without history the user detector is not ready: no anomaly.
        let long = Event::new("a rather long message").source("b");
        assert!(s.observe(&long).is_empty());
        // Priming trains the template: a new source starts from a ready copy of it.
        s.prime([Event::new("short"), Event::new("short too")]);
        let got = s.observe(&long.clone().source("c"));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].metric.as_str(), got[0].score), ("app.len", 9.0));
        assert_eq!(got[0].severity, Severity::Critical);
        let states = s.metric_states();
        let app = states
            .iter()
            .find(|m| m.shard == "c" && m.metric == "app.len")
            .unwrap();
        assert_eq!((app.sigma, app.ready), (9.0, true));
        // Built-in metrics keep built-in detectors (still in their 1000-event warmup).
        let len = states
            .iter()
            .find(|m| m.metric == "message.length")
            .unwrap();
        assert!(!len.ready);
        // Source b has its own copy: ready once it has seen two values.
        assert!(s.observe(&long).is_empty());
        assert_eq!(s.observe(&long).len(), 1);
    }

    #[test]
    fn invalid_configs_are_errors() {
        assert!(Sentinel::builder().threshold(0.0).build().is_err());
        assert!(Sentinel::builder().threshold(f64::NAN).build().is_err());
        assert!(Sentinel::builder()
            .detector(DetectorKind::Mad { window: 1 })
            .build()
            .is_err());
        assert!(Sentinel::builder()
            .detector(DetectorKind::Ewma { alpha: 1.5 })
            .build()
            .is_err());
        assert!(Sentinel::builder().max_sources(0).build().is_err());
    }
}
