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
    /// A dense embedding from a user-supplied embedder (any fixed dimension).
    Dense(&'a [f64]),
}

/// Hash one n-gram (UTF-8 bytes) to (bucket, sign) exactly like the reference.
#[inline]
pub fn hash_gram(gram: &[u8], dim: usize) -> (usize, bool) {
    let h = blake2b_simd::Params::new().hash_length(8).hash(gram);
    let d = h.as_bytes();
    let word = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    ((word as usize) % dim, d[4] & 1 == 1)
}

/// Encoded (bucket, sign) for dim 256: the low byte is the bucket, the high byte the
/// signed contribution as an `i8` (`+1` or `-1`), so a code is never 0 (0 = unknown).
#[inline]
fn encode(bucket: usize, positive: bool) -> u16 {
    let delta: u16 = if positive { 0x0100 } else { 0xFF00 };
    delta | (bucket as u16 & 0xff)
}

/// The `(bucket, ±1)` of an encoded gram.
#[inline(always)]
fn decode(code: u16) -> (usize, i16) {
    (usize::from(code as u8), (code as i16) >> 8)
}

/// The encoded code of one gram, hashed (no memo).
#[inline]
fn gram_code(gram: &[u8]) -> u16 {
    let (bucket, positive) = hash_gram(gram, DIM);
    encode(bucket, positive)
}

/// Add one encoded gram to bucket counts. At most MAX_CHARS + 2 trigrams per message,
/// so an `i16` cannot overflow.
#[inline(always)]
fn bump(counts: &mut [i16; DIM], code: u16) {
    let (bucket, delta) = decode(code);
    counts[bucket] += delta;
}

/// Symbols a lowercased printable-ASCII trigram can hold: space..'@' and '['..'~'
/// (no upper case after lowering). Other bytes (tabs, controls) take the slow path.
const CLASSES: usize = 69;

/// Byte → symbol class (`u8::MAX` when not in the table).
const CLASS_OF: [u8; 256] = {
    let mut t = [u8::MAX; 256];
    let mut b: usize = 0x20;
    let mut n: u8 = 0;
    while b <= 0x7e {
        if !(b >= b'A' as usize && b <= b'Z' as usize) {
            t[b] = n;
            n += 1;
        }
        b += 1;
    }
    t
};

static ASCII_MEMO: OnceLock<Box<[AtomicU16]>> = OnceLock::new();

fn ascii_memo() -> &'static [AtomicU16] {
    // 69^3 entries × 2 bytes ≈ 640 KiB (fits in L2), filled on demand. Racing threads
    // store the same value, so relaxed ordering is enough.
    ASCII_MEMO.get_or_init(|| {
        (0..CLASSES * CLASSES * CLASSES)
            .map(|_| AtomicU16::new(0))
            .collect()
    })
}

/// Bound on the per-vectorizer memo of non-ASCII trigrams (cleared when reached).
const WIDE_MEMO_CAP: usize = 1 << 18;

/// Message → sparse normalised vector, with reusable scratch (one per worker).
#[derive(Debug)]
pub struct Vectorizer {
    lowered: String,
    classes: Vec<u8>,
    /// Scratch for the compacted counts of [`Self::finish`].
    compact: Vec<i16>,
    chars: Vec<char>,
    counts: [i16; DIM],
    wide_memo: AHashMap<u64, u16>,
}

impl Default for Vectorizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Vectorizer {
    /// A vectorizer with empty scratch.
    pub fn new() -> Self {
        Vectorizer {
            lowered: String::new(),
            classes: Vec::new(),
            compact: Vec::new(),
            chars: Vec::new(),
            counts: [0; DIM],
            wide_memo: AHashMap::new(),
        }
    }

    #[inline]
    fn add(&mut self, code: u16) {
        bump(&mut self.counts, code);
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
        let code = gram_code(&buf[..n]);
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
                self.add(gram_code(lowered.as_bytes()));
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
        self.embed_ascii_append(message, out);
    }

    /// [`Self::embed_ascii`] appending the vector's entries to `out` (a chunk's flat
    /// store) instead of replacing its contents.
    pub fn embed_ascii_append(&mut self, message: &[u8], out: &mut SparseVec) {
        self.count_ascii(message);
        self.finish(out);
    }

    /// Add the trigrams of an ASCII message to the bucket counts.
    fn count_ascii(&mut self, message: &[u8]) {
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
        let body = &capped[first..last.max(first)];
        if body.len() < 2 {
            // At most three padded characters: one gram, hashed directly.
            let mut lowered = [b' '; 3];
            for (d, s) in lowered[1..].iter_mut().zip(body) {
                *d = s.to_ascii_lowercase();
            }
            self.add_ascii_grams(&lowered[..body.len() + 2]);
            return;
        }
        let Vectorizer {
            classes, counts, ..
        } = self;
        // Classes of " " + lower(body) + " ", computed from `body` without lowering it.
        let all_classed = ascii_classes(body, classes);
        // The lowered, padded character at position `k` (only needed on a memo miss).
        let padded = |k: usize| -> u8 {
            match k.checked_sub(1).and_then(|i| body.get(i)) {
                Some(b) => b.to_ascii_lowercase(),
                None => b' ',
            }
        };
        count_ascii_grams(
            |j| [padded(j), padded(j + 1), padded(j + 2)],
            classes,
            all_classed,
            counts,
        );
    }

    /// Count the trigrams of `b` (lowercased ASCII with its padding spaces) through the
    /// shared memo.
    fn add_ascii_grams(&mut self, b: &[u8]) {
        if b.len() <= 3 {
            self.add(gram_code(b));
            return;
        }
        let Vectorizer {
            classes, counts, ..
        } = self;
        classes.clear();
        classes.extend(b.iter().map(|&x| CLASS_OF[x as usize]));
        let all_classed = classes.iter().all(|&c| usize::from(c) < CLASSES);
        count_ascii_grams(|j| [b[j], b[j + 1], b[j + 2]], classes, all_classed, counts);
    }

    /// Turn the bucket counts into the L2-normalised sparse vector (ascending bucket
    /// order, as the reference's dense sums visit them) and reset the counts.
    fn finish(&mut self, out: &mut SparseVec) {
        let mut cnt = std::mem::take(&mut self.compact);
        cnt.clear();
        let norm = self.take_counts(&mut out.idx, &mut cnt);
        values_from_counts(&cnt, norm, &mut out.val);
        self.compact = cnt;
    }

    /// Append the non-zero buckets (ascending) and their counts to `idx` / `cnt`, reset
    /// the counts, and return the vector's L2 norm (exact: integer sum of squares).
    fn take_counts(&mut self, idx: &mut Vec<u8>, cnt: &mut Vec<i16>) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if has_avx512_compress() {
            // SAFETY: the features `compress_counts_avx512` enables were checked at run
            // time.
            let norm = unsafe { compress_counts_avx512(&self.counts, idx, cnt) };
            self.counts = [0; DIM];
            return norm;
        }
        let norm = compress_counts_portable(&self.counts, idx, cnt);
        self.counts = [0; DIM];
        norm
    }

    /// Embed an ASCII message as its compacted bucket counts (appended to `idx` / `cnt`)
    /// and return its norm: the values are `cnt / norm`, which [`values_from_counts`]
    /// computes later, bit for bit as [`Self::embed_ascii`] would. A third of the bytes
    /// of the `f64` form, for the records a chunk hands from a worker to the detector.
    pub fn embed_ascii_counts(
        &mut self,
        message: &[u8],
        idx: &mut Vec<u8>,
        cnt: &mut Vec<i16>,
    ) -> f64 {
        self.count_ascii(message);
        self.take_counts(idx, cnt)
    }
}

/// Append the non-zero buckets of `counts` (ascending) and their counts; return the norm.
fn compress_counts_portable(counts: &[i16; DIM], idx: &mut Vec<u8>, cnt: &mut Vec<i16>) -> f64 {
    // Integer counts make the sum of squares exact in any order, as in the reference.
    let mut sumsq = 0i64;
    for (word_no, word) in nonzero_bitmap(counts).iter().enumerate() {
        let mut m = *word;
        while m != 0 {
            let bucket = word_no * 64 + m.trailing_zeros() as usize;
            m &= m - 1;
            let v = counts[bucket];
            sumsq += i64::from(v) * i64::from(v);
            idx.push(bucket as u8);
            cnt.push(v);
        }
    }
    (sumsq as f64).sqrt()
}

/// Append `c / norm` for every count (the counts themselves when `norm` is 0): the
/// vector's values, with the same IEEE division the reference performs.
pub fn values_from_counts(cnt: &[i16], norm: f64, out: &mut Vec<f64>) {
    #[cfg(target_arch = "x86_64")]
    if norm != 0.0 && has_avx512_compress() {
        // SAFETY: the features `values_avx512` enables were checked at run time.
        return unsafe { values_avx512(cnt, norm, out) };
    }
    values_portable(cnt, norm, out);
}

fn values_portable(cnt: &[i16], norm: f64, out: &mut Vec<f64>) {
    if norm == 0.0 {
        out.extend(cnt.iter().map(|&c| f64::from(c)));
    } else {
        out.extend(cnt.iter().map(|&c| f64::from(c) / norm));
    }
}

/// Whether the CPU can run the AVX-512 kernels of this module.
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx512_compress() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vbmi2")
}

/// [`compress_counts_portable`] with AVX-512: each 32-count block is tested for non-zero
/// lanes, and the non-zero counts and their bucket numbers are compressed to the front of
/// a register (VBMI2), in ascending bucket order; the squares are summed exactly in
/// 32-bit lanes (at most 4098² in total).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi2")]
unsafe fn compress_counts_avx512(
    counts: &[i16; DIM],
    idx: &mut Vec<u8>,
    cnt: &mut Vec<i16>,
) -> f64 {
    use std::arch::x86_64::*;
    let (idx_base, cnt_base) = (idx.len(), cnt.len());
    // Room for every entry plus one block of slack for the full-width stores.
    idx.reserve(DIM + 32);
    cnt.reserve(DIM + 32);
    let mut n = 0usize;
    let mut acc = _mm512_setzero_si512();
    let lane_no = _mm512_set_epi16(
        31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9,
        8, 7, 6, 5, 4, 3, 2, 1, 0,
    );
    for (k, block) in counts.chunks_exact(32).enumerate() {
        // SAFETY (loads/stores): `block` holds 32 × 2 bytes; `n <= 32 * k`, so each store
        // of 32 entries at `base + n` stays within the DIM + 32 entries reserved past the
        // base, in the vectors' spare capacity (written before `set_len` exposes it).
        let v = _mm512_loadu_si512(block.as_ptr().cast());
        let m = _mm512_test_epi16_mask(v, v);
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(v, v));
        let buckets = _mm512_add_epi16(lane_no, _mm512_set1_epi16((32 * k) as i16));
        let packed = _mm512_maskz_compress_epi16(m, v);
        let packed_idx = _mm512_cvtepi16_epi8(_mm512_maskz_compress_epi16(m, buckets));
        _mm512_storeu_si512(cnt.as_mut_ptr().add(cnt_base + n).cast(), packed);
        _mm256_storeu_si256(idx.as_mut_ptr().add(idx_base + n).cast(), packed_idx);
        n += m.count_ones() as usize;
    }
    // SAFETY: the first `n` entries past each base were written above.
    idx.set_len(idx_base + n);
    cnt.set_len(cnt_base + n);
    f64::from(_mm512_reduce_add_epi32(acc)).sqrt()
}

/// [`values_portable`] for a non-zero norm with AVX-512. Counts are small integers:
/// divide 0..=7 by the norm once (one vector division) and look the quotients up;
/// (-k)/norm is -(k/norm) exactly, IEEE rounding being symmetric. A group of eight
/// holding a count beyond ±7 divides directly.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi2")]
unsafe fn values_avx512(cnt: &[i16], norm: f64, out: &mut Vec<f64>) {
    use std::arch::x86_64::*;
    let norm_v = _mm512_set1_pd(norm);
    let table = _mm512_div_pd(
        _mm512_set_pd(7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0),
        norm_v,
    );
    let sign_bit = _mm512_set1_epi64(i64::MIN);
    let base = out.len();
    out.reserve(cnt.len() + 8);
    let mut groups = cnt.chunks_exact(8);
    let mut k = 0usize;
    let mut one = |c16: __m128i, k: usize| {
        let c64 = _mm512_cvtepi16_epi64(c16);
        let mag = _mm512_abs_epi64(c64);
        let big = _mm512_cmpgt_epi64_mask(mag, _mm512_set1_epi64(7));
        let v = if big == 0 {
            let q = _mm512_permutexvar_pd(mag, table);
            let neg = _mm512_and_si512(c64, sign_bit);
            _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(q), neg))
        } else {
            _mm512_div_pd(_mm512_cvtepi32_pd(_mm256_cvtepi16_epi32(c16)), norm_v)
        };
        // SAFETY: `k + 8 <= cnt.len() + 8` entries past `base` were reserved above.
        _mm512_storeu_pd(out.as_mut_ptr().add(base + k), v);
    };
    for g in &mut groups {
        // SAFETY: `g` holds exactly 8 × 2 bytes.
        one(_mm_loadu_si128(g.as_ptr().cast()), k);
        k += 8;
    }
    let rest = groups.remainder();
    if !rest.is_empty() {
        let mut pad = [0i16; 8];
        pad[..rest.len()].copy_from_slice(rest);
        // SAFETY: `pad` holds exactly 8 × 2 bytes.
        one(_mm_loadu_si128(pad.as_ptr().cast()), k);
    }
    // SAFETY: the first `cnt.len()` entries past `base` were written above.
    out.set_len(base + cnt.len());
}

/// Fill `cls` with the classes of `" " + lower(body) + " "` (ASCII `body`): the class
/// of a printable character after lowercasing, or `0xFF` for any other byte (controls,
/// DEL, and bytes >= 0x80, which callers may pass).
/// Returns whether every byte has a class. 16 bytes at a time.
#[inline]
fn ascii_classes(body: &[u8], cls: &mut Vec<u8>) -> bool {
    const SPACE: u8 = CLASS_OF[b' ' as usize];
    cls.clear();
    cls.resize(body.len() + 2, SPACE);
    let Some(dst) = cls.get_mut(1..body.len() + 1) else {
        return true;
    };
    let mut bad = 0u8;
    let mut src = body.chunks_exact(16);
    let mut out = dst.chunks_exact_mut(16);
    for (s, d) in (&mut src).zip(&mut out) {
        let (Ok(s), Ok(d)) = (<&[u8; 16]>::try_from(s), <&mut [u8; 16]>::try_from(d)) else {
            continue;
        };
        bad |= classes16(s, d);
    }
    for (d, &b) in out.into_remainder().iter_mut().zip(src.remainder()) {
        let (c, invalid) = class_of_byte(b);
        bad |= invalid;
        *d = c;
    }
    bad == 0
}

/// The class of one ASCII byte after lowercasing, with `1` as second value when it has
/// none (its class is then `0xFF`).
#[inline(always)]
fn class_of_byte(b: u8) -> (u8, u8) {
    let upper = b.wrapping_sub(b'A') < 26;
    let l = b | (u8::from(upper) << 5);
    let c = l
        .wrapping_sub(0x20)
        .wrapping_sub(if l > b'Z' { 26 } else { 0 });
    let invalid = !(0x20..=0x7e).contains(&b);
    (if invalid { 0xFF } else { c }, u8::from(invalid))
}

/// [`class_of_byte`] for 16 bytes; returns non-zero when one of them has no class.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn classes16(s: &[u8; 16], d: &mut [u8; 16]) -> u8 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline; the unaligned load and store touch
    // exactly the 16 bytes of `s` and `d`.
    unsafe {
        let v = _mm_loadu_si128(s.as_ptr().cast());
        let splat = |x: u8| _mm_set1_epi8(x as i8);
        // Unsigned `a <= b` as `min(a, b) == a`.
        let le = |a: __m128i, b: __m128i| _mm_cmpeq_epi8(_mm_min_epu8(a, b), a);
        let off = _mm_sub_epi8(v, splat(b'A'));
        let upper = le(off, splat(25));
        let l = _mm_or_si128(v, _mm_and_si128(upper, splat(0x20)));
        // l > 'Z'  ⇔  !(l <= 'Z')
        let above_z = _mm_andnot_si128(le(l, splat(b'Z')), splat(26));
        let c = _mm_sub_epi8(_mm_sub_epi8(l, splat(0x20)), above_z);
        // Printable means 0x20 <= v <= 0x7e; anything else (controls, DEL, bytes >= 0x80)
        // has no class.
        let printable = _mm_and_si128(le(splat(0x20), v), le(v, splat(0x7e)));
        let invalid = _mm_andnot_si128(printable, _mm_set1_epi8(-1));
        _mm_storeu_si128(d.as_mut_ptr().cast(), _mm_or_si128(c, invalid));
        u8::from(_mm_movemask_epi8(invalid) != 0)
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn classes16(s: &[u8; 16], d: &mut [u8; 16]) -> u8 {
    let mut bad = 0;
    for (d, &b) in d.iter_mut().zip(s) {
        let (c, invalid) = class_of_byte(b);
        bad |= invalid;
        *d = c;
    }
    bad
}

/// Hash a gram the memo does not know yet and remember its code in `slot` (the rare
/// path).
#[cold]
#[inline(never)]
fn memo_miss(gram: [u8; 3], slot: &AtomicU16) -> u16 {
    let code = gram_code(&gram);
    slot.store(code, Ordering::Relaxed);
    code
}

/// The code of a gram through its memo slot: the remembered code, or hashed on a miss.
#[inline(always)]
fn memo_code(slot: &AtomicU16, gram: impl FnOnce() -> [u8; 3]) -> u16 {
    match slot.load(Ordering::Relaxed) {
        0 => memo_miss(gram(), slot),
        code => code,
    }
}

/// Add every trigram whose byte classes are `cls` to `counts`; `gram(j)` gives the bytes
/// of gram `j` (needed only when the memo misses). With `all_classed`, every class is
/// below [`CLASSES`] and the loop needs no per-gram check.
#[inline]
fn count_ascii_grams(
    gram: impl Fn(usize) -> [u8; 3],
    cls: &[u8],
    all_classed: bool,
    counts: &mut [i16; DIM],
) {
    let memo = ascii_memo();
    if all_classed {
        // Every class is below CLASSES, so every key is below CLASSES³ = memo.len().
        let Some(&[c0, c1]) = cls.get(..2) else {
            return;
        };
        // The pair part of the key, `c0 · CLASSES² + c1 · CLASSES`, rolls forward with one
        // multiply; only the previous class is carried, so no chain builds up.
        let (c0, mut c1) = (usize::from(c0), usize::from(c1));
        let mut pair = c0 * CLASSES * CLASSES + c1 * CLASSES;
        for (j, &c) in cls.iter().enumerate().skip(2) {
            let c2 = usize::from(c);
            let key = pair + c2;
            pair = c1 * CLASSES * CLASSES + c2 * CLASSES;
            c1 = c2;
            debug_assert!(key < memo.len());
            // SAFETY: `key < CLASSES³ == memo.len()` because all three classes are below
            // CLASSES (`all_classed`); this index check is the loop's hottest instruction.
            let slot = unsafe { memo.get_unchecked(key) };
            bump(counts, memo_code(slot, || gram(j - 2)));
        }
        return;
    }
    for (j, c) in cls.windows(3).enumerate() {
        let key = (usize::from(c[0]) * CLASSES + usize::from(c[1])) * CLASSES + usize::from(c[2]);
        // A gram with a classless byte has no memo slot (and no key below CLASSES³).
        let classed = c.iter().all(|&x| usize::from(x) < CLASSES);
        let code = match memo.get(key).filter(|_| classed) {
            Some(slot) => memo_code(slot, || gram(j)),
            None => gram_code(&gram(j)),
        };
        bump(counts, code);
    }
}

/// Bit `b` of the result is set when `counts[b] != 0`.
#[inline]
fn nonzero_bitmap(counts: &[i16; DIM]) -> [u64; DIM / 64] {
    let mut out = [0u64; DIM / 64];
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        for (w, word) in out.iter_mut().enumerate() {
            let mut m = 0u64;
            for k in 0..4 {
                let base = w * 64 + k * 16;
                let (Some(lo), Some(hi)) =
                    (counts.get(base..base + 8), counts.get(base + 8..base + 16))
                else {
                    continue;
                };
                // SAFETY: SSE2 is part of the x86_64 baseline; each unaligned load reads
                // exactly the 8 × 2 bytes of a slice checked to hold 8 counts.
                let bits = unsafe {
                    let zero = _mm_setzero_si128();
                    let a = _mm_cmpeq_epi16(_mm_loadu_si128(lo.as_ptr().cast()), zero);
                    let b = _mm_cmpeq_epi16(_mm_loadu_si128(hi.as_ptr().cast()), zero);
                    !(_mm_movemask_epi8(_mm_packs_epi16(a, b)) as u32) & 0xffff
                };
                m |= u64::from(bits) << (k * 16);
            }
            *word = m;
        }
        return out;
    }
    #[allow(unreachable_code)]
    {
        for (b, c) in counts.iter().enumerate() {
            out[b / 64] |= u64::from(*c != 0) << (b % 64);
        }
        out
    }
}

/// Decayed-centroid novelty detector (one per shard when `--semantic`).
///
/// The centroid is always updated exactly as the reference does (dense, in order). The
/// novelty of a message has two paths:
/// * exact — the reference's arithmetic bit for bit (a 256-term norm in index order and
///   one division per non-zero entry);
/// * fast — a tracked squared norm and one division, O(non-zeros).
///
/// The fast path is used only where its ~1e-15 relative difference cannot reach the
/// output: never while the novelty baseline is degenerate (std < 1e-6, where rounding
/// noise dominates scores), and any message whose fast score comes within 1e-9 of the
/// alerting threshold is recomputed exactly (so every reported anomaly is exact).
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
    /// Tracked squared norm of the centroid (fast path), `None` when stale.
    #[serde(skip)]
    tracked: Option<TrackedNorm>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct TrackedNorm {
    sumsq: f64,
    age: u32,
}

/// Below this novelty std the exact path is always used.
const DEGENERATE_STD: f64 = 1e-6;
/// Messages after which the tracked norm is recomputed exactly.
const RESYNC_EVERY: u32 = 1024;
/// Relative margin around the threshold inside which scores are recomputed exactly.
const EXACT_MARGIN: f64 = 1e-9;

impl SemanticDetector {
    /// A fresh detector.
    pub fn new(warmup: u64) -> Self {
        SemanticDetector {
            warmup,
            n: 0,
            centroid: Vec::new(),
            novelty: RunningStats::default(),
            tracked: None,
        }
    }

    /// Whether enough messages were seen for scores to count.
    #[inline]
    pub fn ready(&self) -> bool {
        self.n >= self.warmup
    }

    /// Score one message's novelty against the centroid (bit-exact reference
    /// arithmetic), then fold it in.
    pub fn score_then_update(&mut self, vec: SparseRef<'_>) -> f64 {
        self.score_with_threshold(vec, 0.0)
    }

    /// Score-then-update for a caller that alerts at `threshold`: scores whose magnitude
    /// is below `threshold` may come from the fast path (see the type docs); any score
    /// at or near it is exact. `threshold <= 0` always takes the exact path.
    pub fn score_with_threshold(&mut self, vec: SparseRef<'_>, threshold: f64) -> f64 {
        if self.centroid.len() != DIM {
            self.centroid = vec![0.0; DIM];
            for (i, v) in vec.idx.iter().zip(vec.val) {
                self.centroid[*i as usize] = *v;
            }
            self.n = 1;
            return 0.0;
        }
        let ready = self.ready();
        let (mean, std) = (self.novelty.mean, self.novelty.std());
        let fast_ok = threshold > 0.0 && self.novelty.n >= 2 && std >= DEGENERATE_STD;
        let mut novelty = None;
        let mut dot_raw = f64::NAN;
        let mut sq_x = 0.0;
        if fast_ok {
            let t = match self.tracked {
                Some(t) if t.age < RESYNC_EVERY => t,
                _ => TrackedNorm {
                    sumsq: sum_of_squares(&self.centroid),
                    age: 0,
                },
            };
            (dot_raw, sq_x) = dot_raw_sparse(&self.centroid, vec);
            let norm = t.sumsq.sqrt();
            let approx = 1.0 - if norm == 0.0 { dot_raw } else { dot_raw / norm };
            let near = ready
                && std != 0.0
                && ((approx - mean) / std).abs() >= threshold * (1.0 - EXACT_MARGIN);
            if !near {
                novelty = Some(approx);
            }
            self.tracked = Some(t);
        }
        let novelty = novelty.unwrap_or_else(|| self.exact_novelty(vec));
        self.novelty.update(novelty);
        self.n += 1;
        fold_in_place(&mut self.centroid, vec);
        self.tracked = match self.tracked {
            Some(t) if fast_ok && dot_raw.is_finite() => {
                let keep = 1.0 - DECAY;
                let sumsq =
                    keep * keep * t.sumsq + 2.0 * keep * DECAY * dot_raw + DECAY * DECAY * sq_x;
                Some(TrackedNorm {
                    sumsq,
                    age: t.age + 1,
                })
            }
            _ => None,
        };
        if !ready || std == 0.0 {
            return 0.0;
        }
        (novelty - mean) / std
    }

    /// The reference's novelty, bit for bit: `1 - Σ x · (c / ‖c‖)` with the norm summed
    /// over all 256 dimensions in index order. Zero entries of `x` only add `±0.0` to a
    /// sum that starts at `+0.0`, so they are skipped.
    fn exact_novelty(&self, vec: SparseRef<'_>) -> f64 {
        let norm = sum_of_squares(&self.centroid).sqrt();
        let mut dot = 0.0;
        if norm == 0.0 {
            for (i, x) in vec.idx.iter().zip(vec.val) {
                dot += x * self.centroid[*i as usize];
            }
        } else {
            for (i, x) in vec.idx.iter().zip(vec.val) {
                dot += x * (self.centroid[*i as usize] / norm);
            }
        }
        1.0 - dot
    }

    /// Score a user-supplied dense embedding (used as given, like the reference's
    /// `embed_fn`), then fold it in. The dimension is fixed by the first vector; a vector
    /// of another length scores 0 and is ignored.
    pub fn score_then_update_dense(&mut self, vec: &[f64]) -> f64 {
        if self.centroid.is_empty() {
            self.centroid = vec.to_vec();
            self.n = 1;
            return 0.0;
        }
        if vec.len() != self.centroid.len() {
            return 0.0;
        }
        let norm = sum_of_squares(&self.centroid).sqrt();
        let mut dot = 0.0;
        for (x, c) in vec.iter().zip(&self.centroid) {
            dot += x * if norm == 0.0 { *c } else { c / norm };
        }
        let keep = 1.0 - DECAY;
        for (c, x) in self.centroid.iter_mut().zip(vec) {
            *c = keep * *c + DECAY * x;
        }
        let ready = self.ready();
        let (mean, std) = (self.novelty.mean, self.novelty.std());
        self.novelty.update(1.0 - dot);
        self.n += 1;
        if !ready || std == 0.0 {
            return 0.0;
        }
        (1.0 - dot - mean) / std
    }

    /// Score `vecs` in order for a caller alerting at `threshold`, writing
    /// `(score, was_ready)` for each into `out` — the same as calling
    /// [`Self::score_with_threshold`] once per vector.
    pub fn score_batch(&mut self, vecs: &[SparseRef<'_>], threshold: f64, out: &mut [(f64, bool)]) {
        for (v, o) in vecs.iter().zip(out.iter_mut()) {
            let ready = self.ready();
            *o = (self.score_with_threshold(*v, threshold), ready);
        }
    }
}

/// Σ c², summed in index order like Python's `sum`.
#[inline]
fn sum_of_squares(c: &[f64]) -> f64 {
    let mut acc = 0.0;
    for x in c {
        acc += x * x;
    }
    acc
}

/// Σ x·c over the non-zero entries, in any order (fast path only).
#[inline]
fn dot_raw_sparse(c: &[f64], v: SparseRef<'_>) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if c.len() == DIM && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F was checked at run time and `c` holds DIM entries, so every
        // `u8` bucket index is in bounds.
        return unsafe { dot_raw_sparse_avx512(c, v) };
    }
    let mut acc = [0.0f64; 4];
    let mut sq = [0.0f64; 4];
    let mut idx = v.idx.chunks_exact(4);
    let mut val = v.val.chunks_exact(4);
    for (i4, x4) in (&mut idx).zip(&mut val) {
        for k in 0..4 {
            acc[k] += x4[k] * c[i4[k] as usize];
            sq[k] += x4[k] * x4[k];
        }
    }
    let (mut tail, mut sq_tail) = (0.0, 0.0);
    for (i, x) in idx.remainder().iter().zip(val.remainder()) {
        tail += x * c[*i as usize];
        sq_tail += x * x;
    }
    (
        (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail,
        (sq[0] + sq[1]) + (sq[2] + sq[3]) + sq_tail,
    )
}

/// `c = (1 - decay) * c + decay * vec` over every dimension, as the reference does (a
/// zero entry contributes `decay * 0.0`, which still turns `-0.0` into `0.0`).
/// The reference's centroid update `c = (1 - decay) * c + decay * v`, element by element
/// with the same two roundings: a dense pass scales every entry and adds `+0.0` (what the
/// reference adds where `v` is zero, turning `-0.0` into `+0.0`), then the non-zero entries
/// add `decay * v` to that already-rounded product — the same value, as `x + 0.0 == x`
/// for every non-zero `x`.
#[inline]
fn fold_in_place(c: &mut [f64], v: SparseRef<'_>) {
    scale_dense(c);
    #[cfg(target_arch = "x86_64")]
    if c.len() == DIM && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F was checked at run time and `c` holds DIM entries, so every
        // `u8` bucket index is in bounds; the indices of a sparse vector are distinct.
        return unsafe { add_sparse_avx512(c, v) };
    }
    for (i, x) in v.idx.iter().zip(v.val) {
        if let Some(ci) = c.get_mut(usize::from(*i)) {
            *ci += DECAY * x;
        }
    }
}

/// The first `n` bucket indices and values of `v` from entry `k`, eight lanes at a
/// time (lanes past `n` masked off).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn lanes8(
    v: SparseRef<'_>,
    k: usize,
    n: usize,
) -> (
    std::arch::x86_64::__mmask8,
    std::arch::x86_64::__m512i,
    std::arch::x86_64::__m512d,
) {
    use std::arch::x86_64::*;
    let live = (n - k).min(8);
    let mask: __mmask8 = if live == 8 { 0xff } else { (1u8 << live) - 1 };
    let mut idx = [0u8; 16];
    idx[..live].copy_from_slice(&v.idx[k..k + live]);
    let lanes = _mm512_cvtepu8_epi64(_mm_loadu_si128(idx.as_ptr().cast()));
    let x = _mm512_maskz_loadu_pd(mask, v.val.as_ptr().add(k));
    (mask, lanes, x)
}

/// [`dot_raw_sparse`] with AVX-512 gathers (fast path only: any summation order).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_raw_sparse_avx512(c: &[f64], v: SparseRef<'_>) -> (f64, f64) {
    use std::arch::x86_64::*;
    let n = v.idx.len().min(v.val.len());
    let mut acc = _mm512_setzero_pd();
    let mut sq = _mm512_setzero_pd();
    let mut k = 0;
    while k < n {
        let (mask, lanes, x) = lanes8(v, k, n);
        let g = _mm512_mask_i64gather_pd::<8>(_mm512_setzero_pd(), mask, lanes, c.as_ptr());
        acc = _mm512_fmadd_pd(x, g, acc);
        sq = _mm512_fmadd_pd(x, x, sq);
        k += 8;
    }
    (_mm512_reduce_add_pd(acc), _mm512_reduce_add_pd(sq))
}

/// The sparse half of [`fold_in_place`] with AVX-512: gather, `c + decay · x` with the
/// same two roundings as the scalar loop (a multiply, then an add; no fused
/// multiply-add), scatter.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn add_sparse_avx512(c: &mut [f64], v: SparseRef<'_>) {
    use std::arch::x86_64::*;
    let n = v.idx.len().min(v.val.len());
    let decay = _mm512_set1_pd(DECAY);
    let mut k = 0;
    while k < n {
        let (mask, lanes, x) = lanes8(v, k, n);
        let g = _mm512_mask_i64gather_pd::<8>(_mm512_setzero_pd(), mask, lanes, c.as_ptr());
        let sum = _mm512_add_pd(g, _mm512_mul_pd(decay, x));
        _mm512_mask_i64scatter_pd::<8>(c.as_mut_ptr(), mask, lanes, sum);
        k += 8;
    }
}

/// `c = (1 - decay) * c + 0.0` for every entry, in the widest vectors the CPU has.
///
/// A bucket that no message hits decays by 0.99 per message and, after about 70,000
/// messages, turns subnormal, where the reference keeps it forever (0.99 × the smallest
/// subnormal rounds back to itself) and every further multiplication costs the CPU a
/// microcode assist — about 100× slower, enough to make a log of repetitive short lines
/// crawl. Such entries are set to `+0.0` instead. No output can tell: a subnormal entry
/// adds at most ~1e-308 to a dot product whose other terms (products of L2-normalised
/// hashed vectors) are either exactly 0 or at least ~1e-6, squares to 0 in the norm, and
/// vanishes when the bucket is next hit (`keep · tiny + decay · x == decay · x`). The
/// test `subnormal_flush_matches_reference_arithmetic` checks scores bit for bit.
#[inline]
fn scale_dense(c: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F support was checked at run time; the body is safe code.
        return unsafe { scale_dense_avx512(c) };
    } else if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 support was checked at run time; the body is safe code.
        return unsafe { scale_dense_avx2(c) };
    }
    scale_dense_portable(c);
}

#[inline(always)]
fn scale_dense_portable(c: &mut [f64]) {
    let keep = 1.0 - DECAY;
    for ci in c {
        let v = keep * *ci + 0.0;
        *ci = if v.abs() < f64::MIN_POSITIVE { 0.0 } else { v };
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn scale_dense_avx512(c: &mut [f64]) {
    scale_dense_portable(c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scale_dense_avx2(c: &mut [f64]) {
    scale_dense_portable(c)
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

    /// The reference's embedding written the slow, obvious way: every gram hashed.
    fn naive_embed(text: &str) -> Vec<(u8, f64)> {
        let capped: String = text.chars().take(MAX_CHARS).collect();
        let padded = format!(
            " {} ",
            capped
                .trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
                .to_lowercase()
        );
        let chars: Vec<char> = padded.chars().collect();
        let mut counts = [0i64; DIM];
        let grams: Vec<String> = if chars.len() <= 3 {
            vec![padded.clone()]
        } else {
            chars.windows(3).map(|w| w.iter().collect()).collect()
        };
        for g in grams {
            let (b, pos) = hash_gram(g.as_bytes(), DIM);
            counts[b] += if pos { 1 } else { -1 };
        }
        let norm = (counts.iter().map(|c| c * c).sum::<i64>() as f64).sqrt();
        counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != 0)
            .map(|(i, c)| (i as u8, *c as f64 / norm))
            .collect()
    }

    #[test]
    fn ascii_fast_path_matches_hashing_every_gram() {
        let ascii: &[u8] = b"aZ z_9.\t\x01\x7f-=Q[`{~@\x1f\x0b ";
        let mixed: &[u8] = b"aZ z_9.\t\x01\x7f-=Q[`{~@\x1f\x0b \x80\xff\xc3";
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut v = Vectorizer::new();
        let mut out = SparseVec::default();
        let lens = (0..40).chain([63, 64, 65, 200, 4095, 4096, 4097, 5000]);
        for (alphabet, len) in lens.flat_map(|n| [(ascii, n), (mixed, n)]) {
            for _ in 0..8 {
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        alphabet[(x % alphabet.len() as u64) as usize]
                    })
                    .collect();
                v.embed_ascii(&text, &mut out);
                let got: Vec<(u8, f64)> = out
                    .idx
                    .iter()
                    .copied()
                    .zip(out.val.iter().copied())
                    .collect();
                match std::str::from_utf8(&text) {
                    Ok(s) if s.is_ascii() => assert_eq!(got, naive_embed(s), "{s:?}"),
                    // Other bytes are tolerated (no reference to match): a unit vector.
                    _ => {
                        let sq: f64 = got.iter().map(|(_, x)| x * x).sum();
                        assert!(got.is_empty() || (sq - 1.0).abs() < 1e-9, "{text:?}");
                    }
                }
            }
        }
    }

    /// The reference's `update_and_score`, dense and literal (no flushing, no fast path).
    struct NaiveDetector {
        centroid: Vec<f64>,
        n: u64,
        stats: RunningStats,
    }

    impl NaiveDetector {
        fn score(&mut self, vec: &[f64], warmup: u64) -> f64 {
            let norm = self.centroid.iter().map(|c| c * c).sum::<f64>().sqrt();
            let normed: Vec<f64> = if norm == 0.0 {
                self.centroid.clone()
            } else {
                self.centroid.iter().map(|c| c / norm).collect()
            };
            let novelty = 1.0 - vec.iter().zip(&normed).map(|(x, y)| x * y).sum::<f64>();
            let ready = self.n >= warmup;
            let (mean, std) = (self.stats.mean, self.stats.std());
            self.stats.update(novelty);
            for (c, x) in self.centroid.iter_mut().zip(vec) {
                *c = (1.0 - DECAY) * *c + DECAY * x;
            }
            self.n += 1;
            if !ready || std == 0.0 {
                0.0
            } else {
                (novelty - mean) / std
            }
        }
    }

    #[test]
    fn subnormal_flush_matches_reference_arithmetic() {
        // A centroid whose untouched buckets are about to turn subnormal, then a stream
        // of a few short messages: scores must equal the literal arithmetic bit for bit.
        let mut v = Vectorizer::new();
        let messages = ["a", "ok", "b c", "x1", "ok", "ok", "GET /", "up"];
        let vecs: Vec<SparseVec> = messages
            .iter()
            .map(|m| {
                let mut out = SparseVec::default();
                v.embed(m, &mut out);
                out
            })
            .collect();
        let mut start = vec![0.0; DIM];
        for (i, c) in start.iter_mut().enumerate() {
            *c = if i % 3 == 0 {
                3e-306
            } else {
                -7e-305 * (i as f64)
            };
        }
        start[5] = 0.25;
        let mut ours = SemanticDetector::new(5);
        ours.centroid = start.clone();
        ours.n = 1;
        let mut naive = NaiveDetector {
            centroid: start,
            n: 1,
            stats: RunningStats::default(),
        };
        let mut subnormal_seen = false;
        for step in 0..3000 {
            let sv = &vecs[(step * 7 + step / 5) % vecs.len()];
            let mut dense = vec![0.0; DIM];
            for (i, x) in sv.idx.iter().zip(&sv.val) {
                dense[*i as usize] = *x;
            }
            // Threshold 0 keeps every score on the exact path (the fast path is exact only
            // where a score can reach the output).
            let a = ours.score_then_update(sv.view());
            let b = naive.score(&dense, 5);
            assert_eq!(a.to_bits(), b.to_bits(), "step {step}: {a} vs {b}");
            subnormal_seen |= naive.centroid.iter().any(|c| c.is_subnormal());
            assert!(
                ours.centroid.iter().all(|c| !c.is_subnormal()),
                "step {step}"
            );
        }
        assert!(
            subnormal_seen,
            "the literal arithmetic should have reached subnormals"
        );
        assert_eq!(ours.novelty.mean.to_bits(), naive.stats.mean.to_bits());
        assert_eq!(ours.novelty.m2.to_bits(), naive.stats.m2.to_bits());
    }

    impl Vectorizer {
        fn embed_counts_for_test(&mut self, idx: &mut Vec<u8>, cnt: &mut Vec<i16>) -> f64 {
            self.take_counts(idx, cnt)
        }
    }

    #[test]
    fn every_finish_kernel_gives_the_same_vector() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for density in [0u64, 1, 3, 8, 16] {
            for _ in 0..50 {
                let mut counts = [0i16; DIM];
                for c in counts.iter_mut() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if x % 16 < density {
                        *c = ((x >> 8) % 41) as i16 - 20;
                    }
                }
                let mut a = Vectorizer::new();
                a.counts = counts;
                let mut va = SparseVec::default();
                a.finish(&mut va);
                assert_eq!(a.counts, [0; DIM]);
                // The portable kernels, and the obvious arithmetic, give the same vector.
                let (mut idx, mut cnt) = (Vec::new(), Vec::new());
                let norm = compress_counts_portable(&counts, &mut idx, &mut cnt);
                let mut val = Vec::new();
                values_portable(&cnt, norm, &mut val);
                assert_eq!(va, SparseVec { idx, val });
                let sumsq: i64 = counts.iter().map(|&c| i64::from(c) * i64::from(c)).sum();
                let obvious: Vec<f64> = counts
                    .iter()
                    .filter(|&&c| c != 0)
                    .map(|&c| f64::from(c) / (sumsq as f64).sqrt())
                    .collect();
                assert_eq!(va.val, obvious);
                // Appending after existing entries keeps them.
                let (mut idx2, mut cnt2) = (vec![9u8], vec![3i16]);
                a.counts = counts;
                let norm2 = a.embed_counts_for_test(&mut idx2, &mut cnt2);
                assert_eq!(norm2.to_bits(), norm.to_bits());
                assert_eq!(idx2[1..], va.idx[..]);
                let mut val2 = vec![0.5];
                values_from_counts(&cnt2[1..], norm2, &mut val2);
                assert_eq!(val2[1..], va.val[..]);
            }
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
