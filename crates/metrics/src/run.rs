//! The metric families of a run, rendered from the same [`RunStats`] that
//! `--stats-json` writes. Every name is defined here once; the HUD's `/metrics` calls
//! [`render_engine`] and [`render_deliveries`] and adds its own families after them.
//!
//! | family | type | from |
//! |---|---|---|
//! | `trace_sentinel_build_info{version}` | gauge | the build |
//! | `trace_sentinel_events_total` | counter | `events` |
//! | `trace_sentinel_anomalies_total{metric,severity}` | counter | `anomalies` |
//! | `trace_sentinel_sources` | gauge | `sources` |
//! | `trace_sentinel_<counter>_total` | counter | `counters` (overflow events, dropped metrics, ...) |
//! | `trace_sentinel_read_bytes_total` | counter | `bytes` |
//! | `trace_sentinel_stage_duration_seconds{stage}` | histogram | `stages` |
//! | `trace_sentinel_follow_lag_bytes{path}`, `..._lag_seconds{path}` | gauge | `follow` |
//! | `trace_sentinel_follow_read_bytes_total{path}` | counter | `follow` |
//! | `trace_sentinel_follow_rotations_total{path,kind}` | counter | `follow` |
//! | `trace_sentinel_checkpoints_total`, `..._checkpoint_failures_total` | counter | `checkpoints` |
//! | `trace_sentinel_checkpoint_written_bytes_total`, `..._checkpoint_last_bytes` | counter, gauge | `checkpoints` |
//! | `trace_sentinel_checkpoint_duration_seconds` | histogram | `checkpoints` |
//! | `trace_sentinel_delivery_anomalies_total{sink,target,outcome}` | counter | `deliveries` |
//! | `trace_sentinel_delivery_pending{sink,target}` | gauge | `deliveries` |
//! | `trace_sentinel_delivery_requests_total{sink,target}`, `..._retries_total` | counter | `deliveries` |
//! | `trace_sentinel_worker_info{worker}` | gauge | `worker` |
//! | `trace_sentinel_worker_lines_total` | counter | `worker` |
//! | `trace_sentinel_worker_anomalies_total{result}` | counter | `worker` (stored, duplicate) |
//! | `trace_sentinel_worker_partition_changes_total{change}` | counter | `worker` (claimed, resumed, surrendered, lost, rewound) |
//! | `trace_sentinel_worker_format_mismatches_total` | counter | `worker` |
//! | `trace_sentinel_worker_partitions_owned` | gauge | `worker` |
//! | `trace_sentinel_worker_partition_last_seq{partition}` | gauge | `worker` |

use crate::exposition::{Exposition, Kind};
use trace_sentinel_core::stats::{DeliveryCounts, FollowFileStats, RunStats};
use trace_sentinel_core::Severity;

/// Help texts of the `counters` of a [`RunStats`], by key; a key not listed here is
/// still rendered, with a generic help text.
const COUNTER_HELP: [(&str, &str); 4] = [
    (
        "overflow_events",
        "Events routed to the overflow shard (sources past --max-sources).",
    ),
    (
        "metrics_dropped",
        "Metric values dropped at the per-shard metric cap.",
    ),
    (
        "interarrival_untracked",
        "Inter-arrival values not computed because the source table was full.",
    ),
    (
        "oversized_lines",
        "Lines longer than --max-line-bytes (measured whole, kept as a prefix).",
    ),
];

/// Every family of a run: build, engine, input, follow mode and checkpoints,
/// deliveries, a worker's partitions.
pub fn render_run(stats: &RunStats, out: &mut Exposition) {
    render_engine(stats, out);
    render_input(stats, out);
    render_follow(stats, out);
    render_deliveries(stats, out);
    render_worker(stats, out);
}

/// The build and what the engine did: events, anomalies by metric and severity, sources
/// and the bounded-resource counters.
pub fn render_engine(stats: &RunStats, out: &mut Exposition) {
    out.family(
        "trace_sentinel_build_info",
        Kind::Gauge,
        "The running trace-sentinel's version (always 1).",
    );
    out.sample(
        "trace_sentinel_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
    out.one(
        "trace_sentinel_events_total",
        Kind::Counter,
        "Events (log lines or records) observed.",
        stats.events as f64,
    );
    out.family(
        "trace_sentinel_anomalies_total",
        Kind::Counter,
        "Anomalies surfaced, by metric and severity.",
    );
    for (metric, counts) in &stats.anomalies.by_metric {
        for severity in Severity::ALL {
            let n = counts[severity as usize];
            if n > 0 {
                out.sample(
                    "trace_sentinel_anomalies_total",
                    &[("metric", metric), ("severity", severity.as_str())],
                    n as f64,
                );
            }
        }
    }
    out.one(
        "trace_sentinel_sources",
        Kind::Gauge,
        "Sources with a detector shard of their own (the overflow shard not counted).",
        stats.sources as f64,
    );
    for (key, n) in &stats.counters {
        let help = COUNTER_HELP
            .iter()
            .find(|(k, _)| k == key)
            .map_or("A run counter (see --stats-json).", |(_, h)| h);
        out.one(
            &format!("trace_sentinel_{key}_total"),
            Kind::Counter,
            help,
            *n as f64,
        );
    }
}

/// Input read and the per-stage latencies.
pub fn render_input(stats: &RunStats, out: &mut Exposition) {
    out.one(
        "trace_sentinel_read_bytes_total",
        Kind::Counter,
        "Input bytes read (decompressed for gzip).",
        stats.bytes as f64,
    );
    out.family(
        "trace_sentinel_stage_duration_seconds",
        Kind::Histogram,
        "Time per unit of work of each pipeline stage (a chunk for scan; a block, or a round of reading when following, for watch).",
    );
    for (stage, h) in &stats.stages {
        out.histogram(
            "trace_sentinel_stage_duration_seconds",
            &[("stage", stage)],
            h,
        );
    }
}

/// A family with one sample per followed path.
fn per_path(
    out: &mut Exposition,
    stats: &RunStats,
    name: &str,
    kind: Kind,
    help: &str,
    value: impl Fn(&FollowFileStats) -> f64,
) {
    out.family(name, kind, help);
    for f in &stats.follow {
        out.sample(name, &[("path", &f.path)], value(f));
    }
}

/// A family with one sample per delivery endpoint.
fn per_endpoint(
    out: &mut Exposition,
    stats: &RunStats,
    name: &str,
    kind: Kind,
    help: &str,
    value: impl Fn(&DeliveryCounts) -> f64,
) {
    out.family(name, kind, help);
    for d in &stats.deliveries {
        out.sample(
            name,
            &[("sink", d.sink), ("target", &d.target)],
            value(&d.counts),
        );
    }
}

/// Followed files and checkpoints (nothing outside follow mode).
pub fn render_follow(stats: &RunStats, out: &mut Exposition) {
    if !stats.follow.is_empty() {
        per_path(
            out,
            stats,
            "trace_sentinel_follow_lag_bytes",
            Kind::Gauge,
            "Bytes written to a followed path's files and not read yet.",
            |f| f.lag_bytes as f64,
        );
        per_path(
            out,
            stats,
            "trace_sentinel_follow_lag_seconds",
            Kind::Gauge,
            "How long a followed path has had unread bytes (0 when caught up).",
            |f| f.lag_seconds,
        );
        per_path(
            out,
            stats,
            "trace_sentinel_follow_read_bytes_total",
            Kind::Counter,
            "Bytes read from a followed path's files.",
            |f| f.read_bytes as f64,
        );
        out.family(
            "trace_sentinel_follow_rotations_total",
            Kind::Counter,
            "Rotations seen on a followed path: kind=\"replaced\" (rename/create, delete/re-create), kind=\"truncated\" (copytruncate).",
        );
        for f in &stats.follow {
            for (kind, n) in [("replaced", f.rotations), ("truncated", f.truncations)] {
                out.sample(
                    "trace_sentinel_follow_rotations_total",
                    &[("path", &f.path), ("kind", kind)],
                    n as f64,
                );
            }
        }
    }
    if let Some(c) = &stats.checkpoints {
        out.one(
            "trace_sentinel_checkpoints_total",
            Kind::Counter,
            "Checkpoints (state and statistics files) written.",
            c.written as f64,
        );
        out.one(
            "trace_sentinel_checkpoint_failures_total",
            Kind::Counter,
            "Checkpoints that failed (retried at the next interval).",
            c.failed as f64,
        );
        out.one(
            "trace_sentinel_checkpoint_written_bytes_total",
            Kind::Counter,
            "Bytes of state and statistics files written by checkpoints.",
            c.bytes_total as f64,
        );
        out.one(
            "trace_sentinel_checkpoint_last_bytes",
            Kind::Gauge,
            "Size of the last checkpoint, in bytes.",
            c.last_bytes as f64,
        );
        out.family(
            "trace_sentinel_checkpoint_duration_seconds",
            Kind::Histogram,
            "Time a checkpoint took, from serialising to the directory sync.",
        );
        out.histogram(
            "trace_sentinel_checkpoint_duration_seconds",
            &[],
            &c.duration,
        );
    }
}

/// What each delivery endpoint (`--webhook`, `--alertmanager`) did.
pub fn render_deliveries(stats: &RunStats, out: &mut Exposition) {
    out.family(
        "trace_sentinel_delivery_anomalies_total",
        Kind::Counter,
        "Anomalies handed to a delivery endpoint, by outcome: delivered, dropped (queue full), failed (given up).",
    );
    for d in &stats.deliveries {
        for (outcome, n) in [
            ("delivered", d.counts.delivered),
            ("dropped", d.counts.dropped),
            ("failed", d.counts.failed),
        ] {
            out.sample(
                "trace_sentinel_delivery_anomalies_total",
                &[
                    ("sink", d.sink),
                    ("target", &d.target),
                    ("outcome", outcome),
                ],
                n as f64,
            );
        }
    }
    per_endpoint(
        out,
        stats,
        "trace_sentinel_delivery_pending",
        Kind::Gauge,
        "Anomalies queued for a delivery endpoint and not delivered or given up yet.",
        |c| c.pending() as f64,
    );
    per_endpoint(
        out,
        stats,
        "trace_sentinel_delivery_requests_total",
        Kind::Counter,
        "HTTP requests sent to a delivery endpoint, retries included.",
        |c| c.requests as f64,
    );
    per_endpoint(
        out,
        stats,
        "trace_sentinel_delivery_retries_total",
        Kind::Counter,
        "Retried HTTP requests to a delivery endpoint.",
        |c| c.retries as f64,
    );
}

/// A worker's share of a log stream (nothing outside `trace-sentinel worker`).
pub fn render_worker(stats: &RunStats, out: &mut Exposition) {
    let Some(w) = &stats.worker else {
        return;
    };
    out.family(
        "trace_sentinel_worker_info",
        Kind::Gauge,
        "The worker's name in the lease bucket (always 1).",
    );
    out.sample("trace_sentinel_worker_info", &[("worker", &w.id)], 1.0);
    out.one(
        "trace_sentinel_worker_lines_total",
        Kind::Counter,
        "Lines read from owned partitions (replays after a takeover included).",
        w.lines as f64,
    );
    out.family(
        "trace_sentinel_worker_anomalies_total",
        Kind::Counter,
        "Anomalies published, by what the anomaly stream did: result=\"stored\", or result=\"duplicate\" (a replay dropped by its id).",
    );
    for (result, n) in [("stored", w.published), ("duplicate", w.duplicates)] {
        out.sample(
            "trace_sentinel_worker_anomalies_total",
            &[("result", result)],
            n as f64,
        );
    }
    out.family(
        "trace_sentinel_worker_partition_changes_total",
        Kind::Counter,
        "Changes of ownership: claimed, resumed (claimed from a checkpoint), surrendered (handed back to balance), lost (lease expired or taken), rewound (restarted from its checkpoint after a failed publication).",
    );
    for (change, n) in [
        ("claimed", w.claimed),
        ("resumed", w.resumed),
        ("surrendered", w.surrendered),
        ("lost", w.lost),
        ("rewound", w.rewound),
    ] {
        out.sample(
            "trace_sentinel_worker_partition_changes_total",
            &[("change", change)],
            n as f64,
        );
    }
    out.one(
        "trace_sentinel_worker_format_mismatches_total",
        Kind::Counter,
        "Lines shipped in the other format (--jsonl or not) than the worker reads.",
        w.format_mismatches as f64,
    );
    out.one(
        "trace_sentinel_worker_partitions_owned",
        Kind::Gauge,
        "Partitions this worker owns now.",
        w.partitions.len() as f64,
    );
    out.family(
        "trace_sentinel_worker_partition_last_seq",
        Kind::Gauge,
        "The last log stream position an owned partition has observed.",
    );
    for (p, seq) in &w.partitions {
        out.sample(
            "trace_sentinel_worker_partition_last_seq",
            &[("partition", &p.to_string())],
            *seq as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trace_sentinel_core::stats::{
        CheckpointStats, DeliveryStats, PartitionWorkerStats, StageHistogram,
    };

    #[test]
    fn a_run_renders_every_family_once() {
        let mut stats = RunStats {
            events: 12,
            bytes: 345,
            sources: 2,
            ..Default::default()
        };
        stats
            .anomalies
            .by_metric
            .insert("attr.\"q\"".into(), [1, 0, 2]);
        stats.counters.insert("overflow_events", 3);
        stats.counters.insert("something_new", 4);
        stats
            .stages
            .insert("read_detect", StageHistogram::default());
        stats.follow.push(FollowFileStats {
            path: "/var/log/a.log".into(),
            lag_bytes: 10,
            lag_seconds: 1.5,
            read_bytes: 345,
            rotations: 1,
            truncations: 0,
        });
        stats.checkpoints = Some(CheckpointStats {
            written: 2,
            ..Default::default()
        });
        stats.deliveries.push(DeliveryStats {
            sink: "alertmanager",
            target: "http://127.0.0.1:9093".into(),
            counts: DeliveryCounts {
                queued: 5,
                delivered: 3,
                dropped: 1,
                failed: 1,
                requests: 4,
                retries: 1,
                last_failure: None,
            },
        });
        stats.worker = Some(PartitionWorkerStats {
            id: "w-1".into(),
            lines: 40,
            published: 5,
            duplicates: 2,
            claimed: 3,
            partitions: vec![(0, 17), (5, 23)],
            ..Default::default()
        });
        let mut e = Exposition::new();
        render_run(&stats, &mut e);
        let text = e.finish();
        for want in [
            "trace_sentinel_worker_info{worker=\"w-1\"} 1\n",
            "trace_sentinel_worker_lines_total 40\n",
            "trace_sentinel_worker_anomalies_total{result=\"duplicate\"} 2\n",
            "trace_sentinel_worker_partition_changes_total{change=\"claimed\"} 3\n",
            "trace_sentinel_worker_partitions_owned 2\n",
            "trace_sentinel_worker_partition_last_seq{partition=\"5\"} 23\n",
            "trace_sentinel_events_total 12\n",
            "trace_sentinel_read_bytes_total 345\n",
            "trace_sentinel_anomalies_total{metric=\"attr.\\\"q\\\"\",severity=\"warning\"} 1\n",
            "trace_sentinel_anomalies_total{metric=\"attr.\\\"q\\\"\",severity=\"critical\"} 2\n",
            "trace_sentinel_sources 2\n",
            "trace_sentinel_overflow_events_total 3\n",
            "trace_sentinel_something_new_total 4\n",
            "trace_sentinel_stage_duration_seconds_count{stage=\"read_detect\"} 0\n",
            "trace_sentinel_follow_lag_bytes{path=\"/var/log/a.log\"} 10\n",
            "trace_sentinel_follow_lag_seconds{path=\"/var/log/a.log\"} 1.5\n",
            "trace_sentinel_follow_rotations_total{path=\"/var/log/a.log\",kind=\"replaced\"} 1\n",
            "trace_sentinel_checkpoints_total 2\n",
            "trace_sentinel_checkpoint_duration_seconds_count 0\n",
            "trace_sentinel_delivery_anomalies_total{sink=\"alertmanager\",target=\"http://127.0.0.1:9093\",outcome=\"dropped\"} 1\n",
            "trace_sentinel_delivery_pending{sink=\"alertmanager\",target=\"http://127.0.0.1:9093\"} 1\n",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
        assert!(
            !text.contains("severity=\"high\""),
            "zero samples are left out"
        );
        let mut types: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        let n = types.len();
        types.sort_unstable();
        types.dedup();
        assert_eq!(types.len(), n, "a family is declared twice");
        for t in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
            let (name, kind) = t.split_once(' ').unwrap();
            assert!(name.starts_with("trace_sentinel_"), "{name}");
            assert_eq!(name.ends_with("_total"), kind == "counter", "{t}");
        }
    }

    #[test]
    fn outside_follow_mode_there_are_no_follow_or_worker_families() {
        let mut e = Exposition::new();
        render_run(&RunStats::default(), &mut e);
        let text = e.finish();
        assert!(
            !text.contains("trace_sentinel_follow")
                && !text.contains("trace_sentinel_checkpoint")
                && !text.contains("trace_sentinel_worker"),
            "{text}"
        );
        assert!(text.contains("trace_sentinel_delivery_anomalies_total counter"));
    }
}
