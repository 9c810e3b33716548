//! The HUD's state model: everything the dashboard shows, owned by one [`HudState`] that
//! the engine thread updates per event and the server serialises for `/api/state`, the
//! SSE stream and `/metrics`.
//!
//! The fields and their meaning follow the reference HUD (`trace_sentinel.hud.server`):
//! `series` is the largest |σ| among the live per-metric scores after each event, `wave`
//! the length of each message, `threat` an exponential follower (factor 0.25) of
//! `min(100, max σ / 6 · 100)`, `feed` the newest anomalies first with a running `seq`.
//! Extra fields (`lines_per_second`, `lag_seconds`, `by_severity`, `error`, ...) are ours.
//! This module knows nothing of threads, sockets or the engine's internals.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};
use trace_sentinel_core::detect::{Counters, TemplateCount, TemplateSummary};
use trace_sentinel_core::stats::StatsSink;
use trace_sentinel_core::{Anomaly, Severity, Sink};
use trace_sentinel_pycompat::pyfmt::round_half_even;

/// Points in the message-length wave.
pub const WAVE_LEN: usize = 64;
/// Points in the σ series.
pub const SERIES_LEN: usize = 180;
/// Anomalies kept in the feed.
pub const FEED_LEN: usize = 60;
/// Distinct metrics shown as meters; later metric names are not shown (see
/// [`HudState::meters_dropped`]), which bounds the page against attribute-key floods.
pub const MAX_METERS: usize = 64;
/// Characters of a message kept in a feed item; longer ones end with `…`.
pub const MAX_MESSAGE_CHARS: usize = 2000;
/// |σ| at which the threat target reaches 100 (the reference's constant).
const THREAT_FULL_SIGMA: f64 = 6.0;
/// Window over which `lines_per_second` is measured.
const RATE_WINDOW: Duration = Duration::from_secs(5);

/// One metric's live deviation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Meter {
    /// Last score (σ) of the metric.
    pub sigma: f64,
    /// Whether its baseline finished warming up.
    pub ready: bool,
}

/// One surfaced anomaly as the feed shows it: the reference's `{"seq": n, **as_dict()}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedItem {
    /// Running number (1-based) over the whole run.
    pub seq: u64,
    /// Event time, ISO 8601.
    pub timestamp: String,
    /// Event source.
    pub source: String,
    /// Metric that deviated.
    pub metric: String,
    /// Observed value, rounded to 6 digits.
    pub value: f64,
    /// Deviation in σ, rounded to 3 digits.
    pub score: f64,
    /// `warning`, `high` or `critical`.
    pub severity: &'static str,
    /// The reference's explanation text.
    pub explanation: String,
    /// The message (at most [`MAX_MESSAGE_CHARS`] characters).
    pub message: String,
    /// The line's number in its input, when known.
    pub line: Option<u64>,
    /// With the template layer: the line's template id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<u64>,
    /// With the template layer: the template's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// With the template layer: the level the line names (absent when it names none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<&'static str>,
}

impl FeedItem {
    /// A feed item for `a` with number `seq`.
    pub fn from_anomaly(seq: u64, a: &Anomaly<'_>) -> Self {
        let mut timestamp = String::new();
        a.timestamp.write_isoformat(&mut timestamp);
        FeedItem {
            seq,
            timestamp,
            source: a.source.to_string(),
            metric: a.metric.to_string(),
            value: round_half_even(a.value, 6),
            score: round_half_even(a.score, 3),
            severity: a.severity.as_str(),
            explanation: a.explanation(),
            message: clip(a.message, MAX_MESSAGE_CHARS),
            line: a.context.line,
            template_id: a.context.template.map(|t| t.id),
            template: a.context.template.map(|t| clip(t.text, MAX_MESSAGE_CHARS)),
            level: a.context.template.and(a.context.level).map(|l| l.name()),
        }
    }
}

/// `text` cut to `max` characters, with `…` appended when cut.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => {
            let mut s = String::with_capacity(end + 3);
            s.push_str(&text[..end]);
            s.push('…');
            s
        }
        None => text.to_string(),
    }
}

/// The template layer as the dashboard shows it (`--templates`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TemplatesView {
    /// Templates held now, over all sources.
    pub held: u64,
    /// Templates created so far.
    pub learned: u64,
    /// Templates evicted to keep the caps.
    pub evicted: u64,
    /// The templates created last, newest first.
    pub newest: Vec<TemplateRow>,
    /// The templates with the most anomalies, most first.
    pub top: Vec<TemplateRow>,
}

/// One template of a [`TemplatesView`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateRow {
    /// The source it belongs to.
    pub source: String,
    /// Its id within the source.
    pub id: u64,
    /// The template, `<*>` for variables (at most [`MAX_MESSAGE_CHARS`] characters).
    pub template: String,
    /// The level its first line named.
    pub level: Option<&'static str>,
    /// Its lines so far.
    pub lines: u64,
    /// Anomalies on its lines.
    pub anomalies: u64,
}

impl TemplatesView {
    /// The view of an engine's template summary.
    pub fn of(s: &TemplateSummary) -> Self {
        let rows = |v: &[TemplateCount]| -> Vec<TemplateRow> {
            v.iter()
                .map(|c| TemplateRow {
                    source: c.source.clone(),
                    id: c.id,
                    template: clip(&c.template, MAX_MESSAGE_CHARS),
                    level: c.level.map(|l| l.name()),
                    lines: c.lines,
                    anomalies: c.anomalies,
                })
                .collect()
        };
        TemplatesView {
            held: s.templates,
            learned: s.created,
            evicted: s.evicted,
            newest: rows(&s.newest),
            top: rows(&s.top),
        }
    }
}

/// What the engine had to drop, as `/api/state` shows it (from the engine's own
/// counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EngineCounters {
    /// Events routed to the overflow shard.
    pub overflow_events: u64,
    /// Metric values dropped at the per-shard metric cap.
    pub metrics_dropped: u64,
    /// Inter-arrival values not computed because a source table was full.
    pub interarrival_untracked: u64,
}

impl From<&Counters> for EngineCounters {
    fn from(c: &Counters) -> Self {
        EngineCounters {
            overflow_events: c.overflow_events,
            metrics_dropped: c.metrics_dropped,
            interarrival_untracked: c.interarrival_untracked,
        }
    }
}

/// Static facts about the run, fixed at start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// Sigma threshold.
    pub threshold: f64,
    /// Warmup events per baseline.
    pub warmup: u64,
    /// Human label of the source (`REPLAY · app.log`, `FOLLOW · app.log`, ...).
    pub mode: String,
    /// Detector name (`zscore`, `ewma`, `mad`).
    pub detector: &'static str,
    /// Whether the semantic layer runs.
    pub semantic: bool,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone)]
pub struct HudState {
    info: RunInfo,
    /// Whether the source is being read (false when a finite source ended).
    pub running: bool,
    /// Whether a finite source (a replay without `--loop`, stdin) was read to its end.
    pub finished: bool,
    /// Whether benign seeding is in progress.
    pub seeding: bool,
    /// Benign events the baselines were primed with.
    pub seeded: u64,
    /// Why the source stopped, when it failed.
    pub error: Option<String>,
    events: u64,
    anomalies: u64,
    anomaly_counts: StatsSink,
    /// Sources with a shard of their own, as of the last update.
    pub sources: u64,
    seq: u64,
    peak: f64,
    threat: f64,
    meters: BTreeMap<String, Meter>,
    meters_dropped: u64,
    wave: VecDeque<f64>,
    series: VecDeque<f64>,
    feed: VecDeque<FeedItem>,
    /// Engine counters as of the last update.
    pub counters: Counters,
    /// The template layer as of its last refresh (`None` without `--templates`).
    pub templates: Option<TemplatesView>,
    lag: f64,
    rate: f64,
    samples: VecDeque<(Instant, u64)>,
    version: u64,
}

impl HudState {
    /// The state at start: zero everywhere, series and wave full of zeros (like the
    /// reference), `running` and `seeding` set.
    pub fn new(info: RunInfo) -> Self {
        HudState {
            info,
            running: true,
            finished: false,
            seeding: true,
            seeded: 0,
            error: None,
            events: 0,
            anomalies: 0,
            anomaly_counts: StatsSink::default(),
            sources: 0,
            seq: 0,
            peak: 0.0,
            threat: 0.0,
            meters: BTreeMap::new(),
            meters_dropped: 0,
            wave: VecDeque::from(vec![0.0; WAVE_LEN]),
            series: VecDeque::from(vec![0.0; SERIES_LEN]),
            feed: VecDeque::with_capacity(FEED_LEN),
            counters: Counters::default(),
            templates: None,
            lag: 0.0,
            rate: 0.0,
            samples: VecDeque::new(),
            version: 0,
        }
    }

    /// The run's static facts.
    pub fn info(&self) -> &RunInfo {
        &self.info
    }

    /// Events observed live.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Anomalies surfaced.
    pub fn anomalies(&self) -> u64 {
        self.anomalies
    }

    /// Anomalies by severity, mildest first (see [`Severity::ALL`]).
    pub fn by_severity(&self) -> [u64; 3] {
        self.anomaly_counts.by_severity
    }

    /// Anomalies by metric and severity.
    pub fn anomaly_counts(&self) -> &StatsSink {
        &self.anomaly_counts
    }

    /// Largest |σ| seen after any event.
    pub fn peak_sigma(&self) -> f64 {
        self.peak
    }

    /// Threat index, 0–100.
    pub fn threat(&self) -> f64 {
        self.threat
    }

    /// Live meters by metric name.
    pub fn meters(&self) -> &BTreeMap<String, Meter> {
        &self.meters
    }

    /// Meter updates ignored because [`MAX_METERS`] names were already shown.
    pub fn meters_dropped(&self) -> u64 {
        self.meters_dropped
    }

    /// The feed, newest first.
    pub fn feed(&self) -> impl Iterator<Item = &FeedItem> {
        self.feed.iter()
    }

    /// Lines per second over the last few seconds (see [`HudState::sample_rate`]).
    pub fn lines_per_second(&self) -> f64 {
        self.rate
    }

    /// Seconds between the newest event's timestamp and the moment it was read (0 for
    /// events without a timestamp of their own).
    pub fn lag_seconds(&self) -> f64 {
        self.lag
    }

    /// Change counter: bumped by [`HudState::touch`] whenever observers should redraw.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Mark the state changed.
    pub fn touch(&mut self) {
        self.version += 1;
    }

    /// Set one metric's live deviation.
    pub fn set_meter(&mut self, name: &str, sigma: f64, ready: bool) {
        let meter = Meter { sigma, ready };
        if let Some(m) = self.meters.get_mut(name) {
            *m = meter;
        } else if self.meters.len() < MAX_METERS {
            self.meters.insert(name.to_string(), meter);
        } else {
            self.meters_dropped += 1;
        }
    }

    /// Record one observed event after its meters were set: `length` is its message
    /// length in characters, `lag` as for [`HudState::lag_seconds`].
    pub fn record_event(&mut self, length: f64, lag: f64) {
        self.events += 1;
        let max_sigma = self
            .meters
            .values()
            .map(|m| m.sigma.abs())
            .filter(|s| s.is_finite())
            .fold(0.0, f64::max);
        self.peak = self.peak.max(max_sigma);
        push_bounded(&mut self.series, max_sigma, SERIES_LEN);
        push_bounded(&mut self.wave, length, WAVE_LEN);
        let target = (max_sigma / THREAT_FULL_SIGMA * 100.0).min(100.0);
        self.threat += (target - self.threat) * 0.25;
        if lag.is_finite() {
            self.lag = lag;
        }
    }

    /// Add one anomaly to the feed (newest first, bounded).
    pub fn push_anomaly(&mut self, a: &Anomaly<'_>) {
        self.anomalies += 1;
        // Counting into memory cannot fail.
        let _ = self.anomaly_counts.emit(a);
        self.seq += 1;
        if self.feed.len() == FEED_LEN {
            self.feed.pop_back();
        }
        self.feed.push_front(FeedItem::from_anomaly(self.seq, a));
    }

    /// Update `lines_per_second` from the event count at `now`. Call about once a
    /// second; the rate covers the last five seconds (less right after start).
    pub fn sample_rate(&mut self, now: Instant) {
        self.samples.push_back((now, self.events));
        while let Some(&(t, _)) = self.samples.front() {
            if now.duration_since(t) > RATE_WINDOW && self.samples.len() > 2 {
                self.samples.pop_front();
            } else {
                break;
            }
        }
        self.rate = match (self.samples.front(), self.samples.back()) {
            (Some(&(t0, n0)), Some(&(t1, n1))) if t1 > t0 => {
                (n1 - n0) as f64 / t1.duration_since(t0).as_secs_f64()
            }
            _ => 0.0,
        };
    }
}

fn push_bounded(q: &mut VecDeque<f64>, v: f64, cap: usize) {
    if q.len() >= cap {
        q.pop_front();
    }
    q.push_back(v);
}

/// Python's `round(x, n)` for display, keeping non-finite values (serialised as null).
fn r(x: f64, n: i32) -> f64 {
    if x.is_finite() {
        round_half_even(x, n)
    } else {
        x
    }
}

/// Serialises a map of meters with rounded sigmas, in name order.
struct MetersView<'a>(&'a BTreeMap<String, Meter>);

impl Serialize for MetersView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, m) in self.0 {
            map.serialize_entry(
                name,
                &Meter {
                    sigma: r(m.sigma, 3),
                    ready: m.ready,
                },
            )?;
        }
        map.end()
    }
}

/// Anomaly counts by severity name.
#[derive(Serialize)]
struct SeverityCounts {
    warning: u64,
    high: u64,
    critical: u64,
}

/// The `/api/state` document: the reference's fields, then ours.
#[derive(Serialize)]
struct StateView<'a> {
    threshold: f64,
    warmup: u64,
    mode: &'a str,
    running: bool,
    seeding: bool,
    seeded: u64,
    finished: bool,
    events: u64,
    anomalies: u64,
    peak_sigma: f64,
    threat: f64,
    metrics: MetersView<'a>,
    wave: &'a VecDeque<f64>,
    series: Vec<f64>,
    feed: &'a VecDeque<FeedItem>,
    version: u64,
    detector: &'static str,
    semantic: bool,
    by_severity: SeverityCounts,
    lines_per_second: f64,
    lag_seconds: f64,
    meters_dropped: u64,
    counters: EngineCounters,
    error: Option<&'a str>,
    templates: Option<&'a TemplatesView>,
}

impl Serialize for HudState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let [warning, high, critical] = self.by_severity();
        StateView {
            threshold: self.info.threshold,
            warmup: self.info.warmup,
            mode: &self.info.mode,
            running: self.running,
            seeding: self.seeding,
            seeded: self.seeded,
            finished: self.finished,
            events: self.events,
            anomalies: self.anomalies,
            peak_sigma: r(self.peak, 3),
            threat: r(self.threat, 2),
            metrics: MetersView(&self.meters),
            wave: &self.wave,
            series: self.series.iter().map(|x| r(*x, 3)).collect(),
            feed: &self.feed,
            version: self.version,
            detector: self.info.detector,
            semantic: self.info.semantic,
            by_severity: SeverityCounts {
                warning,
                high,
                critical,
            },
            lines_per_second: r(self.rate, 2),
            lag_seconds: r(self.lag, 3),
            meters_dropped: self.meters_dropped,
            counters: EngineCounters::from(&self.counters),
            error: self.error.as_deref(),
            templates: self.templates.as_ref(),
        }
        .serialize(s)
    }
}

/// Severity label of the `by_severity` index `i` (see [`Severity::ALL`]).
pub fn severity_name(i: usize) -> &'static str {
    Severity::ALL.get(i).map_or("warning", |s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trace_sentinel_pycompat::timestamp::Timestamp;

    fn info() -> RunInfo {
        RunInfo {
            threshold: 3.0,
            warmup: 30,
            mode: "REPLAY · x.log".into(),
            detector: "zscore",
            semantic: false,
        }
    }

    fn anomaly<'a>(message: &'a str, score: f64) -> Anomaly<'a> {
        Anomaly {
            metric: "message.length",
            value: 1234.5,
            score,
            severity: Severity::from_score(score, 3.0),
            threshold: 3.0,
            semantic: false,
            timestamp: Timestamp {
                local_us: trace_sentinel_pycompat::timestamp::EPOCH_LOCAL_US,
                offset_us: Some(0),
            },
            source: "app.log",
            message,
            message_wtf8: None,
            context: Default::default(),
        }
    }

    #[test]
    fn starts_like_the_reference() {
        let st = HudState::new(info());
        let v: serde_json::Value = serde_json::to_value(&st).unwrap();
        for key in [
            "threshold",
            "warmup",
            "mode",
            "running",
            "seeding",
            "seeded",
            "events",
            "anomalies",
            "peak_sigma",
            "threat",
            "metrics",
            "wave",
            "series",
            "feed",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["wave"].as_array().unwrap().len(), WAVE_LEN);
        assert_eq!(v["series"].as_array().unwrap().len(), SERIES_LEN);
        assert_eq!(v["running"], true);
        assert_eq!(v["finished"], false);
        assert_eq!(v["seeding"], true);
        assert_eq!(v["threshold"], 3.0);
    }

    #[test]
    fn events_drive_series_wave_threat_and_peak() {
        let mut st = HudState::new(info());
        st.set_meter("message.length", -4.5, true);
        st.set_meter("message.tokens", 1.0, true);
        st.record_event(42.0, 0.0);
        assert_eq!(st.events(), 1);
        assert_eq!(st.peak_sigma(), 4.5);
        assert_eq!(st.series.back(), Some(&4.5));
        assert_eq!(st.wave.back(), Some(&42.0));
        assert_eq!(st.series.len(), SERIES_LEN);
        // target 75, factor 0.25
        assert!((st.threat() - 18.75).abs() < 1e-12);
        st.set_meter("message.length", 100.0, true);
        for _ in 0..100 {
            st.record_event(1.0, 0.0);
        }
        assert!(st.threat() > 99.9 && st.threat() <= 100.0);
        st.set_meter("message.length", f64::NAN, true);
        st.record_event(1.0, f64::NAN);
        let v = serde_json::to_value(&st).unwrap();
        assert!(v["metrics"]["message.length"]["sigma"].is_null());
        assert_eq!(v["metrics"]["message.tokens"]["sigma"], 1.0);
    }

    #[test]
    fn feed_is_newest_first_bounded_and_clipped() {
        let mut st = HudState::new(info());
        let long = "é".repeat(MAX_MESSAGE_CHARS + 10);
        for i in 0..(FEED_LEN + 5) {
            let msg = if i == FEED_LEN + 4 {
                long.as_str()
            } else {
                "x"
            };
            st.push_anomaly(&anomaly(msg, 6.5));
        }
        assert_eq!(st.anomalies(), (FEED_LEN + 5) as u64);
        assert_eq!(st.by_severity(), [0, 0, (FEED_LEN + 5) as u64]);
        let feed: Vec<_> = st.feed().collect();
        assert_eq!(feed.len(), FEED_LEN);
        assert_eq!(feed[0].seq, (FEED_LEN + 5) as u64);
        assert_eq!(feed[FEED_LEN - 1].seq, 6);
        assert_eq!(feed[0].message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(feed[0].message.ends_with('…'));
        assert_eq!(feed[0].severity, "critical");
        assert_eq!(feed[0].timestamp, "1970-01-01T00:00:00+00:00");
        assert!(feed[0]
            .explanation
            .starts_with("message.length = 1.23e+03 is 6.5σ"));
    }

    #[test]
    fn meters_are_capped() {
        let mut st = HudState::new(info());
        for i in 0..(MAX_METERS + 3) {
            st.set_meter(&format!("attr.k{i}"), 1.0, false);
        }
        assert_eq!(st.meters().len(), MAX_METERS);
        assert_eq!(st.meters_dropped(), 3);
    }

    #[test]
    fn rate_over_window() {
        let mut st = HudState::new(info());
        let t0 = Instant::now();
        st.sample_rate(t0);
        assert_eq!(st.lines_per_second(), 0.0);
        for _ in 0..50 {
            st.record_event(1.0, 0.0);
        }
        st.sample_rate(t0 + Duration::from_secs(1));
        assert!((st.lines_per_second() - 50.0).abs() < 1e-9);
        // Idle for a long time: the rate decays to 0 once the window has passed.
        for s in 2..10 {
            st.sample_rate(t0 + Duration::from_secs(s));
        }
        assert_eq!(st.lines_per_second(), 0.0);
    }
}
