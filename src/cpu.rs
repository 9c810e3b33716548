//! Run-time CPU feature checks for the hand-vectorised kernels, in one place. Each
//! predicate names a level the kernels are written for; a kernel's `#[target_feature]`
//! list must be covered by the predicate its dispatcher checks. The standard library
//! caches what the CPU has, so a check is a load and a test.
#![cfg(target_arch = "x86_64")]

use std::arch::is_x86_feature_detected as has;

/// AVX-512 as every AVX-512 CPU since Skylake-SP has it: F, BW and VL, with POPCNT and
/// BMI1 (the semantic, line-span and line-break kernels).
#[inline]
pub fn avx512() -> bool {
    has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("popcnt") && has!("bmi1")
}

/// [`avx512`] plus VBMI2 (Ice Lake and later: compressing 16-bit lanes).
#[inline]
pub fn avx512_vbmi2() -> bool {
    avx512() && has!("avx512vbmi2")
}

/// AVX2 and FMA (Haswell and later).
#[inline]
pub fn avx2_fma() -> bool {
    has!("avx2") && has!("fma")
}

/// AVX2.
#[inline]
pub fn avx2() -> bool {
    has!("avx2")
}

/// POPCNT and BMI1: hardware bit counts (the baseline x86-64 build counts bits with
/// shifts and masks).
#[inline]
pub fn popcnt_bmi1() -> bool {
    has!("popcnt") && has!("bmi1")
}
