//! The x86-64 kernels, by instruction-set level.
//!
//! Each `unsafe fn` here needs the CPU features its `# Safety` section names; only
//! [`crate::dispatch`] calls them, after the matching [`crate::cpu`] check. The SSE2
//! kernels are safe functions: SSE2 is part of every x86-64 CPU. Every kernel has a
//! twin in [`crate::generic`] that returns exactly the same results; the tests at the
//! bottom of each file run the kernel against it on random and edge inputs.

pub(crate) mod avx2;
pub(crate) mod avx512;
pub(crate) mod popcnt;
pub(crate) mod sse2;
