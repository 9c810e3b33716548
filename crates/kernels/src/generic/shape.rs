//! Byte classes of the template-shape kernel ([`crate::shape`]): which bytes of a
//! 64-byte block are whitespace, ASCII digits and `\w` (ASCII letters, digits, `_`).

/// Class bits of one byte.
pub const SPACE: u8 = 1;
/// An ASCII digit.
pub const DIGIT: u8 = 2;
/// An ASCII letter or `_` (with [`DIGIT`], the `\w` of ASCII).
pub const ALPHA: u8 = 4;
/// `"` or `'`.
pub const QUOTE: u8 = 8;

/// The class of every byte: whitespace is ` `, `\t`, `\n`, `\v`, `\f` and `\r`.
pub static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c == b' ' || (c >= 9 && c <= 13) {
            SPACE
        } else if c.is_ascii_digit() {
            DIGIT
        } else if c.is_ascii_alphabetic() || c == b'_' {
            ALPHA
        } else if c == b'"' || c == b'\'' {
            QUOTE
        } else {
            0
        };
        b += 1;
    }
    t
};

/// Bit `i` of each mask describes byte `i` of a block of up to 64 bytes; positions past
/// the block's end read as whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShapeMasks {
    /// Whitespace bytes (and every position past the end).
    pub space: u64,
    /// ASCII digits.
    pub digit: u64,
    /// `\w` bytes: ASCII letters, digits and `_`.
    pub word: u64,
}

/// The masks of `bytes` (at most 64 of them).
pub fn shape_masks(bytes: &[u8]) -> ShapeMasks {
    debug_assert!(bytes.len() <= 64);
    let mut m = ShapeMasks::default();
    for (i, &b) in bytes.iter().enumerate().take(64) {
        let c = CLASS[b as usize];
        m.space |= u64::from(c == SPACE) << i;
        m.digit |= u64::from(c == DIGIT) << i;
        m.word |= u64::from(c & (ALPHA | DIGIT) != 0) << i;
    }
    if bytes.len() < 64 {
        m.space |= !0u64 << bytes.len();
    }
    m
}
