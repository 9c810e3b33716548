//! `\w+` runs in pure-ASCII bytes: word bytes (`[0-9A-Za-z_]`) whose predecessor is not
//! a word byte, counted 16 bytes at a time.

/// Bit mask (bit i = byte i) of the ASCII word bytes `[0-9A-Za-z_]` in a 16-byte block.
#[cfg(target_arch = "x86_64")]
#[inline]
fn word_mask16(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline; the load is unaligned-safe and reads
    // exactly the 16 bytes of `block`.
    unsafe { _mm_movemask_epi8(word_bytes_sse2(_mm_loadu_si128(block.as_ptr().cast()))) as u32 }
}

/// Lanes of `v` that are ASCII word bytes `[0-9A-Za-z_]` (0xFF) or not (0x00).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn word_bytes_sse2(v: std::arch::x86_64::__m128i) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline; these are register-only operations.
    unsafe {
        let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let alpha_off = _mm_sub_epi8(lower, _mm_set1_epi8(b'a' as i8));
        let alpha = _mm_cmpeq_epi8(_mm_min_epu8(alpha_off, _mm_set1_epi8(25)), alpha_off);
        let digit_off = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
        let digit = _mm_cmpeq_epi8(_mm_min_epu8(digit_off, _mm_set1_epi8(9)), digit_off);
        let under = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8));
        _mm_or_si128(_mm_or_si128(alpha, digit), under)
    }
}

/// Portable fallback of [`word_mask16`].
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn word_mask16(block: &[u8; 16]) -> u32 {
    let mut m = 0u32;
    for (i, &b) in block.iter().enumerate() {
        m |= u32::from(is_word_byte(b)) << i;
    }
    m
}

/// Whether `b` is an ASCII word byte `[0-9A-Za-z_]`.
#[inline(always)]
pub fn is_word_byte(b: u8) -> bool {
    (b | 0x20).wrapping_sub(b'a') < 26 || b.wrapping_sub(b'0') < 10 || b == b'_'
}

/// `\w+` runs in pure-ASCII bytes: count word bytes whose predecessor is not a word byte,
/// 16 bytes at a time.
pub fn count_ascii_words(bytes: &[u8]) -> usize {
    let mut count = 0usize;
    let mut carry = 0u32; // 1 when the previous block ended in a word byte
    let mut blocks = bytes.chunks_exact(16);
    for block in &mut blocks {
        let Ok(block) = <&[u8; 16]>::try_from(block) else {
            continue;
        };
        let m = word_mask16(block);
        let starts = m & !((m << 1) | carry);
        count += starts.count_ones() as usize;
        carry = m >> 15;
    }
    let mut prev = carry == 1;
    for &b in blocks.remainder() {
        let w = is_word_byte(b);
        count += usize::from(w & !prev);
        prev = w;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SIMD block path must agree with a byte-at-a-time count for every alignment.
    #[test]
    fn ascii_blocks_match_scalar() {
        let scalar = |b: &[u8]| {
            let (mut n, mut prev) = (0, false);
            for &c in b {
                let w = c.is_ascii_alphanumeric() || c == b'_';
                n += usize::from(w && !prev);
                prev = w;
            }
            n
        };
        let text = b"Nov 27 00:00:01 web-02 app[2025]: request_done method=GET status=200 x__y `{|}~@[\\\\]^ 09:/AZ az";
        for start in 0..text.len() {
            for end in start..=text.len() {
                assert_eq!(
                    count_ascii_words(&text[start..end]),
                    scalar(&text[start..end])
                );
            }
        }
        let all: Vec<u8> = (0u8..128).cycle().take(1000).collect();
        assert_eq!(count_ascii_words(&all), scalar(&all));
    }
}
