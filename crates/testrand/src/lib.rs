//! Deterministic pseudo-random numbers for unit tests: the one xorshift64 generator
//! every module's generated test data comes from.

/// Advance `x` by one xorshift64 step (13, 7, 17) and return the new state; a non-zero
/// seed never reaches 0.
pub fn xorshift64(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}
