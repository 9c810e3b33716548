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
        Extractor { vectorizer: semantic.then(Vectorizer::new) }
    }

    /// Whether the semantic vector is produced.
    pub fn semantic(&self) -> bool {
        self.vectorizer.is_some()
    }

    /// Features of `message`; fills `semvec` when semantic is on.
    #[inline]
    pub fn extract(&mut self, message: &str, semvec: &mut SparseVec) -> Features {
        let features = Features {
            length: crate::unicode::char_count(message) as f64,
            tokens: crate::unicode::count_words(message) as f64,
        };
        if let Some(v) = self.vectorizer.as_mut() {
            v.embed(message, semvec);
        }
        features
    }
}
