//! SIGINT and SIGTERM, handled in one place for every command.
//!
//! [`Signals::install`] registers, once at start-up, a flag per signal and a shared
//! "stop" flag that the drivers poll between blocks of lines (so they finish the lines
//! in hand, flush their output and exit); a second signal while stopping exits at once
//! with 130. Which signal arrived decides the exit code: a long-running service (`watch
//! --follow`, `hud`) stopped by SIGTERM exits 0, anything interrupted exits 130.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};

/// The process's signal flags.
#[derive(Debug, Clone)]
pub struct Signals {
    stop: Arc<AtomicBool>,
    int: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
}

impl Signals {
    /// Register the handlers (call once, before any work starts).
    pub fn install() -> Signals {
        let signals = Signals {
            stop: Arc::new(AtomicBool::new(false)),
            int: Arc::new(AtomicBool::new(false)),
            term: Arc::new(AtomicBool::new(false)),
        };
        // The per-signal flags first: handlers run in registration order, so whoever
        // sees `stop` set also sees which signal set it.
        let _ = signal_hook::flag::register(SIGINT, Arc::clone(&signals.int));
        let _ = signal_hook::flag::register(SIGTERM, Arc::clone(&signals.term));
        for sig in [SIGINT, SIGTERM] {
            // A second signal while shutting down exits at once.
            let _ = signal_hook::flag::register_conditional_shutdown(
                sig,
                130,
                Arc::clone(&signals.stop),
            );
            let _ = signal_hook::flag::register(sig, Arc::clone(&signals.stop));
        }
        signals
    }

    /// The flag set by either signal: drivers stop at the next block when it is set.
    pub fn stop_flag(&self) -> &AtomicBool {
        &self.stop
    }

    /// Whether either signal arrived.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether the stop was a clean service stop: SIGTERM, and no SIGINT.
    pub fn terminated(&self) -> bool {
        self.wait_for_cause();
        self.term.load(Ordering::Relaxed) && !self.int.load(Ordering::Relaxed)
    }

    /// After a stop, give the handlers of the delivery that set it a moment to record
    /// their signal (they run back to back; this returns at once once one is seen).
    fn wait_for_cause(&self) {
        let t0 = Instant::now();
        while self.stopping()
            && !self.term.load(Ordering::Relaxed)
            && !self.int.load(Ordering::Relaxed)
            && t0.elapsed() < Duration::from_millis(100)
        {
            std::thread::yield_now();
        }
    }

    /// Call `wake` on every SIGINT or SIGTERM from now on (from a thread of its own), so
    /// a driver asleep waiting for input notices the stop at once.
    pub fn on_signal(&self, wake: impl Fn() + Send + 'static) {
        if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            std::thread::spawn(move || {
                for _ in signals.forever() {
                    wake();
                }
            });
        }
    }
}
