//! Parse stage (with the per-line extract step): raw line bytes → an event record.
//!
//! [`LineParser`] decodes a line (lossy UTF-8, as Python's `errors="replace"`), parses it
//! as plain text or as a JSON line (`jsonl`, the reference's `iter_jsonl`), and
//! extracts its history-free features; over a whole chunk it freezes the records into
//! [`ChunkFeatures`] for the ordered detect stage, taking the fused ASCII span kernel
//! when the chunk is pure-ASCII plain text. One parser per worker: it owns its scratch.

pub(crate) mod jsonl;

use crate::config::Config;
use crate::extract::{BuiltinFeatures, LineMeter};
use crate::features::{ChunkFeatures, PIECE_FEATURE_BYTES, SOURCE_PLACEHOLDER};
use crate::record::{Attrs, EventRecord};
use crate::semantic::{SemInput, SparseVec};
use jsonl::{parse_jsonl_line, JsonFields};
use trace_sentinel_kernels::shape::ShapeMemo;
use trace_sentinel_kernels::spans::ascii_line_spans;
use trace_sentinel_kernels::split::{count_terminators, Lines};
use trace_sentinel_pycompat::decode::decode_lossy;

/// How lines are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Plain text: the line is the message.
    Text,
    /// JSON lines (the reference's `iter_jsonl`).
    JsonLines,
}

/// Parse + extract scratch for one worker.
#[derive(Debug)]
pub struct LineParser {
    format: InputFormat,
    decoded: String,
    json: JsonFields,
    extractor: BuiltinFeatures,
    semvec: SparseVec,
    max_line: usize,
    meter: LineMeter,
    /// Lines longer than the line cap seen so far (measured whole, kept as a prefix).
    oversized_lines: u64,
    /// Template shapes of messages (with the template layer), memoised per worker.
    shapes: Option<Box<ShapeMemo>>,
}

/// Length of `b` without a UTF-8 sequence cut off at its end (so a kept prefix ends at a
/// character boundary instead of decoding to a trailing U+FFFD).
fn char_boundary_len(b: &[u8]) -> usize {
    let n = b.len();
    for back in 1..=3.min(n) {
        let lead = b[n - back];
        if lead & 0xC0 == 0x80 {
            continue; // continuation byte: keep looking for the lead
        }
        let need = match lead {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 1,
        };
        return if need > back { n - back } else { n };
    }
    n
}

impl LineParser {
    /// A parser for `format`; `semantic` enables the vectorizer.
    pub fn new(format: InputFormat, semantic: bool) -> Self {
        LineParser {
            format,
            decoded: String::new(),
            json: JsonFields::default(),
            extractor: BuiltinFeatures::new(semantic),
            semvec: SparseVec::default(),
            max_line: crate::input::DEFAULT_MAX_LINE_BYTES,
            meter: LineMeter::new(),
            oversized_lines: 0,
            shapes: None,
        }
    }

    /// Also take each message's template shape (the template layer's input).
    pub fn with_templates(mut self, on: bool) -> Self {
        self.shapes = on.then(Box::default);
        self
    }

    /// A parser for `format` that extracts what `cfg`'s layers need.
    pub fn for_config(format: InputFormat, cfg: &Config) -> Self {
        LineParser::new(format, cfg.semantic).with_templates(cfg.templates)
    }

    /// Set the line cap (`--max-line-bytes`, at least 1).
    pub fn set_max_line_bytes(&mut self, n: usize) {
        self.max_line = n.max(1);
    }

    /// The line format.
    pub fn format(&self) -> InputFormat {
        self.format
    }

    /// The line cap.
    pub fn max_line_bytes(&self) -> usize {
        self.max_line
    }

    /// Lines longer than the line cap seen so far (measured whole, kept as a prefix).
    pub fn oversized_lines(&self) -> u64 {
        self.oversized_lines
    }

    /// An over-long line: `prefix` is its first `max_line_bytes` bytes and `chars` /
    /// `words` measure the whole line ([`crate::extract::LineMeter`]). The message is the
    /// lossily decoded prefix — also in JSON-lines mode, where such a line is not parsed
    /// as JSON — and the semantic layer reads the prefix.
    pub fn parse_oversized<R>(
        &mut self,
        prefix: &[u8],
        chars: u64,
        words: u64,
        default_source: &str,
        f: impl FnOnce(&EventRecord<'_>) -> R,
    ) -> R {
        self.oversized_lines += 1;
        let prefix = &prefix[..char_boundary_len(prefix)];
        let LineParser {
            decoded,
            extractor,
            semvec,
            shapes,
            ..
        } = self;
        let text = decode_lossy(prefix, decoded);
        extractor.extract(text, semvec);
        let semvec = extractor
            .semantic()
            .then_some(SemInput::Sparse(semvec.view()));
        f(&EventRecord {
            message: text.as_bytes(),
            source: default_source,
            timestamp: None,
            attrs: Attrs::EMPTY,
            length: chars as f64,
            tokens: words as f64,
            semvec,
            extra: Attrs::EMPTY,
            shape: shapes.as_mut().map(|m| m.shape(text.as_bytes())),
            line: None,
        })
    }

    /// Measure a whole over-long line held in memory and parse it like a streamed one.
    fn parse_long_line<R>(
        &mut self,
        line: &[u8],
        default_source: &str,
        f: impl FnOnce(&EventRecord<'_>) -> R,
    ) -> R {
        self.meter.feed(line);
        let (chars, words) = self.meter.finish();
        let cut = self.max_line.min(line.len());
        self.parse_oversized(&line[..cut], chars, words, default_source, f)
    }

    /// Parse and extract every line of `block`, calling `f` with each event record in
    /// order; stops at the first error `f` returns. (Chunks of pure-ASCII plain text take
    /// the fused kernel of [`LineParser::extract_chunk`] instead.)
    pub fn parse_block<E>(
        &mut self,
        block: &[u8],
        default_source: &str,
        mut f: impl FnMut(&EventRecord<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        for line in Lines::new(block) {
            self.parse_any(line, default_source, &mut f)?;
        }
        Ok(())
    }

    /// [`Self::parse`] for a line of any length (an over-long one is measured whole and
    /// keeps its prefix); `Ok` for a line the reference skips.
    #[inline]
    fn parse_any<E>(
        &mut self,
        line: &[u8],
        default_source: &str,
        f: &mut impl FnMut(&EventRecord<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if line.len() > self.max_line {
            self.parse_long_line(line, default_source, f)
        } else {
            self.parse(line, default_source, f).unwrap_or(Ok(()))
        }
    }

    /// Parse and extract one raw line (no terminator); call `f` with the event record.
    /// Returns `None` when the reference would skip the line.
    #[inline]
    pub fn parse<R>(
        &mut self,
        line: &[u8],
        default_source: &str,
        f: impl FnOnce(&EventRecord<'_>) -> R,
    ) -> Option<R> {
        let LineParser {
            format,
            decoded,
            json,
            extractor,
            semvec,
            shapes,
            ..
        } = self;
        let text = decode_lossy(line, decoded);
        let (message, message_bytes, source, timestamp, attrs) = match format {
            InputFormat::Text => {
                if text.is_empty() {
                    return None;
                }
                (text, text.as_bytes(), default_source, None, Attrs::EMPTY)
            }
            InputFormat::JsonLines => {
                if !parse_jsonl_line(text, json) {
                    return None;
                }
                let source = if json.has_source {
                    json.source.as_str()
                } else {
                    default_source
                };
                let attrs = Attrs {
                    keys: &json.attr_keys,
                    items: &json.attrs,
                };
                (
                    json.message.as_str(),
                    json.message_bytes(),
                    source,
                    json.timestamp,
                    attrs,
                )
            }
        };
        let features = extractor.extract(message, semvec);
        let semvec = extractor
            .semantic()
            .then_some(SemInput::Sparse(semvec.view()));
        Some(f(&EventRecord {
            message: message_bytes,
            source,
            timestamp,
            attrs,
            length: features.length,
            tokens: features.tokens,
            semvec,
            extra: Attrs::EMPTY,
            shape: shapes.as_mut().map(|m| m.shape(message_bytes)),
            line: None,
        }))
    }
}

impl LineParser {
    /// Freeze one over-long line (prefix + whole-line measurements) into `out` (cleared
    /// first) — the streaming counterpart of an over-long line inside a chunk.
    pub fn extract_oversized(
        &mut self,
        prefix: &[u8],
        chars: u64,
        words: u64,
        out: &mut ChunkFeatures,
    ) {
        out.clear();
        self.parse_oversized(prefix, chars, words, SOURCE_PLACEHOLDER, |ev| {
            out.freeze(prefix, ev)
        });
        // One line, and the terminator the reader cut it at.
        out.lines.push(0);
        out.breaks = 1;
    }

    /// Parse and extract the lines of `bytes` into `out` (cleared first), up to the
    /// feature budget (see [`Self::extract_chunk_upto`]); returns the length taken.
    #[must_use = "the lines after the returned length were not extracted"]
    pub fn extract_chunk(&mut self, bytes: &[u8], out: &mut ChunkFeatures) -> usize {
        self.extract_chunk_upto(bytes, out, usize::MAX)
    }

    /// [`Self::extract_chunk`] for a prefix of `bytes` holding about `max_lines` lines at
    /// most; returns its length (all of `bytes`, or a prefix ending after a line break,
    /// so the rest starts a line). An ASCII text chunk stops after `max_lines` spans
    /// (up to 64 more, see [`ascii_line_spans`]) in the same pass that makes them; any
    /// other stops after `max_lines` line breaks, counted first, or sooner, after the
    /// line that takes its records past 4 MiB (their semantic vectors
    /// are `f64` values, up to 9 bytes per input byte: the line cap alone would let a
    /// piece of short lines hold ~17 MB).
    pub fn extract_chunk_upto(
        &mut self,
        bytes: &[u8],
        out: &mut ChunkFeatures,
        max_lines: usize,
    ) -> usize {
        out.clear();
        let ascii = match self.format {
            InputFormat::Text => ascii_line_spans(bytes, &mut out.spans, max_lines),
            _ => None,
        };
        if let Some(taken) = ascii {
            let bytes = &bytes[..taken];
            out.ascii_text = true;
            out.max_line = self.max_line;
            let max_line = self.max_line;
            self.oversized_lines += out
                .spans
                .iter()
                .filter(|s| s.len as usize > max_line)
                .count() as u64;
            let ChunkFeatures {
                spans,
                sem_counts,
                sem_masks,
                sem_norms,
                sem_ends,
                shapes,
                lines,
                breaks,
                ..
            } = out;
            let mut terms = 0u64;
            let mut prev_end = 0usize;
            lines.extend(spans.iter().map(|s| {
                let start = s.start as usize;
                terms += count_terminators(&bytes[prev_end.min(start)..start]);
                prev_end = start + s.len as usize;
                terms as u32
            }));
            *breaks = terms + count_terminators(&bytes[prev_end.min(bytes.len())..]);
            let line = |k: usize| {
                let s = spans[k];
                let start = s.start as usize;
                &bytes[start..start + (s.len as usize).min(max_line)]
            };
            if let Some(memo) = self.shapes.as_mut() {
                shapes.extend((0..spans.len()).map(|k| memo.shape(line(k))));
            }
            self.extractor.embed_ascii_counts_each(
                spans.len(),
                line,
                sem_counts,
                |mask, norm, end| {
                    sem_masks.push(mask);
                    sem_norms.push(norm);
                    sem_ends.push(end as u32);
                },
            );
            return taken;
        }
        out.spans.clear();
        // (Returns at once, counting nothing, for a buffer shorter than the cap.)
        let taken =
            trace_sentinel_kernels::split::cut_after_lines(bytes, max_lines).unwrap_or(bytes.len());
        let bytes = &bytes[..taken];
        let mut lines = Lines::new(bytes);
        let mut terms = 0u64;
        let mut prev_end = 0usize;
        while let Some(line) = lines.next() {
            let start = line.as_ptr() as usize - bytes.as_ptr() as usize;
            terms += count_terminators(&bytes[prev_end..start]);
            prev_end = start + line.len();
            let rel = terms as u32;
            let _ = self.parse_any(line, SOURCE_PLACEHOLDER, &mut |ev| -> Result<
                (),
                std::convert::Infallible,
            > {
                out.freeze(bytes, ev);
                out.lines.push(rel);
                Ok(())
            });
            if out.held_bytes() >= PIECE_FEATURE_BYTES && !lines.rest().is_empty() {
                let end = taken - lines.rest().len();
                out.breaks = terms + count_terminators(&bytes[prev_end..end]);
                return end;
            }
        }
        out.breaks = terms + count_terminators(&bytes[prev_end..]);
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines off the span path, with the semantic layer: the extractor stops at the
    /// feature budget, just after a line break, and its pieces hold every line once.
    #[test]
    fn feature_budget_cuts_pieces_after_a_line() {
        let mut text = Vec::new();
        let mut lines = 0;
        while text.len() < 3 << 20 {
            text.extend_from_slice(format!("é{lines:013}xyz\n").as_bytes());
            lines += 1;
        }
        let mut parser = LineParser::new(InputFormat::Text, true);
        let mut out = ChunkFeatures::default();
        let (mut rest, mut seen, mut pieces) = (&text[..], 0, 0);
        while !rest.is_empty() {
            let taken = parser.extract_chunk(rest, &mut out);
            assert!(taken > 0 && rest[taken - 1] == b'\n');
            if taken < rest.len() {
                // Cut after the line that crossed the budget, not later.
                let held = out.held_bytes();
                assert!((PIECE_FEATURE_BYTES..PIECE_FEATURE_BYTES + 1024).contains(&held));
            }
            seen += out.len();
            pieces += 1;
            rest = &rest[taken..];
        }
        assert_eq!(seen, lines);
        assert!(pieces > 2, "{pieces} pieces");
    }
}
