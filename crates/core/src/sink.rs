//! Sinks: where anomalies go. The engine pushes borrowed [`Anomaly`] views; a sink
//! renders or records them and must not change what was detected.

use crate::anomaly::Anomaly;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Consumes anomalies one at a time.
///
/// ```
/// use std::io;
/// use trace_sentinel_core::{Anomaly, Sink};
///
/// /// Counts anomalies per metric.
/// #[derive(Default)]
/// struct PerMetric(std::collections::BTreeMap<String, u64>);
///
/// impl Sink for PerMetric {
///     fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
///         *self.0.entry(a.metric.to_string()).or_default() += 1;
///         Ok(())
///     }
/// }
/// ```
pub trait Sink {
    /// Take one anomaly.
    fn emit(&mut self, anomaly: &Anomaly<'_>) -> io::Result<()>;
    /// Push buffered output through (called between batches and at the end).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn emit(&mut self, anomaly: &Anomaly<'_>) -> io::Result<()> {
        (**self).emit(anomaly)
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn emit(&mut self, anomaly: &Anomaly<'_>) -> io::Result<()> {
        (**self).emit(anomaly)
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
}

/// Whether `c` must not reach a terminal: a C0 control, DEL, a C1 control, or a
/// bidirectional formatting character (U+200E/U+200F marks, U+202A–U+202E embeddings and
/// overrides, U+2066–U+2069 isolates), which can reorder or hide the text around it.
pub fn is_unsafe_for_terminal(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7f..0xa0).contains(&u)
        || matches!(u, 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069)
}

/// Replace every character [`is_unsafe_for_terminal`] names with U+FFFD, appending to
/// `out`. Without ESC/CSI no escape sequence can reach the terminal, and without bidi
/// controls no text is displayed in another order than it is stored.
pub fn push_sanitized(out: &mut String, text: &str) {
    if !text.chars().any(is_unsafe_for_terminal) {
        out.push_str(text);
        return;
    }
    out.extend(text.chars().map(|c| {
        if is_unsafe_for_terminal(c) {
            '\u{FFFD}'
        } else {
            c
        }
    }));
}

/// Width a text entry's excerpts are cut to when the writer is not a terminal.
pub const DEFAULT_TEXT_WIDTH: usize = 200;

/// For people: one entry per anomalous line — its severity (the highest of its
/// metrics), source and line number, every metric that fired with its sigma, the
/// template for template metrics, then the line itself, escaped and cut to the width:
///
/// ```text
/// HIGH app.log:1234  message.length = 2.1e+03 (4.6σ above), template.novelty (new template, 5.2σ)
///     template #17 [ERROR]: <*> <*> ERROR worker <*> crashed: <*>
///     2026-01-15 09:00:00,657 ERROR worker 12 crashed: out of memory
/// ```
///
/// An event time from the input (JSON lines, follow mode) leads the entry in brackets.
/// Anomalies of one line arrive together; the entry is written when the next line's
/// first anomaly arrives, on [`Sink::flush`], or when the sink is dropped.
pub struct ConsoleSink<W: Write> {
    out: W,
    color: bool,
    width: usize,
    entry: Option<Entry>,
    buf: String,
}

/// The anomalies of one line, waiting to be written.
struct Entry {
    source: String,
    line: Option<u64>,
    message: String,
    timestamp: Option<String>,
    severity: crate::anomaly::Severity,
    metrics: String,
    template: Option<(u64, String, Option<trace_sentinel_kernels::shape::Level>)>,
}

impl<W: Write> ConsoleSink<W> {
    /// A console sink; `color` adds ANSI colours to the severity tag.
    pub fn new(out: W, color: bool) -> Self {
        ConsoleSink {
            out,
            color,
            width: DEFAULT_TEXT_WIDTH,
            entry: None,
            buf: String::new(),
        }
    }

    /// Cut excerpts (the line, the template) to `width` columns (at least 20).
    pub fn with_width(mut self, width: usize) -> Self {
        self.width = width.max(20);
        self
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Write the waiting entry, if any.
    fn write_entry(&mut self) -> io::Result<()> {
        let Some(e) = self.entry.take() else {
            return Ok(());
        };
        let out = &mut self.buf;
        out.clear();
        if let Some(ts) = &e.timestamp {
            out.push('[');
            out.push_str(ts);
            out.push_str("] ");
        }
        let (tag, code) = match e.severity {
            crate::anomaly::Severity::Warning => ("WARNING", "\x1b[33m"),
            crate::anomaly::Severity::High => ("HIGH", "\x1b[35m"),
            crate::anomaly::Severity::Critical => ("CRITICAL", "\x1b[31m"),
        };
        if self.color {
            out.push_str(code);
            out.push_str(tag);
            out.push_str("\x1b[0m");
        } else {
            out.push_str(tag);
        }
        out.push(' ');
        push_sanitized(out, &e.source);
        if let Some(n) = e.line {
            let _ = write!(out, ":{n}");
        }
        out.push_str("  ");
        push_sanitized(out, &e.metrics);
        out.push('\n');
        let width = self.width;
        if let Some((id, text, level)) = &e.template {
            let mut head = format!("    template #{id}");
            if let Some(l) = level {
                head.push_str(" [");
                head.push_str(l.name());
                head.push(']');
            }
            head.push_str(": ");
            out.push_str(&head);
            push_excerpt(out, text, width.saturating_sub(head.chars().count()));
            out.push('\n');
        }
        out.push_str("    ");
        push_excerpt(out, &e.message, width.saturating_sub(4));
        out.push('\n');
        self.out.write_all(out.as_bytes())
    }
}

/// `text` escaped (see [`push_sanitized`]) and cut to `width` characters with `…`.
fn push_excerpt(out: &mut String, text: &str, width: usize) {
    let width = width.max(8);
    if text.chars().count() <= width {
        push_sanitized(out, text);
        return;
    }
    let cut: String = text.chars().take(width - 1).collect();
    push_sanitized(out, &cut);
    out.push('…');
}

/// The part of an entry one anomaly contributes: the metric, its value and its sigma.
fn push_metric(out: &mut String, a: &Anomaly<'_>) {
    use trace_sentinel_pycompat::pyfmt;
    let direction = if a.score > 0.0 { "above" } else { "below" };
    match a.context.rarity {
        Some(r) if a.metric == crate::metric::TEMPLATE_NOVELTY => {
            out.push_str(a.metric);
            if r.seen == 0 {
                out.push_str(" (new template, ");
            } else {
                let _ = write!(out, " (seen {} in {} lines, ", r.seen, r.out_of);
            }
            pyfmt::write_fixed(out, a.score.abs(), 1);
            out.push_str("σ)");
        }
        Some(r) => {
            out.push_str(a.metric);
            out.push_str(" = ");
            pyfmt::write_general(out, a.value, 3);
            let _ = write!(out, " (rare: seen {} in {}, ", r.seen, r.out_of);
            pyfmt::write_fixed(out, a.score.abs(), 1);
            out.push_str("σ)");
        }
        None if a.semantic => {
            out.push_str(a.metric);
            out.push_str(" (");
            pyfmt::write_fixed(out, a.score.abs(), 1);
            out.push_str("σ ");
            out.push_str(direction);
            out.push(')');
        }
        None => {
            out.push_str(a.metric);
            out.push_str(" = ");
            pyfmt::write_general(out, a.value, 3);
            out.push_str(" (");
            pyfmt::write_fixed(out, a.score.abs(), 1);
            out.push_str("σ ");
            out.push_str(direction);
            out.push(')');
        }
    }
}

impl<W: Write> Sink for ConsoleSink<W> {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        let same = self.entry.as_ref().is_some_and(|e| {
            e.line == a.context.line && e.source == a.source && e.message == a.message
        });
        if !same {
            self.write_entry()?;
            let timestamp = a.context.timed.then(|| {
                let mut t = String::new();
                a.timestamp.write_isoformat(&mut t);
                t
            });
            self.entry = Some(Entry {
                source: a.source.to_string(),
                line: a.context.line,
                message: a.message.to_string(),
                timestamp,
                severity: a.severity,
                metrics: String::new(),
                template: a
                    .context
                    .template
                    .map(|t| (t.id, t.text.to_string(), a.context.level)),
            });
        }
        let e = self.entry.as_mut().expect("an entry was just made");
        if !e.metrics.is_empty() {
            e.metrics.push_str(", ");
        }
        push_metric(&mut e.metrics, a);
        e.severity = e.severity.max(a.severity);
        if e.template.is_none() {
            e.template = a
                .context
                .template
                .map(|t| (t.id, t.text.to_string(), a.context.level));
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_entry()?;
        self.out.flush()
    }
}

impl<W: Write> Drop for ConsoleSink<W> {
    fn drop(&mut self) {
        let _ = self.write_entry();
        let _ = self.out.flush();
    }
}

/// One JSON object per line, identical to the reference's `JSONLSink`.
pub struct JsonSink<W: Write> {
    out: W,
    line: String,
    scratch: String,
}

impl<W: Write> JsonSink<W> {
    /// A JSON-lines sink.
    pub fn new(out: W) -> Self {
        JsonSink {
            out,
            line: String::new(),
            scratch: String::new(),
        }
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        self.line.clear();
        a.write_json(&mut self.line, &mut self.scratch);
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Calls a closure per anomaly (route anomalies anywhere).
///
/// ```
/// use trace_sentinel_core::{Event, Sentinel};
/// use trace_sentinel_core::sink::CallbackSink;
/// use trace_sentinel_core::Anomaly;
///
/// let mut sentinel = Sentinel::builder().warmup(3).build()?;
/// let mut seen = Vec::new();
/// let mut sink = CallbackSink(|a: &Anomaly<'_>| seen.push(a.metric.to_string()));
/// for msg in ["ok 1", "ok 22", "ok 333", "ok 4", "ok 55", &"x".repeat(300)] {
///     sentinel.observe_into(&Event::new(msg), &mut sink)?;
/// }
/// assert_eq!(seen, ["message.length"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CallbackSink<F: FnMut(&Anomaly<'_>)>(pub F);

impl<F: FnMut(&Anomaly<'_>)> Sink for CallbackSink<F> {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        (self.0)(a);
        Ok(())
    }
}

/// Sends every anomaly to two sinks.
pub struct Tee<A: Sink, B: Sink>(pub A, pub B);

impl<A: Sink, B: Sink> Sink for Tee<A, B> {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        self.0.emit(a)?;
        self.1.emit(a)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_controls() {
        let mut s = String::new();
        push_sanitized(&mut s, "a\x1b[31mb\x7f\u{85}c\u{a0}");
        assert_eq!(s, "a\u{FFFD}[31mb\u{FFFD}\u{FFFD}c\u{a0}");
    }

    #[test]
    fn sanitizes_bidi_controls() {
        let cases = [
            ("", ""),
            ("plain", "plain"),
            ("a\u{202E}gpj.exe", "a\u{FFFD}gpj.exe"),
            (
                "\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}",
                "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}",
            ),
            (
                "\u{2066}x\u{2067}y\u{2068}z\u{2069}",
                "\u{FFFD}x\u{FFFD}y\u{FFFD}z\u{FFFD}",
            ),
            ("\u{200E}\u{200F}", "\u{FFFD}\u{FFFD}"),
            // Neighbours stay: U+2029, U+202F, U+2065, U+206A, Arabic and Hebrew text.
            (
                "\u{2029}\u{202F}\u{2065}\u{206A}\u{5d0}\u{627}",
                "\u{2029}\u{202F}\u{2065}\u{206A}\u{5d0}\u{627}",
            ),
        ];
        for (input, want) in cases {
            let mut s = String::new();
            push_sanitized(&mut s, input);
            assert_eq!(s, want, "{input:?}");
        }
    }
}
