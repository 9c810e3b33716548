//! Typed errors of the library. Every variant names the thing that failed.

use std::path::PathBuf;

/// Errors the engine and its inputs report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input could not be opened or read.
    #[error("cannot read '{path}': {source}")]
    Input {
        /// The input path (`-` for stdin).
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An input path is a directory.
    #[error("'{0}' is a directory")]
    IsDirectory(PathBuf),
    /// An input looks binary (a NUL byte in its first 32 KiB) and binary input was not
    /// asked for. Drivers skip such an input with a note.
    #[error(
        "skipping binary file '{0}' (a NUL byte in its first 32 KiB; --binary reads it as text)"
    )]
    Binary(PathBuf),
    /// An input's name claims a compression format its content does not have.
    #[error("'{path}' is not {format} data, though its name says so")]
    NotCompressed {
        /// The input path.
        path: PathBuf,
        /// The format the name claims (`gzip`, `xz`, `zstd`, `bzip2`).
        format: &'static str,
    },
    /// A configuration value is out of range.
    #[error("invalid value for {flag}: {reason}")]
    Config {
        /// The flag or field.
        flag: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// Writing output failed.
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
    /// A snapshot could not be used.
    #[error("snapshot '{path}': {reason}")]
    Snapshot {
        /// The snapshot path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing a file (stats, state, snapshot) failed.
    #[error("cannot write '{path}': {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A memory-mapped input shrank while it was being scanned (another process
    /// truncated it): what was reported from it stands, the rest is not read.
    #[error("'{0}' was truncated while it was being scanned; anomalies up to that point were reported, the rest of it was not read")]
    Truncated(PathBuf),
    /// The worker threads of a parallel scan could not be started, or stopped before
    /// handing back their chunks.
    #[error("scan worker pool: {0}")]
    WorkerPool(String),
    /// A message bus (NATS JetStream, ...) could not be reached or refused an operation;
    /// the error names the server, stream, bucket or subject.
    #[error("{0}")]
    Bus(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
