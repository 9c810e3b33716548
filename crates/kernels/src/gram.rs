//! The hashed code of one character n-gram: the part of the trigram kernels that
//! `build.rs` shares (it includes this file to tabulate every printable-ASCII trigram),
//! so the table and the run-time hashing cannot drift apart.

/// Hash one n-gram (UTF-8 bytes) to (bucket, sign) exactly like the reference: BLAKE2b
/// with an 8-byte digest; bucket = the first four digest bytes, big-endian, mod `dim`;
/// positive when the low bit of byte 4 is set.
#[inline]
pub fn hash_gram(gram: &[u8], dim: usize) -> (usize, bool) {
    let h = blake2b_simd::Params::new().hash_length(8).hash(gram);
    let d = h.as_bytes();
    let word = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    ((word as usize) % dim, d[4] & 1 == 1)
}

/// Encoded (bucket, sign) for 256 buckets: the low byte is the bucket, the high byte the
/// signed contribution as an `i8` (`+1` or `-1`).
#[inline]
pub fn encode(bucket: usize, positive: bool) -> u16 {
    let delta: u16 = if positive { 0x0100 } else { 0xFF00 };
    delta | (bucket as u16 & 0xff)
}
