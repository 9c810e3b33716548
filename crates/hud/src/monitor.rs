//! The HUD's engine driver: runs the shared synchronous [`Engine`] over blocks of lines on
//! the caller's thread and keeps the shared [`HudState`] current, one event at a time.
//!
//! This is the only HUD file that reads the detect stage: after each event it reads, in
//! the shard that observed it, the live scores of the metrics that event touched into
//! the state's meters — the reference's `last_scores`. Anomalies reach the state through
//! [`FeedSink`]. The lock on the state is held for at most [`BATCH`] events, and
//! observers are woken through a `tokio::sync::watch` channel after each batch.

use crate::state::{HudState, TemplatesView};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use trace_sentinel_core::detect::{Shard, ShardSet, OVERFLOW_SHARD};
use trace_sentinel_core::engine::{Engine, InputFormat, LineParser};
use trace_sentinel_core::input::Piece;
use trace_sentinel_core::metric;
use trace_sentinel_core::sink::{Sink, Tee};
use trace_sentinel_core::stats::{DeliveryProbe, DeliveryStats};
use trace_sentinel_core::{Anomaly, Config, EventRecord, LineCursor};
use trace_sentinel_pycompat::timestamp::Timestamp;

/// Events processed per hold of the state lock.
pub const BATCH: usize = 512;
/// Longest single sleep while pacing, so a stop request is noticed quickly.
const SLEEP_SLICE: Duration = Duration::from_millis(50);

/// The state plus the change notification every observer waits on.
pub struct Shared {
    state: Mutex<HudState>,
    changed: tokio::sync::watch::Sender<u64>,
    /// Set when the whole HUD is shutting down; drivers stop at the next event.
    pub stop: AtomicBool,
    /// Readers of the delivery endpoints' counts, for `/metrics`.
    deliveries: Mutex<Vec<DeliveryProbe>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("state", &self.state)
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Shared state starting at `state`.
    pub fn new(state: HudState) -> Arc<Self> {
        let (changed, _) = tokio::sync::watch::channel(state.version());
        Arc::new(Shared {
            state: Mutex::new(state),
            changed,
            stop: AtomicBool::new(false),
            deliveries: Mutex::new(Vec::new()),
        })
    }

    /// Report these delivery endpoints' counts at `/metrics`.
    pub fn set_deliveries(&self, probes: Vec<DeliveryProbe>) {
        *self
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = probes;
    }

    /// The delivery endpoints' counts now.
    pub fn deliveries(&self) -> Vec<DeliveryStats> {
        let probes = self
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        probes.iter().map(|p| p()).collect()
    }

    /// Lock the state (a panic elsewhere never makes it unreadable).
    pub fn lock(&self) -> MutexGuard<'_, HudState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Change `state` under the lock, then wake every observer.
    pub fn update<R>(&self, f: impl FnOnce(&mut HudState) -> R) -> R {
        let mut st = self.lock();
        let r = f(&mut st);
        st.touch();
        let v = st.version();
        drop(st);
        self.changed.send_replace(v);
        r
    }

    /// A receiver that sees every version change.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Number of live subscribers (SSE clients).
    pub fn subscribers(&self) -> usize {
        self.changed.receiver_count()
    }

    /// Whether a stop was requested.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Request a stop and wake every observer.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.changed.send_modify(|_| {});
    }
}

/// Routes anomalies into the state's feed.
pub struct FeedSink<'a>(pub &'a mut HudState);

impl Sink for FeedSink<'_> {
    fn emit(&mut self, anomaly: &Anomaly<'_>) -> io::Result<()> {
        self.0.push_anomaly(anomaly);
        Ok(())
    }
}

/// Where the HUD hands its notices (a source that failed, a sink that was disabled, a
/// followed file that rotated): one line of text each, on the engine thread. The HUD
/// itself never prints.
pub type Notices = Arc<dyn Fn(&str) + Send + Sync>;

/// An extra sink (a webhook, say) next to the feed. It must never disturb detection: its
/// first error is handed out once as a notice and the sink is then skipped.
struct Extra {
    sink: Box<dyn Sink + Send>,
    failed: bool,
    notices: Option<Notices>,
}

impl std::fmt::Debug for Extra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extra")
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Sink for Extra {
    fn emit(&mut self, anomaly: &Anomaly<'_>) -> io::Result<()> {
        if !self.failed {
            if let Err(e) = self.sink.emit(anomaly) {
                if let Some(notices) = &self.notices {
                    notices(&format!("extra sink disabled: {e}"));
                }
                self.failed = true;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.failed {
            let _ = self.sink.flush();
        }
        Ok(())
    }
}

/// Observe one parsed event: into the shards (anomalies to the feed and any extra
/// sink), the live scores of the metrics it touched in the shard that observed it, and
/// the event counters.
fn record(
    st: &mut HudState,
    set: &mut ShardSet,
    extra: &mut Option<Extra>,
    key: &mut String,
    ev: &EventRecord<'_>,
) {
    // Neither the feed nor the guarded extra sink ever fails.
    let mut feed = FeedSink(st);
    let routed = match extra.as_mut() {
        Some(x) => set.observe_routed(ev, &mut Tee(&mut feed, x)),
        None => set.observe_routed(ev, &mut feed),
    };
    if let Some(shard) = routed.ok().and_then(|id| set.shard(id)) {
        copy_meters(shard, set.config().timed, ev, key, st);
    }
    let lag = ev.timestamp().map_or(0.0, |t| {
        Timestamp::now_utc().epoch_seconds() - t.epoch_seconds()
    });
    st.record_event(ev.length(), lag);
}

/// Copy the live scores of the metrics `ev` touched in `shard` into the state's meters
/// (the reference's `last_scores`); `key` is scratch for attribute metric names.
fn copy_meters(
    shard: &Shard,
    timed: bool,
    ev: &EventRecord<'_>,
    key: &mut String,
    st: &mut HudState,
) {
    let put = |st: &mut HudState, name: &str| {
        if let Some(r) = shard.reading(name) {
            st.set_meter(name, r.sigma, r.ready);
        }
    };
    put(st, metric::LENGTH);
    put(st, metric::TOKENS);
    for (k, _) in ev.attrs().iter() {
        key.clear();
        key.push_str(metric::ATTR_PREFIX);
        key.push_str(k);
        put(st, key);
    }
    for (name, _) in ev.extra().iter() {
        put(st, name);
    }
    if timed {
        put(st, metric::INTERARRIVAL);
    }
    put(st, metric::SEMANTIC);
}

/// How often the template panel is refreshed while lines stream in.
const TEMPLATES_REFRESH: Duration = Duration::from_millis(500);
/// Templates the panel lists, newest and with the most anomalies.
const TEMPLATE_ROWS: usize = 8;

/// Runs the engine for the HUD.
pub struct Monitor {
    engine: Engine,
    text: LineParser,
    jsonl: LineParser,
    /// Scratch for attribute metric names.
    key: String,
    shared: Arc<Shared>,
    pace: Duration,
    extra: Option<Extra>,
    notices: Option<Notices>,
    /// Where the current input stands (its lines' numbers), when the driver knows.
    cursor: LineCursor,
    /// When the template panel was last refreshed.
    templates_at: Option<Instant>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("engine", &self.engine)
            .field("pace", &self.pace)
            .field("extra", &self.extra)
            .field("notices", &self.notices.is_some())
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// A monitor for `cfg` publishing into `shared`; `pace` is slept after every event.
    pub fn new(cfg: Config, shared: Arc<Shared>, pace: Duration) -> Self {
        Monitor {
            text: LineParser::for_config(InputFormat::Text, &cfg),
            jsonl: LineParser::for_config(InputFormat::JsonLines, &cfg),
            engine: Engine::new(cfg, InputFormat::Text),
            key: String::new(),
            shared,
            pace,
            extra: None,
            notices: None,
            cursor: LineCursor::UNKNOWN,
            templates_at: None,
        }
    }

    /// Number the lines fed next from `cursor` ([`LineCursor::UNKNOWN`]: no numbers).
    pub fn set_line_cursor(&mut self, cursor: LineCursor) {
        self.cursor = cursor;
    }

    /// Also send every anomaly to `sink` (after the feed). Its errors never stop
    /// detection (see [`Monitor::finish`] for its final flush).
    pub fn set_sink(&mut self, sink: Box<dyn Sink + Send>) {
        self.extra = Some(Extra {
            sink,
            failed: false,
            notices: self.notices.clone(),
        });
    }

    /// Hand notices to `notices` (without it they are dropped).
    pub fn set_notices(&mut self, notices: Notices) {
        if let Some(x) = self.extra.as_mut() {
            x.notices = Some(Arc::clone(&notices));
        }
        self.notices = Some(notices);
    }

    /// Hand one notice to the caller's [`Notices`], if any.
    pub fn notice(&self, text: &str) {
        if let Some(notices) = &self.notices {
            notices(text);
        }
    }

    /// Flush and drop the extra sink (a webhook delivers what is queued).
    pub fn finish(&mut self) {
        if let Some(mut x) = self.extra.take() {
            let _ = x.flush();
        }
    }

    /// The shared state this monitor publishes into.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Whether the HUD is stopping.
    pub fn stopping(&self) -> bool {
        self.shared.stopping()
    }

    /// Prime baselines with `count` benign events (silent: no feed, no counts).
    pub fn seed(&mut self, count: usize) {
        self.shared.update(|st| st.seeding = true);
        let n = if count > 0 {
            self.engine.prime_benign(count)
        } else {
            0
        };
        self.shared.update(|st| {
            st.seeded += n;
            st.seeding = false;
        });
    }

    /// Observe every line of `block` (complete lines only) from `source` in `format`.
    /// Returns `false` when a stop was requested part-way.
    pub fn feed_block(&mut self, block: &[u8], source: &str, format: InputFormat) -> bool {
        let mut lines = self.cursor.lines(block).peekable();
        let batch = if self.pace.is_zero() { BATCH } else { 1 };
        while lines.peek().is_some() {
            if self.stopping() {
                return false;
            }
            let shared = Arc::clone(&self.shared);
            shared.update(|st| {
                for (number, line) in lines.by_ref().take(batch) {
                    self.observe_line(st, line, number, source, format);
                }
                self.sync_counters(st);
            });
            if !self.pace.is_zero() && !self.sleep(self.pace) {
                return false;
            }
        }
        true
    }

    /// Refresh the template panel from the engine, at most every
    /// [`TEMPLATES_REFRESH`] unless `now`.
    fn sync_templates(&mut self, st: &mut HudState, now: bool) {
        let t = Instant::now();
        if !now
            && self
                .templates_at
                .is_some_and(|at| t - at < TEMPLATES_REFRESH)
        {
            return;
        }
        self.templates_at = Some(t);
        st.templates = self
            .engine
            .shards()
            .template_summary(TEMPLATE_ROWS)
            .map(|s| TemplatesView::of(&s));
    }

    fn sync_counters(&mut self, st: &mut HudState) {
        self.sync_templates(st, false);
        st.counters = self.engine.shards().counters().clone();
        st.sources = self
            .engine
            .shards()
            .shards()
            .filter(|(name, _)| *name != OVERFLOW_SHARD)
            .count() as u64;
    }

    /// Sleep `d` in slices; `false` when a stop was requested meanwhile.
    pub fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.stopping() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(SLEEP_SLICE));
        }
    }

    /// The parser for `format` and what [`record`] needs, borrowed apart.
    fn parts(
        &mut self,
        format: InputFormat,
    ) -> (
        &mut LineParser,
        &mut ShardSet,
        &mut Option<Extra>,
        &mut String,
    ) {
        let Monitor {
            engine,
            text,
            jsonl,
            key,
            extra,
            ..
        } = self;
        let parser = match format {
            InputFormat::Text => text,
            InputFormat::JsonLines => jsonl,
        };
        (parser, engine.shards_mut(), extra, key)
    }

    fn observe_line(
        &mut self,
        st: &mut HudState,
        line: &[u8],
        number: Option<u64>,
        source: &str,
        format: InputFormat,
    ) {
        let (parser, set, extra, key) = self.parts(format);
        parser.parse(line, source, |ev| {
            record(st, set, extra, key, &ev.at_line(number))
        });
    }

    /// [`Self::feed_block`] or [`Self::feed_oversized`], as the piece says.
    pub fn feed_piece(&mut self, piece: Piece<'_>, source: &str, format: InputFormat) -> bool {
        match piece {
            Piece::Block(block) => self.feed_block(block, source, format),
            Piece::Long {
                prefix,
                chars,
                words,
            } => self.feed_oversized(prefix, chars, words, source, format),
        }
    }

    /// Observe one line longer than the line cap: its prefix and the whole line's
    /// measures (what `watch` does with it). `false` when a stop was requested.
    pub fn feed_oversized(
        &mut self,
        prefix: &[u8],
        chars: u64,
        words: u64,
        source: &str,
        format: InputFormat,
    ) -> bool {
        if self.stopping() {
            return false;
        }
        let number = self.cursor.next_line();
        self.cursor.advance_line();
        let shared = Arc::clone(&self.shared);
        shared.update(|st| {
            let (parser, set, extra, key) = self.parts(format);
            parser.parse_oversized(prefix, chars, words, source, |ev| {
                record(st, set, extra, key, &ev.at_line(number))
            });
            self.sync_counters(st);
        });
        true
    }

    /// Mark the source as being read and publish.
    pub fn set_running(&self, running: bool) {
        self.shared.update(|st| st.running = running);
    }

    /// Mark a finite source as read to its end (not running, finished) and publish.
    pub fn set_finished(&mut self) {
        let shared = Arc::clone(&self.shared);
        shared.update(|st| {
            self.sync_templates(st, true);
            st.running = false;
            st.finished = true;
        });
    }

    /// Record why the source stopped and publish.
    pub fn fail(&self, reason: String) {
        self.shared.update(|st| {
            st.running = false;
            st.error = Some(reason);
        });
    }

    /// Anomalies surfaced so far.
    pub fn anomalies(&self) -> u64 {
        self.shared.lock().anomalies()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RunInfo;

    fn monitor(cfg: Config) -> Monitor {
        let info = RunInfo {
            threshold: cfg.threshold,
            warmup: cfg.warmup,
            mode: "TEST".into(),
            detector: "zscore",
            semantic: cfg.semantic,
        };
        Monitor::new(cfg, Shared::new(HudState::new(info)), Duration::ZERO)
    }

    fn lines(n: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for i in 0..n {
            v.extend_from_slice(
                format!(
                    "GET /index.html 200 user{} ok{}\n",
                    i % 7,
                    "!".repeat(i % 5)
                )
                .as_bytes(),
            );
        }
        v
    }

    #[test]
    fn meters_follow_the_engine_and_the_feed_gets_anomalies() {
        let cfg = Config {
            warmup: 10,
            semantic: true,
            ..Config::default()
        };
        let mut m = monitor(cfg.clone());
        assert!(m.feed_block(&lines(50), "a.log", InputFormat::Text));
        let spike = "x".repeat(5000) + "\n";
        assert!(m.feed_block(spike.as_bytes(), "a.log", InputFormat::Text));
        let st = m.shared().lock();
        assert_eq!(st.events(), 51);
        assert!(st.anomalies() >= 1);
        let meters = st.meters();
        assert!(meters[metric::LENGTH].ready);
        assert!(meters[metric::LENGTH].sigma > 3.0);
        assert!(meters.contains_key(metric::SEMANTIC));
        assert!(st.peak_sigma() >= meters[metric::LENGTH].sigma);
        let first = st.feed().last().unwrap();
        assert_eq!(first.seq, 1);
        assert_eq!(first.source, "a.log");

        // Same anomalies as a plain engine run over the same input.
        let mut plain = Engine::new(cfg, InputFormat::Text);
        let mut n = 0u64;
        let mut sink = trace_sentinel_core::sink::CallbackSink(|_: &Anomaly<'_>| n += 1);
        plain.feed_block(&lines(50), "a.log", &mut sink).unwrap();
        plain
            .feed_block(spike.as_bytes(), "a.log", &mut sink)
            .unwrap();
        assert_eq!(st.anomalies(), n);
    }

    #[test]
    fn per_source_shards_are_located() {
        let cfg = Config {
            warmup: 5,
            timed: true,
            ..Config::default()
        };
        let mut m = monitor(cfg);
        let mut block = String::new();
        for i in 0..40 {
            let src = ["web", "db", "(overflow)"][i % 3];
            block.push_str(&format!(
                "{{\"message\": \"hello {i}\", \"source\": \"{src}\", \"latency\": {}}}\n",
                i % 5
            ));
        }
        assert!(m.feed_block(block.as_bytes(), "x.jsonl", InputFormat::JsonLines));
        let st = m.shared().lock();
        assert_eq!(st.events(), 40);
        let meters = st.meters();
        assert!(meters.contains_key("attr.latency"));
        assert!(meters.contains_key(metric::INTERARRIVAL));
        assert!(meters["attr.latency"].ready);
    }

    /// Counts anomalies; fails after `fail_after` of them.
    struct Counting(Arc<std::sync::atomic::AtomicU64>, u64);

    impl Sink for Counting {
        fn emit(&mut self, _: &Anomaly<'_>) -> io::Result<()> {
            let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
            if n > self.1 {
                return Err(io::Error::other("sink broke"));
            }
            Ok(())
        }
    }

    #[test]
    fn extra_sink_sees_anomalies_and_its_failure_changes_nothing() {
        let cfg = Config {
            warmup: 10,
            ..Config::default()
        };
        let mut input = lines(50);
        for _ in 0..5 {
            input.extend_from_slice(("y".repeat(3000) + "\n").as_bytes());
            input.extend_from_slice(&lines(30));
        }
        let mut plain = monitor(cfg.clone());
        assert!(plain.feed_block(&input, "a.log", InputFormat::Text));
        let want = plain.anomalies();
        assert!(want >= 3);

        let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut m = monitor(cfg);
        m.set_sink(Box::new(Counting(Arc::clone(&seen), 2)));
        assert!(m.feed_block(&input, "a.log", InputFormat::Text));
        // The broken sink got its first two anomalies plus the failing one, then was
        // skipped; the feed and the counts are unchanged.
        assert_eq!(seen.load(Ordering::Relaxed), 3);
        assert_eq!(m.anomalies(), want);
        m.finish();
    }

    #[test]
    fn an_over_long_line_counts_its_whole_length_like_watch() {
        let cfg = Config {
            warmup: 10,
            ..Config::default()
        };
        let mut m = monitor(cfg.clone());
        assert!(m.feed_piece(Piece::Block(&lines(50)), "a.log", InputFormat::Text));
        let long = Piece::Long {
            prefix: b"SPIKE xxxx",
            chars: 90_000,
            words: 2,
        };
        assert!(m.feed_piece(long, "a.log", InputFormat::Text));
        let mut plain = Engine::new(cfg, InputFormat::Text);
        let mut want = Vec::new();
        let mut sink = trace_sentinel_core::sink::CallbackSink(|a: &Anomaly<'_>| {
            want.push((a.metric.to_string(), a.value.to_bits()))
        });
        plain.feed_block(&lines(50), "a.log", &mut sink).unwrap();
        plain
            .feed_oversized(b"SPIKE xxxx", 90_000, 2, "a.log", &mut sink)
            .unwrap();
        let st = m.shared().lock();
        assert_eq!(st.events(), 51);
        let got: Vec<(String, u64)> = st
            .feed()
            .map(|f| (f.metric.clone(), f.value.to_bits()))
            .collect();
        assert!(want.contains(&(metric::LENGTH.to_string(), 90_000f64.to_bits())));
        assert_eq!(got.len(), want.len());
        for w in &want {
            assert!(got.contains(w), "{w:?} not in {got:?}");
        }
    }

    #[test]
    fn seeding_primes_without_counting() {
        let mut m = monitor(Config::default());
        m.seed(500);
        let st = m.shared().lock();
        assert_eq!(st.seeded, 500);
        assert!(!st.seeding);
        assert_eq!(st.events(), 0);
        assert_eq!(st.anomalies(), 0);
    }

    #[test]
    fn stop_interrupts_a_block() {
        let mut m = monitor(Config::default());
        m.shared().request_stop();
        assert!(!m.feed_block(&lines(10), "a.log", InputFormat::Text));
        assert_eq!(m.shared().lock().events(), 0);
    }
}
