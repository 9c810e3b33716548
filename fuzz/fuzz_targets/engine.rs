//! Fuzz target: the whole engine on arbitrary bytes — split, decode, parse (text or
//! JSON lines), extract, the semantic and template layers, detect with tiny caps, and
//! both output sinks. The first 4 bytes choose the configuration; the run and its
//! oracles (console and JSON output, block path = line path) live in
//! `tests/support/fuzz_engine.rs`, which the regression replay of `tests/hostile.rs`
//! shares.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/unlone.rs"]
mod unlone;

#[path = "../../tests/support/fuzz_engine.rs"]
mod fuzz_engine;

fuzz_target!(|data: &[u8]| {
    fuzz_engine::check(data);
});
