//! Run-time CPU feature checks for the hand-vectorised kernels, in one place.
//!
//! Each predicate names a level the kernels are written for; a kernel's
//! `#[target_feature]` list must be covered by the predicate its dispatcher checks. What
//! the CPU has is detected once and cached in one word, so a check is a load and a test.
//!
//! Setting the environment variable [`FORCE_GENERIC_ENV`] (to anything but empty or `0`)
//! before the first check makes every predicate false: every kernel then takes its
//! generic implementation, which is how the test suite runs once on the generic path.
//! Off x86-64 every predicate is false.

use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that forces the generic kernels (read once).
pub const FORCE_GENERIC_ENV: &str = "TRACE_SENTINEL_FORCE_GENERIC";

const KNOWN: u8 = 1 << 7;
const FORCED: u8 = 1 << 6;
const SSE2: u8 = 1 << 0;
const POPCNT_BMI1: u8 = 1 << 1;
const AVX2: u8 = 1 << 2;
const AVX2_FMA: u8 = 1 << 3;
const AVX512: u8 = 1 << 4;
const AVX512_VBMI2: u8 = 1 << 5;

static LEVELS: AtomicU8 = AtomicU8::new(0);

#[inline(always)]
fn levels() -> u8 {
    let v = LEVELS.load(Ordering::Relaxed);
    if v & KNOWN != 0 {
        v
    } else {
        detect()
    }
}

#[cold]
#[inline(never)]
fn detect() -> u8 {
    let forced = std::env::var_os(FORCE_GENERIC_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    let v = KNOWN | if forced { FORCED } else { detect_arch() };
    LEVELS.store(v, Ordering::Relaxed);
    v
}

#[cfg(target_arch = "x86_64")]
fn detect_arch() -> u8 {
    use std::arch::is_x86_feature_detected as has;
    let mut v = SSE2;
    if has!("popcnt") && has!("bmi1") {
        v |= POPCNT_BMI1;
    }
    if has!("avx2") {
        v |= AVX2;
        if has!("fma") {
            v |= AVX2_FMA;
        }
    }
    if has!("avx512f") && has!("avx512bw") && has!("avx512vl") && v & POPCNT_BMI1 != 0 {
        v |= AVX512;
        if has!("avx512vbmi2") {
            v |= AVX512_VBMI2;
        }
    }
    v
}

#[cfg(not(target_arch = "x86_64"))]
fn detect_arch() -> u8 {
    0
}

/// Whether the generic kernels are forced ([`FORCE_GENERIC_ENV`]).
pub fn forced_generic() -> bool {
    levels() & FORCED != 0
}

/// SSE2: the x86-64 baseline (true on every x86-64 CPU unless the generic kernels are
/// forced).
#[inline]
pub fn sse2() -> bool {
    levels() & SSE2 != 0
}

/// AVX-512 as every AVX-512 CPU since Skylake-SP has it: F, BW and VL, with POPCNT and
/// BMI1 (the semantic, line-span and line-break kernels).
#[inline]
pub fn avx512() -> bool {
    levels() & AVX512 != 0
}

/// [`avx512`] plus VBMI2 (Ice Lake and later: compressing 16-bit lanes).
#[inline]
pub fn avx512_vbmi2() -> bool {
    levels() & AVX512_VBMI2 != 0
}

/// AVX2 and FMA (Haswell and later).
#[inline]
pub fn avx2_fma() -> bool {
    levels() & AVX2_FMA != 0
}

/// AVX2.
#[inline]
pub fn avx2() -> bool {
    levels() & AVX2 != 0
}

/// POPCNT and BMI1: hardware bit counts (the baseline x86-64 build counts bits with
/// shifts and masks).
#[inline]
pub fn popcnt_bmi1() -> bool {
    levels() & POPCNT_BMI1 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under the forcing variable (the CI's generic run) no vector kernel is chosen.
    #[test]
    fn forcing_the_generic_kernels_clears_every_level() {
        let forced = std::env::var_os(FORCE_GENERIC_ENV).is_some_and(|v| !v.is_empty() && v != "0");
        assert_eq!(forced_generic(), forced);
        if forced {
            assert!(!sse2() && !popcnt_bmi1() && !avx2() && !avx2_fma());
            assert!(!avx512() && !avx512_vbmi2());
        } else if cfg!(target_arch = "x86_64") {
            assert!(sse2());
        }
        // Levels nest: a wider one implies the narrower ones it is checked with.
        assert!(!avx512_vbmi2() || avx512());
        assert!(!avx512() || popcnt_bmi1());
        assert!(!avx2_fma() || avx2());
    }
}
