//! trace-sentinel's byte kernels: the loops that touch every input byte or every
//! bucket of a vector, and nothing else.
//!
//! * [`split`]: universal-newline line splitting (memchr) and line-break counting;
//! * [`spans`]: the fused split + token-count pass over pure-ASCII text chunks;
//! * [`words`]: `\w+` run counting in ASCII bytes;
//! * [`trigram`]: byte classes, trigram counting into hashed buckets, compaction of the
//!   counts and their values (the semantic layer's vectorizer kernels);
//! * [`fold`]: the novelty detector's fused centroid update;
//! * [`shape`]: template shapes of lines (tokens with their variable parts masked,
//!   hashed) and the log level a line names.
//!
//! Layout, after the memchr crate: [`generic`] holds a plain-Rust implementation of
//! every kernel (and the byte rules and types they share), compiled on every target;
//! `x86_64/` holds the hand-vectorised ones (SSE2, POPCNT/BMI1, AVX2/FMA, AVX-512), each
//! a twin of a generic kernel that its tests compare it with; `table` is the trigram
//! data both read; `dispatch` is the one safe module that picks between them at run
//! time through [`cpu`], and the modules above call it. Setting
//! `TRACE_SENTINEL_FORCE_GENERIC=1` makes every kernel take its generic implementation.
//! Results never depend on the kernel that ran.
//!
//! Kernels know bytes, not logs: no parsing, no detectors, no I/O.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod cpu;
mod dispatch;
pub mod fold;
pub mod generic;
mod gram;
#[cfg(test)]
mod oracle;
pub mod shape;
pub mod spans;
pub mod split;
mod table;
pub mod trigram;
pub mod words;
#[cfg(target_arch = "x86_64")]
mod x86_64;
