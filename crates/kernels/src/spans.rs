//! Fused split + measure kernel for pure-ASCII plain-text chunks.
//!
//! The hot loop of a plain-text `scan`: one pass over a chunk, 64 bytes at a time, finds
//! the line breaks (`\n` and `\r`, universal newlines as in [`crate::split`]), the starts of
//! `\w+` runs (the token metric) and any non-ASCII byte, as 64-bit masks. Each non-empty
//! line becomes a [`LineSpan`] whose token count is a popcount over the word-start mask
//! between two breaks; for ASCII, the character length is the byte length. A chunk holding
//! any non-ASCII byte is reported as such and takes the general per-line path instead.

pub use crate::generic::spans::LineSpan;

/// Cut `chunk` into its non-empty lines with their token counts, appending to `out`,
/// and return how many bytes of `chunk` that took: all of it, or — once `out` holds more
/// than `max_lines` spans at the end of a 64-byte block — the lines up to the last line
/// break seen (at most `max_lines + 64` spans; the rest starts a line). Returns `None`
/// (with `out` in an unspecified state) when the chunk holds a non-ASCII byte or is too
/// large for 32-bit offsets; the caller then uses the general path.
#[inline]
pub fn ascii_line_spans(chunk: &[u8], out: &mut Vec<LineSpan>, max_lines: usize) -> Option<usize> {
    crate::dispatch::ascii_line_spans(chunk, out, max_lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::Lines;
    use crate::words::count_ascii_words;

    fn reference(chunk: &[u8]) -> Vec<(Vec<u8>, u32)> {
        Lines::new(chunk)
            .map(|l| (l.to_vec(), count_ascii_words(l) as u32))
            .collect()
    }

    fn spans(chunk: &[u8]) -> Option<Vec<(Vec<u8>, u32)>> {
        let mut out = Vec::new();
        ascii_line_spans(chunk, &mut out, usize::MAX)?;
        Some(
            out.iter()
                .map(|s| {
                    let a = s.start as usize;
                    (chunk[a..a + s.len as usize].to_vec(), s.tokens)
                })
                .collect(),
        )
    }

    #[test]
    fn matches_the_line_splitter_and_word_counter() {
        let cases: &[&[u8]] = &[
            b"",
            b"\n",
            b"a",
            b"hello world\nfoo_bar baz-9\r\n\r\nlast line no newline",
            b"\r\r\n\n  \n x \r y",
            b"word",
        ];
        for c in cases {
            assert_eq!(
                spans(c),
                Some(reference(c)),
                "{:?}",
                String::from_utf8_lossy(c)
            );
        }
    }

    #[test]
    fn words_and_lines_across_block_edges() {
        // Deterministic pseudo-random ASCII with breaks and words straddling 64-byte edges.
        let alphabet = b"ab_9 .=\t\n\rZ-";
        let mut x = 0x9e37_79b9_u64;
        for len in [63usize, 64, 65, 127, 128, 129, 1000, 4096 + 7] {
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                trace_sentinel_testrand::xorshift64(&mut x);
                buf.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            assert_eq!(spans(&buf), Some(reference(&buf)), "len {len}");
            // One long word crossing every block edge.
            let long = vec![b'w'; len];
            assert_eq!(spans(&long), Some(reference(&long)), "word len {len}");
        }
    }

    #[test]
    fn non_ascii_anywhere_declines() {
        for at in [0usize, 1, 63, 64, 100, 130] {
            let mut buf = vec![b'a'; 131];
            buf[at] = 0xC3;
            assert_eq!(spans(&buf), None, "at {at}");
        }
    }

    #[test]
    fn every_mask_kernel_gives_the_same_spans() {
        // Random bytes (word characters, separators, CR, LF, sometimes a non-ASCII byte)
        // through the dispatched kernel, against the generic block masks.
        let alphabet = b"aZ_9 .-=\t\r\n\r\nxy";
        let mut x = 0x5851_f42d_4c95_7f2d_u64;
        for len in [0usize, 1, 63, 64, 65, 127, 128, 129, 1000, 4099] {
            for round in 0..20 {
                let buf: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = trace_sentinel_testrand::xorshift64(&mut x);
                        if round % 5 == 4 && r.is_multiple_of(500) {
                            0x80 | (r >> 8) as u8
                        } else {
                            alphabet[(r % alphabet.len() as u64) as usize]
                        }
                    })
                    .collect();
                let mut want = Vec::new();
                let want_ok = crate::generic::spans::line_spans(&buf, &mut want, usize::MAX);
                let mut got = Vec::new();
                let ok = ascii_line_spans(&buf, &mut got, usize::MAX);
                assert_eq!(ok, want_ok, "len {len}");
                if ok.is_some() {
                    assert_eq!(got, want, "len {len}");
                }
                if want_ok.is_some() {
                    assert_eq!(want_ok, Some(len));
                    assert_eq!(spans(&buf), Some(reference(&buf)), "len {len}");
                    // Capped: a prefix ending after a line break, whose spans are the
                    // first ones of the whole chunk; cutting again where it stopped
                    // gives the rest.
                    for max in [0usize, 1, 5, 40] {
                        let (mut all, mut at) = (Vec::new(), 0);
                        while at < len {
                            let mut part = Vec::new();
                            let taken =
                                ascii_line_spans(&buf[at..], &mut part, max).expect("ASCII");
                            assert!(taken > 0 && at + taken <= len, "len {len} max {max}");
                            if at + taken < len {
                                assert!(part.len() > max && part.len() <= max + 64);
                                assert!(matches!(buf[at + taken - 1], b'\n' | b'\r'));
                            }
                            all.extend(part.iter().map(|s| LineSpan {
                                start: s.start + at as u32,
                                ..*s
                            }));
                            at += taken;
                        }
                        assert_eq!(all, want, "len {len} max {max}");
                    }
                }
            }
        }
    }
}
