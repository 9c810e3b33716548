//! `worker`: join the workers of a log stream, own a fair share of its partitions
//! through leases, run each through the engine (the flags of `watch`), publish the
//! anomalies to the anomaly stream, checkpoint each partition after its anomalies are
//! stored; on SIGTERM (or SIGINT) checkpoint, release the leases and exit. The loop
//! itself is `trace_sentinel_bus::Worker`; this module wires NATS to it and reports.

use super::common::{bus, connect, host_name, millis, patiently};
use crate::cli::nats::WorkerArgs;
use crate::cmd::persist::TOP_TEMPLATES;
use crate::cmd::telemetry::Telemetry;
use crate::cmd::Outcome;
use crate::signals::Signals;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use trace_sentinel_bus::layout::check_subject_prefix;
use trace_sentinel_bus::{Worker, WorkerOptions};
use trace_sentinel_core::fsutil::check_writable;
use trace_sentinel_core::{Error, ShardBy};
use trace_sentinel_nats::checkpoint::NatsCheckpointStore;
use trace_sentinel_nats::feed::NatsPartitionFeed;
use trace_sentinel_nats::lease::NatsCoordinator;
use trace_sentinel_nats::publish::NatsAnomalySink;
use trace_sentinel_nats::streams;

type NatsWorker = Worker<NatsCoordinator, NatsCheckpointStore, NatsPartitionFeed, NatsAnomalySink>;

/// How often `--stats-json` is rewritten.
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
    let mut telemetry = Telemetry::start(&args.metrics, Vec::new())?;
    let s = &args.stream;
    let conn = connect(&s.nats, &format!("trace-sentinel worker {id}"))?;
    let stop = signals.stop_flag();
    let mut said_waiting = false;
    let stopped = || Outcome::Summary {
        line: "stopped — no stream to read".into(),
        code: if signals.terminated() { 0 } else { 130 },
    };
    let layout = loop {
        let Some(found) = patiently(stop, || streams::load_layout(&conn, &s.stream))? else {
            return Ok(stopped());
        };
        if let Some(l) = found {
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
            return Ok(stopped());
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
    let Some(anomaly_stream) = patiently(stop, || {
        streams::ensure_anomaly_stream(&conn, &args.anomalies, replicas)
    })?
    else {
        return Ok(stopped());
    };
    let Some(coord) = patiently(stop, || {
        NatsCoordinator::join(&conn, &s.stream, layout.partitions, &id, ttl, replicas)
    })?
    else {
        return Ok(stopped());
    };
    if coord.ttl() != ttl {
        say!(
            "trace-sentinel: note: the leases of stream {} expire after {} ms (fixed by the first worker), not --lease-ttl {} ms",
            s.stream,
            coord.ttl().as_millis(),
            ttl.as_millis()
        );
    }
    let ttl_in_force = coord.ttl();
    let Some(store) = patiently(stop, || {
        NatsCheckpointStore::open(&conn, &s.stream, replicas)
    })?
    else {
        return Ok(stopped());
    };
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
    let stats_json = |worker: &NatsWorker, final_: bool| -> Result<(), Error> {
        if let Some(p) = &args.stats_json {
            let written = worker
                .run_stats(start.elapsed(), &id, TOP_TEMPLATES)
                .write_to(p);
            if final_ {
                written?;
            }
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
            stats_json(&worker, false)?;
            last_report = Instant::now();
        }
        if telemetry.due() {
            telemetry.publish(worker.run_stats(start.elapsed(), &id, TOP_TEMPLATES));
        }
    }
    let shut = worker.shutdown().map_err(bus);
    for n in worker.take_notices() {
        say!("trace-sentinel: {n}");
    }
    telemetry.publish(worker.run_stats(start.elapsed(), &id, TOP_TEMPLATES));
    stats_json(&worker, true)?;
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
