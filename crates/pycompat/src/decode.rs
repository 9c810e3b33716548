//! Lossy UTF-8 decoding of one line, identical to Python's `errors="replace"`.
//!
//! Valid input (the overwhelming case) is borrowed after a SIMD validation; invalid input
//! is rebuilt into a caller-owned, reused buffer with one U+FFFD per maximal invalid
//! subpart — the substitution policy both Python and Rust's `Utf8Chunks` follow.

/// Decode `bytes`, borrowing when valid, else writing into `scratch` (cleared first).
#[inline]
pub fn decode_lossy<'a>(bytes: &'a [u8], scratch: &'a mut String) -> &'a str {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => {
            scratch.clear();
            for chunk in bytes.utf8_chunks() {
                scratch.push_str(chunk.valid());
                if !chunk.invalid().is_empty() {
                    scratch.push('\u{FFFD}');
                }
            }
            scratch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_matches_python() {
        // Expected strings produced by Python: b.decode("utf-8", "replace").
        let cases: &[(&[u8], &str)] = &[
            (b"plain", "plain"),
            (b"\xff", "\u{FFFD}"),
            (b"a\xe2\x82b", "a\u{FFFD}b"),
            (b"\xe2\x82", "\u{FFFD}"),
            (b"\xc0\xaf", "\u{FFFD}\u{FFFD}"),
            (b"\xed\xa0\x80", "\u{FFFD}\u{FFFD}\u{FFFD}"),
            (b"\xf0\x9f\x98", "\u{FFFD}"),
            (b"\x80\x80", "\u{FFFD}\u{FFFD}"),
            (b"\xf4\x90\x80\x80", "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
        ];
        let mut scratch = String::new();
        for (input, want) in cases {
            assert_eq!(decode_lossy(input, &mut scratch), *want, "{input:?}");
        }
    }
}
