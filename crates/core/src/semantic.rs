//! The semantic layer: hashed character-3-gram vectors and the novelty detector.
//!
//! [`Vectorizer`] turns a message into a sparse, L2-normalised vector bit-compatible with
//! the reference's `HashingVectorizer`: dim 256, char 3-grams of
//! `" " + strip(lower(text)) + " "` after a 4096-char cap, BLAKE2b-64, bucket = first 4
//! digest bytes big-endian mod dim, sign = low bit of byte 4. Trigrams of printable
//! ASCII are looked up in a table hashed at build time (`build.rs`); others are hashed
//! and memoised in a bounded per-vectorizer map. [`SemanticDetector`]
//! keeps the decayed centroid and standardises novelty with running stats; it is
//! sequential state owned by one shard.

mod gram;

use crate::detect::RunningStats;
use ahash::AHashMap;
use gram::encode;
pub use gram::hash_gram;
use serde::{Deserialize, Serialize};

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
    /// The built-in vectorizer's vector as the ASCII chunk path ships it.
    Counts(CountsRef<'a>),
    /// A dense embedding from a user-supplied embedder (any fixed dimension).
    Dense(&'a [f64]),
}

/// The `(bucket, ±1)` of an encoded gram.
#[inline(always)]
fn decode(code: u16) -> (usize, i16) {
    (usize::from(code as u8), (code as i16) >> 8)
}

/// The encoded code of one gram, hashed.
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

/// A message's bucket counts as two histograms whose sum is the count of each bucket.
/// The classed AVX-512 kernel sends even grams to the first and odd grams to the second,
/// so that a bucket hit by two grams in a row does not have the second increment wait
/// for the first one's store (about a fifth of the counting loop's time on log lines);
/// every other path counts into the first. [`Vectorizer::take_counts`] adds them up.
type Counts = [[i16; DIM]; 2];

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

/// Bytes of the trigram code table: one `u16` per key below `CLASSES³`, plus one of
/// padding so a 32-bit load at the last entry stays inside.
const CODE_TABLE_BYTES: usize = (CLASSES * CLASSES * CLASSES + 1) * 2;

/// The codes of every lowercased printable-ASCII trigram, by key `c0 · CLASSES² + c1 ·
/// CLASSES + c2` of its symbol classes — hashed at build time by `build.rs` (640 KiB,
/// read-only, shared by every thread).
#[repr(C, align(4))]
struct CodeTable([u8; CODE_TABLE_BYTES]);

static CODE_TABLE: CodeTable = CodeTable(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/trigram_codes.bin"
)));

/// [`CODE_TABLE`] as codes.
#[inline(always)]
fn trigram_codes() -> &'static [u16] {
    // SAFETY: the table is 4-byte aligned and holds CODE_TABLE_BYTES bytes, which
    // build.rs wrote as `u16`s in the target's byte order; every bit pattern is a `u16`.
    unsafe { std::slice::from_raw_parts(CODE_TABLE.0.as_ptr().cast::<u16>(), CODE_TABLE_BYTES / 2) }
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
    counts: Counts,
    wide_memo: AHashMap<u64, u16>,
    /// The next message's classes, computed one message ahead by
    /// [`Self::embed_ascii_counts_each`].
    ahead: Vec<u8>,
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
            counts: [[0; DIM]; 2],
            wide_memo: AHashMap::new(),
            ahead: Vec::new(),
        }
    }

    #[inline]
    fn add(&mut self, code: u16) {
        bump(&mut self.counts[0], code);
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
        trace_sentinel_pycompat::unicode::lower_into(
            trace_sentinel_pycompat::unicode::strip(capped),
            &mut lowered,
        );
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
        self.count_ascii(message);
        self.finish(out);
    }

    /// Add the trigrams of an ASCII message to the bucket counts.
    fn count_ascii(&mut self, message: &[u8]) {
        let body = ascii_body(message);
        if body.len() < 2 {
            self.count_short(body);
            return;
        }
        // Classes of " " + lower(body) + " ", computed from `body` without lowering it.
        let all_classed = ascii_classes(body, &mut self.classes);
        self.count_classed(body, all_classed);
    }

    /// Add the one gram of a stripped body shorter than two bytes (at most three padded
    /// characters, hashed directly) to the bucket counts.
    fn count_short(&mut self, body: &[u8]) {
        let mut lowered = [b' '; 3];
        for (d, s) in lowered[1..].iter_mut().zip(body) {
            *d = s.to_ascii_lowercase();
        }
        self.add_ascii_grams(&lowered[..body.len() + 2]);
    }

    /// Add the trigrams of `body` (a stripped message of at least two bytes) to the
    /// bucket counts, given its classes in `self.classes` and whether every byte has one.
    fn count_classed(&mut self, body: &[u8], all_classed: bool) {
        let Vectorizer {
            classes, counts, ..
        } = self;
        // The lowered, padded character at position `k` (only needed to hash a gram with
        // a classless byte, which has no table entry).
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
    /// code table.
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
        let (_, norm) = self.take_counts(Some(&mut out.idx), &mut cnt);
        values_from_counts(&cnt, norm, &mut out.val);
        self.compact = cnt;
    }

    /// Append the non-zero buckets (ascending) to `idx` (when given) and their counts to
    /// `cnt`, reset the counts, and return the buckets' mask and the vector's L2 norm
    /// (exact: integer sum of squares).
    fn take_counts(&mut self, idx: Option<&mut Vec<u8>>, cnt: &mut Vec<i16>) -> (BucketMask, f64) {
        #[cfg(target_arch = "x86_64")]
        if trace_sentinel_kernels::cpu::avx512_vbmi2() {
            // SAFETY: the features `compress_counts_avx512` enables were checked at run
            // time.
            // It also zeroes the counts.
            return unsafe { compress_counts_avx512(&mut self.counts, idx, cnt) };
        }
        let [even, odd] = &self.counts;
        let merged: [i16; DIM] = std::array::from_fn(|b| even[b] + odd[b]);
        let out = compress_counts_portable(&merged, idx, cnt);
        self.counts = [[0; DIM]; 2];
        out
    }

    /// Embed an ASCII message as its compacted bucket counts (appended to `cnt`) and
    /// return their mask and norm: the vector is [`CountsRef`] `{ mask, cnt, norm }`,
    /// whose values `cnt / norm` ([`values_from_counts`]) are bit for bit those of
    /// [`Self::embed_ascii`]. A third of the bytes of the `f64` form, for the records a
    /// chunk hands from a worker to the detector.
    pub fn embed_ascii_counts(&mut self, message: &[u8], cnt: &mut Vec<i16>) -> (BucketMask, f64) {
        self.count_ascii(message);
        self.take_counts(None, cnt)
    }

    /// [`Self::embed_ascii_counts`] of the messages `message(0) .. message(n)` in turn:
    /// after each one's counts are appended to `cnt`, `done` gets its mask and norm and
    /// the new length of `cnt`. The same results, sooner: each message's symbol classes
    /// are computed right after the message before it is counted. Read right after they
    /// are written, the class bytes (stored 64 at a time) cannot be forwarded to the
    /// gathers' narrower loads, which then wait for the stores to reach the cache (about
    /// a tenth of the embedding time, see `docs/benchmarks.md`).
    pub fn embed_ascii_counts_each<'m>(
        &mut self,
        n: usize,
        message: impl Fn(usize) -> &'m [u8],
        cnt: &mut Vec<i16>,
        mut done: impl FnMut(BucketMask, f64, usize),
    ) {
        // A message's stripped body and, when it has classes (a body of two bytes or
        // more), whether all its bytes have one; the classes sit in `self.ahead`.
        let classify = |v: &mut Vectorizer, m: &'m [u8]| {
            let body = ascii_body(m);
            let all_classed = (body.len() >= 2).then(|| ascii_classes(body, &mut v.ahead));
            (body, all_classed)
        };
        let mut next = (n > 0).then(|| classify(self, message(0)));
        let mut i = 0;
        while let Some((body, all_classed)) = next {
            match all_classed {
                Some(all_classed) => {
                    std::mem::swap(&mut self.classes, &mut self.ahead);
                    self.count_classed(body, all_classed);
                }
                None => self.count_short(body),
            }
            i += 1;
            next = (i < n).then(|| classify(self, message(i)));
            let (mask, norm) = self.take_counts(None, cnt);
            done(mask, norm, cnt.len());
        }
    }
}

/// The part of an ASCII message its grams are taken from: the first [`MAX_CHARS`]
/// bytes, stripped of Python's `str.strip()` whitespace (within ASCII: `\t \n \v \f
/// \r`, `\x1c`–`\x1f` and space).
#[inline]
fn ascii_body(message: &[u8]) -> &[u8] {
    let capped = &message[..message.len().min(MAX_CHARS)];
    let is_space = |b: &u8| matches!(b, b'\t'..=b'\r' | 0x1c..=0x1f | b' ');
    let first = capped
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(capped.len());
    let last = capped
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(first, |i| i + 1);
    &capped[first..last.max(first)]
}

/// Append the non-zero buckets of `counts` (ascending, when `idx` is given) and their
/// counts; return their mask and the norm.
fn compress_counts_portable(
    counts: &[i16; DIM],
    mut idx: Option<&mut Vec<u8>>,
    cnt: &mut Vec<i16>,
) -> (BucketMask, f64) {
    // Integer counts make the sum of squares exact in any order, as in the reference.
    let mut sumsq = 0i64;
    let mut mask = [0u32; DIM / 32];
    for (word_no, word) in nonzero_bitmap(counts).iter().enumerate() {
        mask[2 * word_no] = *word as u32;
        mask[2 * word_no + 1] = (*word >> 32) as u32;
        let mut m = *word;
        while m != 0 {
            let bucket = word_no * 64 + m.trailing_zeros() as usize;
            m &= m - 1;
            let v = counts[bucket];
            sumsq += i64::from(v) * i64::from(v);
            if let Some(idx) = idx.as_deref_mut() {
                idx.push(bucket as u8);
            }
            cnt.push(v);
        }
    }
    (mask, (sumsq as f64).sqrt())
}

/// Append `c / norm` for every count (the counts themselves when `norm` is 0): the
/// vector's values, with the same IEEE division the reference performs.
pub fn values_from_counts(cnt: &[i16], norm: f64, out: &mut Vec<f64>) {
    scaled_values_from_counts(cnt, norm, None, out);
}

/// [`values_from_counts`], each value then multiplied by `scale` when given (a second
/// rounding, as `scale * (c / norm)` is written).
fn scaled_values_from_counts(cnt: &[i16], norm: f64, scale: Option<f64>, out: &mut Vec<f64>) {
    #[cfg(target_arch = "x86_64")]
    if norm != 0.0 && trace_sentinel_kernels::cpu::avx512_vbmi2() {
        // SAFETY: the features `values_avx512` enables were checked at run time.
        unsafe { values_avx512(cnt, norm, scale, out) };
        return;
    }
    values_portable(cnt, norm, scale, out);
}

fn values_portable(cnt: &[i16], norm: f64, scale: Option<f64>, out: &mut Vec<f64>) {
    let value = |c: i16| {
        let v = if norm == 0.0 {
            f64::from(c)
        } else {
            f64::from(c) / norm
        };
        scale.map_or(v, |k| k * v)
    };
    out.extend(cnt.iter().map(|&c| value(c)));
}

/// [`compress_counts_portable`] with AVX-512 over both histograms of `counts` (added as
/// they are loaded, and zeroed behind): each 32-count block is tested for non-zero lanes,
/// and the non-zero counts and their bucket numbers are compressed to the front of a
/// register (VBMI2), in ascending bucket order; the squares are summed exactly in 32-bit
/// lanes (at most 4098² in total).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi2,popcnt")]
unsafe fn compress_counts_avx512(
    counts: &mut Counts,
    mut idx: Option<&mut Vec<u8>>,
    cnt: &mut Vec<i16>,
) -> (BucketMask, f64) {
    use std::arch::x86_64::*;
    let idx_base = idx.as_deref().map_or(0, Vec::len);
    let cnt_base = cnt.len();
    // Room for every entry plus one block of slack for the full-width stores.
    if let Some(idx) = idx.as_deref_mut() {
        idx.reserve(DIM + 32);
    }
    cnt.reserve(DIM + 32);
    let mut n = 0usize;
    // The mask words are gathered in one register and stored at once: written word by
    // word, the caller's first (wider) read of the returned mask would wait for the
    // word stores to retire instead of being forwarded from them (perf put ~4 % of a
    // `--semantic` scan's samples on that read).
    let mut words = _mm256_setzero_si256();
    let mut acc = _mm512_setzero_si512();
    let lane_no = _mm512_set_epi16(
        31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9,
        8, 7, 6, 5, 4, 3, 2, 1, 0,
    );
    let [even, odd] = counts;
    let blocks = even.chunks_exact_mut(32).zip(odd.chunks_exact_mut(32));
    for (k, (block, odd_block)) in blocks.enumerate() {
        // SAFETY (loads/stores): both blocks hold 32 × 2 bytes; `n <= 32 * k`, so each
        // store of 32 entries at `base + n` stays within the DIM + 32 entries reserved past
        // the base, in the vectors' spare capacity (written before `set_len` exposes it).
        // The sum cannot overflow: a message has at most MAX_CHARS + 2 grams.
        let v = _mm512_add_epi16(
            _mm512_loadu_si512(block.as_ptr().cast()),
            _mm512_loadu_si512(odd_block.as_ptr().cast()),
        );
        // Both histograms are left zeroed for the next message (cheaper here, as they
        // are read, than as a separate pass).
        _mm512_storeu_si512(block.as_mut_ptr().cast(), _mm512_setzero_si512());
        _mm512_storeu_si512(odd_block.as_mut_ptr().cast(), _mm512_setzero_si512());
        let m = _mm512_test_epi16_mask(v, v);
        words = _mm256_mask_set1_epi32(words, 1 << k, m as i32);
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(v, v));
        let packed = _mm512_maskz_compress_epi16(m, v);
        _mm512_storeu_si512(cnt.as_mut_ptr().add(cnt_base + n).cast(), packed);
        if let Some(idx) = idx.as_deref_mut() {
            let buckets = _mm512_add_epi16(lane_no, _mm512_set1_epi16((32 * k) as i16));
            let packed_idx = _mm512_cvtepi16_epi8(_mm512_maskz_compress_epi16(m, buckets));
            _mm256_storeu_si256(idx.as_mut_ptr().add(idx_base + n).cast(), packed_idx);
        }
        n += m.count_ones() as usize;
    }
    // SAFETY: the first `n` entries past each base were written above.
    if let Some(idx) = idx {
        idx.set_len(idx_base + n);
    }
    cnt.set_len(cnt_base + n);
    let mut mask: BucketMask = [0; DIM / 32];
    _mm256_storeu_si256(mask.as_mut_ptr().cast(), words);
    (mask, f64::from(_mm512_reduce_add_epi32(acc)).sqrt())
}

/// [`values_portable`] for a non-zero norm with AVX-512. Counts are small integers:
/// divide 0..=7 by the norm once (one vector division) and look the quotients up;
/// (-k)/norm is -(k/norm) exactly, IEEE rounding being symmetric (and so is the
/// product with `scale`). A group of eight holding a count beyond ±7 divides directly.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi2")]
unsafe fn values_avx512(cnt: &[i16], norm: f64, scale: Option<f64>, out: &mut Vec<f64>) {
    use std::arch::x86_64::*;
    let norm_v = _mm512_set1_pd(norm);
    let scaled = |v: __m512d| match scale {
        Some(k) => _mm512_mul_pd(_mm512_set1_pd(k), v),
        None => v,
    };
    let table = scaled(_mm512_div_pd(
        _mm512_set_pd(7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0),
        norm_v,
    ));
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
            scaled(_mm512_div_pd(
                _mm512_cvtepi32_pd(_mm256_cvtepi16_epi32(c16)),
                norm_v,
            ))
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
        // A masked load of the last counts (copying them into a zeroed buffer instead
        // would make the 16-byte load wait for a failed store forwarding).
        let live: __mmask8 = (1 << rest.len()) - 1;
        // SAFETY: the mask selects the `rest.len() < 8` counts of `rest` only.
        one(_mm_maskz_loadu_epi16(live, rest.as_ptr().cast()), k);
    }
    // SAFETY: the first `cnt.len()` entries past `base` were written above.
    out.set_len(base + cnt.len());
}

/// Fill `cls` with the classes of `" " + lower(body) + " "` (ASCII `body`): the class
/// of a printable character after lowercasing, or `0xFF` for any other byte (controls,
/// DEL, and bytes >= 0x80, which callers may pass).
/// Returns whether every byte has a class.
#[inline]
fn ascii_classes(body: &[u8], cls: &mut Vec<u8>) -> bool {
    #[cfg(target_arch = "x86_64")]
    if trace_sentinel_kernels::cpu::avx512() {
        // SAFETY: the features the kernel enables were checked at run time.
        return unsafe { ascii_classes_avx512(body, cls) };
    }
    ascii_classes_16(body, cls)
}

/// The class of the padding space around a message.
const SPACE_CLASS: u8 = CLASS_OF[b' ' as usize];

/// [`ascii_classes`] 16 bytes at a time (SSE2 on x86-64).
#[inline]
fn ascii_classes_16(body: &[u8], cls: &mut Vec<u8>) -> bool {
    cls.clear();
    cls.resize(body.len() + 2, SPACE_CLASS);
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
    if !src.remainder().is_empty() && body.len() >= 16 {
        // The tail as one more block ending at the last byte, overlapping the previous
        // one (classes are per byte, so the overlap is written twice with equal values).
        let at = body.len() - 16;
        if let (Ok(s), Ok(d)) = (
            <&[u8; 16]>::try_from(&body[at..]),
            <&mut [u8; 16]>::try_from(&mut dst[at..]),
        ) {
            bad |= classes16(s, d);
        }
        return bad == 0;
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

/// [`ascii_classes`] with AVX-512 BW: 64 bytes per step, the last step a masked load and
/// store; the same byte rule as [`classes16`] with compares into mask registers.
///
/// # Safety
/// The CPU must have AVX-512 F, BW and VL.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn ascii_classes_avx512(body: &[u8], cls: &mut Vec<u8>) -> bool {
    use std::arch::x86_64::*;
    // Written in place, then exposed: filling the vector first (`resize`) would be a
    // `memset` call per message for bytes the loop overwrites anyway.
    cls.clear();
    cls.reserve(body.len() + 2);
    let splat = |x: u8| _mm512_set1_epi8(x as i8);
    let mut invalid_any: __mmask64 = 0;
    // SAFETY: `body.len() + 2` bytes are reserved: the padding at 0 and `body.len() + 1`,
    // the classes in between.
    let base = cls.as_mut_ptr();
    base.write(SPACE_CLASS);
    base.add(body.len() + 1).write(SPACE_CLASS);
    let dst = base.add(1);
    let mut at = 0;
    while at < body.len() {
        let live = body.len() - at;
        let m: __mmask64 = if live >= 64 { !0 } else { (1u64 << live) - 1 };
        // SAFETY: the masked load reads bytes `at .. at + min(live, 64)` of `body`, and
        // the masked store writes the same range of `cls[1 ..= body.len()]`.
        let v = _mm512_maskz_loadu_epi8(m, body.as_ptr().add(at).cast());
        let upper = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, splat(b'A')), splat(25));
        let l = _mm512_mask_add_epi8(v, upper, v, splat(0x20));
        let above_z = _mm512_cmpgt_epu8_mask(l, splat(b'Z'));
        let c = _mm512_sub_epi8(l, splat(0x20));
        let c = _mm512_mask_sub_epi8(c, above_z, c, splat(26));
        // Printable means 0x20 <= v <= 0x7e; anything else has no class.
        let printable =
            _mm512_cmpge_epu8_mask(v, splat(0x20)) & _mm512_cmple_epu8_mask(v, splat(0x7e));
        let invalid = !printable & m;
        invalid_any |= invalid;
        let out = _mm512_mask_mov_epi8(c, invalid, splat(0xFF));
        _mm512_mask_storeu_epi8(dst.add(at).cast(), m, out);
        at += 64;
    }
    // SAFETY: every byte up to `body.len() + 2` was written above.
    cls.set_len(body.len() + 2);
    invalid_any == 0
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

/// Add every trigram whose byte classes are `cls` to `counts`; `gram(j)` gives the bytes
/// of gram `j` (needed only for a gram with a classless byte, which is hashed). With
/// `all_classed`, every class is below [`CLASSES`] and the loop needs no per-gram check.
#[inline]
fn count_ascii_grams(
    gram: impl Fn(usize) -> [u8; 3],
    cls: &[u8],
    all_classed: bool,
    counts: &mut Counts,
) {
    let table = trigram_codes();
    if all_classed {
        #[cfg(target_arch = "x86_64")]
        if trace_sentinel_kernels::cpu::avx512() {
            // SAFETY: the features the kernel enables were checked at run time; every
            // class is below CLASSES (`all_classed`).
            unsafe { count_classed_avx512(cls, counts) };
            return;
        }
        count_classed_portable(cls, &mut counts[0]);
        return;
    }
    for (j, c) in cls.windows(3).enumerate() {
        // A gram with a classless byte has no table entry: it is hashed.
        let code = if c.iter().all(|&x| usize::from(x) < CLASSES) {
            let key =
                (usize::from(c[0]) * CLASSES + usize::from(c[1])) * CLASSES + usize::from(c[2]);
            table[key]
        } else {
            gram_code(&gram(j))
        };
        bump(&mut counts[0], code);
    }
}

/// The classed loop of [`count_ascii_grams`]: every class in `cls` is below [`CLASSES`].
#[inline]
fn count_classed_portable(cls: &[u8], counts: &mut [i16; DIM]) {
    let table = trigram_codes();
    let Some(&[c0, c1]) = cls.get(..2) else {
        return;
    };
    // The pair part of the key, `c0 · CLASSES² + c1 · CLASSES`, rolls forward with one
    // multiply; only the previous class is carried, so no chain builds up.
    let (c0, mut c1) = (usize::from(c0), usize::from(c1));
    let mut pair = c0 * CLASSES * CLASSES + c1 * CLASSES;
    for &c in &cls[2..] {
        let c2 = usize::from(c);
        let key = pair + c2;
        pair = c1 * CLASSES * CLASSES + c2 * CLASSES;
        c1 = c2;
        // Every class is below CLASSES, so `key < CLASSES³ < table.len()`; should a
        // caller break that promise, the lookup fails safe.
        if let Some(&code) = table.get(key) {
            bump(counts, code);
        }
    }
}

/// The classed loop of [`count_ascii_grams`] in AVX-512: sixteen keys at a time from
/// three shifted loads of the classes, their codes gathered from the table, then counted
/// alternately into the two histograms of `counts`.
///
/// # Safety
/// The CPU must have AVX-512 F, BW and VL, and every class in `cls` must be below
/// [`CLASSES`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn count_classed_avx512(cls: &[u8], counts: &mut Counts) {
    use std::arch::x86_64::*;
    let table = trigram_codes();
    let grams = cls.len().saturating_sub(2);
    // Lane: c0 in the low half, c1 in the high half; one multiply-add of the halves
    // gives c0 · CLASSES² + c1 · CLASSES.
    let weights = _mm512_set1_epi32(((CLASSES as i32) << 16) | (CLASSES * CLASSES) as i32);
    // Gather a window of codes first, then count them: counting right behind each
    // gather would wait for it (and for the store of its codes) sixteen grams at a time.
    const WINDOW: usize = 512;
    // Left uninitialised (zeroing 1 KiB per line is measurable): only written codes are read.
    let mut codes = [std::mem::MaybeUninit::<u16>::uninit(); WINDOW];
    let mut start = 0;
    while start < grams {
        let end = (start + WINDOW).min(grams);
        let mut j = start;
        while j < end {
            let live = (end - j).min(16);
            let m: __mmask16 = if live == 16 { 0xffff } else { (1 << live) - 1 };
            // SAFETY: the masked loads read bytes `j .. j + live + 2 <= cls.len()` only.
            let at = cls.as_ptr().add(j).cast::<i8>();
            let c0 = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, at));
            let c1 = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, at.add(1)));
            let c2 = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, at.add(2)));
            let pair = _mm512_madd_epi16(_mm512_or_si512(c0, _mm512_slli_epi32::<16>(c1)), weights);
            let key = _mm512_add_epi32(pair, c2);
            // SAFETY: each live lane reads 4 bytes at `2 · key` with `key < CLASSES³`,
            // inside the table's `2 · CLASSES³ + 2` bytes; masked-off lanes read nothing.
            let got = _mm512_mask_i32gather_epi32::<2>(
                _mm512_setzero_si512(),
                m,
                key,
                table.as_ptr().cast(),
            );
            // SAFETY: `j - start + 16 <= WINDOW` since `j < end <= start + WINDOW` and
            // WINDOW is a multiple of 16.
            _mm256_storeu_si256(
                codes.as_mut_ptr().add(j - start).cast(),
                _mm512_cvtepi32_epi16(got),
            );
            j += 16;
        }
        let [even, odd] = counts;
        // SAFETY (`assume_init`): the stores above wrote entries `0 .. end - start`
        // (rounded up to 16).
        let mut pairs = codes[..end - start].chunks_exact(2);
        for pair in &mut pairs {
            bump(even, pair[0].assume_init());
            bump(odd, pair[1].assume_init());
        }
        if let [last] = pairs.remainder() {
            bump(even, last.assume_init());
        }
        start = end;
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

/// Which of the [`DIM`] buckets a vector touches: bit `b % 32` of word `b / 32` is set
/// when bucket `b` has an entry. With the entries' values in bucket order, this is the
/// whole vector.
pub type BucketMask = [u32; DIM / 32];

/// The mask of strictly increasing bucket indices, or `None` when `idx` is not strictly
/// increasing (then the vector has no mask form).
pub fn bucket_mask(idx: &[u8]) -> Option<BucketMask> {
    let mut mask = [0u32; DIM / 32];
    let mut prev: Option<u8> = None;
    for &b in idx {
        if prev.is_some_and(|p| p >= b) {
            return None;
        }
        prev = Some(b);
        mask[usize::from(b) / 32] |= 1 << (b % 32);
    }
    Some(mask)
}

/// The set buckets of `mask`, increasing.
fn mask_buckets(mask: &BucketMask) -> impl Iterator<Item = usize> + '_ {
    mask.iter().enumerate().flat_map(|(w, &word)| {
        let mut m = word;
        std::iter::from_fn(move || {
            (m != 0).then(|| {
                let b = w * 32 + m.trailing_zeros() as usize;
                m &= m - 1;
                b
            })
        })
    })
}

/// A vector as the ASCII chunk path ships it: which buckets it touches, their counts in
/// bucket order, and its norm; the values are `cnt / norm` (see [`values_from_counts`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CountsRef<'a> {
    /// Touched buckets.
    pub mask: &'a BucketMask,
    /// Counts of the touched buckets, in bucket order.
    pub cnt: &'a [i16],
    /// L2 norm of the counts.
    pub norm: f64,
}

/// Decayed-centroid novelty detector (one per shard when `--semantic`).
///
/// The centroid is always updated exactly as the reference does (every entry, every
/// message; only entries below ~1e-307, which no output can tell from zero, are flushed,
/// see [`fold`]). Each message takes one fused pass over the 256 entries that reads the
/// old centroid and writes the updated one into a second buffer, summing on the way the
/// dot product of the decayed message (`decay · x`, which the update adds anyway) with
/// the old centroid. The squared norm of the new centroid (which the next message divides
/// by) is carried forward from that dot product ([`tracked_sumsq`]) and summed afresh by
/// every [`TEND_EVERY`]-th pass. The novelty of a message has two paths:
/// * exact — the reference's arithmetic bit for bit (a 256-term norm in index order and
///   one division per non-zero entry), from the old buffer;
/// * fast — `1 - dot / (decay · √sumsq)` from the pass's dot product and the carried
///   squared norm, in a fixed order of their own (fused multiply-adds).
///
/// The fast path is used only where its ~1e-14 relative difference cannot reach the
/// output: never while the novelty baseline is degenerate (std < 1e-6, where rounding
/// noise dominates scores), and any message whose fast score comes within 1e-9 (relative)
/// plus 1e-12 (absolute) of the alerting threshold is recomputed exactly (so every
/// reported anomaly is exact). The fast sums are computed the same way on every CPU, so
/// results depend neither on the thread count nor on the machine; snapshots save the
/// carried squared norm, so a restored detector continues exactly like an uninterrupted
/// run.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(from = "SavedSemantic")]
pub struct SemanticDetector {
    /// Messages needed before scores count.
    pub warmup: u64,
    /// Messages seen (the first one only seeds the centroid).
    pub n: u64,
    /// Decayed centroid (empty until the first message). Replace it as a whole rather
    /// than editing entries in place between scores: its squared norm is cached per
    /// buffer.
    pub centroid: Vec<f64>,
    /// Running stats of novelty values.
    pub novelty: RunningStats,
    /// Scratch and derived state, never compared (the carried squared norm is saved).
    work: FoldScratch,
}

impl Clone for SemanticDetector {
    fn clone(&self) -> Self {
        let mut copy = SemanticDetector {
            warmup: self.warmup,
            n: self.n,
            centroid: self.centroid.clone(),
            novelty: self.novelty.clone(),
            work: FoldScratch::default(),
        };
        // The carried squared norm belongs to the centroid's values, now in a new buffer.
        copy.work.sumsq = self
            .carried_sumsq()
            .map(|s| (copy.centroid.as_ptr() as usize, s));
        copy
    }
}

/// A [`SemanticDetector`] as snapshots store it: its public fields plus the carried
/// squared norm of the centroid (absent in snapshots of older builds, and whenever it is
/// not known; then it is summed afresh).
#[derive(Serialize, Deserialize)]
struct SavedSemantic<C = Vec<f64>, S = RunningStats> {
    warmup: u64,
    n: u64,
    centroid: C,
    novelty: S,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    centroid_sumsq: Option<f64>,
}

impl Serialize for SemanticDetector {
    fn serialize<Z: serde::Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        SavedSemantic {
            warmup: self.warmup,
            n: self.n,
            centroid: &self.centroid,
            novelty: &self.novelty,
            centroid_sumsq: self.carried_sumsq().filter(|s| s.is_finite()),
        }
        .serialize(serializer)
    }
}

impl From<SavedSemantic> for SemanticDetector {
    fn from(saved: SavedSemantic) -> Self {
        let mut det = SemanticDetector {
            warmup: saved.warmup,
            n: saved.n,
            centroid: saved.centroid,
            novelty: saved.novelty,
            work: FoldScratch::default(),
        };
        // Trusted only if it is what the centroid's entries give, to within the drift a
        // carried sum can have: anything else (an edited or hostile snapshot) is replaced
        // by the fresh sum.
        if let Some(saved_sumsq) = saved.centroid_sumsq {
            let fresh = fold_sumsq(&det.centroid);
            if (saved_sumsq - fresh).abs() <= 1e-12 * fresh {
                det.work.sumsq = Some((det.centroid.as_ptr() as usize, saved_sumsq));
            }
        }
        det
    }
}

/// The second centroid buffer, the carried squared norm of the current centroid (tagged
/// with the address of the buffer it belongs to: a centroid replaced from outside, e.g.
/// by a snapshot merge, has another address and gets its norm summed afresh) and the
/// message's values: decayed for the fused pass, plain for the exact path.
#[derive(Debug, Default)]
struct FoldScratch {
    spare: Vec<f64>,
    sumsq: Option<(usize, f64)>,
    decayed: Vec<f64>,
    exact: Vec<f64>,
}

impl PartialEq for FoldScratch {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Below this novelty std the exact path is always used.
const DEGENERATE_STD: f64 = 1e-6;
/// Relative margin around the threshold inside which scores are recomputed exactly.
const EXACT_MARGIN: f64 = 1e-9;
/// Absolute novelty margin added to [`EXACT_MARGIN`]: a bound, with a wide berth, on how
/// far the fast novelty can be from the exact one (its carried sum of squares drifts by
/// ~1e-14 relative at most between two tending passes, see [`TEND_EVERY`]).
const EXACT_SLACK: f64 = 1e-12;

impl SemanticDetector {
    /// A fresh detector.
    pub fn new(warmup: u64) -> Self {
        SemanticDetector {
            warmup,
            n: 0,
            centroid: Vec::new(),
            novelty: RunningStats::default(),
            work: FoldScratch::default(),
        }
    }

    /// Whether enough messages were seen for scores to count.
    #[inline]
    pub fn ready(&self) -> bool {
        self.n >= self.warmup
    }

    /// The carried squared norm of the centroid, when it is known for the current buffer.
    fn carried_sumsq(&self) -> Option<f64> {
        match self.work.sumsq {
            Some((buf, s))
                if buf == self.centroid.as_ptr() as usize && !self.centroid.is_empty() =>
            {
                Some(s)
            }
            _ => None,
        }
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
        let n = vec.idx.len().min(vec.val.len());
        if let Some(mask) = bucket_mask(&vec.idx[..n]) {
            return self.score_masked(&mask, Message::Values(&vec.val[..n]), threshold);
        }
        // Not in bucket order (only a hand-built vector): sort it, summing repeats.
        let mut dense = [0.0f64; DIM];
        let mut mask = [0u32; DIM / 32];
        for (i, x) in vec.idx.iter().zip(vec.val) {
            dense[usize::from(*i)] += x;
            mask[usize::from(*i) / 32] |= 1 << (i % 32);
        }
        let values: Vec<f64> = mask_buckets(&mask).map(|b| dense[b]).collect();
        self.score_masked(&mask, Message::Values(&values), threshold)
    }

    /// [`Self::score_with_threshold`] for a vector shipped as counts.
    pub fn score_counts(&mut self, vec: CountsRef<'_>, threshold: f64) -> f64 {
        self.score_masked(vec.mask, Message::Counts(vec.cnt, vec.norm), threshold)
    }

    /// Score-then-update for the vector whose touched buckets are `mask` and whose
    /// values, in bucket order, `msg` gives.
    fn score_masked(&mut self, mask: &BucketMask, msg: Message<'_>, threshold: f64) -> f64 {
        let touched = touched_buckets(mask);
        debug_assert_eq!(touched, msg.len());
        if touched > msg.len() {
            // Unreachable from this module's callers; a vector without a value for every
            // touched bucket is ignored rather than read out of bounds.
            return 0.0;
        }
        if self.centroid.len() != DIM {
            let mut val = std::mem::take(&mut self.work.exact);
            msg.values(&mut val);
            self.centroid = vec![0.0; DIM];
            for (b, x) in mask_buckets(mask).zip(&val) {
                self.centroid[b] = *x;
            }
            self.work.exact = val;
            // The new buffer may sit where an old one was: forget its norm by value.
            self.work.sumsq = None;
            self.n = 1;
            return 0.0;
        }
        let ready = self.ready();
        let (mean, std) = (self.novelty.mean, self.novelty.std());
        let fast_ok = threshold > 0.0 && self.novelty.n >= 2 && std >= DEGENERATE_STD;
        let sumsq = self
            .carried_sumsq()
            .unwrap_or_else(|| fold_sumsq(&self.centroid));
        let mut next = std::mem::take(&mut self.work.spare);
        next.resize(DIM, 0.0);
        let mut decayed = std::mem::take(&mut self.work.decayed);
        msg.decayed_values(&mut decayed);
        let tend = self.n.is_multiple_of(TEND_EVERY);
        let sums = if tend {
            fold::<true>(&self.centroid, &mut next, mask, &decayed)
        } else {
            fold::<false>(&self.centroid, &mut next, mask, &decayed)
        };
        self.work.decayed = decayed;
        let next_sumsq = if tend {
            sums.sumsq
        } else {
            tracked_sumsq(sumsq, sums.dot, sums.dx_sumsq).unwrap_or_else(|| fold_sumsq(&next))
        };
        let mut novelty = None;
        if fast_ok {
            // The pass summed `decay · x` against the centroid.
            let norm = sumsq.sqrt();
            let approx = 1.0 - sums.dot / if norm == 0.0 { DECAY } else { DECAY * norm };
            // Compared without dividing: the margin dwarfs the product's rounding.
            let near = ready
                && std != 0.0
                && (approx - mean).abs() >= threshold * (1.0 - EXACT_MARGIN) * std - EXACT_SLACK;
            if !near {
                novelty = Some(approx);
            }
        }
        let novelty = novelty.unwrap_or_else(|| {
            let mut val = std::mem::take(&mut self.work.exact);
            msg.values(&mut val);
            let novelty = exact_novelty(&self.centroid, mask, &val);
            self.work.exact = val;
            novelty
        });
        self.work.spare = std::mem::replace(&mut self.centroid, next);
        self.work.sumsq = Some((self.centroid.as_ptr() as usize, next_sumsq));
        self.novelty.update(novelty);
        self.n += 1;
        if !ready || std == 0.0 {
            return 0.0;
        }
        (novelty - mean) / std
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
        self.work.sumsq = None;
        let ready = self.ready();
        let (mean, std) = (self.novelty.mean, self.novelty.std());
        self.novelty.update(1.0 - dot);
        self.n += 1;
        if !ready || std == 0.0 {
            return 0.0;
        }
        (1.0 - dot - mean) / std
    }
}

/// The reference's novelty, bit for bit: `1 - Σ x · (c / ‖c‖)` with the norm summed over
/// all 256 dimensions in index order. Zero entries of `x` only add `±0.0` to a sum that
/// starts at `+0.0`, so only the touched buckets are visited.
fn exact_novelty(c: &[f64], mask: &BucketMask, val: &[f64]) -> f64 {
    let norm = sum_of_squares(c).sqrt();
    let mut dot = 0.0;
    for (b, x) in mask_buckets(mask).zip(val) {
        dot += x * if norm == 0.0 { c[b] } else { c[b] / norm };
    }
    1.0 - dot
}

/// How many buckets `mask` touches.
#[inline]
fn touched_buckets(mask: &BucketMask) -> usize {
    #[target_feature(enable = "popcnt")]
    #[cfg(target_arch = "x86_64")]
    unsafe fn with_popcnt(mask: &BucketMask) -> usize {
        mask.iter().map(|w| w.count_ones() as usize).sum()
    }
    #[cfg(target_arch = "x86_64")]
    if trace_sentinel_kernels::cpu::avx512() {
        // SAFETY: `cpu::avx512` checks POPCNT too (the baseline build counts bits by hand).
        return unsafe { with_popcnt(mask) };
    }
    mask.iter().map(|w| w.count_ones() as usize).sum()
}

/// A message's values in bucket order: given, or as counts and their norm.
#[derive(Debug, Clone, Copy)]
enum Message<'a> {
    Values(&'a [f64]),
    Counts(&'a [i16], f64),
}

impl Message<'_> {
    fn len(&self) -> usize {
        match self {
            Message::Values(v) => v.len(),
            Message::Counts(c, _) => c.len(),
        }
    }

    /// Replace `out` with the values.
    fn values(&self, out: &mut Vec<f64>) {
        out.clear();
        match *self {
            Message::Values(v) => out.extend_from_slice(v),
            Message::Counts(c, norm) => {
                scaled_values_from_counts(c, norm, None, out);
            }
        }
    }

    /// Replace `out` with the decayed values `decay · x`.
    fn decayed_values(&self, out: &mut Vec<f64>) {
        out.clear();
        match *self {
            Message::Values(v) => out.extend(v.iter().map(|x| DECAY * x)),
            Message::Counts(c, norm) => scaled_values_from_counts(c, norm, Some(DECAY), out),
        }
    }
}

/// Every this many messages the fused pass *tends* the centroid: it flushes entries too
/// small to matter and sums the new entries' squares itself. In between, passes only
/// decay and add, and the sum of squares is carried forward ([`tracked_sumsq`]).
const TEND_EVERY: u64 = 64;

/// `Σ next²` from `Σ old²` without visiting the entries: with `next = keep · old + dx`,
/// `Σ next² = keep² Σ old² + 2 keep Σ dx · old + Σ dx²`, the middle sum being the pass's
/// dot product. `None` when the terms cancel too much to trust the result (a centroid
/// shrinking to almost nothing), where the caller sums the entries instead.
#[inline]
fn tracked_sumsq(sumsq: f64, dot: f64, dx_sumsq: f64) -> Option<f64> {
    let keep = 1.0 - DECAY;
    // Plain products and sums (no `mul_add`, a library call on CPUs without FMA).
    let grown = keep * keep * sumsq + dx_sumsq;
    let s = grown + 2.0 * keep * dot;
    (s >= 0.25 * grown).then_some(s)
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

/// What one fused pass sums: the dot product of the decayed message (`decay · x`) with
/// the old centroid, and either the squared norm of the new centroid (a tending pass) or
/// that of the decayed message (a plain one, for [`tracked_sumsq`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct FoldSums {
    dot: f64,
    sumsq: f64,
    dx_sumsq: f64,
}

/// Partial sums of a fused pass: entry `j` of the centroid lands in partial `j % 32`
/// (four 8-lane accumulators, blocks of eight taken in turn).
type Partials = [f64; 32];

/// The fixed reduction of [`Partials`]: the four accumulators added pairwise, then the
/// eight lanes as halves, then quarters, then the last pair. Every kernel uses exactly
/// this order.
#[inline]
fn reduce_partials(p: &Partials) -> f64 {
    let mut lane = [0.0f64; 8];
    for (l, out) in lane.iter_mut().enumerate() {
        *out = (p[l] + p[8 + l]) + (p[16 + l] + p[24 + l]);
    }
    let half: [f64; 4] = std::array::from_fn(|i| lane[i] + lane[i + 4]);
    (half[0] + half[2]) + (half[1] + half[3])
}

/// Σ c² in the fused pass's order: what a pass that produced `c` reports as `sumsq`.
fn fold_sumsq(c: &[f64]) -> f64 {
    let mut p = [0.0f64; 32];
    for (j, x) in c.iter().enumerate() {
        p[j % 32] = x.mul_add(*x, p[j % 32]);
    }
    reduce_partials(&p)
}

/// Smallest magnitude a tending pass keeps (2^-1020, four times the smallest normal
/// number): whatever is kept stays normal through the [`TEND_EVERY`] − 1 plain passes
/// that follow (0.99^63 ≈ 0.53).
const KEEP_AT_LEAST: f64 = 4.0 * f64::MIN_POSITIVE;

/// Whether a tending pass keeps the rounded product `keep · c` (see [`fold`]).
#[inline(always)]
fn is_kept(s: f64) -> bool {
    s.abs() >= KEEP_AT_LEAST
}

/// One fused pass: `next = (1 - decay) · old + decay · x` entry by entry with the
/// reference's two roundings, where `decay · x` (rounded, as the reference computes it)
/// holds `dval` at the buckets of `mask` and 0 elsewhere; returns `Σ (decay · x) · old`
/// summed in the [`Partials`] order with fused multiply-adds, so every kernel agrees bit
/// for bit. A *tending* pass (`TEND`, every [`TEND_EVERY`]-th message) also returns
/// `Σ next²` in that order and flushes tiny entries; the others return `Σ (decay · x)²`
/// in that order instead (the carried norm's term, [`tracked_sumsq`]). Either leaves
/// the other sum at 0.
///
/// The flush: in a tending pass, a rounded product `(1 - decay) · c` below
/// [`KEEP_AT_LEAST`] (2^-1020) in magnitude is replaced by `+0.0` before the add. A
/// bucket that no message hits decays by 0.99 per message and, after about 70,000
/// messages, would turn subnormal, where the reference keeps it forever (0.99 × the
/// smallest subnormal rounds back to itself) and every further multiplication costs the
/// CPU a microcode assist — about 100× slower, enough to make a log of repetitive short
/// lines crawl. Flushing at 2^-1020 every 64 messages keeps every entry normal in the
/// plain passes between (0.99^63 > 1/2), so they need no test at all. No output can
/// tell: such an entry adds at most ~1e-307 to a dot product whose other terms (products
/// of L2-normalised hashed vectors) are either exactly 0 or at least ~1e-6, squares to 0
/// in the norm, and vanishes when the bucket is next hit (`keep · tiny + decay · x ==
/// decay · x`). The test `subnormal_flush_matches_reference_arithmetic` checks scores
/// bit for bit against the literal arithmetic.
///
/// `dval` must hold at least one value per set bit of `mask` (callers check).
#[inline]
fn fold<const TEND: bool>(
    old: &[f64],
    next: &mut [f64],
    mask: &BucketMask,
    dval: &[f64],
) -> FoldSums {
    let (Ok(old), Ok(next)) = (
        <&[f64; DIM]>::try_from(old),
        <&mut [f64; DIM]>::try_from(next),
    ) else {
        unreachable!("centroid buffers hold DIM entries");
    };
    #[cfg(target_arch = "x86_64")]
    if trace_sentinel_kernels::cpu::avx512() {
        // SAFETY: AVX-512F and POPCNT were checked at run time; `dval` holds a value per
        // set bit of `mask` (the precondition), which is all the expanding loads read.
        return unsafe { fold_avx512::<TEND>(old, next, mask, dval) };
    }
    #[cfg(target_arch = "x86_64")]
    if trace_sentinel_kernels::cpu::avx2_fma() {
        // SAFETY: AVX2 and FMA were checked at run time.
        return unsafe { fold_fma::<TEND>(old, next, mask, dval) };
    }
    fold_portable::<TEND>(old, next, mask, dval)
}

/// [`fold_portable`] compiled for AVX2 and FMA (x86-64 CPUs without AVX-512): `mul_add`
/// is one instruction (the baseline build would call the C library's `fma`) and the
/// rows vectorise four lanes wide.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fold_fma<const TEND: bool>(
    old: &[f64; DIM],
    next: &mut [f64; DIM],
    mask: &BucketMask,
    dval: &[f64],
) -> FoldSums {
    fold_portable::<TEND>(old, next, mask, dval)
}

/// [`fold`] without vector intrinsics. `mul_add` is one instruction wherever the target
/// has FMA (aarch64, x86-64-v3 builds) and a correctly rounded library call elsewhere.
#[inline(always)]
fn fold_portable<const TEND: bool>(
    old: &[f64; DIM],
    next: &mut [f64; DIM],
    mask: &BucketMask,
    dval: &[f64],
) -> FoldSums {
    // Branch-free over a dense copy of the message (the mask bits are as good as random,
    // and a mispredicted branch per touched bucket costs more than the whole pass), in
    // 32-entry rows whose lanes are the 32 partial sums (so it vectorises).
    let mut dense = [0.0f64; DIM];
    for (b, v) in mask_buckets(mask).zip(dval) {
        dense[b] = *v;
    }
    let keep = 1.0 - DECAY;
    let mut dot = [0.0f64; 32];
    let mut sumsq = [0.0f64; 32];
    let mut dx_sumsq = [0.0f64; 32];
    let rows = old
        .chunks_exact(32)
        .zip(next.chunks_exact_mut(32))
        .zip(dense.chunks_exact(32));
    for ((c_row, n_row), d_row) in rows {
        for l in 0..32 {
            let (c, dx) = (c_row[l], d_row[l]);
            dot[l] = dx.mul_add(c, dot[l]);
            let s = keep * c;
            let n = if !TEND || is_kept(s) { s + dx } else { dx };
            n_row[l] = n;
            if TEND {
                sumsq[l] = n.mul_add(n, sumsq[l]);
            } else {
                dx_sumsq[l] = dx.mul_add(dx, dx_sumsq[l]);
            }
        }
    }
    FoldSums {
        dot: reduce_partials(&dot),
        sumsq: reduce_partials(&sumsq),
        dx_sumsq: reduce_partials(&dx_sumsq),
    }
}

/// [`fold_portable`] in AVX-512: per block of eight entries, the message's decayed values
/// are expanded from `dval` into the lanes the mask byte selects (no gathers, no
/// scatters). A plain pass is then a multiply, an add and two fused multiply-adds per
/// block; a tending pass adds the flush (a compare feeding a masked add).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,popcnt")]
unsafe fn fold_avx512<const TEND: bool>(
    old: &[f64; DIM],
    next: &mut [f64; DIM],
    mask: &BucketMask,
    dval: &[f64],
) -> FoldSums {
    use std::arch::x86_64::*;
    let keep = _mm512_set1_pd(1.0 - DECAY);
    let keep_at_least = _mm512_set1_pd(KEEP_AT_LEAST);
    let zero = _mm512_setzero_pd();
    let (mut dot0, mut dot1, mut dot2, mut dot3) = (zero, zero, zero, zero);
    let (mut sq0, mut sq1, mut sq2, mut sq3) = (zero, zero, zero, zero);
    let mut p = 0usize;
    for (w, &word) in mask.iter().enumerate() {
        // One block of eight entries: accumulator pair `r` of the four. A tending pass
        // sums the new entries' squares, a plain one the decayed values'.
        macro_rules! block {
            ($r:expr, $dot:ident, $sq:ident) => {
                let m8 = (word >> (8 * $r)) as u8;
                let at = 8 * (4 * w + $r);
                // SAFETY: the expanding load reads only the `m8.count_ones()` values from
                // `p` on, and `dval` holds one per set bit of the mask (precondition);
                // `at + 8 <= DIM` for both centroid buffers.
                let dx = _mm512_maskz_expandloadu_pd(m8, dval.as_ptr().add(p));
                p += m8.count_ones() as usize;
                let c = _mm512_loadu_pd(old.as_ptr().add(at));
                $dot = _mm512_fmadd_pd(dx, c, $dot);
                let s = _mm512_mul_pd(keep, c);
                let n = if TEND {
                    let kept = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(_mm512_abs_pd(s), keep_at_least);
                    let n = _mm512_mask_add_pd(dx, kept, s, dx);
                    $sq = _mm512_fmadd_pd(n, n, $sq);
                    n
                } else {
                    $sq = _mm512_fmadd_pd(dx, dx, $sq);
                    _mm512_add_pd(s, dx)
                };
                _mm512_storeu_pd(next.as_mut_ptr().add(at), n);
            };
        }
        block!(0, dot0, sq0);
        block!(1, dot1, sq1);
        block!(2, dot2, sq2);
        block!(3, dot3, sq3);
    }
    let partials = |acc: [__m512d; 4]| {
        let mut p = [0.0f64; 32];
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: each store writes 8 lanes into `p[8r..8r + 8]`.
            _mm512_storeu_pd(p.as_mut_ptr().add(8 * r), *a);
        }
        p
    };
    let dot = reduce_partials(&partials([dot0, dot1, dot2, dot3]));
    let squares = reduce_partials(&partials([sq0, sq1, sq2, sq3]));
    FoldSums {
        dot,
        sumsq: if TEND { squares } else { 0.0 },
        dx_sumsq: if TEND { 0.0 } else { squares },
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
        // Printable only: whole lines take the classed kernels (gathers, windows).
        let printable: &[u8] = b"aZ z_9.-=Q[`{~@ ";
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut v = Vectorizer::new();
        let mut out = SparseVec::default();
        let lens = (0..40).chain([63, 64, 65, 200, 513, 514, 515, 1030, 4095, 4096, 4097, 5000]);
        for (alphabet, len) in lens.flat_map(|n| [(ascii, n), (mixed, n), (printable, n)]) {
            for _ in 0..8 {
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        trace_sentinel_testrand::xorshift64(&mut x);
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

    /// Embedding a run of messages with each one's classes computed one message ahead
    /// gives every message the counts, mask and norm it gets alone: through short and
    /// blank bodies (no classes ahead), classless bytes (hashed grams), bodies longer than
    /// a gather window or the character cap, and runs of every length up to a few.
    #[test]
    fn messages_embedded_in_a_run_match_each_alone() {
        let alphabet: &[u8] = b"aZ z_9.-=Q[`{~@ \t\x01\x7f";
        let mut x = 0x51_7cc1_b727_220a_u64;
        let mut messages: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b" ".to_vec(),
            b"x".to_vec(),
            b" \tq \r".to_vec(),
            b"ab".to_vec(),
            b"tab\there".to_vec(),
        ];
        for len in [3, 5, 17, 64, 97, 130, 513, 600, 4097, 5000] {
            for _ in 0..3 {
                messages.push(
                    (0..len)
                        .map(|_| {
                            trace_sentinel_testrand::xorshift64(&mut x);
                            // Mostly printable, so most bodies take the classed kernels.
                            let k = (x % 64) as usize;
                            alphabet[if k < 60 { k % 16 } else { 16 + k % 3 }]
                        })
                        .collect(),
                );
            }
        }
        let mut alone = Vectorizer::new();
        let mut want_cnt = Vec::new();
        let mut want = Vec::new();
        for m in &messages {
            let (mask, norm) = alone.embed_ascii_counts(m, &mut want_cnt);
            want.push((mask, norm.to_bits(), want_cnt.len()));
        }
        let mut run = Vectorizer::new();
        // Runs of 1, 2, 3 and 7 messages (and an empty one), each resuming where the
        // last stopped, and one run of everything.
        for sizes in [
            vec![1usize],
            vec![2],
            vec![3],
            vec![0, 7],
            vec![messages.len()],
        ] {
            let (mut cnt, mut got, mut at) = (Vec::new(), Vec::new(), 0);
            while at < messages.len() {
                for &size in &sizes {
                    let n = size.min(messages.len() - at);
                    let batch = &messages[at..at + n];
                    run.embed_ascii_counts_each(
                        n,
                        |i| &batch[i],
                        &mut cnt,
                        |mask, norm, end| got.push((mask, norm.to_bits(), end)),
                    );
                    at += n;
                }
            }
            assert_eq!(cnt, want_cnt, "runs of {sizes:?}");
            assert_eq!(got, want, "runs of {sizes:?}");
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

    #[test]
    fn code_table_matches_hashing() {
        // Every entry of the build-time table is the code of its trigram.
        let symbols: Vec<u8> = (0x20u8..=0x7e)
            .filter(|b| !b.is_ascii_uppercase())
            .collect();
        assert_eq!(symbols.len(), CLASSES);
        for (c, &b) in symbols.iter().enumerate() {
            assert_eq!(usize::from(CLASS_OF[usize::from(b)]), c);
        }
        let table = trigram_codes();
        assert_eq!(table.len(), CLASSES * CLASSES * CLASSES + 1);
        for (key, &code) in table[..CLASSES * CLASSES * CLASSES].iter().enumerate() {
            let gram = [
                symbols[key / (CLASSES * CLASSES)],
                symbols[key / CLASSES % CLASSES],
                symbols[key % CLASSES],
            ];
            assert_eq!(code, gram_code(&gram), "{:?}", std::str::from_utf8(&gram));
        }
    }

    #[test]
    fn class_map_matches_the_byte_rule() {
        let mut x = 0x6a09_e667_f3bc_c908_u64;
        let mut cls = Vec::new();
        for len in 0..150usize {
            for round in 0..40u32 {
                let body: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = trace_sentinel_testrand::xorshift64(&mut x);
                        // Mostly printable; now and then a control, DEL or high byte.
                        if round.is_multiple_of(3) && r.is_multiple_of(29) {
                            (r >> 8) as u8
                        } else {
                            0x20 + ((r >> 8) % 95) as u8
                        }
                    })
                    .collect();
                let space = CLASS_OF[usize::from(b' ')];
                let mut want = vec![space];
                want.extend(body.iter().map(|&b| class_of_byte(b).0));
                want.push(space);
                let all_classed = want.iter().all(|&c| usize::from(c) < CLASSES);
                // Every kernel: the dispatched one and the 16-byte one.
                let all = ascii_classes(&body, &mut cls);
                assert_eq!(cls, want, "{body:?}");
                assert_eq!(all, all_classed);
                let all = ascii_classes_16(&body, &mut cls);
                assert_eq!(cls, want, "{body:?}");
                assert_eq!(all, all_classed);
            }
        }
    }

    #[test]
    fn every_trigram_kernel_counts_the_same() {
        let mut x = 0x1d8e_4e27_c47d_124f_u64;
        for len in [3usize, 4, 17, 18, 19, 100, 513, 514, 515, 1030, 4098] {
            for _ in 0..20 {
                let cls: Vec<u8> = (0..len)
                    .map(|_| (trace_sentinel_testrand::xorshift64(&mut x) % CLASSES as u64) as u8)
                    .collect();
                let mut want = [0i16; DIM];
                for w in cls.windows(3) {
                    let key = (usize::from(w[0]) * CLASSES + usize::from(w[1])) * CLASSES
                        + usize::from(w[2]);
                    bump(&mut want, trigram_codes()[key]);
                }
                let mut portable = [0i16; DIM];
                count_classed_portable(&cls, &mut portable);
                assert_eq!(portable, want, "len {len}");
                #[cfg(target_arch = "x86_64")]
                if trace_sentinel_kernels::cpu::avx512() {
                    let mut wide = [[0i16; DIM]; 2];
                    // SAFETY: features checked; every class is below CLASSES.
                    unsafe { count_classed_avx512(&cls, &mut wide) };
                    let [even, odd] = wide;
                    let sum: [i16; DIM] = std::array::from_fn(|b| even[b] + odd[b]);
                    assert_eq!(sum, want, "len {len}");
                    // Grams alternate: the odd histogram holds every second one.
                    let odd_grams: i32 = odd.iter().map(|&c| i32::from(c).abs()).sum();
                    assert!(len < 5 || odd_grams > 0, "len {len}");
                }
            }
        }
    }

    #[test]
    fn fold_kernels_agree_bit_for_bit() {
        // Each kernel, as a tending pass or a plain one.
        fn run(
            kernel: usize,
            tend: bool,
            old: &[f64],
            next: &mut [f64],
            mask: &BucketMask,
            val: &[f64],
        ) -> FoldSums {
            match (kernel, tend) {
                (0, true) => return fold::<true>(old, next, mask, val),
                (0, false) => return fold::<false>(old, next, mask, val),
                _ => {}
            }
            let (old, next) = (old.try_into().unwrap(), next.try_into().unwrap());
            match (kernel, tend) {
                (1, true) => fold_portable::<true>(old, next, mask, val),
                (1, false) => fold_portable::<false>(old, next, mask, val),
                // SAFETY: callers check AVX2 and FMA first.
                (_, true) => unsafe { fold_fma::<true>(old, next, mask, val) },
                (_, false) => unsafe { fold_fma::<false>(old, next, mask, val) },
            }
        }
        #[cfg(target_arch = "x86_64")]
        let kernels = if trace_sentinel_kernels::cpu::avx2_fma() {
            3
        } else {
            2
        };
        #[cfg(not(target_arch = "x86_64"))]
        let kernels = 2;
        let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        let mut x = 0x853c_49e6_748f_ea9b_u64;
        for round in 0..400 {
            let old: Vec<f64> = (0..DIM)
                .map(|j| match trace_sentinel_testrand::xorshift64(&mut x) % 8 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => 3e-308 * ((j % 5) as f64 - 2.0),
                    3 => KEEP_AT_LEAST * (1.0 + (j % 3) as f64 * 0.005),
                    _ => {
                        ((trace_sentinel_testrand::xorshift64(&mut x) % 2001) as f64 - 1000.0) / 1e4
                    }
                })
                .collect();
            let density = round % 9;
            let (mut idx, mut val) = (Vec::new(), Vec::new());
            for b in 0..DIM {
                if trace_sentinel_testrand::xorshift64(&mut x) % 8 < density as u64 {
                    idx.push(b as u8);
                    val.push(
                        ((trace_sentinel_testrand::xorshift64(&mut x) % 2001) as f64 - 1000.0)
                            / 3e3,
                    );
                }
            }
            let mask = bucket_mask(&idx).expect("increasing");
            for tend in [false, true] {
                let mut a = vec![f64::NAN; DIM];
                let sa = run(0, tend, &old, &mut a, &mask, &val);
                for kernel in 1..kernels {
                    let mut b = vec![f64::NAN; DIM];
                    let sb = run(kernel, tend, &old, &mut b, &mask, &val);
                    assert_eq!(bits(&a), bits(&b), "round {round} kernel {kernel}");
                    assert_eq!(
                        sa.dot.to_bits(),
                        sb.dot.to_bits(),
                        "round {round} kernel {kernel}"
                    );
                    assert_eq!(
                        (sa.sumsq.to_bits(), sa.dx_sumsq.to_bits()),
                        (sb.sumsq.to_bits(), sb.dx_sumsq.to_bits()),
                        "round {round} kernel {kernel}"
                    );
                }
                if tend {
                    // The pass's sum of squares is the one a restored detector recomputes.
                    assert_eq!(fold_sumsq(&a).to_bits(), sa.sumsq.to_bits());
                }
                // The literal update, entry by entry (`val` holds the decayed values
                // `decay · x`); a tending pass flushes tiny products.
                let mut dot = [0.0f64; 32];
                let mut dx_sumsq = [0.0f64; 32];
                for j in 0..DIM {
                    let dx = idx
                        .iter()
                        .position(|&i| usize::from(i) == j)
                        .map_or(0.0, |k| val[k]);
                    dot[j % 32] = dx.mul_add(old[j], dot[j % 32]);
                    dx_sumsq[j % 32] = dx.mul_add(dx, dx_sumsq[j % 32]);
                    let s = (1.0 - DECAY) * old[j];
                    let s = if tend && s.abs() < KEEP_AT_LEAST {
                        0.0
                    } else {
                        s
                    };
                    let want = s + dx;
                    assert_eq!(
                        a[j].to_bits(),
                        want.to_bits(),
                        "round {round} entry {j} tend {tend}"
                    );
                }
                assert_eq!(
                    reduce_partials(&dot).to_bits(),
                    sa.dot.to_bits(),
                    "round {round}"
                );
                let want_dx_sumsq = if tend {
                    0.0
                } else {
                    reduce_partials(&dx_sumsq)
                };
                assert_eq!(
                    want_dx_sumsq.to_bits(),
                    sa.dx_sumsq.to_bits(),
                    "round {round}"
                );
            }
        }
    }

    #[test]
    fn counts_values_and_restored_detectors_agree() {
        let mut v = Vectorizer::new();
        let lines: Vec<String> = (0..3000)
            .map(|i| match i % 97 {
                13 => format!("kernel: oom-killer invoked pid={i} score 982"),
                41 => "TRACEBACK (most recent call last): File \"/srv/app.py\"".to_string(),
                _ => format!(
                    "GET /api/v1/items/{} 200 {}ms user=u{}",
                    i * 7 % 500,
                    i % 90,
                    i % 13
                ),
            })
            .collect();
        let mut by_values = SemanticDetector::new(20);
        let mut by_counts = SemanticDetector::new(20);
        let mut restored: Option<SemanticDetector> = None;
        let mut reported = 0;
        for (k, line) in lines.iter().enumerate() {
            let mut sv = SparseVec::default();
            v.embed_ascii(line.as_bytes(), &mut sv);
            let mut cnt = Vec::new();
            let (mask, norm) = v.embed_ascii_counts(line.as_bytes(), &mut cnt);
            let a = by_values.score_with_threshold(sv.view(), 3.0);
            let b = by_counts.score_counts(
                CountsRef {
                    mask: &mask,
                    cnt: &cnt,
                    norm,
                },
                3.0,
            );
            assert_eq!(a.to_bits(), b.to_bits(), "line {k}");
            reported += usize::from(a.abs() >= 3.0);
            if let Some(r) = restored.as_mut() {
                let c = r.score_with_threshold(sv.view(), 3.0);
                assert_eq!(a.to_bits(), c.to_bits(), "restored, line {k}");
            }
            if k == 1000 {
                let json = serde_json::to_string(&by_values).unwrap();
                restored = Some(serde_json::from_str(&json).unwrap());
            }
        }
        assert!(reported > 10, "the odd lines should stand out ({reported})");
        assert_eq!(by_values, by_counts);
    }

    #[test]
    fn carried_norm_follows_the_centroid() {
        // Real messages through the counts path: after every message the carried squared
        // norm is within the drift bound of the fresh sum, and equal to it right after
        // each tending pass.
        let mut v = Vectorizer::new();
        let mut det = SemanticDetector::new(20);
        let mut worst = 0.0f64;
        for i in 0..5000u64 {
            let line = match i % 7 {
                0 => format!(
                    "sshd[{i}]: Accepted publickey for deploy from 10.0.{}.{}",
                    i % 255,
                    i % 7
                ),
                3 => "x".repeat(1 + (i % 300) as usize),
                5 => format!("GET /api/v1/items/{} 200 {}ms", i * 31 % 1000, i % 90),
                _ => format!("kernel: eth{} link up, {} Mbps", i % 4, 10 * (i % 1000)),
            };
            let mut cnt = Vec::new();
            let (mask, norm) = v.embed_ascii_counts(line.as_bytes(), &mut cnt);
            det.score_counts(
                CountsRef {
                    mask: &mask,
                    cnt: &cnt,
                    norm,
                },
                3.0,
            );
            if i == 0 {
                // The first message only seeds the centroid.
                continue;
            }
            let carried = det.carried_sumsq().expect("known after every pass");
            let fresh = fold_sumsq(&det.centroid);
            worst = worst.max((carried - fresh).abs() / fresh);
            if (det.n - 1).is_multiple_of(TEND_EVERY) {
                assert_eq!(carried.to_bits(), fresh.to_bits(), "message {i}");
            }
        }
        assert!(worst > 0.0, "passes in between carry the norm forward");
        assert!(worst < 1e-14, "drift {worst:e}");
    }

    #[test]
    fn carried_norm_survives_a_shrinking_centroid() {
        // Each message points away from the centroid, which shrinks towards zero: the
        // carried sum would cancel; it is summed afresh instead and stays accurate.
        let mut det = SemanticDetector::new(5);
        let idx: Vec<u8> = (0..=u8::MAX).step_by(3).collect();
        let seed: Vec<f64> = idx.iter().map(|&b| 1.0 + f64::from(b % 5)).collect();
        let n = seed.iter().map(|x| x * x).sum::<f64>().sqrt();
        let seed: Vec<f64> = seed.iter().map(|x| x / n).collect();
        det.score_then_update(SparseRef {
            idx: &idx,
            val: &seed,
        });
        for step in 0..300 {
            let c: Vec<f64> = idx.iter().map(|&b| det.centroid[usize::from(b)]).collect();
            let norm = c.iter().map(|x| x * x).sum::<f64>().sqrt();
            let away: Vec<f64> = if norm == 0.0 {
                seed.clone()
            } else {
                c.iter().map(|x| -x / norm).collect()
            };
            let score = det.score_with_threshold(
                SparseRef {
                    idx: &idx,
                    val: &away,
                },
                3.0,
            );
            assert!(score.is_finite(), "step {step}");
            let carried = det.carried_sumsq().expect("known");
            let fresh = fold_sumsq(&det.centroid);
            assert!(
                (carried - fresh).abs() <= 1e-12 * fresh,
                "step {step}: carried {carried:e}, fresh {fresh:e}"
            );
        }
    }

    #[test]
    fn saved_norm_is_restored_only_when_it_fits_the_centroid() {
        let mut v = Vectorizer::new();
        let mut det = SemanticDetector::new(5);
        for i in 0..100 {
            let mut sv = SparseVec::default();
            v.embed(
                &format!("user u{i} logged in from 10.0.0.{}", i % 9),
                &mut sv,
            );
            det.score_with_threshold(sv.view(), 3.0);
        }
        let carried = det.carried_sumsq().unwrap();
        assert_ne!(carried.to_bits(), fold_sumsq(&det.centroid).to_bits());
        let json = serde_json::to_value(&det).unwrap();
        assert_eq!(
            json["centroid_sumsq"].as_f64().unwrap().to_bits(),
            carried.to_bits()
        );
        let load =
            |j: &serde_json::Value| serde_json::from_value::<SemanticDetector>(j.clone()).unwrap();
        assert_eq!(
            load(&json).carried_sumsq().unwrap().to_bits(),
            carried.to_bits()
        );
        assert_eq!(
            det.clone().carried_sumsq().unwrap().to_bits(),
            carried.to_bits()
        );
        // Older snapshots have no saved norm, and a wrong one is not believed: the fresh sum.
        for bad in [
            serde_json::Value::Null,
            (carried * 1.001).into(),
            (-1.0).into(),
        ] {
            let mut j = json.clone();
            match bad {
                serde_json::Value::Null => {
                    j.as_object_mut().unwrap().remove("centroid_sumsq");
                }
                b => j["centroid_sumsq"] = b,
            }
            let d = load(&j);
            assert_eq!(d, det);
            assert_eq!(d.carried_sumsq(), None);
        }
    }

    impl Vectorizer {
        fn embed_counts_for_test(
            &mut self,
            idx: Option<&mut Vec<u8>>,
            cnt: &mut Vec<i16>,
        ) -> (BucketMask, f64) {
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
                    trace_sentinel_testrand::xorshift64(&mut x);
                    if x % 16 < density {
                        *c = ((x >> 8) % 41) as i16 - 20;
                    }
                }
                let mut a = Vectorizer::new();
                // Split between the two histograms (a message's own split is the
                // kernel's business): each bucket's count is the sum.
                let mut split = [[0i16; DIM]; 2];
                for (b, &c) in counts.iter().enumerate() {
                    trace_sentinel_testrand::xorshift64(&mut x);
                    let part = (x % 9) as i16 - 4;
                    split[0][b] = c - part;
                    split[1][b] = part;
                }
                a.counts = split;
                let mut va = SparseVec::default();
                a.finish(&mut va);
                assert_eq!(a.counts, [[0; DIM]; 2]);
                // The portable kernels, and the obvious arithmetic, give the same vector.
                let (mut idx, mut cnt) = (Vec::new(), Vec::new());
                let (mask, norm) = compress_counts_portable(&counts, Some(&mut idx), &mut cnt);
                assert_eq!(Some(mask), bucket_mask(&idx));
                let mut val = Vec::new();
                values_portable(&cnt, norm, None, &mut val);
                assert_eq!(va, SparseVec { idx, val });
                // Decayed values: the fast kernel, the portable one and `decay · (c / norm)`.
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                scaled_values_from_counts(&cnt, norm, Some(DECAY), &mut fast);
                values_portable(&cnt, norm, Some(DECAY), &mut slow);
                let want: Vec<u64> = va.val.iter().map(|v| (DECAY * v).to_bits()).collect();
                assert_eq!(fast.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
                assert_eq!(slow.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
                let sumsq: i64 = counts.iter().map(|&c| i64::from(c) * i64::from(c)).sum();
                let obvious: Vec<f64> = counts
                    .iter()
                    .filter(|&&c| c != 0)
                    .map(|&c| f64::from(c) / (sumsq as f64).sqrt())
                    .collect();
                assert_eq!(va.val, obvious);
                // Appending after existing entries keeps them.
                let (mut idx2, mut cnt2) = (vec![9u8], vec![3i16]);
                a.counts = split;
                let (mask2, norm2) = a.embed_counts_for_test(Some(&mut idx2), &mut cnt2);
                assert_eq!(norm2.to_bits(), norm.to_bits());
                assert_eq!(mask2, mask);
                // Without bucket numbers: the same mask, counts and norm.
                let mut cnt3 = vec![7i16];
                a.counts = [counts, [0; DIM]];
                let (mask3, norm3) = a.embed_counts_for_test(None, &mut cnt3);
                assert_eq!((mask3, norm3.to_bits()), (mask, norm.to_bits()));
                assert_eq!(cnt3[1..], cnt2[1..]);
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
