//! The NATS JetStream commands: `ship` (files → the log stream, partitioned by source),
//! `worker` (a share of the partitions → the engine → the anomaly stream) and
//! `tail-anomalies` (the anomaly stream → text or JSON). They wire inputs, the
//! transport-neutral bus layer (`trace-sentinel-bus`) and its NATS implementation
//! (`trace-sentinel-nats`); without the `nats` feature they refuse to run.

#[cfg(feature = "nats")]
mod common;
#[cfg(feature = "nats")]
pub mod ship;
#[cfg(feature = "nats")]
pub mod tail;
#[cfg(feature = "nats")]
pub mod worker;

/// The commands in a build without the `nats` feature: refused with exit 2.
#[cfg(not(feature = "nats"))]
mod refused {
    use crate::cli::nats::{ShipArgs, TailArgs, WorkerArgs};
    use crate::cmd::Outcome;
    use crate::signals::Signals;
    use trace_sentinel_core::Error;

    fn refuse(command: &'static str) -> Result<Outcome, Error> {
        Err(Error::Config {
            flag: command,
            reason: "this build of trace-sentinel has no NATS support (the `nats` feature is off)"
                .into(),
        })
    }

    /// Refuse `ship`.
    pub fn ship(_: ShipArgs, _: &Signals) -> Result<Outcome, Error> {
        refuse("the ship command")
    }

    /// Refuse `worker`.
    pub fn worker(_: WorkerArgs, _: &Signals) -> Result<Outcome, Error> {
        refuse("the worker command")
    }

    /// Refuse `tail-anomalies`.
    pub fn tail(_: TailArgs, _: &Signals) -> Result<Outcome, Error> {
        refuse("the tail-anomalies command")
    }
}

#[cfg(not(feature = "nats"))]
pub mod ship {
    pub use super::refused::ship as run;
}
#[cfg(not(feature = "nats"))]
pub mod worker {
    pub use super::refused::worker as run;
}
#[cfg(not(feature = "nats"))]
pub mod tail {
    pub use super::refused::tail as run;
}
