//! trace-sentinel's byte kernels: the loops that touch every input byte.
//!
//! * [`split`]: universal-newline line splitting (memchr) and line-break counting;
//! * [`spans`]: the fused split + token-count pass over pure-ASCII text chunks;
//! * [`words`]: `\w+` run counting in ASCII bytes;
//! * [`cpu`]: the run-time CPU feature checks every hand-vectorised kernel is
//!   dispatched on.
//!
//! Kernels know bytes, not logs: no parsing, no detectors, no I/O.

#![deny(missing_docs)]

pub mod cpu;
pub mod spans;
pub mod split;
pub mod words;
