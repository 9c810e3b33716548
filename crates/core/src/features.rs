//! The records of one chunk, frozen between the extract and detect stages: compact
//! records in input order with their strings in one arena and their semantic vectors in
//! flat arrays — or, for a pure-ASCII plain-text chunk, one span per line with its
//! vector as compacted bucket counts. Workers fill them in parallel; the detect stage
//! reads them back in order ([`crate::detect::ShardSet::observe_chunk`]); buffers are
//! reused across chunks.

use crate::record::EventRecord;
use crate::semantic::{BucketMask, SemInput, SparseVec};
use std::ops::Range;
use trace_sentinel_kernels::shape::Shape;
use trace_sentinel_kernels::spans::LineSpan;
use trace_sentinel_pycompat::timestamp::Timestamp;

/// Where a record's message lives: in the chunk's bytes, or in the record arena.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TextAt {
    Chunk(usize, usize),
    Arena(usize, usize),
}

/// One event record frozen into ranges of its chunk's stores.
#[derive(Debug, Clone)]
pub(crate) struct FrozenRecord {
    pub(crate) message: TextAt,
    /// `None` = the input's default source.
    pub(crate) source: Option<(usize, usize)>,
    pub(crate) timestamp: Option<Timestamp>,
    pub(crate) attrs: Range<usize>,
    pub(crate) length: f64,
    pub(crate) tokens: f64,
    pub(crate) sem: Range<usize>,
}

/// Parse + extract output for one chunk of lines: compact records in input order, with
/// their strings (decoded messages, JSON sources, attribute keys) in one arena and their
/// sparse semantic vectors in flat arrays. Built in parallel by workers, consumed in order
/// by [`ShardSet::observe_chunk`](crate::detect::ShardSet::observe_chunk); reused across
/// chunks.
#[derive(Debug, Default)]
pub struct ChunkFeatures {
    pub(crate) records: Vec<FrozenRecord>,
    pub(crate) arena: String,
    /// Message bytes that do not live in the chunk (JSON messages; WTF-8 allowed).
    pub(crate) messages: Vec<u8>,
    pub(crate) attrs: Vec<(Range<usize>, f64)>,
    /// Every record's sparse semantic vector, back to back.
    pub(crate) sem: SparseVec,
    /// Pure-ASCII plain-text chunk: one span per line stands in for `records`.
    pub(crate) ascii_text: bool,
    pub(crate) spans: Vec<LineSpan>,
    /// Spans ship each semantic vector as a `CountsRef`: the mask of its buckets, its
    /// counts (back to back in `sem_counts`, each span's ending at its `sem_ends`) and
    /// its norm — a fraction of the bytes of `f64` values; the detect stage turns them
    /// into values, bit for bit the same.
    pub(crate) sem_ends: Vec<u32>,
    pub(crate) sem_masks: Vec<BucketMask>,
    pub(crate) sem_counts: Vec<i16>,
    pub(crate) sem_norms: Vec<f64>,
    /// The line cap the spans were cut with (a longer line keeps this prefix).
    pub(crate) max_line: usize,
    /// Each record's (or span's) template shape, with the template layer.
    pub(crate) shapes: Vec<Shape>,
    /// Each record's (or span's) line: line terminators between the piece's start and
    /// the line's start.
    pub(crate) lines: Vec<u32>,
    /// Line terminators in the whole piece.
    pub(crate) breaks: u64,
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

    pub(crate) fn clear(&mut self) {
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
        self.shapes.clear();
        self.lines.clear();
        self.breaks = 0;
    }

    /// Bytes the records of a piece off the span path hold (their stores' lengths).
    pub(crate) fn held_bytes(&self) -> usize {
        use std::mem::size_of;
        self.records.len() * size_of::<FrozenRecord>()
            + self.arena.len()
            + self.messages.len()
            + self.attrs.len() * size_of::<(Range<usize>, f64)>()
            + self.sem.idx.len() * (size_of::<u8>() + size_of::<f64>())
            + self.shapes.len() * size_of::<Shape>()
            + self.lines.len() * size_of::<u32>()
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
pub(crate) const PIECE_FEATURE_BYTES: usize = 4 << 20;

/// Workers do not know source names: records that use the input's default source point
/// at this placeholder while parsing and are stored as "default".
pub(crate) static SOURCE_PLACEHOLDER: &str = "\u{0}default-source\u{0}";

impl ChunkFeatures {
    /// Append one record; `bytes` are the chunk bytes its message may borrow from.
    pub(crate) fn freeze(&mut self, bytes: &[u8], ev: &EventRecord<'_>) {
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
            if let Some(shape) = ev.shape {
                out.shapes.push(shape);
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
