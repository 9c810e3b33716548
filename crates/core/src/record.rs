//! One event as the detect stage sees it ([`EventRecord`]): borrowed fields plus the
//! features the extract stage computed. Records are built by the parse + extract stage
//! (or the `Sentinel` facade) and consumed, in input order, by the detect stage.

use crate::semantic::SemInput;
use trace_sentinel_pycompat::timestamp::Timestamp;

/// Numeric attributes of one event: `(key range in keys, value)` pairs in dict order.
#[derive(Debug, Clone, Copy)]
pub struct Attrs<'a> {
    /// Concatenated keys.
    pub(crate) keys: &'a str,
    /// Ranges into `keys` with their finite values.
    pub(crate) items: &'a [(std::ops::Range<usize>, f64)],
}

impl<'a> Attrs<'a> {
    /// No attributes.
    pub(crate) const EMPTY: Attrs<'static> = Attrs {
        keys: "",
        items: &[],
    };

    /// Iterate `(key, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, f64)> + 'a {
        let keys = self.keys;
        self.items
            .iter()
            .map(move |(r, v)| (keys.get(r.clone()).unwrap_or(""), *v))
    }
}

/// One event as the detect stage sees it: borrowed fields plus its extracted features.
#[derive(Debug, Clone, Copy)]
pub struct EventRecord<'a> {
    /// Message text as UTF-8 bytes. The parse stage produced it from a `&str`; it is
    /// re-validated only when an anomaly is reported (a memory-mapped file may change
    /// underneath, so the detect stage never assumes), with lossy replacement.
    pub(crate) message: &'a [u8],
    /// Source label.
    pub(crate) source: &'a str,
    /// Event time; `None` means "now" (resolved when first needed).
    pub(crate) timestamp: Option<Timestamp>,
    /// Numeric attributes.
    pub(crate) attrs: Attrs<'a>,
    /// `message.length`.
    pub(crate) length: f64,
    /// `message.tokens`.
    pub(crate) tokens: f64,
    /// Semantic vector (when the semantic layer is on).
    pub(crate) semvec: Option<SemInput<'a>>,
    /// Extra metrics from user extractors, `(metric name, value)`, scored after the
    /// built-in ones in this order.
    pub(crate) extra: Attrs<'a>,
}

impl<'a> EventRecord<'a> {
    /// The message (UTF-8, or WTF-8 from a JSON lone-surrogate escape).
    pub fn message(&self) -> &'a [u8] {
        self.message
    }

    /// The source label.
    pub fn source(&self) -> &'a str {
        self.source
    }

    /// The event time; `None` means "now".
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.timestamp
    }

    /// The numeric attributes (each scored as `attr.<key>`).
    pub fn attrs(&self) -> Attrs<'a> {
        self.attrs
    }

    /// The user extractors' metrics, by full name.
    pub fn extra(&self) -> Attrs<'a> {
        self.extra
    }

    /// `message.length`: Unicode scalar values of the whole line.
    pub fn length(&self) -> f64 {
        self.length
    }

    /// `message.tokens`: `\w+` runs of the whole line.
    pub fn tokens(&self) -> f64 {
        self.tokens
    }
}
