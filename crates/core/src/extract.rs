//! Extract stage: per-line, history-free features — message length (Unicode scalars),
//! `\w+` token count, and the sparse semantic vector. Works on borrowed text with
//! reusable per-worker scratch; allocates nothing per line in steady state and never
//! touches detector state.

use crate::semantic::{BucketMask, SparseVec, Vectorizer};

/// `(len(s), number of \w+ runs in s)` with a single ASCII check: the extractor's hot
/// path (an ASCII message takes the word-counting kernel).
#[inline]
pub fn chars_and_words(s: &str) -> (usize, usize) {
    if s.is_ascii() {
        (
            s.len(),
            trace_sentinel_kernels::words::count_ascii_words(s.as_bytes()),
        )
    } else {
        (
            trace_sentinel_pycompat::unicode::char_count(s),
            trace_sentinel_pycompat::unicode::count_words(s),
        )
    }
}

/// History-free features of one message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features {
    /// `message.length`.
    pub length: f64,
    /// `message.tokens`.
    pub tokens: f64,
}

/// The built-in features of a line: per-worker extraction state.
#[derive(Debug, Default)]
pub(crate) struct BuiltinFeatures {
    vectorizer: Option<Vectorizer>,
}

impl BuiltinFeatures {
    /// An extractor; `semantic` enables the vectorizer.
    pub fn new(semantic: bool) -> Self {
        BuiltinFeatures {
            vectorizer: semantic.then(Vectorizer::new),
        }
    }

    /// Whether the semantic vector is produced.
    pub fn semantic(&self) -> bool {
        self.vectorizer.is_some()
    }

    /// Append the compacted bucket counts of the pure-ASCII messages `message(0) ..
    /// message(n)` to `cnt`, one after another, handing `done` each one's mask, norm and
    /// the new length of `cnt` (see
    /// [`crate::semantic::Vectorizer::embed_ascii_counts_each`]); does nothing when the
    /// semantic layer is off.
    #[inline]
    pub fn embed_ascii_counts_each<'m>(
        &mut self,
        n: usize,
        message: impl Fn(usize) -> &'m [u8],
        cnt: &mut Vec<i16>,
        done: impl FnMut(BucketMask, f64, usize),
    ) {
        if let Some(v) = self.vectorizer.as_mut() {
            v.embed_ascii_counts_each(n, message, cnt, done);
        }
    }

    /// Features of `message`; fills `semvec` when semantic is on.
    #[inline]
    pub fn extract(&mut self, message: &str, semvec: &mut SparseVec) -> Features {
        let (chars, words) = chars_and_words(message);
        let features = Features {
            length: chars as f64,
            tokens: words as f64,
        };
        if let Some(v) = self.vectorizer.as_mut() {
            v.embed(message, semvec);
        }
        features
    }
}

/// Measures a line too long to keep (`--max-line-bytes`) as it streams past in pieces:
/// the character count and `\w+` token count of its lossy UTF-8 decoding, exactly as if
/// the whole line had been decoded at once (an incomplete UTF-8 sequence split between
/// two pieces is carried over).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineMeter {
    chars: u64,
    words: u64,
    in_word: bool,
    carry: Vec<u8>,
}

impl LineMeter {
    /// A meter at the start of a line.
    pub fn new() -> Self {
        Self::default()
    }

    fn count_char(&mut self, word: bool) {
        self.chars += 1;
        self.words += u64::from(word && !self.in_word);
        self.in_word = word;
    }

    fn count_str(&mut self, s: &str) {
        if s.is_ascii() {
            for &b in s.as_bytes() {
                self.count_char(b.is_ascii_alphanumeric() || b == b'_');
            }
        } else {
            for c in s.chars() {
                self.count_char(trace_sentinel_pycompat::unicode::is_word(c));
            }
        }
    }

    /// Feed the next piece of the line.
    pub fn feed(&mut self, mut piece: &[u8]) {
        // Finish a sequence split at the previous piece boundary.
        while !self.carry.is_empty() && !piece.is_empty() {
            let mut tmp = [0u8; 8];
            let n = self.carry.len();
            let take = piece.len().min(4 - n.min(3));
            let incomplete = |h: &[u8]| {
                std::str::from_utf8(h)
                    .is_err_and(|e| e.error_len().is_none() && e.valid_up_to() == 0)
            };
            tmp[..n].copy_from_slice(&self.carry);
            tmp[n..n + take].copy_from_slice(&piece[..take]);
            let head = &tmp[..n + take];
            if incomplete(head) && take == piece.len() {
                // Still incomplete and the piece is exhausted: keep carrying.
                self.carry.extend_from_slice(piece);
                return;
            }
            let Some(chunk) = head.utf8_chunks().next() else {
                break;
            };
            if let Some(c) = chunk.valid().chars().next() {
                let used = c.len_utf8() - n;
                self.count_char(trace_sentinel_pycompat::unicode::is_word(c));
                self.carry.clear();
                piece = &piece[used..];
            } else if chunk.invalid().len() > n {
                self.count_char(false);
                let used = chunk.invalid().len() - n;
                self.carry.clear();
                piece = &piece[used..];
            } else {
                self.count_char(false);
                let m = chunk.invalid().len();
                self.carry.drain(..m);
            }
        }
        let mut chunks = piece.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            self.count_str(chunk.valid());
            let bad = chunk.invalid();
            if bad.is_empty() {
                continue;
            }
            let at_end = chunks.peek().is_none();
            if at_end && std::str::from_utf8(bad).is_err_and(|e| e.error_len().is_none()) {
                self.carry.extend_from_slice(bad);
            } else {
                self.count_char(false);
            }
        }
    }

    /// End of the line: `(chars, words)`; the meter is reset for the next line.
    pub fn finish(&mut self) -> (u64, u64) {
        let carry = std::mem::take(&mut self.carry);
        for chunk in carry.utf8_chunks() {
            self.count_str(chunk.valid());
            if !chunk.invalid().is_empty() {
                self.count_char(false);
            }
        }
        let out = (self.chars, self.words);
        *self = LineMeter {
            carry,
            ..LineMeter::default()
        };
        self.carry.clear();
        out
    }
}

#[cfg(test)]
mod meter_tests {
    use super::*;

    fn whole(bytes: &[u8]) -> (u64, u64) {
        let s = String::from_utf8_lossy(bytes);
        (
            trace_sentinel_pycompat::unicode::char_count(&s) as u64,
            trace_sentinel_pycompat::unicode::count_words(&s) as u64,
        )
    }

    #[test]
    fn pieces_count_like_the_whole_line() {
        let samples: &[&[u8]] = &[
            b"plain ascii words_1 and 42",
            "héllo wörld 日本語 テキスト e\u{301} ½".as_bytes(),
            b"bad \xff\xfe bytes \xe2\x82 cut \xf0\x9f\x98 x\xed\xa0\x80y",
            b"\xe2\x82\xac\xe2\x82\xac word\xc3",
        ];
        for s in samples {
            let want = whole(s);
            for step in 1..=s.len() {
                let mut m = LineMeter::new();
                for piece in s.chunks(step) {
                    m.feed(piece);
                }
                assert_eq!(m.finish(), want, "{s:?} step {step}");
            }
        }
    }
}
