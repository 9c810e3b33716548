//! What the engine reports: [`Severity`], the borrowed [`Anomaly`] view, and its two
//! renderings — the reference's explanation text and its `as_dict()` JSON object.

use std::fmt::Write as _;
use trace_sentinel_kernels::shape::Level;
use trace_sentinel_pycompat::pyfmt;
use trace_sentinel_pycompat::timestamp::Timestamp;

/// How far past the threshold an anomaly sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// |score| / threshold < 1.5
    Warning,
    /// 1.5 ≤ |score| / threshold < 2
    High,
    /// |score| / threshold ≥ 2
    Critical,
}

impl Severity {
    /// Severity of `score` against `threshold`.
    ///
    /// ```
    /// use trace_sentinel_core::Severity;
    /// assert_eq!(Severity::from_score(3.2, 3.0), Severity::Warning);
    /// assert_eq!(Severity::from_score(-4.5, 3.0), Severity::High); // 1.5x the threshold
    /// assert_eq!(Severity::from_score(6.0, 3.0), Severity::Critical); // 2x
    /// ```
    pub fn from_score(score: f64, threshold: f64) -> Severity {
        let ratio = if threshold != 0.0 {
            score.abs() / threshold
        } else {
            0.0
        };
        if ratio >= 2.0 {
            Severity::Critical
        } else if ratio >= 1.5 {
            Severity::High
        } else {
            Severity::Warning
        }
    }

    /// Lower-case name (`warning`, `high`, `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// All severities, mildest first.
    pub const ALL: [Severity; 3] = [Severity::Warning, Severity::High, Severity::Critical];
}

/// A line's template, as an anomaly names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateRef<'a> {
    /// The template's id, unique within its source's shard.
    pub id: u64,
    /// The template as text, `<*>` for its variable parts.
    pub text: &'a str,
}

/// How rare a value (or a template) was when it was scored by rarity: seen `seen` times
/// in `out_of` observations before this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rarity {
    /// Times seen before.
    pub seen: u64,
    /// Observations before.
    pub out_of: u64,
}

/// What is known of an anomaly's line beyond the reference's fields; every part is
/// optional, and empty without line numbers or the template layer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LineContext<'a> {
    /// The line's 1-based number in its input.
    pub line: Option<u64>,
    /// The line's template (with the template layer).
    pub template: Option<TemplateRef<'a>>,
    /// The level the line names (with the template layer).
    pub level: Option<Level>,
    /// For scores by rarity (template novelty, categorical attributes).
    pub rarity: Option<Rarity>,
    /// Whether the timestamp is the event's own (from the input, or the time a followed
    /// line arrived) rather than the time the line was read from a file.
    pub timed: bool,
}

/// A surfaced deviation, borrowing the event it came from.
///
/// ```
/// use trace_sentinel_core::Timestamp;
/// use trace_sentinel_core::{Anomaly, Severity};
///
/// let a = Anomaly {
///     metric: "message.length",
///     value: 9182.0,
///     score: 245.597,
///     severity: Severity::Critical,
///     threshold: 3.0,
///     semantic: false,
///     timestamp: Timestamp::from_epoch_seconds(0.0).unwrap(),
///     source: "web",
///     message: "GET /search?q=...",
///     message_wtf8: None,
///     context: Default::default(),
/// };
/// assert_eq!(
///     a.explanation(),
///     "message.length = 9.18e+03 is 245.6σ above baseline (threshold 3.0σ)"
/// );
/// let (mut json, mut scratch) = (String::new(), String::new());
/// a.write_json(&mut json, &mut scratch);
/// assert!(json.starts_with(r#"{"timestamp": "1970-01-01T00:00:00+00:00", "source": "web""#));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Anomaly<'a> {
    /// Metric name (`message.length`, `attr.<key>`, `message.semantic_novelty`, ...).
    pub metric: &'a str,
    /// Observed value (the score itself for semantic novelty).
    pub value: f64,
    /// Deviation in sigma.
    pub score: f64,
    /// Severity bucket.
    pub severity: Severity,
    /// Threshold in force (quoted by the explanation).
    pub threshold: f64,
    /// Whether this is a semantic-novelty anomaly.
    pub semantic: bool,
    /// Event time.
    pub timestamp: Timestamp,
    /// Event source.
    pub source: &'a str,
    /// Event message (lone surrogates from JSON escapes shown as U+FFFD).
    pub message: &'a str,
    /// The message as WTF-8 when it holds lone surrogates, for exact JSON output.
    pub message_wtf8: Option<&'a [u8]>,
    /// Line number, template, level and rarity, where known.
    pub context: LineContext<'a>,
}

impl Anomaly<'_> {
    /// Append the human explanation (the reference's wording; scores by rarity say how
    /// rare).
    pub fn write_explanation(&self, out: &mut String) {
        let direction = if self.score > 0.0 { "above" } else { "below" };
        if let Some(r) = self.context.rarity {
            if self.metric == crate::metric::TEMPLATE_NOVELTY {
                if r.seen == 0 {
                    out.push_str("new template");
                } else {
                    out.push_str("template seen ");
                    push_count(out, r.seen, "time");
                    out.push_str(" in ");
                    push_count(out, r.out_of, "line");
                }
            } else {
                out.push_str(self.metric);
                out.push_str(" = ");
                pyfmt::write_general(out, self.value, 3);
                out.push_str(" seen ");
                push_count(out, r.seen, "time");
                out.push_str(" in ");
                push_count(out, r.out_of, "value");
            }
            out.push_str(": ");
            pyfmt::write_fixed(out, self.score.abs(), 1);
            out.push_str("σ rare in this source (threshold ");
            pyfmt::write_fixed(out, self.threshold, 1);
            out.push_str("σ)");
        } else if self.semantic {
            out.push_str("message is semantically novel: ");
            pyfmt::write_fixed(out, self.score.abs(), 1);
            out.push_str("σ ");
            out.push_str(direction);
            out.push_str(" the learned baseline of normal log text");
        } else {
            out.push_str(self.metric);
            out.push_str(" = ");
            pyfmt::write_general(out, self.value, 3);
            out.push_str(" is ");
            pyfmt::write_fixed(out, self.score.abs(), 1);
            out.push_str("σ ");
            out.push_str(direction);
            out.push_str(" baseline (threshold ");
            pyfmt::write_fixed(out, self.threshold, 1);
            out.push_str("σ)");
        }
    }

    /// The explanation as a new string.
    pub fn explanation(&self) -> String {
        let mut s = String::new();
        self.write_explanation(&mut s);
        s
    }

    /// Append the JSON object (no newline) exactly as the reference's
    /// `json.dumps(anomaly.as_dict())`. `scratch` is reused for the explanation.
    pub fn write_json(&self, out: &mut String, scratch: &mut String) {
        out.push_str("{\"timestamp\": ");
        scratch.clear();
        self.timestamp.write_isoformat(scratch);
        pyfmt::write_json_str(out, scratch);
        out.push_str(", \"source\": ");
        pyfmt::write_json_str(out, self.source);
        out.push_str(", \"metric\": ");
        pyfmt::write_json_str(out, self.metric);
        out.push_str(", \"value\": ");
        pyfmt::write_json_float(out, pyfmt::round_half_even(self.value, 6));
        out.push_str(", \"score\": ");
        pyfmt::write_json_float(out, pyfmt::round_half_even(self.score, 3));
        out.push_str(", \"severity\": \"");
        out.push_str(self.severity.as_str());
        out.push_str("\", \"explanation\": ");
        scratch.clear();
        self.write_explanation(scratch);
        pyfmt::write_json_str(out, scratch);
        out.push_str(", \"message\": ");
        match self.message_wtf8 {
            Some(raw) => pyfmt::write_json_wtf8(out, raw),
            None => pyfmt::write_json_str(out, self.message),
        }
        let c = &self.context;
        if let Some(line) = c.line {
            out.push_str(", \"line\": ");
            let _ = write!(out, "{line}");
        }
        if let Some(t) = c.template {
            out.push_str(", \"template_id\": ");
            let _ = write!(out, "{}", t.id);
            out.push_str(", \"template\": ");
            pyfmt::write_json_str(out, t.text);
            out.push_str(", \"level\": ");
            match c.level {
                Some(l) => {
                    out.push('"');
                    out.push_str(l.name());
                    out.push('"');
                }
                None => out.push_str("null"),
            }
        }
        out.push('}');
    }
}

/// `n` and its noun, `s` after the noun unless `n` is 1.
fn push_count(out: &mut String, n: u64, noun: &str) {
    let _ = write!(out, "{n}");
    out.push(' ');
    out.push_str(noun);
    if n != 1 {
        out.push('s');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_bands() {
        assert_eq!(Severity::from_score(3.0, 3.0), Severity::Warning);
        assert_eq!(Severity::from_score(-4.5, 3.0), Severity::High);
        assert_eq!(Severity::from_score(4.49, 3.0), Severity::Warning);
        assert_eq!(Severity::from_score(6.0, 3.0), Severity::Critical);
    }
}
