//! trace-sentinel: a passive log anomaly engine.
//!
//! Data flow (one implementation per stage, shared by every driver):
//! `input → split → parse → extract → detect → sinks`.
//! See `docs/architecture.md` for the module map.

pub mod pyfmt;
pub mod timestamp;
pub mod unicode;
pub mod parse;
