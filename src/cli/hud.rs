//! Flags of `trace-sentinel hud` (clap derive). They are declared in every build, so
//! `--help` is the same everywhere; a build without the `hud` feature refuses the
//! command when it runs. The detection flags are the shared [`DetectArgs`], flattened,
//! with `--seed` and `--format` hidden (the HUD seeds with `--seed-count` and shows
//! anomalies on its page).

use super::DetectArgs;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// The dashboard's default port (the reference's).
pub const DEFAULT_PORT: u16 = 8787;

/// Where the HUD reads events from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    /// The PATHs (replayed, or followed with --follow).
    File,
    /// The systemd journal (`journalctl -o json -f`).
    Journald,
    /// Standard input.
    Stdin,
}

/// Flags of `trace-sentinel hud`.
#[derive(Debug, Args)]
#[command(
    mut_arg("seed", |a| a.hide(true)),
    mut_arg("format", |a| a.hide(true))
)]
pub struct HudArgs {
    /// Log files to replay (or follow with -f); `-` reads stdin. Without PATHs the
    /// source is journald.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Event source [default: file with PATHs, else journald].
    #[arg(long, value_enum)]
    pub source: Option<SourceArg>,
    /// Follow the files like `tail -F` (through rotation) instead of replaying them.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Benign synthetic events (>= 0) that prime the baselines before live data; 0 seeds
    /// none, so scores are those of `watch` on the same input.
    #[arg(
        long = "seed-count",
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub seed_count: i64,
    /// Seed nothing (the default; the same as --seed-count 0).
    #[arg(long = "no-seed", conflicts_with = "seed_count")]
    pub no_seed: bool,
    /// Recent history (>= 0) replayed through the feed before following (lines per file
    /// with --follow, entries with journald).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 600,
        allow_negative_numbers = true
    )]
    pub backfill: i64,
    /// Seconds to wait after each event when replaying files, 0 to 3600 (0 = as fast as
    /// read).
    #[arg(
        long,
        value_name = "S",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub pace: f64,
    /// Replay the files again and again (0.5 s apart) instead of once.
    #[arg(long = "loop")]
    pub repeat: bool,
    /// Replay once: the default, kept for older command lines.
    #[arg(long, hide = true, conflicts_with = "repeat")]
    pub once: bool,
    /// Address to listen on [default: 127.0.0.1]. The dashboard has no authentication:
    /// a non-loopback address (e.g. 0.0.0.0) exposes your logs to the network.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Port to listen on, 0 to 65535; 0 picks a free one (the address is printed on
    /// stderr).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Open the dashboard in the default browser (xdg-open).
    #[arg(long)]
    pub open: bool,
    /// The reference's flag; not opening is already the default.
    #[arg(long = "no-open", hide = true, conflicts_with = "open")]
    pub no_open: bool,
    #[command(flatten)]
    pub input: super::InputArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
}
