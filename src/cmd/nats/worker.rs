//! `worker`: join the workers of a log stream, own a fair share of its partitions
//! through leases, run each through the engine (the flags of `watch`), publish the
//! anomalies to the anomaly stream, checkpoint each partition after its anomalies are
//! stored; on SIGTERM (or SIGINT) checkpoint, release the leases and exit. The loop
//! itself is `trace_sentinel_bus::Worker`; this module wires NATS to it and reports.

use super::common::{bus, connect, host_name, millis, nats};
use super::metrics::{label, MetricsEndpoint};
use crate::cli::nats::WorkerArgs;
use crate::cmd::Outcome;
use crate::signals::Signals;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use trace_sentinel_bus::layout::check_subject_prefix;
use trace_sentinel_bus::{Worker, WorkerOptions};
use trace_sentinel_core::fsutil::{check_writable, write_atomic};
use trace_sentinel_core::stats::RunStats;
use trace_sentinel_core::{Error, ShardBy};
use trace_sentinel_nats::checkpoint::NatsCheckpointStore;
use trace_sentinel_nats::feed::NatsPartitionFeed;
use trace_sentinel_nats::lease::NatsCoordinator;
use trace_sentinel_nats::publish::NatsAnomalySink;
use trace_sentinel_nats::streams;

type NatsWorker = Worker<NatsCoordinator, NatsCheckpointStore, NatsPartitionFeed, NatsAnomalySink>;

/// How often statistics and metrics are refreshed.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// A worker id unique enough: host, process and a little clock noise.
fn default_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let host: String = host_name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    format!("{host}-{}-{:04x}", std::process::id(), nanos & 0xffff)
}

/// Run `worker`.
pub fn run(args: WorkerArgs, signals: &Signals) -> Result<Outcome, Error> {
    let replicas = args.stream.validate()?;
    args.refuse_output_flags()?;
    check_subject_prefix(&args.anomalies).map_err(|reason| Error::Config {
        flag: "--anomalies",
        reason,
    })?;
    let ttl = millis("--lease-ttl", args.lease_ttl, 1000, 60_000)?;
    let every = millis(
        "--checkpoint-interval",
        args.checkpoint_interval,
        1,
        i64::MAX,
    )?;
    let (cfg, format) = args.detect.to_config(false)?;
    let id = match &args.worker_id {
        Some(id)
            if !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            id.clone()
        }
        Some(id) => {
            return Err(Error::Config {
                flag: "--worker-id",
                reason: format!("'{id}' (must be 1 to 64 letters, digits, '-' and '_')"),
            })
        }
        None => default_id(),
    };
    if let Some(p) = &args.stats_json {
        check_writable(p)?;
    }
    let endpoint = match &args.metrics_addr {
        Some(spec) => {
            let e = MetricsEndpoint::start(spec)?;
            say!("trace-sentinel: metrics on {}", e.url());
            Some(e)
        }
        None => None,
    };
    let s = &args.stream;
    let conn = connect(&s.nats, &format!("trace-sentinel worker {id}"))?;
    let stop = signals.stop_flag();
    let mut said_waiting = false;
    let layout = loop {
        if let Some(l) = streams::load_layout(&conn, &s.stream).map_err(nats)? {
            break l;
        }
        if !said_waiting {
            say!(
                "trace-sentinel: note: stream {} has no layout yet; waiting for the first 'trace-sentinel ship' to create it",
                s.stream
            );
            said_waiting = true;
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(Outcome::Summary {
                line: "stopped — no stream to read".into(),
                code: if signals.terminated() { 0 } else { 130 },
            });
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    if layout.subject != s.subject {
        return Err(Error::Config {
            flag: "--subject",
            reason: format!(
                "'{}' (stream {} carries its lines on '{}')",
                s.subject, s.stream, layout.subject
            ),
        });
    }
    if cfg.shard_by == ShardBy::None && layout.partitions > 1 {
        return Err(Error::Config {
            flag: "--shard-by",
            reason: format!(
                "none needs one set of baselines over every source, but stream {} has {} partitions (ship into a stream created with --partitions 1)",
                s.stream, layout.partitions
            ),
        });
    }
    let anomaly_stream =
        streams::ensure_anomaly_stream(&conn, &args.anomalies, replicas).map_err(nats)?;
    let coord = NatsCoordinator::join(&conn, &s.stream, layout.partitions, &id, ttl, replicas)
        .map_err(nats)?;
    if coord.ttl() != ttl {
        say!(
            "trace-sentinel: note: the leases of stream {} expire after {} ms (fixed by the first worker), not --lease-ttl {} ms",
            s.stream,
            coord.ttl().as_millis(),
            ttl.as_millis()
        );
    }
    let ttl_in_force = coord.ttl();
    let store = NatsCheckpointStore::open(&conn, &s.stream, replicas).map_err(nats)?;
    let feed = NatsPartitionFeed::new(&conn, &s.stream, layout.clone());
    let out = NatsAnomalySink::new(conn.clone(), &args.anomalies);
    let opts = WorkerOptions {
        cfg,
        format,
        max_line_bytes: args.detect.max_line_bytes as usize,
        seed: args.detect.seed as usize,
        stream: s.stream.clone(),
        checkpoint_every: every,
        batch: 512,
    };
    let mut worker: NatsWorker = Worker::new(opts, coord, store, feed, out);
    say!(
        "trace-sentinel: worker {id}: stream {} ({} partitions) → {}.> in stream {anomaly_stream}; leases expire after {} ms",
        s.stream,
        layout.partitions,
        args.anomalies,
        ttl_in_force.as_millis()
    );
    let start = Instant::now();
    let mut last_report = start;
    let report = |worker: &NatsWorker, final_: bool| -> Result<(), Error> {
        if let Some(p) = &args.stats_json {
            let text = serde_json::to_string_pretty(&stats_doc(worker, start.elapsed(), &id))
                .unwrap_or_default();
            let written = write_atomic(p, text.as_bytes());
            if final_ {
                written?;
            }
        }
        if let Some(e) = &endpoint {
            e.publish(metrics_text(worker, &id));
        }
        Ok(())
    };
    let mut outcome = Ok(());
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = worker.step() {
            outcome = Err(bus(e));
            break;
        }
        for n in worker.take_notices() {
            say!("trace-sentinel: {n}");
        }
        if last_report.elapsed() >= REPORT_EVERY {
            report(&worker, false)?;
            last_report = Instant::now();
        }
    }
    let shut = worker.shutdown().map_err(bus);
    for n in worker.take_notices() {
        say!("trace-sentinel: {n}");
    }
    report(&worker, true)?;
    outcome?;
    shut?;
    let st = worker.stats();
    let line = format!(
        "stopped — {} anomal{} published ({} already in the stream) from {} line(s)",
        st.published,
        if st.published == 1 { "y" } else { "ies" },
        st.duplicates,
        st.lines
    );
    Ok(Outcome::Summary {
        line,
        code: if signals.terminated() { 0 } else { 130 },
    })
}

/// The `--stats-json` document: the engine's run statistics over every partition this
/// worker observed, plus a `worker` section.
fn stats_doc(worker: &NatsWorker, elapsed: Duration, id: &str) -> serde_json::Value {
    let st = worker.stats();
    let mut run = RunStats {
        events: st.events,
        bytes: st.bytes,
        anomalies: worker.anomaly_counts().clone(),
        elapsed,
        threads: 1,
        ..Default::default()
    };
    run.counters
        .insert("oversized_lines", worker.oversized_lines());
    let mut doc = run.to_json();
    let owned: Vec<serde_json::Value> = worker
        .owned()
        .iter()
        .map(|(p, seq)| serde_json::json!({"partition": p, "last_seq": seq}))
        .collect();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "worker".into(),
            serde_json::json!({
                "id": id,
                "lines": st.lines,
                "published": st.published,
                "duplicates": st.duplicates,
                "checkpoints": st.checkpoints,
                "claimed": st.claimed,
                "resumed": st.resumed,
                "surrendered": st.surrendered,
                "lost": st.lost,
                "rewound": st.rewound,
                "format_mismatches": st.format_mismatches,
                "partitions": owned,
            }),
        );
    }
    doc
}

/// The Prometheus text of the worker's counters.
fn metrics_text(worker: &NatsWorker, id: &str) -> String {
    let st = worker.stats();
    let w = label(id);
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP trace_sentinel_worker_{name} {help}");
        let _ = writeln!(out, "# TYPE trace_sentinel_worker_{name} {kind}");
        let _ = writeln!(
            out,
            "trace_sentinel_worker_{name}{{worker=\"{w}\"}} {value}"
        );
    };
    metric(
        "lines_total",
        "counter",
        "Lines observed (replays included).",
        st.lines,
    );
    metric(
        "events_total",
        "counter",
        "Events the engines observed.",
        st.events,
    );
    metric(
        "bytes_total",
        "counter",
        "Bytes of the lines observed.",
        st.bytes,
    );
    metric(
        "anomalies_published_total",
        "counter",
        "Anomalies the stream stored.",
        st.published,
    );
    metric(
        "anomalies_duplicate_total",
        "counter",
        "Anomalies the stream already had (replays).",
        st.duplicates,
    );
    metric(
        "checkpoints_total",
        "counter",
        "Partition checkpoints written.",
        st.checkpoints,
    );
    metric(
        "partitions_claimed_total",
        "counter",
        "Partitions claimed.",
        st.claimed,
    );
    metric(
        "partitions_lost_total",
        "counter",
        "Partitions lost (lease expired or taken).",
        st.lost,
    );
    metric(
        "partitions_surrendered_total",
        "counter",
        "Partitions handed back to balance the workers.",
        st.surrendered,
    );
    metric(
        "partitions_rewound_total",
        "counter",
        "Partitions restarted from their checkpoint after a failed publication.",
        st.rewound,
    );
    let owned = worker.owned();
    metric(
        "partitions_owned",
        "gauge",
        "Partitions owned now.",
        owned.len() as u64,
    );
    let _ = writeln!(out, "# HELP trace_sentinel_worker_partition_last_seq Last log stream position observed, per owned partition.");
    let _ = writeln!(out, "# TYPE trace_sentinel_worker_partition_last_seq gauge");
    for (p, seq) in owned {
        let _ = writeln!(
            out,
            "trace_sentinel_worker_partition_last_seq{{worker=\"{w}\",partition=\"{p}\"}} {seq}"
        );
    }
    let _ = writeln!(out, "# HELP trace_sentinel_worker_anomalies_detected_total Anomalies detected, by metric (replays included).");
    let _ = writeln!(
        out,
        "# TYPE trace_sentinel_worker_anomalies_detected_total counter"
    );
    for (m, n) in &worker.anomaly_counts().by_metric {
        let _ = writeln!(
            out,
            "trace_sentinel_worker_anomalies_detected_total{{worker=\"{w}\",metric=\"{}\"}} {}",
            label(m),
            n.iter().sum::<u64>()
        );
    }
    out
}
