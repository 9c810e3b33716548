//! The hashing vectorizer: a message → its sparse, L2-normalised trigram vector, or the
//! compacted bucket counts the ASCII chunk path ships instead (see the module above).
//! Text rules (the character cap, `strip`, `lower`) live here; the byte kernels
//! (classes, counting, compaction, values) are `trace_sentinel_kernels::trigram`.

use crate::semantic::vector::{SparseVec, MAX_CHARS};
use ahash::AHashMap;
use trace_sentinel_kernels::trigram::{
    count_grams, gram_code, values_from_counts, BucketMask, Classes, Histograms,
};

/// Bound on the per-vectorizer memo of non-ASCII trigrams (cleared when reached).
const WIDE_MEMO_CAP: usize = 1 << 18;

/// Message → sparse normalised vector, with reusable scratch (one per worker).
#[derive(Debug)]
pub struct Vectorizer {
    lowered: String,
    classes: Classes,
    /// Scratch for the compacted counts of [`Self::finish`].
    compact: Vec<i16>,
    chars: Vec<char>,
    counts: Histograms,
    wide_memo: AHashMap<u64, u16>,
    /// The next message's classes, computed one message ahead by
    /// [`Self::embed_ascii_counts_each`].
    ahead: Classes,
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
            classes: Classes::new(),
            compact: Vec::new(),
            chars: Vec::new(),
            counts: Histograms::new(),
            wide_memo: AHashMap::new(),
            ahead: Classes::new(),
        }
    }

    #[inline]
    fn add(&mut self, code: u16) {
        self.counts.add(code);
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
        self.classes.of_ascii_body(body);
        self.count_classed(body);
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
    /// bucket counts, given its classes in `self.classes`.
    fn count_classed(&mut self, body: &[u8]) {
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
        count_grams(
            |j| [padded(j), padded(j + 1), padded(j + 2)],
            classes,
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
        classes.of_lowered(b);
        count_grams(|j| [b[j], b[j + 1], b[j + 2]], classes, counts);
    }

    /// Turn the bucket counts into the L2-normalised sparse vector (ascending bucket
    /// order, as the reference's dense sums visit them) and reset the counts.
    fn finish(&mut self, out: &mut SparseVec) {
        let mut cnt = std::mem::take(&mut self.compact);
        cnt.clear();
        let (_, norm) = self.take_counts(Some(&mut out.idx), &mut cnt);
        values_from_counts(&cnt, norm, None, &mut out.val);
        self.compact = cnt;
    }

    /// Append the non-zero buckets (ascending) to `idx` (when given) and their counts to
    /// `cnt`, reset the counts, and return the buckets' mask and the vector's L2 norm
    /// (exact: integer sum of squares).
    #[inline]
    fn take_counts(&mut self, idx: Option<&mut Vec<u8>>, cnt: &mut Vec<i16>) -> (BucketMask, f64) {
        self.counts.take(idx, cnt)
    }

    /// Embed an ASCII message as its compacted bucket counts (appended to `cnt`) and
    /// return their mask and norm: the vector is [`CountsRef`](super::CountsRef) `{ mask, cnt, norm }`,
    /// whose values `cnt / norm` ([`values_from_counts`]) are bit for bit those of
    /// [`Self::embed_ascii`]. A third of the bytes of the `f64` form, for the records a
    /// chunk hands from a worker to the detector.
    #[cfg(test)]
    pub(crate) fn embed_ascii_counts(
        &mut self,
        message: &[u8],
        cnt: &mut Vec<i16>,
    ) -> (BucketMask, f64) {
        self.count_ascii(message);
        self.take_counts(None, cnt)
    }

    /// [`Self::embed_ascii_counts`] of the messages `message(0) .. message(n)` in turn:
    /// after each one's counts are appended to `cnt`, `done` gets its mask and norm and
    /// the new length of `cnt`. The same results, sooner: each message's symbol classes
    /// are computed right after the message before it is counted: read right after they
    /// are written, the class bytes (stored 64 at a time) could not be forwarded to the
    /// gathers' narrower loads, which would wait for the stores to reach the cache.
    pub fn embed_ascii_counts_each<'m>(
        &mut self,
        n: usize,
        message: impl Fn(usize) -> &'m [u8],
        cnt: &mut Vec<i16>,
        mut done: impl FnMut(BucketMask, f64, usize),
    ) {
        // A message's stripped body and whether it has classes (a body of two bytes or
        // more), which then sit in `self.ahead`.
        let classify = |v: &mut Vectorizer, m: &'m [u8]| {
            let body = ascii_body(m);
            let classed = body.len() >= 2;
            if classed {
                v.ahead.of_ascii_body(body);
            }
            (body, classed)
        };
        let mut next = (n > 0).then(|| classify(self, message(0)));
        let mut i = 0;
        while let Some((body, classed)) = next {
            if classed {
                std::mem::swap(&mut self.classes, &mut self.ahead);
                self.count_classed(body);
            } else {
                self.count_short(body);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::vector::DIM;
    use trace_sentinel_kernels::trigram::hash_gram;

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

    /// The counts form of a message (mask, counts, norm) gives the values form: the same
    /// buckets, and `count / norm` bit for bit.
    #[test]
    fn counts_form_gives_the_values_form() {
        let mut v = Vectorizer::new();
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let alphabet: &[u8] = b"aZ z_9.-=Q[`{~@ \t\x01";
        for len in [0usize, 1, 2, 3, 10, 100, 700] {
            for _ in 0..20 {
                let m: Vec<u8> = (0..len)
                    .map(|_| {
                        alphabet[(trace_sentinel_testrand::xorshift64(&mut x)
                            % alphabet.len() as u64) as usize]
                    })
                    .collect();
                let mut sv = SparseVec::default();
                v.embed_ascii(&m, &mut sv);
                let mut cnt = vec![5i16];
                let (mask, norm) = v.embed_ascii_counts(&m, &mut cnt);
                let buckets: Vec<u8> = trace_sentinel_kernels::trigram::mask_buckets(&mask)
                    .map(|b| b as u8)
                    .collect();
                assert_eq!(buckets, sv.idx);
                let mut val = Vec::new();
                values_from_counts(&cnt[1..], norm, None, &mut val);
                assert_eq!(
                    val.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
                    sv.val.iter().map(|f| f.to_bits()).collect::<Vec<_>>()
                );
            }
        }
    }
}
