//! Line-break counting in plain Rust: byte counters in 32 lanes, which compilers
//! vectorise.

/// Whether `b` ends a line (universal newlines).
#[inline]
pub fn is_line_break(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// Number of line-break bytes (`\n` or `\r`) in `buf`.
#[inline(always)]
pub fn count_line_breaks(buf: &[u8]) -> usize {
    const LANES: usize = 32;
    let mut total = 0usize;
    // Byte counters cannot overflow within 255 rounds of LANES bytes.
    for block in buf.chunks(255 * LANES) {
        let mut acc = [0u8; LANES];
        let mut rounds = block.chunks_exact(LANES);
        for round in &mut rounds {
            for (a, &b) in acc.iter_mut().zip(round) {
                *a += u8::from(is_line_break(b));
            }
        }
        total += acc.iter().map(|&a| usize::from(a)).sum::<usize>();
        total += rounds
            .remainder()
            .iter()
            .filter(|&&b| is_line_break(b))
            .count();
    }
    total
}
