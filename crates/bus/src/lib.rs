//! trace-sentinel on a message bus, whatever the bus: the subject-safe source tokens
//! ([`token`]), partitioning ([`partition`]), the wire format of shipped lines and
//! published anomalies with their deduplication ids ([`wire`]), the stream's
//! [`layout`], the transport boundary ([`transport`]: what a bus must offer), the
//! shipper's routing ([`ship`]) and the worker loop ([`worker`]) that runs the engine
//! over owned partitions with checkpoints.
//!
//! This crate does no I/O of its own and depends on no client library: NATS JetStream
//! is `trace-sentinel-nats`, which implements [`transport`]. See `docs/scale-out.md`.

#![deny(missing_docs)]

mod error;
pub mod layout;
pub mod partition;
pub mod ship;
pub mod token;
pub mod transport;
pub mod wire;
pub mod worker;

pub use error::{BusError, Result};
pub use layout::Layout;
pub use ship::Shipper;
pub use worker::{Position, Worker, WorkerOptions, WorkerStats};
