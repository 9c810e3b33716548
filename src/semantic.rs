//! The semantic layer: hashed character-3-gram vectors and the novelty detector.
//!
//! [`Vectorizer`] turns a message into a sparse, L2-normalised vector bit-compatible with
//! the reference's `HashingVectorizer`: dim 256, char 3-grams of
//! `" " + strip(lower(text)) + " "` after a 4096-char cap, BLAKE2b-64, bucket = first 4
//! digest bytes big-endian mod dim, sign = low bit of byte 4. Trigram hashes are memoised: ASCII trigrams in a shared
//! lazily filled table, others in a bounded per-vectorizer map. [`SemanticDetector`]
//! keeps the decayed centroid and standardises novelty with running stats; it is
//! sequential state owned by one shard.

use crate::detect::RunningStats;
use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;

/// Embedding dimension of the default vectorizer.
pub const DIM: usize = 256;
/// Characters of a message the vectorizer reads.
pub const MAX_CHARS: usize = 4096;
/// Centroid decay of the novelty detector.
pub const DECAY: f64 = 0.01;
/// Metric name of semantic anomalies.
pub const SEMANTIC_METRIC: &str = "message.semantic_novelty";

/// A sparse embedding before normalisation: strictly increasing buckets with their
/// (non-zero) signed trigram counts, and the L2 norm of the counts. Entry `i` of the
/// normalised vector is `cnt[i] as f64 / norm` — the very division the reference does —
/// so storing counts is exact and 3 bytes per entry instead of 10.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec {
    /// Bucket indices, increasing.
    pub idx: Vec<u8>,
    /// Signed counts, same length as `idx`.
    pub cnt: Vec<i16>,
    /// L2 norm of the counts (0 for the zero vector).
    pub norm: f64,
}

impl SparseVec {
    /// Remove all entries, keeping capacity.
    pub fn clear(&mut self) {
        self.idx.clear();
        self.cnt.clear();
        self.norm = 0.0;
    }

    /// `(bucket, normalised value)` pairs in bucket order.
    #[inline]
    pub fn entries(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        let norm = self.norm;
        self.idx.iter().zip(&self.cnt).map(move |(i, c)| {
            let v = *c as f64;
            (*i as usize, if norm != 0.0 { v / norm } else { v })
        })
    }
}

/// Hash one n-gram (UTF-8 bytes) to (bucket, sign) exactly like the reference.
#[inline]
pub fn hash_gram(gram: &[u8], dim: usize) -> (usize, bool) {
    let h = blake2b_simd::Params::new().hash_length(8).hash(gram);
    let d = h.as_bytes();
    let word = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    ((word as usize) % dim, d[4] & 1 == 1)
}

/// Encoded (bucket, sign) for dim 256: bit 15 = known, bit 8 = positive sign, low 8 = bucket.
#[inline]
fn encode(bucket: usize, positive: bool) -> u16 {
    0x8000 | ((positive as u16) << 8) | bucket as u16
}

static ASCII_MEMO: OnceLock<Box<[AtomicU16]>> = OnceLock::new();

fn ascii_memo() -> &'static [AtomicU16] {
    // 128^3 entries × 2 bytes = 4 MiB, filled on demand. Racing threads store the same
    // value, so relaxed ordering is enough.
    ASCII_MEMO.get_or_init(|| {
        (0..128usize * 128 * 128)
            .map(|_| AtomicU16::new(0))
            .collect()
    })
}

/// Bound on the per-vectorizer memo of non-ASCII trigrams (cleared when reached).
const WIDE_MEMO_CAP: usize = 1 << 18;

/// Message → sparse normalised vector, with reusable scratch (one per worker).
#[derive(Debug, Default)]
pub struct Vectorizer {
    lowered: String,
    lowered_bytes: Vec<u8>,
    chars: Vec<char>,
    counts: Vec<i16>,
    touched: [u64; DIM / 64],
    wide_memo: AHashMap<u64, u16>,
}

impl Vectorizer {
    /// A vectorizer with empty scratch.
    pub fn new() -> Self {
        Vectorizer {
            counts: vec![0; DIM],
            ..Default::default()
        }
    }

    #[inline]
    fn add(&mut self, code: u16) {
        let bucket = (code & 0xff) as usize;
        // At most MAX_CHARS + 2 trigrams per message, so an i16 cannot overflow.
        self.counts[bucket] += if code & 0x100 != 0 { 1 } else { -1 };
        self.touched[bucket >> 6] |= 1 << (bucket & 63);
    }

    fn wide_code(&mut self, g: [char; 3]) -> u16 {
        let key = (g[0] as u64) << 42 | (g[1] as u64) << 21 | g[2] as u64;
        if let Some(c) = self.wide_memo.get(&key) {
            return *c;
        }
        let mut buf = [0u8; 12];
        let mut n = 0;
        for c in g {
            n += c.encode_utf8(&mut buf[n..]).len();
        }
        let (b, s) = hash_gram(&buf[..n], DIM);
        let code = encode(b, s);
        if self.wide_memo.len() >= WIDE_MEMO_CAP {
            self.wide_memo.clear();
        }
        self.wide_memo.insert(key, code);
        code
    }

    /// Embed `message` into `out` (cleared first).
    pub fn embed(&mut self, message: &str, out: &mut SparseVec) {
        if message.is_ascii() {
            return self.embed_ascii(message.as_bytes(), out);
        }
        out.clear();
        self.ensure_counts();
        // Cap by characters, then Python strip + lower.
        let capped = match message.char_indices().nth(MAX_CHARS) {
            Some((i, _)) => &message[..i],
            None => message,
        };
        let mut lowered = std::mem::take(&mut self.lowered);
        lowered.clear();
        lowered.push(' ');
        crate::unicode::lower_into(crate::unicode::strip(capped), &mut lowered);
        lowered.push(' ');
        if lowered.is_ascii() {
            self.add_ascii_grams(lowered.as_bytes());
        } else {
            let mut chars = std::mem::take(&mut self.chars);
            chars.clear();
            chars.extend(lowered.chars());
            if chars.len() <= 3 {
                let (bk, s) = hash_gram(lowered.as_bytes(), DIM);
                self.add(encode(bk, s));
            } else {
                for w in chars.windows(3) {
                    let code = self.wide_code([w[0], w[1], w[2]]);
                    self.add(code);
                }
            }
            self.chars = chars;
        }
        self.lowered = lowered;
        self.finish(out);
    }

    /// Embed an ASCII message given as bytes (the plain-text fast path). Bytes >= 0x80
    /// are tolerated (hashed as they are) but only ASCII input matches the reference.
    pub fn embed_ascii(&mut self, message: &[u8], out: &mut SparseVec) {
        out.clear();
        self.ensure_counts();
        let capped = &message[..message.len().min(MAX_CHARS)];
        // Python's str.strip() whitespace within ASCII: \t \n \v \f \r, \x1c-\x1f, space.
        let is_space = |b: &u8| matches!(b, b'\t'..=b'\r' | 0x1c..=0x1f | b' ');
        let first = capped
            .iter()
            .position(|b| !is_space(b))
            .unwrap_or(capped.len());
        let last = capped
            .iter()
            .rposition(|b| !is_space(b))
            .map_or(first, |i| i + 1);
        let mut lowered = std::mem::take(&mut self.lowered_bytes);
        lowered.clear();
        lowered.push(b' ');
        lowered.extend(
            capped[first..last.max(first)]
                .iter()
                .map(u8::to_ascii_lowercase),
        );
        lowered.push(b' ');
        self.add_ascii_grams(&lowered);
        self.lowered_bytes = lowered;
        self.finish(out);
    }

    fn ensure_counts(&mut self) {
        if self.counts.len() != DIM {
            self.counts = vec![0; DIM];
        }
    }

    /// Count the trigrams of ` lowered ` (ASCII), through the shared memo.
    fn add_ascii_grams(&mut self, b: &[u8]) {
        if b.len() <= 3 {
            let (bk, s) = hash_gram(b, DIM);
            self.add(encode(bk, s));
            return;
        }
        let memo = ascii_memo();
        for w in b.windows(3) {
            if (w[0] | w[1] | w[2]) >= 0x80 {
                let (bk, s) = hash_gram(w, DIM);
                self.add(encode(bk, s));
                continue;
            }
            let key = (w[0] as usize) << 14 | (w[1] as usize) << 7 | w[2] as usize;
            let mut code = memo[key].load(Ordering::Relaxed);
            if code == 0 {
                let (bk, s) = hash_gram(w, DIM);
                code = encode(bk, s);
                memo[key].store(code, Ordering::Relaxed);
            }
            self.add(code);
        }
    }

    /// Turn the accumulated counts into `out` and reset the scratch.
    fn finish(&mut self, out: &mut SparseVec) {
        // Integer counts: the sum of squares is exact in any order, as in the reference.
        let mut sumsq = 0i64;
        for (w, word) in self.touched.iter_mut().enumerate() {
            let mut bits = std::mem::take(word);
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let c = std::mem::take(&mut self.counts[i]);
                if c != 0 {
                    sumsq += (c as i64) * (c as i64);
                    out.idx.push(i as u8);
                    out.cnt.push(c);
                }
            }
        }
        out.norm = (sumsq as f64).sqrt();
    }
}

/// Decayed-centroid novelty detector (one per shard when `--semantic`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SemanticDetector {
    /// Messages needed before scores count.
    pub warmup: u64,
    /// Messages seen (the first one only seeds the centroid).
    pub n: u64,
    /// Decayed centroid (empty until the first message).
    pub centroid: Vec<f64>,
    /// Running stats of novelty values.
    pub novelty: RunningStats,
}

impl SemanticDetector {
    /// A fresh detector.
    pub fn new(warmup: u64) -> Self {
        SemanticDetector {
            warmup,
            n: 0,
            centroid: Vec::new(),
            novelty: RunningStats::default(),
        }
    }

    /// Whether enough messages were seen for scores to count.
    #[inline]
    pub fn ready(&self) -> bool {
        self.n >= self.warmup
    }

    /// Score the message vector's novelty against the centroid, then fold it in.
    pub fn score_then_update(&mut self, vec: &SparseVec) -> f64 {
        if self.centroid.len() != DIM {
            self.centroid = vec![0.0; DIM];
            for (i, v) in vec.entries() {
                self.centroid[i] = v;
            }
            self.n = 1;
            return 0.0;
        }
        // Same operation order as the reference: norm over every dimension in index
        // order; the dot product skips zero entries of the message vector, which adds
        // only ±0 terms in the reference and so leaves its sum bit-identical.
        let mut sumsq = 0.0f64;
        for c in &self.centroid {
            sumsq += c * c;
        }
        let norm = sumsq.sqrt();
        let mut dot = 0.0f64;
        if norm == 0.0 {
            for (i, v) in vec.entries() {
                dot += v * self.centroid[i];
            }
        } else {
            for (i, v) in vec.entries() {
                dot += v * (self.centroid[i] / norm);
            }
        }
        let novelty = 1.0 - dot;
        let ready = self.ready();
        let (mean, std) = (self.novelty.mean, self.novelty.std());
        self.novelty.update(novelty);
        self.fold(vec);
        self.n += 1;
        if !ready || std == 0.0 {
            return 0.0;
        }
        (novelty - mean) / std
    }

    /// centroid = (1 - decay) * centroid + decay * vec over every dimension, exactly the
    /// reference's dense update (zero entries of `vec` contribute `decay * 0.0`).
    #[inline]
    fn fold(&mut self, vec: &SparseVec) {
        let keep = 1.0 - DECAY;
        let mut dense = [0.0f64; DIM];
        for (i, v) in vec.entries() {
            dense[i] = v;
        }
        for (c, v) in self.centroid.iter_mut().zip(dense.iter()) {
            *c = keep * *c + DECAY * *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_trigram_buckets_from_the_reference() {
        // (gram, bucket, sign) computed with the reference's hashing in Python.
        for (gram, bucket, positive) in KNOWN {
            assert_eq!(
                hash_gram(gram.as_bytes(), DIM),
                (*bucket, *positive),
                "{gram:?}"
            );
        }
    }

    const KNOWN: &[(&str, usize, bool)] = &[
        ("  ", 81, false),
        (" a ", 39, false),
        ("err", 161, true),
        ("or ", 74, false),
        (" 日本", 212, true),
        ("σ s", 207, false),
        ("abc", 216, true),
        ("   ", 239, true),
        ("é x", 95, false),
        ("😀ab", 183, false),
        ("\x00\x01\x02", 1, false),
    ];
}
