//! What can go wrong running the HUD: [`HudError`].

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// What can go wrong running the HUD.
#[derive(Debug, thiserror::Error)]
pub enum HudError {
    /// A bind address that is not an IP address or `localhost`.
    #[error("'{0}' is not an IP address (use e.g. 127.0.0.1, ::1 or 0.0.0.0)")]
    BadAddress(String),
    /// A non-loopback address that was not asked for explicitly.
    #[error("refusing to serve on non-loopback address {0} unless it is given with --bind")]
    NotLoopback(IpAddr),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The server failed.
    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// `journalctl` is not installed.
    #[error(
        "journalctl not found on PATH: the journald source needs systemd's journalctl \
         (or use a file, --source stdin)"
    )]
    JournalctlMissing,
    /// `journalctl` failed.
    #[error("journald source: {0}")]
    Journalctl(String),
    /// Following files failed.
    #[error("follow: {0}")]
    Follow(String),
    /// Opening an input failed.
    #[error(transparent)]
    Input(trace_sentinel_core::Error),
    /// Reading an input failed.
    #[error("cannot read '{path}': {source}")]
    Read {
        /// The input.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
