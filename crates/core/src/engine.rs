//! The engine: wires parse → extract → detect → sink for one line at a time. Every driver
//! (`watch`, `scan`, follow mode, the HUD) goes through [`LineParser`] (parse + extract,
//! parallel-safe, per-worker scratch) and [`Engine`] (the ordered detect stage).

use crate::extract::Extractor;
use crate::input::Piece;
use crate::parse::jsonl::{parse_jsonl_line, JsonFields};
use crate::semantic::{BucketMask, CountsRef, SemInput, SparseVec};
use crate::shard::{Attrs, Config, EventRecord, ShardSet};
use crate::sink::Sink;
use std::io;
use std::ops::Range;
use trace_sentinel_kernels::spans::{ascii_line_spans, LineSpan};
use trace_sentinel_kernels::split::Lines;
use trace_sentinel_pycompat::decode::decode_lossy;
use trace_sentinel_pycompat::timestamp::Timestamp;

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
    extractor: Extractor,
    semvec: SparseVec,
    max_line: usize,
    meter: crate::extract::LineMeter,
    /// Lines longer than the line cap seen so far (measured whole, kept as a prefix).
    pub oversized_lines: u64,
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
            extractor: Extractor::new(semantic),
            semvec: SparseVec::default(),
            max_line: crate::input::DEFAULT_MAX_LINE_BYTES,
            meter: crate::extract::LineMeter::new(),
            oversized_lines: 0,
        }
    }

    /// Set the line cap (`--max-line-bytes`, at least 1).
    pub fn set_max_line_bytes(&mut self, n: usize) {
        self.max_line = n.max(1);
    }

    /// The line cap.
    pub fn max_line_bytes(&self) -> usize {
        self.max_line
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
        }))
    }
}

/// The sequential engine: a parser plus the detect stage.
#[derive(Debug)]
pub struct Engine {
    /// Detect stage (shards, counters).
    pub shards: ShardSet,
    parser: LineParser,
    features: ChunkFeatures,
}

impl Engine {
    /// An engine for `cfg` reading `format`.
    pub fn new(cfg: Config, format: InputFormat) -> Self {
        let parser = LineParser::new(format, cfg.semantic);
        Engine {
            shards: ShardSet::new(cfg),
            parser,
            features: ChunkFeatures::default(),
        }
    }

    /// Observe one raw line.
    #[inline]
    pub fn feed_line<S: Sink + ?Sized>(
        &mut self,
        line: &[u8],
        source: &str,
        sink: &mut S,
    ) -> io::Result<()> {
        let Engine { shards, parser, .. } = self;
        parser
            .parse(line, source, |ev| shards.observe(ev, sink))
            .unwrap_or(Ok(()))
    }

    /// Set the line cap (`--max-line-bytes`).
    pub fn set_max_line_bytes(&mut self, n: usize) {
        self.parser.set_max_line_bytes(n);
    }

    /// Over-long lines seen so far.
    pub fn oversized_lines(&self) -> u64 {
        self.parser.oversized_lines
    }

    /// Observe one over-long line given as its kept prefix and whole-line measurements
    /// (from a streaming reader, see [`crate::input::Piece`]).
    pub fn feed_oversized<S: Sink + ?Sized>(
        &mut self,
        prefix: &[u8],
        chars: u64,
        words: u64,
        source: &str,
        sink: &mut S,
    ) -> io::Result<()> {
        let Engine { shards, parser, .. } = self;
        parser.parse_oversized(prefix, chars, words, source, |ev| shards.observe(ev, sink))
    }

    /// Observe what a streaming reader handed out: a block of lines
    /// ([`Self::feed_block`]) or one over-long line ([`Self::feed_oversized`]).
    pub fn feed_piece<S: Sink + ?Sized>(
        &mut self,
        piece: Piece<'_>,
        source: &str,
        sink: &mut S,
    ) -> io::Result<()> {
        match piece {
            Piece::Block(block) => self.feed_block(block, source, sink),
            Piece::Long {
                prefix,
                chars,
                words,
            } => self.feed_oversized(prefix, chars, words, source, sink),
        }
    }

    /// Observe every line of a block of bytes: the same two stages `scan` runs, on one
    /// thread (parse + extract into [`ChunkFeatures`], then the ordered detect stage),
    /// piece by piece as the extractor's budget cuts them.
    pub fn feed_block<S: Sink + ?Sized>(
        &mut self,
        block: &[u8],
        source: &str,
        sink: &mut S,
    ) -> io::Result<()> {
        let Engine {
            shards,
            parser,
            features,
        } = self;
        let mut rest = block;
        while !rest.is_empty() {
            let taken = parser.extract_chunk(rest, features);
            if taken == 0 {
                // Not reachable: a piece takes at least one line.
                debug_assert!(false, "the extractor took nothing of {} bytes", rest.len());
                break;
            }
            shards.observe_chunk(features, &rest[..taken], source, sink)?;
            rest = &rest[taken..];
        }
        Ok(())
    }

    /// Prime baselines with `count` benign synthetic events (see [`crate::seed`]).
    pub fn prime_benign(&mut self, count: usize) -> u64 {
        let mut parser = LineParser::new(InputFormat::Text, self.shards.config().semantic);
        let mut records: Vec<(crate::seed::BenignEvent, f64, f64, SparseVec)> = Vec::new();
        for ev in crate::seed::benign_events(count) {
            let (length, tokens, semvec) = parser
                .parse(ev.message.as_bytes(), ev.source, |r| {
                    let semvec = match r.semvec {
                        Some(SemInput::Sparse(v)) => Some(SparseVec {
                            idx: v.idx.to_vec(),
                            val: v.val.to_vec(),
                        }),
                        _ => None,
                    };
                    (r.length, r.tokens, semvec)
                })
                .unwrap_or((0.0, 0.0, None));
            records.push((ev, length, tokens, semvec.unwrap_or_default()));
        }
        let semantic = self.shards.config().semantic;
        self.shards.prime(
            records
                .iter()
                .map(|(ev, length, tokens, semvec)| EventRecord {
                    message: ev.message.as_bytes(),
                    source: ev.source,
                    timestamp: Some(ev.timestamp),
                    attrs: Attrs::EMPTY,
                    length: *length,
                    tokens: *tokens,
                    semvec: semantic.then_some(SemInput::Sparse(semvec.view())),
                    extra: Attrs::EMPTY,
                }),
        )
    }
}

/// Where a record's message lives: in the chunk's bytes, or in the record arena.
#[derive(Debug, Clone, Copy)]
enum TextAt {
    Chunk(usize, usize),
    Arena(usize, usize),
}

/// One event record frozen into ranges of its chunk's stores.
#[derive(Debug, Clone)]
struct FrozenRecord {
    message: TextAt,
    /// `None` = the input's default source.
    source: Option<(usize, usize)>,
    timestamp: Option<Timestamp>,
    attrs: Range<usize>,
    length: f64,
    tokens: f64,
    sem: Range<usize>,
}

/// Parse + extract output for one chunk of lines: compact records in input order, with
/// their strings (decoded messages, JSON sources, attribute keys) in one arena and their
/// sparse semantic vectors in flat arrays. Built in parallel by workers, consumed in order
/// by [`ShardSet::observe_chunk`]; reused across chunks.
#[derive(Debug, Default)]
pub struct ChunkFeatures {
    records: Vec<FrozenRecord>,
    arena: String,
    /// Message bytes that do not live in the chunk (JSON messages; WTF-8 allowed).
    messages: Vec<u8>,
    attrs: Vec<(Range<usize>, f64)>,
    /// Every record's sparse semantic vector, back to back.
    sem: SparseVec,
    /// Pure-ASCII plain-text chunk: one span per line stands in for `records`.
    ascii_text: bool,
    spans: Vec<LineSpan>,
    /// Spans ship each semantic vector as a [`CountsRef`]: the mask of its buckets, its
    /// counts (back to back in `sem_counts`, each span's ending at its `sem_ends`) and
    /// its norm — a fraction of the bytes of `f64` values; the detect stage turns them
    /// into values, bit for bit the same.
    sem_ends: Vec<u32>,
    sem_masks: Vec<BucketMask>,
    sem_counts: Vec<i16>,
    sem_norms: Vec<f64>,
    /// The line cap the spans were cut with (a longer line keeps this prefix).
    max_line: usize,
}

impl ChunkFeatures {
    /// Records held.
    pub fn len(&self) -> usize {
        if self.ascii_text {
            self.spans.len()
        } else {
            self.records.len()
        }
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn clear(&mut self) {
        self.ascii_text = false;
        self.spans.clear();
        self.sem_ends.clear();
        self.sem_masks.clear();
        self.sem_counts.clear();
        self.sem_norms.clear();
        self.records.clear();
        self.arena.clear();
        self.messages.clear();
        self.attrs.clear();
        self.sem.clear();
    }

    /// Bytes the records of a piece off the span path hold (their stores' lengths).
    fn held_bytes(&self) -> usize {
        use std::mem::size_of;
        self.records.len() * size_of::<FrozenRecord>()
            + self.arena.len()
            + self.messages.len()
            + self.attrs.len() * size_of::<(Range<usize>, f64)>()
            + self.sem.idx.len() * (size_of::<u8>() + size_of::<f64>())
    }

    fn push_arena(&mut self, s: &str) -> (usize, usize) {
        let start = self.arena.len();
        self.arena.push_str(s);
        (start, self.arena.len())
    }
}

/// Budget for the records of one piece off the span path: the extractor stops after
/// the line that takes them past it and hands the rest back, so whatever the lines'
/// shape, a piece's stores stay within about twice this (a vector's capacity is at
/// most double its length) plus one line.
pub const PIECE_FEATURE_BYTES: usize = 4 << 20;

/// Workers do not know source names: records that use the input's default source point
/// at this placeholder while parsing and are stored as "default".
static SOURCE_PLACEHOLDER: &str = "\u{0}default-source\u{0}";

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
    /// line that takes its records past [`PIECE_FEATURE_BYTES`] (their semantic vectors
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
                ..
            } = out;
            let line = |k: usize| {
                let s = spans[k];
                let start = s.start as usize;
                &bytes[start..start + (s.len as usize).min(max_line)]
            };
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
        while let Some(line) = lines.next() {
            let _ = self.parse_any(line, SOURCE_PLACEHOLDER, &mut |ev| -> Result<
                (),
                std::convert::Infallible,
            > {
                out.freeze(bytes, ev);
                Ok(())
            });
            if out.held_bytes() >= PIECE_FEATURE_BYTES && !lines.rest().is_empty() {
                return taken - lines.rest().len();
            }
        }
        taken
    }
}

impl ChunkFeatures {
    /// Append one record; `bytes` are the chunk bytes its message may borrow from.
    fn freeze(&mut self, bytes: &[u8], ev: &EventRecord<'_>) {
        let out = self;
        let base = bytes.as_ptr() as usize;
        let end = base + bytes.len();
        {
            let p = ev.message.as_ptr() as usize;
            let message = if p >= base && p + ev.message.len() <= end {
                TextAt::Chunk(p - base, p - base + ev.message.len())
            } else {
                let start = out.messages.len();
                out.messages.extend_from_slice(ev.message);
                TextAt::Arena(start, out.messages.len())
            };
            let source = if std::ptr::eq(ev.source.as_ptr(), SOURCE_PLACEHOLDER.as_ptr()) {
                None
            } else {
                Some(out.push_arena(ev.source))
            };
            let a0 = out.attrs.len();
            for (k, v) in ev.attrs.iter() {
                let (s, e) = out.push_arena(k);
                out.attrs.push((s..e, v));
            }
            let s0 = out.sem.idx.len();
            if let Some(SemInput::Sparse(v)) = ev.semvec {
                out.sem.idx.extend_from_slice(v.idx);
                out.sem.val.extend_from_slice(v.val);
            }
            out.records.push(FrozenRecord {
                message,
                source,
                timestamp: ev.timestamp,
                attrs: a0..out.attrs.len(),
                length: ev.length,
                tokens: ev.tokens,
                sem: s0..out.sem.idx.len(),
            });
        }
    }
}

impl ShardSet {
    /// Observe every record of a chunk in order; `bytes` are the chunk's bytes and
    /// `source` the input's default source label.
    pub fn observe_chunk<S: Sink + ?Sized>(
        &mut self,
        features: &ChunkFeatures,
        bytes: &[u8],
        source: &str,
        sink: &mut S,
    ) -> io::Result<()> {
        let semantic = self.config().semantic;
        let f = features;
        if f.ascii_text {
            let mut sem_start = 0usize;
            let no_mask: BucketMask = Default::default();
            for (k, s) in f.spans.iter().enumerate() {
                let start = s.start as usize;
                let len = s.len as usize;
                let message = bytes
                    .get(start..start + len.min(f.max_line))
                    .unwrap_or_default();
                let semvec = if semantic {
                    let end = f.sem_ends.get(k).map_or(sem_start, |e| *e as usize);
                    let r = sem_start..end;
                    sem_start = end;
                    Some(SemInput::Counts(CountsRef {
                        mask: f.sem_masks.get(k).unwrap_or(&no_mask),
                        cnt: f.sem_counts.get(r).unwrap_or_default(),
                        norm: f.sem_norms.get(k).copied().unwrap_or(0.0),
                    }))
                } else {
                    None
                };
                self.observe(
                    &EventRecord {
                        message,
                        source,
                        timestamp: None,
                        attrs: Attrs::EMPTY,
                        length: len as f64,
                        tokens: f64::from(s.tokens),
                        semvec,
                        extra: Attrs::EMPTY,
                    },
                    sink,
                )?;
            }
            return Ok(());
        }
        for r in &f.records {
            let message: &[u8] = match r.message {
                TextAt::Chunk(s, e) => bytes.get(s..e).unwrap_or_default(),
                TextAt::Arena(s, e) => f.messages.get(s..e).unwrap_or_default(),
            };
            let src = match r.source {
                None => source,
                Some((s, e)) => f.arena.get(s..e).unwrap_or_default(),
            };
            self.observe(
                &EventRecord {
                    message,
                    source: src,
                    timestamp: r.timestamp,
                    attrs: Attrs {
                        keys: &f.arena,
                        items: &f.attrs[r.attrs.clone()],
                    },
                    length: r.length,
                    tokens: r.tokens,
                    semvec: semantic.then(|| {
                        SemInput::Sparse(crate::semantic::SparseRef {
                            idx: &f.sem.idx[r.sem.clone()],
                            val: &f.sem.val[r.sem.clone()],
                        })
                    }),
                    extra: Attrs::EMPTY,
                },
                sink,
            )?;
        }
        Ok(())
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
