//! Typed errors of the NATS transport; each names the server, stream, bucket, key or
//! subject it is about, in one line.

/// What went wrong talking to NATS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// The URL is not a NATS URL.
    #[error("invalid NATS URL '{url}': {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// Why it is refused.
        reason: String,
    },
    /// The server could not be reached.
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect {
        /// The URL given.
        url: String,
        /// The client's reason.
        reason: String,
    },
    /// The server has no JetStream.
    #[error("NATS at {url} has no JetStream (start nats-server with -js): {reason}")]
    NoJetStream {
        /// The URL given.
        url: String,
        /// The server's answer.
        reason: String,
    },
    /// A request about a stream, bucket, key or subject failed.
    #[error("{what}: {reason}")]
    Request {
        /// What the request was about (`stream LOGS`, `key p3 of bucket ts-LOGS-state`).
        what: String,
        /// The client's or server's reason.
        reason: String,
    },
    /// The client's runtime could not be started.
    #[error("cannot start the NATS client's runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl NatsError {
    /// A [`NatsError::Request`] error from any displayable reason.
    pub fn request(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        NatsError::Request {
            what: what.into(),
            reason: one_line(&reason.to_string()),
        }
    }
}

/// A client error's text on one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl From<NatsError> for trace_sentinel_bus::BusError {
    fn from(e: NatsError) -> Self {
        trace_sentinel_bus::BusError::Transport(Box::new(e))
    }
}
