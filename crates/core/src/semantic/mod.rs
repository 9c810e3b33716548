//! The semantic layer: hashed character-3-gram vectors and the novelty detector.
//!
//! `Vectorizer` turns a message into a sparse, L2-normalised vector bit-compatible with
//! the reference's `HashingVectorizer`: dim 256, char 3-grams of
//! `" " + strip(lower(text)) + " "` after a 4096-char cap, BLAKE2b-64, bucket = first 4
//! digest bytes big-endian mod dim, sign = low bit of byte 4. Trigrams of printable
//! ASCII are looked up in a table hashed at build time (`build.rs`); others are hashed
//! and memoised in a bounded per-vectorizer map. `SemanticDetector`
//! keeps the decayed centroid and standardises novelty with running stats; it is
//! sequential state owned by one shard.

mod detector;
pub(crate) mod vector;
pub(crate) mod vectorizer;

pub use detector::SemanticDetector;
pub use vector::{BucketMask, CountsRef, SemInput, SparseRef, SparseVec, DIM};
pub use vectorizer::Vectorizer;
