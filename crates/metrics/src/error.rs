//! What can go wrong starting the metrics endpoint: [`MetricsError`].

/// What can go wrong starting the metrics endpoint.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Not `HOST:PORT`, `[IPv6]:PORT` or `:PORT`.
    #[error("'{0}' is not an address to listen on (use HOST:PORT, e.g. 127.0.0.1:9787, [::1]:9787 or :9787)")]
    BadAddress(String),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
