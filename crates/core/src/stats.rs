//! Run statistics: counts, throughput, per-stage latency histograms (hdrhistogram),
//! followed files, checkpoints, anomaly deliveries and a worker's partitions, as one
//! [`RunStats`] model. The
//! drivers fill it; `--stats-json` is its JSON rendering ([`RunStats::to_json`]) and the
//! Prometheus endpoints render the same model (`trace-sentinel-metrics`). A sink
//! ([`StatsSink`]) counts anomalies by metric and severity without changing them.
//!
//! This module does no I/O of its own besides [`RunStats::write_to`], and never reads
//! clocks: every duration and lag is measured by the driver that owns it.

use crate::anomaly::{Anomaly, Severity};
use crate::sink::Sink;
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::Duration;

/// Longest duration a [`StageHistogram`] tells apart: one hour, in microseconds.
const MAX_US: u64 = 3_600_000_000;

/// Latency histogram of one pipeline stage, in microseconds, with the exact sum of what
/// was recorded (Prometheus histograms carry one).
#[derive(Debug, Clone)]
pub struct StageHistogram {
    hist: Histogram<u64>,
    sum_us: u64,
}

impl Default for StageHistogram {
    fn default() -> Self {
        StageHistogram {
            // 1 µs .. 1 hour at 3 significant digits: constant, valid bounds.
            hist: Histogram::new_with_bounds(1, MAX_US, 3)
                .expect("constant histogram bounds are valid"),
            sum_us: 0,
        }
    }
}

impl StageHistogram {
    /// Record one duration.
    pub fn record(&mut self, d: Duration) {
        self.record_us(d.as_micros().min(u128::from(MAX_US)) as u64);
    }

    /// Record a value already in microseconds.
    pub fn record_us(&mut self, us: u64) {
        let us = us.clamp(1, MAX_US);
        self.sum_us = self.sum_us.saturating_add(us);
        let _ = self.hist.record(us);
    }

    /// Merge another histogram in.
    pub fn add(&mut self, other: &StageHistogram) {
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
        let _ = self.hist.add(&other.hist);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Sum of the recorded samples, in microseconds (each clamped to 1 µs .. 1 hour).
    pub fn sum_us(&self) -> u64 {
        self.sum_us
    }

    /// Samples at most `us` microseconds (within the histogram's 3 significant digits):
    /// a cumulative bucket of a Prometheus histogram.
    pub fn count_at_most(&self, us: u64) -> u64 {
        if self.hist.is_empty() {
            return 0;
        }
        if us >= self.hist.max() {
            return self.hist.len();
        }
        self.hist.count_between(0, us)
    }

    /// `{count, p50_us, p90_us, p99_us, max_us}`.
    pub fn summary(&self) -> Value {
        let q = |p: f64| {
            if self.hist.is_empty() {
                0
            } else {
                self.hist.value_at_quantile(p)
            }
        };
        json!({
            "count": self.hist.len(),
            "p50_us": q(0.50),
            "p90_us": q(0.90),
            "p99_us": q(0.99),
            "max_us": if self.hist.is_empty() { 0 } else { self.hist.max() },
        })
    }
}

/// Counts anomalies by metric and severity.
#[derive(Debug, Default, Clone)]
pub struct StatsSink {
    /// Anomalies per metric name, by severity (warning, high, critical).
    pub by_metric: BTreeMap<String, [u64; 3]>,
    /// Anomalies per severity (warning, high, critical).
    pub by_severity: [u64; 3],
    /// Total anomalies.
    pub total: u64,
}

impl StatsSink {
    /// Anomalies of one metric, all severities.
    pub fn metric_total(&self, metric: &str) -> u64 {
        self.by_metric.get(metric).map_or(0, |n| n.iter().sum())
    }
}

impl Sink for StatsSink {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        self.total += 1;
        self.by_severity[a.severity as usize] += 1;
        let sev = a.severity as usize;
        match self.by_metric.get_mut(a.metric) {
            Some(n) => n[sev] += 1,
            None => {
                let mut n = [0; 3];
                n[sev] = 1;
                self.by_metric.insert(a.metric.to_string(), n);
            }
        }
        Ok(())
    }
}

/// One followed path as follow mode last saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FollowFileStats {
    /// The path as given on the command line.
    pub path: String,
    /// Bytes written to the path's files (the current one and rotated ones still being
    /// drained) that were not read yet.
    pub lag_bytes: u64,
    /// How long the path has had unread bytes (0 when every byte was read).
    pub lag_seconds: f64,
    /// Bytes read from the path's files.
    pub read_bytes: u64,
    /// Times the path was found naming another file (rename/create rotation, delete and
    /// re-create).
    pub rotations: u64,
    /// Times the file at the path was truncated or rewritten in place (copytruncate).
    pub truncations: u64,
}

/// What a `trace-sentinel worker` did with its share of a log stream's partitions
/// (see `docs/scale-out.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionWorkerStats {
    /// The worker's name in the lease bucket.
    pub id: String,
    /// Lines read from owned partitions (replays after a takeover or rewind included).
    pub lines: u64,
    /// Anomalies the anomaly stream stored.
    pub published: u64,
    /// Anomalies the anomaly stream already had (replays dropped by their id).
    pub duplicates: u64,
    /// Partitions claimed.
    pub claimed: u64,
    /// Partitions claimed that resumed from a checkpoint.
    pub resumed: u64,
    /// Partitions handed back to balance the workers.
    pub surrendered: u64,
    /// Partitions lost (lease expired or taken, checkpoint fenced).
    pub lost: u64,
    /// Partitions restarted from their checkpoint after a failed publication.
    pub rewound: u64,
    /// Lines shipped in the other format (`--jsonl` or not) than the worker reads.
    pub format_mismatches: u64,
    /// Owned partitions now, each with the last stream position it has observed.
    pub partitions: Vec<(u32, u64)>,
}

/// Durable checkpoints written by follow mode (state files) or a worker (partition
/// checkpoints).
#[derive(Debug, Clone, Default)]
pub struct CheckpointStats {
    /// Checkpoints written.
    pub written: u64,
    /// Checkpoints that failed (the run retries at the next interval).
    pub failed: u64,
    /// Bytes of state and statistics files written, all checkpoints together.
    pub bytes_total: u64,
    /// Size of the last checkpoint, in bytes.
    pub last_bytes: u64,
    /// Time each checkpoint took, from serialising to the directory sync.
    pub duration: StageHistogram,
}

/// Why a delivery request did not deliver its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureReason {
    /// The endpoint refused the connection (nothing listens there).
    Refused,
    /// No answer within the request timeout.
    Timeout,
    /// The host name did not resolve.
    HostNotFound,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The endpoint answered with this non-2xx HTTP status.
    Status(u16),
    /// Another transport failure (a reset connection, a malformed answer).
    Transport,
    /// The batch was still undelivered when the final flush gave up.
    FlushTimeout,
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailureReason::Refused => f.write_str("connection refused"),
            FailureReason::Timeout => f.write_str("timeout"),
            FailureReason::HostNotFound => f.write_str("host not found"),
            FailureReason::Tls => f.write_str("TLS failure"),
            FailureReason::Status(code) => write!(f, "HTTP {code}"),
            FailureReason::Transport => f.write_str("transport error"),
            FailureReason::FlushTimeout => {
                f.write_str("still undelivered when the exit flush ended")
            }
        }
    }
}

/// What a delivery endpoint (a webhook, an Alertmanager) did, in anomalies (requests
/// where named).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    /// Anomalies accepted into the queue.
    pub queued: u64,
    /// Anomalies the endpoint acknowledged with a 2xx answer.
    pub delivered: u64,
    /// Anomalies dropped because the queue was full (or its worker had stopped).
    pub dropped: u64,
    /// Anomalies given up: retries exhausted, a non-retryable answer, or still
    /// undelivered when the final flush timed out.
    pub failed: u64,
    /// HTTP requests attempted.
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Why the most recent request that did not deliver failed (`None` while every
    /// request delivered).
    pub last_failure: Option<FailureReason>,
}

impl DeliveryCounts {
    /// Anomalies neither delivered nor given up yet.
    pub fn pending(&self) -> u64 {
        self.queued.saturating_sub(self.delivered + self.failed)
    }

    /// One-line human summary; failures name the last reason
    /// (`1 failed (HTTP 503)`).
    ///
    /// ```
    /// use trace_sentinel_core::stats::{DeliveryCounts, FailureReason};
    /// let mut c = DeliveryCounts { queued: 3, delivered: 2, failed: 1, requests: 4, retries: 2, ..Default::default() };
    /// c.last_failure = Some(FailureReason::Status(503));
    /// assert_eq!(c.summary(), "2 delivered, 0 dropped (queue full), 1 failed (HTTP 503), in 4 requests (2 retries)");
    /// ```
    pub fn summary(&self) -> String {
        let reason = match (self.failed, self.last_failure) {
            (1.., Some(why)) => format!(" ({why})"),
            _ => String::new(),
        };
        format!(
            "{} delivered, {} dropped (queue full), {} failed{reason}, in {} requests ({} retries)",
            self.delivered, self.dropped, self.failed, self.requests, self.retries
        )
    }

    /// Whether anything was dropped or given up.
    pub fn lost(&self) -> bool {
        self.dropped > 0 || self.failed > 0
    }
}

/// One delivery endpoint and its counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// The kind of sink: `webhook`, `alertmanager`.
    pub sink: &'static str,
    /// The endpoint, as `scheme://host:port` (no path, query or credentials).
    pub target: String,
    /// What it did.
    pub counts: DeliveryCounts,
}

/// Reads the live [`DeliveryStats`] of an endpoint from any thread (a delivery sink
/// hands these out; the drivers put what they read into [`RunStats::deliveries`]).
pub type DeliveryProbe = std::sync::Arc<dyn Fn() -> DeliveryStats + Send + Sync>;

/// Everything `--stats-json` reports.
#[derive(Debug, Default, Clone)]
pub struct RunStats {
    /// Events (non-skipped lines) observed in this run.
    pub events: u64,
    /// Input bytes read (decompressed for `.gz`).
    pub bytes: u64,
    /// Anomaly counts.
    pub anomalies: StatsSink,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Threads of the run (`--threads`, the calling thread included).
    pub threads: usize,
    /// Stage name → latency histogram.
    pub stages: BTreeMap<&'static str, StageHistogram>,
    /// Extra counters (dropped metrics, overflow sources, skipped lines...).
    pub counters: BTreeMap<&'static str, u64>,
    /// The template layer's counts and top templates (with `--templates`).
    pub templates: Option<crate::detect::TemplateSummary>,
    /// Sources with a shard of their own (the overflow shard not counted).
    pub sources: u64,
    /// Followed paths (follow mode only).
    pub follow: Vec<FollowFileStats>,
    /// Checkpoints (follow mode with `--state` or `--stats-json` only).
    pub checkpoints: Option<CheckpointStats>,
    /// Delivery endpoints (`--webhook`, `--alertmanager`).
    pub deliveries: Vec<DeliveryStats>,
    /// A worker's partitions (`trace-sentinel worker` only).
    pub worker: Option<PartitionWorkerStats>,
}

impl RunStats {
    /// Take the detect stage's bounded-resource counters (overflow events, dropped
    /// metrics, untracked inter-arrival values) into [`RunStats::counters`].
    pub fn set_engine_counters(&mut self, c: &crate::detect::Counters) {
        self.counters.insert("overflow_events", c.overflow_events);
        self.counters.insert("metrics_dropped", c.metrics_dropped);
        self.counters
            .insert("interarrival_untracked", c.interarrival_untracked);
    }

    /// The JSON document.
    pub fn to_json(&self) -> Value {
        let secs = self.elapsed.as_secs_f64();
        let mut stages = Map::new();
        for (name, h) in &self.stages {
            stages.insert((*name).to_string(), h.summary());
        }
        let by_severity: Map<String, Value> = Severity::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str().to_string(),
                    json!(self.anomalies.by_severity[*s as usize]),
                )
            })
            .collect();
        let by_metric: Map<String, Value> = self
            .anomalies
            .by_metric
            .iter()
            .map(|(m, n)| (m.clone(), json!(n.iter().sum::<u64>())))
            .collect();
        let mut doc = json!({
            "events": self.events,
            "bytes": self.bytes,
            "anomalies": {
                "total": self.anomalies.total,
                "by_metric": by_metric,
                "by_severity": by_severity,
            },
            "elapsed_s": secs,
            "throughput_mb_s": if secs > 0.0 { self.bytes as f64 / 1e6 / secs } else { 0.0 },
            "threads": self.threads,
            "stages": stages,
            "counters": self.counters,
            "sources": self.sources,
            "delivery": self.deliveries.iter().map(|d| {
                let c = &d.counts;
                json!({
                    "sink": d.sink,
                    "target": d.target,
                    "queued": c.queued,
                    "delivered": c.delivered,
                    "dropped": c.dropped,
                    "failed": c.failed,
                    "pending": c.pending(),
                    "requests": c.requests,
                    "retries": c.retries,
                    "last_failure": c.last_failure.map(|why| why.to_string()),
                })
            }).collect::<Vec<_>>(),
        });
        if let (Some(t), Some(obj)) = (&self.templates, doc.as_object_mut()) {
            let top: Vec<Value> = t
                .top
                .iter()
                .map(|c| {
                    json!({
                        "source": c.source,
                        "id": c.id,
                        "template": c.template,
                        "level": c.level.map(|l| l.name()),
                        "anomalies": c.anomalies,
                        "lines": c.lines,
                    })
                })
                .collect();
            obj.insert(
                "templates".to_string(),
                json!({
                    "templates": t.templates,
                    "created": t.created,
                    "evicted": t.evicted,
                    "top": top,
                }),
            );
        }
        if !self.follow.is_empty() {
            doc["follow"] = self
                .follow
                .iter()
                .map(|f| {
                    json!({
                        "path": f.path,
                        "lag_bytes": f.lag_bytes,
                        "lag_s": f.lag_seconds,
                        "read_bytes": f.read_bytes,
                        "rotations": f.rotations,
                        "truncations": f.truncations,
                    })
                })
                .collect();
        }
        if let Some(w) = &self.worker {
            doc["worker"] = json!({
                "id": w.id,
                "lines": w.lines,
                "published": w.published,
                "duplicates": w.duplicates,
                "claimed": w.claimed,
                "resumed": w.resumed,
                "surrendered": w.surrendered,
                "lost": w.lost,
                "rewound": w.rewound,
                "format_mismatches": w.format_mismatches,
                "partitions": w.partitions.iter().map(|(p, seq)| json!({"partition": p, "last_seq": seq})).collect::<Vec<_>>(),
            });
        }
        if let Some(c) = &self.checkpoints {
            doc["checkpoints"] = json!({
                "written": c.written,
                "failed": c.failed,
                "bytes_total": c.bytes_total,
                "last_bytes": c.last_bytes,
                "duration": c.duration.summary(),
            });
        }
        doc
    }

    /// Write the JSON document atomically (temp file + fsync + rename).
    pub fn write_to(&self, path: &Path) -> crate::error::Result<()> {
        let text = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default();
        crate::fsutil::write_atomic(path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;

    #[test]
    fn histogram_sum_and_cumulative_buckets() {
        let mut h = StageHistogram::default();
        assert_eq!((h.count(), h.sum_us(), h.count_at_most(10)), (0, 0, 0));
        for us in [0, 5, 10, 250, 4_000_000_000] {
            h.record_us(us);
        }
        // 0 counts as 1 µs, and anything past an hour as an hour.
        assert_eq!(h.sum_us(), 1 + 5 + 10 + 250 + MAX_US);
        assert_eq!(h.count_at_most(0), 0);
        assert_eq!(h.count_at_most(1), 1);
        assert_eq!(h.count_at_most(10), 3);
        assert_eq!(h.count_at_most(1_000), 4);
        assert_eq!(h.count_at_most(u64::MAX), 5);
        let mut g = StageHistogram::default();
        g.record(Duration::from_millis(2));
        g.add(&h);
        assert_eq!((g.count(), g.sum_us()), (6, h.sum_us() + 2_000));
    }

    #[test]
    fn anomalies_by_metric_and_severity() {
        let mut s = StatsSink::default();
        for (metric, severity) in [
            ("message.length", Severity::Critical),
            ("message.length", Severity::Warning),
            ("attr.ms", Severity::High),
        ] {
            let a = Anomaly {
                metric,
                value: 1.0,
                score: 9.0,
                severity,
                threshold: 3.0,
                semantic: false,
                timestamp: Timestamp::from_epoch_seconds(0.0).unwrap(),
                source: "s",
                message: "m",
                message_wtf8: None,
                context: Default::default(),
            };
            s.emit(&a).unwrap();
        }
        assert_eq!(s.by_metric["message.length"], [1, 0, 1]);
        assert_eq!(s.metric_total("message.length"), 2);
        assert_eq!(s.metric_total("nope"), 0);
        let doc = RunStats {
            anomalies: s,
            ..Default::default()
        }
        .to_json();
        assert_eq!(doc["anomalies"]["by_metric"]["message.length"], 2);
        assert_eq!(doc["anomalies"]["by_severity"]["high"], 1);
        assert_eq!(doc["delivery"], json!([]));
        assert!(doc.get("follow").is_none() && doc.get("checkpoints").is_none());
    }
}
