//! Sinks: where anomalies go. The engine pushes borrowed [`Anomaly`] views; a sink
//! renders or records them and must not change what was detected.

use crate::anomaly::Anomaly;
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

/// Replace every C0 control, DEL and C1 control with U+FFFD (terminal safety), appending
/// to `out`. Without ESC/CSI no escape sequence can reach the terminal.
pub fn push_sanitized(out: &mut String, text: &str) {
    let is_control = |c: char| (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32));
    if !text.chars().any(is_control) {
        out.push_str(text);
        return;
    }
    out.extend(
        text.chars()
            .map(|c| if is_control(c) { '\u{FFFD}' } else { c }),
    );
}

/// Human-readable lines, `[timestamp] SEVERITY (source) explanation`.
pub struct ConsoleSink<W: Write> {
    out: W,
    color: bool,
    line: String,
    scratch: String,
}

impl<W: Write> ConsoleSink<W> {
    /// A console sink; `color` adds ANSI colours to the severity tag.
    pub fn new(out: W, color: bool) -> Self {
        ConsoleSink {
            out,
            color,
            line: String::new(),
            scratch: String::new(),
        }
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }
}

impl<W: Write> Sink for ConsoleSink<W> {
    fn emit(&mut self, a: &Anomaly<'_>) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        line.push('[');
        a.timestamp.write_isoformat(line);
        line.push_str("] ");
        let tag = match a.severity {
            crate::anomaly::Severity::Warning => "WARNING",
            crate::anomaly::Severity::High => "HIGH",
            crate::anomaly::Severity::Critical => "CRITICAL",
        };
        if self.color {
            let code = match a.severity {
                crate::anomaly::Severity::Warning => "\x1b[33m",
                crate::anomaly::Severity::High => "\x1b[35m",
                crate::anomaly::Severity::Critical => "\x1b[31m",
            };
            line.push_str(code);
            line.push_str(tag);
            line.push_str("\x1b[0m");
        } else {
            line.push_str(tag);
        }
        line.push_str(" (");
        push_sanitized(line, a.source);
        line.push_str(") ");
        self.scratch.clear();
        a.write_explanation(&mut self.scratch);
        push_sanitized(line, &self.scratch);
        line.push('\n');
        self.out.write_all(line.as_bytes())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
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
}
