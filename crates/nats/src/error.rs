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
    /// Whether retrying may help: a request that timed out, found no responder or no
    /// leader, or lost its connection — what a cluster electing a leader or a node
    /// going away looks like. A refusal (a conflicting stream, a corrupt layout) is not.
    pub fn is_transient(&self) -> bool {
        match self {
            NatsError::Request { reason, .. } => {
                let r = reason.to_ascii_lowercase();
                [
                    "timed out",
                    "timeout",
                    "no responders",
                    "temporarily unavailable",
                    "no leader",
                    "not connected",
                    "disconnected",
                    "connection",
                ]
                .iter()
                .any(|t| r.contains(t))
            }
            _ => false,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::NatsError;

    #[test]
    fn timeouts_and_missing_leaders_are_transient_refusals_are_not() {
        let r = |reason: &str| NatsError::request("key layout of bucket ts-LOGS-state", reason);
        for reason in [
            "timed out",
            "request timed out: deadline has elapsed",
            "no responders",
            "jetstream error: JetStream system temporarily unavailable (code 503, error code 10008)",
        ] {
            assert!(r(reason).is_transient(), "{reason}");
        }
        for reason in [
            "its lines travel on subject 'x', not 'logs' (see --subject)",
            "stream name already in use with a different configuration",
        ] {
            assert!(!r(reason).is_transient(), "{reason}");
        }
        let connect = NatsError::Connect {
            url: "nats://127.0.0.1:1".into(),
            reason: "connection refused".into(),
        };
        assert!(!connect.is_transient());
    }
}
