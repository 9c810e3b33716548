//! `\w+` runs in ASCII bytes, one byte at a time.

use crate::words::is_word_byte;

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
