//! Flags of the NATS JetStream commands (`ship`, `worker`, `tail-anomalies`) and their
//! checks into plain values. The commands live in `cmd/nats/`; without the `nats`
//! feature the flags still parse and the commands refuse to run.

use super::{DetectArgs, Format, MetricsArgs};
use clap::Args;
use std::path::PathBuf;
use trace_sentinel_core::Error;

#[cfg_attr(not(feature = "nats"), allow(dead_code))]
fn invalid(flag: &'static str, reason: impl Into<String>) -> Error {
    Error::Config {
        flag,
        reason: reason.into(),
    }
}

/// Where the log stream is, shared by `ship` and `worker`.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// NATS server URL, e.g. nats://127.0.0.1:4222 (several, comma-separated, for a
    /// cluster).
    #[arg(long, value_name = "URL", required = true)]
    pub nats: String,
    /// JetStream stream of the log lines (created when missing).
    #[arg(long, value_name = "NAME", default_value = "LOGS")]
    pub stream: String,
    /// Subject prefix of the log lines: each travels on SUBJECT.PARTITION.TOKEN (TOKEN:
    /// its source made subject-safe).
    #[arg(long, value_name = "SUBJECT", default_value = "logs")]
    pub subject: String,
    /// Replicas (1 to 5) of the streams and buckets this command creates; 3 on a
    /// three-node cluster.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub replicas: i64,
}

impl StreamArgs {
    /// Check the names and counts.
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    pub fn validate(&self) -> Result<usize, Error> {
        #[cfg(feature = "nats")]
        trace_sentinel_nats::check_url(&self.nats).map_err(|e| invalid("--nats", e.to_string()))?;
        #[cfg(feature = "nats")]
        {
            use trace_sentinel_bus::layout::{check_name, check_subject_prefix};
            check_name(&self.stream).map_err(|r| invalid("--stream", r))?;
            check_subject_prefix(&self.subject).map_err(|r| invalid("--subject", r))?;
        }
        if !(1..=5).contains(&self.replicas) {
            return Err(invalid(
                "--replicas",
                format!("{} (must be 1 to 5)", self.replicas),
            ));
        }
        Ok(self.replicas as usize)
    }
}

/// `trace-sentinel ship`.
#[derive(Debug, Args)]
pub struct ShipArgs {
    /// Log files to ship, in order (`-` reads stdin; gzip, xz, zstd and bzip2 are
    /// decompressed, recognised by their magic bytes).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub stream: StreamArgs,
    /// Partitions of a stream this run creates, 1 to 1024 (an existing stream keeps its
    /// own; giving a different number is an error) [default: 16].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub partitions: Option<i64>,
    /// Lines are JSON: each is routed by its own source field, as the engine reads it.
    #[arg(long)]
    pub jsonl: bool,
    /// Source label of plain-text lines (and of JSON lines without a source field)
    /// [default: the file name].
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Read inputs that look binary (a NUL byte in their first 32 KiB) instead of
    /// skipping them with a note.
    #[arg(long)]
    pub binary: bool,
    /// Longest line shipped whole, in bytes (>= 1; also capped by the server's message
    /// size); a longer line is shipped as its first N bytes with the whole line's
    /// length and token count.
    #[arg(
        long = "max-line-bytes",
        value_name = "N",
        default_value_t = 1 << 20,
        allow_negative_numbers = true
    )]
    pub max_line_bytes: i64,
    /// Follow the files like `tail -F` through rotation; runs until SIGINT/SIGTERM.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// With --follow: read files that have no checkpoint from their start [default:
    /// end].
    #[arg(long = "from-start", requires = "follow")]
    pub from_start: bool,
    /// With --follow: keep the positions of the lines the stream has stored in DIR and
    /// resume from them [default: none].
    #[arg(long, value_name = "DIR", requires = "follow")]
    pub state: Option<PathBuf>,
    /// With --follow: re-check interval in ms (>= 1) when file events are unavailable.
    #[arg(
        long = "poll-interval",
        value_name = "MS",
        default_value_t = 250,
        allow_negative_numbers = true
    )]
    pub poll_interval: i64,
    /// How often the lines shipped so far are awaited and --state and --stats-json
    /// rewritten, in ms (>= 1).
    #[arg(
        long = "checkpoint-interval",
        value_name = "MS",
        default_value_t = 1000,
        allow_negative_numbers = true
    )]
    pub checkpoint_interval: i64,
    /// With --follow: how long a rotated-away file must stay quiet before it is closed,
    /// in ms (>= 0).
    #[arg(
        long = "rotate-wait",
        value_name = "MS",
        default_value_t = 5000,
        allow_negative_numbers = true
    )]
    pub rotate_wait: i64,
    /// With --follow: poll only, without file events (e.g. on NFS) [default: events].
    #[arg(long = "no-events", requires = "follow")]
    pub no_events: bool,
    /// Write shipping statistics as JSON to FILE (at exit, and with --follow at every
    /// checkpoint) [default: none].
    #[arg(long = "stats-json", value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
}

/// `trace-sentinel worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub stream: StreamArgs,
    /// Subject prefix of the anomalies: each is published on ANOMALIES.TOKEN (TOKEN: its
    /// source made subject-safe), into the stream holding ANOMALIES.> (created when
    /// missing).
    #[arg(long, value_name = "SUBJECT", default_value = "anomalies")]
    pub anomalies: String,
    /// How long a partition's lease outlives its worker, in ms (1000 to 60000): a worker
    /// that dies is replaced after about this long. Every worker of a stream should use
    /// the same value (the first one fixes it).
    #[arg(
        long = "lease-ttl",
        value_name = "MS",
        default_value_t = 10_000,
        allow_negative_numbers = true
    )]
    pub lease_ttl: i64,
    /// How often owned partitions are checkpointed (detector state and stream position,
    /// after their anomalies are stored), in ms (>= 1).
    #[arg(
        long = "checkpoint-interval",
        value_name = "MS",
        default_value_t = 1000,
        allow_negative_numbers = true
    )]
    pub checkpoint_interval: i64,
    /// Write worker statistics as JSON to FILE (at every checkpoint and at exit)
    /// [default: none].
    #[arg(long = "stats-json", value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    /// This worker's name in the lease bucket [default: HOST-PID-RANDOM].
    #[arg(long = "worker-id", value_name = "ID")]
    pub worker_id: Option<String>,
    #[command(flatten)]
    pub detect: DetectArgs,
}

impl WorkerArgs {
    /// Refuse the output flags the detection group brings along: a worker publishes
    /// anomalies to NATS (read them with `tail-anomalies`).
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    pub fn refuse_output_flags(&self) -> Result<(), Error> {
        if self.detect.format != Format::Text {
            return Err(invalid(
                "--format",
                "a worker publishes anomalies to NATS as JSON; read them with 'trace-sentinel tail-anomalies --format json'",
            ));
        }
        if self.detect.webhook.webhook.is_some() {
            return Err(invalid(
                "--webhook",
                "not supported by the worker; read the anomaly stream instead",
            ));
        }
        if !self.detect.alerts.alertmanager.is_empty() {
            return Err(invalid(
                "--alertmanager",
                "not supported by the worker; read the anomaly stream instead",
            ));
        }
        Ok(())
    }
}

/// `trace-sentinel tail-anomalies`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// NATS server URL, e.g. nats://127.0.0.1:4222 (several, comma-separated).
    #[arg(long, value_name = "URL", required = true)]
    pub nats: String,
    /// Subject prefix of the anomalies (the stream holding ANOMALIES.> is read).
    #[arg(long, value_name = "SUBJECT", default_value = "anomalies")]
    pub anomalies: String,
    /// Output format: text (human entries on stderr) or json (the objects on stdout).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Keep printing new anomalies until SIGINT/SIGTERM [default: stop at the last one].
    #[arg(short = 'f', long)]
    pub follow: bool,
}
