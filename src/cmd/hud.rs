//! `hud`: the live web dashboard's flags and driver. Validates the flags into a
//! [`HudConfig`], binds the socket, prints where it listens, optionally opens a browser,
//! and serves until SIGTERM (exit 0) or SIGINT (130). The dashboard itself is `trace_sentinel_core::hud`.

use super::Outcome;
use crate::cli::DetectArgs;
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use trace_sentinel_core::engine::InputFormat;
use trace_sentinel_core::input;
use trace_sentinel_core::Error;
use trace_sentinel_hud::source::{FileInput, Source};
use trace_sentinel_hud::{resolve_bind, Hud, HudConfig, DEFAULT_PORT};

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
    /// Benign signals to seed the baselines with before live data.
    #[arg(
        long = "seed-count",
        value_name = "N",
        default_value_t = 3000,
        allow_negative_numbers = true
    )]
    pub seed_count: i64,
    /// Skip benign-signal seeding.
    #[arg(long = "no-seed", conflicts_with = "seed_count")]
    pub no_seed: bool,
    /// Recent history replayed through the feed before following (lines per file with
    /// --follow, entries with journald).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 600,
        allow_negative_numbers = true
    )]
    pub backfill: i64,
    /// Seconds to wait after each event when replaying files (0 = as fast as read).
    #[arg(
        long,
        value_name = "S",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub pace: f64,
    /// Replay the files once instead of looping.
    #[arg(long)]
    pub once: bool,
    /// Address to listen on [default: 127.0.0.1]. The dashboard has no authentication:
    /// a non-loopback address (e.g. 0.0.0.0) exposes your logs to the network.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Port to listen on; 0 picks a free one (the address is printed on stderr).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Open the dashboard in the default browser (xdg-open).
    #[arg(long)]
    pub open: bool,
    /// The reference's flag; not opening is already the default.
    #[arg(long = "no-open", hide = true, conflicts_with = "open")]
    pub no_open: bool,
    #[command(flatten)]
    pub detect: DetectArgs,
}

fn invalid(flag: &'static str, reason: impl Into<String>) -> Error {
    Error::Config {
        flag,
        reason: reason.into(),
    }
}

impl HudArgs {
    /// The source the flags ask for.
    fn source(&self) -> Result<Source, Error> {
        let kind = self.source.unwrap_or(if self.paths.is_empty() {
            SourceArg::Journald
        } else {
            SourceArg::File
        });
        let backfill = usize::try_from(self.backfill)
            .map_err(|_| invalid("--backfill", format!("{} (must be >= 0)", self.backfill)))?;
        let format = if self.detect.jsonl {
            InputFormat::JsonLines
        } else {
            InputFormat::Text
        };
        let only_stdin = self.paths.len() == 1 && input::is_stdin(&self.paths[0]);
        match kind {
            SourceArg::Journald | SourceArg::Stdin if !self.paths.is_empty() && !only_stdin => {
                Err(invalid(
                    "--source",
                    "PATHs are only read with --source file".to_string(),
                ))
            }
            SourceArg::Journald if self.follow || only_stdin => Err(invalid(
                "--source",
                "journald is always followed and takes no PATH".to_string(),
            )),
            SourceArg::Journald => Ok(Source::Journald { backfill }),
            SourceArg::Stdin => Ok(Source::Stdin { format }),
            SourceArg::File if self.paths.is_empty() => Err(invalid(
                "--source",
                "file needs at least one PATH".to_string(),
            )),
            SourceArg::File if only_stdin && !self.follow => Ok(Source::Stdin { format }),
            SourceArg::File if self.paths.iter().any(|p| input::is_stdin(p)) => Err(invalid(
                "PATH",
                "`-` (stdin) cannot be mixed with files or followed".to_string(),
            )),
            SourceArg::File => {
                let files = self
                    .paths
                    .iter()
                    .map(|p| FileInput::new(p.clone(), self.detect.jsonl))
                    .collect();
                Ok(if self.follow {
                    Source::Follow { files, backfill }
                } else {
                    Source::Replay {
                        files,
                        once: self.once,
                    }
                })
            }
        }
    }

    /// Validate every flag into a HUD configuration.
    pub fn to_config(&self) -> Result<HudConfig, Error> {
        if self.detect.seed != 0 {
            return Err(invalid(
                "--seed",
                "hud seeds with --seed-count N (or --no-seed)",
            ));
        }
        if self.detect.format != crate::cli::Format::Text {
            return Err(invalid(
                "--format",
                "hud shows anomalies on the dashboard and at /api/state",
            ));
        }
        if self.seed_count < 0 {
            return Err(invalid(
                "--seed-count",
                format!("{} (must be >= 0)", self.seed_count),
            ));
        }
        if !(self.pace >= 0.0 && self.pace <= 3600.0) {
            return Err(invalid(
                "--pace",
                format!("{} (must be a number of seconds in [0, 3600])", self.pace),
            ));
        }
        let source = self.source()?;
        let (engine, _) = self.detect.to_config(source.timed())?;
        let ip = resolve_bind(self.bind.as_deref(), true).map_err(Error::from)?;
        Ok(HudConfig {
            engine,
            source,
            seed_count: if self.no_seed {
                0
            } else {
                self.seed_count as usize
            },
            pace: Duration::from_secs_f64(self.pace),
            addr: SocketAddr::new(ip, self.port),
        })
    }
}

/// The URL a browser should open for `addr`.
fn url(addr: SocketAddr) -> String {
    let host = match addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}/", addr.port())
}

/// Run `hud`.
pub fn run(args: HudArgs, interrupted: &Arc<AtomicBool>) -> Result<Outcome, Error> {
    let cfg = args.to_config()?;
    let mode = cfg.source.mode();
    let exposed = !cfg.addr.ip().is_loopback();
    let mut hud = Hud::bind(cfg).map_err(Error::from)?;
    if let Some(hook) = super::webhook_sink(&args.detect.webhook)? {
        hud = hud.with_sink(Box::new(hook));
    }
    let addr = hud.local_addr().map_err(Error::from)?;
    let link = url(addr);
    say!("trace-sentinel HUD :: listening on {link}");
    say!("engine :: {mode} · threshold {:.1}σ", args.detect.threshold);
    if exposed {
        say!(
            "warning: serving on {addr}: anyone who can reach it can read these logs \
             (no authentication)"
        );
    }
    if args.open {
        open_browser(&link);
    }
    // SIGTERM is a service's clean stop (exit 0); SIGINT an interruption (130).
    let term = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&term));
    let shared = hud.shared();
    let watcher = {
        let interrupted = Arc::clone(interrupted);
        let term = Arc::clone(&term);
        std::thread::spawn(move || {
            while !interrupted.load(Ordering::Relaxed)
                && !term.load(Ordering::Relaxed)
                && !shared.stopping()
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            shared.request_stop();
        })
    };
    let n = hud.run().map_err(Error::from)?;
    let _ = watcher.join();
    Ok(if term.load(Ordering::Relaxed) {
        Outcome::Terminated(n)
    } else if interrupted.load(Ordering::Relaxed) {
        Outcome::Interrupted(n)
    } else {
        Outcome::Done(n)
    })
}

fn open_browser(link: &str) {
    let spawned = std::process::Command::new("xdg-open")
        .arg(link)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        say!("note: could not start a browser (xdg-open); open {link} yourself");
    }
}
