//! The semantic layer's vectors as the other stages see them: [`SparseVec`] (values),
//! [`CountsRef`] (compacted counts, the ASCII chunk path), [`SemInput`] (what the
//! detector scores), and the layer's constants.

pub use trace_sentinel_kernels::trigram::BucketMask;

/// Embedding dimension of the default vectorizer.
pub const DIM: usize = trace_sentinel_kernels::trigram::BUCKETS;
/// Characters of a message the vectorizer reads.
pub const MAX_CHARS: usize = 4096;

/// A sparse, L2-normalised embedding: strictly increasing bucket indices with their
/// values (`count / norm`, the very division the reference performs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec {
    /// Bucket indices, increasing.
    pub idx: Vec<u8>,
    /// Normalised values, same length as `idx`.
    pub val: Vec<f64>,
}

impl SparseVec {
    /// Remove all entries, keeping capacity.
    pub fn clear(&mut self) {
        self.idx.clear();
        self.val.clear();
    }

    /// A borrowed view.
    pub fn view(&self) -> SparseRef<'_> {
        SparseRef {
            idx: &self.idx,
            val: &self.val,
        }
    }
}

/// Borrowed view of a [`SparseVec`] (what the detect stage consumes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseRef<'a> {
    /// Bucket indices, increasing, each < [`DIM`].
    pub idx: &'a [u8],
    /// Normalised values, same length as `idx`.
    pub val: &'a [f64],
}

/// What the semantic detector scores for one message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SemInput<'a> {
    /// The built-in hashing vectorizer's sparse vector (dimension [`DIM`]).
    Sparse(SparseRef<'a>),
    /// The built-in vectorizer's vector as the ASCII chunk path ships it.
    Counts(CountsRef<'a>),
    /// A dense embedding from a user-supplied embedder (any fixed dimension).
    Dense(&'a [f64]),
}

/// A vector as the ASCII chunk path ships it: which buckets it touches, their counts in
/// bucket order, and its norm; the values are `cnt / norm` (see
/// [`values_from_counts`](trace_sentinel_kernels::trigram::values_from_counts)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CountsRef<'a> {
    /// Touched buckets.
    pub mask: &'a BucketMask,
    /// Counts of the touched buckets, in bucket order.
    pub cnt: &'a [i16],
    /// L2 norm of the counts.
    pub norm: f64,
}
