//! `hud`: the live web dashboard's driver. Validates the flags into a [`HudConfig`],
//! binds the socket, prints where it listens (and the dashboard's notices), optionally
//! opens a browser, and serves until SIGTERM (exit 0) or SIGINT (130). The dashboard
//! itself is the `trace-sentinel-hud` crate.

use super::Outcome;
use crate::cli::hud::{HudArgs, SourceArg};
use crate::signals::Signals;
use std::net::SocketAddr;
use std::time::Duration;
use trace_sentinel_core::engine::InputFormat;
use trace_sentinel_core::input;
use trace_sentinel_core::Error;
use trace_sentinel_hud::source::{FileInput, Source};
use trace_sentinel_hud::{resolve_bind, Hud, HudConfig, HudError};

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
                        repeat: self.repeat,
                        binary: self.input.binary,
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
        let ip = resolve_bind(self.bind.as_deref(), true).map_err(hud_error)?;
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

/// The URL of `addr` as bound (`0.0.0.0` stays `0.0.0.0`).
fn url(addr: SocketAddr) -> String {
    let host = match addr.ip() {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}/", addr.port())
}

/// The URL a browser on this machine opens for `addr`: an unspecified address
/// (`0.0.0.0`, `::`) is reached through loopback.
fn local_url(addr: SocketAddr) -> String {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => url(SocketAddr::new(
            std::net::Ipv4Addr::LOCALHOST.into(),
            addr.port(),
        )),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => url(SocketAddr::new(
            std::net::Ipv6Addr::LOCALHOST.into(),
            addr.port(),
        )),
        _ => url(addr),
    }
}

/// The library error a HUD failure is reported as (exit 2), naming the flag to fix.
fn hud_error(e: HudError) -> Error {
    let config = |flag: &'static str, e: &HudError| Error::Config {
        flag,
        reason: e.to_string(),
    };
    match e {
        HudError::Input(e) => e,
        HudError::Read { path, source } => Error::Input { path, source },
        HudError::BadAddress(_) | HudError::NotLoopback(_) => config("--bind", &e),
        HudError::Bind { .. } => config("--port", &e),
        HudError::JournalctlMissing | HudError::Journalctl(_) => config("--source", &e),
        HudError::Follow(_) => config("--follow", &e),
        HudError::Serve(e) => Error::Output(e),
    }
}

/// Run `hud`.
pub fn run(args: HudArgs, signals: &Signals) -> Result<Outcome, Error> {
    let cfg = args.to_config()?;
    let mode = cfg.source.mode();
    let exposed = !cfg.addr.ip().is_loopback();
    let mut hud = Hud::bind(cfg)
        .map_err(hud_error)?
        .with_notices(|notice| say!("trace-sentinel: hud: {notice}"));
    let addr = hud.local_addr().map_err(hud_error)?;
    let link = local_url(addr);
    // Alerts link back to the dashboard, as it is announced.
    let deliveries = super::deliveries(&args.detect, false, Some(url(addr)))?;
    if let Some(sink) = deliveries.sink {
        hud = hud.with_sink(sink);
    }
    hud = hud.with_deliveries(deliveries.probes);
    say!("trace-sentinel HUD :: listening on {}", url(addr));
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
    let shared = hud.shared();
    let watcher = {
        let signals = signals.clone();
        std::thread::spawn(move || {
            while !signals.stopping() && !shared.stopping() {
                std::thread::sleep(Duration::from_millis(100));
            }
            shared.request_stop();
        })
    };
    let n = hud.run().map_err(hud_error)?;
    let _ = watcher.join();
    // SIGTERM is a service's clean stop (exit 0); SIGINT an interruption (130).
    Ok(if !signals.stopping() {
        Outcome::Done(n)
    } else if signals.terminated() {
        Outcome::Terminated(n)
    } else {
        Outcome::Interrupted(n)
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_listening_line_shows_the_bound_address() {
        let at = |s: &str| s.parse::<std::net::SocketAddr>().unwrap();
        assert_eq!(super::url(at("0.0.0.0:8787")), "http://0.0.0.0:8787/");
        assert_eq!(
            super::local_url(at("0.0.0.0:8787")),
            "http://127.0.0.1:8787/"
        );
        assert_eq!(super::url(at("[::]:80")), "http://[::]:80/");
        assert_eq!(super::local_url(at("[::]:80")), "http://[::1]:80/");
        assert_eq!(super::local_url(at("127.0.0.1:1")), "http://127.0.0.1:1/");
    }

    #[test]
    fn the_flag_default_is_the_dashboard_default() {
        assert_eq!(
            crate::cli::hud::DEFAULT_PORT,
            trace_sentinel_hud::DEFAULT_PORT
        );
    }
}
