//! The sequential engine: a [`LineParser`] plus the detect stage ([`ShardSet`]), fed
//! block by block. `watch`, follow mode and the HUD drive it; `scan` runs the same two
//! stages (`LineParser::extract_chunk`, then `ShardSet::observe_chunk`) across threads.

use crate::config::Config;
use crate::detect::shard_set::ShardSet;
use crate::input::Piece;
use crate::record::{Attrs, EventRecord, LineCursor};
use crate::semantic::{SemInput, SparseVec};
use crate::sink::Sink;
use std::io;

pub use crate::features::ChunkFeatures;
pub use crate::parse::{InputFormat, LineParser};

/// The sequential engine: a parser plus the detect stage.
#[derive(Debug)]
pub struct Engine {
    /// Detect stage (shards, counters).
    shards: ShardSet,
    parser: LineParser,
    features: ChunkFeatures,
    /// Where the current input stands (line numbers).
    cursor: LineCursor,
}

impl Engine {
    /// An engine for `cfg` reading `format`.
    pub fn new(cfg: Config, format: InputFormat) -> Self {
        let parser = LineParser::for_config(format, &cfg);
        Engine {
            shards: ShardSet::new(cfg),
            parser,
            features: ChunkFeatures::default(),
            cursor: LineCursor::default(),
        }
    }

    /// Start numbering lines from 1: the next bytes fed begin a new input.
    pub fn begin_input(&mut self) {
        self.cursor = LineCursor::default();
    }

    /// Where the current input stands (its next line number), to resume it later with
    /// [`Self::set_line_cursor`] (follow mode keeps one per file).
    pub fn line_cursor(&self) -> LineCursor {
        self.cursor
    }

    /// Continue an input from `cursor`.
    pub fn set_line_cursor(&mut self, cursor: LineCursor) {
        self.cursor = cursor;
    }

    /// The detect stage (shards, counters).
    pub fn shards(&self) -> &ShardSet {
        &self.shards
    }

    /// The detect stage, to run a parallel [`Scanner`](crate::scan::Scanner) into.
    pub fn shards_mut(&mut self) -> &mut ShardSet {
        &mut self.shards
    }

    /// Replace the detect stage (a restored snapshot). The parser follows its
    /// configuration: it vectorizes messages and shapes them exactly when the new
    /// stage's semantic and template layers are on.
    pub fn set_shards(&mut self, shards: ShardSet) {
        let (new, old) = (shards.config(), self.shards.config());
        if (new.semantic, new.templates) != (old.semantic, old.templates) {
            let mut parser = LineParser::for_config(self.parser.format(), new);
            parser.set_max_line_bytes(self.parser.max_line_bytes());
            self.parser = parser;
        }
        self.shards = shards;
    }

    /// Observe one raw line.
    #[inline]
    pub fn feed_line<S: Sink + ?Sized>(
        &mut self,
        line: &[u8],
        source: &str,
        sink: &mut S,
    ) -> io::Result<()> {
        let Engine {
            shards,
            parser,
            cursor,
            ..
        } = self;
        let n = cursor.next_line();
        cursor.advance_line();
        parser
            .parse(line, source, |ev| {
                shards.observe(&EventRecord { line: n, ..*ev }, sink)
            })
            .unwrap_or(Ok(()))
    }

    /// Set the line cap (`--max-line-bytes`).
    pub fn set_max_line_bytes(&mut self, n: usize) {
        self.parser.set_max_line_bytes(n);
    }

    /// Over-long lines seen so far.
    pub fn oversized_lines(&self) -> u64 {
        self.parser.oversized_lines()
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
        let Engine {
            shards,
            parser,
            cursor,
            ..
        } = self;
        let n = cursor.next_line();
        cursor.advance_line();
        parser.parse_oversized(prefix, chars, words, source, |ev| {
            shards.observe(&EventRecord { line: n, ..*ev }, sink)
        })
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
            cursor,
        } = self;
        let mut rest = block;
        while !rest.is_empty() {
            let taken = parser.extract_chunk(rest, features);
            if taken == 0 {
                // Not reachable: a piece takes at least one line.
                debug_assert!(false, "the extractor took nothing of {} bytes", rest.len());
                break;
            }
            shards.observe_chunk(features, &rest[..taken], source, cursor, sink)?;
            rest = &rest[taken..];
        }
        Ok(())
    }

    /// Prime baselines with `count` benign synthetic events (the CLI's `--seed`: our
    /// own deterministic generator of ordinary log lines).
    pub fn prime_benign(&mut self, count: usize) -> u64 {
        let mut parser = LineParser::for_config(InputFormat::Text, self.shards.config());
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
        let shapes = self.shards.config().templates;
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
                    shape: shapes
                        .then(|| trace_sentinel_kernels::shape::shape_of(ev.message.as_bytes())),
                    line: None,
                }),
        )
    }
}
