//! The generic kernels: plain Rust that compiles on every target.
//!
//! They are what runs off x86-64 (and everywhere when
//! [`FORCE_GENERIC_ENV`](crate::cpu::FORCE_GENERIC_ENV) is set), and the oracle every
//! architecture-specific kernel is tested against: for any input, a kernel of
//! `x86_64/` returns exactly what its twin here returns. Written for clarity first; the
//! loops are still shaped so that compilers vectorise them.

pub mod breaks;
pub mod classes;
pub mod counts;
pub mod fold;
pub mod shape;
pub mod spans;
pub mod words;
