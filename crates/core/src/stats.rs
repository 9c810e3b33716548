//! Run statistics: counts, throughput and per-stage latency histograms (hdrhistogram),
//! written as the `--stats-json` file by `scan` and follow mode. A sink ([`StatsSink`])
//! counts anomalies by metric and severity without changing them.

use crate::anomaly::{Anomaly, Severity};
use crate::sink::Sink;
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::Duration;

/// Latency histogram of one pipeline stage, in microseconds.
#[derive(Debug, Clone)]
pub struct StageHistogram {
    hist: Histogram<u64>,
}

impl Default for StageHistogram {
    fn default() -> Self {
        StageHistogram {
            // 1 µs .. 1 hour at 3 significant digits: constant, valid bounds.
            hist: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("constant histogram bounds are valid"),
        }
    }
}

impl StageHistogram {
    /// Record one duration.
    pub fn record(&mut self, d: Duration) {
        let us = (d.as_micros() as u64).clamp(1, 3_600_000_000);
        let _ = self.hist.record(us);
    }

    /// Record a value already in microseconds.
    pub fn record_us(&mut self, us: u64) {
        let _ = self.hist.record(us.clamp(1, 3_600_000_000));
    }

    /// Merge another histogram in.
    pub fn add(&mut self, other: &StageHistogram) {
        let _ = self.hist.add(&other.hist);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
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
    /// Anomalies per metric name.
    pub by_metric: BTreeMap<String, u64>,
    /// Anomalies per severity (warning, high, critical).
    pub by_severity: [u64; 3],
    /// Total anomalies.
    pub total: u64,
}

impl Sink for StatsSink {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        self.total += 1;
        self.by_severity[a.severity as usize] += 1;
        match self.by_metric.get_mut(a.metric) {
            Some(n) => *n += 1,
            None => {
                self.by_metric.insert(a.metric.to_string(), 1);
            }
        }
        Ok(())
    }
}

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
}

impl RunStats {
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
        let mut doc = json!({
            "events": self.events,
            "bytes": self.bytes,
            "anomalies": {
                "total": self.anomalies.total,
                "by_metric": self.anomalies.by_metric,
                "by_severity": by_severity,
            },
            "elapsed_s": secs,
            "throughput_mb_s": if secs > 0.0 { self.bytes as f64 / 1e6 / secs } else { 0.0 },
            "threads": self.threads,
            "stages": stages,
            "counters": self.counters,
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
        doc
    }

    /// Write the JSON document atomically (temp file + fsync + rename).
    pub fn write_to(&self, path: &Path) -> crate::error::Result<()> {
        let text = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default();
        crate::fsutil::write_atomic(path, text.as_bytes())
    }
}
