//! Command-line flags (clap derive) and their validation into plain library values.
//! No clap type crosses into the library.

pub mod hud;
pub mod nats;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use trace_sentinel_core::{Config, DetectorKind, Error, InputFormat, ShardBy};

/// trace-sentinel — passive anomaly detection for logs and events.
#[derive(Debug, Parser)]
#[command(
    name = "trace-sentinel",
    version,
    about,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read log files (or stdin) in order and report anomalies.
    Watch(WatchArgs),
    /// Batch-scan files in parallel (memory-mapped, `.gz` streamed); same results as `watch`.
    Scan(ScanArgs),
    /// Live web dashboard (threat gauge, sigma meters, anomaly feed) over files, stdin or journald.
    Hud(hud::HudArgs),
    /// Print a shell completion script (bash, zsh or fish) on stdout.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) of trace-sentinel or of one of its commands on stdout.
    Man(ManArgs),
    /// Publish log lines to a NATS JetStream stream, partitioned by source.
    Ship(nats::ShipArgs),
    /// Detect anomalies in a share of a NATS log stream's partitions; publish them to NATS.
    #[command(
        mut_arg("format", |a| a.hide(true)),
        mut_arg("webhook", |a| a.hide(true)),
        mut_arg("webhook_header", |a| a.hide(true)),
        mut_arg("alertmanager", |a| a.hide(true)),
        mut_arg("alert_label", |a| a.hide(true)),
        mut_arg("alert_resolve_after", |a| a.hide(true))
    )]
    Worker(nats::WorkerArgs),
    /// Print the anomalies workers published to NATS, as text or JSON.
    TailAnomalies(nats::TailArgs),
}

/// Shells `completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    /// Bash (install as /usr/share/bash-completion/completions/trace-sentinel).
    Bash,
    /// Zsh (install as _trace-sentinel in a directory of $fpath).
    Zsh,
    /// Fish (install as ~/.config/fish/completions/trace-sentinel.fish).
    Fish,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: ShellArg,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (trace-sentinel-COMMAND(1)) [default: the main
    /// page, trace-sentinel(1)].
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// The Prometheus endpoint of `watch` and `scan`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics at http://ADDR/metrics while running (HOST:PORT, or :PORT
    /// for every interface; port 0 picks one, printed on stderr) [default: none].
    #[arg(long = "metrics-addr", value_name = "ADDR")]
    pub metrics_addr: Option<String>,
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Watch(_) => "watch",
            Command::Scan(_) => "scan",
            Command::Hud(_) => "hud",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
            Command::Ship(_) => "ship",
            Command::Worker(_) => "worker",
            Command::TailAnomalies(_) => "tail-anomalies",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    /// A bar on stderr only when stderr is a terminal.
    Auto,
    /// Always draw the bar on stderr.
    Always,
    /// Never draw it.
    Never,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Log files to scan, in order, as one stream (`-` reads stdin; gzip, xz, zstd and
    /// bzip2 are decompressed, recognised by their magic bytes).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Worker threads, 1 to 1024, the calling thread included: all of them extract
    /// features, and the calling thread also runs detection in input order (results never
    /// depend on it) [default: all cores].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub threads: Option<i64>,
    /// Progress bar on stderr.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,
    /// Write run statistics (counts, throughput, stage latencies) as JSON to FILE.
    #[arg(long = "stats-json", value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
    /// Chunk size in bytes (testing and tuning).
    #[arg(long = "chunk-size", hide = true, default_value_t = 1 << 20, value_name = "BYTES")]
    pub chunk_size: usize,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub persist: PersistArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
}

/// How inputs are read, shared by every command that reads files.
#[derive(Debug, Clone, Copy, Args)]
pub struct InputArgs {
    /// Read inputs that look binary (a NUL byte in their first 32 KiB) as text instead of
    /// skipping them with a note.
    #[arg(long)]
    pub binary: bool,
}

/// Source labels and persisted baselines, shared by `watch` and `scan`.
#[derive(Debug, Args)]
pub struct PersistArgs {
    /// Source label of plain-text lines (and of JSON lines without a source field)
    /// [default: the file name].
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Load detector state from FILE (written by --save-baseline) before the first line
    /// [default: none].
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write all detector state to FILE at the end, for --baseline [default: none].
    #[arg(long = "save-baseline", value_name = "FILE")]
    pub save_baseline: Option<PathBuf>,
}

/// Follow-mode flags of `watch`.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// Follow the files like `tail -F` through rotation; runs until SIGINT/SIGTERM.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// With --follow: read files that have no checkpoint from their start [default: end].
    #[arg(long = "from-start", requires = "follow")]
    pub from_start: bool,
    /// With --follow: keep durable checkpoints (file positions and detector state) in DIR
    /// and resume from them [default: none].
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
    /// With --follow: how often --state and --stats-json are rewritten, in ms (>= 1).
    #[arg(
        long = "checkpoint-interval",
        value_name = "MS",
        default_value_t = 1000,
        allow_negative_numbers = true
    )]
    pub checkpoint_interval: i64,
    /// With --follow: how long a rotated-away file must stay quiet before it is closed, in
    /// ms (>= 0).
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
    /// With --follow: how often a path that does not exist is reported again, in ms
    /// (testing).
    #[arg(
        long = "missing-notice-interval",
        value_name = "MS",
        default_value_t = 10_000,
        hide = true
    )]
    pub missing_notice_interval: u64,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Log files to read, in order (`-` reads stdin; gzip, xz, zstd and bzip2 are
    /// decompressed, recognised by their magic bytes).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Write run statistics as JSON to FILE at exit (with --follow also at every
    /// checkpoint) [default: none].
    #[arg(long = "stats-json", value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
    #[command(flatten)]
    pub follow: FollowArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub persist: PersistArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human lines on stderr.
    Text,
    /// One JSON object per anomaly on stdout.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DetectorArg {
    /// Stationary z-score (Welford running stats).
    Zscore,
    /// Drifting z-score (EWMA baseline, see --alpha).
    Ewma,
    /// Robust median/MAD over a rolling window (see --window).
    Mad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShardArg {
    /// One set of baselines per event source.
    Source,
    /// One shared set of baselines (the reference's behaviour).
    None,
}

/// Detection and output flags shared by every command.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Sigma threshold for alerting, > 0.
    #[arg(
        long,
        default_value = "3.0",
        allow_negative_numbers = true,
        value_name = "F"
    )]
    pub threshold: f64,
    /// Events each baseline learns before it may alert, >= 0.
    #[arg(
        long,
        default_value_t = 30,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub warmup: i64,
    /// Enable semantic novelty detection (hashed character-3-gram vectors).
    #[arg(long)]
    pub semantic: bool,
    /// Learn log templates: report lines whose template is new or rare in their source
    /// (template.novelty, level-aware) and measure length, tokens and attributes per
    /// template.
    #[arg(long)]
    pub templates: bool,
    /// With --templates: templates kept per source, >= 1; the least recently used one
    /// is evicted past it.
    #[arg(
        long = "max-templates",
        default_value_t = 1000,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub max_templates: i64,
    /// Prime baselines with N (>= 0) benign synthetic events before reading.
    #[arg(
        long,
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub seed: i64,
    /// Parse input as JSON lines instead of plain text.
    #[arg(long)]
    pub jsonl: bool,
    /// Detector used for every metric.
    #[arg(long, value_enum, default_value_t = DetectorArg::Zscore)]
    pub detector: DetectorArg,
    /// EWMA smoothing factor in (0, 1], for --detector ewma.
    #[arg(
        long,
        default_value_t = 0.05,
        allow_negative_numbers = true,
        value_name = "F"
    )]
    pub alpha: f64,
    /// Rolling window size (>= 2), for --detector mad.
    #[arg(
        long,
        default_value_t = 256,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub window: i64,
    /// How baselines are sharded.
    #[arg(long = "shard-by", value_enum, default_value_t = ShardArg::Source)]
    pub shard_by: ShardArg,
    /// Maximum per-source shards (>= 1); later sources share one overflow shard.
    #[arg(
        long = "max-sources",
        default_value_t = 10_000,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub max_sources: i64,
    /// Longest line kept whole, in bytes (>= 1); longer lines are still measured (length
    /// and tokens) but only this prefix is kept as the message.
    #[arg(long = "max-line-bytes", default_value_t = 1 << 20, allow_negative_numbers = true, value_name = "N")]
    pub max_line_bytes: i64,
    #[command(flatten)]
    pub webhook: WebhookArgs,
    #[command(flatten)]
    pub alerts: AlertArgs,
}

/// Alertmanager delivery flags (shared by every command that reports anomalies).
#[derive(Debug, Clone, Default, Args)]
pub struct AlertArgs {
    /// Also POST anomalies as alerts to the Alertmanager at URL (its v2 API,
    /// URL/api/v2/alerts), batched, with retries; repeatable (every alert goes to each,
    /// e.g. an HA pair).
    #[arg(long, value_name = "URL")]
    pub alertmanager: Vec<String>,
    /// Static label added to every alert, 'name=value' (repeatable; e.g. env=prod).
    /// Requires --alertmanager.
    #[arg(long = "alert-label", value_name = "LABEL", requires = "alertmanager")]
    pub alert_label: Vec<String>,
    /// How long after its detection an alert resolves unless it recurs: a number with a
    /// unit, ms, s, m or h (e.g. 90s, 5m, 1h30m) [default: 5m]. Requires --alertmanager.
    #[arg(
        long = "alert-resolve-after",
        value_name = "DURATION",
        requires = "alertmanager"
    )]
    pub alert_resolve_after: Option<String>,
}

/// Parse a duration such as `5m`, `90s`, `1h30m` or `250ms`: one or more numbers, each
/// with a unit (`ms`, `s`, `m`, `h`).
#[cfg_attr(not(feature = "webhook"), allow(dead_code))]
pub fn parse_duration(flag: &'static str, spec: &str) -> Result<std::time::Duration, Error> {
    let bad = || {
        invalid(
            flag,
            format!("'{spec}' (expected a duration such as 90s, 5m or 1h30m)"),
        )
    };
    let mut total_ms: u64 = 0;
    let mut rest = spec.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let per_ms: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total_ms = n
            .checked_mul(per_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(bad)?;
    }
    Ok(std::time::Duration::from_millis(total_ms))
}
/// Webhook delivery flags (shared by every command that reports anomalies).
#[derive(Debug, Clone, Default, Args)]
pub struct WebhookArgs {
    /// Also POST anomalies to URL (http:// or https://) as JSON arrays, batched, with retries.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Extra header for webhook requests, 'Name: value' (repeatable; e.g. an auth token).
    #[arg(long = "webhook-header", value_name = "HEADER", requires = "webhook")]
    pub webhook_header: Vec<String>,
}

#[cfg(feature = "webhook")]
impl WebhookArgs {
    /// Validate into webhook options (`None` without `--webhook`).
    pub fn to_options(&self) -> Result<Option<trace_sentinel_webhook::WebhookOptions>, Error> {
        let Some(url) = &self.webhook else {
            return Ok(None);
        };
        let mut opts = trace_sentinel_webhook::WebhookOptions::new(url.clone());
        for spec in &self.webhook_header {
            opts.headers
                .push(trace_sentinel_webhook::parse_header(spec)?);
        }
        Ok(Some(opts))
    }
}

#[cfg(feature = "webhook")]
impl AlertArgs {
    /// Validate into Alertmanager options (`None` without `--alertmanager`).
    pub fn to_options(&self) -> Result<Option<trace_sentinel_webhook::AlertmanagerOptions>, Error> {
        use trace_sentinel_webhook::alertmanager::parse_label;
        if self.alertmanager.is_empty() {
            return Ok(None);
        }
        let mut opts = trace_sentinel_webhook::AlertmanagerOptions::new(self.alertmanager.clone());
        for spec in &self.alert_label {
            opts.labels.push(parse_label(spec)?);
        }
        if let Some(spec) = &self.alert_resolve_after {
            opts.resolve_after = parse_duration("--alert-resolve-after", spec)?;
            // 10 years: beyond it an endsAt leaves any reasonable calendar.
            if opts.resolve_after.is_zero() || opts.resolve_after.as_secs() > 10 * 365 * 86_400 {
                return Err(invalid(
                    "--alert-resolve-after",
                    format!("'{spec}' (must be longer than 0 and at most 10 years)"),
                ));
            }
        }
        Ok(Some(opts))
    }
}

fn invalid(flag: &'static str, reason: impl Into<String>) -> Error {
    Error::Config {
        flag,
        reason: reason.into(),
    }
}

impl DetectArgs {
    /// Validate into the engine configuration and input format.
    pub fn to_config(&self, timed: bool) -> Result<(Config, InputFormat), Error> {
        if !(self.threshold > 0.0 && self.threshold.is_finite()) {
            return Err(invalid(
                "--threshold",
                format!("{} (must be a number > 0)", self.threshold),
            ));
        }
        if self.warmup < 0 {
            return Err(invalid(
                "--warmup",
                format!("{} (must be >= 0)", self.warmup),
            ));
        }
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(invalid(
                "--alpha",
                format!("{} (must be in (0, 1])", self.alpha),
            ));
        }
        if self.window < 2 {
            return Err(invalid(
                "--window",
                format!("{} (must be >= 2)", self.window),
            ));
        }
        if self.max_sources < 1 {
            return Err(invalid(
                "--max-sources",
                format!("{} (must be >= 1)", self.max_sources),
            ));
        }
        if self.max_line_bytes < 1 {
            return Err(invalid(
                "--max-line-bytes",
                format!("{} (must be >= 1)", self.max_line_bytes),
            ));
        }
        if self.seed < 0 {
            return Err(invalid("--seed", format!("{} (must be >= 0)", self.seed)));
        }
        if self.max_templates < 1 {
            return Err(invalid(
                "--max-templates",
                format!("{} (must be >= 1)", self.max_templates),
            ));
        }
        let detector = match self.detector {
            DetectorArg::Zscore => DetectorKind::Zscore,
            DetectorArg::Ewma => DetectorKind::Ewma { alpha: self.alpha },
            DetectorArg::Mad => DetectorKind::Mad {
                window: self.window as usize,
            },
        };
        let format = if self.jsonl {
            InputFormat::JsonLines
        } else {
            InputFormat::Text
        };
        let cfg = Config {
            threshold: self.threshold,
            warmup: self.warmup as u64,
            detector,
            semantic: self.semantic,
            timed: timed || self.jsonl,
            shard_by: match self.shard_by {
                ShardArg::Source => ShardBy::Source,
                ShardArg::None => ShardBy::None,
            },
            max_sources: self.max_sources as usize,
            max_metrics: 4096,
            templates: self.templates,
            max_templates: self.max_templates as usize,
            ..Config::default()
        };
        Ok((cfg, format))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations() {
        for (spec, ms) in [
            ("5m", 300_000),
            ("90s", 90_000),
            ("1h30m", 5_400_000),
            ("250ms", 250),
            ("1m30s500ms", 90_500),
            (" 2h ", 7_200_000),
            ("0s", 0),
        ] {
            assert_eq!(
                parse_duration("--x", spec).unwrap(),
                Duration::from_millis(ms),
                "{spec}"
            );
        }
        for bad in [
            "",
            "5",
            "m",
            "5 m",
            "1d",
            "-5m",
            "5M",
            "1.5h",
            "99999999999999999999h",
        ] {
            let e = parse_duration("--x", bad).unwrap_err().to_string();
            assert!(e.contains("--x"), "{bad}: {e}");
        }
    }
}
