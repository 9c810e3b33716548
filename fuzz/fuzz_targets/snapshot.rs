//! Fuzz target: snapshot loading (`--baseline` files and follow mode's `--state`).
//!
//! The first byte picks the run's configuration (semantic layer, detector, sharding,
//! source cap, warmup, template layer with small template caps) and the snapshot kind;
//! the rest is the file. Oracles: loading never panics; a state that loads keeps working — a fixed block
//! of events (plain and JSON lines, extreme numbers, many sources) runs through it — and
//! what it saves afterwards loads again under the same flags.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use trace_sentinel_core::sink::CallbackSink;
use trace_sentinel_core::snapshot::{self, Kind};
use trace_sentinel_core::{Anomaly, Config, DetectorKind, Engine, InputFormat, ShardBy};

const EVENTS: &[u8] = b"plain line one\nplain line two two\n\
{\"source\": \"a\", \"message\": \"m\", \"x\": 1, \"timestamp\": 1700000000}\n\
{\"source\": \"b\", \"message\": \"mm\", \"x\": 1.7e308, \"timestamp\": 1700000001}\n\
{\"source\": \"b\", \"message\": \"mmm\", \"x\": -1.7e308, \"timestamp\": 1700000002}\n\
{\"source\": \"b\", \"message\": \"m\", \"x\": 5e-324, \"y\": NaN, \"timestamp\": -1e300}\n\
{\"source\": \"c\", \"message\": \"\\u001b[2J\", \"k1\": 1, \"k2\": 2, \"k3\": 3, \"k4\": 4}\n\
{\"source\": \"d\", \"message\": \"caf\\u00e9 \\ud800\", \"x\": 3}\n\
{\"source\": \"a\", \"message\": \"m\", \"x\": 100000, \"timestamp\": 1700000100}\n";

// `..Config::default()` keeps this compiling when fields are added.
#[allow(clippy::needless_update)]
fn config(sel: u8) -> Config {
    Config {
        threshold: 3.0,
        warmup: u64::from((sel >> 6) & 1),
        detector: match (sel >> 1) & 3 {
            0 | 3 => DetectorKind::Zscore,
            1 => DetectorKind::Ewma { alpha: 0.05 },
            _ => DetectorKind::Mad { window: 4 },
        },
        semantic: sel & 1 != 0,
        shard_by: if sel & 8 != 0 {
            ShardBy::None
        } else {
            ShardBy::Source
        },
        max_sources: 1 + usize::from((sel >> 4) & 1) * 2,
        max_metrics: 5,
        templates: sel & 0x80 != 0,
        max_templates: 4,
        max_templates_total: 6,
        ..Config::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let kind = if sel & 0x20 != 0 {
        Kind::FollowState
    } else {
        Kind::Baseline
    };
    let path = Path::new("fuzz-snapshot.json");
    for format in [InputFormat::Text, InputFormat::JsonLines] {
        let mut cfg = config(sel);
        cfg.timed = format == InputFormat::JsonLines;
        let Ok((files, set)) = snapshot::parse::<serde_json::Value>(path, bytes, kind, &cfg) else {
            return;
        };
        let mut engine = Engine::new(cfg.clone(), format);
        engine.set_shards(set);
        let mut sink = CallbackSink(|_: &Anomaly<'_>| {});
        engine
            .feed_block(EVENTS, "fuzz", &mut sink)
            .expect("in-memory sink");
        let saved = snapshot::to_json(kind, engine.shards(), files.as_ref());
        if let Err(e) = snapshot::parse::<serde_json::Value>(path, &saved, kind, &cfg) {
            panic!(
                "a state saved after loading does not load again: {e}\n{}",
                String::from_utf8_lossy(&saved)
            );
        }
    }
});
