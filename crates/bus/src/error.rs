//! The crate's typed errors: a transport's failure (boxed, it names its server, stream,
//! bucket or subject), something unusable found on the bus, or the engine's refusal.

/// Errors of the bus layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The transport failed: an unreachable server, a timeout, a refused request.
    #[error("{0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// What the bus holds is unusable: a layout that does not match the flags, a corrupt
    /// checkpoint, a message without its headers.
    #[error("{what}: {reason}")]
    Invalid {
        /// What was read (a stream, a bucket key, a message).
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The engine refused (a checkpoint taken with other detection flags, ...).
    #[error(transparent)]
    Engine(#[from] trace_sentinel_core::Error),
}

impl BusError {
    /// An [`BusError::Invalid`] error.
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        BusError::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias.
pub type Result<T, E = BusError> = std::result::Result<T, E>;
