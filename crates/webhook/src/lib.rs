//! Anomaly delivery over HTTP: the webhook sink (anomalies POSTed as JSON arrays) and the
//! Alertmanager sink (anomalies as alerts on the Alertmanager v2 API), on one delivery
//! implementation.
//!
//! Each anomaly is rendered once, on the detecting thread, and pushed into a bounded
//! queue per endpoint ([`delivery`]). A background thread per endpoint drains its queue
//! into batches (by count, bytes and age), POSTs each batch as a JSON array, and retries
//! transport errors, timeouts, 408, 429 and 5xx answers with exponential backoff and
//! jitter, waiting at least what a `Retry-After` answer asks. Detection never waits on
//! the network: when a queue is full the anomaly is dropped there and counted.
//! [`DeliverySink::finish`] (also run on drop) closes the queues, lets the workers
//! deliver what is left and waits for them at most
//! [`DeliveryOptions::flush_timeout`]; whatever is still undelivered then counts as
//! failed.
//!
//! - [`WebhookSink`]: the very bytes `--format json` prints
//!   ([`Anomaly::write_json`](trace_sentinel_core::Anomaly::write_json)), in arrays.
//! - [`AlertmanagerSink`]: alerts on `POST /api/v2/alerts` of every Alertmanager given
//!   (each member of an HA pair gets every alert, as Alertmanager expects); see
//!   [`alertmanager`].
//!
//! TLS is rustls with the webpki root set: no system OpenSSL is needed. Proxies come from
//! the usual `HTTP(S)_PROXY`/`NO_PROXY` variables, except for loopback endpoints, which
//! are always reached directly.
//!
//! Delivery is at least once: a batch whose answer is lost (a timeout after the receiver
//! processed it) is sent again. Every request carries an `X-Trace-Sentinel-Batch` header,
//! unique per batch within a run and identical across its retries, so a receiver can
//! drop duplicates (Alertmanager merges a repeated alert by its labels anyway).
//!
//! The crate never prints: losses at the end go to [`DeliverySink::on_loss`], notices
//! while running to [`DeliverySink::on_warning`].
//!
//! ```no_run
//! use trace_sentinel_webhook::{WebhookOptions, WebhookSink};
//!
//! let mut opts = WebhookOptions::new("https://alerts.example.com/hook");
//! opts.headers.push(("Authorization".into(), "Bearer TOKEN".into()));
//! let sink = WebhookSink::new(opts)?;
//! // ... hand `sink` to an engine or a `Sentinel` ...
//! let counts = sink.finish();
//! println!("{} delivered, {} dropped", counts.delivered, counts.dropped);
//! # Ok::<(), trace_sentinel_core::Error>(())
//! ```

#![deny(missing_docs)]

pub mod alertmanager;
pub mod delivery;
mod sink;

pub use alertmanager::{AlertmanagerOptions, AlertmanagerSink};
pub use delivery::{DeliveryOptions, Notice, BATCH_HEADER};
pub use sink::{DeliverySink, LossReport, Render};
pub use trace_sentinel_core::stats::{DeliveryCounts, DeliveryStats, FailureReason};

use delivery::{check_header, config_error};
use trace_sentinel_core::{Anomaly, Error};

/// The webhook's counts (the same counts every delivery sink keeps).
pub type WebhookCounts = DeliveryCounts;

/// Settings of a [`WebhookSink`]; [`WebhookOptions::new`] gives the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookOptions {
    /// Endpoint, `http://` or `https://`.
    pub url: String,
    /// Extra request headers (`Authorization`, API keys, ...), sent with every request.
    pub headers: Vec<(String, String)>,
    /// Queueing, batching and retries ([`DeliveryOptions::default`]).
    pub delivery: DeliveryOptions,
}

impl WebhookOptions {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookOptions {
            url: url.into(),
            headers: Vec::new(),
            delivery: DeliveryOptions::default(),
        }
    }
}

/// Parse a `--webhook-header` value, `Name: value`, into a validated pair.
///
/// ```
/// use trace_sentinel_webhook::parse_header;
/// assert_eq!(
///     parse_header("Authorization: Bearer abc").unwrap(),
///     ("Authorization".to_string(), "Bearer abc".to_string())
/// );
/// assert!(parse_header("no colon").is_err());
/// ```
pub fn parse_header(spec: &str) -> Result<(String, String), Error> {
    const FLAG: &str = "--webhook-header";
    let Some((name, value)) = spec.split_once(':') else {
        return Err(config_error(FLAG, "expected 'Name: value'"));
    };
    let (name, value) = (name.trim(), value.trim());
    check_header(FLAG, name, value)?;
    Ok((name.to_string(), value.to_string()))
}

/// Renders an anomaly exactly as `--format json` prints it.
#[derive(Debug, Default)]
pub struct AnomalyJson {
    scratch: String,
}

impl Render for AnomalyJson {
    fn render(&mut self, a: &Anomaly<'_>, out: &mut String) {
        a.write_json(out, &mut self.scratch);
    }
}

/// A sink that POSTs anomalies to a webhook as JSON arrays (see the crate docs).
pub type WebhookSink = DeliverySink<AnomalyJson>;

impl DeliverySink<AnomalyJson> {
    /// Validate `opts` and start the delivery thread.
    pub fn new(opts: WebhookOptions) -> Result<Self, Error> {
        DeliverySink::start(
            AnomalyJson::default(),
            "webhook",
            "--webhook",
            std::slice::from_ref(&opts.url),
            &opts.headers,
            &opts.delivery,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_not_echoed() {
        let err = parse_header("X-Token: sec\u{7f}ret")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("X-Token") && err.contains("--webhook-header"),
            "{err}"
        );
        assert!(!err.contains("sec"), "{err}");
        assert!(parse_header("Bad Name: v").is_err());
        assert_eq!(
            parse_header("  X-A :  b : c ").unwrap(),
            ("X-A".to_string(), "b : c".to_string())
        );
    }

    #[test]
    fn pending_and_summary() {
        let c = WebhookCounts {
            queued: 10,
            delivered: 6,
            dropped: 2,
            failed: 1,
            requests: 3,
            retries: 1,
            last_failure: Some(FailureReason::Status(503)),
        };
        assert_eq!(c.pending(), 3);
        assert_eq!(
            c.summary(),
            "6 delivered, 2 dropped (queue full), 1 failed (HTTP 503), in 3 requests (1 retries)"
        );
        let none = WebhookCounts { failed: 0, ..c };
        assert_eq!(
            none.summary(),
            "6 delivered, 2 dropped (queue full), 0 failed, in 3 requests (1 retries)"
        );
    }
}
