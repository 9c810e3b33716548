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
    /// The worker threads of a parallel scan could not be started, or stopped before
    /// handing back their chunks.
    #[error("scan worker pool: {0}")]
    WorkerPool(String),
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
