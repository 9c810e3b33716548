//! The engine: wires parse → extract → detect → sink for one line at a time. Every driver
//! (`watch`, `scan`, follow mode, the HUD) goes through [`LineParser`] (parse + extract,
//! parallel-safe, per-worker scratch) and [`Engine`] (the ordered detect stage).

use crate::decode::decode_lossy;
use crate::extract::Extractor;
use crate::parse::jsonl::{parse_jsonl_line, JsonFields};
use crate::semantic::SparseVec;
use crate::sentinel::{Attrs, Config, EventRecord, Sentinel};
use crate::sink::Sink;
use crate::split::Lines;
use std::io;

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
        }
    }

    /// Parse and extract every line of `block`, calling `f` with each event record in
    /// order; stops at the first error `f` returns. Plain-text blocks that are entirely
    /// ASCII (checked once per block) skip per-line UTF-8 validation and char decoding.
    pub fn parse_block<E>(
        &mut self,
        block: &[u8],
        default_source: &str,
        mut f: impl FnMut(&EventRecord<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.format == InputFormat::Text && crate::unicode::is_ascii_block(block) {
            let semantic = self.extractor.semantic();
            for line in Lines::new(block) {
                let features = self.extractor.extract_ascii(line, &mut self.semvec);
                f(&EventRecord {
                    message: line,
                    source: default_source,
                    timestamp: None,
                    attrs: Attrs::EMPTY,
                    length: features.length,
                    tokens: features.tokens,
                    semvec: semantic.then_some(&self.semvec),
                })?;
            }
            return Ok(());
        }
        for line in Lines::new(block) {
            if let Some(r) = self.parse(line, default_source, &mut f) {
                r?;
            }
        }
        Ok(())
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
        } = self;
        let text = decode_lossy(line, decoded);
        let (message, source, timestamp, attrs) = match format {
            InputFormat::Text => {
                if text.is_empty() {
                    return None;
                }
                (text, default_source, None, Attrs::EMPTY)
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
                (json.message.as_str(), source, json.timestamp, attrs)
            }
        };
        let features = extractor.extract(message, semvec);
        let semvec = extractor.semantic().then_some(&*semvec);
        Some(f(&EventRecord {
            message: message.as_bytes(),
            source,
            timestamp,
            attrs,
            length: features.length,
            tokens: features.tokens,
            semvec,
        }))
    }
}

/// The sequential engine: a parser plus the detect stage.
#[derive(Debug)]
pub struct Engine {
    /// Detect stage (shards, counters).
    pub sentinel: Sentinel,
    parser: LineParser,
}

impl Engine {
    /// An engine for `cfg` reading `format`.
    pub fn new(cfg: Config, format: InputFormat) -> Self {
        let parser = LineParser::new(format, cfg.semantic);
        Engine {
            sentinel: Sentinel::new(cfg),
            parser,
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
        let Engine { sentinel, parser } = self;
        parser
            .parse(line, source, |ev| sentinel.observe(ev, sink))
            .unwrap_or(Ok(()))
    }

    /// Observe every line of a block of bytes.
    pub fn feed_block<S: Sink + ?Sized>(
        &mut self,
        block: &[u8],
        source: &str,
        sink: &mut S,
    ) -> io::Result<()> {
        let Engine { sentinel, parser } = self;
        parser.parse_block(block, source, |ev| sentinel.observe(ev, sink))
    }

    /// Prime baselines with `count` benign synthetic events (see [`crate::seed`]).
    pub fn prime_benign(&mut self, count: usize) -> u64 {
        let mut parser = LineParser::new(InputFormat::Text, self.sentinel.config().semantic);
        let mut records: Vec<(crate::seed::BenignEvent, f64, f64, SparseVec)> = Vec::new();
        for ev in crate::seed::benign_events(count) {
            let (length, tokens, semvec) = parser
                .parse(ev.message.as_bytes(), ev.source, |r| {
                    (r.length, r.tokens, r.semvec.cloned())
                })
                .unwrap_or((0.0, 0.0, None));
            records.push((ev, length, tokens, semvec.unwrap_or_default()));
        }
        let semantic = self.sentinel.config().semantic;
        self.sentinel.prime(
            records
                .iter()
                .map(|(ev, length, tokens, semvec)| EventRecord {
                    message: ev.message.as_bytes(),
                    source: ev.source,
                    timestamp: Some(ev.timestamp),
                    attrs: Attrs::EMPTY,
                    length: *length,
                    tokens: *tokens,
                    semvec: semantic.then_some(semvec),
                }),
        )
    }
}
