//! trace-sentinel's NATS JetStream transport: the [`trace_sentinel_bus::transport`]
//! traits over `async-nats`, behind a blocking API so the drivers stay plain threads.
//!
//! * [`Nats`]: one connection and the client's runtime (one tokio worker thread); every
//!   call blocks on it.
//! * [`streams`]: the log stream (`<subject>.<partition>.<token>`, created with its
//!   [`Layout`](trace_sentinel_bus::Layout) when missing), the anomaly stream
//!   (`<anomalies>.>`), the buckets beside them.
//! * [`publish`]: pipelined, acknowledged, deduplicated publishing of lines
//!   ([`publish::NatsLineSink`]) and anomalies ([`publish::NatsAnomalySink`]).
//! * [`lease`]: partition leases in a key-value bucket whose entries expire after the
//!   lease TTL ([`lease::NatsCoordinator`]).
//! * [`checkpoint`]: fenced per-partition checkpoints in a key-value bucket, large ones
//!   in an object store ([`checkpoint::NatsCheckpointStore`]).
//! * [`feed`]: one ordered consumer per owned partition ([`feed::NatsPartitionFeed`]).
//! * [`tail`]: reading the anomaly stream back ([`tail::AnomalyReader`]).
//!
//! nats-server 2.9 has no stream subject transforms (2.10), so partitions are chosen by
//! the shipper (see `trace_sentinel_bus::partition`). See `docs/scale-out.md`.

#![deny(missing_docs)]

pub mod checkpoint;
mod error;
pub mod feed;
pub mod lease;
pub mod publish;
pub mod streams;
pub mod tail;

pub use error::NatsError;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a request to the server may take before it is given up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to NATS with JetStream, and the runtime its client runs on.
#[derive(Clone)]
pub struct Nats {
    rt: Arc<tokio::runtime::Runtime>,
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    url: String,
}

impl std::fmt::Debug for Nats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nats").field("url", &self.url).finish()
    }
}

/// `url` with the password of every `user:password@` (and a `token@`) replaced by
/// `***`, for messages.
pub fn redacted(url: &str) -> String {
    url.split(',')
        .map(|part| {
            let (scheme, rest) = match part.find("://") {
                Some(i) => part.split_at(i + 3),
                None => ("", part),
            };
            let host_start = rest.find('/').unwrap_or(rest.len());
            match rest[..host_start].rfind('@') {
                // `user:password@`, or a token alone (`token@`).
                Some(at) => match rest[..at].split_once(':') {
                    Some((user, _)) => format!("{scheme}{user}:***{}", &rest[at..]),
                    None => format!("{scheme}***{}", &rest[at..]),
                },
                None => part.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The servers of a NATS URL (`nats://host:port`, `host:port`, several separated by
/// commas).
fn server_addrs(url: &str) -> Result<Vec<async_nats::ServerAddr>, NatsError> {
    let bad = |reason: String| NatsError::Url {
        url: redacted(url),
        reason,
    };
    if url.trim().is_empty() {
        return Err(bad("empty".into()));
    }
    url.split(',')
        .map(|part| {
            let part = part.trim();
            if part.is_empty() {
                return Err(bad("an empty server address between commas".into()));
            }
            part.parse::<async_nats::ServerAddr>().map_err(|e| {
                bad(format!(
                    "'{}': {}",
                    redacted(part),
                    error::one_line(&e.to_string())
                ))
            })
        })
        .collect()
}

/// Check a NATS URL (`nats://host:port`, `host:port`, several separated by commas).
pub fn check_url(url: &str) -> Result<(), NatsError> {
    server_addrs(url).map(|_| ())
}

impl Nats {
    /// Connect to `url` (one or more servers, comma-separated) as client `name`, and
    /// check that the account has JetStream. Reconnects on its own after that.
    pub fn connect(url: &str, name: &str) -> Result<Nats, NatsError> {
        let addrs = server_addrs(url)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("nats-client")
            .enable_all()
            .build()
            .map_err(NatsError::Runtime)?;
        let opts = async_nats::ConnectOptions::new()
            .name(name)
            .connection_timeout(REQUEST_TIMEOUT)
            .request_timeout(Some(REQUEST_TIMEOUT))
            // Past the first connection, keep trying: a cluster node going away must
            // not end a worker.
            .max_reconnects(None);
        let client = rt
            .block_on(opts.connect(addrs))
            .map_err(|e| NatsError::Connect {
                url: redacted(url),
                reason: error::one_line(&e.to_string()),
            })?;
        // The context spawns its acknowledgement task on the runtime.
        let guard = rt.enter();
        let js = async_nats::jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .max_ack_inflight(publish::MAX_IN_FLIGHT * 2)
            .backpressure_on_inflight(true)
            .build(client.clone());
        drop(guard);
        // The account's JetStream details, read as plain JSON (the client's own model of
        // them wants fields nats-server 2.9 does not send).
        let info = rt.block_on(client.request("$JS.API.INFO", bytes::Bytes::new()));
        let no_js = |reason: String| NatsError::NoJetStream {
            url: redacted(url),
            reason,
        };
        let info = info.map_err(|e| no_js(error::one_line(&e.to_string())))?;
        let doc: serde_json::Value = serde_json::from_slice(&info.payload)
            .map_err(|e| no_js(format!("unreadable answer ({e})")))?;
        if let Some(err) = doc.get("error") {
            return Err(no_js(error::one_line(&err.to_string())));
        }
        Ok(Nats {
            rt: Arc::new(rt),
            client,
            js,
            url: redacted(url),
        })
    }

    /// The URL connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The largest message (headers and payload) the server accepts.
    pub fn max_payload(&self) -> usize {
        let n = self.client.server_info().max_payload;
        if n == 0 {
            1 << 20
        } else {
            n
        }
    }

    /// Run `f` on the client's runtime and wait for it.
    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The JetStream context.
    pub(crate) fn js(&self) -> &async_nats::jetstream::Context {
        &self.js
    }

    /// The runtime's handle (to spawn the feed's readers).
    pub(crate) fn handle(&self) -> tokio::runtime::Handle {
        self.rt.handle().clone()
    }

    /// Wait until everything published on this connection has reached the server.
    pub fn flush(&self) -> Result<(), NatsError> {
        self.block_on(self.client.flush())
            .map_err(|e| NatsError::request(format!("NATS at {}", self.url), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_repeated() {
        for (url, shown) in [
            ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
            ("nats://ann:s3cr@t@h:1", "nats://ann:***@h:1"),
            (
                "tls://ann:pw@h:1,nats://h2:2",
                "tls://ann:***@h:1,nats://h2:2",
            ),
            ("nats://s3cr3t@h:1", "nats://***@h:1"),
            ("", ""),
        ] {
            assert_eq!(redacted(url), shown, "{url}");
        }
        let e = check_url("nats://ann:pw@h:notaport")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("pw"), "{e}");
    }

    #[test]
    fn urls_name_one_or_more_servers() {
        for (url, n) in [
            ("nats://127.0.0.1:4222", 1),
            ("127.0.0.1:4222", 1),
            ("localhost", 1),
            ("nats://a:1,nats://b:2, c:3", 3),
        ] {
            assert_eq!(server_addrs(url).map(|a| a.len()).ok(), Some(n), "{url}");
        }
        for url in [
            "",
            " ",
            "nats://a:1,,nats://b:2",
            "nats://a:1,",
            "nats://a:x",
            "http://a:1",
        ] {
            assert!(check_url(url).is_err(), "{url}");
        }
    }
}
