//! The HUD: a live web dashboard over the same engine as `watch` (`trace-sentinel hud`).
//!
//! Layout: [`state`] is the model the page shows (the reference HUD's `/api/state`
//! fields and ours); [`monitor`] drives the synchronous engine on a plain thread and
//! updates that model per event; [`source`] reads files, stdin, followed files and
//! [`journald`]; [`server`] (axum/tokio) serves the embedded page, `/api/state`, the
//! Server-Sent-Events stream, `/healthz` and [`metrics`] — it only observes. [`Hud::run`]
//! ties them together.

#![deny(missing_docs)]

pub mod error;
mod file_input;
pub mod follow;
pub mod journald;
pub mod metrics;
pub mod monitor;
pub mod server;
pub mod source;
pub mod state;

pub use error::HudError;
use monitor::{Monitor, Notices, Shared};
use source::Source;
use state::{HudState, RunInfo};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use trace_sentinel_core::Config;

/// Default port (the reference's).
pub const DEFAULT_PORT: u16 = 8787;
/// Default bind address.
pub const DEFAULT_BIND: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Resolve the listening address: `None` is loopback; `localhost` is 127.0.0.1; an IP
/// is used as given. A non-loopback address is accepted only when `explicit` (it came
/// from `--bind`), since the dashboard has no authentication.
pub fn resolve_bind(addr: Option<&str>, explicit: bool) -> Result<IpAddr, HudError> {
    let ip = match addr.map(str::trim) {
        None => return Ok(DEFAULT_BIND),
        Some(a) if a.eq_ignore_ascii_case("localhost") => DEFAULT_BIND,
        Some(a) => a
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map_err(|_| HudError::BadAddress(a.to_string()))?,
    };
    if !ip.is_loopback() && !explicit {
        return Err(HudError::NotLoopback(ip));
    }
    Ok(ip)
}

/// Everything a HUD run needs.
#[derive(Debug, Clone)]
pub struct HudConfig {
    /// Engine configuration.
    pub engine: Config,
    /// Where events come from.
    pub source: Source,
    /// Benign events to prime with (0 = none).
    pub seed_count: usize,
    /// Sleep after each event of a file replay (ignored for live sources).
    pub pace: Duration,
    /// Listening address.
    pub addr: SocketAddr,
}

impl HudConfig {
    fn info(&self) -> RunInfo {
        RunInfo {
            threshold: self.engine.threshold,
            warmup: self.engine.warmup,
            mode: self.source.mode(),
            detector: match self.engine.detector {
                trace_sentinel_core::DetectorKind::Zscore => "zscore",
                trace_sentinel_core::DetectorKind::Ewma { .. } => "ewma",
                trace_sentinel_core::DetectorKind::Mad { .. } => "mad",
            },
            semantic: self.engine.semantic,
        }
    }
}

/// A HUD bound to its socket, not yet serving.
pub struct Hud {
    cfg: HudConfig,
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    sink: Option<Box<dyn trace_sentinel_core::Sink + Send>>,
    notices: Option<Notices>,
}

impl std::fmt::Debug for Hud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hud")
            .field("cfg", &self.cfg)
            .field("listener", &self.listener)
            .field("sink", &self.sink.is_some())
            .field("notices", &self.notices.is_some())
            .finish_non_exhaustive()
    }
}

/// How long a stopping HUD waits for the engine thread (and an extra sink's final
/// delivery, e.g. a webhook's bounded flush).
const ENGINE_JOIN_WAIT: Duration = Duration::from_secs(1);
const SINK_JOIN_WAIT: Duration = Duration::from_secs(20);

impl Hud {
    /// Check the source and bind the socket (port 0 picks a free port; see
    /// [`Hud::local_addr`]).
    pub fn bind(cfg: HudConfig) -> Result<Self, HudError> {
        cfg.source.preflight()?;
        let listener = std::net::TcpListener::bind(cfg.addr).map_err(|source| HudError::Bind {
            addr: cfg.addr,
            source,
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| HudError::Bind {
                addr: cfg.addr,
                source,
            })?;
        let shared = Shared::new(HudState::new(cfg.info()));
        Ok(Hud {
            cfg,
            listener,
            shared,
            sink: None,
            notices: None,
        })
    }

    /// Also send every anomaly to `sink` (a webhook, say), on the engine thread.
    pub fn with_sink(mut self, sink: Box<dyn trace_sentinel_core::Sink + Send>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Report the counts these probes read (the extra sink's delivery endpoints) at
    /// `/metrics`.
    pub fn with_deliveries(self, probes: Vec<trace_sentinel_core::stats::DeliveryProbe>) -> Self {
        self.shared.set_deliveries(probes);
        self
    }

    /// Hand the HUD's notices — why a source stopped, an extra sink disabled after its
    /// first error, a followed file that rotated or could not be read — to `notices`, one
    /// line each, on the engine thread. Without it they are only visible in the state's
    /// `error` field (a failed source) or not at all.
    pub fn with_notices(mut self, notices: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.notices = Some(Arc::new(notices));
        self
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, HudError> {
        self.listener.local_addr().map_err(|source| HudError::Bind {
            addr: self.cfg.addr,
            source,
        })
    }

    /// The shared state (to request a stop from another thread).
    pub fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// Run the engine thread and serve until a stop is requested through
    /// [`Shared::request_stop`]. Returns the number of anomalies surfaced.
    pub fn run(self) -> Result<u64, HudError> {
        let Hud {
            cfg,
            listener,
            shared,
            sink,
            notices,
        } = self;
        let join_wait = if sink.is_some() {
            SINK_JOIN_WAIT
        } else {
            ENGINE_JOIN_WAIT
        };
        let loopback_only = cfg.addr.ip().is_loopback();
        let engine = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("hud-engine".into())
                .spawn(move || {
                    // Pacing is for replays; live sources are read as they come.
                    let pace = match cfg.source {
                        Source::Replay { .. } => cfg.pace,
                        _ => Duration::ZERO,
                    };
                    let mut monitor = Monitor::new(cfg.engine.clone(), shared, pace);
                    if let Some(notices) = notices {
                        monitor.set_notices(notices);
                    }
                    if let Some(sink) = sink {
                        monitor.set_sink(sink);
                    }
                    monitor.seed(cfg.seed_count);
                    match cfg.source.run(&mut monitor) {
                        // A finite source marked itself finished; a stop ends the rest.
                        Ok(()) => monitor.set_running(false),
                        Err(e) => {
                            let reason = e.to_string();
                            monitor.notice(&reason);
                            monitor.fail(reason);
                        }
                    }
                    monitor.finish();
                })
                .map_err(HudError::Serve)?
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(HudError::Serve)?;
        let served = rt.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            server::serve(listener, Arc::clone(&shared), loopback_only).await
        });
        shared.request_stop();
        // Let the engine thread wind down (and an extra sink deliver). A source blocked
        // in a read (stdin) cannot be woken; it ends with the process.
        let deadline = std::time::Instant::now() + join_wait;
        while !engine.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if engine.is_finished() {
            let _ = engine.join();
        }
        served.map_err(HudError::Serve)?;
        let n = shared.lock().anomalies();
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_policy() {
        assert_eq!(resolve_bind(None, false).unwrap(), DEFAULT_BIND);
        assert_eq!(resolve_bind(Some("localhost"), true).unwrap(), DEFAULT_BIND);
        assert_eq!(
            resolve_bind(Some("::1"), false).unwrap(),
            "::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            resolve_bind(Some("[::1]"), true).unwrap(),
            "::1".parse::<IpAddr>().unwrap()
        );
        assert!(matches!(
            resolve_bind(Some("0.0.0.0"), false),
            Err(HudError::NotLoopback(_))
        ));
        assert_eq!(
            resolve_bind(Some("0.0.0.0"), true).unwrap(),
            "0.0.0.0".parse::<IpAddr>().unwrap()
        );
        assert!(matches!(
            resolve_bind(Some("example.com"), true),
            Err(HudError::BadAddress(_))
        ));
    }
}
