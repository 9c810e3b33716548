//! `\w+` runs in ASCII bytes, one byte at a time.

/// Whether `b` is an ASCII word byte `[0-9A-Za-z_]`.
#[inline(always)]
pub fn is_word_byte(b: u8) -> bool {
    (b | 0x20).wrapping_sub(b'a') < 26 || b.wrapping_sub(b'0') < 10 || b == b'_'
}

/// Number of `\w+` runs in `bytes` (ASCII word bytes `[0-9A-Za-z_]`).
#[inline]
pub fn count_ascii_words(bytes: &[u8]) -> usize {
    let (mut count, mut prev) = (0usize, false);
    for &b in bytes {
        let w = is_word_byte(b);
        count += usize::from(w & !prev);
        prev = w;
    }
    count
}
