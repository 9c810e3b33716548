//! Extract stage: per-line, history-free features — message length (Unicode scalars),
//! `\w+` token count, and the sparse semantic vector. Works on borrowed text with
//! reusable per-worker scratch; allocates nothing per line in steady state and never
//! touches detector state.

use crate::semantic::{SparseVec, Vectorizer};

/// History-free features of one message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features {
    /// `message.length`.
    pub length: f64,
    /// `message.tokens`.
    pub tokens: f64,
}

/// Per-worker extraction state.
#[derive(Debug, Default)]
pub struct Extractor {
    vectorizer: Option<Vectorizer>,
}

impl Extractor {
    /// An extractor; `semantic` enables the vectorizer.
    pub fn new(semantic: bool) -> Self {
        Extractor {
            vectorizer: semantic.then(Vectorizer::new),
        }
    }

    /// Whether the semantic vector is produced.
    pub fn semantic(&self) -> bool {
        self.vectorizer.is_some()
    }

    /// Features of a message known to be ASCII, read straight from its bytes (the
    /// plain-text fast path: no UTF-8 validation, no char decoding).
    #[inline]
    pub fn extract_ascii(&mut self, message: &[u8], semvec: &mut SparseVec) -> Features {
        let features = Features {
            length: message.len() as f64,
            tokens: crate::unicode::count_ascii_words(message) as f64,
        };
        if let Some(v) = self.vectorizer.as_mut() {
            v.embed_ascii(message, semvec);
        }
        features
    }

    /// Features of `message`; fills `semvec` when semantic is on.
    #[inline]
    pub fn extract(&mut self, message: &str, semvec: &mut SparseVec) -> Features {
        let (chars, words) = crate::unicode::chars_and_words(message);
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
