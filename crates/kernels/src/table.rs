//! The trigram kernels' shared data: the 256 hashed buckets and their masks, the 69
//! symbol classes of lowercased printable ASCII, and the code table of every trigram of
//! them (hashed at build time). Every trigram kernel, generic or vectorised, reads these.

use crate::gram::encode;
pub use crate::gram::hash_gram;

/// Buckets of the hashed vector (its dimension).
pub const BUCKETS: usize = 256;

/// Which buckets a vector touches: bit `b % 32` of word `b / 32` is set when bucket `b`
/// has an entry. With the entries' values in bucket order, this is the whole vector.
pub type BucketMask = [u32; BUCKETS / 32];

/// Symbols a lowercased printable-ASCII trigram can hold: space..'@' and '['..'~'
/// (no upper case after lowering). Other bytes (tabs, controls) take the hashed path.
pub const CLASSES: usize = 69;

/// Byte → symbol class (`u8::MAX` when not in the table).
pub(crate) const CLASS_OF: [u8; 256] = {
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

/// The class of the padding space around a message.
pub(crate) const SPACE_CLASS: u8 = CLASS_OF[b' ' as usize];

/// The class of one ASCII byte after lowercasing, with `1` as second value when it has
/// none (its class is then `0xFF`).
#[inline(always)]
pub(crate) fn class_of_byte(b: u8) -> (u8, u8) {
    let upper = b.wrapping_sub(b'A') < 26;
    let l = b | (u8::from(upper) << 5);
    let c = l
        .wrapping_sub(0x20)
        .wrapping_sub(if l > b'Z' { 26 } else { 0 });
    let invalid = !(0x20..=0x7e).contains(&b);
    (if invalid { 0xFF } else { c }, u8::from(invalid))
}

/// Bytes of the trigram code table: one `u16` per key below `CLASSES³`, plus one of
/// padding so a 32-bit load at the last entry stays inside.
pub(crate) const CODE_TABLE_BYTES: usize = (CLASSES * CLASSES * CLASSES + 1) * 2;

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
pub(crate) fn trigram_codes() -> &'static [u16] {
    // SAFETY: the table is 4-byte aligned and holds CODE_TABLE_BYTES bytes, which
    // build.rs wrote as `u16`s in the target's byte order; every bit pattern is a `u16`.
    unsafe { std::slice::from_raw_parts(CODE_TABLE.0.as_ptr().cast::<u16>(), CODE_TABLE_BYTES / 2) }
}

/// The code of one gram (UTF-8 bytes), hashed.
#[inline]
pub fn gram_code(gram: &[u8]) -> u16 {
    let (bucket, positive) = hash_gram(gram, BUCKETS);
    encode(bucket, positive)
}

/// The `(bucket, ±1)` of a code.
#[inline(always)]
fn decode(code: u16) -> (usize, i16) {
    (usize::from(code as u8), (code as i16) >> 8)
}

/// Add one code to bucket counts. A message has at most a few thousand grams, far
/// from overflowing an `i16`.
#[inline(always)]
pub(crate) fn bump(counts: &mut [i16; BUCKETS], code: u16) {
    let (bucket, delta) = decode(code);
    counts[bucket] += delta;
}

/// The mask of strictly increasing bucket indices, or `None` when `idx` is not strictly
/// increasing (then the vector has no mask form).
pub fn bucket_mask(idx: &[u8]) -> Option<BucketMask> {
    let mut mask = [0u32; BUCKETS / 32];
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
#[inline]
pub fn mask_buckets(mask: &BucketMask) -> impl Iterator<Item = usize> + '_ {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_trigram_buckets_from_the_reference() {
        // (gram, bucket, sign) computed with the reference's hashing in Python.
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
        for (gram, bucket, positive) in KNOWN {
            assert_eq!(
                hash_gram(gram.as_bytes(), BUCKETS),
                (*bucket, *positive),
                "{gram:?}"
            );
        }
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
    fn masks_and_buckets() {
        assert_eq!(bucket_mask(&[3, 3]), None);
        assert_eq!(bucket_mask(&[4, 3]), None);
        let mask = bucket_mask(&[0, 31, 32, 255]).unwrap();
        assert_eq!(mask_buckets(&mask).collect::<Vec<_>>(), [0, 31, 32, 255]);
    }
}
